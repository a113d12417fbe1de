/* main.c -- pagemapd: arguments, configuration, the event loop. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "config.h"
#include "fault.h"
#include "log.h"
#include "notify.h"
#include "ops.h"
#include "pins.h"
#include "server.h"
#include "session.h"

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: pagemapd [--config FILE] [--socket PATH] "
		"[--runtime-dir DIR]\n"
		"                [--region NAME=PATH[,size=SIZE][,create]"
		"[,max_order=N][,inodes=N]]...\n"
		"                [--log-level error|warn|info|debug]\n"
		"\n"
		"Serves persistent-memory regions to local clients. Stays in "
		"the\nforeground and logs to stderr. With no --config and no "
		"--region it\nserves the embedded default region 'default' "
		"(%s, created on\nfirst start). SIGTERM or SIGINT: detach "
		"everything and exit 0;\na second one: stop at once and exit "
		"3, "
		"the grants still out kept\nfor the next start.\n"
		"\n"
		"  -c, --config FILE     read settings from an INI file\n"
		"  -s, --socket PATH     listen on PATH (default %s)\n"
		"  -R, --runtime-dir DIR pin tables in DIR/pins (default "
		"$RUNTIME_DIRECTORY,\n"
		"                        else %s)\n"
		"  -r, --region SPEC     attach a region; repeatable\n"
		"  -l, --log-level LEVEL error, warn, info (default) or debug\n"
		"  -t, --check-config    check the configuration, say what it "
		"serves, exit\n"
		"  -V, --version         print the version and exit\n"
		"  -h, --help            print this help and exit\n",
		PAGEMAP_DEFAULT_REGION, PAGEMAP_DEFAULT_SOCKET,
		PAGEMAP_DEFAULT_RUNTIME_DIR);
}

/* print_config -- what a start with @c would serve (--check-config). */
static void
print_config(const struct config *c)
{
	printf("socket %s\nruntime_dir %s\n", c->socket_path, c->runtime_dir);
	printf("limits per process: max_leases %u, max_grants %llu, "
	       "max_queued_bytes %llu\n",
	       c->max_leases, (unsigned long long)c->max_grants,
	       (unsigned long long)c->max_queued_bytes);
	printf("limits per uid: max_connections_per_uid %u, "
	       "max_leases_per_uid %u, max_grants_per_uid %llu, "
	       "max_queued_bytes_per_uid %llu, max_memory_per_uid %llu\n",
	       c->max_connections_per_uid, c->max_leases_per_uid,
	       (unsigned long long)c->max_grants_per_uid,
	       (unsigned long long)c->max_queued_bytes_per_uid,
	       (unsigned long long)c->max_memory_per_uid);
	for (size_t i = 0; i < c->nregions; i++) {
		const struct region_conf *r = &c->regions[i];

		printf("region %s %s", r->name, r->path);
		if (r->create)
			printf(" create size=%llu",
			       (unsigned long long)r->size);
		printf("\n");
		if (r->size_note)
			printf("  note: size: %s\n", r->size_note);
	}
	printf("configuration OK\n");
}

/* parse_args -- fill @c from the command line; 0, 1 (done: help, version
 * or --check-config printed) or -EINVAL after printing why. */
