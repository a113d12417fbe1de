/* wire.c -- protobuf <-> internal structs, daemon side.
 *
 * protobuf-c trusts its input more than we may: it has no size limit, keeps
 * overlong tags as unknown fields, and does not check that the oneof case
 * makes sense. So a packet is unpacked with a budgeted allocator, and every
 * message in it must have no unknown fields and bounded strings before any
 * value reaches the rest of the daemon.
 */
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagemap.pb-c.h"
#include "utf8.h"
#include "wire_int.h"

_Static_assert((int)WIRE_HELLO == (int)PAGEMAP__REQUEST__BODY_HELLO, "kind values");
_Static_assert(WIRE_CAP_RECONNECT == PAGEMAP__CAPABILITY__CAP_RECONNECT,
	       "capability bits");
_Static_assert(WIRE_CAP_CACHED_GRANTS ==
		       PAGEMAP__CAPABILITY__CAP_CACHED_GRANTS,
	       "capability bits match the protocol");
_Static_assert(WIRE_CAP_BLOCKER_FIELDS ==
		       PAGEMAP__CAPABILITY__CAP_BLOCKER_FIELDS,
	       "capability bits");
_Static_assert(WIRE_CAP_LISTING_HIDDEN ==
		       PAGEMAP__CAPABILITY__CAP_LISTING_HIDDEN,
	       "capability bits");
_Static_assert((int)WIRE_BLOCKERS == (int)PAGEMAP__REQUEST__BODY_BLOCKERS,
	       "kind values");
_Static_assert((int)WIRE_BLOCKERS == (int)PAGEMAP__RESPONSE__BODY_BLOCKERS,
	       "kind values");

/* ---- decoding ------------------------------------------------------ */

/* Unpacking a packet of n bytes can allocate a few times n (strings, the
 * message structs); a bump arena bounded to that stops a crafted packet
 * from asking more, and costs no malloc on the hot path. A loop decodes
 * one request at a time, so its wire_ctx holds one arena for them all. */
#define BUDGET_FACTOR 8u
#define BUDGET_SLACK 4096u
#define ARENA_SIZE ((size_t)WIRE_MAX_PACKET * BUDGET_FACTOR + \
		    BUDGET_SLACK)

struct arena {
	size_t used;
	size_t limit; /* this packet's budget, <= ARENA_SIZE */
	max_align_t mem[ARENA_SIZE / sizeof(max_align_t) + 1];
};

static void *
arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	size_t need = (size + sizeof(max_align_t) - 1) &
		      ~(sizeof(max_align_t) - 1);
	void *p;

	if (need > a->limit - a->used)
		return NULL;
	p = (char *)a->mem + a->used;
	a->used += need;
	return p;
}

static void
arena_free(void *data, void *p)
{
	(void)data;
	(void)p; /* everything goes at once, in wire_request_free() */
}

/* The unpacked message and its allocator travel together, so that
 * wire_request_free() can give the memory back the same way. */
struct unpacked {
	ProtobufCAllocator alloc;
	struct arena arena;
	Pagemap__Request *req;
};

/* Per-loop state: the decode arena and the map encoder's arrays. */
struct wire_ctx {
	struct unpacked u;
	char why[128];	     /* a decode failure's reason, when it is made up */
	void *offs, *orders; /* wire_map()'s packed arrays, kept */
	size_t noffs, norders;
};

int
wire_ctx_new(struct wire_ctx **ret)
{
	struct wire_ctx *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -ENOMEM;
	*ret = w;
	return 0;
}

void
wire_ctx_free(struct wire_ctx **pw)
{
	struct wire_ctx *w = *pw;

	if (w == NULL)
		return;
	free(w->offs);
	free(w->orders);
	free(w);
	*pw = NULL;
}

/* check_message -- no unknown fields, strings bounded. Request bodies hold
 * only scalars and strings, so one level is all there is to walk. */
