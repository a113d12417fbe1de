/* layout.c -- geometry, checksums and validation of the region format v2. */
#include "layout.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

/*
 * Everything here is pure: the checks look only at the bytes they are given
 * and never trust a field before it has been bounded, because the records
 * come from media that may be torn, corrupted or not a region at all.
 */

#define INODE_DEFAULT_BYTES (64ull << 10) /* one inode per 64 KiB */
#define INODE_DEFAULT_MIN 64ull
#define INODE_DEFAULT_MAX (4ull << 20)
#define JOURNAL_BASE (1ull << 20)
#define DATA_ALIGN_MAX_PAGES 512ull /* 2 MiB */
#define FILE_SIZE_MAX ((uint64_t)INT64_MAX) /* a file size fits off_t */
#define FILE_PAGES_MAX (UINT64_MAX >> PM_PAGE_SHIFT)

/* The reflected Castagnoli polynomial 0x82F63B78, one entry per byte
 * value; a constant so that no lazy initialisation races between threads. */
static const uint32_t crc_table[256] = {
	0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u,
	0xc79a971fu, 0x35f1141cu, 0x26a1e7e8u, 0xd4ca64ebu,
	0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu,
	0x4d43cfd0u, 0xbf284cd3u, 0xac78bf27u, 0x5e133c24u,
	0x105ec76fu, 0xe235446cu, 0xf165b798u, 0x030e349bu,
	0xd7c45070u, 0x25afd373u, 0x36ff2087u, 0xc494a384u,
	0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u,
	0x5d1d08bfu, 0xaf768bbcu, 0xbc267848u, 0x4e4dfb4bu,
	0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u, 0x33ed7d2au,
	0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u,
	0xaa64d611u, 0x580f5512u, 0x4b5fa6e6u, 0xb93425e5u,
	0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau,
	0x30e349b1u, 0xc288cab2u, 0xd1d83946u, 0x23b3ba45u,
	0xf779deaeu, 0x05125dadu, 0x1642ae59u, 0xe4292d5au,
	0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au,
	0x7da08661u, 0x8fcb0562u, 0x9c9bf696u, 0x6ef07595u,
	0x417b1dbcu, 0xb3109ebfu, 0xa0406d4bu, 0x522bee48u,
	0x86e18aa3u, 0x748a09a0u, 0x67dafa54u, 0x95b17957u,
	0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u,
	0x0c38d26cu, 0xfe53516fu, 0xed03a29bu, 0x1f682198u,
	0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
	0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u,
	0xdbfc821cu, 0x2997011fu, 0x3ac7f2ebu, 0xc8ac71e8u,
	0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u,
	0x61c69362u, 0x93ad1061u, 0x80fde395u, 0x72966096u,
	0xa65c047du, 0x5437877eu, 0x4767748au, 0xb50cf789u,
	0xeb1fcbadu, 0x197448aeu, 0x0a24bb5au, 0xf84f3859u,
	0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u,
	0x7198540du, 0x83f3d70eu, 0x90a324fau, 0x62c8a7f9u,
	0xb602c312u, 0x44694011u, 0x5739b3e5u, 0xa55230e6u,
	0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u,
	0x3cdb9bddu, 0xceb018deu, 0xdde0eb2au, 0x2f8b6829u,
	0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu,
	0x456cac67u, 0xb7072f64u, 0xa457dc90u, 0x563c5f93u,
	0x082f63b7u, 0xfa44e0b4u, 0xe9141340u, 0x1b7f9043u,
	0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu,
	0x92a8fc17u, 0x60c37f14u, 0x73938ce0u, 0x81f80fe3u,
	0x55326b08u, 0xa759e80bu, 0xb4091bffu, 0x466298fcu,
	0x1871a4d8u, 0xea1a27dbu, 0xf94ad42fu, 0x0b21572cu,
	0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u,
	0xa24bb5a6u, 0x502036a5u, 0x4370c551u, 0xb11b4652u,
	0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
	0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du,
	0xef087a76u, 0x1d63f975u, 0x0e330a81u, 0xfc588982u,
	0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du,
	0x758fe5d6u, 0x87e466d5u, 0x94b49521u, 0x66df1622u,
	0x38cc2a06u, 0xcaa7a905u, 0xd9f75af1u, 0x2b9cd9f2u,
	0xff56bd19u, 0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu,
	0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u,
	0x0417b1dbu, 0xf67c32d8u, 0xe52cc12cu, 0x1747422fu,
	0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu, 0x5a048dffu,
	0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u,
	0xd3d3e1abu, 0x21b862a8u, 0x32e8915cu, 0xc083125fu,
	0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u,
	0x590ab964u, 0xab613a67u, 0xb831c993u, 0x4a5a4a90u,
	0x9e902e7bu, 0x6cfbad78u, 0x7fab5e8cu, 0x8dc0dd8fu,
	0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu,
	0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u, 0x37faccf1u,
	0x69e9f0d5u, 0x9b8273d6u, 0x88d28022u, 0x7ab90321u,
	0xae7367cau, 0x5c18e4c9u, 0x4f48173du, 0xbd23943eu,
	0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u,
	0x34f4f86au, 0xc69f7b69u, 0xd5cf889du, 0x27a40b9eu,
	0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
	0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

uint32_t
crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ crc >> 8;
	return ~crc;
}

