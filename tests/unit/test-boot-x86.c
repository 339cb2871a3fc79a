/* SPDX-License-Identifier: MIT */
/*
 * boot-linux-x86: which kernel files it accepts (with the exact line it
 * prints for each one it refuses), where it puts kernel, initrd and
 * command line, the zero page and e820 map it writes, and the long-mode
 * state it starts the boot vCPU in. The plugin's sources are compiled
 * in and driven through its descriptor with a fake host table whose
 * guest RAM is a plain mapping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <asm/e820.h>
#include <modvm/boot.h>
#include <modvm/plugin.h>

#include "bzimage.h"
#include "fake-host.h"
#include "helpers.h"
#include "layout.h"

extern const struct modvm_plugin_desc modvm_plugin_descriptor;

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define KERNEL_BYTES 4096u
#define SETUP_SECTS 1u
#define SETUP_BYTES ((SETUP_SECTS + 1) * 512u)

/* ---- guest RAM as arch-x86_64 lays it out ------------------------------ */

static void ram_map(uint64_t size)
{
	fake.gap_start = 3 * GIB;
	fake.gap_end = 4 * GIB;
	assert_int_equal(fake_ram_map(size), 0);
}

static int teardown(void **state)
{
	(void)state;
	remove_temp((char *)fake_value("kernel"));
	remove_temp((char *)fake_value("initrd"));
	fake_host_reset();
	return 0;
}

/* ---- crafted kernel files --------------------------------------------- */

struct image_opts {
	uint16_t version;
	uint16_t xloadflags;
	uint32_t init_size;
	size_t cut; /* write only this many bytes (0: all) */
};

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* A bzImage as `make bzImage` lays one out: setup sectors, then code. */
static char *write_image(const struct image_opts *o)
{
	size_t size = SETUP_BYTES + KERNEL_BYTES;
	uint8_t *img = calloc(1, size);
	char *path;
	FILE *f;

	img[0x1f1] = SETUP_SECTS;
	put32(img + 0x1f4, KERNEL_BYTES / 16);       /* syssize */
	put16(img + 0x1fe, 0xaa55);                  /* boot_flag */
	img[0x200] = 0xeb;                           /* jmp over the header */
	img[0x201] = 0x268 - 0x202;
	memcpy(img + 0x202, "HdrS", 4);
	put16(img + 0x206, o->version ? o->version : 0x020f);
	img[0x211] = LOADED_HIGH;
	put32(img + 0x214, 0x100000);                /* code32_start */
	put32(img + 0x22c, 0x7fffffff);              /* initrd_addr_max */
	put32(img + 0x230, 0x200000);                /* kernel_alignment */
	img[0x234] = 1;                              /* relocatable_kernel */
	put16(img + 0x236, o->xloadflags);
	put32(img + 0x238, 2047);                    /* cmdline_size */
	put64(img + 0x258, 0x1000000);               /* pref_address */
	put32(img + 0x260, o->init_size ? o->init_size : 8 * MIB);
	for (size_t i = 0; i < KERNEL_BYTES; i++)
		img[SETUP_BYTES + i] = (uint8_t)(i * 7 + 1);

	path = write_temp("bzImage", "");
	assert_non_null(path);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, o->cut ? o->cut : size, f),
			 o->cut ? o->cut : size);
	fclose(f);
	free(img);
	return path;
}

static char *good_image(void)
{
	struct image_opts o = { .xloadflags = XLF_KERNEL_64 };

	return write_image(&o);
}

static char *write_bytes(const char *name, size_t size, uint8_t fill)
{
	char *path = write_temp(name, "");
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		fputc(fill, f);
	fclose(f);
	return path;
}

static void *state;

static int init_plugin(void)
{
	fake.error[0] = '\0';
	state = NULL;
	return modvm_plugin_descriptor.init(FAKE_SELF, &fake_host, &state);
}

static void fini_plugin(void)
{
	modvm_plugin_descriptor.fini(state);
	state = NULL;
}

/* init fails and prints exactly want (after our "KEY: " prefix). */
static void expect_refusal(const char *want)
{
	assert_int_not_equal(init_plugin(), 0);
	assert_null(state);
	assert_string_equal(fake.error, want);
}

/* ---- header checks ---------------------------------------------------- */

static void test_descriptor_is_a_boot_plugin(void **unused)
{
	const struct modvm_boot_ops *ops = modvm_plugin_descriptor.ops;

	(void)unused;
	assert_int_equal(modvm_plugin_descriptor.kind, MODVM_PLUGIN_BOOT);
	assert_string_equal(modvm_plugin_descriptor.name, "boot-linux-x86");
	assert_int_equal(ops->size, sizeof(struct modvm_boot_ops));
}

