// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The manager's file chooser listing (src/frontend/manager/file_list.c):
 * folders first with ".." on top, then files with a wanted extension,
 * hidden names and other files left out; path joining and the folder a
 * chooser starts in.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "file_list.h"

static const char *const iso_exts[] = { ".iso", NULL };

static void touch(const char *dir, const char *name)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	fclose(f);
}

static void test_listing(void **state)
{
	char dir[] = "/tmp/hutch-file-list.XXXXXX", p[512];
	struct file_list l = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	touch(dir, "b.ISO");
	touch(dir, "a.iso");
	touch(dir, "notes.txt");
	touch(dir, ".hidden.iso");
	touch(dir, "iso");		/* no dot: not an .iso */
	snprintf(p, sizeof(p), "%s/Zdir", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/adir", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/gone.iso", dir);
	assert_int_equal(symlink("/nonexistent/x.iso", p), 0);	/* broken: left out */
	snprintf(p, sizeof(p), "%s/link.iso", dir);
	assert_int_equal(symlink("a.iso", p), 0);		/* to a file: listed */

	assert_int_equal(file_list_read(dir, iso_exts, &l), 0);
	assert_int_equal(l.n, 6);
	assert_string_equal(l.e[0].name, "..");
	assert_true(l.e[0].is_dir);
	assert_string_equal(l.e[1].name, "adir");
	assert_true(l.e[1].is_dir);
	assert_string_equal(l.e[2].name, "Zdir");
	assert_true(l.e[2].is_dir);
	assert_string_equal(l.e[3].name, "a.iso");
	assert_false(l.e[3].is_dir);
	assert_string_equal(l.e[4].name, "b.ISO");
	assert_string_equal(l.e[5].name, "link.iso");

	/* Every file without a filter; a second read replaces the first. */
	assert_int_equal(file_list_read(dir, NULL, &l), 0);
	assert_int_equal(l.n, 8);
	assert_string_equal(l.e[7].name, "notes.txt");

	/* A folder that is not there: an error and an empty list. */
	snprintf(p, sizeof(p), "%s/nope", dir);
	assert_int_equal(file_list_read(p, iso_exts, &l), -ENOENT);
	assert_int_equal(l.n, 0);
	assert_null(l.e);

	/* The root has no "..". */
	assert_int_equal(file_list_read("/", NULL, &l), 0);
	for (size_t i = 0; i < l.n; i++)
		assert_string_not_equal(l.e[i].name, "..");
	file_list_free(&l);

	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(file_name_has_ext("x.iso", iso_exts));
	assert_true(file_name_has_ext("X.IsO", iso_exts));
	assert_false(file_name_has_ext(".iso", iso_exts));	/* a name, not just an extension */
	assert_false(file_name_has_ext("x.iso.part", iso_exts));
	assert_true(file_name_has_ext("anything", NULL));
	assert_true(file_name_matches("Debian-12.iso", "deb"));
	assert_true(file_name_matches("Debian-12.iso", "12.ISO"));
	assert_true(file_name_matches("Debian-12.iso", ""));
	assert_false(file_name_matches("Debian-12.iso", "ubuntu"));
	assert_false(file_name_matches("ab", "abc"));
}

static void test_paths(void **state)
{
	char buf[64], small[4];

	(void)state;
	assert_true(file_path_join(buf, sizeof(buf), "/", "a"));
	assert_string_equal(buf, "/a");
	assert_true(file_path_join(buf, sizeof(buf), "/x", "a"));
	assert_string_equal(buf, "/x/a");
	assert_true(file_path_join(buf, sizeof(buf), "/x/", "a"));
	assert_string_equal(buf, "/x/a");
	assert_true(file_path_join(buf, sizeof(buf), "/x/y", ".."));
	assert_string_equal(buf, "/x");
	assert_true(file_path_join(buf, sizeof(buf), "/x", ".."));
	assert_string_equal(buf, "/");
	assert_true(file_path_join(buf, sizeof(buf), "/", ".."));
	assert_string_equal(buf, "/");
	assert_false(file_path_join(small, sizeof(small), "/abc", "def"));

	file_start_dir(buf, sizeof(buf), "/tmp/whatever.iso", "/fallback");
	assert_string_equal(buf, "/tmp");
	file_start_dir(buf, sizeof(buf), "/tmp/", "/fallback");
	assert_string_equal(buf, "/tmp");
	file_start_dir(buf, sizeof(buf), "/x.iso", "/fallback");
	assert_string_equal(buf, "/");
	file_start_dir(buf, sizeof(buf), "/nonexistent-dir/x.iso", "/fallback");
	assert_string_equal(buf, "/fallback");
	file_start_dir(buf, sizeof(buf), "relative/x.iso", "/fallback");
	assert_string_equal(buf, "/fallback");
	file_start_dir(buf, sizeof(buf), "", "/fallback");
	assert_string_equal(buf, "/fallback");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listing),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
