/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libhutch's error reporting: functions return 0 on success or a negative
 * errno, and fill a struct hutch_error with one line for the user that
 * names the file or value and what was expected.
 */
#ifndef HUTCH_ERROR_H
#define HUTCH_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#define HUTCH_ERROR_MAX 1024

struct hutch_error {
	int code;			/* the negative errno that was returned */
	char msg[HUTCH_ERROR_MAX];	/* one line, no trailing newline */
};

/* Record code and message in e (e may be NULL); returns code. */
int hutch_seterr(struct hutch_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif

#endif
