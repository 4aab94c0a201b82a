#!/bin/sh
# Smoke-run the block-format fuzz targets: seed corpora made by qemu-img,
# then SECONDS_PER_TARGET (default 20) seconds each.
#   tests/fuzz/run-block-fuzz.sh <build-dir-with-HUTCH_FUZZ=ON> [seconds]
# Exit status is non-zero if any target found a crash; crash inputs are
# left in <build-dir>/fuzz-block/crashes/.
set -eu
build=${1:?usage: $0 build-dir [seconds]}
secs=${2:-${SECONDS_PER_TARGET:-20}}
work=$build/fuzz-block
rm -rf "$work/seed"
mkdir -p "$work/seed" "$work/crashes"

seed() { # name qemu-img-args...
	name=$1; shift
	qemu-img "$@" >/dev/null 2>&1 || true
}
if command -v qemu-img >/dev/null; then
	s=$work/seed
	head -c 200000 /dev/urandom > "$s/data.raw"
	seed v3 create -f qcow2 "$s/v3.qcow2" 1M
	seed v2 create -f qcow2 -o compat=0.10 "$s/v2.qcow2" 1M
	seed c512 convert -O qcow2 -o cluster_size=512 "$s/data.raw" "$s/c512.qcow2"
	seed comp convert -c -O qcow2 -o cluster_size=4096 "$s/data.raw" "$s/comp.qcow2"
	seed rc1 create -f qcow2 -o refcount_bits=1,cluster_size=4096 "$s/rc1.qcow2" 64K
	seed back create -f qcow2 -b data.raw -F raw "$s/back.qcow2" 1M
	seed vdi create -f vdi "$s/dyn.vdi" 3M
	seed vdif create -f vdi -o static=on "$s/fix.vdi" 1M
	seed vmdk convert -O vmdk "$s/data.raw" "$s/sparse.vmdk"
	seed vmdks convert -O vmdk -o subformat=streamOptimized "$s/data.raw" "$s/stream.vmdk"
	rm -f "$s/data.raw"
fi
status=0
for t in qcow2 vdi vmdk raw probe; do
	bin=$build/tests/fuzz/fuzz_$t
	[ -x "$bin" ] || bin=$(find "$build" -name "fuzz_$t" -type f -perm -u+x | head -1)
	[ -x "$bin" ] || { echo "fuzz_$t: not built"; status=1; continue; }
	mkdir -p "$work/corpus-$t"
	case $t in
	qcow2) cp "$work"/seed/*.qcow2 "$work/corpus-$t/" 2>/dev/null || true ;;
	vdi) cp "$work"/seed/*.vdi "$work/corpus-$t/" 2>/dev/null || true ;;
	vmdk) cp "$work"/seed/*.vmdk "$work/corpus-$t/" 2>/dev/null || true ;;
	probe) cp "$work"/seed/* "$work/corpus-$t/" 2>/dev/null || true ;;
	esac
	if "$bin" -max_total_time="$secs" -max_len=1048576 -rss_limit_mb=1024 \
		-timeout=10 -artifact_prefix="$work/crashes/$t-" -print_final_stats=1 \
		"$work/corpus-$t" >"$work/$t.log" 2>&1; then
		echo "fuzz_$t: OK, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" | grep -o '[0-9]*$') runs, $(ls "$work/corpus-$t" | wc -l) corpus files"
	else
		echo "fuzz_$t: FAILED (see $work/$t.log)"
		tail -n 30 "$work/$t.log"
		status=1
	fi
done
exit $status
