/* SPDX-License-Identifier: MIT */
/*
 * Ops of an architecture plugin (kind MODVM_PLUGIN_ARCH): what differs
 * between CPU architectures, from the topology levels they have to the
 * registers and tables each vCPU and the machine need.
 */
#ifndef MODVM_ARCH_H
#define MODVM_ARCH_H

#include <stdint.h>
#include <stdio.h>

struct modvm_arch_ops {
	uint32_t size; /* sizeof(struct modvm_arch_ops) the plugin built with */

	/* MODVM_TOPO_* levels this arch has besides sockets/cores/threads. */
	uint32_t topo_levels;
	/* Most vCPUs (maxcpus) the arch's tables can describe. */
	uint32_t max_cpus;

	/* Guest RAM layout: RAM starts at ram_base; [gap_start, gap_start +
	 * gap_size) is left for MMIO and RAM continues above it. */
	uint64_t ram_base;
	uint64_t ram_gap_start;
	uint64_t ram_gap_size;

	/* KVM vCPU id of the vCPU at a linear index (x86: its APIC ID). */
	uint32_t (*vcpu_id)(void *state, uint32_t index);

	/* VM-wide setup right after KVM_CREATE_VM (irqchip, timers). */
	int (*vm_setup)(void *state, int vm_fd);
	/* Per-vCPU setup after KVM_CREATE_VCPU (CPUID, MSRs, interrupt
	 * controller state). Called once per vCPU from its realize. */
	int (*vcpu_setup)(void *state, int vm_fd, int vcpu_fd, uint32_t index);
	/* Write the machine description the guest reads (ACPI, MP table,
	 * device tree) into guest RAM, after devices realized. May be NULL. */
	int (*describe)(void *state);

	/* Print a vCPU's registers, for failed entries and internal errors. */
	void (*dump_vcpu)(void *state, int vcpu_fd, FILE *out);
	/* modvm --check: print what the arch derives from the topology. */
	void (*print_topology)(void *state, FILE *out);
	/* modvm --dump=WHAT: print or write an arch table (e.g. "cpuid").
	 * Returns -ENOENT for a WHAT the arch does not know. May be NULL. */
	int (*dump)(void *state, const char *what, const char *arg, FILE *out);
};

#endif /* MODVM_ARCH_H */
