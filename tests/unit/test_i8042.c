// SPDX-License-Identifier: GPL-2.0-or-later
/* i8042: the controller (commands, output buffer, reset line), the PS/2 keyboard and mouse. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices.h"
#include "fake_machine.h"
#include "input.h"

#define STS_OBF 0x01
#define STS_IBF 0x02
#define STS_SYS 0x04
#define STS_AUXB 0x20

struct fixture {
	struct fake_machine fm;
	struct device *dev;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(fake_machine_init(&f.fm, 0), 0);
	f.dev = fake_device_create(&f.fm, &i8042_model, NULL);
	assert_non_null(f.dev);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	device_destroy(f->dev);
	fake_machine_destroy(&f->fm);
	return 0;
}

static uint8_t status(struct fixture *f) { return fake_inb(&f->fm, I8042_CMD_PORT); }
static void cmd(struct fixture *f, uint8_t c) { fake_outb(&f->fm, I8042_CMD_PORT, c); }
static void data_out(struct fixture *f, uint8_t v) { fake_outb(&f->fm, I8042_DATA_PORT, v); }

/* Read one reply byte the way Linux does: wait for OBF, then read data. */
static uint8_t reply(struct fixture *f)
{
	assert_int_equal(status(f) & STS_OBF, STS_OBF);
	return fake_inb(&f->fm, I8042_DATA_PORT);
}

static void test_commands(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(status(f) & (STS_IBF | STS_OBF), 0);   /* kb_wait() finishes */
	cmd(f, 0xaa);
	assert_int_equal(reply(f), 0x55);
	assert_int_equal(status(f) & STS_OBF, 0);
	assert_int_equal(status(f) & STS_SYS, STS_SYS);
	cmd(f, 0xab);
	assert_int_equal(reply(f), 0x00);

	cmd(f, 0x20);
	assert_int_equal(reply(f) & 0x30, 0x30);   /* both ports disabled after reset */
	cmd(f, 0x60);
	data_out(f, 0x47);
	cmd(f, 0x20);
	assert_int_equal(reply(f), 0x47);
	cmd(f, 0xad);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & 0x10, 0x10);   /* keyboard port disabled */
	cmd(f, 0xae);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & 0x10, 0);
	cmd(f, 0xa7);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & 0x20, 0x20);   /* aux port disabled */
	cmd(f, 0xa8);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & 0x20, 0);

	cmd(f, 0xd0);
	assert_int_equal(reply(f) & 0x01, 0x01);   /* reset line not asserted */
	assert_int_equal(f->fm.resets, 0);
}

/* Every byte waiting, in order; *aux_mask gets bit i set for a mouse byte. */
static unsigned int drain(struct fixture *f, uint8_t *buf, unsigned int max, uint64_t *aux_mask)
{
	unsigned int n = 0;

	if (aux_mask)
		*aux_mask = 0;
	while (n < max && (status(f) & STS_OBF)) {
		if (aux_mask && (status(f) & STS_AUXB))
			*aux_mask |= 1ull << n;
		buf[n++] = fake_inb(&f->fm, I8042_DATA_PORT);
	}
	return n;
}

static void expect_bytes(struct fixture *f, const uint8_t *want, unsigned int n)
{
	uint8_t got[128];

	assert_int_equal(drain(f, got, sizeof(got), NULL), n);
	assert_memory_equal(got, want, n);
}
#define EXPECT(f, ...) do { \
	static const uint8_t w_[] = { __VA_ARGS__ }; \
	expect_bytes(f, w_, sizeof(w_)); \
} while (0)

static const struct input_ops *kbd_ops(struct fixture *f)
{
	assert_true(f->fm.nr_inputs >= 1);
	assert_int_equal(f->fm.inputs[0].ops->caps, INPUT_CAP_KEYBOARD);
	return f->fm.inputs[0].ops;
}

static const struct input_ops *mouse_ops(struct fixture *f)
{
	assert_int_equal(f->fm.nr_inputs, 2);
	assert_int_equal(f->fm.inputs[1].ops->caps, INPUT_CAP_REL);
	return f->fm.inputs[1].ops;
}

static void key(struct fixture *f, unsigned int code, bool down)
{
	kbd_ops(f)->key(f->fm.inputs[0].opaque, code, down);
}

