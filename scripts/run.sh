#!/bin/sh
# run.sh [pagemapd options] -- install what is missing, build, and run the
# daemon in the foreground. With no options it serves the embedded default:
# region "default" in .run/default.pmem (a sparse 1 GiB data file, created
# on first start, its metadata in .run/default.pmem.meta; a default.pmem
# of format version 1 is refused until `build/pagemapctl region convert
# .run/default.pmem`) and the socket .run/pagemapd.sock, all in this
# checkout.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
exec build/pagemapd "$@"
