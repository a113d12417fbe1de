/* test_layout.c -- the region format: crc, geometry of versions 2 and 1
 * (the conversion reads version 1), record checks, names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "layout.h"

#include "fdcheck.h"
#include "rng.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define TiB (1ull << 40)

static void
plan_or_fail(uint64_t size, uint32_t order, struct pm_super *sb)
{
	struct pm_geometry g = {.region_size = size, .max_order = order};

	assert_int_equal(layout_plan_v1(&g, sb), 0);
	layout_super_seal_v1(sb);
}

static void
crc32c_matches_the_castagnoli_check_value(void **state)
{
	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c(0, "", 0), 0);
	/* RFC 3720 B.4: 32 bytes of zeroes. */
	uint8_t zero[32] = {0};
	assert_int_equal(crc32c(0, zero, sizeof(zero)), 0x8A9136AAu);
}

static void
crc32c_continues_across_calls(void **state)
{
	uint32_t c;

	(void)state;
	c = crc32c(0, "1234", 4);
	c = crc32c(c, "56789", 5);
	assert_int_equal(c, 0xE3069283u);
}

/* check_geometry -- every invariant layout_plan promises. */
static void
check_geometry(const struct pm_super *sb, uint64_t size, uint32_t order)
{
	uint64_t pages = size / PM_PAGE_SIZE;
	uint64_t align = (1ull << order) < 512 ? 1ull << order : 512;
	uint64_t bm = ((pages + 7) / 8 + PM_PAGE_SIZE - 1) /
		      PM_PAGE_SIZE * PM_PAGE_SIZE;
	uint64_t want_inodes = size / (64 << 10);
	const char *why = "unset";

	if (want_inodes < 64)
		want_inodes = 64;
	if (want_inodes > (4u << 20))
		want_inodes = 4u << 20;
	assert_memory_equal(sb->magic, PM_MAGIC, 8);
	assert_int_equal(sb->version, PM_LAYOUT_VERSION_V1);
	assert_int_equal(sb->region_size, size);
	assert_int_equal(sb->page_size, PM_PAGE_SIZE);
	assert_int_equal(sb->max_order, order);
	assert_int_equal(sb->inode_count, want_inodes);
	assert_int_equal(sb->extent_count, 4 * want_inodes);
	assert_int_equal(sb->inode_size, sizeof(struct pm_inode));
	assert_int_equal(sb->extent_size, sizeof(struct pm_extent));
	assert_int_equal(sb->bitmap_size, bm);
	assert_true(sb->bitmap_size * 8 >= pages);
	assert_int_equal(sb->journal_size, MiB + 2 * bm);
	assert_int_equal(sb->orphan_head, 0);

	/* In the order of layout.h, page aligned, back to back. */
	assert_int_equal(sb->journal_off, PM_PAGE_SIZE);
	assert_int_equal(sb->journal_off % PM_PAGE_SIZE, 0);
	assert_int_equal(sb->inode_off % PM_PAGE_SIZE, 0);
	assert_int_equal(sb->extent_off % PM_PAGE_SIZE, 0);
	assert_int_equal(sb->bitmap_off % PM_PAGE_SIZE, 0);
	assert_true(sb->inode_off >= sb->journal_off + sb->journal_size);
	assert_true(sb->extent_off >=
		    sb->inode_off + (uint64_t)sb->inode_count * 256);
	assert_true(sb->bitmap_off >=
		    sb->extent_off + (uint64_t)sb->extent_count * 32);
	assert_true(sb->data_pg * PM_PAGE_SIZE >=
		    sb->bitmap_off + sb->bitmap_size);
	/* No more padding before the data than the alignment needs. */
	assert_true(sb->data_pg * PM_PAGE_SIZE <
		    sb->bitmap_off + sb->bitmap_size + align * PM_PAGE_SIZE);
	assert_int_equal(sb->data_pg % align, 0);
	assert_true(sb->data_pages >= 1);
	assert_int_equal(sb->data_pg + sb->data_pages, pages);

	assert_int_equal(layout_super_check_v1(sb, size, &why), 0);
	assert_null(why);
	assert_int_equal(layout_super_check_v1(sb, size + 12345, NULL), 0);
}

