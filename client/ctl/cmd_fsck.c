/* cmd_fsck.c -- `fsck PATH [--meta FILE] [--live | --repair [--yes]]`: the
 * offline check of a region (needs no daemon; refuses a region one serves
 * unless --live), and its repair. */
#include "cmd_fsck.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exlock.h"
#include "fsck.h"
#include "output.h"
#include "repair.h"

/* fsck_json -- the report and the problem lines @log (one per line). */
static json_object *
fsck_json(const char *path, const struct fsck_report *r, char *log)
{
	json_object *o = json_doc();
	json_object *problems = json_object_new_array();

	if (!problems)
		die_oom();
	json_add_str(o, "path", path);
	json_add_bool(o, "clean", r->errors == 0);
	json_add_bool(o, "stale", r->stale);
	json_add_u64(o, "holder_pid", r->stale ? (uint64_t)r->holder : 0);
	json_add_str(o, "uuid", r->uuid);
	json_add_str(o, "pairing", r->pairing ? r->pairing : "");
	json_add_u64(o, "data_size", r->data_size);
	json_add_u64(o, "region_size", r->region_size);
	json_add_u64(o, "max_order", r->max_order);
	json_add_u64(o, "files", r->files);
	json_add_u64(o, "orphans", r->orphans);
	json_add_u64(o, "extents", r->extents);
	json_add_u64(o, "used_pages", r->used_pages);
	json_add_u64(o, "free_pages", r->free_pages);
	json_add_bool(o, "journal_replayed", r->journal_replayed);
	json_add_bool(o, "pins_this_boot", r->pins_this_boot);
	json_add_u64(o, "errors", r->errors);
	json_add_u64(o, "repairable", r->repairable);
	json_add_str(o, "first_error", r->first_error);
	for (char *save, *line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		json_object_array_add(problems, json_string(line));
	json_object_object_add(o, "problems", problems);
	return o;
}

/* repair_json -- the repair's report and its lines @log. */
static json_object *
repair_json(const char *path, const struct repair_report *r, bool apply,
	    bool clean, char *log)
{
	json_object *o = json_doc();
	json_object *lines = json_object_new_array();

	if (!lines)
		die_oom();
	json_add_str(o, "path", path);
	json_add_bool(o, "applied", r->applied);
	json_add_bool(o, "dry_run", !apply);
	json_add_bool(o, "clean", clean);
	json_add_u64(o, "changes", r->changes);
	json_add_u64(o, "unfixable", r->unfixable);
	json_add_u64(o, "orphans_kept", r->orphans_kept);
	json_add_u64(o, "faults_after", r->faults_after);
	json_add_bool(o, "journal_replayed", r->journal_replayed);
	for (char *save, *line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		json_object_array_add(lines, json_object_new_string(line));
	json_object_object_add(o, "lines", lines);
	return o;
}

/* run_repair -- `fsck --repair [--yes] PATH`. Exit 0 when nothing is
 * needed (dry run) or the region is clean afterwards (--yes). */
static int
run_repair(struct ctx *c, const char *path, const char *meta, bool apply)
{
	struct repair_report r;
	char *log = NULL;
	size_t log_len = 0;
	FILE *out = stdout;
	bool clean;
	int err;

	if (c->json && !(out = open_memstream(&log, &log_len)))
		die_oom();
	err = repair_region_pair(path, meta, apply ? REPAIR_APPLY : 0, &r,
				 out);
	if (c->json && fclose(out))
		die_oom();
	if (err == -EBUSY) {
		free(log);
		fprintf(stderr, PROG ": fsck --repair: %s; not repaired "
				"(detach it first)\n",
			r.first_error);
		return EXIT_FAIL;
	}
	if (err) {
		free(log);
		fprintf(stderr, PROG ": fsck --repair %s: %s%s%s%s%s\n", path,
			pagemap_strerror(err), r.first_error[0] ? " (" : "",
			r.first_error, r.first_error[0] ? ")" : "",
			r.applied || !apply ? "" : "; nothing changed");
		return EXIT_FAIL;
	}
	if (r.unfixable)
		clean = false;
	else if (apply)
		clean = r.faults_after == 0;
	else
		clean = r.changes == 0 && r.faults_after == 0;
	if (c->json) {
		print_json(repair_json(path, &r, apply, clean, log));
		free(log);
		return clean ? EXIT_OK : EXIT_FAIL;
	}
	if (r.unfixable)
		printf("%s: not repaired: %" PRIu32 " fault%s above cannot be "
		       "repaired safely; nothing changed\n",
		       path, r.unfixable, r.unfixable == 1 ? "" : "s");
	else if (r.faults_after)
		printf("%s: %" PRIu32 " fault%s left after the repair%s\n",
		       path, r.faults_after, r.faults_after == 1 ? "" : "s",
		       apply ? "" : " (planned, nothing changed)");
	else if (r.changes == 0)
		printf("%s: clean, nothing to repair\n", path);
	else if (apply)
		printf("%s: %" PRIu32 " change%s made; clean now\n", path,
		       r.changes, r.changes == 1 ? "" : "s");
	else
		printf("%s: %" PRIu32 " change%s needed, nothing changed; "
		       "run again with --yes to make them\n",
		       path, r.changes, r.changes == 1 ? "" : "s");
	return clean ? EXIT_OK : EXIT_FAIL;
}

int
cmd_fsck(struct ctx *c, const struct args *a)
{
	const char *path = a->pos[0];
	struct fsck_report r = {0};
	char *log = NULL;
	size_t log_len = 0;
	FILE *out = stdout;
	int err;

	if (a->yes && !a->repair)
		return usage_error(c->cmd, "--yes goes with --repair");
	if (a->repair && a->live)
		return usage_error(c->cmd, "--repair cannot be --live: a "
					   "served region is never repaired");
	if (a->repair)
		return run_repair(c, path, a->meta, a->yes);
	/* With --json the problem lines go into the document instead. */
	if (c->json && !(out = open_memstream(&log, &log_len)))
		die_oom();
	err = fsck_region_pair(path, a->meta, a->live ? FSCK_LIVE : 0, &r,
			       out);
	if (c->json && fclose(out))
		die_oom();
	if (err == -EBUSY) {
		free(log);
		fprintf(stderr,
			PROG ": fsck: %s; not checked (detach it first, or "
			     "--live to check it anyway, read-only, with a "
			     "result that may be stale)\n",
			r.first_error);
		return EXIT_FAIL;
	}
	if (err) {
		free(log);
		fprintf(stderr, PROG ": fsck %s: %s%s%s%s\n", path,
			pagemap_strerror(err), r.first_error[0] ? " (" : "",
			r.first_error, r.first_error[0] ? ")" : "");
		return EXIT_FAIL;
	}
	if (c->json) {
		print_json(fsck_json(path, &r, log));
		free(log);
		return r.errors ? EXIT_FAIL : EXIT_OK;
	}
	if (r.errors)
		printf("%s: %" PRIu32 " error%s", path, r.errors,
		       r.errors == 1 ? "" : "s");
	else
		printf("%s: clean", path);
	printf(", %" PRIu32 " files, %" PRIu32 " orphans, %" PRIu64
	       " extents, %" PRIu64 " of %" PRIu64 " data pages used%s\n",
	       r.files, r.orphans, r.extents, r.used_pages,
	       r.used_pages + r.free_pages,
	       r.journal_replayed ? ", journal replayed" : "");
	if (r.errors && r.repairable == r.errors && !r.stale)
		printf("%s: every problem can be repaired without losing data; "
		       "run: " PROG " fsck --repair %s\n",
		       path, path);
	if (r.stale) {
		char who[EXLOCK_WHO_MAX];

		exlock_who(r.holder, who, sizeof(who));
		printf("%s: stale: %s was serving it during the check; the "
		       "result may be stale\n",
		       path, who);
	}
	if (r.pairing && strcmp(r.pairing, "size") == 0)
		printf("%s: no user extended attributes there: the data file "
		       "is paired with its metadata file by size only\n",
		       path);
	/* Information only: a daemon restarted with the runtime directory
	 * it used takes them back (pagemapd(8)). */
	if (r.pins_this_boot)
		printf("%s: pins of this boot may be outstanding (in the pin "
		       "tables of the daemon's runtime directory)\n",
		       path);
	return r.errors ? EXIT_FAIL : EXIT_OK;
}
