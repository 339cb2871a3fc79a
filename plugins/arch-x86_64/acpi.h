/* SPDX-License-Identifier: MIT */
/*
 * The ACPI tables arch-x86_64 gives the guest (the default machine
 * description; distribution cloud kernels have no MP-table support):
 * RSDP, XSDT, a hardware-reduced FADT, a DSDT with COM1 and a MADT with
 * one local APIC (or x2APIC) entry per possible vCPU, one I/O APIC and
 * the ISA timer override. acpi_build() is pure: it writes into a caller
 * buffer that will sit at a given guest address, so the unit tests and
 * `modvm --check --dump=acpi:DIR` see the very bytes the guest sees.
 * The x86_tables_* entry points at the end are the arch plugin's glue.
 */
#ifndef MODVM_ARCH_X86_64_ACPI_H
#define MODVM_ARCH_X86_64_ACPI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Guest addresses. The tables go to the start of the BIOS area, where
 * Linux scans for the RSDP (ACPI 6.4 5.2.5.1) and boot-linux-x86 finds
 * it for boot_params.acpi_rsdp_addr; e820 marks 0x9fc00-0xfffff
 * reserved. [0xf0000, 0x100000) is left for the MP table.
 */
#define X86_ACPI_BASE 0xe0000u
#define X86_ACPI_MAX_SIZE 0x10000u
#define X86_LAPIC_ADDR 0xfee00000u
#define X86_IOAPIC_ADDR 0xfec00000u
/* The highest APIC ID a local APIC (8-bit) entry can carry. */
#define X86_XAPIC_MAX_ID 254u

/* What the tables describe. */
struct acpi_params {
	/* APIC ID of every possible vCPU, by linear index (maxcpus). */
	const uint32_t *apic_ids;
	uint32_t cpus;    /* started: entries enabled */
	uint32_t maxcpus; /* cpus..maxcpus-1: online-capable, for hot-plug */
};

/* Where each table landed: byte offsets into the buffer. */
struct acpi_layout {
	size_t rsdp, xsdt, fadt, dsdt, madt;
	size_t size; /* bytes used from the start of the buffer */
};

/* Bytes acpi_build() writes for p. */
size_t acpi_size(const struct acpi_params *p);

/*
 * Build every table into buf, which the guest will see at guest
 * address base (16-byte aligned): the RSDP first, then XSDT, FADT,
 * DSDT and MADT, each checksummed. Fills *out. Returns 0, -ENOSPC when
 * size is too small or -EINVAL for bad params.
 */
int acpi_build(void *buf, size_t size, uint64_t base,
	       const struct acpi_params *p, struct acpi_layout *out);

/*
 * The I/O APIC's ID in the MADT: above every CPU's APIC ID when that
 * fits in its 8 bits, else 0 (x86-64 Linux only needs I/O APIC IDs to
 * be unique among I/O APICs).
 */
uint32_t acpi_ioapic_id(const uint32_t *apic_ids, uint32_t n);

/* The byte that makes len bytes at p sum to 0 (ACPI 6.4 5.2.6; MP spec 4.1). */
uint8_t acpi_checksum(const void *p, size_t len);

/*
 * modvm --check --dump=acpi[:DIR]: print where each table of buf goes
 * and its size; with DIR also write DIR/rsdp.dat, xsdt.dat, facp.dat,
 * dsdt.dat and apic.dat for `iasl -d`. Returns 0, or -errno with
 * *failed naming the table it could not write.
 */
int acpi_print(const uint8_t *buf, const struct acpi_layout *l,
	       const char *dir, FILE *out, const char **failed);

/*
 * The arch plugin's entry points for the machine description: the ACPI
 * tables or the MP table, as s->tables ([arch] tables) says, for the
 * vCPUs of s->topo. Each reports its own failures through s->host.
 */
struct x86_state;

/*
 * init: check that the topology fits the chosen tables (8-bit APIC IDs
 * for the MP table; the BIOS area's size), as an error on [arch]
 * tables, so `modvm --check` says so. 0 or -EINVAL.
 */
int x86_tables_check(const struct x86_state *s);
/* describe: write the chosen tables into guest RAM. */
int x86_tables_describe(const struct x86_state *s);
/*
 * dump: WHAT "acpi" (ARG: a folder for the .dat files, optional) or
 * "mptable"; -ENOENT for anything else.
 */
int x86_tables_dump(const struct x86_state *s, const char *what,
		    const char *arg, FILE *out);

#endif