static void
plan_geometry_holds_for_sizes_and_orders(void **state)
{
	static const uint64_t sizes[] = {
		PM_MIN_REGION_SIZE, PM_MIN_REGION_SIZE + PM_PAGE_SIZE,
		12 * MiB + 3 * PM_PAGE_SIZE, 64 * MiB, GiB,
		3 * GiB + 12 * 1024, 64 * GiB, TiB, 16 * TiB};
	static const uint32_t orders[] = {0, 1, 4, 9, 10, 12, 18};
	struct pm_super sb;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t k = 0; k < sizeof(orders) / sizeof(orders[0]);
		     k++) {
			plan_or_fail(sizes[i], orders[k], &sb);
			check_geometry(&sb, sizes[i], orders[k]);
		}
	}
}

static void
plan_honours_explicit_counts(void **state)
{
	struct pm_geometry g = {.region_size = 64 * MiB,
				.max_order = 9,
				.inode_count = 1000,
				.extent_count = 77};
	struct pm_super sb;

	(void)state;
	assert_int_equal(layout_plan_v1(&g, &sb), 0);
	layout_super_seal_v1(&sb);
	assert_int_equal(sb.inode_count, 1000);
	assert_int_equal(sb.extent_count, 77);
	assert_int_equal(layout_super_check_v1(&sb, g.region_size, NULL), 0);
	assert_true(sb.extent_off >= sb.inode_off + 1000 * 256);
	assert_true(sb.bitmap_off >= sb.extent_off + 77 * 32);

	g.extent_count = 0;
	assert_int_equal(layout_plan_v1(&g, &sb), 0);
	assert_int_equal(sb.extent_count, 4000);
}

