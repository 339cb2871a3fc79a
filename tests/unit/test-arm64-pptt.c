/* SPDX-License-Identifier: MIT */
/*
 * arch-aarch64's ACPI PPTT (ACPI 6.3 5.2.29): header, checksum, one
 * processor hierarchy node per package, cluster, core and thread, the
 * right flags, parents that point at the right containers, leaf IDs
 * equal to the vCPU index, and a table `iasl -d` decodes cleanly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "../../plugins/arch-aarch64/arm64.h"
#include "helpers.h"

#define HDR 36u
#define NODE 20u

enum {
	F_PACKAGE = 1 << 0,
	F_ID_VALID = 1 << 1,
	F_THREAD = 1 << 2,
	F_LEAF = 1 << 3,
	F_IDENTICAL = 1 << 4,
};

static struct modvm_topology topo(uint32_t sockets, uint32_t clusters,
				  uint32_t cores, uint32_t threads,
				  uint32_t cpus)
{
	struct modvm_topology t = {
		.sockets = sockets, .dies = 1, .clusters = clusters,
		.cores = cores, .threads = threads,
	};

	t.maxcpus = sockets * clusters * cores * threads;
	t.cpus = cpus ? cpus : t.maxcpus;
	return t;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

struct node {
	uint32_t offset, flags, parent, id;
};

/* Check the header and decode every node. Returns the node count. */
static size_t decode(const uint8_t *t, size_t size, struct node **out)
{
	uint8_t sum = 0;
	size_t n = 0;
	struct node *nodes;

	assert_true(size >= HDR);
	assert_memory_equal(t, "PPTT", 4);
	assert_int_equal(le32(t + 4), size);
	assert_int_equal(t[8], 2);
	for (size_t i = 0; i < size; i++)
		sum = (uint8_t)(sum + t[i]);
	assert_int_equal(sum, 0);
	assert_int_equal((size - HDR) % NODE, 0);

	nodes = calloc((size - HDR) / NODE, sizeof(*nodes));
	assert_non_null(nodes);
	for (size_t off = HDR; off < size; off += NODE, n++) {
		assert_int_equal(t[off], 0);     /* processor hierarchy */
		assert_int_equal(t[off + 1], NODE);
		assert_int_equal(le32(t + off + 16), 0); /* no resources */
		nodes[n].offset = (uint32_t)off;
		nodes[n].flags = le32(t + off + 4);
		nodes[n].parent = le32(t + off + 8);
		nodes[n].id = le32(t + off + 12);
	}
	*out = nodes;
	return n;
}

static const struct node *at(const struct node *nodes, size_t n, uint32_t off)
{
	for (size_t i = 0; i < n; i++)
		if (nodes[i].offset == off)
			return &nodes[i];
	fail_msg("no node at offset %u", off);
	return NULL;
}

/*
 * Every leaf, in order, is vCPU i: walking its parents must give the
 * core (when threads > 1), the cluster and the package of
 * modvm_topology_ids(i), each container reached by the same vCPUs only.
 */
static void check_shape(const struct modvm_topology *t)
{
	uint32_t *package_of = calloc(t->sockets, sizeof(uint32_t));
	uint32_t *cluster_of = calloc((size_t)t->sockets * t->clusters,
				      sizeof(uint32_t));
	uint32_t *core_of = calloc((size_t)t->sockets * t->clusters * t->cores,
				   sizeof(uint32_t));
	size_t size, n, want_nodes;
	struct node *nodes;
	uint32_t leaf = 0;
	void *blob;

	assert_int_equal(arm64_pptt_build(&blob, &size, t), 0);
	assert_int_equal(size, arm64_pptt_size(t));
	n = decode(blob, size, &nodes);
	want_nodes = t->sockets + t->sockets * t->clusters +
		     t->sockets * t->clusters * t->cores +
		     (t->threads > 1 ? t->maxcpus : 0);
	assert_int_equal(n, want_nodes);

	for (size_t i = 0; i < n; i++) {
		const struct node *nd = &nodes[i];
		struct modvm_cpu_ids ids;
		const struct node *up;
		size_t cl, co;

		if (!(nd->flags & F_LEAF)) {
			/* Containers: only the package is a root. */
			assert_false(nd->flags & (F_ID_VALID | F_THREAD));
			assert_true(nd->flags & F_IDENTICAL);
			assert_int_equal(nd->parent == 0,
					 (nd->flags & F_PACKAGE) != 0);
			continue;
		}
		/* Leaves come in vCPU order, IDs = the linear index. */
		assert_int_equal(nd->id, leaf);
		assert_int_equal(nd->flags,
				 F_ID_VALID | F_LEAF |
					 (t->threads > 1 ? F_THREAD : 0));
		ids = modvm_topology_ids(t, leaf);
		cl = (size_t)ids.socket * t->clusters + ids.cluster;
		co = cl * t->cores + ids.core;
		up = at(nodes, n, nd->parent);
		if (t->threads > 1) {
			assert_int_equal(up->flags, F_IDENTICAL);
			assert_int_equal(up->id, ids.core);
			if (!core_of[co])
				core_of[co] = up->offset;
			assert_int_equal(core_of[co], up->offset);
			up = at(nodes, n, up->parent);
		}
		assert_int_equal(up->flags, F_IDENTICAL); /* cluster */
		assert_int_equal(up->id, ids.cluster);
		if (!cluster_of[cl])
			cluster_of[cl] = up->offset;
		assert_int_equal(cluster_of[cl], up->offset);
		up = at(nodes, n, up->parent);
		assert_int_equal(up->flags, F_PACKAGE | F_IDENTICAL);
		assert_int_equal(up->parent, 0);
		assert_int_equal(up->id, ids.socket);
		if (!package_of[ids.socket])
			package_of[ids.socket] = up->offset;
		assert_int_equal(package_of[ids.socket], up->offset);
		leaf++;
	}
	/* Every possible vCPU, started or not. */
	assert_int_equal(leaf, t->maxcpus);
	free(nodes);
	free(blob);
	free(package_of);
	free(cluster_of);
	free(core_of);
}

