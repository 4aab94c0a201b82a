// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * createmedium (createhd, createvdi), clonemedium (clonehd, clonevdi),
 * modifymedium (modifyhd, modifyvdi), showmediuminfo, closemedium.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hutch/registry.h"
#include "vmctl.h"

/* Largest image: 64 TiB, what VDI and qcow2 both handle comfortably. */
#define MEDIUM_MAX_MB (64ULL * 1024 * 1024)

static int kind_word(const char *w)
{
	if (!strcmp(w, "disk"))
		return HUTCH_MEDIUM_HDD;
	if (!strcmp(w, "dvd"))
		return HUTCH_MEDIUM_DVD;
	if (!strcmp(w, "floppy"))
		return HUTCH_MEDIUM_FLOPPY;
	return -1;
}

static const char *default_ext(const char *format)
{
	if (!strcasecmp(format, "VDI"))
		return ".vdi";
	if (!strcasecmp(format, "qcow2"))
		return ".qcow2";
	if (!strcasecmp(format, "VMDK"))
		return ".vmdk";
	if (!strcasecmp(format, "VHD"))
		return ".vhd";
	return ".img";
}

/*
 * VBoxManage's --variant: a comma-separated list.  Standard and Fixed act;
 * VirtualBox's other variants are "not yet supported"; anything else is a
 * usage error, as VBoxManage's "Invalid medium variant".
 */
static bool parse_variant(const char *verb, const char *variant)
{
	static const char *const later[] = { "Split2G", "Stream", "ESX", "Diff", "Formatted", "RawDisk",
					     "VdiZeroExpand", NULL };
	bool fixed = false;

	for (const char *v = variant; *v;) {
		size_t n = strcspn(v, ",");
		int i;

		if (n == 5 && !strncasecmp(v, "Fixed", n)) {
			fixed = true;
		} else if (!(n == 8 && !strncasecmp(v, "Standard", n))) {
			for (i = 0; later[i]; i++)
				if (strlen(later[i]) == n && !strncasecmp(v, later[i], n))
					die("--variant '%.*s' is not yet supported: expected Standard or Fixed", (int)n, v);
			usage_error(verb, "invalid medium variant '%.*s': expected Standard or Fixed", (int)n, v);
		}
		v += n + (v[n] == ',');
	}
	return fixed;
}

