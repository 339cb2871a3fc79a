/* SPDX-License-Identifier: MIT */
/*
 * The Intel MultiProcessor Specification 1.4 table, for guests without
 * ACPI ([arch] tables = mptable): a floating pointer structure and a
 * configuration table with one processor entry per started vCPU, the
 * ISA bus, one I/O APIC and the interrupt routing of the MP spec's
 * default configuration. APIC IDs are 8-bit here: mptable_check()
 * refuses topologies whose IDs do not fit. Pure code: no I/O, no host.
 */
#ifndef MODVM_ARCH_X86_64_MPTABLE_H
#define MODVM_ARCH_X86_64_MPTABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The floating pointer goes to the start of the last 64 KiB of the BIOS
 * area, one of the places the MP spec (4.1) says to search; the
 * configuration table follows it.
 */
#define X86_MPTABLE_BASE 0xf0000u
#define X86_MPTABLE_MAX_SIZE 0x10000u

struct mptable_params {
	/* APIC ID of every started vCPU, by linear index (cpus entries). */
	const uint32_t *apic_ids;
	uint32_t cpus;
	uint32_t cpu_signature; /* CPUID.1:EAX: stepping, model, family */
	uint32_t cpu_features;  /* CPUID.1:EDX */
};

/* Where the two parts landed: byte offsets into the buffer. */
struct mptable_layout {
	size_t floating; /* floating pointer structure, 16 bytes */
	size_t config;   /* configuration table */
	size_t size;     /* bytes used from the start of the buffer */
	uint16_t entries;
	uint8_t ioapic_id;
};

/*
 * 0 when every APIC ID, and an I/O APIC ID above them all, fit in the
 * table's 8 bits (at most 254); else -ERANGE with why filled.
 */
int mptable_check(const struct mptable_params *p, char *why,
		  size_t why_size);

/* Bytes mptable_build() writes for p. */
size_t mptable_size(const struct mptable_params *p);

/*
 * Build the floating pointer and configuration table into buf, which
 * the guest sees at base (16-byte aligned). Returns 0, -ENOSPC when
 * size is too small, -ERANGE when mptable_check() fails or -EINVAL.
 */
int mptable_build(void *buf, size_t size, uint64_t base,
		  const struct mptable_params *p, struct mptable_layout *out);

/*
 * modvm --check --dump=mptable: print every entry of a table
 * mptable_build() made, one a line.
 */
void mptable_print(const uint8_t *buf, const struct mptable_layout *l,
		   FILE *out);

#endif
