/* wire.c -- protobuf-c <-> the library's flat structs: packing requests,
 * unpacking and checking what the daemon sends. The only library file
 * that sees protobuf-c types. */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagemap.pb-c.h"

_Static_assert(WIRE_CAP_RECONNECT == PAGEMAP__CAPABILITY__CAP_RECONNECT,
	       "wire.h's capability bits are the proto's");
_Static_assert(WIRE_CAP_BLOCKER_FIELDS ==
		       PAGEMAP__CAPABILITY__CAP_BLOCKER_FIELDS,
	       "wire.h's capability bits are the proto's");
_Static_assert(WIRE_CAP_LISTING_HIDDEN ==
		       PAGEMAP__CAPABILITY__CAP_LISTING_HIDDEN,
	       "wire.h's capability bits are the proto's");

/* str -- proto strings must not be NULL when packed. */
static char *
str(const char *s)
{
	return (char *)(s ? s : "");
}

/* access_to_wire -- the wire Access of a valid pagemap_access. */
static Pagemap__Access
access_to_wire(enum pagemap_access a)
{
	return a == PAGEMAP_WRITE ? PAGEMAP__ACCESS__ACCESS_WRITE
				  : PAGEMAP__ACCESS__ACCESS_READ;
}

/* access_from_wire -- a wire Access that names a real access, or 0. */
static enum pagemap_access
access_from_wire(uint32_t a)
{
	if (a == PAGEMAP__ACCESS__ACCESS_READ)
		return PAGEMAP_READ;
	if (a == PAGEMAP__ACCESS__ACCESS_WRITE)
		return PAGEMAP_WRITE;
	return 0;
}

/* The oneof cases of Request and Response, by wire_op (both messages
 * number their bodies alike). */
static const uint32_t op_case[] = {
	[WIRE_HELLO] = PAGEMAP__REQUEST__BODY_HELLO,
	[WIRE_STATUS] = PAGEMAP__REQUEST__BODY_STATUS,
	[WIRE_REGION_LIST] = PAGEMAP__REQUEST__BODY_REGION_LIST,
	[WIRE_REGION_INFO] = PAGEMAP__REQUEST__BODY_REGION_INFO,
	[WIRE_REGION_ATTACH] = PAGEMAP__REQUEST__BODY_REGION_ATTACH,
	[WIRE_REGION_DETACH] = PAGEMAP__REQUEST__BODY_REGION_DETACH,
	[WIRE_FILE_CREATE] = PAGEMAP__REQUEST__BODY_FILE_CREATE,
	[WIRE_FILE_LIST] = PAGEMAP__REQUEST__BODY_FILE_LIST,
	[WIRE_FILE_STAT] = PAGEMAP__REQUEST__BODY_FILE_STAT,
	[WIRE_FILE_TRUNCATE] = PAGEMAP__REQUEST__BODY_FILE_TRUNCATE,
	[WIRE_FILE_REMOVE] = PAGEMAP__REQUEST__BODY_FILE_REMOVE,
	[WIRE_LEASE_ACQUIRE] = PAGEMAP__REQUEST__BODY_LEASE_ACQUIRE,
	[WIRE_LEASE_RELEASE] = PAGEMAP__REQUEST__BODY_LEASE_RELEASE,
	[WIRE_MAP] = PAGEMAP__REQUEST__BODY_MAP,
	[WIRE_UNMAP] = PAGEMAP__REQUEST__BODY_UNMAP,
	[WIRE_LEASE_LIST] = PAGEMAP__REQUEST__BODY_LEASE_LIST,
	[WIRE_LEASE_REVOKE] = PAGEMAP__REQUEST__BODY_LEASE_REVOKE,
	[WIRE_GRANT_LIST] = PAGEMAP__REQUEST__BODY_GRANT_LIST,
	[WIRE_CLIENT_LIST] = PAGEMAP__REQUEST__BODY_CLIENT_LIST,
	[WIRE_BLOCKERS] = PAGEMAP__REQUEST__BODY_BLOCKERS,
	[WIRE_TAKEN] = PAGEMAP__REQUEST__BODY_TAKEN,
};

#define NOPS (sizeof(op_case) / sizeof(op_case[0]))

