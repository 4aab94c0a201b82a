// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The control socket's pause (src/vmm/control.c, machine.c) against a
 * machine without KVM: "vCPUs" are test threads that pass through
 * machine_vcpu_checkpoint() as vcpu.c's threads do between exits.
 * A pause never blocks the event loop, is answered when every vCPU has
 * parked, and one that cannot complete is undone: the reported state is
 * always the real one (issue 8, finding 8).
 *
 * Screenshots and screentext against a fake display (this file's own
 * display_ops): the PNG goes into the descriptor the client passed, and
 * blank screens, render errors and mode changes get clear answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "control.h"
#include "display.h"
#include "event_loop.h"
#include "machine.h"
#include "typist.h"

struct fixture {
	struct machine m;
	struct vm_control ctl;
	char dir[64];
	char sock[128];
	pthread_t vcpu[2];
	unsigned int nr_vcpu_threads;
};

static void *fake_vcpu(void *arg)
{
	struct machine *m = arg;

	while (machine_vcpu_checkpoint(m))
		usleep(1000);   /* "in the guest" */
	return NULL;
}

/* A machine with @nr vCPUs of which @running pass through checkpoints. */
static void setup_machine(struct fixture *f, unsigned int nr, unsigned int running,
			  unsigned int pause_timeout_ms)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->m.lock, NULL);
	pthread_cond_init(&f->m.cond, NULL);
	f->m.pause_notify_fd = -1;
	f->m.nr_vcpus = nr;
	f->m.loop = event_loop_create(err, sizeof(err));   /* the control socket is its client */
	assert_non_null(f->m.loop);
	assert_int_equal(event_loop_start(f->m.loop, err, sizeof(err)), 0);
	strcpy(f->dir, "/tmp/hutch-test-control-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/ctl.sock", f->dir);
	assert_int_equal(control_open(&f->ctl, &f->m, f->sock, err, sizeof(err)), 0);
	f->ctl.pause_timeout_ms = pause_timeout_ms;
	assert_int_equal(control_start(&f->ctl, err, sizeof(err)), 0);
	for (unsigned int i = 0; i < running; i++)
		assert_int_equal(pthread_create(&f->vcpu[i], NULL, fake_vcpu, &f->m), 0);
	f->nr_vcpu_threads = running;
}

static void teardown_machine(struct fixture *f)
{
	pthread_mutex_lock(&f->m.lock);
	f->m.stopping = true;
	pthread_cond_broadcast(&f->m.cond);
	pthread_mutex_unlock(&f->m.lock);
	for (unsigned int i = 0; i < f->nr_vcpu_threads; i++)
		pthread_join(f->vcpu[i], NULL);
	control_stop(&f->ctl);
	event_loop_destroy(f->m.loop);   /* complains if control_stop left a watch or timer */
	rmdir(f->dir);
}

