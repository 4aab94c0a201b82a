// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The Settings dialog: System (memory, processors, boot order), Storage
 * (the disks and CD/DVD drives on each controller: attach an image, a new
 * disk, eject, remove), Network (adapters 1-4: attachment mode, adapter
 * type, bridge or internal network name, NAT port forwarding).  It edits
 * a copy (VmSettings) loaded from the VM's settings file; OK saves it on
 * the job thread under the VM's lock (vm_settings_save), where libhutch's
 * setters check every value, and shows their error in place.
 */
#include <SDL.h>
#include <imgui.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "hutch/config.h"
#include "manager.h"

/* "###": the popup's ID stays the same while its title names the VM. */
#define SETTINGS_ID "###settings"
#define IMAGE_CHOOSER "Choose an image"

struct SettingsDialog {
	bool open_request = false;
	bool saving = false;
	bool focus_first = false;	/* the dialog just opened: the keyboard goes to Memory */
	VmSettings s;
	std::string error;
	int page = 0;			/* 0 System, 1 Storage, 2 Network */
	int select_page = -1;		/* Ctrl+PageUp/PageDown: the page to show next frame */
	/* The Storage page's "add" row. */
	int add_ctl = 0, add_kind = 0;	/* 0 CD/DVD image, 1 existing disk, 2 new disk */
	char add_path[1024] = "";
	float add_gb = 8;
	/* The Network page's new rule. */
	char pf_name[64] = "", pf_hostip[64] = "", pf_guestip[64] = "";
	int pf_proto = 0, pf_hostport = 2222, pf_guestport = 22;
};

static const char *const boot_devices[] = { "none", "floppy", "dvd", "disk", "net" };
static const char *const boot_text[] = { "(nothing)", "Floppy", "Optical (CD/DVD)", "Hard disk", "Network (PXE)" };
static const char *const nic_modes[] = { "none", "nat", "bridged", "intnet" };
static const char *const nic_mode_text[] = { "Not attached", "NAT", "Bridged adapter", "Internal network" };
static const char *const nic_types[] = { "82540EM", "virtio" };
static const char *const nic_type_text[] = { "Intel PRO/1000 MT Desktop (82540EM)", "Paravirtualized (virtio-net)" };

SettingsDialog *settings_new()
{
	return new SettingsDialog;
}

void settings_free(SettingsDialog *d)
{
	delete d;
}

void settings_open(SettingsDialog *d, const std::string &uuid)
{
	std::string err;

	if (vm_settings_load(uuid, &d->s, err)) {
		ui_error("Cannot open the settings", err);
		return;
	}
	d->error.clear();
	d->open_request = true;
	d->focus_first = true;
	d->select_page = 0;
	d->add_path[0] = 0;
}

static int index_of(const char *const *list, size_t n, const std::string &v)
{
	for (size_t i = 0; i < n; i++)
		if (v == list[i])
			return (int)i;
	return -1;
}

static void field_label(const char *label, float width)
{
	ImGui::AlignTextToFramePadding();
	ImGui::TextUnformatted(label);
	ImGui::SameLine(width);
}

static void page_system(SettingsDialog *d, float label_w, float scale)
{
	int memory = (int)d->s.memory, cpus = (int)d->s.cpus;

	field_label("Memory (MB)", label_w);
	ImGui::SetNextItemWidth(160 * scale);
	if (d->focus_first) {
		ImGui::SetKeyboardFocusHere();
		d->focus_first = false;
	}
	if (ImGui::InputInt("##memory", &memory, 128, 1024))
		d->s.memory = memory < 0 ? 0 : (unsigned)memory;
	field_label("Processors", label_w);
	ImGui::SetNextItemWidth(160 * scale);
	if (ImGui::InputInt("##cpus", &cpus, 1, 1))
		d->s.cpus = cpus < 0 ? 0 : (unsigned)cpus;
	ImGui::Spacing();
	ImGui::TextDisabled("Boot order");
	for (int i = 0; i < HUTCH_MAX_BOOT; i++) {
		char label[32], id[16];
		int cur = index_of(boot_devices, 5, d->s.boot[i]);

		snprintf(label, sizeof(label), "%d.", i + 1);
		snprintf(id, sizeof(id), "##boot%d", i);
		field_label(label, label_w);
		ImGui::SetNextItemWidth(220 * scale);
		if (ImGui::Combo(id, &cur, boot_text, 5))
			d->s.boot[i] = boot_devices[cur];
	}
}

