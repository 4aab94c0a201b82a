// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hutch-vm: one process per running VM.  Parses the command line, builds
 * the machine, runs it headless (serial console on stdio or in a file) or
 * in a window (--display sdl, vm_window.c), and reports how it ended
 * through its exit status and the state file libhutch reads.
 * docs/hutch-vm.md describes every option.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thread.h"
#include "boot_linux.h"
#include "control.h"
#include "devices.h"
#include "firmware.h"
#include "machine.h"
#include "seccomp.h"
#include "serial_backend.h"
#ifdef HUTCH_HAVE_SDL
#include "vm_window.h"
#endif

#define EXIT_USAGE 2

struct options {
	struct machine_config mc;
	const char *serial;
	const char *serial_limit;     /* --serial-limit as given, NULL = the default */
	enum serial_fd_kind serial_kind;
	const char *control;
	const char *state_file;
	bool no_seccomp;
	const char *vga;              /* --vga as given, NULL = the default */
	bool window;                  /* --display sdl */
	const char *screenshot_dir;   /* --screenshot-dir, NULL = the default */
	struct drive_spec drives[MAX_DRIVES];
	struct nic_spec nics[NIC_MAX];
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hutch-vm [--kernel FILE | --bios FILE] [options]\n"
		"Run one virtual machine on KVM, headless or in a window.\n\n"
		"  --kernel FILE        Linux bzImage to boot directly (fast path)\n"
		"  --bios FILE          without --kernel: boot through this BIOS image\n"
		"                       (default %s)\n"
		"  --boot LIST          firmware boot order: floppy,dvd,disk,net in any order\n"
		"                       (default %s); unlisted classes never boot\n"
		"  --initrd FILE        initial ramdisk\n"
		"  --append STR         kernel command line\n"
		"  --memory MiB         guest RAM (default 512)\n"
		"  --cpus N             vCPUs (default 1)\n"
		"  --serial MODE        COM1: stdio (default), file:PATH, or none\n"
		"  --serial-limit SIZE  file:PATH grows to SIZE bytes at most, then output is\n"
		"                       dropped (K/M/G suffixes; 0 = unlimited; default 64M)\n"
		"  --nic SPEC           a network adapter (repeatable, up to 8):\n"
		"                       nic=N,model=e1000|virtio,net=null|nat|bridged|intnet,\n"
		"                       mac=XXXXXXXXXXXX[,cable=on|off][,natnet=A.B.C.D/M]\n"
		"                       [,fwd=RULE]...[,tftp=DIR][,bootfile=NAME]\n"
		"                       [,bridge=IF][,intnet=NAME] (docs/hutch-vm.md)\n"
		"  --drive SPEC         a disk or CD/DVD drive (repeatable):\n"
		"                       file=PATH[,format=raw|qcow2|vdi|vmdk][,if=virtio|sata|ide]\n"
		"                       [,media=disk|cdrom][,readonly=on][,port=N]\n"
		"                       [,hostcache=on|off][,l2-cache-size=B][,refcount-cache-size=B]\n"
		"  --vga std|none       the display adapter: VGA with Bochs VBE (1234:1111, as\n"
		"                       QEMU's -vga std) or none (default: std for a firmware\n"
		"                       boot, none with --kernel)\n"
		"  --vram MiB           the display adapter's VRAM (1..256, default 16)\n"
		"  --display MODE       headless (default) or sdl: the VM's screen in a window on\n"
		"                       $DISPLAY (SDL2; Right Ctrl is the host key, Host+Home a menu)\n"
		"  --screenshot-dir DIR where the window's Host+E screenshots go (default: the\n"
		"                       --serial file's directory, else the current one)\n"
		"  --pointing tablet|ps2  the pointer: a virtio-input tablet (absolute, the\n"
		"                       default, as VirtualBox's USB tablet) beside the PS/2\n"
		"                       mouse, or the PS/2 mouse alone\n"
		"  --no-reboot          exit when the guest reboots (or triple-faults) instead of\n"
		"                       restarting it\n"
		"  --no-seccomp         no system call filter (debugging; see docs/hutch-vm.md)\n"
		"  --no-kvm-notify      no ioeventfd/irqfd: virtio notifications exit to userspace\n"
		"                       and interrupts are injected by ioctl (for comparisons)\n"
		"  --name NAME          VM name (for messages)\n"
		"  --control PATH       listen for control requests on this UNIX socket\n"
		"  --state-file PATH    write the VM's state (running/poweroff/aborted) here\n"
		"  --help, --version\n\n"
		"Exit status: 0 when the guest powers off (or reboots with --no-reboot),\n"
		"1 on a VM failure (KVM error, a system call the filter refuses), 2 on a usage error.\n",
		FIRMWARE_DEFAULT_BIOS, BOOT_ORDER_DEFAULT);
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("hutch-vm: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

/* A whole decimal number in [min, max], or a usage error naming the option. */
static uint64_t parse_number(const char *opt, const char *s, uint64_t min, uint64_t max, const char *unit)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		die_usage("%s '%s': expected a whole number of %s", opt, s, unit);
	v = strtoull(s, &end, 10);
	if (*end || errno)
		die_usage("%s '%s': expected a whole number of %s", opt, s, unit);
	if (v < min || v > max)
		die_usage("%s %llu: must be between %" PRIu64 " and %" PRIu64 " %s", opt, v, min, max, unit);
	return v;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_KERNEL = 256, OPT_INITRD, OPT_APPEND, OPT_MEMORY, OPT_CPUS, OPT_SERIAL,
	       OPT_SERIAL_LIMIT, OPT_NO_REBOOT, OPT_NO_SECCOMP, OPT_NO_KVM_NOTIFY, OPT_NAME, OPT_DRIVE,
	       OPT_CONTROL, OPT_STATE, OPT_VGA, OPT_VRAM, OPT_BIOS, OPT_BOOT, OPT_NIC, OPT_POINTING, OPT_HELP,
	       OPT_VERSION, OPT_DISPLAY, OPT_SCREENSHOT_DIR };
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "append", required_argument, NULL, OPT_APPEND },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "serial", required_argument, NULL, OPT_SERIAL },
		{ "serial-limit", required_argument, NULL, OPT_SERIAL_LIMIT },
		{ "drive", required_argument, NULL, OPT_DRIVE },
		{ "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
		{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
		{ "no-kvm-notify", no_argument, NULL, OPT_NO_KVM_NOTIFY },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "state-file", required_argument, NULL, OPT_STATE },
		{ "vga", required_argument, NULL, OPT_VGA },
		{ "vram", required_argument, NULL, OPT_VRAM },
		{ "display", required_argument, NULL, OPT_DISPLAY },
		{ "screenshot-dir", required_argument, NULL, OPT_SCREENSHOT_DIR },
		{ "pointing", required_argument, NULL, OPT_POINTING },
		{ "bios", required_argument, NULL, OPT_BIOS },
		{ "boot", required_argument, NULL, OPT_BOOT },
		{ "nic", required_argument, NULL, OPT_NIC },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	bool append_given = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->mc.memory_mib = 512;
	o->mc.cpus = 1;
	o->mc.name = "hutch";
	o->mc.cmdline = "console=ttyS0";
	o->serial = "stdio";
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL: o->mc.kernel = optarg; break;
		case OPT_INITRD: o->mc.initrd = optarg; break;
		case OPT_APPEND: o->mc.cmdline = optarg; append_given = true; break;
		case OPT_MEMORY:
			o->mc.memory_mib = parse_number("--memory", optarg, 16, 1024 * 1024, "MiB");
			break;
		case OPT_CPUS:
			o->mc.cpus = (unsigned int)parse_number("--cpus", optarg, 1, 1024, "vCPUs");
			break;
		case OPT_SERIAL: o->serial = optarg; break;
		case OPT_SERIAL_LIMIT:
			if (serial_parse_size(optarg, &o->mc.serial_limit))
				die_usage("--serial-limit '%s': expected a size in bytes, with an optional "
					  "K, M or G suffix (0 = unlimited)", optarg);
			o->serial_limit = optarg;
			break;
		case OPT_DRIVE: {
			char err[512];

			if (o->mc.nr_drives == MAX_DRIVES)
				die_usage("too many --drive options (at most %d)", MAX_DRIVES);
			if (drive_spec_parse(optarg, &o->drives[o->mc.nr_drives], err, sizeof(err)))
				die_usage("%s", err);
			o->mc.nr_drives++;
			break;
		}
		case OPT_NIC: {
			char err[512];

			if (o->mc.nr_nics == NIC_MAX)
				die_usage("too many --nic options (at most %d)", NIC_MAX);
			if (nic_spec_parse(optarg, &o->nics[o->mc.nr_nics], err, sizeof(err)))
				die_usage("--nic: %s", err);
			for (unsigned int i = 0; i < o->mc.nr_nics; i++)
				if (o->nics[i].index == o->nics[o->mc.nr_nics].index)
					die_usage("--nic: adapter %u is given twice", o->nics[i].index);
			o->mc.nr_nics++;
			break;
		}
		case OPT_NO_REBOOT: o->mc.no_reboot = true; break;
		case OPT_NO_SECCOMP: o->no_seccomp = true; break;
		case OPT_NO_KVM_NOTIFY: o->mc.no_kvm_notify = true; break;
		case OPT_NAME: o->mc.name = optarg; break;
		case OPT_CONTROL: o->control = optarg; break;
		case OPT_STATE: o->state_file = optarg; break;
		case OPT_VGA:
			if (strcmp(optarg, "std") && strcmp(optarg, "none"))
				die_usage("--vga '%s': expected std or none", optarg);
			o->vga = optarg;
			break;
		case OPT_VRAM:
			o->mc.vram_mib = parse_number("--vram", optarg, 1, 256, "MiB");
			break;
		case OPT_DISPLAY:
			if (!strcmp(optarg, "sdl"))
				o->window = true;
			else if (!strcmp(optarg, "headless"))
				o->window = false;
			else
				die_usage("--display '%s': expected sdl or headless", optarg);
			break;
		case OPT_SCREENSHOT_DIR: o->screenshot_dir = optarg; break;
		case OPT_POINTING:
			if (strcmp(optarg, "tablet") && strcmp(optarg, "ps2"))
				die_usage("--pointing '%s': expected tablet or ps2", optarg);
			o->mc.no_tablet = !strcmp(optarg, "ps2");
			break;
		case OPT_BIOS: o->mc.bios = optarg; break;
		case OPT_BOOT: {
			enum boot_class order[BOOT_NR_CLASSES];
			unsigned int n;
			char err[256];

			if (boot_order_parse(optarg, order, &n, err, sizeof(err)))
				die_usage("%s", err);
			o->mc.boot_order = optarg;
			break;
		}
		case OPT_HELP: usage(stdout); exit(0);
		case OPT_VERSION: printf("hutch-vm %s\n", HUTCH_VERSION); exit(0);
		case ':':
			die_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			die_usage("unknown option '%s' (see hutch-vm --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s' (see hutch-vm --help)", argv[optind]);
	o->mc.drives = o->drives;
	o->mc.nics = o->nics;
	/* A firmware boot shows its screen; a direct kernel boot uses the serial console. */
	o->mc.vga = o->vga ? !strcmp(o->vga, "std") : !o->mc.kernel;
	if (o->mc.kernel && (o->mc.bios || o->mc.boot_order))
		die_usage("--bios and --boot are for firmware boot: not with --kernel");
	if (!o->mc.kernel && (o->mc.initrd || append_given))
		die_usage("--initrd and --append need --kernel");
#ifndef HUTCH_HAVE_SDL
	if (o->window)
		die_usage("--display sdl: this hutch-vm was built without SDL2 (libsdl2-dev)");
#endif
	if (o->window && !o->mc.vga)
		die_usage("--display sdl needs a display adapter: not with --vga none");
}

