#!/bin/sh
# test_install.sh SRCDIR SHIP_DAEMON CC -- a system build installed into a
# temporary DESTDIR: every file in its usual place, a versioned soname and
# only pagemap_* exported, no crash hook, the system default socket, the
# installed units verify (man pages found in the DESTDIR), the installed
# example config starts the installed daemon; then an outside program
# (examples/poll_recall.c) is built against the installed library with
# pkg-config (shared and static) and with find_package(pagemap), and each
# build answers a recall from that daemon; so does the example of
# libpagemap(3), built from the page alone. A crash-point build refuses to
# install.
set -eu
SRC=$1 SHIP_DAEMON=$2 CC=$3
. "$(dirname "$0")/lib.sh"

B=$T/build D=$T/root
unset DESTDIR CFLAGS LDFLAGS PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR || true
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DPAGEMAP_EMBEDDED_DEFAULT=OFF -DPAGEMAP_CRASH_POINTS=OFF \
	-DPAGEMAP_SANITIZE=OFF -DCMAKE_INSTALL_PREFIX=/usr \
	>"$T/configure.log" 2>&1 || fail "configure"
cmake --build "$B" -j2 --target pagemapd pagemapctl pagemap pagemap_static \
	>"$T/build.log" 2>&1 || fail "build"
DESTDIR=$D cmake --install "$B" >"$T/install.log" 2>&1 || fail "install"

# --- where everything went (prefix /usr: GNUInstallDirs' multiarch libdir,
# /etc for the configuration) ---
pc=$(find "$D" -name libpagemap.pc)
[ -n "$pc" ] || fail "no libpagemap.pc installed"
LIBDIR=$(dirname "$(dirname "$pc")")
for f in usr/sbin/pagemapd usr/bin/pagemapctl usr/include/pagemap.h \
	"${LIBDIR#$D/}/libpagemap.so.0.1.0" "${LIBDIR#$D/}/libpagemap.a" \
	"${LIBDIR#$D/}/cmake/pagemap/pagemapConfig.cmake" \
	"${LIBDIR#$D/}/cmake/pagemap/pagemapConfigVersion.cmake" \
	usr/lib/systemd/system/pagemapd.service \
	usr/lib/systemd/system/pagemapd.socket \
	usr/lib/sysusers.d/pagemapd.conf etc/pagemapd/pagemapd.conf \
	usr/share/man/man8/pagemapd.8 usr/share/man/man8/pagemapctl.8 \
	usr/share/man/man3/libpagemap.3 usr/share/man/man5/pagemapd.conf.5 \
	usr/share/bash-completion/completions/pagemapctl; do
	[ -f "$D/$f" ] || fail "not installed: /$f"
done
[ -L "$LIBDIR/libpagemap.so" ] && [ -L "$LIBDIR/libpagemap.so.0" ] ||
	fail "libpagemap.so symlinks missing"
readelf -d "$LIBDIR/libpagemap.so.0.1.0" | grep -q 'SONAME.*\[libpagemap\.so\.0\]' ||
	fail "soname is not libpagemap.so.0"
nm -D --defined-only "$LIBDIR/libpagemap.so.0.1.0" | awk '$2 ~ /[TDBR]/ { sub(/@.*/, "", $3); print $3 }' \
	>"$T/exports"
grep -q '^pagemap_connect$' "$T/exports" || fail "pagemap_connect not exported"
if grep -v '^pagemap_[a-z]' "$T/exports" | grep -v '^LIBPAGEMAP_0$' | grep -q .; then
	fail "exports beyond pagemap_*: $(grep -v '^pagemap_[a-z]' "$T/exports")"
fi
# every exported function has its page name, which opens libpagemap(3)
for fn in $(grep '^pagemap_' "$T/exports"); do
	page=$D/usr/share/man/man3/$fn.3
	[ -f "$page" ] || fail "no man page name for $fn"
	grep -qx '.so man3/libpagemap.3' "$page" || fail "$fn.3 does not open libpagemap(3)"
done
if command -v man >/dev/null; then
	MANPATH=$D/usr/share/man man pagemap_map 2>/dev/null | grep -q 'pagemap_map' ||
		fail "man pagemap_map does not show libpagemap(3)"
