// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The machine configuration model: defaults, checked setters, storage
 * controllers, NAT port forwarding rules and the settings Hutch stores
 * without acting on them yet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "hutch/config.h"
#include "hutch/ostype.h"
#include "nic_spec.h"
#include "hutch/registry.h"
#include "internal.h"

/* VirtualBox's default UART resources per slot (COM1..COM4). */
static const unsigned uart_default_io[HUTCH_MAX_UARTS] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
static const unsigned uart_default_irq[HUTCH_MAX_UARTS] = { 4, 3, 4, 3 };

void hutch_nic_random_mac(char out[13])
{
	unsigned char b[3];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		b[0] = b[1] = b[2] = (unsigned char)rand();
	/* 08:00:27 is VirtualBox's OUI; scripts and DHCP setups expect it. */
	snprintf(out, 13, "080027%02X%02X%02X", b[0], b[1], b[2]);
}

struct hutch_machine *hutch_machine_new(const char *name, const char *uuid)
{
	struct hutch_machine *m = hutch_xmalloc(sizeof(*m));
	static const char *const boot[HUTCH_MAX_BOOT] = { "floppy", "dvd", "disk", "none" };
	unsigned i;

	if (uuid)
		snprintf(m->uuid, sizeof(m->uuid), "%s", uuid);
	else
		hutch_uuid_generate(m->uuid);
	m->name = hutch_xstrdup(name);
	m->ostype = hutch_xstrdup("Other");
	m->memory = 128;
	m->cpus = 1;
	m->vram = 8;
	m->graphics = hutch_xstrdup("vboxvga");
	m->pointing = hutch_xstrdup("usbtablet");
	m->firmware = hutch_xstrdup("bios");
	for (i = 0; i < HUTCH_MAX_BOOT; i++)
		m->boot[i] = hutch_xstrdup(boot[i]);
	/* Like VirtualBox, a new VM has one NAT adapter and the rest disabled. */
	for (i = 0; i < HUTCH_MAX_NICS; i++) {
		struct hutch_nic *n = &m->nic[i];
		char mac[13];

		n->attachment = hutch_xstrdup(i == 0 ? "nat" : "none");
		n->type = hutch_xstrdup("82540EM");
		hutch_nic_random_mac(mac);
		n->mac = hutch_xstrdup(mac);
		n->cable = true;
	}
	for (i = 0; i < HUTCH_MAX_UARTS; i++) {
		m->uart[i].iobase = uart_default_io[i];
		m->uart[i].irq = uart_default_irq[i];
		m->uart[i].type = hutch_xstrdup("16550A");
		m->uart[i].mode = hutch_xstrdup("disconnected");
	}
	return m;
}

void hutch_natpf_clear(struct hutch_natpf *pf)
{
	free(pf->name);
	free(pf->proto);
	free(pf->hostip);
	free(pf->guestip);
	memset(pf, 0, sizeof(*pf));
}

static void ctl_free(struct hutch_storagectl *c)
{
	size_t j;

	for (j = 0; j < c->natt; j++) {
		free(c->att[j].type);
		free(c->att[j].medium);
		free(c->att[j].medium_uuid);
	}
	free(c->att);
	free(c->name);
	free(c->bus);
	free(c->type);
}

void hutch_machine_free(struct hutch_machine *m)
{
	size_t i, j;

	if (!m)
		return;
	free(m->name);
	free(m->ostype);
	free(m->description);
	free(m->groups);
	free(m->graphics);
	free(m->pointing);
	free(m->firmware);
	for (i = 0; i < HUTCH_MAX_BOOT; i++)
		free(m->boot[i]);
	free(m->kernel);
	free(m->initrd);
	free(m->cmdline);
	for (i = 0; i < HUTCH_MAX_NICS; i++) {
		struct hutch_nic *n = &m->nic[i];

		free(n->attachment);
		free(n->type);
		free(n->bridge);
		free(n->intnet);
		free(n->natnet);
		free(n->tftp_prefix);
		free(n->tftp_file);
		free(n->mac);
		for (j = 0; j < n->npf; j++)
			hutch_natpf_clear(&n->pf[j]);
		free(n->pf);
	}
	for (i = 0; i < HUTCH_MAX_UARTS; i++) {
		free(m->uart[i].type);
		free(m->uart[i].mode);
		free(m->uart[i].path);
	}
	for (i = 0; i < m->nctl; i++)
		ctl_free(&m->ctl[i]);
	free(m->ctl);
	for (i = 0; i < m->nextra; i++) {
		for (j = 0; j < m->extra[i].nargs; j++)
			free(m->extra[i].args[j]);
		free(m->extra[i].args);
		free(m->extra[i].option);
	}
	free(m->extra);
	free(m->settings_file);
	free(m);
}