/*
 * COM1's fds.  The UART's output is written by the event loop, which must
 * never block: stdout gets a non-blocking fd of its own (serial_backend.h).
 * The size cap applies to a file only: a pipe or terminal does not fill a disk.
 */
static void open_serial(struct options *o)
{
	o->mc.serial_in_fd = -1;
	o->mc.serial_out_fd = -1;
	o->serial_kind = SERIAL_FD_AS_IS;
	if (strncmp(o->serial, "file:", 5))
		o->mc.serial_limit = 0;
	else if (!o->serial_limit)
		o->mc.serial_limit = SERIAL_FILE_LIMIT_DEFAULT;
	if (!strcmp(o->serial, "stdio")) {
		o->mc.serial_in_fd = STDIN_FILENO;
		o->mc.serial_out_fd = serial_output_fd(STDOUT_FILENO, &o->serial_kind);
	} else if (!strncmp(o->serial, "file:", 5) && o->serial[5]) {
		int fd = open(o->serial + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0) {
			fprintf(stderr, "hutch-vm: error: --serial %s: %s\n", o->serial, strerror(errno));
			exit(1);
		}
		o->mc.serial_out_fd = fd;
	} else if (strcmp(o->serial, "none")) {
		die_usage("--serial '%s': expected stdio, file:PATH or none", o->serial);
	}
}