fi
if grep -q PAGEMAPD_CRASH_AFTER "$D/usr/sbin/pagemapd"; then
	fail "the installed daemon has the crash-point hook"
fi
if grep -q PAGEMAPD_FAULT "$D/usr/sbin/pagemapd"; then
	fail "the installed daemon has the fault-injection hook"
fi
"$D/usr/sbin/pagemapd" --help | grep -q /run/pagemapd/pagemapd.sock ||
	fail "the installed daemon's default socket is not /run/pagemapd/pagemapd.sock"
export LD_LIBRARY_PATH="$LIBDIR"
"$D/usr/bin/pagemapctl" --help | grep -q /run/pagemapd/pagemapd.sock ||
	fail "the installed pagemapctl's default socket is not /run/pagemapd/pagemapd.sock"
grep -qx "ExecStart=/usr/sbin/pagemapd --config /etc/pagemapd/pagemapd.conf" \
	"$D/usr/lib/systemd/system/pagemapd.service" || fail "installed ExecStart"

# --- the installed units verify; their man: links resolve in $D ---
if command -v systemd-analyze >/dev/null; then
	mkdir "$T/units"
	cp "$D/usr/lib/systemd/system/pagemapd.socket" "$T/units/"
	sed "s|^ExecStart=/usr/sbin/|ExecStart=$D/usr/sbin/|" \
		"$D/usr/lib/systemd/system/pagemapd.service" \
		>"$T/units/pagemapd.service"
	MANPATH="$D/usr/share/man" systemd-analyze verify \
		"$T/units/pagemapd.socket" "$T/units/pagemapd.service" \
		>"$T/verify.log" 2>&1 || fail "systemd-analyze verify"
	[ -s "$T/verify.log" ] && fail "systemd-analyze verify warned"
fi

# --- the installed daemon on the installed example config, moved to $T ---
S=$T/pagemapd.sock
sed -e "s|^socket = .*|socket = $S|" -e "s|^#runtime_dir = .*|runtime_dir = $T/run|" \
	-e "s|^path = /var/lib/pagemapd/|path = $T/|" -e "s|^size = 1G|size = 64M|" \
	"$D/etc/pagemapd/pagemapd.conf" >"$T/pagemapd.conf"
start_daemon "$T/daemon.log" "$D/usr/sbin/pagemapd" --config "$T/pagemapd.conf"
ctl() { "$D/usr/bin/pagemapctl" --socket "$S" "$@"; }
ctl file create default/f --size 4M >/dev/null || fail "file create"

# --- the outside program, three ways ---
export PKG_CONFIG_SYSROOT_DIR="$D" PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
pkg-config --exact-version 0.1.0 libpagemap || fail "pkg-config libpagemap"
# shellcheck disable=SC2046
"$CC" -std=c11 -Wall -Werror -o "$T/pc_shared" "$SRC/examples/poll_recall.c" \
	$(pkg-config --cflags --libs libpagemap) >"$T/cc.log" 2>&1 ||
	fail "pkg-config build"
# shellcheck disable=SC2046
"$CC" -std=c11 -Wall -Werror -o "$T/pc_static" "$SRC/examples/poll_recall.c" \
	$(pkg-config --static --cflags --libs libpagemap |
		sed 's/-lpagemap /-l:libpagemap.a /') >>"$T/cc.log" 2>&1 ||
	fail "pkg-config static build"
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH
cmake -S "$SRC/examples" -B "$T/cmake_build" -DCMAKE_PREFIX_PATH="$D/usr" \
	-DCMAKE_C_COMPILER="$CC" >"$T/cmake_example.log" 2>&1 ||
	fail "find_package(pagemap) configure"
cmake --build "$T/cmake_build" >>"$T/cmake_example.log" 2>&1 ||
	fail "find_package(pagemap) build"
cp "$T/cmake_build/poll_recall" "$T/cmake_shared"

ldd "$T/pc_shared" | grep -q "libpagemap.so.0 => $LIBDIR/" ||
	fail "pc_shared does not load the installed libpagemap"
if ldd "$T/pc_static" | grep -q libpagemap; then
	fail "pc_static loads libpagemap.so"
