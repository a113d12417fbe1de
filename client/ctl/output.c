/* output.c -- tables, key: value lines and JSON, all printed from one
 * description of a listing's columns (the way systemd's format-table
 * prints a table or JSON from one set of cells). */
#include "output.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "escape.h"
#include "human.h"
#include "pagemap.h"

/* The global options that shape tables and key: value lines. */
static struct out_style style;

void
output_style(const struct out_style *s)
{
	style = *s;
}

/* ---- cells ------------------------------------------------------------ */

void
cell_str(struct cell *c, const char *s)
{
	c->type = CELL_STR;
	c->str = s ? s : "";
}

void
cell_u64(struct cell *c, uint64_t v)
{
	c->type = CELL_U64;
	c->u64 = v;
}

void
cell_bool(struct cell *c, bool v)
{
	c->type = CELL_BOOL;
	c->yes = v;
}

void
cell_mode(struct cell *c, unsigned mode)
{
	c->type = CELL_MODE;
	c->u64 = mode;
}

/* vformat -- vasprintf() that cannot fail. */
static char *
vformat(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		die_oom();
	return s;
}

/* format -- vformat() with the arguments inline. */
static char *
format(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vformat(fmt, ap);
	va_end(ap);
	return s;
}

/* replace -- *@slot freed and made anew from a printf format. */
static void
replace(char **slot, const char *fmt, va_list ap)
{
	free(*slot);
	*slot = vformat(fmt, ap);
}

void
cell_printf(struct cell *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	replace(&c->own, fmt, ap);
	va_end(ap);
	cell_str(c, c->own);
}

void
cell_text(struct cell *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	replace(&c->text, fmt, ap);
	va_end(ap);
}

void
cell_octal(struct cell *c, unsigned mode)
{
	cell_printf(c, "%04o", mode);
}

/* cell_get -- the value of column @col for @row; cell_free() it. */
static struct cell
cell_get(const struct column *col, const void *row)
{
	struct cell c = {0};

	col->get(row, &c);
	return c;
}

void
cell_free(struct cell *c)
{
	free(c->own);
	free(c->text);
}

/* cell_raw -- @c of a column with @flags (COL_*) as text (to free),
 * unescaped: see cell_string(). */
static char *
cell_raw(const struct cell *c, unsigned flags, const struct show *show)
{
	char buf[64];

	if (show && c->text)
		return format("%s", c->text);
	switch (c->type) {
	case CELL_STR:
		if (show && (show->flags & SHOW_DASH) && !*c->str)
			return format("-");
		return format("%s", c->str);
	case CELL_U64:
		if ((show && (show->flags & SHOW_HUMAN)) ||
		    (!style.bytes && (flags & COL_SIZE))) {
			human_size(c->u64, buf, sizeof(buf));
			return format("%s", buf);
		}
		if (!style.bytes && (flags & COL_MS)) {
			human_duration_ms(c->u64, buf, sizeof(buf));
			return format("%s", buf);
		}
		return format("%" PRIu64, c->u64);
	case CELL_BOOL:
		if (show)
			return format("%s", c->yes ? "yes" : "no");
		return format("%s", c->yes ? "true" : "false");
	case CELL_MODE:
		return format("%04o", (unsigned)c->u64);
	}
	abort();
}

/* cell_string -- @c as text (to free): a table cell when @show is not
 * NULL, else a key: value line's value. Every string printed from the
 * daemon goes through here, escaped: names and comms are other users'
 * choice, and must not drive the terminal. */
static char *
cell_string(const struct cell *c, unsigned flags, const struct show *show)
{
	char *raw = cell_raw(c, flags, show), *s = escape_text(raw);

	free(raw);
	if (!s)
		die_oom();
	return s;
}

json_object *
json_string(const char *s)
{
	char *safe = escape_json(s);
	json_object *o;

	if (!safe)
		die_oom();
	o = json_object_new_string(safe);
	free(safe);
	return o;
}

/* cell_json -- @c as a JSON value. */
static json_object *
cell_json(const struct cell *c)
{
	switch (c->type) {
	case CELL_STR:
		return json_string(c->str);
	case CELL_U64:
	case CELL_MODE:
		return json_object_new_uint64(c->u64);
	case CELL_BOOL:
		return json_object_new_boolean(c->yes);
	}
	abort();
}

