// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The seccomp-BPF allow-list of hutch-vm (seccomp.h).
 *
 * The filter is a hand-written classic BPF program (the kernel's
 * Documentation/userspace-api/seccomp_filter.rst):
 *
 *   arch != AUDIT_ARCH_X86_64            -> violation (i386 int 0x80 calls)
 *   nr has __X32_SYSCALL_BIT              -> violation (the x32 ABI)
 *   for each rule, top down: nr == rule   -> allow, or check an argument
 *   anything else                         -> violation
 *
 * A violation raises SIGSYS (SECCOMP_RET_TRAP) and the handler below names
 * the call on stderr and ends the process: a user sees which system call
 * was refused instead of a bare "Bad system call" core dump.
 *
 * Log mode (HUTCH_SECCOMP_LOG, for finding what a change needs): the
 * handler names each refused call once and makes it itself, through
 * seccomp_escape(), the one syscall instruction the filter then lets
 * through whatever it is; the caller gets the real result.
 *
 * The list was found by running hutch-vm under `strace -f` through the
 * guest tests' paths (boot, SMP, virtio-blk/AHCI/IDE disks, the control
 * socket, pause/resume, guest and control resets, poweroff) in normal and
 * AddressSanitizer builds, plus what the parallel storage work adds.
 * docs/testing.md says how to find a newly needed one.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <unistd.h>

#include "seccomp.h"
#include "syscall_names.h"   /* generated from <asm/unistd_64.h> (syscall_names.sh) */

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

/*
 * Sanitizer builds: ASan's runtime needs more at exit and on a report
 * (LeakSanitizer stops the world with a ptrace()ing helper made by clone()
 * without CLONE_THREAD; the symbolizer is a child process).  Those builds
 * are for tests only; the release build never allows these.
 */
#if defined(__SANITIZE_ADDRESS__)
#define HUTCH_SANITIZER_RUNTIME 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HUTCH_SANITIZER_RUNTIME 1
#endif
#endif

enum rule_kind {
	RULE_ALLOW,          /* any arguments */
	RULE_IOCTL,          /* KVM's ioctls (type KVMIO), TCGETS and FIONREAD only */
	RULE_SOCKET_NET,     /* socket(AF_INET or AF_UNIX, ...) only: NAT's and intnet's connections */
	RULE_CLONE_THREAD,   /* a new thread (CLONE_THREAD), never a new process */
	RULE_ENOSYS,         /* fails with ENOSYS: glibc then falls back to a call we can check */
	RULE_PIPE2_NOFLAGS_ENOSYS,  /* pipe2(fds, 0), i.e. glibc's pipe(), fails with ENOSYS;
				       other calls go on to the rules below it */
};

struct syscall_rule {
	long nr;
	enum rule_kind kind;
};

/*
 * The allow-list, one table, checked top down: the calls made on every VM
 * exit come first, since each rule costs two BPF instructions.
 */
