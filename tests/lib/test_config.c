// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Machine settings: lossless load/save round trips, schema validation of
 * what is written, errors naming file and line, and the value parsers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/xmlschemas.h>

#include "hutch/config.h"
#include "hutch/registry.h"

/* Validate an XML buffer against docs/<xsd>; returns 0 if valid. */
static int validate(const char *buf, size_t len, const char *xsd)
{
	char path[4096];
	xmlSchemaParserCtxtPtr pc;
	xmlSchemaValidCtxtPtr vc;
	xmlSchemaPtr schema;
	xmlDocPtr doc;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", HUTCH_DOCS_DIR, xsd);
	pc = xmlSchemaNewParserCtxt(path);
	schema = xmlSchemaParse(pc);
	assert_non_null(schema);
	vc = xmlSchemaNewValidCtxt(schema);
	doc = xmlReadMemory(buf, (int)len, "test.xml", NULL, 0);
	assert_non_null(doc);
	rc = xmlSchemaValidateDoc(vc, doc);
	xmlFreeDoc(doc);
	xmlSchemaFreeValidCtxt(vc);
	xmlSchemaFree(schema);
	xmlSchemaFreeParserCtxt(pc);
	return rc;
}

/* A machine with every kind of setting filled in. */
static struct hutch_machine *full_machine(void)
{
	struct hutch_machine *m = hutch_machine_new("full \"quoted\" <vm> & co", NULL);
	struct hutch_error e;
	struct hutch_natpf pf;
	char *args[] = { "0x378", "7" };

	assert_int_equal(hutch_machine_set_memory(m, 4096, &e), 0);
	assert_int_equal(hutch_machine_set_cpus(m, 8, &e), 0);
	assert_int_equal(hutch_machine_set_vram(m, 128, &e), 0);
	assert_int_equal(hutch_machine_set_ostype(m, "ubuntu_64", &e), 0);
	assert_int_equal(hutch_machine_set_boot(m, 1, "DVD", &e), 0);
	assert_int_equal(hutch_machine_set_graphics(m, "vmsvga", &e), 0);
	assert_int_equal(hutch_machine_set_firmware(m, "EFI", &e), 0);
	assert_int_equal(hutch_machine_set_boot(m, 4, "net", &e), 0);
	hutch_setstr(&m->description, "line one\nline two\ttabbed & <escaped>");
	hutch_setstr(&m->groups, "/ci");
	hutch_setstr(&m->kernel, "/boot/vmlinuz");
	hutch_setstr(&m->initrd, "/boot/initrd.img");
	hutch_setstr(&m->cmdline, "console=ttyS0 root=/dev/vda \"quoted\"");
	hutch_setstr(&m->nic[0].type, "virtio");
	assert_int_equal(hutch_natpf_parse("ssh,tcp,127.0.0.1,2222,,22", &pf, &e), 0);
	assert_int_equal(hutch_nic_add_natpf(&m->nic[0], &pf, &e), 0);
	hutch_natpf_clear(&pf);
	assert_int_equal(hutch_natpf_parse(",UDP,,5353,10.0.2.15,53", &pf, &e), 0);
	assert_int_equal(hutch_nic_add_natpf(&m->nic[0], &pf, &e), 0);
	hutch_natpf_clear(&pf);
	hutch_setstr(&m->nic[1].attachment, "bridged");
	hutch_setstr(&m->nic[1].bridge, "br0");
	m->nic[1].cable = false;
	hutch_setstr(&m->nic[2].attachment, "intnet");
	hutch_setstr(&m->nic[2].intnet, "lab \"one\" & <two>");
	assert_int_equal(hutch_nic_set_natnet(&m->nic[0], "192.168.7.0/24", &e), 0);
	hutch_setstr(&m->nic[0].tftp_prefix, "/srv/tftp");
	hutch_setstr(&m->nic[0].tftp_file, "pxelinux.0");
	m->nic[0].dns_host_resolver = true;
	m->uart[0].enabled = true;
	hutch_setstr(&m->uart[0].mode, "file");
	hutch_setstr(&m->uart[0].path, "/tmp/serial.log");
	m->uart[1].enabled = true;
	hutch_setstr(&m->uart[1].mode, "tcpserver");
	hutch_setstr(&m->uart[1].path, "5555");
	assert_int_equal(hutch_machine_add_ctl(m, "SATA Controller", "sata", "intelahci", &e), 0);
	assert_int_equal(hutch_machine_add_ctl(m, "IDE", "ide", "PIIX3", &e), 0);
	assert_int_equal(hutch_ctl_attach(hutch_machine_find_ctl(m, "SATA Controller"), 3, 0, "hdd",
					  "/vms/disk.vdi", "01234567-89ab-4cde-8f01-23456789abcd", &e), 0);
	assert_int_equal(hutch_ctl_attach(hutch_machine_find_ctl(m, "SATA Controller"), 1, 0, "hdd",
					  "/vms/first.qcow2", NULL, &e), 0);
	assert_int_equal(hutch_ctl_attach(hutch_machine_find_ctl(m, "IDE"), 1, 1, "dvddrive", "emptydrive",
					  NULL, &e), 0);
	hutch_machine_set_extra(m, "pae", args, 1);
	hutch_machine_set_extra(m, "lpt1", args, 2);
	hutch_machine_set_extra(m, "cpuidremoveall", NULL, 0);
	return m;
}