static int
check_message(const ProtobufCMessage *m, const char **why)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (m->n_unknown_fields != 0) {
		*why = "unknown fields in request";
		return -EPROTO;
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *s;

		if (f->type != PROTOBUF_C_TYPE_STRING ||
		    f->label == PROTOBUF_C_LABEL_REPEATED)
			continue;
		memcpy(&s, (const char *)m + f->offset, sizeof(s));
		if (s != NULL && strnlen(s, WIRE_STRING_MAX + 1) > WIRE_STRING_MAX) {
			*why = "string field too long";
			return -EPROTO;
		}
	}
	return 0;
}

/* varint -- a base-128 number at *@p (before @end) into *@v; 0, or -1
 * when it runs past @end or past 10 bytes. */
static int
varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* check_strings -- every string field of the message @d encoded in
 * [@p, @end), at any depth, is valid UTF-8 without controls or NUL.
 * protobuf-c hands strings over NUL-terminated without their length, so
 * a NUL inside one would silently cut it short: the packet's own bytes
 * are checked instead. Unpack has accepted the packet, so its structure
 * holds; it is still walked with every bound checked. Returns 0, or
 * -EINVAL with the field and the fault in @ctx->why (never its bytes). */
static int
check_strings(struct wire_ctx *ctx, const ProtobufCMessageDescriptor *d,
	      const uint8_t *p, const uint8_t *end, unsigned depth)
{
	while (p < end) {
		const ProtobufCFieldDescriptor *f;
		uint64_t tag, len;
		enum utf8_fault fault;
		size_t at = 0;
		int rv;

		if (varint(&p, end, &tag) < 0)
			return -EINVAL;
		switch (tag & 7) {
		case 0:
			if (varint(&p, end, &len) < 0)
				return -EINVAL;
			continue;
		case 1:
			len = 8;
			break;
		case 5:
			len = 4;
			break;
		case 2:
			if (varint(&p, end, &len) < 0)
				return -EINVAL;
			break;
		default:
			return -EINVAL; /* groups: unpack refuses them too */
		}
		if (len > (uint64_t)(end - p))
			return -EINVAL;
		f = (tag >> 3) <= UINT32_MAX
			    ? protobuf_c_message_descriptor_get_field(
				      d, (unsigned)(tag >> 3))
			    : NULL;
		if (f != NULL && (tag & 7) == 2 &&
		    f->type == PROTOBUF_C_TYPE_STRING) {
			fault = utf8_check((const char *)p, len, &at);
			if (fault != UTF8_OK) {
				snprintf(ctx->why, sizeof(ctx->why),
					 "%s: %s at byte %zu", f->name,
					 utf8_fault_str(fault), at);
				return -EINVAL;
			}
		} else if (f != NULL && (tag & 7) == 2 &&
			   f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 4) {
			rv = check_strings(ctx, f->descriptor, p, p + len,
					   depth + 1);
			if (rv < 0)
				return rv;
		}
		p += len;
	}
	return 0;
}

static const ProtobufCMessage *
request_body(const Pagemap__Request *r)
{
	const ProtobufCFieldDescriptor *f;
	const ProtobufCMessage *body;

	f = protobuf_c_message_descriptor_get_field(&pagemap__request__descriptor,
						    r->body_case);
	if (f == NULL)
		return NULL;
	memcpy(&body, (const char *)r + f->offset, sizeof(body));
	return body;
}

/* fill -- the fields of @r's body into @w. Returns 0, or -EINVAL for a
 * body this daemon does not know (a kind added to the .proto alone). */
