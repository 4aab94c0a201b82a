/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Whether a frame of the manager looks different from the last one drawn,
 * told from the bytes that describe it (ImGui's vertices, indices and draw
 * commands, fed by main.cpp).  ImGui runs a frame for every event and a
 * few more to settle; most of them draw exactly the same picture, and in
 * software drawing it is nearly all of a frame's cost, so only a changed
 * picture is drawn.  Plain C without ImGui, so that a unit test can check
 * it (tests/unit/test_frame_diff.c).
 */
#ifndef HUTCH_FRAME_DIFF_H
#define HUTCH_FRAME_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct frame_diff {
	unsigned char *last, *cur;	/* the last drawn frame's bytes; this frame's so far */
	size_t last_len, cur_len;
	size_t last_cap, cur_cap;
	bool have_last;			/* false: nothing drawn yet, or the window lost it */
	bool failed;			/* out of memory in this frame: it counts as changed */
};

/* An empty detector (all zero is one too): its first frame counts as changed. */
void frame_diff_init(struct frame_diff *d);
void frame_diff_free(struct frame_diff *d);

/* A new frame: its bytes come with frame_diff_add, in a fixed order. */
void frame_diff_begin(struct frame_diff *d);
void frame_diff_add(struct frame_diff *d, const void *p, size_t len);

/*
 * The frame is complete: true if it differs from the last frame drawn (or
 * none was, or frame_diff_forget was called), and then it becomes the last
 * one, since the caller draws it.  false: the window already shows it.
 */
bool frame_diff_end(struct frame_diff *d);

/* The window's picture was lost or moved (exposed, resized): draw the next frame whatever it is. */
void frame_diff_forget(struct frame_diff *d);

#ifdef __cplusplus
}
#endif

#endif
