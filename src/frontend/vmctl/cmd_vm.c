// SPDX-License-Identifier: GPL-2.0-or-later
/* createvm, modifyvm, registervm, unregistervm, setproperty. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hutch/ostype.h"
#include "hutch/vm.h"
#include "vmctl.h"

#define NIC_KINDS_ACTING "none", "null", "nat", "bridged", "intnet"
#define NIC_KINDS_STORED "hostonly", "hostonlynet", "generic", "natnetwork", "cloud"

/* The registered VM with this name, if any (so names stay unique). */
static bool name_taken(struct hutch_registry *r, const char *name, const char *except_uuid)
{
	struct hutch_machine **ms;
	size_t n, i;
	bool taken = false;
	struct hutch_error e;

	if (hutch_registry_load_all(r, &ms, &n, &e))
		die("%s", e.msg);
	for (i = 0; i < n; i++) {
		if (!strcmp(ms[i]->name, name) && (!except_uuid || strcmp(ms[i]->uuid, except_uuid)))
			taken = true;
		hutch_machine_free(ms[i]);
	}
	free(ms);
	return taken;
}

static void check_vm_name(const char *verb, const char *name)
{
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		usage_error(verb, "invalid VM name '%s': expected a non-empty name without '/'", name);
}

int cmd_createvm(int argc, char **argv)
{
	const char *name = NULL, *ostype = NULL, *basefolder = NULL, *settingsfile = NULL, *uuid = NULL;
	const char *groups = NULL;
	bool reg = false, dflt = false;
	struct stored_list stored = { "" };
	struct hutch_registry *r;
	struct hutch_machine *m;
	struct hutch_error e;
	struct hutch_lock lk;
	struct optscan s;
	char *folder, *dir, *lockpath;
	struct stat st;

	m = hutch_machine_new("", NULL);
	opt_init(&s, "createvm", argc, argv, 1);
	while (opt_next_flag(&s)) {
		if (opt_is(&s, "name"))
			name = opt_value(&s);
		else if (opt_is(&s, "ostype"))
			ostype = opt_value(&s);
		else if (opt_is(&s, "register"))
			reg = true;
		else if (opt_is(&s, "default"))
			dflt = true;
		else if (opt_is(&s, "basefolder"))
			basefolder = opt_value(&s);
		else if (opt_is(&s, "settingsfile"))
			settingsfile = opt_value(&s);
		else if (opt_is(&s, "uuid|id"))
			uuid = opt_value(&s);
		else if (opt_is(&s, "groups"))
			groups = opt_value(&s);
		else
			store_vbox_flag(&s, m, NULL, &stored);
	}
	if (!name)
		usage_error("createvm", "--name is required");
	check_vm_name("createvm", name);
	if (uuid) {
		if (uuid[0] == '{' && strlen(uuid) == HUTCH_UUID_LEN + 2)
			uuid++;
		if (!hutch_uuid_valid(uuid) || (strlen(uuid) != HUTCH_UUID_LEN))
			usage_error("createvm", "--uuid '%s': expected a UUID", uuid);
		snprintf(m->uuid, sizeof(m->uuid), "%.*s", HUTCH_UUID_LEN, uuid);
	}
	hutch_setstr(&m->name, name);
	hutch_setstr(&m->groups, groups);
	if (ostype && hutch_machine_set_ostype(m, ostype, &e))
		die("%s", e.msg);
	if (dflt && hutch_machine_apply_defaults(m, &e))
		die("%s", e.msg);

	r = registry_open();
	if (settingsfile) {
		m->settings_file = hutch_abspath(settingsfile);
	} else {
		folder = basefolder ? hutch_abspath(basefolder) : hutch_registry_machine_folder(r);
		m->settings_file = xasprintf("%s/%s/%s" HUTCH_CONFIG_SUFFIX, folder, name, name);
		free(folder);
	}
	if (reg && name_taken(r, name, NULL))
		die("a VM named '%s' is already registered", name);
	for (size_t i = 0; reg && i < r->nvms; i++)
		if (!strcasecmp(r->vms[i].uuid, m->uuid))
			die("a VM with UUID {%s} is already registered", m->uuid);
	if (!stat(m->settings_file, &st))
		die("machine settings file '%s' already exists", m->settings_file);
	dir = strdup(m->settings_file);
	*strrchr(dir, '/') = 0;
	if (hutch_mkdir_p(dir, HUTCH_DIR_MODE, &e))
		die("%s", e.msg);
	free(dir);
	lockpath = hutch_vm_lock_path(m->uuid);
	if (hutch_lock_acquire(lockpath, &lk, &e))
		die("%s", e.msg);
	free(lockpath);
	vm_save(m);
	hutch_lock_release(&lk);
	if (reg) {
		if (hutch_registry_add_vm(r, m->uuid, m->settings_file, &e))
			die("%s", e.msg);
		registry_save(r);
	}
	hutch_registry_close(r);
	stored_warn(&stored, name);
	printf("Virtual machine '%s' is created%s.\n", name, reg ? " and registered" : "");
	printf("UUID: %s\n", m->uuid);
	printf("Settings file: '%s'\n", m->settings_file);
	hutch_machine_free(m);
	return 0;
}

