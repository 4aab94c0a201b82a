/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The machine configuration model: everything a VM is, as one struct, and
 * its XML file (docs/config-format.md, schema docs/hutch-vm.xsd).
 *
 * Strings are heap-allocated and owned by the machine; NULL means "not
 * set".  Settings Hutch does not implement yet are kept in the model all
 * the same (a NIC attachment kind, a UART mode, a VBoxManage flag in
 * extra[]) so that nothing a script sets is lost.
 */
#ifndef HUTCH_CONFIG_H
#define HUTCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "hutch/error.h"

#define HUTCH_UUID_LEN 36
#define HUTCH_MAX_NICS 8
#define HUTCH_MAX_UARTS 4
#define HUTCH_MAX_BOOT 4
#define HUTCH_CONFIG_SUFFIX ".hutch"

/* Limits enforced by setters; hutch-vm accepts the same ranges. */
#define HUTCH_MEMORY_MIN 16u		/* MiB */
#define HUTCH_MEMORY_MAX 1048576u	/* MiB (1 TiB) */
#define HUTCH_CPUS_MIN 1u
#define HUTCH_CPUS_MAX 254u
#define HUTCH_VRAM_MAX 256u		/* MiB, as VirtualBox */
#define HUTCH_PORTCOUNT_MAX 30u

struct hutch_natpf {
	char *name;
	char *proto;		/* "tcp" or "udp" */
	char *hostip;		/* "" = any */
	unsigned hostport;
	char *guestip;		/* "" = the guest's DHCP address */
	unsigned guestport;
};

struct hutch_nic {
	char *attachment;	/* none null nat bridged intnet (acting); hostonly ... (stored) */
	char *type;		/* 82540EM virtio (acting); Am79C973 ... (stored) */
	char *bridge;		/* host interface for bridged */
	char *intnet;		/* internal network's name; NULL: "intnet", VirtualBox's default */
	char *mac;		/* 12 upper-case hex digits, generated once (hutch_machine_new) */
	bool cable;		/* cable connected */
	/* NAT */
	char *natnet;		/* "A.B.C.D/M"; NULL: VirtualBox's 10.0.2.0/24 */
	char *tftp_prefix;	/* the NAT's TFTP root (absolute); NULL: no TFTP server */
	char *tftp_file;	/* the DHCP boot file name; NULL: none */
	bool dns_host_resolver;	/* answer DNS with the host's resolver */
	struct hutch_natpf *pf;
	size_t npf;
};

struct hutch_uart {
	bool enabled;
	unsigned iobase;
	unsigned irq;
	char *type;		/* 16450 16550A 16750 */
	char *mode;		/* disconnected file server client tcpserver tcpclient device */
	char *path;		/* file, pipe, host:port or device for the mode */
};

struct hutch_attachment {
	unsigned port;
	unsigned device;
	char *type;		/* hdd dvddrive fdd */
	char *medium;		/* absolute path, or "emptydrive" */
	char *medium_uuid;	/* the media registry's UUID; NULL for emptydrive */
};

struct hutch_storagectl {
	char *name;
	char *bus;		/* sata ide virtio scsi sas floppy usb pcie */
	char *type;		/* IntelAhci PIIX3 PIIX4 ICH6 VirtIO LsiLogic ... */
	unsigned portcount;
	bool bootable;
	bool hostiocache;
	struct hutch_attachment *att;
	size_t natt;
};

/* A VBoxManage setting Hutch keeps but does not act on (yet). */
struct hutch_extra {
	char *option;		/* canonical flag name without dashes: "pae", "intnet1" */
	char **args;
	size_t nargs;
};

struct hutch_machine {
	char uuid[HUTCH_UUID_LEN + 1];
	char *name;
	char *ostype;
	char *description;
	char *groups;
	unsigned memory;	/* MiB */
	unsigned cpus;
	unsigned vram;		/* MiB */
	char *graphics;		/* none vboxvga vmsvga vboxsvga */
	char *pointing;		/* ps2 usbtablet (VBoxManage --mouse): the virtio tablet or not */
	char *boot[HUTCH_MAX_BOOT];	/* none floppy dvd disk net */
	char *firmware;		/* bios efi (efi: stored, not yet bootable) */
	char *kernel;		/* direct Linux boot: absolute paths */
	char *initrd;
	char *cmdline;
	struct hutch_nic nic[HUTCH_MAX_NICS];
	struct hutch_uart uart[HUTCH_MAX_UARTS];
	struct hutch_storagectl *ctl;
	size_t nctl;
	struct hutch_extra *extra;
	size_t nextra;

	/* Not stored in the file: where it was loaded from / goes. */
	char *settings_file;
};

/* A new machine with VirtualBox's defaults for a VM of no particular OS. */
struct hutch_machine *hutch_machine_new(const char *name, const char *uuid);
void hutch_machine_free(struct hutch_machine *m);
/* Apply an OS type's recommended settings (createvm --default). */
int hutch_machine_apply_defaults(struct hutch_machine *m, struct hutch_error *e);

/* Load the XML at path; errors name the file and line. */
int hutch_config_load(const char *path, struct hutch_machine **out, struct hutch_error *e);
/* Parse XML in memory; name is used in error messages. */
int hutch_config_parse(const char *buf, size_t len, const char *name,
		       struct hutch_machine **out, struct hutch_error *e);
