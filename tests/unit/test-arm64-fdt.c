/* SPDX-License-Identifier: MIT */
/*
 * arch-aarch64's device tree: a valid blob that dtc decodes, one cpu
 * node per started vCPU whose reg is its MPIDR affinity, and a cpu-map
 * whose every leaf points at the vCPU with exactly the socket, cluster,
 * core and thread its path names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <libfdt.h>

#include "../../plugins/arch-aarch64/arm64.h"
#include "../../plugins/arch-aarch64/layout.h"
#include "helpers.h"

struct built {
	struct modvm_topology t;
	uint64_t *mpidr;
	void *fdt;
	size_t size;
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

static void build_with(struct built *b, const struct modvm_topology *t,
		       const char *bootargs, uint64_t initrd_start,
		       uint64_t initrd_size)
{
	struct arm64_fdt_params p = {
		.topo = &b->t,
		.ram_base = ARM64_RAM_BASE,
		.ram_size = 256ull << 20,
		.bootargs = bootargs,
		.initrd_start = initrd_start,
		.initrd_size = initrd_size,
	};

	b->t = *t;
	if (!b->mpidr) {
		b->mpidr = calloc(t->maxcpus, sizeof(*b->mpidr));
		assert_non_null(b->mpidr);
		for (uint32_t i = 0; i < t->maxcpus; i++)
			b->mpidr[i] = arm64_default_mpidr(i);
	}
	p.mpidr = b->mpidr;
	assert_int_equal(arm64_fdt_build(&b->fdt, &b->size, &p), 0);
	assert_true(b->size <= ARM64_FDT_MAX_SIZE);
	assert_int_equal(fdt_totalsize(b->fdt), b->size);
	assert_int_equal(fdt_check_full(b->fdt, b->size), 0);
}

static void build(struct built *b, const struct modvm_topology *t)
{
	build_with(b, t, NULL, 0, 0);
}

static void unbuild(struct built *b)
{
	free(b->fdt);
	free(b->mpidr);
	memset(b, 0, sizeof(*b));
}

static uint32_t get_u32(const void *fdt, int node, const char *name)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, node, name, &len);

	assert_non_null(p);
	assert_int_equal(len, 4);
	return fdt32_to_cpu(*p);
}

/* A cpu node's reg, in one or two cells as /cpus says. */
static uint64_t cpu_reg(const void *fdt, int cpu)
{
	int cpus = fdt_path_offset(fdt, "/cpus"), len;
	uint32_t cells = get_u32(fdt, cpus, "#address-cells");
	const fdt32_t *p = fdt_getprop(fdt, cpu, "reg", &len);

	assert_non_null(p);
	assert_int_equal(len, (int)(4 * cells));
	if (cells == 1)
		return fdt32_to_cpu(p[0]);
	return (uint64_t)fdt32_to_cpu(p[0]) << 32 | fdt32_to_cpu(p[1]);
}

/* The vCPU index whose MPIDR affinity is reg, or -1. */
static int64_t index_of_reg(const struct built *b, uint64_t reg)
{
	for (uint32_t i = 0; i < b->t.cpus; i++)
		if ((b->mpidr[i] & ARM64_MPIDR_AFF_MASK) == reg)
			return i;
	return -1;
}

/*
 * The children of node named prefix0, prefix1, ... in order, with no
 * gap and nothing else; returns how many.
 */
static int count_children(const void *fdt, int node, const char *prefix)
{
	int child, n = 0;

	fdt_for_each_subnode(child, fdt, node) {
		char want[32];

		snprintf(want, sizeof(want), "%s%d", prefix, n);
		assert_string_equal(fdt_get_name(fdt, child, NULL), want);
		n++;
	}
	return n;
}

/*
 * Walk cpu-map; every leaf must point at the cpu node of the vCPU whose
 * modvm_topology_ids() match the leaf's path. Returns the leaf count.
 */