static void set_mac(const char *verb, struct hutch_nic *n, const char *v, const char *opt)
{
	char mac[13];
	size_t i, k = 0;

	if (!strcasecmp(v, "auto")) {
		hutch_nic_random_mac(mac);
	} else {
		/* VBoxManage wants 12 hex digits; separators are forgiven here. */
		for (i = 0; v[i] && k < 13; i++) {
			if (v[i] == ':' || v[i] == '-')
				continue;
			if (!isxdigit((unsigned char)v[i]))
				break;
			mac[k++] = (char)toupper((unsigned char)v[i]);
		}
		if (v[i] || k != 12)
			usage_error(verb, "%s '%s': expected 'auto' or 12 hexadecimal digits", opt, v);
		mac[12] = 0;
		/* A multicast MAC cannot be a NIC's address, nor can no address at all. */
		if (strchr("13579BDF", mac[1]))
			die("%s '%s': the address is a multicast address (odd first byte)", opt, v);
		if (!strcmp(mac, "000000000000"))
			die("%s '%s': the address is all zero", opt, v);
	}
	hutch_setstr(&n->mac, mac);
}

static bool in_list(const char *v, const char *const *list, char **canon)
{
	size_t i;

	for (i = 0; list[i]; i++) {
		if (!strcasecmp(v, list[i])) {
			if (canon)
				hutch_setstr(canon, list[i]);
			return true;
		}
	}
	return false;
}

static void set_uart(struct optscan *s, struct hutch_uart *u)
{
	const char *v = opt_value(s);
	unsigned long long io, irq;

	if (!strcasecmp(v, "off") || !strcasecmp(v, "disabled")) {
		u->enabled = false;
		return;
	}
	/* VBoxManage reads the I/O base as C does (0x3F8); a bare 3F8 is plainly hex too. */
	if (hutch_parse_uint(v, 0xffff, &io)) {
		char *end;

		io = strtoull(v, &end, 16);
		if (*end || !*v || io > 0xffff)
			usage_error(s->verb, "%s '%s': expected 'off' or an I/O base such as 0x3F8 and an IRQ",
				    s->raw, v);
	}
	irq = parse_num(s->verb, s->raw, opt_value(s), 0, 15, "IRQ");
	u->enabled = true;
	u->iobase = (unsigned)io;
	u->irq = (unsigned)irq;
}

static void set_uartmode(struct optscan *s, struct hutch_uart *u)
{
	const char *v = opt_value(s);

	if (!strcasecmp(v, "disconnected")) {
		hutch_setstr(&u->mode, "disconnected");
		hutch_setstr(&u->path, NULL);
	} else if (!strcasecmp(v, "file") || !strcasecmp(v, "server") || !strcasecmp(v, "client")) {
		char *abs = hutch_abspath(opt_value(s));
		char lower[16];
		size_t i;

		for (i = 0; v[i] && i < sizeof(lower) - 1; i++)
			lower[i] = (char)tolower((unsigned char)v[i]);
		lower[i] = 0;
		hutch_setstr(&u->mode, lower);
		hutch_setstr(&u->path, abs);
		free(abs);
	} else if (!strcasecmp(v, "tcpserver") || !strcasecmp(v, "tcpclient")) {
		const char *arg = opt_value(s);

		hutch_setstr(&u->mode, !strcasecmp(v, "tcpserver") ? "tcpserver" : "tcpclient");
		hutch_setstr(&u->path, arg);
	} else if (v[0] == '/') {
		hutch_setstr(&u->mode, "device");
		hutch_setstr(&u->path, v);
	} else {
		usage_error(s->verb, "%s '%s': expected disconnected, file <path>, server <pipe>, client <pipe>, "
			    "tcpserver <port>, tcpclient <host:port> or a device path", s->raw, v);
	}
}

