# lib.sh -- shared by the shell tests of tests/ship (sourced, POSIX sh).
#
# Each test gets a fresh folder $T (removed at exit, with any daemon it
# started), fails with `fail MESSAGE` (exit 1) and skips with `skip
# MESSAGE` (exit 77, ctest's SKIP_RETURN_CODE).

T=$(mktemp -d /tmp/pagemap-ship.XXXXXX)
DAEMON_PID=
SUPERVISOR=
cleanup() {
	[ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null
	[ -n "$SUPERVISOR" ] && wait "$SUPERVISOR" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/*.log; do
		[ -f "$f" ] && { echo "--- $f" >&2; cat "$f" >&2; }
	done
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# start_daemon LOG [--activate SOCKET] CMD...: run CMD under ship_daemon
# and return once it has sent READY=1; sets DAEMON_PID and SUPERVISOR.
start_daemon() {
	log=$1
	shift
	rm -f "$T/ready"
	mkfifo "$T/ready"
	if [ "$1" = --activate ]; then
		sock=$2
		shift 2
		"$SHIP_DAEMON" --activate "$sock" "$log" "$@" >"$T/ready" &
	else
		"$SHIP_DAEMON" "$log" "$@" >"$T/ready" &
	fi
	SUPERVISOR=$!
	read -r word DAEMON_PID <"$T/ready" || true
	[ "$word" = ready ] || fail "daemon did not become ready: $*"
}

# stop_daemon: SIGTERM, wait; prints nothing, returns its exit status.
stop_daemon() {
	kill -TERM "$DAEMON_PID"
	DAEMON_PID=
	st=0
	wait "$SUPERVISOR" || st=$?
	SUPERVISOR=
	return $st
}

# expect_in FILE TEXT: FILE contains the fixed string TEXT.
expect_in() {
	grep -qF -- "$2" "$1" || fail "$1 lacks '$2'"
}
