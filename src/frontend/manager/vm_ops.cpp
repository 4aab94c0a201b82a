// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The manager's actions on VMs, through libhutch only, each doing what the
 * matching vmctl verbs do (src/frontend/vmctl): createvm --register plus
 * modifyvm, createmedium and storageattach for the New VM wizard; the
 * settings the dialog edits under the VM's lock; unregistervm --delete;
 * startvm; controlvm.  They may block (locks, sockets, disk creation), so
 * the GUI runs them on its job thread.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "hutch/config.h"
#include "hutch/ostype.h"
#include "hutch/registry.h"
#include "hutch/vm.h"
#include "manager.h"

#define START_TIMEOUT_S 30
#define POWEROFF_TIMEOUT_S 30

namespace {

/* Frees what libhutch malloc'd when it goes out of scope. */
struct CStr {
	char *p;
	explicit CStr(char *s) : p(s) {}
	~CStr() { free(p); }
	CStr(const CStr &) = delete;
	CStr &operator=(const CStr &) = delete;
};

struct Machine {
	hutch_machine *m = nullptr;
	~Machine() { hutch_machine_free(m); }
};

/* The registry, open (locked) for as long as this lives. */
struct Registry {
	hutch_registry *r = nullptr;
	~Registry() { if (r) hutch_registry_close(r); }
	int open(std::string &err)
	{
		hutch_error e{};
		int rc = hutch_registry_open(&r, &e);

		if (rc)
			err = e.msg;
		return rc;
	}
};

/* A VM's settings lock (hutch_vm_lock_path), released when this goes. */
struct VmLock {
	hutch_lock lk{ -1, nullptr };
	bool held = false;
	~VmLock() { if (held) hutch_lock_release(&lk); }
	int take(const char *uuid, std::string &err)
	{
		CStr path(hutch_vm_lock_path(uuid));
		hutch_error e{};
		int rc;

		if (!path.p) {
			err = "out of memory";
			return -ENOMEM;
		}
		rc = hutch_lock_acquire(path.p, &lk, &e);
		if (rc)
			err = e.msg;
		held = !rc;
		return rc;
	}
};

int fail(std::string &err, const hutch_error &e, int rc)
{
	err = e.msg[0] ? e.msg : strerror(-rc);
	return rc;
}

int fail(std::string &err, int rc, const std::string &msg)
{
	err = msg;
	return rc;
}

/* Load a registered VM fresh from its settings file, by UUID. */
int load_vm(const std::string &uuid, Machine &out, std::string &err)
{
	Registry reg;
	hutch_error e{};
	int rc;

	if ((rc = reg.open(err)))
		return rc;
	rc = hutch_registry_find_vm(reg.r, uuid.c_str(), &out.m, &e);
	return rc ? fail(err, e, rc) : 0;
}

/* The VM under its lock, loaded after the lock was taken (a vmctl may have saved it just before). */
int load_vm_locked(const std::string &uuid, Machine &out, VmLock &lock, std::string &err)
{
	int rc = lock.take(uuid.c_str(), err);

	return rc ? rc : load_vm(uuid, out, err);
}

void progress_thunk(unsigned percent, void *opaque)
{
	auto *fn = static_cast<std::function<void(unsigned)> *>(opaque);

	if (*fn)
		(*fn)(percent);
}

bool name_taken(hutch_registry *r, const std::string &name)
{
	hutch_machine **ms;
	size_t n;
	hutch_error e{};
	bool taken = false;

	if (hutch_registry_load_all(r, &ms, &n, &e))
		return false;
	for (size_t i = 0; i < n; i++) {
		taken |= name == ms[i]->name;
		hutch_machine_free(ms[i]);
	}
	free(ms);
	return taken;
}

const char *disk_extension(const std::string &format)
{
	if (!strcasecmp(format.c_str(), "qcow2"))
		return ".qcow2";
	if (!strcasecmp(format.c_str(), "RAW"))
		return ".img";
	return ".vdi";
}

/* The registered medium at path (registering an existing image), as storageattach does. */
int find_or_open_medium(hutch_registry *r, const std::string &path, hutch_medium_kind kind, hutch_medium **md,
			std::string &err)
{
	hutch_error e{};
	int rc;

	*md = hutch_registry_find_medium(r, path.c_str(), (int)kind);
	if (*md)
		return 0;
	if (hutch_registry_find_medium(r, path.c_str(), -1))
		return fail(err, -EINVAL, "'" + path + "' is registered, but not as a " +
					      hutch_medium_kind_name(kind) + " image");
	rc = hutch_registry_open_medium(r, path.c_str(), kind, md, &e);
	return rc ? fail(err, e, rc) : 0;
}

/* The attachment slot of the VM's first DVD drive, if it has one. */
hutch_attachment *first_dvd(hutch_machine *m, hutch_storagectl **ctl)
{
	for (size_t i = 0; i < m->nctl; i++)
		for (size_t j = 0; j < m->ctl[i].natt; j++)
			if (!strcmp(m->ctl[i].att[j].type, "dvddrive")) {
				*ctl = &m->ctl[i];
				return &m->ctl[i].att[j];
			}
	return nullptr;
}

bool valid_vm_name(const std::string &name)
{
	return !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
}

} // namespace

