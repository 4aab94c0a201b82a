/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running VMs: starting hutch-vm detached, reading a VM's state, and the
 * control-socket client (docs/control-protocol.md).
 */
#ifndef HUTCH_VM_H
#define HUTCH_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "hutch/config.h"
#include "hutch/error.h"

/* VirtualBox's MachineState names, as showvminfo prints them. */
enum hutch_vm_state {
	HUTCH_VM_POWEROFF,
	HUTCH_VM_RUNNING,
	HUTCH_VM_PAUSED,
	HUTCH_VM_ABORTED,
};

const char *hutch_vm_state_name(enum hutch_vm_state s);	/* "poweroff" ... */
const char *hutch_vm_state_text(enum hutch_vm_state s);	/* "powered off" ... */

/* Files of a running VM (malloc'd): $runtime/<uuid>.sock and .state. */
char *hutch_vm_socket_path(const struct hutch_machine *m);
char *hutch_vm_state_path(const struct hutch_machine *m);
/* The VM's folder (dirname of the settings file) and its log file. */
char *hutch_vm_folder(const struct hutch_machine *m);
char *hutch_vm_log_path(const struct hutch_machine *m);

/*
 * The VM's state from its state file: "running pid=N" with N dead is
 * aborted; a running VM is asked over its socket whether it is paused.
 * since (may be NULL) gets the time of the last change.  reason (may be
 * NULL) gets aborted's reason (malloc'd) or NULL.
 */
enum hutch_vm_state hutch_vm_get_state(const struct hutch_machine *m, time_t *since, char **reason,
				       pid_t *pid);
static inline int hutch_vm_is_live(enum hutch_vm_state s)
{
	return s == HUTCH_VM_RUNNING || s == HUTCH_VM_PAUSED;
}

/*
 * What the machine has that hutch-vm cannot do yet, as one line
 * ("nic1 (nat), SATA Controller-0-0 (hdd)"), or NULL.  fatal gets the part
 * that prevents starting at all (EFI firmware), or NULL.
 */
char *hutch_vm_unsupported(const struct hutch_machine *m, char **fatal);

/*
 * hutch-vm's --drive value (src/common/drive_spec.h) for attachment a of
 * controller c, malloc'd: bus, port, media and, for an image, its format,
 * the media registry's ("RAW" "VDI" "qcow2", any case), so hutch-vm never
 * probes a disk a guest could have written a header into.  NULL if
 * hutch-vm cannot attach it yet or format is not one it knows.
 */
char *hutch_vm_drive_spec(const struct hutch_storagectl *c, const struct hutch_attachment *a,
			  const char *format);

/*
 * hutch-vm's --nic value (src/common/nic_spec.h) for adapter slot (0-based)
 * of m, malloc'd; NULL when the adapter is "none", when hutch-vm cannot act
 * on its attachment or type (hutch_vm_unsupported names those), or when its
 * settings cannot make an adapter (then e, if given, says why).
 */
char *hutch_vm_nic_spec(const struct hutch_machine *m, unsigned slot, struct hutch_error *e);

/* Where hutch-vm is: $HUTCH_VM, next to the program (argv0_dir), its parent dir, then PATH. */
char *hutch_vm_find_binary(const char *exe_dir);

/*
 * Start hutch-vm detached for m and wait (timeout_s) until its control
 * socket answers "status" with "ok running".  If it exits first, the
 * error carries the last lines of its log.
 */
int hutch_vm_start(const struct hutch_machine *m, const char *exe_dir, unsigned timeout_s,
		   pid_t *pid, struct hutch_error *e);

/* How a started VM shows itself (VBoxManage's startvm --type). */
enum hutch_vm_frontend {
	HUTCH_FRONTEND_HEADLESS,   /* no window: serial log, control socket, screenshots */
	HUTCH_FRONTEND_GUI,        /* a window on the user's display (hutch-vm --display sdl) */
};
/* hutch_vm_start with a frontend; hutch_vm_start is HUTCH_FRONTEND_HEADLESS. */
int hutch_vm_start_frontend(const struct hutch_machine *m, const char *exe_dir,
			    enum hutch_vm_frontend fe, unsigned timeout_s, pid_t *pid,
			    struct hutch_error *e);

/*
 * Send one request to the VM's control socket and read the reply line.
 * Returns 0 for "ok[ text]" (text in reply, may be NULL), -EREMOTEIO for
 * "error msg" (msg in e), other -errno for socket trouble.
 */
int hutch_vm_control(const struct hutch_machine *m, const char *request, char *reply,
		     size_t replylen, struct hutch_error *e);
int hutch_control_request(const char *sockpath, const char *request, char *reply, size_t replylen,
			  unsigned timeout_ms, struct hutch_error *e);
/* The same, passing @pass_fd (>= 0) with the request as SCM_RIGHTS ancillary data. */
int hutch_control_request_fd(const char *sockpath, const char *request, int pass_fd, char *reply,
			     size_t replylen, unsigned timeout_ms, struct hutch_error *e);

/*
 * A running VM's network adapters (slot 0-based), over its control socket
 * (docs/control-protocol.md: "natpf N RULE", "natpf N delete NAME",
 * "setlinkstate N on|off").  The caller saves the change in the settings
 * on success, as VirtualBox does.  The VM's own refusal (no such adapter,
 * not on NAT, host port taken) is -EREMOTEIO with its message in e.
 */
int hutch_vm_natpf_add(const struct hutch_machine *m, unsigned slot, const struct hutch_natpf *pf,
		       struct hutch_error *e);
int hutch_vm_natpf_delete(const struct hutch_machine *m, unsigned slot, const char *name, struct hutch_error *e);
int hutch_vm_set_link(const struct hutch_machine *m, unsigned slot, bool up, struct hutch_error *e);

/*
 * Write a PNG of the VM's screen to @path (created with the caller's
 * rights, or truncated; hutch-vm only gets the open descriptor).  The
 * size in *width x *height (either may be NULL).  A file this call
 * created is removed on failure.
 */
int hutch_vm_screenshot_png(const struct hutch_machine *m, const char *path, unsigned *width,
			    unsigned *height, struct hutch_error *e);

/*
 * The VM's keyboard, as VBoxManage's controlvm keyboardputscancode and
 * keyboardputstring drive it (docs/control-protocol.md).  Scan codes are
 * set-1 bytes ("1e 9e" is A pressed and released); text is typed on a US
 * layout, Shift added where a character needs it, '\n' as Enter, '\t' as
 * Tab; a character the layout cannot type is refused (-EREMOTEIO, with
 * the VM's reason in e) before any key of that request goes out.  Long
 * input goes in several requests; the VM types it as fast as the guest
 * reads, and these calls wait (up to a minute) while its queue is full.
 */
int hutch_vm_put_scancodes(const struct hutch_machine *m, const uint8_t *codes, size_t n,
			   struct hutch_error *e);
int hutch_vm_put_string(const struct hutch_machine *m, const char *text, struct hutch_error *e);
/* The keyboard LEDs as the guest set them: HUTCH_LED_* bits. */
#define HUTCH_LED_SCROLL 0x1u
#define HUTCH_LED_NUM    0x2u
#define HUTCH_LED_CAPS   0x4u
int hutch_vm_keyboard_leds(const struct hutch_machine *m, unsigned *leds, struct hutch_error *e);

/* Wait up to timeout_s for the VM to leave the running/paused states. */
int hutch_vm_wait_stopped(const struct hutch_machine *m, unsigned timeout_s);

#endif