/* The first free port (device 0) on a controller, for a new attachment. */
static unsigned free_port(const VmSettings &s, const std::string &ctl)
{
	for (unsigned port = 0;; port++) {
		bool used = false;

		for (const AttachmentEdit &a : s.atts)
			used |= a.controller == ctl && a.port == port;
		if (!used)
			return port;
	}
}

static void page_storage(SettingsDialog *d, float label_w, float scale)
{
	ImGuiStyle &style = ImGui::GetStyle();
	float rows_h = ImGui::GetTextLineHeightWithSpacing() * 6 + style.CellPadding.y * 2;

	if (ImGui::BeginTable("atts", 4,
			      ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersOuter | ImGuiTableFlags_ScrollY |
				      ImGuiTableFlags_SizingStretchProp,
			      ImVec2(0, rows_h))) {
		ImGui::TableSetupScrollFreeze(0, 1);
		ImGui::TableSetupColumn("Slot", 0, 1.4f);
		ImGui::TableSetupColumn("Type", 0, 0.9f);
		ImGui::TableSetupColumn("Image", 0, 4.0f);
		ImGui::TableSetupColumn("", 0, 1.4f);
		ImGui::TableHeadersRow();
		for (size_t i = 0; i < d->s.atts.size(); i++) {
			AttachmentEdit &a = d->s.atts[i];
			bool dvd = a.type == "dvddrive";

			ImGui::PushID((int)i);
			ImGui::TableNextRow();
			ImGui::TableNextColumn();
			ImGui::AlignTextToFramePadding();
			ImGui::Text("%s %u:%u", a.controller.c_str(), a.port, a.device);
			ImGui::TableNextColumn();
			ImGui::TextUnformatted(dvd ? "CD/DVD" : "Disk");
			ImGui::TableNextColumn();
			/* The file's name; the whole path (often long) in a tooltip. */
			const std::string &path = a.new_disk_path.empty() ? a.medium : a.new_disk_path;
			const char *base = strrchr(path.c_str(), '/') ? strrchr(path.c_str(), '/') + 1 : path.c_str();
			if (!a.new_disk_path.empty())
				ImGui::Text("%s (new, %.1f GB)", base, a.new_disk_mb / 1024.0);
			else if (a.medium == "emptydrive")
				ImGui::TextDisabled("empty");
			else
				ImGui::TextUnformatted(base);
			if (ImGui::IsItemHovered() && a.medium != "emptydrive")
				ImGui::SetTooltip("%s", path.c_str());
			ImGui::TableNextColumn();
			bool removed = ImGui::SmallButton("Remove");
			if (dvd && a.medium != "emptydrive") {
				ImGui::SameLine();
				if (ImGui::SmallButton("Eject"))
					a.medium = "emptydrive";
			}
			ImGui::PopID();
			if (removed) {
				d->s.atts.erase(d->s.atts.begin() + (long)i);
				break;
			}
		}
		ImGui::EndTable();
	}

	static const char *const kinds[] = { "CD/DVD image", "Existing disk image", "New disk (VDI)" };
	std::vector<const char *> ctls;
	for (const std::string &c : d->s.controllers)
		ctls.push_back(c.c_str());

	ImGui::Spacing();
	ImGui::TextDisabled("Add a drive");
	if (ctls.empty()) {
		ImGui::TextDisabled("This VM has no storage controller (add one with vmctl storagectl).");
		return;
	}
	if (d->add_ctl >= (int)ctls.size())
		d->add_ctl = 0;
	field_label("Controller", label_w);
	ImGui::SetNextItemWidth(160 * scale);
	ImGui::Combo("##ctl", &d->add_ctl, ctls.data(), (int)ctls.size());
	ImGui::SameLine();
	ImGui::SetNextItemWidth(-1);
	ImGui::Combo("##kind", &d->add_kind, kinds, 3);
	field_label(d->add_kind == 2 ? "New file" : "Image file", label_w);
	float browse_w = 90 * scale;
	ImGui::SetNextItemWidth(d->add_kind == 2 ? -1 : -(browse_w + ImGui::GetStyle().ItemSpacing.x));
	ImGui::InputTextWithHint("##path", d->add_kind == 2 ? "/path/to/new-disk.vdi" : "/path/to/image",
				 d->add_path, sizeof(d->add_path));
	if (d->add_kind != 2) {
		/* An existing image: pick it from a folder (a new disk's name is typed). */
		static const char *const dvd_exts[] = { ".iso", NULL };
		static const char *const disk_exts[] = { ".vdi", ".qcow2", ".qcow", ".vmdk", ".img", ".raw", NULL };

		ImGui::SameLine();
		if (ImGui::Button("Browse...", ImVec2(browse_w, 0)))
			file_chooser_open(IMAGE_CHOOSER, d->add_path, d->add_kind == 0 ? dvd_exts : disk_exts);
		file_chooser_draw(IMAGE_CHOOSER, d->add_path, sizeof(d->add_path), scale);
	}
	if (d->add_kind == 2) {
		field_label("Size (GB)", label_w);
		ImGui::SetNextItemWidth(160 * scale);
		ImGui::InputFloat("##gb", &d->add_gb, 1.0f, 10.0f, "%.2f");
	}
	ImGui::SetCursorPosX(label_w);
	ImGui::BeginDisabled(!d->add_path[0]);
	if (ImGui::Button("Add")) {
		AttachmentEdit a;

		a.controller = ctls[(size_t)d->add_ctl];
		a.port = free_port(d->s, a.controller);
		a.type = d->add_kind == 0 ? "dvddrive" : "hdd";
		if (d->add_kind == 2) {
			a.new_disk_path = d->add_path;
			a.new_disk_mb = (unsigned long long)std::llround(d->add_gb * 1024.0);
			a.medium = a.new_disk_path;
		} else {
			a.medium = d->add_path;
		}
		d->s.atts.push_back(a);
		d->add_path[0] = 0;
	}
	ImGui::EndDisabled();
	ImGui::SameLine();
	ImGui::TextDisabled("images are checked and registered on OK");
}

