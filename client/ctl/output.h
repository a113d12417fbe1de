/* output.h -- a listing described once, as columns, and printed from that
 * description as a table, as "key: value" lines or as JSON. */
#ifndef PAGEMAPCTL_OUTPUT_H
#define PAGEMAPCTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

enum cell_type {
	CELL_STR,  /* JSON string; tables and lines as is */
	CELL_U64,  /* JSON number; right-aligned decimal */
	CELL_BOOL, /* JSON boolean; "yes"/"no" in tables, "true"/"false" in
		      key: value lines */
	CELL_MODE, /* JSON number; right-aligned "%04o" */
};

/* One value of one row, as a column's formatter makes it. */
struct cell {
	enum cell_type type;
	const char *str; /* CELL_STR: the row's string, or own */
	uint64_t u64;	 /* CELL_U64, CELL_MODE */
	bool yes;	 /* CELL_BOOL */
	char *own;	 /* a string the formatter made; freed with the cell */
	char *text;	 /* tables only: shown instead of the value; owned */
};

/* A formatter: the value of one column for @row (an info struct). */
typedef void (*cell_fn)(const void *row, struct cell *ret);

enum {
	COL_NO_JSON = 1 << 0,	/* key: value lines only */
	COL_NO_DETAIL = 1 << 1, /* JSON only */
	COL_SIZE = 1 << 2,	/* bytes: "1.5G" unless --bytes (not JSON) */
	COL_MS = 1 << 3,	/* milliseconds: "1min 5s" unless --bytes */
	COL_EXACT = 1 << 4,	/* key: value line only with --bytes */
	COL_HUMAN = 1 << 5,	/* key: value line only without --bytes */
};

/* One column of a description. */
struct column {
	const char *header; /* table title of a column without a key (a
			       column with one is titled with its key
			       upper-cased: LEASE_ID for lease_id); NULL:
			       only in tables that -o asks for */
	const char *key;    /* JSON member, key of the key: value lines and
			       name for -o; NULL: tables only */
	unsigned flags;	    /* COL_* */
	cell_fn get;
};

/* A description: every column one kind of row has, in the order of its
 * JSON members and key: value lines. */
struct listing {
	const struct column *col;
	size_t ncol;
};

#define LISTING(cols)                                                          \
	{                                                                      \
		(cols), sizeof(cols) / sizeof((cols)[0])                       \
	}

enum {
	SHOW_HUMAN = 1 << 0, /* numbers as 512, 4K, 1.5M even with --bytes */
	SHOW_DASH = 1 << 1,  /* an empty string as "-" */
};

/* One column of a table, as the table shows it. */
struct show {
	unsigned col;	    /* index into the listing's columns */
	unsigned flags;	    /* SHOW_* */
	const char *header; /* NULL: the column's own */
};

/* A table: which columns of a listing, in which order. */
struct view {
	const struct listing *of;
	const struct show *show;
	size_t nshow;
};

#define VIEW(listing, shows)                                                   \
	{                                                                      \
		(listing), (shows), sizeof(shows) / sizeof((shows)[0])         \
	}

/* Rows of one listing: pointers to info structs, sorted as shown. */
struct rows {
	const void **row;
	size_t n;
	void *lib;	/* what the library returned, for pagemap_free() */
	bool own_index; /* row was allocated here (not the library's) */
	bool counts_hidden; /* a listing that leaves out rows: */
	uint64_t hidden;    /* how many it left out (not readable by us) */
};

/* cell_str -- a string value (NULL reads as ""). */
void cell_str(struct cell *c, const char *s);

/* cell_u64 -- a number. */
void cell_u64(struct cell *c, uint64_t v);

/* cell_bool -- a yes/no value. */
void cell_bool(struct cell *c, bool v);

/* cell_mode -- permission bits. */
void cell_mode(struct cell *c, unsigned mode);

/* cell_octal -- permission bits as a string ("0644"). */
void cell_octal(struct cell *c, unsigned mode);

