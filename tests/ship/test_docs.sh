#!/bin/sh
# test_docs.sh SRCDIR PAGEMAPCTL PAGEMAPD -- every command has its own
# --help (usage, options, exit status), the man pages name every command,
# option, config key and library function and render without warnings, the
# example config shows every key, and bash completion offers every
# command, subcommand and option. The lists come from the programs and
# sources themselves, so a new command or key without docs fails here.
set -eu
SRC=$1 CTL=$2 PAGEMAPD=$3
SHIP_DAEMON=
. "$(dirname "$0")/lib.sh"

# --- the command list, from `pagemapctl --help` ---
"$CTL" --help >"$T/help" || fail "pagemapctl --help"
expect_in "$T/help" "exit status: 0 success, 1 the operation failed"
# "  file create R/NAME --size S ..." -> "file create" (the lower-case
# words before the arguments).
awk '/^  [a-z]/ { n = ""; for (i = 1; i <= NF && $i ~ /^[a-z]+$/; i++)
	n = n (n == "" ? "" : " ") $i; print n }' "$T/help" >"$T/commands"
[ "$(wc -l <"$T/commands")" -ge 19 ] || fail "too few commands: $(cat "$T/commands")"
grep -qx top "$T/commands" || fail "top is not in --help"

while read -r cmd; do
	# shellcheck disable=SC2086
	"$CTL" $cmd --help >"$T/cmd_help" 2>&1 || fail "$cmd --help exits $?"
	head -n 1 "$T/cmd_help" | grep -q "^usage: pagemapctl $cmd" ||
		fail "$cmd --help does not start with its usage"
	expect_in "$T/cmd_help" "exit status: 0 success"
	usage=$(grep "^  $cmd" "$T/help" | head -n 1)
	for opt in $(echo "$usage" | grep -o -- '--[a-z-]*' | sort -u); do
		grep -q "^  $opt " "$T/cmd_help" ||
			fail "$cmd --help does not explain $opt"
		grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" "$SRC/man/pagemapctl.8" ||
			fail "pagemapctl.8 lacks $opt"
	done
	grep -q "^\.SS \"\{0,1\}$cmd\( \|\"\|\$\)" "$SRC/man/pagemapctl.8" ||
		fail "pagemapctl.8 has no section for '$cmd'"
	# -h after the command is the same help.
	# shellcheck disable=SC2086
	"$CTL" $cmd -h | cmp -s - "$T/cmd_help" || fail "$cmd -h differs from --help"
done <"$T/commands"

for group in $(awk 'NF == 2 { print $1 }' "$T/commands" | sort -u); do
	"$CTL" "$group" --help >"$T/group_help" || fail "$group --help"
	for sub in $(awk -v g="$group" '$1 == g { print $2 }' "$T/commands"); do
		grep -q "^  $sub" "$T/group_help" || fail "$group --help lacks $sub"
	done
done

# Usage errors exit 2; the exit codes are documented.
st=0; "$CTL" no-such-command 2>/dev/null || st=$?
[ $st -eq 2 ] || fail "unknown command exits $st, not 2"
st=0; "$CTL" file create 2>/dev/null || st=$?
[ $st -eq 2 ] || fail "missing argument exits $st, not 2"
grep -q '^\.SH EXIT STATUS' "$SRC/man/pagemapctl.8" || fail "no EXIT STATUS"

# --- pagemapd options and config keys ---
"$PAGEMAPD" --help >"$T/dhelp" || fail "pagemapd --help"
for opt in $(grep -o -- '--[a-z-]*' "$T/dhelp" | sort -u); do
	grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" "$SRC/man/pagemapd.8" ||
		fail "pagemapd.8 lacks $opt"
done
grep -o 'strcmp(key, "[a-z_]*")' "$SRC/pagemapd/config.c" |
	sed 's/.*"\(.*\)".*/\1/' | sort -u >"$T/keys"
[ "$(wc -l <"$T/keys")" -ge 10 ] || fail "too few config keys found"
while read -r key; do
	grep -q "^\.BI $key " "$SRC/man/pagemapd.conf.5" ||
		fail "pagemapd.conf.5 does not document the key $key"
	grep -Eq "^#?$key = " "$SRC/systemd/pagemapd.conf" ||
		fail "the example pagemapd.conf does not show the key $key"
done <"$T/keys"

# --- library functions ---
grep -o 'pagemap_[a-z_]*(' "$SRC/include/pagemap.h" | tr -d '(' | sort -u \
	>"$T/functions"
while read -r fn; do
	grep -q "\.BR $fn ()" "$SRC/man/libpagemap.3" ||
		fail "libpagemap.3 does not describe $fn()"
	grep -q "$fn(" "$SRC/man/libpagemap.3" ||
		fail "libpagemap.3 has no synopsis for $fn()"
done <"$T/functions"

# --- the man pages render cleanly ---
if command -v groff >/dev/null; then
	for page in pagemapd.8 pagemapd.conf.5 pagemapctl.8 libpagemap.3; do
		groff -man -ww -z "$SRC/man/$page" >"$T/groff.out" 2>&1 ||
			fail "groff $page"
		[ -s "$T/groff.out" ] && fail "groff warns on $page: $(cat "$T/groff.out")"
	done
fi

# --- bash completion offers every command, subcommand and option ---
command -v bash >/dev/null || { echo "ok (bash absent: completion unchecked)"; exit 0; }
cat >"$T/complete.bash" <<'EOS'
. "$1"
shift
COMP_WORDS=(pagemapctl "$@")
COMP_CWORD=$#
_pagemapctl
printf '%s\n' "${COMPREPLY[@]}"
EOS
complete() { bash "$T/complete.bash" "$SRC/completion/pagemapctl.bash" "$@"; }
complete "" >"$T/c_top"
for g in $(awk '{ print $1 }' "$T/commands" | sort -u); do
	grep -qx "$g" "$T/c_top" || fail "completion lacks the command $g"
done
while read -r cmd; do
	# shellcheck disable=SC2086
	set -- $cmd
	if [ $# -eq 2 ]; then
		complete "$1" "" >"$T/c_sub"
		grep -qx "$2" "$T/c_sub" || fail "completion lacks '$cmd'"
	fi
	# shellcheck disable=SC2086
	complete $cmd -- >"$T/c_opt"
	usage=$(grep "^  $cmd" "$T/help" | head -n 1)
	for opt in $(echo "$usage" | grep -o -- '--[a-z-]*' | sort -u) --json; do
		grep -qx -- "$opt" "$T/c_opt" ||
			fail "completion of '$cmd' lacks $opt"
	done
done <"$T/commands"
echo "ok: $(wc -l <"$T/commands") commands, $(wc -l <"$T/keys") config keys," \
	"$(wc -l <"$T/functions") functions documented"