static int create_medium(const char *verb, int argc, char **argv, int first, int kind)
{
	const char *filename = NULL, *format = "VDI", *variant = "Standard";
	unsigned long long size_mb = 0, size_bytes = 0;
	bool have_size = false, fixed = false;
	struct hutch_registry *r;
	struct hutch_medium *md;
	struct hutch_error e;
	struct optscan s;
	char *path;
	const char *base;

	opt_init(&s, verb, argc, argv, first);
	while (opt_next_flag(&s)) {
		if (opt_is(&s, "filename"))
			filename = opt_value(&s);
		else if (opt_is(&s, "size")) {
			size_mb = parse_num(verb, s.raw, opt_value(&s), 0, ~0ULL, "MB");
			have_size = true;
		} else if (opt_is(&s, "sizebyte")) {
			size_bytes = parse_num(verb, s.raw, opt_value(&s), 0, ~0ULL, "bytes");
			have_size = true;
		} else if (opt_is(&s, "format"))
			format = opt_value(&s);
		else if (opt_is(&s, "variant"))
			variant = opt_value(&s);
		else if (opt_is(&s, "static"))
			fixed = true;	/* createvdi's old spelling of --variant Fixed */
		else if (opt_is(&s, "register") || opt_is(&s, "remember"))
			;		/* old createvdi/createhd flags: media are always registered now */
		else if (opt_is(&s, "type") || opt_is(&s, "comment"))
			(void)opt_value(&s);	/* old createhd flags without effect */
		else if (opt_is(&s, "diffparent") || opt_is(&s, "property") || opt_is(&s, "propertyfile"))
			die("%s %s is not yet supported", verb, s.raw);
		else
			usage_error(verb, "unknown option '%s'", s.raw);
	}
	if (kind != HUTCH_MEDIUM_HDD)
		die("createmedium %s is not yet supported: only disk images can be created",
		    hutch_medium_kind_name((enum hutch_medium_kind)kind));
	if (!filename)
		usage_error(verb, "--filename is required");
	if (!have_size)
		usage_error(verb, "--size (MB) or --sizebyte is required");
	fixed |= parse_variant(verb, variant);
	if (size_bytes) {
		if (size_bytes % 512 || size_bytes > MEDIUM_MAX_MB << 20)
			die("--sizebyte %llu is out of range: expected a multiple of 512 up to %llu",
			    size_bytes, MEDIUM_MAX_MB << 20);
	} else {
		if (size_mb < 1 || size_mb > MEDIUM_MAX_MB)
			die("--size %llu is out of range: expected 1 to %llu MB", size_mb, MEDIUM_MAX_MB);
		size_bytes = size_mb << 20;
	}
	/* VBoxManage adds the format's extension when the name has none. */
	base = strrchr(filename, '/');
	base = base ? base + 1 : filename;
	path = strchr(base, '.') ? strdup(filename) : xasprintf("%s%s", filename, default_ext(format));
	r = registry_open();
	progress_cb(0, NULL);
	if (hutch_medium_create(r, path, size_bytes, format, fixed, progress_cb, NULL, &md, &e)) {
		progress_abort();
		die("%s", e.msg);
	}
	registry_save(r);
	progress_done();
	printf("Medium created. UUID: %s\n", md->uuid);
	hutch_registry_close(r);
	free(path);
	return 0;
}

int cmd_createmedium(int argc, char **argv)
{
	int kind = HUTCH_MEDIUM_HDD, first = 1;

	if (argc > 1 && kind_word(argv[1]) >= 0) {
		kind = kind_word(argv[1]);
		first = 2;
	}
	return create_medium("createmedium", argc, argv, first, kind);
}

int cmd_createhd(int argc, char **argv)
{
	return create_medium(argv[0], argc, argv, 1, HUTCH_MEDIUM_HDD);
}

/* Names of the registered VMs that use medium md, "" if none (malloc'd). */
char *medium_users(struct hutch_registry *r, const struct hutch_medium *md)
{
	struct hutch_machine **ms;
	struct hutch_error e;
	char *out = strdup("");
	size_t n, i, c, a;

	if (hutch_registry_load_all(r, &ms, &n, &e))
		die("%s", e.msg);
	for (i = 0; i < n; i++) {
		bool uses = false;

		for (c = 0; c < ms[i]->nctl; c++)
			for (a = 0; a < ms[i]->ctl[c].natt; a++) {
				const struct hutch_attachment *at = &ms[i]->ctl[c].att[a];

				if ((at->medium_uuid && !strcasecmp(at->medium_uuid, md->uuid)) ||
				    !strcmp(at->medium, md->location))
					uses = true;
			}
		if (uses) {
			char *t = xasprintf("%s%s%s (UUID: %s)", out, *out ? ", " : "", ms[i]->name, ms[i]->uuid);

			free(out);
			out = t;
		}
		hutch_machine_free(ms[i]);
	}
	free(ms);
	return out;
}

static int medium_args(const char *verb, int argc, char **argv, const char **target, bool *del)
{
	int kind = -1, i = 1;

	if (argc > 1 && kind_word(argv[1]) >= 0)
		kind = kind_word(argv[i++]);
	*target = NULL;
	for (; i < argc; i++) {
		if (del && (!strcmp(argv[i], "--delete") || !strcmp(argv[i], "-delete")))
			*del = true;
		else if (argv[i][0] == '-' && argv[i][1])
			usage_error(verb, "unknown option '%s'", argv[i]);
		else if (*target)
			usage_error(verb, "unexpected argument '%s'", argv[i]);
		else
			*target = argv[i];
	}
	if (!*target)
		usage_error(verb, "which medium? give its UUID or file name");
	return kind;
}

