// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Running VMs: hutch-vm launched detached, its state file, and the client
 * side of the control socket (docs/control-protocol.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hutch/registry.h"
#include "hutch/vm.h"
#include "internal.h"
#include "drive_spec.h"
#include "nic_spec.h"

#define CONTROL_TIMEOUT_MS 10000
#define SCREENSHOT_TIMEOUT_MS 30000   /* 2560x1600 drawn and compressed on a busy host */
#define CONTROL_LINE_MAX 1024

const char *hutch_vm_state_name(enum hutch_vm_state s)
{
	static const char *const n[] = { "poweroff", "running", "paused", "aborted" };

	return n[s];
}

const char *hutch_vm_state_text(enum hutch_vm_state s)
{
	static const char *const n[] = { "powered off", "running", "paused", "aborted" };

	return n[s];
}

static char *runtime_file(const struct hutch_machine *m, const char *ext)
{
	char *dir = hutch_runtime_dir();
	char *p = hutch_xasprintf("%s/%s.%s", dir, m->uuid, ext);

	free(dir);
	return p;
}

char *hutch_vm_socket_path(const struct hutch_machine *m)
{
	return runtime_file(m, "sock");
}

char *hutch_vm_state_path(const struct hutch_machine *m)
{
	return runtime_file(m, "state");
}

char *hutch_vm_folder(const struct hutch_machine *m)
{
	char *d = hutch_xstrdup(m->settings_file ? m->settings_file : ".");
	char *slash = strrchr(d, '/');

	if (slash && slash != d)
		*slash = 0;
	else if (slash)
		slash[1] = 0;
	else
		strcpy(d, ".");
	return d;
}

char *hutch_vm_log_path(const struct hutch_machine *m)
{
	char *dir = hutch_vm_folder(m);
	char *p = hutch_xasprintf("%s/Logs/hutch-vm.log", dir);

	free(dir);
	return p;
}

static char *serial_log_path(const struct hutch_machine *m)
{
	char *dir = hutch_vm_folder(m);
	char *p = hutch_xasprintf("%s/Logs/serial.log", dir);

	free(dir);
	return p;
}

/* --- control client --- */

int hutch_control_request(const char *sockpath, const char *request, char *reply, size_t replylen,
			  unsigned timeout_ms, struct hutch_error *e)
{
	return hutch_control_request_fd(sockpath, request, -1, reply, replylen, timeout_ms, e);
}

/* Send @req, with @pass_fd as SCM_RIGHTS ancillary data if >= 0.  The bytes sent or -1. */
static ssize_t send_request(int fd, const char *req, int pass_fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)req, .iov_len = strlen(req) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *h;

	if (pass_fd < 0)
		return send(fd, req, strlen(req), MSG_NOSIGNAL);
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	h = CMSG_FIRSTHDR(&msg);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &pass_fd, sizeof(int));
	return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

int hutch_control_request_fd(const char *sockpath, const char *request, int pass_fd, char *reply,
			     size_t replylen, unsigned timeout_ms, struct hutch_error *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[CONTROL_LINE_MAX + 2];
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	size_t got = 0;
	char *req;
	int fd, rc = 0;

	if (strlen(sockpath) >= sizeof(sa.sun_path))
		return hutch_seterr(e, -ENAMETOOLONG, "control socket path '%s' is too long", sockpath);
	strcpy(sa.sun_path, sockpath);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hutch_seterr(e, -errno, "cannot create a socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = hutch_seterr(e, -errno, "cannot connect to the VM's control socket '%s': %s", sockpath,
				  strerror(errno));
		goto out;
	}
	req = hutch_xasprintf("%s\n", request);
	if (send_request(fd, req, pass_fd) != (ssize_t)strlen(req))
		rc = hutch_seterr(e, -EIO, "cannot send '%s' to '%s': %s", request, sockpath, strerror(errno));
	free(req);
	if (rc)
		goto out;
	while (got < sizeof(line) - 1) {
		ssize_t n = recv(fd, line + got, sizeof(line) - 1 - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = hutch_seterr(e, n < 0 ? -errno : -ECONNRESET,
					  "no answer to '%s' from the VM's control socket '%s'%s%s", request,
					  sockpath, n < 0 ? ": " : " (connection closed)",
					  n < 0 ? strerror(errno) : "");
			goto out;
		}
		got += (size_t)n;
		line[got] = 0;
		if (strchr(line, '\n'))
			break;
	}
	line[strcspn(line, "\r\n")] = 0;
	if (!strcmp(line, "ok") || !strncmp(line, "ok ", 3)) {
		if (reply)
			snprintf(reply, replylen, "%s", line[2] ? line + 3 : "");
	} else if (!strncmp(line, "error", 5)) {
		rc = hutch_seterr(e, -EREMOTEIO, "the VM refused '%s': %s", request,
				  line[5] ? line + 6 : "(no reason given)");
	} else {
		rc = hutch_seterr(e, -EPROTO, "unexpected answer to '%s' from '%s': '%s'", request, sockpath,
				  line);
	}