static uint32_t check_cpu_map(const struct built *b)
{
	const void *fdt = b->fdt;
	int map = fdt_path_offset(fdt, "/cpus/cpu-map");
	int socket, cluster, core, thread;
	uint32_t s = 0, leaves = 0;
	bool *seen = calloc(b->t.cpus, sizeof(*seen));

	assert_true(map >= 0);
	assert_non_null(seen);
	assert_true(count_children(fdt, map, "socket") >= 1);
	fdt_for_each_subnode(socket, fdt, map) {
		uint32_t c = 0;

		/* Linux wants a cluster level under every socket. */
		assert_true(count_children(fdt, socket, "cluster") >= 1);
		fdt_for_each_subnode(cluster, fdt, socket) {
			uint32_t k = 0;

			assert_true(count_children(fdt, cluster, "core") >= 1);
			fdt_for_each_subnode(core, fdt, cluster) {
				uint32_t th = 0;
				int leaf_nodes[64], n_leaf = 0;

				if (b->t.threads > 1) {
					assert_null(fdt_getprop(fdt, core, "cpu",
								NULL));
					assert_true(count_children(fdt, core,
								   "thread") >= 1);
					fdt_for_each_subnode(thread, fdt, core) {
						assert_true(n_leaf < 64);
						leaf_nodes[n_leaf++] = thread;
					}
				} else {
					assert_int_equal(fdt_first_subnode(fdt,
									   core),
							 -FDT_ERR_NOTFOUND);
					leaf_nodes[n_leaf++] = core;
				}
				for (int l = 0; l < n_leaf; l++, th++) {
					uint32_t ph = get_u32(fdt, leaf_nodes[l],
							      "cpu");
					int cpu = fdt_node_offset_by_phandle(fdt,
									     ph);
					int64_t idx;
					struct modvm_cpu_ids ids;

					assert_true(cpu >= 0);
					assert_string_equal(
						fdt_getprop(fdt, cpu, "device_type",
							    NULL),
						"cpu");
					idx = index_of_reg(b, cpu_reg(fdt, cpu));
					assert_true(idx >= 0);
					assert_false(seen[idx]);
					seen[idx] = true;
					ids = modvm_topology_ids(&b->t,
								 (uint32_t)idx);
					assert_int_equal(ids.socket, s);
					assert_int_equal(ids.cluster, c);
					assert_int_equal(ids.core, k);
					assert_int_equal(ids.thread, th);
					leaves++;
				}
				k++;
			}
			c++;
		}
		s++;
	}
	free(seen);
	return leaves;
}

/* The leaf at path points at the cpu node whose reg is want_reg. */
static void assert_leaf(const struct built *b, const char *path,
			uint64_t want_reg)
{
	int leaf = fdt_path_offset(b->fdt, path);
	int cpu;

	assert_true(leaf >= 0);
	cpu = fdt_node_offset_by_phandle(b->fdt, get_u32(b->fdt, leaf, "cpu"));
	assert_true(cpu >= 0);
	assert_int_equal(cpu_reg(b->fdt, cpu), want_reg);
}

static int count_cpu_nodes(const void *fdt)
{
	int cpus = fdt_path_offset(fdt, "/cpus"), child, n = 0;

	fdt_for_each_subnode(child, fdt, cpus) {
		const char *type = fdt_getprop(fdt, child, "device_type", NULL);

		if (type && strcmp(type, "cpu") == 0)
			n++;
	}
	return n;
}

static void test_one_cpu_has_a_full_cpu_map_and_no_enable_method(void **state)
{
	struct modvm_topology t = topo(1, 1, 1, 1, 0);
	struct built b = { 0 };
	int cpu;

	(void)state;
	build(&b, &t);
	assert_int_equal(count_cpu_nodes(b.fdt), 1);
	cpu = fdt_path_offset(b.fdt, "/cpus/cpu@0");
	assert_true(cpu >= 0);
	assert_null(fdt_getprop(b.fdt, cpu, "enable-method", NULL));
	assert_string_equal(fdt_getprop(b.fdt, cpu, "compatible", NULL),
			    "arm,arm-v8");
	assert_int_equal(get_u32(b.fdt, fdt_path_offset(b.fdt, "/cpus"),
				 "#address-cells"),
			 1);
	assert_leaf(&b, "/cpus/cpu-map/socket0/cluster0/core0", 0);
	assert_int_equal(check_cpu_map(&b), 1);
	unbuild(&b);
}

static void test_two_sockets_two_clusters_two_cores(void **state)
{
	struct modvm_topology t = topo(2, 2, 2, 1, 0);
	struct built b = { 0 };
	int cpu;

	(void)state;
	build(&b, &t);
	assert_int_equal(count_cpu_nodes(b.fdt), 8);
	cpu = fdt_path_offset(b.fdt, "/cpus/cpu@7");
	assert_true(cpu >= 0);
	assert_string_equal(fdt_getprop(b.fdt, cpu, "enable-method", NULL),
			    "psci");
	assert_int_equal(check_cpu_map(&b), 8);
	assert_int_equal(count_children(b.fdt,
					fdt_path_offset(b.fdt, "/cpus/cpu-map"),
					"socket"),
			 2);
	assert_true(fdt_path_offset(b.fdt, "/cpus/cpu-map/socket0/cluster0/"
					   "core0/thread0") < 0);
	assert_leaf(&b, "/cpus/cpu-map/socket0/cluster1/core0", 2);
	assert_leaf(&b, "/cpus/cpu-map/socket1/cluster1/core1", 7);
	unbuild(&b);
}