static int
fill(struct wire_request *w, const Pagemap__Request *r)
{
	switch (r->body_case) {
	case PAGEMAP__REQUEST__BODY_STATUS:
	case PAGEMAP__REQUEST__BODY_REGION_LIST:
		break; /* no fields */
	case PAGEMAP__REQUEST__BODY_HELLO:
		w->version = r->hello->version;
		w->client_name = r->hello->client_name;
		w->capabilities = r->hello->capabilities;
		w->token = r->hello->token;
		w->words = r->hello->words_attached;
		w->words_id = r->hello->words_id;
		break;
	case PAGEMAP__REQUEST__BODY_REGION_INFO:
		w->region = r->region_info->region;
		break;
	case PAGEMAP__REQUEST__BODY_REGION_ATTACH:
		w->region = r->region_attach->region;
		w->path = r->region_attach->path;
		w->size = r->region_attach->size;
		w->create = r->region_attach->create;
		w->max_order = r->region_attach->max_order;
		w->max_order_set = r->region_attach->max_order_set;
		break;
	case PAGEMAP__REQUEST__BODY_REGION_DETACH:
		w->region = r->region_detach->region;
		w->timeout_ms = r->region_detach->timeout_ms;
		break;
	case PAGEMAP__REQUEST__BODY_FILE_CREATE:
		w->region = r->file_create->region;
		w->name = r->file_create->name;
		w->size = r->file_create->size;
		w->mode = r->file_create->mode;
		w->mode_set = r->file_create->mode_set;
		break;
	case PAGEMAP__REQUEST__BODY_FILE_LIST:
		w->region = r->file_list->region;
		w->cursor = r->file_list->cursor;
		break;
	case PAGEMAP__REQUEST__BODY_FILE_STAT:
		w->region = r->file_stat->region;
		w->name = r->file_stat->name;
		break;
	case PAGEMAP__REQUEST__BODY_FILE_TRUNCATE:
		w->region = r->file_truncate->region;
		w->name = r->file_truncate->name;
		w->size = r->file_truncate->size;
		w->timeout_ms = r->file_truncate->timeout_ms;
		break;
	case PAGEMAP__REQUEST__BODY_FILE_REMOVE:
		w->region = r->file_remove->region;
		w->name = r->file_remove->name;
		break;
	case PAGEMAP__REQUEST__BODY_LEASE_ACQUIRE:
		w->region = r->lease_acquire->region;
		w->name = r->lease_acquire->name;
		w->access = (uint32_t)r->lease_acquire->access;
		break;
	case PAGEMAP__REQUEST__BODY_LEASE_RELEASE:
		w->lease_id = r->lease_release->lease_id;
		break;
	case PAGEMAP__REQUEST__BODY_MAP:
		w->lease_id = r->map->lease_id;
		w->offset = r->map->offset;
		w->length = r->map->length;
		w->access = (uint32_t)r->map->access;
		w->words = r->map->words;
		break;
	case PAGEMAP__REQUEST__BODY_UNMAP:
		w->lease_id = r->unmap->lease_id;
		w->offset = r->unmap->offset;
		w->length = r->unmap->length;
		break;
	case PAGEMAP__REQUEST__BODY_LEASE_LIST:
		w->region = r->lease_list->region;
		w->name = r->lease_list->name;
		w->cursor = r->lease_list->after_id;
		break;
	case PAGEMAP__REQUEST__BODY_CLIENT_LIST:
		w->cursor = r->client_list->after_id;
		break;
	case PAGEMAP__REQUEST__BODY_LEASE_REVOKE:
		w->lease_id = r->lease_revoke->lease_id;
		w->timeout_ms = r->lease_revoke->timeout_ms;
		break;
	case PAGEMAP__REQUEST__BODY_GRANT_LIST:
		w->lease_id = r->grant_list->lease_id;
		w->pid = r->grant_list->pid;
		w->cursor = r->grant_list->after_lease;
		w->offset = r->grant_list->after_offset;
		break;
	case PAGEMAP__REQUEST__BODY_BLOCKERS:
		w->region = r->blockers->region;
		w->name = r->blockers->name;
		break;
	case PAGEMAP__REQUEST__BODY_TAKEN:
		if (r->taken->n_slot != r->taken->n_gen)
			return -EINVAL;
		w->slots = r->taken->slot;
		w->gens = r->taken->gen;
		w->n_slots = r->taken->n_slot;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

int
wire_request_decode(struct wire_ctx *ctx, const uint8_t *buf, size_t len,
		    struct wire_request *ret, const char **why)
{
	struct unpacked *u;
	const ProtobufCMessage *body;
	Pagemap__Request *r;
	int rv;

	memset(ret, 0, sizeof(*ret));
	ret->client_name = ret->region = ret->name = ret->path = "";
	u = &ctx->u;
	u->arena.used = 0;
	u->arena.limit = len * BUDGET_FACTOR + BUDGET_SLACK;
	if (u->arena.limit > ARENA_SIZE)
		u->arena.limit = ARENA_SIZE;
	u->alloc.alloc = arena_alloc;
	u->alloc.free = arena_free;
	u->alloc.allocator_data = &u->arena;
	r = pagemap__request__unpack(&u->alloc, len, buf);
	if (r == NULL) {
		*why = "malformed packet (not a Request message)";
		return -EPROTO;
	}
	u->req = r;
	ret->msg = u;
	rv = check_message(&r->base, why);
	if (rv < 0)
		return rv;
	if (r->id == 0) {
		*why = "request id 0 (ids must be non-zero)";
		return -EPROTO;
	}
	ret->id = r->id;
	body = request_body(r);
	if (body == NULL) {
		*why = "request without a body, or of an unknown kind";
		return -EINVAL;
	}
	rv = check_message(body, why);
	if (rv < 0)
		return rv;
	/* Before anything can quote a string (error messages included). */
	ctx->why[0] = '\0';
	if (check_strings(ctx, &pagemap__request__descriptor, buf, buf + len,
			  0) < 0) {
		*why = ctx->why[0] ? ctx->why : "malformed string field";
		return -EINVAL;
	}
	if ((unsigned)r->body_case >= WIRE_KIND_END ||
	    fill(ret, r) < 0) {
		*why = "request of a kind this daemon does not serve";
		return -EINVAL;
	}
	ret->kind = (enum wire_kind)r->body_case;
	return 0;
}

void
wire_request_free(struct wire_request *w)
{
	struct unpacked *u = w->msg;

	if (u == NULL)
		return;
	u->arena.used = 0; /* the arena's free: all of it at once */
	u->req = NULL;
	w->msg = NULL;
}

/* ---- encoding ------------------------------------------------------ */

/* Copies made by clean_strings(), freed once the message is packed. */
struct copies {
	char **v;
	size_t n, cap;
};

/* clean_one -- *@ps made valid UTF-8 without controls, by a copy (the
 * string itself is the caller's and stays as it is). */
static void
clean_one(struct copies *c, char **ps)
{
	size_t len, need;
	char *copy, **v;

	if (*ps == NULL)
		return;
	len = strlen(*ps);
	if (utf8_check(*ps, len, NULL) == UTF8_OK)
		return;
	need = utf8_sanitized_len(*ps, len) + 1;
	if (c->n == c->cap) {
		v = realloc(c->v, (c->cap * 2 + 4) * sizeof(*v));
		if (v == NULL) {
			*ps = (char *)""; /* dropped rather than sent raw */
			return;
		}
		c->v = v;
		c->cap = c->cap * 2 + 4;
	}
	copy = malloc(need);
	if (copy == NULL) {
		*ps = (char *)"";
		return;
	}
	utf8_sanitize(copy, need, *ps, len);
	c->v[c->n++] = copy;
	*ps = copy;
}

/* clean_strings -- every string of @m, at any depth, made valid UTF-8
 * free of control characters before it is packed: a proto3 string must
 * be UTF-8 or conforming parsers refuse the whole reply, and some strings
 * are not the daemon's to vouch for (a process's comm, a name cut to fit
 * a field, a message quoting a request). Only the message's pointers
 * change, to copies in @c. */
static void
clean_strings(struct copies *c, ProtobufCMessage *m, unsigned depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *at = (char *)m + f->offset;
		size_t n = 1;
		void **v = (void **)at;

		if (f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)m +
					f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			memcpy(&n, (const char *)m + f->quantifier_offset,
			       sizeof(n));
			memcpy(&v, at, sizeof(v));
		}
		for (size_t k = 0; k < n && v != NULL; k++) {
			if (f->type == PROTOBUF_C_TYPE_STRING)
				clean_one(c, (char **)&v[k]);
			else if (v[k] != NULL && depth < 8)
				clean_strings(c, v[k], depth + 1);
		}
	}
}