/* The state file libhutch reads: replaced atomically so a reader never sees half. */
static void write_state(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void write_state(const char *path, const char *fmt, ...)
{
	char tmp[PATH_MAX];
	va_list ap;
	FILE *f;

	if (!path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	fsync(fileno(f));
	if (fclose(f) == 0)
		rename(tmp, path);
}

/* SIGINT/SIGTERM/SIGHUP end the VM like pulling the plug, cleanly. */
static void *signal_thread(void *arg)
{
	struct machine *m = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigwait(&set, &sig) == 0)
		machine_request(m, MACHINE_EV_POWEROFF, "terminated by signal %d", sig);
	return NULL;
}

/*
 * The system call filter (seccomp.c), unless --no-seccomp.  With
 * HUTCH_SECCOMP_LOG=1 in the environment a call outside the list is named
 * on stderr once and made anyway (finding what a change needs:
 * docs/testing.md).
 */
static int start_seccomp(const struct options *o, char *err, size_t errlen)
{
	unsigned int groups = o->window ? SECCOMP_GROUP_DISPLAY : 0;
	const char *log = getenv("HUTCH_SECCOMP_LOG");
	bool log_only = log && *log && strcmp(log, "0");

	if (o->no_seccomp)
		return 0;
	if (log_only)
		fprintf(stderr, "hutch-vm: seccomp: HUTCH_SECCOMP_LOG is set: system calls outside "
			"the list are named here and let through\n");
	return seccomp_filter_install_groups(groups, log_only ? SECCOMP_VIOLATION_LOG :
					     SECCOMP_VIOLATION_KILL, err, errlen);
}

/*
 * Serial output lost to a stalled reader (what it still had not taken at
 * exit included) or to the file cap: one line, only if any.
 */
static void report_serial_dropped(struct machine *m)
{
	uint64_t n = m->uart ? uart16550_output_finish(m->uart) : 0;

	if (n)
		fprintf(stderr, "hutch-vm: %" PRIu64 " bytes of serial output were dropped "
			"(the reader stalled, or the --serial-limit was reached)\n", n);
}

/* fds 0-2 must be open, or /dev/kvm or a vCPU could become "stdin". */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			exit(1);
}

