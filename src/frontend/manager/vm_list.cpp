// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The main window: a tool bar (New, Settings, Start, Start headless, ACPI
 * shutdown, Power off, Pause/Resume, Reset, Delete), the table of registered VMs with their
 * state, the selected VM's details and a status line with the running
 * job's progress.  The table is drawn from the poller's rows, and the
 * --list-state file is written from the very strings drawn.
 */
#include <SDL.h>
#include <imgui.h>
#include <imgui_internal.h>	/* SeparatorEx: a vertical separator in the tool bar */

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "hutch/registry.h"
#include "manager.h"

struct VmListView {
	std::string list_state_file;
	/* What the list-state file holds; nothing yet (even an empty list gets written once). */
	std::string last_written = std::string(1, '\x01');
	std::string exe_dir;
	std::string selected;		/* UUID */
	std::string confirm_uuid;	/* the VM a Delete or Reset confirmation is about */
	std::string confirm_name;
	std::string status;		/* the last finished job, for the status line */
	std::string select_name;	/* a VM to select as soon as the list has it (a new one) */
};

VmListView *vm_list_new(const std::string &list_state_file, const std::string &exe_dir)
{
	VmListView *v = new VmListView;

	v->list_state_file = list_state_file;
	v->exe_dir = exe_dir;
	return v;
}

void vm_list_free(VmListView *v)
{
	delete v;
}

namespace {

ImVec4 state_color(enum hutch_vm_state s)
{
	switch (s) {
	case HUTCH_VM_RUNNING:
		return ImVec4(0.16f, 0.62f, 0.24f, 1.0f);
	case HUTCH_VM_PAUSED:
		return ImVec4(0.80f, 0.58f, 0.05f, 1.0f);
	case HUTCH_VM_ABORTED:
		return ImVec4(0.80f, 0.18f, 0.18f, 1.0f);
	default:
		return ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled);
	}
}

std::string row_state_text(const VmRow &r)
{
	return r.error.empty() ? hutch_vm_state_text(r.state) : "inaccessible";
}

/*
 * Rewrite the list-state file when what the table shows changed: a
 * temporary file renamed over it, so a reader sees the old or the new
 * list, never half.  No fsync: it is a view, not data to keep, and the GUI
 * thread must not wait on a slow disk (on a network share in the sandbox
 * an fsync took seconds).
 */
void write_list_state(VmListView *v, const std::string &text)
{
	if (v->list_state_file.empty() || text == v->last_written)
		return;
	std::string tmp = v->list_state_file + ".tmp";
	FILE *f = fopen(tmp.c_str(), "w");
	bool ok = f && fwrite(text.data(), 1, text.size(), f) == text.size();

	if (f && fclose(f))
		ok = false;
	if (ok && rename(tmp.c_str(), v->list_state_file.c_str()))
		ok = false;
	if (!ok) {
		fprintf(stderr, "hutch: --list-state %s: %s\n", v->list_state_file.c_str(), strerror(errno));
		unlink(tmp.c_str());
	}
	/* Written or not, not again for the same text: one message per change. */
	v->last_written = text;
}

bool toolbar_button(const char *label, bool enabled, const char *tip)
{
	bool pressed;

	ImGui::BeginDisabled(!enabled);
	pressed = ImGui::Button(label);
	ImGui::EndDisabled();
	if (tip && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
		ImGui::SetTooltip("%s", tip);
	ImGui::SameLine();
	return pressed;
}

void start_action(VmListView *v, VmPoller &poller, JobRunner &jobs, const VmRow &r, const std::string &what,
		  std::function<int(std::string &)> fn)
{
	jobs.start("list", what + " '" + r.name + "'",
		   [fn, &poller](std::function<void(unsigned)>, std::string &err) {
			   int rc = fn(err);

			   poller.refresh_now();
			   return rc;
		   });
	v->status.clear();
}

} // namespace

