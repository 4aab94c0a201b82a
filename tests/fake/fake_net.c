// SPDX-License-Identifier: GPL-2.0-or-later
/* A recording network back end for tests (fake_net.h). */
#include <stdlib.h>
#include <string.h>

#include "fake_net.h"
#include "net_backend.h"

static void fake_net_send(void *priv, const struct iovec *iov, int iovcnt, size_t len)
{
	struct fake_net *fn = priv;
	unsigned int i = fn->sent++;
	uint8_t *buf;
	size_t off = 0;

	if (fn->keep_none || i >= FAKE_NET_KEEP)
		return;
	buf = malloc(len ? len : 1);
	if (!buf)
		abort();
	for (int k = 0; k < iovcnt && off < len; k++) {
		size_t n = iov[k].iov_len < len - off ? iov[k].iov_len : len - off;

		memcpy(buf + off, iov[k].iov_base, n);
		off += n;
	}
	fn->frames[i] = buf;
	fn->lens[i] = off;
}

static void fake_net_rx_resume(void *priv)
{
	((struct fake_net *)priv)->resumes++;
}

static void fake_net_destroy(void *priv)
{
	(void)priv;   /* freed by fake_net_free */
}

static const struct net_backend_ops fake_net_ops = {
	.kind = "fake",
	.send = fake_net_send,
	.rx_resume = fake_net_rx_resume,
	.destroy = fake_net_destroy,
};

struct fake_net *fake_net_new(struct fake_machine *fm, bool cable)
{
	struct fake_net *fn = calloc(1, sizeof(*fn));

	if (!fn)
		abort();
	fn->nb = net_backend_new_bare("fake-nic", cable, fm->host.loop_ops, fm->host.loop);
	if (!fn->nb)
		abort();
	net_backend_bind(fn->nb, &fake_net_ops, fn);
	return fn;
}

void fake_net_clear(struct fake_net *fn)
{
	for (unsigned int i = 0; i < FAKE_NET_KEEP; i++) {
		free(fn->frames[i]);
		fn->frames[i] = NULL;
		fn->lens[i] = 0;
	}
	fn->sent = 0;
}

void fake_net_free(struct fake_net *fn)
{
	if (!fn)
		return;
	net_backend_destroy(fn->nb);
	fake_net_clear(fn);
	free(fn);
}

bool fake_net_inject(struct fake_net *fn, const void *frame, size_t len)
{
	return net_deliver(fn->nb, frame, len);
}
