// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Option scanning in VBoxManage's manner, and the table of VBoxManage 7
 * flags that Hutch accepts and keeps without acting on them yet, so that
 * scripts written for VirtualBox run to the end.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmctl.h"

void opt_init(struct optscan *s, const char *verb, int argc, char **argv, int first)
{
	memset(s, 0, sizeof(*s));
	s->verb = verb;
	s->argc = argc;
	s->argv = argv;
	s->i = first;
}

static bool looks_like_option(const char *a)
{
	/* "-5" is a value (a negative offset), not an option. */
	return a[0] == '-' && a[1] && !isdigit((unsigned char)a[1]);
}

bool opt_next(struct optscan *s, const char **pos)
{
	const char *a, *p, *eq;
	size_t n = 0, k;

	*pos = NULL;
	if (s->i >= s->argc)
		return false;
	a = s->argv[s->i++];
	if (!looks_like_option(a)) {
		*pos = a;
		return false;
	}
	s->raw = a;
	p = a + (a[1] == '-' ? 2 : 1);
	eq = strchr(p, '=');
	s->inline_value = eq ? eq + 1 : NULL;
	for (; *p && p != eq; p++) {
		if (*p == '-' || *p == '_')
			continue;
		if (n + 1 >= sizeof(s->full))
			usage_error(s->verb, "unknown option '%s'", a);
		s->full[n++] = (char)tolower((unsigned char)*p);
	}
	s->full[n] = 0;
	memcpy(s->name, s->full, n + 1);
	k = n;
	while (k && isdigit((unsigned char)s->name[k - 1]))
		k--;
	s->index = -1;
	if (k < n && k > 0) {
		s->index = atoi(s->name + k);
		s->name[k] = 0;
	}
	return true;
}

bool opt_next_flag(struct optscan *s)
{
	const char *pos;

	if (opt_next(s, &pos))
		return true;
	if (pos)
		usage_error(s->verb, "unexpected argument '%s'", pos);
	return false;
}

const char *opt_value(struct optscan *s)
{
	if (s->inline_value) {
		const char *v = s->inline_value;

		s->inline_value = NULL;
		return v;
	}
	if (s->i >= s->argc)
		usage_error(s->verb, "option '%s' needs a value", s->raw);
	return s->argv[s->i++];
}

const char *opt_peek(struct optscan *s)
{
	if (s->inline_value)
		return s->inline_value;
	if (s->i >= s->argc || looks_like_option(s->argv[s->i]))
		return NULL;
	return s->argv[s->i];
}

unsigned opt_index(struct optscan *s, unsigned max)
{
	if (s->index < 1 || (unsigned)s->index > max)
		usage_error(s->verb, "option '%s': the number must be 1 to %u", s->raw, max);
	return (unsigned)s->index;
}