out:
	close(fd);
	return rc;
}

int hutch_vm_control(const struct hutch_machine *m, const char *request, char *reply, size_t replylen,
		     struct hutch_error *e)
{
	char *sock = hutch_vm_socket_path(m);
	int rc = hutch_control_request(sock, request, reply, replylen, CONTROL_TIMEOUT_MS, e);

	free(sock);
	return rc;
}

int hutch_vm_screenshot_png(const struct hutch_machine *m, const char *path, unsigned *width,
			    unsigned *height, struct hutch_error *e)
{
	char *sock, reply[64];
	bool created = true;
	unsigned w = 0, h = 0;
	int fd, rc;

	/*
	 * The file is made here, with the user's rights: hutch-vm opens no
	 * path a client names (it is confined), it writes into this descriptor.
	 */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0 && errno == EEXIST) {
		created = false;
		fd = open(path, O_WRONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return hutch_seterr(e, -errno, "cannot create '%s': %s", path, strerror(errno));
	sock = hutch_vm_socket_path(m);
	rc = hutch_control_request_fd(sock, "screenshot", fd, reply, sizeof(reply),
				      SCREENSHOT_TIMEOUT_MS, e);
	free(sock);
	close(fd);
	if (!rc && sscanf(reply, "%ux%u", &w, &h) != 2)
		rc = hutch_seterr(e, -EPROTO, "unexpected answer to 'screenshot': '%s'", reply);
	if (rc && created)
		unlink(path);   /* no half-written file left behind */
	if (!rc && width)
		*width = w;
	if (!rc && height)
		*height = h;
	return rc;
}

/* --- state --- */

/*
 * Whether pid is still our VM process.  After a crash the pid may be
 * reused by something else, so a live pid counts only if its command line
 * names hutch-vm (or /proc cannot tell).
 */
static bool pid_alive(pid_t pid)
{
	char path[64], *buf = NULL;
	size_t len, i;
	bool ours;

	if (pid <= 0 || (kill(pid, 0) && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (hutch_read_file(path, &buf, &len, NULL))
		return true;
	for (i = 0; i < len; i++)
		if (!buf[i])
			buf[i] = ' ';
	ours = strstr(buf, "hutch-vm") != NULL;
	free(buf);
	return ours;
}

enum hutch_vm_state hutch_vm_get_state(const struct hutch_machine *m, time_t *since, char **reason,
				       pid_t *pidp)
{
	char *path = hutch_vm_state_path(m), *buf = NULL;
	enum hutch_vm_state s = HUTCH_VM_POWEROFF;
	struct stat st;
	size_t len;
	int pid;

	if (since)
		*since = 0;
	if (reason)
		*reason = NULL;
	if (pidp)
		*pidp = 0;
	if (stat(path, &st) || hutch_read_file(path, &buf, &len, NULL)) {
		/* Never started since boot: the settings file's age is the best "since". */
		if (since && m->settings_file && !stat(m->settings_file, &st))
			*since = st.st_mtime;
		goto out;
	}
	if (since)
		*since = st.st_mtime;
	buf[strcspn(buf, "\n")] = 0;
	if (sscanf(buf, "running pid=%d", &pid) == 1) {
		if (pidp)
			*pidp = pid;
		if (!pid_alive(pid)) {
			/* Killed without a word: VirtualBox calls this "aborted". */
			s = HUTCH_VM_ABORTED;
			if (reason)
				*reason = hutch_xasprintf("hutch-vm (pid %d) is gone", pid);
		} else {
			char reply[64];

			s = HUTCH_VM_RUNNING;
			char *sock = hutch_vm_socket_path(m);

			/* Short timeout: a hung VM must not hang "showvminfo". */
			if (!hutch_control_request(sock, "status", reply, sizeof(reply), 2000, NULL) &&
			    !strcmp(reply, "paused"))
				s = HUTCH_VM_PAUSED;
			free(sock);
		}
	} else if (!strncmp(buf, "aborted", 7)) {
		s = HUTCH_VM_ABORTED;
		if (reason)
			*reason = hutch_xstrdup(buf[7] ? buf + 8 : "");
	}
out:
	free(buf);
	free(path);
	return s;
}

int hutch_vm_wait_stopped(const struct hutch_machine *m, unsigned timeout_s)
{
	unsigned waited;

	for (waited = 0; waited < timeout_s * 20; waited++) {
		if (!hutch_vm_is_live(hutch_vm_get_state(m, NULL, NULL, NULL)))
			return 0;
		usleep(50000);
	}
	return -ETIMEDOUT;
}

#define HUTCH_VM_MAX_DRIVES 64   /* hutch-vm's MAX_DRIVES */

/* --- what cannot run yet --- */

static void list_add(char **list, const char *item)
{
	char *old = *list;

	*list = old ? hutch_xasprintf("%s, %s", old, item) : hutch_xstrdup(item);
	free(old);
}

/*
 * hutch-vm's --drive bus for an attachment, or NULL if Hutch cannot attach
 * it yet (floppies, SCSI/SAS/USB/NVMe controllers).
 */
static const char *drive_bus(const struct hutch_storagectl *c, const struct hutch_attachment *a)
{
	if (strcmp(a->type, "hdd") && strcmp(a->type, "dvddrive"))
		return NULL;
	if (!strcmp(c->bus, "sata"))
		return "sata";
	if (!strcmp(c->bus, "ide"))
		return "ide";
	if (!strcmp(c->bus, "virtio") && !strcmp(a->type, "hdd"))
		return "virtio";
	return NULL;
}

char *hutch_vm_drive_spec(const struct hutch_storagectl *c, const struct hutch_attachment *a, const char *format)
{
	const char *bus = drive_bus(c, a);
	bool empty = !strcmp(a->medium, "emptydrive");
	struct drive_spec d = { .port = -1 };

	if (!bus || (!empty && !drive_format_name(format)))
		return NULL;
	d.cdrom = !strcmp(a->type, "dvddrive");
	d.readonly = d.cdrom;
	d.bus = !strcmp(bus, "virtio") ? DRIVE_BUS_VIRTIO : !strcmp(bus, "ide") ? DRIVE_BUS_IDE : DRIVE_BUS_SATA;
	/* VirtualBox's IDE "port" is the channel and "device" master/slave. */
	if (d.bus == DRIVE_BUS_IDE)
		d.port = (int)(a->port * 2 + a->device);
	else if (d.bus == DRIVE_BUS_SATA)
		d.port = (int)a->port;
	if (!empty) {
		/* Never left to hutch-vm's probe: a guest decides what a raw disk's first bytes say. */
		d.format = (char *)drive_format_name(format);
		d.file = a->medium;
	}
	return drive_spec_format(&d);
}

/*
 * The --drive specs of m's attachments that hutch-vm can attach, each
 * with the format the media registry recorded for its medium.  A medium
 * the registry does not know (a settings file from elsewhere) is
 * registered now: probed once, as at storageattach, and recorded.
 */
static int drive_specs(const struct hutch_machine *m, char **drives, size_t *ndrives, struct hutch_error *e)
{
	struct hutch_registry *r;
	bool changed = false;
	size_t i, j;
	int rc;

	*ndrives = 0;
	rc = hutch_registry_open(&r, e);
	if (rc)
		return rc;
	for (i = 0; i < m->nctl && !rc; i++) {
		for (j = 0; j < m->ctl[i].natt && !rc; j++) {
			const struct hutch_attachment *a = &m->ctl[i].att[j];
			enum hutch_medium_kind kind = strcmp(a->type, "hdd") ? HUTCH_MEDIUM_DVD : HUTCH_MEDIUM_HDD;
			struct hutch_medium *md = NULL;

			if (!drive_bus(&m->ctl[i], a) || *ndrives == HUTCH_VM_MAX_DRIVES)
				continue;
			if (strcmp(a->medium, "emptydrive")) {
				md = hutch_registry_find_medium(r, a->medium_uuid ? a->medium_uuid : a->medium,
								(int)kind);
				if (!md) {
					rc = hutch_registry_open_medium(r, a->medium, kind, &md, e);
					changed = !rc;
				}
				if (!rc && !drive_format_name(md->format))
					rc = hutch_seterr(e, -ENOTSUP, "medium '%s' has format '%s', which hutch-vm "
							  "cannot attach", md->location, md->format);
			}
			if (!rc)
				drives[(*ndrives)++] = hutch_vm_drive_spec(&m->ctl[i], a, md ? md->format : NULL);
		}
	}
	if (!rc && changed)
		rc = hutch_registry_save(r, e);
	hutch_registry_close(r);
	return rc;
}

/* The attachments and adapter types hutch-vm acts on ("none" adds no adapter). */
static bool nic_attach_of(const char *attachment, enum nic_attach *out)
{
	static const struct {
		const char *name;
		enum nic_attach attach;
	} kinds[] = { { "null", NIC_ATTACH_NULL }, { "nat", NIC_ATTACH_NAT }, { "bridged", NIC_ATTACH_BRIDGED },
		      { "intnet", NIC_ATTACH_INTNET } };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!strcmp(attachment, kinds[i].name)) {
			*out = kinds[i].attach;
			return true;
		}
	}
	return false;
}

static bool nic_model_of(const char *type, enum nic_model *out)
{
	if (!strcmp(type, "82540EM"))
		*out = NIC_MODEL_E1000;
	else if (!strcmp(type, "virtio"))
		*out = NIC_MODEL_VIRTIO;
	else
		return false;
	return true;
}

/*
 * Adapter i's --nic spec into *spec: 1 when hutch-vm gets it, 0 when it
 * adds no adapter or cannot act on its kind, -EINVAL with a reason in err
 * when the settings cannot make an adapter (a bridge without an interface,
 * a hand-edited MAC).  The spec is parsed back with hutch-vm's parser, so
 * a start fails here, named, rather than in hutch-vm.
 */
static int nic_spec_of(const struct hutch_machine *m, size_t i, char **spec, char *err, size_t errlen)
{
	const struct hutch_nic *n = &m->nic[i];
	struct nic_spec ns = { .index = (unsigned)i + 1, .cable = n->cable };
	struct nic_fwd *fwd = NULL;
	struct nic_spec back;
	char why[256];
	size_t j;
	int k;

	*spec = NULL;
	if (!nic_attach_of(n->attachment, &ns.attach) || !nic_model_of(n->type, &ns.model))
		return 0;
	if (!n->mac || strlen(n->mac) != 12 || strspn(n->mac, "0123456789abcdefABCDEF") != 12) {
		snprintf(err, errlen, "VM '%s': NIC %zu has no valid MAC address (vmctl modifyvm \"%s\" --macaddress%zu auto)",
			 m->name, i + 1, m->name, i + 1);
		return -EINVAL;
	}
	for (k = 0; k < 6; k++) {
		char byte[3] = { n->mac[2 * k], n->mac[2 * k + 1], 0 };

		ns.mac[k] = (uint8_t)strtoul(byte, NULL, 16);
	}
	if (ns.attach == NIC_ATTACH_BRIDGED && !n->bridge) {
		snprintf(err, errlen, "VM '%s': NIC %zu is bridged but names no host interface "
			 "(vmctl modifyvm \"%s\" --bridgeadapter%zu IFNAME)", m->name, i + 1, m->name, i + 1);
		return -EINVAL;
	}
	if (ns.attach == NIC_ATTACH_BRIDGED)
		ns.bridge = n->bridge;
	if (ns.attach == NIC_ATTACH_INTNET)
		ns.intnet = (char *)hutch_nic_intnet(n);
	if (ns.attach == NIC_ATTACH_NAT) {
		ns.natnet = n->natnet;
		ns.tftp_prefix = n->tftp_prefix;
		ns.tftp_file = n->tftp_file;
		ns.dns_host_resolver = n->dns_host_resolver;
		if (n->npf)
			fwd = hutch_xmalloc(n->npf * sizeof(*fwd));
		for (j = 0; j < n->npf; j++) {
			const struct hutch_natpf *pf = &n->pf[j];

			memset(&fwd[j], 0, sizeof(fwd[j]));
			snprintf(fwd[j].name, sizeof(fwd[j].name), "%s", pf->name);
			fwd[j].udp = !strcmp(pf->proto, "udp");
			snprintf(fwd[j].hostip, sizeof(fwd[j].hostip), "%s", pf->hostip ? pf->hostip : "");
			fwd[j].hostport = (uint16_t)pf->hostport;
			snprintf(fwd[j].guestip, sizeof(fwd[j].guestip), "%s", pf->guestip ? pf->guestip : "");
			fwd[j].guestport = (uint16_t)pf->guestport;
		}
		ns.fwd = fwd;
		ns.nr_fwd = (unsigned)n->npf;
	}
	*spec = nic_spec_format(&ns);
	free(fwd);
	if (!*spec)
		abort();	/* out of memory, as hutch_xmalloc */
	if (nic_spec_parse(*spec, &back, why, sizeof(why))) {
		snprintf(err, errlen, "VM '%s': NIC %zu: %s", m->name, i + 1, why);
		free(*spec);
		*spec = NULL;
		return -EINVAL;
	}
	nic_spec_free(&back);
	return 1;
}

char *hutch_vm_nic_spec(const struct hutch_machine *m, unsigned slot, struct hutch_error *e)
{
	char *spec, err[512];
	int rc;

	if (slot >= HUTCH_MAX_NICS)
		return NULL;
	rc = nic_spec_of(m, slot, &spec, err, sizeof(err));
	if (rc < 0 && e)
		hutch_seterr(e, rc, "%s", err);
	return rc > 0 ? spec : NULL;
}

char *hutch_vm_unsupported(const struct hutch_machine *m, char **fatal)
{
	char *list = NULL, item[512];
	size_t i, j;

	*fatal = NULL;
	if (m->firmware && !strcmp(m->firmware, "efi"))
		*fatal = hutch_xasprintf("VM '%s': EFI firmware is not yet supported "
					 "(use 'vmctl modifyvm \"%s\" --firmware bios')", m->name, m->name);
	if (m->graphics && (!strcmp(m->graphics, "vmsvga") || !strcmp(m->graphics, "vboxsvga"))) {
		snprintf(item, sizeof(item), "graphics controller %s (a standard VGA is used)", m->graphics);
		list_add(&list, item);
	}
	for (i = 0; i < HUTCH_MAX_NICS; i++) {
		const struct hutch_nic *n = &m->nic[i];
		enum nic_attach a;
		enum nic_model t;
		char *spec, err[512];
		bool attach_acts = nic_attach_of(n->attachment, &a), type_acts = nic_model_of(n->type, &t);

		if (!strcmp(n->attachment, "none"))
			continue;
		if (attach_acts && type_acts) {
			if (nic_spec_of(m, i, &spec, err, sizeof(err)) < 0 && !*fatal)
				*fatal = hutch_xstrdup(err);
			free(spec);
			continue;
		}
		/* Named by what hutch-vm lacks: the attachment, the adapter type, or both. */
		snprintf(item, sizeof(item), "nic%zu (%s%s%s)", i + 1, attach_acts ? "" : n->attachment,
			 attach_acts || type_acts ? "" : ", ", type_acts ? "" : n->type);
		list_add(&list, item);
	}
	for (i = 0; i < m->nctl; i++) {
		for (j = 0; j < m->ctl[i].natt; j++) {
			if (drive_bus(&m->ctl[i], &m->ctl[i].att[j]))
				continue;
			snprintf(item, sizeof(item), "%s-%u-%u (%s)", m->ctl[i].name, m->ctl[i].att[j].port,
				 m->ctl[i].att[j].device, m->ctl[i].att[j].type);
			list_add(&list, item);
		}
	}
	for (i = 0; i < HUTCH_MAX_UARTS; i++) {
		const struct hutch_uart *u = &m->uart[i];

		if (!u->enabled)
			continue;
		if (i == 0 && u->iobase == 0x3f8 &&
		    (!strcmp(u->mode, "disconnected") || !strcmp(u->mode, "file")))
			continue;
		snprintf(item, sizeof(item), "uart%zu (0x%x, %s)", i + 1, u->iobase, u->mode);
		list_add(&list, item);
	}
	return list;
}

/* --- a running VM's adapters --- */

int hutch_vm_natpf_add(const struct hutch_machine *m, unsigned slot, const struct hutch_natpf *pf,
		       struct hutch_error *e)
{
	char *req;
	int rc;

	if (slot >= HUTCH_MAX_NICS)
		return hutch_seterr(e, -EINVAL, "NIC %u does not exist (1 to %d)", slot + 1, HUTCH_MAX_NICS);
	/* The rule as stored: named (VirtualBox names unnamed ones), protocol in lower case. */
	req = hutch_xasprintf("natpf %u %s,%s,%s,%u,%s,%u", slot + 1, pf->name, pf->proto, pf->hostip ? pf->hostip : "",
			      pf->hostport, pf->guestip ? pf->guestip : "", pf->guestport);
	rc = hutch_vm_control(m, req, NULL, 0, e);
	free(req);
	return rc;
}

int hutch_vm_natpf_delete(const struct hutch_machine *m, unsigned slot, const char *name, struct hutch_error *e)
{
	char *req;
	int rc;

	if (slot >= HUTCH_MAX_NICS)
		return hutch_seterr(e, -EINVAL, "NIC %u does not exist (1 to %d)", slot + 1, HUTCH_MAX_NICS);
	if (!*name || strpbrk(name, "\r\n"))
		return hutch_seterr(e, -EINVAL, "invalid rule name '%s'", name);
	req = hutch_xasprintf("natpf %u delete %s", slot + 1, name);
	rc = hutch_vm_control(m, req, NULL, 0, e);
	free(req);
	return rc;
}

int hutch_vm_set_link(const struct hutch_machine *m, unsigned slot, bool up, struct hutch_error *e)
{
	char req[32];

	if (slot >= HUTCH_MAX_NICS)
		return hutch_seterr(e, -EINVAL, "NIC %u does not exist (1 to %d)", slot + 1, HUTCH_MAX_NICS);
	snprintf(req, sizeof(req), "setlinkstate %u %s", slot + 1, up ? "on" : "off");
	return hutch_vm_control(m, req, NULL, 0, e);
}

/* --- a running VM's keyboard --- */

#define KEYBOARD_CHUNK     200     /* characters or scan codes per request */
#define KEYBOARD_WAIT_S    60      /* how long a full queue is waited for */

/*
 * One keyboard request; while the VM says its queue is full, wait and
 * send it again.  The VM's refusal keeps only its reason, not the whole
 * (long) request.
 */
static int keyboard_request(const struct hutch_machine *m, const char *verb, const char *req,
			    struct hutch_error *e)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	unsigned tries = KEYBOARD_WAIT_S * 20;
	int rc;

	for (;;) {
		rc = hutch_vm_control(m, req, NULL, 0, e);
		if (rc != -EREMOTEIO || !e || !strstr(e->msg, "try again later") || !--tries)
			break;
		nanosleep(&nap, NULL);
	}
	if (rc == -EREMOTEIO && e) {
		char key[48], msg[HUTCH_ERROR_MAX];
		const char *why;

		/* "the VM refused '<request>': <verb>: <reason>" */
		snprintf(key, sizeof(key), "': %s: ", verb);
		why = strstr(e->msg, key);
		snprintf(msg, sizeof(msg), "%s", why ? why + 3 : e->msg);
		hutch_seterr(e, rc, "the VM refused: %s", msg);
	}
	return rc;
}