/* ---- rows ------------------------------------------------------------- */

int
rows_adopt(struct rows *r, int err, void *records, size_t n,
	   int (*cmp)(const void *, const void *))
{
	if (err)
		return err;
	/* The library's array of pointers is the index: sorted in place. */
	*r = (struct rows){.row = records, .n = n, .lib = records};
	if (cmp && n)
		qsort(r->row, n, sizeof(*r->row), cmp);
	return 0;
}

int
rows_hidden(struct rows *r, int err, const struct pagemap *pm)
{
	if (err)
		return err;
	r->counts_hidden = true;
	r->hidden = pagemap_listing_hidden(pm);
	return 0;
}

void
rows_free(struct rows *r)
{
	if (r->own_index)
		free(r->row);
	pagemap_free(r->lib);
	*r = (struct rows){0};
}

/* ---- tables ----------------------------------------------------------- */

/* right_aligned -- numbers line up on the right, words on the left. */
static bool
right_aligned(enum cell_type t)
{
	return t == CELL_U64 || t == CELL_MODE;
}

/* print_cell -- one cell padded to @width; the last column ends the
 * line without trailing blanks. */
static void
print_cell(FILE *out, const char *s, bool right, bool last, int width)
{
	if (right)
		fprintf(out, "%*s", width, s);
	else
		fprintf(out, "%-*s", last ? 0 : width, s);
	fputs(last ? "\n" : "  ", out);
}

/* column_type -- the type of column @col's cells, from any row: a
 * formatter makes the same type for every row. Without rows there is
 * nothing to align (each column is as wide as its header). */
static enum cell_type
column_type(const struct column *col, const void *any_row)
{
	struct cell c;
	enum cell_type t;

	if (!any_row)
		return CELL_STR;
	c = cell_get(col, any_row);
	t = c.type;
	cell_free(&c);
	return t;
}

/* column_title -- the header of @col in a table (to free): its key
 * upper-cased, so that a table reads like its JSON. */