static void test_good_image_is_accepted(void **unused)
{
	(void)unused;
	fake_set("kernel", good_image());
	fake.ram_size = 256 * MIB;
	assert_int_equal(init_plugin(), 0);
	assert_non_null(state);
	assert_string_equal(fake.error, "");
	fini_plugin();
}

static void test_kernel_key_is_required(void **unused)
{
	(void)unused;
	expect_refusal("[section]: needs kernel = PATH, a bzImage such as "
		       "/boot/vmlinuz-*");
}

/* Kernel files init must refuse, each with its one line. */
static char *missing_file(void)
{
	char *path = write_temp("gone", "");

	unlink(path); /* get_path hands out the name; no file is there */
	return path;
}

static char *empty_file(void)
{
	return write_temp("empty", "");
}

static char *text_file(void)
{
	return write_temp("notes.txt", "console=ttyS0\n");
}

static char *zeros(void)
{
	return write_bytes("zeros", 8192, 0);
}

static char *elf_vmlinux(void)
{
	return write_temp("vmlinux", "\x7f" "ELF\x02\x01\x01");
}

static char *truncated_image(void)
{
	struct image_opts o = { .xloadflags = XLF_KERNEL_64, .cut = 3000 };

	return write_image(&o);
}

static char *protocol_2_05(void)
{
	struct image_opts o = { .version = 0x0205 };

	return write_image(&o);
}

static char *no_64bit_entry(void)
{
	struct image_opts o = { .xloadflags = 0 };

	return write_image(&o);
}

#define HINT "give a bzImage such as arch/x86/boot/bzImage or /boot/vmlinuz-*"

static const struct {
	char *(*make)(void);
	uint64_t ram_size;
	const char *error;
} refused_kernels[] = {
	{ missing_file, 256 * MIB,
	  "kernel: cannot open: No such file or directory" },
	{ empty_file, 256 * MIB, "kernel: is empty; " HINT },
	{ text_file, 256 * MIB,
	  "kernel: not a bzImage (no \"HdrS\" boot header at 0x202, the "
	  "file is shorter); " HINT },
	{ zeros, 256 * MIB,
	  "kernel: not a bzImage (no \"HdrS\" boot header at 0x202); " HINT },
	{ elf_vmlinux, 256 * MIB,
	  "kernel: is an ELF file (an uncompressed vmlinux?), not a "
	  "bzImage; " HINT },
	{ truncated_image, 256 * MIB,
	  "kernel: is truncated: 3000 bytes, but its header says 5120 "
	  "(setup 1024 + kernel 4096)" },
	{ protocol_2_05, 256 * MIB,
	  "kernel: uses boot protocol 2.05; modvm starts the kernel at its "
	  "64-bit entry point, which needs protocol 2.12 or newer (Linux 3.8 "
	  "or later)" },
	{ no_64bit_entry, 256 * MIB,
	  "kernel: has no 64-bit entry point (xloadflags lacks "
	  "XLF_KERNEL_64: a 32-bit kernel?); give an x86_64 bzImage" },
	/* A good image that decompresses to [16M, 24M). */
	{ good_image, 20 * MIB,
	  "kernel: needs more than 24 MiB of guest RAM (it decompresses up "
	  "to 0x1800000), but [machine] memory is 20 MiB; raise [machine] "
	  "memory" },
};

static void test_refused_kernels(void **unused)
{
	(void)unused;
	for (size_t i = 0; i < sizeof(refused_kernels) /
				   sizeof(refused_kernels[0]);
	     i++) {
		fake_set("kernel", refused_kernels[i].make());
		fake.ram_size = refused_kernels[i].ram_size;
		expect_refusal(refused_kernels[i].error);
		teardown(NULL);
	}
}

static void test_initrd_larger_than_ram(void **unused)
{
	(void)unused;
	fake_set("kernel", good_image());
	fake_set("initrd", write_bytes("initrd", 9 * MIB, 0x5a));
	fake.ram_size = 32 * MIB;
	expect_refusal("initrd: 9437184 bytes do not fit between the kernel's "
		       "end (0x1800000) and 0x2000000 (the end of RAM below "
		       "3 GiB, or the kernel's initrd_addr_max); raise "
		       "[machine] memory or shrink the initrd");
}

static void test_cmdline_longer_than_kernel_takes(void **unused)
{
	char *line = malloc(2049);

	(void)unused;
	memset(line, 'x', 2048);
	line[2048] = '\0';
	fake_set("kernel", good_image());
	fake_set("cmdline", line);
	fake.ram_size = 256 * MIB;
	expect_refusal("cmdline: is 2048 bytes long; this kernel takes at "
		       "most 2047 (its cmdline_size)");
	free(line);
}

/* ---- e820 ------------------------------------------------------------- */

