// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vmctl's option scanning (src/frontend/vmctl/opts.c): VBoxManage 7's two
 * spellings meet in one canonical name, indexes are split off, values come
 * inline or from the next argument, and the stored-flag table knows each
 * flag's value count.  usage_error() is stubbed to jump back here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmctl.h"

static jmp_buf usage_jmp;
static char usage_msg[256];
static char warn_msg[1024];

void usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(usage_msg, sizeof(usage_msg), fmt, ap);
	va_end(ap);
	longjmp(usage_jmp, 1);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(warn_msg, sizeof(warn_msg), fmt, ap);
	va_end(ap);
}

static void test_spellings_meet(void **state)
{
	char *argv[] = { "modifyvm", "--nic-type1", "virtio", "--nictype2=82540EM", "-memory", "512",
			 "--Cable_Connected3", "off", "vmname", NULL };
	struct optscan s;
	const char *pos;

	opt_init(&s, "modifyvm", 9, argv, 1);
	assert_true(opt_next(&s, &pos));
	assert_string_equal(s.name, "nictype");
	assert_string_equal(s.full, "nictype1");
	assert_int_equal(s.index, 1);
	assert_string_equal(opt_value(&s), "virtio");
	assert_true(opt_next(&s, &pos));
	assert_string_equal(s.full, "nictype2");
	assert_int_equal(s.index, 2);
	assert_string_equal(opt_value(&s), "82540EM");
	assert_true(opt_next(&s, &pos));
	assert_true(opt_is(&s, "cpus|memory"));
	assert_int_equal(s.index, -1);
	assert_string_equal(opt_value(&s), "512");
	assert_true(opt_next(&s, &pos));
	assert_string_equal(s.name, "cableconnected");
	assert_int_equal(s.index, 3);
	assert_string_equal(opt_value(&s), "off");
	assert_false(opt_next(&s, &pos));
	assert_string_equal(pos, "vmname");
	assert_false(opt_next(&s, &pos));
	assert_null(pos);
}

static void test_values_and_errors(void **state)
{
	char *argv[] = { "x", "--memory", "--cpus", "2", "--uartmode1", "file", "/tmp/s", "-5", NULL };
	struct optscan s;
	const char *pos;

	opt_init(&s, "modifyvm", 8, argv, 1);
	assert_true(opt_next(&s, &pos));
	/* A value may start with a dash only if it is a number; here it is taken as given. */
	assert_string_equal(opt_value(&s), "--cpus");
	assert_string_equal(opt_peek(&s), "2");	/* the next argument is a value */
	opt_init(&s, "modifyvm", 8, argv, 4);
	assert_true(opt_next(&s, &pos));
	assert_int_equal(opt_index(&s, 4), 1);
	assert_string_equal(opt_value(&s), "file");
	assert_string_equal(opt_peek(&s), "/tmp/s");
	assert_string_equal(opt_value(&s), "/tmp/s");
	assert_false(opt_next(&s, &pos));
	assert_string_equal(pos, "-5");	/* a negative number is not an option */
	if (!setjmp(usage_jmp)) {
		opt_value(&s);
		fail_msg("a missing value was accepted");
	}
	assert_non_null(strstr(usage_msg, "needs a value"));
}

static void test_index_range(void **state)
{
	char *argv[] = { "x", "--nic9", "nat", NULL };
	struct optscan s;
	const char *pos;

	opt_init(&s, "modifyvm", 3, argv, 1);
	assert_true(opt_next(&s, &pos));
	if (!setjmp(usage_jmp)) {
		opt_index(&s, 8);
		fail_msg("--nic9 was accepted");
	}
	assert_non_null(strstr(usage_msg, "the number must be 1 to 8"));
}

static void test_stored_table(void **state)
{
	assert_int_equal(vbox_stored_flag_nargs("modifyvm", "pae", false), 1);
	assert_int_equal(vbox_stored_flag_nargs("modifyvm", "hostonlyadapter", true), 1);
	/* Acted on since issue 12: no longer in the stored-only table. */
	assert_int_equal(vbox_stored_flag_nargs("modifyvm", "intnet", true), -1);
	assert_int_equal(vbox_stored_flag_nargs("modifyvm", "natdnshostresolver", true), -1);
	assert_int_equal(vbox_stored_flag_nargs("modifyvm", "intnet", false), -1);
	assert_int_equal(vbox_stored_flag_nargs("modifyvm", "pae", true), -1);
	assert_int_equal(vbox_stored_flag_nargs("modifyvm", "lpt", true), 2);
	assert_int_equal(vbox_stored_flag_nargs("modifyvm", "cpuidset", false), 5);
	assert_int_equal(vbox_stored_flag_nargs("modifyvm", "cpuidremoveall", false), 0);
	assert_int_equal(vbox_stored_flag_nargs("modifyvm", "usb", false), 1);
	assert_int_equal(vbox_stored_flag_nargs("modifyvm", "us", false), -1);
	assert_int_equal(vbox_stored_flag_nargs("modifyvm", "frobnicate", false), -1);
	assert_int_equal(vbox_stored_flag_nargs("storageattach", "forceunmount", false), 0);
	assert_int_equal(vbox_stored_flag_nargs("storageattach", "nonrotational", false), 1);
	assert_int_equal(vbox_stored_flag_nargs("createvm", "cipher", false), 1);
	assert_int_equal(vbox_stored_flag_nargs("list", "pae", false), -1);
}

static void test_store_and_warn(void **state)
{
	char *argv[] = { "x", "--lpt1", "0x378", "7", "--pae=on", "--frob", "1", NULL };
	struct hutch_machine *m = hutch_machine_new("w", NULL);
	struct stored_list l = { "" };
	const struct hutch_extra *x;
	struct optscan s;
	const char *pos;

	opt_init(&s, "modifyvm", 7, argv, 1);
	assert_true(opt_next(&s, &pos));
	store_vbox_flag(&s, m, NULL, &l);
	assert_true(opt_next(&s, &pos));
	store_vbox_flag(&s, m, NULL, &l);
	x = hutch_machine_get_extra(m, "lpt1");
	assert_non_null(x);
	assert_int_equal(x->nargs, 2);
	assert_string_equal(x->args[1], "7");
	x = hutch_machine_get_extra(m, "pae");
	assert_string_equal(x->args[0], "on");
	stored_warn(&l, "w");
	assert_non_null(strstr(warn_msg, "--lpt1, --pae"));
	assert_true(opt_next(&s, &pos));
	if (!setjmp(usage_jmp)) {
		store_vbox_flag(&s, m, NULL, &l);
		fail_msg("--frob was accepted");
	}
	assert_non_null(strstr(usage_msg, "unknown option '--frob'"));
	hutch_machine_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spellings_meet),
		cmocka_unit_test(test_values_and_errors),
		cmocka_unit_test(test_index_range),
		cmocka_unit_test(test_stored_table),
		cmocka_unit_test(test_store_and_warn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
