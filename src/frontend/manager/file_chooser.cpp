// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The file chooser: a modal over the dialog that opened it, for picking an
 * ISO or disk image instead of typing its path.  A "Look in" folder, a
 * name field that filters the folder's entries as one types (or takes a
 * whole path), and the list: folders first, then the files with a wanted
 * extension (file_list.c).  All of it works from the keyboard, like the
 * rest of the manager: Up/Down move the selection, Enter opens a folder or
 * picks a file, Backspace in an empty field goes up a folder, Escape
 * cancels.  One chooser is open at a time, so its state is kept here.
 */
#include <SDL.h>
#include <imgui.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "file_list.h"
#include "manager.h"

namespace {

struct Chooser {
	char dir[4096] = "/";
	char name[1024] = "";		/* the filter, or a path typed whole */
	const char *const *exts = nullptr;
	struct file_list list = {};
	std::string error;		/* the folder could not be read */
	int sel = 0;			/* index into the shown (filtered) entries */
	bool focus_name = false;
};

Chooser chooser;

void chooser_load(const char *dir)
{
	int rc;

	snprintf(chooser.dir, sizeof(chooser.dir), "%s", dir);
	chooser.name[0] = '\0';
	chooser.sel = 0;
	chooser.focus_name = true;
	chooser.error.clear();
	if ((rc = file_list_read(chooser.dir, chooser.exts, &chooser.list)))
		chooser.error = std::string("Cannot read this folder: ") + strerror(-rc);
}

/* Enter on an entry: a folder is opened, a file is the answer (true). */
bool chooser_activate(const file_entry &e, char *path, size_t pathlen)
{
	char joined[4096];

	if (!file_path_join(joined, sizeof(joined), chooser.dir, e.name))
		return false;
	if (e.is_dir) {
		chooser_load(joined);
		return false;
	}
	if (strlen(joined) >= pathlen)
		return false;
	memcpy(path, joined, strlen(joined) + 1);
	return true;
}

/* A whole path typed in the name field: a folder is opened, a file picked. */
bool chooser_typed_path(char *path, size_t pathlen)
{
	struct stat st;

	if (chooser.name[0] != '/' || stat(chooser.name, &st))
		return false;
	if (S_ISDIR(st.st_mode)) {
		std::string d = chooser.name;
		chooser_load(d.c_str());
		return false;
	}
	if (!S_ISREG(st.st_mode) || strlen(chooser.name) >= pathlen)
		return false;
	memcpy(path, chooser.name, strlen(chooser.name) + 1);
	return true;
}

} // namespace

void file_chooser_open(const char *popup_id, const char *field, const char *const *exts)
{
	char start[4096];
	const char *home = getenv("HOME");

	chooser.exts = exts;
	file_start_dir(start, sizeof(start), field, home && home[0] == '/' ? home : "/");
	chooser_load(start);
	ImGui::OpenPopup(popup_id);
}