int cmd_showmediuminfo(int argc, char **argv)
{
	struct hutch_registry *r;
	struct hutch_medium *md;
	struct stat st;
	const char *target;
	char *users;
	int kind = medium_args(argv[0], argc, argv, &target, NULL);

	r = registry_open();
	md = hutch_registry_find_medium(r, target, kind);
	if (!md)
		die("could not find a registered medium '%s'", target);
	users = medium_users(r, md);
	printf("UUID:           %s\n", md->uuid);
	printf("Parent UUID:    base\n");
	printf("State:          %s\n", access(md->location, F_OK) ? "inaccessible" : "created");
	printf("Type:           %s\n", md->kind == HUTCH_MEDIUM_HDD ? "normal (base)" : "readonly");
	printf("Location:       %s\n", md->location);
	if (md->description && *md->description)
		printf("Description:    %s\n", md->description);
	printf("Storage format: %s\n", md->format);
	if (md->kind == HUTCH_MEDIUM_HDD)
		printf("Capacity:       %llu MBytes\n", (unsigned long long)(md->size >> 20));
	if (!stat(md->location, &st))
		printf("Size on disk:   %llu MBytes\n", (unsigned long long)st.st_blocks * 512 >> 20);
	printf("Encryption:     disabled\n");
	if (*users)
		printf("In use by VMs:  %s\n", users);
	free(users);
	hutch_registry_close(r);
	return 0;
}

int cmd_closemedium(int argc, char **argv)
{
	struct hutch_registry *r;
	struct hutch_medium *md;
	const char *target;
	bool del = false;
	char *users;
	int kind = medium_args("closemedium", argc, argv, &target, &del);

	r = registry_open();
	md = hutch_registry_find_medium(r, target, kind);
	if (!md)
		die("could not find a registered medium '%s'", target);
	users = medium_users(r, md);
	if (*users)
		die("cannot close medium '%s': it is attached to %s", md->location, users);
	free(users);
	if (del) {
		struct hutch_error e;

		if (hutch_medium_delete(md, &e))
			die("%s", e.msg);
		progress_cb(0, NULL);
		progress_done();
	}
	hutch_registry_remove_medium(r, md->uuid);
	registry_save(r);
	hutch_registry_close(r);
	return 0;
}

/* --- clonemedium --- */

static int clone_medium(const char *verb, int argc, char **argv, int first, int kind)
{
	struct hutch_clone_opts o = { 0 };
	const char *src = NULL, *dst = NULL, *pos, *variant = NULL;
	struct hutch_registry *r;
	struct hutch_medium *md;
	struct hutch_error e;
	struct optscan s;

	opt_init(&s, verb, argc, argv, first);
	for (;;) {
		if (!opt_next(&s, &pos)) {
			if (!pos)
				break;
			if (!src && kind < 0 && kind_word(pos) >= 0)
				kind = kind_word(pos);
			else if (!src)
				src = pos;
			else if (!dst)
				dst = pos;
			else
				usage_error(verb, "invalid parameter '%s'", pos);
			continue;
		}
		if (opt_is(&s, "format"))
			o.format = opt_value(&s);
		else if (opt_is(&s, "variant"))
			variant = opt_value(&s);
		else if (opt_is(&s, "static"))
			o.fixed = true;	/* the old spelling of --variant Fixed */
		else if (opt_is(&s, "existing"))
			o.existing = true;
		else if (opt_is(&s, "compress"))
			o.compress = true;
		else if (opt_is(&s, "resize"))
			o.size = parse_num(verb, s.raw, opt_value(&s), 1, MEDIUM_MAX_MB, "MB") << 20;
		else
			usage_error(verb, "unknown option '%s'", s.raw);
	}
	if (kind < 0)
		kind = HUTCH_MEDIUM_HDD;
	if (!src)
		usage_error(verb, "mandatory UUID or input file parameter missing");
	if (!dst)
		usage_error(verb, "mandatory output file parameter missing");
	if (variant)
		o.fixed |= parse_variant(verb, variant);
	/* VBoxManage's rule: the existing target decides format and variant. */
	if (o.existing && (o.format || o.fixed || variant || o.compress || o.size))
		usage_error(verb, "specified options which cannot be used with --existing");
	r = registry_open();
	if (hutch_medium_clone(r, src, (enum hutch_medium_kind)kind, dst, &o, progress_cb, NULL, &md, &e)) {
		progress_abort();
		die("%s", e.msg);
	}
	registry_save(r);
	progress_done();
	printf("Clone medium created in format '%s'. UUID: %s\n", md->format, md->uuid);
	hutch_registry_close(r);
	return 0;
}

