#!/usr/bin/env bash
# Configure and build Hutch.  Usage: scripts/build.sh [BUILD_DIR] [cmake options...]
# Defaults: build/ with -Werror.  CI also builds build-asan/ with HUTCH_SANITIZE=ON.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build}
shift || true
cmake -S "$top" -B "$dir" -DHUTCH_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
