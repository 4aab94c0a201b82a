// SPDX-License-Identifier: GPL-2.0-or-later
/* Guest memory: bounds of gm_slice (no wrap-around) and copies across regions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guest_mem.h"

#define TOP_GPA (UINT64_MAX - 0x1fff)   /* last region ends 4 KiB below 2^64 */

struct fixture {
	struct guest_mem gm;
	uint8_t low[0x1000], mid[0x1000], far[0x100], top[0x1000];
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	/* low and mid are adjacent; far is separated by a hole. */
	assert_int_equal(gm_add_region(&f.gm, 0x0, sizeof(f.low), f.low), 0);
	assert_int_equal(gm_add_region(&f.gm, 0x1000, sizeof(f.mid), f.mid), 0);
	assert_int_equal(gm_add_region(&f.gm, 0x10000, sizeof(f.far), f.far), 0);
	assert_int_equal(gm_add_region(&f.gm, TOP_GPA, sizeof(f.top), f.top), 0);
	*state = &f;
	return 0;
}

static void test_add_region_rules(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[16];

	assert_int_equal(gm_add_region(&f->gm, 0x800, 0x1000, buf), -EINVAL);   /* overlap */
	assert_int_equal(gm_add_region(&f->gm, 0x100ff, 2, buf), -EINVAL);     /* overlap at end */
	assert_int_equal(gm_add_region(&f->gm, 0x20000, 0, buf), -EINVAL);     /* empty */
	assert_int_equal(gm_add_region(&f->gm, 0x20000, 16, NULL), -EINVAL);   /* no mapping */
	assert_int_equal(gm_add_region(&f->gm, UINT64_MAX - 7, 16, buf), -EINVAL); /* wraps */
	for (unsigned int i = f->gm.nr_regions; i < GM_MAX_REGIONS; i++)
		assert_int_equal(gm_add_region(&f->gm, 0x100000 * (i + 1), 16, buf), 0);
	assert_int_equal(gm_add_region(&f->gm, 0x40000000, 16, buf), -ENOSPC);
	assert_int_equal(gm_total_size(&f->gm),
			 0x1000 + 0x1000 + 0x100 + 0x1000 + 16 * (GM_MAX_REGIONS - 4));
}

static void test_slice_bounds(void **state)
{
	struct fixture *f = *state;
	const struct guest_mem *gm = &f->gm;

	assert_ptr_equal(gm_slice(gm, 0x0, 0x1000), f->low);
	assert_ptr_equal(gm_slice(gm, 0x10, 0x10), f->low + 0x10);
	assert_ptr_equal(gm_slice(gm, 0xfff, 1), f->low + 0xfff);
	assert_ptr_equal(gm_slice(gm, 0x1800, 0x800), f->mid + 0x800);
	assert_ptr_equal(gm_slice(gm, 0x100ff, 1), f->far + 0xff);
	/* One byte too many, or outside RAM. */
	assert_null(gm_slice(gm, 0x10000, 0x101));
	assert_null(gm_slice(gm, 0x10100, 1));
	assert_null(gm_slice(gm, 0x5000, 1));
	/* Adjacent regions are separate mappings: a slice may not span them. */
	assert_null(gm_slice(gm, 0xff0, 0x20));
	/* Zero length is refused. */
	assert_null(gm_slice(gm, 0x10, 0));
}

static void test_slice_no_wraparound(void **state)
{
	struct fixture *f = *state;
	const struct guest_mem *gm = &f->gm;
	uint64_t top_end = TOP_GPA + 0x1000;   /* one past the last byte */

	assert_ptr_equal(gm_slice(gm, top_end - 0x10, 0x10), f->top + 0xff0);
	assert_null(gm_slice(gm, top_end - 0x10, 0x11));
	/* gpa + len wraps to a small number that would pass a naive end check. */
	assert_null(gm_slice(gm, top_end - 0x10, UINT64_MAX));
	assert_null(gm_slice(gm, 0x10, UINT64_MAX));
	assert_null(gm_slice(gm, 0x10, UINT64_MAX - 0xf));   /* 0x10 + len == 0 */
	assert_null(gm_slice(gm, UINT64_MAX, 1));
	assert_null(gm_slice(gm, UINT64_MAX, 2));
	assert_null(gm_slice(gm, TOP_GPA, UINT64_MAX - TOP_GPA + 2));
}

static void test_read_write_across_regions(void **state)
{
	struct fixture *f = *state;
	uint8_t in[0x40], out[0x40];

	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(0xa0 + i);
	/* 0x20 bytes at the end of low, 0x20 at the start of mid. */
	assert_int_equal(gm_write(&f->gm, 0xfe0, in, sizeof(in)), 0);
	assert_memory_equal(f->low + 0xfe0, in, 0x20);
	assert_memory_equal(f->mid, in + 0x20, 0x20);
	memset(out, 0, sizeof(out));
	assert_int_equal(gm_read(&f->gm, 0xfe0, out, sizeof(out)), 0);
	assert_memory_equal(out, in, sizeof(out));
	/* From mid into the hole: refused, and nothing is copied either way. */
	memset(out, 0x5a, sizeof(out));
	assert_int_equal(gm_read(&f->gm, 0x1fe0, out, sizeof(out)), -EFAULT);
	for (unsigned int i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x5a);
	assert_int_equal(gm_write(&f->gm, 0x1fe0, in, sizeof(in)), -EFAULT);
	for (unsigned int i = 0xfe0; i < 0x1000; i++)
		assert_int_equal(f->mid[i], 0);
	/* Entirely outside RAM. */
	assert_int_equal(gm_read(&f->gm, 0x8000, out, 1), -EFAULT);
}

static void test_read_write_wraparound(void **state)
{
	struct fixture *f = *state;
	uint64_t top_end = TOP_GPA + 0x1000;
	uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	assert_int_equal(gm_write(&f->gm, top_end - 8, buf, 8), 0);
	assert_memory_equal(f->top + 0xff8, buf, 8);
	assert_int_equal(gm_write(&f->gm, top_end - 4, buf, 8), -EFAULT);
	assert_int_equal(gm_read(&f->gm, UINT64_MAX - 3, buf, 8), -EFAULT);
	/* A length that wraps back into low RAM. */
	assert_int_equal(gm_read(&f->gm, top_end - 8, buf, UINT64_MAX), -EFAULT);
	assert_int_equal(f->low[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_add_region_rules, setup),
		cmocka_unit_test_setup(test_slice_bounds, setup),
		cmocka_unit_test_setup(test_slice_no_wraparound, setup),
		cmocka_unit_test_setup(test_read_write_across_regions, setup),
		cmocka_unit_test_setup(test_read_write_wraparound, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