/* op_of_case -- the wire_op of a Response body case, WIRE_NONE if none. */
static enum wire_op
op_of_case(uint32_t c)
{
	for (size_t i = 1; i < NOPS; i++)
		if (op_case[i] == c)
			return (enum wire_op)i;
	return WIRE_NONE;
}

/* wire_request_pack -- fill the body @r names and pack the Request. */
int
wire_request_pack(const struct wire_request *r, uint64_t id, size_t max,
		  uint8_t **ret_buf, size_t *ret_len)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	union {
		Pagemap__Hello hello;
		Pagemap__StatusRequest status;
		Pagemap__RegionListRequest region_list;
		Pagemap__RegionInfoRequest region_info;
		Pagemap__RegionAttachRequest region_attach;
		Pagemap__RegionDetachRequest region_detach;
		Pagemap__FileCreateRequest file_create;
		Pagemap__FileListRequest file_list;
		Pagemap__FileStatRequest file_stat;
		Pagemap__FileTruncateRequest file_truncate;
		Pagemap__FileRemoveRequest file_remove;
		Pagemap__LeaseAcquireRequest lease_acquire;
		Pagemap__LeaseReleaseRequest lease_release;
		Pagemap__MapRequest map;
		Pagemap__UnmapRequest unmap;
		Pagemap__LeaseListRequest lease_list;
		Pagemap__LeaseRevokeRequest lease_revoke;
		Pagemap__GrantListRequest grant_list;
		Pagemap__ClientListRequest client_list;
		Pagemap__BlockersRequest blockers;
		Pagemap__TakenRequest taken;
	} b;
	uint8_t *buf;
	size_t len;

	if (r->op == WIRE_NONE || (size_t)r->op >= NOPS)
		return -EINVAL;
	req.id = id;
	req.body_case = (Pagemap__Request__BodyCase)op_case[r->op];
	switch (r->op) {
	case WIRE_HELLO:
		b.hello = (Pagemap__Hello)PAGEMAP__HELLO__INIT;
		b.hello.version = r->version;
		b.hello.client_name = str(r->client_name);
		b.hello.capabilities = r->capabilities;
		b.hello.token = r->token;
		b.hello.words_attached = r->words_attached;
		b.hello.words_id = r->words_id;
		req.hello = &b.hello;
		break;
	case WIRE_STATUS:
		b.status =
			(Pagemap__StatusRequest)PAGEMAP__STATUS_REQUEST__INIT;
		req.status = &b.status;
		break;
	case WIRE_REGION_LIST:
		b.region_list = (Pagemap__RegionListRequest)
			PAGEMAP__REGION_LIST_REQUEST__INIT;
		req.region_list = &b.region_list;
		break;
	case WIRE_REGION_INFO:
		b.region_info = (Pagemap__RegionInfoRequest)
			PAGEMAP__REGION_INFO_REQUEST__INIT;
		b.region_info.region = str(r->region);
		req.region_info = &b.region_info;
		break;
	case WIRE_REGION_ATTACH:
		b.region_attach = (Pagemap__RegionAttachRequest)
			PAGEMAP__REGION_ATTACH_REQUEST__INIT;
		b.region_attach.region = str(r->region);
		b.region_attach.path = str(r->path);
		b.region_attach.size = r->size;
		b.region_attach.create = r->create;
		b.region_attach.max_order = r->max_order;
		b.region_attach.max_order_set = r->max_order_set;
		req.region_attach = &b.region_attach;
		break;
	case WIRE_REGION_DETACH:
		b.region_detach = (Pagemap__RegionDetachRequest)
			PAGEMAP__REGION_DETACH_REQUEST__INIT;
		b.region_detach.region = str(r->region);
		b.region_detach.timeout_ms = r->timeout_ms;
		req.region_detach = &b.region_detach;
		break;
	case WIRE_FILE_CREATE:
		b.file_create = (Pagemap__FileCreateRequest)
			PAGEMAP__FILE_CREATE_REQUEST__INIT;
		b.file_create.region = str(r->region);
		b.file_create.name = str(r->name);
		b.file_create.size = r->size;
		b.file_create.mode = r->mode;
		b.file_create.mode_set = r->mode_set;
		req.file_create = &b.file_create;
		break;
	case WIRE_FILE_LIST:
		b.file_list = (Pagemap__FileListRequest)
			PAGEMAP__FILE_LIST_REQUEST__INIT;
		b.file_list.region = str(r->region);
		b.file_list.cursor = r->cursor;
		req.file_list = &b.file_list;
		break;
	case WIRE_FILE_STAT:
		b.file_stat = (Pagemap__FileStatRequest)
			PAGEMAP__FILE_STAT_REQUEST__INIT;
		b.file_stat.region = str(r->region);
		b.file_stat.name = str(r->name);
		req.file_stat = &b.file_stat;
		break;
	case WIRE_FILE_TRUNCATE:
		b.file_truncate = (Pagemap__FileTruncateRequest)
			PAGEMAP__FILE_TRUNCATE_REQUEST__INIT;
		b.file_truncate.region = str(r->region);
		b.file_truncate.name = str(r->name);
		b.file_truncate.size = r->size;
		b.file_truncate.timeout_ms = r->timeout_ms;
		req.file_truncate = &b.file_truncate;
		break;
	case WIRE_FILE_REMOVE:
		b.file_remove = (Pagemap__FileRemoveRequest)
			PAGEMAP__FILE_REMOVE_REQUEST__INIT;
		b.file_remove.region = str(r->region);
		b.file_remove.name = str(r->name);
		req.file_remove = &b.file_remove;
		break;
	case WIRE_LEASE_ACQUIRE:
		b.lease_acquire = (Pagemap__LeaseAcquireRequest)
			PAGEMAP__LEASE_ACQUIRE_REQUEST__INIT;
		b.lease_acquire.region = str(r->region);
		b.lease_acquire.name = str(r->name);
		b.lease_acquire.access = access_to_wire(r->access);
		req.lease_acquire = &b.lease_acquire;
		break;
	case WIRE_LEASE_RELEASE:
		b.lease_release = (Pagemap__LeaseReleaseRequest)
			PAGEMAP__LEASE_RELEASE_REQUEST__INIT;
		b.lease_release.lease_id = r->lease_id;
		req.lease_release = &b.lease_release;
		break;
	case WIRE_MAP:
		b.map = (Pagemap__MapRequest)PAGEMAP__MAP_REQUEST__INIT;
		b.map.lease_id = r->lease_id;
		b.map.offset = r->offset;
		b.map.length = r->length;
		b.map.access = access_to_wire(r->access);
		b.map.words = r->words;
		req.map = &b.map;
		break;
	case WIRE_UNMAP:
		b.unmap = (Pagemap__UnmapRequest)PAGEMAP__UNMAP_REQUEST__INIT;
		b.unmap.lease_id = r->lease_id;
		b.unmap.offset = r->offset;
		b.unmap.length = r->length;
		req.unmap = &b.unmap;
		break;
	case WIRE_LEASE_LIST:
		b.lease_list = (Pagemap__LeaseListRequest)
			PAGEMAP__LEASE_LIST_REQUEST__INIT;
		b.lease_list.region = str(r->region);
		b.lease_list.name = str(r->name);
		b.lease_list.after_id = r->cursor;
		req.lease_list = &b.lease_list;
		break;
	case WIRE_LEASE_REVOKE:
		b.lease_revoke = (Pagemap__LeaseRevokeRequest)
			PAGEMAP__LEASE_REVOKE_REQUEST__INIT;
		b.lease_revoke.lease_id = r->lease_id;
		b.lease_revoke.timeout_ms = r->timeout_ms;
		req.lease_revoke = &b.lease_revoke;
		break;
	case WIRE_GRANT_LIST:
		b.grant_list = (Pagemap__GrantListRequest)
			PAGEMAP__GRANT_LIST_REQUEST__INIT;
		b.grant_list.lease_id = r->lease_id;
		b.grant_list.pid = r->pid;
		b.grant_list.after_lease = r->cursor;
		b.grant_list.after_offset = r->after_offset;
		req.grant_list = &b.grant_list;
		break;
	case WIRE_CLIENT_LIST:
		b.client_list = (Pagemap__ClientListRequest)
			PAGEMAP__CLIENT_LIST_REQUEST__INIT;
		b.client_list.after_id = r->cursor;
		req.client_list = &b.client_list;
		break;
	case WIRE_BLOCKERS:
		b.blockers = (Pagemap__BlockersRequest)
			PAGEMAP__BLOCKERS_REQUEST__INIT;
		b.blockers.region = str(r->region);
		b.blockers.name = str(r->name);
		req.blockers = &b.blockers;
		break;
	case WIRE_TAKEN:
		b.taken = (Pagemap__TakenRequest)PAGEMAP__TAKEN_REQUEST__INIT;
		b.taken.n_slot = b.taken.n_gen = r->n_slots;
		b.taken.slot = (uint32_t *)r->slots;
		b.taken.gen = (uint32_t *)r->gens;
		req.taken = &b.taken;
		break;
	default:
		return -EINVAL;
	}
	len = pagemap__request__get_packed_size(&req);
	if (len > max)
		return -EMSGSIZE;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	pagemap__request__pack(&req, buf);
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* has_unknown -- whether @m or any message inside it carries fields this
 * build does not know (protobuf-c keeps them instead of failing). */