static void test_one_cpu(void **state)
{
	struct modvm_topology t = topo(1, 1, 1, 1, 0);
	struct node *nodes;
	size_t size;
	void *blob;

	(void)state;
	check_shape(&t);
	assert_int_equal(arm64_pptt_build(&blob, &size, &t), 0);
	assert_int_equal(size, HDR + 3 * NODE);
	assert_int_equal(decode(blob, size, &nodes), 3);
	/* package at 36, cluster at 56 -> 36, core leaf at 76 -> 56 */
	assert_int_equal(nodes[1].parent, HDR);
	assert_int_equal(nodes[2].parent, HDR + NODE);
	assert_int_equal(nodes[2].flags, F_ID_VALID | F_LEAF);
	free(nodes);
	free(blob);
}

static void test_two_sockets_two_clusters_two_cores(void **state)
{
	struct modvm_topology t = topo(2, 2, 2, 1, 0);

	(void)state;
	check_shape(&t); /* 2 + 4 + 8 nodes, cores are the leaves */
	assert_int_equal(arm64_pptt_size(&t), HDR + 14 * NODE);
}

static void test_threads_are_leaves_below_cores(void **state)
{
	struct modvm_topology t = topo(1, 2, 2, 2, 0);

	(void)state;
	check_shape(&t); /* 1 + 2 + 4 + 8 nodes */
	assert_int_equal(arm64_pptt_size(&t), HDR + 15 * NODE);
}

static void test_twelve_cores(void **state)
{
	struct modvm_topology t = topo(2, 1, 12, 1, 0);

	(void)state;
	check_shape(&t);
}

/* Not started vCPUs keep their place: a MADT lists them online-capable. */
static void test_not_started_vcpus_are_described(void **state)
{
	struct modvm_topology t = topo(2, 1, 2, 2, 3);

	(void)state;
	check_shape(&t);
}

static void test_large(void **state)
{
	struct modvm_topology t = topo(4, 4, 8, 4, 0);

	(void)state;
	check_shape(&t);
}

static void test_dies_are_refused(void **state)
{
	struct modvm_topology t = topo(1, 1, 2, 1, 0);
	size_t size;
	void *blob;

	(void)state;
	t.dies = 2;
	t.maxcpus = 4;
	assert_int_equal(arm64_pptt_build(&blob, &size, &t), -EINVAL);
	assert_null(blob);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t size = 0;
	FILE *mem;
	int c;

	if (!f)
		return NULL;
	mem = open_memstream(&buf, &size);
	while ((c = fgetc(f)) != EOF)
		fputc(c, mem);
	fclose(mem);
	fclose(f);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* iasl -d decodes the table with no complaint and finds every node. */
static void run_iasl(const struct modvm_topology *t)
{
	char *path, *cmd, *dsl_path, *dsl, *dir;
	size_t size;
	void *blob;
	FILE *f;
	int status;

	assert_int_equal(arm64_pptt_build(&blob, &size, t), 0);
	path = write_temp("pptt.dat", "");
	assert_non_null(path);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(blob, 1, size, f), size);
	fclose(f);
	dir = strdup(path);
	*strrchr(dir, '/') = '\0';
	assert_true(asprintf(&cmd, "cd '%s' && iasl -d pptt.dat >iasl.log 2>&1",
			     dir) > 0);
	status = system(cmd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(asprintf(&dsl_path, "%s/pptt.dsl", dir) > 0);
	dsl = slurp(dsl_path);
	assert_non_null(dsl);
	assert_null(strstr(dsl, "Incorrect"));
	assert_null(strstr(dsl, "Invalid"));
	assert_null(strstr(dsl, "Unknown"));
	assert_null(strstr(dsl, "rror"));
	assert_non_null(strstr(dsl, "[Processor Properties Topology Table]"));
	assert_int_equal(count(dsl, "[Processor Hierarchy Node]"),
			 (size - HDR) / NODE);
	assert_int_equal(count(dsl, "Node is a leaf : 1"), t->maxcpus);
	free(dsl);
	unlink(dsl_path);
	free(dsl_path);
	free(cmd);
	assert_true(asprintf(&cmd, "%s/iasl.log", dir) > 0);
	unlink(cmd);
	free(cmd);
	free(dir);
	remove_temp(path);
	free(blob);
}

static void test_iasl_decodes_every_shape(void **state)
{
	static const uint32_t shapes[][5] = {
		{ 1, 1, 1, 1, 0 }, { 2, 2, 2, 1, 0 }, { 1, 2, 2, 2, 0 },
		{ 2, 1, 12, 1, 0 }, { 2, 1, 2, 2, 5 },
	};

	(void)state;
	if (system("iasl -v >/dev/null 2>&1") != 0) {
		fprintf(stderr, "iasl is missing (apt-get install "
				"acpica-tools): skipping\n");
		skip();
	}
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct modvm_topology t = topo(shapes[i][0], shapes[i][1],
					       shapes[i][2], shapes[i][3],
					       shapes[i][4]);

		run_iasl(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_cpu),
		cmocka_unit_test(test_two_sockets_two_clusters_two_cores),
		cmocka_unit_test(test_threads_are_leaves_below_cores),
		cmocka_unit_test(test_twelve_cores),
		cmocka_unit_test(test_not_started_vcpus_are_described),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_dies_are_refused),
		cmocka_unit_test(test_iasl_decodes_every_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
