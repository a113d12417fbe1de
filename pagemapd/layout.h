/* layout.h -- the persistent region format, version 2 (see docs/layout.md). */
#ifndef PAGEMAP_LAYOUT_H
#define PAGEMAP_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A region is two files. The metadata file is a sequence of areas, each
 * starting on a page boundary:
 *
 *   [super 4 KiB][journal][inode table][extent table][bitmap]
 *
 * and the data file (or devdax device) holds file data only, from data_pg
 * (0 for a region formatted as version 2; where the data area of a
 * converted version 1 region began) to its end. No client fd reaches the
 * metadata file. Journal and record offsets are metadata file offsets;
 * page numbers name pages of the data file.
 *
 * All integers are little-endian (the only byte order we build for; checked
 * at compile time). Every record carries a CRC32C of itself taken with its
 * crc field zeroed, so a torn or corrupted record is detected, never trusted.
 * The superblock is written once at format time and then only through the
 * journal (orphan list head). The inode table, extent table and bitmap are
 * changed only by journal transactions (journal.h), so a crash at any
 * persist point leaves either the old or the new state, never a mix.
 *
 * Page numbers ("pg") are absolute 4 KiB page indices from the start of the
 * region, so natural alignment of a folio is alignment of its pg value.
 */

#define PM_PAGE_SHIFT 12
#define PM_PAGE_SIZE (1u << PM_PAGE_SHIFT)
#define PM_MAGIC "PMAPRGN1" /* 8 bytes, no NUL stored */
#define PM_LAYOUT_VERSION 2u
#define PM_LAYOUT_VERSION_V1 1u /* metadata inside the data file */
#define PM_MAX_ORDER_LIMIT 18u /* 1 GiB folios */
#define PM_DEFAULT_MAX_ORDER 9u /* 2 MiB folios */
#define PM_NAME_MAX 127u /* bytes in a file name, without NUL */
#define PM_MIN_REGION_SIZE (8u << 20)

struct pm_super {
	char magic[8];
	uint32_t version;
	uint32_t crc; /* crc32c of this struct with crc = 0 */
	uint8_t uuid[16];
	uint64_t region_size; /* bytes described by this layout */
	uint32_t page_size; /* PM_PAGE_SIZE */
	uint32_t max_order; /* largest folio order, <= PM_MAX_ORDER_LIMIT */
	uint64_t journal_off; /* bytes, page aligned */
	uint64_t journal_size;
	uint64_t inode_off;
	uint32_t inode_count;
	uint32_t inode_size; /* sizeof(struct pm_inode) */
	uint64_t extent_off;
	uint32_t extent_count;
	uint32_t extent_size; /* sizeof(struct pm_extent) */
	uint64_t bitmap_off; /* one bit per region page, 1 = allocated */
	uint64_t bitmap_size; /* bytes */
	uint64_t data_pg; /* first data page; aligned to min(max folio, 2 MiB) */
	uint64_t data_pages; /* data_pg + data_pages <= region pages */
	uint32_t orphan_head; /* inode slot + 1 of the first orphan, 0 = none */
	uint32_t live_inodes; /* slots in use (files and orphans); journaled
			       * with every create and final free (v2) */
	uint64_t format_time_ns; /* CLOCK_REALTIME at format */
	/* Pins of this boot may be outstanding in pin tables of the runtime
	 * directory whose absolute path has CRC32C pins_dir_crc (all zero:
	 * none). Written through the journal at attach, cleared at a clean
	 * detach (docs/layout.md). */
	uint8_t pins_boot_id[16];
	uint32_t pins_dir_crc;
	uint32_t reserved1;
	uint64_t data_off; /* byte offset of data_pg in the data file (v2) */
	/* Version 1 ends here (PM_SUPER_V1_SIZE bytes). */
	uint64_t meta_size; /* bytes of the metadata file described (v2) */
	uint8_t reserved[24];
};

#define PM_SUPER_V1_SIZE 176u /* sizeof the version 1 superblock */

#define PM_INODE_USED 0x1u
#define PM_INODE_ORPHAN 0x2u /* unlinked, freed at the final unpin */

struct pm_inode {
	uint32_t crc; /* crc32c of this record with crc = 0 */
	uint32_t flags; /* PM_INODE_* */
	uint32_t gen; /* bumped each time the slot is reused; ino = gen<<32|slot */
	uint32_t orphan_next; /* slot + 1 of the next orphan, 0 = end */
	uint64_t size; /* bytes */
	uint64_t mtime_ns;
	uint32_t uid;
	uint32_t gid;
	uint32_t mode; /* permission bits only (07777) */
	uint32_t name_len; /* 1..PM_NAME_MAX, 0 for an orphan */
	char name[PM_NAME_MAX + 1]; /* NUL padded */
	uint8_t reserved[80];
};

/* An extent maps npages file pages from file_pg to region pages from
 * region_pg. A free slot is all zeroes (slot == 0). */
struct pm_extent {
	uint32_t crc; /* crc32c of this record with crc = 0; 0 for a free slot */
	uint32_t slot; /* owning inode slot + 1, 0 = free */
	uint64_t file_pg;
	uint64_t region_pg;
	uint64_t npages;
};

/* The journal area starts with this header, followed by records; see
 * journal.h for the protocol. */
#define PM_JOURNAL_MAGIC 0x4c4e524a50414d50ull /* "PMAPJRNL" */
struct pm_journal_hdr {
	uint64_t magic;
	uint64_t seq; /* transaction sequence number */
	uint64_t payload_len; /* bytes of records following the header */
	uint32_t nrecs;
	uint32_t crc; /* crc32c over header (crc = 0) and payload */
};