static int client(const struct fixture *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, f->sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One reply line (without "\n") within @ms, else "" (timed out). */
static void read_line(int fd, char *line, size_t size, int ms)
{
	size_t len = 0;
	int64_t end = now_ms() + ms;

	line[0] = 0;
	while (len + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = end - now_ms();
		char c;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (read(fd, &c, 1) != 1)
			break;
		if (c == '\n') {
			line[len] = 0;
			return;
		}
		line[len++] = c;
		line[len] = 0;
	}
	line[0] = 0;   /* no whole line in time */
}

/* A vCPU that does not park (stuck in a device) must not block the loop. */
static void test_pause_never_blocks_other_clients(void **state)
{
	static struct fixture f;
	char line[256];
	int a, b;
	int64_t t0;

	(void)state;
	setup_machine(&f, 2, 1, 4000);   /* vCPU 1 never reaches a checkpoint */
	a = client(&f);
	b = client(&f);
	send_str(a, "pause\n");
	usleep(50000);
	t0 = now_ms();
	send_str(b, "status\n");
	/* Answered long before the pause's 4 s are up (loaded CI machines: 2 s). */
	read_line(b, line, sizeof(line), 2000);
	assert_string_equal(line, "ok running");   /* not paused: vCPU 1 still runs */
	assert_true(now_ms() - t0 < 2000);
	send_str(b, "version\n");
	read_line(b, line, sizeof(line), 5000);
	assert_int_equal(strncmp(line, "ok ", 3), 0);

	/* The pause times out: an error, and the VM is running again, for real. */
	read_line(a, line, sizeof(line), 10000);
	assert_int_equal(strncmp(line, "error cannot pause: the vCPUs did not stop", 42), 0);
	assert_int_equal(machine_pause_state(&f.m), MACHINE_RUNNING);
	send_str(b, "status\n");
	read_line(b, line, sizeof(line), 5000);
	assert_string_equal(line, "ok running");
	/* The vCPU that did park is back to running. */
	for (int i = 0; i < 200; i++) {
		unsigned int parked;

		pthread_mutex_lock(&f.m.lock);
		parked = f.m.vcpus_parked;
		pthread_mutex_unlock(&f.m.lock);
		if (!parked)
			break;
		usleep(10000);
	}
	pthread_mutex_lock(&f.m.lock);
	assert_int_equal(f.m.vcpus_parked, 0);
	pthread_mutex_unlock(&f.m.lock);
	close(a);
	close(b);
	teardown_machine(&f);
}

/* Every vCPU parks: "ok" then, and later requests of that client in order. */
static void test_pause_answered_when_parked(void **state)
{
	static struct fixture f;
	char line[256];
	int a;

	(void)state;
	setup_machine(&f, 2, 2, 5000);
	a = client(&f);
	send_str(a, "pause\nstatus\ninfo\n");   /* pipelined */
	read_line(a, line, sizeof(line), 10000);
	assert_string_equal(line, "ok");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "ok paused");
	read_line(a, line, sizeof(line), 5000);
	assert_non_null(strstr(line, "state=paused"));
	pthread_mutex_lock(&f.m.lock);
	assert_int_equal(f.m.vcpus_parked, 2);
	pthread_mutex_unlock(&f.m.lock);
	/* Pausing a paused VM is answered at once. */
	send_str(a, "pause\n");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "ok");
	send_str(a, "resume\nstatus\n");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "ok");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "ok running");
	close(a);
	teardown_machine(&f);
}

/* A resume from another client while a pause waits: the pause fails, the VM runs. */
static void test_resume_cancels_a_pause_in_progress(void **state)
{
	static struct fixture f;
	char line[256];
	int a, b;

	(void)state;
	setup_machine(&f, 1, 0, 30000);   /* the only vCPU never parks */
	a = client(&f);
	b = client(&f);
	send_str(a, "pause\n");
	usleep(50000);
	send_str(b, "resume\n");
	read_line(b, line, sizeof(line), 5000);
	assert_string_equal(line, "ok");
	read_line(a, line, sizeof(line), 5000);
	assert_int_equal(strncmp(line, "error cannot pause: the VM was resumed or reset", 47), 0);
	send_str(a, "status\n");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "ok running");
	close(a);
	close(b);
	teardown_machine(&f);
}

/* A client that leaves while its pause waits is dropped; the others go on. */
static void test_client_gone_while_waiting(void **state)
{
	static struct fixture f;
	char line[256];
	int a, b;

	(void)state;
	setup_machine(&f, 1, 0, 30000);
	a = client(&f);
	send_str(a, "pause\n");
	usleep(50000);
	close(a);
	usleep(50000);
	b = client(&f);
	send_str(b, "resume\nstatus\n");
	read_line(b, line, sizeof(line), 5000);
	assert_string_equal(line, "ok");
	read_line(b, line, sizeof(line), 5000);
	assert_string_equal(line, "ok running");
	close(b);
	teardown_machine(&f);
}

/*
 * At most CONTROL_MAX_CLIENTS at once: one more waits in the backlog, and
 * is served as soon as another leaves (the loop's listening watch is
 * dropped while full and taken up again).
 */
static void test_client_limit_and_backlog(void **state)
{
	static struct fixture f;
	int fds[CONTROL_MAX_CLIENTS], extra;
	char line[256];

	(void)state;
	setup_machine(&f, 1, 1, 5000);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		fds[i] = client(&f);
		send_str(fds[i], "version\n");
		read_line(fds[i], line, sizeof(line), 5000);
		assert_int_equal(strncmp(line, "ok ", 3), 0);
	}
	extra = client(&f);   /* connect() succeeds: the backlog */
	send_str(extra, "status\n");
	read_line(extra, line, sizeof(line), 300);
	assert_string_equal(line, "");   /* not served while 16 are connected */
	close(fds[0]);
	read_line(extra, line, sizeof(line), 5000);
	assert_string_equal(line, "ok running");
	for (int i = 1; i < CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);
	close(extra);
	teardown_machine(&f);
}

