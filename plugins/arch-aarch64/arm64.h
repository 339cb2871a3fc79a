/* SPDX-License-Identifier: MIT */
/*
 * arch-aarch64's portable table builders: the device tree (fdt.c) and
 * the ACPI PPTT (pptt.c). Plain C on any host, so --check, --dump and
 * the unit tests run on x86 too. Both derive every CPU's place from
 * modvm_topology_ids(), like the other arch plugins.
 */
#ifndef MODVM_ARCH_AARCH64_H
#define MODVM_ARCH_AARCH64_H

#include <stddef.h>
#include <stdint.h>

#include <modvm/topology.h>

/* MPIDR_EL1 affinity fields (Arm ARM D19.2): Aff3 sits above bit 31. */
#define ARM64_MPIDR_AFF_MASK 0xff00ffffffull
#define ARM64_MPIDR_AFF3_MASK 0xff00000000ull
#define ARM64_MPIDR_RES1 (1ull << 31)

/*
 * The MPIDR_EL1 KVM gives a vCPU created with this id when userspace
 * does not set one (Linux arch/arm64/kvm/sys_regs.c, reset_mpidr):
 * at most 16 CPUs in Aff0 (GICv3 SGIs address 16 per Aff1 group),
 * then Aff1 and Aff2. Aff3 stays 0.
 */
static inline uint64_t arm64_default_mpidr(uint32_t vcpu_id)
{
	return ARM64_MPIDR_RES1 | (uint64_t)(vcpu_id & 0xf) |
	       (uint64_t)((vcpu_id >> 4) & 0xff) << 8 |
	       (uint64_t)((vcpu_id >> 12) & 0xff) << 16;
}

/* Phandles the device tree uses; CPU i gets ARM64_PHANDLE_CPU0 + i. */
#define ARM64_PHANDLE_GIC 1u
#define ARM64_PHANDLE_APB_PCLK 2u
#define ARM64_PHANDLE_CPU0 16u

/* What the device tree describes. */
struct arm64_fdt_params {
	const struct modvm_topology *topo;
	/* MPIDR_EL1 of each started vCPU (topo->cpus entries). */
	const uint64_t *mpidr;
	uint64_t ram_base;
	uint64_t ram_size;
	/* /chosen: each optional (NULL, or initrd_size 0). */
	const char *bootargs;
	uint64_t initrd_start;
	uint64_t initrd_size;
};

/*
 * Build the whole DTB: root, /cpus with cpu-map, memory, GICv3, timer,
 * PSCI, PL011 with its clock, /chosen. On success *out is a malloc'ed
 * blob of *size_out bytes (packed, at most ARM64_FDT_MAX_SIZE) the
 * caller frees. Returns 0, -ENOMEM, -E2BIG or -EINVAL (libfdt refused:
 * a bug).
 */
int arm64_fdt_build(void **out, size_t *size_out,
		    const struct arm64_fdt_params *p);

/* Bytes of the PPTT for topology t. */
size_t arm64_pptt_size(const struct modvm_topology *t);
/*
 * Build the ACPI 6.3 PPTT (5.2.29, revision 2) for every possible vCPU
 * (maxcpus): package > cluster > core [> thread] processor hierarchy
 * nodes, leaves carrying the linear vCPU index as ACPI processor ID
 * (= the GICC's ACPI processor UID in a MADT). *out is malloc'ed.
 * Returns 0, -ENOMEM or -E2BIG.
 */
int arm64_pptt_build(void **out, size_t *size_out,
		     const struct modvm_topology *t);

#endif /* MODVM_ARCH_AARCH64_H */
