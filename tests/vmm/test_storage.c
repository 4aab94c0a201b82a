// SPDX-License-Identifier: GPL-2.0-or-later
/* hutch-vm's --drive specs: what each key means, defaults, and refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "storage.h"

static void test_disk_defaults_to_virtio(void **state)
{
	struct drive_spec d;
	char err[256] = "";

	(void)state;
	assert_int_equal(drive_spec_parse("file=/img/a.qcow2", &d, err, sizeof(err)), 0);
	assert_string_equal(d.file, "/img/a.qcow2");
	assert_null(d.format);
	assert_int_equal(d.bus, DRIVE_BUS_VIRTIO);
	assert_false(d.cdrom);
	assert_false(d.readonly);
	assert_int_equal(d.port, -1);
	drive_spec_free(&d);
}

static void test_all_keys(void **state)
{
	struct drive_spec d;
	char err[256] = "";

	(void)state;
	assert_int_equal(drive_spec_parse("if=ide,port=3,media=cdrom,readonly=on,format=raw,file=/x.iso",
					  &d, err, sizeof(err)), 0);
	assert_string_equal(d.file, "/x.iso");
	assert_string_equal(d.format, "raw");
	assert_int_equal(d.bus, DRIVE_BUS_IDE);
	assert_true(d.cdrom);
	assert_true(d.readonly);
	assert_int_equal(d.port, 3);
	drive_spec_free(&d);
}

static void test_empty_cdrom_goes_on_sata(void **state)
{
	struct drive_spec d;
	char err[256] = "";

	(void)state;
	assert_int_equal(drive_spec_parse("media=cdrom", &d, err, sizeof(err)), 0);
	assert_null(d.file);
	assert_int_equal(d.bus, DRIVE_BUS_SATA);
	assert_true(d.cdrom);
	drive_spec_free(&d);
}

static void test_double_comma_is_a_comma(void **state)
{
	struct drive_spec d;
	char err[256] = "";

	(void)state;
	assert_int_equal(drive_spec_parse("file=/a,,b.img,if=sata", &d, err, sizeof(err)), 0);
	assert_string_equal(d.file, "/a,b.img");
	assert_int_equal(d.bus, DRIVE_BUS_SATA);
	drive_spec_free(&d);
}

static void expect_refused(const char *spec, const char *words)
{
	struct drive_spec d;
	char err[256] = "";

	assert_int_equal(drive_spec_parse(spec, &d, err, sizeof(err)), -EINVAL);
	if (!strstr(err, words))
		fail_msg("'%s': error '%s' does not mention '%s'", spec, err, words);
	assert_null(d.file);
	assert_null(d.format);
}

static void test_refusals(void **state)
{
	(void)state;
	expect_refused("", "needs file=");
	expect_refused("if=sata", "needs file=");
	expect_refused("file=/a,format=vhd", "format=vhd");
	expect_refused("file=/a,if=scsi", "if=scsi");
	expect_refused("file=/a,media=tape", "media=tape");
	expect_refused("file=/a,readonly=maybe", "readonly=maybe");
	expect_refused("file=/a,port=-1,if=sata", "port=-1");
	expect_refused("file=/a,port=30,if=sata", "port=30");
	expect_refused("file=/a,port=x,if=sata", "port=x");
	expect_refused("file=/a,port=4,if=ide", "ide has ports 0 to 3");
	expect_refused("file=/a,port=0", "port= is for sata and ide");
	expect_refused("file=/a.iso,media=cdrom,if=virtio", "not virtio");
	expect_refused("file=/a,colour=blue", "unknown key 'colour'");
	expect_refused("file=/a,justaword", "not KEY=VALUE");
	expect_refused("file=/a,hostcache=sometimes", "hostcache=sometimes");
	expect_refused("file=/a.iso,media=cdrom,hostcache=off", "for disks");
	expect_refused("file=/a,l2-cache-size=-1", "l2-cache-size=-1");
	expect_refused("file=/a,l2-cache-size=1M", "l2-cache-size=1M");
	expect_refused("file=/a,refcount-cache-size=99999999999", "refcount-cache-size=99999999999");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_defaults_to_virtio),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_empty_cdrom_goes_on_sata),
		cmocka_unit_test(test_double_comma_is_a_comma),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
