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

#define CONTROL_PAUSE_TIMEOUT_MS 5000

struct vm_control {
	struct machine *m;
	int listen_fd;       /* control socket, -1 = none */
	char *sock_path;
	int serial_in_fd;    /* -1 = none */
	int wake_fd[2];      /* pipe: tells the loop to quit */
	int pause_fd;        /* eventfd: the machine says a pause completed or ended */
	unsigned int pause_timeout_ms;   /* a pause not complete by then is undone */
	pthread_t thread;
	bool running;
};

/*
 * Bind the control socket (mode 0600) if @sock_path, and make the loop's
 * file descriptors; nothing is served yet.  hutch-vm does this before the
 * seccomp filter, which allows no socket(), bind() or listen().
 */
int control_open(struct vm_control *c, struct machine *m, const char *sock_path,
		 int serial_in_fd, char *err, size_t errlen);
/* Start serving (the event-loop thread).  0, or -errno + message. */
int control_start(struct vm_control *c, char *err, size_t errlen);
/* Stop the thread, close and unlink the socket. */
void control_stop(struct vm_control *c);

#endif
