// SPDX-License-Identifier: GPL-2.0-or-later
/* The port-I/O / MMIO bus: registration rules and dispatch by offset. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bus.h"
#include "device.h"

/* What the test handler saw last. */
struct probe {
	unsigned int reads, writes;
	uint64_t offset, value;
	unsigned int size;
	int lock_held;   /* the device lock was held around the handler */
};

static struct probe probe;

static uint64_t probe_read(struct device *dev, uint64_t offset, unsigned int size)
{
	probe.reads++;
	probe.offset = offset;
	probe.size = size;
	probe.lock_held = pthread_mutex_trylock(&dev->lock) == EBUSY;
	return 0x1122334455667788ULL >> (8 * (8 - size)) & (size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1);
}

static void probe_write(struct device *dev, uint64_t offset, uint64_t value, unsigned int size)
{
	probe.writes++;
	probe.offset = offset;
	probe.value = value;
	probe.size = size;
	probe.lock_held = pthread_mutex_trylock(&dev->lock) == EBUSY;
}

static const struct io_region_ops probe_ops = { probe_read, probe_write };

struct fixture {
	struct bus bus;
	struct device dev;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	memset(&probe, 0, sizeof(probe));
	bus_init(&f.bus, "test");
	pthread_mutex_init(&f.dev.lock, NULL);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bus_destroy(&f->bus);
	pthread_mutex_destroy(&f->dev.lock);
	return 0;
}

static void test_overlap_refused(void **state)
{
	struct fixture *f = *state;
	struct bus *b = &f->bus;

	assert_int_equal(bus_register(b, 0x100, 8, &probe_ops, &f->dev, "a"), 0);
	assert_int_equal(bus_register(b, 0x104, 8, &probe_ops, &f->dev, "b"), -EEXIST);
	assert_int_equal(bus_register(b, 0xf8, 9, &probe_ops, &f->dev, "c"), -EEXIST);
	assert_int_equal(bus_register(b, 0x107, 1, &probe_ops, &f->dev, "d"), -EEXIST);
	assert_int_equal(bus_register(b, 0x0, 0x1000, &probe_ops, &f->dev, "e"), -EEXIST);
	/* Neighbours on both sides are fine. */
	assert_int_equal(bus_register(b, 0x108, 8, &probe_ops, &f->dev, "f"), 0);
	assert_int_equal(bus_register(b, 0xf8, 8, &probe_ops, &f->dev, "g"), 0);
	assert_int_equal(b->nr, 3);
	/* Sorted by base. */
	assert_true(b->regions[0].base == 0xf8 && b->regions[1].base == 0x100 &&
		    b->regions[2].base == 0x108);
	/* After unregistering, the range is free again. */
	assert_int_equal(bus_unregister(b, 0x100), 0);
	assert_int_equal(bus_unregister(b, 0x100), -ENOENT);
	assert_int_equal(bus_register(b, 0x100, 8, &probe_ops, &f->dev, "h"), 0);
}

static void test_wrap_and_empty_refused(void **state)
{
	struct fixture *f = *state;
	struct bus *b = &f->bus;

	assert_int_equal(bus_register(b, UINT64_MAX - 3, 8, &probe_ops, &f->dev, "w"), -EINVAL);
	assert_int_equal(bus_register(b, 2, UINT64_MAX, &probe_ops, &f->dev, "w"), -EINVAL);
	assert_int_equal(bus_register(b, 0x10, 0, &probe_ops, &f->dev, "z"), -EINVAL);
	assert_int_equal(bus_register(b, 0x10, 4, NULL, &f->dev, "n"), -EINVAL);
	assert_int_equal(b->nr, 0);
	/* The very last byte of the space is a valid region. */
	assert_int_equal(bus_register(b, UINT64_MAX, 1, &probe_ops, &f->dev, "top"), 0);
	assert_int_equal(bus_register(b, UINT64_MAX - 7, 8, &probe_ops, &f->dev, "top2"), -EEXIST);
}

