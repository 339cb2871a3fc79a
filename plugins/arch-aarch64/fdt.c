/* SPDX-License-Identifier: MIT */
/*
 * The arm64 device tree, written with libfdt's sequential-write API.
 *
 * /cpus holds one cpu@N per started vCPU, reg = its MPIDR affinity, and
 * cpu-map (Linux Documentation/devicetree/bindings/cpu/cpu-topology.txt)
 * built from modvm_topology_ids() like every other table:
 *
 *   cpu-map/socketS/clusterC/coreK[/threadT] { cpu = <&cpuN>; }
 *
 * Names count in decimal from 0 (Linux scans "%d" until a name is
 * missing), a cluster level is always there, the thread level only
 * with threads > 1. Only started vCPUs have cpu nodes, so only they
 * have leaves; as the started vCPUs are the first indices and indices
 * run in (socket, cluster, core, thread) order, every container still
 * counts from 0 without a gap (a partly started socket simply has
 * fewer clusters or cores). vCPUs beyond cpus are not in the tree.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "arm64.h"
#include "layout.h"

/* Device tree interrupt specifiers of the GIC binding (3 cells). */
#define GIC_SPI 0u
#define GIC_PPI 1u
#define IRQ_LEVEL_HIGH 4u

/* Architected timer PPIs: secure phys, non-secure phys, virt, hyp. */
static const uint32_t timer_ppis[] = { 13, 14, 11, 10 };

/* Evaluate a libfdt call; on failure leave the enclosing function. */
#define TRY(call)                       \
	do {                            \
		int try_err_ = (call);  \
		if (try_err_ < 0)       \
			return try_err_; \
	} while (0)

static int prop_strings(void *fdt, const char *name, const char *list,
			size_t len)
{
	/* list holds NUL-separated strings; len counts the last NUL. */
	return fdt_property(fdt, name, list, (int)len);
}

#define PROP_STRINGS(fdt, name, lit) prop_strings(fdt, name, lit, sizeof(lit))

static int prop_u64_pair(void *fdt, const char *name, uint64_t a, uint64_t b)
{
	fdt64_t v[2] = { cpu_to_fdt64(a), cpu_to_fdt64(b) };

	return fdt_property(fdt, name, v, sizeof(v));
}

static int write_root(void *fdt)
{
	TRY(PROP_STRINGS(fdt, "compatible", "modvm,virt\0linux,dummy-virt"));
	TRY(fdt_property_string(fdt, "model", "modvm arm64 virtual machine"));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property_u32(fdt, "interrupt-parent", ARM64_PHANDLE_GIC));
	return 0;
}

static int write_chosen(void *fdt, const struct arm64_fdt_params *p)
{
	char path[64];

	TRY(fdt_begin_node(fdt, "chosen"));
	if (p->bootargs)
		TRY(fdt_property_string(fdt, "bootargs", p->bootargs));
	snprintf(path, sizeof(path), "/pl011@%llx",
		 (unsigned long long)ARM64_UART_BASE);
	TRY(fdt_property_string(fdt, "stdout-path", path));
	if (p->initrd_size) {
		TRY(fdt_property_u64(fdt, "linux,initrd-start",
				     p->initrd_start));
		TRY(fdt_property_u64(fdt, "linux,initrd-end",
				     p->initrd_start + p->initrd_size));
	}
	return fdt_end_node(fdt);
}

static int write_memory(void *fdt, const struct arm64_fdt_params *p)
{
	char name[32];

	snprintf(name, sizeof(name), "memory@%llx",
		 (unsigned long long)p->ram_base);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "device_type", "memory"));
	TRY(prop_u64_pair(fdt, "reg", p->ram_base, p->ram_size));
	return fdt_end_node(fdt);
}

/* The cpu nodes' reg is the MPIDR affinity; two cells once Aff3 is used. */
static bool cpus_need_two_cells(const struct arm64_fdt_params *p)
{
	for (uint32_t i = 0; i < p->topo->cpus; i++)
		if (p->mpidr[i] & ARM64_MPIDR_AFF3_MASK)
			return true;
	return false;
}

static int write_cpu(void *fdt, const struct arm64_fdt_params *p, uint32_t i,
		     bool two_cells)
{
	uint64_t aff = p->mpidr[i] & ARM64_MPIDR_AFF_MASK;
	char name[40];

	snprintf(name, sizeof(name), "cpu@%llx", (unsigned long long)aff);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "device_type", "cpu"));
	TRY(fdt_property_string(fdt, "compatible", "arm,arm-v8"));
	if (two_cells)
		TRY(fdt_property_u64(fdt, "reg", aff));
	else
		TRY(fdt_property_u32(fdt, "reg", (uint32_t)aff));
	if (p->topo->cpus > 1)
		TRY(fdt_property_string(fdt, "enable-method", "psci"));
	TRY(fdt_property_u32(fdt, "phandle", ARM64_PHANDLE_CPU0 + i));
	return fdt_end_node(fdt);
}