#ifdef HUTCH_HAVE_SDL
/* The window's screenshots go beside the serial log (libhutch's VM folder/Logs), else here. */
static const char *screenshot_dir(const struct options *o, char *buf, size_t len)
{
	char *slash;

	if (o->screenshot_dir)
		return o->screenshot_dir;
	if (strncmp(o->serial, "file:", 5))
		return ".";
	snprintf(buf, len, "%s", o->serial + 5);
	slash = strrchr(buf, '/');
	if (!slash)
		return ".";
	if (slash == buf)
		return "/";
	*slash = 0;
	return buf;
}
#endif

struct vm_window;

/* Open the window, if asked for: before the filter, which allows only what it needs later. */
static int open_window(struct options *o, struct machine *m, struct vm_window **w, char *err, size_t errlen)
{
#ifdef HUTCH_HAVE_SDL
	char dir[PATH_MAX];
	struct vm_window_config wc = { .m = m, .name = o->mc.name };

	*w = NULL;
	if (!o->window)
		return 0;
	wc.screenshot_dir = screenshot_dir(o, dir, sizeof(dir));
	return vm_window_start(w, &wc, err, errlen);
#else
	*w = NULL;
	return 0;
#endif
}

static bool close_window(struct vm_window *w)
{
#ifdef HUTCH_HAVE_SDL
	return vm_window_stop(w);
#else
	(void)w;
	return true;
#endif
}

