#!/bin/sh
# test_activation.sh PAGEMAPD PAGEMAPCTL SHIP_DAEMON -- socket activation
# by hand, as pagemapd.socket does it: systemd-socket-activate owns a
# SOCK_SEQPACKET listener and starts the daemon at the first connection,
# passing it as fd 3. The daemon must serve on it (not bind its own), send
# READY=1, STATUS= while a stop waits for grants, and STOPPING=1.
set -eu
PAGEMAPD=$1 PAGEMAPCTL=$2 SHIP_DAEMON=$3
. "$(dirname "$0")/lib.sh"

command -v systemd-socket-activate >/dev/null ||
	skip "systemd-socket-activate not found (scripts/deps.sh installs" \
		"the systemd package)"

S=$T/pagemapd.sock
set -- -E NOTIFY_SOCKET
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
	eval "[ -n \"\${$v+set}\" ]" && set -- "$@" -E "$v"
done
# No --socket: under activation the daemon must not need one. Were fd 3
# ignored it would listen on its build default instead, and nothing below
# could connect to $S.
start_daemon "$T/daemon.log" --activate "$S" \
	systemd-socket-activate --seqpacket -l "$S" "$@" \
	"$PAGEMAPD" --region "r=$T/r.pmem,size=16M,create"
expect_in "$T/daemon.log" "Listening on $S"
expect_in "$T/daemon.log.notify" "READY=1"

ctl() { "$PAGEMAPCTL" --socket "$S" "$@"; }
ctl status >"$T/status" || fail "status over the activated socket"
expect_in "$T/status" "pid: $DAEMON_PID"
ctl region ls >"$T/regions" || fail "region ls"
expect_in "$T/regions" "$T/r.pmem"
ctl file create r/f --size 4M >/dev/null || fail "file create"

# A holder that answers recalls: the stop recalls its grants, says so in
# STATUS=, and completes at the final unpin.
mkfifo "$T/hold.in" "$T/hold.out"
ctl hold r/f <"$T/hold.in" >"$T/hold.out" &
holder=$!
exec 3>"$T/hold.in"
read -r held rest <"$T/hold.out" || true
[ "$held" = held ] || fail "hold did not print its line"
stop_daemon || fail "pagemapd exited with $? after SIGTERM"
# (Its exit status is not checked: after a shutdown recall the daemon may
# be gone before `hold` releases its lease.)
wait "$holder" || true
exec 3>&-
expect_in "$T/daemon.log.notify" "STOPPING=1"
expect_in "$T/daemon.log.notify" "STATUS=stopping: waiting for 2 grant(s)"
# The listener belongs to the activator: the daemon must leave its path.
[ -S "$S" ] || fail "the daemon removed the activated socket $S"
echo "ok: socket activation, READY=1, STATUS=, STOPPING=1"
