/* cmd_lease.c -- `lease ls|revoke`, `grant ls`, `client ls`, `blockers`;
 * a lease, a grant, a client and a blocker row, each described once as
 * columns. */
#include "cmd_lease.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "parse.h"
#include "wait.h"

/* access_cell -- "read" or "write". */
static void
access_cell(struct cell *ret, enum pagemap_access a)
{
	cell_str(ret, a == PAGEMAP_WRITE ? "write" : "read");
}

/* cmp_u64 -- order two numbers for qsort(). */
static int
cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* ---- leases ----------------------------------------------------------- */

#define L struct pagemap_lease_info
CELL_FIELD(lease_id, L, id, u64)
CELL_FIELD(lease_region, L, region, str)
CELL_FIELD(lease_ino, L, ino, u64)
CELL_FIELD(lease_client_id, L, client_id, u64)
CELL_FIELD(lease_pid, L, pid, u64)
CELL_FIELD(lease_uid, L, uid, u64)
CELL_FIELD(lease_comm, L, comm, str)
CELL_FIELD(lease_grants, L, grants, u64)
CELL_FIELD(lease_bytes, L, bytes, u64)
CELL_FIELD(lease_recalled, L, recalled, bool)
#undef L

/* lease_access -- the lease's access. */
static void
lease_access(const void *row, struct cell *ret)
{
	access_cell(ret, ((const struct pagemap_lease_info *)row)->access);
}

/* lease_name -- the file's name; a table shows an orphan, which has none,
 * by its inode number. */
static void
lease_name(const void *row, struct cell *ret)
{
	const struct pagemap_lease_info *l = row;

	cell_str(ret, l->name);
	if (!*ret->str)
		cell_text(ret, "<orphan:%" PRIu64 ">", l->ino);
}

/* lease_file -- REGION/NAME, an orphan as REGION/<orphan:INO>. */
static void
lease_file(const void *row, struct cell *ret)
{
	const struct pagemap_lease_info *l = row;
	struct cell name = {0};

	lease_name(row, &name);
	cell_printf(ret, "%s/%s", l->region, name.text ? name.text : name.str);
	cell_free(&name);
}

static const struct column lease_cols[] = {
	[LEASE_ID] = {"ID", "id", 0, lease_id},
	[LEASE_REGION] = {"REGION", "region", 0, lease_region},
	[LEASE_NAME] = {"NAME", "name", 0, lease_name},
	[LEASE_INO] = {"INO", "ino", 0, lease_ino},
	[LEASE_ACCESS] = {"ACCESS", "access", 0, lease_access},
	[LEASE_CLIENT_ID] = {"CLIENT_ID", "client_id", 0, lease_client_id},
	[LEASE_PID] = {"PID", "pid", 0, lease_pid},
	[LEASE_UID] = {"UID", "uid", 0, lease_uid},
	[LEASE_COMM] = {"COMM", "comm", 0, lease_comm},
	[LEASE_GRANTS] = {"GRANTS", "grants", 0, lease_grants},
	[LEASE_BYTES] = {"BYTES", "bytes", COL_SIZE, lease_bytes},
	[LEASE_RECALLED] = {"RECALLED", "recalled", 0, lease_recalled},
	[LEASE_FILE] = {"FILE", NULL, 0, lease_file},
};
const struct listing lease_listing = LISTING(lease_cols);

static const struct show lease_ls_show[] = {
	{LEASE_ID, 0, NULL},	   {LEASE_REGION, 0, NULL},
	{LEASE_NAME, 0, NULL},	   {LEASE_ACCESS, 0, NULL},
	{LEASE_PID, 0, NULL},	   {LEASE_COMM, 0, NULL},
	{LEASE_GRANTS, 0, NULL},   {LEASE_BYTES, 0, NULL},
	{LEASE_RECALLED, 0, NULL},
};
static const struct view lease_ls_view = VIEW(&lease_listing, lease_ls_show);

/* cmp_lease -- order leases by id. */
static int
cmp_lease(const void *x, const void *y)
{
	return cmp_u64(ROW(struct pagemap_lease_info, x)->id,
		       ROW(struct pagemap_lease_info, y)->id);
}

