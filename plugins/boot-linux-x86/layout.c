/* SPDX-License-Identifier: MIT */
/*
 * The pure half of boot-linux-x86: the memory plan, the e820 map, the
 * zero page, the GDT, the page tables and the boot vCPU's registers for
 * the 64-bit boot protocol (Linux boot protocol, "64-bit Boot
 * Protocol"): long mode with paging, an identity map covering the
 * kernel, the zero page and the command line, CS = __BOOT_CS, the data
 * segments = __BOOT_DS, interrupts off, %rsi = the zero page.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <asm/e820.h>
#include <asm/processor-flags.h>

#include "layout.h"

/* The 64-bit entry point is 0x200 past the protected-mode kernel. */
#define ENTRY64_OFFSET 0x200u
/* Boot protocol, type_of_loader: 0xff = a loader without an id. */
#define LOADER_UNDEFINED 0xffu

/* IA32_EFER (SDM vol. 3A 2.2.1): long mode enable / active. */
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

/* Page-table entry bits (SDM vol. 3A 4.5): present, writable, 2 MiB. */
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)
#define PAGE_4K 0x1000ull
#define PAGE_2M 0x200000ull

/*
 * Segment descriptors (SDM vol. 3A 3.4.5): base 0, limit 0xfffff in
 * 4 KiB units (G), present, DPL 0, code/data (S). Code: type 0xb
 * (execute/read, accessed), L = 1 (64-bit). Data: type 0x3
 * (read/write, accessed), D/B = 1.
 */
#define GDT_CODE64 0x00af9b000000ffffull
#define GDT_DATA 0x00cf93000000ffffull

#define MIB (1ull << 20)

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t ram_below_gap(uint64_t ram_size)
{
	return min_u64(ram_size, BOOT_RAM_GAP_START);
}

int boot_plan_kernel(struct boot_layout *out, const struct bzimage *k,
		     uint64_t ram_size, char *why, size_t why_size)
{
	const struct setup_header *h = &k->hdr;
	uint64_t align = h->kernel_alignment, start;

	memset(out, 0, sizeof(*out));
	out->ram_size = ram_size;
	out->ram_below_4g = ram_below_gap(ram_size);
	/*
	 * Where the 64-bit entry decompresses to (arch/x86/boot/
	 * compressed/head_64.S): a relocatable kernel at its load address
	 * rounded up to kernel_alignment, but not below pref_address
	 * (LOAD_PHYSICAL_ADDR); any other kernel at pref_address. It
	 * needs init_size bytes from there (boot protocol 2.10, init_size).
	 */
	if (!align || (align & (align - 1)))
		align = 1;
	start = (uint64_t)h->pref_address;
	if (h->relocatable_kernel) {
		uint64_t at = (BOOT_KERNEL_ADDR + align - 1) & ~(align - 1);

		if (at > start)
			start = at;
	}
	if (start < BOOT_KERNEL_ADDR)
		start = BOOT_KERNEL_ADDR;
	out->kernel_end = start + h->init_size;
	if (out->kernel_end < BOOT_KERNEL_ADDR + k->kernel_size)
		out->kernel_end = BOOT_KERNEL_ADDR + k->kernel_size;
	if (out->kernel_end > out->ram_below_4g) {
		snprintf(why, why_size,
			 "needs more than %llu MiB of guest RAM (it decompresses "
			 "up to %#llx), but [machine] memory is %llu MiB; raise "
			 "[machine] memory",
			 (unsigned long long)((out->kernel_end + MIB - 1) / MIB),
			 (unsigned long long)out->kernel_end,
			 (unsigned long long)(ram_size / MIB));
		return -E2BIG;
	}
	return 0;
}

int boot_plan_initrd(struct boot_layout *l, const struct bzimage *k,
		     uint64_t size, char *why, size_t why_size)
{
	/* Boot protocol 2.03, initrd_addr_max: the highest byte it may use. */
	uint64_t top = min_u64(l->ram_below_4g,
			       (uint64_t)k->hdr.initrd_addr_max + 1);
	uint64_t addr = 0;

	l->initrd_addr = 0;
	l->initrd_size = 0;
	if (!size)
		return 0;
	if (size <= top)
		addr = (top - size) & ~(PAGE_4K - 1);
	if (size > top || addr < l->kernel_end) {
		snprintf(why, why_size,
			 "%llu bytes do not fit between the kernel's end "
			 "(%#llx) and %#llx (the end of RAM below 3 GiB, or the "
			 "kernel's initrd_addr_max); raise [machine] memory or "
			 "shrink the initrd",
			 (unsigned long long)size,
			 (unsigned long long)l->kernel_end,
			 (unsigned long long)top);
		return -E2BIG;
	}
	l->initrd_addr = addr;
	l->initrd_size = size;
	return 0;
}

static unsigned e820_add(struct boot_e820_entry *table, unsigned n,
			 unsigned max, uint64_t start, uint64_t end,
			 uint32_t type)
{
	if (end <= start || n >= max)
		return n;
	table[n].addr = start;
	table[n].size = end - start;
	table[n].type = type;
	return n + 1;
}

