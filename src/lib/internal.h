/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libhutch's private helpers, shared between its files. */
#ifndef HUTCH_LIB_INTERNAL_H
#define HUTCH_LIB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "hutch/config.h"
#include "hutch/error.h"

void *hutch_xmalloc(size_t n);
void *hutch_xrealloc(void *p, size_t n);
char *hutch_xstrdup(const char *s);
char *hutch_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int hutch_read_file(const char *path, char **buf, size_t *len, struct hutch_error *e);

/* Grow an array by one zeroed element; returns a pointer to it. */
#define HUTCH_APPEND(arr, n) \
	((arr) = hutch_xrealloc((arr), ((n) + 1) * sizeof(*(arr))), \
	 memset(&(arr)[(n)], 0, sizeof(*(arr))), &(arr)[(n)++])

/* hutch_medium_probe, and the VDI header's image UUID in uuid (37 bytes; "" if none or not VDI). */
int hutch_medium_probe_uuid(const char *path, char **format, uint64_t *size, char *uuid,
			    struct hutch_error *e);

/*
 * Append a new medium entry to r (registry.c): uuid copied, location
 * (malloc'd) taken over, format copied.
 */
struct hutch_registry;
struct hutch_medium *hutch_registry_append_medium(struct hutch_registry *r, const char *uuid, int kind,
						  char *location, const char *format, uint64_t size);

/* Test hook: SIGKILL this process at the HUTCH_TEST_CRASH_AT-th call (util.c). */
void hutch_crash_point(void);
/* fsync the directory that holds path: 0 or -errno. */
int hutch_fsync_dir_of(const char *path);

/* XML helpers (xml.c). */
xmlDocPtr hutch_xml_read(const char *buf, size_t len, const char *name, struct hutch_error *e);
int hutch_xml_dump(xmlDocPtr doc, char **buf, size_t *len, struct hutch_error *e);
/* An attribute as a malloc'd string, NULL if absent. */
char *hutch_xml_attr(xmlNodePtr n, const char *name);
/* Required unsigned attribute: error names file, line, element and attribute. */
int hutch_xml_attr_uint(xmlNodePtr n, const char *name, const char *file, unsigned long long max,
			unsigned long long *out, bool required, struct hutch_error *e);
int hutch_xml_attr_bool(xmlNodePtr n, const char *name, const char *file, bool dflt, bool *out,
			struct hutch_error *e);
void hutch_xml_set(xmlNodePtr n, const char *name, const char *value);
void hutch_xml_setf(xmlNodePtr n, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define hutch_xml_is(node, nm) ((node)->type == XML_ELEMENT_NODE && !xmlStrcmp((node)->name, BAD_CAST(nm)))

#endif