static bool
has_unknown(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (m->n_unknown_fields)
		return true;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n =
				*(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *v =
				*(ProtobufCMessage *const *const *)(base +
								    f->offset);

			for (size_t j = 0; j < n; j++)
				if (has_unknown(v[j]))
					return true;
			continue;
		}
		/* Only the oneof member that is set may be read. */
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		const ProtobufCMessage *sub =
			*(ProtobufCMessage *const *)(base + f->offset);
		if (sub && has_unknown(sub))
			return true;
	}
	return false;
}

/* wire_msg_unpack -- unpack a ServerMessage into @ret. The packet is
 * bounded by max_packet, which bounds what unpack can allocate. */
int
wire_msg_unpack(const uint8_t *buf, size_t len, struct wire_msg *ret,
		const char **ret_why)
{
	Pagemap__ServerMessage *sm;
	const char *why = NULL;

	memset(ret, 0, sizeof(*ret));
	sm = pagemap__server_message__unpack(NULL, len, buf);
	if (!sm) {
		*ret_why = "unpackable packet";
		return -EPROTO;
	}
	if (has_unknown(&sm->base)) {
		why = "unknown fields";
	} else if (sm->msg_case == PAGEMAP__SERVER_MESSAGE__MSG_EVENT) {
		const Pagemap__RecallEvent *e = sm->event->recall;

		if (sm->event->body_case != PAGEMAP__EVENT__BODY_RECALL) {
			why = "unknown event";
		} else {
			ret->kind = WIRE_MSG_RECALL;
			ret->lease_id = e ? e->lease_id : 0;
			ret->offset = e ? e->offset : 0;
			ret->length = e ? e->length : 0;
			ret->reason = e && e->reason ? e->reason : "";
		}
	} else if (sm->msg_case == PAGEMAP__SERVER_MESSAGE__MSG_RESPONSE) {
		const Pagemap__Response *r = sm->response;

		ret->kind = WIRE_MSG_RESPONSE;
		ret->id = r->id;
		ret->error = r->error;
		ret->message = r->message ? r->message : "";
		ret->op = op_of_case(r->body_case);
	} else {
		why = "message is neither response nor event";
	}
	if (why) {
		pagemap__server_message__free_unpacked(sm, NULL);
		*ret_why = why;
		return -EPROTO;
	}
	ret->sm = sm;
	return 0;
}

