// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VM list's poller and the job thread (manager.h).  Neither touches
 * ImGui: they publish copies under a mutex and wake the GUI thread.
 */
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "hutch/ostype.h"
#include "hutch/registry.h"
#include "manager.h"

VmPoller::VmPoller(unsigned interval_ms, std::function<void()> wake)
	: interval_ms_(interval_ms), wake_(std::move(wake))
{
	char *rt = hutch_runtime_dir(), *home = hutch_config_home();

	debug_timing_ = getenv("HUTCH_DEBUG_TIMING") != nullptr;
	kick_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* Without inotify (or the directories) the list still follows every poll. */
	inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (inotify_fd_ >= 0) {
		const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE;

		/* The runtime dir may not exist before the first VM starts: made as vmctl makes it. */
		hutch_mkdir_p(rt, HUTCH_DIR_MODE, nullptr);
		hutch_mkdir_p(home, HUTCH_DIR_MODE, nullptr);
		inotify_add_watch(inotify_fd_, rt, mask);
		inotify_add_watch(inotify_fd_, home, mask);
	}
	free(rt);
	free(home);
	thread_ = std::thread(&VmPoller::run, this);
}

VmPoller::~VmPoller()
{
	uint64_t one = 1;

	stop_ = true;
	if (write(kick_fd_, &one, sizeof(one)) < 0)
		perror("hutch: eventfd");
	thread_.join();
	for (hutch_machine *m : machines_)
		hutch_machine_free(m);
	if (inotify_fd_ >= 0)
		close(inotify_fd_);
	close(kick_fd_);
}

std::vector<VmRow> VmPoller::rows(unsigned long *generation) const
{
	std::lock_guard<std::mutex> g(mu_);

	if (generation)
		*generation = generation_;
	return rows_;
}

std::string VmPoller::error() const
{
	std::lock_guard<std::mutex> g(mu_);

	return error_;
}

void VmPoller::refresh_now()
{
	uint64_t one = 1;

	kick_ = true;
	if (write(kick_fd_, &one, sizeof(one)) < 0)
		perror("hutch: eventfd");
}

namespace {

/* A file's change stamp: mtime and size, or "-" if it is missing. */
std::string file_stamp(const std::string &path)
{
	struct stat st;

	if (stat(path.c_str(), &st))
		return "-;";
	return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
	       std::to_string(st.st_size) + ";";
}

bool same_rows(const std::vector<VmRow> &a, const std::vector<VmRow> &b)
{
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); i++)
		if (a[i].uuid != b[i].uuid || a[i].name != b[i].name || a[i].state != b[i].state ||
		    a[i].ostype != b[i].ostype || a[i].memory != b[i].memory || a[i].cpus != b[i].cpus ||
		    a[i].error != b[i].error)
			return false;
	return true;
}

} // namespace

void VmPoller::run()
{
	bool first = true;

	while (!stop_) {
		struct pollfd fds[2] = { { kick_fd_, POLLIN, 0 }, { inotify_fd_, POLLIN, 0 } };
		char buf[4096];
		uint64_t n;

		auto t0 = std::chrono::steady_clock::now();
		poll(first || kick_.exchange(false));
		if (debug_timing_) {
			long ms = (long)std::chrono::duration_cast<std::chrono::milliseconds>(
					  std::chrono::steady_clock::now() - t0).count();
			if (ms > 50)
				fprintf(stderr, "hutch: timing: a poll took %ld ms\n", ms);
		}
		first = false;
		if (::poll(fds, inotify_fd_ >= 0 ? 2 : 1, (int)interval_ms_) > 0) {
			/* What changed does not matter: the next poll looks at everything. */
			if (read(kick_fd_, &n, sizeof(n)) < 0 && errno != EAGAIN)
				perror("hutch: eventfd");
			while (inotify_fd_ >= 0 && read(inotify_fd_, buf, sizeof(buf)) > 0)
				;
		}
	}
}

/*
 * One poll.  The registry is read (under its lock) only when it or a
 * settings file changed, so an idle manager costs a few stat() calls and
 * the state files each interval.
 */