/* ---- screenshots and screentext ---- */

/*
 * A display whose mode the test sets; render draws a pattern from the
 * pixel's position and the mode's generation, and can fail or change
 * the mode under the caller as a guest would.
 */
struct fake_display {
	pthread_mutex_t lock;
	struct display_info info;
	int render_error;            /* returned by render if non-zero */
	unsigned int changes_left;   /* renders that first switch the mode */
	unsigned int change_w, change_h;
	unsigned int renders;
	struct display_text text;
};

static uint32_t pattern_px(unsigned int x, unsigned int y, uint64_t gen)
{
	return (uint32_t)((x * 7 + gen * 40) & 0xff) << 16 | ((y * 5) & 0xff) << 8 | ((x ^ y) & 0xff);
}

static void fd_get_info(void *opaque, struct display_info *info)
{
	struct fake_display *d = opaque;

	pthread_mutex_lock(&d->lock);
	*info = d->info;
	pthread_mutex_unlock(&d->lock);
}

static int fd_render(void *opaque, uint32_t *dst, size_t stride, unsigned int width,
		     unsigned int height, struct display_rect *dirty, unsigned int max_dirty,
		     unsigned int *nr_dirty)
{
	struct fake_display *d = opaque;
	int ret = 0;

	(void)max_dirty;
	pthread_mutex_lock(&d->lock);
	d->renders++;
	if (dirty || nr_dirty)
		ret = -EPROTO;   /* a screenshot must draw everything; caught below */
	if (d->changes_left) {
		/* The guest switched modes after the caller's get_info. */
		d->changes_left--;
		d->info.width = d->change_w;
		d->info.height = d->change_h;
		d->info.generation++;
		ret = ret ? ret : -EAGAIN;   /* the mode changed under the caller */
	}
	if (!ret && d->render_error)
		ret = d->render_error;
	else if (!ret && (width != d->info.width || height != d->info.height))
		ret = -EAGAIN;
	else if (!ret && stride < (size_t)width * 4)
		ret = -EINVAL;
	for (unsigned int y = 0; !ret && y < height; y++)
		for (unsigned int x = 0; x < width; x++)
			dst[y * (stride / 4) + x] = pattern_px(x, y, d->info.generation);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static int fd_read_text(void *opaque, struct display_text *text)
{
	struct fake_display *d = opaque;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (d->info.kind != DISPLAY_TEXT)
		ret = -ENOTSUP;
	else
		*text = d->text;
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static const struct display_ops fake_display_ops = {
	.get_info = fd_get_info,
	.render = fd_render,
	.read_text = fd_read_text,
};

static void fake_display_init(struct fake_display *d, enum display_kind kind,
			      unsigned int w, unsigned int h)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->info.kind = kind;
	d->info.width = w;
	d->info.height = h;
	d->info.bpp = kind == DISPLAY_GRAPHICS ? 32 : 0;
	d->info.generation = 1;
}

/* Send @req with @pass_fd attached (SCM_RIGHTS), or none if < 0. */
static void send_with_fd(int sock, const char *req, int pass_fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)req, .iov_len = strlen(req) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (pass_fd >= 0) {
		struct cmsghdr *h;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		h = CMSG_FIRSTHDR(&msg);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &pass_fd, sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)strlen(req));
}

/* Ask for a screenshot into a fresh @path; the reply line in @line. */
static void screenshot_into(int sock, const char *path, char *line, size_t size)
{
	int file = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(file >= 0);
	assert_int_equal(write(file, "stale bytes the PNG replaces", 28), 28);
	send_with_fd(sock, "screenshot\n", file);
	close(file);   /* hutch-vm holds its own copy */
	read_line(sock, line, size, 5000);
}