static void mouse(struct fixture *f, int dx, int dy, int dw, unsigned int buttons)
{
	mouse_ops(f)->rel(f->fm.inputs[1].opaque, dx, dy, dw, buttons);
}

/* What Linux's i8042 and atkbd drivers do at boot, in short. */
static void linux_init(struct fixture *f, bool translate)
{
	cmd(f, 0xaa);
	assert_int_equal(reply(f), 0x55);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & 0x40, 0x40);    /* translation on, as firmware leaves it */
	/* The loop test runs with the aux port still disabled: the controller answers. */
	cmd(f, 0xd3);
	data_out(f, 0x5a);
	assert_int_equal(status(f) & (STS_OBF | STS_AUXB), STS_OBF | STS_AUXB);
	assert_int_equal(reply(f), 0x5a);
	assert_int_equal(status(f) & STS_AUXB, 0);
	cmd(f, 0x60);
	data_out(f, translate ? 0x47 : 0x07);       /* both IRQs on, both ports on */
	/* The aux port probe: a byte looped back arrives as mouse data on IRQ12. */
	fake_machine_clear_counts(&f->fm);
	cmd(f, 0xd3);
	data_out(f, 0xa5);
	assert_int_equal(status(f) & (STS_OBF | STS_AUXB), STS_OBF | STS_AUXB);
	assert_int_equal(f->fm.irq_edges[12], 1);
	assert_int_equal(f->fm.irq_edges[1], 0);
	assert_int_equal(reply(f), 0xa5);
	assert_int_equal(f->fm.irq_level[12], 0);
	/* atkbd: identify, reset-disable, set 2, enable */
	data_out(f, 0xf2);
	if (translate)
		EXPECT(f, 0xfa, 0xab, 0x41);            /* 0x83 through the translation */
	else
		EXPECT(f, 0xfa, 0xab, 0x83);
	data_out(f, 0xf5);
	EXPECT(f, 0xfa);
	data_out(f, 0xf0);
	data_out(f, 0x02);
	EXPECT(f, 0xfa, 0xfa);
	data_out(f, 0xf4);
	EXPECT(f, 0xfa);
	data_out(f, 0xf3);
	data_out(f, 0x00);
	EXPECT(f, 0xfa, 0xfa);
}

static void test_keyboard_translated(void **state)
{
	struct fixture *f = *state;

	linux_init(f, true);
	fake_machine_clear_counts(&f->fm);
	key(f, 30, true);                  /* A */
	key(f, 30, false);
	assert_int_equal(f->fm.irq_edges[1], 1);
	EXPECT(f, 0x1e, 0x9e);
	assert_int_equal(f->fm.irq_edges[1], 2);   /* a new edge per byte */
	key(f, 103, true);                 /* Up */
	key(f, 103, false);
	EXPECT(f, 0xe0, 0x48, 0xe0, 0xc8);
	key(f, 119, true);                 /* Pause */
	key(f, 119, false);
	EXPECT(f, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5);
	key(f, 65, true);                  /* F7: set 2's 0x83 */
	EXPECT(f, 0x41);
	key(f, 0x2ff, true);               /* no such key: nothing */
	EXPECT(f);
}

static void test_keyboard_untranslated(void **state)
{
	struct fixture *f = *state;

	linux_init(f, false);
	key(f, 30, true);
	key(f, 30, false);
	EXPECT(f, 0x1c, 0xf0, 0x1c);
	key(f, 99, true);                  /* Print Screen */
	EXPECT(f, 0xe0, 0x12, 0xe0, 0x7c);
	/* Set 1, asked for and read back */
	data_out(f, 0xf0);
	data_out(f, 0x01);
	EXPECT(f, 0xfa, 0xfa);
	data_out(f, 0xf0);
	data_out(f, 0x00);
	EXPECT(f, 0xfa, 0xfa, 0x01);
	key(f, 30, true);
	key(f, 30, false);
	EXPECT(f, 0x1e, 0x9e);
	/* Set 3 is refused; the set stays 1 */
	data_out(f, 0xf0);
	data_out(f, 0x03);
	EXPECT(f, 0xfa, 0xfe);
	key(f, 30, true);
	EXPECT(f, 0x1e);
	/* Echo, resend, unknown command, disable, reset */
	data_out(f, 0xee);
	EXPECT(f, 0xee);
	data_out(f, 0xfe);
	EXPECT(f, 0xee);
	data_out(f, 0x42);
	EXPECT(f, 0xfe);
	data_out(f, 0xf5);
	EXPECT(f, 0xfa);
	assert_int_equal(kbd_ops(f)->key_room(f->fm.inputs[0].opaque), 0);
	key(f, 30, true);                  /* not scanning: dropped */
	EXPECT(f);
	data_out(f, 0xff);
	EXPECT(f, 0xfa, 0xaa);
	key(f, 30, true);                  /* reset: set 2, scanning */
	EXPECT(f, 0x1c);
}