static void test_round_trip_lossless(void **state)
{
	struct hutch_machine *m = full_machine(), *back;
	struct hutch_error e;
	char *a, *b;
	size_t alen, blen;

	assert_int_equal(hutch_config_serialize(m, &a, &alen, &e), 0);
	assert_int_equal(validate(a, alen, "hutch-vm.xsd"), 0);
	assert_int_equal(hutch_config_parse(a, alen, "mem.hutch", &back, &e), 0);
	assert_int_equal(hutch_config_serialize(back, &b, &blen, &e), 0);
	assert_int_equal(alen, blen);
	assert_string_equal(a, b);
	/* Spot checks that the values, not just the bytes, came back. */
	assert_string_equal(back->name, "full \"quoted\" <vm> & co");
	assert_string_equal(back->description, "line one\nline two\ttabbed & <escaped>");
	assert_string_equal(back->ostype, "Ubuntu_64");
	assert_string_equal(back->boot[0], "dvd");
	assert_string_equal(back->boot[3], "net");
	assert_string_equal(back->firmware, "efi");
	assert_string_equal(back->graphics, "vmsvga");
	assert_int_equal(back->vram, 128);
	assert_int_equal(back->memory, 4096);
	assert_int_equal(back->nic[0].npf, 2);
	assert_string_equal(back->nic[0].pf[1].name, "udp_5353_53");
	assert_string_equal(back->nic[0].pf[1].guestip, "10.0.2.15");
	assert_false(back->nic[1].cable);
	assert_string_equal(back->nic[0].natnet, "192.168.7.0/24");
	assert_string_equal(back->nic[0].tftp_prefix, "/srv/tftp");
	assert_string_equal(back->nic[0].tftp_file, "pxelinux.0");
	assert_true(back->nic[0].dns_host_resolver);
	assert_false(back->nic[1].dns_host_resolver);
	assert_string_equal(hutch_nic_intnet(&back->nic[2]), "lab \"one\" & <two>");
	assert_string_equal(hutch_nic_intnet(&back->nic[3]), "intnet");
	/* MACs are generated once and kept: every slot's comes back unchanged. */
	for (size_t i = 0; i < HUTCH_MAX_NICS; i++)
		assert_string_equal(back->nic[i].mac, m->nic[i].mac);
	assert_int_equal(back->ctl[0].natt, 2);
	assert_int_equal(back->ctl[0].att[0].port, 1);	/* kept sorted by port */
	assert_string_equal(back->ctl[0].type, "IntelAhci");
	assert_int_equal(back->extra[1].nargs, 2);
	assert_int_equal(back->extra[2].nargs, 0);
	hutch_machine_free(back);
	hutch_machine_free(m);
	free(a);
	free(b);
}