/* cell_printf -- a string value made from a printf format. */
void cell_printf(struct cell *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* cell_text -- what tables show instead of the value (printf format). */
void cell_text(struct cell *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* cell_free -- free what a formatter made (not @c itself). */
void cell_free(struct cell *c);

/* CELL_FIELD -- define the formatter @name: @field of a @type row as a
 * @kind (str, u64, bool, mode or octal) cell. */
#define CELL_FIELD(name, type, field, kind)                                    \
	static void name(const void *row, struct cell *ret)                    \
	{                                                                      \
		cell_##kind(ret, ((const type *)row)->field);                  \
	}

/* rows_adopt -- the library's answer as rows: unless @err (returned as
 * it is), the array of @n record pointers @records, sorted with @cmp
 * (NULL: kept in the library's order), which compares two rows as qsort()
 * passes them (pointers to the pointers: see ROW). */
int rows_adopt(struct rows *r, int err, void *records, size_t n,
	       int (*cmp)(const void *, const void *));

struct pagemap;

/* rows_hidden -- unless @err (returned as it is), note in @r the rows the
 * last listing on @pm left out because we may not read them. */
int rows_hidden(struct rows *r, int err, const struct pagemap *pm);

/* rows_free -- release @r and what the library returned; @r may be
 * zeroed. */
void rows_free(struct rows *r);

/* ROW -- the info struct a qsort() comparator of rows is handed. */
#define ROW(type, p) (*(const type *const *)(p))

/* table_fprint -- @r as a table of @v with aligned columns on @out: a
 * header line, then one line per row (the last column has no trailing
 * blanks). */
void table_fprint(FILE *out, const struct view *v, const struct rows *r);

/* details_print -- @row as one "key: value" line per column on stdout. */
void details_print(const struct listing *l, const void *row);

/* record_json -- @row as a JSON object of its listing's members. */
json_object *record_json(const struct listing *l, const void *row);

/* rows_json -- @r as a JSON array of record_json() objects. */
json_object *rows_json(const struct listing *l, const struct rows *r);

/* print_json -- emit @o as the command's one JSON document and drop it;
 * returns 0 (EXIT_OK). */
int print_json(json_object *o);

/* print_rows -- a listing's result: @r as a table of @v (with a footer
 * line that counts the rows left out, unless --no-legend), or with @json
 * the document @doc (a new one when NULL) with the rows under @key and,
 * for a listing that leaves out rows, their count as "hidden". */
int print_rows(bool json, const struct view *v, const struct rows *r,
	       json_object *doc, const char *key);

/* print_record -- a command's one row: key: value lines, or with @json
 * its JSON object. */
int print_record(bool json, const struct listing *l, const void *row);

/* json_doc -- a new empty object; dies on malloc failure. */
json_object *json_doc(void);

/* json_string -- @s as a JSON string, valid UTF-8 whatever the daemon
 * sent (json-c escapes the control characters itself); dies on malloc
 * failure. Every string of the CLI's JSON is made here. */
json_object *json_string(const char *s);

/* json_add_str -- add a string member to @o. */
void json_add_str(json_object *o, const char *key, const char *v);

/* json_add_u64 -- add an integer member to @o (exact for all 64 bits). */
void json_add_u64(json_object *o, const char *key, uint64_t v);

/* json_add_bool -- add a boolean member to @o. */
void json_add_bool(json_object *o, const char *key, bool v);

/* How tables and key: value lines are printed: the global options
 * --bytes, --no-legend and -o. */
struct out_style {
	bool bytes;	     /* exact numbers instead of "1.5G", "1min 5s" */
	bool no_legend;	     /* tables without header and footer lines */
	const char *columns; /* -o: JSON keys, comma-separated; NULL: the
				listing's own columns */
};

/* output_style -- set how every later table and key: value line is
 * printed (the default: human, with a legend, the listing's columns). */
void output_style(const struct out_style *s);

/* view_select -- the view of @v's listing that -o names into @show (of
 * @cap entries), or @v itself without -o. EXIT_USAGE (reported, with
 * the valid names) for an unknown or empty name; else 0. */
int view_select(const struct view *v, struct show *show, size_t cap,
		struct view *ret);

#endif
