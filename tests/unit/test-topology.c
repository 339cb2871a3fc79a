/* SPDX-License-Identifier: MIT */
/*
 * The SMP topology model: QEMU-compatible defaults, validation, the
 * one-line form, file:line reporting and index -> ids.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "helpers.h"
#include "topology.h"

#define X86 (MODVM_TOPO_DIES | MODVM_TOPO_CLUSTERS)
#define ARM64 MODVM_TOPO_CLUSTERS

/* One row: [smp] written in the one-line form ("" for nothing), the
 * arch it is resolved against, and what must come out. */
struct resolve_case {
	const char *name;
	const char *smp;
	uint32_t levels;
	uint32_t max_cpus;
	int ret;
	struct modvm_topology want; /* when ret == 0 */
	const char *err;            /* substring, when ret != 0 */
	const char *err_key;        /* NULL: the section as a whole */
};

#define TOPO(s, d, cl, c, t, n, max) \
	{ .sockets = s, .dies = d, .clusters = cl, .cores = c, .threads = t, \
	  .cpus = n, .maxcpus = max }

static const struct resolve_case resolve_cases[] = {
	/* ---- defaults ---- */
	{ "nothing_given_is_one_vcpu", "", X86, 1024, 0,
	  TOPO(1, 1, 1, 1, 1, 1, 1), NULL, NULL },
	{ "cpus_alone_become_cores_of_one_socket", "cpus=8", X86, 1024, 0,
	  TOPO(1, 1, 1, 8, 1, 8, 8), NULL, NULL },
	{ "maxcpus_alone_sets_cpus_too", "maxcpus=4", X86, 1024, 0,
	  TOPO(1, 1, 1, 4, 1, 4, 4), NULL, NULL },
	{ "maxcpus_defaults_to_cpus", "cpus=6,sockets=2,cores=3", X86, 1024,
	  0, TOPO(2, 1, 1, 3, 1, 6, 6), NULL, NULL },
	{ "cores_missing_takes_the_rest", "cpus=12,sockets=2,threads=2", X86,
	  1024, 0, TOPO(2, 1, 1, 3, 2, 12, 12), NULL, NULL },
	{ "cores_missing_sockets_and_threads_default_to_one", "cpus=12", X86,
	  1024, 0, TOPO(1, 1, 1, 12, 1, 12, 12), NULL, NULL },
	{ "cores_missing_counts_dies_and_clusters",
	  "cpus=16,sockets=2,dies=2,clusters=2", X86, 1024, 0,
	  TOPO(2, 2, 2, 2, 1, 16, 16), NULL, NULL },
	{ "sockets_missing_takes_the_rest", "cpus=12,cores=3,threads=2", X86,
	  1024, 0, TOPO(2, 1, 1, 3, 2, 12, 12), NULL, NULL },
	{ "sockets_missing_threads_default_to_one", "cpus=6,cores=3", X86,
	  1024, 0, TOPO(2, 1, 1, 3, 1, 6, 6), NULL, NULL },
	{ "threads_missing_takes_the_rest", "cpus=12,sockets=2,cores=3", X86,
	  1024, 0, TOPO(2, 1, 1, 3, 2, 12, 12), NULL, NULL },
	{ "levels_alone_give_the_count", "sockets=2,cores=3", X86, 1024, 0,
	  TOPO(2, 1, 1, 3, 1, 6, 6), NULL, NULL },
	{ "levels_alone_missing_ones_are_one", "threads=2", X86, 1024, 0,
	  TOPO(1, 1, 1, 1, 2, 2, 2), NULL, NULL },
	{ "dies_and_clusters_default_to_one", "cpus=8,sockets=2,cores=2,"
	  "threads=2", X86, 1024, 0, TOPO(2, 1, 1, 2, 2, 8, 8), NULL, NULL },
	{ "dies_multiply_in", "sockets=2,dies=2,cores=2,threads=2", X86, 1024,
	  0, TOPO(2, 2, 1, 2, 2, 16, 16), NULL, NULL },
	{ "clusters_multiply_in", "sockets=4,clusters=2,cores=2", X86, 1024,
	  0, TOPO(4, 1, 2, 2, 1, 16, 16), NULL, NULL },
	{ "maxcpus_above_cpus_leaves_room_for_hotplug", "cpus=4,maxcpus=8",
	  X86, 1024, 0, TOPO(1, 1, 1, 8, 1, 4, 8), NULL, NULL },
	{ "maxcpus_drives_the_derived_level", "cpus=2,maxcpus=8,sockets=2",
	  X86, 1024, 0, TOPO(2, 1, 1, 4, 1, 2, 8), NULL, NULL },
	{ "everything_given_and_consistent",
	  "cpus=24,maxcpus=48,sockets=2,dies=2,clusters=2,cores=3,threads=2",
	  X86, 1024, 0, TOPO(2, 2, 2, 3, 2, 24, 48), NULL, NULL },
	{ "dies_of_one_are_fine_without_dies", "cpus=4,dies=1", ARM64, 512, 0,
	  TOPO(1, 1, 1, 4, 1, 4, 4), NULL, NULL },
	{ "arch_limit_is_inclusive", "maxcpus=1024,sockets=4,threads=2", X86,
	  1024, 0, TOPO(4, 1, 1, 128, 2, 1024, 1024), NULL, NULL },
	{ "arch_without_limit_takes_any_u32", "cpus=100000", X86, 0, 0,
	  TOPO(1, 1, 1, 100000, 1, 100000, 100000), NULL, NULL },

	/* ---- explicit zeros ---- */
	{ "zero_cpus_is_an_error", "cpus=0", X86, 1024, -EINVAL, { 0 },
	  "must be at least 1", "cpus" },
	{ "zero_maxcpus_is_an_error", "cpus=2,maxcpus=0", X86, 1024, -EINVAL,
	  { 0 }, "must be at least 1", "maxcpus" },
	{ "zero_sockets_is_an_error", "sockets=0", X86, 1024, -EINVAL, { 0 },
	  "must be at least 1", "sockets" },
	{ "zero_dies_is_an_error", "dies=0", X86, 1024, -EINVAL, { 0 },
	  "must be at least 1", "dies" },
	{ "zero_clusters_is_an_error", "clusters=0", X86, 1024, -EINVAL,
	  { 0 }, "must be at least 1", "clusters" },
	{ "zero_cores_is_an_error", "cpus=4,cores=0", X86, 1024, -EINVAL,
	  { 0 }, "must be at least 1", "cores" },
	{ "zero_threads_is_an_error", "threads=0", X86, 1024, -EINVAL, { 0 },
	  "must be at least 1", "threads" },

	/* ---- inconsistent values ---- */
	{ "product_must_equal_maxcpus",
	  "maxcpus=8,sockets=2,cores=3,threads=2", X86, 1024, -EINVAL, { 0 },
	  "sockets (2) * cores (3) * threads (2) = 12, but maxcpus is 8",
	  "maxcpus" },
	{ "product_text_shows_dies_and_clusters_when_not_one",
	  "maxcpus=8,sockets=2,dies=2,clusters=3,cores=1,threads=1", X86, 1024,
	  -EINVAL, { 0 },
	  "sockets (2) * dies (2) * clusters (3) * cores (1) * threads (1) = "
	  "12, but maxcpus is 8",
	  "maxcpus" },
	{ "product_mismatch_without_maxcpus_points_at_the_section",
	  "cpus=8,sockets=2,cores=3,threads=2", X86, 1024, -EINVAL, { 0 },
	  "= 12, but maxcpus is 8 (it defaults to cpus)", NULL },
	{ "cpus_above_maxcpus_is_an_error", "cpus=8,maxcpus=4", X86, 1024,
	  -EINVAL, { 0 }, "more than maxcpus (4)", "cpus" },
	{ "derived_level_must_divide_evenly", "cpus=7,sockets=2", X86, 1024,
	  -EINVAL, { 0 },
	  "cores is not given and cpus (7) is not a multiple of sockets (2) * "
	  "threads (1) = 2",
	  "cpus" },
	{ "derived_level_cannot_be_zero", "maxcpus=2,cpus=2,cores=1,threads=4",
	  X86, 1024, -EINVAL, { 0 },
	  "sockets is not given and maxcpus (2) is not a multiple of cores (1) "
	  "* threads (4) = 4",
	  "maxcpus" },
	{ "derived_threads_must_divide_evenly", "cpus=9,sockets=2,cores=2",
	  X86, 1024, -EINVAL, { 0 },
	  "threads is not given and cpus (9) is not a multiple of sockets (2) "
	  "* cores (2) = 4",
	  "cpus" },

	/* ---- levels the arch does not have ---- */
	{ "dies_on_an_arch_without_dies", "sockets=2,dies=2", ARM64, 512,
	  -EINVAL, { 0 }, "the arch plugin arch-test has no dies", "dies" },
	{ "clusters_on_an_arch_without_clusters", "clusters=2",
	  MODVM_TOPO_DIES, 512, -EINVAL, { 0 },
	  "the arch plugin arch-test has no clusters", "clusters" },

	/* ---- limits and overflow ---- */
	{ "maxcpus_above_the_arch_limit", "cpus=4,maxcpus=2048", X86, 1024,
	  -E2BIG, { 0 },
	  "2048 possible vCPUs, but the arch plugin arch-test describes at most "
	  "1024 (its max_cpus limit); lower maxcpus",
	  "maxcpus" },
	{ "cpus_above_the_arch_limit", "cpus=2048", X86, 1024, -E2BIG, { 0 },
	  "at most 1024 (its max_cpus limit); lower cpus", "cpus" },
	{ "levels_above_the_arch_limit", "sockets=64,cores=32", X86, 1024,
	  -E2BIG, { 0 },
	  "sockets (64) * cores (32) * threads (1) = 2048 vCPUs, but the arch "
	  "plugin arch-test describes at most 1024",
	  NULL },
	{ "product_beyond_32_bits_is_caught",
	  "sockets=4294967295,cores=65536,threads=65536", X86, 1024, -E2BIG,
	  { 0 },
	  "sockets (4294967295) * cores (65536) * threads (65536) = "
	  "18446744069414584320 vCPUs",
	  NULL },
	{ "product_beyond_64_bits_is_caught",
	  "sockets=4294967295,dies=65536,cores=65536,threads=65536", X86, 0,
	  -E2BIG, { 0 }, "threads (65536) = more than 2^64 vCPUs", NULL },
	{ "huge_product_against_cpus_is_a_mismatch",
	  "cpus=8,sockets=4294967295,cores=65536,threads=65536", X86, 1024,
	  -EINVAL, { 0 },
	  "= 18446744069414584320, but maxcpus is 8 (it defaults to cpus)",
	  NULL },
	{ "derivation_product_beyond_64_bits_is_caught",
	  "cpus=8,sockets=4294967295,dies=4294967295,clusters=4294967295,"
	  "threads=2",
	  X86, 1024, -EINVAL, { 0 },
	  "cores is not given and cpus (8) is not a multiple of sockets "
	  "(4294967295) * dies (4294967295) * clusters (4294967295) * threads "
	  "(2) = more than 2^64",
	  "cpus" },
	{ "values_above_32_bits_are_refused", "cpus=4294967296", X86, 0,
	  -EINVAL, { 0 }, "too large; the most is 4294967295", "cpus" },
	{ "levels_above_32_bits_are_refused", "cpus=2,threads=0x100000000",
	  X86, 0, -EINVAL, { 0 }, "too large; the most is 4294967295",
	  "threads" },
};

