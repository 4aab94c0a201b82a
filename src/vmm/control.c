// SPDX-License-Identifier: GPL-2.0-or-later
#include <ctype.h>
#include <errno.h>
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
#include <unistd.h>

#include "control.h"
#include "event_loop.h"
#include "devices.h"
#include "machine.h"
#include "screenshot.h"
#include "typist.h"

#define MAX_LINE     1024

struct control_client {
	struct vm_control *c;
	int fd;
	struct host_watch *watch;
	struct host_timer *pause_timer;   /* the pause's time limit */
	char buf[MAX_LINE + 1];
	size_t len;
	/*
	 * A 'pause' answered when the vCPUs have parked, not before: until
	 * then this client's later requests wait in buf (it is not read), so
	 * its answers stay in order, while other clients are served.
	 */
	bool pause_waiting;
	int64_t pause_deadline_ns;
	/*
	 * The last descriptor the client passed (SCM_RIGHTS), for the next
	 * 'screenshot'; -1 = none.  hutch-vm opens no path a client names:
	 * the client opens the file with its own rights and passes it.
	 */
	int passed_fd;
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

/* A long reply (screentext): as much as the socket takes now; the VM never waits. */
static void reply_buf(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void control_screenshot(struct vm_control *c, struct control_client *cl)
{
	const struct display_ops *ops;
	unsigned int w, h;
	void *opaque;
	char err[256];
	int fd = cl->passed_fd;

	cl->passed_fd = -1;   /* used once, whatever happens */
	if (fd < 0) {
		reply(cl->fd, "error screenshot: pass the file to write the PNG into with the request (SCM_RIGHTS)");
		return;
	}
	if (!machine_display(c->m, &ops, &opaque))
		reply(cl->fd, "error screenshot: this VM has no display");
	else if (screenshot_png(ops, opaque, fd, &w, &h, err, sizeof(err)))
		reply(cl->fd, "error screenshot: %s", err);
	else
		reply(cl->fd, "ok %ux%u", w, h);
	close(fd);
}

static void control_screentext(struct vm_control *c, struct control_client *cl)
{
	const struct display_ops *ops;
	void *opaque;
	char err[256];
	size_t len;
	char *text;

	if (!machine_display(c->m, &ops, &opaque)) {
		reply(cl->fd, "error screentext: this VM has no display");
		return;
	}
	text = screentext_format(ops, opaque, &len, err, sizeof(err));
	if (!text) {
		reply(cl->fd, "error screentext: %s", err);
		return;
	}
	reply_buf(cl->fd, text, len);
	free(text);
}

/*
 * "N rest" after a network request's verb: the adapter's back end and the
 * rest, or an error answered here (NULL).
 */
static struct net_backend *control_nic_arg(struct machine *m, int fd, const char *verb,
					   char *args, char **rest)
{
	char *end;
	unsigned long n = strtoul(args, &end, 10);
	struct net_backend *nb;

	if (end == args || (*end && *end != ' ') || n < 1 || n > NIC_MAX) {
		reply(fd, "error %s: expected an adapter number 1..%d", verb, NIC_MAX);
		return NULL;
	}
	nb = machine_nic(m, (unsigned int)n);
	if (!nb) {
		reply(fd, "error %s: the VM has no network adapter %lu", verb, n);
		return NULL;
	}
	while (*end == ' ')
		end++;
	*rest = end;
	return nb;
}

/* natpf N RULE | natpf N delete NAME (VirtualBox's controlvm natpf<N>). */
static void control_natpf(struct machine *m, int fd, char *args)
{
	char err[256], *rest;
	struct net_backend *nb = control_nic_arg(m, fd, "natpf", args, &rest);
	struct nic_fwd rule;
	int ret;

	if (!nb)
		return;
	if (!strncmp(rest, "delete ", 7)) {
		ret = net_fwd_delete(nb, rest + 7, err, sizeof(err));
	} else {
		ret = nic_fwd_parse(rest, &rule, err, sizeof(err));
		if (!ret)
			ret = net_fwd_add(nb, &rule, err, sizeof(err));
	}
	if (ret)
		reply(fd, "error %s", err);
	else
		reply(fd, "ok");
}

/* setlinkstate N on|off: plug or pull adapter N's cable. */
static void control_setlinkstate(struct machine *m, int fd, char *args)
{
	char *rest;
	struct net_backend *nb = control_nic_arg(m, fd, "setlinkstate", args, &rest);

	if (!nb)
		return;
	if (strcmp(rest, "on") && strcmp(rest, "off")) {
		reply(fd, "error setlinkstate: expected on or off, not '%.32s'", rest);
		return;
	}
	net_set_link(nb, !strcmp(rest, "on"));
	reply(fd, "ok");
}

/*
 * keyboardputstring's TEXT: the protocol is line-based, so vmctl sends a
 * newline as \n, a tab as \t, a backslash as \\ and any other byte as \xHH.
 */
static int unescape(const char *in, char *out, size_t *len, char *err, size_t errlen)
{
	size_t n = 0;

	while (*in) {
		if (*in != '\\') {
			out[n++] = *in++;
			continue;
		}
		in++;
		if (*in == 'n' || *in == 't' || *in == '\\') {
			out[n++] = *in == 'n' ? '\n' : *in == 't' ? '\t' : '\\';
			in++;
		} else if (*in == 'x' && isxdigit((unsigned char)in[1]) && isxdigit((unsigned char)in[2])) {
			char hex[3] = { in[1], in[2], 0 };

			out[n++] = (char)strtoul(hex, NULL, 16);
			in += 3;
		} else {
			snprintf(err, errlen, "unknown escape '\\%.1s' (\\n, \\t, \\\\ and \\xHH are known)", in);
			return -EINVAL;
		}
	}
	*len = n;
	return 0;
}

/* keyboardputstring TEXT | keyboardputscancode HEX...: queued for the typist. */
static void control_keyboard(struct vm_control *c, int fd, bool string, const char *args)
{
	static struct typist_event ev[4 * MAX_LINE];   /* the loop thread's alone (c->lock) */
	const char *verb = string ? "keyboardputstring" : "keyboardputscancode";
	char err[200], text[MAX_LINE + 1];
	unsigned int n = 0;
	size_t len;
	int ret;

	if (string) {
		ret = unescape(args, text, &len, err, sizeof(err));
		if (!ret)
			ret = typist_from_text(text, len, ev, sizeof(ev) / sizeof(ev[0]), &n, err,
					       sizeof(err));
	} else {
		ret = typist_from_scancodes(args, ev, sizeof(ev) / sizeof(ev[0]), &n, err, sizeof(err));
	}
	if (!ret && input_key_room(&c->m->input) < 0) {
		snprintf(err, sizeof(err), "this VM has no keyboard");
		ret = -ENODEV;
	}
	if (!ret && typist_queue(c->typist, ev, n)) {
		snprintf(err, sizeof(err), "%u key events still wait for the guest to read them; try again later",
			 typist_pending(c->typist));
		ret = -EBUSY;
	}
	if (ret)
		reply(fd, "error %s: %s", verb, err);
	else
		reply(fd, "ok");
}

/* "N" as a number in [lo, hi]; false if it is not. */
static bool parse_long(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return end != s && !*end && !errno && *v >= lo && *v <= hi;
}

/* pointer abs X Y [BUTTONS [WHEEL]] | pointer rel DX DY [BUTTONS [WHEEL]] */
static void control_pointer(struct machine *m, int fd, char *args)
{
	char *tok[6], *save = NULL;
	long x, y, buttons = 0, wheel = 0;
	unsigned int n = 0;
	bool abs_mode;
	int ret;

	for (char *t = strtok_r(args, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == 6) {
			n++;
			break;
		}
		tok[n++] = t;
	}
	if (n < 3 || n > 5 || (strcmp(tok[0], "abs") && strcmp(tok[0], "rel"))) {
		reply(fd, "error pointer: expected 'pointer abs X Y [BUTTONS [WHEEL]]' or 'pointer rel DX DY [BUTTONS [WHEEL]]'");
		return;
	}
	abs_mode = !strcmp(tok[0], "abs");
	if (!parse_long(tok[1], abs_mode ? 0 : -65536, abs_mode ? INPUT_ABS_MAX : 65536, &x) ||
	    !parse_long(tok[2], abs_mode ? 0 : -65536, abs_mode ? INPUT_ABS_MAX : 65536, &y)) {
		if (abs_mode)
			reply(fd, "error pointer: X and Y run 0..%u", INPUT_ABS_MAX);
		else
			reply(fd, "error pointer: DX and DY run -65536..65536");
		return;
	}
	if ((n > 3 && !parse_long(tok[3], 0, 7, &buttons)) ||
	    (n > 4 && !parse_long(tok[4], -127, 127, &wheel))) {
		reply(fd, "error pointer: BUTTONS is a mask 0..7 (1 left, 2 right, 4 middle), WHEEL -127..127");
		return;
	}
	if (abs_mode)
		ret = input_send_abs(&m->input, (unsigned int)x, (unsigned int)y, (int)wheel,
				     (unsigned int)buttons);
	else
		ret = input_send_rel(&m->input, (int)x, (int)y, (int)wheel, (unsigned int)buttons);
	if (ret && abs_mode)
		reply(fd, "error pointer: no absolute pointer is active (the guest has not started a tablet driver)");
	else if (ret)
		reply(fd, "error pointer: this VM has no mouse");
	else
		reply(fd, "ok");
}

static void control_handle(struct vm_control *c, struct control_client *cl, char *req)
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
			cl->pause_deadline_ns = event_loop_now_ns() +
						(int64_t)c->pause_timeout_ms * 1000000;
			host_timer_arm(cl->pause_timer, cl->pause_deadline_ns, 0);
			host_watch_set(cl->watch, 0);
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
	} else if (!strcmp(req, "screenshot")) {
		control_screenshot(c, cl);
	} else if (!strcmp(req, "screentext")) {
		control_screentext(c, cl);
	} else if (!strncmp(req, "natpf ", 6)) {
		control_natpf(m, fd, req + 6);
	} else if (!strncmp(req, "setlinkstate ", 13)) {
		control_setlinkstate(m, fd, req + 13);
	} else if (!strncmp(req, "keyboardputstring ", 18)) {
		control_keyboard(c, fd, true, req + 18);
	} else if (!strncmp(req, "keyboardputscancode ", 20) || !strcmp(req, "keyboardputscancode")) {
		control_keyboard(c, fd, false, req + 19);
	} else if (!strcmp(req, "keyboardleds")) {
		unsigned int leds = input_leds(&m->input);

		reply(fd, "ok num=%d caps=%d scroll=%d pending=%u", !!(leds & INPUT_LED_NUM),
		      !!(leds & INPUT_LED_CAPS), !!(leds & INPUT_LED_SCROLL), typist_pending(c->typist));
	} else if (!strncmp(req, "pointer ", 8)) {
		control_pointer(m, fd, req + 8);
	} else if (!*req) {
		reply(fd, "error empty request");
	} else {
		char word[64];

		snprintf(word, sizeof(word), "%s", req);
		reply(fd, "error unknown request '%s'", word);
	}
}

