// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A machine's XML settings file (docs/config-format.md, docs/hutch-vm.xsd):
 * load, serialise, and save atomically.  The loader refuses what the
 * schema refuses, naming the file and line, so a hand-edited mistake is
 * caught when it is read rather than when the VM misbehaves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "hutch/config.h"
#include "hutch/registry.h"
#include "internal.h"

#define CONFIG_ROOT "HutchMachine"
#define CONFIG_VERSION "1"

/* --- saving --- */

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
	return xmlNewChild(parent, NULL, BAD_CAST name, NULL);
}

static void save_nic(xmlNodePtr net, unsigned slot, const struct hutch_nic *n)
{
	xmlNodePtr a = child(net, "Adapter");
	size_t i;

	hutch_xml_setf(a, "slot", "%u", slot);
	hutch_xml_set(a, "attachment", n->attachment);
	hutch_xml_set(a, "type", n->type);
	hutch_xml_set(a, "mac", n->mac);
	hutch_xml_set(a, "cable", n->cable ? "true" : "false");
	hutch_xml_set(a, "bridge", n->bridge);
	hutch_xml_set(a, "intnet", n->intnet);
	hutch_xml_set(a, "natnet", n->natnet);
	hutch_xml_set(a, "tftpprefix", n->tftp_prefix);
	hutch_xml_set(a, "tftpfile", n->tftp_file);
	if (n->dns_host_resolver)
		hutch_xml_set(a, "dnshostresolver", "true");
	for (i = 0; i < n->npf; i++) {
		const struct hutch_natpf *pf = &n->pf[i];
		xmlNodePtr f = child(a, "Forwarding");

		hutch_xml_set(f, "name", pf->name);
		hutch_xml_set(f, "proto", pf->proto);
		hutch_xml_set(f, "hostip", pf->hostip);
		hutch_xml_setf(f, "hostport", "%u", pf->hostport);
		hutch_xml_set(f, "guestip", pf->guestip);
		hutch_xml_setf(f, "guestport", "%u", pf->guestport);
	}
}