int vm_create(const NewVmSpec &s, std::function<void(unsigned)> progress, std::string &err)
{
	Machine vm;
	Registry reg;
	VmLock lock;
	hutch_error e{};
	hutch_medium *disk = nullptr;
	std::string folder, disk_path;
	struct stat st;
	int rc;

	if (!valid_vm_name(s.name))
		return fail(err, -EINVAL, "the name must not be empty or contain '/'");
	vm.m = hutch_machine_new(s.name.c_str(), nullptr);
	if (!vm.m)
		return fail(err, -ENOMEM, "out of memory");
	/* createvm --ostype T --default, then modifyvm --memory --cpus. */
	if ((rc = hutch_machine_set_ostype(vm.m, s.ostype.c_str(), &e)) ||
	    (rc = hutch_machine_apply_defaults(vm.m, &e)) ||
	    (rc = hutch_machine_set_memory(vm.m, s.memory, &e)) ||
	    (rc = hutch_machine_set_cpus(vm.m, s.cpus, &e)))
		return fail(err, e, rc);
	if (!s.iso.empty() && (stat(s.iso.c_str(), &st) || !S_ISREG(st.st_mode)))
		return fail(err, -ENOENT, "the ISO image '" + s.iso + "' is not a readable file");

	if ((rc = reg.open(err)))
		return rc;
	if (name_taken(reg.r, s.name))
		return fail(err, -EEXIST, "a VM named '" + s.name + "' is already registered");
	{
		CStr base(hutch_registry_machine_folder(reg.r));

		folder = std::string(base.p ? base.p : ".") + "/" + s.name;
	}
	vm.m->settings_file = strdup((folder + "/" + s.name + HUTCH_CONFIG_SUFFIX).c_str());
	if (!stat(vm.m->settings_file, &st))
		return fail(err, -EEXIST, std::string("the settings file '") + vm.m->settings_file + "' already exists");
	if ((rc = hutch_mkdir_p(folder.c_str(), HUTCH_DIR_MODE, &e)))
		return fail(err, e, rc);

	if (s.create_disk) {
		disk_path = folder + "/" + s.name + disk_extension(s.disk_format);
		rc = hutch_medium_create(reg.r, disk_path.c_str(), s.disk_mb << 20, s.disk_format.c_str(), false,
					 progress_thunk, &progress, &disk, &e);
		if (rc)
			return fail(err, e, rc);
		rc = hutch_ctl_attach(hutch_machine_find_ctl(vm.m, "SATA"), 0, 0, "hdd", disk->location, disk->uuid, &e);
		if (rc)
			goto undo_disk;
	}
	if (!s.iso.empty()) {
		hutch_storagectl *ctl = nullptr;
		hutch_attachment *dvd = first_dvd(vm.m, &ctl);
		hutch_medium *md;
		std::string why;

		if ((rc = find_or_open_medium(reg.r, s.iso, HUTCH_MEDIUM_DVD, &md, why))) {
			snprintf(e.msg, sizeof(e.msg), "%s", why.c_str());
			goto undo_disk;
		}
		if (dvd)
			rc = hutch_ctl_attach(ctl, dvd->port, dvd->device, "dvddrive", md->location, md->uuid, &e);
		else
			rc = hutch_ctl_attach(hutch_machine_find_ctl(vm.m, "SATA"), 1, 0, "dvddrive", md->location,
					      md->uuid, &e);
		if (rc)
			goto undo_disk;
	}
	if ((rc = lock.take(vm.m->uuid, err)))
		goto undo_disk_err;
	if ((rc = hutch_config_save(vm.m, &e)))
		goto undo_disk;
	if ((rc = hutch_registry_add_vm(reg.r, vm.m->uuid, vm.m->settings_file, &e)) ||
	    (rc = hutch_registry_save(reg.r, &e))) {
		unlink(vm.m->settings_file);
		goto undo_disk;
	}
	if (progress)
		progress(100);
	return 0;

undo_disk:
	err = e.msg;
undo_disk_err:
	/* Nothing half made stays behind: the new disk goes, and the folder if it is empty. */
	if (disk) {
		hutch_registry_remove_medium(reg.r, disk->uuid);
		hutch_registry_save(reg.r, nullptr);
		unlink(disk_path.c_str());
	}
	rmdir(folder.c_str());
	return rc;
}