static const struct syscall_rule rules[] = {
	/*
	 * KVM: KVM_RUN on every vCPU exit; KVM_IRQ_LINE and KVM_SIGNAL_MSI
	 * from the devices; at every (re)boot KVM_CREATE_VM, memory slots,
	 * KVM_CREATE_VCPU and the register set-up; KVM_IOEVENTFD, KVM_IRQFD
	 * and KVM_SET_GSI_ROUTING when devices register doorbells and MSIs
	 * and at every reboot (kvm_notify.c; all of type KVMIO, so this one
	 * rule covers them).  TCGETS is stdio's isatty() on the console;
	 * FIONREAD is libslirp sizing a UDP datagram before it reads it.
	 */
	{ __NR_ioctl, RULE_IOCTL },
	/* Locks and condition variables; the event loop's and vCPUs' sleeps. */
	{ __NR_futex, RULE_ALLOW },
	{ __NR_poll, RULE_ALLOW },
	{ __NR_ppoll, RULE_ALLOW },
	/* Disk images, the console, the control socket, the state file. */
	{ __NR_read, RULE_ALLOW },
	{ __NR_write, RULE_ALLOW },
	{ __NR_pread64, RULE_ALLOW },
	{ __NR_pwrite64, RULE_ALLOW },
	{ __NR_readv, RULE_ALLOW },
	{ __NR_writev, RULE_ALLOW },
	{ __NR_preadv, RULE_ALLOW },
	{ __NR_pwritev, RULE_ALLOW },
	{ __NR_preadv2, RULE_ALLOW },
	{ __NR_pwritev2, RULE_ALLOW },
	{ __NR_lseek, RULE_ALLOW },
	{ __NR_fsync, RULE_ALLOW },           /* the state file, raw images' flush */
	{ __NR_fdatasync, RULE_ALLOW },       /* FLUSH CACHE, virtio-blk flush, qcow2 ordering */
	{ __NR_fallocate, RULE_ALLOW },       /* TRIM/discard (punch hole), write zeroes */
	/*
	 * Disk data through io_uring (src/block/aio.h): every storage I/O
	 * thread makes its ring when it starts, at device creation, before
	 * this filter; afterwards only io_uring_enter is needed.  A new ring
	 * (setup) or registered resources fail softly, and a thread without
	 * a ring uses preadv/pwritev: no new kernel objects of that kind once
	 * the guest runs.
	 */
	{ __NR_io_uring_enter, RULE_ALLOW },
	{ __NR_io_uring_setup, RULE_ENOSYS },
	{ __NR_io_uring_register, RULE_ENOSYS },
	{ __NR_ftruncate, RULE_ALLOW },       /* growing qcow2/VDI images */
	{ __NR_fcntl, RULE_ALLOW },           /* F_OFD_SETLK image locks, F_GETFL */
	{ __NR_fstat, RULE_ALLOW },
	{ __NR_newfstatat, RULE_ALLOW },
	{ __NR_statx, RULE_ALLOW },
	/*
	 * An image opened once the guest runs (a CD/DVD change) checks where a
	 * backing file lives (fstatfs); openat2 fails, so the block layer takes
	 * its openat + O_NOFOLLOW path, which this filter can see.
	 */
	{ __NR_fstatfs, RULE_ALLOW },
	{ __NR_openat2, RULE_ENOSYS },
	/*
	 * Every reboot re-reads the kernel and initrd; every boot rewrites the
	 * state file (a temporary file renamed over it); at exit the control
	 * socket is unlinked.
	 */
	{ __NR_openat, RULE_ALLOW },
	{ __NR_close, RULE_ALLOW },
	{ __NR_rename, RULE_ALLOW },
	{ __NR_renameat, RULE_ALLOW },
	{ __NR_renameat2, RULE_ALLOW },
	{ __NR_unlink, RULE_ALLOW },
	{ __NR_unlinkat, RULE_ALLOW },
	/* The control socket: clients connect to a socket bound before the filter. */
	{ __NR_accept4, RULE_ALLOW },
	{ __NR_sendto, RULE_ALLOW },
	{ __NR_recvfrom, RULE_ALLOW },
	{ __NR_sendmsg, RULE_ALLOW },
	{ __NR_recvmsg, RULE_ALLOW },
	{ __NR_shutdown, RULE_ALLOW },
	/*
	 * The VM's event loop (event_loop.c: epoll_wait on its thread,
	 * epoll_ctl and timerfd_settime from any thread arming a timer or
	 * changing a watch; its thread starts before the filter and gets it
	 * by TSYNC); eventfds for ioeventfd/irqfd and the I/O threads.
	 */
	{ __NR_epoll_create1, RULE_ALLOW },
	{ __NR_epoll_ctl, RULE_ALLOW },
	{ __NR_epoll_wait, RULE_ALLOW },
	{ __NR_epoll_pwait, RULE_ALLOW },
	{ __NR_epoll_pwait2, RULE_ALLOW },
	{ __NR_eventfd2, RULE_ALLOW },
	{ __NR_timerfd_create, RULE_ALLOW },
	{ __NR_timerfd_settime, RULE_ALLOW },
	{ __NR_timerfd_gettime, RULE_ALLOW },
	{ __NR_pipe2, RULE_ALLOW },
	/* Guest RAM (emptied by MADV_DONTNEED at reboot), kvm_run areas, malloc, thread stacks. */
	{ __NR_mmap, RULE_ALLOW },
	{ __NR_munmap, RULE_ALLOW },
	{ __NR_mprotect, RULE_ALLOW },
	{ __NR_madvise, RULE_ALLOW },
	{ __NR_mremap, RULE_ALLOW },
	{ __NR_brk, RULE_ALLOW },
	/* Threads: new vCPU threads at every boot; glibc's per-thread set-up and exit. */
#ifdef HUTCH_SANITIZER_RUNTIME
	{ __NR_clone, RULE_ALLOW },
#else
	{ __NR_clone, RULE_CLONE_THREAD },
#endif
	{ __NR_clone3, RULE_ENOSYS },         /* its flags are in memory, out of BPF's reach */
	{ __NR_set_robust_list, RULE_ALLOW },
	{ __NR_rseq, RULE_ALLOW },
	{ __NR_prctl, RULE_ALLOW },           /* pthread_setname_np on the calling thread */
	{ __NR_gettid, RULE_ALLOW },
	{ __NR_getpid, RULE_ALLOW },
	{ __NR_sched_yield, RULE_ALLOW },
	{ __NR_sched_getaffinity, RULE_ALLOW },
	{ __NR_getrandom, RULE_ALLOW },       /* malloc's per-thread arena set-up */
	{ __NR_exit, RULE_ALLOW },
	{ __NR_exit_group, RULE_ALLOW },
	/*
	 * Signals: SIGUSR1 kicks a vCPU out of KVM_RUN (tgkill, and its
	 * handler set at every boot); the signal thread's sigwait; handlers'
	 * return; abort() on an assertion.
	 */
	{ __NR_rt_sigaction, RULE_ALLOW },
	{ __NR_rt_sigprocmask, RULE_ALLOW },
	{ __NR_rt_sigreturn, RULE_ALLOW },
	{ __NR_rt_sigtimedwait, RULE_ALLOW },
	{ __NR_tgkill, RULE_ALLOW },
	/* Time: the vDSO's fallbacks, sleeps. */
	{ __NR_clock_gettime, RULE_ALLOW },
	{ __NR_clock_getres, RULE_ALLOW },
	{ __NR_gettimeofday, RULE_ALLOW },
	{ __NR_clock_nanosleep, RULE_ALLOW },
	{ __NR_nanosleep, RULE_ALLOW },
	/*
	 * Networking (src/net; the back ends are opened before the filter,
	 * so what is here is only what they do while the guest runs).  NAT
	 * (libslirp): an IPv4 socket per guest connection or UDP flow
	 * (connect, or bind + listen + accept for a forwarded port added
	 * with `controlvm natpf`), its options and names, MSG_ERRQUEUE reads
	 * (recvmsg, above), /etc/resolv.conf re-read for DNS (openat, above).
	 * Internal networks: AF_UNIX seqpacket connections to adapters that
	 * join (socket, connect; accept4 and sendmsg/recvfrom above), the
	 * network's directory rescanned (getdents64), a dead peer's socket
	 * unlinked, the directory removed by the last one out (rmdir).
	 * Bridged: read and writev on the TAP (above).
	 */
	{ __NR_socket, RULE_SOCKET_NET },
	{ __NR_connect, RULE_ALLOW },
	{ __NR_bind, RULE_ALLOW },
	{ __NR_listen, RULE_ALLOW },
	{ __NR_accept, RULE_ALLOW },
	{ __NR_getsockname, RULE_ALLOW },
	{ __NR_getpeername, RULE_ALLOW },
	{ __NR_setsockopt, RULE_ALLOW },
	{ __NR_getsockopt, RULE_ALLOW },
	{ __NR_getdents64, RULE_ALLOW },
	{ __NR_rmdir, RULE_ALLOW },
#ifdef HUTCH_SANITIZER_RUNTIME
	/* AddressSanitizer/LeakSanitizer runtime: reports, the leak check at exit. */
	{ __NR_sigaltstack, RULE_ALLOW },
	{ __NR_readlink, RULE_ALLOW },
	{ __NR_getdents, RULE_ALLOW },        /* LeakSanitizer lists /proc/self/task (getdents64: above) */
	{ __NR_ptrace, RULE_ALLOW },
	{ __NR_wait4, RULE_ALLOW },
	{ __NR_getppid, RULE_ALLOW },
	{ __NR_kill, RULE_ALLOW },
	{ __NR_prlimit64, RULE_ALLOW },
	{ __NR_getrlimit, RULE_ALLOW },
	{ __NR_setrlimit, RULE_ALLOW },
	{ __NR_uname, RULE_ALLOW },
	{ __NR_dup, RULE_ALLOW },
	{ __NR_dup2, RULE_ALLOW },
	{ __NR_pipe, RULE_ALLOW },
	{ __NR_execve, RULE_ALLOW },
	{ __NR_sched_setaffinity, RULE_ALLOW },
	{ __NR_process_vm_readv, RULE_ALLOW },
	{ __NR_open, RULE_ALLOW },
	{ __NR_stat, RULE_ALLOW },
	{ __NR_access, RULE_ALLOW },
	{ __NR_getcwd, RULE_ALLOW },
	{ __NR_mincore, RULE_ALLOW },
#endif
};