int hutch_config_serialize(const struct hutch_machine *m, char **buf, size_t *len, struct hutch_error *e)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root, hw, x, y;
	size_t i, j;
	int rc;

	root = xmlNewNode(NULL, BAD_CAST CONFIG_ROOT);
	xmlDocSetRootElement(doc, root);
	hutch_xml_set(root, "version", CONFIG_VERSION);
	hutch_xml_set(root, "uuid", m->uuid);
	hutch_xml_set(root, "name", m->name);
	hutch_xml_set(root, "ostype", m->ostype);
	if (m->groups)
		hutch_xml_set(root, "groups", m->groups);
	if (m->description)
		xmlNewTextChild(root, NULL, BAD_CAST "Description", BAD_CAST m->description);

	hw = child(root, "Hardware");
	hutch_xml_setf(hw, "memory", "%u", m->memory);
	hutch_xml_setf(hw, "cpus", "%u", m->cpus);
	x = child(hw, "Display");
	hutch_xml_setf(x, "vram", "%u", m->vram);
	hutch_xml_set(x, "controller", m->graphics);
	x = child(hw, "HID");
	hutch_xml_set(x, "pointing", m->pointing);
	x = child(hw, "Boot");
	hutch_xml_set(x, "firmware", m->firmware);
	for (i = 0; i < HUTCH_MAX_BOOT; i++) {
		y = child(x, "Order");
		hutch_xml_setf(y, "position", "%zu", i + 1);
		hutch_xml_set(y, "device", m->boot[i]);
	}
	if (m->kernel || m->initrd || m->cmdline) {
		x = child(hw, "DirectBoot");
		hutch_xml_set(x, "kernel", m->kernel);
		hutch_xml_set(x, "initrd", m->initrd);
		hutch_xml_set(x, "cmdline", m->cmdline);
	}
	x = child(hw, "Network");
	for (i = 0; i < HUTCH_MAX_NICS; i++)
		save_nic(x, (unsigned)i + 1, &m->nic[i]);
	x = child(hw, "UARTs");
	for (i = 0; i < HUTCH_MAX_UARTS; i++) {
		const struct hutch_uart *u = &m->uart[i];

		y = child(x, "UART");
		hutch_xml_setf(y, "slot", "%zu", i + 1);
		hutch_xml_set(y, "enabled", u->enabled ? "true" : "false");
		hutch_xml_setf(y, "iobase", "0x%x", u->iobase);
		hutch_xml_setf(y, "irq", "%u", u->irq);
		hutch_xml_set(y, "type", u->type);
		hutch_xml_set(y, "mode", u->mode);
		hutch_xml_set(y, "path", u->path);
	}

	x = child(root, "StorageControllers");
	for (i = 0; i < m->nctl; i++) {
		const struct hutch_storagectl *c = &m->ctl[i];

		y = child(x, "StorageController");
		hutch_xml_set(y, "name", c->name);
		hutch_xml_set(y, "bus", c->bus);
		hutch_xml_set(y, "type", c->type);
		hutch_xml_setf(y, "portcount", "%u", c->portcount);
		hutch_xml_set(y, "bootable", c->bootable ? "true" : "false");
		hutch_xml_set(y, "hostiocache", c->hostiocache ? "true" : "false");
		for (j = 0; j < c->natt; j++) {
			const struct hutch_attachment *a = &c->att[j];
			xmlNodePtr d = child(y, "AttachedDevice");

			hutch_xml_setf(d, "port", "%u", a->port);
			hutch_xml_setf(d, "device", "%u", a->device);
			hutch_xml_set(d, "type", a->type);
			hutch_xml_set(d, "medium", a->medium);
			hutch_xml_set(d, "uuid", a->medium_uuid);
		}
	}

	if (m->nextra) {
		x = child(root, "ExtraSettings");
		for (i = 0; i < m->nextra; i++) {
			y = child(x, "Setting");
			hutch_xml_set(y, "option", m->extra[i].option);
			/* A password never reaches the file, even one an older Hutch stored. */
			for (j = 0; j < m->extra[i].nargs && !hutch_extra_is_secret(m->extra[i].option); j++)
				xmlNewTextChild(y, NULL, BAD_CAST "Arg", BAD_CAST m->extra[i].args[j]);
		}
	}
	rc = hutch_xml_dump(doc, buf, len, e);
	xmlFreeDoc(doc);
	return rc;
}

int hutch_config_save(const struct hutch_machine *m, struct hutch_error *e)
{
	char *buf;
	size_t len;
	int rc;

	if (!m->settings_file)
		return hutch_seterr(e, -EINVAL, "VM '%s' has no settings file", m->name);
	rc = hutch_config_serialize(m, &buf, &len, e);
	if (rc)
		return rc;
	rc = hutch_write_file_atomic(m->settings_file, buf, len, e);
	free(buf);
	return rc;
}

/* --- loading --- */

struct loader {
	const char *file;
	struct hutch_error *e;
};

static int bad(struct loader *L, xmlNodePtr n, const char *what)
{
	return hutch_seterr(L->e, -EINVAL, "%s:%d: %s", L->file, (int)xmlGetLineNo(n), what);
}

static int unexpected(struct loader *L, xmlNodePtr n)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "unexpected element <%s> in <%s>", (const char *)n->name,
		 n->parent ? (const char *)n->parent->name : "");
	return bad(L, n, msg);
}

/* A required string attribute. */
static int req(struct loader *L, xmlNodePtr n, const char *attr, char **out)
{
	char msg[256];

	free(*out);
	*out = hutch_xml_attr(n, attr);
	if (*out)
		return 0;
	snprintf(msg, sizeof(msg), "<%s> has no %s attribute", (const char *)n->name, attr);
	return bad(L, n, msg);
}