/* StratoVirt dropped the socket term: socket 1 pointed at socket 0's
 * CPUs. Here socket 1's first core is vCPU 4, its last vCPU 7. */
static void test_second_socket_points_at_its_own_cpus(void **state)
{
	struct modvm_topology t = topo(2, 1, 4, 1, 0);
	struct built b = { 0 };

	(void)state;
	build(&b, &t);
	assert_leaf(&b, "/cpus/cpu-map/socket0/cluster0/core0", 0);
	assert_leaf(&b, "/cpus/cpu-map/socket1/cluster0/core0", 4);
	assert_leaf(&b, "/cpus/cpu-map/socket1/cluster0/core3", 7);
	assert_int_equal(check_cpu_map(&b), 8);
	unbuild(&b);
}

static void test_threads_add_a_thread_level(void **state)
{
	struct modvm_topology t = topo(1, 2, 2, 2, 0);
	struct built b = { 0 };

	(void)state;
	build(&b, &t);
	assert_int_equal(count_cpu_nodes(b.fdt), 8);
	assert_int_equal(check_cpu_map(&b), 8);
	assert_leaf(&b, "/cpus/cpu-map/socket0/cluster0/core0/thread1", 1);
	assert_leaf(&b, "/cpus/cpu-map/socket0/cluster1/core1/thread1", 7);
	unbuild(&b);
}

/* Names are decimal: core10, core11 (hex names break Linux at 10). */
static void test_twelve_cores_count_in_decimal(void **state)
{
	struct modvm_topology t = topo(2, 1, 12, 1, 0);
	struct built b = { 0 };

	(void)state;
	build(&b, &t);
	assert_int_equal(count_cpu_nodes(b.fdt), 24);
	assert_int_equal(check_cpu_map(&b), 24);
	assert_int_equal(
		count_children(b.fdt,
			       fdt_path_offset(b.fdt, "/cpus/cpu-map/socket1/"
						      "cluster0"),
			       "core"),
		12);
	/* vCPU 10: Aff0 10. vCPU 23 (socket 1, core 11): Aff1 1, Aff0 7. */
	assert_leaf(&b, "/cpus/cpu-map/socket0/cluster0/core10", 0xa);
	assert_leaf(&b, "/cpus/cpu-map/socket1/cluster0/core11", 0x107);
	assert_true(fdt_path_offset(b.fdt, "/cpus/cpu@107") >= 0);
	assert_true(fdt_path_offset(b.fdt, "/cpus/cpu-map/socket0/cluster0/"
					   "corea") < 0);
	unbuild(&b);
}

/* With cpus < maxcpus only started vCPUs appear, still without gaps. */
static void test_not_started_vcpus_are_left_out(void **state)
{
	struct modvm_topology t = topo(2, 1, 2, 2, 5);
	struct built b = { 0 };

	(void)state;
	build(&b, &t);
	assert_int_equal(count_cpu_nodes(b.fdt), 5);
	assert_int_equal(check_cpu_map(&b), 5);
	assert_leaf(&b, "/cpus/cpu-map/socket1/cluster0/core0/thread0", 4);
	assert_true(fdt_path_offset(b.fdt, "/cpus/cpu-map/socket1/cluster0/"
					   "core0/thread1") < 0);
	assert_true(fdt_path_offset(b.fdt, "/cpus/cpu-map/socket1/cluster0/"
					   "core1") < 0);
	unbuild(&b);
}

/* KVM's default MPIDR packs 16 vCPUs per Aff1 (sys_regs.c reset_mpidr). */
static void test_default_mpidr_follows_kvm(void **state)
{
	(void)state;
	assert_int_equal(arm64_default_mpidr(0), 0x80000000u);
	assert_int_equal(arm64_default_mpidr(15), 0x8000000fu);
	assert_int_equal(arm64_default_mpidr(16), 0x80000100u);
	assert_int_equal(arm64_default_mpidr(511), 0x80001f0fu);
	assert_int_equal(arm64_default_mpidr(4096), 0x80010000u);
}

static void test_512_cpus_fit(void **state)
{
	struct modvm_topology t = topo(4, 4, 8, 4, 0);
	struct built b = { 0 };

	(void)state;
	build(&b, &t);
	assert_int_equal(count_cpu_nodes(b.fdt), 512);
	assert_int_equal(check_cpu_map(&b), 512);
	assert_leaf(&b, "/cpus/cpu-map/socket3/cluster3/core7/thread3",
		    0x1f0f);
	unbuild(&b);
}