static int
parse_args(int argc, char **argv, struct config *c)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 's'},
		{"runtime-dir", required_argument, NULL, 'R'},
		{"region", required_argument, NULL, 'r'},
		{"log-level", required_argument, NULL, 'l'},
		{"check-config", no_argument, NULL, 't'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *socket_path = NULL, *level = NULL;
	const char *runtime_dir = NULL, *why = NULL;
	char err[CONFIG_ERR_MAX];
	char **specs;
	size_t nspecs = 0;
	bool check = false;
	int opt, rv = 0;

	specs = calloc((size_t)argc, sizeof(*specs));
	if (specs == NULL)
		return -ENOMEM;
	while ((opt = getopt_long(argc, argv, "c:s:R:r:l:tVh", opts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'R':
			runtime_dir = optarg;
			break;
		case 'r':
			specs[nspecs++] = optarg;
			break;
		case 'l':
			level = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'V':
			printf("pagemapd %s\n", PAGEMAPD_VERSION_STRING);
			rv = 1;
			goto out;
		case 'h':
			usage(stdout);
			rv = 1;
			goto out;
		default:
			usage(stderr);
			rv = -EINVAL;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pagemapd: unexpected argument '%s'\n",
			argv[optind]);
		rv = -EINVAL;
		goto out;
	}
	/* The config file first, then the command line overrides it. */
	if (config_path && (rv = config_load(c, config_path, err)) < 0) {
		fprintf(stderr, "pagemapd: %s\n", err);
		goto out;
	}
	for (size_t i = 0; i < nspecs; i++) {
		rv = config_add_region_spec(c, specs[i], err);
		if (rv < 0) {
			fprintf(stderr, "pagemapd: %s\n", err);
			goto out;
		}
	}
	if (socket_path) {
		if (strlen(socket_path) >= sizeof(c->socket_path)) {
			fprintf(stderr, "pagemapd: socket path too long\n");
			rv = -EINVAL;
			goto out;
		}
		snprintf(c->socket_path, sizeof(c->socket_path), "%s",
			 socket_path);
	}
	if (runtime_dir && config_set_runtime_dir(c, runtime_dir, &why)) {
		fprintf(stderr, "pagemapd: --runtime-dir: %s\n", why);
		rv = -EINVAL;
		goto out;
	}
	if (level && log_parse_level(level, &c->log_level) < 0) {
		fprintf(stderr, "pagemapd: --log-level: expected error, warn, "
				"info or debug\n");
		rv = -EINVAL;
		goto out;
	}
	if (config_path == NULL && nspecs == 0 && check) {
		config_add_embedded_default(c);
	} else if (config_path == NULL && nspecs == 0) {
		/* The embedded default lives in an ignored folder of the
		 * checkout, made on first start. */
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", PAGEMAP_DEFAULT_REGION);
		*strrchr(dir, '/') = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			fprintf(stderr, "pagemapd: cannot create %s: %s\n", dir,
				strerror(errno));
		config_add_embedded_default(c);
	}
	if (check) {
		print_config(c);
		rv = 1;
	}
out:
	free(specs);
	return rv;
}

/* The command line, kept for a reload. */
struct start {
	int argc;
	char **argv;
	struct config *cfg; /* the one the server reads */
};

/* reload -- SIGHUP: read the command line and the config file again into
 * a fresh config; on success the log level and the limits take effect at
 * once (every check reads them from @st->cfg), the socket, runtime
 * directory and regions at the next start. On failure nothing changes. */
static void
reload(struct server *srv, void *ctx)
{
	struct start *st = ctx;
	struct config *c = st->cfg, *fresh = malloc(sizeof(*fresh));
	bool same;

	(void)srv;
	if (!fresh) {
		log_error("reload: out of memory; configuration not changed");
		return;
	}
	config_defaults(fresh);
	optind = 0; /* getopt starts over */
	if (parse_args(st->argc, st->argv, fresh) != 0) {
		log_error("reload: the configuration has errors (above); "
			  "nothing changed");
		free(fresh);
		return;
	}
	c->log_level = fresh->log_level;
	log_set_level(c->log_level);
	c->max_leases = fresh->max_leases;
	c->max_leases_per_uid = fresh->max_leases_per_uid;
	c->max_grants = fresh->max_grants;
	c->max_grants_per_uid = fresh->max_grants_per_uid;
	c->max_queued_bytes = fresh->max_queued_bytes;
	c->max_queued_bytes_per_uid = fresh->max_queued_bytes_per_uid;
	c->max_memory_per_uid = fresh->max_memory_per_uid;
	c->max_pending = fresh->max_pending;
	c->max_cached_grants_per_lease = fresh->max_cached_grants_per_lease;
	c->max_cached_grants_per_process = fresh->max_cached_grants_per_process;
	c->grant_ahead_folios = fresh->grant_ahead_folios;
	c->max_connections_per_uid = fresh->max_connections_per_uid;
	c->reserved_connections = fresh->reserved_connections;
	c->handshake_timeout_ms = fresh->handshake_timeout_ms;
	same = strcmp(c->socket_path, fresh->socket_path) == 0 &&
	       strcmp(c->runtime_dir, fresh->runtime_dir) == 0 &&
	       c->nregions == fresh->nregions &&
	       c->max_clients == fresh->max_clients;
	for (size_t i = 0; same && i < c->nregions; i++)
		same = strcmp(c->regions[i].name, fresh->regions[i].name) ==
			       0 &&
		       strcmp(c->regions[i].path, fresh->regions[i].path) == 0;
	if (!same)
		log_warn("reload: socket, runtime_dir, max_clients and regions "
			 "change only at the next start");
	log_info("reloaded the configuration: log level, max_leases %u, "
		 "max_grants %llu, max_pending %u, max_connections_per_uid "
		 "%u, reserved_connections %u, handshake_timeout_ms %u",
		 c->max_leases, (unsigned long long)c->max_grants,
		 c->max_pending, c->max_connections_per_uid,
		 c->reserved_connections, c->handshake_timeout_ms);
	log_info("reloaded limits per uid: max_leases_per_uid %u, "
		 "max_grants_per_uid %llu, max_queued_bytes %llu (per "
		 "process), max_queued_bytes_per_uid %llu, "
		 "max_memory_per_uid %llu",
		 c->max_leases_per_uid,
		 (unsigned long long)c->max_grants_per_uid,
		 (unsigned long long)c->max_queued_bytes,
		 (unsigned long long)c->max_queued_bytes_per_uid,
		 (unsigned long long)c->max_memory_per_uid);
	free(fresh);
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	static struct pin_dir pins = {.dirfd = -1};
	struct start st = {argc, argv, &cfg};
	struct server_upcalls up = {
		.accept = session_open,
		.stop = ops_shutdown,
		.restore_pins = pins_restore,
		.forget_pins = pins_forget,
		.pins = &pins,
		.reload = reload,
		.reload_ctx = &st,
	};
	char err[REGION_ERR_MAX];
	struct server srv;
	uv_loop_t loop;
	int rv;

	config_defaults(&cfg);
	rv = parse_args(argc, argv, &cfg);
	if (rv != 0)
		return rv > 0 ? 0 : 2;
	log_set_level(cfg.log_level);
	for (size_t i = 0; i < cfg.nregions; i++)
		if (cfg.regions[i].size_note)
			log_warn("region %s: size: %s", cfg.regions[i].name,
				 cfg.regions[i].size_note);
	/* Before any region attaches: its pins phase reads the tables. */
	if (pins_dir_open(cfg.runtime_dir, &pins, err) < 0) {
		log_error("%s", err);
		return 1;
	}
	if (uv_loop_init(&loop) < 0) {
		log_error("cannot start the event loop");
		pins_dir_close(&pins);
		return 1;
	}
	if (server_start(&srv, &loop, &cfg, &up) < 0) {
		uv_loop_close(&loop);
		pins_dir_close(&pins);
		return 1;
	}
	ops_init(&srv, session_send_recall);
	/* Test builds: $PAGEMAPD_FAULT fails the Nth call once attached. */
	if (fault_arm_env() < 0)
		log_error("PAGEMAPD_FAULT: bad value, nothing armed");
	notify_send("READY=1\nSTATUS=serving");
	uv_run(&loop, UV_RUN_DEFAULT);
	rv = uv_loop_close(&loop);
	pins_dir_close(&pins);
	if (rv < 0) {
		log_error("event loop did not close cleanly: %s",
			  uv_strerror(rv));
		return 1;
	}
	log_info("stopped");
	return 0;
}