int vm_settings_load(const std::string &uuid, VmSettings *out, std::string &err)
{
	Machine vm;
	int rc = load_vm(uuid, vm, err);
	hutch_machine *m = vm.m;

	if (rc)
		return rc;
	*out = VmSettings();
	out->uuid = m->uuid;
	out->name = m->name;
	out->memory = m->memory;
	out->cpus = m->cpus;
	for (int i = 0; i < HUTCH_MAX_BOOT; i++)
		out->boot[i] = m->boot[i] ? m->boot[i] : "none";
	for (size_t i = 0; i < m->nctl; i++) {
		out->controllers.push_back(m->ctl[i].name);
		for (size_t j = 0; j < m->ctl[i].natt; j++) {
			const hutch_attachment *a = &m->ctl[i].att[j];
			AttachmentEdit ae;

			ae.controller = m->ctl[i].name;
			ae.port = a->port;
			ae.device = a->device;
			ae.type = a->type;
			ae.medium = a->medium ? a->medium : "emptydrive";
			out->atts.push_back(ae);
		}
	}
	for (int i = 0; i < 4; i++) {
		const hutch_nic *n = &m->nic[i];
		NicEdit &ne = out->nic[i];

		ne.attachment = n->attachment ? n->attachment : "none";
		ne.type = n->type ? n->type : "82540EM";
		ne.bridge = n->bridge ? n->bridge : "";
		ne.intnet = hutch_nic_intnet(n);
		for (size_t j = 0; j < n->npf; j++) {
			const hutch_natpf *pf = &n->pf[j];

			ne.rules.push_back(std::string(pf->name) + "," + pf->proto + "," + pf->hostip + "," +
					   std::to_string(pf->hostport) + "," + pf->guestip + "," +
					   std::to_string(pf->guestport));
		}
	}
	return 0;
}