/* Settings kept as extras before Hutch acted on them become the adapter's own on load. */
static void test_nic_extras_adopted(void **state)
{
	struct hutch_machine *m = hutch_machine_new("old", NULL), *back;
	char *intnet[] = { "lab" }, *natnet[] = { "10.9.0.0/16" }, *badnet[] = { "10.9.0.1/16" };
	char *prefix[] = { "/srv/tftp" }, *file[] = { "boot.pxe" }, *dns[] = { "on" };
	struct hutch_error e;
	char *a;
	size_t alen;

	(void)state;
	hutch_machine_set_extra(m, "intnet2", intnet, 1);
	hutch_machine_set_extra(m, "natnet1", natnet, 1);
	hutch_machine_set_extra(m, "natnet3", badnet, 1);
	hutch_machine_set_extra(m, "nattftpprefix1", prefix, 1);
	hutch_machine_set_extra(m, "nattftpfile1", file, 1);
	hutch_machine_set_extra(m, "natdnshostresolver1", dns, 1);
	hutch_machine_set_extra(m, "intnet", intnet, 1);	/* not an adapter's: kept */
	assert_int_equal(hutch_config_serialize(m, &a, &alen, &e), 0);
	assert_int_equal(validate(a, alen, "hutch-vm.xsd"), 0);
	assert_int_equal(hutch_config_parse(a, alen, "old.hutch", &back, &e), 0);
	assert_string_equal(back->nic[1].intnet, "lab");
	assert_string_equal(back->nic[0].natnet, "10.9.0.0/16");
	assert_null(back->nic[2].natnet);
	assert_string_equal(back->nic[0].tftp_prefix, "/srv/tftp");
	assert_string_equal(back->nic[0].tftp_file, "boot.pxe");
	assert_true(back->nic[0].dns_host_resolver);
	/* The bad network and the unnumbered flag stay stored. */
	assert_int_equal(back->nextra, 2);
	assert_non_null(hutch_machine_get_extra(back, "natnet3"));
	assert_non_null(hutch_machine_get_extra(back, "intnet"));
	hutch_machine_free(back);
	hutch_machine_free(m);
	free(a);
}

static void test_natnet(void **state)
{
	struct hutch_machine *m = hutch_machine_new("n", NULL);
	struct hutch_error e;
	static const char *const bad[] = { "10.0.2.0", "10.0.2.1/24", "10.0.2.0/29", "10.0.0.0/7", "nat",
					   "10.0.2.0/24,fwd=x", "300.0.0.0/8", "" };
	size_t i;

	(void)state;
	assert_int_equal(hutch_nic_set_natnet(&m->nic[0], "10.0.3.0/24", &e), 0);
	assert_string_equal(m->nic[0].natnet, "10.0.3.0/24");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (hutch_nic_set_natnet(&m->nic[0], bad[i], &e) != -EINVAL)
			fail_msg("natnet '%s' accepted", bad[i]);
		assert_non_null(strstr(e.msg, "NAT network"));
	}
	assert_string_equal(m->nic[0].natnet, "10.0.3.0/24");
	assert_int_equal(hutch_nic_set_natnet(&m->nic[0], "default", &e), 0);
	assert_null(m->nic[0].natnet);
	hutch_machine_free(m);
}

static void test_defaults_validate(void **state)
{
	struct hutch_machine *m = hutch_machine_new("plain", NULL);
	struct hutch_error e;
	char *a;
	size_t alen;

	assert_int_equal(hutch_config_serialize(m, &a, &alen, &e), 0);
	assert_int_equal(validate(a, alen, "hutch-vm.xsd"), 0);
	free(a);
	assert_int_equal(hutch_machine_set_ostype(m, "Windows11_64", &e), 0);
	assert_int_equal(hutch_machine_apply_defaults(m, &e), 0);
	assert_int_equal(m->memory, 4096);
	assert_non_null(hutch_machine_find_ctl(m, "SATA"));
	assert_int_equal(hutch_config_serialize(m, &a, &alen, &e), 0);
	assert_int_equal(validate(a, alen, "hutch-vm.xsd"), 0);
	free(a);
	hutch_machine_free(m);
}