static void run_resolve_case(const struct resolve_case *c)
{
	const struct topology_arch arch = {
		.name = "arch-test", .levels = c->levels,
		.max_cpus = c->max_cpus,
	};
	struct smp_request req = { 0 };
	struct modvm_topology got = { 0 };
	const char *err_key = "unset";
	char err[512] = "";
	int ret;

	if (c->smp[0])
		assert_int_equal(topology_parse_smp(c->smp, &req, err,
						    sizeof(err)), 0);
	ret = topology_resolve(&req, &arch, &got, err, sizeof(err), &err_key);
	if (ret != c->ret || (c->ret && !strstr(err, c->err)))
		fail_msg("%s: [smp] %s: got %d \"%s\", want %d \"%s\"",
			 c->name, c->smp, ret, ret ? err : "", c->ret,
			 c->err ? c->err : "");
	if (c->ret) {
		if (c->err_key ? !err_key || strcmp(err_key, c->err_key)
			       : err_key != NULL)
			fail_msg("%s: error points at %s, want %s", c->name,
				 err_key ? err_key : "the section",
				 c->err_key ? c->err_key : "the section");
		return;
	}
	if (memcmp(&got, &c->want, sizeof(got)) != 0)
		fail_msg("%s: got %u sockets x %u dies x %u clusters x %u cores "
			 "x %u threads, cpus %u maxcpus %u",
			 c->name, got.sockets, got.dies, got.clusters,
			 got.cores, got.threads, got.cpus, got.maxcpus);
	assert_null(err_key);
}

