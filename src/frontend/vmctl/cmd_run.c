// SPDX-License-Identifier: GPL-2.0-or-later
/* startvm and controlvm: hutch-vm launched detached, driven over its socket. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hutch/vm.h"
#include "vmctl.h"

#define START_TIMEOUT_S 30
#define POWEROFF_TIMEOUT_S 30

static unsigned start_timeout(void)
{
	const char *s = getenv("HUTCH_START_TIMEOUT");

	return s && atoi(s) > 0 ? (unsigned)atoi(s) : START_TIMEOUT_S;
}

/* Whether a window can open here: an X11 or Wayland display to open it on. */
static bool have_display(void)
{
	const char *x = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");

	return (x && *x) || (wl && *wl);
}

/*
 * --type: gui and sdl are both hutch-vm's SDL window (VirtualBox's Qt
 * window and its VBoxSDL, one thing here); separate is VirtualBox's
 * detachable UI, i.e. a window too.  No --type: a window when there is a
 * display to put it on (VBoxManage's default is gui), else headless, so
 * scripts on servers and CI keep working.
 */
static enum hutch_vm_frontend start_frontend(const char *type)
{
	if (!type)
		return have_display() ? HUTCH_FRONTEND_GUI : HUTCH_FRONTEND_HEADLESS;
	if (!strcmp(type, "headless"))
		return HUTCH_FRONTEND_HEADLESS;
	if (!have_display())
		die("--type %s needs a display: neither DISPLAY nor WAYLAND_DISPLAY is set "
		    "(use --type headless)", type);
	return HUTCH_FRONTEND_GUI;
}

static void start_one(const char *name, const char *type)
{
	enum hutch_vm_frontend fe = start_frontend(type);
	struct hutch_machine *m;
	struct hutch_error e;
	struct hutch_lock lk;
	enum hutch_vm_state st;
	char *fatal, *unsup;

	/* The lock keeps two startvm of one VM from racing to launch it twice. */
	m = vm_find_locked(name, &lk);
	st = hutch_vm_get_state(m, NULL, NULL, NULL);
	if (hutch_vm_is_live(st))
		die("the machine '%s' is already running (state %s)", m->name, hutch_vm_state_name(st));
	unsup = hutch_vm_unsupported(m, &fatal);
	if (fatal) {
		free(unsup);
		die("%s", fatal);
	}
	if (unsup)
		warn("VM '%s': not yet supported by Hutch, started without: %s", m->name, unsup);
	free(unsup);
	printf("Waiting for VM \"%s\" to power on...\n", m->name);
	fflush(stdout);
	if (hutch_vm_start_frontend(m, vmctl_exe_dir, fe, start_timeout(), NULL, &e))
		die("%s", e.msg);
	printf("VM \"%s\" has been successfully started.\n", m->name);
	hutch_lock_release(&lk);
	hutch_machine_free(m);
}

int cmd_startvm(int argc, char **argv)
{
	const char *type = NULL, *pos, *names[64];
	size_t n = 0, i;
	struct optscan s;

	opt_init(&s, "startvm", argc, argv, 1);
	for (;;) {
		if (!opt_next(&s, &pos)) {
			if (!pos)
				break;
			if (n == sizeof(names) / sizeof(names[0]))
				usage_error("startvm", "too many VMs");
			names[n++] = pos;
			continue;
		}
		if (opt_is(&s, "type")) {
			type = opt_value(&s);
			if (strcmp(type, "gui") && strcmp(type, "headless") && strcmp(type, "sdl") &&
			    strcmp(type, "separate"))
				usage_error("startvm", "--type '%s': expected gui, headless, sdl or separate", type);
		} else if (opt_is(&s, "putenv|e")) {
			(void)opt_value(&s);
		} else {
			usage_error("startvm", "unknown option '%s'", s.raw);
		}
	}
	if (!n)
		usage_error("startvm", "which VM? give its name or UUID");
	for (i = 0; i < n; i++)
		start_one(names[i], type);
	return 0;
}

/* controlvm VM screenshotpng FILE [DISPLAY]: VBoxManage's; display 0 is the only one. */
static int controlvm_screenshot(int argc, char **argv)
{
	struct hutch_machine *m;
	struct hutch_error e;
	enum hutch_vm_state st;

	if (argc < 4)
		usage_error("controlvm", "screenshotpng: expected the PNG file to write");
	if (argc > 5)
		usage_error("controlvm", "unexpected argument '%s'", argv[5]);
	if (argc == 5 && strcmp(argv[4], "0"))
		die("controlvm screenshotpng: display %s does not exist (the VM has one display, 0)", argv[4]);
	m = vm_find(argv[1]);
	st = hutch_vm_get_state(m, NULL, NULL, NULL);
	if (!hutch_vm_is_live(st))
		die("machine '%s' is not currently running (state %s)", m->name, hutch_vm_state_name(st));
	if (hutch_vm_screenshot_png(m, argv[3], NULL, NULL, &e))
		die("%s", e.msg);
	hutch_machine_free(m);
	return 0;
}

