// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hutch, the manager: what its parts share.  The GUI thread draws with
 * Dear ImGui; everything that can block (the registry's lock, a VM's
 * control socket, creating a disk) runs on the list poller's thread or on
 * the one job thread, and the GUI only reads their published results
 * under a mutex.  Every libhutch call goes through the public headers in
 * include/hutch/.
 */
#ifndef HUTCH_MANAGER_H
#define HUTCH_MANAGER_H

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hutch/config.h"
#include "hutch/vm.h"

/* One VM as the list shows it: a copy, so the GUI never holds libhutch objects. */
struct VmRow {
	std::string uuid;
	std::string name;
	std::string ostype;		/* the description ("Ubuntu (64-bit)"), or the ID if unknown */
	std::string settings_file;
	enum hutch_vm_state state = HUTCH_VM_POWEROFF;
	unsigned memory = 0, cpus = 0;
	std::string error;		/* inaccessible: why */
};

/*
 * The list of registered VMs, refreshed on its own thread: the registry
 * and the settings files are re-read only when their mtime changes, the
 * states (a small state file, plus a socket question for a running VM)
 * every poll, and at once when inotify sees a state file or the registry
 * change (a VM started or stopped by vmctl shows without waiting for the
 * next poll).  A change wakes the GUI (wake()).
 */
class VmPoller {
public:
	VmPoller(unsigned interval_ms, std::function<void()> wake);
	~VmPoller();
	/* The current rows and a generation that grows with every change. */
	std::vector<VmRow> rows(unsigned long *generation) const;
	std::string error() const;	/* the registry could not be read: why, or "" */
	void refresh_now();		/* after an action: poll at once */

private:
	void run();
	void poll(bool force_reload);
	void publish(std::vector<VmRow> now, const std::string &err, bool peeked);

	unsigned interval_ms_;
	std::function<void()> wake_;
	mutable std::mutex mu_;
	std::atomic<bool> stop_{ false }, kick_{ false };
	bool debug_timing_ = false;	/* $HUTCH_DEBUG_TIMING: slow polls on stderr */
	int kick_fd_ = -1;		/* eventfd: refresh_now() and the destructor wake the thread */
	int inotify_fd_ = -1;		/* the runtime dir (state files) and the config home (registry) */
	std::vector<VmRow> rows_;
	std::string error_;
	unsigned long generation_ = 0;
	std::string stamp_;		/* registry + settings files' mtimes when last loaded */
	/* The poller thread's own: the loaded machines (NULL: inaccessible) and their rows. */
	std::vector<hutch_machine *> machines_;
	std::vector<VmRow> loaded_;
	std::thread thread_;
};

/*
 * One long action at a time (create a VM with its disk, save settings,
 * delete, start, power off) on a worker thread, with its progress and
 * result for the GUI.
 */
class JobRunner {
public:
	explicit JobRunner(std::function<void()> wake);
	~JobRunner();
	/*
	 * fn returns 0 or fills err; progress() reports 0..100.  false if a job
	 * runs.  owner names who collects the result ("list", "wizard").
	 */
	bool start(const std::string &owner, const std::string &title,
		   std::function<int(std::function<void(unsigned)> progress, std::string &err)> fn);
	bool busy() const { return busy_; }
	unsigned percent() const { return percent_; }
	std::string title() const;
	/* owner's finished job's error, once ("" if it succeeded); false if none finished since. */
	bool take_result(const std::string &owner, std::string *title, std::string *err);

private:
	std::function<void()> wake_;
	mutable std::mutex mu_;
	std::atomic<bool> busy_{ false };
	std::atomic<unsigned> percent_{ 0 };
	std::string owner_, title_, result_err_;
	bool have_result_ = false;
	std::thread thread_;
};

/* What the New VM wizard asks for. */
struct NewVmSpec {
	std::string name;
	std::string ostype;		/* an ID from include/hutch/ostype.h */
	unsigned memory = 0;		/* MiB */
	unsigned cpus = 1;
	bool create_disk = true;
	unsigned long long disk_mb = 0;
	std::string disk_format = "VDI";
	std::string iso;		/* "" = an empty DVD drive */
};