static char *existing_file(const char *opt, const char *v)
{
	struct stat st;
	char *abs;

	if (!strcasecmp(v, "none") || !*v)
		return NULL;
	abs = hutch_abspath(v);
	if (stat(abs, &st) || !S_ISREG(st.st_mode))
		die("%s '%s': no such file (%s)", opt, v, abs);
	return abs;
}

/* Apply one modifyvm option to m.  Returns false for an option Hutch only stores. */
static void modify_one(struct optscan *s, struct hutch_machine *m, struct stored_list *stored)
{
	static const char *const nic_acting[] = { NIC_KINDS_ACTING, NULL };
	static const char *const nic_stored[] = { NIC_KINDS_STORED, NULL };
	static const char *const nictype_acting[] = { "82540EM", "virtio", NULL };
	static const char *const nictype_stored[] = { "Am79C970A", "Am79C973", "Am79C960", "82543GC",
						      "82545EM", "usbnet", NULL };
	static const char *const uarttypes[] = { "16450", "16550A", "16750", NULL };
	const char *verb = s->verb;
	struct hutch_error e;
	const char *v;
	int rc = 0;

	if (opt_is(s, "name")) {
		struct hutch_registry *r;

		v = opt_value(s);
		check_vm_name(verb, v);
		r = registry_open();
		if (name_taken(r, v, m->uuid))
			die("a VM named '%s' is already registered", v);
		hutch_registry_close(r);
		hutch_setstr(&m->name, v);
	} else if (opt_is(s, "ostype")) {
		rc = hutch_machine_set_ostype(m, opt_value(s), &e);
	} else if (opt_is(s, "memory")) {
		rc = hutch_machine_set_memory(m, parse_num(verb, s->raw, opt_value(s), 0, ~0ULL, "MB"), &e);
	} else if (opt_is(s, "cpus")) {
		rc = hutch_machine_set_cpus(m, parse_num(verb, s->raw, opt_value(s), 0, ~0ULL, NULL), &e);
	} else if (opt_is(s, "vram")) {
		rc = hutch_machine_set_vram(m, parse_num(verb, s->raw, opt_value(s), 0, ~0ULL, "MB"), &e);
	} else if (opt_is(s, "graphicscontroller")) {
		rc = hutch_machine_set_graphics(m, opt_value(s), &e);
	} else if (opt_is(s, "mouse")) {
		rc = hutch_machine_set_pointing(m, opt_value(s), &e);
	} else if (opt_is(s, "firmware")) {
		rc = hutch_machine_set_firmware(m, opt_value(s), &e);
	} else if (opt_is(s, "description")) {
		v = opt_value(s);
		hutch_setstr(&m->description, *v ? v : NULL);
	} else if (opt_is(s, "groups")) {
		hutch_setstr(&m->groups, opt_value(s));
	} else if (opt_is(s, "kernel")) {
		char *f = existing_file(s->raw, opt_value(s));

		hutch_setstr(&m->kernel, f);
		free(f);
	} else if (opt_is(s, "initrd")) {
		char *f = existing_file(s->raw, opt_value(s));

		hutch_setstr(&m->initrd, f);
		free(f);
	} else if (opt_is(s, "cmdline")) {
		v = opt_value(s);
		hutch_setstr(&m->cmdline, *v ? v : NULL);
	} else if (!strcmp(s->name, "boot") && s->index >= 0) {
		unsigned i = opt_index(s, HUTCH_MAX_BOOT);

		v = opt_value(s);
		if (hutch_machine_set_boot(m, i, v, &e))
			usage_error(verb, "%s: %s", s->raw, e.msg);
	} else if (!strcmp(s->name, "nic") && s->index >= 0) {
		struct hutch_nic *n = &m->nic[opt_index(s, HUTCH_MAX_NICS) - 1];

		v = opt_value(s);
		if (in_list(v, nic_stored, &n->attachment))
			stored_add(stored, s->raw);
		else if (!in_list(v, nic_acting, &n->attachment))
			usage_error(verb, "%s '%s': expected none, null, nat, bridged, intnet, hostonly, "
				    "hostonlynet, generic, natnetwork or cloud", s->raw, v);
	} else if (!strcmp(s->name, "nictype") && s->index >= 0) {
		struct hutch_nic *n = &m->nic[opt_index(s, HUTCH_MAX_NICS) - 1];

		v = opt_value(s);
		if (in_list(v, nictype_stored, &n->type))
			stored_add(stored, s->raw);
		else if (!in_list(v, nictype_acting, &n->type))
			usage_error(verb, "%s '%s': expected 82540EM or virtio (or Am79C970A, Am79C973, "
				    "Am79C960, 82543GC, 82545EM, usbnet)", s->raw, v);
	} else if (!strcmp(s->name, "bridgeadapter") && s->index >= 0) {
		struct hutch_nic *n = &m->nic[opt_index(s, HUTCH_MAX_NICS) - 1];

		v = opt_value(s);
		/* A Linux interface name (IFNAMSIZ, no '/' or blanks): hutch-vm opens it as one. */
		if (strcasecmp(v, "none") && (!*v || strlen(v) > 15 || strpbrk(v, "/ \t\n:") || !strcmp(v, ".") ||
					      !strcmp(v, "..")))
			usage_error(verb, "%s '%s': expected a host network interface name (at most 15 characters, "
				    "no '/', ':' or blanks) or none", s->raw, v);
		hutch_setstr(&n->bridge, strcasecmp(v, "none") ? v : NULL);
	} else if (!strcmp(s->name, "intnet") && s->index >= 0) {
		struct hutch_nic *n = &m->nic[opt_index(s, HUTCH_MAX_NICS) - 1];

		v = opt_value(s);
		for (const char *p = v; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == '/')
				usage_error(verb, "%s '%s': a network's name has no '/' or control characters", s->raw,
					    v);
		if (!*v || strlen(v) > 64)
			usage_error(verb, "%s '%s': expected a network name of 1 to 64 characters", s->raw, v);
		hutch_setstr(&n->intnet, v);
	} else if (!strcmp(s->name, "natnet") && s->index >= 0) {
		struct hutch_nic *n = &m->nic[opt_index(s, HUTCH_MAX_NICS) - 1];

		if (hutch_nic_set_natnet(n, opt_value(s), &e))
			usage_error(verb, "%s: %s", s->raw, e.msg);
	} else if (!strcmp(s->name, "nattftpprefix") && s->index >= 0) {
		struct hutch_nic *n = &m->nic[opt_index(s, HUTCH_MAX_NICS) - 1];
		char *abs;

		/* Relative to where vmctl runs, as a user means it; hutch-vm may run elsewhere. */
		v = opt_value(s);
		abs = *v ? hutch_abspath(v) : NULL;
		hutch_setstr(&n->tftp_prefix, abs);
		free(abs);
	} else if (!strcmp(s->name, "nattftpfile") && s->index >= 0) {
		struct hutch_nic *n = &m->nic[opt_index(s, HUTCH_MAX_NICS) - 1];

		v = opt_value(s);
		for (const char *p = v; *p; p++)
			if ((unsigned char)*p < 0x20)
				usage_error(verb, "%s: the boot file's name has a control character", s->raw);
		hutch_setstr(&n->tftp_file, *v ? v : NULL);
	} else if (!strcmp(s->name, "natdnshostresolver") && s->index >= 0) {
		struct hutch_nic *n = &m->nic[opt_index(s, HUTCH_MAX_NICS) - 1];

		n->dns_host_resolver = parse_onoff(verb, s->raw, opt_value(s));
	} else if (!strcmp(s->name, "cableconnected") && s->index >= 0) {
		struct hutch_nic *n = &m->nic[opt_index(s, HUTCH_MAX_NICS) - 1];

		n->cable = parse_onoff(verb, s->raw, opt_value(s));
	} else if (!strcmp(s->name, "macaddress") && s->index >= 0) {
		struct hutch_nic *n = &m->nic[opt_index(s, HUTCH_MAX_NICS) - 1];

		set_mac(verb, n, opt_value(s), s->raw);
	} else if (!strcmp(s->name, "natpf") && s->index >= 0) {
		struct hutch_nic *n = &m->nic[opt_index(s, HUTCH_MAX_NICS) - 1];
		struct hutch_natpf pf;

		v = opt_value(s);
		if (!strcmp(v, "delete")) {
			rc = hutch_nic_delete_natpf(n, opt_value(s), &e);
		} else {
			if (hutch_natpf_parse(v, &pf, &e))
				usage_error(verb, "%s: %s", s->raw, e.msg);
			rc = hutch_nic_add_natpf(n, &pf, &e);
			hutch_natpf_clear(&pf);
		}
	} else if (!strcmp(s->name, "uart") && s->index >= 0) {
		set_uart(s, &m->uart[opt_index(s, HUTCH_MAX_UARTS) - 1]);
	} else if (!strcmp(s->name, "uartmode") && s->index >= 0) {
		set_uartmode(s, &m->uart[opt_index(s, HUTCH_MAX_UARTS) - 1]);
	} else if (!strcmp(s->name, "uarttype") && s->index >= 0) {
		struct hutch_uart *u = &m->uart[opt_index(s, HUTCH_MAX_UARTS) - 1];

		v = opt_value(s);
		if (!in_list(v, uarttypes, &u->type))
			usage_error(verb, "%s '%s': expected 16450, 16550A or 16750", s->raw, v);
		if (strcmp(u->type, "16550A"))
			stored_add(stored, s->raw);
	} else {
		store_vbox_flag(s, m, NULL, stored);
	}
	if (rc)
		die("%s", e.msg);
}

