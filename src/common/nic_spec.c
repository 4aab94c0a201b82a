// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The --nic spec (nic_spec.h): its parser and its writer, side by side.
 * Strict on purpose: the spec is written by libhutch, so anything odd in
 * it is a bug or a hand-made command line, and either deserves a one-line
 * error naming the key rather than an adapter that silently differs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nic_spec.h"
#include "spec_item.h"

const char *nic_model_name(enum nic_model m)
{
	switch (m) {
	case NIC_MODEL_E1000: return "e1000";
	case NIC_MODEL_VIRTIO: return "virtio";
	}
	return "?";
}

const char *nic_attach_name(enum nic_attach a)
{
	switch (a) {
	case NIC_ATTACH_NULL: return "null";
	case NIC_ATTACH_NAT: return "nat";
	case NIC_ATTACH_BRIDGED: return "bridged";
	case NIC_ATTACH_INTNET: return "intnet";
	}
	return "?";
}

void nic_spec_free(struct nic_spec *n)
{
	free(n->natnet);
	free(n->fwd);
	free(n->tftp_prefix);
	free(n->tftp_file);
	free(n->bridge);
	free(n->intnet);
	n->natnet = n->tftp_prefix = n->tftp_file = n->bridge = n->intnet = NULL;
	n->fwd = NULL;
	n->nr_fwd = 0;
}