int hutch_vm_put_scancodes(const struct hutch_machine *m, const uint8_t *codes, size_t n,
			   struct hutch_error *e)
{
	char req[32 + 3 * KEYBOARD_CHUNK + 3 * 8];
	size_t i = 0;

	if (!n)
		return hutch_seterr(e, -EINVAL, "keyboardputscancode: no scan codes");
	while (i < n) {
		size_t len = (size_t)snprintf(req, sizeof(req), "keyboardputscancode");
		unsigned in_seq = 0, count = 0;
		int rc;

		/* A request ends between key events: never inside an E0 or E1 sequence. */
		while (i < n && (count < KEYBOARD_CHUNK || in_seq)) {
			uint8_t b = codes[i++];

			len += (size_t)snprintf(req + len, sizeof(req) - len, " %02x", b);
			count++;
			if (b == 0xe0)
				in_seq = 1;
			else if (b == 0xe1)
				in_seq = 2;
			else if (in_seq)
				in_seq--;
		}
		rc = keyboard_request(m, "keyboardputscancode", req, e);
		if (rc)
			return rc;
	}
	return 0;
}

int hutch_vm_put_string(const struct hutch_machine *m, const char *text, struct hutch_error *e)
{
	char req[32 + 4 * KEYBOARD_CHUNK];
	const unsigned char *p = (const unsigned char *)text;

	if (!*p)
		return hutch_seterr(e, -EINVAL, "keyboardputstring: no text");
	while (*p) {
		size_t len = (size_t)snprintf(req, sizeof(req), "keyboardputstring ");
		int rc;

		/* The protocol is line-based: newline, tab, backslash, other
		 * control bytes and a last space (requests are trimmed) escaped. */
		for (unsigned count = 0; *p && count < KEYBOARD_CHUNK; count++, p++) {
			if (*p == '\n')
				len += (size_t)snprintf(req + len, sizeof(req) - len, "\\n");
			else if (*p == '\t')
				len += (size_t)snprintf(req + len, sizeof(req) - len, "\\t");
			else if (*p == '\\')
				len += (size_t)snprintf(req + len, sizeof(req) - len, "\\\\");
			else if (*p < 0x20 || *p == 0x7f || (*p == ' ' && (!p[1] || count + 1 == KEYBOARD_CHUNK)))
				len += (size_t)snprintf(req + len, sizeof(req) - len, "\\x%02x", *p);
			else
				req[len++] = (char)*p;
			req[len] = 0;
		}
		rc = keyboard_request(m, "keyboardputstring", req, e);
		if (rc)
			return rc;
	}
	return 0;
}