int cmd_modifyvm(int argc, char **argv)
{
	struct stored_list stored = { "" };
	char *old_name;
	struct hutch_machine *m;
	enum hutch_vm_state st;
	struct hutch_lock lk;
	struct optscan s;

	if (argc == 2)
		usage_error("modifyvm", "nothing to change");
	m = vm_verb_start("modifyvm", argc, argv, &lk, &s);
	old_name = strdup(m->name);
	st = hutch_vm_get_state(m, NULL, NULL, NULL);
	while (opt_next_flag(&s)) {
		/* Like VirtualBox: a running VM's hardware is fixed; its description is not. */
		if (hutch_vm_is_live(st) && !opt_is(&s, "description"))
			die("VM '%s' is %s: %s cannot be changed while it runs (power it off first)", m->name,
			    hutch_vm_state_name(st), s.raw);
		modify_one(&s, m, &stored);
	}
	if (strcmp(old_name, m->name)) {
		char *new_name = strdup(m->name);
		struct hutch_registry *r;
		struct hutch_error e;
		int rc;

		hutch_setstr(&m->name, old_name);
		/* Checked again under the registry's lock: two renames to one name cannot both win. */
		r = registry_open();
		if (name_taken(r, new_name, m->uuid))
			die("a VM named '%s' is already registered", new_name);
		rc = hutch_vm_rename(r, &m, new_name, &e);
		if (rc == -EEXIST)
			warn("VM renamed, but its files keep the old name: %s", e.msg);
		else if (rc)
			die("%s", e.msg);
		hutch_registry_close(r);
		free(new_name);
	}
	free(old_name);
	vm_verb_finish(m, &lk, &stored);
	return 0;
}

