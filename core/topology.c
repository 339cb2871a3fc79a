/* SPDX-License-Identifier: MIT */
/*
 * [smp] -> struct modvm_topology.
 *
 * The defaults are QEMU's since 6.2 (hw/core/machine-smp.c), because
 * that is what users already know: maxcpus defaults to cpus; a missing
 * die or cluster count is 1; a missing cores takes what the other
 * levels leave (sockets and threads then default to 1), else a missing
 * sockets does, then threads. Unlike QEMU, a derived count must divide
 * evenly: "maxcpus = 7, sockets = 2" is refused instead of silently
 * becoming 6. All arithmetic is 64-bit with overflow checks; inputs
 * above UINT32_MAX are refused before anything is multiplied.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "topology.h"

static const char *const key_names[SMP_N_KEYS] = {
	[SMP_CPUS] = "cpus",         [SMP_MAXCPUS] = "maxcpus",
	[SMP_SOCKETS] = "sockets",   [SMP_DIES] = "dies",
	[SMP_CLUSTERS] = "clusters", [SMP_CORES] = "cores",
	[SMP_THREADS] = "threads",
};

/* The levels, outermost first; their product must be maxcpus. */
static const enum smp_key levels[] = {
	SMP_SOCKETS, SMP_DIES, SMP_CLUSTERS, SMP_CORES, SMP_THREADS,
};
#define N_LEVELS (sizeof(levels) / sizeof(levels[0]))

/* Not a level: used where no key is to be left out of a product. */
#define NO_KEY SMP_N_KEYS

const char *smp_key_name(enum smp_key key)
{
	return (unsigned)key < SMP_N_KEYS ? key_names[key] : NULL;
}

/* snprintf at *len, never past size, even after truncation. */
static void MODVM_PRINTF(4, 5)
append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n;
}

static int MODVM_PRINTF(3, 4)
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * The product of the levels except skip, and its text: "sockets (2) *
 * cores (3) * threads (2) = 12". Dies and clusters appear only when
 * they are not 1, so users of a three-level topology never see them.
 * Returns false when the product overflows 64 bits (the text says so).
 */
static bool level_product(const uint64_t v[], enum smp_key skip, char *buf,
			  size_t size, uint64_t *prod)
{
	size_t len = 0;
	bool ok = true;

	buf[0] = '\0';
	*prod = 1;
	for (size_t i = 0; i < N_LEVELS; i++) {
		enum smp_key k = levels[i];

		if (k == skip)
			continue;
		if (__builtin_mul_overflow(*prod, v[k], prod))
			ok = false;
		if ((k == SMP_DIES || k == SMP_CLUSTERS) && v[k] == 1)
			continue;
		append(buf, size, &len, "%s%s (%" PRIu64 ")", len ? " * " : "",
		       key_names[k], v[k]);
	}
	if (ok)
		append(buf, size, &len, " = %" PRIu64, *prod);
	else
		append(buf, size, &len, " = more than 2^64");
	return ok;
}

/*
 * Give the missing level k what the others leave of maxcpus; it must
 * divide evenly. count_key names the key maxcpus came from.
 */
static int derive_level(uint64_t v[], enum smp_key k, const char *count_key,
			char *err, size_t errlen)
{
	char text[256];
	uint64_t rest;

	if (level_product(v, k, text, sizeof(text), &rest) && rest != 0 &&
	    v[SMP_MAXCPUS] % rest == 0) {
		v[k] = v[SMP_MAXCPUS] / rest;
		return 0;
	}
	return fail(err, errlen,
		    "%s is not given and %s (%" PRIu64 ") is not a multiple "
		    "of %s; give %s or change %s",
		    key_names[k], count_key, v[SMP_MAXCPUS], text,
		    key_names[k], count_key);
}