bool opt_is(const struct optscan *s, const char *names)
{
	size_t n = strlen(s->full);
	const char *p = names;

	while (*p) {
		const char *end = strchrnul(p, '|');

		if ((size_t)(end - p) == n && !strncmp(p, s->full, n))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/*
 * VBoxManage 7 flags kept but not acted on.  Names are canonical (no
 * dashes); a trailing '#' means the flag takes a number (--intnet<N>);
 * ":N" is the count of values when it is not 1.
 */
static const char *const modifyvm_stored[] = {
	"iconfile", "pagefusion", "acpi", "ioapic", "hardwareuuid", "cpuhotplug", "plugcpu",
	"unplugcpu", "cpuexecutioncap", "pae", "longmode", "ibpbonvmexit", "ibpbonvmentry",
	"specctrl", "l1dflushonsched", "l1dflushonvmentry", "mdsclearonsched", "mdsclearonvmentry",
	"cpuprofile", "hpet", "hwvirtex", "hwvirtexexcl", "triplefaultreset", "apic", "x2apic",
	"paravirtprovider", "paravirtdebug", "nestedpaging", "largepages", "vtxvpid", "vtxux",
	"nestedhwvirt", "virtvmsaveload", "virtvmsavevmload", "accelerate3d", "accelerate2dvideo",
	"chipset", "iommu", "tpmtype", "tpmlocation", "bioslogofadein", "bioslogofadeout",
	"bioslogodisplaytime", "bioslogoimagepath", "biosbootmenu", "biosapic",
	"biossystemtimeoffset", "biospxedebug", "systemuuidle", "biossystemuuidle",
	"firmwarelogofadein", "firmwarelogofadeout", "firmwarelogodisplaytime",
	"firmwarelogoimagepath", "firmwarebootmenu", "firmwareapic", "firmwaresystemtimeoffset",
	"firmwarepxedebug", "rtcuseutc", "snapshotfolder", "guestmemoryballoon",
	"defaultfrontend", "vmprocesspriority", "vmprocpriority", "vmexecutionengine",
	"testingenabled", "testingmmio", "testingcfgdword#", "cpuidset:5", "cpuidremove",
	"cpuidremoveall:0", "cpuidportabilitylevel", "synthcpu", "monitorcount",
	"keyboard", "lpt#:2", "lptmode#", "audio", "audiocontroller", "audiocodec", "audiodriver",
	"audioenabled", "audioin", "audioout", "clipboard", "clipboardmode", "draganddrop",
	"usbcardreader", "usb", "usbehci", "usbohci", "usbxhci", "vrde", "vrdeproperty",
	"vrdeextpack", "vrdeport", "vrdeaddress", "vrdeauthtype", "vrdeauthlibrary", "vrdemulticon",
	"vrdereusecon", "vrdevideochannel", "vrdevideochannelquality", "vrdp", "vrdpport",
	"vrdpaddress", "vrdpauthtype", "vrdpmulticon", "vrdpreusecon", "vrdpvideochannel",
	"vrdpvideochannelquality", "teleporter", "teleporterport", "teleporteraddress",
	"teleporterpassword", "teleporterpasswordfile", "tracingenabled", "tracingconfig",
	"tracingallowvmaccess", "guestdebugprovider", "guestdebugioprovider", "guestdebugaddress",
	"guestdebugport", "recording", "recordingscreens", "recordingfile", "recordingmaxsize",
	"recordingmaxtime", "recordingopts", "recordingvideofps", "recordingvideorate",
	"recordingvideores", "videocap", "videocapscreens", "videocapfile", "videocapres",
	"videocaprate", "videocapfps", "videocapmaxtime", "videocapmaxsize", "videocapopts",
	"autostartenabled", "autostartdelay", "pciattach", "pcidetach", "nictrace#",
	"nictracefile#", "nicproperty#", "nicspeed#", "nicbootprio#", "nicpromisc#",
	"nicbandwidthgroup#", "cloudnetwork#", "hostonlyadapter#", "hostonlynet#",
	"natnetwork#", "nicgenericdrv#", "natsettings#", "nataliasmode#",
	"nattftpserver#", "natbindip#", "natdnspassdomain#",
	"natdnsproxy#", "natlocalhostreachable#", "uarttype#",
	"bioslogo", "platformarchitecture", "secureboot", "acceleration",
	/* VBoxManage's deprecated storage and misc flags, still in its table. */
	"hda", "hdb", "hdd", "idecontroller", "sataportcount", "sataport#", "sata", "scsiport#",
	"scsitype", "scsi", "dvdpassthrough", "dvd", "floppy", "clipboardfiletransfers", "usbrename",
	"teleporterenabled", "iocache", "iocachesize", "recordingoptions", "recordingvideoresolution",
	"autostoptype", NULL
};

static const char *const createvm_stored[] = {
	"cipher", "passwordid", "password", "platformarchitecture", NULL
};

static const char *const storagectl_stored[] = {
	"sataideemulation#", NULL
};

static const char *const storageattach_stored[] = {
	"mtype", "comment", "setuuid", "setparentuuid", "passthrough", "tempeject",
	"nonrotational", "discard", "hotpluggable", "bandwidthgroup", "forceunmount:0", "server",
	"target", "tport", "targetport", "lun", "encodedlun", "username", "password",
	"passwordfile", "initiator", "intnet", NULL
};

int vbox_stored_flag_nargs(const char *verb, const char *name, bool indexed)
{
	const char *const *t;
	size_t n = strlen(name), i;

	if (!strcmp(verb, "modifyvm"))
		t = modifyvm_stored;
	else if (!strcmp(verb, "createvm"))
		t = createvm_stored;
	else if (!strcmp(verb, "storagectl"))
		t = storagectl_stored;
	else if (!strcmp(verb, "storageattach"))
		t = storageattach_stored;
	else
		return -1;
	for (i = 0; t[i]; i++) {
		const char *e = t[i];

		if (strncmp(e, name, n))
			continue;
		if (e[n] == '#' ? !indexed : indexed)
			continue;
		if (e[n] == '#')
			e++;
		if (e[n] == 0)
			return 1;
		if (e[n] == ':')
			return atoi(e + n + 1);
	}
	return -1;
}

void stored_add(struct stored_list *l, const char *raw)
{
	size_t n = strlen(l->text);
	char flag[128];

	snprintf(flag, sizeof(flag), "%.*s", (int)strcspn(raw, "="), raw);
	if (strstr(l->text, flag))
		return;
	snprintf(l->text + n, sizeof(l->text) - n, "%s%s", n ? ", " : "", flag);
}

void stored_warn(const struct stored_list *l, const char *vmname)
{
	if (l->text[0])
		warn("VM '%s': stored, but not yet supported by Hutch: %s", vmname, l->text);
}

void store_vbox_flag(struct optscan *s, struct hutch_machine *m, const char *prefix,
		     struct stored_list *l)
{
	int nargs = vbox_stored_flag_nargs(s->verb, s->name, s->index >= 0);
	char *args[8], key[192];
	int i;

	if (nargs < 0 && s->index >= 0)
		nargs = vbox_stored_flag_nargs(s->verb, s->full, false);
	if (nargs < 0)
		usage_error(s->verb, "unknown option '%s'", s->raw);
	for (i = 0; i < nargs; i++)
		args[i] = (char *)opt_value(s);
	snprintf(key, sizeof(key), "%s%s", prefix ? prefix : "", s->full);
	hutch_machine_set_extra(m, key, args, (size_t)nargs);
	stored_add(l, s->raw);
}