static uint64_t
page_round(uint64_t bytes)
{
	return (bytes + PM_PAGE_SIZE - 1) & ~(uint64_t)(PM_PAGE_SIZE - 1);
}

static uint64_t
bitmap_bytes(uint64_t region_size)
{
	uint64_t pages = region_size >> PM_PAGE_SHIFT;

	return page_round((pages + 7) / 8);
}

static uint64_t
data_align_pages(uint32_t max_order)
{
	uint64_t folio = 1ull << max_order;

	return folio < DATA_ALIGN_MAX_PAGES ? folio : DATA_ALIGN_MAX_PAGES;
}

/* plan_meta -- the counts and the metadata areas of @g, from offset 0
 * (the superblock) to the end of the bitmap, which it returns; 0 when
 * the geometry is impossible. */
static uint64_t
plan_meta(const struct pm_geometry *g, struct pm_super *sb, uint32_t version)
{
	uint64_t inodes, extents, off;

	if (g->region_size % PM_PAGE_SIZE ||
	    g->region_size < PM_MIN_REGION_SIZE)
		return 0;
	if (g->max_order > PM_MAX_ORDER_LIMIT)
		return 0;
	inodes = g->inode_count;
	if (inodes == 0) {
		inodes = g->region_size / INODE_DEFAULT_BYTES;
		if (inodes < INODE_DEFAULT_MIN)
			inodes = INODE_DEFAULT_MIN;
		if (inodes > INODE_DEFAULT_MAX)
			inodes = INODE_DEFAULT_MAX;
	}
	extents = g->extent_count ? g->extent_count : 4 * inodes;
	/* Slots are stored as slot + 1 in 32-bit fields. */
	if (inodes >= UINT32_MAX || extents > UINT32_MAX)
		return 0;

	memset(sb, 0, sizeof(*sb));
	memcpy(sb->magic, PM_MAGIC, sizeof(sb->magic));
	sb->version = version;
	sb->region_size = g->region_size;
	sb->page_size = PM_PAGE_SIZE;
	sb->max_order = g->max_order;
	sb->inode_count = (uint32_t)inodes;
	sb->inode_size = sizeof(struct pm_inode);
	sb->extent_count = (uint32_t)extents;
	sb->extent_size = sizeof(struct pm_extent);
	sb->bitmap_size = bitmap_bytes(g->region_size);

	/* The areas follow each other in the order of layout.h. None of
	 * these sums can overflow: every term is below 2^32 pages. */
	off = PM_PAGE_SIZE;
	sb->journal_off = off;
	sb->journal_size = JOURNAL_BASE + 2 * sb->bitmap_size;
	off += sb->journal_size;
	sb->inode_off = off;
	off += page_round(inodes * sizeof(struct pm_inode));
	sb->extent_off = off;
	off += page_round(extents * sizeof(struct pm_extent));
	sb->bitmap_off = off;
	off += sb->bitmap_size;
	return off;
}

int
layout_plan(const struct pm_geometry *g, struct pm_super *sb)
{
	uint64_t end = plan_meta(g, sb, PM_LAYOUT_VERSION);

	if (end == 0)
		return -EINVAL;
	/* The data file holds data only: its page 0 is naturally aligned
	 * for every folio order. */
	sb->meta_size = end;
	sb->data_pg = 0;
	sb->data_off = 0;
	sb->data_pages = g->region_size >> PM_PAGE_SHIFT;
	return 0;
}