struct path_list {
	char **p;
	size_t n;
};

static void path_add(struct path_list *l, char *path)
{
	l->p = realloc(l->p, (l->n + 1) * sizeof(*l->p));
	if (!l->p)
		abort();
	l->p[l->n++] = path;
}

/* The VM's own files, deepest first: logs, the Logs folder, the settings file, the folder. */
static void vm_files(struct hutch_machine *m, struct path_list *l)
{
	char *folder = hutch_vm_folder(m), *logs = xasprintf("%s/Logs", folder);
	DIR *d = opendir(logs);
	struct dirent *de;

	if (d) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				path_add(l, xasprintf("%s/%s", logs, de->d_name));
		closedir(d);
	}
	path_add(l, xasprintf("%s/", logs));
	path_add(l, xasprintf("%s", m->settings_file));
	/* Only an empty folder goes: anything else in it is the user's. */
	path_add(l, xasprintf("%s/", folder));
	free(logs);
	free(folder);
}

/*
 * unregistervm of a VM whose settings cannot be read (found by UUID or
 * settings path): VirtualBox lets it go; its files are not deleted, since
 * no one can tell which disks were its own.
 */
static void unregister_inaccessible(const char *uuid, const char *cfg, bool del)
{
	struct hutch_registry *r = registry_open();

	if (del)
		warn("VM {%s} is inaccessible: unregistered, but its files are kept (%s)", uuid, cfg);
	hutch_registry_remove_vm(r, uuid);
	registry_save(r);
	hutch_registry_close(r);
}