/*
 * The adapter number of an indexed action ("natpf3" for word "natpf"): 1..8,
 * 0 when action is not word followed by digits.  Out of range is a usage
 * error, as VBoxManage's.
 */
static unsigned nic_action(const char *action, const char *word)
{
	size_t n = strlen(word);
	unsigned long long slot;

	if (strncasecmp(action, word, n) || !action[n] || strspn(action + n, "0123456789") != strlen(action + n))
		return 0;
	if (hutch_parse_uint(action + n, HUTCH_MAX_NICS, &slot) || !slot)
		usage_error("controlvm", "%s: NIC number %s is out of range (1 to %d)", action, action + n,
			    HUTCH_MAX_NICS);
	return (unsigned)slot;
}

/*
 * natpf<N> RULE, natpf<N> delete NAME, setlinkstate<N> on|off: to the
 * running VM first, then, once it took the change, into the settings (as
 * VirtualBox saves them), so showvminfo and the next start agree with the
 * VM.  The settings' lock is held throughout, and the change is tried on
 * the loaded settings before the VM sees it, so a rule the settings would
 * refuse (a duplicate name) never reaches the VM.
 */
static int controlvm_nic(int argc, char **argv, const char *word, unsigned slot)
{
	struct stored_list none = { "" };
	struct hutch_machine *m;
	struct hutch_natpf pf = { 0 };
	struct hutch_error e;
	struct hutch_lock lk;
	enum hutch_vm_state st;
	struct hutch_nic *n;
	const char *action = argv[2];
	bool del = false, up = false;
	int rc;

	if (!strcmp(word, "setlinkstate")) {
		if (argc != 4)
			usage_error("controlvm", "%s: expected on or off", action);
		if (strcmp(argv[3], "on") && strcmp(argv[3], "off"))
			usage_error("controlvm", "%s '%s': expected on or off", action, argv[3]);
		up = !strcmp(argv[3], "on");
	} else if (argc == 5 && !strcmp(argv[3], "delete")) {
		del = true;
	} else if (argc == 4 && strcmp(argv[3], "delete")) {
		if (hutch_natpf_parse(argv[3], &pf, &e))
			usage_error("controlvm", "%s: %s", action, e.msg);
	} else {
		usage_error("controlvm", "%s: expected a rule [<name>],tcp|udp,[<hostip>],<hostport>,[<guestip>],"
			    "<guestport> or delete <name>", action);
	}
	m = vm_find_locked(argv[1], &lk);
	st = hutch_vm_get_state(m, NULL, NULL, NULL);
	if (!hutch_vm_is_live(st))
		die("Machine '%s' is not currently running", m->name);
	n = &m->nic[slot - 1];
	if (!strcmp(word, "setlinkstate")) {
		rc = hutch_vm_set_link(m, slot - 1, up, &e);
		if (!rc)
			n->cable = up;
	} else if (del) {
		rc = hutch_nic_delete_natpf(n, argv[4], &e);
		if (!rc)
			rc = hutch_vm_natpf_delete(m, slot - 1, argv[4], &e);
	} else {
		rc = hutch_nic_add_natpf(n, &pf, &e);
		if (!rc)
			rc = hutch_vm_natpf_add(m, slot - 1, &pf, &e);
		hutch_natpf_clear(&pf);
	}
	if (rc)
		die("%s", e.msg);
	vm_verb_finish(m, &lk, &none);
	return 0;
}

/*
 * keyboardputscancode <hex>... (set-1 bytes, as VBoxManage takes them)
 * and keyboardputstring <text>... (the words joined by spaces, typed on a
 * US layout), through the VM's control socket.
 */