int
layout_plan_v1(const struct pm_geometry *g, struct pm_super *sb)
{
	uint64_t end = plan_meta(g, sb, PM_LAYOUT_VERSION_V1);
	uint64_t align, pages = g->region_size >> PM_PAGE_SHIFT;

	if (end == 0)
		return -EINVAL;
	align = data_align_pages(g->max_order);
	sb->data_pg = ((end >> PM_PAGE_SHIFT) + align - 1) / align * align;
	if (sb->data_pg >= pages)
		return -EINVAL;
	sb->data_pages = pages - sb->data_pg;
	return 0;
}

void
layout_super_seal(struct pm_super *sb)
{
	sb->crc = 0;
	sb->crc = crc32c(0, sb, sizeof(*sb));
}

void
layout_super_seal_v1(struct pm_super *sb)
{
	sb->crc = 0;
	sb->crc = crc32c(0, sb, PM_SUPER_V1_SIZE);
}

bool
layout_is_v1(const struct pm_super *sb)
{
	return memcmp(sb->magic, PM_MAGIC, sizeof(sb->magic)) == 0 &&
	       sb->version == PM_LAYOUT_VERSION_V1;
}

struct area {
	const char *name;
	uint64_t off;
	uint64_t len;
};

/* check_area -- @a must be page aligned, non-empty and inside @limit. */
static const char *
check_area(const struct area *a, uint64_t limit)
{
	if (a->off % PM_PAGE_SIZE)
		return "area is not page aligned";
	if (a->len == 0)
		return "area is empty";
	if (a->off > limit || a->len > limit - a->off)
		return "area lies outside the region";
	return NULL;
}

