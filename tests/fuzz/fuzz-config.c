/* SPDX-License-Identifier: MIT */
/*
 * fuzz-config: the `modvm --check` path up to the plugins. The input is
 * INI text; after a NUL byte come NUL-separated --set assignments (at
 * most 8). It goes through config_load() and config_set(), the core's
 * section and key schema (check_sections(), load_memory()), and the
 * [smp] topology against the x86_64 and the aarch64 level sets.
 *
 * Checked besides memory safety: a step fails exactly when it printed
 * an error, every error line names where it comes from (the file, a
 * --set or [smp]), and an accepted topology is consistent.
 *
 * machine.c is included, not linked, to reach its static checks; the
 * core library's own machine.o is then never pulled in.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../core/machine.c"

#include "fuzz.h"

#define MAX_SETS 8

static int ini_fd = -1;
static char ini_path[64];
static FILE *quiet;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_stderr();
	quiet = stderr;
	ini_fd = memfd_create("fuzz.ini", MFD_CLOEXEC);
	if (ini_fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(ini_path, sizeof(ini_path), "/proc/self/fd/%d", ini_fd);
	return 0;
}

/* stderr captured for one step. */
struct capture {
	char *text;
	size_t size;
	FILE *mem;
};

static void capture_start(struct capture *c)
{
	c->text = NULL;
	c->size = 0;
	c->mem = open_memstream(&c->text, &c->size);
	FUZZ_CHECK(c->mem, "open_memstream failed");
	stderr = c->mem;
}

/* Stop capturing; returns the number of error lines, each checked. */
static unsigned capture_end(struct capture *c, const char *step)
{
	static const char tag[] = "modvm: error: ";
	unsigned errors = 0;
	char *line;

	stderr = quiet;
	fclose(c->mem);
	for (line = c->text; line && *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (strncmp(line, tag, sizeof(tag) - 1) == 0) {
			const char *msg = line + sizeof(tag) - 1;

			errors++;
			FUZZ_CHECK(strstr(msg, ini_path) || strstr(msg, "--set") ||
					   strncmp(msg, "[smp]", 5) == 0,
				   "%s: error without a location: %s", step,
				   line);
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	if (getenv("FUZZ_VERBOSE") && c->text)
		fputs(c->text, quiet);
	free(c->text);
	return errors;
}

static void check_outcome(const char *step, int ret, unsigned errors)
{
	FUZZ_CHECK(ret <= 0, "%s returned %d", step, ret);
	FUZZ_CHECK(ret == 0 || errors > 0, "%s failed (%d) without a message",
		   step, ret);
	FUZZ_CHECK(ret != 0 || errors == 0,
		   "%s succeeded but printed %u errors", step, errors);
}

static void check_topology(const struct modvm_topology *t, uint32_t levels,
			   uint32_t max)
{
	uint64_t prod = (uint64_t)t->sockets * t->dies * t->clusters *
			t->cores * t->threads;
	char *text = NULL;
	size_t size = 0;
	FILE *mem;

	FUZZ_CHECK(t->sockets && t->dies && t->clusters && t->cores &&
			   t->threads,
		   "a level is 0");
	FUZZ_CHECK(prod == t->maxcpus, "levels multiply to %llu, maxcpus %u",
		   (unsigned long long)prod, t->maxcpus);
	FUZZ_CHECK(t->cpus >= 1 && t->cpus <= t->maxcpus,
		   "cpus %u, maxcpus %u", t->cpus, t->maxcpus);
	FUZZ_CHECK(t->maxcpus <= max, "maxcpus %u above the arch's %u",
		   t->maxcpus, max);
	FUZZ_CHECK(t->dies == 1 || (levels & MODVM_TOPO_DIES),
		   "dies = %u on an arch without dies", t->dies);
	FUZZ_CHECK(t->clusters == 1 || (levels & MODVM_TOPO_CLUSTERS),
		   "clusters = %u on an arch without clusters", t->clusters);
	for (uint32_t i = 0; i < t->maxcpus; i += 1 + t->maxcpus / 64) {
		struct modvm_cpu_ids ids = modvm_topology_ids(t, i);

		FUZZ_CHECK(ids.socket < t->sockets, "vCPU %u in socket %u", i,
			   ids.socket);
	}
	mem = open_memstream(&text, &size);
	if (mem) {
		topology_print(t, mem);
		fclose(mem);
		FUZZ_CHECK(size > 0 && text[size - 1] == '\n',
			   "topology_print wrote no line");
	}
	free(text);
}

static const struct {
	const char *name;
	uint32_t levels;
	uint32_t max_cpus;
} arches[] = {
	/* As the arch plugins declare them (their plugin.c). */
	{ "arch-x86_64", MODVM_TOPO_DIES | MODVM_TOPO_CLUSTERS, 1024 },
	{ "arch-aarch64", MODVM_TOPO_CLUSTERS, 512 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t ini_len = nul ? (size_t)(nul - data) : size;
	struct machine m = { 0 };
	struct config *cfg = NULL;
	struct capture cap;
	unsigned errors;
	int ret;

	if (ftruncate(ini_fd, 0) < 0 ||
	    pwrite(ini_fd, data, ini_len, 0) != (ssize_t)ini_len)
		abort();

	capture_start(&cap);
	ret = config_load(&cfg, ini_path);
	errors = capture_end(&cap, "config_load");
	check_outcome("config_load", ret, errors);
	FUZZ_CHECK(!ret == !!cfg, "config_load: %d but cfg %p", ret,
		   (void *)cfg);
	if (ret)
		return 0;

	/* --set assignments, as main() applies them. */
	if (nul) {
		const char *p = (const char *)nul + 1;
		const char *end = (const char *)data + size;
		unsigned n = 0;

		while (p < end && n++ < MAX_SETS) {
			const char *stop = memchr(p, '\0', (size_t)(end - p));
			size_t len = stop ? (size_t)(stop - p)
					  : (size_t)(end - p);
			char *set = strndup(p, len);

			if (!set)
				abort();
			/* One line per message: a newline in a value would
			 * forge a line here (the shell passes it on as is). */
			for (char *c = set; (c = strchr(c, '\n'));)
				*c = ' ';
			capture_start(&cap);
			ret = config_set(cfg, set);
			errors = capture_end(&cap, "config_set");
			free(set);
			check_outcome("config_set", ret, errors);
			if (ret)
				goto out;
			p += len + 1;
		}
	}

	/* machine_load's steps before any plugin is opened. */
	m.cfg = cfg;
	capture_start(&cap);
	ret = check_sections(cfg);
	if (!ret)
		ret = load_memory(&m);
	errors = capture_end(&cap, "check_sections");
	check_outcome("check_sections", ret, errors);
	if (ret)
		goto out;
	FUZZ_CHECK(m.memory >= MIN_MEMORY && m.memory % 4096 == 0,
		   "memory %llu accepted", (unsigned long long)m.memory);

	for (size_t a = 0; a < sizeof(arches) / sizeof(arches[0]); a++) {
		struct modvm_topology t = { 0 };

		capture_start(&cap);
		ret = topology_from_config(cfg, arches[a].name, arches[a].levels,
					   arches[a].max_cpus, &t);
		errors = capture_end(&cap, "topology_from_config");
		check_outcome("topology_from_config", ret, errors);
		if (!ret)
			check_topology(&t, arches[a].levels, arches[a].max_cpus);
	}
out:
	config_free(cfg);
	return 0;
}
