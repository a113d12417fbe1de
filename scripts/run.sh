#!/bin/sh
# run.sh [pagemapd options] -- install what is missing, build, and run the
# daemon in the foreground. With no options it serves the embedded default:
# region "default" in .run/default.pmem (a sparse 1 GiB file, created on
# first start) and the socket .run/pagemapd.sock, both in this checkout.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
exec build/pagemapd "$@"
