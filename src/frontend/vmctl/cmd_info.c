// SPDX-License-Identifier: GPL-2.0-or-later
/* showvminfo and list, with VBoxManage's keys and wording. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hutch/ostype.h"
#include "hutch/vm.h"
#include "vmctl.h"

/* VBoxManage quotes values and escapes '"', '\' and newlines in them. */
static void mr_str(const char *key, const char *v)
{
	bool quote_key = strpbrk(key, " -") && key[0] != '"';

	printf(quote_key ? "\"%s\"=\"" : "%s=\"", key);
	for (; v && *v; v++) {
		if (*v == '"' || *v == '\\')
			printf("\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", stdout);
		else
			putchar(*v);
	}
	fputs("\"\n", stdout);
}

static void mr_uint(const char *key, unsigned long long v)
{
	printf("%s=%llu\n", key, v);
}

static void iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S.000000000", &tm);
}

static const char *os_desc(const char *id)
{
	const struct hutch_ostype *t = hutch_ostype_find(id);

	return t ? t->description : id;
}

/* A stored-only per-adapter setting's value (hostonlyadapter2), "" when unset. */
static const char *nic_extra(const struct hutch_machine *m, const char *option, unsigned slot)
{
	const struct hutch_extra *x;
	char key[64];

	snprintf(key, sizeof(key), "%s%u", option, slot);
	x = hutch_machine_get_extra(m, key);
	return x && x->nargs ? x->args[0] : "";
}