int hutch_machine_set_memory(struct hutch_machine *m, unsigned long long mib, struct hutch_error *e)
{
	if (mib < HUTCH_MEMORY_MIN || mib > HUTCH_MEMORY_MAX)
		return hutch_seterr(e, -ERANGE, "memory size %llu MB is out of range: expected %u to %u MB",
				    mib, HUTCH_MEMORY_MIN, HUTCH_MEMORY_MAX);
	m->memory = (unsigned)mib;
	return 0;
}

int hutch_machine_set_cpus(struct hutch_machine *m, unsigned long long n, struct hutch_error *e)
{
	if (n < HUTCH_CPUS_MIN || n > HUTCH_CPUS_MAX)
		return hutch_seterr(e, -ERANGE, "CPU count %llu is out of range: expected %u to %u",
				    n, HUTCH_CPUS_MIN, HUTCH_CPUS_MAX);
	m->cpus = (unsigned)n;
	return 0;
}

int hutch_machine_set_vram(struct hutch_machine *m, unsigned long long mib, struct hutch_error *e)
{
	if (mib > HUTCH_VRAM_MAX)
		return hutch_seterr(e, -ERANGE, "video memory %llu MB is out of range: expected 0 to %u MB",
				    mib, HUTCH_VRAM_MAX);
	m->vram = (unsigned)mib;
	return 0;
}

int hutch_machine_set_ostype(struct hutch_machine *m, const char *id, struct hutch_error *e)
{
	const struct hutch_ostype *t = hutch_ostype_find(id);

	if (!t)
		return hutch_seterr(e, -EINVAL, "guest OS type '%s' is invalid (see 'vmctl list ostypes')", id);
	hutch_setstr(&m->ostype, t->id);
	return 0;
}

static int pick(const char *v, const char *const *allowed, const char *what, char **slot,
		struct hutch_error *e)
{
	char list[256] = "";
	size_t i;

	for (i = 0; allowed[i]; i++) {
		if (!strcasecmp(v, allowed[i])) {
			hutch_setstr(slot, allowed[i]);
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 allowed[i]);
	}
	return hutch_seterr(e, -EINVAL, "invalid %s '%s': expected one of %s", what, v, list);
}

int hutch_machine_set_boot(struct hutch_machine *m, unsigned slot, const char *dev, struct hutch_error *e)
{
	static const char *const devs[] = { "none", "floppy", "dvd", "disk", "net", NULL };

	if (slot < 1 || slot > HUTCH_MAX_BOOT)
		return hutch_seterr(e, -EINVAL, "boot slot %u: expected 1 to %u", slot, HUTCH_MAX_BOOT);
	return pick(dev, devs, "boot device", &m->boot[slot - 1], e);
}

int hutch_machine_set_graphics(struct hutch_machine *m, const char *ctl, struct hutch_error *e)
{
	static const char *const ctls[] = { "none", "vboxvga", "vmsvga", "vboxsvga", NULL };

	return pick(ctl, ctls, "graphics controller", &m->graphics, e);
}

int hutch_machine_set_pointing(struct hutch_machine *m, const char *dev, struct hutch_error *e)
{
	static const char *const devs[] = { "ps2", "usbtablet", NULL };

	return pick(dev, devs, "pointing device", &m->pointing, e);
}

