// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * input-report: what the guest's keyboard and pointers deliver, printed on
 * stdout (the serial console) for the input guest tests.  Built static so
 * it runs from a busybox initramfs (tests/guest/inputlib.sh starts it).
 *
 *   TYPED <line>                 a line typed on the VT's keyboard (/dev/tty1,
 *                                through atkbd and the console's keymap)
 *   INPUT-DEV <kind> <name>      an evdev device appeared: kind abs (a tablet),
 *                                rel (a mouse) or kbd
 *   POINTER abs X Y BUTTONS      a tablet's report (raw ABS_X/ABS_Y values)
 *   POINTER rel DX DY WHEEL BUTTONS  a mouse's report (motion summed per
 *                                SYN_REPORT, wheel in REL_WHEEL steps)
 *   LEDS <mask>                  the keyboard's LEDs changed (bit 0 Num,
 *                                1 Caps, 2 Scroll: Linux's LED_* numbering)
 * BUTTONS is a mask: 1 left, 2 right, 4 middle.  New /dev/input/event*
 * nodes are picked up once a second (modules load while it runs).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEVS 16
#define BITS(n) (((n) + 8 * sizeof(long) - 1) / (8 * sizeof(long)))

struct dev {
	int fd;
	int num;                 /* eventN */
	char kind[4];
	int x, y, dx, dy, wheel;
	unsigned int buttons;
	bool moved;
	unsigned int leds;
};

static struct dev devs[MAX_DEVS];
static int nr_devs;

static bool test_bit(const unsigned long *bits, unsigned int n)
{
	return bits[n / (8 * sizeof(long))] >> (n % (8 * sizeof(long))) & 1;
}

static bool known(int num)
{
	for (int i = 0; i < nr_devs; i++)
		if (devs[i].num == num)
			return true;
	return false;
}

static void scan(void)
{
	DIR *d = opendir("/dev/input");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && nr_devs < MAX_DEVS) {
		unsigned long ev[BITS(EV_MAX + 1)] = { 0 };
		char path[300], name[128] = "?";
		struct dev *v;
		int num, fd;

		if (sscanf(e->d_name, "event%d", &num) != 1 || known(num))
			continue;
		snprintf(path, sizeof(path), "/dev/input/%s", e->d_name);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name);
		ioctl(fd, EVIOCGBIT(0, sizeof(ev)), ev);
		v = &devs[nr_devs++];
		memset(v, 0, sizeof(*v));
		v->fd = fd;
		v->num = num;
		if (test_bit(ev, EV_ABS))
			strcpy(v->kind, "abs");
		else if (test_bit(ev, EV_REL))
			strcpy(v->kind, "rel");
		else if (test_bit(ev, EV_LED))
			strcpy(v->kind, "kbd");
		else
			strcpy(v->kind, "-");
		printf("INPUT-DEV %s %s\n", v->kind, name);
	}
	closedir(d);
}

static void on_event(struct dev *v, const struct input_event *ev)
{
	unsigned int bit = 0;

	switch (ev->type) {
	case EV_ABS:
		if (ev->code == ABS_X)
			v->x = ev->value;
		else if (ev->code == ABS_Y)
			v->y = ev->value;
		v->moved = true;
		break;
	case EV_REL:
		if (ev->code == REL_X)
			v->dx += ev->value;
		else if (ev->code == REL_Y)
			v->dy += ev->value;
		else if (ev->code == REL_WHEEL)
			v->wheel += ev->value;
		v->moved = true;
		break;
	case EV_KEY:
		if (ev->code == BTN_LEFT)
			bit = 1;
		else if (ev->code == BTN_RIGHT)
			bit = 2;
		else if (ev->code == BTN_MIDDLE)
			bit = 4;
		if (bit) {
			v->buttons = ev->value ? v->buttons | bit : v->buttons & ~bit;
			v->moved = true;
		}
		break;
	case EV_LED:
		if (ev->code <= LED_SCROLLL) {
			unsigned int m = 1u << ev->code;

			v->leds = ev->value ? v->leds | m : v->leds & ~m;
			printf("LEDS %u\n", v->leds);
		}
		break;
	case EV_SYN:
		if (ev->code != SYN_REPORT || !v->moved)
			break;
		if (!strcmp(v->kind, "abs"))
			printf("POINTER abs %d %d %u\n", v->x, v->y, v->buttons);
		else if (!strcmp(v->kind, "rel"))
			printf("POINTER rel %d %d %d %u\n", v->dx, v->dy, v->wheel, v->buttons);
		v->dx = v->dy = v->wheel = 0;
		v->moved = false;
		break;
	}
}

int main(void)
{
	char line[1024];
	size_t len = 0;
	int tty = open("/dev/tty1", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	time_t last_scan = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tty < 0)
		printf("INPUT-ERROR cannot open /dev/tty1\n");
	for (;;) {
		struct pollfd p[MAX_DEVS + 1];
		int n = 0;

		if (time(NULL) != last_scan) {
			scan();
			last_scan = time(NULL);
		}
		for (int i = 0; i < nr_devs; i++)
			p[n++] = (struct pollfd){ .fd = devs[i].fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = tty, .events = POLLIN };
		if (poll(p, (nfds_t)n, 500) <= 0)
			continue;
		for (int i = 0; i < nr_devs; i++) {
			struct input_event ev[64];
			ssize_t r;

			if (!(p[i].revents & POLLIN))
				continue;
			while ((r = read(devs[i].fd, ev, sizeof(ev))) > 0)
				for (size_t j = 0; j < (size_t)r / sizeof(ev[0]); j++)
					on_event(&devs[i], &ev[j]);
		}
		if (tty >= 0 && (p[n - 1].revents & POLLIN)) {
			char c;

			while (read(tty, &c, 1) == 1) {
				if (c == '\n') {
					line[len] = 0;
					printf("TYPED %s\n", line);
					len = 0;
				} else if (len < sizeof(line) - 1) {
					line[len++] = c;
				}
			}
		}
	}
}