static void
plan_rejects_impossible_geometry(void **state)
{
	struct pm_super sb;
	struct pm_geometry bad[] = {
		{.region_size = PM_MIN_REGION_SIZE - PM_PAGE_SIZE},
		{.region_size = 0},
		{.region_size = 64 * MiB + 1},
		{.region_size = 64 * MiB + 2048},
		{.region_size = 64 * MiB, .max_order = PM_MAX_ORDER_LIMIT + 1},
		{.region_size = 64 * MiB, .max_order = UINT32_MAX},
		/* Metadata leaves no data page. */
		{.region_size = PM_MIN_REGION_SIZE, .inode_count = 1u << 15},
		{.region_size = 64 * MiB, .extent_count = UINT32_MAX},
		{.region_size = 64 * MiB, .inode_count = UINT32_MAX},
		{.region_size = 64 * MiB, .inode_count = 1u << 30},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(layout_plan_v1(&bad[i], &sb), -EINVAL);
}

static void
plan_fills_the_smallest_region_to_the_last_page(void **state)
{
	struct pm_geometry g = {.region_size = PM_MIN_REGION_SIZE,
				.max_order = 0};
	struct pm_super sb;
	uint32_t n;

	(void)state;
	/* Grow the inode table until the data area would vanish: the last
	 * accepted plan has exactly one data page. */
	for (n = 64;; n++) {
		g.inode_count = n;
		if (layout_plan_v1(&g, &sb))
			break;
	}
	g.inode_count = n - 1;
	assert_int_equal(layout_plan_v1(&g, &sb), 0);
	assert_true(sb.data_pages >= 1);
	layout_super_seal_v1(&sb);
	assert_int_equal(layout_super_check_v1(&sb, g.region_size, NULL), 0);
}

/* One corruption of a sealed superblock; resealed unless it is the crc. */
struct corruption {
	const char *what;
	void (*apply)(struct pm_super *sb);
	int err;
	int reseal;
};

#define MUT(name, body)                                                        \
	static void name(struct pm_super *sb)                                  \
	{                                                                      \
		body;                                                          \
	}

MUT(bad_magic, sb->magic[0] = 'X')
MUT(bad_version, sb->version = 2)
MUT(zero_version, sb->version = 0)
MUT(bad_crc, sb->crc ^= 1)
MUT(bad_page_size, sb->page_size = 8192)
MUT(bad_order, sb->max_order = PM_MAX_ORDER_LIMIT + 1)
MUT(region_larger_than_file, sb->region_size += 2 * MiB)
MUT(region_not_page_multiple, sb->region_size -= 512)
MUT(region_too_small, sb->region_size = PM_MIN_REGION_SIZE - PM_PAGE_SIZE)
MUT(journal_misaligned, sb->journal_off += 8)
MUT(journal_over_super, sb->journal_off = 0)
MUT(journal_empty, sb->journal_size = 0)
MUT(journal_size_odd, sb->journal_size += 100)
MUT(journal_into_inodes, sb->journal_size += PM_PAGE_SIZE)
MUT(inodes_over_journal, sb->inode_off -= PM_PAGE_SIZE)
MUT(inodes_misaligned, sb->inode_off += 256)
MUT(inode_count_zero, sb->inode_count = 0)
MUT(inode_count_huge, sb->inode_count = UINT32_MAX)
MUT(inode_table_into_extents, sb->inode_count += PM_PAGE_SIZE / 256)
MUT(inode_size_wrong, sb->inode_size = 128)
MUT(extent_size_wrong, sb->extent_size = 64)
MUT(extent_count_zero, sb->extent_count = 0)
MUT(extent_table_into_bitmap, sb->extent_count += PM_PAGE_SIZE / 32)
MUT(extents_outside_file, sb->extent_off = sb->region_size)
MUT(extents_over_bitmap, sb->extent_off = sb->bitmap_off)
MUT(bitmap_too_small, sb->bitmap_size -= PM_PAGE_SIZE)
MUT(bitmap_too_big, sb->bitmap_size += PM_PAGE_SIZE)
MUT(bitmap_past_end, sb->bitmap_off = sb->region_size - PM_PAGE_SIZE)
MUT(bitmap_wraps, sb->bitmap_off = UINT64_MAX & ~4095ull)
MUT(data_misaligned, sb->data_pg += 1)
MUT(data_over_bitmap, sb->data_pg -= 512; sb->data_pages += 512)
MUT(data_past_end, sb->data_pages += 1)
MUT(data_empty, sb->data_pages = 0)
MUT(data_wraps, sb->data_pages = UINT64_MAX)
MUT(data_pg_huge, sb->data_pg = UINT64_MAX & ~511ull)
MUT(orphan_head_out_of_range, sb->orphan_head = sb->inode_count + 1)

static const struct corruption corruptions[] = {
	{"bad magic", bad_magic, -EINVAL, 1},
	{"version 2", bad_version, -EPROTONOSUPPORT, 1},
	{"version 0", zero_version, -EPROTONOSUPPORT, 1},
	{"bad crc", bad_crc, -EINVAL, 0},
	{"page size", bad_page_size, -EINVAL, 1},
	{"max order", bad_order, -EINVAL, 1},
	{"region > file", region_larger_than_file, -EINVAL, 1},
	{"region unaligned", region_not_page_multiple, -EINVAL, 1},
	{"region small", region_too_small, -EINVAL, 1},
	{"journal misaligned", journal_misaligned, -EINVAL, 1},
	{"journal over super", journal_over_super, -EINVAL, 1},
	{"journal empty", journal_empty, -EINVAL, 1},
	{"journal size odd", journal_size_odd, -EINVAL, 1},
	{"journal into inodes", journal_into_inodes, -EINVAL, 1},
	{"inodes over journal", inodes_over_journal, -EINVAL, 1},
	{"inodes misaligned", inodes_misaligned, -EINVAL, 1},
	{"inode count 0", inode_count_zero, -EINVAL, 1},
	{"inode count huge", inode_count_huge, -EINVAL, 1},
	{"inode table too long", inode_table_into_extents, -EINVAL, 1},
	{"inode size", inode_size_wrong, -EINVAL, 1},
	{"extent size", extent_size_wrong, -EINVAL, 1},
	{"extent count 0", extent_count_zero, -EINVAL, 1},
	{"extent table too long", extent_table_into_bitmap, -EINVAL, 1},
	{"extents outside", extents_outside_file, -EINVAL, 1},
	{"extents over bitmap", extents_over_bitmap, -EINVAL, 1},
	{"bitmap small", bitmap_too_small, -EINVAL, 1},
	{"bitmap big", bitmap_too_big, -EINVAL, 1},
	{"bitmap past end", bitmap_past_end, -EINVAL, 1},
	{"bitmap wraps", bitmap_wraps, -EINVAL, 1},
	{"data misaligned", data_misaligned, -EINVAL, 1},
	{"data over bitmap", data_over_bitmap, -EINVAL, 1},
	{"data past end", data_past_end, -EINVAL, 1},
	{"data empty", data_empty, -EINVAL, 1},
	{"data wraps", data_wraps, -EINVAL, 1},
	{"data pg huge", data_pg_huge, -EINVAL, 1},
	{"orphan head", orphan_head_out_of_range, -EINVAL, 1},
};

static void
super_check_rejects_each_corruption_with_a_reason(void **state)
{
	/* Tight geometry: the metadata ends right where the data begins, so
	 * growing any table collides with its neighbour. */
	static const uint64_t sizes[] = {PM_MIN_REGION_SIZE, 64 * MiB, GiB};
	struct pm_super orig, sb;

	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		plan_or_fail(sizes[s], 9, &orig);
		for (size_t i = 0;
		     i < sizeof(corruptions) / sizeof(corruptions[0]); i++) {
			const struct corruption *c = &corruptions[i];
			const char *why = NULL;
			int ret;

			sb = orig;
			c->apply(&sb);
			if (c->reseal)
				layout_super_seal_v1(&sb);
			ret = layout_super_check_v1(&sb, sizes[s], &why);
			if (ret != c->err)
				fail_msg("%s (size %llu): got %d, want %d",
					 c->what, (unsigned long long)sizes[s],
					 ret, c->err);
			assert_non_null(why);
			assert_true(strlen(why) > 0);
			assert_null(strchr(why, '\n'));
		}
	}
}