int hutch_machine_set_firmware(struct hutch_machine *m, const char *fw, struct hutch_error *e)
{
	static const char *const fws[] = { "bios", "efi", NULL };

	/* VirtualBox's efi32/efi64 are spellings of efi here: none is bootable yet. */
	if (!strcasecmp(fw, "efi32") || !strcasecmp(fw, "efi64"))
		fw = "efi";
	return pick(fw, fws, "firmware", &m->firmware, e);
}

/* --- storage --- */

struct bus_info {
	const char *bus;
	const char *default_type;
	unsigned max_ports;
	unsigned devices_per_port;
	const char *types[6];
};

static const struct bus_info buses[] = {
	{ "ide", "PIIX4", 2, 2, { "PIIX3", "PIIX4", "ICH6", NULL } },
	{ "sata", "IntelAhci", 30, 1, { "IntelAhci", NULL } },
	{ "virtio", "VirtIO", 30, 1, { "VirtIO", NULL } },
	{ "scsi", "LsiLogic", 16, 1, { "LsiLogic", "BusLogic", NULL } },
	{ "sas", "LSILogicSAS", 255, 1, { "LSILogicSAS", NULL } },
	{ "floppy", "I82078", 1, 2, { "I82078", NULL } },
	{ "usb", "USB", 8, 1, { "USB", NULL } },
	{ "pcie", "NVMe", 255, 1, { "NVMe", NULL } },
};

static const struct bus_info *bus_find(const char *bus)
{
	size_t i;

	for (i = 0; bus && i < sizeof(buses) / sizeof(buses[0]); i++)
		if (!strcasecmp(buses[i].bus, bus))
			return &buses[i];
	return NULL;
}

const char *hutch_ctl_default_type(const char *bus)
{
	const struct bus_info *b = bus_find(bus);

	return b ? b->default_type : NULL;
}

unsigned hutch_ctl_max_ports(const char *bus)
{
	const struct bus_info *b = bus_find(bus);

	return b ? b->max_ports : 0;
}

unsigned hutch_ctl_devices_per_port(const char *bus)
{
	const struct bus_info *b = bus_find(bus);

	return b ? b->devices_per_port : 1;
}

const char *hutch_ctl_type_bus(const char *type)
{
	size_t i, j;

	for (i = 0; i < sizeof(buses) / sizeof(buses[0]); i++)
		for (j = 0; buses[i].types[j]; j++)
			if (!strcasecmp(buses[i].types[j], type))
				return buses[i].bus;
	return NULL;
}

/* The canonical spelling of a controller type ("intelahci" -> "IntelAhci"). */
const char *hutch_ctl_type_canonical(const char *type)
{
	size_t i, j;

	for (i = 0; i < sizeof(buses) / sizeof(buses[0]); i++)
		for (j = 0; buses[i].types[j]; j++)
			if (!strcasecmp(buses[i].types[j], type))
				return buses[i].types[j];
	return NULL;
}

struct hutch_storagectl *hutch_machine_find_ctl(struct hutch_machine *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nctl; i++)
		if (!strcmp(m->ctl[i].name, name))
			return &m->ctl[i];
	return NULL;
}

int hutch_machine_add_ctl(struct hutch_machine *m, const char *name, const char *bus,
			  const char *type, struct hutch_error *e)
{
	const struct bus_info *b = bus_find(bus);
	struct hutch_storagectl *c;
	const char *canon;

	if (!b)
		return hutch_seterr(e, -EINVAL,
				    "invalid bus '%s' for controller '%s': expected ide, sata, scsi, floppy, sas, usb, pcie or virtio",
				    bus, name);
	if (hutch_machine_find_ctl(m, name))
		return hutch_seterr(e, -EEXIST, "storage controller named '%s' already exists", name);
	canon = type ? hutch_ctl_type_canonical(type) : b->default_type;
	if (!canon || strcasecmp(hutch_ctl_type_bus(canon), b->bus))
		return hutch_seterr(e, -EINVAL, "controller type '%s' does not fit bus '%s'", type, b->bus);
	c = HUTCH_APPEND(m->ctl, m->nctl);
	c->name = hutch_xstrdup(name);
	c->bus = hutch_xstrdup(b->bus);
	c->type = hutch_xstrdup(canon);
	/* VirtualBox creates SATA controllers with 30 ports; others have their fixed count. */
	c->portcount = b->max_ports;
	c->bootable = true;
	c->hostiocache = !strcmp(b->bus, "ide") || !strcmp(b->bus, "floppy");
	return 0;
}

