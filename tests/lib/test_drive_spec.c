// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The --drive spec round trip (issue 8, finding 1): what libhutch writes
 * for every kind of attachment (hutch_vm_drive_spec) parses back, with
 * hutch-vm's parser (drive_spec_parse, src/common), to the same drive,
 * format included; and what the parser accepts is written back the same.
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

#include "drive_spec.h"
#include "hutch/vm.h"

static void assert_same_drive(const struct drive_spec *got, const struct drive_spec *want, const char *spec)
{
	if ((got->file == NULL) != (want->file == NULL) || (got->file && strcmp(got->file, want->file)))
		fail_msg("%s: file '%s', expected '%s'", spec, got->file ? got->file : "(none)",
			 want->file ? want->file : "(none)");
	if ((got->format == NULL) != (want->format == NULL) || (got->format && strcmp(got->format, want->format)))
		fail_msg("%s: format '%s', expected '%s'", spec, got->format ? got->format : "(probe)",
			 want->format ? want->format : "(probe)");
	if (got->nocache != want->nocache || got->l2_cache_size != want->l2_cache_size ||
	    got->refcount_cache_size != want->refcount_cache_size)
		fail_msg("%s: nocache %d l2 %llu refcount %llu, expected nocache %d l2 %llu refcount %llu",
			 spec, got->nocache, got->l2_cache_size, got->refcount_cache_size, want->nocache,
			 want->l2_cache_size, want->refcount_cache_size);
	if (got->bus != want->bus || got->cdrom != want->cdrom || got->readonly != want->readonly ||
	    got->port != want->port)
		fail_msg("%s: bus %s cdrom %d readonly %d port %d, expected bus %s cdrom %d readonly %d port %d",
			 spec, drive_bus_name(got->bus), got->cdrom, got->readonly, got->port,
			 drive_bus_name(want->bus), want->cdrom, want->readonly, want->port);
}

/*
 * Attach (type, medium) at port/device of a bus-controller with the host
 * I/O cache on or off; check the spec libhutch writes.
 */
static void check_attachment_cache(const char *bus, const char *type, unsigned port, unsigned device,
				   const char *medium, const char *registry_format,
				   const struct drive_spec *want, bool hostiocache)
{
	struct hutch_storagectl c = { .name = "C", .bus = (char *)bus, .portcount = 30,
				      .hostiocache = hostiocache };
	struct hutch_attachment a = { .port = port, .device = device, .type = (char *)type,
				      .medium = (char *)medium };
	char *spec = hutch_vm_drive_spec(&c, &a, registry_format), err[256] = "", *again;
	struct drive_spec d;

	assert_non_null(spec);
	if (drive_spec_parse(spec, &d, err, sizeof(err)))
		fail_msg("libhutch wrote '%s', which hutch-vm refuses: %s", spec, err);
	assert_same_drive(&d, want, spec);
	/* And the writer is the parser's inverse. */
	again = drive_spec_format(&d);
	assert_non_null(again);
	assert_string_equal(again, spec);
	free(again);
	drive_spec_free(&d);
	free(spec);
}

/* Both cache settings: off means O_DIRECT for disks, nothing for CD/DVDs. */
static void check_attachment(const char *bus, const char *type, unsigned port, unsigned device,
			     const char *medium, const char *registry_format, const struct drive_spec *want)
{
	struct drive_spec w = *want;

	w.nocache = false;
	check_attachment_cache(bus, type, port, device, medium, registry_format, &w, true);
	w.nocache = !want->cdrom;
	check_attachment_cache(bus, type, port, device, medium, registry_format, &w, false);
}