static void test_keyboard_leds(void **state)
{
	struct fixture *f = *state;
	const struct input_ops *ops;

	linux_init(f, true);
	ops = kbd_ops(f);
	assert_non_null(ops->leds);
	assert_int_equal(ops->leds(f->fm.inputs[0].opaque), 0);
	data_out(f, 0xed);
	data_out(f, 0x04);                 /* Caps Lock */
	EXPECT(f, 0xfa, 0xfa);
	assert_int_equal(ops->leds(f->fm.inputs[0].opaque), INPUT_LED_CAPS);
	data_out(f, 0xed);
	data_out(f, 0x03);                 /* Num + Scroll */
	EXPECT(f, 0xfa, 0xfa);
	assert_int_equal(ops->leds(f->fm.inputs[0].opaque), INPUT_LED_NUM | INPUT_LED_SCROLL);
	/* A command instead of the parameter is taken as that command. */
	data_out(f, 0xed);
	data_out(f, 0xf2);
	EXPECT(f, 0xfa, 0xfa, 0xab, 0x41);
	assert_int_equal(ops->leds(f->fm.inputs[0].opaque), INPUT_LED_NUM | INPUT_LED_SCROLL);
	data_out(f, 0xff);
	EXPECT(f, 0xfa, 0xaa);
	assert_int_equal(ops->leds(f->fm.inputs[0].opaque), 0);
}

static void aux(struct fixture *f, uint8_t v)
{
	cmd(f, 0xd4);
	data_out(f, v);
}

static void test_mouse(void **state)
{
	struct fixture *f = *state;
	const struct input_ops *ops;
	uint8_t b[64];
	uint64_t auxm;

	linux_init(f, true);
	ops = mouse_ops(f);
	fake_machine_clear_counts(&f->fm);
	aux(f, 0xff);
	assert_int_equal(drain(f, b, sizeof(b), &auxm), 3);
	assert_int_equal(auxm, 7);         /* all three are mouse bytes */
	assert_memory_equal(b, ((const uint8_t[]){ 0xfa, 0xaa, 0x00 }), 3);
	assert_int_equal(f->fm.irq_edges[12], 3);
	assert_int_equal(f->fm.irq_edges[1], 0);
	aux(f, 0xf2);
	EXPECT(f, 0xfa, 0x00);
	assert_false(ops->active(f->fm.inputs[1].opaque));
	mouse(f, 5, 5, 0, 0);              /* reporting off: nothing */
	EXPECT(f);
	/* The IntelliMouse knock */
	aux(f, 0xf3); aux(f, 200);
	aux(f, 0xf3); aux(f, 100);
	aux(f, 0xf3); aux(f, 80);
	EXPECT(f, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa);
	aux(f, 0xf2);
	EXPECT(f, 0xfa, 0x03);
	aux(f, 0xe8); aux(f, 0x03);
	aux(f, 0xe7);
	aux(f, 0xe6);
	aux(f, 0xf3); aux(f, 7);           /* not a rate */
	EXPECT(f, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfe);
	aux(f, 0xf4);
	EXPECT(f, 0xfa);
	assert_true(ops->active(f->fm.inputs[1].opaque));
	/* right 5, up 3, wheel one step away from the user, left held */
	mouse(f, 5, -3, 1, INPUT_BTN_LEFT);
	assert_int_equal(drain(f, b, sizeof(b), &auxm), 4);
	assert_int_equal(auxm, 0xf);
	assert_memory_equal(b, ((const uint8_t[]){ 0x09, 0x05, 0x03, 0xff }), 4);
	/* left 2, down 300: two packets, signs in byte 0 */
	mouse(f, -2, 300, 0, INPUT_BTN_LEFT);
	EXPECT(f, 0x39, 0xfe, 0x00, 0x00, 0x29, 0x00, 0xd4, 0x00);
	/* a button change alone is a packet */
	mouse(f, 0, 0, 0, INPUT_BTN_RIGHT | INPUT_BTN_MIDDLE);
	EXPECT(f, 0x0e, 0, 0, 0);
	/* status request: stream, enabled, 1:1, right+middle; res 3; rate 80 */
	aux(f, 0xe9);
	EXPECT(f, 0xfa, 0x23, 0x03, 80);
	/* remote mode: motion kept until read */
	aux(f, 0xf0);
	EXPECT(f, 0xfa);
	assert_false(ops->active(f->fm.inputs[1].opaque));
	mouse(f, 7, 0, 0, 0);
	mouse(f, 1, 2, 0, 0);
	EXPECT(f);
	aux(f, 0xeb);
	EXPECT(f, 0xfa, 0x28, 0x08, 0xfe, 0x00);
	/* wrap mode echoes until 0xEC */
	aux(f, 0xee);
	aux(f, 0x12);
	aux(f, 0xec);
	EXPECT(f, 0xfa, 0x12, 0xfa);
	aux(f, 0x55);                      /* not a command */
	EXPECT(f, 0xfe);
	/* the port disabled: packets wait in the mouse, keys still pass */
	aux(f, 0xea);
	aux(f, 0xf4);
	EXPECT(f, 0xfa, 0xfa);
	cmd(f, 0xa7);
	mouse(f, 1, 0, 0, 0);
	key(f, 30, true);
	EXPECT(f, 0x1e);
	cmd(f, 0xa8);
	assert_int_equal(drain(f, b, sizeof(b), &auxm), 4);
	assert_int_equal(auxm, 0xf);
}

