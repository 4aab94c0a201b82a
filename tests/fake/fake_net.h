/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A network back end for unit tests and fuzz targets: it records every
 * frame a NIC sends, and plays frames from the host to the NIC through
 * the real queue of net.c (delivered when the fake loop runs).
 */
#ifndef HUTCH_FAKE_NET_H
#define HUTCH_FAKE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_machine.h"
#include "net.h"

#define FAKE_NET_KEEP 256	/* frames kept (the rest only counted) */

struct fake_net {
	struct net_backend *nb;     /* pass as device_args.net */
	unsigned int sent;          /* frames the NIC sent */
	uint8_t *frames[FAKE_NET_KEEP];
	size_t lens[FAKE_NET_KEEP];
	unsigned int resumes;       /* rx_resume calls */
	bool keep_none;             /* fuzzing: count only */
};

/* A back end on @fm's loop with the cable in (@cable) or out. */
struct fake_net *fake_net_new(struct fake_machine *fm, bool cable);
/* net_backend_destroy + free (after the NIC is destroyed). */
void fake_net_free(struct fake_net *fn);
/* A frame from the host for the guest (net_deliver); run the fake loop to deliver it. */
bool fake_net_inject(struct fake_net *fn, const void *frame, size_t len);
/* Forget the recorded frames. */
void fake_net_clear(struct fake_net *fn);

#endif