static int uint_attr(struct loader *L, xmlNodePtr n, const char *attr, unsigned long long min,
		     unsigned long long max, unsigned *out)
{
	unsigned long long v;
	int rc = hutch_xml_attr_uint(n, attr, L->file, max, &v, true, L->e);
	char msg[256];

	if (rc)
		return rc;
	if (v < min) {
		snprintf(msg, sizeof(msg), "<%s %s=\"%llu\">: expected at least %llu", (const char *)n->name,
			 attr, v, min);
		return bad(L, n, msg);
	}
	*out = (unsigned)v;
	return 0;
}

static int slot_of(struct loader *L, xmlNodePtr n, unsigned max, unsigned *slot)
{
	int rc = uint_attr(L, n, "slot", 1, max, slot);

	if (!rc)
		(*slot)--;
	return rc;
}

static int load_nic(struct loader *L, xmlNodePtr a, struct hutch_machine *m)
{
	struct hutch_nic *nic;
	unsigned slot;
	xmlNodePtr f;
	int rc;

	if ((rc = slot_of(L, a, HUTCH_MAX_NICS, &slot)))
		return rc;
	nic = &m->nic[slot];
	if ((rc = req(L, a, "attachment", &nic->attachment)) || (rc = req(L, a, "type", &nic->type)) ||
	    (rc = req(L, a, "mac", &nic->mac)) ||
	    (rc = hutch_xml_attr_bool(a, "cable", L->file, true, &nic->cable, L->e)))
		return rc;
	free(nic->bridge);
	nic->bridge = hutch_xml_attr(a, "bridge");
	free(nic->intnet);
	nic->intnet = hutch_xml_attr(a, "intnet");
	free(nic->tftp_prefix);
	nic->tftp_prefix = hutch_xml_attr(a, "tftpprefix");
	free(nic->tftp_file);
	nic->tftp_file = hutch_xml_attr(a, "tftpfile");
	if ((rc = hutch_xml_attr_bool(a, "dnshostresolver", L->file, false, &nic->dns_host_resolver, L->e)))
		return rc;
	{
		char *net = hutch_xml_attr(a, "natnet");
		struct hutch_error why;

		rc = net ? hutch_nic_set_natnet(nic, net, &why) : 0;
		free(net);
		if (rc)
			return bad(L, a, why.msg);
	}
	for (f = a->children; f; f = f->next) {
		struct hutch_natpf pf = { 0 };

		if (f->type != XML_ELEMENT_NODE)
			continue;
		if (!hutch_xml_is(f, "Forwarding"))
			return unexpected(L, f);
		if ((rc = req(L, f, "name", &pf.name)) || (rc = req(L, f, "proto", &pf.proto)) ||
		    (rc = uint_attr(L, f, "hostport", 1, 65535, &pf.hostport)) ||
		    (rc = uint_attr(L, f, "guestport", 1, 65535, &pf.guestport))) {
			hutch_natpf_clear(&pf);
			return rc;
		}
		pf.hostip = hutch_xml_attr(f, "hostip");
		pf.guestip = hutch_xml_attr(f, "guestip");
		rc = hutch_nic_add_natpf(nic, &pf, L->e);
		hutch_natpf_clear(&pf);
		if (rc)
			return bad(L, f, L->e->msg);
	}
	return 0;
}

