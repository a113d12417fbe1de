# pagemapctl(8) completion for bash -- installed as
# share/bash-completion/completions/pagemapctl.
#
# Completes commands, subcommands and options from the same table as
# `pagemapctl --help`, and region, file and lease names by asking the
# daemon (quietly: no daemon, no names).

# _pagemapctl_ask ARGS... -- the first column of a listing, header dropped,
# from the daemon at the --socket given on the command line, if any.
_pagemapctl_ask()
{
	local sock=() i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		if [[ ${COMP_WORDS[i]} == --socket ]]; then
			sock=(--socket "${COMP_WORDS[i + 1]}")
		fi
	done
	"${COMP_WORDS[0]}" "${sock[@]}" "$@" 2>/dev/null |
		awk 'NR > 1 && $1 !~ /^<orphan/ { print $1 }'
}

_pagemapctl()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local global="--socket --json --bytes --no-legend --output --help
		--version"
	local groups="status region file write read hold lease grant client
		blockers top fsck"

	# The command words, skipping global options and their values.
	local cmd=() i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--socket | --output | -o) ((i++)) ;;
		-*) ;;
		*) cmd+=("${words[i]}") ;;
		esac
	done

	case $prev in
	--socket)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--size | --offset | --length | --max-order | --mode | --timeout | \
		--interval | --pid | --output | -o)
		return
		;;
	--lease)
		COMPREPLY=($(compgen -W "$(_pagemapctl_ask lease ls)" -- "$cur"))
		return
		;;
	esac

	if ((${#cmd[@]} == 0)); then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$groups" -- "$cur"))
		fi
		return
	fi

	local sub
	case ${cmd[0]} in
	region) sub="ls info attach convert detach" ;;
	file) sub="create ls stat truncate rm" ;;
	lease) sub="ls revoke" ;;
	grant | client) sub="ls" ;;
	esac
	if [[ -n $sub ]] && ((${#cmd[@]} == 1)); then
		COMPREPLY=($(compgen -W "$sub" -- "$cur"))
		return
	fi

	# Options of the command (as in its --help), then its arguments.
	local name="${cmd[0]}${sub:+ ${cmd[1]}}" opts="" args=""
	case $name in
	"region attach") opts="--size --create --max-order" ;;
	"region detach" | "file truncate" | "lease revoke") opts="--timeout" ;;
	"file create") opts="--size --mode" ;;
	write) opts="--offset" ;;
	read) opts="--offset --length" ;;
	hold) opts="--offset --length --rw --ignore-recall" ;;
	"grant ls") opts="--lease --pid" ;;
	top) opts="--interval" ;;
	fsck) opts="--meta --live --repair --yes" ;;
	"region convert") opts="--meta" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts --socket --json --bytes --no-legend
			--output --help" -- "$cur"))
		return
	fi

	# Which positional argument this is.
	local npos=0 skip=${#cmd[@]}
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--socket | --size | --offset | --length | --max-order | --mode | \
			--meta | \
			--timeout | --interval | --pid | --lease | --output | -o)
			((i++))
			;;
		-*) ;;
		*) ((skip > 0)) && ((skip--)) || ((npos++)) ;;
		esac
	done
	((npos == 0)) || [[ $name == "region attach" && npos -eq 1 ]] || return

	case $name in
	"region info" | "region detach" | "file ls")
		COMPREPLY=($(compgen -W "$(_pagemapctl_ask region ls)" -- "$cur"))
		;;
	"region attach")
		((npos == 1)) && COMPREPLY=($(compgen -f -- "$cur"))
		;;
	fsck | "region convert")
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	"lease revoke")
		COMPREPLY=($(compgen -W "$(_pagemapctl_ask lease ls)" -- "$cur"))
		;;
	"file stat" | "file truncate" | "file rm" | write | read | hold | \
		"file create" | "lease ls" | blockers)
		# R/NAME: regions first, then the files of the chosen region.
		if [[ $cur == */* ]]; then
			local r=${cur%%/*}
			COMPREPLY=($(compgen -P "$r/" -W \
				"$(_pagemapctl_ask file ls "$r")" -- "${cur#*/}"))
		else
			COMPREPLY=($(compgen -S / -W "$(_pagemapctl_ask region ls)" \
				-- "$cur"))
			compopt -o nospace 2>/dev/null
		fi
		;;
	esac
}
complete -F _pagemapctl pagemapctl