int cmd_unregistervm(int argc, char **argv)
{
	bool del = false;
	struct hutch_registry *r;
	struct hutch_machine *m;
	struct hutch_lock lk;
	struct hutch_error e;
	struct optscan s;
	struct path_list doomed = { NULL, 0 };
	const char *pos, *name = NULL;
	char uuid[HUTCH_UUID_LEN + 1], *cfg;
	size_t i, j;

	opt_init(&s, "unregistervm", argc, argv, 1);
	for (;;) {
		if (!opt_next(&s, &pos)) {
			if (!pos)
				break;
			if (name)
				usage_error("unregistervm", "unexpected argument '%s'", pos);
			name = pos;
			continue;
		}
		if (opt_is(&s, "delete|deleteall"))
			del = true;
		else
			usage_error("unregistervm", "unknown option '%s'", s.raw);
	}
	if (!name)
		usage_error("unregistervm", "which VM? give its name or UUID");
	if (vm_inaccessible(name, uuid, &cfg, &e)) {
		unregister_inaccessible(uuid, cfg, del);
		free(cfg);
		return 0;
	}
	m = vm_find_locked(name, &lk);
	if (hutch_vm_is_live(hutch_vm_get_state(m, NULL, NULL, NULL)))
		die("cannot unregister VM '%s': it is running (power it off first)", m->name);
	r = registry_open();
	hutch_registry_remove_vm(r, m->uuid);
	if (del) {
		/* VirtualBox's --delete takes the VM's hard disks with it; DVD images stay. */
		for (i = 0; i < m->nctl; i++) {
			for (j = 0; j < m->ctl[i].natt; j++) {
				struct hutch_attachment *a = &m->ctl[i].att[j];
				struct hutch_medium *md;

				if (strcmp(a->type, "hdd"))
					continue;
				md = hutch_registry_find_medium(r, a->medium_uuid ? a->medium_uuid : a->medium,
								HUTCH_MEDIUM_HDD);
				if (md) {
					/* This VM is unregistered already: any user left is another VM. */
					char *users = medium_users(r, md);

					if (*users) {
						warn("kept '%s': it is also attached to %s", md->location, users);
						free(users);
						continue;
					}
					free(users);
					hutch_registry_remove_medium(r, md->uuid);
				}
				path_add(&doomed, xasprintf("%s", a->medium));
			}
		}
		vm_files(m, &doomed);
		progress_cb(0, NULL);
		/*
		 * One registry write drops the VM and its disks and lists the
		 * files to delete; a kill -9 after it is finished by the next
		 * vmctl command, so no deleted file stays registered.
		 */
		if (hutch_registry_delete_files(r, doomed.p, doomed.n, &e))
			die("%s", e.msg);
		progress_done();
		for (i = 0; i < doomed.n; i++)
			free(doomed.p[i]);
		free(doomed.p);
	} else {
		registry_save(r);
	}
	hutch_registry_close(r);
	hutch_lock_release(&lk);
	hutch_machine_free(m);
	return 0;
}