/* Decode @path (libpng) and check every pixel against the fake's pattern. */
static void expect_png(const char *path, unsigned int w, unsigned int h, uint64_t gen)
{
	png_image img;
	uint8_t *px;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	assert_true(png_image_begin_read_from_file(&img, path));
	assert_int_equal(img.width, w);
	assert_int_equal(img.height, h);
	img.format = PNG_FORMAT_RGB;
	px = malloc(PNG_IMAGE_SIZE(img));
	assert_non_null(px);
	assert_true(png_image_finish_read(&img, NULL, px, 0, NULL));
	for (unsigned int y = 0; y < h; y++)
		for (unsigned int x = 0; x < w; x++) {
			const uint8_t *p = px + ((size_t)y * w + x) * 3;
			uint32_t want = pattern_px(x, y, gen);

			if ((uint32_t)(p[0] << 16 | p[1] << 8 | p[2]) != want)
				fail_msg("pixel %u,%u is %02x%02x%02x, want %06x", x, y, p[0], p[1], p[2], want);
		}
	free(px);
}

/* The PNG has the mode's size and every pixel the display rendered. */
static void test_screenshot_writes_png(void **state)
{
	static struct fixture f;
	static struct fake_display d;
	char line[256], path[256];
	int a;

	(void)state;
	setup_machine(&f, 1, 1, 5000);
	snprintf(path, sizeof(path), "%s/shot.png", f.dir);
	fake_display_init(&d, DISPLAY_GRAPHICS, 64, 48);
	machine_display_publish(&f.m, &fake_display_ops, &d);   /* as a device's create() */
	a = client(&f);
	screenshot_into(a, path, line, sizeof(line));
	assert_string_equal(line, "ok 64x48");
	expect_png(path, 64, 48, 1);
	/* Text mode is drawn at the mode's size as well. */
	fake_display_init(&d, DISPLAY_TEXT, 720, 400);
	screenshot_into(a, path, line, sizeof(line));
	assert_string_equal(line, "ok 720x400");
	expect_png(path, 720, 400, 1);
	/* The connection goes on serving. */
	send_str(a, "status\n");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "ok running");
	unlink(path);
	close(a);
	machine_display_publish(&f.m, NULL, NULL);
	teardown_machine(&f);
}

/* The guest switches modes between get_info and render: the new size is used. */
static void test_screenshot_mode_change_midway(void **state)
{
	static struct fixture f;
	static struct fake_display d;
	char line[256], path[256];
	int a;

	(void)state;
	setup_machine(&f, 1, 1, 5000);
	snprintf(path, sizeof(path), "%s/shot.png", f.dir);
	fake_display_init(&d, DISPLAY_GRAPHICS, 640, 480);
	d.changes_left = 1;
	d.change_w = 100;
	d.change_h = 30;
	machine_display_publish(&f.m, &fake_display_ops, &d);
	a = client(&f);
	screenshot_into(a, path, line, sizeof(line));
	assert_string_equal(line, "ok 100x30");
	expect_png(path, 100, 30, 2);
	assert_int_equal(d.renders, 2);
	/* A mode that keeps changing is given up on with a clear error, not a loop. */
	d.changes_left = 1000;
	d.change_w = 50;
	d.change_h = 50;
	screenshot_into(a, path, line, sizeof(line));
	assert_string_equal(line, "error screenshot: the display mode kept changing while rendering; try again");
	assert_true(d.changes_left > 990);
	unlink(path);
	close(a);
	machine_display_publish(&f.m, NULL, NULL);
	teardown_machine(&f);
}

