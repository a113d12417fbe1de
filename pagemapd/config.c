/* config.c -- daemon configuration: defaults, INI file (inih), --region. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "region.h"
#include "size.h"

#define DEFAULT_REGION_SIZE (1ull << 30)

void
config_defaults(struct config *c)
{
	const char *env;

	memset(c, 0, sizeof(*c));
	snprintf(c->socket_path, sizeof(c->socket_path), "%s",
		 PAGEMAP_DEFAULT_SOCKET);
	c->log_level = LOG_LEVEL_INFO;
	c->socket_mode = 0666; /* access is checked per request, by peer */
	c->max_clients = 1024;
	c->max_connections_per_uid = 64;
	c->reserved_connections = 8;
	c->handshake_timeout_ms = 5000;
	/* Together within max_memory_per_uid, whatever a uid does: 1 MiB of
	 * grants cost 128 MiB, 16384 leases 16 MiB, 64 connections 8.5 MiB,
	 * 32 MiB of queued replies (account.h has the costs). */
	c->max_leases = 4096;
	c->max_leases_per_uid = 16384;
	c->max_grants = 1u << 20;
	c->max_grants_per_uid = 1u << 20;
	c->max_queued_bytes = 16u << 20;
	c->max_queued_bytes_per_uid = 32u << 20;
	c->max_memory_per_uid = 256u << 20;
	c->max_cached_grants_per_lease = 16384;
	c->max_cached_grants_per_process = 65536;
	c->grant_ahead_folios = 0;
	c->max_pending = 256;
	/* systemd's RuntimeDirectory= (the first, if it names several). */
	env = getenv("RUNTIME_DIRECTORY");
	if (env && env[0] == '/')
		snprintf(c->runtime_dir, sizeof(c->runtime_dir), "%.*s",
			 (int)strcspn(env, ":"), env);
	else
		snprintf(c->runtime_dir, sizeof(c->runtime_dir), "%s",
			 PAGEMAP_DEFAULT_RUNTIME_DIR);
}

int
config_set_runtime_dir(struct config *c, const char *dir, const char **why)
{
	if (dir[0] != '/' || strlen(dir) >= sizeof(c->runtime_dir) - 64) {
		*why = "must be an absolute path of fewer than 4032 bytes";
		return -EINVAL;
	}
	snprintf(c->runtime_dir, sizeof(c->runtime_dir), "%s", dir);
	return 0;
}

static int
parse_u32(const char *s, int base, uint32_t max, uint32_t *ret)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end != '\0' || v > max)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

static int
parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (strcmp(s, yes[i]) == 0)
			return *ret = true, 0;
		if (strcmp(s, no[i]) == 0)
			return *ret = false, 0;
	}
	return -EINVAL;
}

static struct region_conf *
add_region(struct config *c, const char *name, char *err)
{
	struct region_conf *rc;

	if (region_name_valid(name) < 0) {
		snprintf(err, CONFIG_ERR_MAX,
			 "invalid region name '%s' (1-63 of A-Z a-z 0-9 _ . -)",
			 name);
		return NULL;
	}
	for (size_t i = 0; i < c->nregions; i++) {
		if (strcmp(c->regions[i].name, name) == 0) {
			snprintf(err, CONFIG_ERR_MAX,
				 "region '%s' is defined twice", name);
			return NULL;
		}
	}
	if (c->nregions == CONFIG_MAX_REGIONS) {
		snprintf(err, CONFIG_ERR_MAX, "more than %u regions",
			 CONFIG_MAX_REGIONS);
		return NULL;
	}
	rc = &c->regions[c->nregions++];
	memset(rc, 0, sizeof(*rc));
	snprintf(rc->name, sizeof(rc->name), "%s", name);
	rc->max_order = PM_DEFAULT_MAX_ORDER;
	return rc;
}

/* region_key -- apply one "key = value" of a region; 0 or -EINVAL with
 * the reason in @why. */