static void page_network(SettingsDialog *d, float label_w, float scale)
{
	if (!ImGui::BeginTabBar("nics"))
		return;
	for (int i = 0; i < 4; i++) {
		char tab[32];
		NicEdit &n = d->s.nic[i];

		snprintf(tab, sizeof(tab), "Adapter %d", i + 1);
		if (!ImGui::BeginTabItem(tab))
			continue;
		ImGui::PushID(i);
		int mode = index_of(nic_modes, 4, n.attachment);
		int type = index_of(nic_types, 2, n.type);
		field_label("Attached to", label_w);
		ImGui::SetNextItemWidth(-1);
		if (mode < 0) {
			/* A mode hutch-vm keeps but does not act on (hostonly ...): shown, kept unless changed. */
			ImGui::TextDisabled("%s (kept, not yet supported)", n.attachment.c_str());
			field_label("", label_w);
			ImGui::SetNextItemWidth(-1);
		}
		if (ImGui::Combo("##mode", &mode, nic_mode_text, 4))
			n.attachment = nic_modes[mode];
		ImGui::BeginDisabled(n.attachment == "none");
		field_label("Adapter type", label_w);
		ImGui::SetNextItemWidth(-1);
		if (type < 0) {
			ImGui::TextDisabled("%s (kept, not yet supported)", n.type.c_str());
			field_label("", label_w);
			ImGui::SetNextItemWidth(-1);
		}
		if (ImGui::Combo("##type", &type, nic_type_text, 2))
			n.type = nic_types[type];
		ImGui::EndDisabled();
		if (n.attachment == "bridged") {
			char buf[64];

			snprintf(buf, sizeof(buf), "%s", n.bridge.c_str());
			field_label("Host interface", label_w);
			ImGui::SetNextItemWidth(220 * scale);
			if (ImGui::InputTextWithHint("##bridge", "e.g. eth0", buf, sizeof(buf)))
				n.bridge = buf;
		} else if (n.attachment == "intnet") {
			char buf[128];

			snprintf(buf, sizeof(buf), "%s", n.intnet.c_str());
			field_label("Network name", label_w);
			ImGui::SetNextItemWidth(220 * scale);
			if (ImGui::InputText("##intnet", buf, sizeof(buf)))
				n.intnet = buf;
		}
		if (n.attachment == "nat") {
			ImGui::Spacing();
			ImGui::TextDisabled("Port forwarding");
			float rows_h = ImGui::GetTextLineHeightWithSpacing() * 4;
			if (ImGui::BeginTable("pf", 7,
					      ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersOuter |
						      ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp,
					      ImVec2(0, rows_h))) {
				static const char *const cols[] = { "Name", "Protocol", "Host IP", "Host port",
								    "Guest IP", "Guest port", "" };
				ImGui::TableSetupScrollFreeze(0, 1);
				static const float weights[] = { 1.4f, 1.0f, 1.4f, 1.0f, 1.4f, 1.0f, 1.0f };
				for (int k = 0; k < 7; k++)
					ImGui::TableSetupColumn(cols[k], 0, weights[k]);
				ImGui::TableHeadersRow();
				for (size_t r = 0; r < n.rules.size(); r++) {
					std::string f[6], rest = n.rules[r];

					for (int k = 0; k < 6; k++) {
						size_t comma = rest.find(',');
						f[k] = rest.substr(0, comma);
						rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
					}
					ImGui::PushID((int)r);
					ImGui::TableNextRow();
					for (int k = 0; k < 6; k++) {
						ImGui::TableNextColumn();
						ImGui::TextUnformatted(f[k].c_str());
					}
					ImGui::TableNextColumn();
					bool del = ImGui::SmallButton("Delete");
					ImGui::PopID();
					if (del) {
						n.rules.erase(n.rules.begin() + (long)r);
						break;
					}
				}
				ImGui::EndTable();
			}
			/* A new rule: name, protocol, host port, guest port (IPs optional). */
			static const char *const protos[] = { "tcp", "udp" };
			float w = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x * 6) / 7;
			ImGui::SetNextItemWidth(w);
			ImGui::InputTextWithHint("##pfname", "name", d->pf_name, sizeof(d->pf_name));
			ImGui::SameLine();
			ImGui::SetNextItemWidth(w);
			ImGui::Combo("##pfproto", &d->pf_proto, protos, 2);
			ImGui::SameLine();
			ImGui::SetNextItemWidth(w);
			ImGui::InputTextWithHint("##pfhip", "any", d->pf_hostip, sizeof(d->pf_hostip));
			ImGui::SameLine();
			ImGui::SetNextItemWidth(w);
			ImGui::InputInt("##pfhport", &d->pf_hostport, 0, 0);
			ImGui::SameLine();
			ImGui::SetNextItemWidth(w);
			ImGui::InputTextWithHint("##pfgip", "DHCP", d->pf_guestip, sizeof(d->pf_guestip));
			ImGui::SameLine();
			ImGui::SetNextItemWidth(w);
			ImGui::InputInt("##pfgport", &d->pf_guestport, 0, 0);
			ImGui::SameLine();
			if (ImGui::Button("Add rule", ImVec2(-1, 0))) {
				char rule[512];

				snprintf(rule, sizeof(rule), "%s,%s,%s,%d,%s,%d", d->pf_name, protos[d->pf_proto],
					 d->pf_hostip, d->pf_hostport, d->pf_guestip, d->pf_guestport);
				n.rules.push_back(rule);
				d->pf_name[0] = 0;
			}
		}
		ImGui::PopID();
		ImGui::EndTabItem();
	}
	ImGui::EndTabBar();
}

