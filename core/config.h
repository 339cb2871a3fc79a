/* SPDX-License-Identifier: MIT */
/*
 * The settings store: an INI file (inih) plus --set overrides, kept as
 * sections of key/value entries that remember where they came from.
 *
 * A section is "[kind]" or "[kind "name"]" (e.g. [device "com1"]).
 * Getters report malformed values themselves, as
 *   FILE:LINE: [section] key = value: what is wrong
 * and return -EINVAL; a missing key is -ENOENT with nothing reported.
 */
#ifndef MODVM_CORE_CONFIG_H
#define MODVM_CORE_CONFIG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <modvm/plugin.h>

struct cfg_entry {
	char *key;
	char *value;
	const char *file; /* the INI path, or "--set" */
	int line;         /* 0 for --set */
	bool used;        /* read by a getter or checked against a schema */
};

struct cfg_section {
	char *kind;       /* "machine", "smp", "device", ... */
	char *name;       /* NULL for a section without a name */
	const char *file;
	int line;
	struct cfg_entry *entries;
	unsigned n_entries;
};

struct config {
	char *path;       /* the INI file as given */
	char *dir;        /* its folder, absolute: relative paths resolve here */
	struct cfg_section *sections;
	unsigned n_sections;
};

/* Parse an INI file. Reports syntax errors with file:line. */
int config_load(struct config **out, const char *path);
/* Apply one --set SECTION[.NAME].KEY=VALUE; creates the section/key if needed. */
int config_set(struct config *cfg, const char *assignment);
void config_free(struct config *cfg);

/* The section [kind] or [kind "name"] (name may be NULL), or NULL. */
struct cfg_section *config_section(const struct config *cfg, const char *kind,
				   const char *name);
struct cfg_entry *config_entry(const struct cfg_section *sec, const char *key);

/* "[smp]" or "[device "com1"]" into buf. */
const char *config_section_label(const struct cfg_section *sec, char *buf,
				 unsigned size);

/* Report an error about an entry (or a section when e is NULL) with its origin. */
void config_error(const struct cfg_section *sec, const struct cfg_entry *e,
		  const char *fmt, ...) MODVM_PRINTF(3, 4);
void config_verror(const struct cfg_section *sec, const struct cfg_entry *e,
		   const char *fmt, va_list ap) MODVM_PRINTF(3, 0);

/* Typed getters; sec may be NULL (then -ENOENT). */
int config_get_string(const struct cfg_section *sec, const char *key,
		      const char **out);
int config_get_u64(const struct cfg_section *sec, const char *key,
		   uint64_t *out);
int config_get_size(const struct cfg_section *sec, const char *key,
		    uint64_t *out);
int config_get_bool(const struct cfg_section *sec, const char *key,
		    bool *out);
int config_get_path(const struct config *cfg, const struct cfg_section *sec,
		    const char *key, char **out);
/* A list of numbers and ranges ("0-3,6"), into a malloc'ed array. */
int config_get_u32_list(const struct cfg_section *sec, const char *key,
			uint32_t **out, unsigned *n_out);

/* Value parsers used by the getters (and tests); 0 or -EINVAL. */
int parse_u64(const char *s, uint64_t *out);
int parse_size(const char *s, uint64_t *out);
int parse_bool(const char *s, bool *out);
int parse_u32_list(const char *s, uint32_t **out, unsigned *n_out);

/*
 * Check a section's keys against a schema (terminated by { NULL }):
 * unknown keys and values of the wrong type are reported with the
 * valid keys listed. extra_keys (may be NULL, NULL-terminated) are
 * also accepted, e.g. the core's "plugin" key.
 */
int config_check_keys(const struct cfg_section *sec,
		      const struct modvm_key *schema,
		      const char *const *extra_keys);

#endif
