/* cmd_fsck.c -- `fsck PATH [--live]`: the offline check of a region file
 * (needs no daemon; refuses a file one serves unless --live). */
#include "cmd_fsck.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exlock.h"
#include "fsck.h"
#include "output.h"

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
	json_add_str(o, "first_error", r->first_error);
	for (char *save, *line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		json_object_array_add(problems, json_string(line));
	json_object_object_add(o, "problems", problems);
	return o;
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

	/* With --json the problem lines go into the document instead. */
	if (c->json && !(out = open_memstream(&log, &log_len)))
		die_oom();
	err = fsck_region_flags(path, a->live ? FSCK_LIVE : 0, &r, out);
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
	if (r.stale) {
		char who[EXLOCK_WHO_MAX];

		exlock_who(r.holder, who, sizeof(who));
		printf("%s: stale: %s was serving it during the check; the "
		       "result may be stale\n",
		       path, who);
	}
	/* Information only: a daemon restarted with the runtime directory
	 * it used takes them back (pagemapd(8)). */
	if (r.pins_this_boot)
		printf("%s: pins of this boot may be outstanding (in the pin "
		       "tables of the daemon's runtime directory)\n",
		       path);
	return r.errors ? EXIT_FAIL : EXIT_OK;
}