/* One attachment as the Settings dialog edits it. */
struct AttachmentEdit {
	std::string controller;
	unsigned port = 0, device = 0;
	std::string type;		/* hdd dvddrive */
	std::string medium;		/* path or "emptydrive" */
	std::string new_disk_path;	/* non-empty: create this disk first */
	unsigned long long new_disk_mb = 0;
};

struct NicEdit {
	std::string attachment;		/* none nat bridged intnet */
	std::string type;		/* 82540EM virtio ... */
	std::string bridge, intnet;
	std::vector<std::string> rules;	/* VBoxManage's "name,tcp,hostip,hostport,guestip,guestport" */
};

/* What the Settings dialog edits. */
struct VmSettings {
	std::string uuid, name;
	unsigned memory = 0, cpus = 1;
	std::string boot[HUTCH_MAX_BOOT];
	std::vector<std::string> controllers;	/* names, for new attachments */
	std::vector<AttachmentEdit> atts;
	NicEdit nic[4];
};

/* libhutch operations (vm_ops.cpp): 0 or -errno with err set; may block. */
int vm_create(const NewVmSpec &s, std::function<void(unsigned)> progress, std::string &err);
int vm_settings_load(const std::string &uuid, VmSettings *out, std::string &err);
int vm_settings_save(const VmSettings &s, std::function<void(unsigned)> progress, std::string &err);
int vm_delete(const std::string &uuid, std::string &err);
int vm_start(const std::string &uuid, enum hutch_vm_frontend fe, const std::string &exe_dir,
	     std::string &err);
/* "acpipowerbutton", "poweroff", "pause", "resume", "reset". */
int vm_control(const std::string &uuid, const std::string &action, std::string &err);

/* The GUI's windows. */
struct Ui;
struct Wizard;
Wizard *wizard_new();
void wizard_free(Wizard *w);
void wizard_open(Wizard *w);
/* Draw it if open; starting the job goes through jobs. */
void wizard_draw(Wizard *w, JobRunner &jobs, VmPoller &poller, float scale);
/* The name of the VM the wizard created since the last call, once ("" if none). */
std::string wizard_take_created(Wizard *w);

struct SettingsDialog;
SettingsDialog *settings_new();
void settings_free(SettingsDialog *d);
/* Load the VM's settings (quick: one settings file) and open the dialog. */
void settings_open(SettingsDialog *d, const std::string &uuid);
void settings_draw(SettingsDialog *d, JobRunner &jobs, VmPoller &poller, float scale);

/*
 * The main window's VM list and its tool bar.  list_state_file (may be
 * "") gets the rows as drawn, one "name<TAB>state" line each, rewritten
 * atomically whenever what is drawn changes (tests read it).
 */
struct VmListView;
VmListView *vm_list_new(const std::string &list_state_file, const std::string &exe_dir);
void vm_list_free(VmListView *v);
void vm_list_draw(VmListView *v, VmPoller &poller, JobRunner &jobs, Wizard *wiz,
		  SettingsDialog *settings, float scale);

/*
 * A file chooser (file_chooser.cpp), modal over the dialog that opens it:
 * file_chooser_open() when its Browse button or Ctrl+O is pressed, with
 * the path field's text (the chooser starts in its folder, else in $HOME)
 * and the extensions to list (".iso", NULL-ended; NULL lists all files);
 * file_chooser_draw() every frame, in the same ImGui ID scope as the open.
 * It returns true in the frame a file was picked, with its path in @path.
 */
void file_chooser_open(const char *popup_id, const char *field, const char *const *exts);
bool file_chooser_draw(const char *popup_id, char *path, size_t pathlen, float scale);

/* A one-line message box for errors, shown until dismissed. */
void ui_error(const std::string &title, const std::string &msg);
void ui_error_draw(float scale);

#endif
