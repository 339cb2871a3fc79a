/* SPDX-License-Identifier: MIT */
/*
 * Where boot-linux-x86 puts things in guest RAM, and the pure builders
 * for what it writes there: the e820 map, the zero page, the GDT, the
 * identity page tables and the boot vCPU's registers. No I/O, no host
 * table, so the unit tests run every part.
 *
 * Low memory (all below the EBDA at 0x9fc00, RAM in e820):
 *   0x00500  GDT (4 entries)
 *   0x07000  struct boot_params, "the zero page"
 *   0x08ff0  initial stack top
 *   0x09000  PML4, 0x0a000 PDPT, 0x0b000-0x0efff four PDs
 *   0x20000  kernel command line
 * 0x9fc00-0x100000 stays reserved: the arch's ACPI tables and MP table
 * live in 0xe0000-0xfffff. The protected-mode kernel goes to 1 MiB,
 * the initrd as high below min(initrd_addr_max, RAM end, 3 GiB) as it
 * fits.
 */
#ifndef MODVM_BOOT_LINUX_X86_LAYOUT_H
#define MODVM_BOOT_LINUX_X86_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>
#include <linux/kvm.h>

#include "bzimage.h"

#define BOOT_GDT_ADDR 0x500u
#define BOOT_PARAMS_ADDR 0x7000u
#define BOOT_STACK_TOP 0x8ff0u
#define BOOT_PML4_ADDR 0x9000u
#define BOOT_PDPT_ADDR 0xa000u
#define BOOT_PD_ADDR 0xb000u
#define BOOT_PD_COUNT 4u /* 4 x 1 GiB of 2 MiB pages: the first 4 GiB */
#define BOOT_PAGE_TABLES_SIZE (BOOT_PD_ADDR + BOOT_PD_COUNT * 0x1000u - \
			       BOOT_PML4_ADDR)
#define BOOT_CMDLINE_ADDR 0x20000u
#define BOOT_CMDLINE_MAX 0xffffu /* without its NUL; up to 0x2ffff */
#define BOOT_KERNEL_ADDR 0x100000u

/* The e820 map's fixed parts. */
#define BOOT_EBDA_START 0x9fc00u /* 639 KiB: RAM below, reserved above */
#define BOOT_HIGH_START 0x100000u
/*
 * arch-x86_64's RAM gap (its ops' ram_gap_start/size): RAM below 3 GiB,
 * the 32-bit MMIO hole, RAM again from 4 GiB. The core maps guest RAM
 * that way; load() checks the two agree through host->guest_ptr().
 */
#define BOOT_RAM_GAP_START 0xc0000000ull
#define BOOT_RAM_GAP_END 0x100000000ull

/* GDT selectors the 64-bit boot protocol names (__BOOT_CS, __BOOT_DS). */
#define BOOT_CS 0x10u
#define BOOT_DS 0x18u
#define BOOT_GDT_ENTRIES 4u

/* Where the initrd goes; the plan made in init, used by load. */
struct boot_layout {
	uint64_t ram_size;
	uint64_t ram_below_4g; /* end of the RAM below the gap */
	uint64_t kernel_end;   /* the kernel decompresses below this */
	uint64_t initrd_addr;  /* 0 when there is no initrd */
	uint64_t initrd_size;
	uint64_t rsdp_addr;    /* ACPI RSDP, or 0 for "scan for it" */
};

/*
 * Check that the kernel fits in ram_size bytes of guest RAM and start
 * a plan in *out (no initrd yet). Returns 0, or -E2BIG with why filled.
 */
int boot_plan_kernel(struct boot_layout *out, const struct bzimage *k,
		     uint64_t ram_size, char *why, size_t why_size);
/*
 * Place an initrd of size bytes as high as the kernel allows
 * (initrd_addr_max) below RAM's end and 3 GiB, page-aligned, above the
 * kernel. Returns 0, or -E2BIG with why filled.
 */
int boot_plan_initrd(struct boot_layout *l, const struct bzimage *k,
		     uint64_t size, char *why, size_t why_size);

/* Fill table with the e820 map of the layout; returns the entry count. */
unsigned boot_e820_build(struct boot_e820_entry *table, unsigned max,
			 uint64_t ram_size);
/* The zero page: the image's setup header plus what the loader sets. */
void boot_params_build(struct boot_params *bp, const struct bzimage *k,
		       const struct boot_layout *l);
/* Null, null, 64-bit code at BOOT_CS, data at BOOT_DS. */
void boot_gdt_build(uint64_t gdt[BOOT_GDT_ENTRIES]);
/*
 * PML4, PDPT and PDs identity-mapping the first 4 GiB with 2 MiB pages,
 * into mem: the host view of guest [BOOT_PML4_ADDR, + BOOT_PAGE_TABLES_SIZE).
 */
void boot_page_tables_build(void *mem);
/* Long mode, paging on, flat segments; the rest of *sregs is kept. */
void boot_sregs_build(struct kvm_sregs *sregs);
/* rip at the 64-bit entry point, rsi at the zero page. */
void boot_regs_build(struct kvm_regs *regs);

#endif
