/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket (docs/control-protocol.md), served by the VM's event
 * loop (event_loop.h): the listening socket, each client and the machine's
 * pause eventfd are loop watches, a pause's time limit is a loop timer.
 * Every one of them runs under the control's own lock, so the loop never
 * runs two control callbacks at once and control_stop can cancel them
 * exactly.
 */
#ifndef HUTCH_CONTROL_H
#define HUTCH_CONTROL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "host_loop.h"

struct machine;
struct control_client;
struct typist;

#define CONTROL_PAUSE_TIMEOUT_MS 5000
#define CONTROL_MAX_CLIENTS      16

struct vm_control {
	struct machine *m;           /* its loop (m->loop) serves the socket */
	int listen_fd;               /* control socket, -1 = none */
	char *sock_path;
	int pause_fd;                /* eventfd: the machine says a pause completed or ended */
	unsigned int pause_timeout_ms;   /* a pause not complete by then is undone */
	pthread_mutex_t lock;        /* held by every control callback; guards what follows */
	struct host_watch *listen_watch, *pause_watch;
	struct control_client *clients[CONTROL_MAX_CLIENTS];
	unsigned int nr_clients;
	struct typist *typist;       /* keyboardputstring/keyboardputscancode's queue */
	bool started;
};

/*
 * Bind the control socket (mode 0600) if @sock_path, and make the pause
 * eventfd; nothing is served yet.  hutch-vm does this before the seccomp
 * filter, which allows no socket(), bind() or listen().
 */
int control_open(struct vm_control *c, struct machine *m, const char *sock_path,
		 char *err, size_t errlen);
/* Start serving on the machine's event loop.  0, or -errno + message. */
int control_start(struct vm_control *c, char *err, size_t errlen);
/* Stop serving (no control callback runs afterwards), close and unlink the socket. */
void control_stop(struct vm_control *c);

#endif
