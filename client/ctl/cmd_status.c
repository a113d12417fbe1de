/* cmd_status.c -- `status`: the daemon's status and handshake limits,
 * each described once as columns. */
#include "cmd_status.h"

#include "output.h"

/* The row of `status`: the daemon's answer and the socket it came on. */
struct status_row {
	const char *socket;
	const struct pagemap_status *st;
};

CELL_FIELD(status_server, struct status_row, st->server, str)
CELL_FIELD(status_socket, struct status_row, socket, str)
CELL_FIELD(status_pid, struct status_row, st->pid, u64)
CELL_FIELD(status_uptime, struct status_row, st->uptime_ms, u64)
CELL_FIELD(status_regions, struct status_row, st->regions, u64)
CELL_FIELD(status_clients, struct status_row, st->clients, u64)
CELL_FIELD(status_leases, struct status_row, st->leases, u64)
CELL_FIELD(status_grants, struct status_row, st->grants, u64)
CELL_FIELD(status_pending, struct status_row, st->pending_ops, u64)
CELL_FIELD(status_requests, struct status_row, st->requests, u64)

static const struct column status_cols[] = {
	{NULL, "server", 0, status_server},
	{NULL, "socket", 0, status_socket},
	{NULL, "pid", 0, status_pid},
	{NULL, "uptime_ms", COL_EXACT, status_uptime},
	{NULL, "uptime", COL_NO_JSON | COL_HUMAN | COL_MS, status_uptime},
	{NULL, "regions", 0, status_regions},
	{NULL, "clients", 0, status_clients},
	{NULL, "leases", 0, status_leases},
	{NULL, "grants", 0, status_grants},
	{NULL, "pending_ops", 0, status_pending},
	{NULL, "requests", 0, status_requests},
};
static const struct listing status_listing = LISTING(status_cols);

CELL_FIELD(limit_packet, struct pagemap_limits, max_packet, u64)
CELL_FIELD(limit_leases, struct pagemap_limits, max_leases, u64)
CELL_FIELD(limit_grants, struct pagemap_limits, max_grants, u64)
CELL_FIELD(limit_pending, struct pagemap_limits, max_pending, u64)
CELL_FIELD(limit_folios, struct pagemap_limits, max_folios_per_reply, u64)
CELL_FIELD(limit_name, struct pagemap_limits, max_name, u64)

/* The handshake's limits: a "limits" object in JSON, more key: value
 * lines after the status in text. */
static const struct column limits_cols[] = {
	{NULL, "max_packet", 0, limit_packet},
	{NULL, "max_leases", 0, limit_leases},
	{NULL, "max_grants", 0, limit_grants},
	{NULL, "max_pending", 0, limit_pending},
	{NULL, "max_folios_per_reply", 0, limit_folios},
	{NULL, "max_name", 0, limit_name},
};
static const struct listing limits_listing = LISTING(limits_cols);

int
cmd_status(struct ctx *c, const struct args *a)
{
	const struct pagemap_limits *l;
	struct pagemap_status *s;
	struct status_row row = {ctx_socket(c), NULL};
	int err;

	(void)a;
	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_status(c->pm, &s)))
		return fail_with(c, err, "status");
	row.st = s;
	l = pagemap_get_limits(c->pm);
	if (c->json) {
		json_object *o = record_json(&status_listing, &row);

		json_object_object_add(o, "limits",
				       record_json(&limits_listing, l));
		pagemap_free(s);
		return print_json(o);
	}
	details_print(&status_listing, &row);
	details_print(&limits_listing, l);
	pagemap_free(s);
	return EXIT_OK;
}