/* A level the arch does not model may only be 1 (or left out). */
static int check_arch_level(const struct smp_request *req,
			    const struct topology_arch *arch, enum smp_key k,
			    uint32_t flag, char *err, size_t errlen)
{
	if (!req->given[k] || req->value[k] == 1 || (arch->levels & flag))
		return 0;
	return fail(err, errlen,
		    "the arch plugin %s has no %s; set %s = 1 or remove it",
		    arch->name ? arch->name : "(unknown)", key_names[k],
		    key_names[k]);
}

int topology_resolve(const struct smp_request *req,
		     const struct topology_arch *arch,
		     struct modvm_topology *out, char *err, size_t errlen,
		     const char **err_key)
{
	const uint64_t arch_max = arch->max_cpus ? arch->max_cpus : UINT32_MAX;
	const char *arch_name = arch->name ? arch->name : "(unknown)";
	const bool *has = req->given;
	/* The key that sets the vCPU count: maxcpus, else cpus (which
	 * maxcpus defaults to). NULL when only levels are given. */
	const char *count_key = has[SMP_MAXCPUS] ? key_names[SMP_MAXCPUS]
				: has[SMP_CPUS]  ? key_names[SMP_CPUS]
						 : NULL;
	uint64_t v[SMP_N_KEYS];
	char text[256];
	uint64_t prod;
	int ret;

	*err_key = NULL;
	for (int k = 0; k < SMP_N_KEYS; k++) {
		v[k] = has[k] ? req->value[k] : 0;
		if (!has[k])
			continue;
		*err_key = key_names[k];
		if (v[k] == 0)
			return fail(err, errlen, "must be at least 1");
		if (v[k] > UINT32_MAX)
			return fail(err, errlen,
				    "too large; the most is %" PRIu32,
				    UINT32_MAX);
	}
	*err_key = key_names[SMP_DIES];
	ret = check_arch_level(req, arch, SMP_DIES, MODVM_TOPO_DIES, err,
			       errlen);
	if (ret)
		return ret;
	*err_key = key_names[SMP_CLUSTERS];
	ret = check_arch_level(req, arch, SMP_CLUSTERS, MODVM_TOPO_CLUSTERS,
			       err, errlen);
	if (ret)
		return ret;

	if (!has[SMP_DIES])
		v[SMP_DIES] = 1;
	if (!has[SMP_CLUSTERS])
		v[SMP_CLUSTERS] = 1;
	if (!count_key) {
		/* Only levels (or nothing): each missing one is 1 and the
		 * product is the count. */
		for (size_t i = 0; i < N_LEVELS; i++)
			if (!v[levels[i]])
				v[levels[i]] = 1;
		if (!level_product(v, NO_KEY, text, sizeof(text), &prod) ||
		    prod > arch_max) {
			*err_key = NULL;
			fail(err, errlen,
			     "%s vCPUs, but the arch plugin %s describes at "
			     "most %" PRIu64 " (its max_cpus limit); use "
			     "fewer",
			     text, arch_name, arch_max);
			return -E2BIG;
		}
		v[SMP_MAXCPUS] = v[SMP_CPUS] = prod;
	} else {
		if (!has[SMP_MAXCPUS])
			v[SMP_MAXCPUS] = v[SMP_CPUS];
		*err_key = count_key;
		if (!has[SMP_CORES]) {
			if (!v[SMP_SOCKETS])
				v[SMP_SOCKETS] = 1;
			if (!v[SMP_THREADS])
				v[SMP_THREADS] = 1;
			ret = derive_level(v, SMP_CORES, count_key, err,
					   errlen);
		} else if (!has[SMP_SOCKETS]) {
			if (!v[SMP_THREADS])
				v[SMP_THREADS] = 1;
			ret = derive_level(v, SMP_SOCKETS, count_key, err,
					   errlen);
		}
		if (!ret && !v[SMP_THREADS])
			ret = derive_level(v, SMP_THREADS, count_key, err,
					   errlen);
		if (ret)
			return ret;
		/* Points at maxcpus, or at the section: with only cpus
		 * given, every level is as much at fault as cpus. */
		*err_key = has[SMP_MAXCPUS] ? key_names[SMP_MAXCPUS] : NULL;
		if (!level_product(v, NO_KEY, text, sizeof(text), &prod) ||
		    prod != v[SMP_MAXCPUS])
			return fail(err, errlen,
				    "%s, but maxcpus is %" PRIu64 "%s", text,
				    v[SMP_MAXCPUS],
				    has[SMP_MAXCPUS] ? ""
						     : " (it defaults to cpus)");
		if (!has[SMP_CPUS])
			v[SMP_CPUS] = v[SMP_MAXCPUS];
		if (v[SMP_CPUS] > v[SMP_MAXCPUS]) {
			*err_key = key_names[SMP_CPUS];
			return fail(err, errlen,
				    "more than maxcpus (%" PRIu64 "); raise "
				    "maxcpus or lower cpus",
				    v[SMP_MAXCPUS]);
		}
		if (v[SMP_MAXCPUS] > arch_max) {
			*err_key = count_key;
			fail(err, errlen,
			     "%" PRIu64 " possible vCPUs, but the arch plugin "
			     "%s describes at most %" PRIu64 " (its max_cpus "
			     "limit); lower %s",
			     v[SMP_MAXCPUS], arch_name, arch_max, count_key);
			return -E2BIG;
		}
	}

	out->sockets = (uint32_t)v[SMP_SOCKETS];
	out->dies = (uint32_t)v[SMP_DIES];
	out->clusters = (uint32_t)v[SMP_CLUSTERS];
	out->cores = (uint32_t)v[SMP_CORES];
	out->threads = (uint32_t)v[SMP_THREADS];
	out->cpus = (uint32_t)v[SMP_CPUS];
	out->maxcpus = (uint32_t)v[SMP_MAXCPUS];
	*err_key = NULL;
	return 0;
}

