/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vmctl's shared declarations: option scanning, errors, VM lookup. */
#ifndef VMCTL_H
#define VMCTL_H

#include <stdbool.h>
#include <stddef.h>

#include "hutch/config.h"
#include "hutch/registry.h"

#define EXIT_USAGE 2

/* Global options. */
extern bool vmctl_quiet;
extern char *vmctl_exe_dir;

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_done(void);
/* After a failure: end a started progress line with a newline. */
void progress_abort(void);
void progress_cb(unsigned percent, void *opaque);

/*
 * Option scanning: "--nic-type1=virtio", "-nictype1 virtio" and
 * "--nictype1 virtio" all come out as name "nictype", index 1, with the
 * value fetched by opt_value().  Canonical names are lower case without
 * dashes, which is how VBoxManage 7's two spellings of a flag meet.
 */
struct optscan {
	const char *verb;
	int argc;
	char **argv;
	int i;			/* next argv index */
	const char *raw;	/* the option as written */
	char name[64];		/* canonical, without index digits */
	char full[64];		/* canonical, with index digits */
	int index;		/* trailing number, -1 if none */
	const char *inline_value;	/* after '=' */
};

void opt_init(struct optscan *s, const char *verb, int argc, char **argv, int first);
/* Next option (true) or positional argument (false, *pos set); at the end returns false with *pos NULL. */
bool opt_next(struct optscan *s, const char **pos);
/* Next option (true) or the end (false); a positional argument is a usage error. */
bool opt_next_flag(struct optscan *s);
/* The option's value: after '=' or the next argument; a usage error if missing. */
const char *opt_value(struct optscan *s);
/* Whether the next argument exists and is not an option. */
const char *opt_peek(struct optscan *s);
/* Index must lie in [1, max]; usage error otherwise. */
unsigned opt_index(struct optscan *s, unsigned max);
/* Exact canonical name (index digits included) matches one of the '|'-separated names. */
bool opt_is(const struct optscan *s, const char *names);

/* VBoxManage flags Hutch stores but does not act on: nargs, or -1 if unknown. */
int vbox_stored_flag_nargs(const char *verb, const char *name, bool indexed);
/* Collects the names of stored-only flags for one warning line. */
struct stored_list {
	char text[1024];
};
void stored_add(struct stored_list *l, const char *raw);
void stored_warn(const struct stored_list *l, const char *vmname);
/* Store a stored-only flag and its values (consumed from s) in m. */
void store_vbox_flag(struct optscan *s, struct hutch_machine *m, const char *prefix,
		     struct stored_list *l);

/* Numbers: usage error if not a number, die if out of [min, max]. */
unsigned long long parse_num(const char *verb, const char *opt, const char *v, unsigned long long min,
			     unsigned long long max, const char *unit);
bool parse_onoff(const char *verb, const char *opt, const char *v);

/* VM lookup: registry opened and closed inside; dies if not found. */
struct hutch_machine *vm_find(const char *name_or_uuid);
/*
 * Whether name_or_uuid (a UUID or settings-file path) is a registered VM
 * whose settings cannot be read; then uuid, *cfg (malloc'd) and why (the
 * access error) are set.
 */
bool vm_inaccessible(const char *name_or_uuid, char uuid[HUTCH_UUID_LEN + 1], char **cfg,
		     struct hutch_error *why);
/* Lock the VM's settings file and reload it fresh; dies on failure. */
struct hutch_machine *vm_find_locked(const char *name_or_uuid, struct hutch_lock *lk);
void vm_save(struct hutch_machine *m);
/* "VERB VM --flags...": check the VM comes first, lock and load it, start scanning its flags. */
struct hutch_machine *vm_verb_start(const char *verb, int argc, char **argv, struct hutch_lock *lk,
				    struct optscan *s);
/* Save m, unlock, warn about stored-only flags, free m. */
void vm_verb_finish(struct hutch_machine *m, struct hutch_lock *lk, const struct stored_list *stored);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct hutch_registry *registry_open(void);
void registry_save(struct hutch_registry *r);

int cmd_createvm(int argc, char **argv);
int cmd_modifyvm(int argc, char **argv);
int cmd_unregistervm(int argc, char **argv);
int cmd_registervm(int argc, char **argv);
int cmd_setproperty(int argc, char **argv);
int cmd_setextradata(int argc, char **argv);
int cmd_getextradata(int argc, char **argv);
int cmd_storagectl(int argc, char **argv);
int cmd_storageattach(int argc, char **argv);
int cmd_createmedium(int argc, char **argv);
int cmd_createhd(int argc, char **argv);
int cmd_showmediuminfo(int argc, char **argv);
int cmd_clonemedium(int argc, char **argv);
int cmd_clonehd(int argc, char **argv);
int cmd_modifymedium(int argc, char **argv);
int cmd_modifyhd(int argc, char **argv);
int cmd_closemedium(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_showvminfo(int argc, char **argv);
int cmd_startvm(int argc, char **argv);
int cmd_controlvm(int argc, char **argv);

/* Names of the registered VMs that use md, "" if none (malloc'd). */
char *medium_users(struct hutch_registry *r, const struct hutch_medium *md);

void show_vm_machinereadable(struct hutch_machine *m);
void show_vm_human(struct hutch_machine *m, bool details);

#endif