static void
super_check_rejects_a_file_shorter_than_the_region(void **state)
{
	struct pm_super sb;

	(void)state;
	plan_or_fail(64 * MiB, 9, &sb);
	assert_int_equal(layout_super_check_v1(&sb, 64 * MiB - 1, NULL), -EINVAL);
	assert_int_equal(layout_super_check_v1(&sb, 0, NULL), -EINVAL);
}

static void
super_check_rejects_every_single_bit_flip(void **state)
{
	struct pm_super orig, sb;

	(void)state;
	plan_or_fail(GiB, 9, &orig);
	for (size_t bit = 0; bit < PM_SUPER_V1_SIZE * 8; bit++) {
		int ret;

		sb = orig;
		((uint8_t *)&sb)[bit / 8] ^= (uint8_t)(1u << bit % 8);
		ret = layout_super_check_v1(&sb, GiB, NULL);
		assert_true(ret == -EINVAL || ret == -EPROTONOSUPPORT);
	}
}

static void
super_check_survives_random_bytes(void **state)
{
	struct pm_super sb;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		const char *why = NULL;
		int ret;

		for (size_t k = 0; k < PM_SUPER_V1_SIZE; k += 8) {
			uint64_t r = rnd();
			memcpy((uint8_t *)&sb + k, &r, 8);
		}
		/* Half the time pass the cheap gates to reach the field
		 * checks. */
		if (i & 1) {
			memcpy(sb.magic, PM_MAGIC, 8);
			sb.version = PM_LAYOUT_VERSION_V1;
			layout_super_seal_v1(&sb);
		}
		ret = layout_super_check_v1(&sb, UINT64_MAX, &why);
		assert_true(ret == -EINVAL || ret == -EPROTONOSUPPORT);
		assert_non_null(why);
	}
}

/* Random but plausible fields: the checks must decide, and whatever they
 * accept must really be a sane geometry. */
static void
super_check_accepts_only_sane_random_geometry(void **state)
{
	struct pm_super orig, sb;
	int accepted = 0;

	(void)state;
	plan_or_fail(GiB, 9, &orig);
	for (int i = 0; i < 50000; i++) {
		uint64_t *fields[] = {&sb.journal_off, &sb.journal_size,
				      &sb.inode_off, &sb.extent_off,
				      &sb.bitmap_off, &sb.bitmap_size,
				      &sb.data_pg, &sb.data_pages};
		uint64_t *f;

		sb = orig;
		f = fields[rnd() % 8];
		switch (rnd() % 3) {
		case 0:
			*f += (rnd() % 64) * 4096 - 32 * 4096;
			break;
		case 1:
			*f = rnd() % (2 * GiB);
			break;
		default:
			*f ^= 1ull << (rnd() % 64);
		}
		layout_super_seal_v1(&sb);
		if (layout_super_check_v1(&sb, GiB, NULL) == 0) {
			accepted++;
			/* Whatever passes is sane. */
			assert_true(sb.data_pg + sb.data_pages <= GiB / 4096);
			assert_true(sb.journal_off + sb.journal_size <= GiB);
			assert_true(sb.journal_off >= PM_PAGE_SIZE);
			assert_int_equal(sb.data_pg % 512, 0);
		}
	}
	/* Some moves (shrinking the data area) are legal. */
	assert_true(accepted > 0);
}

