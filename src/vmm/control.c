// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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
};

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

static void control_handle(struct vm_control *c, int fd, char *req)
{
	struct machine *m = c->m;
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
		int ret = machine_pause(m);

		if (ret)
			reply(fd, "error cannot pause: %s", strerror(-ret));
		else
			reply(fd, "ok");
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

/* Read what a client sent; handle complete lines.  false = drop the client. */
static bool control_client_input(struct vm_control *c, struct client *cl)
{
	ssize_t n = read(cl->fd, cl->buf + cl->len, MAX_LINE - cl->len);
	char *nl;

	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	cl->len += (size_t)n;
	cl->buf[cl->len] = 0;
	while ((nl = memchr(cl->buf, '\n', cl->len))) {
		*nl = 0;
		control_handle(c, cl->fd, cl->buf);
		cl->len -= (size_t)(nl + 1 - cl->buf);
		memmove(cl->buf, nl + 1, cl->len);
		cl->buf[cl->len] = 0;
	}
	if (cl->len == MAX_LINE) {
		reply(cl->fd, "error request longer than %d bytes", MAX_LINE);
		return false;
	}
	return true;
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
		struct pollfd pfd[3 + MAX_CLIENTS];
		unsigned int n = 0, first_client;
		int serial_slot = -1, listen_slot = -1, timeout = -1;

		pfd[n++] = (struct pollfd){ .fd = c->wake_fd[0], .events = POLLIN };
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
		for (unsigned int i = 0; i < nr; i++)
			pfd[n++] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };

		if (poll(pfd, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		if (serial_slot >= 0 && pfd[serial_slot].revents)
			serial_input(c);
		for (unsigned int i = nr; i-- > 0;) {
			if (!pfd[first_client + i].revents)
				continue;
			if (!control_client_input(c, &clients[i])) {
				close(clients[i].fd);
				clients[i] = clients[--nr];
			}
		}
		if (listen_slot >= 0 && (pfd[listen_slot].revents & POLLIN)) {
			int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (fd >= 0) {
				clients[nr].fd = fd;
				clients[nr].len = 0;
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

int control_start(struct vm_control *c, struct machine *m, const char *sock_path,
		  int serial_in_fd, char *err, size_t errlen)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->m = m;
	c->listen_fd = -1;
	c->serial_in_fd = serial_in_fd;
	if (pipe2(c->wake_fd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	if (sock_path) {
		ret = control_bind(c, sock_path, err, errlen);
		if (ret)
			return ret;
		c->sock_path = strdup(sock_path);
	}
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
	for (int i = 0; i < 2; i++)
		if (c->wake_fd[i] > 0)
			close(c->wake_fd[i]);
}
