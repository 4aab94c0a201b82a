// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * net.c's flow control toward the guest, at the moment a NIC refuses a
 * frame: the guest may post buffers (and the NIC call net_rx_ready())
 * after the NIC looked and before net.c marks the queue stalled.  That
 * call must not be lost, or the frame would wait for a notification the
 * guest has already sent.  The race is played deterministically: the
 * port's receive() calls net_rx_ready() itself before it returns false.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_machine.h"
#include "fake_net.h"
#include "net.h"

struct port {
	struct net_backend *nb;
	unsigned int calls, taken;
	unsigned int refuse;        /* refuse this many calls */
	bool ready_while_refusing;  /* call net_rx_ready() inside the refusing receive() */
};

static bool port_receive(void *opaque, const struct iovec *iov, int iovcnt, size_t len)
{
	struct port *p = opaque;

	(void)iov; (void)iovcnt; (void)len;
	p->calls++;
	if (p->refuse) {
		p->refuse--;
		if (p->ready_while_refusing)
			net_rx_ready(p->nb);   /* buffers arrived meanwhile */
		return false;
	}
	p->taken++;
	return true;
}

static const struct net_port_ops port_ops = { .receive = port_receive };

static void run(bool ready_while_refusing, unsigned int *taken_after_loop)
{
	struct fake_machine fm;
	struct fake_net *fn;
	struct port p = { 0 };
	uint8_t frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	assert_int_equal(fake_machine_init(&fm, 0), 0);
	fn = fake_net_new(&fm, true);
	p.nb = fn->nb;
	p.refuse = 1;
	p.ready_while_refusing = ready_while_refusing;
	assert_int_equal(net_attach(fn->nb, &port_ops, &p), 0);
	assert_true(fake_net_inject(fn, frame, sizeof(frame)));
	fake_loop_run(&fm);
	*taken_after_loop = p.taken;
	/* Either way, a later net_rx_ready delivers it (once). */
	net_rx_ready(fn->nb);
	fake_loop_run(&fm);
	assert_int_equal(p.taken, 1);
	net_detach(fn->nb);
	fake_net_free(fn);
	fake_machine_destroy(&fm);
}

static void test_ready_during_refusal_not_lost(void **state)
{
	unsigned int taken;

	(void)state;
	run(true, &taken);
	assert_int_equal(taken, 1);
}

/* Without buffers posted meanwhile, the frame waits for net_rx_ready. */
static void test_refusal_waits(void **state)
{
	unsigned int taken;

	(void)state;
	run(false, &taken);
	assert_int_equal(taken, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready_during_refusal_not_lost),
		cmocka_unit_test(test_refusal_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
