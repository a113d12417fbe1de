/* fuzz_config.c -- libFuzzer target: the daemon's settings parsers. An
 * input starting with "#!spec\n" is a list of --region arguments, one a
 * line, each given to config_add_region_spec() and its size part to
 * size_parse(); any other input is an INI file for config_load() (written
 * to a memfd, read through /proc/self/fd). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "size.h"

#define SPEC_MAGIC "#!spec\n"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;

/* LLVMFuzzerInitialize -- the memfd every input is written to. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memfd = memfd_create("pm-fuzz-config", MFD_CLOEXEC);
	if (memfd < 0) {
		perror("memfd_create");
		abort();
	}
	log_set_level(LOG_LEVEL_ERROR);
	return 0;
}

/* specs -- every line of @text as a --region argument. */
static void
specs(struct config *c, char *text)
{
	char err[CONFIG_ERR_MAX];
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		uint64_t bytes = 0;
		const char *note;

		err[0] = '\0';
		if (config_add_region_spec(c, line, err) < 0 && err[0] == '\0')
			abort(); /* a refusal always says why */
		/* The one size grammar: success and a note only together
		 * with a value it could have read. */
		if (size_parse(line, &bytes, &note) == 0 && note &&
		    bytes == 0 && line[0] != '0')
			abort();
	}
}

/* ini -- @data as the config file. */
static void
ini(struct config *c, const uint8_t *data, size_t size)
{
	char err[CONFIG_ERR_MAX];
	char path[64];

	if (ftruncate(memfd, 0) != 0 ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	err[0] = '\0';
	if (config_load(c, path, err) < 0 && err[0] == '\0')
		abort(); /* a refusal always says why */
}

/* LLVMFuzzerTestOneInput -- one input through the parsers, on the
 * defaults. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = malloc(sizeof(*c));

	if (c == NULL)
		return 0;
	config_defaults(c);
	if (size >= strlen(SPEC_MAGIC) &&
	    memcmp(data, SPEC_MAGIC, strlen(SPEC_MAGIC)) == 0) {
		char *text = malloc(size + 1);

		if (text) {
			memcpy(text, data, size);
			text[size] = '\0';
			specs(c, text + strlen(SPEC_MAGIC));
			free(text);
		}
	} else {
		ini(c, data, size);
	}
	if (c->nregions > CONFIG_MAX_REGIONS)
		abort();
	free(c);
	return 0;
}