void show_vm_machinereadable(struct hutch_machine *m)
{
	char key[192], val[512], since[64], *folder = hutch_vm_folder(m), *reason;
	time_t t;
	enum hutch_vm_state st = hutch_vm_get_state(m, &t, &reason, NULL);
	size_t i, j;

	mr_str("name", m->name);
	mr_str("Encryption", "disabled");
	mr_str("groups", m->groups ? m->groups : "/");
	mr_str("ostype", os_desc(m->ostype));
	mr_str("UUID", m->uuid);
	mr_str("CfgFile", m->settings_file);
	snprintf(val, sizeof(val), "%s/Snapshots", folder);
	mr_str("SnapFldr", val);
	snprintf(val, sizeof(val), "%s/Logs", folder);
	mr_str("LogFldr", val);
	mr_uint("memory", m->memory);
	mr_uint("vram", m->vram);
	mr_uint("cpus", m->cpus);
	for (i = 0; i < HUTCH_MAX_BOOT; i++) {
		snprintf(key, sizeof(key), "boot%zu", i + 1);
		mr_str(key, m->boot[i]);
	}
	mr_str("graphicscontroller", m->graphics);
	mr_str("hidpointing", m->pointing);
	mr_str("hidkeyboard", "ps2kbd");
	mr_str("firmware", !strcmp(m->firmware, "efi") ? "EFI" : "BIOS");
	mr_str("VMState", hutch_vm_state_name(st));
	iso_time(t, since, sizeof(since));
	mr_str("VMStateChangeTime", since);
	if (reason)
		mr_str("VMStateReason", reason);
	free(reason);

	for (i = 0; i < m->nctl; i++) {
		struct hutch_storagectl *c = &m->ctl[i];

		snprintf(key, sizeof(key), "storagecontrollername%zu", i);
		mr_str(key, c->name);
		snprintf(key, sizeof(key), "storagecontrollertype%zu", i);
		mr_str(key, c->type);
		snprintf(key, sizeof(key), "storagecontrollerinstance%zu", i);
		mr_str(key, "0");
		snprintf(key, sizeof(key), "storagecontrollermaxportcount%zu", i);
		snprintf(val, sizeof(val), "%u", hutch_ctl_max_ports(c->bus));
		mr_str(key, val);
		snprintf(key, sizeof(key), "storagecontrollerportcount%zu", i);
		snprintf(val, sizeof(val), "%u", c->portcount);
		mr_str(key, val);
		snprintf(key, sizeof(key), "storagecontrollerbootable%zu", i);
		mr_str(key, c->bootable ? "on" : "off");
	}
	/* Every slot of every controller, as VBoxManage lists them: "none" where empty. */
	for (i = 0; i < m->nctl; i++) {
		struct hutch_storagectl *c = &m->ctl[i];
		unsigned p, d, per = hutch_ctl_devices_per_port(c->bus);

		for (p = 0; p < c->portcount; p++) {
			for (d = 0; d < per; d++) {
				struct hutch_attachment *a = hutch_ctl_find_att(c, p, d);

				snprintf(key, sizeof(key), "%s-%u-%u", c->name, p, d);
				mr_str(key, a ? a->medium : "none");
				if (a && a->medium_uuid) {
					snprintf(key, sizeof(key), "%s-ImageUUID-%u-%u", c->name, p, d);
					mr_str(key, a->medium_uuid);
				}
				if (a && !strcmp(a->type, "dvddrive")) {
					snprintf(key, sizeof(key), "%s-IsEjected-%u-%u", c->name, p, d);
					mr_str(key, "off");
				}
			}
		}
	}

	for (i = 0; i < HUTCH_MAX_NICS; i++) {
		struct hutch_nic *n = &m->nic[i];
		unsigned s = (unsigned)i + 1;
		const char *nic = n->attachment;

		if (!strcmp(n->attachment, "none")) {
			snprintf(key, sizeof(key), "nic%u", s);
			mr_str(key, "none");
			continue;
		}
		/* VBoxManage's order: the attachment's own key, then the adapter's, then NAT's settings and rules. */
		if (!strcmp(n->attachment, "nat")) {
			snprintf(key, sizeof(key), "natnet%u", s);
			mr_str(key, n->natnet ? n->natnet : "nat");
		} else if (!strcmp(n->attachment, "bridged")) {
			snprintf(key, sizeof(key), "bridgeadapter%u", s);
			mr_str(key, n->bridge ? n->bridge : "");
		} else if (!strcmp(n->attachment, "intnet")) {
			snprintf(key, sizeof(key), "intnet%u", s);
			mr_str(key, hutch_nic_intnet(n));
		} else if (!strcmp(n->attachment, "hostonly")) {
			snprintf(key, sizeof(key), "hostonlyadapter%u", s);
			mr_str(key, nic_extra(m, "hostonlyadapter", s));
		} else if (!strcmp(n->attachment, "generic")) {
			snprintf(key, sizeof(key), "generic%u", s);
			mr_str(key, nic_extra(m, "nicgenericdrv", s));
			nic = "Generic";
		} else if (!strcmp(n->attachment, "natnetwork")) {
			snprintf(key, sizeof(key), "nat-network%u", s);
			mr_str(key, nic_extra(m, "natnetwork", s));
		}
		snprintf(key, sizeof(key), "macaddress%u", s);
		mr_str(key, n->mac);
		snprintf(key, sizeof(key), "cableconnected%u", s);
		mr_str(key, n->cable ? "on" : "off");
		snprintf(key, sizeof(key), "nic%u", s);
		mr_str(key, nic);
		snprintf(key, sizeof(key), "nictype%u", s);
		mr_str(key, n->type);
		snprintf(key, sizeof(key), "nicspeed%u", s);
		mr_str(key, "0");
		if (!strcmp(n->attachment, "nat")) {
			/* slirp's defaults, which VBoxManage prints as 0 (MTU) and 64 (KiB). */
			mr_str("mtu", "0");
			mr_str("sockSnd", "64");
			mr_str("sockRcv", "64");
			mr_str("tcpWndSnd", "64");
			mr_str("tcpWndRcv", "64");
		}
		for (j = 0; j < n->npf; j++) {
			struct hutch_natpf *pf = &n->pf[j];

			snprintf(key, sizeof(key), "Forwarding(%zu)", j);
			snprintf(val, sizeof(val), "%s,%s,%s,%u,%s,%u", pf->name, pf->proto, pf->hostip,
				 pf->hostport, pf->guestip, pf->guestport);
			mr_str(key, val);
		}
		/* Not VBoxManage's keys, but scripts read back what they set (they were stored settings once). */
		if (n->dns_host_resolver) {
			snprintf(key, sizeof(key), "natdnshostresolver%u", s);
			mr_str(key, "on");
		}
		if (n->tftp_prefix) {
			snprintf(key, sizeof(key), "nattftpprefix%u", s);
			mr_str(key, n->tftp_prefix);
		}
		if (n->tftp_file) {
			snprintf(key, sizeof(key), "nattftpfile%u", s);
			mr_str(key, n->tftp_file);
		}
	}
	for (i = 0; i < HUTCH_MAX_UARTS; i++) {
		struct hutch_uart *u = &m->uart[i];
		unsigned s = (unsigned)i + 1;

		snprintf(key, sizeof(key), "uart%u", s);
		if (!u->enabled) {
			mr_str(key, "off");
			continue;
		}
		snprintf(val, sizeof(val), "0x%04x,%u", u->iobase, u->irq);
		mr_str(key, val);
		snprintf(key, sizeof(key), "uartmode%u", s);
		if (u->path)
			snprintf(val, sizeof(val), "%s,%s", u->mode, u->path);
		else
			snprintf(val, sizeof(val), "%s", u->mode);
		mr_str(key, val);
		snprintf(key, sizeof(key), "uarttype%u", s);
		mr_str(key, u->type);
	}
	/* Hutch's direct Linux boot (no VBoxManage counterpart). */
	if (m->kernel)
		mr_str("kernel", m->kernel);
	if (m->initrd)
		mr_str("initrd", m->initrd);
	if (m->cmdline)
		mr_str("cmdline", m->cmdline);
	/* Stored VBoxManage settings under the flag's own name (pae="on"). */
	for (i = 0; i < m->nextra; i++) {
		char joined[512] = "";

		if (hutch_extra_is_secret(m->extra[i].option))
			continue;
		for (j = 0; j < m->extra[i].nargs; j++)
			snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", j ? "," : "",
				 m->extra[i].args[j]);
		mr_str(m->extra[i].option, joined);
	}
	if (m->description)
		mr_str("description", m->description);
	free(folder);
}