/*
 * The "display" group (SECCOMP_GROUP_DISPLAY): what the VM window
 * (src/frontend/vm_window.c, SDL2 on X11 with its software renderer) does
 * once it is open; connecting to the X server and creating the window
 * happen before the filter.  Found by running the window under Xvfb with
 * HUTCH_SECCOMP_LOG=1 through a guest's boot, mode changes, typing, the
 * pointer, fullscreen, a screenshot and the close dialog.
 */
static const struct syscall_rule display_rules[] = {
	/*
	 * The window's picture: Xlib's MIT-SHM image, made anew at every
	 * resize (a guest mode change, fullscreen): a SysV segment shared with
	 * the X server, marked for removal at once, detached when replaced.
	 */
	{ __NR_shmget, RULE_ALLOW },
	{ __NR_shmat, RULE_ALLOW },
	{ __NR_shmdt, RULE_ALLOW },
	{ __NR_shmctl, RULE_ALLOW },
	/*
	 * SDL's X11 message box (the close dialog, the Host+Home menu) forks a
	 * child to keep its setlocale() out of this process, unless pipe()
	 * fails: fail glibc's pipe() (pipe2 without flags, which hutch-vm never
	 * makes itself), so the box runs in this process and no new process
	 * is ever made.  This group is checked before the main list.
	 */
	{ __NR_pipe2, RULE_PIPE2_NOFLAGS_ENOSYS },
	/*
	 * The message box talks to the X server on a connection of its own
	 * (an AF_UNIX socket, allowed above): Xlib's XOpenDisplay names this
	 * host (uname) for the authority lookup and checks the authority file.
	 */
	{ __NR_uname, RULE_ALLOW },
	{ __NR_access, RULE_ALLOW },
};

