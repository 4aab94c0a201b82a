// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The New VM wizard: one page with the name, the OS type (typed to search
 * the table in include/hutch/ostype.h, whose recommended memory and disk
 * size it fills in), memory, processors, a new disk and an ISO.  Every
 * field is a text field, so Tab walks them in order; Enter in the last one
 * (or Ctrl+Enter anywhere) creates the VM.  Creating runs on the job
 * thread; the dialog stays open with a busy bar until it is done and shows
 * libhutch's error in place if it failed.
 */
#include <SDL.h>
#include <imgui.h>
#include <strings.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "hutch/config.h"
#include "hutch/ostype.h"
#include "manager.h"

#define WIZARD_TITLE "New Virtual Machine"
#define ISO_CHOOSER "Choose an ISO image"

static const char *const iso_exts[] = { ".iso", NULL };

struct Wizard {
	bool open_request = false;
	char name[128] = "";
	char os_search[128] = "";
	const hutch_ostype *os = nullptr;
	int memory = 0;
	int cpus = 1;
	bool memory_touched = false, disk_touched = false;
	bool create_disk = true;
	float disk_gb = 0;
	int disk_format = 0;		/* index into disk_formats */
	char iso[1024] = "";
	std::string error;
	bool creating = false;
	std::string created;		/* the VM just created, for the list to select */
	std::string creating_name;
};

static const char *const disk_formats[] = { "VDI", "qcow2", "RAW" };

Wizard *wizard_new()
{
	return new Wizard;
}

void wizard_free(Wizard *w)
{
	delete w;
}

static void choose_os(Wizard *w, const hutch_ostype *t)
{
	w->os = t;
	if (!w->memory_touched)
		w->memory = (int)t->memory;
	if (!w->disk_touched)
		w->disk_gb = (float)t->disk_gb;
}

void wizard_open(Wizard *w)
{
	bool pending = w->creating;
	std::string created = w->created, creating_name = w->creating_name;

	*w = Wizard();
	w->creating = pending;
	w->created = created;
	w->creating_name = creating_name;
	w->open_request = true;
	choose_os(w, hutch_ostype_find("Ubuntu_64") ? hutch_ostype_find("Ubuntu_64") : hutch_ostype_at(0));
	snprintf(w->os_search, sizeof(w->os_search), "%s", w->os->description);
}

/* Whether an OS type matches every word of the search (in its ID, description or family). */
static bool os_matches(const hutch_ostype *t, const char *search)
{
	char words[128], *save = nullptr;

	snprintf(words, sizeof(words), "%s", search);
	for (char *wd = strtok_r(words, " ", &save); wd; wd = strtok_r(nullptr, " ", &save))
		if (!strcasestr(t->description, wd) && !strcasestr(t->id, wd) && !strcasestr(t->family_desc, wd))
			return false;
	return true;
}

/* The label column: every field's label has this width, so the fields line up. */
static void field_label(const char *label, float width)
{
	ImGui::AlignTextToFramePadding();
	ImGui::TextUnformatted(label);
	ImGui::SameLine(width);
}

static std::string wizard_validate(const Wizard *w)
{
	struct stat st;

	if (!w->name[0])
		return "Give the VM a name.";
	if (strchr(w->name, '/'))
		return "The name cannot contain '/'.";
	if (!w->os)
		return "Choose an operating system type from the list.";
	if (w->memory < (int)HUTCH_MEMORY_MIN || w->memory > (int)HUTCH_MEMORY_MAX)
		return "Memory must be between " + std::to_string(HUTCH_MEMORY_MIN) + " and " +
		       std::to_string(HUTCH_MEMORY_MAX) + " MB.";
	if (w->cpus < (int)HUTCH_CPUS_MIN || w->cpus > (int)HUTCH_CPUS_MAX)
		return "Processors must be between 1 and " + std::to_string(HUTCH_CPUS_MAX) + ".";
	if (w->create_disk && (w->disk_gb < 0.01f || w->disk_gb > 2048 * 1024.0f))
		return "The disk size must be between 0.01 and 2097152 GB.";
	if (w->iso[0] && (stat(w->iso, &st) || !S_ISREG(st.st_mode)))
		return std::string("The ISO image '") + w->iso + "' is not a file.";
	return "";
}

std::string wizard_take_created(Wizard *w)
{
	std::string name = w->created;

	w->created.clear();
	return name;
}