static void test_irq_enables(void **state)
{
	struct fixture *f = *state;

	linux_init(f, true);
	cmd(f, 0x60);
	data_out(f, 0x44);                 /* translation, no interrupts */
	fake_machine_clear_counts(&f->fm);
	key(f, 30, true);
	assert_int_equal(status(f) & STS_OBF, STS_OBF);
	assert_int_equal(f->fm.irq_edges[1], 0);
	cmd(f, 0x60);
	data_out(f, 0x45);                 /* IRQ1 on: the waiting byte raises it */
	assert_int_equal(f->fm.irq_level[1], 1);
	EXPECT(f, 0x1e);
	assert_int_equal(f->fm.irq_level[1], 0);
}

static void test_queue_overflow(void **state)
{
	struct fixture *f = *state;
	uint8_t b[256];
	unsigned int n;

	linux_init(f, true);
	assert_int_equal(kbd_ops(f)->key_room(f->fm.inputs[0].opaque), 7);   /* 56 bytes / 8 */
	cmd(f, 0xad);                      /* the guest stops reading the keyboard */
	for (int i = 0; i < 100; i++) {
		key(f, 103, true);             /* 2 bytes each */
		key(f, 103, false);
	}
	assert_int_equal(kbd_ops(f)->key_room(f->fm.inputs[0].opaque), 0);
	cmd(f, 0xae);
	n = drain(f, b, sizeof(b), NULL);
	assert_int_equal(kbd_ops(f)->key_room(f->fm.inputs[0].opaque), 7);
	assert_true(n >= 40 && n <= 64);
	assert_int_equal(n % 2, 0);         /* whole events only */
	for (unsigned int i = 0; i < n; i += 4)
		assert_memory_equal(&b[i], ((const uint8_t[]){ 0xe0, 0x48, 0xe0, 0xc8 }), n - i < 4 ? n - i : 4);
	/* A full queue still has room for a command's answer. */
	cmd(f, 0xad);
	for (int i = 0; i < 100; i++)
		key(f, 30, true);
	data_out(f, 0xf2);                 /* writing to the keyboard enables its port */
	n = drain(f, b, sizeof(b), NULL);
	assert_true(n >= 3);
	assert_memory_equal(&b[n - 3], ((const uint8_t[]){ 0xfa, 0xab, 0x41 }), 3);
	/* and the mouse's queue the same */
	aux(f, 0xf4);
	EXPECT(f, 0xfa);
	cmd(f, 0xa7);
	for (int i = 0; i < 100; i++)
		mouse(f, 1, 1, 0, 0);
	aux(f, 0xf2);
	cmd(f, 0xa8);
	n = drain(f, b, sizeof(b), NULL);
	assert_true(n >= 2 && n <= 64);
	assert_memory_equal(&b[n - 2], ((const uint8_t[]){ 0xfa, 0x00 }), 2);
}