/* Where the filter looks (struct seccomp_data); x86-64 is little-endian. */
#define DATA_NR        offsetof(struct seccomp_data, nr)
#define DATA_ARCH      offsetof(struct seccomp_data, arch)
#define DATA_IP_LO     offsetof(struct seccomp_data, instruction_pointer)
#define DATA_IP_HI     (DATA_IP_LO + 4)
#define DATA_ARG_LO(i) (offsetof(struct seccomp_data, args) + (i) * sizeof(__u64))

/*
 * seccomp_escape(nr, a1..a6): a raw system call from one known place.  The
 * kernel reports the address after the syscall instruction as the call's
 * instruction pointer (seccomp_data), so the log-mode filter can allow
 * exactly this one.  Plain x86-64 calling convention in, syscall
 * convention out (the 4th argument moves from rcx to r10).
 */
long seccomp_escape(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
extern const char seccomp_escape_return[];
__asm__(".text\n"
	".globl seccomp_escape\n"
	".hidden seccomp_escape\n"
	".type seccomp_escape, @function\n"
	"seccomp_escape:\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	movq %rdx, %rsi\n"
	"	movq %rcx, %rdx\n"
	"	movq %r8, %r10\n"
	"	movq %r9, %r8\n"
	"	movq 8(%rsp), %r9\n"
	"	syscall\n"
	".globl seccomp_escape_return\n"
	".hidden seccomp_escape_return\n"
	"seccomp_escape_return:\n"
	"	ret\n"
	".size seccomp_escape, . - seccomp_escape\n");

static enum seccomp_violation violation_mode;

#define MAX_INSNS 512

struct bpf_prog {
	struct sock_filter insn[MAX_INSNS];
	unsigned int len;
};

static void emit(struct bpf_prog *p, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	/* The table is fixed at build time: running out is a bug here, not input. */
	if (p->len < MAX_INSNS)
		p->insn[p->len] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
	p->len++;
}

static void emit_rule(struct bpf_prog *p, const struct syscall_rule *r, uint32_t deny)
{
	switch (r->kind) {
	case RULE_ALLOW:
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)r->nr);
		emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
		break;
	case RULE_ENOSYS:
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)r->nr);
		emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS);
		break;
	case RULE_IOCTL:
		/* The command is an unsigned int: the argument's low half. */
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 7, (uint32_t)r->nr);
		emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, DATA_ARG_LO(1));
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 4, 0, TCGETS);
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 3, 0, FIONREAD);
		emit(p, BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xff00);    /* _IOC_TYPE */
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, KVMIO << 8);
		emit(p, BPF_RET | BPF_K, 0, 0, deny);
		emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
		break;
	case RULE_SOCKET_NET:
		/* The domain is an int: the argument's low half. */
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 5, (uint32_t)r->nr);
		emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, DATA_ARG_LO(0));
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 2, 0, AF_INET);
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, AF_UNIX);
		emit(p, BPF_RET | BPF_K, 0, 0, deny);
		emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
		break;
	case RULE_PIPE2_NOFLAGS_ENOSYS:
		/* Ends with the number loaded again, whichever way it went. */
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 3, (uint32_t)r->nr);
		emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, DATA_ARG_LO(1));
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
		emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS);
		emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, DATA_NR);
		break;
	case RULE_CLONE_THREAD:
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, (uint32_t)r->nr);
		emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, DATA_ARG_LO(0));
		emit(p, BPF_JMP | BPF_JSET | BPF_K, 1, 0, CLONE_THREAD);
		emit(p, BPF_RET | BPF_K, 0, 0, deny);
		emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
		break;
	}
}