static void expect_e820(const struct boot_e820_entry *e, uint64_t addr,
			uint64_t size, uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

static void test_e820_256m(void **unused)
{
	struct boot_e820_entry t[8];

	(void)unused;
	assert_int_equal(boot_e820_build(t, 8, 256 * MIB), 3);
	expect_e820(&t[0], 0, 0x9fc00, E820_RAM);
	expect_e820(&t[1], 0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED);
	expect_e820(&t[2], 0x100000, 256 * MIB - 0x100000, E820_RAM);
}

static void test_e820_4g_splits_around_the_gap(void **unused)
{
	struct boot_e820_entry t[8];

	(void)unused;
	assert_int_equal(boot_e820_build(t, 8, 4 * GIB), 4);
	expect_e820(&t[0], 0, 0x9fc00, E820_RAM);
	expect_e820(&t[1], 0x9fc00, 0x60400, E820_RESERVED);
	expect_e820(&t[2], 0x100000, 3 * GIB - 0x100000, E820_RAM);
	expect_e820(&t[3], 4 * GIB, 1 * GIB, E820_RAM);
}

static void test_e820_exactly_3g_needs_no_high_ram(void **unused)
{
	struct boot_e820_entry t[8];

	(void)unused;
	assert_int_equal(boot_e820_build(t, 8, 3 * GIB), 3);
	expect_e820(&t[2], 0x100000, 3 * GIB - 0x100000, E820_RAM);
}

/* ---- load: what lands in guest RAM ------------------------------------ */

static const struct boot_params *zero_page(void)
{
	return (const struct boot_params *)(fake.ram + BOOT_PARAMS_ADDR);
}

static void load_ok(void)
{
	const struct modvm_boot_ops *ops = modvm_plugin_descriptor.ops;

	assert_int_equal(init_plugin(), 0);
	assert_int_equal(ops->load(state), 0);
}

static void test_load_256m(void **unused)
{
	const struct boot_params *bp;
	const uint8_t *initrd;

	(void)unused;
	fake_set("kernel", good_image());
	fake_set("initrd", write_bytes("initrd", 3 * 4096 + 100, 0x5a));
	ram_map(256 * MIB);
	load_ok();
	bp = zero_page();

	/* The protected-mode kernel, byte for byte, at 1 MiB. */
	for (size_t i = 0; i < KERNEL_BYTES; i++)
		assert_int_equal(fake.ram[0x100000 + i], (uint8_t)(i * 7 + 1));
	/* The setup header came along, then the loader's fields. */
	assert_memory_equal(&bp->hdr.header, "HdrS", 4);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_true(bp->hdr.loadflags & LOADED_HIGH);
	assert_int_equal(bp->hdr.code32_start, 0x100000);
	assert_int_equal(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_string_equal((const char *)fake.ram + BOOT_CMDLINE_ADDR,
			    "console=ttyS0 panic=-1");
	/* The initrd: page-aligned, as high as it fits below RAM's end. */
	assert_int_equal(bp->hdr.ramdisk_size, 3 * 4096 + 100);
	assert_int_equal(bp->hdr.ramdisk_image, 256 * MIB - 4 * 4096);
	initrd = fake.ram + bp->hdr.ramdisk_image;
	assert_int_equal(initrd[0], 0x5a);
	assert_int_equal(initrd[3 * 4096 + 99], 0x5a);
	/* No tables written: Linux scans for the RSDP itself. */
	assert_int_equal(bp->acpi_rsdp_addr, 0);
	assert_int_equal(bp->e820_entries, 3);
	expect_e820(&bp->e820_table[2], 0x100000, 255 * MIB, E820_RAM);
	assert_int_equal(bp->sentinel, 0);
	fini_plugin();
}

static void test_load_4g_initrd_below_initrd_addr_max(void **unused)
{
	const struct boot_params *bp;

	(void)unused;
	fake_set("kernel", good_image());
	fake_set("initrd", write_bytes("initrd", 8192, 1));
	fake_set("cmdline", "console=ttyS0 quiet");
	ram_map(4 * GIB);
	load_ok();
	bp = zero_page();
	assert_int_equal(bp->hdr.ramdisk_image, 0x80000000u - 8192);
	assert_int_equal(bp->e820_entries, 4);
	expect_e820(&bp->e820_table[3], 4 * GIB, 1 * GIB, E820_RAM);
	assert_string_equal((const char *)fake.ram + BOOT_CMDLINE_ADDR,
			    "console=ttyS0 quiet");
	fini_plugin();
}

static void test_load_points_at_the_arch_rsdp(void **unused)
{
	uint8_t *rsdp;
	uint8_t sum = 0;

	(void)unused;
	fake_set("kernel", good_image());
	ram_map(64 * MIB);
	/* An ACPI 1.0 RSDP where arch-x86_64 puts its own. */
	rsdp = fake.ram + 0xe0000;
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "MODVM ", 6);
	for (int i = 0; i < 20; i++)
		sum = (uint8_t)(sum + rsdp[i]);
	rsdp[8] = (uint8_t)(0x100 - sum);
	load_ok();
	assert_int_equal(zero_page()->acpi_rsdp_addr, 0xe0000);
	fini_plugin();
}

/* ---- page tables and registers ---------------------------------------- */

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Walk 4-level paging (SDM vol. 3A 4.5) from CR3 in fake RAM. */
static uint64_t translate(uint64_t cr3, uint64_t va)
{
	uint64_t e = get64(fake.ram + cr3 + ((va >> 39) & 511) * 8);

	assert_true(e & 1);
	e = get64(fake.ram + (e & ~0xfffull) + ((va >> 30) & 511) * 8);
	assert_true(e & 1);
	assert_false(e & 0x80); /* no 1 GiB pages */
	e = get64(fake.ram + (e & ~0xfffull) + ((va >> 21) & 511) * 8);
	assert_true(e & 1);
	assert_true(e & 2);
	assert_true(e & 0x80);
	return (e & ~0x1fffffull & 0xffffffffffull) | (va & 0x1fffff);
}

static void test_page_tables_identity_map_4g(void **unused)
{
	static const uint64_t addrs[] = {
		0, BOOT_PARAMS_ADDR, BOOT_CMDLINE_ADDR, 0x100200, 0x1234567,
		3 * GIB - 1, 3 * GIB + 0x1000, 4 * GIB - 1,
	};

	(void)unused;
	ram_map(64 * MIB);
	boot_page_tables_build(fake.ram + BOOT_PML4_ADDR);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		assert_int_equal(translate(BOOT_PML4_ADDR, addrs[i]), addrs[i]);
	/* Nothing above 4 GiB: PML4 entry 0 only, PDPT entries 0-3. */
	assert_int_equal(get64(fake.ram + BOOT_PDPT_ADDR + 4 * 8), 0);
	assert_int_equal(get64(fake.ram + BOOT_PML4_ADDR + 8), 0);
}

static void test_boot_vcpu_enters_long_mode(void **unused)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	uint64_t gdt[BOOT_GDT_ENTRIES];

	(void)unused;
	memset(&s, 0, sizeof(s));
	boot_sregs_build(&s);
	boot_regs_build(&r);
	boot_gdt_build(gdt);
	/* __BOOT_CS: 64-bit code; __BOOT_DS: flat data (boot protocol). */
	assert_int_equal(s.cs.selector, 0x10);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_int_equal(s.cs.type, 0xb);
	assert_int_equal(s.cs.present, 1);
	assert_int_equal(s.cs.s, 1);
	assert_int_equal(s.cs.limit, 0xffffffff);
	assert_int_equal(s.ds.selector, 0x18);
	assert_int_equal(s.ss.selector, 0x18);
	assert_int_equal(s.ds.type, 0x3);
	assert_int_equal(s.ds.db, 1);
	assert_int_equal(s.ds.l, 0);
	assert_int_equal(gdt[0], 0);
	assert_int_equal(s.gdt.base, BOOT_GDT_ADDR);
	assert_int_equal(s.gdt.limit, 31);
	/* CR0.PE|PG, CR4.PAE, EFER.LME|LMA, CR3 at the PML4. */
	assert_int_equal(s.cr0 & 0x80000001u, 0x80000001u);
	assert_int_equal(s.cr0 & 0x60000000u, 0);
	assert_int_equal(s.cr4, 0x20);
	assert_int_equal(s.efer, 0x500);
	assert_int_equal(s.cr3, BOOT_PML4_ADDR);
	/* The 64-bit entry, %rsi = zero page, interrupts off. */
	assert_int_equal(r.rip, 0x100200);
	assert_int_equal(r.rsi, BOOT_PARAMS_ADDR);
	assert_int_equal(r.rflags, 0x2);
}

#define T(fn) cmocka_unit_test_teardown(fn, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_descriptor_is_a_boot_plugin),
		T(test_good_image_is_accepted),
		T(test_kernel_key_is_required),
		T(test_refused_kernels),
		T(test_initrd_larger_than_ram),
		T(test_cmdline_longer_than_kernel_takes),
		T(test_e820_256m),
		T(test_e820_4g_splits_around_the_gap),
		T(test_e820_exactly_3g_needs_no_high_ram),
		T(test_load_256m),
		T(test_load_4g_initrd_below_initrd_addr_max),
		T(test_load_points_at_the_arch_rsdp),
		T(test_page_tables_identity_map_4g),
		T(test_boot_vcpu_enters_long_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