/* No display, a blank screen, a render error, no descriptor, a pipe: clear errors. */
static void test_screenshot_errors(void **state)
{
	static struct fixture f;
	static struct fake_display d;
	char line[256], path[256];
	int a, p[2];

	(void)state;
	setup_machine(&f, 1, 1, 5000);
	snprintf(path, sizeof(path), "%s/shot.png", f.dir);
	a = client(&f);
	screenshot_into(a, path, line, sizeof(line));
	assert_string_equal(line, "error screenshot: this VM has no display");
	send_str(a, "screentext\n");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "error screentext: this VM has no display");

	fake_display_init(&d, DISPLAY_BLANK, 0, 0);
	machine_display_publish(&f.m, &fake_display_ops, &d);
	screenshot_into(a, path, line, sizeof(line));
	assert_string_equal(line, "error screenshot: the screen is blank (no display mode set)");
	assert_int_equal(d.renders, 0);

	fake_display_init(&d, DISPLAY_GRAPHICS, 320, 200);
	d.render_error = -EIO;
	screenshot_into(a, path, line, sizeof(line));
	assert_string_equal(line, "error screenshot: rendering the graphics screen (320x200): Input/output error");

	/* A size beyond what any display may have is refused before allocating. */
	fake_display_init(&d, DISPLAY_GRAPHICS, DISPLAY_MAX_WIDTH + 1, 200);
	screenshot_into(a, path, line, sizeof(line));
	assert_non_null(strstr(line, "error screenshot: the display reports 2561x200"));

	fake_display_init(&d, DISPLAY_GRAPHICS, 32, 32);
	send_str(a, "screenshot\n");   /* no descriptor */
	read_line(a, line, sizeof(line), 5000);
	assert_int_equal(strncmp(line, "error screenshot: pass the file", 31), 0);
	/* A pipe could block the loop: refused; so is a file open read-only. */
	assert_int_equal(pipe(p), 0);
	send_with_fd(a, "screenshot\n", p[1]);
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "error screenshot: the descriptor passed is not a regular file");
	close(p[0]);
	close(p[1]);
	{
		int ro = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);

		assert_true(ro >= 0);
		send_with_fd(a, "screenshot\n", ro);
		close(ro);
		read_line(a, line, sizeof(line), 5000);
		assert_int_equal(strncmp(line, "error screenshot: the file passed cannot be written", 51), 0);
	}
	/* A descriptor is used once: the next request without one is refused. */
	send_str(a, "screenshot\n");
	read_line(a, line, sizeof(line), 5000);
	assert_int_equal(strncmp(line, "error screenshot: pass the file", 31), 0);
	send_str(a, "status\n");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "ok running");
	unlink(path);
	close(a);
	machine_display_publish(&f.m, NULL, NULL);
	teardown_machine(&f);
}

/* Read every line of a screentext reply up to "end" into @buf. */
static unsigned int read_screentext(int fd, char *buf, size_t size)
{
	unsigned int n = 0;
	size_t len = 0;
	char line[2048];

	buf[0] = 0;
	for (;;) {
		read_line(fd, line, sizeof(line), 5000);
		assert_true(line[0] != 0);
		assert_true(len + strlen(line) + 2 < size);
		len += (size_t)sprintf(buf + len, "%s\n", line);
		n++;
		if (!strcmp(line, "end") || !strncmp(line, "error", 5))
			return n;
	}
}

static void test_screentext(void **state)
{
	static struct fixture f;
	static struct fake_display d;
	static char buf[65536];
	char line[256];
	const char *hello = "Hi\x01!";
	unsigned int n;
	int a;

	(void)state;
	setup_machine(&f, 1, 1, 5000);
	fake_display_init(&d, DISPLAY_TEXT, 40, 32);   /* 5 x 2 cells of 8x16 */
	d.text.cols = 5;
	d.text.rows = 2;
	d.text.cell_width = 8;
	d.text.cell_height = 16;
	d.text.cursor_col = 3;
	d.text.cursor_row = 1;
	d.text.cursor_start = 14;
	d.text.cursor_end = 15;
	d.text.blink_enabled = 1;
	for (unsigned int i = 0; i < 10; i++)
		d.text.cells[i] = (uint16_t)(0x0720);   /* spaces, grey on black */
	for (unsigned int i = 0; i < 4; i++)
		d.text.cells[i] = (uint16_t)((uint8_t)hello[i] | 0x1f00);
	d.text.palette[1] = 0x0000aa;
	d.text.palette[15] = 0xffffff;
	for (unsigned int b = 0; b < 16; b++)
		d.text.font['H' * DISPLAY_FONT_STRIDE + b] = (uint8_t)(0xc3 + b);
	memcpy(d.text.font_b, d.text.font, sizeof(d.text.font));
	machine_display_publish(&f.m, &fake_display_ops, &d);
	a = client(&f);
	send_str(a, "screentext\n");
	n = read_screentext(a, buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "ok screentext cols=5 rows=2 cell=8x16 size=40x32 cursor=3,1 "
				      "cursor_lines=14-15 blink=1 fonts=1 lines=262\n", 98), 0);
	assert_int_equal(n, 263);   /* the header and its 262 lines */
	assert_non_null(strstr(buf, "\ntext 0 Hi.! \n"));
	assert_non_null(strstr(buf, "\ntext 1      \n"));
	assert_non_null(strstr(buf, "\ncells 0 481f691f011f211f2007\n"));
	assert_non_null(strstr(buf, "\npalette 000000 0000aa 000000"));
	assert_non_null(strstr(buf, "\nfont 48 c3c4c5c6c7c8c9cacbcccdcecfd0d1d2\n"));
	assert_non_null(strstr(buf, "\nfont 00 00000000000000000000000000000000\n"));
	assert_null(strstr(buf, "fontb"));

	/* Two character maps: both fonts are sent. */
	d.text.font_b['H' * DISPLAY_FONT_STRIDE] = 0x55;
	send_str(a, "screentext\n");
	n = read_screentext(a, buf, sizeof(buf));
	assert_int_equal(n, 263 + 256);
	assert_non_null(strstr(buf, "fonts=2 lines=518\n"));
	assert_non_null(strstr(buf, "\nfontb 48 55c4c5c6"));

	/* A device reporting an impossible mode is not believed. */
	d.text.cell_height = 33;
	send_str(a, "screentext\n");
	read_line(a, line, sizeof(line), 5000);
	assert_int_equal(strncmp(line, "error screentext: the display reports an impossible text mode", 61), 0);
	/* Graphics mode and a blank screen have no text. */
	fake_display_init(&d, DISPLAY_GRAPHICS, 1024, 768);
	send_str(a, "screentext\n");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "error screentext: the screen is in graphics mode (1024x768, 32 bpp): no text");
	fake_display_init(&d, DISPLAY_BLANK, 0, 0);
	send_str(a, "screentext\n");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "error screentext: the screen is blank (no display mode set)");
	close(a);
	machine_display_publish(&f.m, NULL, NULL);
	teardown_machine(&f);
}