int hutch_machine_remove_ctl(struct hutch_machine *m, const char *name, struct hutch_error *e)
{
	struct hutch_storagectl *c = hutch_machine_find_ctl(m, name);
	size_t i;

	if (!c)
		return hutch_seterr(e, -ENOENT, "could not find a storage controller named '%s'", name);
	i = (size_t)(c - m->ctl);
	ctl_free(c);
	memmove(&m->ctl[i], &m->ctl[i + 1], (m->nctl - i - 1) * sizeof(*c));
	m->nctl--;
	return 0;
}

struct hutch_attachment *hutch_ctl_find_att(struct hutch_storagectl *c, unsigned port, unsigned device)
{
	size_t i;

	for (i = 0; i < c->natt; i++)
		if (c->att[i].port == port && c->att[i].device == device)
			return &c->att[i];
	return NULL;
}

int hutch_ctl_attach(struct hutch_storagectl *c, unsigned port, unsigned device, const char *type,
		     const char *medium, const char *uuid, struct hutch_error *e)
{
	struct hutch_attachment *a;

	if (port >= c->portcount)
		return hutch_seterr(e, -ERANGE, "port %u is out of range for controller '%s': expected 0 to %u",
				    port, c->name, c->portcount - 1);
	if (device >= hutch_ctl_devices_per_port(c->bus))
		return hutch_seterr(e, -ERANGE, "device %u is out of range for controller '%s': expected 0 to %u",
				    device, c->name, hutch_ctl_devices_per_port(c->bus) - 1);
	a = hutch_ctl_find_att(c, port, device);
	if (!medium) {
		if (a) {
			size_t i = (size_t)(a - c->att);

			free(a->type);
			free(a->medium);
			free(a->medium_uuid);
			memmove(&c->att[i], &c->att[i + 1], (c->natt - i - 1) * sizeof(*a));
			c->natt--;
		}
		return 0;
	}
	if (!a) {
		/* Keep attachments sorted by port and device, as showvminfo lists them. */
		size_t i;

		HUTCH_APPEND(c->att, c->natt);
		for (i = c->natt - 1; i > 0; i--) {
			struct hutch_attachment *p = &c->att[i - 1];

			if (p->port < port || (p->port == port && p->device < device))
				break;
			c->att[i] = *p;
		}
		a = &c->att[i];
		memset(a, 0, sizeof(*a));
		a->port = port;
		a->device = device;
	}
	hutch_setstr(&a->type, type);
	hutch_setstr(&a->medium, medium);
	hutch_setstr(&a->medium_uuid, uuid);
	return 0;
}

/* --- NAT port forwarding --- */

static char *field(const char **s)
{
	const char *end = strchrnul(*s, ',');
	char *f = strndup(*s, (size_t)(end - *s));

	if (!f)
		abort();
	*s = *end ? end + 1 : end;
	return f;
}