static int parse_onoff(const char *v, bool *out)
{
	if (!strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "off"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* A decimal number in [min, max], nothing else. */
static int parse_number(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long x = 0;
	const char *p;

	if (!*v || strlen(v) > 10)
		return -EINVAL;
	for (p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		x = x * 10 + (unsigned long)(*p - '0');
	}
	if (x < min || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

/*
 * Twelve hex digits, VirtualBox's --macaddress form.  A multicast address
 * (bit 0 of the first octet, IEEE 802-2014 8.2.2) would make the guest
 * answer every frame sent to a group; all zero is no address at all.
 */
static int parse_mac(const char *v, uint8_t mac[6])
{
	int i, hi, lo;

	if (strlen(v) != 12)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		hi = spec_hex_digit(v[2 * i]);
		lo = spec_hex_digit(v[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (mac[0] & 1)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		if (mac[i])
			return 0;
	return -EINVAL;
}

/* Dotted IPv4 (inet_pton's strict form, four decimal parts); "" allowed when empty_ok. */
static bool valid_ipv4(const char *v, bool empty_ok)
{
	struct in_addr a;

	if (!*v)
		return empty_ok;
	return strlen(v) < 16 && inet_pton(AF_INET, v, &a) == 1;
}

/*
 * "A.B.C.D/M" with M 8..28 (slirp needs room for its gateway .2, DNS .3
 * and the DHCP pool from .15 up, as VirtualBox's NAT does) and no host
 * bits set, so the network the user names is the one the guest gets.
 */
static bool valid_natnet(const char *v)
{
	char addr[16];
	const char *slash = strchr(v, '/');
	unsigned long bits;
	struct in_addr a;
	uint32_t host;

	if (!slash || (size_t)(slash - v) >= sizeof(addr))
		return false;
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1 || parse_number(slash + 1, 8, 28, &bits))
		return false;
	host = ntohl(a.s_addr) & (0xffffffffu >> bits);
	return host == 0;
}

/* One field of a rule: up to the next comma (rules have no escapes of their own). */
static const char *rule_field(const char *p, char *out, size_t outlen, bool *too_long)
{
	size_t n = 0;

	while (*p && *p != ',') {
		if (n + 1 < outlen)
			out[n++] = *p;
		else
			*too_long = true;
		p++;
	}
	out[n] = '\0';
	return p;
}

int nic_fwd_parse(const char *rule, struct nic_fwd *r, char *err, size_t errlen)
{
	char field[6][64];
	const char *p = rule;
	bool too_long = false;
	unsigned long port;
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < 6; i++) {
		p = rule_field(p, field[i], sizeof(field[i]), &too_long);
		if (i < 5) {
			if (*p != ',')
				break;
			p++;
		}
	}
	if (i < 6 || *p) {
		snprintf(err, errlen, "port-forwarding rule '%s': expected name,tcp|udp,hostip,hostport,guestip,guestport",
			 rule);
		return -EINVAL;
	}
	if (too_long || !field[0][0]) {
		snprintf(err, errlen, "port-forwarding rule '%s': %s", rule,
			 too_long ? "a field is too long (a name has at most 63 characters)" : "the rule needs a name");
		return -EINVAL;
	}
	for (i = 0; field[0][i]; i++) {
		/* The rule travels in one line of the control protocol: no line breaks, no control characters. */
		if ((unsigned char)field[0][i] < 0x20 || field[0][i] == 0x7f) {
			snprintf(err, errlen, "port-forwarding rule: its name has a control character");
			return -EINVAL;
		}
	}
	strcpy(r->name, field[0]);
	if (!strcmp(field[1], "tcp")) {
		r->udp = false;
	} else if (!strcmp(field[1], "udp")) {
		r->udp = true;
	} else {
		snprintf(err, errlen, "port-forwarding rule '%s': protocol '%s', expected tcp or udp", rule, field[1]);
		return -EINVAL;
	}
	if (!valid_ipv4(field[2], true) || !valid_ipv4(field[4], true)) {
		snprintf(err, errlen, "port-forwarding rule '%s': '%s' is not an IPv4 address (or empty)", rule,
			 valid_ipv4(field[2], true) ? field[4] : field[2]);
		return -EINVAL;
	}
	strcpy(r->hostip, field[2]);
	strcpy(r->guestip, field[4]);
	if (parse_number(field[3], 1, 65535, &port)) {
		snprintf(err, errlen, "port-forwarding rule '%s': host port '%s', expected 1 to 65535", rule, field[3]);
		return -EINVAL;
	}
	r->hostport = (uint16_t)port;
	if (parse_number(field[5], 1, 65535, &port)) {
		snprintf(err, errlen, "port-forwarding rule '%s': guest port '%s', expected 1 to 65535", rule,
			 field[5]);
		return -EINVAL;
	}
	r->guestport = (uint16_t)port;
	return 0;
}

void nic_fwd_format(const struct nic_fwd *r, char *out, size_t outlen)
{
	if (!outlen)
		return;
	snprintf(out, outlen, "%s,%s,%s,%u,%s,%u", r->name, r->udp ? "udp" : "tcp", r->hostip, r->hostport,
		 r->guestip, r->guestport);
}

static int set_string(char **field, const char *val, const char *key, char *err, size_t errlen)
{
	if (!*val) {
		snprintf(err, errlen, "--nic %s=: expected a value", key);
		return -EINVAL;
	}
	free(*field);
	*field = strdup(val);
	if (!*field) {
		snprintf(err, errlen, "--nic: out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Which keys were given, for the checks once every item is read. */
struct seen {
	bool nic, model, net, mac;
};

static int add_fwd(struct nic_spec *n, const char *val, char *err, size_t errlen)
{
	struct nic_fwd r, *grown;
	unsigned int i;
	int ret;

	if (n->nr_fwd >= NIC_MAX_FWD) {
		snprintf(err, errlen, "--nic fwd=%s: more than %d forwarding rules on one adapter", val, NIC_MAX_FWD);
		return -EINVAL;
	}
	ret = nic_fwd_parse(val, &r, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < n->nr_fwd; i++) {
		if (!strcmp(n->fwd[i].name, r.name)) {
			snprintf(err, errlen, "--nic fwd=%s: a second rule named '%s'", val, r.name);
			return -EINVAL;
		}
	}
	grown = realloc(n->fwd, (n->nr_fwd + 1) * sizeof(*grown));
	if (!grown) {
		snprintf(err, errlen, "--nic: out of memory");
		return -ENOMEM;
	}
	n->fwd = grown;
	n->fwd[n->nr_fwd++] = r;
	return 0;
}

static int parse_item(const char *key, const char *val, struct nic_spec *n, struct seen *seen, char *err,
		      size_t errlen)
{
	unsigned long x;

	if (!strcmp(key, "nic")) {
		if (parse_number(val, 1, NIC_MAX, &x)) {
			snprintf(err, errlen, "--nic nic=%s: expected an adapter number from 1 to %d", val, NIC_MAX);
			return -EINVAL;
		}
		n->index = (unsigned int)x;
		seen->nic = true;
	} else if (!strcmp(key, "model")) {
		if (!strcmp(val, "e1000")) {
			n->model = NIC_MODEL_E1000;
		} else if (!strcmp(val, "virtio")) {
			n->model = NIC_MODEL_VIRTIO;
		} else {
			snprintf(err, errlen, "--nic model=%s: expected e1000 or virtio", val);
			return -EINVAL;
		}
		seen->model = true;
	} else if (!strcmp(key, "net")) {
		if (!strcmp(val, "null")) {
			n->attach = NIC_ATTACH_NULL;
		} else if (!strcmp(val, "nat")) {
			n->attach = NIC_ATTACH_NAT;
		} else if (!strcmp(val, "bridged")) {
			n->attach = NIC_ATTACH_BRIDGED;
		} else if (!strcmp(val, "intnet")) {
			n->attach = NIC_ATTACH_INTNET;
		} else {
			snprintf(err, errlen, "--nic net=%s: expected null, nat, bridged or intnet", val);
			return -EINVAL;
		}
		seen->net = true;
	} else if (!strcmp(key, "mac")) {
		if (parse_mac(val, n->mac)) {
			snprintf(err, errlen,
				 "--nic mac=%s: expected 12 hex digits of a unicast address, not all zero", val);
			return -EINVAL;
		}
		seen->mac = true;
	} else if (!strcmp(key, "cable")) {
		if (parse_onoff(val, &n->cable)) {
			snprintf(err, errlen, "--nic cable=%s: expected on or off", val);
			return -EINVAL;
		}
	} else if (!strcmp(key, "natnet")) {
		if (!valid_natnet(val)) {
			snprintf(err, errlen, "--nic natnet=%s: expected a network A.B.C.D/M, M from 8 to 28", val);
			return -EINVAL;
		}
		return set_string(&n->natnet, val, key, err, errlen);
	} else if (!strcmp(key, "fwd")) {
		return add_fwd(n, val, err, errlen);
	} else if (!strcmp(key, "tftp")) {
		return set_string(&n->tftp_prefix, val, key, err, errlen);
	} else if (!strcmp(key, "bootfile")) {
		return set_string(&n->tftp_file, val, key, err, errlen);
	} else if (!strcmp(key, "dnshost")) {
		if (parse_onoff(val, &n->dns_host_resolver)) {
			snprintf(err, errlen, "--nic dnshost=%s: expected on or off", val);
			return -EINVAL;
		}
	} else if (!strcmp(key, "bridge")) {
		return set_string(&n->bridge, val, key, err, errlen);
	} else if (!strcmp(key, "intnet")) {
		return set_string(&n->intnet, val, key, err, errlen);
	} else {
		snprintf(err, errlen,
			 "--nic: unknown key '%s' (nic, model, net, mac, cable, natnet, fwd, tftp, bootfile, "
			 "dnshost, bridge, intnet)",
			 key);
		return -EINVAL;
	}
	return 0;
}

/* The keys that belong to one attachment only, given for another: a mistake, said so. */
static int check_attachment(const struct nic_spec *n, char *err, size_t errlen)
{
	const char *stray = NULL;

	if (n->attach != NIC_ATTACH_NAT) {
		if (n->natnet)
			stray = "natnet";
		else if (n->nr_fwd)
			stray = "fwd";
		else if (n->tftp_prefix)
			stray = "tftp";
		else if (n->tftp_file)
			stray = "bootfile";
		else if (n->dns_host_resolver)
			stray = "dnshost";
	}
	if (!stray && n->attach != NIC_ATTACH_BRIDGED && n->bridge)
		stray = "bridge";
	if (!stray && n->attach != NIC_ATTACH_INTNET && n->intnet)
		stray = "intnet";
	if (stray) {
		snprintf(err, errlen, "--nic nic=%u: %s= does not go with net=%s", n->index, stray,
			 nic_attach_name(n->attach));
		return -EINVAL;
	}
	if (n->attach == NIC_ATTACH_BRIDGED && !n->bridge) {
		snprintf(err, errlen, "--nic nic=%u: net=bridged needs bridge=IFNAME", n->index);
		return -EINVAL;
	}
	if (n->attach == NIC_ATTACH_INTNET && !n->intnet) {
		snprintf(err, errlen, "--nic nic=%u: net=intnet needs intnet=NAME", n->index);
		return -EINVAL;
	}
	return 0;
}

int nic_spec_parse(const char *s, struct nic_spec *n, char *err, size_t errlen)
{
	struct seen seen = { 0 };
	bool oom = false;
	size_t pos = 0;
	char *item;
	int ret = 0;

	memset(n, 0, sizeof(*n));
	n->cable = true;
	while (!ret && (item = spec_next_item(s, &pos, &oom))) {
		char *eq = strchr(item, '=');

		if (!eq) {
			snprintf(err, errlen, "--nic: '%s' is not KEY=VALUE", item);
			ret = -EINVAL;
		} else {
			*eq = '\0';
			ret = parse_item(item, eq + 1, n, &seen, err, errlen);
		}
		free(item);
	}
	if (!ret && oom) {
		snprintf(err, errlen, "--nic: out of memory");
		ret = -ENOMEM;
	}
	if (!ret && !seen.nic) {
		snprintf(err, errlen, "--nic '%s': needs nic=N (the adapter's number, 1 to %d)", s, NIC_MAX);
		ret = -EINVAL;
	}
	if (!ret && (!seen.model || !seen.net || !seen.mac)) {
		snprintf(err, errlen, "--nic nic=%u: needs %s=", n->index,
			 !seen.model ? "model" : !seen.net ? "net" : "mac");
		ret = -EINVAL;
	}
	if (!ret)
		ret = check_attachment(n, err, errlen);
	if (ret)
		nic_spec_free(n);
	return ret == -ENOMEM ? -EINVAL : ret;
}

/* Append v to the buffer at *out, a comma doubled (the spec's escape). */
static void append_escaped(char **out, const char *v)
{
	char *p = *out;

	for (; *v; v++) {
		if (*v == ',')
			*p++ = ',';
		*p++ = *v;
	}
	*p = '\0';
	*out = p;
}

static void append_key(char **out, const char *key, const char *v)
{
	char *p = *out;

	if (!v)
		return;
	p += sprintf(p, ",%s=", key);
	*out = p;
	append_escaped(out, v);
}

char *nic_spec_format(const struct nic_spec *n)
{
	const char *strings[] = { n->natnet, n->tftp_prefix, n->tftp_file, n->bridge, n->intnet };
	char rule[sizeof(struct nic_fwd) + 32];
	size_t len = 128, i;
	char *spec, *p;

	/* Room for everything doubled (escapes) plus each key: generous, and computed, not guessed. */
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (strings[i])
			len += 2 * strlen(strings[i]) + 16;
	len += (size_t)n->nr_fwd * (2 * sizeof(rule) + 8);
	spec = malloc(len);
	if (!spec)
		return NULL;
	p = spec;
	p += sprintf(p, "nic=%u,model=%s,net=%s,mac=%02X%02X%02X%02X%02X%02X,cable=%s", n->index,
		     nic_model_name(n->model), nic_attach_name(n->attach), n->mac[0], n->mac[1], n->mac[2],
		     n->mac[3], n->mac[4], n->mac[5], n->cable ? "on" : "off");
	switch (n->attach) {
	case NIC_ATTACH_NAT:
		append_key(&p, "natnet", n->natnet);
		for (i = 0; i < n->nr_fwd; i++) {
			nic_fwd_format(&n->fwd[i], rule, sizeof(rule));
			append_key(&p, "fwd", rule);
		}
		append_key(&p, "tftp", n->tftp_prefix);
		append_key(&p, "bootfile", n->tftp_file);
		p += sprintf(p, ",dnshost=%s", n->dns_host_resolver ? "on" : "off");
		break;
	case NIC_ATTACH_BRIDGED:
		append_key(&p, "bridge", n->bridge);
		break;
	case NIC_ATTACH_INTNET:
		append_key(&p, "intnet", n->intnet);
		break;
	case NIC_ATTACH_NULL:
		break;
	}
	return spec;
}
