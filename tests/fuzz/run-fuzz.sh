#!/bin/sh
# Run the libFuzzer targets, each for a bounded time, with seed corpora made
# at run time: qemu-img images for the image-format targets, programs from
# fuzz_device_seeds for the device targets (AHCI, IDE, virtio-blk, RTC, the UART, the VGA,
# the NICs: e1000 and virtio-net, the i8042, the virtio-input tablet).
#
#   tests/fuzz/run-fuzz.sh BUILD_DIR [TARGET...]
#
# BUILD_DIR was configured with CC=clang -DHUTCH_FUZZ=ON and built with
# `--target fuzz`.  TARGETs are names without "fuzz_" (default: all).
# Environment:
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_JOBS     targets run side by side (default 2)
#
# Inputs in tests/fuzz/regressions/TARGET/ (crashes found before) are run
# first.  Corpora grow in BUILD_DIR/fuzz/corpus-TARGET and are kept, so a
# second run starts where the first stopped.  The exit status is non-zero
# if any target crashed, leaked, hung (10 s per input) or ran out of
# memory; the reproducer's path and the command to replay it are printed.
set -eu
build=${1:?usage: $0 build-dir [target...]}
shift
src=$(cd "$(dirname "$0")" && pwd)
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
targets=${*:-"ahci ide virtio_blk virtio_net rtc uart fw_cfg vga e1000 i8042 virtio_input qcow2 vdi vmdk raw probe"}
work=$build/fuzz
mkdir -p "$work/seed" "$work/crashes"

find_bin() { # name
	b=$build/tests/fuzz/$1
	[ -x "$b" ] || b=$(find "$build" -name "$1" -type f -perm -u+x | head -1)
	echo "$b"
}

# Image seeds, for the format targets.
rm -f "$work"/seed/*
if command -v qemu-img >/dev/null; then
	s=$work/seed
	head -c 200000 /dev/urandom > "$s/data.raw"
	q() { qemu-img "$@" >/dev/null 2>&1 || true; }
	q create -f qcow2 "$s/v3.qcow2" 1M
	q create -f qcow2 -o compat=0.10 "$s/v2.qcow2" 1M
	q convert -O qcow2 -o cluster_size=512 "$s/data.raw" "$s/c512.qcow2"
	q convert -c -O qcow2 -o cluster_size=4096 "$s/data.raw" "$s/comp.qcow2"
	q create -f qcow2 -o refcount_bits=1,cluster_size=4096 "$s/rc1.qcow2" 64K
	q create -f qcow2 -b data.raw -F raw "$s/back.qcow2" 1M
	q create -f vdi "$s/dyn.vdi" 3M
	q create -f vdi -o static=on "$s/fix.vdi" 1M
	q convert -O vmdk "$s/data.raw" "$s/sparse.vmdk"
	q convert -O vmdk -o subformat=streamOptimized "$s/data.raw" "$s/stream.vmdk"
	rm -f "$s/data.raw"
fi

# Prepare one target's corpus; echo its libFuzzer options.
prepare() { # target corpus
	case $1 in
	ahci|ide|virtio_blk|virtio_net|rtc|uart|fw_cfg|vga|e1000|i8042|virtio_input)
		case $1 in ide) model=piix3-ide ;; virtio_blk) model=virtio-blk ;; uart) model=uart16550 ;;
		virtio_net) model=virtio-net ;; virtio_input) model=virtio-input ;;
		*) model=$1 ;; esac
		"$(find_bin fuzz_device_seeds)" "$model" "$2" || return 1
		echo "-max_len=16384" ;;
	qcow2|vdi|vmdk)
		cp "$work"/seed/*."$1" "$2/" 2>/dev/null || true
		echo "-max_len=1048576" ;;
	probe)
		cp "$work"/seed/* "$2/" 2>/dev/null || true
		echo "-max_len=1048576" ;;
	*)
		echo "-max_len=1048576" ;;
	esac
}

# Run one target; its one-line result goes to $work/$t.result.
run_one() { # target
	t=$1
	bin=$(find_bin "fuzz_$t")
	log=$work/$t.log
	res=$work/$t.result
	if [ ! -x "$bin" ]; then
		echo "fuzz_$t: FAILED: not built (cmake --build $build --target fuzz)" > "$res"
		return
	fi
	corpus=$work/corpus-$t
	mkdir -p "$corpus"
	if ! opts=$(prepare "$t" "$corpus"); then
		echo "fuzz_$t: FAILED: no seed corpus" > "$res"
		return
	fi
	common="-rss_limit_mb=2048 -timeout=10 -artifact_prefix=$work/crashes/$t-"
	reg=$src/regressions/$t
	if [ -d "$reg" ] && [ -n "$(ls "$reg")" ]; then
		# shellcheck disable=SC2086
		if ! "$bin" $common "$reg"/* > "$work/$t.regressions.log" 2>&1; then
			echo "$work/$t.regressions.log" > "$work/$t.logfile"
			{
				echo "fuzz_$t: FAILED: a regression input crashes again (log: $work/$t.regressions.log)"
				art=$(sed -n 's/^Running: //p' "$work/$t.regressions.log" | tail -1)
				echo "  reproducer: $art"
				echo "  replay: $bin $art"
			} > "$res"
			return
		fi
	fi
	echo "$log" > "$work/$t.logfile"
	# shellcheck disable=SC2086
	if "$bin" $opts $common -max_total_time="$secs" -print_final_stats=1 \
		"$corpus" > "$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
		echo "fuzz_$t: OK, $execs execs in ${secs}s ($rate/s), $cov, $(ls "$corpus" | wc -l) corpus files" > "$res"
	else
		art=$(ls -t "$work/crashes/$t-"* 2>/dev/null | head -1)
		{
			echo "fuzz_$t: FAILED (log: $log)"
			grep -m1 -E '^==[0-9]+==ERROR|^SUMMARY|deadly signal|timeout after|out-of-memory' "$log" || true
			echo "  reproducer: ${art:-none written}"
			[ -z "$art" ] || echo "  replay: $bin $art"
		} > "$res"
	fi
}

status=0
# shellcheck disable=SC2086 # a list of words
set -- $targets
while [ $# -gt 0 ]; do
	n=0
	batch=
	while [ $# -gt 0 ] && [ "$n" -lt "$jobs" ]; do
		rm -f "$work/$1.result" "$work/$1.logfile"
		run_one "$1" &
		batch="$batch $1"
		n=$((n + 1))
		shift
	done
	wait
	for t in $batch; do
		if [ -f "$work/$t.result" ]; then
			cat "$work/$t.result"
		else
			echo "fuzz_$t: FAILED: no result"
		fi
		grep -q "^fuzz_$t: OK" "$work/$t.result" 2>/dev/null || {
			status=1
			[ ! -f "$work/$t.logfile" ] || tail -n 40 "$(cat "$work/$t.logfile")"
		}
	done
done
exit $status