int cmd_clonemedium(int argc, char **argv)
{
	return clone_medium("clonemedium", argc, argv, 1, -1);
}

int cmd_clonehd(int argc, char **argv)
{
	return clone_medium(argv[0], argc, argv, 1, HUTCH_MEDIUM_HDD);
}

/* --- modifymedium --- */

/* What VBoxManage's modifymedium flags ask for. */
struct modify_req {
	bool compact, resize, resize_mb, describe;
	bool normal;			/* --type normal: what every Hutch medium is */
	uint64_t size;
	const char *description;
	struct stored_list ignored;	/* flags accepted but not acted on */
};

/* --type: VirtualBox's medium types; every Hutch medium is normal, so asking for that is no change. */
static void medium_type(const char *verb, const char *v, struct modify_req *q)
{
	static const char *const types[] = { "normal", "writethrough", "immutable", "shareable", "readonly",
					     "multiattach", NULL };
	int i;

	for (i = 0; types[i] && strcasecmp(v, types[i]); i++)
		;
	if (!types[i])
		usage_error(verb, "invalid medium type '%s': expected normal, writethrough, immutable, shareable, "
			    "readonly or multiattach", v);
	if (i)
		stored_add(&q->ignored, "--type");
	else
		q->normal = true;
}

/* The old spellings without dashes ("modifyhd disk.vdi compact"), as VBoxManage still takes them. */
static bool old_word(struct optscan *s, const char *pos, struct modify_req *q)
{
	const char *v;

	if (!strcmp(pos, "compact")) {
		q->compact = true;
		return true;
	}
	if (strcmp(pos, "settype") && strcmp(pos, "autoreset"))
		return false;
	v = opt_peek(s);
	if (!v)
		usage_error(s->verb, "%s needs a value", pos);
	s->i++;
	if (!strcmp(pos, "settype")) {
		medium_type(s->verb, v, q);
	} else {
		(void)parse_onoff(s->verb, pos, v);
		stored_add(&q->ignored, "--autoreset");
	}
	return true;
}

static void parse_modify_flag(struct optscan *s, struct modify_req *q)
{
	const char *v;

	if (opt_is(s, "compact")) {
		q->compact = true;
	} else if (opt_is(s, "resize") || opt_is(s, "resizebyte")) {
		q->resize_mb = opt_is(s, "resize");
		v = opt_value(s);
		q->size = q->resize_mb ? parse_num(s->verb, s->raw, v, 1, MEDIUM_MAX_MB, "MB") << 20 :
			  parse_num(s->verb, s->raw, v, 512, MEDIUM_MAX_MB << 20, "bytes");
		q->resize = true;
	} else if (opt_is(s, "description")) {
		q->description = opt_value(s);
		q->describe = true;
	} else if (opt_is(s, "type") || opt_is(s, "settype")) {
		medium_type(s->verb, opt_value(s), q);
	} else if (opt_is(s, "autoreset")) {
		(void)parse_onoff(s->verb, s->raw, opt_value(s));
		stored_add(&q->ignored, "--autoreset");
	} else if (opt_is(s, "property")) {
		v = opt_value(s);
		if (!strchr(v, '='))
			usage_error(s->verb, "invalid --property argument '%s': expected <name>=[<value>]", v);
		stored_add(&q->ignored, "--property");
	} else if (opt_is(s, "move") || opt_is(s, "setlocation")) {
		(void)opt_value(s);
		stored_add(&q->ignored, opt_is(s, "move") ? "--move" : "--setlocation");
	} else {
		usage_error(s->verb, "unknown option '%s'", s->raw);
	}
}