static char *
column_title(const struct column *col, const struct show *s)
{
	char *t;

	if (s->header)
		return format("%s", s->header);
	assert(col->key || col->header);
	if (!col->key)
		return format("%s", col->header);
	t = format("%s", col->key);
	for (char *p = t; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return t;
}

/* column_named -- the index of the column of @l whose key is the @len
 * bytes at @name, or -1. */
static int
column_named(const struct listing *l, const char *name, size_t len)
{
	for (size_t i = 0; i < l->ncol; i++) {
		const char *k = l->col[i].key;

		if (k && strlen(k) == len && !strncmp(k, name, len))
			return (int)i;
	}
	return -1;
}

/* bad_column -- the usage error for an unknown -o name, listing the
 * valid ones. */
static int
bad_column(const struct listing *l, const char *name, size_t len)
{
	char *valid = format("%s", "");

	for (size_t i = 0; i < l->ncol; i++) {
		char *more;

		if (!l->col[i].key)
			continue;
		more = format("%s%s%s", valid, *valid ? "," : "",
			      l->col[i].key);
		free(valid);
		valid = more;
	}
	usage_error(NULL, "unknown column '%.*s' for -o (valid: %s)", (int)len,
		    name, valid);
	free(valid);
	return EXIT_USAGE;
}

int
view_select(const struct view *v, struct show *show, size_t cap,
	    struct view *ret)
{
	const char *p = style.columns;
	size_t n = 0;

	if (!p) {
		*ret = *v;
		return 0;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		int i = column_named(v->of, p, len);

		if (i < 0)
			return bad_column(v->of, p, len);
		if (n == cap)
			return usage_error(NULL, "too many columns for -o");
		show[n++] = (struct show){(unsigned)i, 0, NULL};
		for (size_t j = 0; j < v->nshow; j++)
			if (v->show[j].col == (unsigned)i)
				show[n - 1].flags = v->show[j].flags;
		if (!p[len])
			break;
		p += len + 1;
	}
	*ret = (struct view){v->of, show, n};
	return 0;
}

void
table_fprint(FILE *out, const struct view *v, const struct rows *r)
{
	char *head[16];
	bool right[16];
	int width[16] = {0};
	size_t nc = v->nshow, ncells = r->n * nc;
	char **cells = calloc(ncells ? ncells : 1, sizeof(*cells));

	assert(nc <= sizeof(width) / sizeof(width[0]));
	for (size_t j = 0; j < nc; j++)
		assert(v->show[j].col < v->of->ncol);
	if (!cells)
		die_oom();
	for (size_t j = 0; j < nc; j++) {
		const struct show *s = &v->show[j];
		const struct column *col = &v->of->col[s->col];

		head[j] = column_title(col, s);
		/* Without a legend, a column is as wide as its cells. */
		width[j] = style.no_legend ? 0 : (int)strlen(head[j]);
		right[j] = right_aligned(
			column_type(col, r->n ? r->row[0] : NULL));
	}
	for (size_t i = 0; i < r->n; i++) {
		for (size_t j = 0; j < nc; j++) {
			const struct show *s = &v->show[j];
			const struct column *col = &v->of->col[s->col];
			struct cell c = cell_get(col, r->row[i]);
			char *text = cell_string(&c, col->flags, s);
			int w = (int)strlen(text);

			cell_free(&c);
			cells[i * nc + j] = text;
			if (w > width[j])
				width[j] = w;
		}
	}
	for (size_t j = 0; j < nc; j++) {
		if (!style.no_legend)
			print_cell(out, head[j], right[j], j + 1 == nc,
				   width[j]);
		free(head[j]);
	}
	for (size_t i = 0; i < ncells; i++) {
		size_t j = i % nc;

		print_cell(out, cells[i], right[j], j + 1 == nc, width[j]);
		free(cells[i]);
	}
	free(cells);
}

/* ---- key: value lines and JSON ---------------------------------------- */

void
details_print(const struct listing *l, const void *row)
{
	for (size_t i = 0; i < l->ncol; i++) {
		const struct column *col = &l->col[i];
		struct cell c;
		char *text;

		if (!col->key || (col->flags & COL_NO_DETAIL) ||
		    (col->flags & (style.bytes ? COL_HUMAN : COL_EXACT)))
			continue;
		c = cell_get(col, row);
		text = cell_string(&c, col->flags, NULL);
		printf("%s: %s\n", col->key, text);
		free(text);
		cell_free(&c);
	}
}

json_object *
json_doc(void)
{
	json_object *o = json_object_new_object();

	if (!o)
		die_oom();
	return o;
}

json_object *
record_json(const struct listing *l, const void *row)
{
	json_object *o = json_doc();

	for (size_t i = 0; i < l->ncol; i++) {
		const struct column *col = &l->col[i];
		struct cell c;

		if (!col->key || (col->flags & COL_NO_JSON))
			continue;
		c = cell_get(col, row);
		json_object_object_add(o, col->key, cell_json(&c));
		cell_free(&c);
	}
	return o;
}

json_object *
rows_json(const struct listing *l, const struct rows *r)
{
	json_object *arr = json_object_new_array();

	if (!arr)
		die_oom();
	for (size_t i = 0; i < r->n; i++)
		json_object_array_add(arr, record_json(l, r->row[i]));
	return arr;
}

int
print_json(json_object *o)
{
	if (!o)
		die_oom();
	puts(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return EXIT_OK;
}

int
print_rows(bool json, const struct view *v, const struct rows *r,
	   json_object *doc, const char *key)
{
	if (json) {
		if (!doc)
			doc = json_doc();
		json_object_object_add(doc, key, rows_json(v->of, r));
		if (r->counts_hidden)
			json_add_u64(doc, "hidden", r->hidden);
		return print_json(doc);
	}
	struct show show[16];
	struct view sel;
	int err;

	json_object_put(doc);
	if ((err = view_select(v, show, 16, &sel)))
		return err;
	table_fprint(stdout, &sel, r);
	/* A user should not take a short listing for the whole story. */
	if (r->hidden && !style.no_legend)
		printf("(%" PRIu64 " row%s hidden: not readable by you)\n",
		       r->hidden, r->hidden == 1 ? "" : "s");
	return EXIT_OK;
}

int
print_record(bool json, const struct listing *l, const void *row)
{
	if (json)
		return print_json(record_json(l, row));
	details_print(l, row);
	return EXIT_OK;
}

void
json_add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_string(v));
}

void
json_add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

void
json_add_bool(json_object *o, const char *key, bool v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
}