int vm_settings_save(const VmSettings &s, std::function<void(unsigned)> progress, std::string &err)
{
	Machine vm;
	VmLock lock;
	Registry reg;
	hutch_error e{};
	enum hutch_vm_state state;
	hutch_machine *m;
	int rc;

	if ((rc = load_vm_locked(s.uuid, vm, lock, err)))
		return rc;
	m = vm.m;
	state = hutch_vm_get_state(m, nullptr, nullptr, nullptr);
	if (hutch_vm_is_live(state))
		return fail(err, -EBUSY, std::string("VM '") + m->name + "' is " + hutch_vm_state_text(state) +
						 ": its settings cannot be changed while it runs (power it off first)");
	if ((rc = hutch_machine_set_memory(m, s.memory, &e)) || (rc = hutch_machine_set_cpus(m, s.cpus, &e)))
		return fail(err, e, rc);
	for (int i = 0; i < HUTCH_MAX_BOOT; i++)
		if ((rc = hutch_machine_set_boot(m, (unsigned)i + 1, s.boot[i].c_str(), &e)))
			return fail(err, e, rc);

	/* Storage: the dialog's list replaces the attachments (media are looked up under the registry's lock). */
	if ((rc = reg.open(err)))
		return rc;
	for (size_t i = 0; i < m->nctl; i++)
		while (m->ctl[i].natt)
			hutch_ctl_attach(&m->ctl[i], m->ctl[i].att[0].port, m->ctl[i].att[0].device,
					 m->ctl[i].att[0].type, nullptr, nullptr, nullptr);
	for (const AttachmentEdit &a : s.atts) {
		hutch_storagectl *c = hutch_machine_find_ctl(m, a.controller.c_str());
		hutch_medium *md = nullptr;
		bool hdd = a.type == "hdd";

		if (!c)
			return fail(err, -ENOENT, "no storage controller named '" + a.controller + "'");
		if (!a.new_disk_path.empty()) {
			rc = hutch_medium_create(reg.r, a.new_disk_path.c_str(), a.new_disk_mb << 20, "VDI", false,
						 progress_thunk, &progress, &md, &e);
			if (rc)
				return fail(err, e, rc);
			/* Registered now: saved even if a later step fails, as createmedium would have. */
			if ((rc = hutch_registry_save(reg.r, &e)))
				return fail(err, e, rc);
		} else if (a.medium != "emptydrive") {
			if ((rc = find_or_open_medium(reg.r, a.medium, hdd ? HUTCH_MEDIUM_HDD : HUTCH_MEDIUM_DVD, &md,
						      err)))
				return rc;
		} else if (hdd) {
			return fail(err, -EINVAL, "a hard disk slot needs an image (a disk cannot be empty)");
		}
		rc = hutch_ctl_attach(c, a.port, a.device, a.type.c_str(), md ? md->location : "emptydrive",
				      md ? md->uuid : nullptr, &e);
		if (rc)
			return fail(err, e, rc);
	}

	for (int i = 0; i < 4; i++) {
		const NicEdit &ne = s.nic[i];
		hutch_nic *n = &m->nic[i];

		hutch_setstr(&n->attachment, ne.attachment.c_str());
		hutch_setstr(&n->type, ne.type.c_str());
		if (ne.attachment == "bridged") {
			if (ne.bridge.empty())
				return fail(err, -EINVAL, "adapter " + std::to_string(i + 1) +
								  " is bridged: give the host interface to bridge to");
			hutch_setstr(&n->bridge, ne.bridge.c_str());
		}
		if (ne.attachment == "intnet")
			hutch_setstr(&n->intnet, ne.intnet.empty() ? nullptr : ne.intnet.c_str());
		while (n->npf)
			hutch_nic_delete_natpf(n, n->pf[0].name, nullptr);
		for (const std::string &rule : ne.rules) {
			hutch_natpf pf;

			rc = hutch_natpf_parse(rule.c_str(), &pf, &e);
			if (!rc) {
				rc = hutch_nic_add_natpf(n, &pf, &e);
				hutch_natpf_clear(&pf);
			}
			if (rc)
				return fail(err, e, rc);
		}
	}
	if ((rc = hutch_registry_save(reg.r, &e)) || (rc = hutch_config_save(m, &e)))
		return fail(err, e, rc);
	return 0;
}

namespace {

/* Whether another registered VM than except_uuid has md attached. */
bool medium_used_elsewhere(hutch_registry *r, const hutch_medium *md, const char *except_uuid)
{
	hutch_machine **ms;
	size_t n;
	hutch_error e{};
	bool used = false;

	if (hutch_registry_load_all(r, &ms, &n, &e))
		return true;	/* cannot tell: keep the disk */
	for (size_t i = 0; i < n; i++) {
		hutch_machine *m = ms[i];

		for (size_t c = 0; strcmp(m->uuid, except_uuid) && c < m->nctl; c++)
			for (size_t a = 0; a < m->ctl[c].natt; a++) {
				const hutch_attachment *at = &m->ctl[c].att[a];

				used |= (at->medium_uuid && !strcasecmp(at->medium_uuid, md->uuid)) ||
					(at->medium && !strcmp(at->medium, md->location));
			}
		hutch_machine_free(m);
	}
	free(ms);
	return used;
}

} // namespace

