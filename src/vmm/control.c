// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "thread.h"
#include "control.h"
#include "devices.h"
#include "machine.h"

#define MAX_CLIENTS  16
#define MAX_LINE     1024

struct client {
	int fd;
	char buf[MAX_LINE + 1];
	size_t len;
	/*
	 * A 'pause' answered when the vCPUs have parked, not before: until
	 * then this client's later requests wait in buf, so its answers
	 * stay in order, while other clients are served.
	 */
	bool pause_waiting;
	int64_t pause_deadline_ms;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(int fd, const char *fmt, ...)
{
	char line[MAX_LINE + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* Replies are short; a client that does not read loses its reply, the VM does not block. */
	(void)send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void control_handle(struct vm_control *c, struct client *cl, char *req)
{
	struct machine *m = c->m;
	int fd = cl->fd;
	char *end = req + strlen(req);

	while (end > req && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
		*--end = 0;
	while (*req == ' ' || *req == '\t')
		req++;

	if (!strcmp(req, "status")) {
		reply(fd, "ok %s", machine_is_paused(m) ? "paused" : "running");
	} else if (!strcmp(req, "info")) {
		reply(fd, "ok pid=%d cpus=%u memory=%llu state=%s", (int)getpid(), m->cfg.cpus,
		      (unsigned long long)m->cfg.memory_mib,
		      machine_is_paused(m) ? "paused" : "running");
	} else if (!strcmp(req, "version")) {
		reply(fd, "ok %s", HUTCH_VERSION);
	} else if (!strcmp(req, "pause")) {
		int ret = machine_pause_begin(m);

		if (ret) {
			reply(fd, "error cannot pause: %s", strerror(-ret));
		} else if (machine_pause_state(m) == MACHINE_PAUSED) {
			reply(fd, "ok");
		} else {
			cl->pause_waiting = true;   /* answered by control_pause_progress */
			cl->pause_deadline_ms = now_ms() + c->pause_timeout_ms;
		}
	} else if (!strcmp(req, "resume")) {
		machine_resume(m);
		reply(fd, "ok");
	} else if (!strcmp(req, "reset")) {
		pthread_mutex_lock(&m->lock);
		m->reset_by_user = true;
		pthread_mutex_unlock(&m->lock);
		machine_request(m, MACHINE_EV_RESET, "reset by control request");
		reply(fd, "ok");
	} else if (!strcmp(req, "poweroff")) {
		reply(fd, "ok");
		machine_request(m, MACHINE_EV_POWEROFF, "powered off by control request");
	} else if (!strcmp(req, "acpipowerbutton")) {
		acpi_pm_press_power_button(m->acpi_pm);
		reply(fd, "ok");
	} else if (!*req) {
		reply(fd, "error empty request");
	} else {
		char word[64];

		snprintf(word, sizeof(word), "%s", req);
		reply(fd, "error unknown request '%s'", word);
	}
}

/* Handle the complete lines in a client's buffer, until one must wait. */
static void control_client_lines(struct vm_control *c, struct client *cl)
{
	char *nl;

	while (!cl->pause_waiting && (nl = memchr(cl->buf, '\n', cl->len))) {
		*nl = 0;
		control_handle(c, cl, cl->buf);
		cl->len -= (size_t)(nl + 1 - cl->buf);
		memmove(cl->buf, nl + 1, cl->len);
		cl->buf[cl->len] = 0;
	}
}

/* Read what a client sent; handle complete lines.  false = drop the client. */
static bool control_client_input(struct vm_control *c, struct client *cl)
{
	ssize_t n = read(cl->fd, cl->buf + cl->len, MAX_LINE - cl->len);

	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	cl->len += (size_t)n;
	cl->buf[cl->len] = 0;
	control_client_lines(c, cl);
	if (cl->len == MAX_LINE && !cl->pause_waiting) {
		reply(cl->fd, "error request longer than %d bytes", MAX_LINE);
		return false;
	}
	return true;
}

/*
 * Answer the clients waiting for a pause: "ok" once every vCPU is parked;
 * an error if the pause ended without completing (a resume or reset came
 * first) or did not complete in time.  A timed-out pause is undone, so
 * the VM is running and says so: never half paused.
 */
static void control_pause_progress(struct vm_control *c, struct client *clients, unsigned int nr)
{
	int64_t now = now_ms();

	for (unsigned int i = 0; i < nr; i++) {
		struct client *cl = &clients[i];
		enum machine_pause_state st;

		if (!cl->pause_waiting)
			continue;
		/* Anew for each: a client answered before may have sent 'resume' next. */
		st = machine_pause_state(c->m);
		if (st == MACHINE_PAUSED) {
			reply(cl->fd, "ok");
		} else if (st == MACHINE_RUNNING) {
			reply(cl->fd, "error cannot pause: the VM was resumed or reset before every vCPU stopped");
		} else if (now >= cl->pause_deadline_ms) {
			machine_resume(c->m);
			reply(cl->fd, "error cannot pause: the vCPUs did not stop within %u ms; the VM keeps running",
			      c->pause_timeout_ms);
		} else {
			continue;
		}
		cl->pause_waiting = false;
		control_client_lines(c, cl);   /* its requests that waited */
	}
}

/* Milliseconds until the first pause deadline, or -1 if none. */
static int control_pause_timeout(const struct client *clients, unsigned int nr)
{
	int64_t now = now_ms(), first = -1;

	for (unsigned int i = 0; i < nr; i++) {
		int64_t left;

		if (!clients[i].pause_waiting)
			continue;
		left = clients[i].pause_deadline_ms - now;
		if (left < 0)
			left = 0;
		if (first < 0 || left < first)
			first = left;
	}
	return first > INT32_MAX ? INT32_MAX : (int)first;
}

static void serial_input(struct vm_control *c)
{
	uint8_t buf[64];
	size_t space = uart16550_rx_space(c->m->uart);
	ssize_t n;

	if (space > sizeof(buf))
		space = sizeof(buf);
	n = read(c->serial_in_fd, buf, space);
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		c->serial_in_fd = -1;  /* EOF: the guest just gets no more input */
		return;
	}
	if (n > 0)
		uart16550_receive(c->m->uart, buf, (size_t)n);
}

static void *control_thread(void *arg)
{
	struct vm_control *c = arg;
	struct client clients[MAX_CLIENTS];
	unsigned int nr = 0;

	pthread_setname_np(pthread_self(), "event-loop");
	for (;;) {
		struct pollfd pfd[4 + MAX_CLIENTS];
		unsigned int n = 0, first_client;
		int serial_slot = -1, listen_slot = -1, timeout, pause_timeout;
		uint64_t events;

		timeout = -1;
		pfd[n++] = (struct pollfd){ .fd = c->wake_fd[0], .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = c->pause_fd, .events = POLLIN };
		if (c->serial_in_fd >= 0) {
			/* Back-pressure: leave input unread while the UART's FIFO is full. */
			if (uart16550_rx_space(c->m->uart)) {
				serial_slot = (int)n;
				pfd[n++] = (struct pollfd){ .fd = c->serial_in_fd, .events = POLLIN };
			} else {
				timeout = 10;
			}
		}
		if (c->listen_fd >= 0 && nr < MAX_CLIENTS) {
			listen_slot = (int)n;
			pfd[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
		}
		first_client = n;
		/* A client waiting for its pause is not read meanwhile (its buffer is bounded). */
		for (unsigned int i = 0; i < nr; i++)
			pfd[n++] = (struct pollfd){ .fd = clients[i].fd,
						    .events = clients[i].pause_waiting ? 0 : POLLIN };
		pause_timeout = control_pause_timeout(clients, nr);
		if (pause_timeout >= 0 && (timeout < 0 || pause_timeout < timeout))
			timeout = pause_timeout;

		if (poll(pfd, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents)
			(void)!read(c->pause_fd, &events, sizeof(events));
		if (serial_slot >= 0 && pfd[serial_slot].revents)
			serial_input(c);
		for (unsigned int i = nr; i-- > 0;) {
			if (!pfd[first_client + i].revents)
				continue;
			/* POLLHUP/POLLERR of a waiting client: it is gone, drop it. */
			if (clients[i].pause_waiting || !control_client_input(c, &clients[i])) {
				close(clients[i].fd);
				clients[i] = clients[--nr];
			}
		}
		/* After the requests: a 'resume' just handled ends a pause in progress too. */
		control_pause_progress(c, clients, nr);
		if (listen_slot >= 0 && (pfd[listen_slot].revents & POLLIN)) {
			int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (fd >= 0) {
				clients[nr] = (struct client){ .fd = fd };
				nr++;
			}
		}
	}
	for (unsigned int i = 0; i < nr; i++)
		close(clients[i].fd);
	return NULL;
}

static int control_bind(struct vm_control *c, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--control %s: socket path too long (at most %zu bytes)",
			 path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	/* A stale socket of a VM that died is replaced; a live one is refused. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		snprintf(err, errlen, "--control %s: another VM is listening there", path);
		return -EADDRINUSE;
	}
	unlink(path);
	old = umask(0177);  /* socket mode 0600 from the start, no window */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		goto fail;
	}
	umask(old);
	if (listen(fd, 8) < 0)
		goto fail;
	c->listen_fd = fd;
	return 0;
fail:
	snprintf(err, errlen, "--control %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -EIO;
}

int control_open(struct vm_control *c, struct machine *m, const char *sock_path,
		 int serial_in_fd, char *err, size_t errlen)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->m = m;
	c->listen_fd = -1;
	c->wake_fd[0] = c->wake_fd[1] = -1;
	c->serial_in_fd = serial_in_fd;
	c->pause_timeout_ms = CONTROL_PAUSE_TIMEOUT_MS;
	c->pause_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->pause_fd < 0 || pipe2(c->wake_fd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "event loop: %s", strerror(errno));
		return -errno;
	}
	if (sock_path) {
		ret = control_bind(c, sock_path, err, errlen);
		if (ret)
			return ret;
		c->sock_path = strdup(sock_path);
	}
	return 0;
}

int control_start(struct vm_control *c, char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&c->m->lock);
	c->m->pause_notify_fd = c->pause_fd;
	pthread_mutex_unlock(&c->m->lock);
	ret = hutch_thread_create(&c->thread, control_thread, c);
	if (ret) {
		snprintf(err, errlen, "starting the event loop: %s", strerror(ret));
		return -ret;
	}
	c->running = true;
	return 0;
}

void control_stop(struct vm_control *c)
{
	if (c->running) {
		(void)!write(c->wake_fd[1], "q", 1);
		pthread_join(c->thread, NULL);
		c->running = false;
	}
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	c->listen_fd = -1;
	if (c->sock_path) {
		unlink(c->sock_path);
		free(c->sock_path);
		c->sock_path = NULL;
	}
	if (c->m) {
		pthread_mutex_lock(&c->m->lock);
		if (c->m->pause_notify_fd == c->pause_fd)
			c->m->pause_notify_fd = -1;
		pthread_mutex_unlock(&c->m->lock);
	}
	for (int i = 0; i < 2; i++)
		if (c->wake_fd[i] >= 0)
			close(c->wake_fd[i]);
	c->wake_fd[0] = c->wake_fd[1] = -1;
	if (c->pause_fd >= 0)
		close(c->pause_fd);
	c->pause_fd = -1;
}