static void test_resolve_table(void **state)
{
	const struct resolve_case *c = *state;

	run_resolve_case(c);
}

/* ---- the one-line form ---- */

static void test_one_line_form_first_number_is_cpus(void **unused)
{
	struct smp_request req;
	char err[256];

	assert_int_equal(topology_parse_smp("8,sockets=2,cores=2,threads=2",
					    &req, err, sizeof(err)), 0);
	assert_true(req.given[SMP_CPUS]);
	assert_int_equal(req.value[SMP_CPUS], 8);
	assert_int_equal(req.value[SMP_SOCKETS], 2);
	assert_int_equal(req.value[SMP_CORES], 2);
	assert_int_equal(req.value[SMP_THREADS], 2);
	assert_false(req.given[SMP_MAXCPUS]);
	assert_false(req.given[SMP_DIES]);
}

static void test_one_line_form_allows_spaces_and_hex(void **unused)
{
	struct smp_request req;
	char err[256];

	assert_int_equal(topology_parse_smp(" 4 , maxcpus = 0x10 ,cores=16",
					    &req, err, sizeof(err)), 0);
	assert_int_equal(req.value[SMP_CPUS], 4);
	assert_int_equal(req.value[SMP_MAXCPUS], 16);
	assert_int_equal(req.value[SMP_CORES], 16);
}

