// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VM window (vm_window.h): SDL2 on a thread of its own.
 *
 * Drawing: the display device renders into a framebuffer here with dirty
 * rectangles (display.h), and only those rectangles go to the X server:
 * copied (or, in a scaled window, the picture scaled) into the window's
 * SDL surface, then SDL_UpdateWindowSurfaceRects with the changed parts
 * (X11: one XShmPutImage each).  The whole window is sent only when it
 * needs it (exposed, resized, a new mode).  No SDL renderer: even the
 * software one presents its whole surface on every SDL_RenderPresent, and
 * a GPU one would need ioctls and files the VM's system call filter must
 * not allow (src/vmm/seccomp.c's display group).
 *
 * A timer paces the looks at the display (window_geom.h has the rule):
 * 16 ms after a change, backing off to 500 ms while nothing changes, and
 * to 40 ms while look after look finds the guest still drawing (each look
 * would otherwise show a frame half drawn); back to 16 ms at any input.
 * An idle guest costs the host almost nothing; between looks the thread
 * sleeps in SDL_WaitEventTimeout.
 *
 * Input, as in VirtualBox: keys go to the guest by scancode (the guest
 * applies its layout); Right Ctrl is the host key and never reaches the
 * guest.  With an absolute pointer (the virtio tablet, once the guest's
 * driver runs) the host pointer simply moves over the picture; without
 * one, a click captures the pointer (SDL's relative mode) and the host key
 * releases it.  Host+F fullscreen, Host+P pause/resume, Host+R reset (asks),
 * Host+H ACPI shutdown, Host+E screenshot, Host+Del Ctrl+Alt+Del,
 * Host+Q close, Host+Home a menu with the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input-event-codes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <SDL.h>

#include "devices.h"
#include "display.h"
#include "machine.h"
#include "screenshot.h"
#include "sdl_keymap.h"
#include "vm_window.h"
#include "window_geom.h"

#define HOST_KEY SDL_SCANCODE_RCTRL
#define MAX_DIRTY 32
#define VM_WINDOW_STOP_TIMEOUT_S 3
#define KEY_BITS (KEY_MAX + 1)
#define WINDOW_THREAD_STACK (2 * 1024 * 1024)   /* Xlib and the message box are not frugal */

struct vm_window {
	struct machine *m;
	char name[128];
	char shot_dir[512];
	pthread_t thread;

	/* Start-up handshake (the starter waits until the window is open). */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;
	int start_err;
	char err[256];
	bool stop;                      /* under lock: vm_window_stop was called */
	Uint32 wake_event;              /* SDL user event that wakes the loop to stop */

	/* Everything below belongs to the window's thread. */
	SDL_Window *win;
	uint32_t *fb;                   /* the guest's picture, fb_w x fb_h XRGB8888 */
	SDL_Surface *pic;               /* fb as an SDL surface, to blit from */
	unsigned int fb_w, fb_h;
	enum display_kind kind;
	uint64_t generation;
	bool have_mode;
	bool need_present;              /* something to show: the dirty rectangles, or everything */
	bool present_all;               /* ...everything (exposed, resized, a new mode, too many rectangles) */
	struct display_rect dirty[MAX_DIRTY];
	unsigned int nr_dirty;
	bool fullscreen;

	unsigned int refresh_ms;
	Uint32 next_refresh;
	bool activity;                  /* input since the last look: keep the timer fast */
	bool changed_before;            /* the last look found changes */

	bool host_down;                 /* the host key is held */
	bool host_combo;                /* ... and a combination was used meanwhile */
	bool captured;                  /* the pointer is captured (relative mode) */
	unsigned int buttons;           /* INPUT_BTN_* held */
	int last_x, last_y;             /* the pointer's last window position */
	uint64_t keys_down[(KEY_BITS + 63) / 64];
	char title[256];
};

/* ---- the picture ---- */

/* Everything to be shown again at the next present. */
static void redraw_all(struct vm_window *w)
{
	w->need_present = true;
	w->present_all = true;
}

/*
 * Put what changed on the window.  Unscaled, each dirty rectangle is
 * copied into the window's surface and sent on its own; scaled, the whole
 * picture is scaled into the surface (one SDL_BlitScaled: per-rectangle
 * scaling would round each rectangle's edges its own way and leave seams)
 * and only the window rectangles the dirty ones scale to are sent.
 */
static void present(struct vm_window *w)
{
	SDL_Surface *s = SDL_GetWindowSurface(w->win);
	SDL_Rect sent[MAX_DIRTY], dst;
	struct window_view v;
	bool scaled;
	int n = 0;

	w->need_present = false;
	if (!s) {
		w->present_all = true;   /* no surface yet (minimised?): all of it when there is one */
		return;
	}
	if (!w->pic || w->kind == DISPLAY_BLANK) {
		SDL_FillRect(s, NULL, SDL_MapRGB(s->format, 0, 0, 0));
		SDL_UpdateWindowSurface(w->win);
		w->present_all = false;
		w->nr_dirty = 0;
		return;
	}
	v = window_letterbox(w->fb_w, w->fb_h, s->w, s->h);
	dst = (SDL_Rect){ v.x, v.y, v.w, v.h };
	scaled = v.w != (int)w->fb_w || v.h != (int)w->fb_h;
	if (w->present_all) {
		SDL_FillRect(s, NULL, SDL_MapRGB(s->format, 0, 0, 0));
		if (scaled)
			SDL_BlitScaled(w->pic, NULL, s, &dst);
		else
			SDL_BlitSurface(w->pic, NULL, s, &dst);
		SDL_UpdateWindowSurface(w->win);
	} else {
		if (scaled)
			SDL_BlitScaled(w->pic, NULL, s, &dst);
		for (unsigned int i = 0; i < w->nr_dirty; i++) {
			const struct display_rect *r = &w->dirty[i];
			struct window_view out;

			if (scaled) {
				out = window_scale_rect(&v, w->fb_w, w->fb_h, r);
			} else {
				/* 1:1: the rectangle itself, no wider (window_scale_rect widens for scalers). */
				SDL_Rect src = { (int)r->x, (int)r->y, (int)r->w, (int)r->h };

				out = (struct window_view){ v.x + src.x, v.y + src.y, src.w, src.h };
				dst = (SDL_Rect){ out.x, out.y, out.w, out.h };
				SDL_BlitSurface(w->pic, &src, s, &dst);
			}
			if (out.w > 0 && out.h > 0)
				sent[n++] = (SDL_Rect){ out.x, out.y, out.w, out.h };
		}
		if (n)
			SDL_UpdateWindowSurfaceRects(w->win, sent, n);
	}
	w->present_all = false;
	w->nr_dirty = 0;
}

/* The guest's picture in window coordinates (for the pointer). */
static struct window_view picture_view(struct vm_window *w)
{
	int ww, wh;

	SDL_GetWindowSize(w->win, &ww, &wh);
	return window_letterbox(w->fb_w, w->fb_h, ww, wh);
}

/* Fit the window to a new mode, within the screen's usable area. */
static void fit_window(struct vm_window *w)
{
	SDL_Rect usable;
	struct window_view v;
	int idx, x, y, nx, ny;

	if (w->fullscreen || (SDL_GetWindowFlags(w->win) & SDL_WINDOW_MAXIMIZED))
		return;
	idx = SDL_GetWindowDisplayIndex(w->win);
	if (idx < 0 || SDL_GetDisplayUsableBounds(idx, &usable)) {
		SDL_SetWindowSize(w->win, (int)w->fb_w, (int)w->fb_h);
		return;
	}
	if (w->fb_w > (unsigned int)usable.w || w->fb_h > (unsigned int)usable.h)
		v = window_letterbox(w->fb_w, w->fb_h, usable.w, usable.h);
	else
		v = (struct window_view){ 0, 0, (int)w->fb_w, (int)w->fb_h };
	SDL_SetWindowSize(w->win, v.w, v.h);
	/* Grown past the screen's edge (it grows from its top-left corner): move it back in. */
	SDL_GetWindowPosition(w->win, &x, &y);
	nx = x + v.w > usable.x + usable.w ? usable.x + usable.w - v.w : x;
	ny = y + v.h > usable.y + usable.h ? usable.y + usable.h - v.h : y;
	if (nx < usable.x)
		nx = usable.x;
	if (ny < usable.y)
		ny = usable.y;
	if (nx != x || ny != y)
		SDL_SetWindowPosition(w->win, nx, ny);
}

/* A new mode: a framebuffer and texture of its size.  False if out of memory. */
static bool set_mode(struct vm_window *w, const struct display_info *info)
{
	bool resized = info->width != w->fb_w || info->height != w->fb_h;

	w->kind = info->kind;
	w->generation = info->generation;
	w->have_mode = true;
	redraw_all(w);
	if (info->kind == DISPLAY_BLANK || !info->width || !info->height)
		return true;
	if (resized || !w->pic) {
		uint32_t *fb;

		/* The surface points into the old buffer: gone before the buffer moves. */
		SDL_FreeSurface(w->pic);
		w->pic = NULL;
		fb = realloc(w->fb, (size_t)info->width * info->height * sizeof(*fb));
		if (!fb)
			return false;
		w->fb = fb;
		memset(fb, 0, (size_t)info->width * info->height * sizeof(*fb));
		w->fb_w = info->width;
		w->fb_h = info->height;
		/* XRGB8888, as display.h renders; the same as an X11 24-bit window's, so blits are copies. */
		w->pic = SDL_CreateRGBSurfaceWithFormatFrom(fb, (int)w->fb_w, (int)w->fb_h, 32,
							    (int)(w->fb_w * sizeof(*fb)), SDL_PIXELFORMAT_RGB888);
		if (!w->pic)
			return false;
		SDL_SetSurfaceBlendMode(w->pic, SDL_BLENDMODE_NONE);
		fit_window(w);
	}
	return true;
}

/* Look at the display once: render what changed into fb, note where.  True if anything did. */
static bool refresh(struct vm_window *w)
{
	const struct display_ops *ops;
	struct display_rect dirty[MAX_DIRTY];
	struct display_info info;
	unsigned int n = 0;
	void *opaque;
	int ret;

	if (!machine_display(w->m, &ops, &opaque)) {
		if (w->kind != DISPLAY_BLANK || !w->have_mode) {
			w->kind = DISPLAY_BLANK;
			w->have_mode = true;
			redraw_all(w);
		}
		return false;
	}
	ops->get_info(opaque, &info);
	if (!w->have_mode || info.generation != w->generation || info.kind != w->kind ||
	    info.width != w->fb_w || info.height != w->fb_h) {
		if (!set_mode(w, &info)) {
			fprintf(stderr, "hutch-vm: window: no memory for a %ux%u picture\n",
				info.width, info.height);
			w->kind = DISPLAY_BLANK;
			return false;
		}
	}
	if (w->kind == DISPLAY_BLANK || !w->pic)
		return w->need_present;
	ret = ops->render(opaque, w->fb, (size_t)w->fb_w * sizeof(*w->fb), w->fb_w, w->fb_h,
			  dirty, MAX_DIRTY, &n);
	if (ret == -EAGAIN) {
		w->have_mode = false;    /* the mode changed meanwhile: read it again next time */
		return true;
	}
	if (ret)
		return false;
	n = window_clip_rects(dirty, n, w->fb_w, w->fb_h);
	if (!n)
		return false;
	w->need_present = true;
	if (w->nr_dirty + n > MAX_DIRTY) {
		w->present_all = true;   /* not shown since more changed than we keep track of */
		w->nr_dirty = 0;
	} else if (!w->present_all) {
		memcpy(w->dirty + w->nr_dirty, dirty, n * sizeof(*dirty));
		w->nr_dirty += n;
	}
	return true;
}

/* ---- the title ---- */

static void update_title(struct vm_window *w)
{
	const char *state;
	char title[sizeof(w->title)];

	switch (machine_pause_state(w->m)) {
	case MACHINE_PAUSED: state = "Paused"; break;
	case MACHINE_PAUSING: state = "Pausing"; break;
	default: state = "Running"; break;
	}
	snprintf(title, sizeof(title), "%s [%s] - Hutch%s", w->name, state,
		 w->captured ? " (Right Ctrl releases the pointer)" : "");
	if (strcmp(title, w->title)) {
		snprintf(w->title, sizeof(w->title), "%s", title);
		SDL_SetWindowTitle(w->win, w->title);
	}
}

/* ---- keyboard ---- */

static void send_key(struct vm_window *w, unsigned int code, bool down)
{
	uint64_t bit = 1ull << (code % 64);

	if (!code || code >= KEY_BITS)
		return;
	/* An up for a key the guest never saw go down (pressed before focus) is not sent. */
	if (!down && !(w->keys_down[code / 64] & bit))
		return;
	if (down)
		w->keys_down[code / 64] |= bit;
	else
		w->keys_down[code / 64] &= ~bit;
	input_send_key(&w->m->input, code, down);
}

/* Focus lost, a dialog: let go of every key the guest holds, or it would repeat forever. */
static void release_all_keys(struct vm_window *w)
{
	for (unsigned int code = 1; code < KEY_BITS; code++)
		if (w->keys_down[code / 64] & (1ull << (code % 64)))
			send_key(w, code, false);
	w->host_down = false;
}

/*
 * The window got the focus: Caps Lock and Num Lock may have been pressed
 * elsewhere meanwhile.  Press them in the guest where its LEDs (as it set
 * them through the keyboard) differ from the host's state, as VirtualBox
 * does, so a capital typed is a capital seen.  The other way (the guest's
 * LEDs onto the host's keyboard) SDL cannot do.
 */
static void sync_lock_keys(struct vm_window *w)
{
	unsigned int codes[2];
	unsigned int n = sdl_lock_keys_to_sync((unsigned int)SDL_GetModState(), input_leds(&w->m->input), codes);

	for (unsigned int i = 0; i < n; i++) {
		send_key(w, codes[i], true);
		send_key(w, codes[i], false);
	}
}

/* ---- pointer ---- */

static void set_capture(struct vm_window *w, bool on)
{
	if (w->captured == on)
		return;
	/* Relative mode hides the pointer and reports motion without limits. */
	if (SDL_SetRelativeMouseMode(on ? SDL_TRUE : SDL_FALSE) && on)
		return;
	SDL_SetWindowGrab(w->win, on ? SDL_TRUE : SDL_FALSE);
	w->captured = on;
	update_title(w);
}

static void send_pointer(struct vm_window *w, int x, int y, int dx, int dy, int dwheel)
{
	struct window_view v;
	unsigned int ax, ay;

	w->last_x = x;
	w->last_y = y;
	if (input_abs_active(&w->m->input)) {
		if (w->captured)
			set_capture(w, false);   /* the guest follows the host pointer now */
		v = picture_view(w);
		if (window_to_abs(&v, x, y, &ax, &ay))
			input_send_abs(&w->m->input, ax, ay, dwheel, w->buttons);
	} else if (w->captured) {
		input_send_rel(&w->m->input, dx, dy, dwheel, w->buttons);
	}
}

static unsigned int button_bit(Uint8 b)
{
	switch (b) {
	case SDL_BUTTON_LEFT: return INPUT_BTN_LEFT;
	case SDL_BUTTON_RIGHT: return INPUT_BTN_RIGHT;
	case SDL_BUTTON_MIDDLE: return INPUT_BTN_MIDDLE;
	default: return 0;
	}
}

/* ---- the machine's controls ---- */

static void toggle_pause(struct vm_window *w)
{
	if (machine_pause_state(w->m) == MACHINE_RUNNING) {
		int ret = machine_pause_begin(w->m);

		if (ret)
			fprintf(stderr, "hutch-vm: window: cannot pause: %s\n", strerror(-ret));
	} else {
		machine_resume(w->m);
	}
	w->activity = true;   /* watch the title follow */
}

static void reset_machine(struct vm_window *w)
{
	/* As the control socket's 'reset': a user's reset even with --no-reboot. */
	pthread_mutex_lock(&w->m->lock);
	w->m->reset_by_user = true;
	pthread_mutex_unlock(&w->m->lock);
	machine_request(w->m, MACHINE_EV_RESET, "reset from the VM window");
}

static void power_button(struct vm_window *w)
{
	acpi_pm_press_power_button(w->m->acpi_pm);
}

static void power_off(struct vm_window *w)
{
	machine_request(w->m, MACHINE_EV_POWEROFF, "powered off from the VM window");
}

static void toggle_fullscreen(struct vm_window *w)
{
	w->fullscreen = !w->fullscreen;
	SDL_SetWindowFullscreen(w->win, w->fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
	if (!w->fullscreen)
		fit_window(w);
	redraw_all(w);
}

static void ctrl_alt_del(struct vm_window *w)
{
	send_key(w, KEY_LEFTCTRL, true);
	send_key(w, KEY_LEFTALT, true);
	send_key(w, KEY_DELETE, true);
	send_key(w, KEY_DELETE, false);
	send_key(w, KEY_LEFTALT, false);
	send_key(w, KEY_LEFTCTRL, false);
}

/* Host+E: a PNG of the guest's screen, NAME-screenshot-YYYYMMDD-HHMMSS[-N].png (UTC). */
static void take_screenshot(struct vm_window *w)
{
	const struct display_ops *ops;
	unsigned int width, height;
	char path[sizeof(w->shot_dir) + 256], stamp[32], name[sizeof(w->name)], err[256];
	time_t now = time(NULL);
	struct tm tm;
	void *opaque;
	int fd = -1;

	if (!machine_display(w->m, &ops, &opaque)) {
		fprintf(stderr, "hutch-vm: window: no display to take a screenshot of\n");
		return;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	/* The name goes into a file name: anything but a safe character becomes '_'. */
	snprintf(name, sizeof(name), "%s", w->name);
	for (char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			*p = '_';
	for (int i = 0; i < 100 && fd < 0; i++) {
		if (i)
			snprintf(path, sizeof(path), "%s/%s-screenshot-%s-%d.png", w->shot_dir, name, stamp, i);
		else
			snprintf(path, sizeof(path), "%s/%s-screenshot-%s.png", w->shot_dir, name, stamp);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		fprintf(stderr, "hutch-vm: window: screenshot %s: %s\n", path, strerror(errno));
		return;
	}
	if (screenshot_png(ops, opaque, fd, &width, &height, err, sizeof(err))) {
		fprintf(stderr, "hutch-vm: window: screenshot: %s\n", err);
		close(fd);
		unlink(path);
		return;
	}
	close(fd);
	fprintf(stderr, "hutch-vm: window: screenshot (%ux%u) saved as %s\n", width, height, path);
}

/* A modal question; the id of the button chosen, @cancel_id if none. */
static int ask(struct vm_window *w, const char *title, const char *text,
	       const SDL_MessageBoxButtonData *buttons, int nbuttons, int cancel_id)
{
	const SDL_MessageBoxData box = {
		.flags = SDL_MESSAGEBOX_INFORMATION, .window = w->win, .title = title,
		.message = text, .numbuttons = nbuttons, .buttons = buttons,
	};
	int id = cancel_id;

	/* The guest must not keep keys held or the pointer captured behind a dialog. */
	release_all_keys(w);
	set_capture(w, false);
	if (SDL_ShowMessageBox(&box, &id)) {
		/* Nothing shown (on X11, no core fonts: xfonts-base): say so, do nothing. */
		fprintf(stderr, "hutch-vm: window: cannot ask \"%s\": %s\n", title, SDL_GetError());
		id = cancel_id;
	} else if (id < 0) {
		id = cancel_id;
	}
	redraw_all(w);
	return id;
}

/* Closing the window asks first, as VirtualBox's "Close Virtual Machine". */
static void close_dialog(struct vm_window *w)
{
	enum { CANCEL, SHUTDOWN, POWEROFF };
	static const SDL_MessageBoxButtonData buttons[] = {
		{ SDL_MESSAGEBOX_BUTTON_ESCAPEKEY_DEFAULT, CANCEL, "Cancel" },
		{ 0, POWEROFF, "Power off the machine" },
		{ SDL_MESSAGEBOX_BUTTON_RETURNKEY_DEFAULT, SHUTDOWN, "Send the shutdown signal" },
	};
	char text[256];

	snprintf(text, sizeof(text), "You want to close the virtual machine \"%s\":", w->name);
	switch (ask(w, "Close Virtual Machine - Hutch", text, buttons, 3, CANCEL)) {
	case SHUTDOWN: power_button(w); break;
	case POWEROFF: power_off(w); break;
	default: break;
	}
}

/*
 * Host+R (and the menu's Reset) asks first, as VirtualBox does: a reset
 * loses whatever the guest had not written to its disks, and Right Ctrl
 * is next to keys a hand may hit by mistake.  Escape cancels.
 */
static void reset_dialog(struct vm_window *w)
{
	enum { CANCEL, RESET };
	static const SDL_MessageBoxButtonData buttons[] = {
		{ SDL_MESSAGEBOX_BUTTON_ESCAPEKEY_DEFAULT, CANCEL, "Cancel" },
		{ SDL_MESSAGEBOX_BUTTON_RETURNKEY_DEFAULT, RESET, "Reset" },
	};
	char text[256];

	snprintf(text, sizeof(text), "Reset the virtual machine \"%s\"? "
		 "Whatever its programs have not saved will be lost.", w->name);
	if (ask(w, "Reset Virtual Machine - Hutch", text, buttons, 2, CANCEL) == RESET)
		reset_machine(w);
}

/* Host+Home: the same controls as the host key combinations. */
static void machine_menu(struct vm_window *w)
{
	enum { CANCEL, FULLSCREEN, PAUSE, RESET, SHUTDOWN, SCREENSHOT };
	SDL_MessageBoxButtonData buttons[] = {
		{ SDL_MESSAGEBOX_BUTTON_ESCAPEKEY_DEFAULT, CANCEL, "Cancel" },
		{ 0, SCREENSHOT, "Screenshot (Host+E)" },
		{ 0, SHUTDOWN, "ACPI Shutdown (Host+H)" },
		{ 0, RESET, "Reset (Host+R)" },
		{ 0, PAUSE, "Pause (Host+P)" },
		{ 0, FULLSCREEN, "Fullscreen (Host+F)" },
	};

	if (machine_pause_state(w->m) != MACHINE_RUNNING)
		buttons[4].text = "Resume (Host+P)";
	if (w->fullscreen)
		buttons[5].text = "Window (Host+F)";
	switch (ask(w, "Machine - Hutch", "The host key is Right Ctrl.", buttons, 6, CANCEL)) {
	case FULLSCREEN: toggle_fullscreen(w); break;
	case PAUSE: toggle_pause(w); break;
	case RESET: reset_dialog(w); break;
	case SHUTDOWN: power_button(w); break;
	case SCREENSHOT: take_screenshot(w); break;
	default: break;
	}
}

/* A key pressed while the host key is held: true if it was a combination. */
static bool host_combo(struct vm_window *w, SDL_Scancode sc)
{
	switch (sc) {
	case SDL_SCANCODE_F: toggle_fullscreen(w); break;
	case SDL_SCANCODE_P: toggle_pause(w); break;
	case SDL_SCANCODE_R: reset_dialog(w); break;
	case SDL_SCANCODE_H: power_button(w); break;
	case SDL_SCANCODE_E: take_screenshot(w); break;
	case SDL_SCANCODE_DELETE: ctrl_alt_del(w); break;
	case SDL_SCANCODE_Q: close_dialog(w); break;
	case SDL_SCANCODE_HOME: machine_menu(w); break;
	default: return false;
	}
	return true;
}

/* ---- events ---- */

static void on_key(struct vm_window *w, const SDL_KeyboardEvent *k)
{
	bool down = k->type == SDL_KEYDOWN;
	SDL_Scancode sc = k->keysym.scancode;

	w->activity = true;
	if (sc == HOST_KEY) {
		if (down && !k->repeat) {
			w->host_down = true;
			w->host_combo = false;
		} else if (!down && w->host_down) {
			w->host_down = false;
			/* The host key alone releases the pointer (VirtualBox). */
			if (!w->host_combo)
				set_capture(w, false);
		}
		return;
	}
	if (w->host_down) {
		if (down && !k->repeat && host_combo(w, sc)) {
			w->host_combo = true;
			return;
		}
		if (down)
			return;   /* the repeats and releases of a combination stay here */
	}
	/* The guest's keyboard repeats a held key itself (typematic): host repeats are not keys. */
	if (k->repeat)
		return;
	send_key(w, sdl_scancode_to_linux(sc), down);
}

static void on_window_event(struct vm_window *w, const SDL_WindowEvent *e)
{
	switch (e->event) {
	case SDL_WINDOWEVENT_CLOSE:
		close_dialog(w);
		break;
	case SDL_WINDOWEVENT_FOCUS_LOST:
		release_all_keys(w);
		set_capture(w, false);
		break;
	case SDL_WINDOWEVENT_FOCUS_GAINED:
		sync_lock_keys(w);
		break;
	case SDL_WINDOWEVENT_EXPOSED:
	case SDL_WINDOWEVENT_SIZE_CHANGED:
	case SDL_WINDOWEVENT_RESTORED:
		redraw_all(w);
		break;
	default:
		break;
	}
}

static void on_event(struct vm_window *w, const SDL_Event *ev)
{
	switch (ev->type) {
	case SDL_KEYDOWN:
	case SDL_KEYUP:
		on_key(w, &ev->key);
		break;
	case SDL_MOUSEMOTION:
		send_pointer(w, ev->motion.x, ev->motion.y, ev->motion.xrel, ev->motion.yrel, 0);
		break;
	case SDL_MOUSEBUTTONDOWN:
	case SDL_MOUSEBUTTONUP: {
		unsigned int bit = button_bit(ev->button.button);
		bool down = ev->type == SDL_MOUSEBUTTONDOWN;

		w->activity = true;
		/* The click that captures the pointer is the window's, not the guest's. */
		if (down && !w->captured && !input_abs_active(&w->m->input)) {
			set_capture(w, true);
			break;
		}
		if (down)
			w->buttons |= bit;
		else
			w->buttons &= ~bit;
		send_pointer(w, ev->button.x, ev->button.y, 0, 0, 0);
		break;
	}
	case SDL_MOUSEWHEEL: {
		int steps = ev->wheel.direction == SDL_MOUSEWHEEL_FLIPPED ? -ev->wheel.y : ev->wheel.y;

		w->activity = true;
		if (steps)
			send_pointer(w, w->last_x, w->last_y, 0, 0, steps);
		break;
	}
	case SDL_WINDOWEVENT:
		on_window_event(w, &ev->window);
		break;
	case SDL_QUIT:
		/* SDL's own quit (its signal handlers are off): the window's close button is the one that asks. */
		break;
	default:
		break;
	}
}

static bool should_stop(struct vm_window *w)
{
	bool stop;

	pthread_mutex_lock(&w->lock);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

static void run(struct vm_window *w)
{
	SDL_Event ev;

	w->refresh_ms = WINDOW_REFRESH_MIN_MS;
	w->next_refresh = SDL_GetTicks();
	while (!should_stop(w)) {
		Uint32 now = SDL_GetTicks();
		int wait = SDL_TICKS_PASSED(now, w->next_refresh) ? 0 : (int)(w->next_refresh - now);

		if (SDL_WaitEventTimeout(&ev, wait)) {
			do {
				if (ev.type == w->wake_event)
					continue;
				on_event(w, &ev);
			} while (SDL_PollEvent(&ev));
			/* Input wants to see its echo soon, whatever the timer had backed off to. */
			if (w->activity && w->refresh_ms > WINDOW_REFRESH_MIN_MS) {
				w->refresh_ms = WINDOW_REFRESH_MIN_MS;
				w->next_refresh = SDL_GetTicks() + WINDOW_REFRESH_MIN_MS;
			}
		}
		if (SDL_TICKS_PASSED(SDL_GetTicks(), w->next_refresh)) {
			bool changed = refresh(w);

			update_title(w);
			/* Input, or a pause on its way: the title and echo want showing soon. */
			if (w->activity || machine_pause_state(w->m) == MACHINE_PAUSING)
				w->refresh_ms = WINDOW_REFRESH_MIN_MS;
			else
				w->refresh_ms = window_next_refresh_ms(w->refresh_ms, changed, w->changed_before);
			w->changed_before = changed;
			w->activity = false;
			w->next_refresh = SDL_GetTicks() + w->refresh_ms;
		}
		if (w->need_present)
			present(w);
	}
}

/*
 * Sanitizer builds: what SDL and the D-Bus library it loads allocate for
 * themselves and keep until exit (D-Bus' global state, SDL's per-thread
 * error buffer) is not ours to free; LeakSanitizer is told so here rather
 * than every test run having to know.
 */
#if defined(__SANITIZE_ADDRESS__)
#define VM_WINDOW_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VM_WINDOW_SANITIZER 1
#endif
#endif
#ifdef VM_WINDOW_SANITIZER
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libdbus-1.so\nleak:libSDL2-2.0.so\n";
}
#endif

/* ---- the thread ---- */

static void started(struct vm_window *w, int err)
{
	pthread_mutex_lock(&w->lock);
	w->ready = true;
	w->start_err = err;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/*
 * @quit: SDL_Quit as well.  Not at the normal end: it would unload the X11
 * and D-Bus libraries SDL loaded at run time, leaving what they allocated
 * for themselves unreachable (LeakSanitizer reports it as ours), and the
 * process exits right after anyway; the window is destroyed either way.
 */
static void close_sdl(struct vm_window *w, bool quit)
{
	SDL_FreeSurface(w->pic);
	if (w->win)
		SDL_DestroyWindow(w->win);
	w->pic = NULL;
	w->win = NULL;
	if (quit)
		SDL_Quit();
}

static void *window_thread(void *arg)
{
	struct vm_window *w = arg;

	/* hutch-vm's signal thread handles SIGINT/SIGTERM; SDL must not take them. */
	SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
	/* The window's surface is X11's own (XShm), not a texture SDL would present
	 * through OpenGL (Mesa: its own threads, a shader cache on disk; see the top). */
	SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
	/* No screensaver inhibition: it would talk D-Bus while the VM runs. */
	SDL_SetHint(SDL_HINT_VIDEO_ALLOW_SCREENSAVER, "1");
	/* The click that focuses the window also counts (captures, or clicks in the guest). */
	SDL_SetHint(SDL_HINT_MOUSE_FOCUS_CLICKTHROUGH, "1");
	/* A captured pointer takes the keyboard too, so Alt+Tab goes to the guest. */
	SDL_SetHint(SDL_HINT_GRAB_KEYBOARD, "1");
	/* The window's close button must ask, not quit. */
	SDL_SetHint(SDL_HINT_QUIT_ON_LAST_WINDOW_CLOSE, "0");

	if (SDL_Init(SDL_INIT_VIDEO)) {
		snprintf(w->err, sizeof(w->err), "cannot open the VM window: %s", SDL_GetError());
		SDL_Quit();
		started(w, -EIO);
		return NULL;
	}
	snprintf(w->title, sizeof(w->title), "%s [Running] - Hutch", w->name);
	w->win = SDL_CreateWindow(w->title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, 720, 400,
				  SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI);
	w->wake_event = SDL_RegisterEvents(1);
	if (!w->win || w->wake_event == (Uint32)-1) {
		snprintf(w->err, sizeof(w->err), "cannot open the VM window: %s", SDL_GetError());
		close_sdl(w, true);
		started(w, -EIO);
		return NULL;
	}
	/* Keys go to the guest as scancodes: no input method in between. */
	SDL_StopTextInput();
	redraw_all(w);
	present(w);
	started(w, 0);
	run(w);
	release_all_keys(w);
	close_sdl(w, false);
	free(w->fb);
	w->fb = NULL;
	return NULL;
}

int vm_window_start(struct vm_window **wp, const struct vm_window_config *cfg, char *err, size_t errlen)
{
	struct vm_window *w = calloc(1, sizeof(*w));
	pthread_attr_t attr;
	int ret;

	*wp = NULL;
	if (!w) {
		snprintf(err, errlen, "cannot open the VM window: out of memory");
		return -ENOMEM;
	}
	w->m = cfg->m;
	snprintf(w->name, sizeof(w->name), "%s", cfg->name);
	snprintf(w->shot_dir, sizeof(w->shot_dir), "%s", cfg->screenshot_dir ? cfg->screenshot_dir : ".");
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WINDOW_THREAD_STACK);
	ret = pthread_create(&w->thread, &attr, window_thread, w);
	pthread_attr_destroy(&attr);
	if (ret) {
		snprintf(err, errlen, "cannot open the VM window: thread: %s", strerror(ret));
		free(w);
		return -ret;
	}
	pthread_setname_np(w->thread, "window");
	pthread_mutex_lock(&w->lock);
	while (!w->ready)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	if (w->start_err) {
		ret = w->start_err;
		snprintf(err, errlen, "%s", w->err);
		pthread_join(w->thread, NULL);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		free(w);
		return ret;
	}
	*wp = w;
	return 0;
}

bool vm_window_stop(struct vm_window *w)
{
	struct timespec deadline;
	SDL_Event ev;

	if (!w)
		return true;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_mutex_unlock(&w->lock);
	/* SDL_PushEvent may be called from any thread: it wakes SDL_WaitEventTimeout. */
	memset(&ev, 0, sizeof(ev));
	ev.type = w->wake_event;
	SDL_PushEvent(&ev);
	/*
	 * A dialog the user has not answered runs its own loop and does not
	 * see the wake-up: rather than hang the VM's exit on it, give up.
	 */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += VM_WINDOW_STOP_TIMEOUT_S;
	if (pthread_timedjoin_np(w->thread, NULL, &deadline))
		return false;
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
	return true;
}
