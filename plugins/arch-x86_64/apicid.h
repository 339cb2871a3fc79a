/* SPDX-License-Identifier: MIT */
/*
 * x86 APIC ID layout. From the low bits: thread, core, module (our
 * cluster), die, package; each field is modvm_topology_width() of its
 * count, so non-power-of-two counts leave holes (3 cores take 2 bits:
 * IDs 0, 1, 2, 4, 5, 6 for two sockets), as Intel hardware does (SDM
 * vol. 3A, 10.12.8.1 "Consistency of APIC IDs and CPUID", and the
 * "Intel 64 Architecture Processor Topology Enumeration" paper).
 */
#ifndef MODVM_X86_APICID_H
#define MODVM_X86_APICID_H

#include <stdint.h>

#include <modvm/topology.h>

/* Bit offsets of each field of the APIC ID. */
struct x86_apic_layout {
	uint32_t core_off;   /* = width of the thread field */
	uint32_t module_off;
	uint32_t die_off;
	uint32_t pkg_off;    /* bits below the package field */
	uint32_t bits;       /* all fields, package included */
};

/* The layout of t. bits > 32 means the IDs do not fit an x2APIC ID. */
struct x86_apic_layout x86_apic_layout(const struct modvm_topology *t);

/* APIC ID of the vCPU at a linear index (0 when the layout exceeds 32
 * bits; the caller checks layout.bits first). */
uint32_t x86_apic_id(const struct modvm_topology *t, uint32_t index);

#endif