static struct pm_super
small_super(void)
{
	struct pm_super sb;

	plan_or_fail(64 * MiB, 9, &sb);
	return sb;
}

static struct pm_inode
named_inode(const char *name)
{
	struct pm_inode ino;

	memset(&ino, 0, sizeof(ino));
	ino.flags = PM_INODE_USED;
	ino.gen = 7;
	ino.size = 12345;
	ino.mode = 0640;
	ino.uid = 1000;
	ino.gid = 100;
	ino.name_len = (uint32_t)strlen(name);
	memcpy(ino.name, name, ino.name_len);
	layout_inode_seal(&ino);
	return ino;
}

static void
inode_check_accepts_valid_records(void **state)
{
	struct pm_super sb = small_super();
	struct pm_inode ino;
	char longest[PM_NAME_MAX + 1];

	(void)state;
	ino = named_inode("a");
	assert_int_equal(layout_inode_check(&sb, &ino), 0);

	memset(longest, 'x', PM_NAME_MAX);
	longest[PM_NAME_MAX] = '\0';
	ino = named_inode(longest);
	assert_int_equal(layout_inode_check(&sb, &ino), 0);

	/* Never used since format: all zeroes, crc included. */
	memset(&ino, 0, sizeof(ino));
	assert_int_equal(layout_inode_check(&sb, &ino), 0);

	/* A free slot keeps its generation and is sealed. */
	memset(&ino, 0, sizeof(ino));
	ino.gen = 42;
	layout_inode_seal(&ino);
	assert_int_equal(layout_inode_check(&sb, &ino), 0);

	/* An orphan has no name and may link to the last slot. */
	memset(&ino, 0, sizeof(ino));
	ino.flags = PM_INODE_USED | PM_INODE_ORPHAN;
	ino.orphan_next = sb.inode_count;
	ino.size = 1 << 20;
	layout_inode_seal(&ino);
	assert_int_equal(layout_inode_check(&sb, &ino), 0);
}

static void
inode_check_rejects_each_corruption(void **state)
{
	struct pm_super sb = small_super();
	struct pm_inode ino, orphan;

	(void)state;
	memset(&orphan, 0, sizeof(orphan));
	orphan.flags = PM_INODE_USED | PM_INODE_ORPHAN;
	layout_inode_seal(&orphan);

#define REJECT(base, change)                                                   \
	do {                                                                   \
		ino = (base);                                                  \
		change;                                                        \
		layout_inode_seal(&ino);                                       \
		assert_int_equal(layout_inode_check(&sb, &ino), -EUCLEAN);     \
	} while (0)

	/* Each single bit flip, not resealed, fails the crc. */
	for (size_t bit = 0; bit < sizeof(ino) * 8; bit++) {
		ino = named_inode("file");
		((uint8_t *)&ino)[bit / 8] ^= (uint8_t)(1u << bit % 8);
		assert_int_equal(layout_inode_check(&sb, &ino), -EUCLEAN);
	}
	REJECT(named_inode("f"), ino.flags |= 0x4);
	REJECT(named_inode("f"), ino.flags = PM_INODE_ORPHAN);
	REJECT(named_inode("f"), ino.mode = 010644);
	REJECT(named_inode("f"), ino.size = UINT64_MAX);
	REJECT(named_inode("f"), ino.name_len = 0);
	REJECT(named_inode("f"), ino.name_len = 2);
	REJECT(named_inode("ab"), ino.name_len = 1);
	REJECT(named_inode("f"), ino.name_len = PM_NAME_MAX + 1);
	REJECT(named_inode("f"), ino.name_len = UINT32_MAX);
	REJECT(named_inode("f"), ino.name[5] = 'x'); /* not NUL padded */
	REJECT(named_inode("f"), ino.name[PM_NAME_MAX] = 'x');
	REJECT(named_inode("a/b"), (void)0);
	REJECT(named_inode(".."), (void)0);
	REJECT(named_inode("tab\there"), (void)0);
	REJECT(named_inode("f"), ino.orphan_next = 1);
	REJECT(orphan, ino.orphan_next = sb.inode_count + 1);
	REJECT(orphan, ino.name_len = 1; ino.name[0] = 'a');
	REJECT(orphan, ino.mode = 0xffffffff);
	/* A free slot carries no flags. */
	memset(&orphan, 0, sizeof(orphan));
	REJECT(orphan, ino.flags = PM_INODE_ORPHAN);
	REJECT(orphan, ino.flags = 0x80000000u);
#undef REJECT
}

