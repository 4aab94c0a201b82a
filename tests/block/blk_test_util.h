/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the block-layer tests: scratch files, patterns, commands. */
#ifndef BLK_TEST_UTIL_H
#define BLK_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* A fresh scratch directory; its path is returned (static buffer). */
const char *bt_tmpdir(void);
/* "<tmpdir>/<name>" in a static ring of buffers. */
const char *bt_path(const char *name);
/* Deterministic pseudo-random bytes from seed. */
void bt_fill(void *buf, size_t len, uint32_t seed);
/* Run a shell command quietly; its exit status, or -1. */
int bt_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Is qemu-img on PATH? */
int bt_have_qemu_img(void);
/* Write/read a whole file. */
void bt_write_file(const char *path, const void *buf, size_t len);
void *bt_read_file(const char *path, size_t *len);
/* Patch bytes of a file at off. */
void bt_patch(const char *path, uint64_t off, const void *buf, size_t len);
void bt_patch_be32(const char *path, uint64_t off, uint32_t v);
void bt_patch_be64(const char *path, uint64_t off, uint64_t v);
void bt_patch_le32(const char *path, uint64_t off, uint32_t v);
void bt_cleanup(void);

#endif