/* wire_msg_free -- free the unpacked message. */
void
wire_msg_free(struct wire_msg *m)
{
	if (m->sm)
		pagemap__server_message__free_unpacked(m->sm, NULL);
	m->sm = NULL;
}

/* response -- the Response of @m. */
static const Pagemap__Response *
response(const struct wire_msg *m)
{
	return ((const Pagemap__ServerMessage *)m->sm)->response;
}

/* wire_hello -- the HelloReply's fields. */
void
wire_hello(const struct wire_msg *m, struct wire_hello *ret)
{
	const Pagemap__HelloReply *h = response(m)->hello;
	const Pagemap__Limits *l = h->limits;

	*ret = (struct wire_hello){
		.version = h->version,
		.server = str(h->server),
		.client_id = h->client_id,
		.has_limits = l != NULL,
		.capabilities = h->capabilities,
		.token = h->token,
		.leases_adopted = h->leases_adopted,
		.words_id = h->words_id,
	};
	if (l)
		ret->limits = (struct pagemap_limits){
			.max_packet = l->max_packet,
			.max_leases = l->max_leases,
			.max_grants = l->max_grants,
			.max_pending = l->max_pending,
			.max_folios_per_reply = l->max_folios_per_reply,
			.max_name = l->max_name,
			.max_cached_grants_per_lease =
				l->max_cached_grants_per_lease,
			.max_cached_grants_per_process =
				l->max_cached_grants_per_process,
		};
}