static void test_save_load_file(void **state)
{
	char dir[] = "/tmp/hutch-test-XXXXXX";
	struct hutch_machine *m = full_machine(), *back;
	struct hutch_error e;
	char *path, *tmp;

	assert_non_null(mkdtemp(dir));
	assert_true(asprintf(&path, "%s/vm.hutch", dir) > 0);
	assert_true(asprintf(&tmp, "%s.tmp", path) > 0);
	m->settings_file = strdup(path);
	assert_int_equal(hutch_config_save(m, &e), 0);
	assert_int_equal(access(tmp, F_OK), -1);	/* renamed away */
	assert_int_equal(hutch_config_load(path, &back, &e), 0);
	assert_string_equal(back->uuid, m->uuid);
	assert_string_equal(back->settings_file, path);
	hutch_machine_free(back);
	unlink(path);
	rmdir(dir);
	free(path);
	free(tmp);
	hutch_machine_free(m);
}

static void expect_parse_error(const char *xml, const char *want)
{
	struct hutch_machine *m = NULL;
	struct hutch_error e = { 0, "" };

	assert_int_not_equal(hutch_config_parse(xml, strlen(xml), "bad.hutch", &m, &e), 0);
	assert_null(m);
	if (!strstr(e.msg, want))
		fail_msg("error '%s' does not contain '%s'", e.msg, want);
}

static void test_parse_errors(void **state)
{
	static const char head[] = "<?xml version=\"1.0\"?>\n<HutchMachine version=\"1\" "
				   "uuid=\"01234567-89ab-4cde-8f01-23456789abcd\" name=\"x\" ostype=\"Other\">\n";
	char buf[1024];

	expect_parse_error("<?xml version=\"1.0\"?>\n<HutchMachine\n  <oops/>", "bad.hutch:3: malformed XML");
	expect_parse_error("<?xml version=\"1.0\"?>\n<Other/>", "bad.hutch:2: not a Hutch machine file");
	expect_parse_error("<HutchMachine version=\"9\" uuid=\"x\" name=\"x\" ostype=\"Other\"/>",
			   "settings version '9' is not supported");
	expect_parse_error("<HutchMachine version=\"1\" uuid=\"nope\" name=\"x\" ostype=\"Other\"/>",
			   "uuid attribute is not a UUID");
	snprintf(buf, sizeof(buf), "%s<Hardware memory=\"8\" cpus=\"1\"/></HutchMachine>", head);
	expect_parse_error(buf, "bad.hutch:3: <Hardware memory=\"8\">: expected at least 16");
	snprintf(buf, sizeof(buf), "%s<Hardware memory=\"lots\" cpus=\"1\"/></HutchMachine>", head);
	expect_parse_error(buf, "bad.hutch:3: <Hardware memory=\"lots\">: expected a whole number");
	snprintf(buf, sizeof(buf), "%s<Hardware memory=\"64\" cpus=\"1\">\n<Floppy/></Hardware></HutchMachine>", head);
	expect_parse_error(buf, "bad.hutch:4: unexpected element <Floppy> in <Hardware>");
	snprintf(buf, sizeof(buf), "%s<Hardware memory=\"64\"/></HutchMachine>", head);
	expect_parse_error(buf, "<Hardware> has no cpus attribute");
}

/*
 * Boot@firmware: absent (files written before it) means bios; a value
 * other than bios or efi is refused with the file and line.
 */