static int load_hardware(struct loader *L, xmlNodePtr hw, struct hutch_machine *m)
{
	xmlNodePtr x, y;
	unsigned slot;
	int rc;

	if ((rc = uint_attr(L, hw, "memory", HUTCH_MEMORY_MIN, HUTCH_MEMORY_MAX, &m->memory)) ||
	    (rc = uint_attr(L, hw, "cpus", HUTCH_CPUS_MIN, HUTCH_CPUS_MAX, &m->cpus)))
		return rc;
	for (x = hw->children; x; x = x->next) {
		if (x->type != XML_ELEMENT_NODE)
			continue;
		if (hutch_xml_is(x, "Display")) {
			if ((rc = uint_attr(L, x, "vram", 0, HUTCH_VRAM_MAX, &m->vram)) ||
			    (rc = req(L, x, "controller", &m->graphics)))
				return rc;
		} else if (hutch_xml_is(x, "HID")) {
			char *p = hutch_xml_attr(x, "pointing");

			/* Files from before the element have the tablet, the default. */
			if (p && strcmp(p, "ps2") && strcmp(p, "usbtablet")) {
				free(p);
				return bad(L, x, "HID@pointing: expected ps2 or usbtablet");
			}
			if (p)
				hutch_setstr(&m->pointing, p);
			free(p);
		} else if (hutch_xml_is(x, "Boot")) {
			char *fw = hutch_xml_attr(x, "firmware");

			/* Files from before the attribute boot through the BIOS. */
			if (fw && strcmp(fw, "bios") && strcmp(fw, "efi")) {
				free(fw);
				return bad(L, x, "Boot@firmware: expected bios or efi");
			}
			if (fw)
				hutch_setstr(&m->firmware, fw);
			free(fw);
			for (y = x->children; y; y = y->next) {
				if (y->type != XML_ELEMENT_NODE)
					continue;
				if (!hutch_xml_is(y, "Order"))
					return unexpected(L, y);
				if ((rc = uint_attr(L, y, "position", 1, HUTCH_MAX_BOOT, &slot)) ||
				    (rc = req(L, y, "device", &m->boot[slot - 1])))
					return rc;
			}
		} else if (hutch_xml_is(x, "DirectBoot")) {
			m->kernel = hutch_xml_attr(x, "kernel");
			m->initrd = hutch_xml_attr(x, "initrd");
			m->cmdline = hutch_xml_attr(x, "cmdline");
		} else if (hutch_xml_is(x, "Network")) {
			for (y = x->children; y; y = y->next) {
				if (y->type != XML_ELEMENT_NODE)
					continue;
				if (!hutch_xml_is(y, "Adapter"))
					return unexpected(L, y);
				if ((rc = load_nic(L, y, m)))
					return rc;
			}
		} else if (hutch_xml_is(x, "UARTs")) {
			for (y = x->children; y; y = y->next) {
				struct hutch_uart *u;

				if (y->type != XML_ELEMENT_NODE)
					continue;
				if (!hutch_xml_is(y, "UART"))
					return unexpected(L, y);
				if ((rc = slot_of(L, y, HUTCH_MAX_UARTS, &slot)))
					return rc;
				u = &m->uart[slot];
				if ((rc = hutch_xml_attr_bool(y, "enabled", L->file, false, &u->enabled, L->e)) ||
				    (rc = uint_attr(L, y, "iobase", 0, 0xffff, &u->iobase)) ||
				    (rc = uint_attr(L, y, "irq", 0, 255, &u->irq)) ||
				    (rc = req(L, y, "type", &u->type)) || (rc = req(L, y, "mode", &u->mode)))
					return rc;
				free(u->path);
				u->path = hutch_xml_attr(y, "path");
			}
		} else {
			return unexpected(L, x);
		}
	}
	return 0;
}