static void test_dispatch_by_offset(void **state)
{
	struct fixture *f = *state;
	struct bus *b = &f->bus;
	uint32_t v32 = 0;
	uint16_t v16 = 0;
	uint8_t v8 = 0;

	assert_int_equal(bus_register(b, 0x3f8, 8, &probe_ops, &f->dev, "uart"), 0);
	assert_int_equal(bus_register(b, 0x400, 16, &probe_ops, &f->dev, "other"), 0);

	assert_true(bus_read(b, 0x3fb, &v8, 1));
	assert_int_equal(probe.offset, 3);
	assert_int_equal(probe.size, 1);
	assert_int_equal(v8, 0x11);
	assert_true(probe.lock_held);

	assert_true(bus_read(b, 0x40c, &v32, 4));
	assert_int_equal(probe.offset, 0xc);
	assert_int_equal(probe.size, 4);
	assert_int_equal(v32, 0x11223344);

	v16 = 0xbeef;
	assert_true(bus_write(b, 0x3fe, &v16, 2));
	assert_int_equal(probe.offset, 6);
	assert_int_equal(probe.size, 2);
	assert_int_equal(probe.value, 0xbeef);
	assert_true(probe.lock_held);
	assert_int_equal(probe.reads, 2);
	assert_int_equal(probe.writes, 1);
	/* The lock is released after the handler. */
	assert_int_equal(pthread_mutex_trylock(&f->dev.lock), 0);
	pthread_mutex_unlock(&f->dev.lock);
}

static void test_unhandled_reads_all_ones(void **state)
{
	struct fixture *f = *state;
	struct bus *b = &f->bus;
	uint32_t v32 = 0;
	uint64_t v64 = 0;
	uint8_t v8 = 0;

	assert_int_equal(bus_register(b, 0x60, 1, &probe_ops, &f->dev, "kbd"), 0);
	assert_false(bus_read(b, 0x61, &v8, 1));
	assert_int_equal(v8, 0xff);
	assert_false(bus_read(b, 0x1000, &v32, 4));
	assert_int_equal(v32, 0xffffffff);
	assert_false(bus_read(b, 0x0, &v64, 8));
	assert_int_equal(v64, UINT64_MAX);
	v32 = 0x12345678;
	assert_false(bus_write(b, 0x62, &v32, 4));
	assert_int_equal(b->unhandled, 4);
	assert_int_equal(probe.reads + probe.writes, 0);
}

static void test_straddling_access_not_delivered(void **state)
{
	struct fixture *f = *state;
	struct bus *b = &f->bus;
	uint32_t v32 = 0;
	uint16_t v16 = 0;

	assert_int_equal(bus_register(b, 0x100, 4, &probe_ops, &f->dev, "r"), 0);
	assert_int_equal(bus_register(b, 0x104, 4, &probe_ops, &f->dev, "s"), 0);
	/* Starts in "r", ends in "s": neither sees it. */
	assert_false(bus_read(b, 0x102, &v32, 4));
	assert_int_equal(v32, 0xffffffff);
	assert_false(bus_write(b, 0x103, &v16, 2));
	/* Starts before the region. */
	assert_false(bus_read(b, 0xff, &v16, 2));
	/* Longer than the region. */
	uint64_t v64;
	assert_false(bus_read(b, 0x100, &v64, 8));
	assert_int_equal(probe.reads + probe.writes, 0);
	/* The last bytes of a region are fine. */
	assert_true(bus_read(b, 0x102, &v16, 2));
	assert_int_equal(probe.offset, 2);
	/* Bad sizes never reach a handler. */
	assert_false(bus_read(b, 0x100, &v32, 0));
	assert_int_equal(probe.reads, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_overlap_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_and_empty_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_by_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unhandled_reads_all_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_straddling_access_not_delivered, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
