// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The --nic spec (src/common/nic_spec.c): what nic_spec_format writes for
 * every attachment, model and rule form parses back to the same adapter,
 * what the parser accepts is written back the same, and every malformed
 * spec or rule is refused with a one-line reason naming what is wrong.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hutch/vm.h"
#include "nic_spec.h"

static bool same_string(const char *a, const char *b)
{
	return (a == NULL) == (b == NULL) && (!a || !strcmp(a, b));
}

static void assert_same_nic(const struct nic_spec *got, const struct nic_spec *want, const char *spec)
{
	unsigned int i;

	if (got->index != want->index || got->model != want->model || got->attach != want->attach ||
	    memcmp(got->mac, want->mac, 6) || got->cable != want->cable ||
	    got->dns_host_resolver != want->dns_host_resolver)
		fail_msg("%s: nic %u %s %s cable %d dnshost %d, expected nic %u %s %s cable %d dnshost %d", spec,
			 got->index, nic_model_name(got->model), nic_attach_name(got->attach), got->cable,
			 got->dns_host_resolver, want->index, nic_model_name(want->model),
			 nic_attach_name(want->attach), want->cable, want->dns_host_resolver);
	if (!same_string(got->natnet, want->natnet) || !same_string(got->tftp_prefix, want->tftp_prefix) ||
	    !same_string(got->tftp_file, want->tftp_file) || !same_string(got->bridge, want->bridge) ||
	    !same_string(got->intnet, want->intnet))
		fail_msg("%s: a string field differs (natnet '%s' tftp '%s' bootfile '%s' bridge '%s' intnet '%s')",
			 spec, got->natnet ? got->natnet : "-", got->tftp_prefix ? got->tftp_prefix : "-",
			 got->tftp_file ? got->tftp_file : "-", got->bridge ? got->bridge : "-",
			 got->intnet ? got->intnet : "-");
	if (got->nr_fwd != want->nr_fwd)
		fail_msg("%s: %u rules, expected %u", spec, got->nr_fwd, want->nr_fwd);
	for (i = 0; i < want->nr_fwd; i++)
		if (memcmp(&got->fwd[i], &want->fwd[i], sizeof(struct nic_fwd)))
			fail_msg("%s: rule %u differs ('%s')", spec, i, got->fwd[i].name);
}

/* Write n, parse it back, compare; and the writer is the parser's inverse. */
static void check_round_trip(const struct nic_spec *n)
{
	char err[256] = "", *spec, *again;
	struct nic_spec back;

	spec = nic_spec_format(n);
	assert_non_null(spec);
	if (nic_spec_parse(spec, &back, err, sizeof(err)))
		fail_msg("nic_spec_format wrote '%s', which nic_spec_parse refuses: %s", spec, err);
	assert_same_nic(&back, n, spec);
	again = nic_spec_format(&back);
	assert_non_null(again);
	assert_string_equal(again, spec);
	free(again);
	nic_spec_free(&back);
	free(spec);
}

static struct nic_fwd rule(const char *name, bool udp, const char *hostip, uint16_t hostport, const char *guestip,
			   uint16_t guestport)
{
	struct nic_fwd r;

	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", name);
	r.udp = udp;
	snprintf(r.hostip, sizeof(r.hostip), "%s", hostip);
	r.hostport = hostport;
	snprintf(r.guestip, sizeof(r.guestip), "%s", guestip);
	r.guestport = guestport;
	return r;
}