fi
env -u LD_LIBRARY_PATH ldd "$T/cmake_shared" |
	grep -q "libpagemap.so.0 => $LIBDIR/" ||
	fail "cmake_shared does not load the installed libpagemap"

for prog in pc_shared pc_static cmake_shared; do
	rm -f "$T/ex.out"
	mkfifo "$T/ex.out"
	"$T/$prog" --socket "$S" default/f "from $prog" >"$T/ex.out" \
		2>>"$T/example.log" &
	pid=$!
	exec 4<"$T/ex.out"
	read -r word _ _ lease _ <&4 || true
	[ "$word" = mapped ] || fail "$prog did not map"
	ctl lease revoke "$lease" --timeout 30 || fail "revoke for $prog"
	cat <&4 >"$T/ex.txt"
	exec 4<&-
	wait "$pid" || fail "$prog exited with $?"
	expect_in "$T/ex.txt" "recall of lease $lease (revoke"
	[ "$(ctl read default/f --length ${#prog} --offset 5)" = "$prog" ] ||
		fail "$prog's bytes are not in the file"
done
# --- the man page's own example, built with the installed header and
# pkg-config alone: its code as the page shows it, wrapped in includes and
# main(), with one line added to say when it has mapped ---
man=$D/usr/share/man/man3/libpagemap.3
awk '/^\.SH EXAMPLES/ { ex = 1 } ex && /^\.EX/ { inb = 1; next }
	inb && /^\.EE/ { exit } inb { print }' "$man" |
	sed -e 's/\\e/\\/g' -e 's/\\-/-/g' >"$T/man_body.c"
[ -s "$T/man_body.c" ] || fail "no example in libpagemap.3"
{
	printf '#include <poll.h>\n#include <stdint.h>\n#include <stdio.h>\n'
	printf '#include <stdlib.h>\n#include <string.h>\n#include <pagemap.h>\n'
	awk 'f == 0 { print } f == 0 && /^}$/ { f = 1; print "int main(void) {"; next }
		f == 1 { print }
		f == 1 && /pagemap_persist\(/ { print "printf(\"mapped\\n\"); fflush(stdout);" }' \
		"$T/man_body.c"
	printf 'return 0;\n}\n'
} >"$T/man_example.c"
export PKG_CONFIG_SYSROOT_DIR="$D" PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
# shellcheck disable=SC2046
"$CC" -std=c11 -D_DEFAULT_SOURCE -Wall -Wno-unused-parameter -Werror \
	-o "$T/man_example" "$T/man_example.c" \
	$(pkg-config --cflags --libs libpagemap) >"$T/man_cc.log" 2>&1 ||
	fail "the man page's example does not build"
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH
ctl file create default/data --size 2M >/dev/null || fail "file create data"
rm -f "$T/man.out"
mkfifo "$T/man.out"
PAGEMAP_SOCKET=$S "$T/man_example" >"$T/man.out" 2>>"$T/example.log" &
pid=$!
exec 4<"$T/man.out"
read -r word <&4 || true
[ "$word" = mapped ] || fail "the man page's example did not map"
lease=$(ctl --json lease ls default/data | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -n 1)
[ -n "$lease" ] || fail "no lease of the man page's example"
ctl lease revoke "$lease" --timeout 30 || fail "revoke the man example's lease"
exec 4<&-
wait "$pid" || fail "the man page's example exited with $?"
[ "$(ctl read default/data --length 5)" = hello ] ||
	fail "the man page's example did not write hello"
stop_daemon || fail "the installed pagemapd exited with $?"

# A build with the crash-point test hook refuses to install.
cmake -S "$SRC" -B "$T/dev" -DPAGEMAP_CRASH_POINTS=ON >"$T/dev.log" 2>&1 ||
	fail "configure a crash-point build"
if cmake --install "$T/dev" --prefix "$T/never" >"$T/dev_install.log" 2>&1; then
	fail "a crash-point build installed"
fi
expect_in "$T/dev_install.log" "-DPAGEMAP_CRASH_POINTS=OFF"
[ ! -e "$T/never" ] || fail "a crash-point build installed files"
echo "ok: install layout, units, config, pkg-config and find_package builds"