static int
region_key(struct region_conf *rc, const char *key, const char *value,
	   const char **why)
{
	if (strcmp(key, "path") == 0) {
		if (value[0] != '/' || strlen(value) >= sizeof(rc->path))
			return *why = "must be an absolute path", -EINVAL;
		snprintf(rc->path, sizeof(rc->path), "%s", value);
	} else if (strcmp(key, "meta") == 0) {
		/* The metadata file; "<path>.meta" when not named. */
		if (value[0] != '/' || strlen(value) >= sizeof(rc->meta))
			return *why = "must be an absolute path", -EINVAL;
		snprintf(rc->meta, sizeof(rc->meta), "%s", value);
	} else if (strcmp(key, "size") == 0) {
		if (size_parse(value, &rc->size, &rc->size_note) < 0 ||
		    rc->size < PM_MIN_REGION_SIZE || rc->size % PM_PAGE_SIZE)
			return *why = "must be a size of at least 8M, a multiple "
				      "of 4K: " SIZE_ACCEPTED,
			       -EINVAL;
	} else if (strcmp(key, "create") == 0) {
		if (parse_bool(value, &rc->create) < 0)
			return *why = "must be yes or no", -EINVAL;
	} else if (strcmp(key, "max_order") == 0) {
		if (parse_u32(value, 10, PM_MAX_ORDER_LIMIT, &rc->max_order))
			return *why = "must be a folio order from 0 to 18",
			       -EINVAL;
	} else if (strcmp(key, "inodes") == 0) {
		if (parse_u32(value, 10, 1u << 24, &rc->inodes) ||
		    rc->inodes == 0)
			return *why = "must be a file count from 1 to 16777216",
			       -EINVAL;
	} else {
		return *why = "unknown key", -EINVAL;
	}
	return 0;
}

static int
check_region(const struct region_conf *rc, char *err)
{
	if (rc->path[0] == '\0') {
		snprintf(err, CONFIG_ERR_MAX, "region '%s' has no path",
			 rc->name);
		return -EINVAL;
	}
	if (rc->create && rc->size == 0) {
		snprintf(err, CONFIG_ERR_MAX,
			 "region '%s' has create but no size", rc->name);
		return -EINVAL;
	}
	return 0;
}

struct ini_state {
	struct config *c;
	char *err; /* CONFIG_ERR_MAX */
	const char *path;
	struct region_conf *cur; /* region of the current section */
	char section[128];
};

/* size_key -- the field of the limit in bytes named @key, or NULL. */
static uint64_t *
size_key(struct config *c, const char *key)
{
	if (strcmp(key, "max_queued_bytes") == 0)
		return &c->max_queued_bytes;
	if (strcmp(key, "max_queued_bytes_per_uid") == 0)
		return &c->max_queued_bytes_per_uid;
	if (strcmp(key, "max_memory_per_uid") == 0)
		return &c->max_memory_per_uid;
	return NULL;
}