static int load_storage(struct loader *L, xmlNodePtr sc, struct hutch_machine *m)
{
	xmlNodePtr x, y;
	int rc;

	for (x = sc->children; x; x = x->next) {
		struct hutch_storagectl *c;

		if (x->type != XML_ELEMENT_NODE)
			continue;
		if (!hutch_xml_is(x, "StorageController"))
			return unexpected(L, x);
		c = HUTCH_APPEND(m->ctl, m->nctl);
		if ((rc = req(L, x, "name", &c->name)) || (rc = req(L, x, "bus", &c->bus)) ||
		    (rc = req(L, x, "type", &c->type)) ||
		    (rc = uint_attr(L, x, "portcount", 1, 255, &c->portcount)) ||
		    (rc = hutch_xml_attr_bool(x, "bootable", L->file, true, &c->bootable, L->e)) ||
		    (rc = hutch_xml_attr_bool(x, "hostiocache", L->file, false, &c->hostiocache, L->e)))
			return rc;
		for (y = x->children; y; y = y->next) {
			struct hutch_attachment *a;

			if (y->type != XML_ELEMENT_NODE)
				continue;
			if (!hutch_xml_is(y, "AttachedDevice"))
				return unexpected(L, y);
			a = HUTCH_APPEND(c->att, c->natt);
			if ((rc = uint_attr(L, y, "port", 0, 254, &a->port)) ||
			    (rc = uint_attr(L, y, "device", 0, 1, &a->device)) ||
			    (rc = req(L, y, "type", &a->type)) || (rc = req(L, y, "medium", &a->medium)))
				return rc;
			a->medium_uuid = hutch_xml_attr(y, "uuid");
		}
	}
	return 0;
}

static int load_extra(struct loader *L, xmlNodePtr xs, struct hutch_machine *m)
{
	xmlNodePtr x, y;
	int rc;

	for (x = xs->children; x; x = x->next) {
		struct hutch_extra *ex;

		if (x->type != XML_ELEMENT_NODE)
			continue;
		if (!hutch_xml_is(x, "Setting"))
			return unexpected(L, x);
		ex = HUTCH_APPEND(m->extra, m->nextra);
		if ((rc = req(L, x, "option", &ex->option)))
			return rc;
		ex->args = hutch_xmalloc(sizeof(char *));
		for (y = x->children; y; y = y->next) {
			xmlChar *t;

			if (y->type != XML_ELEMENT_NODE)
				continue;
			if (!hutch_xml_is(y, "Arg"))
				return unexpected(L, y);
			t = xmlNodeGetContent(y);
			ex->args = hutch_xrealloc(ex->args, (ex->nargs + 2) * sizeof(char *));
			ex->args[ex->nargs++] = hutch_xstrdup(t ? (const char *)t : "");
			xmlFree(t);
		}
	}
	return 0;
}

static void drop_extra(struct hutch_machine *m, size_t i)
{
	struct hutch_extra *x = &m->extra[i];
	size_t j;

	for (j = 0; j < x->nargs; j++)
		free(x->args[j]);
	free(x->args);
	free(x->option);
	memmove(x, x + 1, (m->nextra - i - 1) * sizeof(*x));
	m->nextra--;
}

/*
 * Files written before Hutch acted on --intnet<N>, --natnet<N>,
 * --nattftpprefix<N>, --nattftpfile<N> and --natdnshostresolver<N> kept
 * them as extra settings: they become the adapter's own, so a VM set up
 * then gets the network it was given.  A value the adapter would refuse
 * stays where it was (stored, reported, not lost).
 */
static void adopt_nic_extras(struct hutch_machine *m)
{
	static const char *const opts[] = { "intnet", "natnet", "nattftpprefix", "nattftpfile",
					    "natdnshostresolver" };
	size_t i, k, len;
	unsigned slot;

	for (i = 0; i < m->nextra;) {
		struct hutch_extra *x = &m->extra[i];
		struct hutch_nic *n;
		struct hutch_error e;
		bool taken = false, b;
		char *end;

		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
			len = strlen(opts[k]);
			if (strncmp(x->option, opts[k], len) || x->nargs != 1 || x->option[len] < '1' ||
			    x->option[len] > '8')
				continue;
			slot = (unsigned)strtoul(x->option + len, &end, 10);
			if (*end)
				continue;
			n = &m->nic[slot - 1];
			if (k == 0 && !n->intnet && *x->args[0])
				hutch_setstr(&n->intnet, x->args[0]), taken = true;
			else if (k == 1)
				taken = !hutch_nic_set_natnet(n, x->args[0], &e);
			else if (k == 2 && !n->tftp_prefix && x->args[0][0] == '/')
				hutch_setstr(&n->tftp_prefix, x->args[0]), taken = true;
			else if (k == 3 && !n->tftp_file && *x->args[0])
				hutch_setstr(&n->tftp_file, x->args[0]), taken = true;
			else if (k == 4 && !hutch_parse_bool(x->args[0], &b))
				n->dns_host_resolver = b, taken = true;
			break;
		}
		if (taken)
			drop_extra(m, i);
		else
			i++;
	}
}

