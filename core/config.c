/* SPDX-License-Identifier: MIT */
/*
 * The settings store. inih does the INI syntax; this file keeps every
 * value with the file and line it came from, so that any later check,
 * in the core or in a plugin, can point the user at the exact line.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "log.h"

/* Origin of --set values, shown instead of a file name. */
static const char set_origin[] = "--set";

/* The most numbers a list value may expand to ("0-4095"). */
#define LIST_MAX 4096

/*
 * The longest section header text inih passes on whole: its ini.c keeps
 * the section in a MAX_SECTION (50) byte buffer and cuts longer names,
 * which would then match no section noted here.
 */
#define SECTION_TEXT_MAX 49

struct parse_state {
	struct config *cfg;
	FILE *file;
	int line;      /* line of the chunk inih read last */
	int lines_done;
	bool in_line;  /* the last chunk read ended without a newline */
	int error;     /* first handler error, negative errno */
};

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Split `kind` or `kind "name"` into its parts. */
static int split_section_name(const char *text, char **kind_out,
			      char **name_out)
{
	const char *p = text, *kind_end, *name, *name_end;

	while (*p && !isspace((unsigned char)*p) && *p != '"')
		p++;
	kind_end = p;
	while (isspace((unsigned char)*p))
		p++;
	*name_out = NULL;
	if (kind_end == text)
		return -EINVAL;
	if (*p) {
		if (*p != '"')
			return -EINVAL;
		name = p + 1;
		name_end = strchr(name, '"');
		if (!name_end || name_end == name || name_end[1] != '\0')
			return -EINVAL;
		*name_out = strndup(name, (size_t)(name_end - name));
		if (!*name_out)
			return -ENOMEM;
	}
	*kind_out = strndup(text, (size_t)(kind_end - text));
	if (!*kind_out) {
		free(*name_out);
		*name_out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static struct cfg_section *section_add(struct config *cfg, const char *kind,
				       const char *name, const char *file,
				       int line)
{
	struct cfg_section *secs, *sec;

	secs = realloc(cfg->sections, (cfg->n_sections + 1) * sizeof(*secs));
	if (!secs)
		return NULL;
	cfg->sections = secs;
	sec = &secs[cfg->n_sections];
	memset(sec, 0, sizeof(*sec));
	sec->kind = xstrdup(kind);
	sec->name = xstrdup(name);
	if (!sec->kind || (name && !sec->name)) {
		free(sec->kind);
		free(sec->name);
		return NULL;
	}
	sec->file = file;
	sec->line = line;
	cfg->n_sections++;
	return sec;
}

static int entry_add(struct cfg_section *sec, const char *key,
		     const char *value, const char *file, int line)
{
	struct cfg_entry *es, *e;

	es = realloc(sec->entries, (sec->n_entries + 1) * sizeof(*es));
	if (!es)
		return -ENOMEM;
	sec->entries = es;
	e = &es[sec->n_entries];
	memset(e, 0, sizeof(*e));
	e->key = strdup(key);
	e->value = strdup(value);
	if (!e->key || !e->value) {
		free(e->key);
		free(e->value);
		return -ENOMEM;
	}
	e->file = file;
	e->line = line;
	sec->n_entries++;
	return 0;
}

struct cfg_section *config_section(const struct config *cfg, const char *kind,
				   const char *name)
{
	for (unsigned i = 0; cfg && i < cfg->n_sections; i++) {
		struct cfg_section *sec = &cfg->sections[i];

		if (strcmp(sec->kind, kind) != 0)
			continue;
		if (!name && !sec->name)
			return sec;
		if (name && sec->name && strcmp(name, sec->name) == 0)
			return sec;
	}
	return NULL;
}

struct cfg_entry *config_entry(const struct cfg_section *sec, const char *key)
{
	for (unsigned i = 0; sec && i < sec->n_entries; i++)
		if (strcmp(sec->entries[i].key, key) == 0)
			return &sec->entries[i];
	return NULL;
}

const char *config_section_label(const struct cfg_section *sec, char *buf,
				 unsigned size)
{
	if (sec->name)
		snprintf(buf, size, "[%s \"%s\"]", sec->kind, sec->name);
	else
		snprintf(buf, size, "[%s]", sec->kind);
	return buf;
}

void config_error(const struct cfg_section *sec, const struct cfg_entry *e,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_verror(sec, e, fmt, ap);
	va_end(ap);
}

void config_verror(const struct cfg_section *sec, const struct cfg_entry *e,
		   const char *fmt, va_list ap)
{
	char label[160], where[512];

	config_section_label(sec, label, sizeof(label));
	if (e && e->line > 0)
		snprintf(where, sizeof(where), "%s:%d: %s %s = %s", e->file,
			 e->line, label, e->key, e->value);
	else if (e)
		snprintf(where, sizeof(where), "%s %s%s%s.%s=%s", set_origin,
			 sec->kind, sec->name ? "." : "",
			 sec->name ? sec->name : "", e->key, e->value);
	else if (sec->line > 0)
		snprintf(where, sizeof(where), "%s:%d: %s", sec->file,
			 sec->line, label);
	else
		snprintf(where, sizeof(where), "%s %s", set_origin, label);
	log_vmsg(MODVM_LOG_ERROR, where, fmt, ap);
}

static int note_section(struct parse_state *ps, const char *text);

/*
 * inih reader: fgets that tracks which line inih is on. It also notes
 * section headers, because inih only reports sections that hold keys,
 * and an empty [exit "exit-io"] is meaningful here.
 */
static char *counting_reader(char *buf, int size, void *opaque)
{
	struct parse_state *ps = opaque;
	char *got = fgets(buf, size, ps->file);
	bool continued = ps->in_line;
	const char *p;
	int c;

	if (!got)
		return NULL;
	ps->line = ps->lines_done + 1;
	ps->in_line = !strchr(got, '\n');
	if (!ps->in_line)
		ps->lines_done++;
	/*
	 * inih reads a line in chunks of size - 1 bytes and takes each for
	 * a line of its own: refuse longer lines rather than misparse them.
	 */
	if (ps->in_line && strlen(got) == (size_t)size - 1 &&
	    (c = getc(ps->file)) != EOF) {
		ungetc(c, ps->file);
		if (!ps->error) {
			log_error("%s:%d: line longer than %d characters; "
				  "shorten it",
				  ps->cfg->path, ps->line, size - 2);
			ps->error = -EINVAL;
		}
	}
	if (continued)
		return got;
	p = got;
	/* inih skips a UTF-8 byte order mark there (INI_ALLOW_BOM). */
	if (ps->line == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	for (; isspace((unsigned char)*p); p++)
		;
	if (*p == '[') {
		const char *end = strchr(p, ']');

		if (end) {
			char *text = strndup(p + 1, (size_t)(end - p - 1));

			if (!text || note_section(ps, text) < 0)
				ps->error = ps->error ? ps->error : -EINVAL;
			free(text);
		} else if (!ps->error) {
			log_error("%s:%d: section header without a closing "
				  "']'", ps->cfg->path, ps->line);
			ps->error = -EINVAL;
		}
	}
	return got;
}

/* Find or add the section named by a header's text. */
static int note_section(struct parse_state *ps, const char *text)
{
	struct config *cfg = ps->cfg;
	char *kind = NULL, *name = NULL;
	int ret;

	if (strlen(text) > SECTION_TEXT_MAX) {
		log_error("%s:%d: [%s]: section header longer than %d "
			  "characters; use a shorter name",
			  cfg->path, ps->line, text, SECTION_TEXT_MAX);
		return -EINVAL;
	}
	ret = split_section_name(text, &kind, &name);
	if (ret == -EINVAL)
		log_error("%s:%d: [%s]: malformed section name; write "
			  "[kind] or [kind \"name\"]",
			  cfg->path, ps->line, text);
	if (ret < 0)
		return ret;
	if (!config_section(cfg, kind, name) &&
	    !section_add(cfg, kind, name, cfg->path, ps->line))
		ret = -ENOMEM;
	free(kind);
	free(name);
	return ret;
}

static int on_ini_value(void *opaque, const char *section, const char *key,
		       const char *value)
{
	struct parse_state *ps = opaque;
	struct config *cfg = ps->cfg;
	struct cfg_section *sec;
	struct cfg_entry *prev;
	char *kind = NULL, *name = NULL;
	int ret;

	/* Report the first problem only: later ones may be its echoes. */
	if (ps->error)
		return 0;
	if (!section[0]) {
		log_error("%s:%d: %s = %s: keys must come after a [section] "
			  "header such as [machine]",
			  cfg->path, ps->line, key, value);
		ret = -EINVAL;
		goto out;
	}
	ret = split_section_name(section, &kind, &name);
	if (ret < 0)
		goto out;
	sec = config_section(cfg, kind, name);
	if (!sec) {
		ret = -EINVAL; /* the reader reported the header already */
		goto out;
	}
	if (!key)
		goto out;
	prev = config_entry(sec, key);
	if (prev) {
		char label[160];

		log_error("%s:%d: %s %s: set twice (first at line %d); keep "
			  "one",
			  cfg->path, ps->line,
			  config_section_label(sec, label, sizeof(label)), key,
			  prev->line);
		ret = -EINVAL;
		goto out;
	}
	ret = entry_add(sec, key, value, cfg->path, ps->line);
out:
	free(kind);
	free(name);
	if (ret < 0 && !ps->error)
		ps->error = ret;
	return ret < 0 ? 0 : 1;
}

static char *absolute_dir_of(const char *path)
{
	char *copy = strdup(path), *slash, *dir;

	if (!copy)
		return NULL;
	slash = strrchr(copy, '/');
	if (!slash)
		dir = realpath(".", NULL);
	else if (slash == copy)
		dir = strdup("/");
	else {
		*slash = '\0';
		dir = realpath(copy, NULL);
	}
	free(copy);
	return dir;
}

int config_load(struct config **out, const char *path)
{
	struct parse_state ps = { 0 };
	struct config *cfg;
	int ret, line;

	*out = NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	cfg->path = strdup(path);
	if (!cfg->path) {
		ret = -ENOMEM;
		goto out_free;
	}
	ps.cfg = cfg;
	ps.file = fopen(path, "re");
	if (!ps.file) {
		ret = -errno;
		log_error("%s: cannot open: %s", path, strerror(errno));
		goto out_free;
	}
	cfg->dir = absolute_dir_of(path);
	if (!cfg->dir) {
		ret = -errno;
		log_error("%s: cannot resolve its folder: %s", path,
			  strerror(errno));
		goto out_close;
	}
	line = ini_parse_stream(counting_reader, &ps, on_ini_value, &ps);
	if (ps.error) {
		ret = ps.error;
		goto out_close;
	}
	if (line != 0) {
		log_error("%s:%d: not an INI line; expected [section], key = "
			  "value, or a ; comment",
			  path, line > 0 ? line : ps.line);
		ret = -EINVAL;
		goto out_close;
	}
	fclose(ps.file);
	*out = cfg;
	return 0;

out_close:
	fclose(ps.file);
out_free:
	config_free(cfg);
	return ret;
}

int config_set(struct config *cfg, const char *assignment)
{
	const char *eq = strchr(assignment, '=');
	char *lhs = NULL, *dot, *kind, *name = NULL, *key;
	struct cfg_section *sec;
	struct cfg_entry *e;
	int ret = -EINVAL;

	if (!eq || eq == assignment)
		goto bad;
	lhs = strndup(assignment, (size_t)(eq - assignment));
	if (!lhs)
		return -ENOMEM;
	/* SECTION.KEY or KIND.NAME.KEY: the key follows the last dot. */
	dot = strrchr(lhs, '.');
	if (!dot || dot == lhs || !dot[1])
		goto bad;
	*dot = '\0';
	key = dot + 1;
	kind = lhs;
	dot = strchr(lhs, '.');
	if (dot) {
		*dot = '\0';
		name = dot + 1;
		if (!*name)
			goto bad;
	}
	sec = config_section(cfg, kind, name);
	if (!sec)
		sec = section_add(cfg, kind, name, set_origin, 0);
	if (!sec) {
		ret = -ENOMEM;
		goto out;
	}
	e = config_entry(sec, key);
	if (e) {
		char *v = strdup(eq + 1);

		if (!v) {
			ret = -ENOMEM;
			goto out;
		}
		free(e->value);
		e->value = v;
		e->file = set_origin;
		e->line = 0;
		ret = 0;
	} else {
		ret = entry_add(sec, key, eq + 1, set_origin, 0);
	}
	goto out;
bad:
	log_error("--set %s: expected SECTION.KEY=VALUE or KIND.NAME.KEY=VALUE "
		  "(e.g. --set smp.cpus=4, --set device.com1.irq=4)",
		  assignment);
out:
	free(lhs);
	return ret;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (unsigned i = 0; i < cfg->n_sections; i++) {
		struct cfg_section *sec = &cfg->sections[i];

		for (unsigned j = 0; j < sec->n_entries; j++) {
			free(sec->entries[j].key);
			free(sec->entries[j].value);
		}
		free(sec->entries);
		free(sec->kind);
		free(sec->name);
	}
	free(cfg->sections);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

/* ---- value parsers ---- */

int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int base = 10;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		if (!isxdigit((unsigned char)s[2]))
			return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	static const char suffixes[] = "KMGT";
	unsigned long long v;
	const char *unit;
	char *end;
	uint64_t mult = 1;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_u64(s, out);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end) {
		unit = strchr(suffixes, toupper((unsigned char)*end));
		if (!unit)
			return -EINVAL;
		mult = 1ull << (10 * (unit - suffixes + 1));
		end++;
		/* Accept K, KB, KiB alike: all are powers of 1024 here. */
		if (*end == 'i')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (unsigned i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_u32_token(const char *s, size_t len, uint32_t *out)
{
	char buf[32];
	uint64_t v;

	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (parse_u64(buf, &v) < 0 || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int parse_u32_list(const char *s, uint32_t **out, unsigned *n_out)
{
	uint32_t *list = NULL, lo, hi;
	unsigned n = 0;
	const char *item = s, *comma, *dash;
	int ret = -EINVAL;

	for (;;) {
		size_t len;

		comma = strchr(item, ',');
		len = comma ? (size_t)(comma - item) : strlen(item);
		dash = memchr(item, '-', len);
		if (dash) {
			if (parse_u32_token(item, (size_t)(dash - item), &lo) ||
			    parse_u32_token(dash + 1,
					    len - (size_t)(dash - item) - 1,
					    &hi) ||
			    hi < lo)
				goto out_free;
		} else {
			if (parse_u32_token(item, len, &lo))
				goto out_free;
			hi = lo;
		}
		if ((uint64_t)n + (hi - lo) + 1 > LIST_MAX) {
			ret = -E2BIG;
			goto out_free;
		}
		{
			uint32_t *grown = realloc(
				list, (n + (hi - lo) + 1) * sizeof(*list));

			if (!grown) {
				ret = -ENOMEM;
				goto out_free;
			}
			list = grown;
		}
		for (uint64_t v = lo; v <= hi; v++)
			list[n++] = (uint32_t)v;
		if (!comma)
			break;
		item = comma + 1;
	}
	*out = list;
	*n_out = n;
	return 0;

out_free:
	free(list);
	return ret;
}

/* ---- typed getters ---- */

static struct cfg_entry *lookup(const struct cfg_section *sec, const char *key)
{
	struct cfg_entry *e = config_entry(sec, key);

	if (e)
		e->used = true;
	return e;
}

int config_get_string(const struct cfg_section *sec, const char *key,
		      const char **out)
{
	struct cfg_entry *e = lookup(sec, key);

	if (!e)
		return -ENOENT;
	*out = e->value;
	return 0;
}

int config_get_u64(const struct cfg_section *sec, const char *key,
		   uint64_t *out)
{
	struct cfg_entry *e = lookup(sec, key);
	int ret;

	if (!e)
		return -ENOENT;
	ret = parse_u64(e->value, out);
	if (ret == -ERANGE)
		config_error(sec, e, "too large; the most is %llu",
			     (unsigned long long)UINT64_MAX);
	else if (ret < 0)
		config_error(sec, e,
			     "not a number; write a decimal or 0x-prefixed "
			     "hexadecimal integer");
	return ret < 0 ? -EINVAL : 0;
}

int config_get_size(const struct cfg_section *sec, const char *key,
		    uint64_t *out)
{
	struct cfg_entry *e = lookup(sec, key);
	int ret;

	if (!e)
		return -ENOENT;
	ret = parse_size(e->value, out);
	if (ret == -ERANGE)
		config_error(sec, e, "too large for 64 bits");
	else if (ret < 0)
		config_error(sec, e,
			     "not a size; write a number with an optional "
			     "K, M, G or T suffix (e.g. 512M)");
	return ret < 0 ? -EINVAL : 0;
}

int config_get_bool(const struct cfg_section *sec, const char *key, bool *out)
{
	struct cfg_entry *e = lookup(sec, key);

	if (!e)
		return -ENOENT;
	if (parse_bool(e->value, out) < 0) {
		config_error(sec, e,
			     "not a boolean; write true/false, yes/no, "
			     "on/off or 1/0");
		return -EINVAL;
	}
	return 0;
}

int config_get_path(const struct config *cfg, const struct cfg_section *sec,
		    const char *key, char **out)
{
	struct cfg_entry *e = lookup(sec, key);
	const char *base;

	if (!e)
		return -ENOENT;
	if (!e->value[0]) {
		config_error(sec, e, "empty path");
		return -EINVAL;
	}
	if (e->value[0] == '/') {
		*out = strdup(e->value);
		return *out ? 0 : -ENOMEM;
	}
	/* Paths from the file are relative to the file; from --set, to
	 * the working directory, as a shell user expects. */
	base = e->line > 0 ? cfg->dir : NULL;
	if (base) {
		if (asprintf(out, "%s/%s", base, e->value) < 0)
			return -ENOMEM;
	} else {
		char *cwd = realpath(".", NULL);
		int r;

		if (!cwd)
			return -errno;
		r = asprintf(out, "%s/%s", cwd, e->value);
		free(cwd);
		if (r < 0)
			return -ENOMEM;
	}
	return 0;
}

int config_get_u32_list(const struct cfg_section *sec, const char *key,
			uint32_t **out, unsigned *n_out)
{
	struct cfg_entry *e = lookup(sec, key);
	int ret;

	if (!e)
		return -ENOENT;
	ret = parse_u32_list(e->value, out, n_out);
	if (ret == -E2BIG)
		config_error(sec, e, "list longer than %d numbers", LIST_MAX);
	else if (ret == -EINVAL)
		config_error(sec, e,
			     "not a list; write numbers and ranges such as "
			     "0-3,6");
	return ret;
}

/* ---- schema check ---- */

static const char *key_type_name(enum modvm_key_type type)
{
	switch (type) {
	case MODVM_KEY_STRING: return "a string";
	case MODVM_KEY_INT: return "an integer";
	case MODVM_KEY_SIZE: return "a size";
	case MODVM_KEY_BOOL: return "a boolean";
	case MODVM_KEY_PATH: return "a path";
	case MODVM_KEY_LIST: return "a list";
	}
	return "a value";
}

static int check_value(const struct cfg_section *sec, struct cfg_entry *e,
		       const struct modvm_key *k)
{
	uint64_t u;
	bool b;
	uint32_t *list;
	unsigned n;
	int ret = 0;

	switch (k->type) {
	case MODVM_KEY_INT:
		ret = config_get_u64(sec, e->key, &u);
		break;
	case MODVM_KEY_SIZE:
		ret = config_get_size(sec, e->key, &u);
		break;
	case MODVM_KEY_BOOL:
		ret = config_get_bool(sec, e->key, &b);
		break;
	case MODVM_KEY_LIST:
		ret = config_get_u32_list(sec, e->key, &list, &n);
		if (ret == 0)
			free(list);
		break;
	case MODVM_KEY_PATH:
		if (!e->value[0]) {
			config_error(sec, e, "empty; %s expects %s (%s)",
				     e->key, key_type_name(k->type),
				     k->help ? k->help : "");
			ret = -EINVAL;
		}
		break;
	case MODVM_KEY_STRING:
		break;
	}
	/* A value is "used" once a plugin or the core reads it; checking
	 * its type here does not count. */
	e->used = false;
	return ret;
}

/* Append ", word" (or "word" first) to buf, truncating safely. */
static void list_append(char *buf, size_t size, const char *word)
{
	size_t len = strlen(buf);

	if (len + 1 < size)
		snprintf(buf + len, size - len, "%s%s", len ? ", " : "", word);
}

int config_check_keys(const struct cfg_section *sec,
		      const struct modvm_key *schema,
		      const char *const *extra_keys)
{
	int ret = 0;

	for (unsigned i = 0; sec && i < sec->n_entries; i++) {
		struct cfg_entry *e = &sec->entries[i];
		const struct modvm_key *k = NULL;
		bool extra = false;

		for (unsigned j = 0; schema && schema[j].name; j++)
			if (strcmp(schema[j].name, e->key) == 0)
				k = &schema[j];
		for (unsigned j = 0; extra_keys && extra_keys[j]; j++)
			if (strcmp(extra_keys[j], e->key) == 0)
				extra = true;
		if (k) {
			if (check_value(sec, e, k) < 0)
				ret = -EINVAL;
		} else if (!extra) {
			char valid[512] = "";

			for (unsigned j = 0; extra_keys && extra_keys[j]; j++)
				list_append(valid, sizeof(valid), extra_keys[j]);
			for (unsigned j = 0; schema && schema[j].name; j++)
				list_append(valid, sizeof(valid),
					    schema[j].name);
			config_error(sec, e, "unknown key; valid keys: %s",
				     valid[0] ? valid : "none");
			ret = -EINVAL;
		}
	}
	return ret;
}