static void build_filter(struct bpf_prog *p, uint32_t deny, bool log_escape, unsigned int groups)
{
	uint64_t escape = (uintptr_t)seccomp_escape_return;

	p->len = 0;
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, DATA_ARCH);
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, AUDIT_ARCH_X86_64);
	emit(p, BPF_RET | BPF_K, 0, 0, deny);
	if (log_escape) {
		emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, DATA_IP_LO);
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 3, (uint32_t)escape);
		emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, DATA_IP_HI);
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)(escape >> 32));
		emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	}
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, DATA_NR);
	emit(p, BPF_JMP | BPF_JGE | BPF_K, 0, 1, __X32_SYSCALL_BIT);
	emit(p, BPF_RET | BPF_K, 0, 0, deny);
	/*
	 * A rule that loads an argument ends in a return on every path; a
	 * call it does not match jumps past it with the number still loaded.
	 */
	/* Groups first: a group may narrow a call the main list allows (pipe2). */
	if (groups & SECCOMP_GROUP_DISPLAY)
		for (size_t i = 0; i < sizeof(display_rules) / sizeof(display_rules[0]); i++)
			emit_rule(p, &display_rules[i], deny);
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		emit_rule(p, &rules[i], deny);
	emit(p, BPF_RET | BPF_K, 0, 0, deny);
}

const char *seccomp_syscall_name(long nr)
{
	if (nr < 0 || (unsigned long)nr >= sizeof(syscall_names) / sizeof(syscall_names[0]))
		return NULL;
	return syscall_names[nr];
}

bool seccomp_syscall_listed(long nr)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].nr == nr)
			return true;
	return false;
}

bool seccomp_group_lists(unsigned int group, long nr)
{
	if (group != SECCOMP_GROUP_DISPLAY)
		return false;
	for (size_t i = 0; i < sizeof(display_rules) / sizeof(display_rules[0]); i++)
		if (display_rules[i].nr == nr)
			return true;
	return false;
}

/* Async-signal-safe: appends @s to @buf (of @size) at *@n. */
static void put_str(char *buf, size_t size, size_t *n, const char *s)
{
	while (*s && *n < size)
		buf[(*n)++] = *s++;
}

