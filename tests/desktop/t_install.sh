#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# cmake --install into a temporary prefix: the programs, the man pages,
# and (when the manager is built) its desktop entry and icon, where a
# desktop's menu finds them.  The desktop entry is checked against the
# freedesktop Desktop Entry Specification 1.5 (the group, the required and
# the known keys, value types, list syntax, Exec and Icon naming installed
# files), and by desktop-file-validate too when it is installed; the man
# pages must format without groff warnings.
set -euo pipefail
: "${HUTCH_BUILD_DIR:?}" "${CMAKE:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "  $*"; }

T=$(mktemp -d /tmp/hutch-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
P=$T/prefix
"$CMAKE" --install "$HUTCH_BUILD_DIR" --prefix "$P" > "$T/install.log" 2>&1 ||
	fail "cmake --install failed: $(tail -n 5 "$T/install.log")"

for f in bin/hutch-vm bin/vmctl; do
	[ -x "$P/$f" ] || fail "$f is not installed"
done
man1=$(cd "$P" && find . -path '*/man1' -type d | head -n 1)
[ -n "$man1" ] || fail "no man1 directory under the prefix"
pages="vmctl.1 hutch-vm.1"
if [ -n "${HUTCH_MANAGER:-}" ]; then
	[ -x "$P/bin/hutch" ] || fail "bin/hutch (the manager) is not installed"
	pages+=" hutch.1"
else
	note "the manager was not built: its desktop entry, icon and man page are not expected"
fi
for m in $pages; do
	[ -f "$P/$man1/$m" ] || fail "man page $m is not installed in $man1"
	if command -v groff > /dev/null; then
		w=$(groff -man -Tutf8 -ww -z "$P/$man1/$m" 2>&1) || fail "$m: groff failed: $w"
		[ -z "$w" ] || fail "$m: groff warns: $w"
	fi
done
[ -n "${HUTCH_MANAGER:-}" ] || { echo "PASS"; exit 0; }

desktop=$P/share/applications/hutch.desktop
icon=$P/share/icons/hicolor/scalable/apps/hutch.svg
[ -f "$desktop" ] || fail "share/applications/hutch.desktop is not installed"
[ -f "$icon" ] || fail "the icon is not installed at share/icons/hicolor/scalable/apps/hutch.svg"
python3 - "$icon" <<'PY' || fail "the icon is not a well-formed SVG"
import sys, xml.dom.minidom
root = xml.dom.minidom.parse(sys.argv[1]).documentElement
assert root.tagName == "svg" and root.getAttribute("viewBox"), "no <svg> with a viewBox"
PY

# The Desktop Entry Specification, the parts an entry for a program uses.
python3 - "$desktop" "$P" <<'PY' || fail "the desktop entry is not valid (above)"
import os, re, sys
path, prefix = sys.argv[1], sys.argv[2]
known = {"Type", "Version", "Name", "GenericName", "NoDisplay", "Comment", "Icon", "Hidden",
         "OnlyShowIn", "NotShowIn", "DBusActivatable", "TryExec", "Exec", "Path", "Terminal",
         "Actions", "MimeType", "Categories", "Implements", "Keywords", "StartupNotify",
         "StartupWMClass", "URL", "PrefersNonDefaultGPU", "SingleMainWindow"}
booleans = {"NoDisplay", "Hidden", "DBusActivatable", "Terminal", "StartupNotify",
            "PrefersNonDefaultGPU", "SingleMainWindow"}
lists = {"OnlyShowIn", "NotShowIn", "Actions", "MimeType", "Categories", "Implements", "Keywords"}
main_categories = {"AudioVideo", "Audio", "Video", "Development", "Education", "Game", "Graphics",
                   "Network", "Office", "Science", "Settings", "System", "Utility"}
errors, entry, group = [], {}, None
raw = open(path, "rb").read()
try:
    text = raw.decode("utf-8")
except UnicodeDecodeError:
    sys.exit("not UTF-8")
for n, line in enumerate(text.split("\n"), 1):
    if not line.strip() or line.startswith("#"):
        continue
    if line.startswith("["):
        if not re.fullmatch(r"\[[^\[\]\x00-\x1f]+\]", line):
            errors.append(f"line {n}: bad group header {line!r}")
        if group is None and line != "[Desktop Entry]":
            errors.append(f"line {n}: the first group must be [Desktop Entry]")
        group = line
        continue
    if group is None:
        errors.append(f"line {n}: a key before any group")
        continue
    m = re.fullmatch(r"([A-Za-z0-9-]+)(\[[A-Za-z_@.]+\])? *= *(.*)", line)
    if not m:
        errors.append(f"line {n}: not key=value: {line!r}")
        continue
    if group != "[Desktop Entry]":
        continue
    key, loc, value = m.group(1), m.group(2) or "", m.group(3)
    if key + loc in entry:
        errors.append(f"line {n}: {key}{loc} given twice")
    if key not in known and not key.startswith("X-"):
        errors.append(f"line {n}: unknown key {key}")
    if key in booleans and value not in ("true", "false"):
        errors.append(f"line {n}: {key} must be true or false, not {value!r}")
    if key in lists and not value.endswith(";"):
        errors.append(f"line {n}: the list {key} must end with ';'")
    entry[key + loc] = value
for key in ("Type", "Name", "Exec"):
    if key not in entry:
        errors.append(f"{key} is required")
if entry.get("Type") != "Application":
    errors.append(f"Type is {entry.get('Type')!r}, expected Application")
if entry.get("Version") not in (None, "1.0", "1.1", "1.2", "1.3", "1.4", "1.5"):
    errors.append(f"Version {entry.get('Version')!r} is not a spec version")
cats = [c for c in entry.get("Categories", "").split(";") if c]
if not set(cats) & main_categories:
    errors.append(f"Categories {cats} has no main category")
# Exec: the program (first word, no field codes in it) is the installed manager.
prog = entry.get("Exec", "").split()[0] if entry.get("Exec") else ""
if "%" in prog or "=" in prog:
    errors.append(f"Exec's program {prog!r} is not a plain program name")
elif not os.access(os.path.join(prefix, "bin", os.path.basename(prog)), os.X_OK):
    errors.append(f"Exec runs {prog!r}, which the install did not put in bin/")
for code in re.findall(r"%.", entry.get("Exec", "")):
    if code not in ("%f", "%F", "%u", "%U", "%i", "%c", "%k", "%%"):
        errors.append(f"Exec has the invalid field code {code}")
if entry.get("TryExec") and os.path.basename(entry["TryExec"]) != os.path.basename(prog):
    errors.append("TryExec names another program than Exec")
# Icon: a name (no extension, no path) that an installed theme icon has.
icon = entry.get("Icon", "")
if not icon or "/" in icon or "." in icon:
    errors.append(f"Icon {icon!r} should be a theme icon name")
elif not os.path.exists(os.path.join(prefix, "share/icons/hicolor/scalable/apps", icon + ".svg")):
    errors.append(f"no installed hicolor icon named {icon!r}")
if entry.get("Terminal") != "false":
    errors.append("Terminal should be false for a GUI program")
print("\n".join(errors), file=sys.stderr)
sys.exit(1 if errors else 0)
PY
if command -v desktop-file-validate > /dev/null; then
	desktop-file-validate "$desktop" || fail "desktop-file-validate rejects the entry"
else
	note "desktop-file-validate not installed (desktop-file-utils): the built-in checks only"
fi
echo "PASS"