static void test_one_line_form_takes_cpus_as_a_key(void **unused)
{
	struct smp_request req;
	char err[256];

	assert_int_equal(topology_parse_smp("sockets=2,cpus=4", &req, err,
					    sizeof(err)), 0);
	assert_int_equal(req.value[SMP_CPUS], 4);
	assert_int_equal(req.value[SMP_SOCKETS], 2);
}

static const struct {
	const char *text;
	const char *err;
} bad_lines[] = {
	{ "8,,cores=2", "empty item" },
	{ "", "empty item" },
	{ "8,cores=2,", "empty item" },
	{ "sockets=2,8", "'8' has no key; only the first item may be a bare" },
	{ "8,sockets=2,sockets=2", "sockets is given twice" },
	{ "8,cpus=8", "cpus is given twice" },
	{ "8,cpu=8", "unknown key 'cpu'; valid keys: cpus, maxcpus" },
	{ "8,cores=two", "cores=two: not a number" },
	{ "8,cores=", "cores=: not a number" },
	{ "8,cores=-1", "cores=-1: not a number" },
	{ "8,cores=99999999999999999999", "cores=99999999999999999999: too "
					  "large" },
	{ "8,cores=1111111111111111111111111111111111111", "too large" },
};

static void test_one_line_form_rejects_malformed_items(void **unused)
{
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		struct smp_request req;
		char err[256] = "";

		if (topology_parse_smp(bad_lines[i].text, &req, err,
				       sizeof(err)) != -EINVAL ||
		    !strstr(err, bad_lines[i].err))
			fail_msg("smp = %s: got \"%s\", want \"%s\"",
				 bad_lines[i].text, err, bad_lines[i].err);
	}
}

/* ---- index -> ids ---- */

static void test_index_to_ids_thread_changes_fastest(void **unused)
{
	/* 2 sockets x 2 dies x 2 clusters x 3 cores x 2 threads = 48. */
	const struct modvm_topology t = TOPO(2, 2, 2, 3, 2, 48, 48);
	static const struct {
		uint32_t index;
		struct modvm_cpu_ids ids; /* socket, die, cluster, core, thread */
	} rows[] = {
		{ 0, { 0, 0, 0, 0, 0 } },
		{ 1, { 0, 0, 0, 0, 1 } },  /* thread first */
		{ 2, { 0, 0, 0, 1, 0 } },  /* then core (2 threads each) */
		{ 5, { 0, 0, 0, 2, 1 } },
		{ 6, { 0, 0, 1, 0, 0 } },  /* then cluster (3 cores x 2) */
		{ 12, { 0, 1, 0, 0, 0 } }, /* then die (2 clusters x 6) */
		{ 24, { 1, 0, 0, 0, 0 } }, /* then socket (2 dies x 12) */
		{ 47, { 1, 1, 1, 2, 1 } }, /* the last vCPU */
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct modvm_cpu_ids got = modvm_topology_ids(&t, rows[i].index);

		if (memcmp(&got, &rows[i].ids, sizeof(got)) != 0)
			fail_msg("index %u: got socket %u die %u cluster %u "
				 "core %u thread %u",
				 rows[i].index, got.socket, got.die,
				 got.cluster, got.core, got.thread);
	}
}

static void test_field_width_is_ceil_log2(void **unused)
{
	static const uint32_t n[] = { 0, 1, 2, 3, 4, 5, 8, 9, 1024, 1025,
				      UINT32_MAX };
	static const uint32_t want[] = { 0, 0, 1, 2, 2, 3, 3, 4, 10, 11, 32 };

	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		assert_int_equal(modvm_topology_width(n[i]), want[i]);
}