void wizard_draw(Wizard *w, JobRunner &jobs, VmPoller &poller, float scale)
{
	ImGuiIO &io = ImGui::GetIO();
	std::string title, err;
	bool create = false;

	if (w->open_request) {
		ImGui::OpenPopup(WIZARD_TITLE);
		w->open_request = false;
	}
	if (jobs.take_result("wizard", &title, &err)) {
		w->creating = false;
		w->error = err;
		if (!err.empty())
			fprintf(stderr, "hutch: %s: %s\n", title.c_str(), err.c_str());
		if (err.empty()) {
			/* Done: the list shows the new VM at the next poll (kicked by the job), selected. */
			w->created = w->creating_name;
			if (ImGui::IsPopupOpen(WIZARD_TITLE))
				w->error = "\x01";	/* closes below */
		}
	}

	ImVec2 disp = io.DisplaySize;
	float width = std::fmin(640 * scale, disp.x - 16 * scale);
	ImGui::SetNextWindowPos(ImGui::GetMainViewport()->GetCenter(), ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
	ImGui::SetNextWindowSize(ImVec2(width, 0), ImGuiCond_Appearing);
	ImGui::SetNextWindowSizeConstraints(ImVec2(320 * scale, 0), ImVec2(disp.x, disp.y - 8 * scale));
	if (!ImGui::BeginPopupModal(WIZARD_TITLE, nullptr, ImGuiWindowFlags_NoSavedSettings))
		return;
	if (w->error == "\x01") {
		w->error.clear();
		ImGui::CloseCurrentPopup();
		ImGui::EndPopup();
		return;
	}

	float label_w = ImGui::CalcTextSize("Operating system").x + ImGui::GetStyle().ItemSpacing.x * 3;
	ImGui::BeginDisabled(w->creating);

	ImGui::TextDisabled("Name and operating system");
	field_label("Name", label_w);
	ImGui::SetNextItemWidth(-1);
	if (ImGui::IsWindowAppearing())
		ImGui::SetKeyboardFocusHere();
	ImGui::InputTextWithHint("##name", "e.g. Debian 12", w->name, sizeof(w->name));

	field_label("Operating system", label_w);
	ImGui::SetNextItemWidth(-1);
	if (ImGui::InputTextWithHint("##os", "type to search, e.g. ubuntu 64", w->os_search, sizeof(w->os_search))) {
		/* The first match is chosen as one types; the list below shows the others. */
		const hutch_ostype *first = nullptr;

		for (size_t i = 0; hutch_ostype_at(i); i++)
			if (os_matches(hutch_ostype_at(i), w->os_search)) {
				if (!strcasecmp(hutch_ostype_at(i)->description, w->os_search)) {
					first = hutch_ostype_at(i);
					break;
				}
				if (!first)
					first = hutch_ostype_at(i);
			}
		if (first)
			choose_os(w, first);
	}
	ImGui::SetCursorPosX(label_w);
	if (ImGui::BeginListBox("##oslist", ImVec2(-1, ImGui::GetTextLineHeightWithSpacing() * 4.4f))) {
		for (size_t i = 0; hutch_ostype_at(i); i++) {
			const hutch_ostype *t = hutch_ostype_at(i);
			bool chosen = t == w->os;

			if (!os_matches(t, w->os_search) && !chosen)
				continue;
			if (ImGui::Selectable(t->description, chosen))
				choose_os(w, t);
			if (chosen && ImGui::IsWindowAppearing())
				ImGui::SetScrollHereY();
		}
		ImGui::EndListBox();
	}

	ImGui::Spacing();
	ImGui::TextDisabled("Hardware");
	field_label("Memory (MB)", label_w);
	ImGui::SetNextItemWidth(160 * scale);
	if (ImGui::InputInt("##memory", &w->memory, 128, 1024))
		w->memory_touched = true;
	if (w->os) {
		ImGui::SameLine();
		ImGui::TextDisabled("recommended: %u MB", w->os->memory);
	}
	field_label("Processors", label_w);
	ImGui::SetNextItemWidth(160 * scale);
	ImGui::InputInt("##cpus", &w->cpus, 1, 1);
	ImGui::SameLine();
	ImGui::TextDisabled("this host has %d", SDL_GetCPUCount());

	ImGui::Spacing();
	ImGui::TextDisabled("Hard disk");
	ImGui::SetCursorPosX(label_w);
	ImGui::Checkbox("Create a new virtual hard disk", &w->create_disk);
	ImGui::BeginDisabled(!w->create_disk);
	field_label("Disk size (GB)", label_w);
	ImGui::SetNextItemWidth(160 * scale);
	if (ImGui::InputFloat("##disk", &w->disk_gb, 1.0f, 10.0f, "%.2f"))
		w->disk_touched = true;
	ImGui::SameLine();
	ImGui::SetNextItemWidth(110 * scale);
	ImGui::Combo("##format", &w->disk_format, disk_formats, 3);
	ImGui::SameLine();
	ImGui::TextDisabled("grows as used");
	ImGui::EndDisabled();

	ImGui::Spacing();
	ImGui::TextDisabled("Installation medium");
	field_label("ISO image", label_w);
	float browse_w = 90 * scale;
	ImGui::SetNextItemWidth(-(browse_w + ImGui::GetStyle().ItemSpacing.x));
	if (ImGui::InputTextWithHint("##iso", "/path/to/installer.iso (optional)", w->iso, sizeof(w->iso),
				     ImGuiInputTextFlags_EnterReturnsTrue))
		create = true;
	ImGui::SameLine();
	/* Browse..., or Ctrl+O anywhere in the wizard: pick the ISO from a folder. */
	bool browse = ImGui::Button("Browse...", ImVec2(browse_w, 0));
	if (ImGui::IsItemHovered())
		ImGui::SetTooltip("Pick the ISO image from a folder (Ctrl+O)");
	if ((browse ||
	     (io.KeyCtrl && ImGui::IsKeyPressed(SDL_SCANCODE_O, false) && !ImGui::IsPopupOpen(ISO_CHOOSER))) &&
	    !w->creating)
		file_chooser_open(ISO_CHOOSER, w->iso, iso_exts);
	file_chooser_draw(ISO_CHOOSER, w->iso, sizeof(w->iso), scale);
	bool choosing = ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId);
	ImGui::EndDisabled();

	std::string problem = wizard_validate(w);
	ImGui::Spacing();
	ImGui::Separator();
	if (w->creating) {
		ImGui::ProgressBar(jobs.percent() / 100.0f, ImVec2(-1, 0), "Creating the VM...");
	} else if (!w->error.empty()) {
		ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(0.85f, 0.2f, 0.2f, 1));
		ImGui::TextWrapped("%s", w->error.c_str());
		ImGui::PopStyleColor();
	} else if (!problem.empty()) {
		ImGui::TextDisabled("%s", problem.c_str());
	} else {
		ImGui::TextDisabled("Ready: Create, or Enter in the ISO field / Ctrl+Enter.");
	}

	float bw = 110 * scale;
	ImGui::SetCursorPosX(ImGui::GetWindowContentRegionMax().x - bw * 2 - ImGui::GetStyle().ItemSpacing.x);
	ImGui::BeginDisabled(w->creating || !problem.empty());
	if (ImGui::Button("Create", ImVec2(bw, 0)))
		create = true;
	ImGui::EndDisabled();
	ImGui::SameLine();
	ImGui::BeginDisabled(w->creating);
	/* Escape and Ctrl+Enter belong to the file chooser while it is open. */
	if (ImGui::Button("Cancel", ImVec2(bw, 0)) ||
	    (!w->creating && !choosing && ImGui::IsKeyPressed(SDL_SCANCODE_ESCAPE)))
		ImGui::CloseCurrentPopup();
	ImGui::EndDisabled();
	if (!choosing && io.KeyCtrl && ImGui::IsKeyPressed(SDL_SCANCODE_RETURN, false))
		create = true;

	if (create && !w->creating) {
		if (!problem.empty()) {
			w->error = problem;
		} else {
			NewVmSpec s;

			s.name = w->name;
			s.ostype = w->os->id;
			s.memory = (unsigned)w->memory;
			s.cpus = (unsigned)w->cpus;
			s.create_disk = w->create_disk;
			s.disk_mb = (unsigned long long)std::llround(w->disk_gb * 1024.0);
			s.disk_format = disk_formats[w->disk_format];
			s.iso = w->iso;
			w->error.clear();
			w->creating_name = s.name;
			w->creating = jobs.start("wizard", "Create '" + s.name + "'",
						 [s, &poller](std::function<void(unsigned)> progress, std::string &e) {
							 int rc = vm_create(s, progress, e);

							 poller.refresh_now();
							 return rc;
						 });
			if (!w->creating)
				w->error = "Another job is still running; try again when it is done.";
		}
	}
	ImGui::EndPopup();
}
