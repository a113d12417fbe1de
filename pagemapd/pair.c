/* pair.c -- a region's two files: the metadata path and the pairing. */
#include "pair.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#define UUID_TEXT 36u

int
pair_meta_path(const char *data, const char *meta, char *out, size_t len)
{
	int n;

	if (meta && *meta)
		n = snprintf(out, len, "%s", meta);
	else
		n = snprintf(out, len, "%s%s", data, PAIR_META_SUFFIX);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* hex -- the value of one hex digit, or -1. */
static int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
pair_get(int fd, uint8_t ret_uuid[16])
{
	char text[UUID_TEXT + 1];
	ssize_t n = fgetxattr(fd, PAIR_XATTR, text, sizeof(text));
	int k = 0;

	if (n < 0) {
		/* A device node takes no user xattrs (EPERM): as if the
		 * filesystem had none. */
		if (errno == ENOTSUP || errno == EPERM)
			return -EOPNOTSUPP;
		return errno == ERANGE ? -EINVAL : -errno;
	}
	if ((size_t)n != UUID_TEXT)
		return -EINVAL;
	for (size_t i = 0; i < UUID_TEXT; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return -EINVAL;
			continue;
		}
		hi = hex(text[i]);
		lo = i + 1 < UUID_TEXT ? hex(text[i + 1]) : -1;
		if (hi < 0 || lo < 0 || k == 16)
			return -EINVAL;
		ret_uuid[k++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return k == 16 ? 0 : -EINVAL;
}

int
pair_set(int fd, const uint8_t uuid[16])
{
	char text[UUID_TEXT + 1];

	layout_uuid_str(uuid, text);
	if (fsetxattr(fd, PAIR_XATTR, text, UUID_TEXT, 0) == 0)
		return 0;
	if (errno == ENOTSUP || errno == EPERM)
		return -EOPNOTSUPP;
	return -errno;
}

int
pair_check(int fd, const char *data, uint64_t data_size, const char *meta,
	   const struct pm_super *sb, bool may_mark, enum pair_how *ret_how,
	   char *err)
{
	char want[UUID_TEXT + 1], got[UUID_TEXT + 1];
	uint8_t uuid[16];
	int rc = pair_get(fd, uuid);

	layout_uuid_str(sb->uuid, want);
	if (rc == 0 && memcmp(uuid, sb->uuid, sizeof(uuid)) != 0) {
		layout_uuid_str(uuid, got);
		return errmsg(err, -EINVAL,
			      "data file %s belongs to region %s, but the "
			      "metadata file %s is region %s's",
			      data, got, meta, want);
	}
	if (rc == -EINVAL)
		return errmsg(err, -EINVAL,
			      "data file %s carries a malformed %s; metadata "
			      "file %s is region %s's",
			      data, PAIR_XATTR, meta, want);
	if (data_size < sb->region_size)
		return errmsg(err, -EIO,
			      "data file %s truncated to %llu bytes, expected "
			      "%llu (metadata file %s)",
			      data, (unsigned long long)data_size,
			      (unsigned long long)sb->region_size, meta);
	if (rc == 0) {
		*ret_how = PAIR_UUID;
		return 0;
	}
	if (rc == -EOPNOTSUPP) {
		*ret_how = PAIR_SIZE;
		return 0;
	}
	if (rc != -ENODATA)
		return errmsg(err, rc, "cannot read %s of %s: %s", PAIR_XATTR,
			      data, strerror(-rc));
	*ret_how = PAIR_UNMARKED;
	if (!may_mark)
		return 0;
	rc = pair_set(fd, sb->uuid);
	if (rc == -EOPNOTSUPP) {
		*ret_how = PAIR_SIZE;
		return 0;
	}
	if (rc)
		return errmsg(err, rc, "cannot set %s of %s: %s", PAIR_XATTR,
			      data, strerror(-rc));
	*ret_how = PAIR_MARKED;
	return 0;
}