/* wire_lease -- the LeaseAcquireReply's fields. */
void
wire_lease(const struct wire_msg *m, struct wire_lease *ret)
{
	const Pagemap__LeaseAcquireReply *a = response(m)->lease_acquire;

	*ret = (struct wire_lease){
		.lease_id = a->lease_id,
		.ino = a->ino,
		.size = a->size,
		.max_order = a->max_order,
		.region_size = a->region_size,
		.fd_attached = a->fd_attached,
	};
}

/* wire_map -- the MapReply's fields; the arrays stay in @m. */
void
wire_map(const struct wire_msg *m, struct wire_map *ret)
{
	const Pagemap__MapReply *r = response(m)->map;

	*ret = (struct wire_map){
		.offset = r->offset,
		.next_offset = r->next_offset,
		.n_region_offset = r->n_region_offset,
		.n_order = r->n_order,
		.region_offset = r->region_offset,
		.order = r->order,
		.n_slot = r->n_slot,
		.n_gen = r->n_gen,
		.slot = r->slot,
		.gen = r->gen,
		.words_attached = r->words_attached,
		.words_id = r->words_id,
		.ahead = r->ahead,
	};
}

/* wire_unmap_returned -- the UnmapReply's count. */
uint64_t
wire_unmap_returned(const struct wire_msg *m)
{
	return response(m)->unmap->returned;
}

/* wire_page -- how many records @m carries, and its paging fields. */
int
wire_page(const struct wire_msg *m, struct wire_page *ret)
{
	const Pagemap__Response *r = response(m);

	*ret = (struct wire_page){0};
	switch (m->op) {
	case WIRE_REGION_LIST:
		ret->n = r->region_list->n_regions;
		ret->hidden = r->region_list->hidden;
		break;
	case WIRE_FILE_LIST:
		ret->n = r->file_list->n_files;
		ret->more = r->file_list->more;
		ret->next_cursor = r->file_list->next_cursor;
		break;
	case WIRE_LEASE_LIST:
		ret->n = r->lease_list->n_leases;
		ret->more = r->lease_list->more;
		ret->hidden = r->lease_list->hidden;
		break;
	case WIRE_GRANT_LIST: {
		const Pagemap__GrantListReply *g = r->grant_list;
		size_t k = g->n_lease_id;

		if (g->n_file_offset != k || g->n_region_offset != k ||
		    g->n_order != k || g->n_access != k ||
		    (g->n_pins != k && g->n_pins != 0) ||
		    (g->n_state != k && g->n_state != 0))
			return -EPROTO;
		ret->n = k;
		ret->more = g->more;
		ret->hidden = g->hidden;
		break;
	}
	case WIRE_CLIENT_LIST:
		ret->n = r->client_list->n_clients;
		ret->more = r->client_list->more;
		break;
	case WIRE_BLOCKERS:
		ret->n = r->blockers->n_blockers;
		ret->hidden = r->blockers->hidden;
		break;
	default:
		break;
	}
	return 0;
}

/* copy_str -- copy a daemon string into a fixed field; a string that does
 * not fit is a protocol error, not something to truncate silently. */
int
copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		return -EPROTO;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return 0;
}

/* ---- records ---------------------------------------------------------- */

/* Where a record's strings go: after the struct, in the same allocation.
 * With @base NULL only the bytes are counted. */
struct strs {
	char *base;
	size_t used;
};

/* put -- append @s (NULL: "") and return where it went (NULL when only
 * counting). */
static const char *
put(struct strs *p, const char *s)
{
	size_t n = strlen(s ? s : "") + 1;
	char *at = NULL;

	if (p->base) {
		at = p->base + p->used;
		memcpy(at, s ? s : "", n);
	}
	p->used += n;
	return at;
}

/* done -- copy the built struct @v of @size bytes to @dst (if any) and
 * return the record's bytes, rounded up so that the next record of an
 * array is aligned. */