static void test_firmware_attribute(void **state)
{
	struct hutch_machine *m = hutch_machine_new("fw", NULL), *back;
	struct hutch_error e;
	char *xml, *p;
	size_t len;

	(void)state;
	assert_int_equal(hutch_config_serialize(m, &xml, &len, &e), 0);
	assert_non_null(strstr(xml, "<Boot firmware=\"bios\">"));
	p = strstr(xml, " firmware=\"bios\"");
	memmove(p, p + 16, strlen(p + 16) + 1);   /* an older file */
	assert_int_equal(validate(xml, strlen(xml), "hutch-vm.xsd"), 0);
	assert_int_equal(hutch_config_parse(xml, strlen(xml), "old.hutch", &back, &e), 0);
	assert_string_equal(back->firmware, "bios");
	hutch_machine_free(back);
	free(xml);
	assert_int_equal(hutch_config_serialize(m, &xml, &len, &e), 0);
	p = strstr(xml, "firmware=\"bios\"");
	memcpy(p + 10, "ebis", 4);   /* firmware="ebis" */
	assert_int_not_equal(hutch_config_parse(xml, strlen(xml), "bad.hutch", &back, &e), 0);
	assert_non_null(strstr(e.msg, "bad.hutch:"));
	assert_non_null(strstr(e.msg, "Boot@firmware: expected bios or efi"));
	free(xml);
	hutch_machine_free(m);
}

static void test_setters_ranges(void **state)
{
	struct hutch_machine *m = hutch_machine_new("r", NULL);
	struct hutch_error e;

	assert_int_equal(hutch_machine_set_memory(m, 15, &e), -ERANGE);
	assert_non_null(strstr(e.msg, "expected 16 to 1048576 MB"));
	assert_int_equal(hutch_machine_set_memory(m, 1048577, &e), -ERANGE);
	assert_int_equal(hutch_machine_set_cpus(m, 0, &e), -ERANGE);
	assert_int_equal(hutch_machine_set_cpus(m, 255, &e), -ERANGE);
	assert_int_equal(hutch_machine_set_vram(m, 257, &e), -ERANGE);
	assert_int_equal(hutch_machine_set_boot(m, 5, "dvd", &e), -EINVAL);
	assert_int_equal(hutch_machine_set_boot(m, 1, "tape", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "expected one of none, floppy, dvd, disk, net"));
	assert_int_equal(hutch_machine_set_firmware(m, "uefi", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "invalid firmware 'uefi': expected one of bios, efi"));
	assert_string_equal(m->firmware, "bios");   /* the default, untouched */
	assert_int_equal(hutch_machine_set_firmware(m, "efi64", &e), 0);
	assert_string_equal(m->firmware, "efi");
	assert_int_equal(hutch_machine_set_graphics(m, "cirrus", &e), -EINVAL);
	assert_int_equal(hutch_machine_set_ostype(m, "Amiga", &e), -EINVAL);
	assert_int_equal(hutch_machine_add_ctl(m, "c", "sata", "PIIX4", &e), -EINVAL);
	assert_int_equal(hutch_machine_add_ctl(m, "c", "tape", NULL, &e), -EINVAL);
	assert_int_equal(hutch_machine_add_ctl(m, "c", "ide", NULL, &e), 0);
	assert_int_equal(hutch_machine_add_ctl(m, "c", "sata", NULL, &e), -EEXIST);
	assert_int_equal(hutch_ctl_attach(&m->ctl[0], 2, 0, "hdd", "/x", NULL, &e), -ERANGE);
	assert_int_equal(hutch_ctl_attach(&m->ctl[0], 0, 2, "hdd", "/x", NULL, &e), -ERANGE);
	assert_int_equal(hutch_ctl_attach(&m->ctl[0], 1, 1, "hdd", "/x", NULL, &e), 0);
	assert_int_equal(hutch_ctl_attach(&m->ctl[0], 1, 1, "hdd", NULL, NULL, &e), 0);
	assert_int_equal(m->ctl[0].natt, 0);
	assert_int_equal(hutch_machine_remove_ctl(m, "c", &e), 0);
	assert_int_equal(hutch_machine_remove_ctl(m, "c", &e), -ENOENT);
	hutch_machine_free(m);
}

