/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM window (hutch-vm --display sdl): the guest's screen in an SDL2
 * window, its keyboard and pointer, and VirtualBox's host key.
 *
 * Every SDL call runs on one thread, the window's own.  vm_window_start
 * starts it and returns once SDL is initialised and the window is open,
 * which must be before the seccomp filter goes on (what X11 needs only
 * once, connecting and creating the window, stays outside the filter's
 * "display" group).  The window reads the screen only through the display
 * interface (machine_display, display.h) and sends input only through the
 * machine's input router (m->input, src/vmm/input.h).  It stops before
 * the machine is destroyed (vm_window_stop), so the display's ops stay
 * valid while it runs.  docs/hutch-vm.md describes what the user sees.
 */
#ifndef HUTCH_VM_WINDOW_H
#define HUTCH_VM_WINDOW_H

#include <stdbool.h>
#include <stddef.h>

struct machine;
struct vm_window;

struct vm_window_config {
	struct machine *m;
	const char *name;            /* the VM's name, for the title */
	const char *screenshot_dir;  /* where Host+E writes its PNGs */
};

/* Open the window on its thread.  0, or -errno with a one-line reason in @err. */
int vm_window_start(struct vm_window **wp, const struct vm_window_config *cfg, char *err, size_t errlen);
/*
 * The machine is done: close the window and join its thread (NULL is
 * fine).  False if the thread did not end within 3 s (a dialog left open):
 * the caller must then exit without destroying the machine.
 */
bool vm_window_stop(struct vm_window *w);

#endif