int hutch_natpf_parse(const char *rule, struct hutch_natpf *out, struct hutch_error *e)
{
	const char *s = rule;
	char *f[6];
	unsigned long long hp, gp;
	int i, commas = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; rule[i]; i++)
		commas += rule[i] == ',';
	if (commas != 5)
		return hutch_seterr(e, -EINVAL,
				    "invalid port forwarding rule '%s': expected name,tcp|udp,hostip,hostport,guestip,guestport",
				    rule);
	for (i = 0; i < 6; i++)
		f[i] = field(&s);
	if (strcasecmp(f[1], "tcp") && strcasecmp(f[1], "udp")) {
		hutch_seterr(e, -EINVAL, "invalid protocol '%s' in port forwarding rule '%s': expected tcp or udp",
			     f[1], rule);
		goto bad;
	}
	if (hutch_parse_uint(f[3], 65535, &hp) || !hp || hutch_parse_uint(f[5], 65535, &gp) || !gp) {
		hutch_seterr(e, -EINVAL, "invalid port in port forwarding rule '%s': expected 1 to 65535", rule);
		goto bad;
	}
	if (strchr(f[0], '"') || strchr(f[0], '\n')) {
		hutch_seterr(e, -EINVAL, "invalid rule name '%s' in '%s'", f[0], rule);
		goto bad;
	}
	for (i = 1; f[1][i - 1]; i++)
		f[1][i - 1] = (char)(f[1][i - 1] | 0x20);
	/* VirtualBox names unnamed rules after protocol and ports. */
	if (!f[0][0]) {
		free(f[0]);
		f[0] = hutch_xasprintf("%s_%llu_%llu", f[1], hp, gp);
	}
	{
		/* hutch-vm's own check (src/common/nic_spec.c): what is stored can be started. */
		char *canon = hutch_xasprintf("%s,%s,%s,%llu,%s,%llu", f[0], f[1], f[2], hp, f[4], gp), why[256];
		struct nic_fwd r;

		i = nic_fwd_parse(canon, &r, why, sizeof(why));
		free(canon);
		if (i) {
			hutch_seterr(e, -EINVAL, "%s", why);
			goto bad;
		}
	}
	out->name = f[0];
	out->proto = f[1];
	out->hostip = f[2];
	out->hostport = (unsigned)hp;
	out->guestip = f[4];
	out->guestport = (unsigned)gp;
	free(f[3]);
	free(f[5]);
	return 0;
bad:
	for (i = 0; i < 6; i++)
		free(f[i]);
	return -EINVAL;
}

const char *hutch_nic_intnet(const struct hutch_nic *n)
{
	return n->intnet ? n->intnet : "intnet";
}

int hutch_nic_set_natnet(struct hutch_nic *n, const char *net, struct hutch_error *e)
{
	char spec[128], why[256];
	struct nic_spec ns;

	if (!strcasecmp(net, "default")) {
		hutch_setstr(&n->natnet, NULL);
		return 0;
	}
	/* Checked by hutch-vm's parser itself, so a stored network always starts. */
	if (strlen(net) > 32 || strchr(net, ','))
		return hutch_seterr(e, -EINVAL, "NAT network '%s': expected A.B.C.D/M (M from 8 to 28) or default",
				    net);
	snprintf(spec, sizeof(spec), "nic=1,model=e1000,net=nat,mac=080027000001,natnet=%s", net);
	if (nic_spec_parse(spec, &ns, why, sizeof(why)))
		return hutch_seterr(e, -EINVAL,
				    "NAT network '%s': expected a network A.B.C.D/M, M from 8 to 28, no host bits set, "
				    "or default", net);
	nic_spec_free(&ns);
	hutch_setstr(&n->natnet, net);
	return 0;
}

int hutch_nic_add_natpf(struct hutch_nic *n, const struct hutch_natpf *pf, struct hutch_error *e)
{
	struct hutch_natpf *d;
	size_t i;

	if (n->npf >= NIC_MAX_FWD)
		return hutch_seterr(e, -ENOSPC, "an adapter has at most %d port forwarding rules", NIC_MAX_FWD);
	for (i = 0; i < n->npf; i++) {
		if (!strcmp(n->pf[i].name, pf->name))
			return hutch_seterr(e, -EEXIST, "a port forwarding rule named '%s' already exists",
					    pf->name);
		if (n->pf[i].hostport == pf->hostport && !strcmp(n->pf[i].proto, pf->proto) &&
		    !strcmp(n->pf[i].hostip, pf->hostip))
			return hutch_seterr(e, -EEXIST, "host port %u/%s is already forwarded by rule '%s'",
					    pf->hostport, pf->proto, n->pf[i].name);
	}
	d = HUTCH_APPEND(n->pf, n->npf);
	d->name = hutch_xstrdup(pf->name);
	d->proto = hutch_xstrdup(pf->proto);
	d->hostip = hutch_xstrdup(pf->hostip ? pf->hostip : "");
	d->hostport = pf->hostport;
	d->guestip = hutch_xstrdup(pf->guestip ? pf->guestip : "");
	d->guestport = pf->guestport;
	return 0;
}