void settings_draw(SettingsDialog *d, JobRunner &jobs, VmPoller &poller, float scale)
{
	ImGuiIO &io = ImGui::GetIO();
	std::string title, err;
	bool close = false;

	if (d->open_request) {
		ImGui::OpenPopup(SETTINGS_ID);
		d->open_request = false;
	}
	if (jobs.take_result("settings", &title, &err)) {
		d->saving = false;
		d->error = err;
		if (!err.empty())
			fprintf(stderr, "hutch: %s: %s\n", title.c_str(), err.c_str());
		close = err.empty();
	}
	ImVec2 disp = io.DisplaySize;
	ImGui::SetNextWindowPos(ImGui::GetMainViewport()->GetCenter(), ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
	ImGui::SetNextWindowSize(ImVec2(std::fmin(720 * scale, disp.x - 16 * scale),
					std::fmin(500 * scale, disp.y - 16 * scale)),
				 ImGuiCond_Appearing);
	std::string title_id = d->s.name + " - Settings" SETTINGS_ID;
	if (!ImGui::BeginPopupModal(title_id.c_str(), nullptr, ImGuiWindowFlags_NoSavedSettings))
		return;
	if (close) {
		ImGui::CloseCurrentPopup();
		ImGui::EndPopup();
		return;
	}
	float label_w = ImGui::CalcTextSize("Host interface").x + ImGui::GetStyle().ItemSpacing.x * 3;
	float footer = ImGui::GetFrameHeightWithSpacing() * 2 + ImGui::GetStyle().ItemSpacing.y;

	ImGui::BeginDisabled(d->saving);
	ImGui::BeginChild("pages", ImVec2(0, -footer));
	/* Ctrl+PageDown / Ctrl+PageUp walk the pages, as in a browser's tabs. */
	if (io.KeyCtrl && ImGui::IsKeyPressed(SDL_SCANCODE_PAGEDOWN, false))
		d->select_page = (d->page + 1) % 3;
	if (io.KeyCtrl && ImGui::IsKeyPressed(SDL_SCANCODE_PAGEUP, false))
		d->select_page = (d->page + 2) % 3;
	if (ImGui::BeginTabBar("pages")) {
		static const char *const pages[] = { "System", "Storage", "Network" };
		int want = d->select_page;

		d->select_page = -1;
		for (int i = 0; i < 3; i++) {
			if (!ImGui::BeginTabItem(pages[i], nullptr, want == i ? ImGuiTabItemFlags_SetSelected : 0))
				continue;
			d->page = i;
			if (i == 0)
				page_system(d, label_w, scale);
			else if (i == 1)
				page_storage(d, label_w, scale);
			else
				page_network(d, label_w, scale);
			ImGui::EndTabItem();
		}
		ImGui::EndTabBar();
	}
	ImGui::EndChild();
	ImGui::EndDisabled();

	ImGui::Separator();
	if (d->saving) {
		ImGui::ProgressBar(jobs.percent() / 100.0f, ImVec2(-1, 0), "Saving...");
	} else if (!d->error.empty()) {
		ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(0.85f, 0.2f, 0.2f, 1));
		ImGui::TextWrapped("%s", d->error.c_str());
		ImGui::PopStyleColor();
	} else {
		ImGui::TextDisabled("Changes are saved when you press OK.");
	}
	float bw = 110 * scale;
	/* Escape and Ctrl+Enter belong to a popup over the dialog (the file chooser) while one is open. */
	bool over = ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId);
	ImGui::SetCursorPosX(ImGui::GetWindowContentRegionMax().x - bw * 2 - ImGui::GetStyle().ItemSpacing.x);
	ImGui::BeginDisabled(d->saving);
	if (ImGui::Button("OK", ImVec2(bw, 0)) || (!over && io.KeyCtrl && ImGui::IsKeyPressed(SDL_SCANCODE_RETURN, false))) {
		VmSettings copy = d->s;

		d->error.clear();
		d->saving = jobs.start("settings", "Save the settings of '" + copy.name + "'",
				       [copy, &poller](std::function<void(unsigned)> progress, std::string &e) {
					       int rc = vm_settings_save(copy, progress, e);

					       poller.refresh_now();
					       return rc;
				       });
		if (!d->saving)
			d->error = "Another job is still running; try again when it is done.";
	}
	ImGui::SameLine();
	if (ImGui::Button("Cancel", ImVec2(bw, 0)) || (!over && ImGui::IsKeyPressed(SDL_SCANCODE_ESCAPE)))
		ImGui::CloseCurrentPopup();
	ImGui::EndDisabled();
	ImGui::EndPopup();
}