static void
inode_check_ignores_stale_bytes_nobody_reads(void **state)
{
	struct pm_super sb = small_super();
	struct pm_inode ino;

	(void)state;
	/* A freed slot may keep what it held, list link included. */
	ino = named_inode("gone");
	ino.flags = 0;
	ino.orphan_next = UINT32_MAX;
	ino.mode = UINT32_MAX;
	ino.name_len = UINT32_MAX;
	layout_inode_seal(&ino);
	assert_int_equal(layout_inode_check(&sb, &ino), 0);
	/* An orphan may keep the bytes of its old name. */
	ino = named_inode("gone");
	ino.flags |= PM_INODE_ORPHAN;
	ino.name_len = 0;
	layout_inode_seal(&ino);
	assert_int_equal(layout_inode_check(&sb, &ino), 0);
}

static struct pm_extent
used_extent(const struct pm_super *sb)
{
	struct pm_extent e = {.slot = 3,
			      .file_pg = 10,
			      .region_pg = sb->data_pg + 512,
			      .npages = 512};

	layout_extent_seal(&e);
	return e;
}

static void
extent_check_accepts_free_and_used_slots(void **state)
{
	struct pm_super sb = small_super();
	struct pm_extent e;

	(void)state;
	memset(&e, 0, sizeof(e));
	assert_int_equal(layout_extent_check(&sb, &e), 0);
	e = used_extent(&sb);
	assert_int_equal(layout_extent_check(&sb, &e), 0);
	/* The whole data area, owned by the last slot. */
	e = (struct pm_extent){.slot = sb.inode_count,
			       .region_pg = sb.data_pg,
			       .npages = sb.data_pages};
	layout_extent_seal(&e);
	assert_int_equal(layout_extent_check(&sb, &e), 0);
}

static void
extent_check_rejects_each_corruption(void **state)
{
	struct pm_super sb = small_super();
	struct pm_extent e;

	(void)state;
	for (size_t bit = 0; bit < sizeof(e) * 8; bit++) {
		e = used_extent(&sb);
		((uint8_t *)&e)[bit / 8] ^= (uint8_t)(1u << bit % 8);
		assert_int_equal(layout_extent_check(&sb, &e), -EUCLEAN);
	}
	/* A free slot is all zeroes, crc included. */
	for (size_t bit = 0; bit < sizeof(e) * 8; bit++) {
		memset(&e, 0, sizeof(e));
		((uint8_t *)&e)[bit / 8] ^= (uint8_t)(1u << bit % 8);
		if (e.slot)
			continue; /* then it is a used slot with a bad crc */
		assert_int_equal(layout_extent_check(&sb, &e), -EUCLEAN);
	}
	memset(&e, 0, sizeof(e));
	e.npages = 1;
	layout_extent_seal(&e);
	assert_int_equal(layout_extent_check(&sb, &e), -EUCLEAN);

#define REJECT(change)                                                         \
	do {                                                                   \
		e = used_extent(&sb);                                          \
		change;                                                        \
		layout_extent_seal(&e);                                        \
		assert_int_equal(layout_extent_check(&sb, &e), -EUCLEAN);      \
	} while (0)

	REJECT(e.slot = sb.inode_count + 1);
	REJECT(e.slot = UINT32_MAX);
	REJECT(e.npages = 0);
	REJECT(e.region_pg = sb.data_pg - 1);
	REJECT(e.region_pg = 0);
	REJECT(e.region_pg = sb.data_pg + sb.data_pages);
	REJECT(e.region_pg = sb.data_pg + sb.data_pages - 1; e.npages = 2);
	REJECT(e.region_pg = UINT64_MAX);
	REJECT(e.npages = UINT64_MAX);
	REJECT(e.file_pg = UINT64_MAX);
	REJECT(e.file_pg = (UINT64_MAX >> 12) - 100);
#undef REJECT
}

