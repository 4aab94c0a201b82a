// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hutch: the manager window (Dear ImGui on SDL2's software renderer).  The
 * main loop sleeps in SDL_WaitEventTimeout until there is input or the
 * poller or job thread has news (a user event), and draws a frame only
 * when its picture differs from the one on screen (frame_diff.h), so an
 * idle manager costs nothing but the poll.  Scale: $HUTCH_SCALE, else the
 * display's DPI / 96.
 */
#include <SDL.h>
#include <backends/imgui_impl_sdl.h>
#include <backends/imgui_impl_sdlrenderer.h>
#include <imgui.h>
#include <libgen.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "frame_diff.h"
#include "manager.h"

#define FONT_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define FONT_PX 15.0f
#define POLL_MS 500

static Uint32 wake_event;

/* Called from the poller and job threads: SDL_PushEvent is thread-safe. */
static void wake_gui()
{
	SDL_Event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = wake_event;
	SDL_PushEvent(&ev);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hutch [--list-state FILE] [--scale N]\n"
		"The Hutch manager: create, configure and start virtual machines.\n"
		"  --list-state FILE  keep FILE holding the VM list as shown, one\n"
		"                     \"name<TAB>state\" line per VM (for tests)\n"
		"  --scale N          UI scale (default: $HUTCH_SCALE, else the display DPI / 96)\n");
}

static float choose_scale(const char *arg)
{
	const char *env = arg ? arg : getenv("HUTCH_SCALE");
	float ddpi = 0;

	if (env && *env) {
		char *end;
		float s = strtof(env, &end);

		if (*end || !(s >= 0.5f && s <= 4.0f)) {
			fprintf(stderr, "hutch: scale '%s' is invalid: expected a number from 0.5 to 4; using 1\n", env);
			return 1.0f;
		}
		return s;
	}
	if (SDL_GetDisplayDPI(0, &ddpi, nullptr, nullptr) || !(ddpi > 0))
		return 1.0f;
	/* Whole and half steps keep the font crisp; below 1 text gets unreadable. */
	float s = std::round(ddpi / 96.0f * 2.0f) / 2.0f;
	return s < 1.0f ? 1.0f : (s > 4.0f ? 4.0f : s);
}

static void setup_style(float scale)
{
	ImGuiStyle &style = ImGui::GetStyle();

	ImGui::StyleColorsLight();
	/*
	 * Square windows: ImGui fills a rounded window as a fan of triangles
	 * that each span the window, and SDL's software renderer rasterises
	 * every one over its whole bounding box.  A frame of the New VM
	 * wizard cost 115-165 million instructions that way, 70-80 million
	 * square (callgrind).  Small things (buttons, popups) stay rounded.
	 */
	style.WindowRounding = 0;
	style.FrameRounding = 3;
	style.PopupRounding = 3;
	style.GrabRounding = 3;
	style.FrameBorderSize = 1;
	style.WindowPadding = ImVec2(10, 10);
	style.FramePadding = ImVec2(7, 4);
	style.ItemSpacing = ImVec2(8, 6);
	style.CellPadding = ImVec2(6, 3);
	style.ScaleAllSizes(scale);
	/*
	 * Anti-aliased lines as geometry, not as quads textured from the font
	 * atlas: SDL's software renderer draws such a long thin quad half thin
	 * and half thick (the separators and the table's column lines broke in
	 * the middle), and for the list the geometry is a little cheaper too.
	 */
	style.AntiAliasedLinesUseTex = false;
}

static void setup_font(float scale)
{
	ImGuiIO &io = ImGui::GetIO();

	if (access(FONT_PATH, R_OK) == 0 && io.Fonts->AddFontFromFileTTF(FONT_PATH, std::round(FONT_PX * scale))) {
		return;
	}
	fprintf(stderr, "hutch: warning: %s not found (install fonts-dejavu-core); using ImGui's built-in font\n",
		FONT_PATH);
	ImFontConfig cfg;
	cfg.SizePixels = std::round(13.0f * scale);
	io.Fonts->AddFontDefault(&cfg);
}

/*
 * Whether this frame's picture differs from the last one drawn: fed with
 * everything ImGui_ImplSDLRenderer_RenderDrawData reads from the draw
 * data (field by field, so that no padding byte counts).
 */