/* One "Label:   value" line, values aligned in column 30 as VBoxManage does. */
static void H(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void H(const char *label, const char *fmt, ...)
{
	va_list ap;
	int n = printf("%s:", label);

	printf("%*s", n < 29 ? 29 - n : 1, "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void show_vm_human(struct hutch_machine *m, bool details)
{
	char since[64], *reason;
	time_t t;
	enum hutch_vm_state st = hutch_vm_get_state(m, &t, &reason, NULL);
	size_t i, j;

	H("Name", "%s", m->name);
	H("Encryption", "disabled");
	H("Groups", "%s", m->groups ? m->groups : "/");
	H("Guest OS", "%s", os_desc(m->ostype));
	H("UUID", "%s", m->uuid);
	H("Config file", "%s", m->settings_file);
	H("Memory size", "%uMB", m->memory);
	H("VRAM size", "%uMB", m->vram);
	H("Number of CPUs", "%u", m->cpus);
	for (i = 0; i < HUTCH_MAX_BOOT; i++) {
		char label[32];

		snprintf(label, sizeof(label), "Boot Device %zu", i + 1);
		H(label, "%s", m->boot[i]);
	}
	iso_time(t, since, sizeof(since));
	H("State", "%s (since %s)", hutch_vm_state_text(st), since);
	if (reason)
		H("State reason", "%s", reason);
	free(reason);
	H("Graphics Controller", "%s", m->graphics);
	H("Pointing Device", "%s", !strcmp(m->pointing, "ps2") ? "PS/2 Mouse" : "USB Tablet");
	H("Keyboard Device", "PS/2 Keyboard");
	H("Firmware", "%s", !strcmp(m->firmware, "efi") ? "EFI" : "BIOS");
	if (m->kernel)
		H("Direct boot kernel", "%s", m->kernel);
	if (m->initrd)
		H("Direct boot initrd", "%s", m->initrd);
	if (m->cmdline)
		H("Kernel command line", "%s", m->cmdline);
	printf("Storage Controllers:\n");
	for (i = 0; i < m->nctl; i++) {
		struct hutch_storagectl *c = &m->ctl[i];

		printf("#%zu: '%s', Type: %s, Instance: 0, Ports: %u (max %u), %s\n", i, c->name, c->type,
		       c->portcount, hutch_ctl_max_ports(c->bus), c->bootable ? "Bootable" : "Not bootable");
		for (j = 0; j < c->natt; j++) {
			struct hutch_attachment *a = &c->att[j];

			if (!strcmp(a->medium, "emptydrive"))
				printf("  Port %u, Unit %u: Empty\n", a->port, a->device);
			else
				printf("  Port %u, Unit %u: UUID: %s\n    Location: \"%s\"\n", a->port, a->device,
				       a->medium_uuid ? a->medium_uuid : "", a->medium);
		}
	}
	for (i = 0; i < HUTCH_MAX_NICS; i++) {
		struct hutch_nic *n = &m->nic[i];
		char label[64], attach[160];

		snprintf(label, sizeof(label), "NIC %zu", i + 1);
		if (!strcmp(n->attachment, "none")) {
			if (details || i == 0)
				H(label, "disabled");
			continue;
		}
		if (!strcmp(n->attachment, "null"))
			snprintf(attach, sizeof(attach), "none");
		else if (!strcmp(n->attachment, "nat"))
			snprintf(attach, sizeof(attach), "NAT");
		else if (!strcmp(n->attachment, "bridged"))
			snprintf(attach, sizeof(attach), "Bridged Interface '%s'", n->bridge ? n->bridge : "");
		else if (!strcmp(n->attachment, "intnet"))
			snprintf(attach, sizeof(attach), "Internal Network '%s'", hutch_nic_intnet(n));
		else if (!strcmp(n->attachment, "hostonly"))
			snprintf(attach, sizeof(attach), "Host-only Interface '%s'",
				 nic_extra(m, "hostonlyadapter", (unsigned)i + 1));
		else if (!strcmp(n->attachment, "generic"))
			snprintf(attach, sizeof(attach), "Generic '%s'", nic_extra(m, "nicgenericdrv", (unsigned)i + 1));
		else if (!strcmp(n->attachment, "natnetwork"))
			snprintf(attach, sizeof(attach), "NAT Network '%s'", nic_extra(m, "natnetwork", (unsigned)i + 1));
		else
			snprintf(attach, sizeof(attach), "%s", n->attachment);
		H(label, "MAC: %s, Attachment: %s, Cable connected: %s, Trace: off (file: none), Type: %s, "
		  "Reported speed: 0 Mbps, Boot priority: 0, Promisc Policy: deny, Bandwidth group: none",
		  n->mac, attach, n->cable ? "on" : "off", n->type);
		if (!strcmp(n->attachment, "nat"))
			printf("NIC %zu Settings:  MTU: 0, Socket (send: 64, receive: 64), TCP Window (send:64, receive: 64)\n",
			       i + 1);
		for (j = 0; j < n->npf; j++) {
			struct hutch_natpf *pf = &n->pf[j];

			printf("NIC %zu Rule(%zu):   name = %s, protocol = %s, host ip = %s, host port = %u, guest ip = %s, "
			       "guest port = %u\n", i + 1, j, pf->name, pf->proto, pf->hostip, pf->hostport, pf->guestip,
			       pf->guestport);
		}
	}
	for (i = 0; i < HUTCH_MAX_UARTS; i++) {
		struct hutch_uart *u = &m->uart[i];
		char label[32];

		snprintf(label, sizeof(label), "UART %zu", i + 1);
		if (!u->enabled) {
			if (details || i == 0)
				H(label, "disabled");
			continue;
		}
		H(label, "I/O base: 0x%04x, IRQ: %u, %s%s%s", u->iobase, u->irq, u->mode,
		  u->path ? " '" : "", u->path ? u->path : "");
	}
	if (m->nextra) {
		printf("Stored settings (not yet supported by Hutch):\n");
		for (i = 0; i < m->nextra; i++) {
			if (hutch_extra_is_secret(m->extra[i].option))
				continue;
			printf("  --%s", m->extra[i].option);
			for (j = 0; j < m->extra[i].nargs; j++)
				printf(" %s", m->extra[i].args[j]);
			putchar('\n');
		}
	}
	printf("Description:\n%s\n", m->description ? m->description : "");
}

int cmd_showvminfo(int argc, char **argv)
{
	bool mr = false, details = false;
	const char *name = NULL, *pos;
	int log_idx = -1;
	struct hutch_machine *m;
	char uuid[HUTCH_UUID_LEN + 1], *cfg;
	struct hutch_error why;
	struct optscan s;

	opt_init(&s, "showvminfo", argc, argv, 1);
	for (;;) {
		if (!opt_next(&s, &pos)) {
			if (!pos)
				break;
			if (name)
				usage_error("showvminfo", "unexpected argument '%s'", pos);
			name = pos;
			continue;
		}
		if (opt_is(&s, "machinereadable"))
			mr = true;
		else if (opt_is(&s, "details"))
			details = true;
		else if (opt_is(&s, "log"))
			log_idx = (int)parse_num("showvminfo", s.raw, opt_value(&s), 0, 0, "(only log 0 is kept)");
		else if (opt_is(&s, "password") || opt_is(&s, "passwordid"))
			(void)opt_value(&s);
		else
			usage_error("showvminfo", "unknown option '%s'", s.raw);
	}
	if (!name)
		usage_error("showvminfo", "which VM? give its name or UUID");
	if (vm_inaccessible(name, uuid, &cfg, &why)) {
		/* VBoxManage's output for an inaccessible VM, exit status 0 (Vagrant relies on it). */
		if (mr) {
			mr_str("name", "<inaccessible>");
			mr_str("UUID", uuid);
		} else {
			printf("Name:            <inaccessible!>\n");
			printf("UUID:            %s\n", uuid);
			printf("Config file:     %s\n", cfg);
			printf("Access error details:\n%s\n\n", why.msg);
		}
		free(cfg);
		return 0;
	}
	m = vm_find(name);
	if (log_idx >= 0) {
		char *log = hutch_vm_log_path(m), *buf;
		FILE *f = fopen(log, "re");
		size_t n;

		if (!f)
			die("VM '%s' has no log yet (%s)", m->name, log);
		buf = malloc(65536);
		while (buf && (n = fread(buf, 1, 65536, f)) > 0)
			fwrite(buf, 1, n, stdout);
		free(buf);
		fclose(f);
		free(log);
	} else if (mr)
		show_vm_machinereadable(m);
	else
		show_vm_human(m, details);
	hutch_machine_free(m);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct hutch_machine *x = *(struct hutch_machine *const *)a;
	const struct hutch_machine *y = *(struct hutch_machine *const *)b;

	return strcasecmp(x->name, y->name);
}

static void list_vms(bool running, bool sorted, bool lng)
{
	struct hutch_registry *r = registry_open();
	struct hutch_machine **ms = calloc(r->nvms + 1, sizeof(*ms));
	size_t n = 0, i;

	/*
	 * Like VirtualBox, a VM whose settings cannot be read is listed as
	 * inaccessible, and nothing goes to stderr: showvminfo UUID tells why.
	 */
	for (i = 0; i < r->nvms; i++) {
		if (hutch_config_load(r->vms[i].path, &ms[n], NULL)) {
			if (!running)
				printf("\"<inaccessible>\" {%s}\n", r->vms[i].uuid);
			continue;
		}
		n++;
	}
	hutch_registry_close(r);
	if (sorted)
		qsort(ms, n, sizeof(*ms), by_name);
	for (i = 0; i < n; i++) {
		if (!running || hutch_vm_is_live(hutch_vm_get_state(ms[i], NULL, NULL, NULL))) {
			if (lng) {
				show_vm_human(ms[i], false);
				putchar('\n');
			} else {
				printf("\"%s\" {%s}\n", ms[i]->name, ms[i]->uuid);
			}
		}
		hutch_machine_free(ms[i]);
	}
	free(ms);
}

static void list_media(int kind)
{
	struct hutch_registry *r = registry_open();
	size_t i;
	bool first = true;

	for (i = 0; i < r->nmedia; i++) {
		struct hutch_medium *md = &r->media[i];

		if ((int)md->kind != kind)
			continue;
		if (!first)
			putchar('\n');
		first = false;
		printf("UUID:           %s\n", md->uuid);
		printf("Parent UUID:    base\n");
		printf("State:          created\n");
		printf("Type:           %s\n", kind == HUTCH_MEDIUM_HDD ? "normal (base)" : "readonly");
		printf("Location:       %s\n", md->location);
		printf("Storage format: %s\n", md->format);
		printf("Capacity:       %llu MBytes\n", (unsigned long long)(md->size >> 20));
		printf("Encryption:     disabled\n");
	}
	hutch_registry_close(r);
}

static void list_ostypes(void)
{
	const struct hutch_ostype *t;
	size_t i;

	for (i = 0; (t = hutch_ostype_at(i)); i++) {
		printf("ID:          %s\n", t->id);
		printf("Description: %s\n", t->description);
		printf("Family ID:   %s\n", t->family_id);
		printf("Family Desc: %s\n", t->family_desc);
		printf("64 bit:      %s\n\n", t->is64 ? "true" : "false");
	}
}

static void list_systemproperties(void)
{
	struct hutch_registry *r = registry_open();
	char *folder = hutch_registry_machine_folder(r);

	printf("API version:                     hutch %s\n", HUTCH_VERSION);
	printf("Minimum guest RAM size:          %u Megabytes\n", HUTCH_MEMORY_MIN);
	printf("Maximum guest RAM size:          %u Megabytes\n", HUTCH_MEMORY_MAX);
	printf("Minimum video RAM size:          0 Megabytes\n");
	printf("Maximum video RAM size:          %u Megabytes\n", HUTCH_VRAM_MAX);
	printf("Minimum guest CPU count:         %u\n", HUTCH_CPUS_MIN);
	printf("Maximum guest CPU count:         %u\n", HUTCH_CPUS_MAX);
	printf("Default machine folder:          %s\n", folder);
	free(folder);
	hutch_registry_close(r);
}

int cmd_list(int argc, char **argv)
{
	bool sorted = false, lng = false;
	const char *what = NULL;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-s") || !strcmp(a, "--sorted"))
			sorted = true;
		else if (!strcmp(a, "-l") || !strcmp(a, "--long"))
			lng = true;
		else if (a[0] == '-')
			usage_error("list", "unknown option '%s'", a);
		else if (what)
			usage_error("list", "unexpected argument '%s'", a);
		else
			what = a;
	}
	if (!what)
		usage_error("list", "what? vms, runningvms, ostypes, hdds, dvds, floppies or systemproperties");
	if (!strcmp(what, "vms"))
		list_vms(false, sorted, lng);
	else if (!strcmp(what, "runningvms"))
		list_vms(true, sorted, lng);
	else if (!strcmp(what, "ostypes"))
		list_ostypes();
	else if (!strcmp(what, "hdds"))
		list_media(HUTCH_MEDIUM_HDD);
	else if (!strcmp(what, "dvds"))
		list_media(HUTCH_MEDIUM_DVD);
	else if (!strcmp(what, "floppies"))
		list_media(HUTCH_MEDIUM_FLOPPY);
	else if (!strcmp(what, "systemproperties"))
		list_systemproperties();
	else if (!strcmp(what, "bridgedifs") || !strcmp(what, "hostonlyifs") || !strcmp(what, "natnets") ||
		 !strcmp(what, "intnets") || !strcmp(what, "hostinfo") || !strcmp(what, "extpacks") ||
		 !strcmp(what, "groups") || !strcmp(what, "usbhost") || !strcmp(what, "hostdvds"))
		die("list %s is not yet supported", what);
	else
		usage_error("list", "unknown list '%s'", what);
	return 0;
}