static void
name_valid_follows_the_table(void **state)
{
	char longest[PM_NAME_MAX + 1], too_long[PM_NAME_MAX + 2];
	static const struct {
		const char *name;
		int err;
	} cases[] = {
		{"a", 0},
		{"file.dat", 0},
		{"...", 0},
		{".hidden", 0},
		{"with space", 0},
		{"x-y_z+1~", 0},
		{"caf\xc3\xa9", 0}, /* UTF-8 é */
		{"\xe2\x82\xac", 0}, /* € */
		{"\xf0\x9f\x98\x80", 0}, /* U+1F600 */
		{"", -EINVAL},
		{".", -EINVAL},
		{"..", -EINVAL},
		{"a/b", -EINVAL},
		{"/", -EINVAL},
		{"dir/", -EINVAL},
		{"tab\t", -EINVAL},
		{"nl\n", -EINVAL},
		{"del\x7f", -EINVAL},
		{"\x01", -EINVAL},
		{"\xff", -EINVAL},
		{"\xc3", -EINVAL}, /* truncated sequence */
		{"\xc0\xaf", -EINVAL}, /* overlong '/' */
		{"\xed\xa0\x80", -EINVAL}, /* surrogate */
		{"\xf4\x90\x80\x80", -EINVAL}, /* > U+10FFFF */
		{"\xc2\x85", -EINVAL}, /* C1 control NEL */
		{"\x80", -EINVAL}, /* lone continuation */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = layout_name_valid(cases[i].name);

		if (ret != cases[i].err)
			fail_msg("name #%zu: got %d, want %d", i, ret,
				 cases[i].err);
	}
	assert_int_equal(layout_name_valid(NULL), -EINVAL);
	memset(longest, 'n', PM_NAME_MAX);
	longest[PM_NAME_MAX] = '\0';
	assert_int_equal(layout_name_valid(longest), 0);
	memset(too_long, 'n', PM_NAME_MAX + 1);
	too_long[PM_NAME_MAX + 1] = '\0';
	assert_int_equal(layout_name_valid(too_long), -ENAMETOOLONG);
}

/* ---- version 2: the metadata file and the data file ---------------------- */

static void
plan2(uint64_t size, uint32_t order, struct pm_super *sb)
{
	struct pm_geometry g = {.region_size = size, .max_order = order};

	assert_int_equal(layout_plan(&g, sb), 0);
	layout_super_seal(sb);
}

static void
v2_plan_puts_the_data_at_page_0_of_the_data_file(void **state)
{
	static const uint64_t sizes[] = {PM_MIN_REGION_SIZE, 64 * MiB, GiB,
					 TiB};
	static const uint32_t orders[] = {0, 9, 18};
	struct pm_super sb, v1;
	const char *why = "unset";

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t k = 0; k < 3; k++) {
			struct pm_geometry g = {.region_size = sizes[i],
						.max_order = orders[k]};

			plan2(sizes[i], orders[k], &sb);
			assert_int_equal(sb.version, PM_LAYOUT_VERSION);
			assert_int_equal(sb.data_pg, 0);
			assert_int_equal(sb.data_off, 0);
			assert_int_equal(sb.data_pages, sizes[i] / PM_PAGE_SIZE);
			assert_int_equal(sb.meta_size,
					 sb.bitmap_off + sb.bitmap_size);
			assert_int_equal(sb.live_inodes, 0);
			assert_int_equal(layout_super_check(&sb, sb.meta_size,
							    &why),
					 0);
			assert_null(why);
			/* The metadata areas are version 1's. */
			assert_int_equal(layout_plan_v1(&g, &v1), 0);
			assert_int_equal(v1.bitmap_off, sb.bitmap_off);
			assert_int_equal(v1.inode_off, sb.inode_off);
		}
	}
}