static bool picture_changed(struct frame_diff *d, const ImDrawData *dd)
{
	frame_diff_begin(d);
	frame_diff_add(d, &dd->DisplayPos, sizeof(dd->DisplayPos));
	frame_diff_add(d, &dd->DisplaySize, sizeof(dd->DisplaySize));
	frame_diff_add(d, &dd->FramebufferScale, sizeof(dd->FramebufferScale));
	for (int i = 0; i < dd->CmdListsCount; i++) {
		const ImDrawList *l = dd->CmdLists[i];
		const int sizes[3] = { l->CmdBuffer.Size, l->VtxBuffer.Size, l->IdxBuffer.Size };

		frame_diff_add(d, sizes, sizeof(sizes));
		for (const ImDrawCmd &c : l->CmdBuffer) {
			frame_diff_add(d, &c.ClipRect, sizeof(c.ClipRect));
			frame_diff_add(d, &c.TextureId, sizeof(c.TextureId));
			frame_diff_add(d, &c.VtxOffset, sizeof(c.VtxOffset));
			frame_diff_add(d, &c.IdxOffset, sizeof(c.IdxOffset));
			frame_diff_add(d, &c.ElemCount, sizeof(c.ElemCount));
			/* A callback draws what these bytes do not say (none today): always draw. */
			if (c.UserCallback)
				frame_diff_forget(d);
		}
		frame_diff_add(d, l->VtxBuffer.Data, (size_t)l->VtxBuffer.size_in_bytes());
		frame_diff_add(d, l->IdxBuffer.Data, (size_t)l->IdxBuffer.size_in_bytes());
	}
	return frame_diff_end(d);
}

/* The directory of this program, where libhutch looks for hutch-vm first. */
static std::string exe_dir()
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return ".";
	buf[n] = 0;
	return dirname(buf);
}

