#!/bin/sh
# build.sh [DIR [cmake options...]] -- configure and build into DIR
# (default build/).
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
[ $# -gt 0 ] && shift
cmake -S . -B "$dir" "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
