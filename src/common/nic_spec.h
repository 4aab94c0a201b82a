/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The --nic spec: one network adapter of a VM, as libhutch writes it
 * (nic_spec_format) onto hutch-vm's command line and hutch-vm reads it
 * back (nic_spec_parse).  One definition for both sides, like
 * drive_spec.h, with a round-trip test in tests/lib.  Syntax (every key
 * but nic= optional; docs/hutch-vm.md):
 *
 *   nic=N,model=e1000|virtio,net=null|nat|bridged|intnet,mac=XXXXXXXXXXXX
 *   [,cable=on|off]
 *   NAT:     [,natnet=A.B.C.D/M][,fwd=RULE]...[,tftp=DIR][,bootfile=NAME]
 *            [,dnshost=on|off]
 *   bridged: ,bridge=IFNAME    (a host bridge: hutch-vm makes a TAP on it;
 *                               or an existing TAP device)
 *   intnet:  ,intnet=NAME
 *
 * RULE is a port-forwarding rule in VirtualBox's syntax,
 * "name,tcp|udp,hostip,hostport,guestip,guestport", its commas written
 * ",," inside the spec (as a comma inside any value, as in QEMU).
 */
#ifndef HUTCH_NIC_SPEC_H
#define HUTCH_NIC_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NIC_MAX 8		/* adapters per VM, as VirtualBox's PIIX3 chipset */
#define NIC_MAX_FWD 100		/* forwarding rules per adapter */

enum nic_model {
	NIC_MODEL_E1000,	/* Intel 82540EM, 8086:100E (VirtualBox's 82540EM) */
	NIC_MODEL_VIRTIO,	/* virtio-net on modern virtio-pci (VirtualBox's "virtio") */
};

enum nic_attach {
	NIC_ATTACH_NULL,	/* adapter present, cable never connected */
	NIC_ATTACH_NAT,		/* libslirp */
	NIC_ATTACH_BRIDGED,	/* TAP device, on a host bridge */
	NIC_ATTACH_INTNET,	/* userspace switch between VMs of one user */
};

/* A port-forwarding rule (VirtualBox's --natpf<N>). */
struct nic_fwd {
	char name[64];
	bool udp;		/* else tcp */
	char hostip[16];	/* dotted IPv4, "" = any address */
	uint16_t hostport;	/* 1..65535 */
	char guestip[16];	/* dotted IPv4, "" = the guest's DHCP address */
	uint16_t guestport;	/* 1..65535 */
};

struct nic_spec {
	unsigned int index;	/* 1..NIC_MAX, VirtualBox's adapter number */
	enum nic_model model;
	enum nic_attach attach;
	uint8_t mac[6];		/* unicast, not all zero */
	bool cable;		/* cable connected at start (default on) */
	/* NAT */
	char *natnet;		/* "A.B.C.D/M" (M 8..28); NULL = 10.0.2.0/24 */
	struct nic_fwd *fwd;
	unsigned int nr_fwd;
	char *tftp_prefix;	/* TFTP root directory; NULL = no TFTP server */
	char *tftp_file;	/* DHCP boot file name; NULL = "<VM name>.pxe" is not guessed: none */
	bool dns_host_resolver;	/* answer DNS at .3 with the host's resolver */
	/* bridged */
	char *bridge;
	/* intnet */
	char *intnet;
};

/*
 * Parse one spec into n.  0, or -EINVAL with a one-line reason in err (n
 * then holds nothing to free).  Free with nic_spec_free.
 */
int nic_spec_parse(const char *s, struct nic_spec *n, char *err, size_t errlen);
/* The spec for n (malloc'd; NULL only when out of memory), every field spelled out. */
char *nic_spec_format(const struct nic_spec *n);
void nic_spec_free(struct nic_spec *n);

/*
 * A rule in VirtualBox's syntax ("name,tcp,hostip,hostport,guestip,guestport";
 * empty IPs allowed) into r.  0, or -EINVAL with a reason in err.
 */
int nic_fwd_parse(const char *rule, struct nic_fwd *r, char *err, size_t errlen);
/* r back in VirtualBox's syntax into out (always NUL-terminated). */
void nic_fwd_format(const struct nic_fwd *r, char *out, size_t outlen);

const char *nic_model_name(enum nic_model m);   /* "e1000" "virtio" */
const char *nic_attach_name(enum nic_attach a); /* "null" "nat" "bridged" "intnet" */

#endif