static void test_every_attachment_round_trips(void **state)
{
	struct nic_fwd rules[] = {
		rule("ssh", false, "", 2222, "", 22),
		rule("dns", true, "127.0.0.1", 5353, "10.0.2.15", 53),
		rule("web", false, "0.0.0.0", 8080, "", 80),
		rule("max", true, "", 65535, "192.168.1.200", 1),
		rule("a name with spaces=and equals", false, "", 1, "", 65535),
	};
	static const enum nic_model models[] = { NIC_MODEL_E1000, NIC_MODEL_VIRTIO };
	static const uint8_t macs[][6] = { { 0x08, 0x00, 0x27, 0x12, 0x34, 0x56 },
					   { 0x02, 0xff, 0xff, 0xff, 0xff, 0xfe },
					   { 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 } };
	unsigned int m, i, c;

	(void)state;
	for (m = 0; m < 2; m++) {
		for (i = 1; i <= NIC_MAX; i++) {
			for (c = 0; c < 2; c++) {
				struct nic_spec n = { .index = i, .model = models[m], .cable = c };

				memcpy(n.mac, macs[i % 3], 6);
				n.attach = NIC_ATTACH_NULL;
				check_round_trip(&n);
				/* NAT: bare, then with every key and each rule form. */
				n.attach = NIC_ATTACH_NAT;
				check_round_trip(&n);
				n.natnet = "192.168.56.0/24";
				n.fwd = rules;
				n.nr_fwd = sizeof(rules) / sizeof(rules[0]);
				n.tftp_prefix = "/srv/tftp,with,commas";
				n.tftp_file = "pxelinux.0";
				n.dns_host_resolver = true;
				check_round_trip(&n);
				n.natnet = "10.0.0.0/8";
				n.nr_fwd = 1;
				n.tftp_prefix = NULL;
				n.dns_host_resolver = false;
				check_round_trip(&n);
				memset(&n, 0, sizeof(n));
				n.index = i, n.model = models[m], n.cable = c;
				memcpy(n.mac, macs[i % 3], 6);
				n.attach = NIC_ATTACH_BRIDGED;
				n.bridge = "br0";
				check_round_trip(&n);
				n.bridge = "tap,odd";
				check_round_trip(&n);
				n.bridge = NULL;
				n.attach = NIC_ATTACH_INTNET;
				n.intnet = "intnet";
				check_round_trip(&n);
				n.intnet = "lab,,net=2";
				check_round_trip(&n);
			}
		}
	}
}

static void test_the_full_rule_table_round_trips(void **state)
{
	struct nic_fwd *rules = calloc(NIC_MAX_FWD, sizeof(*rules));
	struct nic_spec n = { .index = 8, .model = NIC_MODEL_VIRTIO, .attach = NIC_ATTACH_NAT, .cable = true,
			      .mac = { 0x08, 0x00, 0x27, 1, 2, 3 } };
	char name[32];
	unsigned int i;

	(void)state;
	assert_non_null(rules);
	for (i = 0; i < NIC_MAX_FWD; i++) {
		snprintf(name, sizeof(name), "rule%u", i);
		rules[i] = rule(name, i & 1, i % 3 ? "" : "255.255.255.255", (uint16_t)(1000 + i), i % 5 ? "" : "10.0.2.99",
				(uint16_t)(i + 1));
	}
	n.fwd = rules;
	n.nr_fwd = NIC_MAX_FWD;
	check_round_trip(&n);
	free(rules);
}

