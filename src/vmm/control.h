/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM's event-loop thread: serial input into COM1 and the control
 * socket (docs/control-protocol.md).  It outlives guest reboots.
 */
#ifndef HUTCH_CONTROL_H
#define HUTCH_CONTROL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct machine;

struct vm_control {
	struct machine *m;
	int listen_fd;       /* control socket, -1 = none */
	char *sock_path;
	int serial_in_fd;    /* -1 = none */
	int wake_fd[2];      /* pipe: tells the loop to quit */
	pthread_t thread;
	bool running;
};

/* Bind the control socket (mode 0600) if @sock_path; start the thread. */
int control_start(struct vm_control *c, struct machine *m, const char *sock_path,
		  int serial_in_fd, char *err, size_t errlen);
/* Stop the thread, close and unlink the socket. */
void control_stop(struct vm_control *c);

#endif