/* pack -- @sm into @out, or -EMSGSIZE if it does not fit in @cap. */
static ssize_t
pack(uint8_t *out, size_t cap, Pagemap__ServerMessage *sm)
{
	struct copies c = {0};
	ssize_t rv = -EMSGSIZE;
	size_t n;

	clean_strings(&c, &sm->base, 0);
	n = pagemap__server_message__get_packed_size(sm);
	if (n <= cap)
		rv = (ssize_t)pagemap__server_message__pack(sm, out);
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i]);
	free(c.v);
	return rv;
}

static ssize_t
pack_response(uint8_t *out, size_t cap, Pagemap__Response *resp)
{
	Pagemap__ServerMessage sm = PAGEMAP__SERVER_MESSAGE__INIT;

	sm.msg_case = PAGEMAP__SERVER_MESSAGE__MSG_RESPONSE;
	sm.response = resp;
	return pack(out, cap, &sm);
}

/* Every body member of the Response union is a message pointer at the
 * same offset, so one store serves every kind. */
ssize_t
reply(uint8_t *out, size_t cap, uint64_t id, int k, void *body)
{
	Pagemap__Response resp = PAGEMAP__RESPONSE__INIT;

	resp.id = id;
	resp.body_case = (Pagemap__Response__BodyCase)k;
	resp.hello = body;
	return pack_response(out, cap, &resp);
}