/* cpu-map levels, outermost first; the thread level only when used. */
enum { MAP_SOCKET, MAP_CLUSTER, MAP_CORE, MAP_THREAD, MAP_LEVELS };

static const char *const map_names[MAP_LEVELS] = {
	"socket", "cluster", "core", "thread",
};

static void ids_by_level(const struct modvm_topology *t, uint32_t index,
			 uint32_t out[MAP_LEVELS])
{
	struct modvm_cpu_ids ids = modvm_topology_ids(t, index);

	out[MAP_SOCKET] = ids.socket;
	out[MAP_CLUSTER] = ids.cluster;
	out[MAP_CORE] = ids.core;
	out[MAP_THREAD] = ids.thread;
}

static int write_cpu_map(void *fdt, const struct modvm_topology *t)
{
	unsigned levels = t->threads > 1 ? MAP_LEVELS : MAP_THREAD;
	uint32_t prev[MAP_LEVELS] = { 0 }, cur[MAP_LEVELS];
	unsigned open = 0; /* nodes open below cpu-map */

	TRY(fdt_begin_node(fdt, "cpu-map"));
	for (uint32_t i = 0; i < t->cpus; i++) {
		unsigned keep = 0;

		ids_by_level(t, i, cur);
		/* Keep the containers this vCPU shares with the last one. */
		while (i > 0 && keep < levels - 1 && cur[keep] == prev[keep])
			keep++;
		for (; open > keep; open--)
			TRY(fdt_end_node(fdt));
		for (; open < levels; open++) {
			char name[24];

			snprintf(name, sizeof(name), "%s%u", map_names[open],
				 cur[open]);
			TRY(fdt_begin_node(fdt, name));
		}
		TRY(fdt_property_u32(fdt, "cpu", ARM64_PHANDLE_CPU0 + i));
		memcpy(prev, cur, sizeof(prev));
	}
	for (; open > 0; open--)
		TRY(fdt_end_node(fdt));
	return fdt_end_node(fdt);
}

static int write_cpus(void *fdt, const struct arm64_fdt_params *p)
{
	bool two_cells = cpus_need_two_cells(p);

	TRY(fdt_begin_node(fdt, "cpus"));
	TRY(fdt_property_u32(fdt, "#address-cells", two_cells ? 2 : 1));
	TRY(fdt_property_u32(fdt, "#size-cells", 0));
	for (uint32_t i = 0; i < p->topo->cpus; i++)
		TRY(write_cpu(fdt, p, i, two_cells));
	TRY(write_cpu_map(fdt, p->topo));
	return fdt_end_node(fdt);
}

/* GICv3 binding: distributor, then one redistributor region sized for
 * every possible vCPU. */
static int write_gic(void *fdt, const struct arm64_fdt_params *p)
{
	fdt64_t reg[4] = {
		cpu_to_fdt64(ARM64_GICD_BASE),
		cpu_to_fdt64(ARM64_GICD_SIZE),
		cpu_to_fdt64(ARM64_GICR_BASE),
		cpu_to_fdt64((uint64_t)p->topo->maxcpus * ARM64_GICR_STRIDE),
	};
	char name[32];

	snprintf(name, sizeof(name), "intc@%llx",
		 (unsigned long long)ARM64_GICD_BASE);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 3));
	TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	/* Children (an ITS) would use the root's address cells. */
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property(fdt, "ranges", NULL, 0));
	TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
	TRY(fdt_property_u32(fdt, "phandle", ARM64_PHANDLE_GIC));
	return fdt_end_node(fdt);
}