/* ---- the scripted keyboard and the pointer ---- */

/* A keyboard that takes only what the test lets it (a guest reading slowly). */
static struct {
	pthread_mutex_t lock;
	unsigned int room;
	struct typist_event got[64];
	unsigned int nr;
	int rel[4];
	unsigned int rels;
} fk = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void fk_key(void *o, unsigned int code, bool down)
{
	pthread_mutex_lock(&fk.lock);
	assert_true(fk.room > 0);   /* never more than the keyboard had room for */
	fk.room--;
	if (fk.nr < 64)
		fk.got[fk.nr++] = (struct typist_event){ (uint16_t)code, down };
	pthread_mutex_unlock(&fk.lock);
}

static unsigned int fk_room(void *o)
{
	unsigned int r;

	pthread_mutex_lock(&fk.lock);
	r = fk.room;
	pthread_mutex_unlock(&fk.lock);
	return r;
}

static unsigned int fk_leds(void *o) { return INPUT_LED_CAPS; }

static void fk_rel(void *o, int dx, int dy, int dw, unsigned int buttons)
{
	pthread_mutex_lock(&fk.lock);
	fk.rel[0] = dx;
	fk.rel[1] = dy;
	fk.rel[2] = dw;
	fk.rel[3] = (int)buttons;
	fk.rels++;
	pthread_mutex_unlock(&fk.lock);
}

static const struct input_ops fk_kbd = {
	.caps = INPUT_CAP_KEYBOARD, .key = fk_key, .leds = fk_leds, .key_room = fk_room,
};
static const struct input_ops fk_mouse = { .caps = INPUT_CAP_REL, .rel = fk_rel };

static void request(int fd, const char *req, char *line, size_t size)
{
	send_str(fd, req);
	read_line(fd, line, size, 2000);
}