static int
fail(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

/* super_check -- the checks of a superblock of @version (its crc over
 * @crc_len bytes). Version 1: every area, data included, inside
 * region_size, itself inside the file. Version 2: the metadata areas
 * inside meta_size, itself inside the (metadata) file; the data area
 * inside region_size, the data file's, which the caller checks. */
static int
super_check(const struct pm_super *sb, uint64_t file_size, uint32_t version,
	    size_t crc_len, const char **why)
{
	struct pm_super tmp;
	uint64_t pages, align, meta_limit;
	uint32_t crc;
	bool v2 = version >= 2;

	if (memcmp(sb->magic, PM_MAGIC, sizeof(sb->magic)))
		return fail(why, "bad magic: not a pagemap region", -EINVAL);
	/* Another version may lay the superblock out differently, so its
	 * crc is not ours to judge. */
	if (sb->version == PM_LAYOUT_VERSION_V1 && version != 1)
		return fail(why,
			    "region format version 1 (metadata inside the "
			    "data file)",
			    -EPROTONOSUPPORT);
	if (sb->version != version)
		return fail(why, "unsupported layout version",
			    -EPROTONOSUPPORT);
	memcpy(&tmp, sb, sizeof(tmp));
	tmp.crc = 0;
	crc = crc32c(0, &tmp, crc_len);
	if (crc != sb->crc)
		return fail(why, "superblock crc mismatch", -EINVAL);
	if (sb->page_size != PM_PAGE_SIZE)
		return fail(why, "unsupported page size", -EINVAL);
	if (sb->max_order > PM_MAX_ORDER_LIMIT)
		return fail(why, "max_order too large", -EINVAL);
	if (sb->region_size % PM_PAGE_SIZE)
		return fail(why, "region size is not a page multiple", -EINVAL);
	if (sb->region_size < PM_MIN_REGION_SIZE)
		return fail(why, "region size below the minimum", -EINVAL);
	if (!v2 && sb->region_size > file_size)
		return fail(why, "region is larger than the file", -EINVAL);
	if (v2 && (sb->meta_size % PM_PAGE_SIZE || sb->meta_size == 0))
		return fail(why, "metadata size is not a page multiple",
			    -EINVAL);
	if (v2 && sb->meta_size > file_size)
		return fail(why, "metadata is larger than the metadata file",
			    -EINVAL);
	if (sb->inode_size != sizeof(struct pm_inode))
		return fail(why, "wrong inode record size", -EINVAL);
	if (sb->extent_size != sizeof(struct pm_extent))
		return fail(why, "wrong extent record size", -EINVAL);
	if (sb->inode_count == 0 || sb->inode_count == UINT32_MAX)
		return fail(why, "bad inode count", -EINVAL);
	if (sb->extent_count == 0)
		return fail(why, "bad extent count", -EINVAL);
	if (sb->bitmap_size != bitmap_bytes(sb->region_size))
		return fail(why, "bitmap size does not match the region size",
			    -EINVAL);
	if (sb->journal_size % PM_PAGE_SIZE ||
	    sb->journal_size < 2 * PM_PAGE_SIZE)
		return fail(why, "bad journal size", -EINVAL);
	if (sb->orphan_head > sb->inode_count)
		return fail(why, "orphan list head out of range", -EINVAL);
	if (v2 && sb->live_inodes > sb->inode_count)
		return fail(why, "live inode count out of range", -EINVAL);

	pages = sb->region_size >> PM_PAGE_SHIFT;
	align = data_align_pages(sb->max_order);
	if (sb->data_pg % align)
		return fail(why, "data area is not folio aligned", -EINVAL);
	if (sb->data_pages == 0 || sb->data_pg >= pages ||
	    sb->data_pages > pages - sb->data_pg)
		return fail(why, "data area lies outside the region", -EINVAL);
	if (v2 && sb->data_off != sb->data_pg << PM_PAGE_SHIFT)
		return fail(why, "data offset does not match the data area",
			    -EINVAL);

	/* Counts are < 2^32 and record sizes fixed, so the lengths fit.
	 * Version 2 keeps the data area out of the metadata file: only
	 * the first five areas share one file. */
	const struct area areas[] = {
		{"superblock", 0, PM_PAGE_SIZE},
		{"journal", sb->journal_off, sb->journal_size},
		{"inode table", sb->inode_off,
		 (uint64_t)sb->inode_count * sizeof(struct pm_inode)},
		{"extent table", sb->extent_off,
		 (uint64_t)sb->extent_count * sizeof(struct pm_extent)},
		{"bitmap", sb->bitmap_off, sb->bitmap_size},
		{"data", sb->data_pg << PM_PAGE_SHIFT,
		 sb->data_pages << PM_PAGE_SHIFT},
	};
	const size_t n = v2 ? 5 : sizeof(areas) / sizeof(areas[0]);

	meta_limit = v2 ? sb->meta_size : sb->region_size;
	for (size_t i = 0; i < n; i++) {
		const char *r = check_area(&areas[i], meta_limit);

		if (r)
			return fail(why, r, -EINVAL);
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = i + 1; k < n; k++) {
			const struct area *a = &areas[i], *b = &areas[k];

			if (a->off < b->off + b->len &&
			    b->off < a->off + a->len)
				return fail(why, "areas overlap", -EINVAL);
		}
	}
	if (why)
		*why = NULL;
	return 0;
}

int
layout_super_check(const struct pm_super *sb, uint64_t file_size,
		   const char **why)
{
	return super_check(sb, file_size, PM_LAYOUT_VERSION, sizeof(*sb),
			   why);
}

int
layout_super_check_v1(const struct pm_super *sb, uint64_t file_size,
		      const char **why)
{
	return super_check(sb, file_size, PM_LAYOUT_VERSION_V1,
			   PM_SUPER_V1_SIZE, why);
}

void
layout_inode_seal(struct pm_inode *ino)
{
	ino->crc = 0;
	ino->crc = crc32c(0, ino, sizeof(*ino));
}

void
layout_extent_seal(struct pm_extent *ext)
{
	ext->crc = 0;
	ext->crc = crc32c(0, ext, sizeof(*ext));
}

bool
layout_all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	/* Zero if the first byte is and every byte equals the next. */
	return len == 0 || (b[0] == 0 && memcmp(b, b + 1, len - 1) == 0);
}

void
layout_uuid_str(const uint8_t uuid[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[uuid[i] >> 4];
		out[o++] = hex[uuid[i] & 15];
	}
	out[o] = '\0';
}

