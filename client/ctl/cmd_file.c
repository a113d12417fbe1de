/* cmd_file.c -- `file create|ls|stat|truncate|rm`; a file row described
 * once, as columns. */
#include "cmd_file.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "list.h"
#include "output.h"
#include "parse.h"
#include "wait.h"

#define F struct pagemap_file_info
CELL_FIELD(file_region, F, region, str)
CELL_FIELD(file_ino, F, ino, u64)
CELL_FIELD(file_size, F, size, u64)
CELL_FIELD(file_allocated, F, allocated, u64)
CELL_FIELD(file_uid, F, uid, u64)
CELL_FIELD(file_gid, F, gid, u64)
CELL_FIELD(file_mode, F, mode, mode)
CELL_FIELD(file_mode_octal, F, mode, octal)
CELL_FIELD(file_extents, F, extents, u64)
CELL_FIELD(file_leases, F, leases, u64)
CELL_FIELD(file_grants, F, grants, u64)
CELL_FIELD(file_orphan, F, orphan, bool)
CELL_FIELD(file_mtime_ns, F, mtime_ns, u64)
#undef F

/* file_name -- the name; a table shows an orphan, which has none, by its
 * inode number. */
static void
file_name(const void *row, struct cell *ret)
{
	const struct pagemap_file_info *f = row;

	cell_str(ret, f->name);
	if (f->orphan && !*ret->str)
		cell_text(ret, "<orphan:%" PRIu64 ">", f->ino);
}

/* file_mtime -- the modification time as ISO 8601 UTC. */
static void
file_mtime(const void *row, struct cell *ret)
{
	const struct pagemap_file_info *f = row;
	time_t t = (time_t)(f->mtime_ns / 1000000000u);
	char buf[64];
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		cell_str(ret, "-");
		return;
	}
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	cell_printf(ret, "%s.%09" PRIu64 "Z", buf, f->mtime_ns % 1000000000u);
}

enum file_col {
	FILE_REGION,
	FILE_NAME,
	FILE_INO,
	FILE_SIZE,
	FILE_ALLOCATED,
	FILE_UID,
	FILE_GID,
	FILE_MODE,
	FILE_MODE_OCTAL,
	FILE_EXTENTS,
	FILE_LEASES,
	FILE_GRANTS,
	FILE_ORPHAN,
	FILE_MTIME_NS,
	FILE_MTIME,
};

static const struct column file_cols[] = {
	[FILE_REGION] = {"REGION", "region", 0, file_region},
	[FILE_NAME] = {"NAME", "name", 0, file_name},
	[FILE_INO] = {"INO", "ino", 0, file_ino},
	[FILE_SIZE] = {"SIZE", "size", COL_SIZE, file_size},
	[FILE_ALLOCATED] = {"ALLOCATED", "allocated", COL_SIZE, file_allocated},
	[FILE_UID] = {"UID", "uid", 0, file_uid},
	[FILE_GID] = {"GID", "gid", 0, file_gid},
	[FILE_MODE] = {"MODE", "mode", 0, file_mode},
	[FILE_MODE_OCTAL] = {NULL, "mode_octal", COL_NO_DETAIL,
			     file_mode_octal},
	[FILE_EXTENTS] = {"EXTENTS", "extents", 0, file_extents},
	[FILE_LEASES] = {"LEASES", "leases", 0, file_leases},
	[FILE_GRANTS] = {"GRANTS", "grants", 0, file_grants},
	[FILE_ORPHAN] = {"ORPHAN", "orphan", 0, file_orphan},
	[FILE_MTIME_NS] = {"MTIME_NS", "mtime_ns", 0, file_mtime_ns},
	[FILE_MTIME] = {"MTIME", "mtime", COL_NO_JSON, file_mtime},
};
static const struct listing file_listing = LISTING(file_cols);

static const struct show file_ls_show[] = {
	{FILE_NAME, 0, NULL},	   {FILE_SIZE, 0, NULL},
	{FILE_ALLOCATED, 0, NULL}, {FILE_MODE, 0, NULL},
	{FILE_UID, 0, NULL},	   {FILE_GID, 0, NULL},
	{FILE_EXTENTS, 0, NULL},
};
static const struct view file_ls_view = VIEW(&file_listing, file_ls_show);

/* cmp_file -- order files by name (orphans, unnamed, first), then ino. */
static int
cmp_file(const void *x, const void *y)
{
	const struct pagemap_file_info *a = ROW(struct pagemap_file_info, x);
	const struct pagemap_file_info *b = ROW(struct pagemap_file_info, y);
	int r = strcmp(a->name, b->name);

	if (r)
		return r;
	return a->ino < b->ino ? -1 : a->ino > b->ino;
}

