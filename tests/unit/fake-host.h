/* SPDX-License-Identifier: MIT */
/*
 * A fake host table for unit tests that drive a plugin (or its pure
 * parts) without the core: settings from a key/value list, the last
 * error captured as one line, a topology, and guest RAM laid out like
 * the core's vm.c does (RAM from ram_base, split around an optional
 * gap). Include it in one test file; set `fake` up per test and reset
 * it with fake_host_reset().
 */
#ifndef MODVM_TEST_FAKE_HOST_H
#define MODVM_TEST_FAKE_HOST_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <modvm/host.h>
#include <modvm/plugin.h>
#include <modvm/topology.h>

static struct {
	/* The plugin's section: "key", "value", ..., NULL. */
	const char *settings[16];
	/*
	 * The last error: config_error() gives "KEY: text" (core's prefix
	 * "FILE:LINE: [section] KEY = VALUE: " shortened), or "[section]:
	 * text" without a key; log() at MODVM_LOG_ERROR gives "text".
	 */
	char error[512];
	struct modvm_topology topo;
	/* Guest RAM: [ram_base, ram_base + min(size, gap_start - ram_base))
	 * and the rest from gap_end, as one mapping (see fake_ram_map). */
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t ram_base;
	uint64_t gap_start; /* 0: no gap */
	uint64_t gap_end;
} fake;

/* Any pointer will do: the fake serves one plugin instance. */
#define FAKE_SELF ((struct modvm_plugin *)&fake)

static inline void fake_set(const char *key, const char *value)
{
	unsigned i = 0;

	while (fake.settings[i] && strcmp(fake.settings[i], key) != 0)
		i += 2;
	fake.settings[i] = key;
	fake.settings[i + 1] = value;
}

static inline const char *fake_value(const char *key)
{
	for (unsigned i = 0; fake.settings[i]; i += 2)
		if (strcmp(fake.settings[i], key) == 0)
			return fake.settings[i + 1];
	return NULL;
}

static void fake_log(struct modvm_plugin *self, enum modvm_log_level level,
		     const char *fmt, ...)
{
	va_list ap;

	(void)self;
	if (level != MODVM_LOG_ERROR)
		return;
	va_start(ap, fmt);
	vsnprintf(fake.error, sizeof(fake.error), fmt, ap);
	va_end(ap);
}

static void fake_config_error(struct modvm_plugin *self, const char *key,
			      const char *fmt, ...)
{
	int n = snprintf(fake.error, sizeof(fake.error), "%s: ",
			 key ? key : "[section]");
	va_list ap;

	(void)self;
	va_start(ap, fmt);
	vsnprintf(fake.error + n, sizeof(fake.error) - (size_t)n, fmt, ap);
	va_end(ap);
}

static int fake_get_string(struct modvm_plugin *self, const char *key,
			   const char **out)
{
	const char *v = fake_value(key);

	(void)self;
	if (!v)
		return -ENOENT;
	*out = v;
	return 0;
}

static int fake_get_path(struct modvm_plugin *self, const char *key,
			 char **out)
{
	const char *v = fake_value(key);

	(void)self;
	if (!v)
		return -ENOENT;
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static const struct modvm_topology *fake_topology(struct modvm_plugin *self)
{
	(void)self;
	return &fake.topo;
}

static uint64_t fake_ram_below_gap(void)
{
	uint64_t below = fake.ram_size;

	if (fake.gap_start && below > fake.gap_start - fake.ram_base)
		below = fake.gap_start - fake.ram_base;
	return below;
}

static void *fake_guest_ptr(struct modvm_plugin *self, uint64_t gpa,
			    uint64_t len)
{
	uint64_t below = fake_ram_below_gap();

	(void)self;
	if (!fake.ram)
		return NULL;
	if (gpa >= fake.ram_base && gpa - fake.ram_base <= below &&
	    len <= below - (gpa - fake.ram_base))
		return fake.ram + (gpa - fake.ram_base);
	if (fake.gap_start && gpa >= fake.gap_end &&
	    gpa - fake.gap_end <= fake.ram_size - below &&
	    len <= fake.ram_size - below - (gpa - fake.gap_end))
		return fake.ram + below + (gpa - fake.gap_end);
	return NULL;
}

static uint64_t fake_ram_size(struct modvm_plugin *self)
{
	(void)self;
	return fake.ram_size;
}

static const struct modvm_host fake_host = {
	.size = sizeof(struct modvm_host),
	.abi_major = MODVM_ABI_MAJOR,
	.abi_minor = MODVM_ABI_MINOR,
	.log = fake_log,
	.config_error = fake_config_error,
	.get_string = fake_get_string,
	.get_path = fake_get_path,
	.topology = fake_topology,
	.guest_ptr = fake_guest_ptr,
	.guest_ram_size = fake_ram_size,
};

/*
 * Guest RAM of size bytes, zeroed, committed only where touched (so a
 * 4 GiB guest costs nothing). Set ram_base and the gap first. Returns
 * 0 or -1.
 */
static inline int fake_ram_map(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	fake.ram = p;
	fake.ram_size = size;
	return 0;
}

/* Unmap guest RAM and forget everything. */
static inline void fake_host_reset(void)
{
	if (fake.ram)
		munmap(fake.ram, fake.ram_size);
	memset(&fake, 0, sizeof(fake));
}

#endif
