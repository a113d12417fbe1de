#!/bin/sh
# test_units.sh SRCDIR PAGEMAPD -- the systemd units: `systemd-analyze
# verify` passes with nothing on stderr (unknown keys only warn there),
# the hardening keeps the `systemd-analyze security` exposure at most 1.5
# (docs/operations.md reports the number), the contract keys are set, and
# the sysusers.d file makes the user and the group the units name.
set -eu
SRC=$1
PAGEMAPD=$(cd "$(dirname "$2")" && pwd)/$(basename "$2") # ExecStart: absolute
SHIP_DAEMON=
. "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null ||
	skip "systemd-analyze not found (scripts/deps.sh installs the" \
		"systemd package)"

# verify checks that ExecStart= names an executable: point the copy at the
# built daemon (the only change), and leave man pages to the install test.
mkdir "$T/units"
cp "$SRC/systemd/pagemapd.socket" "$T/units/"
sed "s|^ExecStart=/usr/sbin/pagemapd |ExecStart=$PAGEMAPD |" \
	"$SRC/systemd/pagemapd.service" >"$T/units/pagemapd.service"
grep -q "^ExecStart=$PAGEMAPD --config /etc/pagemapd/pagemapd.conf\$" \
	"$T/units/pagemapd.service" ||
	fail "ExecStart is not /usr/sbin/pagemapd --config /etc/pagemapd/pagemapd.conf"
(cd "$T/units" && systemd-analyze verify --man=no \
	"$T/units/pagemapd.socket" "$T/units/pagemapd.service") \
	>"$T/verify.out" 2>"$T/verify.err" || fail "systemd-analyze verify failed"
if [ -s "$T/verify.err" ]; then
	cat "$T/verify.err" >&2
	fail "systemd-analyze verify printed warnings"
fi

# The exposure score of the real unit file.
systemd-analyze security --offline=yes --no-pager \
	"$SRC/systemd/pagemapd.service" >"$T/security.out" 2>&1 ||
	fail "systemd-analyze security failed: $(cat "$T/security.out")"
score=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' \
	"$T/security.out")
[ -n "$score" ] || fail "no exposure score in: $(cat "$T/security.out")"
echo "systemd-analyze security exposure: $score"
awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' ||
	fail "exposure $score is above 1.5"

# Keys the design and docs/operations.md fix.
has() {
	grep -qx -- "$2" "$SRC/systemd/$1" || fail "$1 lacks the line '$2'"
}
has pagemapd.socket "ListenSequentialPacket=/run/pagemapd/pagemapd.sock"
has pagemapd.socket "SocketGroup=pagemap"
has pagemapd.socket "SocketMode=0660"
has pagemapd.service "Type=notify"
has pagemapd.service "RuntimeDirectory=pagemapd"
has pagemapd.service "RuntimeDirectoryPreserve=yes"
has pagemapd.service "StateDirectory=pagemapd"
has pagemapd.service "ConfigurationDirectory=pagemapd"
has pagemapd.service "ProtectSystem=strict"
has pagemapd.service "NoNewPrivileges=yes"
has pagemapd.service "RestrictAddressFamilies=AF_UNIX"
has pagemapd.service "MemoryDenyWriteExecute=yes"
has pagemapd.service "CapabilityBoundingSet="
has pagemapd.service "ReadWritePaths=/var/lib/pagemapd"
grep -q "^TimeoutStopSec=" "$SRC/systemd/pagemapd.service" ||
	fail "no TimeoutStopSec="
# SO_PEERCRED uids would all read as the overflow uid.
if grep -q "^PrivateUsers=yes" "$SRC/systemd/pagemapd.service"; then
	fail "PrivateUsers=yes breaks SO_PEERCRED"
fi

# The user and group exist after systemd-sysusers, as on a real install.
if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$T/root/etc"
	systemd-sysusers --root="$T/root" "$SRC/systemd/pagemapd.sysusers" \
		2>"$T/sysusers.err" || fail "systemd-sysusers: $(cat "$T/sysusers.err")"
	user=$(sed -n 's/^User=//p' "$SRC/systemd/pagemapd.service")
	group=$(sed -n 's/^Group=//p' "$SRC/systemd/pagemapd.service")
	grep -q "^$user:" "$T/root/etc/passwd" || fail "no user $user"
	grep -q "^$group:" "$T/root/etc/group" || fail "no group $group"
fi
echo "ok: units verify, exposure $score"