int hutch_vm_keyboard_leds(const struct hutch_machine *m, unsigned *leds, struct hutch_error *e)
{
	char reply[128];
	int num = 0, caps = 0, scroll = 0;
	int rc = hutch_vm_control(m, "keyboardleds", reply, sizeof(reply), e);

	if (rc)
		return rc;
	if (sscanf(reply, "num=%d caps=%d scroll=%d", &num, &caps, &scroll) != 3)
		return hutch_seterr(e, -EPROTO, "unexpected answer to keyboardleds: '%s'", reply);
	*leds = (num ? HUTCH_LED_NUM : 0) | (caps ? HUTCH_LED_CAPS : 0) | (scroll ? HUTCH_LED_SCROLL : 0);
	return 0;
}

/* --- launching --- */

/*
 * hutch-vm's --boot value: the boot order's devices, comma-separated,
 * without "none" ("floppy,dvd,disk"); NULL when every slot is empty
 * (hutch-vm's own default order then applies).
 */
static char *boot_list(const struct hutch_machine *m)
{
	char buf[64] = "";

	for (size_t i = 0; i < HUTCH_MAX_BOOT; i++) {
		bool again = false;

		if (!m->boot[i] || !strcmp(m->boot[i], "none"))
			continue;
		/* VBoxManage lets a device class fill two slots (--boot1 dvd over
		 * the default boot2 dvd); only its first place counts. */
		for (size_t j = 0; j < i; j++)
			again |= m->boot[j] && !strcmp(m->boot[j], m->boot[i]);
		if (again)
			continue;
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", *buf ? "," : "", m->boot[i]);
	}
	return *buf ? hutch_xstrdup(buf) : NULL;
}