int cmd_registervm(int argc, char **argv)
{
	struct hutch_registry *r;
	struct hutch_machine *m;
	struct hutch_error e;
	char *path;

	if (argc != 2 || argv[1][0] == '-')
		usage_error("registervm", "expected exactly one settings file");
	path = hutch_abspath(argv[1]);
	if (hutch_config_load(path, &m, &e))
		die("%s", e.msg);
	r = registry_open();
	if (name_taken(r, m->name, NULL))
		die("a VM named '%s' is already registered", m->name);
	if (hutch_registry_add_vm(r, m->uuid, path, &e))
		die("%s", e.msg);
	registry_save(r);
	hutch_registry_close(r);
	hutch_machine_free(m);
	free(path);
	return 0;
}

int cmd_setproperty(int argc, char **argv)
{
	struct hutch_registry *r;

	if (argc != 3)
		usage_error("setproperty", "expected a property and a value");
	if (strcasecmp(argv[1], "machinefolder"))
		die("setproperty '%s' is not yet supported (only machinefolder)", argv[1]);
	r = registry_open();
	free(r->machinefolder);
	r->machinefolder = strcasecmp(argv[2], "default") ? hutch_abspath(argv[2]) : NULL;
	registry_save(r);
	hutch_registry_close(r);
	return 0;
}

/*
 * Extra data: VirtualBox's free-form key/value store per VM.  Hutch keeps
 * it (scripts set keys like VBoxInternal2/SharedFoldersEnableSymlinksCreate)
 * under the option name "extradata:KEY"; nothing acts on it yet.
 */
#define EXTRADATA_PREFIX "extradata:"

int cmd_setextradata(int argc, char **argv)
{
	struct stored_list none = { "" };
	struct hutch_machine *m;
	struct hutch_lock lk;
	char *key;
	size_t i;

	if (argc < 3 || argc > 4)
		usage_error("setextradata", "expected a VM, a key and optionally a value");
	if (!strcasecmp(argv[1], "global"))
		die("setextradata global is not yet supported");
	m = vm_find_locked(argv[1], &lk);
	key = xasprintf(EXTRADATA_PREFIX "%s", argv[2]);
	if (argc == 4 && *argv[3]) {
		hutch_machine_set_extra(m, key, &argv[3], 1);
	} else {
		/* No value deletes the key, as in VirtualBox. */
		for (i = 0; i < m->nextra; i++) {
			if (strcmp(m->extra[i].option, key))
				continue;
			for (size_t j = 0; j < m->extra[i].nargs; j++)
				free(m->extra[i].args[j]);
			free(m->extra[i].args);
			free(m->extra[i].option);
			memmove(&m->extra[i], &m->extra[i + 1], (m->nextra - i - 1) * sizeof(m->extra[0]));
			m->nextra--;
			break;
		}
	}
	free(key);
	vm_verb_finish(m, &lk, &none);
	return 0;
}

int cmd_getextradata(int argc, char **argv)
{
	const struct hutch_extra *x;
	struct hutch_machine *m;
	char *key;
	size_t i;

	if (argc != 3)
		usage_error("getextradata", "expected a VM and a key (or enumerate)");
	if (!strcasecmp(argv[1], "global"))
		die("getextradata global is not yet supported");
	m = vm_find(argv[1]);
	if (!strcmp(argv[2], "enumerate")) {
		for (i = 0; i < m->nextra; i++)
			if (!strncmp(m->extra[i].option, EXTRADATA_PREFIX, strlen(EXTRADATA_PREFIX)))
				printf("Key: %s, Value: %s\n", m->extra[i].option + strlen(EXTRADATA_PREFIX),
				       m->extra[i].nargs ? m->extra[i].args[0] : "");
	} else {
		key = xasprintf(EXTRADATA_PREFIX "%s", argv[2]);
		x = hutch_machine_get_extra(m, key);
		if (x && x->nargs)
			printf("Value: %s\n", x->args[0]);
		else
			printf("No value set!\n");
		free(key);
	}
	hutch_machine_free(m);
	return 0;
}