static size_t
done(void *dst, const void *v, size_t size, const struct strs *p)
{
	size_t n = size + p->used;

	if (dst)
		memcpy(dst, v, size);
	return (n + WIRE_ALIGN - 1) & ~(size_t)(WIRE_ALIGN - 1);
}

/* STRS -- the string area of a record of type @T built at @dst. */
#define STRS(dst, T)                                                           \
	{                                                                      \
		(dst) ? (char *)(dst) + sizeof(T) : NULL, 0                    \
	}

static size_t
build_status(const Pagemap__StatusReply *s, void *dst)
{
	struct pagemap_status v = {.struct_size = sizeof(v)};
	struct strs p = STRS(dst, v);

	v.server = put(&p, s->server);
	v.pid = s->pid;
	v.uptime_ms = s->uptime_ms;
	v.regions = s->regions;
	v.clients = s->clients;
	v.leases = s->leases;
	v.grants = s->grants;
	v.pending_ops = s->pending_ops;
	v.requests = s->requests;
	return done(dst, &v, sizeof(v), &p);
}

static size_t
build_region(const Pagemap__RegionInfo *r, void *dst)
{
	struct pagemap_region_info v = {.struct_size = sizeof(v)};
	struct strs p = STRS(dst, v);

	v.name = put(&p, r->name);
	v.path = put(&p, r->path);
	v.kind = put(&p, r->kind);
	v.uuid = put(&p, r->uuid);
	v.state = put(&p, r->state);
	v.size = r->size;
	v.data_size = r->data_size;
	v.used = r->used;
	v.free = r->free;
	v.files = r->files;
	v.max_files = r->max_files;
	v.max_order = r->max_order;
	v.uid = r->uid;
	v.gid = r->gid;
	v.mode = r->mode;
	v.pins = r->pins;
	v.orphans = r->orphans;
	return done(dst, &v, sizeof(v), &p);
}

static size_t
build_file(const Pagemap__FileInfo *f, void *dst)
{
	struct pagemap_file_info v = {.struct_size = sizeof(v)};
	struct strs p = STRS(dst, v);

	v.region = put(&p, f->region);
	v.name = put(&p, f->name);
	v.ino = f->ino;
	v.size = f->size;
	v.allocated = f->allocated;
	v.uid = f->uid;
	v.gid = f->gid;
	v.mode = f->mode;
	v.extents = f->extents;
	v.leases = f->leases;
	v.grants = f->grants;
	v.orphan = f->orphan;
	v.mtime_ns = f->mtime_ns;
	return done(dst, &v, sizeof(v), &p);
}

static size_t
build_lease(const Pagemap__LeaseInfo *l, void *dst)
{
	struct pagemap_lease_info v = {.struct_size = sizeof(v)};
	struct strs p = STRS(dst, v);

	v.access = access_from_wire(l->access);
	if (!v.access)
		return 0;
	v.region = put(&p, l->region);
	v.name = put(&p, l->name);
	v.comm = put(&p, l->comm);
	v.id = l->id;
	v.ino = l->ino;
	v.client_id = l->client_id;
	v.pid = l->pid;
	v.uid = l->uid;
	v.grants = l->grants;
	v.bytes = l->bytes;
	v.recalled = l->recalled;
	return done(dst, &v, sizeof(v), &p);
}

/* build_grant -- grant @i of a GrantListReply (wire_page() checked the
 * arrays' lengths). */
static size_t
build_grant(const Pagemap__GrantListReply *r, size_t i, void *dst)
{
	struct pagemap_grant_info v = {.struct_size = sizeof(v)};
	struct strs p = STRS(dst, v);

	v.access = access_from_wire(r->access[i]);
	if (!v.access || r->order[i] > MAX_ORDER || r->lease_id[i] == 0)
		return 0;
	v.lease_id = r->lease_id[i];
	v.file_offset = r->file_offset[i];
	v.region_offset = r->region_offset[i];
	v.order = r->order[i];
	v.state = PAGEMAP_GRANT_MAPPED;
	if (r->n_state) {
		if (r->state[i] > PAGEMAP_GRANT_RECALLED)
			return 0;
		v.state = (enum pagemap_grant_state)r->state[i];
	}
	return done(dst, &v, sizeof(v), &p);
}