int
lease_rows(struct pagemap *pm, const struct filter *f, struct rows *ret)
{
	struct pagemap_lease_info **v = NULL;
	size_t n = 0;
	int err = pagemap_lease_list(pm, f->region, f->name, &v, &n);

	return rows_hidden(ret, rows_adopt(ret, err, v, n, cmp_lease), pm);
}

int
cmd_lease_ls(struct ctx *c, const struct args *a)
{
	return run_scoped(c, a, lease_rows, &lease_ls_view, "leases");
}

int
cmd_lease_revoke(struct ctx *c, const struct args *a)
{
	uint32_t timeout_ms = 0;
	struct waiter *talker;
	struct wait_for w;
	char what[64];
	uint64_t id;
	int err;

	if ((err = parse_uint(a->pos[0], UINT64_MAX, &id)))
		return bad_value(c, "lease id", a->pos[0], err);
	if (a->timeout && (err = parse_timeout(a->timeout, &timeout_ms)))
		return bad_value(c, "timeout", a->timeout, err);
	if ((err = connect_daemon(c)))
		return err;
	snprintf(what, sizeof(what), "lease revoke %" PRIu64, id);
	w = (struct wait_for){.op = "revoke", .lease_id = id, .command = what};
	talker = wait_talk_start(c, &w);
	err = pagemap_lease_revoke(c->pm, id, api_timeout(timeout_ms));
	wait_talk_stop(talker);
	if (err == -ETIMEDOUT)
		return wait_timed_out(c, &w, timeout_ms);
	if (err)
		return fail_with(c, err, "%s", what);
	if (c->json) {
		json_object *o = json_doc();

		json_add_u64(o, "lease_id", id);
		return print_json(o);
	}
	return EXIT_OK;
}

/* ---- grants ----------------------------------------------------------- */

#define G struct pagemap_grant_info
CELL_FIELD(grant_lease_id, G, lease_id, u64)
CELL_FIELD(grant_file_offset, G, file_offset, u64)
CELL_FIELD(grant_region_offset, G, region_offset, u64)
CELL_FIELD(grant_order, G, order, u64)
#undef G

/* grant_size -- the folio's size in bytes. */
static void
grant_size(const void *row, struct cell *ret)
{
	cell_u64(ret,
		 4096ull << ((const struct pagemap_grant_info *)row)->order);
}

/* grant_access -- the grant's access. */
static void
grant_access(const void *row, struct cell *ret)
{
	access_cell(ret, ((const struct pagemap_grant_info *)row)->access);
}

/* grant_state -- "mapped", "cached" or "recalled". */
static void
grant_state(const void *row, struct cell *ret)
{
	static const char *const names[] = {
		[PAGEMAP_GRANT_MAPPED] = "mapped",
		[PAGEMAP_GRANT_CACHED] = "cached",
		[PAGEMAP_GRANT_RECALLED] = "recalled",
	};
	unsigned s = ((const struct pagemap_grant_info *)row)->state;

	cell_str(ret, s < 3 ? names[s] : "mapped");
}

static const struct column grant_cols[] = {
	[GRANT_LEASE_ID] = {"LEASE_ID", "lease_id", 0, grant_lease_id},
	[GRANT_FILE_OFFSET] = {"FILE_OFFSET", "file_offset", 0,
			       grant_file_offset},
	[GRANT_REGION_OFFSET] = {"REGION_OFFSET", "region_offset", 0,
				 grant_region_offset},
	[GRANT_ORDER] = {"ORDER", "order", 0, grant_order},
	[GRANT_SIZE] = {"SIZE", "size", COL_SIZE, grant_size},
	[GRANT_ACCESS] = {"ACCESS", "access", 0, grant_access},
	[GRANT_STATE] = {"STATE", "state", 0, grant_state},
};
const struct listing grant_listing = LISTING(grant_cols);

static const struct show grant_ls_show[] = {
	{GRANT_LEASE_ID, 0, NULL},	{GRANT_FILE_OFFSET, 0, NULL},
	{GRANT_REGION_OFFSET, 0, NULL}, {GRANT_ORDER, 0, NULL},
	{GRANT_SIZE, 0, NULL},		{GRANT_ACCESS, 0, NULL},
	{GRANT_STATE, 0, NULL},
};
static const struct view grant_ls_view = VIEW(&grant_listing, grant_ls_show);