static void test_parsed_specs_are_written_back(void **state)
{
	static const struct {
		const char *in, *out;
	} specs[] = {
		{ "nic=1,model=e1000,net=nat,mac=080027aabbcc",
		  "nic=1,model=e1000,net=nat,mac=080027AABBCC,cable=on,dnshost=off" },
		{ "mac=080027000001,net=null,model=virtio,nic=2,cable=off",
		  "nic=2,model=virtio,net=null,mac=080027000001,cable=off" },
		{ "nic=3,model=e1000,net=nat,mac=080027000001,fwd=ssh,,tcp,,,,2222,,,,22,dnshost=on,natnet=10.0.3.0/24",
		  "nic=3,model=e1000,net=nat,mac=080027000001,cable=on,natnet=10.0.3.0/24,fwd=ssh,,tcp,,,,2222,,,,22,"
		  "dnshost=on" },
		{ "nic=4,model=virtio,net=bridged,bridge=br0,mac=020000000000",
		  "nic=4,model=virtio,net=bridged,mac=020000000000,cable=on,bridge=br0" },
		{ "nic=5,model=virtio,net=intnet,intnet=lab,mac=020000000000",
		  "nic=5,model=virtio,net=intnet,mac=020000000000,cable=on,intnet=lab" },
		{ "nic=6,model=e1000,net=nat,mac=020000000000,tftp=/srv/t,,ftp,bootfile=boot.ipxe",
		  "nic=6,model=e1000,net=nat,mac=020000000000,cable=on,tftp=/srv/t,,ftp,bootfile=boot.ipxe,dnshost=off" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct nic_spec n;
		char err[256] = "", *s;

		if (nic_spec_parse(specs[i].in, &n, err, sizeof(err)))
			fail_msg("'%s' refused: %s", specs[i].in, err);
		s = nic_spec_format(&n);
		assert_non_null(s);
		assert_string_equal(s, specs[i].out);
		free(s);
		nic_spec_free(&n);
	}
}

static void test_parsed_fields(void **state)
{
	struct nic_spec n;
	char err[256] = "";

	(void)state;
	assert_int_equal(nic_spec_parse("nic=3,model=e1000,net=nat,mac=080027aBcDeF,fwd=web,,udp,,127.0.0.1,,80,,"
					 "10.0.2.15,,8080,tftp=/t,bootfile=pxe.0",
					 &n, err, sizeof(err)),
			 0);
	assert_int_equal(n.index, 3);
	assert_int_equal(n.model, NIC_MODEL_E1000);
	assert_int_equal(n.attach, NIC_ATTACH_NAT);
	assert_memory_equal(n.mac, ((uint8_t[]){ 0x08, 0x00, 0x27, 0xab, 0xcd, 0xef }), 6);
	assert_true(n.cable);
	assert_false(n.dns_host_resolver);
	assert_null(n.natnet);
	assert_int_equal(n.nr_fwd, 1);
	assert_string_equal(n.fwd[0].name, "web");
	assert_true(n.fwd[0].udp);
	assert_string_equal(n.fwd[0].hostip, "127.0.0.1");
	assert_int_equal(n.fwd[0].hostport, 80);
	assert_string_equal(n.fwd[0].guestip, "10.0.2.15");
	assert_int_equal(n.fwd[0].guestport, 8080);
	assert_string_equal(n.tftp_prefix, "/t");
	assert_string_equal(n.tftp_file, "pxe.0");
	nic_spec_free(&n);
}

/* s is refused, and the reason is one line that mentions want. */
static void check_refused(const char *s, const char *want)
{
	struct nic_spec n;
	char err[256] = "";

	memset(&n, 0xa5, sizeof(n));
	if (nic_spec_parse(s, &n, err, sizeof(err)) != -EINVAL)
		fail_msg("'%s' accepted", s);
	if (!strstr(err, want) || strchr(err, '\n'))
		fail_msg("'%s': error '%s' does not say '%s' on one line", s, err, want);
	/* Nothing left to free: a free after a refusal is harmless. */
	assert_null(n.fwd);
	assert_null(n.natnet);
	nic_spec_free(&n);
}

#define BASE "model=e1000,mac=080027000001,"

static void test_bad_specs_are_refused(void **state)
{
	char *many;
	size_t i, len;

	(void)state;
	check_refused("", "needs nic=");
	check_refused(BASE "net=nat", "needs nic=");
	check_refused("nic=1,mac=080027000001,net=nat", "needs model=");
	check_refused("nic=1,model=virtio,mac=080027000001", "needs net=");
	check_refused("nic=1,model=virtio,net=nat", "needs mac=");
	check_refused("nic=0," BASE "net=nat", "nic=0");
	check_refused("nic=9," BASE "net=nat", "nic=9");
	check_refused("nic=1x," BASE "net=nat", "from 1 to 8");
	check_refused("nic=-1," BASE "net=nat", "from 1 to 8");
	check_refused("nic=1," BASE "net=nat,colour=blue", "unknown key 'colour'");
	check_refused("nic=1," BASE "net=nat,justaword", "not KEY=VALUE");
	check_refused("nic=1,model=pcnet,mac=080027000001,net=nat", "model=pcnet");
	check_refused("nic=1," BASE "net=hostonly", "net=hostonly");
	check_refused("nic=1," BASE "net=none", "net=none");
	/* MACs: length, digits, multicast bit, all zero. */
	check_refused("nic=1,model=e1000,net=nat,mac=0800270000", "mac=0800270000");
	check_refused("nic=1,model=e1000,net=nat,mac=08002700000g", "hex digits");
	check_refused("nic=1,model=e1000,net=nat,mac=08:00:27:00:00:01", "hex digits");
	check_refused("nic=1,model=e1000,net=nat,mac=010027000001", "unicast");
	check_refused("nic=1,model=e1000,net=nat,mac=FFFFFFFFFFFF", "unicast");
	check_refused("nic=1,model=e1000,net=nat,mac=000000000000", "not all zero");
	check_refused("nic=1," BASE "net=nat,cable=maybe", "cable=maybe");
	check_refused("nic=1," BASE "net=nat,dnshost=1", "dnshost=1");
	/* natnet: a network, prefix 8..28, no host bits. */
	check_refused("nic=1," BASE "net=nat,natnet=10.0.2.0", "natnet=10.0.2.0");
	check_refused("nic=1," BASE "net=nat,natnet=10.0.2.0/29", "from 8 to 28");
	check_refused("nic=1," BASE "net=nat,natnet=10.0.0.0/7", "from 8 to 28");
	check_refused("nic=1," BASE "net=nat,natnet=10.0.2.15/24", "natnet=10.0.2.15/24");
	check_refused("nic=1," BASE "net=nat,natnet=10.0.2/24", "natnet=10.0.2/24");
	check_refused("nic=1," BASE "net=nat,natnet=default", "natnet=default");
	check_refused("nic=1," BASE "net=nat,natnet=10.0.2.0/", "natnet");
	/* Keys for another attachment, and the ones an attachment needs. */
	check_refused("nic=1," BASE "net=bridged", "needs bridge=");
	check_refused("nic=1," BASE "net=intnet", "needs intnet=");
	check_refused("nic=1," BASE "net=bridged,bridge=", "expected a value");
	check_refused("nic=1," BASE "net=null,fwd=a,,tcp,,,,1,,,,2", "fwd= does not go with net=null");
	check_refused("nic=1," BASE "net=bridged,bridge=br0,natnet=10.0.3.0/24", "natnet= does not go");
	check_refused("nic=1," BASE "net=nat,bridge=br0", "bridge= does not go with net=nat");
	check_refused("nic=1," BASE "net=nat,intnet=x", "intnet= does not go with net=nat");
	check_refused("nic=1," BASE "net=intnet,intnet=x,tftp=/t", "tftp= does not go");
	/* Rules inside the spec. */
	check_refused("nic=1," BASE "net=nat,fwd=ssh,,tcp,,,,0,,,,22", "host port '0'");
	check_refused("nic=1," BASE "net=nat,fwd=ssh,,tcp,,,,65536,,,,22", "host port '65536'");
	check_refused("nic=1," BASE "net=nat,fwd=ssh,,tcp,,,,22,,,,99999", "guest port '99999'");
	check_refused("nic=1," BASE "net=nat,fwd=ssh,,tcp,,,,22,,,,22,fwd=ssh,,udp,,,,23,,,,23", "second rule named");
	/* One rule more than NIC_MAX_FWD. */
	len = 64 + (NIC_MAX_FWD + 1) * 48;
	many = malloc(len);
	assert_non_null(many);
	i = (size_t)snprintf(many, len, "nic=1," BASE "net=nat");
	for (unsigned int r = 0; r <= NIC_MAX_FWD; r++)
		i += (size_t)snprintf(many + i, len - i, ",fwd=r%u,,tcp,,,,%u,,,,22", r, 1000 + r);
	check_refused(many, "more than 100 forwarding rules");
	free(many);
}

static void check_rule_refused(const char *s, const char *want)
{
	struct nic_fwd r;
	char err[256] = "";

	if (nic_fwd_parse(s, &r, err, sizeof(err)) != -EINVAL)
		fail_msg("rule '%s' accepted", s);
	if (!strstr(err, want) || strchr(err, '\n'))
		fail_msg("rule '%s': error '%s' does not say '%s' on one line", s, err, want);
}

static void test_rules(void **state)
{
	static const char *const good[] = {
		"ssh,tcp,,2222,,22",
		"dns,udp,127.0.0.1,5353,10.0.2.15,53",
		"x,tcp,0.0.0.0,1,,65535",
		"Rule 1,udp,,9,10.0.2.3,9",
	};
	char out[160], err[256];
	struct nic_fwd r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (nic_fwd_parse(good[i], &r, err, sizeof(err)))
			fail_msg("rule '%s' refused: %s", good[i], err);
		nic_fwd_format(&r, out, sizeof(out));
		assert_string_equal(out, good[i]);
	}
	/* The output is cut, never overrun. */
	assert_int_equal(nic_fwd_parse("ssh,tcp,,2222,,22", &r, err, sizeof(err)), 0);
	nic_fwd_format(&r, out, 5);
	assert_string_equal(out, "ssh,");
	check_rule_refused("", "expected name,tcp|udp");
	check_rule_refused("ssh,tcp,,2222,,", "guest port ''");
	check_rule_refused("ssh,tcp,,2222,22", "expected name,tcp|udp");
	check_rule_refused("ssh,tcp,,2222,,22,", "expected name,tcp|udp");
	check_rule_refused(",tcp,,2222,,22", "needs a name");
	check_rule_refused("ss\nh,tcp,,2222,,22", "control character");
	check_rule_refused("ssh\t,tcp,,2222,,22", "control character");
	check_rule_refused("ssh,sctp,,2222,,22", "protocol 'sctp'");
	check_rule_refused("ssh,TCP,,2222,,22", "protocol 'TCP'");
	check_rule_refused("ssh,tcp,localhost,2222,,22", "'localhost' is not an IPv4");
	check_rule_refused("ssh,tcp,,2222,10.0.2,22", "'10.0.2' is not an IPv4");
	check_rule_refused("ssh,tcp,1.2.3.256,2222,,22", "'1.2.3.256'");
	check_rule_refused("ssh,tcp,,0,,22", "host port '0'");
	check_rule_refused("ssh,tcp,,-1,,22", "host port '-1'");
	check_rule_refused("ssh,tcp,,22x,,22", "host port '22x'");
	check_rule_refused("ssh,tcp,,65536,,22", "host port '65536'");
	check_rule_refused("ssh,tcp,,4294967318,,22", "host port");
	check_rule_refused("ssh,tcp,,22,,0", "guest port '0'");
	check_rule_refused("a-name-that-is-far-too-long-for-the-sixty-three-characters-of-room-it-has,tcp,,22,,22",
			   "too long");
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(nic_model_name(NIC_MODEL_E1000), "e1000");
	assert_string_equal(nic_model_name(NIC_MODEL_VIRTIO), "virtio");
	assert_string_equal(nic_attach_name(NIC_ATTACH_NULL), "null");
	assert_string_equal(nic_attach_name(NIC_ATTACH_NAT), "nat");
	assert_string_equal(nic_attach_name(NIC_ATTACH_BRIDGED), "bridged");
	assert_string_equal(nic_attach_name(NIC_ATTACH_INTNET), "intnet");
}