static bool is_exec(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISREG(st.st_mode) && !access(p, X_OK);
}

char *hutch_vm_find_binary(const char *exe_dir)
{
	const char *env = getenv("HUTCH_VM"), *path;
	char *p;

	if (env && *env)
		return hutch_xstrdup(env);
	if (exe_dir) {
		/* Installed (bin/vmctl beside bin/hutch-vm), then the build tree (frontend/vmctl/vmctl). */
		p = hutch_xasprintf("%s/hutch-vm", exe_dir);
		if (is_exec(p))
			return p;
		free(p);
		p = hutch_xasprintf("%s/../hutch-vm", exe_dir);
		if (is_exec(p))
			return p;
		free(p);
	}
	path = getenv("PATH");
	while (path && *path) {
		const char *end = strchrnul(path, ':');

		p = hutch_xasprintf("%.*s/hutch-vm", (int)(end - path), path);
		if (end > path && is_exec(p))
			return p;
		free(p);
		path = *end ? end + 1 : end;
	}
	return NULL;
}

/* The last few lines of the log written since offset, on one line. */
static char *log_tail(const char *log, off_t from)
{
	char *buf = NULL, *s, *lines[3] = { 0 }, *out;
	size_t len, n = 0, i;

	if (hutch_read_file(log, &buf, &len, NULL))
		return hutch_xstrdup("(no log)");
	s = buf + ((size_t)from <= len ? (size_t)from : 0);
	for (char *tok = strtok(s, "\n"); tok; tok = strtok(NULL, "\n")) {
		/* Skip empty lines and vmctl's own "--- started/command line" lines. */
		if (!*tok || !strncmp(tok, "---", 3))
			continue;
		if (n == 3) {
			lines[0] = lines[1];
			lines[1] = lines[2];
			n = 2;
		}
		lines[n++] = tok;
	}
	out = hutch_xstrdup(n ? "" : "(the log is empty)");
	for (i = 0; i < n; i++) {
		char *t = hutch_xasprintf("%s%s%s", out, i ? " | " : "", lines[i]);

		free(out);
		out = t;
	}
	free(buf);
	return out;
}