static int load_root(struct loader *L, xmlNodePtr root, struct hutch_machine *m)
{
	char *version = NULL, *uuid = NULL;
	xmlNodePtr x;
	int rc;

	if (!hutch_xml_is(root, CONFIG_ROOT))
		return bad(L, root, "not a Hutch machine file: expected root element <" CONFIG_ROOT ">");
	if ((rc = req(L, root, "version", &version)))
		return rc;
	if (strcmp(version, CONFIG_VERSION)) {
		char msg[128];

		snprintf(msg, sizeof(msg), "settings version '%s' is not supported: expected " CONFIG_VERSION,
			 version);
		free(version);
		return bad(L, root, msg);
	}
	free(version);
	if ((rc = req(L, root, "uuid", &uuid)))
		return rc;
	if (!hutch_uuid_valid(uuid)) {
		free(uuid);
		return bad(L, root, "uuid attribute is not a UUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
	}
	snprintf(m->uuid, sizeof(m->uuid), "%s", uuid);
	free(uuid);
	if ((rc = req(L, root, "name", &m->name)) || (rc = req(L, root, "ostype", &m->ostype)))
		return rc;
	m->groups = hutch_xml_attr(root, "groups");
	for (x = root->children; x; x = x->next) {
		if (x->type != XML_ELEMENT_NODE)
			continue;
		if (hutch_xml_is(x, "Description")) {
			xmlChar *t = xmlNodeGetContent(x);

			hutch_setstr(&m->description, t ? (const char *)t : "");
			xmlFree(t);
		} else if (hutch_xml_is(x, "Hardware")) {
			rc = load_hardware(L, x, m);
		} else if (hutch_xml_is(x, "StorageControllers")) {
			rc = load_storage(L, x, m);
		} else if (hutch_xml_is(x, "ExtraSettings")) {
			rc = load_extra(L, x, m);
		} else {
			rc = unexpected(L, x);
		}
		if (rc)
			return rc;
	}
	adopt_nic_extras(m);
	return 0;
}

int hutch_config_parse(const char *buf, size_t len, const char *name, struct hutch_machine **out,
		       struct hutch_error *e)
{
	struct loader L = { .file = name, .e = e };
	struct hutch_machine *m;
	xmlDocPtr doc;
	size_t i;
	int rc;

	doc = hutch_xml_read(buf, len, name, e);
	if (!doc)
		return -EINVAL;
	/* Start from the defaults; the file then overrides every field it has. */
	m = hutch_machine_new("", NULL);
	for (i = 0; i < HUTCH_MAX_NICS; i++)
		hutch_setstr(&m->nic[i].attachment, "none");
	rc = load_root(&L, xmlDocGetRootElement(doc), m);
	xmlFreeDoc(doc);
	if (rc) {
		hutch_machine_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int hutch_config_load(const char *path, struct hutch_machine **out, struct hutch_error *e)
{
	char *buf;
	size_t len;
	int rc;

	rc = hutch_read_file(path, &buf, &len, e);
	if (rc)
		return rc;
	rc = hutch_config_parse(buf, len, path, out, e);
	free(buf);
	if (!rc)
		(*out)->settings_file = hutch_xstrdup(path);
	return rc;
}