void **
rows_new(size_t n, size_t size)
{
	const size_t align = sizeof(max_align_t);
	size_t head = ((n ? n : 1) * sizeof(void *) + align - 1) & ~(align - 1);
	void **rows;

	if (n > (SIZE_MAX - align) / (size + sizeof(void *)))
		return NULL;
	rows = calloc(1, head + n * size);
	if (rows == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		rows[i] = (char *)rows + head + i * size;
	return rows;
}

ssize_t
wire_error(uint8_t *out, size_t cap, uint64_t id, int err, const char *message)
{
	Pagemap__Response resp = PAGEMAP__RESPONSE__INIT;

	resp.id = id;
	resp.error = (uint32_t)(err < 0 ? -err : err);
	resp.message = (char *)(message ? message : "");
	return pack_response(out, cap, &resp);
}

ssize_t
wire_empty(uint8_t *out, size_t cap, uint64_t id, enum wire_kind k)
{
	const ProtobufCFieldDescriptor *f;
	union {
		max_align_t align;
		char buf[256];
	} body;

	f = protobuf_c_message_descriptor_get_field(
		&pagemap__response__descriptor, (unsigned)k);
	if (f == NULL) {
		return -EINVAL;
	}
	const ProtobufCMessageDescriptor *d = f->descriptor;
	if (d->sizeof_message > sizeof(body.buf))
		return -EINVAL;
	protobuf_c_message_init(d, body.buf);
	return reply(out, cap, id, k, body.buf);
}

ssize_t
wire_hello(uint8_t *out, size_t cap, uint64_t id, const struct wire_limits *l,
	   uint64_t client_id, uint64_t caps, uint64_t token, uint32_t adopted,
	   uint64_t words_id)
{
	Pagemap__HelloReply hr = PAGEMAP__HELLO_REPLY__INIT;
	Pagemap__Limits lim = PAGEMAP__LIMITS__INIT;

	lim.max_packet = l->max_packet;
	lim.max_leases = l->max_leases;
	lim.max_grants = l->max_grants;
	lim.max_pending = l->max_pending;
	lim.max_folios_per_reply = l->max_folios_per_reply;
	lim.max_name = l->max_name;
	if (caps & WIRE_CAP_CACHED_GRANTS) {
		lim.max_cached_grants_per_lease =
			l->max_cached_grants_per_lease;
		lim.max_cached_grants_per_process =
			l->max_cached_grants_per_process;
	}
	hr.version = 1;
	hr.limits = &lim;
	hr.server = (char *)"pagemapd " PAGEMAPD_VERSION_STRING;
	hr.client_id = client_id;
	/* A client that did not announce a capability never sees its
	 * fields (proto3 leaves zero fields out). */
	hr.capabilities = caps;
	if (caps & WIRE_CAP_RECONNECT) {
		hr.token = token;
		hr.leases_adopted = adopted;
	}
	if (caps & WIRE_CAP_CACHED_GRANTS)
		hr.words_id = words_id;
	return reply(out, cap, id, WIRE_HELLO, &hr);
}

ssize_t
wire_status(uint8_t *out, size_t cap, uint64_t id, const struct wire_status *s)
{
	Pagemap__StatusReply sr = PAGEMAP__STATUS_REPLY__INIT;

	sr.server = (char *)"pagemapd " PAGEMAPD_VERSION_STRING;
	sr.pid = s->pid;
	sr.uptime_ms = s->uptime_ms;
	sr.regions = s->regions;
	sr.clients = s->clients;
	sr.leases = s->leases;
	sr.grants = s->grants;
	sr.pending_ops = s->pending_ops;
	sr.requests = s->requests;
	return reply(out, cap, id, WIRE_STATUS, &sr);
}

static void
to_region_info(Pagemap__RegionInfo *m, const struct region_info *ri)
{
	pagemap__region_info__init(m);
	m->name = (char *)ri->name;
	m->path = (char *)ri->path;
	m->kind = (char *)ri->kind;
	m->uuid = (char *)ri->uuid;
	m->state = (char *)ri->state;
	m->size = ri->size;
	m->data_size = ri->data_size;
	m->used = ri->used;
	m->free = ri->free;
	m->files = ri->files;
	m->max_files = ri->max_files;
	m->max_order = ri->max_order;
	m->uid = ri->uid;
	m->gid = ri->gid;
	m->mode = ri->mode;
	m->pins = ri->pins;
	m->orphans = ri->orphans;
}

ssize_t
wire_region_list(uint8_t *out, size_t cap, uint64_t id,
		 const struct region_info *v, size_t n, uint64_t hidden)
{
	Pagemap__RegionListReply m = PAGEMAP__REGION_LIST_REPLY__INIT;
	void **rows = rows_new(n, sizeof(Pagemap__RegionInfo));
	ssize_t rv;

	if (rows == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		to_region_info(rows[i], &v[i]);
	m.n_regions = n;
	m.regions = (Pagemap__RegionInfo **)rows;
	m.hidden = hidden;
	rv = reply(out, cap, id, WIRE_REGION_LIST, &m);
	free(rows);
	return rv;
}

ssize_t
wire_region(uint8_t *out, size_t cap, uint64_t id, enum wire_kind k,
	    const struct region_info *ri)
{
	Pagemap__RegionInfoReply rr = PAGEMAP__REGION_INFO_REPLY__INIT;
	Pagemap__RegionAttachReply ar = PAGEMAP__REGION_ATTACH_REPLY__INIT;
	Pagemap__RegionInfo m;

	to_region_info(&m, ri);
	rr.region = &m;
	ar.region = &m;
	return reply(out, cap, id, k,
		     k == WIRE_REGION_ATTACH ? (void *)&ar : (void *)&rr);
}

static void
to_file_info(Pagemap__FileInfo *m, const char *region,
	     const struct file_info *fi)
{
	pagemap__file_info__init(m);
	m->region = (char *)region;
	m->name = (char *)fi->name;
	m->ino = fi->ino;
	m->size = fi->size;
	m->allocated = fi->allocated;
	m->uid = fi->uid;
	m->gid = fi->gid;
	m->mode = fi->mode;
	m->extents = fi->extents;
	m->leases = fi->leases;
	m->grants = fi->grants;
	m->orphan = fi->orphan;
	m->mtime_ns = fi->mtime_ns;
}

ssize_t
wire_file(uint8_t *out, size_t cap, uint64_t id, enum wire_kind k,
	  const char *region, const struct file_info *fi)
{
	Pagemap__FileCreateReply cr = PAGEMAP__FILE_CREATE_REPLY__INIT;
	Pagemap__FileStatReply sr = PAGEMAP__FILE_STAT_REPLY__INIT;
	Pagemap__FileTruncateReply tr = PAGEMAP__FILE_TRUNCATE_REPLY__INIT;
	Pagemap__FileInfo m;
	void *body;

	to_file_info(&m, region, fi);
	cr.file = sr.file = tr.file = &m;
	switch (k) {
	case WIRE_FILE_CREATE: body = &cr; break;
	case WIRE_FILE_STAT: body = &sr; break;
	case WIRE_FILE_TRUNCATE: body = &tr; break;
	default: return -EINVAL;
	}
	return reply(out, cap, id, k, body);
}

ssize_t
wire_file_list(uint8_t *out, size_t cap, uint64_t id, const char *region,
	       const struct file_info *v, size_t n, bool more,
	       uint64_t next_cursor)
{
	Pagemap__FileListReply m = PAGEMAP__FILE_LIST_REPLY__INIT;
	void **rows = rows_new(n, sizeof(Pagemap__FileInfo));
	ssize_t rv;

	if (rows == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		to_file_info(rows[i], region, &v[i]);
	m.n_files = n;
	m.files = (Pagemap__FileInfo **)rows;
	m.more = more;
	m.next_cursor = next_cursor;
	rv = reply(out, cap, id, WIRE_FILE_LIST, &m);
	free(rows);
	return rv;
}

ssize_t
wire_lease_acquire(uint8_t *out, size_t cap, uint64_t id,
		   const struct wire_lease_acquired *a)
{
	Pagemap__LeaseAcquireReply m = PAGEMAP__LEASE_ACQUIRE_REPLY__INIT;

	m.lease_id = a->lease_id;
	m.ino = a->ino;
	m.size = a->size;
	m.max_order = a->max_order;
	m.region_size = a->region_size;
	m.fd_attached = a->fd_attached;
	return reply(out, cap, id, WIRE_LEASE_ACQUIRE, &m);
}

/* grow -- a scratch array of at least @n elements of @size bytes, kept
 * between calls in the loop's wire_ctx. */
static void *
grow(void **buf, size_t *cap, size_t n, size_t size)
{
	if (n > *cap) {
		void *p = realloc(*buf, n * size);
		if (p == NULL)
			return NULL;
		*buf = p;
		*cap = n;
	}
	return *buf;
}

ssize_t
wire_map(struct wire_ctx *ctx, uint8_t *out, size_t cap, uint64_t id,
	 const struct grant *v, size_t n, uint64_t next_offset, bool words,
	 uint64_t words_id, size_t ahead)
{
	Pagemap__MapReply m = PAGEMAP__MAP_REPLY__INIT;
	uint64_t *ro = grow(&ctx->offs, &ctx->noffs, n, sizeof(uint64_t));
	uint32_t *ord = grow(&ctx->orders, &ctx->norders, 3 * n,
			     sizeof(uint32_t));

	if (ro == NULL || ord == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		ro[i] = v[i].region_pg << PM_PAGE_SHIFT;
		ord[i] = v[i].order;
		ord[n + i] = v[i].wslot;
		ord[2 * n + i] = v[i].gen;
	}
	if (words) {
		m.n_slot = m.n_gen = n;
		m.slot = ord + n;
		m.gen = ord + 2 * n;
		m.words_attached = words_id != 0;
		m.words_id = words_id;
		m.ahead = (uint32_t)ahead;
	}
	m.offset = n ? v[0].file_pg << PM_PAGE_SHIFT : next_offset;
	m.n_region_offset = n;
	m.region_offset = ro;
	m.n_order = n;
	m.order = ord;
	m.next_offset = next_offset;
	return reply(out, cap, id, WIRE_MAP, &m);
}

ssize_t
wire_unmap(uint8_t *out, size_t cap, uint64_t id, uint64_t returned)
{
	Pagemap__UnmapReply m = PAGEMAP__UNMAP_REPLY__INIT;

	m.returned = returned;
	return reply(out, cap, id, WIRE_UNMAP, &m);
}

ssize_t
wire_recall(uint8_t *out, size_t cap, uint64_t lease_id, uint64_t off,
	    uint64_t len, const char *reason)
{
	Pagemap__ServerMessage sm = PAGEMAP__SERVER_MESSAGE__INIT;
	Pagemap__Event ev = PAGEMAP__EVENT__INIT;
	Pagemap__RecallEvent rc = PAGEMAP__RECALL_EVENT__INIT;

	rc.lease_id = lease_id;
	rc.offset = off;
	rc.length = len;
	rc.reason = (char *)reason;
	ev.body_case = PAGEMAP__EVENT__BODY_RECALL;
	ev.recall = &rc;
	sm.msg_case = PAGEMAP__SERVER_MESSAGE__MSG_EVENT;
	sm.event = &ev;
	return pack(out, cap, &sm);
}
