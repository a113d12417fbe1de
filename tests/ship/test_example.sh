#!/bin/sh
# test_example.sh PAGEMAPD PAGEMAPCTL POLL_RECALL SHIP_DAEMON -- the
# example examples/poll_recall.c against a real daemon: it takes a lease,
# maps, writes, and answers a recall from a revoke, a truncate and the
# daemon's shutdown with exit 0; what it wrote is in the file.
set -eu
PAGEMAPD=$1 PAGEMAPCTL=$2 POLL_RECALL=$3 SHIP_DAEMON=$4
. "$(dirname "$0")/lib.sh"

S=$T/pagemapd.sock
ctl() { "$PAGEMAPCTL" --socket "$S" "$@"; }

# run_example FILE MESSAGE: start poll_recall on FILE and wait for its
# "mapped" line; sets EXAMPLE (pid) and LEASE.
run_example() {
	rm -f "$T/ex.out"
	mkfifo "$T/ex.out"
	"$POLL_RECALL" --socket "$S" "$1" "$2" >"$T/ex.out" 2>>"$T/example.log" &
	EXAMPLE=$!
	exec 4<"$T/ex.out"
	read -r word target _ LEASE _ <&4 || true
	[ "$word" = mapped ] && [ "$target" = "$1" ] ||
		fail "poll_recall did not map $1"
}

# finish_example: the rest of its output into $T/ex.txt; its status 0.
finish_example() {
	cat <&4 >"$T/ex.txt"
	exec 4<&-
	wait "$EXAMPLE" || fail "poll_recall exited with $?"
	expect_in "$T/ex.txt" "recall of lease $LEASE ($1"
	expect_in "$T/ex.txt" "returned"
}

start_daemon "$T/daemon.log" "$PAGEMAPD" --socket "$S" \
	--region "r=$T/r.pmem,size=16M,create"
ctl file create r/f --size 4M >/dev/null || fail "file create"

# 1. An administrator revokes the lease.
run_example r/f "revoked but written"
ctl lease revoke "$LEASE" --timeout 30 || fail "lease revoke"
finish_example revoke
[ "$(ctl read r/f --length 19)" = "revoked but written" ] ||
	fail "the example's persisted bytes are not in the file"
ctl lease ls >"$T/leases"
[ "$(wc -l <"$T/leases")" -eq 1 ] || fail "a lease is left: $(cat "$T/leases")"

# 2. A truncate past its mapping recalls it.
run_example r/f "second"
ctl file truncate r/f 0 --timeout 30 >/dev/null || fail "truncate"
finish_example truncate

# 3. The daemon's shutdown recalls it; both exit 0.
ctl file truncate r/f 2M >/dev/null || fail "regrow"
run_example r/f "third"
stop_daemon || fail "pagemapd exited with $?"
finish_example shutdown
echo "ok: poll_recall answers revoke, truncate and shutdown"
