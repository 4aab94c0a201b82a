/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hutch-vm's seccomp-BPF filter (Firecracker's approach): once the VM is
 * set up (devices, images, control socket open), the process may make only
 * the system calls a running VM needs.  Anything else ends the process
 * with "hutch-vm: seccomp: system call N (name) is not allowed".  The
 * allow-list is one table in seccomp.c; docs/testing.md says how to find
 * a system call a change newly needs.
 */
#ifndef HUTCH_SECCOMP_H
#define HUTCH_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

/* What a system call outside the allow-list does. */
enum seccomp_violation {
	SECCOMP_VIOLATION_KILL,   /* SIGSYS: a message on stderr, then _exit(SECCOMP_EXIT_STATUS) */
	SECCOMP_VIOLATION_LOG,    /* the same message once per call, then the call is made */
};

#define SECCOMP_EXIT_STATUS 1   /* hutch-vm's status for a VM failure */

/*
 * Install the filter on every thread of the process (TSYNC), after setting
 * no_new_privs.  0, or -errno with a one-line reason in @err.
 */
int seccomp_filter_install(enum seccomp_violation on_violation, char *err, size_t errlen);

/*
 * Groups of calls a part of hutch-vm needs only when it is in use, added
 * to the list on request (seccomp_filter_install_groups).
 */
#define SECCOMP_GROUP_DISPLAY 0x1u   /* the VM window (--display sdl): SDL2 on X11 */

/* seccomp_filter_install with @groups (SECCOMP_GROUP_*) allowed as well. */
int seccomp_filter_install_groups(unsigned int groups, enum seccomp_violation on_violation,
				  char *err, size_t errlen);

/* Whether group @group (one SECCOMP_GROUP_*) lists @nr. */
bool seccomp_group_lists(unsigned int group, long nr);

/* The x86-64 name of system call @nr, or NULL if unknown (for messages). */
const char *seccomp_syscall_name(long nr);

/* Whether the allow-list names @nr at all (with or without argument checks). */
bool seccomp_syscall_listed(long nr);

#endif