/* An MPIDR with Aff3 (read back from KVM) needs two address cells. */
static void test_aff3_uses_two_address_cells(void **state)
{
	struct modvm_topology t = topo(1, 1, 2, 1, 0);
	struct built b = { 0 };

	(void)state;
	b.mpidr = calloc(2, sizeof(*b.mpidr));
	assert_non_null(b.mpidr);
	b.mpidr[0] = ARM64_MPIDR_RES1;
	b.mpidr[1] = ARM64_MPIDR_RES1 | 1ull << 32 | 0x3;
	build(&b, &t);
	assert_int_equal(get_u32(b.fdt, fdt_path_offset(b.fdt, "/cpus"),
				 "#address-cells"),
			 2);
	assert_true(fdt_path_offset(b.fdt, "/cpus/cpu@100000003") >= 0);
	assert_leaf(&b, "/cpus/cpu-map/socket0/cluster0/core1",
		    0x100000003ull);
	unbuild(&b);
}

static void test_machine_nodes(void **state)
{
	struct modvm_topology t = topo(1, 1, 4, 1, 0);
	struct built b = { 0 };
	const fdt32_t *p;
	const char *s;
	int node, len, clk;

	(void)state;
	build(&b, &t);
	node = fdt_path_offset(b.fdt, "/memory@40000000");
	assert_true(node >= 0);
	p = fdt_getprop(b.fdt, node, "reg", &len);
	assert_int_equal(len, 16);
	assert_int_equal(fdt32_to_cpu(p[1]), 0x40000000u);
	assert_int_equal(fdt32_to_cpu(p[3]), 256u << 20);

	node = fdt_node_offset_by_compatible(b.fdt, -1, "arm,gic-v3");
	assert_true(node >= 0);
	assert_int_equal(get_u32(b.fdt, node, "#interrupt-cells"), 3);
	assert_non_null(fdt_getprop(b.fdt, node, "interrupt-controller", NULL));
	assert_int_equal(get_u32(b.fdt, 0, "interrupt-parent"),
			 fdt_get_phandle(b.fdt, node));
	p = fdt_getprop(b.fdt, node, "reg", &len);
	assert_int_equal(len, 32);
	assert_int_equal(fdt32_to_cpu(p[1]), ARM64_GICD_BASE);
	assert_int_equal(fdt32_to_cpu(p[5]), ARM64_GICR_BASE);
	assert_int_equal(fdt32_to_cpu(p[7]), 4 * ARM64_GICR_STRIDE);

	node = fdt_node_offset_by_compatible(b.fdt, -1, "arm,armv8-timer");
	assert_true(node >= 0);
	p = fdt_getprop(b.fdt, node, "interrupts", &len);
	assert_int_equal(len, 4 * 12);
	assert_int_equal(fdt32_to_cpu(p[1]), 13);
	assert_int_equal(fdt32_to_cpu(p[4]), 14);
	assert_int_equal(fdt32_to_cpu(p[7]), 11);
	assert_int_equal(fdt32_to_cpu(p[10]), 10);

	node = fdt_node_offset_by_compatible(b.fdt, -1, "arm,psci-0.2");
	assert_true(node >= 0);
	assert_string_equal(fdt_getprop(b.fdt, node, "method", NULL), "hvc");

	node = fdt_node_offset_by_compatible(b.fdt, -1, "arm,pl011");
	assert_true(node >= 0);
	assert_int_equal(fdt_node_check_compatible(b.fdt, node,
						   "arm,primecell"),
			 0);
	p = fdt_getprop(b.fdt, node, "clocks", &len);
	assert_int_equal(len, 8);
	clk = fdt_node_offset_by_phandle(b.fdt, fdt32_to_cpu(p[0]));
	assert_true(clk >= 0);
	assert_string_equal(fdt_getprop(b.fdt, clk, "compatible", NULL),
			    "fixed-clock");

	/* stdout-path names the UART; no bootargs or initrd unless given. */
	node = fdt_path_offset(b.fdt, "/chosen");
	assert_true(node >= 0);
	s = fdt_getprop(b.fdt, node, "stdout-path", NULL);
	assert_non_null(s);
	assert_int_equal(fdt_path_offset(b.fdt, s),
			 fdt_node_offset_by_compatible(b.fdt, -1, "arm,pl011"));
	assert_null(fdt_getprop(b.fdt, node, "bootargs", NULL));
	assert_null(fdt_getprop(b.fdt, node, "linux,initrd-start", NULL));
	unbuild(&b);
}