static void test_natpf_parse(void **state)
{
	struct hutch_natpf pf;
	struct hutch_error e;

	assert_int_equal(hutch_natpf_parse("web,TCP,,8080,,80", &pf, &e), 0);
	assert_string_equal(pf.proto, "tcp");
	assert_int_equal(pf.hostport, 8080);
	assert_string_equal(pf.hostip, "");
	hutch_natpf_clear(&pf);
	assert_int_equal(hutch_natpf_parse("web,tcp,,8080,80", &pf, &e), -EINVAL);
	assert_int_equal(hutch_natpf_parse("web,icmp,,8080,,80", &pf, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "expected tcp or udp"));
	assert_int_equal(hutch_natpf_parse("web,tcp,,0,,80", &pf, &e), -EINVAL);
	assert_int_equal(hutch_natpf_parse("web,tcp,,65536,,80", &pf, &e), -EINVAL);
	assert_int_equal(hutch_natpf_parse("web,tcp,,x,,80", &pf, &e), -EINVAL);
	/* hutch-vm's checks too: what is stored can be started. */
	assert_int_equal(hutch_natpf_parse("web,tcp,localhost,8080,,80", &pf, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "'localhost' is not an IPv4 address"));
	assert_int_equal(hutch_natpf_parse("web,tcp,,8080,10.0.2,80", &pf, &e), -EINVAL);
	assert_int_equal(hutch_natpf_parse("a-name-longer-than-sixty-three-characters-which-hutch-vm-cannot-take,tcp,,1,,2",
					   &pf, &e), -EINVAL);
	assert_int_equal(hutch_natpf_parse("ok,udp,0.0.0.0,53,10.0.2.15,53", &pf, &e), 0);
	hutch_natpf_clear(&pf);
}

static void test_value_parsers(void **state)
{
	unsigned long long v;
	bool b;
	char *p;

	assert_int_equal(hutch_parse_uint("1024", 2048, &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(hutch_parse_uint("0x3F8", 0xffff, &v), 0);
	assert_int_equal(v, 0x3f8);
	assert_int_equal(hutch_parse_uint("4096", 2048, &v), -ERANGE);
	assert_int_equal(hutch_parse_uint("-1", ~0ULL, &v), -EINVAL);
	assert_int_equal(hutch_parse_uint("12MB", ~0ULL, &v), -EINVAL);
	assert_int_equal(hutch_parse_uint("", ~0ULL, &v), -EINVAL);
	assert_int_equal(hutch_parse_uint("99999999999999999999999", ~0ULL, &v), -EINVAL);
	assert_int_equal(hutch_parse_bool("on", &b), 0);
	assert_true(b);
	assert_int_equal(hutch_parse_bool("OFF", &b), 0);
	assert_false(b);
	assert_int_equal(hutch_parse_bool("maybe", &b), -EINVAL);
	p = hutch_abspath("/a/./b//c/../d/");
	assert_string_equal(p, "/a/b/d");
	free(p);
	p = hutch_abspath("/../..");
	assert_string_equal(p, "/");
	free(p);
	assert_true(hutch_uuid_valid("01234567-89ab-4cde-8f01-23456789ABCD"));
	assert_false(hutch_uuid_valid("01234567-89ab-4cde-8f01-23456789abc"));
	assert_false(hutch_uuid_valid("01234567x89ab-4cde-8f01-23456789abcd"));
}

static void test_uuid_and_mac(void **state)
{
	char a[HUTCH_UUID_LEN + 1], b[HUTCH_UUID_LEN + 1], mac[13];

	hutch_uuid_generate(a);
	hutch_uuid_generate(b);
	assert_true(hutch_uuid_valid(a));
	assert_string_not_equal(a, b);
	assert_int_equal(a[14], '4');
	hutch_nic_random_mac(mac);
	assert_int_equal(strlen(mac), 12);
	assert_memory_equal(mac, "080027", 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_lossless),
		cmocka_unit_test(test_nic_extras_adopted),
		cmocka_unit_test(test_natnet),
		cmocka_unit_test(test_defaults_validate),
		cmocka_unit_test(test_save_load_file),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_firmware_attribute),
		cmocka_unit_test(test_setters_ranges),
		cmocka_unit_test(test_natpf_parse),
		cmocka_unit_test(test_value_parsers),
		cmocka_unit_test(test_uuid_and_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