static void put_long(char *buf, size_t size, size_t *n, long v)
{
	char digits[24];
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
	size_t d = 0;

	do {
		digits[d++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0 && *n < size)
		buf[(*n)++] = '-';
	while (d && *n < size)
		buf[(*n)++] = digits[--d];
}

static void put_hex(char *buf, size_t size, size_t *n, unsigned long v)
{
	char digits[20];
	size_t d = 0;

	do {
		digits[d++] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v);
	put_str(buf, size, n, "0x");
	while (d && *n < size)
		buf[(*n)++] = digits[--d];
}

/* Log mode names each refused call (each ioctl request) once. */
#define LOGGED_NRS     1024
#define LOGGED_IOCTLS  64
static unsigned long logged_nr[LOGGED_NRS / (8 * sizeof(unsigned long))];
static unsigned long logged_ioctl[LOGGED_IOCTLS];

static bool first_time(long nr, unsigned long request)
{
	const unsigned int bits = 8 * sizeof(unsigned long);
	unsigned long bit, old;

	if (nr == __NR_ioctl) {
		/* 0 marks a free slot; request 0 is never a KVM or terminal ioctl. */
		for (unsigned int i = 0; i < LOGGED_IOCTLS; i++) {
			unsigned long expected = 0;

			if (__atomic_load_n(&logged_ioctl[i], __ATOMIC_ACQUIRE) == request)
				return false;
			if (__atomic_compare_exchange_n(&logged_ioctl[i], &expected, request, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return true;
			if (expected == request)
				return false;
		}
		return false;
	}
	if (nr < 0 || nr >= LOGGED_NRS)
		return true;
	bit = 1UL << ((unsigned long)nr % bits);
	old = __atomic_fetch_or(&logged_nr[(unsigned long)nr / bits], bit, __ATOMIC_ACQ_REL);
	return !(old & bit);
}

/*
 * SIGSYS from SECCOMP_RET_TRAP: name the call; end the whole process, or
 * in log mode make the call and hand back its result.  Async-signal-safe:
 * write(2), _exit(2) and atomics only.
 */
static void seccomp_sigsys(int sig, siginfo_t *si, void *ucontext)
{
	greg_t *regs = ((ucontext_t *)ucontext)->uc_mcontext.gregs;
	bool native = si->si_arch == AUDIT_ARCH_X86_64;
	bool log_only = violation_mode == SECCOMP_VIOLATION_LOG && native;
	long nr = si->si_syscall;
	unsigned long request = (unsigned long)regs[REG_RSI] & 0xffffffffUL;
	const char *name = native ? seccomp_syscall_name(nr) : NULL;
	char msg[200];
	size_t n = 0;

	(void)sig;
	if (!log_only || first_time(nr, request)) {
		put_str(msg, sizeof(msg), &n, "hutch-vm: seccomp: system call ");
		put_long(msg, sizeof(msg), &n, nr);
		put_str(msg, sizeof(msg), &n, " (");
		put_str(msg, sizeof(msg), &n, name ? name : native ? "unknown" : "not x86-64");
		put_str(msg, sizeof(msg), &n, ") is not allowed");
		if (native && nr == __NR_ioctl) {
			put_str(msg, sizeof(msg), &n, ": request ");
			put_hex(msg, sizeof(msg), &n, request);
		}
		put_str(msg, sizeof(msg), &n, log_only ? " (HUTCH_SECCOMP_LOG: let through)\n" : "\n");
		(void)!write(STDERR_FILENO, msg, n);
	}
	if (!log_only)
		_exit(SECCOMP_EXIT_STATUS);
	regs[REG_RAX] = seccomp_escape(nr, regs[REG_RDI], regs[REG_RSI], regs[REG_RDX],
				       regs[REG_R10], regs[REG_R8], regs[REG_R9]);
}

int seccomp_filter_install(enum seccomp_violation on_violation, char *err, size_t errlen)
{
	return seccomp_filter_install_groups(0, on_violation, err, errlen);
}

int seccomp_filter_install_groups(unsigned int groups, enum seccomp_violation on_violation,
				  char *err, size_t errlen)
{
	static struct bpf_prog prog;   /* static: 4 KiB; the kernel copies it */
	struct sock_fprog fprog;
	struct sigaction sa;
	long ret;

	violation_mode = on_violation;
	build_filter(&prog, SECCOMP_RET_TRAP, on_violation == SECCOMP_VIOLATION_LOG, groups);
	if (prog.len > MAX_INSNS) {
		snprintf(err, errlen, "seccomp: the filter needs %u BPF instructions, more than %d",
			 prog.len, MAX_INSNS);
		return -E2BIG;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = seccomp_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		snprintf(err, errlen, "seccomp: SIGSYS handler: %s", strerror(errno));
		return -errno;
	}
	/* Required for an unprivileged filter; hutch-vm never executes anything anyway. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "seccomp: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -errno;
	}
	fprog.len = (unsigned short)prog.len;
	fprog.filter = prog.insn;
	/* TSYNC: the I/O, signal and event-loop threads already run; every one is covered. */
	ret = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog);
	if (ret < 0) {
		snprintf(err, errlen, "seccomp: installing the filter: %s", strerror(errno));
		return -errno;
	}
	if (ret > 0) {
		snprintf(err, errlen, "seccomp: thread %ld could not take the filter", ret);
		return -EBUSY;
	}
	return 0;
}