void VmPoller::poll(bool force_reload)
{
	std::vector<hutch_machine *> &machines = machines_;
	std::vector<VmRow> &loaded = loaded_;
	char *home = hutch_config_home();
	std::string stamp = file_stamp(std::string(home ? home : ".") + "/registry.xml");
	std::string err;

	free(home);
	for (const VmRow &r : loaded)
		stamp += file_stamp(r.settings_file);
	if (force_reload || stamp != stamp_) {
		hutch_registry *reg;
		hutch_error e{};

		if (hutch_registry_open(&reg, &e)) {
			err = e.msg;
		} else {
			for (hutch_machine *m : machines)
				hutch_machine_free(m);
			machines.clear();
			loaded.clear();
			for (size_t i = 0; i < reg->nvms; i++) {
				const hutch_vm_entry *ent = &reg->vms[i];
				hutch_machine *m = nullptr;
				VmRow row;

				row.uuid = ent->uuid;
				row.settings_file = ent->path;
				if (hutch_config_load(ent->path, &m, &e)) {
					/* Shown as inaccessible, as VirtualBox lists such VMs. */
					const char *slash = strrchr(ent->path, '/');

					row.name = slash ? slash + 1 : ent->path;
					row.error = e.msg;
					row.state = HUTCH_VM_ABORTED;
				} else {
					const hutch_ostype *t = hutch_ostype_find(m->ostype ? m->ostype : "Other");

					row.name = m->name ? m->name : "";
					row.ostype = t ? t->description : (m->ostype ? m->ostype : "");
					row.memory = m->memory;
					row.cpus = m->cpus;
				}
				machines.push_back(m);
				loaded.push_back(row);
			}
			hutch_registry_close(reg);
			/* The stamp as of this read; a change after it triggers the next reload. */
			home = hutch_config_home();
			stamp = file_stamp(std::string(home ? home : ".") + "/registry.xml");
			free(home);
			for (const VmRow &r : loaded)
				stamp += file_stamp(r.settings_file);
			stamp_ = stamp;
		}
	}
	/*
	 * Two passes: the state files alone first (a VM just started shows at
	 * once), then the running VMs are asked whether they are paused,
	 * which can take a while from a busy VM.
	 */
	std::vector<VmRow> now = loaded;
	bool any_live = false;
	for (size_t i = 0; i < now.size(); i++)
		if (machines[i]) {
			now[i].state = hutch_vm_peek_state(machines[i]);
			any_live |= now[i].state == HUTCH_VM_RUNNING;
		}
	publish(now, err, true);
	if (!any_live)
		return;
	for (size_t i = 0; i < now.size(); i++)
		if (machines[i] && now[i].state == HUTCH_VM_RUNNING)
			now[i].state = hutch_vm_get_state(machines[i], nullptr, nullptr, nullptr);
	publish(now, err, false);
}

/*
 * Show rows.  A first pass (peeked) only keeps "paused" for a VM whose
 * state file still says running: it cannot tell paused apart, and the
 * list must not flicker between paused and running.
 */
void VmPoller::publish(std::vector<VmRow> now, const std::string &err, bool peeked)
{
	bool changed;
	{
		std::lock_guard<std::mutex> g(mu_);
		for (VmRow &r : now)
			for (const VmRow &old : rows_)
				if (peeked && r.uuid == old.uuid && r.state == HUTCH_VM_RUNNING &&
				    old.state == HUTCH_VM_PAUSED)
					r.state = HUTCH_VM_PAUSED;
		changed = !same_rows(now, rows_) || err != error_;
		if (changed) {
			rows_ = std::move(now);
			error_ = err;
			generation_++;
		}
	}
	if (changed && wake_)
		wake_();
}

JobRunner::JobRunner(std::function<void()> wake) : wake_(std::move(wake)) {}

JobRunner::~JobRunner()
{
	if (thread_.joinable())
		thread_.join();
}

bool JobRunner::start(const std::string &owner, const std::string &title,
		      std::function<int(std::function<void(unsigned)> progress, std::string &err)> fn)
{
	if (busy_)
		return false;
	if (thread_.joinable())
		thread_.join();
	{
		std::lock_guard<std::mutex> g(mu_);
		owner_ = owner;
		title_ = title;
		have_result_ = false;
	}
	percent_ = 0;
	busy_ = true;
	thread_ = std::thread([this, fn] {
		std::string err;
		int rc = fn(
			[this](unsigned p) {
				percent_ = p;
				if (wake_)
					wake_();
			},
			err);

		if (rc && err.empty())
			err = strerror(-rc);
		{
			std::lock_guard<std::mutex> g(mu_);
			result_err_ = rc ? err : "";
			have_result_ = true;
		}
		busy_ = false;
		if (wake_)
			wake_();
	});
	return true;
}

std::string JobRunner::title() const
{
	std::lock_guard<std::mutex> g(mu_);

	return title_;
}

bool JobRunner::take_result(const std::string &owner, std::string *title, std::string *err)
{
	std::lock_guard<std::mutex> g(mu_);

	if (!have_result_ || owner != owner_)
		return false;
	have_result_ = false;
	*title = title_;
	*err = result_err_;
	return true;
}