MUT(v2_meta_past_file, sb->meta_size += PM_PAGE_SIZE)
MUT(v2_meta_odd, sb->meta_size -= 8)
MUT(v2_meta_zero, sb->meta_size = 0)
MUT(v2_bitmap_past_meta, sb->meta_size -= PM_PAGE_SIZE)
MUT(v2_data_off_wrong, sb->data_off = PM_PAGE_SIZE)
MUT(v2_data_past_region, sb->data_pages += 1)
MUT(v2_live_too_many, sb->live_inodes = sb->inode_count + 1)
MUT(v2_version_1, sb->version = 1)
MUT(v2_version_3, sb->version = 3)
MUT(v2_tail_flipped, sb->reserved[3] ^= 1)

static void
v2_super_check_rejects_each_corruption(void **state)
{
	static const struct corruption v2c[] = {
		{"meta past file", v2_meta_past_file, -EINVAL, 1},
		{"meta odd", v2_meta_odd, -EINVAL, 1},
		{"meta zero", v2_meta_zero, -EINVAL, 1},
		{"bitmap past meta", v2_bitmap_past_meta, -EINVAL, 1},
		{"data off", v2_data_off_wrong, -EINVAL, 1},
		{"data past region", v2_data_past_region, -EINVAL, 1},
		{"live count", v2_live_too_many, -EINVAL, 1},
		{"version 1", v2_version_1, -EPROTONOSUPPORT, 1},
		{"version 3", v2_version_3, -EPROTONOSUPPORT, 1},
		{"tail not resealed", v2_tail_flipped, -EINVAL, 0},
	};
	struct pm_super orig, sb;

	(void)state;
	plan2(64 * MiB, 9, &orig);
	for (size_t i = 0; i < sizeof(v2c) / sizeof(v2c[0]); i++) {
		const char *why = NULL;
		int ret;

		sb = orig;
		v2c[i].apply(&sb);
		if (v2c[i].reseal)
			layout_super_seal(&sb);
		ret = layout_super_check(&sb, orig.meta_size, &why);
		if (ret != v2c[i].err)
			fail_msg("%s: got %d, want %d", v2c[i].what, ret,
				 v2c[i].err);
		assert_non_null(why);
	}
	/* A version 1 superblock is told apart, for the conversion. */
	sb = orig;
	sb.version = 1;
	assert_true(layout_is_v1(&sb));
	assert_false(layout_is_v1(&orig));
}

static void
v2_super_check_rejects_every_single_bit_flip(void **state)
{
	struct pm_super orig, sb;

	(void)state;
	plan2(GiB, 9, &orig);
	for (size_t bit = 0; bit < sizeof(sb) * 8; bit++) {
		int ret;

		sb = orig;
		((uint8_t *)&sb)[bit / 8] ^= (uint8_t)(1u << bit % 8);
		ret = layout_super_check(&sb, orig.meta_size, NULL);
		assert_true(ret == -EINVAL || ret == -EPROTONOSUPPORT);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(crc32c_matches_the_castagnoli_check_value),
		fdcheck_test(crc32c_continues_across_calls),
		fdcheck_test(v2_plan_puts_the_data_at_page_0_of_the_data_file),
		fdcheck_test(v2_super_check_rejects_each_corruption),
		fdcheck_test(v2_super_check_rejects_every_single_bit_flip),
		fdcheck_test(plan_geometry_holds_for_sizes_and_orders),
		fdcheck_test(plan_honours_explicit_counts),
		fdcheck_test(plan_rejects_impossible_geometry),
		fdcheck_test(plan_fills_the_smallest_region_to_the_last_page),
		fdcheck_test(super_check_rejects_each_corruption_with_a_reason),
		fdcheck_test(
			super_check_rejects_a_file_shorter_than_the_region),
		fdcheck_test(super_check_rejects_every_single_bit_flip),
		fdcheck_test(super_check_survives_random_bytes),
		fdcheck_test(super_check_accepts_only_sane_random_geometry),
		fdcheck_test(inode_check_accepts_valid_records),
		fdcheck_test(inode_check_rejects_each_corruption),
		fdcheck_test(inode_check_ignores_stale_bytes_nobody_reads),
		fdcheck_test(extent_check_accepts_free_and_used_slots),
		fdcheck_test(extent_check_rejects_each_corruption),
		fdcheck_test(name_valid_follows_the_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