/* Trim spaces around [s, s+len); returns the new start, updates len. */
static const char *trim(const char *s, size_t *len)
{
	while (*len && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

/* One "key=value" or bare-number item of the one-line form. */
static int parse_item(const char *item, size_t len, bool first,
		      struct smp_request *out, char *err, size_t errlen)
{
	const char *key = key_names[SMP_CPUS], *val, *eq;
	size_t klen = strlen(key), vlen;
	char num[32];
	int k;

	item = trim(item, &len);
	if (!len)
		return fail(err, errlen,
			    "empty item; write e.g. 8,sockets=2,cores=2,"
			    "threads=2");
	eq = memchr(item, '=', len);
	if (eq) {
		klen = (size_t)(eq - item);
		key = trim(item, &klen);
		vlen = len - (size_t)(eq + 1 - item);
		val = trim(eq + 1, &vlen);
	} else if (first) {
		val = item;
		vlen = len;
	} else {
		return fail(err, errlen,
			    "'%.*s' has no key; only the first item may be a "
			    "bare number (the cpus)",
			    (int)len, item);
	}
	for (k = 0; k < SMP_N_KEYS; k++)
		if (strlen(key_names[k]) == klen &&
		    strncmp(key_names[k], key, klen) == 0)
			break;
	if (k == SMP_N_KEYS)
		return fail(err, errlen,
			    "unknown key '%.*s'; valid keys: cpus, maxcpus, "
			    "sockets, dies, clusters, cores, threads",
			    (int)klen, key);
	if (out->given[k])
		return fail(err, errlen, "%s is given twice", key_names[k]);
	if (vlen >= sizeof(num))
		return fail(err, errlen, "%s=%.*s: too large", key_names[k],
			    (int)vlen, val);
	memcpy(num, val, vlen);
	num[vlen] = '\0';
	switch (parse_u64(num, &out->value[k])) {
	case 0:
		break;
	case -ERANGE:
		return fail(err, errlen, "%s=%s: too large", key_names[k],
			    num);
	default:
		return fail(err, errlen,
			    "%s=%s: not a number; write a decimal or "
			    "0x-prefixed hexadecimal integer",
			    key_names[k], num);
	}
	out->given[k] = true;
	return 0;
}

int topology_parse_smp(const char *text, struct smp_request *out, char *err,
		       size_t errlen)
{
	const char *p = text;
	bool first = true;

	memset(out, 0, sizeof(*out));
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int ret = parse_item(p, len, first, out, err, errlen);

		if (ret)
			return ret;
		if (!comma)
			return 0;
		p = comma + 1;
		first = false;
	}
}

int topology_from_config(const struct config *cfg, const char *arch_name,
			 uint32_t arch_levels, uint32_t arch_max,
			 struct modvm_topology *out)
{
	const struct cfg_section *sec = config_section(cfg, "smp", NULL);
	const struct cfg_entry *line_form = config_entry(sec, "smp");
	const struct topology_arch arch = {
		.name = arch_name, .levels = arch_levels, .max_cpus = arch_max,
	};
	struct smp_request req = { 0 };
	const char *err_key;
	char err[512];
	int ret;

	if (line_form) {
		for (int k = 0; k < SMP_N_KEYS; k++) {
			const struct cfg_entry *e =
				config_entry(sec, key_names[k]);

			if (!e)
				continue;
			config_error(sec, e,
				     "cannot be combined with the one-line "
				     "smp = %s; use one form or the other",
				     line_form->value);
			return -EINVAL;
		}
		ret = topology_parse_smp(line_form->value, &req, err,
					 sizeof(err));
		if (ret) {
			config_error(sec, line_form, "%s", err);
			return ret;
		}
	} else {
		for (int k = 0; k < SMP_N_KEYS; k++) {
			ret = config_get_u64(sec, key_names[k], &req.value[k]);
			if (ret == 0)
				req.given[k] = true;
			else if (ret != -ENOENT)
				return ret; /* reported by the getter */
		}
	}

	ret = topology_resolve(&req, &arch, out, err, sizeof(err), &err_key);
	if (!ret)
		return 0;
	if (!sec) {
		log_error("[smp]: %s", err);
		return ret;
	}
	/* In the one-line form every value is on the smp key's line. */
	config_error(sec,
		     line_form ? line_form
			       : err_key ? config_entry(sec, err_key) : NULL,
		     "%s", err);
	return ret;
}

int topology_check_kvm(const struct modvm_topology *t, uint32_t max_vcpus,
		       uint32_t max_vcpu_id, uint32_t highest_id)
{
	if (t->maxcpus > max_vcpus) {
		log_error("[smp] maxcpus is %" PRIu32 ", but KVM on this host "
			  "allows %" PRIu32 " vCPUs per VM "
			  "(KVM_CAP_MAX_VCPUS); lower maxcpus",
			  t->maxcpus, max_vcpus);
		return -E2BIG;
	}
	if (highest_id >= max_vcpu_id) {
		log_error("the largest vCPU id of this topology (x86: the APIC "
			  "ID) is %" PRIu32 ", but KVM on this host takes ids "
			  "below %" PRIu32 " (KVM_CAP_MAX_VCPU_ID); use fewer "
			  "or power-of-two sized levels",
			  highest_id, max_vcpu_id);
		return -E2BIG;
	}
	return 0;
}

void topology_print(const struct modvm_topology *t, FILE *out)
{
	fprintf(out,
		"topology: %" PRIu32 " sockets x %" PRIu32 " dies x %" PRIu32
		" clusters x %" PRIu32 " cores x %" PRIu32 " threads = %" PRIu32
		" (cpus %" PRIu32 ", maxcpus %" PRIu32 ")\n",
		t->sockets, t->dies, t->clusters, t->cores, t->threads,
		t->maxcpus, t->cpus, t->maxcpus);
}