/* Handle the complete lines in a client's buffer, until one must wait. */
static void control_client_lines(struct vm_control *c, struct control_client *cl)
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

/*
 * Read what a client sent, keeping a descriptor that came with it (the
 * newest wins; one never used is closed); handle complete lines.
 * false = drop the client.
 */
static bool control_client_input(struct vm_control *c, struct control_client *cl)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = cl->buf + cl->len, .iov_len = MAX_LINE - cl->len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(cl->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n >= 0) {
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
			size_t nfds;

			if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
				continue;
			nfds = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfds; i++) {
				int pfd;

				memcpy(&pfd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
				if (cl->passed_fd >= 0)
					close(cl->passed_fd);
				cl->passed_fd = pfd;
			}
		}
	}
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
 * Forget a client (c->lock held, on the loop thread: its watch and timer
 * are freed without waiting, even from the client's own callback).
 */
static void control_drop_client(struct vm_control *c, unsigned int i)
{
	struct control_client *cl = c->clients[i];

	host_watch_free(cl->watch);
	host_timer_free(cl->pause_timer);
	if (cl->passed_fd >= 0)
		close(cl->passed_fd);
	close(cl->fd);
	free(cl);
	c->clients[i] = c->clients[--c->nr_clients];
	host_watch_set(c->listen_watch, HOST_FD_IN);   /* room for one more */
}

/*
 * Answer the clients waiting for a pause: "ok" once every vCPU is parked;
 * an error if the pause ended without completing (a resume or reset came
 * first) or did not complete in time.  A timed-out pause is undone, so
 * the VM is running and says so: never half paused.  Called whenever
 * the answer may have changed: the machine's pause eventfd, a pause's
 * timer, and after every request handled (a 'resume' ends a pause).
 */
static void control_pause_progress(struct vm_control *c)
{
	int64_t now = event_loop_now_ns();

	for (unsigned int i = 0; i < c->nr_clients; i++) {
		struct control_client *cl = c->clients[i];
		enum machine_pause_state st;

		if (!cl->pause_waiting)
			continue;
		/* Anew for each: a client answered before may have sent 'resume' next. */
		st = machine_pause_state(c->m);
		if (st == MACHINE_PAUSED) {
			reply(cl->fd, "ok");
		} else if (st == MACHINE_RUNNING) {
			reply(cl->fd, "error cannot pause: the VM was resumed or reset before every vCPU stopped");
		} else if (now >= cl->pause_deadline_ns) {
			machine_resume(c->m);
			reply(cl->fd, "error cannot pause: the vCPUs did not stop within %u ms; the VM keeps running",
			      c->pause_timeout_ms);
		} else {
			continue;
		}
		cl->pause_waiting = false;
		host_timer_cancel(cl->pause_timer);
		host_watch_set(cl->watch, HOST_FD_IN);
		control_client_lines(c, cl);   /* its requests that waited */
	}
}

static unsigned int client_index(const struct vm_control *c, const struct control_client *cl)
{
	unsigned int i = 0;

	while (i < c->nr_clients && c->clients[i] != cl)
		i++;
	return i;
}

/* A client sent something, or hung up (loop thread, c->lock held). */
static void control_client_ready(void *opaque, unsigned int revents)
{
	struct control_client *cl = opaque;
	struct vm_control *c = cl->c;
	unsigned int i = client_index(c, cl);

	if (i == c->nr_clients)
		return;
	if (!(revents & HOST_FD_IN) || !control_client_input(c, cl))
		control_drop_client(c, i);
	control_pause_progress(c);
}

static void control_pause_timer(void *opaque)
{
	struct control_client *cl = opaque;

	control_pause_progress(cl->c);
}

static void control_pause_event(void *opaque, unsigned int revents)
{
	struct vm_control *c = opaque;
	uint64_t v;

	(void)revents;
	(void)!read(c->pause_fd, &v, sizeof(v));
	control_pause_progress(c);
}

static void control_accept(void *opaque, unsigned int revents)
{
	struct vm_control *c = opaque;
	struct machine *m = c->m;
	struct control_client *cl;
	int fd;

	(void)revents;
	if (c->nr_clients == CONTROL_MAX_CLIENTS) {
		host_watch_set(c->listen_watch, 0);   /* the backlog waits until one leaves */
		return;
	}
	fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	cl = calloc(1, sizeof(*cl));
	if (cl) {
		cl->c = c;
		cl->fd = fd;
		cl->passed_fd = -1;
		cl->pause_timer = host_timer_new(&event_loop_ops, m->loop, &c->lock,
						 control_pause_timer, cl);
		if (cl->pause_timer)
			cl->watch = host_watch_new(&event_loop_ops, m->loop, fd, HOST_FD_IN, &c->lock,
						   control_client_ready, cl);
	}
	if (!cl || !cl->watch) {
		if (cl)
			host_timer_free(cl->pause_timer);
		free(cl);
		close(fd);
		return;
	}
	c->clients[c->nr_clients++] = cl;
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
		 char *err, size_t errlen)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->m = m;
	c->listen_fd = -1;
	c->pause_timeout_ms = CONTROL_PAUSE_TIMEOUT_MS;
	pthread_mutex_init(&c->lock, NULL);
	c->typist = calloc(1, sizeof(*c->typist));
	if (!c->typist) {
		snprintf(err, errlen, "control: out of memory");
		return -ENOMEM;
	}
	c->pause_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->pause_fd < 0) {
		snprintf(err, errlen, "control: %s", strerror(errno));
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
	struct machine *m = c->m;

	if (!m->loop) {
		snprintf(err, errlen, "control: the machine has no event loop");
		return -EINVAL;
	}
	pthread_mutex_lock(&m->lock);
	m->pause_notify_fd = c->pause_fd;
	pthread_mutex_unlock(&m->lock);
	c->started = true;
	c->pause_watch = host_watch_new(&event_loop_ops, m->loop, c->pause_fd, HOST_FD_IN, &c->lock,
					control_pause_event, c);
	if (typist_init(c->typist, &m->input, &event_loop_ops, m->loop, &c->lock)) {
		snprintf(err, errlen, "control: the typist's timer: %s", strerror(errno));
		return -EIO;
	}
	if (c->pause_watch && c->listen_fd >= 0)
		c->listen_watch = host_watch_new(&event_loop_ops, m->loop, c->listen_fd, HOST_FD_IN,
						 &c->lock, control_accept, c);
	if (!c->pause_watch || (c->listen_fd >= 0 && !c->listen_watch)) {
		snprintf(err, errlen, "control: watching the socket: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}

void control_stop(struct vm_control *c)
{
	struct control_client *clients[CONTROL_MAX_CLIENTS];
	struct host_watch *listen_watch, *pause_watch;
	unsigned int nr;

	if (!c->m)
		return;   /* never opened */
	/*
	 * Under c->lock no control callback runs, and one the loop is about
	 * to run re-checks its watch or timer under that lock: with every
	 * interest dropped and every timer cancelled, none will.  The frees
	 * come after the lock (a free waits for a callback still running).
	 */
	pthread_mutex_lock(&c->lock);
	listen_watch = c->listen_watch;
	pause_watch = c->pause_watch;
	host_watch_set(listen_watch, 0);
	host_watch_set(pause_watch, 0);
	nr = c->nr_clients;
	for (unsigned int i = 0; i < nr; i++) {
		clients[i] = c->clients[i];
		host_watch_set(clients[i]->watch, 0);
		host_timer_cancel(clients[i]->pause_timer);
	}
	c->nr_clients = 0;
	c->listen_watch = c->pause_watch = NULL;
	if (c->typist)
		typist_cancel(c->typist);
	pthread_mutex_unlock(&c->lock);
	if (c->typist) {
		typist_free(c->typist);
		free(c->typist);
		c->typist = NULL;
	}

	host_watch_free(listen_watch);
	host_watch_free(pause_watch);
	for (unsigned int i = 0; i < nr; i++) {
		host_watch_free(clients[i]->watch);
		host_timer_free(clients[i]->pause_timer);
		if (clients[i]->passed_fd >= 0)
			close(clients[i]->passed_fd);
		close(clients[i]->fd);
		free(clients[i]);
	}
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	c->listen_fd = -1;
	if (c->sock_path) {
		unlink(c->sock_path);
		free(c->sock_path);
		c->sock_path = NULL;
	}
	pthread_mutex_lock(&c->m->lock);
	if (c->m->pause_notify_fd == c->pause_fd)
		c->m->pause_notify_fd = -1;
	pthread_mutex_unlock(&c->m->lock);
	if (c->pause_fd >= 0)
		close(c->pause_fd);
	c->pause_fd = -1;
	c->started = false;
}