/* file_rows -- the files of @f's region, sorted by name; rows_free()
 * them. */
static int
file_rows(struct pagemap *pm, const struct filter *f, struct rows *ret)
{
	struct pagemap_file_info **v = NULL;
	size_t n = 0;
	int err = pagemap_file_list(pm, f->region, &v, &n);

	return rows_adopt(ret, err, v, n, cmp_file);
}

/* file_result -- the file a command yields (freed here), or its failure
 * @err. */
static int
file_result(struct ctx *c, const struct args *a, int err,
	    struct pagemap_file_info *f)
{
	if (err)
		return fail_with(c, err, "%s %s", c->cmd->name, a->pos[0]);
	err = print_record(c->json, &file_listing, f);
	pagemap_free(f);
	return err;
}

/* file_create -- see cmd_file_create(). */
static int
file_create(struct ctx *c, const struct args *a, const char *region,
	    const char *name)
{
	struct pagemap_file_info *f = NULL;
	uint64_t size;
	unsigned mode = 0644;
	int err;

	if (!a->size)
		return usage_error(c->cmd, "--size is required");
	if ((err = parse_size(a->size, &size)))
		return bad_size(c, "size", a->size, err);
	if (a->mode && (err = parse_mode(a->mode, &mode)))
		return bad_value(c, "mode", a->mode, err);
	if ((err = connect_daemon(c)))
		return err;
	err = pagemap_file_create(c->pm, region, name, size, (int)mode, &f);
	return file_result(c, a, err, f);
}

int
cmd_file_create(struct ctx *c, const struct args *a)
{
	return with_target(c, a, file_create);
}

int
cmd_file_ls(struct ctx *c, const struct args *a)
{
	return run_listing(c, a, file_rows,
			   &(struct filter){.region = a->pos[0]}, &file_ls_view,
			   "files", a->pos[0]);
}

/* file_stat -- see cmd_file_stat(). */
static int
file_stat(struct ctx *c, const struct args *a, const char *region,
	  const char *name)
{
	struct pagemap_file_info *f = NULL;
	int err;

	if ((err = connect_daemon(c)))
		return err;
	err = pagemap_file_stat(c->pm, region, name, &f);
	return file_result(c, a, err, f);
}

int
cmd_file_stat(struct ctx *c, const struct args *a)
{
	return with_target(c, a, file_stat);
}

/* file_truncate -- see cmd_file_truncate(). */
static int
file_truncate(struct ctx *c, const struct args *a, const char *region,
	      const char *name)
{
	struct pagemap_file_info *f = NULL;
	uint32_t timeout_ms = 0;
	struct waiter *talker;
	struct wait_for w;
	char what[PATH_MAX + 32];
	uint64_t size;
	int err;

	if ((err = parse_size(a->pos[1], &size)))
		return bad_size(c, "size", a->pos[1], err);
	if (a->timeout && (err = parse_timeout(a->timeout, &timeout_ms)))
		return bad_value(c, "timeout", a->timeout, err);
	if ((err = connect_daemon(c)))
		return err;
	snprintf(what, sizeof(what), "file truncate %s", a->pos[0]);
	w = (struct wait_for){.op = "truncate",
			      .region = region,
			      .name = name,
			      .command = what};
	talker = wait_talk_start(c, &w);
	err = pagemap_file_truncate(c->pm, region, name, size,
				    api_timeout(timeout_ms), &f);
	wait_talk_stop(talker);
	if (err == -ETIMEDOUT)
		return wait_timed_out(c, &w, timeout_ms);
	return file_result(c, a, err, f);
}

int
cmd_file_truncate(struct ctx *c, const struct args *a)
{
	return with_target(c, a, file_truncate);
}

/* file_rm -- see cmd_file_rm(). */
static int
file_rm(struct ctx *c, const struct args *a, const char *region,
	const char *name)
{
	int err;

	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_file_remove(c->pm, region, name)))
		return fail_with(c, err, "file rm %s", a->pos[0]);
	if (c->json) {
		json_object *o = json_doc();

		json_add_str(o, "region", region);
		json_add_str(o, "name", name);
		return print_json(o);
	}
	return EXIT_OK;
}

int
cmd_file_rm(struct ctx *c, const struct args *a)
{
	return with_target(c, a, file_rm);
}
