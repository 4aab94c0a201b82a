// SPDX-License-Identifier: GPL-2.0-or-later
/* Save-state streams: round trips, byte order, and short streams failing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "block.h"
#include "devices.h"
#include "fake_machine.h"
#include "fake_net.h"
#include "savestate.h"

static void test_round_trip(void **state)
{
	struct sv_writer w;
	struct sv_reader r;
	uint8_t blob[300], back[300];

	for (unsigned int i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);
	sv_writer_init(&w);
	sv_put_u8(&w, 0xab);
	sv_put_u16(&w, 0x1234);
	sv_put_u32(&w, 0xdeadbeef);
	sv_put_u64(&w, 0x0102030405060708ULL);
	sv_put_bytes(&w, blob, sizeof(blob));   /* forces the buffer to grow */
	assert_false(w.failed);
	assert_int_equal(w.len, 1 + 2 + 4 + 8 + sizeof(blob));
	/* Little-endian whatever the host. */
	assert_int_equal(w.buf[1], 0x34);
	assert_int_equal(w.buf[2], 0x12);
	assert_int_equal(w.buf[7], 0x08);
	assert_int_equal(w.buf[14], 0x01);

	sv_reader_init(&r, w.buf, w.len);
	assert_int_equal(sv_get_u8(&r), 0xab);
	assert_int_equal(sv_get_u16(&r), 0x1234);
	assert_int_equal(sv_get_u32(&r), 0xdeadbeef);
	assert_int_equal(sv_get_u64(&r), 0x0102030405060708ULL);
	assert_false(sv_reader_ok(&r, true));   /* blob not read yet */
	assert_true(sv_reader_ok(&r, false));
	sv_get_bytes(&r, back, sizeof(back));
	assert_memory_equal(back, blob, sizeof(blob));
	assert_true(sv_reader_ok(&r, true));
	sv_writer_free(&w);
	assert_null(w.buf);
}

static void test_short_stream_fails(void **state)
{
	const uint8_t three[3] = { 1, 2, 3 };
	struct sv_reader r;
	uint8_t buf[4] = { 9, 9, 9, 9 };

	sv_reader_init(&r, three, sizeof(three));
	assert_int_equal(sv_get_u16(&r), 0x0201);
	assert_int_equal(sv_get_u16(&r), 0);    /* only one byte left */
	assert_false(sv_reader_ok(&r, false));
	/* Once failed, every later get fails too, even one that would fit. */
	assert_int_equal(sv_get_u8(&r), 0);
	assert_false(sv_reader_ok(&r, false));

	sv_reader_init(&r, three, sizeof(three));
	sv_get_bytes(&r, buf, 4);
	assert_false(sv_reader_ok(&r, false));
	assert_int_equal(buf[0], 0);   /* a failed get yields zeroes, not stale data */

	sv_reader_init(&r, NULL, 0);
	assert_int_equal(sv_get_u64(&r), 0);
	assert_false(sv_reader_ok(&r, false));
}

/*
 * Every model refuses a truncated or over-long stream, and a newer
 * version.  A model that cannot exist without a disk (virtio-blk) gets
 * one small raw image; a NIC (virtio-net) a recording network back end.
 */
static void test_models_refuse_bad_streams(void **state)
{
	const char *t = getenv("TMPDIR");
	struct blk_create_opts o = { .format = "raw", .size = 1 << 20 };
	struct drive_args drive = { 0 };
	struct device_args with_disk = { .out_fd = -1, .in_fd = -1, .drives = &drive, .nr_drives = 1 };
	char dir[64], path[96], err[BLK_ERR_MAX];

	snprintf(dir, sizeof(dir), "%s/hutch-sv-XXXXXX", t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/disk.raw", dir);
	assert_int_equal(blk_create(path, &o, err, sizeof(err)), 0);
	assert_int_equal(blk_open(path, "raw", 0, &drive.img, err, sizeof(err)), 0);

	for (unsigned int i = 0; device_models[i]; i++) {
		const struct device_model *m = device_models[i];
		struct fake_machine fm;
		struct sv_writer w;
		struct sv_reader r;
		struct device *dev;
		struct fake_net *fn = NULL;

		assert_int_equal(fake_machine_init(&fm, 0), 0);
		dev = fake_device_create(&fm, m, NULL);
		if (!dev)
			dev = fake_device_create(&fm, m, &with_disk);
		if (!dev) {
			struct device_args with_net = { .out_fd = -1, .in_fd = -1, .mac = { 2 } };

			fn = fake_net_new(&fm, true);
			with_net.net = fn->nb;
			dev = fake_device_create(&fm, m, &with_net);
		}
		assert_non_null(dev);
		assert_int_equal(fake_save(dev, &w), 0);
		assert_true(w.len > 0);
		/* Intact: loads. */
		assert_int_equal(fake_load(dev, &w), 0);
		/* Truncated by one byte. */
		sv_reader_init(&r, w.buf, w.len - 1);
		assert_int_equal(device_load(dev, &r, m->state_version), -EINVAL);
		/* One byte too many. */
		sv_put_u8(&w, 0);
		sv_reader_init(&r, w.buf, w.len);
		assert_int_equal(device_load(dev, &r, m->state_version), -EINVAL);
		/* Written by a newer version. */
		sv_reader_init(&r, w.buf, w.len - 1);
		assert_int_equal(device_load(dev, &r, m->state_version + 1), -EINVAL);
		sv_writer_free(&w);
		device_destroy(dev);
		fake_net_free(fn);
		assert_int_equal(fm.pio.nr, 0);   /* destroy dropped every region */
		assert_int_equal(fm.mmio.nr, 0);
		fake_machine_destroy(&fm);
	}
	blk_close(drive.img);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_short_stream_fails),
		cmocka_unit_test(test_models_refuse_bad_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
