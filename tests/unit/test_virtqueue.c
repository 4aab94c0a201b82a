// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Split virtqueues on the fake machine's RAM: chains as a driver builds
 * them, and the malformed ones a hostile or buggy driver could build.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_machine.h"
#include "virtqueue.h"

#define RAM_SIZE   (1u << 20)
#define QSIZE      16
#define DESC_GPA   0x1000
#define AVAIL_GPA  0x2000
#define USED_GPA   0x3000
#define BUF_GPA    0x10000
#define TABLE_GPA  0x8000
#define ALL_FEATURES ((1ULL << VIRTIO_F_INDIRECT_DESC) | (1ULL << VIRTIO_F_EVENT_IDX))

struct fixture {
	struct fake_machine fm;
	struct virtqueue vq;
	struct vq_seg segs[64];
	struct vq_req req;
	uint16_t avail_idx;   /* the driver's shadow */
};

static void put16(struct fixture *f, uint64_t gpa, uint16_t v)
{
	memcpy(f->fm.ram + gpa, &v, 2);
}

static uint16_t get16(struct fixture *f, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, f->fm.ram + gpa, 2);
	return v;
}

static uint32_t get32(struct fixture *f, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, f->fm.ram + gpa, 4);
	return v;
}

/* Write descriptor @i of the table at @table. */
static void set_desc(struct fixture *f, uint64_t table, unsigned int i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = f->fm.ram + table + 16u * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Offer the chain starting at @head, as a driver does. */
static void make_avail(struct fixture *f, uint16_t head)
{
	put16(f, AVAIL_GPA + 4 + 2u * (f->avail_idx % f->vq.size), head);
	f->avail_idx++;
	put16(f, AVAIL_GPA + 2, f->avail_idx);
}

static int start(struct fixture *f, uint64_t features)
{
	f->vq.desc_gpa = DESC_GPA;
	f->vq.avail_gpa = AVAIL_GPA;
	f->vq.used_gpa = USED_GPA;
	return vq_start(&f->vq, &f->fm.mem, features);
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(fake_machine_init(&f.fm, RAM_SIZE), 0);
	vq_init(&f.vq, QSIZE);
	vq_req_init(&f.req, f.segs, 64);
	assert_int_equal(start(&f, ALL_FEATURES), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fake_machine_destroy(&f->fm);
	return 0;
}

static void test_reset_state(void **state)
{
	struct virtqueue vq;

	(void)state;
	vq_init(&vq, 256);
	assert_int_equal(vq.size, 256);
	assert_int_equal(vq.max_size, 256);
	assert_int_equal(vq.msix_vector, VIRTIO_NO_VECTOR);
	assert_false(vq.enabled);
	assert_false(vq.started);
	assert_int_equal(vq_pop(&vq, NULL), 0);  /* not started: nothing, no crash */
}

static void test_empty_ring(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vq_pop(&f->vq, &f->req), 0);
	/* With EVENT_IDX the device asks to be told about slot 0. */
	assert_int_equal(get16(f, USED_GPA + 4 + 8 * QSIZE), 0);
}

static void test_simple_chain(void **state)
{
	struct fixture *f = *state;
	struct vq_iter it;
	uint8_t hdr[16], st = 0x5a;

	memcpy(f->fm.ram + BUF_GPA, "0123456789abcdef", 16);
	set_desc(f, DESC_GPA, 3, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 7);
	set_desc(f, DESC_GPA, 7, BUF_GPA + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 9);
	set_desc(f, DESC_GPA, 9, BUF_GPA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	make_avail(f, 3);

	assert_int_equal(vq_pop(&f->vq, &f->req), 1);
	assert_int_equal(f->req.head, 3);
	assert_int_equal(f->req.nr_out, 1);
	assert_int_equal(f->req.nr_in, 2);
	assert_int_equal(f->req.out_len, 16);
	assert_int_equal(f->req.in_len, 513);
	assert_ptr_equal(f->req.segs[0].p, f->fm.ram + BUF_GPA);
	assert_ptr_equal(f->req.segs[2].p, f->fm.ram + BUF_GPA + 0x400);

	vq_iter_out(&it, &f->req);
	assert_int_equal(vq_iter_read(&it, hdr, sizeof(hdr)), 16);
	assert_memory_equal(hdr, "0123456789abcdef", 16);
	assert_int_equal(vq_iter_read(&it, hdr, 1), 0);   /* the end */

	vq_iter_in(&it, &f->req);
	assert_int_equal(vq_iter_skip(&it, 512), 512);
	assert_int_equal(vq_iter_write(&it, &st, 1), 1);
	assert_int_equal(f->fm.ram[BUF_GPA + 0x400], 0x5a);

	assert_int_equal(vq_pop(&f->vq, &f->req), 0);
	vq_push(&f->vq, 3, 513);
	assert_int_equal(get16(f, USED_GPA + 2), 1);
	assert_int_equal(get32(f, USED_GPA + 4), 3);
	assert_int_equal(get32(f, USED_GPA + 8), 513);
}

static void test_iter_across_segments(void **state)
{
	struct fixture *f = *state;
	struct vq_iter it;
	uint8_t buf[10];
	uint8_t *p;

	memcpy(f->fm.ram + BUF_GPA, "abc", 3);
	memcpy(f->fm.ram + BUF_GPA + 0x100, "defgh", 5);
	set_desc(f, DESC_GPA, 0, BUF_GPA, 3, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, DESC_GPA, 1, BUF_GPA + 0x100, 5, 0, 0);
	make_avail(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->req), 1);

	vq_iter_out(&it, &f->req);
	assert_int_equal(it.left, 8);
	assert_int_equal(vq_iter_skip(&it, 2), 2);
	assert_int_equal(vq_iter_next(&it, 100, &p), 1);   /* the rest of segment 0 */
	assert_int_equal(*p, 'c');
	assert_int_equal(vq_iter_read(&it, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "defgh", 5);
	assert_int_equal(it.left, 0);
}

static void test_indirect_chain(void **state)
{
	struct fixture *f = *state;

	set_desc(f, TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	set_desc(f, TABLE_GPA, 2, BUF_GPA + 0x100, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set_desc(f, TABLE_GPA, 1, BUF_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	set_desc(f, DESC_GPA, 5, TABLE_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(f, 5);

	assert_int_equal(vq_pop(&f->vq, &f->req), 1);
	assert_int_equal(f->req.head, 5);
	assert_int_equal(f->req.nr_out, 1);
	assert_int_equal(f->req.nr_in, 2);
	assert_int_equal(f->req.in_len, 4097);
}

/* A direct prefix may end in an indirect table (2.7.5.3.1 only forbids NEXT on it). */
static void test_direct_then_indirect(void **state)
{
	struct fixture *f = *state;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, DESC_GPA, 1, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(f, TABLE_GPA, 0, BUF_GPA + 0x100, 1, VIRTQ_DESC_F_WRITE, 0);
	make_avail(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->req), 1);
	assert_int_equal(f->req.nr_out, 1);
	assert_int_equal(f->req.nr_in, 1);
}

/* Pop one chain that must be refused; the reason must mention @why. */
static void expect_bad(struct fixture *f, uint16_t head, const char *why)
{
	make_avail(f, head);
	assert_int_equal(vq_pop(&f->vq, &f->req), -EPROTO);
	assert_non_null(f->vq.error);
	assert_non_null(strstr(f->vq.error, why));
}

static void test_loop(void **state)
{
	struct fixture *f = *state;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, DESC_GPA, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	expect_bad(f, 0, "loop");
}

static void test_self_loop(void **state)
{
	struct fixture *f = *state;

	set_desc(f, DESC_GPA, 4, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 4);
	expect_bad(f, 4, "loop");
}

static void test_loop_in_indirect(void **state)
{
	struct fixture *f = *state;

	set_desc(f, TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, TABLE_GPA, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	set_desc(f, DESC_GPA, 0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0, "loop");
}

static void test_next_out_of_range(void **state)
{
	struct fixture *f = *state;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, QSIZE);
	expect_bad(f, 0, "out of range");
}

static void test_head_out_of_range(void **state)
{
	struct fixture *f = *state;

	expect_bad(f, 0xffff, "out of range");
}

static void test_indirect_next_out_of_range(void **state)
{
	struct fixture *f = *state;

	set_desc(f, TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);   /* table has 2 */
	set_desc(f, DESC_GPA, 0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0, "out of range");
}

static void test_buffer_outside_ram(void **state)
{
	struct fixture *f = *state;

	set_desc(f, DESC_GPA, 0, RAM_SIZE - 8, 16, 0, 0);    /* straddles the end */
	expect_bad(f, 0, "outside guest RAM");
}

static void test_buffer_wraps(void **state)
{
	struct fixture *f = *state;

	set_desc(f, DESC_GPA, 0, UINT64_MAX - 4, 16, 0, 0);
	expect_bad(f, 0, "outside guest RAM");
}

static void test_zero_length_buffer(void **state)
{
	struct fixture *f = *state;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, DESC_GPA, 1, BUF_GPA, 0, VIRTQ_DESC_F_WRITE, 0);
	expect_bad(f, 0, "zero-length");
}

static void test_readable_after_writable(void **state)
{
	struct fixture *f = *state;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, DESC_GPA, 1, BUF_GPA, 16, 0, 0);
	expect_bad(f, 0, "readable descriptor after");
}

static void test_nested_indirect(void **state)
{
	struct fixture *f = *state;

	set_desc(f, TABLE_GPA, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(f, DESC_GPA, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0, "nested");
}

static void test_indirect_with_next(void **state)
{
	struct fixture *f = *state;

	set_desc(f, TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	set_desc(f, DESC_GPA, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	expect_bad(f, 0, "NEXT");
}

static void test_indirect_bad_lengths(void **state)
{
	struct fixture *f = *state;
	const uint32_t lens[] = { 0, 17, 8, 16 * (QSIZE + 1), 0xfffffff0u };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		set_desc(f, DESC_GPA, 0, TABLE_GPA, lens[i], VIRTQ_DESC_F_INDIRECT, 0);
		expect_bad(f, 0, "indirect table length");
		f->vq.last_avail_idx++;   /* the transport would reset; skip the slot here */
	}
}

static void test_indirect_outside_ram(void **state)
{
	struct fixture *f = *state;

	set_desc(f, DESC_GPA, 0, RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0, "outside guest RAM");
}

static void test_indirect_not_negotiated(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(start(f, 0), 0);
	set_desc(f, TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	set_desc(f, DESC_GPA, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0, "not negotiated");
}

static void test_too_many_segments(void **state)
{
	struct fixture *f = *state;
	struct vq_seg segs[4];

	vq_req_init(&f->req, segs, 4);
	for (unsigned int i = 0; i < 5; i++)
		set_desc(f, DESC_GPA, i, BUF_GPA, 16, i < 4 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	expect_bad(f, 0, "too many");
}

static void test_avail_index_jump(void **state)
{
	struct fixture *f = *state;

	put16(f, AVAIL_GPA + 2, QSIZE + 1);
	assert_int_equal(vq_pop(&f->vq, &f->req), -EPROTO);
	assert_non_null(strstr(f->vq.error, "avail index"));
}

static void test_start_checks(void **state)
{
	struct fixture *f = *state;

	f->vq.size = 12;                       /* not a power of two */
	assert_int_equal(start(f, 0), -EINVAL);
	assert_false(f->vq.started);
	f->vq.size = 0;
	assert_int_equal(start(f, 0), -EINVAL);
	f->vq.size = 0xffff;                   /* huge */
	assert_int_equal(start(f, 0), -EINVAL);
	f->vq.size = QSIZE * 2;                /* more than offered */
	assert_int_equal(start(f, 0), -EINVAL);
	assert_int_equal(vq_pop(&f->vq, &f->req), 0);   /* a failed start pops nothing */

	f->vq.size = QSIZE;
	f->vq.desc_gpa = DESC_GPA + 8;         /* misaligned */
	f->vq.avail_gpa = AVAIL_GPA;
	f->vq.used_gpa = USED_GPA;
	assert_int_equal(vq_start(&f->vq, &f->fm.mem, 0), -EINVAL);
	f->vq.desc_gpa = DESC_GPA;
	f->vq.used_gpa = USED_GPA + 2;
	assert_int_equal(vq_start(&f->vq, &f->fm.mem, 0), -EINVAL);
	f->vq.used_gpa = RAM_SIZE - 16;        /* the ring runs past RAM */
	assert_int_equal(vq_start(&f->vq, &f->fm.mem, 0), -EINVAL);
	assert_non_null(strstr(f->vq.error, "outside"));
	f->vq.used_gpa = UINT64_MAX - 3;       /* wraps */
	assert_int_equal(vq_start(&f->vq, &f->fm.mem, 0), -EINVAL);
	f->vq.used_gpa = USED_GPA;
	assert_int_equal(vq_start(&f->vq, &f->fm.mem, 0), 0);
	assert_true(f->vq.started);
}

static void test_interrupt_flags_without_event_idx(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(start(f, 0), 0);
	vq_push(&f->vq, 0, 1);
	assert_true(vq_need_interrupt(&f->vq));
	put16(f, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	vq_push(&f->vq, 1, 1);
	assert_false(vq_need_interrupt(&f->vq));
	/* And no avail_event is written without EVENT_IDX. */
	put16(f, USED_GPA + 4 + 8 * QSIZE, 0x1234);
	assert_int_equal(vq_pop(&f->vq, &f->req), 0);
	assert_int_equal(get16(f, USED_GPA + 4 + 8 * QSIZE), 0x1234);
}

static void test_event_idx_interrupts(void **state)
{
	struct fixture *f = *state;
	const uint64_t used_event = AVAIL_GPA + 4 + 2 * QSIZE;

	/* The first completion always interrupts (nothing signalled yet). */
	put16(f, used_event, 0);
	vq_push(&f->vq, 0, 1);                  /* used idx 1 */
	assert_true(vq_need_interrupt(&f->vq));
	/* used_event = 3: the driver wants an interrupt once entry 3 is used. */
	put16(f, used_event, 3);
	vq_push(&f->vq, 0, 1);                  /* 2 */
	assert_false(vq_need_interrupt(&f->vq));
	vq_push(&f->vq, 0, 1);                  /* 3 */
	assert_false(vq_need_interrupt(&f->vq));
	vq_push(&f->vq, 0, 1);                  /* 4: entry 3 is now used */
	assert_true(vq_need_interrupt(&f->vq));
	/* Several pushes jumping over the event at once still interrupt. */
	put16(f, used_event, 5);
	vq_push(&f->vq, 0, 1);
	vq_push(&f->vq, 0, 1);
	vq_push(&f->vq, 0, 1);                  /* 7 */
	assert_true(vq_need_interrupt(&f->vq));
	/* The NO_INTERRUPT flag is ignored with EVENT_IDX (2.7.7.2). */
	put16(f, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	put16(f, used_event, 7);
	vq_push(&f->vq, 0, 1);
	assert_true(vq_need_interrupt(&f->vq));
}

static void test_event_idx_avail_event(void **state)
{
	struct fixture *f = *state;
	const uint64_t avail_event = USED_GPA + 4 + 8 * QSIZE;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 16, 0, 0);
	make_avail(f, 0);
	make_avail(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->req), 1);
	assert_int_equal(vq_pop(&f->vq, &f->req), 1);
	assert_int_equal(vq_pop(&f->vq, &f->req), 0);
	/* Empty: notify us when slot 2 gets filled. */
	assert_int_equal(get16(f, avail_event), 2);
}

static void test_index_wrap(void **state)
{
	struct fixture *f = *state;

	/* Indices are free-running 16-bit counters. */
	f->vq.last_avail_idx = 0xfffe;
	f->vq.used_idx = 0xfffe;
	f->avail_idx = 0xfffe;
	set_desc(f, DESC_GPA, 0, BUF_GPA, 16, 0, 0);
	for (int i = 0; i < 4; i++) {
		make_avail(f, 0);
		assert_int_equal(vq_pop(&f->vq, &f->req), 1);
		vq_push(&f->vq, 0, 0);
	}
	assert_int_equal(f->vq.last_avail_idx, 2);
	assert_int_equal(get16(f, USED_GPA + 2), 2);
	assert_int_equal(vq_pop(&f->vq, &f->req), 0);
}

/*
 * vq_unpop: chains given back come again in order, and with EVENT_IDX the
 * driver is still asked to notify for the first slot the device has not
 * seen filled (a receive queue that ran short keeps waiting for a kick).
 */
static void test_unpop(void **state)
{
	struct fixture *f = *state;
	const uint64_t avail_event = USED_GPA + 4 + 8 * QSIZE;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
	set_desc(f, DESC_GPA, 1, BUF_GPA + 16, 32, VIRTQ_DESC_F_WRITE, 0);
	make_avail(f, 0);
	make_avail(f, 1);
	assert_int_equal(vq_pop(&f->vq, &f->req), 1);
	assert_int_equal(vq_pop(&f->vq, &f->req), 1);
	assert_int_equal(vq_pop(&f->vq, &f->req), 0);
	assert_int_equal(get16(f, avail_event), 2);
	vq_unpop(&f->vq);
	vq_unpop(&f->vq);
	assert_int_equal(f->vq.last_avail_idx, 0);
	assert_int_equal(get16(f, avail_event), 2);
	assert_int_equal(vq_pop(&f->vq, &f->req), 1);
	assert_int_equal(f->req.head, 0);
	assert_int_equal(f->req.in_len, 16);
	assert_int_equal(vq_pop(&f->vq, &f->req), 1);
	assert_int_equal(f->req.head, 1);
	assert_int_equal(f->req.in_len, 32);
	/* Nothing was used meanwhile. */
	assert_int_equal(get16(f, USED_GPA + 2), 0);
}

/* A full queue of maximal chains: every descriptor used once, no false loop. */
static void test_full_length_chain(void **state)
{
	struct fixture *f = *state;

	for (unsigned int i = 0; i < QSIZE; i++)
		set_desc(f, DESC_GPA, i, BUF_GPA + 512u * i, 512,
			 i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	make_avail(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->req), 1);
	assert_int_equal(f->req.nr_out, QSIZE);
	assert_int_equal(f->req.out_len, 512 * QSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_state),
		cmocka_unit_test_setup_teardown(test_unpop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simple_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iter_across_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_then_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_in_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_next_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_length_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readable_after_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_with_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_bad_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_not_negotiated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_index_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_flags_without_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_avail_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_length_chain, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
