// SPDX-License-Identifier: GPL-2.0-or-later
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blk_test_util.h"

static char bt_dir[256];

const char *bt_tmpdir(void)
{
	if (!bt_dir[0]) {
		const char *t = getenv("TMPDIR");

		snprintf(bt_dir, sizeof(bt_dir), "%s/hutch-blk-XXXXXX", t ? t : "/tmp");
		if (!mkdtemp(bt_dir)) {
			perror("mkdtemp");
			abort();
		}
	}
	return bt_dir;
}

const char *bt_path(const char *name)
{
	static char ring[8][512];
	static int next;
	char *p = ring[next++ % 8];

	snprintf(p, sizeof(ring[0]), "%s/%s", bt_tmpdir(), name);
	return p;
}

void bt_fill(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

int bt_run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (getenv("BT_VERBOSE"))
		fprintf(stderr, "+ %s\n", cmd);
	else
		strncat(cmd, " >/dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	st = system(cmd);
	if (st < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int bt_have_qemu_img(void)
{
	return bt_run("command -v qemu-img") == 0;
}

void bt_write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

void *bt_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	void *buf;

	if (!f || fstat(fileno(f), &st) < 0)
		abort();
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		abort();
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

void bt_patch(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || pwrite(fd, buf, len, (off_t)off) != (ssize_t)len) {
		perror(path);
		abort();
	}
	close(fd);
}

void bt_patch_be32(const char *path, uint64_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
			 (uint8_t)v };

	bt_patch(path, off, b, 4);
}

void bt_patch_be64(const char *path, uint64_t off, uint64_t v)
{
	bt_patch_be32(path, off, (uint32_t)(v >> 32));
	bt_patch_be32(path, off + 4, (uint32_t)v);
}

void bt_patch_le32(const char *path, uint64_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	bt_patch(path, off, b, 4);
}

void bt_cleanup(void)
{
	if (bt_dir[0] && !getenv("BT_KEEP"))
		bt_run("rm -rf '%s'", bt_dir);
}
