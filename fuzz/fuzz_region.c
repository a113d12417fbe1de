/* fuzz_region.c -- libFuzzer target: a region's metadata file, mutated,
 * through fsck_region() (collects every fault) and region_attach() (stops
 * at the first), which must not crash, leak or hang on any image.
 *
 * At start a template is made: a small region (8 MiB, 16 inodes) with two
 * files, an orphan, and a committed journal transaction not yet
 * checkpointed (the file is copied before the detach), so replay, verify,
 * load and reclaim all have work. An input is a flags byte, a
 * little-endian u32 offset (taken modulo the metadata file's size) and
 * bytes written there over the template's metadata file (the data file
 * stays as the template left it). With flag 1 the CRCs of the
 * superblock, of every record that is not all zero and of every journal
 * header are made right again after the write, so mutations get past the
 * checksums into the checks behind them.
 *
 * With PAGEMAP_FUZZ_SEEDS=DIR set, the target writes its seed corpus
 * there (the template's areas, a page each) and exits. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsck.h"
#include "inode_io.h"
#include "layout.h"
#include "log.h"
#include "region.h"

#define FUZZ_REGION_SIZE (8u << 20)
#define FLAG_RESEAL 1u

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char path[128]; /* the data file */
static char meta[160]; /* its metadata file */
static uint8_t *tmpl;  /* the template's metadata */
static uint8_t *image; /* one input's metadata */
static size_t meta_size;
static struct pm_super geo; /* the template's superblock */

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_region: %s: %s\n", what, why);
	abort();
}

static void
remove_dir(void)
{
	unlink(path);
	unlink(meta);
	rmdir(dir);
}

/* make_template -- format the region, fill it, copy its metadata before
 * the detach checkpoints the journal. */
static void
make_template(void)
{
	struct region_opts o = {
		.size = FUZZ_REGION_SIZE,
		.create = true,
		.max_order = 4,
		.inode_count = 16,
	};
	char err[REGION_ERR_MAX];
	struct inode *f, *g, *orphan;
	struct region *r;
	int fd;

	if (region_attach("t", path, &o, &r, err) < 0)
		die("format", err);
	if (inode_create(&r->files, "f", 3 * 65536 + 4096, 0644, 0, 0, &f) ||
	    inode_create(&r->files, "g", 8192, 0600, 0, 0, &g) ||
	    inode_create(&r->files, "o", 65536, 0600, 0, 0, &orphan) ||
	    region_commit(r) || inode_resize(&r->files, g, 12288) ||
	    inode_orphan(&r->files, orphan) || region_commit(r))
		die("fill", "an operation failed");
	geo = *r->sb;
	meta_size = geo.meta_size;
	if ((tmpl = malloc(meta_size)) == NULL ||
	    (image = malloc(meta_size)) == NULL)
		die("malloc", "no memory");
	fd = open(meta, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, tmpl, meta_size, 0) != (ssize_t)meta_size)
		die("read", meta);
	close(fd);
	region_detach(r);
}

/* write_seed -- one seed: @flags, the area at @off, @len bytes of it. */
static void
write_seed(const char *sdir, const char *name, uint8_t flags, uint64_t off,
	   size_t len)
{
	char p[512];
	uint32_t o32 = (uint32_t)off;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", sdir, name);
	f = fopen(p, "wb");
	if (f == NULL || fwrite(&flags, 1, 1, f) != 1 ||
	    fwrite(&o32, 4, 1, f) != 1 ||
	    fwrite(tmpl + off, 1, len, f) != len || fclose(f) != 0)
		die("seed", p);
}

static void
write_seeds(const char *sdir)
{
	write_seed(sdir, "super", FLAG_RESEAL, 0, 512);
	write_seed(sdir, "super_raw", 0, 0, 512);
	write_seed(sdir, "journal", FLAG_RESEAL, geo.journal_off, PM_PAGE_SIZE);
	write_seed(sdir, "inodes", FLAG_RESEAL, geo.inode_off, PM_PAGE_SIZE);
	write_seed(sdir, "extents", FLAG_RESEAL, geo.extent_off, 512);
	write_seed(sdir, "bitmap", FLAG_RESEAL, geo.bitmap_off,
		   geo.bitmap_size);
}

/* LLVMFuzzerInitialize -- the template (or, with PAGEMAP_FUZZ_SEEDS, the
 * seed corpus, then exit). */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *sdir = getenv("PAGEMAP_FUZZ_SEEDS");

	(void)argc;
	(void)argv;
	log_set_level(LOG_LEVEL_ERROR);
	snprintf(dir, sizeof(dir), "%s/pm-fuzz-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", dir);
	snprintf(path, sizeof(path), "%s/r.pmem", dir);
	snprintf(meta, sizeof(meta), "%s.meta", path);
	atexit(remove_dir);
	make_template();
	if (sdir) {
		write_seeds(sdir);
		exit(0);
	}
	return 0;
}

/* reseal -- make every checksum right again: the superblock's, each
 * record's that is not all zero (within the template's geometry), each
 * journal header's whose payload fits the area. */
static void
reseal(void)
{
	struct pm_super *sb = (struct pm_super *)image;

	layout_super_seal(sb);
	for (uint32_t i = 0; i < geo.inode_count; i++) {
		struct pm_inode *ino =
			(struct pm_inode *)(image + geo.inode_off) + i;

		if (!layout_all_zero(ino, sizeof(*ino)))
			layout_inode_seal(ino);
	}
	for (uint32_t i = 0; i < geo.extent_count; i++) {
		struct pm_extent *e =
			(struct pm_extent *)(image + geo.extent_off) + i;

		if (!layout_all_zero(e, sizeof(*e)))
			layout_extent_seal(e);
	}
	for (uint64_t pos = 0;
	     pos + sizeof(struct pm_journal_hdr) <= geo.journal_size;
	     pos += PM_PAGE_SIZE) {
		struct pm_journal_hdr h;
		uint8_t *at = image + geo.journal_off + pos;
		uint64_t room = geo.journal_size - pos - sizeof(h);

		memcpy(&h, at, sizeof(h));
		if (h.magic != PM_JOURNAL_MAGIC || h.payload_len > room)
			continue;
		h.crc = 0;
		h.crc = crc32c(crc32c(0, &h, sizeof(h)), at + sizeof(h),
			       h.payload_len);
		memcpy(at, &h, sizeof(h));
	}
}

/* LLVMFuzzerTestOneInput -- the template with one input written over it,
 * checked by fsck and attached. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct region_opts o = {0};
	struct fsck_report rep;
	char err[REGION_ERR_MAX];
	struct region *r = NULL;
	uint32_t off;
	uint8_t flags;
	int fd;

	if (size < 5)
		return 0;
	flags = data[0];
	memcpy(&off, data + 1, 4);
	off %= (uint32_t)meta_size;
	data += 5;
	size -= 5;
	if (size > meta_size - off)
		size = meta_size - off;
	memcpy(image, tmpl, meta_size);
	memcpy(image + off, data, size);
	if (flags & FLAG_RESEAL)
		reseal();
	fd = open(meta, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, image, meta_size, 0) != (ssize_t)meta_size)
		die("write", meta);
	close(fd);

	memset(&rep, 0, sizeof(rep));
	(void)fsck_region(path, &rep, NULL);
	if (region_attach("z", path, &o, &r, err) == 0)
		region_detach(r);
	return 0;
}