/* cmp_grant -- order grants by lease, file offset, region offset. */
static int
cmp_grant(const void *x, const void *y)
{
	const struct pagemap_grant_info *a = ROW(struct pagemap_grant_info, x);
	const struct pagemap_grant_info *b = ROW(struct pagemap_grant_info, y);

	if (a->lease_id != b->lease_id)
		return cmp_u64(a->lease_id, b->lease_id);
	if (a->file_offset != b->file_offset)
		return cmp_u64(a->file_offset, b->file_offset);
	return cmp_u64(a->region_offset, b->region_offset);
}

int
grant_rows(struct pagemap *pm, const struct filter *f, struct rows *ret)
{
	struct pagemap_grant_info **v = NULL;
	size_t n = 0;
	int err = pagemap_grant_list(pm, f->lease, f->pid, &v, &n);

	return rows_hidden(ret, rows_adopt(ret, err, v, n, cmp_grant), pm);
}

int
cmd_grant_ls(struct ctx *c, const struct args *a)
{
	uint64_t lease = 0, pid = 0;
	int err;

	if (a->lease && (err = parse_uint(a->lease, UINT64_MAX, &lease)))
		return bad_value(c, "lease id", a->lease, err);
	if (a->pid && (err = parse_uint(a->pid, UINT32_MAX, &pid)))
		return bad_value(c, "pid", a->pid, err);
	return run_listing(
		c, a, grant_rows,
		&(struct filter){.lease = lease, .pid = (uint32_t)pid},
		&grant_ls_view, "grants", NULL);
}

/* ---- clients ---------------------------------------------------------- */

#define C struct pagemap_client_info
CELL_FIELD(client_id, C, id, u64)
CELL_FIELD(client_pid, C, pid, u64)
CELL_FIELD(client_uid, C, uid, u64)
CELL_FIELD(client_gid, C, gid, u64)
CELL_FIELD(client_comm, C, comm, str)
CELL_FIELD(client_name, C, name, str)
CELL_FIELD(client_connected, C, connected, bool)
CELL_FIELD(client_leases, C, leases, u64)
CELL_FIELD(client_grants, C, grants, u64)
CELL_FIELD(client_pending, C, pending, u64)
#undef C

enum client_col {
	CLIENT_ID,
	CLIENT_PID,
	CLIENT_UID,
	CLIENT_GID,
	CLIENT_COMM,
	CLIENT_NAME,
	CLIENT_CONNECTED,
	CLIENT_LEASES,
	CLIENT_GRANTS,
	CLIENT_PENDING,
};

static const struct column client_cols[] = {
	[CLIENT_ID] = {"ID", "id", 0, client_id},
	[CLIENT_PID] = {"PID", "pid", 0, client_pid},
	[CLIENT_UID] = {"UID", "uid", 0, client_uid},
	[CLIENT_GID] = {"GID", "gid", 0, client_gid},
	[CLIENT_COMM] = {"COMM", "comm", 0, client_comm},
	[CLIENT_NAME] = {"NAME", "name", 0, client_name},
	[CLIENT_CONNECTED] = {"CONNECTED", "connected", 0, client_connected},
	[CLIENT_LEASES] = {"LEASES", "leases", 0, client_leases},
	[CLIENT_GRANTS] = {"GRANTS", "grants", 0, client_grants},
	[CLIENT_PENDING] = {"PENDING", "pending", 0, client_pending},
};
static const struct listing client_listing = LISTING(client_cols);

static const struct show client_ls_show[] = {
	{CLIENT_ID, 0, NULL},		{CLIENT_PID, 0, NULL},
	{CLIENT_UID, 0, NULL},		{CLIENT_COMM, SHOW_DASH, NULL},
	{CLIENT_NAME, SHOW_DASH, NULL}, {CLIENT_CONNECTED, 0, NULL},
	{CLIENT_LEASES, 0, NULL},	{CLIENT_GRANTS, 0, NULL},
};
static const struct view client_ls_view = VIEW(&client_listing, client_ls_show);

