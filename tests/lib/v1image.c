/* v1image.c -- region files of format version 1, built as version 1 laid
 * them out: [super][journal][inodes][extents][bitmap][pad][data ...] in
 * one file, the superblock's crc over its first 176 bytes. */
#include "v1image.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "layout.h"

static int
noop_persist(struct pm_media *m, uint64_t off, uint64_t len)
{
	(void)m, (void)off, (void)len;
	return 0;
}

/* named -- a sealed record of a named file. */
static struct pm_inode
named(const char *name, uint64_t size)
{
	struct pm_inode r;

	memset(&r, 0, sizeof(r));
	r.flags = PM_INODE_USED;
	r.gen = 1;
	r.size = size;
	r.mtime_ns = 1700000000000000000ull;
	r.uid = 0;
	r.gid = 0;
	r.mode = 0644;
	r.name_len = (uint32_t)strlen(name);
	memcpy(r.name, name, r.name_len);
	layout_inode_seal(&r);
	return r;
}

int
v1image_write(const char *path, uint64_t size, const char *name,
	      const void *data, size_t len, int pending)
{
	struct pm_geometry g = {.region_size = size, .max_order = 9};
	struct pm_media m = {.persist = noop_persist};
	uint64_t pages = (len + PM_PAGE_SIZE - 1) / PM_PAGE_SIZE, pg;
	struct pm_inode *ino, rec;
	struct pm_extent *ext;
	struct pm_super *sb;
	struct journal j;
	uint8_t *buf = calloc(1, size);
	int fd, rc = -1;

	if (!buf)
		return -1;
	sb = (struct pm_super *)buf;
	if (layout_plan_v1(&g, sb))
		goto out;
	for (int i = 0; i < 16; i++)
		sb->uuid[i] = (uint8_t)(0x21 * i + 7);
	sb->format_time_ns = 1700000000000000000ull;
	ino = (struct pm_inode *)(buf + sb->inode_off);
	ext = (struct pm_extent *)(buf + sb->extent_off);
	m.base = buf;
	m.size = size;
	if (journal_init(&j, &m, sb->journal_off, sb->journal_size))
		goto out;
	if (journal_format(&j)) {
		journal_fini(&j);
		goto out;
	}

	/* The data file "name" at the first data pages, "empty", and an
	 * orphan of one page after the data. */
	pg = sb->data_pg;
	rec = named(name, len);
	ino[1] = named("empty", 0);
	memset(&ino[2], 0, sizeof(ino[2]));
	ino[2].flags = PM_INODE_USED | PM_INODE_ORPHAN;
	ino[2].gen = 1;
	ino[2].size = PM_PAGE_SIZE;
	layout_inode_seal(&ino[2]);
	sb->orphan_head = 3;
	ext[0] =
		(struct pm_extent){.slot = 1, .region_pg = pg, .npages = pages};
	layout_extent_seal(&ext[0]);
	ext[1] = (struct pm_extent){
		.slot = 3, .region_pg = pg + pages, .npages = 1};
	layout_extent_seal(&ext[1]);
	for (uint64_t p = pg; p < pg + pages + 1; p++)
		buf[sb->bitmap_off + p / 8] |= (uint8_t)(1u << p % 8);
	memcpy(buf + (pg << PM_PAGE_SHIFT), data, len);
	layout_super_seal_v1(sb);
	if (pending) {
		/* Committed, not yet home: the replay writes it. */
		rc = journal_add(&j, sb->inode_off, &rec, sizeof(rec));
		if (!rc)
			rc = journal_commit(&j);
		memset(&ino[0], 0, sizeof(ino[0]));
		if (rc) {
			rc = -1;
			journal_fini(&j);
			goto out;
		}
		rc = -1;
	} else {
		ino[0] = rec;
	}
	journal_fini(&j);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (ftruncate(fd, (off_t)size) == 0 &&
	    pwrite(fd, buf, size, 0) == (ssize_t)size && fsync(fd) == 0)
		rc = 0;
	close(fd);
out:
	free(buf);
	return rc;
}