/* Serialise to a malloc'd NUL-terminated buffer. */
int hutch_config_serialize(const struct hutch_machine *m, char **buf, size_t *len,
			   struct hutch_error *e);
/* Write m->settings_file atomically (temp file, fsync, rename, fsync dir). */
int hutch_config_save(const struct hutch_machine *m, struct hutch_error *e);

/* Setters that check their value; errors say what was expected. */
int hutch_machine_set_memory(struct hutch_machine *m, unsigned long long mib, struct hutch_error *e);
int hutch_machine_set_cpus(struct hutch_machine *m, unsigned long long n, struct hutch_error *e);
int hutch_machine_set_vram(struct hutch_machine *m, unsigned long long mib, struct hutch_error *e);
int hutch_machine_set_ostype(struct hutch_machine *m, const char *id, struct hutch_error *e);
int hutch_machine_set_boot(struct hutch_machine *m, unsigned slot, const char *dev, struct hutch_error *e);
int hutch_machine_set_graphics(struct hutch_machine *m, const char *ctl, struct hutch_error *e);
/* VBoxManage's --mouse: ps2 or usbtablet (Hutch's virtio-input tablet beside the PS/2 mouse). */
int hutch_machine_set_pointing(struct hutch_machine *m, const char *dev, struct hutch_error *e);
int hutch_machine_set_firmware(struct hutch_machine *m, const char *fw, struct hutch_error *e);

/* Storage controllers and attachments. */
struct hutch_storagectl *hutch_machine_find_ctl(struct hutch_machine *m, const char *name);
int hutch_machine_add_ctl(struct hutch_machine *m, const char *name, const char *bus,
			  const char *type, struct hutch_error *e);
int hutch_machine_remove_ctl(struct hutch_machine *m, const char *name, struct hutch_error *e);
/* The default chipset type and port count of a bus ("sata" -> IntelAhci, 30). */
const char *hutch_ctl_default_type(const char *bus);
unsigned hutch_ctl_max_ports(const char *bus);
unsigned hutch_ctl_devices_per_port(const char *bus);
/* The bus a controller type belongs to ("PIIX4" -> "ide"), NULL if unknown. */
const char *hutch_ctl_type_bus(const char *type);
/* The canonical spelling of a controller type ("intelahci" -> "IntelAhci"), NULL if unknown. */
const char *hutch_ctl_type_canonical(const char *type);
struct hutch_attachment *hutch_ctl_find_att(struct hutch_storagectl *c, unsigned port, unsigned device);
/* Put or replace an attachment; medium NULL removes it. */
int hutch_ctl_attach(struct hutch_storagectl *c, unsigned port, unsigned device, const char *type,
		     const char *medium, const char *uuid, struct hutch_error *e);

/* NICs: a fresh random VirtualBox-style MAC (08:00:27:xx:xx:xx). */
void hutch_nic_random_mac(char out[13]);
int hutch_nic_add_natpf(struct hutch_nic *n, const struct hutch_natpf *pf, struct hutch_error *e);
int hutch_nic_delete_natpf(struct hutch_nic *n, const char *name, struct hutch_error *e);
/* The internal network's name, VirtualBox's "intnet" when none was set. */
const char *hutch_nic_intnet(const struct hutch_nic *n);
/* --natnet<N>: "A.B.C.D/M" (M 8..28, no host bits) or "default" (NULL). */
int hutch_nic_set_natnet(struct hutch_nic *n, const char *net, struct hutch_error *e);
/*
 * Parse VBoxManage's "name,tcp,hostip,hostport,guestip,guestport"; the
 * same checks as hutch-vm's (nic_fwd_parse), so a stored rule can always
 * be started.  An empty name becomes VirtualBox's "tcp_2222_22".
 */
int hutch_natpf_parse(const char *rule, struct hutch_natpf *out, struct hutch_error *e);
void hutch_natpf_clear(struct hutch_natpf *pf);

/* Extra (stored, not acted on) settings. */
int hutch_machine_set_extra(struct hutch_machine *m, const char *option, char *const *args,
			    size_t nargs);
const struct hutch_extra *hutch_machine_get_extra(const struct hutch_machine *m, const char *option);
/*
 * Whether a stored option is a secret: modifyvm --teleporterpassword,
 * storageattach --password (an iSCSI target's), createvm --password (disk
 * encryption).  Hutch acts on none of them yet, and keeps none: like
 * VirtualBox, which keeps disk-encryption passwords out of the .vbox
 * file, only the fact that one was given is stored (the option without
 * its value), and showvminfo never prints it.  VirtualBox keeps a salted
 * hash of the teleporter password; Hutch has no teleporting to check it
 * against, so it keeps nothing.
 */
bool hutch_extra_is_secret(const char *option);

/* Value parsers shared by the front ends. */
int hutch_parse_uint(const char *s, unsigned long long max, unsigned long long *out);
int hutch_parse_bool(const char *s, bool *out);	/* on/off, true/false, yes/no, 1/0 */

/* Small string helpers: replace *slot with a copy of s (NULL frees it). */
void hutch_setstr(char **slot, const char *s);

#endif