static int
daemon_key(struct config *c, const char *key, const char *value,
	   const char **why)
{
	uint64_t *sz;

	if (strcmp(key, "socket") == 0) {
		if (value[0] != '/' || strlen(value) >= sizeof(c->socket_path))
			return *why = "must be an absolute path of at most 107 "
				      "bytes",
			       -EINVAL;
		snprintf(c->socket_path, sizeof(c->socket_path), "%s", value);
	} else if (strcmp(key, "runtime_dir") == 0) {
		return config_set_runtime_dir(c, value, why);
	} else if (strcmp(key, "log_level") == 0) {
		if (log_parse_level(value, &c->log_level) < 0)
			return *why = "must be error, warn, info or debug",
			       -EINVAL;
	} else if (strcmp(key, "socket_mode") == 0) {
		if (parse_u32(value, 8, 0777, &c->socket_mode))
			return *why = "must be octal permission bits", -EINVAL;
	} else if (strcmp(key, "max_clients") == 0) {
		if (parse_u32(value, 10, 1u << 20, &c->max_clients) ||
		    !c->max_clients)
			return *why = "must be from 1 to 1048576", -EINVAL;
	} else if (strcmp(key, "max_connections_per_uid") == 0) {
		if (parse_u32(value, 10, 1u << 20,
			      &c->max_connections_per_uid) ||
		    !c->max_connections_per_uid)
			return *why = "must be from 1 to 1048576", -EINVAL;
	} else if (strcmp(key, "reserved_connections") == 0) {
		if (parse_u32(value, 10, 1u << 20, &c->reserved_connections))
			return *why = "must be from 0 to 1048576", -EINVAL;
	} else if (strcmp(key, "handshake_timeout_ms") == 0) {
		if (parse_u32(value, 10, 3600000, &c->handshake_timeout_ms) ||
		    !c->handshake_timeout_ms)
			return *why = "must be from 1 to 3600000", -EINVAL;
	} else if (strcmp(key, "max_leases") == 0) {
		if (parse_u32(value, 10, 1u << 24, &c->max_leases) ||
		    !c->max_leases)
			return *why = "must be from 1 to 16777216", -EINVAL;
	} else if (strcmp(key, "max_grants") == 0) {
		uint32_t v;
		if (parse_u32(value, 10, UINT32_MAX, &v) || !v)
			return *why = "must be from 1 to 4294967295", -EINVAL;
		c->max_grants = v;
	} else if (strcmp(key, "max_leases_per_uid") == 0) {
		if (parse_u32(value, 10, 1u << 24, &c->max_leases_per_uid) ||
		    !c->max_leases_per_uid)
			return *why = "must be from 1 to 16777216", -EINVAL;
	} else if (strcmp(key, "max_grants_per_uid") == 0) {
		uint32_t v;
		if (parse_u32(value, 10, UINT32_MAX, &v) || !v)
			return *why = "must be from 1 to 4294967295", -EINVAL;
		c->max_grants_per_uid = v;
	} else if ((sz = size_key(c, key)) != NULL) {
		uint64_t v;
		if (size_parse(value, &v, NULL) < 0 || v < (1u << 20) ||
		    v > (1ull << 40))
			return *why = "must be a size from 1M to 1T: "
				      SIZE_ACCEPTED,
			       -EINVAL;
		*sz = v;
	} else if (strcmp(key, "max_cached_grants_per_lease") == 0) {
		if (parse_u32(value, 10, UINT32_MAX,
			      &c->max_cached_grants_per_lease))
			return *why = "must be from 0 to 4294967295", -EINVAL;
	} else if (strcmp(key, "max_cached_grants_per_process") == 0) {
		uint32_t v;
		if (parse_u32(value, 10, UINT32_MAX, &v))
			return *why = "must be from 0 to 4294967295", -EINVAL;
		c->max_cached_grants_per_process = v;
	} else if (strcmp(key, "grant_ahead_folios") == 0) {
		if (parse_u32(value, 10, 8192, &c->grant_ahead_folios))
			return *why = "must be from 0 to 8192", -EINVAL;
	} else if (strcmp(key, "max_pending") == 0) {
		if (parse_u32(value, 10, 65536, &c->max_pending) ||
		    !c->max_pending)
			return *why = "must be from 1 to 65536", -EINVAL;
	} else {
		return *why = "unknown key", -EINVAL;
	}
	return 0;
}

/* on_ini -- inih callback; returning 0 makes ini_parse() report the line. */
static int
on_ini(void *user, const char *section, const char *key, const char *value)
{
	struct ini_state *st = user;
	const char *why = NULL;

	if (strcmp(section, st->section) != 0) {
		snprintf(st->section, sizeof(st->section), "%s", section);
		st->cur = NULL;
		if (strncmp(section, "region ", 7) == 0) {
			st->cur = add_region(st->c, section + 7, st->err);
			if (st->cur == NULL)
				return 0;
		} else if (strcmp(section, "daemon") != 0) {
			snprintf(st->err, CONFIG_ERR_MAX,
				 "unknown section [%s] (expected [daemon] or "
				 "[region NAME])",
				 section);
			return 0;
		}
	}
	if (key == NULL) /* a section header with no keys yet */
		return 1;
	if (st->cur ? region_key(st->cur, key, value, &why)
		    : daemon_key(st->c, key, value, &why)) {
		snprintf(st->err, CONFIG_ERR_MAX, "key '%s' in [%s]: %s", key,
			 section, why);
		return 0;
	}
	return 1;
}