/* What libhutch writes for each attachment and type (hutch_vm_nic_spec), and what it leaves out. */
static void test_libhutch_writes_each_adapter(void **state)
{
	struct hutch_machine *m = hutch_machine_new("nics", NULL);
	struct hutch_natpf pf;
	struct hutch_error e;
	struct nic_spec n;
	char err[256], *spec;
	unsigned i;

	(void)state;
	for (i = 0; i < HUTCH_MAX_NICS; i++) {
		char mac[13];

		snprintf(mac, sizeof(mac), "0800270000%02X", i + 1);
		hutch_setstr(&m->nic[i].mac, mac);
	}
	/* 1: NAT, e1000, everything set. */
	assert_int_equal(hutch_natpf_parse("ssh,tcp,,2222,,22", &pf, &e), 0);
	assert_int_equal(hutch_nic_add_natpf(&m->nic[0], &pf, &e), 0);
	hutch_natpf_clear(&pf);
	assert_int_equal(hutch_natpf_parse(",udp,127.0.0.1,5353,10.0.2.15,53", &pf, &e), 0);
	assert_int_equal(hutch_nic_add_natpf(&m->nic[0], &pf, &e), 0);
	hutch_natpf_clear(&pf);
	assert_int_equal(hutch_nic_set_natnet(&m->nic[0], "10.0.3.0/24", &e), 0);
	hutch_setstr(&m->nic[0].tftp_prefix, "/srv/tf,tp");
	hutch_setstr(&m->nic[0].tftp_file, "boot.pxe");
	m->nic[0].dns_host_resolver = true;
	/* 2: null, virtio, cable out.  3: bridged.  4: intnet, named and not.  */
	hutch_setstr(&m->nic[1].attachment, "null");
	hutch_setstr(&m->nic[1].type, "virtio");
	m->nic[1].cable = false;
	hutch_setstr(&m->nic[2].attachment, "bridged");
	hutch_setstr(&m->nic[2].bridge, "br0");
	hutch_setstr(&m->nic[3].attachment, "intnet");
	hutch_setstr(&m->nic[3].type, "virtio");
	hutch_setstr(&m->nic[4].attachment, "intnet");
	hutch_setstr(&m->nic[4].intnet, "lab,1");
	/* 6: stored-only attachment; 7: stored-only type; 8: none. */
	hutch_setstr(&m->nic[5].attachment, "hostonly");
	hutch_setstr(&m->nic[6].attachment, "nat");
	hutch_setstr(&m->nic[6].type, "Am79C973");

	spec = hutch_vm_nic_spec(m, 0, &e);
	assert_non_null(spec);
	assert_string_equal(spec, "nic=1,model=e1000,net=nat,mac=080027000001,cable=on,natnet=10.0.3.0/24,"
				  "fwd=ssh,,tcp,,,,2222,,,,22,fwd=udp_5353_53,,udp,,127.0.0.1,,5353,,10.0.2.15,,53,"
				  "tftp=/srv/tf,,tp,bootfile=boot.pxe,dnshost=on");
	assert_int_equal(nic_spec_parse(spec, &n, err, sizeof(err)), 0);
	assert_int_equal(n.nr_fwd, 2);
	assert_string_equal(n.tftp_prefix, "/srv/tf,tp");
	nic_spec_free(&n);
	free(spec);
	spec = hutch_vm_nic_spec(m, 1, &e);
	assert_string_equal(spec, "nic=2,model=virtio,net=null,mac=080027000002,cable=off");
	free(spec);
	spec = hutch_vm_nic_spec(m, 2, &e);
	assert_string_equal(spec, "nic=3,model=e1000,net=bridged,mac=080027000003,cable=on,bridge=br0");
	free(spec);
	spec = hutch_vm_nic_spec(m, 3, &e);
	assert_string_equal(spec, "nic=4,model=virtio,net=intnet,mac=080027000004,cable=on,intnet=intnet");
	free(spec);
	spec = hutch_vm_nic_spec(m, 4, &e);
	assert_string_equal(spec, "nic=5,model=e1000,net=intnet,mac=080027000005,cable=on,intnet=lab,,1");
	free(spec);
	for (i = 5; i < HUTCH_MAX_NICS; i++)
		assert_null(hutch_vm_nic_spec(m, i, &e));
	assert_null(hutch_vm_nic_spec(m, 99, &e));
	spec = hutch_vm_unsupported(m, &(char *){ NULL });
	assert_string_equal(spec, "nic6 (hostonly), nic7 (Am79C973)");
	free(spec);

	/* Settings that cannot make an adapter: refused with a reason, and the VM does not start. */
	hutch_setstr(&m->nic[2].bridge, NULL);
	e.msg[0] = 0;
	assert_null(hutch_vm_nic_spec(m, 2, &e));
	assert_non_null(strstr(e.msg, "NIC 3 is bridged but names no host interface"));
	{
		char *fatal = NULL;

		free(hutch_vm_unsupported(m, &fatal));
		assert_non_null(fatal);
		assert_non_null(strstr(fatal, "--bridgeadapter3"));
		free(fatal);
	}
	hutch_setstr(&m->nic[2].bridge, "br0");
	hutch_setstr(&m->nic[1].mac, "010000000000");	/* multicast, hand-edited */
	assert_null(hutch_vm_nic_spec(m, 1, &e));
	assert_non_null(strstr(e.msg, "NIC 2: --nic mac=010000000000"));
	hutch_setstr(&m->nic[1].mac, "08002700000");
	assert_null(hutch_vm_nic_spec(m, 1, &e));
	assert_non_null(strstr(e.msg, "no valid MAC"));
	hutch_machine_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_attachment_round_trips),
		cmocka_unit_test(test_the_full_rule_table_round_trips),
		cmocka_unit_test(test_parsed_specs_are_written_back),
		cmocka_unit_test(test_parsed_fields),
		cmocka_unit_test(test_bad_specs_are_refused),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_libhutch_writes_each_adapter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