static int write_timer(void *fdt)
{
	fdt32_t irqs[3 * sizeof(timer_ppis) / sizeof(timer_ppis[0])];

	for (size_t i = 0; i < sizeof(timer_ppis) / sizeof(timer_ppis[0]);
	     i++) {
		irqs[3 * i] = cpu_to_fdt32(GIC_PPI);
		irqs[3 * i + 1] = cpu_to_fdt32(timer_ppis[i]);
		irqs[3 * i + 2] = cpu_to_fdt32(IRQ_LEVEL_HIGH);
	}
	TRY(fdt_begin_node(fdt, "timer"));
	TRY(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
	TRY(fdt_property(fdt, "interrupts", irqs, sizeof(irqs)));
	TRY(fdt_property(fdt, "always-on", NULL, 0));
	return fdt_end_node(fdt);
}

/* PSCI through HVC: KVM implements it (KVM_ARM_VCPU_PSCI_0_2). */
static int write_psci(void *fdt)
{
	TRY(fdt_begin_node(fdt, "psci"));
	TRY(PROP_STRINGS(fdt, "compatible", "arm,psci-1.0\0arm,psci-0.2"));
	TRY(fdt_property_string(fdt, "method", "hvc"));
	return fdt_end_node(fdt);
}

static int write_uart(void *fdt)
{
	fdt32_t irq[3] = {
		cpu_to_fdt32(GIC_SPI),
		cpu_to_fdt32(ARM64_UART_SPI),
		cpu_to_fdt32(IRQ_LEVEL_HIGH),
	};
	fdt32_t clocks[2] = {
		cpu_to_fdt32(ARM64_PHANDLE_APB_PCLK),
		cpu_to_fdt32(ARM64_PHANDLE_APB_PCLK),
	};
	char name[32];

	TRY(fdt_begin_node(fdt, "apb-pclk"));
	TRY(fdt_property_string(fdt, "compatible", "fixed-clock"));
	TRY(fdt_property_u32(fdt, "#clock-cells", 0));
	TRY(fdt_property_u32(fdt, "clock-frequency", ARM64_UART_CLOCK_HZ));
	TRY(fdt_property_string(fdt, "clock-output-names", "clk24mhz"));
	TRY(fdt_property_u32(fdt, "phandle", ARM64_PHANDLE_APB_PCLK));
	TRY(fdt_end_node(fdt));

	snprintf(name, sizeof(name), "pl011@%llx",
		 (unsigned long long)ARM64_UART_BASE);
	TRY(fdt_begin_node(fdt, name));
	TRY(PROP_STRINGS(fdt, "compatible", "arm,pl011\0arm,primecell"));
	TRY(prop_u64_pair(fdt, "reg", ARM64_UART_BASE, ARM64_UART_SIZE));
	TRY(fdt_property(fdt, "interrupts", irq, sizeof(irq)));
	TRY(fdt_property(fdt, "clocks", clocks, sizeof(clocks)));
	TRY(PROP_STRINGS(fdt, "clock-names", "uartclk\0apb_pclk"));
	return fdt_end_node(fdt);
}

static int write_tree(void *fdt, size_t size, const struct arm64_fdt_params *p)
{
	TRY(fdt_create(fdt, (int)size));
	TRY(fdt_finish_reservemap(fdt));
	TRY(fdt_begin_node(fdt, ""));
	TRY(write_root(fdt));
	TRY(write_chosen(fdt, p));
	TRY(write_memory(fdt, p));
	TRY(write_cpus(fdt, p));
	TRY(write_gic(fdt, p));
	TRY(write_timer(fdt));
	TRY(write_psci(fdt));
	TRY(write_uart(fdt));
	TRY(fdt_end_node(fdt));
	return fdt_finish(fdt);
}

int arm64_fdt_build(void **out, size_t *size_out,
		    const struct arm64_fdt_params *p)
{
	const struct modvm_topology *t = p->topo;
	size_t size;
	void *fdt = NULL;
	int err;

	*out = NULL;
	*size_out = 0;
	/* Only the levels the arch has: a die level cannot be described. */
	if (!t->cpus || t->cpus > t->maxcpus || t->dies != 1 ||
	    t->maxcpus > ARM64_MAX_CPUS)
		return -EINVAL;
	/* Roughly 200 bytes per CPU in /cpus and cpu-map, plus the rest. */
	size = 8192 + (size_t)t->cpus * 256 +
	       (p->bootargs ? strlen(p->bootargs) : 0);
	for (;;) {
		void *grown;

		if (size > ARM64_FDT_MAX_SIZE)
			size = ARM64_FDT_MAX_SIZE;
		grown = realloc(fdt, size);
		if (!grown) {
			free(fdt);
			return -ENOMEM;
		}
		fdt = grown;
		err = write_tree(fdt, size, p);
		if (err != -FDT_ERR_NOSPACE)
			break;
		if (size == ARM64_FDT_MAX_SIZE) {
			free(fdt);
			return -E2BIG;
		}
		size *= 2;
	}
	if (err < 0) {
		free(fdt);
		return -EINVAL;
	}
	*out = fdt;
	*size_out = fdt_totalsize(fdt);
	return 0;
}
