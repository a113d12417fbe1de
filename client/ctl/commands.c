/* commands.c -- the table of pagemapctl's commands (DESIGN §7): names,
 * arguments, options and help texts. */
#include "commands.h"

#include <stddef.h>

#include "cmd_file.h"
#include "cmd_fsck.h"
#include "cmd_lease.h"
#include "cmd_region.h"
#include "cmd_rw.h"
#include "cmd_status.h"
#include "options.h"
#include "top.h"

#define H_TIMEOUT                                                              \
	"  --timeout SECS  fail after SECS, naming what still "                \
	"blocks;\n                  the operation itself stays pending (0, "   \
	"the default:\n                  wait for ever)\n"

const struct command commands[] = {
	{"status", "", 0, 0, 0, cmd_status,
	 "Show the daemon's version, pid, uptime, counts and handshake limits.",
	 NULL},
	{"region ls", "", 0, 0, 0, cmd_region_ls,
	 "List the attached regions, sorted by name.", NULL},
	{"region info", "R", 0, 1, 1, cmd_region_info,
	 "Show region R: path, kind, uuid, sizes, owner, mode, pins.", NULL},
	{"region attach", "R PATH [--size S] [--create] [--max-order N]",
	 O(OPT_SIZE) | O(OPT_CREATE) | O(OPT_MAX_ORDER), 2, 2,
	 cmd_region_attach,
	 "Attach the region file or devdax device PATH as R (root only).",
	 "A relative PATH is made absolute first. An existing region is "
	 "attached as it\nis, never reformatted. Prints the region.\n\n"
	 "options:\n"
	 "  --size S        size of the file --create makes\n"
	 "  --create        create and format PATH when it does not exist\n"
	 "  --max-order N   largest folio order of a new region (0-18, "
	 "default 9)\n"},
	{"region convert", "PATH [--meta FILE]", O(OPT_META), 1, 1,
	 cmd_region_convert,
	 "Convert the version 1 region file PATH (offline) to a data file "
	 "and a\nmetadata file.",
	 "Needs no daemon; a region one serves is refused. Moves the "
	 "metadata out of\nPATH into PATH.meta (format version 2), marks "
	 "PATH with the region's uuid\nand zeroes the old metadata area of "
	 "PATH; the data stays where it is. Each\nstep is durable before "
	 "the next: run it again after a crash and it\nfinishes the job.\n\n"
	 "options:\n"
	 "  --meta FILE  the metadata file to write (default PATH.meta; "
	 "required for\n"
	 "               a devdax device)\n"},
	{"region detach", "R [--timeout SECS]", O(OPT_TIMEOUT), 1, 1,
	 cmd_region_detach,
	 "Detach R (root only), after every grant on it has come back.",
	 "Recalls every grant of the region and waits for the final unpin.\n\n"
	 "options:\n" H_TIMEOUT},
	{"file create", "R/NAME --size S [--mode OCTAL]",
	 O(OPT_SIZE) | O(OPT_MODE), 1, 1, cmd_file_create,
	 "Create the file NAME in region R and print it.",
	 "options:\n"
	 "  --size S       size in bytes (required)\n"
	 "  --mode OCTAL   permission bits (default 0644)\n"},
	{"file ls", "R", 0, 1, 1, cmd_file_ls,
	 "List the files of R by name; removed-but-held files show as "
	 "<orphan:INO>.",
	 NULL},
	{"file stat", "R/NAME", 0, 1, 1, cmd_file_stat,
	 "Show a file: size, allocation, owner, mode, extents, leases, "
	 "grants.",
	 NULL},
	{"file truncate", "R/NAME S [--timeout SECS]", O(OPT_TIMEOUT), 2, 2,
	 cmd_file_truncate, "Set the size of R/NAME to S bytes and print it.",
	 "Shrinking past granted folios recalls them and frees the blocks at "
	 "the final\nunpin.\n\noptions:\n" H_TIMEOUT},
	{"file rm", "R/NAME", 0, 1, 1, cmd_file_rm,
	 "Remove R/NAME; its blocks are freed when the last lease ends.", NULL},
	{"write", "R/NAME [--offset N]", O(OPT_OFFSET), 1, 1, cmd_write,
	 "Copy stdin into R/NAME through a write lease and persist it.",
	 "Maps, copies, persists and unmaps at most 64 MiB at a time. The "
	 "file never\ngrows: data that would run past its end is refused "
	 "before anything is written.\n\noptions:\n"
	 "  --offset N   first byte to write (default 0)\n"},
	{"read", "R/NAME [--offset N] [--length N]",
	 O(OPT_OFFSET) | O(OPT_LENGTH) | CMD_NO_JSON, 1, 1, cmd_read,
	 "Copy the bytes of R/NAME to stdout through a read lease.",
	 "--json does not apply (the output is the raw bytes).\n\noptions:\n"
	 "  --offset N   first byte to read (default 0)\n"
	 "  --length N   bytes to read (default: to the end; clamped at "
	 "it)\n"},
	{"hold", "R/NAME [--offset N] [--length N] [--rw] [--ignore-recall]",
	 O(OPT_OFFSET) | O(OPT_LENGTH) | O(OPT_RW) | O(OPT_IGNORE_RECALL), 1, 1,
	 cmd_hold,
	 "Take a lease, map a range and keep it until told to let go.",
	 "Prints one line once the range is mapped:\n"
	 "  held R/NAME lease ID offset O length L folios F\n"
	 "then holds until stdin ends, SIGINT or SIGTERM arrives, or the "
	 "lease is\nrecalled (revoke, truncate, detach, shutdown).\n\n"
	 "options:\n"
	 "  --offset N        start of the range (default 0)\n"
	 "  --length N        bytes (default: to the end of the file)\n"
	 "  --rw              take a write lease (default: read)\n"
	 "  --ignore-recall   report a recall on stderr and keep holding\n"},
	{"lease ls", "[R[/NAME]]", 0, 0, 1, cmd_lease_ls,
	 "List live leases (all, of region R or of file R/NAME) by id.", NULL},
	{"lease revoke", "ID [--timeout SECS]", O(OPT_TIMEOUT), 1, 1,
	 cmd_lease_revoke,
	 "Recall every grant of lease ID and end it at the last return.",
	 "The holder, the file's owner and root may "
	 "revoke.\n\noptions:\n" H_TIMEOUT},
	{"grant ls", "[--lease ID] [--pid PID]", O(OPT_LEASE) | O(OPT_PID), 0,
	 0, cmd_grant_ls,
	 "List outstanding grants (folios) by lease and file offset.",
	 "options:\n"
	 "  --lease ID   only the grants of lease ID\n"
	 "  --pid PID    only the grants of the leases of process PID\n"},
	{"client ls", "", 0, 0, 0, cmd_client_ls,
	 "List clients, including gone connections whose process holds "
	 "leases.",
	 NULL},
	{"blockers", "R[/NAME]", 0, 1, 1, cmd_blockers,
	 "Show which leases hold up pending truncate/revoke/detach/shutdown.",
	 "One row per lease that still holds grants an operation in R (or "
	 "on R/NAME)\nwaits for; only the header when nothing blocks.\n"},
	{"top", "[--interval SECS]", O(OPT_INTERVAL) | CMD_NO_JSON, 0, 0,
	 cmd_top,
	 "Live view of regions, waiting operations, leases and grants.",
	 "Redraws in place every SECS; q or Ctrl-C quits. Reconnects when the "
	 "daemon\nrestarts. When stdout is not a terminal it prints one view "
	 "and exits.\n--json does not apply.\n\noptions:\n"
	 "  --interval SECS   time between redraws (default 1, at least "
	 "0.1)\n"},
	{"fsck", "PATH [--meta FILE] [--live | --repair [--yes]]",
	 O(OPT_LIVE) | O(OPT_REPAIR) | O(OPT_YES) | O(OPT_META), 1, 1, cmd_fsck,
	 "Check the region whose data file is PATH offline; exit 1 if it has "
	 "problems.",
	 "Needs no daemon and changes nothing. Checks the metadata file "
	 "(PATH.meta) and\nits pairing with the data file PATH (uuid, "
	 "size). A region a daemon serves\n(its lock is held) is refused, "
	 "naming the daemon's pid: detach it first.\n\noptions:\n"
	 "  --meta FILE  the metadata file, when it is not PATH.meta\n"
	 "  --live     check a served region anyway, read-only; the result "
	 "may be stale\n"
	 "  --repair   print the repairs the region needs, change nothing; "
	 "exit 1 if\n"
	 "             any is needed or a fault cannot be repaired. Fixed: "
	 "the bitmap\n"
	 "             against the extents, extents sharing pages (the "
	 "lower table slot\n"
	 "             keeps them, the other file gets a hole; both files "
	 "are renamed\n"
	 "             damaged.INO.NAME), orphans (not while pins of this "
	 "boot may be\n"
	 "             outstanding), a data file cut short (extended back; "
	 "what was cut\n"
	 "             off reads as zeroes). With any other fault nothing "
	 "is changed.\n"
	 "  --yes      with --repair: make the repairs, in one journal "
	 "transaction;\n"
	 "             exit 0 when the region is clean afterwards\n"},
	{NULL, NULL, 0, 0, 0, NULL, NULL, NULL},
};