static bool state_says_running(const char *state)
{
	char *buf;
	size_t len;
	bool yes;

	if (hutch_read_file(state, &buf, &len, NULL))
		return false;
	yes = !strncmp(buf, "running pid=", 12);
	free(buf);
	return yes;
}

static void child_exec(const char *bin, char **argv, int logfd)
{
	int fd, nul = open("/dev/null", O_RDONLY);

	/* Its own session: closing vmctl's terminal must not take the VM down. */
	setsid();
	if (nul >= 0)
		dup2(nul, STDIN_FILENO);
	dup2(logfd, STDOUT_FILENO);
	dup2(logfd, STDERR_FILENO);
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	signal(SIGPIPE, SIG_DFL);
	execv(bin, argv);
	dprintf(STDERR_FILENO, "vmctl: cannot run '%s': %s\n", bin, strerror(errno));
	_exit(127);
}

int hutch_vm_start(const struct hutch_machine *m, const char *exe_dir, unsigned timeout_s, pid_t *pidp,
		   struct hutch_error *e)
{
	return hutch_vm_start_frontend(m, exe_dir, HUTCH_FRONTEND_HEADLESS, timeout_s, pidp, e);
}

int hutch_vm_start_frontend(const struct hutch_machine *m, const char *exe_dir,
			    enum hutch_vm_frontend fe, unsigned timeout_s, pid_t *pidp,
			    struct hutch_error *e)
{
	char *bin = NULL, *rt = hutch_runtime_dir(), *sock = NULL, *state = NULL, *folder = NULL;
	char *log = NULL, *serial = NULL, *fatal = NULL, *unsup, mem[16], cpus[16], vram[16];
	char *boot = NULL;
	char *argv[32 + 2 * HUTCH_VM_MAX_DRIVES + 2 * HUTCH_MAX_NICS], *drives[HUTCH_VM_MAX_DRIVES];
	char *nics[HUTCH_MAX_NICS];
	size_t ndrives = 0, nnics = 0;
	struct stat st;
	off_t log_start = 0;
	int argc = 0, logfd = -1, rc = 0, status;
	unsigned waited;
	pid_t pid;
	time_t t;