struct pm_journal_rec {
	uint64_t off; /* region byte offset to write */
	uint32_t len; /* bytes of data following; data padded to 8 */
	uint32_t reserved;
};

_Static_assert(sizeof(struct pm_super) <= PM_PAGE_SIZE, "super fits a page");
_Static_assert(__builtin_offsetof(struct pm_super, meta_size) ==
		       PM_SUPER_V1_SIZE,
	       "version 1 superblock is a prefix");
_Static_assert(sizeof(struct pm_inode) == 256, "inode record is 256 bytes");
_Static_assert(sizeof(struct pm_extent) == 32, "extent record is 32 bytes");
_Static_assert(sizeof(struct pm_journal_hdr) == 32, "journal header");
_Static_assert(sizeof(struct pm_journal_rec) == 16, "journal record");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the layout is little-endian only"
#endif

/* Geometry chosen at format time. */
struct pm_geometry {
	uint64_t region_size; /* bytes of the data file, page multiple */
	uint32_t max_order;
	uint32_t inode_count; /* 0: derive from size */
	uint32_t extent_count; /* 0: derive from inode_count */
};

/* crc32c -- CRC-32C (Castagnoli) of @len bytes, continuing from @crc
 * (start with 0). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* layout_plan -- fill @sb with the geometry of a new region described by
 * @g (uuid and times zeroed, crc not set): metadata areas in a metadata
 * file of sb->meta_size bytes, the data area the whole data file. Returns
 * 0, or -EINVAL when the geometry is impossible (too small, bad order)
 * with nothing promised about @sb. */
int layout_plan(const struct pm_geometry *g, struct pm_super *sb);

/* layout_plan_v1 -- the version 1 geometry of @g (metadata areas at the
 * start of the one region file, the data area after them), for tests and
 * the conversion's tests. Returns 0 or -EINVAL as layout_plan(). */
int layout_plan_v1(const struct pm_geometry *g, struct pm_super *sb);

/* layout_super_seal_v1 -- store the crc of a version 1 superblock (over
 * its PM_SUPER_V1_SIZE bytes). */
void layout_super_seal_v1(struct pm_super *sb);

/* layout_super_seal -- compute and store @sb->crc. */
void layout_super_seal(struct pm_super *sb);

/* layout_super_check -- validate a superblock read from a metadata file
 * of @file_size bytes: magic, version, crc, that every metadata area lies
 * inside meta_size (itself inside the file), is page aligned and does not
 * overlap another, and that the data area lies inside region_size (the
 * data file's size is the caller's to check: pairing). Returns 0 or
 * -EINVAL (not a pagemap region / corrupt), -EPROTONOSUPPORT (another
 * version; layout_is_v1() tells a version 1 region, which must be
 * converted); @why (may be NULL) gets a static one-line reason. */
int layout_super_check(const struct pm_super *sb, uint64_t file_size,
		       const char **why);

/* layout_super_check_v1 -- layout_super_check() of a version 1
 * superblock in a region file of @file_size bytes (areas and data inside
 * region_size). */
int layout_super_check_v1(const struct pm_super *sb, uint64_t file_size,
			  const char **why);

/* layout_is_v1 -- @sb has our magic and version 1. */
bool layout_is_v1(const struct pm_super *sb);

/* layout_journal_usable -- true if @sb has our magic and version and names
 * a page-aligned journal inside a file of @file_size bytes: enough to
 * replay a committed transaction (which may repair a torn, journaled
 * superblock write) before the full layout_super_check(). */
bool layout_journal_usable(const struct pm_super *sb, uint64_t file_size);

/* layout_inode_seal / layout_extent_seal -- store the record's crc. */
void layout_inode_seal(struct pm_inode *ino);
void layout_extent_seal(struct pm_extent *ext);

/* layout_inode_check / layout_extent_check -- 0 if the record's crc is
 * right and its fields are in range for @sb (a free extent slot must be
 * all zeroes), else -EUCLEAN. */
int layout_inode_check(const struct pm_super *sb, const struct pm_inode *ino);
int layout_extent_check(const struct pm_super *sb, const struct pm_extent *e);

/* layout_pages -- the pages that hold @bytes (the last one partly). */
static inline uint64_t
layout_pages(uint64_t bytes)
{
	return (bytes >> PM_PAGE_SHIFT) + !!(bytes & (PM_PAGE_SIZE - 1));
}

/* layout_all_zero -- whether the @len bytes at @p are all zero (a record
 * never written since format, a page never formatted). */
bool layout_all_zero(const void *p, size_t len);

/* layout_uuid_str -- @uuid as 36 characters and a NUL in @out (RFC 4122
 * text form). */
void layout_uuid_str(const uint8_t uuid[16], char out[37]);

/* layout_now_ns -- the clock of on-media times (CLOCK_REALTIME, ns). */
uint64_t layout_now_ns(void);

/* layout_name_valid -- 0 if @name is a valid file name (1..PM_NAME_MAX
 * bytes, no '/', no NUL inside, not "." or "..", printable), else -EINVAL
 * or -ENAMETOOLONG. */
int layout_name_valid(const char *name);

/* layout_name_hash -- FNV-1a of a file name, for the name indexes of the
 * file table and the verifier (names are short). */
uint32_t layout_name_hash(const char *name);

#endif