/* ---- the config front-end: where errors point ---- */

struct from_config {
	const char *ini;
	const char *arch;
	uint32_t levels;
	struct modvm_topology topo;
	char *path;
};

static int do_from_config(void *opaque)
{
	struct from_config *a = opaque;
	struct config *cfg;
	int ret;

	a->path = write_temp("vm.ini", a->ini);
	if (!a->path || config_load(&cfg, a->path))
		return -EIO;
	ret = topology_from_config(cfg, a->arch, a->levels, 1024, &a->topo);
	config_free(cfg);
	return ret;
}

/* Resolve ini against an arch; returns stderr, which must contain want. */
static void expect_config(const char *ini, const char *arch, uint32_t levels,
			  int want_ret, const char *want)
{
	struct from_config a = { .ini = ini, .arch = arch, .levels = levels };
	char *want_text = NULL, *err;
	int ret;

	err = capture_stderr(do_from_config, &a, &ret);
	assert_non_null(a.path);
	/* The path is the temporary file's; tests write it as "vm.ini". */
	if (want && asprintf(&want_text, "%s%s", a.path,
			     want + strlen("vm.ini")) < 0)
		fail();
	if (ret != want_ret || (want && !strstr(err, want_text)))
		fail_msg("got %d \"%s\", want %d \"%s\"", ret, err, want_ret,
			 want_text ? want_text : "");
	free(want_text);
	free(err);
	remove_temp(a.path);
}

static void test_config_mismatch_points_at_maxcpus(void **unused)
{
	expect_config("[smp]\nsockets = 2\ncores = 3\nthreads = 2\n"
		      "maxcpus = 8\ncpus = 8\n",
		      "arch-x86_64", X86, -EINVAL,
		      "vm.ini:5: [smp] maxcpus = 8: sockets (2) * cores (3) * "
		      "threads (2) = 12, but maxcpus is 8");
}

static void test_config_mismatch_without_maxcpus_points_at_the_section(
	void **unused)
{
	expect_config("; vm\n[smp]\ncpus = 8\nsockets = 2\ncores = 3\n"
		      "threads = 2\n",
		      "arch-x86_64", X86, -EINVAL,
		      "vm.ini:2: [smp]: sockets (2) * cores (3) * threads (2) "
		      "= 12, but maxcpus is 8 (it defaults to cpus)");
}

static void test_config_zero_points_at_its_key(void **unused)
{
	expect_config("[smp]\ncpus = 4\ncores = 0\n", "arch-x86_64", X86,
		      -EINVAL, "vm.ini:3: [smp] cores = 0: must be at least 1");
}

static void test_config_dies_on_arm64_names_the_arch(void **unused)
{
	expect_config("[smp]\nsockets = 2\ndies = 2\n", "arch-aarch64", ARM64,
		      -EINVAL,
		      "vm.ini:3: [smp] dies = 2: the arch plugin arch-aarch64 "
		      "has no dies; set dies = 1 or remove it");
}

static void test_config_one_line_form_points_at_its_line(void **unused)
{
	expect_config("[smp]\n\nsmp = 8,sockets=2,cores=3,threads=2\n",
		      "arch-x86_64", X86, -EINVAL,
		      "vm.ini:3: [smp] smp = 8,sockets=2,cores=3,threads=2: "
		      "sockets (2) * cores (3) * threads (2) = 12, but maxcpus "
		      "is 8");
	expect_config("[smp]\nsmp = 8,cores=x\n", "arch-x86_64", X86, -EINVAL,
		      "vm.ini:2: [smp] smp = 8,cores=x: cores=x: not a number");
}

/* Resolve ini for x86; it must give want. */
static void expect_config_topology(const char *ini, struct modvm_topology want)
{
	struct from_config a = { .ini = ini, .arch = "arch-x86_64",
				 .levels = X86 };

	assert_int_equal(do_from_config(&a), 0);
	assert_memory_equal(&a.topo, &want, sizeof(want));
	remove_temp(a.path);
}

static void test_config_one_line_form_resolves(void **unused)
{
	expect_config_topology("[smp]\nsmp = 8,sockets=2,threads=2\n",
			       (struct modvm_topology)TOPO(2, 1, 1, 2, 2, 8, 8));
}