	unsup = hutch_vm_unsupported(m, &fatal);
	free(unsup);
	if (fatal) {
		rc = hutch_seterr(e, -ENOTSUP, "%s", fatal);
		goto out;
	}
	bin = hutch_vm_find_binary(exe_dir);
	if (!bin) {
		rc = hutch_seterr(e, -ENOENT, "cannot find the hutch-vm program (next to vmctl or on PATH); "
				  "set HUTCH_VM to its path");
		goto out;
	}
	if ((rc = hutch_mkdir_p(rt, 0700, e)))
		goto out;
	/* Sockets go here: it must be our own private directory, not someone's symlink. */
	if (lstat(rt, &st) || !S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
		rc = hutch_seterr(e, -EPERM, "runtime directory '%s' is not a directory owned by you", rt);
		goto out;
	}
	if ((st.st_mode & 0777) != 0700 && chmod(rt, 0700)) {
		rc = hutch_seterr(e, -errno, "cannot make '%s' private (mode 0700): %s", rt, strerror(errno));
		goto out;
	}
	if ((rc = drive_specs(m, drives, &ndrives, e)))
		goto out;
	for (size_t i = 0; i < HUTCH_MAX_NICS; i++) {
		char *spec, err[512];

		/* hutch_vm_unsupported has refused the ones that fail (fatal). */
		if (nic_spec_of(m, i, &spec, err, sizeof(err)) > 0)
			nics[nnics++] = spec;
	}
	sock = hutch_vm_socket_path(m);
	state = hutch_vm_state_path(m);
	folder = hutch_vm_folder(m);
	log = hutch_xasprintf("%s/Logs", folder);
	if ((rc = hutch_mkdir_p(log, HUTCH_DIR_MODE, e)))
		goto out;
	free(log);
	log = hutch_vm_log_path(m);
	unlink(sock);
	unlink(state);
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, HUTCH_FILE_MODE);
	if (logfd < 0) {
		rc = hutch_seterr(e, -errno, "cannot open the log file '%s': %s", log, strerror(errno));
		goto out;
	}
	if (!fstat(logfd, &st))
		log_start = st.st_size;
	t = time(NULL);
	dprintf(logfd, "--- %s started by vmctl: %s", m->name, ctime(&t));

	if (m->uart[0].enabled && !strcmp(m->uart[0].mode, "file") && m->uart[0].path)
		serial = hutch_xasprintf("file:%s", m->uart[0].path);
	else
	{
		char *sl = serial_log_path(m);

		serial = hutch_xasprintf("file:%s", sl);
		free(sl);
	}
	snprintf(mem, sizeof(mem), "%u", m->memory);
	snprintf(cpus, sizeof(cpus), "%u", m->cpus);
	argv[argc++] = bin;
	argv[argc++] = "--name";
	argv[argc++] = m->name;
	argv[argc++] = "--memory";
	argv[argc++] = mem;
	argv[argc++] = "--cpus";
	argv[argc++] = cpus;
	/* The display (docs/hutch-vm.md): VirtualBox's vmsvga/vboxsvga are not there yet, so std. */
	snprintf(vram, sizeof(vram), "%u", m->vram);
	argv[argc++] = "--vga";
	argv[argc++] = m->graphics && !strcmp(m->graphics, "none") ? "none" : "std";
	argv[argc++] = "--vram";
	argv[argc++] = vram;
	/* The tablet is hutch-vm's default: only its absence is said. */
	if (m->pointing && !strcmp(m->pointing, "ps2")) {
		argv[argc++] = "--pointing";
		argv[argc++] = "ps2";
	}
	if (m->kernel) {
		argv[argc++] = "--kernel";
		argv[argc++] = m->kernel;
	} else {
		/* Through SeaBIOS: the boot order, without the empty slots. */
		boot = boot_list(m);
		if (boot) {
			argv[argc++] = "--boot";
			argv[argc++] = boot;
		}
	}
	if (m->initrd) {
		argv[argc++] = "--initrd";
		argv[argc++] = m->initrd;
	}
	if (m->cmdline) {
		argv[argc++] = "--append";
		argv[argc++] = m->cmdline;
	}
	for (size_t i = 0; i < ndrives; i++) {
		argv[argc++] = "--drive";
		argv[argc++] = drives[i];
	}
	/* One --nic per adapter, in slot order: the guest's PCI order follows VirtualBox's. */
	for (size_t i = 0; i < nnics; i++) {
		argv[argc++] = "--nic";
		argv[argc++] = nics[i];
	}
	if (fe == HUTCH_FRONTEND_GUI) {
		/* The window opens on $DISPLAY / $WAYLAND_DISPLAY, which the child inherits. */
		argv[argc++] = "--display";
		argv[argc++] = "sdl";
	}
	argv[argc++] = "--serial";
	argv[argc++] = serial;
	argv[argc++] = "--control";
	argv[argc++] = sock;
	argv[argc++] = "--state-file";
	argv[argc++] = state;
	argv[argc] = NULL;
	{
		int i;

		dprintf(logfd, "---");
		for (i = 0; i < argc; i++)
			dprintf(logfd, " %s", argv[i]);
		dprintf(logfd, "\n");
	}

	pid = fork();
	if (pid < 0) {
		rc = hutch_seterr(e, -errno, "cannot start hutch-vm: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(bin, argv, logfd);
	if (pidp)
		*pidp = pid;

	for (waited = 0;; waited += 50) {
		char reply[64];
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid) {
			char *tail = log_tail(log, log_start);

			rc = hutch_seterr(e, -ECHILD, "hutch-vm for VM '%s' exited (%s %d) before the VM ran: %s (log: %s)",
					  m->name, WIFEXITED(status) ? "status" : "signal",
					  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail, log);
			free(tail);
			break;
		}
		/*
		 * Running means both: the socket answers, and the state file says
		 * so (hutch-vm may listen a moment before it writes the file).
		 */
		if (state_says_running(state) &&
		    !hutch_control_request(sock, "status", reply, sizeof(reply), 2000, NULL) &&
		    (!strcmp(reply, "running") || !strcmp(reply, "paused")))
			break;
		if (waited >= timeout_s * 1000) {
			char *tail = log_tail(log, log_start);

			/* Do not leave a half-started VM behind that nothing will control. */
			kill(pid, SIGTERM);
			rc = hutch_seterr(e, -ETIMEDOUT,
					  "VM '%s' did not answer on its control socket within %u s: %s (log: %s)",
					  m->name, timeout_s, tail, log);
			free(tail);
			break;
		}
		usleep(50000);
	}
out:
	while (ndrives)
		free(drives[--ndrives]);
	while (nnics)
		free(nics[--nnics]);
	if (logfd >= 0)
		close(logfd);
	free(fatal);
	free(bin);
	free(rt);
	free(sock);
	free(state);
	free(folder);
	free(log);
	free(serial);
	free(boot);
	return rc;
}
