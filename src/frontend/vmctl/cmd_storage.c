// SPDX-License-Identifier: GPL-2.0-or-later
/* storagectl and storageattach. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hutch/vm.h"
#include "vmctl.h"

static void refuse_if_running(struct hutch_machine *m, const char *what)
{
	enum hutch_vm_state st = hutch_vm_get_state(m, NULL, NULL, NULL);

	if (hutch_vm_is_live(st))
		die("VM '%s' is %s: %s cannot be changed while it runs (power it off first)", m->name,
		    hutch_vm_state_name(st), what);
}

int cmd_storagectl(int argc, char **argv)
{
	const char *name = NULL, *add = NULL, *type = NULL, *rename_to = NULL;
	unsigned long long portcount = 0;
	int bootable = -1, hostiocache = -1;
	bool remove = false;
	struct stored_list stored = { "" };
	struct hutch_storagectl *c;
	struct hutch_machine *m;
	struct hutch_error e;
	struct hutch_lock lk;
	struct optscan s;

	m = vm_verb_start("storagectl", argc, argv, &lk, &s);
	while (opt_next_flag(&s)) {
		if (opt_is(&s, "name"))
			name = opt_value(&s);
		else if (opt_is(&s, "add"))
			add = opt_value(&s);
		else if (opt_is(&s, "controller"))
			type = opt_value(&s);
		else if (opt_is(&s, "portcount|sataportcount"))
			portcount = parse_num("storagectl", s.raw, opt_value(&s), 1, HUTCH_PORTCOUNT_MAX, "ports");
		else if (opt_is(&s, "hostiocache"))
			hostiocache = parse_onoff("storagectl", s.raw, opt_value(&s));
		else if (opt_is(&s, "bootable"))
			bootable = parse_onoff("storagectl", s.raw, opt_value(&s));
		else if (opt_is(&s, "rename"))
			rename_to = opt_value(&s);
		else if (opt_is(&s, "remove"))
			remove = true;
		else
			store_vbox_flag(&s, m, "storagectl:", &stored);
	}
	if (!name)
		usage_error("storagectl", "--name is required");
	refuse_if_running(m, "storage controllers");
	if (remove) {
		if (hutch_machine_remove_ctl(m, name, &e))
			die("%s", e.msg);
		goto save;
	}
	if (add) {
		if (type && !hutch_ctl_type_bus(type))
			usage_error("storagectl", "--controller '%s': expected PIIX3, PIIX4, ICH6, IntelAhci, "
				    "VirtIO, LsiLogic, BusLogic, LSILogicSAS, I82078, USB or NVMe", type);
		if (hutch_machine_add_ctl(m, name, add, type, &e))
			die("%s", e.msg);
	} else if (!hutch_machine_find_ctl(m, name)) {
		die("could not find a storage controller named '%s' in VM '%s' (add it with --add)", name, m->name);
	}
	c = hutch_machine_find_ctl(m, name);
	if (type && !add) {
		const char *bus = hutch_ctl_type_bus(type);

		if (!bus || strcmp(bus, c->bus))
			die("--controller '%s' does not fit controller '%s' on bus %s", type, name, c->bus);
		hutch_setstr(&c->type, hutch_ctl_type_canonical(type));
	}
	if (portcount) {
		if (portcount > hutch_ctl_max_ports(c->bus))
			die("--portcount %llu is out of range for bus %s: expected 1 to %u", portcount, c->bus,
			    hutch_ctl_max_ports(c->bus));
		for (size_t i = 0; i < c->natt; i++)
			if (c->att[i].port >= portcount)
				die("--portcount %llu: port %u of controller '%s' still has a device attached",
				    portcount, c->att[i].port, name);
		c->portcount = (unsigned)portcount;
	}
	if (bootable >= 0)
		c->bootable = bootable;
	if (hostiocache >= 0)
		c->hostiocache = hostiocache;
	if (rename_to) {
		if (hutch_machine_find_ctl(m, rename_to))
			die("storage controller named '%s' already exists", rename_to);
		hutch_setstr(&c->name, rename_to);
	}
save:
	vm_verb_finish(m, &lk, &stored);
	return 0;
}

static enum hutch_medium_kind kind_of(const char *type)
{
	if (!strcmp(type, "hdd"))
		return HUTCH_MEDIUM_HDD;
	if (!strcmp(type, "dvddrive"))
		return HUTCH_MEDIUM_DVD;
	return HUTCH_MEDIUM_FLOPPY;
}

int cmd_storageattach(int argc, char **argv)
{
	const char *ctlname = NULL, *type = NULL, *medium = NULL;
	long long port = -1, device = 0;
	struct stored_list stored = { "" };
	struct hutch_storagectl *c;
	struct hutch_attachment *old;
	struct hutch_machine *m;
	struct hutch_error e;
	struct hutch_lock lk;
	struct optscan s;
	char prefix[160];
	int rc;

	m = vm_verb_start("storageattach", argc, argv, &lk, &s);
	while (opt_next_flag(&s)) {
		if (opt_is(&s, "storagectl"))
			ctlname = opt_value(&s);
		else if (opt_is(&s, "port"))
			port = (long long)parse_num("storageattach", s.raw, opt_value(&s), 0, 254, NULL);
		else if (opt_is(&s, "device"))
			device = (long long)parse_num("storageattach", s.raw, opt_value(&s), 0, 1, NULL);
		else if (opt_is(&s, "type"))
			type = opt_value(&s);
		else if (opt_is(&s, "medium"))
			medium = opt_value(&s);
		else {
			/* Per-attachment flags: kept under the slot they belong to. */
			snprintf(prefix, sizeof(prefix), "storageattach:%s-%lld-%lld:", ctlname ? ctlname : "",
				 port, device);
			store_vbox_flag(&s, m, prefix, &stored);
		}
	}
	if (!ctlname)
		usage_error("storageattach", "--storagectl is required");
	if (port < 0)
		usage_error("storageattach", "--port is required");
	if (type && strcmp(type, "hdd") && strcmp(type, "dvddrive") && strcmp(type, "fdd"))
		usage_error("storageattach", "--type '%s': expected hdd, dvddrive or fdd", type);
	c = hutch_machine_find_ctl(m, ctlname);
	if (!c)
		die("could not find a storage controller named '%s' in VM '%s'", ctlname, m->name);
	refuse_if_running(m, "storage attachments");
	old = hutch_ctl_find_att(c, (unsigned)port, (unsigned)device);
	if (!type && old)
		type = old->type;
	if (!medium) {
		if (!stored.text[0])
			usage_error("storageattach", "--medium is required");
		goto save;
	}
	if (!strcasecmp(medium, "none")) {
		rc = hutch_ctl_attach(c, (unsigned)port, (unsigned)device, type ? type : "hdd", NULL, NULL, &e);
	} else if (!strcasecmp(medium, "emptydrive")) {
		if (!type)
			type = "dvddrive";
		if (!strcmp(type, "hdd"))
			die("--medium emptydrive needs --type dvddrive or fdd (a hard disk cannot be empty)");
		rc = hutch_ctl_attach(c, (unsigned)port, (unsigned)device, type, "emptydrive", NULL, &e);
	} else if (!strcasecmp(medium, "additions") || !strncasecmp(medium, "host:", 5) ||
		   !strcasecmp(medium, "iscsi")) {
		die("--medium %s is not yet supported: give an image file", medium);
	} else {
		struct hutch_registry *r;
		struct hutch_medium *md;

		if (!type)
			usage_error("storageattach", "--type is required when attaching to an empty slot");
		r = registry_open();
		md = hutch_registry_find_medium(r, medium, (int)kind_of(type));
		if (!md && hutch_registry_find_medium(r, medium, -1))
			die("medium '%s' is registered, but not as a %s image", medium, type);
		if (!md && hutch_registry_open_medium(r, medium, kind_of(type), &md, &e))
			die("%s", e.msg);
		registry_save(r);
		rc = hutch_ctl_attach(c, (unsigned)port, (unsigned)device, type, md->location, md->uuid, &e);
		hutch_registry_close(r);
	}
	if (rc)
		die("%s", e.msg);
save:
	vm_verb_finish(m, &lk, &stored);
	return 0;
}