bool file_chooser_draw(const char *popup_id, char *path, size_t pathlen, float scale)
{
	bool picked = false;

	ImGui::SetNextWindowPos(ImGui::GetMainViewport()->GetCenter(), ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
	ImGui::SetNextWindowSize(ImVec2(560 * scale, 400 * scale), ImGuiCond_Appearing);
	if (!ImGui::BeginPopupModal(popup_id, nullptr, ImGuiWindowFlags_NoSavedSettings))
		return false;

	ImGui::TextDisabled("Look in");
	ImGui::SameLine();
	ImGui::TextUnformatted(chooser.dir);

	/* The entries the name field lets through, as indexes into the list. */
	std::vector<size_t> shown;
	bool typed_path = chooser.name[0] == '/';
	for (size_t i = 0; i < chooser.list.n; i++)
		if (typed_path || file_name_matches(chooser.list.e[i].name, chooser.name))
			shown.push_back(i);
	if (chooser.sel >= (int)shown.size())
		chooser.sel = shown.empty() ? 0 : (int)shown.size() - 1;

	bool enter = false;
	ImGui::SetNextItemWidth(-1);
	if (chooser.focus_name) {
		ImGui::SetKeyboardFocusHere();
		chooser.focus_name = false;
	}
	if (ImGui::InputTextWithHint("##name", "type to filter, or a whole path", chooser.name, sizeof(chooser.name),
				     ImGuiInputTextFlags_EnterReturnsTrue)) {
		enter = true;
		chooser.focus_name = true;	/* Enter leaves the field; keep typing there */
	}
	if (ImGui::IsItemEdited())
		chooser.sel = 0;
	if (ImGui::IsItemActive() && !chooser.name[0] && ImGui::IsKeyPressed(SDL_SCANCODE_BACKSPACE) &&
	    strcmp(chooser.dir, "/")) {
		char up[4096];

		if (file_path_join(up, sizeof(up), chooser.dir, ".."))
			chooser_load(up);
	}
	if (ImGui::IsKeyPressed(SDL_SCANCODE_DOWN) && chooser.sel + 1 < (int)shown.size())
		chooser.sel++;
	if (ImGui::IsKeyPressed(SDL_SCANCODE_UP) && chooser.sel > 0)
		chooser.sel--;

	float buttons_h = ImGui::GetFrameHeightWithSpacing() + ImGui::GetStyle().ItemSpacing.y;
	int activate = -1;
	if (ImGui::BeginListBox("##entries", ImVec2(-1, ImGui::GetContentRegionAvail().y - buttons_h))) {
		if (!chooser.error.empty())
			ImGui::TextColored(ImVec4(0.85f, 0.2f, 0.2f, 1), "%s", chooser.error.c_str());
		for (int k = 0; k < (int)shown.size(); k++) {
			const file_entry &e = chooser.list.e[shown[(size_t)k]];
			std::string label = e.is_dir ? std::string(e.name) + "/" : e.name;

			ImGui::PushID(k);
			if (ImGui::Selectable(label.c_str(), k == chooser.sel, ImGuiSelectableFlags_AllowDoubleClick)) {
				chooser.sel = k;
				if (ImGui::IsMouseDoubleClicked(0))
					activate = k;
			}
			if (k == chooser.sel && (ImGui::IsKeyPressed(SDL_SCANCODE_DOWN) || ImGui::IsKeyPressed(SDL_SCANCODE_UP)))
				ImGui::SetScrollHereY();
			ImGui::PopID();
		}
		if (shown.empty() && chooser.error.empty())
			ImGui::TextDisabled(chooser.name[0] ? "Nothing here matches." : "No images in this folder.");
		ImGui::EndListBox();
	}

	float bw = 110 * scale;
	ImGui::SetCursorPosX(ImGui::GetWindowContentRegionMax().x - bw * 2 - ImGui::GetStyle().ItemSpacing.x);
	ImGui::BeginDisabled(shown.empty() && !typed_path);
	if (ImGui::Button("Open", ImVec2(bw, 0)))
		enter = true;
	ImGui::EndDisabled();
	ImGui::SameLine();
	bool cancel = ImGui::Button("Cancel", ImVec2(bw, 0)) || ImGui::IsKeyPressed(SDL_SCANCODE_ESCAPE);

	if (enter && typed_path)
		picked = chooser_typed_path(path, pathlen);
	else if (enter && chooser.sel < (int)shown.size())
		activate = chooser.sel;
	/* The list may be reloaded by an activation: take the entry first. */
	if (activate >= 0 && activate < (int)shown.size()) {
		file_entry e = chooser.list.e[shown[(size_t)activate]];
		std::string name = e.name;

		e.name = name.data();
		picked = chooser_activate(e, path, pathlen);
	}
	if (picked || cancel) {
		file_list_free(&chooser.list);
		ImGui::CloseCurrentPopup();
	}
	ImGui::EndPopup();
	return picked;
}