static void test_every_attachment_round_trips(void **state)
{
	static const char *const paths[] = {
		"/vms/a.vdi", "/vms/with,comma/and,,two.img", "/vms/key=value,file=/etc/passwd.img",
		"/vms/space and ünïcode.qcow2",
	};
	static const struct {
		const char *registry, *spec;
	} formats[] = { { "RAW", "raw" }, { "VDI", "vdi" }, { "qcow2", "qcow2" }, { "VMDK", "vmdk" },
			{ "raw", "raw" } };
	size_t p, f;
	unsigned port, dev;

	(void)state;
	for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		for (f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
			const char *fp = paths[p];
			struct drive_spec want = { .file = (char *)fp, .format = (char *)formats[f].spec };

			/* SATA: a disk or a DVD drive on each port. */
			for (port = 0; port < 30; port += 29) {
				want.bus = DRIVE_BUS_SATA, want.port = (int)port;
				want.cdrom = want.readonly = false;
				check_attachment("sata", "hdd", port, 0, fp, formats[f].registry, &want);
				want.cdrom = want.readonly = true;
				check_attachment("sata", "dvddrive", port, 0, fp, formats[f].registry, &want);
			}
			/* IDE: VirtualBox's channel and master/slave become one position. */
			for (port = 0; port < 2; port++) {
				for (dev = 0; dev < 2; dev++) {
					want.bus = DRIVE_BUS_IDE, want.port = (int)(port * 2 + dev);
					want.cdrom = want.readonly = false;
					check_attachment("ide", "hdd", port, dev, fp, formats[f].registry, &want);
					want.cdrom = want.readonly = true;
					check_attachment("ide", "dvddrive", port, dev, fp, formats[f].registry, &want);
				}
			}
			/* virtio: one device per disk, no port. */
			want.bus = DRIVE_BUS_VIRTIO, want.port = -1;
			want.cdrom = want.readonly = false;
			check_attachment("virtio", "hdd", 0, 0, fp, formats[f].registry, &want);
		}
	}
	/* Empty DVD drives: no file, no format. */
	{
		struct drive_spec want = { .bus = DRIVE_BUS_SATA, .cdrom = true, .readonly = true, .port = 5 };

		check_attachment("sata", "dvddrive", 5, 0, "emptydrive", NULL, &want);
		want.bus = DRIVE_BUS_IDE, want.port = 3;
		check_attachment("ide", "dvddrive", 1, 1, "emptydrive", NULL, &want);
	}
}

static void test_no_spec_without_a_known_format(void **state)
{
	struct hutch_storagectl sata = { .name = "S", .bus = "sata" }, scsi = { .name = "X", .bus = "scsi" };
	struct hutch_attachment disk = { .type = "hdd", .medium = "/a.img" };
	struct hutch_attachment fdd = { .type = "fdd", .medium = "/f.img" };

	(void)state;
	/* No format: hutch-vm would have to probe, so libhutch writes nothing. */
	assert_null(hutch_vm_drive_spec(&sata, &disk, NULL));
	assert_null(hutch_vm_drive_spec(&sata, &disk, "VHD"));
	/* Not attachable yet. */
	assert_null(hutch_vm_drive_spec(&scsi, &disk, "RAW"));
	assert_null(hutch_vm_drive_spec(&sata, &fdd, "RAW"));
}

static void test_parsed_specs_are_written_back(void **state)
{
	static const char *const specs[] = {
		"file=/img/a.qcow2",
		"if=ide,port=3,media=cdrom,readonly=on,format=raw,file=/x.iso",
		"media=cdrom",
		"file=/a,,b.img,if=sata",
		"file=/d.vdi,format=vdi,if=sata,port=7,readonly=on",
		"file=/e.qcow2,hostcache=off,l2-cache-size=4194304,refcount-cache-size=262144",
		"file=/f.qcow2,hostcache=on,l2-cache-size=65536",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct drive_spec a, b;
		char err[256] = "", *s;

		assert_int_equal(drive_spec_parse(specs[i], &a, err, sizeof(err)), 0);
		s = drive_spec_format(&a);
		assert_non_null(s);
		if (drive_spec_parse(s, &b, err, sizeof(err)))
			fail_msg("'%s' written as '%s', refused: %s", specs[i], s, err);
		assert_same_drive(&b, &a, s);
		drive_spec_free(&a);
		drive_spec_free(&b);
		free(s);
	}
}

static void test_format_names(void **state)
{
	(void)state;
	assert_string_equal(drive_format_name("RAW"), "raw");
	assert_string_equal(drive_format_name("VDI"), "vdi");
	assert_string_equal(drive_format_name("QCOW2"), "qcow2");
	assert_string_equal(drive_format_name("vmdk"), "vmdk");
	assert_null(drive_format_name("vhd"));
	assert_null(drive_format_name(NULL));
	assert_null(drive_format_name(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_attachment_round_trips),
		cmocka_unit_test(test_no_spec_without_a_known_format),
		cmocka_unit_test(test_parsed_specs_are_written_back),
		cmocka_unit_test(test_format_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
