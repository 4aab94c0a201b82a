// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vmctl: the scripting CLI, VBoxManage's verbs and flags on libhutch.
 * Exit status as VBoxManage's: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hutch/registry.h"
#include "vmctl.h"

bool vmctl_quiet;
char *vmctl_exe_dir;

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vmctl: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAILURE);
}

void usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vmctl: error: ", stderr);
	if (verb)
		fprintf(stderr, "%s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'vmctl help%s%s' for more information.\n", verb ? " " : "", verb ? verb : "");
	exit(EXIT_USAGE);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("vmctl: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* VBoxManage's "0%...10%...100%" on stderr; tracks what was already printed. */
static int progress_last = -10;

void progress_cb(unsigned percent, void *opaque)
{
	if (vmctl_quiet)
		return;
	while (progress_last + 10 <= (int)percent && progress_last < 100) {
		progress_last += 10;
		fprintf(stderr, "%d%%%s", progress_last, progress_last == 100 ? "\n" : "...");
	}
	fflush(stderr);
}

void progress_done(void)
{
	progress_cb(100, NULL);
	progress_last = -10;
}

void progress_abort(void)
{
	/* End a half-printed "0%...10%..." line so the error starts on its own. */
	if (progress_last >= 0 && progress_last < 100 && !vmctl_quiet)
		fputc('\n', stderr);
	progress_last = -10;
}

unsigned long long parse_num(const char *verb, const char *opt, const char *v, unsigned long long min,
			     unsigned long long max, const char *unit)
{
	unsigned long long n;
	int rc = hutch_parse_uint(v, ~0ULL, &n);

	if (rc)
		usage_error(verb, "%s '%s': expected a whole number%s%s", opt, v, unit ? " of " : "",
			    unit ? unit : "");
	if (n < min || n > max)
		die("%s %s: out of range, expected %llu to %llu%s%s", opt, v, min, max, unit ? " " : "",
		    unit ? unit : "");
	return n;
}

bool parse_onoff(const char *verb, const char *opt, const char *v)
{
	bool b;

	if (hutch_parse_bool(v, &b))
		usage_error(verb, "%s '%s': expected on or off", opt, v);
	return b;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

struct hutch_registry *registry_open(void)
{
	struct hutch_registry *r;
	struct hutch_error e;

	if (hutch_registry_open(&r, &e))
		die("%s", e.msg);
	return r;
}

void registry_save(struct hutch_registry *r)
{
	struct hutch_error e;

	if (hutch_registry_save(r, &e))
		die("%s", e.msg);
}

struct hutch_machine *vm_find(const char *name_or_uuid)
{
	struct hutch_registry *r = registry_open();
	struct hutch_machine *m;
	struct hutch_error e;

	if (hutch_registry_find_vm(r, name_or_uuid, &m, &e))
		die("%s", e.msg);
	hutch_registry_close(r);
	return m;
}

bool vm_inaccessible(const char *name_or_uuid, char uuid[HUTCH_UUID_LEN + 1], char **cfg,
		     struct hutch_error *why)
{
	struct hutch_registry *r = registry_open();
	struct hutch_vm_entry *vm = hutch_registry_find_entry(r, name_or_uuid);
	struct hutch_machine *m;
	bool broken = false;

	if (vm && hutch_config_load(vm->path, &m, why)) {
		broken = true;
		snprintf(uuid, HUTCH_UUID_LEN + 1, "%s", vm->uuid);
		*cfg = xasprintf("%s", vm->path);
	} else if (vm) {
		hutch_machine_free(m);
	}
	hutch_registry_close(r);
	return broken;
}

struct hutch_machine *vm_find_locked(const char *name_or_uuid, struct hutch_lock *lk)
{
	struct hutch_machine *fresh;
	struct hutch_error e;
	int tries;

	for (tries = 0;; tries++) {
		struct hutch_machine *m = vm_find(name_or_uuid);
		char *lockpath = hutch_vm_lock_path(m->uuid);
		struct hutch_registry *r;
		int rc;

		if (hutch_lock_acquire(lockpath, lk, &e))
			die("%s", e.msg);
		free(lockpath);
		/*
		 * Re-read under the lock, by UUID: another vmctl may have saved or
		 * renamed it (folder and file) since.
		 */
		r = registry_open();
		rc = hutch_registry_find_vm(r, m->uuid, &fresh, &e);
		hutch_registry_close(r);
		hutch_machine_free(m);
		if (!rc)
			return fresh;
		hutch_lock_release(lk);
		if (rc != -ENOENT || tries == 3)
			die("%s", e.msg);
	}
}

struct hutch_machine *vm_verb_start(const char *verb, int argc, char **argv, struct hutch_lock *lk,
				    struct optscan *s)
{
	if (argc < 2 || argv[1][0] == '-')
		usage_error(verb, "the VM's name or UUID must come first");
	opt_init(s, verb, argc, argv, 2);
	return vm_find_locked(argv[1], lk);
}

void vm_verb_finish(struct hutch_machine *m, struct hutch_lock *lk, const struct stored_list *stored)
{
	vm_save(m);
	hutch_lock_release(lk);
	stored_warn(stored, m->name);
	hutch_machine_free(m);
}

void vm_save(struct hutch_machine *m)
{
	struct hutch_error e;

	if (hutch_config_save(m, &e))
		die("%s", e.msg);
}

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static int cmd_help(int argc, char **argv);

static const struct verb verbs[] = {
	{ "list", cmd_list,
	  "list [-s|--sorted] [-l|--long] vms|runningvms|ostypes|hdds|dvds|floppies|systemproperties" },
	{ "showvminfo", cmd_showvminfo, "showvminfo <uuid|vmname> [--details] [--machinereadable]" },
	{ "registervm", cmd_registervm, "registervm <filename>" },
	{ "unregistervm", cmd_unregistervm, "unregistervm <uuid|vmname> [--delete|--delete-all]" },
	{ "createvm", cmd_createvm,
	  "createvm --name <name> [--ostype <ostype>] [--register] [--default]\n"
	  "         [--basefolder <path>] [--uuid <uuid>] [--groups <group>]" },
	{ "modifyvm", cmd_modifyvm,
	  "modifyvm <uuid|vmname> [--name <name>] [--ostype <ostype>] [--memory <MB>]\n"
	  "         [--cpus <n>] [--vram <MB>] [--graphicscontroller none|vboxvga|vmsvga|vboxsvga]\n"
	  "         [--mouse ps2|usbtablet]\n"
	  "         [--boot<1-4> none|floppy|dvd|disk|net] [--firmware bios|efi]\n"
	  "         [--description <text>]\n"
	  "         [--nic<1-8> none|null|nat|bridged|intnet] [--nictype<1-8> 82540EM|virtio]\n"
	  "         [--bridgeadapter<1-8> <interface>] [--intnet<1-8> <network>]\n"
	  "         [--cableconnected<1-8> on|off] [--macaddress<1-8> auto|<12 hex digits>]\n"
	  "         [--natnet<1-8> <network>/<prefix>|default]\n"
	  "         [--natpf<1-8> [<name>],tcp|udp,[<hostip>],<hostport>,[<guestip>],<guestport>]\n"
	  "         [--natpf<1-8> delete <name>] [--nattftpprefix<1-8> <dir>]\n"
	  "         [--nattftpfile<1-8> <file>] [--natdnshostresolver<1-8> on|off]\n"
	  "         [--uart<1-4> off|<I/O base> <IRQ>]\n"
	  "         [--uartmode<1-4> disconnected|file <path>|server <pipe>|client <pipe>|\n"
	  "                          tcpserver <port>|tcpclient <host:port>|<devicename>]\n"
	  "         [--kernel <file>|none] [--initrd <file>|none] [--cmdline <text>]\n"
	  "         Every other VBoxManage 7 modifyvm flag is accepted and stored.\n"
	  "         Flags may also be spelled with dashes (--nic-type1, --cable-connected1)." },
	{ "storagectl", cmd_storagectl,
	  "storagectl <uuid|vmname> --name <name> [--add ide|sata|scsi|floppy|sas|usb|pcie|virtio]\n"
	  "         [--controller PIIX3|PIIX4|ICH6|IntelAhci|VirtIO|LsiLogic|BusLogic|...]\n"
	  "         [--portcount <1-n>] [--hostiocache on|off] [--bootable on|off]\n"
	  "         [--rename <name>] [--remove]" },
	{ "storageattach", cmd_storageattach,
	  "storageattach <uuid|vmname> --storagectl <name> [--port <n>] [--device <n>]\n"
	  "         [--type dvddrive|hdd|fdd] [--medium none|emptydrive|<uuid|filename>]" },
	{ "createmedium", cmd_createmedium,
	  "createmedium [disk|dvd|floppy] --filename <filename> [--size <MB>|--sizebyte <bytes>]\n"
	  "         [--format VDI|qcow2|RAW] [--variant Standard|Fixed]" },
	{ "createhd", cmd_createhd, "createhd: the same as createmedium disk" },
	{ "createvdi", cmd_createhd, "createvdi: the same as createmedium disk" },
	{ "clonemedium", cmd_clonemedium,
	  "clonemedium [disk|dvd|floppy] <uuid|inputfile> <uuid|outputfile>\n"
	  "         [--format VDI|qcow2|RAW] [--variant Standard|Fixed] [--existing]\n"
	  "         [--resize <MB>] [--compress]\n"
	  "         The input may be any image Hutch reads (RAW, VDI, qcow2, VMDK).\n"
	  "         --compress (Hutch): zlib-compressed clusters, qcow2 output only." },
	{ "clonehd", cmd_clonehd, "clonehd: the same as clonemedium disk" },
	{ "clonevdi", cmd_clonehd, "clonevdi: the same as clonemedium disk" },
	{ "modifymedium", cmd_modifymedium,
	  "modifymedium [disk|dvd|floppy] <uuid|filename>\n"
	  "         [--resize <MB>|--resizebyte <bytes>] [--compact] [--description <text>]\n"
	  "         [--type normal|writethrough|immutable|shareable|readonly|multiattach]\n"
	  "         [--autoreset on|off] [--property <name>=[<value>]] [--move <path>]\n"
	  "         [--setlocation <path>]\n"
	  "         --type other than normal, --autoreset, --property, --move and\n"
	  "         --setlocation are not acted on yet (one warning line)." },
	{ "modifyhd", cmd_modifyhd, "modifyhd: the same as modifymedium disk" },
	{ "modifyvdi", cmd_modifyhd, "modifyvdi: the same as modifymedium disk" },
	{ "showmediuminfo", cmd_showmediuminfo, "showmediuminfo [disk|dvd|floppy] <uuid|filename>" },
	{ "showhdinfo", cmd_showmediuminfo, "showhdinfo <uuid|filename>" },
	{ "closemedium", cmd_closemedium, "closemedium [disk|dvd|floppy] <uuid|filename> [--delete]" },
	{ "startvm", cmd_startvm, "startvm <uuid|vmname>... [--type gui|headless|sdl|separate]" },
	{ "controlvm", cmd_controlvm,
	  "controlvm <uuid|vmname> pause|resume|reset|poweroff|acpipowerbutton|\n"
	  "         screenshotpng <file>|setlinkstate<1-8> on|off|\n"
	  "         natpf<1-8> [<name>],tcp|udp,[<hostip>],<hostport>,[<guestip>],<guestport>|\n"
	  "         natpf<1-8> delete <name>|\n"
	  "         keyboardputscancode <hex> [<hex>...]|keyboardputstring <text> [<text>...]" },
	{ "setproperty", cmd_setproperty, "setproperty machinefolder default|<folder>" },
	{ "setextradata", cmd_setextradata, "setextradata <uuid|vmname> <key> [<value>]" },
	{ "getextradata", cmd_getextradata, "getextradata <uuid|vmname> <key>|enumerate" },
	{ "help", cmd_help, "help [<command>]" },
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

/* VBoxManage commands Hutch does not have yet: a clear failure, not a usage error. */
static const char *const vbox_later_verbs[] = {
	"clonevm", "movevm", "encryptvm", "import", "export", "signova", "snapshot",
	"mediumproperty",
	"encryptmedium", "checkmediumpwd", "convertfromraw", "mediumio", "adoptstate",
	"discardstate", "sharedfolder", "guestproperty", "guestcontrol", "debugvm", "metrics",
	"natnetwork", "hostonlyif", "hostonlynet", "dhcpserver", "usbfilter", "usbdevsource",
	"bandwidthctl", "extpack", "unattended", "cloud", "cloudprofile", "updatecheck",
	"modifynvram", "internalcommands", NULL
};

static void print_usage(FILE *f, const char *only)
{
	size_t i;

	if (!only)
		fprintf(f, "Hutch command line management interface, version %s\n\n"
			   "Usage: vmctl [-q|--nologo] <command> [<options>]\n\n", HUTCH_VERSION);
	for (i = 0; i < NVERBS; i++)
		if (!only || !strcmp(only, verbs[i].name))
			fprintf(f, "  vmctl %s\n\n", verbs[i].usage);
	if (!only)
		fprintf(f, "Exit status: 0 on success, 1 on failure, 2 on a usage error.\n"
			   "Settings live in $XDG_CONFIG_HOME/hutch (or $HUTCH_CONFIG_HOME). See vmctl(1).\n");
}

static int cmd_help(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		print_usage(stdout, NULL);
		return 0;
	}
	for (i = 0; i < NVERBS; i++)
		if (!strcmp(argv[1], verbs[i].name))
			break;
	if (i == NVERBS)
		usage_error(NULL, "unknown command '%s'", argv[1]);
	printf("Usage:\n\n");
	print_usage(stdout, argv[1]);
	return 0;
}

static void find_exe_dir(const char *argv0)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n > 0) {
		buf[n] = 0;
	} else {
		snprintf(buf, sizeof(buf), "%s", argv0);
	}
	slash = strrchr(buf, '/');
	if (!slash)
		return;
	*slash = 0;
	vmctl_exe_dir = strdup(buf[0] ? buf : "/");
}