static int modify_medium(const char *verb, int argc, char **argv, int kind)
{
	struct modify_req q = { .ignored = { "" } };
	const char *target = NULL, *pos;
	struct hutch_registry *r;
	struct hutch_medium *md;
	struct hutch_error e;
	struct optscan s;

	opt_init(&s, verb, argc, argv, 1);
	for (;;) {
		if (opt_next(&s, &pos)) {
			parse_modify_flag(&s, &q);
			continue;
		}
		if (!pos)
			break;
		if (!target && kind < 0 && kind_word(pos) >= 0)
			kind = kind_word(pos);
		else if (old_word(&s, pos, &q))
			;
		else if (!target)
			target = pos;
		else
			usage_error(verb, "invalid parameter '%s'", pos);
	}
	if (kind < 0)
		kind = HUTCH_MEDIUM_HDD;
	if (!target)
		usage_error(verb, "medium name or UUID required");
	if (!q.compact && !q.resize && !q.describe && !q.normal && !q.ignored.text[0])
		usage_error(verb, "no operation specified");

	r = registry_open();
	md = hutch_registry_find_medium(r, target, kind);
	/* An image that is not registered yet is registered now, as VBoxManage's openMedium does. */
	if (!md && hutch_uuid_valid(target))
		die("could not find a registered medium with UUID {%s}", target);
	if (!md && hutch_registry_open_medium(r, target, (enum hutch_medium_kind)kind, &md, &e))
		die("%s", e.msg);
	/*
	 * VBoxManage's guard against --resize taken for bytes: a thousandfold
	 * growth in MB is almost surely a mistake.
	 */
	if (q.resize && q.resize_mb && md->size && q.size / 1000 > md->size)
		die("attempt to resize the medium from %llu.%llu MB to %llu.%llu MB: use --resizebyte if this is "
		    "intended", (unsigned long long)(md->size >> 20),
		    (unsigned long long)((md->size & 0xfffff) / 104858),
		    (unsigned long long)(q.size >> 20), (unsigned long long)((q.size & 0xfffff) / 104858));
	/* VBoxManage's order: compact before resize, so the copy is no bigger than needed. */
	if (q.compact) {
		/* Progress starts once the copy does: a refusal comes without "0%...". */
		if (hutch_medium_compact(r, md, progress_cb, NULL, &e)) {
			progress_abort();
			die("%s", e.msg);
		}
		progress_done();
	}
	if (q.resize) {
		/* Growing takes no time worth showing; the line is there for scripts that expect it. */
		if (hutch_medium_resize(r, md, q.size, &e))
			die("%s", e.msg);
		progress_done();
	}
	if (q.describe) {
		free(md->description);
		md->description = *q.description ? strdup(q.description) : NULL;
		printf("Medium description has been changed.\n");
	}
	registry_save(r);
	if (q.ignored.text[0])
		warn("medium '%s': not yet supported by Hutch, ignored: %s", md->location, q.ignored.text);
	hutch_registry_close(r);
	return 0;
}

int cmd_modifymedium(int argc, char **argv)
{
	return modify_medium("modifymedium", argc, argv, -1);
}

int cmd_modifyhd(int argc, char **argv)
{
	return modify_medium(argv[0], argc, argv, HUTCH_MEDIUM_HDD);
}
