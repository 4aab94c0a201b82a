// SPDX-License-Identifier: GPL-2.0-or-later
/* The manager's file chooser's folder listing (file_list.h). */
#include "file_list.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

bool file_name_has_ext(const char *name, const char *const *exts)
{
	size_t n = strlen(name);

	if (!exts)
		return true;
	for (; *exts; exts++) {
		size_t m = strlen(*exts);

		if (n > m && !strcasecmp(name + n - m, *exts))
			return true;
	}
	return false;
}

bool file_name_matches(const char *name, const char *filter)
{
	size_t n = strlen(name), m = strlen(filter);

	for (size_t i = 0; i + m <= n; i++)
		if (!strncasecmp(name + i, filter, m))
			return true;
	return false;
}

bool file_path_join(char *buf, size_t len, const char *dir, const char *name)
{
	int n;

	if (!strcmp(name, "..")) {
		const char *slash = strrchr(dir, '/');
		size_t keep = slash && slash != dir ? (size_t)(slash - dir) : 1;

		if (keep >= len)
			return false;
		memcpy(buf, slash ? dir : "/", keep);
		buf[keep] = '\0';
		return true;
	}
	n = snprintf(buf, len, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	return n >= 0 && (size_t)n < len;
}

void file_start_dir(char *buf, size_t len, const char *field, const char *fallback)
{
	struct stat st;
	const char *slash = strrchr(field, '/');

	if (field[0] == '/' && slash) {
		size_t n = slash == field ? 1 : (size_t)(slash - field);

		if (n < len) {
			memcpy(buf, field, n);
			buf[n] = '\0';
			if (!stat(buf, &st) && S_ISDIR(st.st_mode))
				return;
		}
	}
	snprintf(buf, len, "%s", fallback);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct file_entry *x = a, *y = b;

	if (x->is_dir != y->is_dir)
		return x->is_dir ? -1 : 1;
	/* ".." first of the folders */
	if (!strcmp(x->name, ".."))
		return -1;
	if (!strcmp(y->name, ".."))
		return 1;
	int c = strcasecmp(x->name, y->name);
	return c ? c : strcmp(x->name, y->name);
}

static int push(struct file_list *l, size_t *cap, const char *name, bool is_dir)
{
	if (l->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		struct file_entry *e = realloc(l->e, ncap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		l->e = e;
		*cap = ncap;
	}
	if (!(l->e[l->n].name = strdup(name)))
		return -ENOMEM;
	l->e[l->n++].is_dir = is_dir;
	return 0;
}

int file_list_read(const char *dir, const char *const *exts, struct file_list *out)
{
	size_t cap = 0;
	struct dirent *d;
	DIR *dp;
	int ret = 0;

	file_list_free(out);
	if (!(dp = opendir(dir)))
		return -errno;
	if (strcmp(dir, "/"))
		ret = push(out, &cap, "..", true);
	while (!ret && (errno = 0, d = readdir(dp))) {
		char path[4096];
		struct stat st;

		if (d->d_name[0] == '.')
			continue;
		/* stat, not lstat: a link to a folder is a folder to the user. */
		if (!file_path_join(path, sizeof(path), dir, d->d_name) || stat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			ret = push(out, &cap, d->d_name, true);
		else if (S_ISREG(st.st_mode) && file_name_has_ext(d->d_name, exts))
			ret = push(out, &cap, d->d_name, false);
	}
	if (!ret && errno)
		ret = -errno;
	closedir(dp);
	if (ret) {
		file_list_free(out);
		return ret;
	}
	if (out->n > 1)
		qsort(out->e, out->n, sizeof(*out->e), entry_cmp);
	return 0;
}

void file_list_free(struct file_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->e[i].name);
	free(l->e);
	l->e = NULL;
	l->n = 0;
}