int main(int argc, char **argv)
{
	static struct options o;   /* static: large (drive table), and what it holds stays reachable */
	struct machine m;
	struct vm_control ctl;
	struct vm_window *win = NULL;
	enum machine_event ev;
	pthread_t sig_thread;
	char err[512], msg[256];
	sigset_t set;
	bool ctl_started = false;
	int status;

	ensure_std_fds();
	parse_options(argc, argv, &o);
	if (o.mc.kernel && linux_check_kernel(o.mc.kernel, err, sizeof(err))) {
		fprintf(stderr, "hutch-vm: error: --kernel %s\n", err);
		return 1;
	}
	if (o.mc.initrd && access(o.mc.initrd, R_OK)) {
		fprintf(stderr, "hutch-vm: error: --initrd %s: %s\n", o.mc.initrd, strerror(errno));
		return 1;
	}
	open_serial(&o);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);  /* inherited by every thread */

	if (machine_create(&m, &o.mc, err, sizeof(err))) {
		fprintf(stderr, "hutch-vm: error: %s\n", err);
		write_state(o.state_file, "aborted %s", err);
		machine_destroy(&m);   /* whatever was set up before the failure */
		return 1;
	}
	hutch_thread_create(&sig_thread, signal_thread, &m);
	/*
	 * Everything that needs a system call the running VM never makes
	 * again is done by now: devices, images and their I/O threads, the
	 * control socket.  From here on the seccomp filter holds, on every
	 * thread, before a vCPU ever enters the guest.  The UART reads its
	 * input itself, from a loop watch.
	 */
	if (control_open(&ctl, &m, o.control, err, sizeof(err)) ||
	    open_window(&o, &m, &win, err, sizeof(err)) ||
	    start_seccomp(&o, err, sizeof(err))) {
		fprintf(stderr, "hutch-vm: error: %s\n", err);
		write_state(o.state_file, "aborted %s", err);
		control_stop(&ctl);
		if (!close_window(win))
			_exit(1);
		machine_destroy(&m);
		return 1;
	}

	for (;;) {
		if (machine_start(&m, err, sizeof(err))) {
			fprintf(stderr, "hutch-vm: error: %s\n", err);
			write_state(o.state_file, "aborted %s", err);
			status = 1;
			break;
		}
		write_state(o.state_file, "running pid=%d", (int)getpid());
		/*
		 * The control socket (bound before the filter) is served only once
		 * the state file says running, so a client that gets "ok running"
		 * finds the state file agreeing.
		 */
		if (!ctl_started) {
			if (control_start(&ctl, err, sizeof(err))) {
				fprintf(stderr, "hutch-vm: error: %s\n", err);
				write_state(o.state_file, "aborted %s", err);
				machine_request(&m, MACHINE_EV_FATAL, "%s", err);
				machine_wait(&m, msg, sizeof(msg));
				status = 1;
				break;
			}
			ctl_started = true;
		}
		ev = machine_wait(&m, msg, sizeof(msg));
		if (ev == MACHINE_EV_RESET && (!o.mc.no_reboot || m.reset_by_user)) {
			m.reset_by_user = false;
			continue;  /* a fresh machine; CMOS NVRAM and the console survive */
		}
		if (ev == MACHINE_EV_FATAL) {
			fprintf(stderr, "hutch-vm: error: %s\n", msg);
			write_state(o.state_file, "aborted %s", msg);
			status = 1;
		} else {
			if (ev == MACHINE_EV_RESET)
				fprintf(stderr, "hutch-vm: guest rebooted; exiting (--no-reboot): %s\n", msg);
			write_state(o.state_file, "poweroff");
			status = 0;
		}
		break;
	}
	if (!close_window(win)) {
		/* A dialog nobody answered holds the window's thread: leave it, and the machine, as is. */
		fprintf(stderr, "hutch-vm: the window did not close in time; exiting anyway\n");
		control_stop(&ctl);
		report_serial_dropped(&m);
		fflush(NULL);
		_exit(status);
	}
	control_stop(&ctl);
	report_serial_dropped(&m);
	machine_destroy(&m);
	if (o.serial_kind == SERIAL_FD_SHARED)   /* give the socket back as it came */
		fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) & ~O_NONBLOCK);
	for (unsigned int i = 0; i < o.mc.nr_drives; i++)
		drive_spec_free(&o.drives[i]);
	for (unsigned int i = 0; i < o.mc.nr_nics; i++)
		nic_spec_free(&o.nics[i]);
	return status;
}