int
config_load(struct config *c, const char *path, char *err)
{
	struct ini_state st = {.c = c, .err = err, .path = path};
	char msg[CONFIG_ERR_MAX];
	FILE *f;
	int line;

	err[0] = '\0';
	f = fopen(path, "re");
	if (f == NULL) {
		int e = errno;
		snprintf(err, CONFIG_ERR_MAX, "%s: %s", path, strerror(e));
		return -e;
	}
	line = ini_parse_file(f, on_ini, &st);
	fclose(f);
	if (line != 0) {
		snprintf(msg, sizeof(msg), "%s", err[0] ? err : "syntax error");
		snprintf(err, CONFIG_ERR_MAX, "%s:%d: %s", path, line, msg);
		return -EINVAL;
	}
	/* Replies are reckoned at their cap inside the memory limit
	 * (account.h): a cap as large would leave nothing for the rest. */
	if (c->max_queued_bytes_per_uid >= c->max_memory_per_uid) {
		snprintf(err, CONFIG_ERR_MAX,
			 "%s: max_queued_bytes_per_uid (%llu) must be below "
			 "max_memory_per_uid (%llu)",
			 path, (unsigned long long)c->max_queued_bytes_per_uid,
			 (unsigned long long)c->max_memory_per_uid);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->nregions; i++) {
		if (check_region(&c->regions[i], msg) < 0) {
			snprintf(err, CONFIG_ERR_MAX, "%s: %s", path, msg);
			return -EINVAL;
		}
	}
	return 0;
}

int
config_add_region_spec(struct config *c, const char *spec, char *err)
{
	char buf[PATH_MAX + 256], *name, *rest, *opt, *save = NULL;
	struct region_conf *rc;
	const char *why;

	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, CONFIG_ERR_MAX, "--region: argument too long");
		return -EINVAL;
	}
	strcpy(buf, spec);
	rest = strchr(buf, '=');
	if (rest == NULL) {
		snprintf(err, CONFIG_ERR_MAX,
			 "--region %s: expected "
			 "NAME=PATH[,meta=PATH][,size=SIZE][,create]",
			 spec);
		return -EINVAL;
	}
	*rest++ = '\0';
	name = buf;
	rc = add_region(c, name, err);
	if (rc == NULL)
		return -EINVAL;
	for (opt = strtok_r(rest, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		int rv;

		if (opt == rest) {
			/* The path comes first; relative paths are taken
			 * from the working directory. */
			char *abs = realpath(opt, NULL);
			if (opt[0] != '/' && abs == NULL) {
				char cwd[PATH_MAX];
				if (getcwd(cwd, sizeof(cwd)) == NULL)
					cwd[0] = '\0';
				snprintf(rc->path, sizeof(rc->path), "%s/%s",
					 cwd, opt);
			} else {
				snprintf(rc->path, sizeof(rc->path), "%s",
					 abs ? abs : opt);
			}
			free(abs);
			continue;
		}
		if (eq == NULL && strcmp(opt, "create") == 0) {
			rc->create = true;
			continue;
		}
		if (eq == NULL) {
			snprintf(err, CONFIG_ERR_MAX,
				 "--region %s: unknown option '%s'", spec, opt);
			c->nregions--;
			return -EINVAL;
		}
		*eq = '\0';
		if (strcmp(opt, "meta") == 0 && eq[1] && eq[1] != '/') {
			/* Relative, as the path: from the working
			 * directory. */
			char cwd[PATH_MAX], abs[PATH_MAX];

			if (getcwd(cwd, sizeof(cwd)) == NULL)
				cwd[0] = '\0';
			if (snprintf(abs, sizeof(abs), "%s/%s", cwd, eq + 1) <
			    (int)sizeof(abs)) {
				rv = region_key(rc, opt, abs, &why);
				goto checked;
			}
		}
		rv = region_key(rc, opt, eq + 1, &why);
checked:
		if (rv == 0 && strcmp(opt, "path") == 0)
			rv = -EINVAL, why = "the path comes right after NAME=";
		if (rv < 0) {
			snprintf(err, CONFIG_ERR_MAX, "--region %s: %s %s",
				 spec, opt, why);
			c->nregions--;
			return rv;
		}
	}
	if (check_region(rc, err) < 0) {
		c->nregions--;
		return -EINVAL;
	}
	return 0;
}

void
config_add_embedded_default(struct config *c)
{
	struct region_conf *rc = &c->regions[c->nregions++];

	memset(rc, 0, sizeof(*rc));
	snprintf(rc->name, sizeof(rc->name), "default");
	snprintf(rc->path, sizeof(rc->path), "%s", PAGEMAP_DEFAULT_REGION);
	rc->size = DEFAULT_REGION_SIZE;
	rc->create = true;
	rc->max_order = PM_DEFAULT_MAX_ORDER;
}
