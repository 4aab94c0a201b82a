/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the manager's file chooser shows of a folder: its subfolders, then
 * the files whose names end in one of the wanted extensions (".iso"),
 * each group sorted by name, hidden (dot) names left out.  Plain C with no
 * GUI, so that it has a unit test (tests/unit/test_file_list.c).
 */
#ifndef HUTCH_FILE_LIST_H
#define HUTCH_FILE_LIST_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct file_entry {
	char *name;
	bool is_dir;
};

struct file_list {
	struct file_entry *e;
	size_t n;
};

/*
 * Read folder @dir into @out (emptied first): "..", unless @dir is "/",
 * then the subfolders, then regular files matching @exts (a NULL-ended
 * list of extensions with their dot, compared without case; NULL takes
 * every file).  Symlinks count as what they point to; broken ones and
 * anything else (sockets, devices) are left out.  0, or -errno (then @out
 * is empty).
 */
int file_list_read(const char *dir, const char *const *exts, struct file_list *out);
void file_list_free(struct file_list *l);

/* Does @name end in one of @exts (NULL: every name does)? */
bool file_name_has_ext(const char *name, const char *const *exts);
/* Does @name contain @filter, without case ("" matches all)? */
bool file_name_matches(const char *name, const char *filter);

/*
 * @dir joined with @name into @buf: "/" + "a" = "/a", "/x" + "a" = "/x/a",
 * "/x/y" + ".." = "/x" and "/" + ".." = "/".  false if it does not fit.
 */
bool file_path_join(char *buf, size_t len, const char *dir, const char *name);

/*
 * The folder a chooser opened from a text field starts in: the field's
 * folder part if it names an existing folder ("/isos/x.iso" -> "/isos",
 * "/isos/" -> "/isos"), else @fallback.  Relative text is not guessed at.
 */
void file_start_dir(char *buf, size_t len, const char *field, const char *fallback);

#ifdef __cplusplus
}
#endif

#endif