/* cmp_client -- order clients by id. */
static int
cmp_client(const void *x, const void *y)
{
	return cmp_u64(ROW(struct pagemap_client_info, x)->id,
		       ROW(struct pagemap_client_info, y)->id);
}

/* client_rows -- every client (@f is not read), sorted by id. */
static int
client_rows(struct pagemap *pm, const struct filter *f, struct rows *ret)
{
	struct pagemap_client_info **v = NULL;
	size_t n = 0;
	int err = pagemap_client_list(pm, &v, &n);

	(void)f;
	return rows_adopt(ret, err, v, n, cmp_client);
}

int
cmd_client_ls(struct ctx *c, const struct args *a)
{
	return run_listing(c, a, client_rows, NULL, &client_ls_view, "clients",
			   NULL);
}

/* ---- blockers --------------------------------------------------------- */

#define B struct pagemap_blocker
CELL_FIELD(blocker_op, B, op, str)
CELL_FIELD(blocker_target, B, target, str)
CELL_FIELD(blocker_lease_id, B, lease_id, u64)
CELL_FIELD(blocker_client_id, B, client_id, u64)
CELL_FIELD(blocker_pid, B, pid, u64)
CELL_FIELD(blocker_comm, B, comm, str)
CELL_FIELD(blocker_grants, B, grants, u64)
CELL_FIELD(blocker_region, B, region, str)
CELL_FIELD(blocker_file, B, file, str)
CELL_FIELD(blocker_ino, B, ino, u64)
CELL_FIELD(blocker_new_size, B, new_size, u64)
#undef B

enum blocker_col {
	BLOCKER_OP,
	BLOCKER_TARGET,
	BLOCKER_REGION,
	BLOCKER_FILE,
	BLOCKER_INO,
	BLOCKER_NEW_SIZE,
	BLOCKER_LEASE_ID,
	BLOCKER_CLIENT_ID,
	BLOCKER_PID,
	BLOCKER_COMM,
	BLOCKER_GRANTS,
};

static const struct column blocker_cols[] = {
	[BLOCKER_OP] = {"OP", "op", 0, blocker_op},
	[BLOCKER_TARGET] = {"TARGET", "target", 0, blocker_target},
	/* The target as fields, for scripts; the table shows TARGET. */
	[BLOCKER_REGION] = {"REGION", "region", 0, blocker_region},
	[BLOCKER_FILE] = {"FILE", "file", 0, blocker_file},
	[BLOCKER_INO] = {"INO", "ino", 0, blocker_ino},
	[BLOCKER_NEW_SIZE] = {"NEW_SIZE", "new_size", 0, blocker_new_size},
	[BLOCKER_LEASE_ID] = {"LEASE", "lease_id", 0, blocker_lease_id},
	[BLOCKER_CLIENT_ID] = {"CLIENT", "client_id", 0, blocker_client_id},
	[BLOCKER_PID] = {"PID", "pid", 0, blocker_pid},
	[BLOCKER_COMM] = {"COMM", "comm", 0, blocker_comm},
	[BLOCKER_GRANTS] = {"GRANTS", "grants", 0, blocker_grants},
};
static const struct listing blocker_listing = LISTING(blocker_cols);

static const struct show blocker_show[] = {
	{BLOCKER_OP, 0, NULL},		 {BLOCKER_TARGET, 0, NULL},
	{BLOCKER_LEASE_ID, 0, NULL},	 {BLOCKER_PID, 0, NULL},
	{BLOCKER_COMM, SHOW_DASH, NULL}, {BLOCKER_GRANTS, 0, NULL},
};
const struct view blocker_view = VIEW(&blocker_listing, blocker_show);

int
blocker_rows(struct pagemap *pm, const struct filter *f, struct rows *ret)
{
	struct pagemap_blocker **v = NULL;
	size_t n = 0;
	int err = pagemap_blockers(pm, f->region, f->name, &v, &n);

	return rows_hidden(ret, rows_adopt(ret, err, v, n, NULL), pm);
}

int
cmd_blockers(struct ctx *c, const struct args *a)
{
	return run_scoped(c, a, blocker_rows, &blocker_view, "blockers");
}
