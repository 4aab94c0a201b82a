# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Kernel modules with their dependencies, in load order, from modules.dep.
# Shared by the sandbox's L1 initramfs and the guest tests' initramfs.

# modules_resolve MODDIR NAME...: print module paths (relative to MODDIR),
# dependencies first, each once.
modules_resolve() {
	local moddir=$1; shift
	awk -v want="$*" '
	function base(p,   b) { b = p; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b); gsub(/-/, "_", b); return b }
	function visit(m,   i, n, d) {
		if (m in seen) return
		seen[m] = 1
		if (!(m in path)) { print "missing:" m; return }
		n = split(deps[m], d, " ")
		for (i = n; i >= 1; i--) visit(base(d[i]))
		print path[m]
	}
	{ sub(/:$/, "", $1); m = base($1); path[m] = $1; $1 = ""; deps[m] = $0 }
	END { n = split(want, w, " "); for (i = 1; i <= n; i++) { x = w[i]; gsub(/-/, "_", x); visit(x) } }
	' "$moddir/modules.dep"
}

# modules_copy MODDIR DEST NAME...: copy (decompressed) modules into DEST and
# print their file names in load order.
modules_copy() {
	local moddir=$1 dest=$2 rel name; shift 2
	while read -r rel; do
		case $rel in missing:*) echo "modules: no module ${rel#missing:} in $moddir" >&2; return 1 ;; esac
		name=$(basename "$rel"); name=${name%.xz}; name=${name%.zst}
		case $rel in
		*.xz) xz -dc "$moddir/$rel" > "$dest/$name" ;;
		*.zst) zstd -qdc "$moddir/$rel" > "$dest/$name" ;;
		*) cp "$moddir/$rel" "$dest/$name" ;;
		esac
		echo "$name"
	done < <(modules_resolve "$moddir" "$@")
}