static void test_keyboard_paced(void **state)
{
	static const struct typist_event want[] = {
		{ 42, true }, { 35, true }, { 35, false }, { 42, false },   /* H */
		{ 23, true }, { 23, false },                                 /* i */
		{ 42, true }, { 3, true }, { 3, false }, { 42, false },      /* @ */
		{ 28, true }, { 28, false },                                 /* \n: Enter */
		{ 30, true }, { 30, false }, { 103, true }, { 103, false },  /* 1e 9e e0 48 e0 c8 */
	};
	struct fixture f;
	char line[256];
	unsigned int got;
	int fd;

	(void)state;
	setup_machine(&f, 1, 1, 5000);
	input_router_init(&f.m.input);
	fd = client(&f);
	request(fd, "keyboardputstring Hi\n", line, sizeof(line));
	assert_string_equal(line, "error keyboardputstring: this VM has no keyboard");
	input_router_publish(&f.m.input, &fk_kbd, &fk);
	input_router_publish(&f.m.input, &fk_mouse, &fk);
	fk.room = 0;
	fk.nr = 0;
	request(fd, "keyboardputstring Hi@\\n\n", line, sizeof(line));
	assert_string_equal(line, "ok");
	request(fd, "keyboardputscancode 1e 9e e0 48 e0 c8\n", line, sizeof(line));
	assert_string_equal(line, "ok");
	usleep(50 * 1000);
	assert_int_equal(fk.nr, 0);      /* the guest reads nothing: nothing is lost either */
	request(fd, "keyboardleds\n", line, sizeof(line));
	assert_string_equal(line, "ok num=0 caps=1 scroll=0 pending=16");
	/* The guest reads two events at a time, now and then. */
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&fk.lock);
		fk.room = 2;
		got = fk.nr;
		pthread_mutex_unlock(&fk.lock);
		if (got == 16)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(fk.nr, 16);
	for (unsigned int i = 0; i < 16; i++) {
		assert_int_equal(fk.got[i].code, want[i].code);
		assert_int_equal(fk.got[i].down, want[i].down);
	}
	/* Refused: characters a US keyboard cannot type, bad scan codes. */
	request(fd, "keyboardputstring caf\xc3\xa9\n", line, sizeof(line));
	assert_string_equal(line, "error keyboardputstring: cannot type the byte 0xc3 (character 4) on a US keyboard");
	request(fd, "keyboardputstring a\\q\n", line, sizeof(line));
	assert_non_null(strstr(line, "error keyboardputstring: unknown escape"));
	request(fd, "keyboardputscancode 1e zz\n", line, sizeof(line));
	assert_string_equal(line, "error keyboardputscancode: 'zz' is not a scan code (two hex digits, e.g. 1e)");
	request(fd, "keyboardputscancode 1e e0\n", line, sizeof(line));
	assert_string_equal(line, "error keyboardputscancode: the scan codes end inside an extended (e0) sequence");
	request(fd, "keyboardputscancode 54\n", line, sizeof(line));
	assert_string_equal(line, "error keyboardputscancode: no key sends the scan code 54 (byte 1) in set 1");
	request(fd, "keyboardputscancode\n", line, sizeof(line));
	assert_string_equal(line, "error keyboardputscancode: expected scan codes (hex bytes, e.g. 1e 9e)");
	usleep(30 * 1000);
	assert_int_equal(fk.nr, 16);     /* nothing of a refused request was typed */
	/* The pointer */
	request(fd, "pointer rel 5 -3 1 1\n", line, sizeof(line));
	assert_string_equal(line, "ok");
	assert_int_equal(fk.rels, 1);
	assert_int_equal(fk.rel[0], 5);
	assert_int_equal(fk.rel[1], -3);
	assert_int_equal(fk.rel[2], 1);
	assert_int_equal(fk.rel[3], 1);
	request(fd, "pointer abs 100 200\n", line, sizeof(line));
	assert_string_equal(line, "error pointer: no absolute pointer is active (the guest has not started a tablet driver)");
	request(fd, "pointer abs 40000 1\n", line, sizeof(line));
	assert_string_equal(line, "error pointer: X and Y run 0..32767");
	request(fd, "pointer rel 1 2 9\n", line, sizeof(line));
	assert_non_null(strstr(line, "error pointer: BUTTONS is a mask"));
	request(fd, "pointer up 1 2\n", line, sizeof(line));
	assert_non_null(strstr(line, "error pointer: expected"));
	close(fd);
	/* Keys still pending when the control stops are dropped with it. */
	fk.room = 0;
	fd = client(&f);
	request(fd, "keyboardputstring pending\n", line, sizeof(line));
	assert_string_equal(line, "ok");
	close(fd);
	teardown_machine(&f);
	input_router_destroy(&f.m.input);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_never_blocks_other_clients),
		cmocka_unit_test(test_pause_answered_when_parked),
		cmocka_unit_test(test_resume_cancels_a_pause_in_progress),
		cmocka_unit_test(test_client_gone_while_waiting),
		cmocka_unit_test(test_client_limit_and_backlog),
		cmocka_unit_test(test_screenshot_writes_png),
		cmocka_unit_test(test_screenshot_mode_change_midway),
		cmocka_unit_test(test_screenshot_errors),
		cmocka_unit_test(test_screentext),
		cmocka_unit_test(test_keyboard_paced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