static int controlvm_keyboard(int argc, char **argv, bool string)
{
	const char *action = argv[2];
	struct hutch_machine *m;
	struct hutch_error e;
	enum hutch_vm_state st;
	uint8_t *codes = NULL;
	char *text = NULL;
	size_t n = 0, len = 0;
	int rc;

	if (argc < 4)
		usage_error("controlvm", "%s: expected %s", action, string ? "the text to type" :
			    "scan codes (hex bytes, e.g. 1e 9e)");
	if (string) {
		for (int i = 3; i < argc; i++)
			len += strlen(argv[i]) + 1;
		text = calloc(1, len + 1);
		if (!text)
			die("out of memory");
		for (int i = 3; i < argc; i++) {
			if (i > 3)
				strcat(text, " ");
			strcat(text, argv[i]);
		}
	} else {
		codes = calloc((size_t)argc, 64);
		if (!codes)
			die("out of memory");
		for (int i = 3; i < argc; i++) {
			char *copy = strdup(argv[i]), *save = NULL;

			if (!copy)
				die("out of memory");
			for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
				char *end;
				unsigned long v = strtoul(t, &end, 16);

				if (*end || strlen(t) > 2 || !isxdigit((unsigned char)*t))
					usage_error("controlvm", "%s: '%s' is not a scan code (a hex byte, e.g. 1e)",
						    action, t);
				if (n == (size_t)argc * 64)
					usage_error("controlvm", "%s: too many scan codes in one argument", action);
				codes[n++] = (uint8_t)v;
			}
			free(copy);
		}
	}
	m = vm_find(argv[1]);
	st = hutch_vm_get_state(m, NULL, NULL, NULL);
	if (!hutch_vm_is_live(st))
		die("machine '%s' is not currently running (state %s)", m->name, hutch_vm_state_name(st));
	rc = string ? hutch_vm_put_string(m, text, &e) : hutch_vm_put_scancodes(m, codes, n, &e);
	if (rc)
		die("%s", e.msg);
	free(text);
	free(codes);
	hutch_machine_free(m);
	return 0;
}

int cmd_controlvm(int argc, char **argv)
{
	static const char *const nic_words[] = { "natpf", "setlinkstate", NULL };
	struct hutch_machine *m;
	struct hutch_error e;
	enum hutch_vm_state st;
	const char *action;

	if (argc < 3)
		usage_error("controlvm", "expected a VM and an action");
	action = argv[2];
	if (!strcasecmp(action, "screenshotpng"))
		return controlvm_screenshot(argc, argv);
	if (!strcasecmp(action, "keyboardputscancode") || !strcasecmp(action, "keyboardputstring"))
		return controlvm_keyboard(argc, argv, !strcasecmp(action, "keyboardputstring"));
	for (size_t i = 0; nic_words[i]; i++) {
		unsigned slot = nic_action(action, nic_words[i]);

		if (slot)
			return controlvm_nic(argc, argv, nic_words[i], slot);
	}
	if (strcmp(action, "pause") && strcmp(action, "resume") && strcmp(action, "reset") &&
	    strcmp(action, "poweroff") && strcmp(action, "acpipowerbutton")) {
		static const char *const later[] = {
			"savestate", "acpisleepbutton",
			"nic", "nictrace", "nicproperty", "nicpromisc",
			"guestmemoryballoon", "usbattach", "usbdetach", "audioin", "audioout",
			"clipboard", "draganddrop", "vrde", "vrdeport", "setvideomodehint",
			"recording", "setcredentials", "teleport", "plugcpu",
			"unplugcpu", "cpuexecutioncap", "webcam", "addencpassword", "removeencpassword",
			"removeallencpasswords", "changeuartmode", "vm-process-priority", "autostart-enabled",
			"autostart-delay", "shutdown", "reboot", NULL
		};
		size_t i;

		/* Per-adapter actions carry their number (nic2, nicpromisc1): compared without it. */
		size_t len = strlen(action);

		while (len && action[len - 1] >= '0' && action[len - 1] <= '9')
			len--;
		for (i = 0; later[i]; i++)
			if (!strcasecmp(action, later[i]) ||
			    (len < strlen(action) && strlen(later[i]) == len && !strncasecmp(action, later[i], len)))
				die("controlvm %s is not yet supported", action);
		usage_error("controlvm", "unknown action '%s'", action);
	}
	if (argc > 3)
		usage_error("controlvm", "unexpected argument '%s'", argv[3]);
	m = vm_find(argv[1]);
	st = hutch_vm_get_state(m, NULL, NULL, NULL);
	if (!hutch_vm_is_live(st))
		die("machine '%s' is not currently running (state %s)", m->name, hutch_vm_state_name(st));
	if (!strcmp(action, "pause") && st == HUTCH_VM_PAUSED)
		die("machine '%s' is already paused", m->name);
	if (!strcmp(action, "resume") && st != HUTCH_VM_PAUSED)
		die("machine '%s' is not paused (state %s)", m->name, hutch_vm_state_name(st));
	if (!strcmp(action, "poweroff"))
		progress_cb(0, NULL);
	if (hutch_vm_control(m, action, NULL, 0, &e))
		die("%s", e.msg);
	if (!strcmp(action, "poweroff")) {
		/* Return once it is really off, so a following modifyvm or startvm works. */
		if (hutch_vm_wait_stopped(m, POWEROFF_TIMEOUT_S))
			die("machine '%s' did not power off within %d s", m->name, POWEROFF_TIMEOUT_S);
		progress_done();
	}
	hutch_machine_free(m);
	return 0;
}