int main(int argc, char **argv)
{
	const char *list_state = nullptr, *scale_arg = nullptr;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--list-state") && i + 1 < argc) {
			list_state = argv[++i];
		} else if (!strcmp(argv[i], "--scale") && i + 1 < argc) {
			scale_arg = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("hutch %s\n", HUTCH_VERSION);
			return 0;
		} else {
			fprintf(stderr, "hutch: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	/* A VM's control socket closing under us must be an error, not a death. */
	signal(SIGPIPE, SIG_IGN);

	/*
	 * SDL's software renderer, and no OpenGL behind its window surface
	 * either (SDL puts it there unless told not to).  Without a GPU (Xvfb,
	 * a VM, a remote X display) OpenGL is Mesa's llvmpipe: 270 million
	 * instructions to set up, LLVM compiling shaders in the middle of
	 * frames (380 million in one), two rasteriser threads (callgrind).
	 * A list and a few dialogs need no GPU.  Both are hints, so
	 * SDL_RENDER_DRIVER=opengl and SDL_FRAMEBUFFER_ACCELERATION=1 in the
	 * environment still win.
	 */
	SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
	SDL_SetHint(SDL_HINT_RENDER_DRIVER, "software");
	if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS)) {
		fprintf(stderr, "hutch: cannot open the display: %s\n", SDL_GetError());
		return 1;
	}
	wake_event = SDL_RegisterEvents(1);
	float scale = choose_scale(scale_arg);

	/* A window that fits the display's usable area (a 1024x600 netbook too). */
	SDL_Rect usable = { 0, 0, 1024, 600 };
	SDL_GetDisplayUsableBounds(0, &usable);
	int w = (int)(900 * scale), h = (int)(600 * scale);
	if (w > usable.w)
		w = usable.w;
	if (h > usable.h)
		h = usable.h;
	SDL_Window *win = SDL_CreateWindow("Hutch", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w, h,
					   SDL_WINDOW_RESIZABLE);
	if (!win) {
		fprintf(stderr, "hutch: cannot create the window: %s\n", SDL_GetError());
		SDL_Quit();
		return 1;
	}
	SDL_SetWindowMinimumSize(win, 480, 320);
	SDL_Renderer *ren = SDL_CreateRenderer(win, -1, 0);
	if (!ren) {
		fprintf(stderr, "hutch: cannot create a renderer: %s\n", SDL_GetError());
		SDL_DestroyWindow(win);
		SDL_Quit();
		return 1;
	}

	/* $HUTCH_DEBUG_TIMING: slow frames on stderr (tests on an emulated CPU). */
	bool debug_timing = getenv("HUTCH_DEBUG_TIMING") != nullptr;
	SDL_RendererInfo rinfo;
	if (debug_timing && !SDL_GetRendererInfo(ren, &rinfo))
		fprintf(stderr, "hutch: timing: renderer %s, scale %.1f\n", rinfo.name, scale);

	IMGUI_CHECKVERSION();
	ImGui::CreateContext();
	ImGuiIO &io = ImGui::GetIO();
	io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
	io.IniFilename = nullptr;	/* no imgui.ini in the user's working directory */
	/*
	 * GNOME's and GTK's double-click time (ImGui's is 0.30 s): each click
	 * is a frame of its own (the event loop below), and on a busy machine
	 * a frame drawn in software between the two presses made a quick
	 * double-click on a VM two single clicks.
	 */
	io.MouseDoubleClickTime = 0.40f;
	/*
	 * A steady text cursor: each blink is a new picture, and in software
	 * a dialog's picture costs some 80 million instructions, so an open
	 * New VM wizard redrew most seconds while nobody touched it (callgrind:
	 * none without the blink).
	 */
	io.ConfigInputTextCursorBlink = false;
	setup_style(scale);
	setup_font(scale);
	ImGui_ImplSDL2_InitForSDLRenderer(win);
	ImGui_ImplSDLRenderer_Init(ren);

	{
		VmPoller poller(POLL_MS, wake_gui);
		JobRunner jobs(wake_gui);
		VmListView *list = vm_list_new(list_state ? list_state : "", exe_dir());
		Wizard *wiz = wizard_new();
		SettingsDialog *settings = settings_new();
		bool running = true;
		int busy_frames = 2;
		struct frame_diff diff;

		frame_diff_init(&diff);

		while (running) {
			SDL_Event ev;
			/*
			 * Sleep until something happens; a few frames after each event
			 * let ImGui settle (hover, nav highlight), and a running job
			 * animates its progress bar.
			 */
			int timeout = busy_frames > 0 ? 0 : (jobs.busy() ? 50 : 1000);
			bool got = SDL_WaitEventTimeout(&ev, timeout);

			while (got) {
				ImGui_ImplSDL2_ProcessEvent(&ev);
				/*
				 * The 1.86 back end takes the modifiers from SDL_GetModState(),
				 * which is already past a quick Ctrl+N's release when the N
				 * is handled: the key event's own modifiers are the right ones.
				 */
				if (ev.type == SDL_KEYDOWN || ev.type == SDL_KEYUP) {
					ImGuiIO &kio = ImGui::GetIO();

					kio.KeyCtrl = ev.key.keysym.mod & KMOD_CTRL;
					kio.KeyShift = ev.key.keysym.mod & KMOD_SHIFT;
					kio.KeyAlt = ev.key.keysym.mod & KMOD_ALT;
				}
				if (ev.type == SDL_QUIT ||
				    (ev.type == SDL_WINDOWEVENT && ev.window.event == SDL_WINDOWEVENT_CLOSE &&
				     ev.window.windowID == SDL_GetWindowID(win)))
					running = false;
				busy_frames = 3;
				/* Exposed, resized, shown: the window needs its picture drawn again. */
				if (ev.type == SDL_WINDOWEVENT || ev.type == SDL_RENDER_TARGETS_RESET ||
				    ev.type == SDL_RENDER_DEVICE_RESET)
					frame_diff_forget(&diff);
				/*
				 * ImGui 1.86 reads key and button state once per frame: a
				 * press and its release in one frame would be lost (xdotool,
				 * fast typists), so each such event gets a frame of its own.
				 */
				if (ev.type == SDL_KEYDOWN || ev.type == SDL_KEYUP || ev.type == SDL_MOUSEBUTTONDOWN ||
				    ev.type == SDL_MOUSEBUTTONUP)
					break;
				got = SDL_PollEvent(&ev);
			}
			if (busy_frames > 0)
				busy_frames--;

			Uint64 frame_start = SDL_GetPerformanceCounter();
			ImGui_ImplSDLRenderer_NewFrame();
			ImGui_ImplSDL2_NewFrame();
			ImGui::NewFrame();
			vm_list_draw(list, poller, jobs, wiz, settings, scale);
			ImGui::Render();
			/*
			 * Most frames (the idle timeout, the settling frames after an
			 * event, a pointer moving over nothing) show what is on screen
			 * already, and ImGui's part of a frame is under 2% of drawing it.
			 */
			if (picture_changed(&diff, ImGui::GetDrawData())) {
				/* The main window has no background of its own (vm_list.cpp): this is it. */
				const ImVec4 &bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];

				SDL_SetRenderDrawColor(ren, (Uint8)(bg.x * 255 + 0.5f), (Uint8)(bg.y * 255 + 0.5f),
						       (Uint8)(bg.z * 255 + 0.5f), 255);
				SDL_RenderClear(ren);
				ImGui_ImplSDLRenderer_RenderDrawData(ImGui::GetDrawData());
				SDL_RenderPresent(ren);
			}
			if (debug_timing) {
				double ms = (double)(SDL_GetPerformanceCounter() - frame_start) * 1000.0 /
					    (double)SDL_GetPerformanceFrequency();
				if (ms > 50)
					fprintf(stderr, "hutch: timing: a frame took %.0f ms\n", ms);
			}
		}
		/* A job in flight finishes first (JobRunner's destructor joins it): never half a VM. */
		if (jobs.busy())
			fprintf(stderr, "hutch: waiting for '%s' to finish...\n", jobs.title().c_str());
		settings_free(settings);
		wizard_free(wiz);
		vm_list_free(list);
		frame_diff_free(&diff);
	}

	ImGui_ImplSDLRenderer_Shutdown();
	ImGui_ImplSDL2_Shutdown();
	ImGui::DestroyContext();
	SDL_DestroyRenderer(ren);
	SDL_DestroyWindow(win);
	SDL_Quit();
	return 0;
}