void vm_list_draw(VmListView *v, VmPoller &poller, JobRunner &jobs, Wizard *wiz, SettingsDialog *settings,
		  float scale)
{
	ImGuiIO &io = ImGui::GetIO();
	std::vector<VmRow> rows = poller.rows(nullptr);
	const VmRow *sel = nullptr;
	std::string title, err;
	std::string shown;

	if (jobs.take_result("list", &title, &err)) {
		if (!err.empty())
			ui_error(title + " failed", err);
		else
			v->status = title + ": done";
	}
	std::string created = wizard_take_created(wiz);
	if (!created.empty())
		v->select_name = created;
	for (const VmRow &r : rows)
		if (!v->select_name.empty() && r.name == v->select_name) {
			v->selected = r.uuid;
			v->select_name.clear();
		}
	for (const VmRow &r : rows)
		if (r.uuid == v->selected)
			sel = &r;
	if (!sel && !rows.empty()) {
		v->selected = rows[0].uuid;
		sel = &rows[0];
	}

	ImGui::SetNextWindowPos(ImVec2(0, 0));
	ImGui::SetNextWindowSize(io.DisplaySize);
	/*
	 * The main window fills the display: no border, and no background of
	 * its own, since main.cpp clears to the same colour (in software,
	 * filling the window twice costs more than the rest of the frame).
	 */
	ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 0);
	ImGui::Begin("Hutch##main", nullptr,
		     ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
			     ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoBackground);
	ImGui::PopStyleVar();

	bool idle = !jobs.busy();
	bool accessible = sel && sel->error.empty();
	bool live = accessible && hutch_vm_is_live(sel->state);
	bool off = accessible && !live;
	bool no_dialog = !ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId | ImGuiPopupFlags_AnyPopupLevel);

	if (toolbar_button("New...", idle, "Create a new virtual machine (Ctrl+N)") ||
	    (no_dialog && idle && io.KeyCtrl && ImGui::IsKeyPressed(SDL_SCANCODE_N, false)))
		wizard_open(wiz);
	if (toolbar_button("Settings...", idle && off, "Change the selected VM's settings (Ctrl+S)") ||
	    (no_dialog && idle && off && io.KeyCtrl && ImGui::IsKeyPressed(SDL_SCANCODE_S, false)))
		settings_open(settings, sel->uuid);
	ImGui::SeparatorEx(ImGuiSeparatorFlags_Vertical);
	ImGui::SameLine();
	if (toolbar_button("Start", idle && off, "Start the selected VM in a window (Enter)")) {
		std::string uuid = sel->uuid, dir = v->exe_dir;
		start_action(v, poller, jobs, *sel, "Start", [uuid, dir](std::string &e) {
			return vm_start(uuid, HUTCH_FRONTEND_GUI, dir, e);
		});
	}
	if (toolbar_button("Start headless", idle && off, "Start the selected VM without a window")) {
		std::string uuid = sel->uuid, dir = v->exe_dir;
		start_action(v, poller, jobs, *sel, "Start", [uuid, dir](std::string &e) {
			return vm_start(uuid, HUTCH_FRONTEND_HEADLESS, dir, e);
		});
	}
	if (toolbar_button("ACPI Shutdown", idle && live, "Press the VM's power button: the guest shuts down")) {
		std::string uuid = sel->uuid;
		start_action(v, poller, jobs, *sel, "ACPI shutdown",
			     [uuid](std::string &e) { return vm_control(uuid, "acpipowerbutton", e); });
	}
	if (toolbar_button("Power Off", idle && live, "Turn the VM off at once, like pulling the plug")) {
		std::string uuid = sel->uuid;
		start_action(v, poller, jobs, *sel, "Power off",
			     [uuid](std::string &e) { return vm_control(uuid, "poweroff", e); });
	}
	/* Pause and Reset, with VirtualBox Manager's keys (Machine menu: Ctrl+P, Ctrl+T). */
	bool paused = live && sel->state == HUTCH_VM_PAUSED;
	if (toolbar_button(paused ? "Resume###pause" : "Pause###pause", idle && live,
			   paused ? "Let the paused VM run on (Ctrl+P)" : "Stop the VM's processors until Resume (Ctrl+P)") ||
	    (no_dialog && idle && live && io.KeyCtrl && ImGui::IsKeyPressed(SDL_SCANCODE_P, false))) {
		std::string uuid = sel->uuid;
		start_action(v, poller, jobs, *sel, paused ? "Resume" : "Pause", [uuid, paused](std::string &e) {
			return vm_control(uuid, paused ? "resume" : "pause", e);
		});
	}
	if (toolbar_button("Reset...", idle && live, "Restart the VM at once, like its reset button (Ctrl+T)") ||
	    (no_dialog && idle && live && io.KeyCtrl && ImGui::IsKeyPressed(SDL_SCANCODE_T, false))) {
		v->confirm_uuid = sel->uuid;
		v->confirm_name = sel->name;
		ImGui::OpenPopup("Reset VM?");
	}
	ImGui::SeparatorEx(ImGuiSeparatorFlags_Vertical);
	ImGui::SameLine();
	if (toolbar_button("Delete...", idle && sel && !live, "Delete the selected VM and its disks (Del)") ||
	    (no_dialog && idle && sel && !live && !io.WantTextInput && ImGui::IsKeyPressed(SDL_SCANCODE_DELETE, false))) {
		v->confirm_uuid = sel->uuid;
		v->confirm_name = sel->name;
		ImGui::OpenPopup("Delete VM?");
	}
	ImGui::NewLine();
	ImGui::Separator();

	std::string perr = poller.error();
	if (!perr.empty())
		ImGui::TextColored(ImVec4(0.85f, 0.2f, 0.2f, 1), "Cannot read the VM registry: %s", perr.c_str());

	/* Table, then the details pane and the status line at the bottom. */
	float line = ImGui::GetTextLineHeightWithSpacing();
	float details_h = line * 5 + ImGui::GetStyle().ItemSpacing.y * 2;
	float status_h = ImGui::GetFrameHeightWithSpacing();
	float table_h = ImGui::GetContentRegionAvail().y - details_h - status_h - ImGui::GetStyle().ItemSpacing.y;
	if (table_h < line * 3)
		table_h = line * 3;

	if (rows.empty()) {
		ImGui::BeginChild("empty", ImVec2(0, table_h), true);
		ImGui::TextDisabled("No virtual machines yet.");
		ImGui::TextDisabled("Press New... (Ctrl+N) to create one.");
		ImGui::EndChild();
	} else if (ImGui::BeginTable("vms", 5,
				     ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersOuter | ImGuiTableFlags_BordersInnerV |
					     ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable,
				     ImVec2(0, table_h))) {
		ImGui::TableSetupScrollFreeze(0, 1);
		ImGui::TableSetupColumn("Name", ImGuiTableColumnFlags_WidthStretch, 3.0f);
		ImGui::TableSetupColumn("Operating system", ImGuiTableColumnFlags_WidthStretch, 3.0f);
		ImGui::TableSetupColumn("State", ImGuiTableColumnFlags_WidthStretch, 1.6f);
		ImGui::TableSetupColumn("Memory", ImGuiTableColumnFlags_WidthStretch, 1.2f);
		ImGui::TableSetupColumn("CPUs", ImGuiTableColumnFlags_WidthStretch, 0.8f);
		ImGui::TableHeadersRow();
		for (const VmRow &r : rows) {
			std::string state = row_state_text(r);

			ImGui::TableNextRow();
			ImGui::TableNextColumn();
			ImGui::PushID(r.uuid.c_str());
			if (ImGui::Selectable(r.name.c_str(), r.uuid == v->selected,
					      ImGuiSelectableFlags_SpanAllColumns | ImGuiSelectableFlags_AllowDoubleClick)) {
				v->selected = r.uuid;
				/* Double-click (or Enter on the row) starts it, as in VirtualBox. */
				bool activate = ImGui::IsMouseDoubleClicked(0) || ImGui::IsKeyPressed(SDL_SCANCODE_RETURN);
				if (activate && idle && r.error.empty() && !hutch_vm_is_live(r.state)) {
					std::string uuid = r.uuid, dir = v->exe_dir;
					start_action(v, poller, jobs, r, "Start", [uuid, dir](std::string &e) {
						return vm_start(uuid, HUTCH_FRONTEND_GUI, dir, e);
					});
				}
			}
			ImGui::PopID();
			ImGui::TableNextColumn();
			ImGui::TextUnformatted(r.ostype.c_str());
			ImGui::TableNextColumn();
			ImGui::TextColored(state_color(r.error.empty() ? r.state : HUTCH_VM_ABORTED), "%s", state.c_str());
			ImGui::TableNextColumn();
			if (r.error.empty())
				ImGui::Text("%u MB", r.memory);
			ImGui::TableNextColumn();
			if (r.error.empty())
				ImGui::Text("%u", r.cpus);
			shown += r.name + "\t" + state + "\n";
		}
		ImGui::EndTable();
	}
	write_list_state(v, shown);

	/* Details of the selected VM. */
	ImGui::BeginChild("details", ImVec2(0, details_h), true);
	if (sel) {
		ImGui::Text("%s", sel->name.c_str());
		ImGui::Separator();
		if (!sel->error.empty()) {
			ImGui::TextColored(state_color(HUTCH_VM_ABORTED), "Inaccessible:");
			ImGui::TextWrapped("%s", sel->error.c_str());
		} else {
			ImGui::Text("%s, %u MB memory, %u CPU%s", sel->ostype.c_str(), sel->memory, sel->cpus,
				    sel->cpus == 1 ? "" : "s");
		}
		ImGui::TextDisabled("%s", sel->settings_file.c_str());
	} else {
		ImGui::TextDisabled("Select a VM to see its details.");
	}
	ImGui::EndChild();

	/* Status line: the running job with its progress, or the last result. */
	if (jobs.busy() && jobs.percent() > 0) {
		char pct[32];

		snprintf(pct, sizeof(pct), "%u%%", jobs.percent());
		ImGui::AlignTextToFramePadding();
		ImGui::Text("%s...", jobs.title().c_str());
		ImGui::SameLine();
		ImGui::ProgressBar(jobs.percent() / 100.0f, ImVec2(-1, 0), pct);
	} else if (jobs.busy()) {
		/* A job without a percentage (starting a VM, a power-off): a spinner, so it visibly works. */
		static const char spinner[] = "|/-\\";
		ImGui::AlignTextToFramePadding();
		ImGui::Text("%s... %c", jobs.title().c_str(), spinner[(int)(ImGui::GetTime() * 8) % 4]);
	} else {
		ImGui::AlignTextToFramePadding();
		ImGui::TextDisabled("%s", v->status.empty() ? "Ready" : v->status.c_str());
	}

	/* The delete confirmation. */
	ImVec2 center = ImGui::GetMainViewport()->GetCenter();
	ImGui::SetNextWindowPos(center, ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
	if (ImGui::BeginPopupModal("Delete VM?", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
		ImGui::Text("Delete the virtual machine '%s'?", v->confirm_name.c_str());
		ImGui::TextDisabled("Its settings and its hard disk images are deleted.\n"
				    "CD/DVD images and disks another VM uses are kept.");
		ImGui::Spacing();
		/* Enter confirms, Escape cancels: the dialog works from the keyboard alone. */
		if (ImGui::Button("Delete", ImVec2(110 * scale, 0)) || ImGui::IsKeyPressed(SDL_SCANCODE_RETURN, false)) {
			std::string uuid = v->confirm_uuid;
			VmRow r;

			r.name = v->confirm_name;
			start_action(v, poller, jobs, r, "Delete", [uuid](std::string &e) { return vm_delete(uuid, e); });
			ImGui::CloseCurrentPopup();
		}
		ImGui::SameLine();
		if (ImGui::Button("Cancel", ImVec2(110 * scale, 0)) || ImGui::IsKeyPressed(SDL_SCANCODE_ESCAPE))
			ImGui::CloseCurrentPopup();
		ImGui::EndPopup();
	}

	/* The reset confirmation: a reset loses what the guest had not saved, as VirtualBox warns. */
	ImGui::SetNextWindowPos(center, ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
	if (ImGui::BeginPopupModal("Reset VM?", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
		ImGui::Text("Reset the virtual machine '%s'?", v->confirm_name.c_str());
		ImGui::TextDisabled("It restarts at once; what its programs had not saved is lost.");
		ImGui::Spacing();
		if (ImGui::Button("Reset", ImVec2(110 * scale, 0)) || ImGui::IsKeyPressed(SDL_SCANCODE_RETURN, false)) {
			std::string uuid = v->confirm_uuid;
			VmRow r;

			r.name = v->confirm_name;
			start_action(v, poller, jobs, r, "Reset", [uuid](std::string &e) { return vm_control(uuid, "reset", e); });
			ImGui::CloseCurrentPopup();
		}
		ImGui::SameLine();
		if (ImGui::Button("Cancel", ImVec2(110 * scale, 0)) || ImGui::IsKeyPressed(SDL_SCANCODE_ESCAPE))
			ImGui::CloseCurrentPopup();
		ImGui::EndPopup();
	}

	wizard_draw(wiz, jobs, poller, scale);
	settings_draw(settings, jobs, poller, scale);
	ImGui::End();
	ui_error_draw(scale);
}

/* Errors: one modal at a time, in the order they came. */
namespace {
std::vector<std::pair<std::string, std::string>> pending_errors;
}

void ui_error(const std::string &title, const std::string &msg)
{
	fprintf(stderr, "hutch: %s: %s\n", title.c_str(), msg.c_str());
	pending_errors.emplace_back(title, msg);
}

void ui_error_draw(float scale)
{
	if (pending_errors.empty())
		return;
	if (!ImGui::IsPopupOpen("Error##hutch"))
		ImGui::OpenPopup("Error##hutch");
	ImGui::SetNextWindowPos(ImGui::GetMainViewport()->GetCenter(), ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
	ImGui::SetNextWindowSize(ImVec2(480 * scale, 0));
	if (ImGui::BeginPopupModal("Error##hutch", nullptr, ImGuiWindowFlags_NoResize)) {
		ImGui::TextUnformatted(pending_errors.front().first.c_str());
		ImGui::Separator();
		ImGui::TextWrapped("%s", pending_errors.front().second.c_str());
		ImGui::Spacing();
		if (ImGui::Button("OK", ImVec2(110 * scale, 0)) || ImGui::IsKeyPressed(SDL_SCANCODE_ESCAPE) ||
		    ImGui::IsKeyPressed(SDL_SCANCODE_RETURN)) {
			pending_errors.erase(pending_errors.begin());
			ImGui::CloseCurrentPopup();
		}
		ImGui::EndPopup();
	}
}