int main(int argc, char **argv)
{
	int i = 1;
	size_t v;

	find_exe_dir(argv[0]);
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-q") || !strcmp(a, "--nologo")) {
			vmctl_quiet = !strcmp(a, "-q") ? true : vmctl_quiet;
		} else if (!strcmp(a, "--version") || !strcmp(a, "-v") || !strcmp(a, "-V")) {
			printf("%s\n", HUTCH_VERSION);
			return 0;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "-?")) {
			print_usage(stdout, NULL);
			return 0;
		} else if (!strcmp(a, "--settingspw") || !strcmp(a, "--settingspwfile")) {
			i++;	/* settings encryption: Hutch has none to unlock */
		} else {
			usage_error(NULL, "unknown option '%s'", a);
		}
	}
	if (i >= argc) {
		print_usage(stderr, NULL);
		return EXIT_USAGE;
	}
	for (v = 0; v < NVERBS; v++)
		if (!strcmp(argv[i], verbs[v].name))
			return verbs[v].fn(argc - i, argv + i);
	for (v = 0; vbox_later_verbs[v]; v++)
		if (!strcmp(argv[i], vbox_later_verbs[v]))
			die("'%s' is not yet supported by Hutch", argv[i]);
	usage_error(NULL, "unknown command '%s'", argv[i]);
}