int vm_delete(const std::string &uuid, std::string &err)
{
	Machine vm;
	VmLock lock;
	Registry reg;
	hutch_error e{};
	std::vector<std::string> doomed;
	hutch_machine *m;
	int rc;

	if ((rc = load_vm_locked(uuid, vm, lock, err)))
		return rc;
	m = vm.m;
	if (hutch_vm_is_live(hutch_vm_get_state(m, nullptr, nullptr, nullptr)))
		return fail(err, -EBUSY, std::string("VM '") + m->name + "' is running: power it off first");
	if ((rc = reg.open(err)))
		return rc;
	hutch_registry_remove_vm(reg.r, m->uuid);
	/* As unregistervm --delete: the VM's hard disks go with it, unless another VM uses one; DVD images stay. */
	for (size_t c = 0; c < m->nctl; c++)
		for (size_t a = 0; a < m->ctl[c].natt; a++) {
			const hutch_attachment *at = &m->ctl[c].att[a];
			hutch_medium *md;

			if (strcmp(at->type, "hdd"))
				continue;
			md = hutch_registry_find_medium(reg.r, at->medium_uuid ? at->medium_uuid : at->medium,
							HUTCH_MEDIUM_HDD);
			if (md) {
				if (medium_used_elsewhere(reg.r, md, m->uuid))
					continue;
				hutch_registry_remove_medium(reg.r, md->uuid);
			}
			doomed.push_back(at->medium);
		}
	{
		CStr folder(hutch_vm_folder(m));
		std::string logs = std::string(folder.p) + "/Logs";
		DIR *d = opendir(logs.c_str());

		if (d) {
			while (dirent *de = readdir(d))
				if (de->d_name[0] != '.')
					doomed.push_back(logs + "/" + de->d_name);
			closedir(d);
		}
		doomed.push_back(logs + "/");
		doomed.push_back(m->settings_file);
		/* Only an empty folder goes: anything else in it is the user's. */
		doomed.push_back(std::string(folder.p) + "/");
	}
	std::vector<char *> paths;
	for (std::string &p : doomed)
		paths.push_back(&p[0]);
	rc = hutch_registry_delete_files(reg.r, paths.data(), paths.size(), &e);
	return rc ? fail(err, e, rc) : 0;
}

int vm_start(const std::string &uuid, enum hutch_vm_frontend fe, const std::string &exe_dir, std::string &err)
{
	Machine vm;
	VmLock lock;
	hutch_error e{};
	enum hutch_vm_state state;
	char *fatal = nullptr;
	int rc;

	/* The lock keeps this and a vmctl startvm from launching the VM twice. */
	if ((rc = load_vm_locked(uuid, vm, lock, err)))
		return rc;
	state = hutch_vm_get_state(vm.m, nullptr, nullptr, nullptr);
	if (hutch_vm_is_live(state))
		return fail(err, -EBUSY, std::string("VM '") + vm.m->name + "' is already " + hutch_vm_state_text(state));
	free(hutch_vm_unsupported(vm.m, &fatal));
	if (fatal) {
		err = fatal;
		free(fatal);
		return -ENOTSUP;
	}
	rc = hutch_vm_start_frontend(vm.m, exe_dir.c_str(), fe, START_TIMEOUT_S, nullptr, &e);
	return rc ? fail(err, e, rc) : 0;
}

int vm_control(const std::string &uuid, const std::string &action, std::string &err)
{
	Machine vm;
	hutch_error e{};
	enum hutch_vm_state state;
	int rc;

	if ((rc = load_vm(uuid, vm, err)))
		return rc;
	state = hutch_vm_get_state(vm.m, nullptr, nullptr, nullptr);
	if (!hutch_vm_is_live(state))
		return fail(err, -EINVAL, std::string("VM '") + vm.m->name + "' is not running (" +
						  hutch_vm_state_text(state) + ")");
	if ((rc = hutch_vm_control(vm.m, action.c_str(), nullptr, 0, &e)))
		return fail(err, e, rc);
	if (action == "poweroff" && hutch_vm_wait_stopped(vm.m, POWEROFF_TIMEOUT_S))
		return fail(err, -ETIMEDOUT, std::string("VM '") + vm.m->name + "' did not power off within 30 s");
	return 0;
}