int hutch_nic_delete_natpf(struct hutch_nic *n, const char *name, struct hutch_error *e)
{
	size_t i;

	for (i = 0; i < n->npf; i++) {
		if (strcmp(n->pf[i].name, name))
			continue;
		hutch_natpf_clear(&n->pf[i]);
		memmove(&n->pf[i], &n->pf[i + 1], (n->npf - i - 1) * sizeof(n->pf[0]));
		n->npf--;
		return 0;
	}
	return hutch_seterr(e, -ENOENT, "no port forwarding rule named '%s'", name);
}

/* --- stored-only settings --- */

bool hutch_extra_is_secret(const char *option)
{
	static const char *const secrets[] = { "teleporterpassword", "password", NULL };
	const char *name = strrchr(option, ':');
	size_t i;

	name = name ? name + 1 : option;
	for (i = 0; secrets[i]; i++)
		if (!strcmp(name, secrets[i]))
			return true;
	return false;
}

int hutch_machine_set_extra(struct hutch_machine *m, const char *option, char *const *args,
			    size_t nargs)
{
	struct hutch_extra *x = NULL;
	size_t i;

	if (hutch_extra_is_secret(option))
		nargs = 0;	/* that it was set is kept, never the value */

	for (i = 0; i < m->nextra; i++)
		if (!strcmp(m->extra[i].option, option))
			x = &m->extra[i];
	if (x) {
		for (i = 0; i < x->nargs; i++)
			free(x->args[i]);
		free(x->args);
	} else {
		x = HUTCH_APPEND(m->extra, m->nextra);
		x->option = hutch_xstrdup(option);
	}
	x->nargs = nargs;
	x->args = hutch_xmalloc((nargs + 1) * sizeof(char *));
	for (i = 0; i < nargs; i++)
		x->args[i] = hutch_xstrdup(args[i]);
	return 0;
}

const struct hutch_extra *hutch_machine_get_extra(const struct hutch_machine *m, const char *option)
{
	size_t i;

	for (i = 0; i < m->nextra; i++)
		if (!strcmp(m->extra[i].option, option))
			return &m->extra[i];
	return NULL;
}

int hutch_machine_apply_defaults(struct hutch_machine *m, struct hutch_error *e)
{
	const struct hutch_ostype *t = hutch_ostype_find(m->ostype);
	const char *dvdctl;
	int rc;

	if (!t)
		return hutch_seterr(e, -EINVAL, "guest OS type '%s' is invalid", m->ostype);
	m->memory = t->memory;
	m->vram = t->vram;
	hutch_setstr(&m->graphics, t->graphics);
	hutch_setstr(&m->nic[0].attachment, "nat");
	hutch_setstr(&m->nic[0].type, t->nictype);
	/* VirtualBox's applyDefaults: a DVD drive on the OS's preferred bus, disks on SATA. */
	if (!strcmp(t->dvd_bus, "ide")) {
		if (!hutch_machine_find_ctl(m, "IDE") && (rc = hutch_machine_add_ctl(m, "IDE", "ide", "PIIX4", e)))
			return rc;
		dvdctl = "IDE";
	} else {
		dvdctl = "SATA";
	}
	if (!hutch_machine_find_ctl(m, "SATA") && (rc = hutch_machine_add_ctl(m, "SATA", "sata", "IntelAhci", e)))
		return rc;
	if (!strcmp(dvdctl, "SATA")) {
		return hutch_ctl_attach(hutch_machine_find_ctl(m, "SATA"), 1, 0, "dvddrive", "emptydrive",
					NULL, e);
	}
	return hutch_ctl_attach(hutch_machine_find_ctl(m, "IDE"), 1, 0, "dvddrive", "emptydrive", NULL, e);
}
