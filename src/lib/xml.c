// SPDX-License-Identifier: GPL-2.0-or-later
/* libxml2 helpers: parsing with "file:line: what" errors, attribute access. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "internal.h"

struct xml_errctx {
	char msg[512];
	int line;
};

/* Keep only the first error: the later ones are usually its echoes. */
static void xml_collect_error(void *ctx, xmlErrorPtr err)
{
	struct xml_errctx *c = ctx;
	size_t n;

	if (c->msg[0] || !err || err->level < XML_ERR_ERROR)
		return;
	snprintf(c->msg, sizeof(c->msg), "%s", err->message ? err->message : "malformed XML");
	n = strlen(c->msg);
	while (n && (c->msg[n - 1] == '\n' || c->msg[n - 1] == ' '))
		c->msg[--n] = 0;
	c->line = err->line;
}

xmlDocPtr hutch_xml_read(const char *buf, size_t len, const char *name, struct hutch_error *e)
{
	struct xml_errctx c = { .msg = "", .line = 0 };
	xmlDocPtr doc;

	xmlSetStructuredErrorFunc(&c, xml_collect_error);
	/* No network, no entity expansion tricks: a config is plain data. */
	doc = xmlReadMemory(buf, (int)len, name, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (!doc || c.msg[0]) {
		if (doc)
			xmlFreeDoc(doc);
		hutch_seterr(e, -EINVAL, "%s:%d: malformed XML: %s", name, c.line,
			     c.msg[0] ? c.msg : "cannot parse");
		return NULL;
	}
	return doc;
}

int hutch_xml_dump(xmlDocPtr doc, char **buf, size_t *len, struct hutch_error *e)
{
	xmlChar *mem = NULL;
	int n = 0;

	xmlDocDumpFormatMemoryEnc(doc, &mem, &n, "UTF-8", 1);
	if (!mem || n <= 0)
		return hutch_seterr(e, -ENOMEM, "cannot serialise XML");
	*buf = hutch_xmalloc((size_t)n + 1);
	memcpy(*buf, mem, (size_t)n);
	(*buf)[n] = 0;
	*len = (size_t)n;
	xmlFree(mem);
	return 0;
}

char *hutch_xml_attr(xmlNodePtr n, const char *name)
{
	xmlChar *v = xmlGetProp(n, BAD_CAST name);
	char *s;

	if (!v)
		return NULL;
	s = hutch_xstrdup((const char *)v);
	xmlFree(v);
	return s;
}

int hutch_xml_attr_uint(xmlNodePtr n, const char *name, const char *file, unsigned long long max,
			unsigned long long *out, bool required, struct hutch_error *e)
{
	char *v = hutch_xml_attr(n, name);
	int rc;

	if (!v) {
		if (!required)
			return 1;
		return hutch_seterr(e, -EINVAL, "%s:%d: <%s> has no %s attribute", file,
				    (int)xmlGetLineNo(n), (const char *)n->name, name);
	}
	rc = hutch_parse_uint(v, max, out);
	if (rc)
		hutch_seterr(e, -EINVAL, "%s:%d: <%s %s=\"%s\">: expected a whole number up to %llu",
			     file, (int)xmlGetLineNo(n), (const char *)n->name, name, v, max);
	free(v);
	return rc ? -EINVAL : 0;
}

int hutch_xml_attr_bool(xmlNodePtr n, const char *name, const char *file, bool dflt, bool *out,
			struct hutch_error *e)
{
	char *v = hutch_xml_attr(n, name);
	int rc = 0;

	*out = dflt;
	if (!v)
		return 0;
	if (!strcmp(v, "true"))
		*out = true;
	else if (!strcmp(v, "false"))
		*out = false;
	else
		rc = hutch_seterr(e, -EINVAL, "%s:%d: <%s %s=\"%s\">: expected true or false", file,
				  (int)xmlGetLineNo(n), (const char *)n->name, name, v);
	free(v);
	return rc;
}

void hutch_xml_set(xmlNodePtr n, const char *name, const char *value)
{
	if (value)
		xmlNewProp(n, BAD_CAST name, BAD_CAST value);
}

void hutch_xml_setf(xmlNodePtr n, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	xmlNewProp(n, BAD_CAST name, BAD_CAST s);
	free(s);
}