static size_t
build_client(const Pagemap__ClientInfo *c, void *dst)
{
	struct pagemap_client_info v = {.struct_size = sizeof(v)};
	struct strs p = STRS(dst, v);

	v.comm = put(&p, c->comm);
	v.name = put(&p, c->name);
	v.id = c->id;
	v.pid = c->pid;
	v.uid = c->uid;
	v.gid = c->gid;
	v.connected = c->connected;
	v.leases = c->leases;
	v.grants = c->grants;
	v.pending = c->pending;
	return done(dst, &v, sizeof(v), &p);
}

static size_t
build_blocker(const Pagemap__Blocker *b, void *dst)
{
	struct pagemap_blocker v = {.struct_size = sizeof(v)};
	struct strs p = STRS(dst, v);

	v.op = put(&p, b->op);
	v.target = put(&p, b->target);
	v.comm = put(&p, b->comm);
	v.region = put(&p, b->region);
	v.file = put(&p, b->file);
	v.ino = b->ino;
	v.new_size = b->new_size;
	v.lease_id = b->lease_id;
	v.client_id = b->client_id;
	v.pid = b->pid;
	v.grants = b->grants;
	return done(dst, &v, sizeof(v), &p);
}

/* wire_record -- dispatch on the reply's kind; a missing record is 0. */
size_t
wire_record(const struct wire_msg *m, size_t i, void *dst)
{
	const Pagemap__Response *r = response(m);
	const void *rec = NULL;

	switch (m->op) {
	case WIRE_STATUS:
		return i == 0 ? build_status(r->status, dst) : 0;
	case WIRE_REGION_LIST:
		if (i < r->region_list->n_regions)
			rec = r->region_list->regions[i];
		return rec ? build_region(rec, dst) : 0;
	case WIRE_REGION_INFO:
	case WIRE_REGION_ATTACH:
		rec = m->op == WIRE_REGION_INFO ? r->region_info->region
						: r->region_attach->region;
		return i == 0 && rec ? build_region(rec, dst) : 0;
	case WIRE_FILE_LIST:
		if (i < r->file_list->n_files)
			rec = r->file_list->files[i];
		return rec ? build_file(rec, dst) : 0;
	case WIRE_FILE_CREATE:
		rec = r->file_create->file;
		return i == 0 && rec ? build_file(rec, dst) : 0;
	case WIRE_FILE_STAT:
		rec = r->file_stat->file;
		return i == 0 && rec ? build_file(rec, dst) : 0;
	case WIRE_FILE_TRUNCATE:
		rec = r->file_truncate->file;
		return i == 0 && rec ? build_file(rec, dst) : 0;
	case WIRE_LEASE_LIST:
		if (i < r->lease_list->n_leases)
			rec = r->lease_list->leases[i];
		return rec ? build_lease(rec, dst) : 0;
	case WIRE_GRANT_LIST:
		return i < r->grant_list->n_lease_id
			       ? build_grant(r->grant_list, i, dst)
			       : 0;
	case WIRE_CLIENT_LIST:
		if (i < r->client_list->n_clients)
			rec = r->client_list->clients[i];
		return rec ? build_client(rec, dst) : 0;
	case WIRE_BLOCKERS:
		if (i < r->blockers->n_blockers)
			rec = r->blockers->blockers[i];
		return rec ? build_blocker(rec, dst) : 0;
	default:
		return 0;
	}
}

/* wire_record_key -- the paging key of record @i. */
void
wire_record_key(const struct wire_msg *m, size_t i, uint64_t *ret_a,
		uint64_t *ret_b)
{
	const Pagemap__Response *r = response(m);

	*ret_a = *ret_b = 0;
	switch (m->op) {
	case WIRE_LEASE_LIST:
		if (i < r->lease_list->n_leases && r->lease_list->leases[i])
			*ret_a = r->lease_list->leases[i]->id;
		break;
	case WIRE_CLIENT_LIST:
		if (i < r->client_list->n_clients && r->client_list->clients[i])
			*ret_a = r->client_list->clients[i]->id;
		break;
	case WIRE_GRANT_LIST:
		if (i < r->grant_list->n_lease_id) {
			*ret_a = r->grant_list->lease_id[i];
			*ret_b = r->grant_list->file_offset[i];
		}
		break;
	default:
		break;
	}
}