static uint64_t get_u64(const void *fdt, int node, const char *name)
{
	int len;
	const void *p = fdt_getprop(fdt, node, name, &len);
	fdt64_t v;

	assert_non_null(p);
	assert_int_equal(len, 8);
	memcpy(&v, p, sizeof(v)); /* properties are only 4-byte aligned */
	return fdt64_to_cpu(v);
}

static void test_chosen_has_bootargs_and_initrd(void **state)
{
	struct modvm_topology t = topo(1, 1, 1, 1, 0);
	struct built b = { 0 };
	int chosen;

	(void)state;
	build_with(&b, &t, "console=ttyAMA0 quiet", 0x48000000, 0x123000);
	chosen = fdt_path_offset(b.fdt, "/chosen");
	assert_string_equal(fdt_getprop(b.fdt, chosen, "bootargs", NULL),
			    "console=ttyAMA0 quiet");
	assert_int_equal(get_u64(b.fdt, chosen, "linux,initrd-start"),
			 0x48000000);
	assert_int_equal(get_u64(b.fdt, chosen, "linux,initrd-end"),
			 0x48123000);
	unbuild(&b);
}

static void test_dies_are_refused(void **state)
{
	struct modvm_topology t = topo(1, 1, 2, 1, 0);
	uint64_t mpidr[4] = { 0 };
	struct arm64_fdt_params p = { .topo = &t, .mpidr = mpidr };
	void *fdt;
	size_t size;

	(void)state;
	t.dies = 2;
	t.maxcpus = 4;
	assert_int_equal(arm64_fdt_build(&fdt, &size, &p), -EINVAL);
	assert_null(fdt);
}

/* `dtc -I dtb -O dts` must decode the blob without a warning. */
static void run_dtc(const struct modvm_topology *t)
{
	struct built b = { 0 };
	char *path, *cmd, *log = NULL;
	size_t log_size = 0;
	FILE *f;
	int status;

	build(&b, t);
	path = write_temp("tree.dtb", "");
	assert_non_null(path);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b.fdt, 1, b.size, f), b.size);
	fclose(f);
	assert_true(asprintf(&cmd, "dtc -I dtb -O dts -o /dev/null '%s' 2>&1",
			     path) > 0);
	f = popen(cmd, "r");
	assert_non_null(f);
	{
		FILE *mem = open_memstream(&log, &log_size);
		int c;

		while ((c = fgetc(f)) != EOF)
			fputc(c, mem);
		fclose(mem);
	}
	status = pclose(f);
	if (log_size)
		fprintf(stderr, "dtc said:\n%s", log);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(log_size, 0);
	free(log);
	free(cmd);
	remove_temp(path);
	unbuild(&b);
}

static bool have_dtc(void)
{
	return system("dtc --version >/dev/null 2>&1") == 0;
}

static void test_dtc_decodes_every_shape(void **state)
{
	static const uint32_t shapes[][5] = {
		{ 1, 1, 1, 1, 0 }, { 2, 2, 2, 1, 0 }, { 1, 2, 2, 2, 0 },
		{ 2, 1, 12, 1, 0 }, { 2, 1, 2, 2, 5 }, { 4, 4, 8, 4, 0 },
	};

	(void)state;
	if (!have_dtc()) {
		fprintf(stderr, "dtc is missing (apt-get install "
				"device-tree-compiler): skipping\n");
		skip();
	}
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct modvm_topology t = topo(shapes[i][0], shapes[i][1],
					       shapes[i][2], shapes[i][3],
					       shapes[i][4]);

		run_dtc(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_one_cpu_has_a_full_cpu_map_and_no_enable_method),
		cmocka_unit_test(test_two_sockets_two_clusters_two_cores),
		cmocka_unit_test(test_second_socket_points_at_its_own_cpus),
		cmocka_unit_test(test_threads_add_a_thread_level),
		cmocka_unit_test(test_twelve_cores_count_in_decimal),
		cmocka_unit_test(test_not_started_vcpus_are_left_out),
		cmocka_unit_test(test_default_mpidr_follows_kvm),
		cmocka_unit_test(test_512_cpus_fit),
		cmocka_unit_test(test_aff3_uses_two_address_cells),
		cmocka_unit_test(test_machine_nodes),
		cmocka_unit_test(test_chosen_has_bootargs_and_initrd),
		cmocka_unit_test(test_dies_are_refused),
		cmocka_unit_test(test_dtc_decodes_every_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