uint64_t
layout_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
layout_inode_check(const struct pm_super *sb, const struct pm_inode *ino)
{
	struct pm_inode tmp = *ino;
	uint32_t known = PM_INODE_USED | PM_INODE_ORPHAN;

	/* Never used since format: format need not write the whole table
	 * (a sparse file reads as zeroes). Like a free slot of gen 0. */
	if (layout_all_zero(ino, sizeof(*ino)))
		return 0;
	tmp.crc = 0;
	if (crc32c(0, &tmp, sizeof(tmp)) != ino->crc)
		return -EUCLEAN;
	if (ino->flags & ~known)
		return -EUCLEAN;
	if (!(ino->flags & PM_INODE_USED))
		/* A free slot keeps only its generation; the rest of it is
		 * stale and never interpreted. */
		return ino->flags ? -EUCLEAN : 0;
	if (ino->mode & ~07777u || ino->size > FILE_SIZE_MAX)
		return -EUCLEAN;
	if (ino->flags & PM_INODE_ORPHAN)
		/* An orphan has no name; the bytes of the one it had are
		 * not interpreted. */
		return ino->name_len != 0 || ino->orphan_next > sb->inode_count
			       ? -EUCLEAN
			       : 0;
	if (ino->orphan_next)
		return -EUCLEAN;
	if (ino->name_len == 0 || ino->name_len > PM_NAME_MAX)
		return -EUCLEAN;
	/* NUL padded: the name ends exactly at name_len. */
	if (memchr(ino->name, 0, ino->name_len) ||
	    !layout_all_zero(ino->name + ino->name_len,
		      sizeof(ino->name) - ino->name_len))
		return -EUCLEAN;
	return layout_name_valid(ino->name) ? -EUCLEAN : 0;
}

int
layout_extent_check(const struct pm_super *sb, const struct pm_extent *e)
{
	struct pm_extent tmp = *e;

	if (e->slot == 0)
		return layout_all_zero(e, sizeof(*e)) ? 0 : -EUCLEAN;
	tmp.crc = 0;
	if (crc32c(0, &tmp, sizeof(tmp)) != e->crc)
		return -EUCLEAN;
	if (e->slot > sb->inode_count || e->npages == 0)
		return -EUCLEAN;
	if (e->region_pg < sb->data_pg ||
	    e->region_pg - sb->data_pg > sb->data_pages ||
	    e->npages > sb->data_pages - (e->region_pg - sb->data_pg))
		return -EUCLEAN;
	if (e->file_pg > FILE_PAGES_MAX ||
	    e->npages > FILE_PAGES_MAX - e->file_pg)
		return -EUCLEAN;
	return 0;
}

/* utf8_len -- length of the well-formed UTF-8 sequence at @s (at most @n
 * bytes available), or 0 if it is malformed, overlong or a surrogate. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* C1 controls are as unprintable as C0 ones. */
	if (cp >= 0x80 && cp < 0xa0)
		return 0;
	return len;
}

int
layout_name_valid(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, PM_NAME_MAX + 1);
	if (len == 0)
		return -EINVAL;
	if (len > PM_NAME_MAX)
		return -ENAMETOOLONG;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	/* Names end up in listings, logs and JSON: only printable, well
	 * formed UTF-8 is accepted. */
	for (size_t i = 0; i < len;) {
		size_t k;

		if (s[i] == '/' || s[i] < 0x20 || s[i] == 0x7f)
			return -EINVAL;
		k = utf8_len(s + i, len - i);
		if (k == 0)
			return -EINVAL;
		i += k;
	}
	return 0;
}

bool
layout_journal_usable(const struct pm_super *sb, uint64_t file_size)
{
	uint64_t joff = sb->journal_off, jsize = sb->journal_size;

	return memcmp(sb->magic, PM_MAGIC, sizeof(sb->magic)) == 0 &&
	       sb->version == PM_LAYOUT_VERSION && joff >= PM_PAGE_SIZE &&
	       joff % PM_PAGE_SIZE == 0 && jsize % PM_PAGE_SIZE == 0 &&
	       jsize > 0 && joff < file_size && jsize <= file_size - joff;
}

uint32_t
layout_name_hash(const char *name)
{
	uint32_t h = 2166136261u;

	while (*name)
		h = (h ^ (uint8_t)*name++) * 16777619u;
	return h;
}