static void test_config_mixing_forms_is_an_error(void **unused)
{
	expect_config("[smp]\nsmp = 8\ncores = 8\n", "arch-x86_64", X86,
		      -EINVAL,
		      "vm.ini:3: [smp] cores = 8: cannot be combined with the "
		      "one-line smp = 8");
}

static void test_config_without_smp_is_one_vcpu(void **unused)
{
	expect_config_topology("[machine]\nmemory = 64M\n",
			       (struct modvm_topology)TOPO(1, 1, 1, 1, 1, 1, 1));
}

static void test_config_limit_names_the_arch(void **unused)
{
	expect_config("[smp]\ncpus = 2\nmaxcpus = 4096\n", "arch-x86_64", X86,
		      -E2BIG,
		      "vm.ini:3: [smp] maxcpus = 4096: 4096 possible vCPUs, but "
		      "the arch plugin arch-x86_64 describes at most 1024");
}

/* ---- KVM limits and --check output ---- */

struct kvm_args {
	struct modvm_topology t;
	uint32_t max_vcpus, max_vcpu_id, highest_id;
};

static int do_check_kvm(void *opaque)
{
	struct kvm_args *a = opaque;

	return topology_check_kvm(&a->t, a->max_vcpus, a->max_vcpu_id,
				  a->highest_id);
}

static void test_kvm_limits_name_the_capability(void **unused)
{
	struct kvm_args a = { TOPO(1, 1, 1, 3, 2, 6, 6), 8, 8, 5 };
	char *err;
	int ret;

	err = capture_stderr(do_check_kvm, &a, &ret);
	assert_int_equal(ret, 0);
	free(err);

	a.max_vcpus = 4;
	err = capture_stderr(do_check_kvm, &a, &ret);
	assert_int_equal(ret, -E2BIG);
	assert_non_null(strstr(err, "maxcpus is 6, but KVM on this host allows "
				    "4 vCPUs per VM (KVM_CAP_MAX_VCPUS)"));
	free(err);

	/* 1 socket x 3 cores x 2 threads: APIC IDs go up to 5 (sparse). */
	a.max_vcpus = 8;
	a.max_vcpu_id = 5;
	err = capture_stderr(do_check_kvm, &a, &ret);
	assert_int_equal(ret, -E2BIG);
	assert_non_null(strstr(err, "is 5, but KVM on this host takes ids below "
				    "5 (KVM_CAP_MAX_VCPU_ID)"));
	free(err);
}

static void test_print_is_one_summary_line(void **unused)
{
	const struct modvm_topology t = TOPO(2, 1, 1, 3, 1, 4, 6);
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	assert_non_null(f);
	topology_print(&t, f);
	fclose(f);
	assert_string_equal(buf, "topology: 2 sockets x 1 dies x 1 clusters x "
				 "3 cores x 1 threads = 6 (cpus 4, maxcpus "
				 "6)\n");
	free(buf);
}

int main(void)
{
	enum { N = sizeof(resolve_cases) / sizeof(resolve_cases[0]) };
	struct CMUnitTest tests[N + 20];
	size_t n = 0;

	for (size_t i = 0; i < N; i++) {
		tests[n] = (struct CMUnitTest)cmocka_unit_test(test_resolve_table);
		tests[n].name = resolve_cases[i].name;
		tests[n].initial_state = (void *)&resolve_cases[i];
		n++;
	}
#define ADD(fn) tests[n++] = (struct CMUnitTest)cmocka_unit_test(fn)
	ADD(test_one_line_form_first_number_is_cpus);
	ADD(test_one_line_form_allows_spaces_and_hex);
	ADD(test_one_line_form_takes_cpus_as_a_key);
	ADD(test_one_line_form_rejects_malformed_items);
	ADD(test_index_to_ids_thread_changes_fastest);
	ADD(test_field_width_is_ceil_log2);
	ADD(test_config_mismatch_points_at_maxcpus);
	ADD(test_config_mismatch_without_maxcpus_points_at_the_section);
	ADD(test_config_zero_points_at_its_key);
	ADD(test_config_dies_on_arm64_names_the_arch);
	ADD(test_config_one_line_form_points_at_its_line);
	ADD(test_config_one_line_form_resolves);
	ADD(test_config_mixing_forms_is_an_error);
	ADD(test_config_without_smp_is_one_vcpu);
	ADD(test_config_limit_names_the_arch);
	ADD(test_kvm_limits_name_the_capability);
	ADD(test_print_is_one_summary_line);
#undef ADD
	return _cmocka_run_group_tests("topology", tests, n, NULL, NULL);
}