static void test_reset_with_bytes_queued(void **state)
{
	struct fixture *f = *state;

	linux_init(f, true);
	aux(f, 0xf4);
	EXPECT(f, 0xfa);
	for (int i = 0; i < 10; i++) {
		key(f, 30, true);
		mouse(f, 3, 3, 0, 0);
	}
	data_out(f, 0xed);                 /* a command waiting for its parameter */
	assert_int_equal(status(f) & STS_OBF, STS_OBF);
	assert_true(f->fm.irq_level[1] || f->fm.irq_level[12]);
	device_reset(f->dev);
	assert_int_equal(status(f) & (STS_OBF | STS_AUXB), 0);
	assert_int_equal(f->fm.irq_level[1], 0);
	assert_int_equal(f->fm.irq_level[12], 0);
	assert_false(mouse_ops(f)->active(f->fm.inputs[1].opaque));
	/* Works afresh: the 0x04 is a command again (not an LED byte) */
	linux_init(f, true);
	data_out(f, 0x04);
	EXPECT(f, 0xfe);
	key(f, 30, true);
	EXPECT(f, 0x1e);
}

static void test_reset_via_pulse(void **state)
{
	struct fixture *f = *state;

	cmd(f, 0xff);                  /* pulse nothing: all mask bits set */
	assert_int_equal(f->fm.resets, 0);
	cmd(f, 0xfe);                  /* pulse bit 0: CPU reset */
	assert_int_equal(f->fm.resets, 1);
	assert_int_equal(f->fm.poweroffs, 0);
}

static void test_reset_via_output_port(void **state)
{
	struct fixture *f = *state;

	cmd(f, 0xd1);
	data_out(f, 0x03);             /* reset high, A20 on: no reset */
	assert_int_equal(f->fm.resets, 0);
	cmd(f, 0xd0);
	assert_int_equal(reply(f), 0x03);
	cmd(f, 0xd1);
	data_out(f, 0x02);             /* bit 0 low: reset */
	assert_int_equal(f->fm.resets, 1);
	/* The data byte was consumed by 0xd1: the next one goes to the keyboard. */
	data_out(f, 0x00);
	assert_int_equal(f->fm.resets, 1);
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct fake_machine fm2;
	struct device *dev2;

	cmd(f, 0x60);
	data_out(f, 0x65);
	key(f, 30, true);              /* A in the output buffer, B queued behind it */
	key(f, 48, true);
	cmd(f, 0xd1);                  /* pending: the data byte comes after the load */
	dev2 = fake_clone(f->dev, &fm2);
	assert_non_null(dev2);
	assert_int_equal(fake_inb(&fm2, I8042_DATA_PORT), 0x1e);
	assert_int_equal(fake_inb(&fm2, I8042_CMD_PORT) & STS_OBF, STS_OBF);
	assert_int_equal(fake_inb(&fm2, I8042_DATA_PORT), 0x30);
	fake_outb(&fm2, I8042_DATA_PORT, 0x00);
	assert_int_equal(fm2.resets, 1);
	fake_outb(&fm2, I8042_CMD_PORT, 0x20);
	assert_int_equal(fake_inb(&fm2, I8042_DATA_PORT), 0x65);
	device_destroy(dev2);
	fake_machine_destroy(&fm2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_commands),
		T(test_keyboard_translated),
		T(test_keyboard_untranslated),
		T(test_keyboard_leds),
		T(test_mouse),
		T(test_irq_enables),
		T(test_queue_overflow),
		T(test_reset_with_bytes_queued),
		T(test_reset_via_pulse),
		T(test_reset_via_output_port),
		T(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
#undef T
}