unsigned boot_e820_build(struct boot_e820_entry *table, unsigned max,
			 uint64_t ram_size)
{
	uint64_t below = ram_below_gap(ram_size);
	unsigned n = 0;

	/* Conventional memory up to the EBDA. */
	n = e820_add(table, n, max, 0, min_u64(below, BOOT_EBDA_START),
		     E820_RAM);
	/* EBDA, VGA hole and BIOS area: the ACPI tables and MP table. */
	n = e820_add(table, n, max, BOOT_EBDA_START, BOOT_HIGH_START,
		     E820_RESERVED);
	n = e820_add(table, n, max, BOOT_HIGH_START, below, E820_RAM);
	/* RAM the gap pushed above 4 GiB. */
	if (ram_size > below)
		n = e820_add(table, n, max, BOOT_RAM_GAP_END,
			     BOOT_RAM_GAP_END + (ram_size - below), E820_RAM);
	return n;
}

void boot_params_build(struct boot_params *bp, const struct bzimage *k,
		       const struct boot_layout *l)
{
	/*
	 * Boot protocol, "64-bit Boot Protocol": a zeroed boot_params with
	 * the image's setup header copied in, then the loader's fields.
	 */
	memset(bp, 0, sizeof(*bp));
	memcpy(&bp->hdr, &k->hdr, k->hdr_len);
	bp->hdr.type_of_loader = LOADER_UNDEFINED;
	bp->hdr.loadflags |= LOADED_HIGH;
	bp->hdr.code32_start = BOOT_KERNEL_ADDR;
	bp->hdr.cmd_line_ptr = BOOT_CMDLINE_ADDR;
	bp->hdr.ramdisk_image = (uint32_t)l->initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)l->initrd_size;
	/* Read by Linux 5.0 and later when the protocol is 2.14 or newer. */
	bp->acpi_rsdp_addr = l->rsdp_addr;
	bp->e820_entries = (uint8_t)boot_e820_build(
		bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE, l->ram_size);
}

void boot_gdt_build(uint64_t gdt[BOOT_GDT_ENTRIES])
{
	memset(gdt, 0, BOOT_GDT_ENTRIES * sizeof(gdt[0]));
	gdt[BOOT_CS >> 3] = GDT_CODE64;
	gdt[BOOT_DS >> 3] = GDT_DATA;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v)); /* guest and host are little-endian */
}

void boot_page_tables_build(void *mem)
{
	uint8_t *pml4 = mem;
	uint8_t *pdpt = pml4 + (BOOT_PDPT_ADDR - BOOT_PML4_ADDR);
	uint8_t *pd = pml4 + (BOOT_PD_ADDR - BOOT_PML4_ADDR);

	memset(mem, 0, BOOT_PAGE_TABLES_SIZE);
	put64(pml4, BOOT_PDPT_ADDR | PTE_P | PTE_RW);
	for (unsigned i = 0; i < BOOT_PD_COUNT; i++)
		put64(pdpt + i * 8, (BOOT_PD_ADDR + i * PAGE_4K) | PTE_P |
					    PTE_RW);
	for (uint64_t i = 0; i < BOOT_PD_COUNT * 512; i++)
		put64(pd + i * 8, i * PAGE_2M | PTE_P | PTE_RW | PTE_PS);
}

/* KVM's view of the descriptor gdt holds for selector. */
static struct kvm_segment segment_of(uint64_t desc, uint16_t selector)
{
	uint32_t limit = (uint32_t)(desc & 0xffff) |
			 (uint32_t)((desc >> 48) & 0xf) << 16;
	struct kvm_segment s = {
		.base = ((desc >> 16) & 0xffffff) | ((desc >> 56) & 0xff) << 24,
		.selector = selector,
		.type = (uint8_t)((desc >> 40) & 0xf),
		.s = (uint8_t)((desc >> 44) & 1),
		.dpl = (uint8_t)((desc >> 45) & 3),
		.present = (uint8_t)((desc >> 47) & 1),
		.l = (uint8_t)((desc >> 53) & 1),
		.db = (uint8_t)((desc >> 54) & 1),
		.g = (uint8_t)((desc >> 55) & 1),
	};

	s.limit = s.g ? limit << 12 | 0xfff : limit;
	return s;
}

void boot_sregs_build(struct kvm_sregs *sregs)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];
	struct kvm_segment data;

	boot_gdt_build(gdt);
	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = (uint16_t)(sizeof(gdt) - 1);
	sregs->cs = segment_of(gdt[BOOT_CS >> 3], BOOT_CS);
	data = segment_of(gdt[BOOT_DS >> 3], BOOT_DS);
	sregs->ds = data;
	sregs->es = data;
	sregs->fs = data;
	sregs->gs = data;
	sregs->ss = data;
	/* Paging in long mode (SDM vol. 3A 9.8.5): PAE, LME, then PG. */
	sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	sregs->cr3 = BOOT_PML4_ADDR;
	sregs->cr4 = X86_CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;
}

void boot_regs_build(struct kvm_regs *regs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rip = BOOT_KERNEL_ADDR + ENTRY64_OFFSET;
	regs->rsi = BOOT_PARAMS_ADDR;
	regs->rsp = BOOT_STACK_TOP;
	regs->rflags = X86_EFLAGS_FIXED; /* IF clear: interrupts off */
}
