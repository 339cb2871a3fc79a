/* SPDX-License-Identifier: MIT */
/*
 * boot-linux-arm64: the Image header checks (Linux booting.rst), the
 * error each bad file gets (naming the file), where kernel, initrd and
 * device tree land, and /chosen added to the device tree the arch
 * plugin left at its fixed address. The plugin runs against a fake
 * host table over a malloc'ed "guest RAM".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include <modvm/boot.h>
#include <modvm/plugin.h>

#include "../../plugins/arch-aarch64/arm64.h"
#include "../../plugins/arch-aarch64/layout.h"
#include "../../plugins/boot-linux-arm64/image.h"
#include "helpers.h"

extern const struct modvm_plugin_desc modvm_plugin_descriptor;

/* A synthetic Image header: text_offset, image_size, flags, magic. */
static void make_header(uint8_t h[64], uint64_t text_offset,
			uint64_t image_size, uint64_t flags)
{
	memset(h, 0, 64);
	h[0] = 'M'; /* the EFI stub's "MZ" stands in code0 */
	h[1] = 'Z';
	for (int i = 0; i < 8; i++) {
		h[0x08 + i] = (uint8_t)(text_offset >> (8 * i));
		h[0x10 + i] = (uint8_t)(image_size >> (8 * i));
		h[0x18 + i] = (uint8_t)(flags >> (8 * i));
	}
	memcpy(h + 0x38, "ARM\x64", 4);
}

static int parse(const uint8_t *h, size_t len, uint64_t file_size,
		 struct arm64_image *img, char *why)
{
	return arm64_image_parse(h, len, file_size, img, why, 256);
}

static void test_good_header(void **state)
{
	struct arm64_image img;
	uint8_t h[64];
	char why[256];

	(void)state;
	make_header(h, 0, 0x1400000, ARM64_IMAGE_FLAG_ANYWHERE | 1 << 1);
	assert_int_equal(parse(h, 64, 0x1000000, &img, why), 0);
	assert_int_equal(img.text_offset, 0);
	assert_int_equal(img.image_size, 0x1400000);
	assert_int_equal(img.flags, ARM64_IMAGE_FLAG_ANYWHERE | 1 << 1);
	assert_int_equal(img.file_size, 0x1000000);
	/* Kernels before 5.8 used text_offset 0x80000. */
	make_header(h, 0x80000, 0x1400000, 0);
	assert_int_equal(parse(h, 64, 0x1000000, &img, why), 0);
	assert_int_equal(img.text_offset, 0x80000);
}

static void test_bad_magic(void **state)
{
	struct arm64_image img;
	uint8_t h[64];
	char why[256];

	(void)state;
	make_header(h, 0, 0x100000, 0);
	h[0x3b] = 0x65;
	assert_int_equal(parse(h, 64, 4096, &img, why), -ENOEXEC);
	assert_non_null(strstr(why, "not an arm64 Linux Image"));
	assert_non_null(strstr(why, "0x38"));
}

static void test_truncated(void **state)
{
	struct arm64_image img;
	uint8_t h[64];
	char why[256];

	(void)state;
	make_header(h, 0, 0x100000, 0);
	assert_int_equal(parse(h, 40, 40, &img, why), -ENOEXEC);
	assert_non_null(strstr(why, "40 bytes"));
	assert_non_null(strstr(why, "shorter than the 64-byte"));
}

static void test_empty(void **state)
{
	struct arm64_image img;
	char why[256];

	(void)state;
	assert_int_equal(parse(NULL, 0, 0, &img, why), -ENOEXEC);
	assert_string_equal(why, "is empty, not an arm64 Image");
}

static void test_compressed_images_are_named(void **state)
{
	static const uint8_t gz[64] = { 0x1f, 0x8b, 0x08 };
	uint8_t zboot[64] = { 'M', 'Z', 0, 0, 'z', 'i', 'm', 'g' };
	struct arm64_image img;
	char why[256];

	(void)state;
	assert_int_equal(parse(gz, 64, 9000000, &img, why), -ENOEXEC);
	assert_non_null(strstr(why, "gzip-compressed"));
	assert_int_equal(parse(zboot, 64, 9000000, &img, why), -ENOEXEC);
	assert_non_null(strstr(why, "zboot"));
}

static void test_old_or_corrupt_headers(void **state)
{
	struct arm64_image img;
	uint8_t h[64];
	char why[256];

	(void)state;
	make_header(h, 0x80000, 0, 0);
	assert_int_equal(parse(h, 64, 4096, &img, why), -ENOEXEC);
	assert_non_null(strstr(why, "3.17"));
	make_header(h, 0, 4096, 0);
	assert_int_equal(parse(h, 64, 8192, &img, why), -ENOEXEC);
	assert_non_null(strstr(why, "image_size"));
	make_header(h, 0x200000, 8192, 0);
	assert_int_equal(parse(h, 64, 8192, &img, why), -ENOEXEC);
	assert_non_null(strstr(why, "text_offset"));
}

/* ---- the plugin against a fake host ---- */

#define RAM_SIZE (16ull << 20)

static struct {
	const char *kernel, *initrd, *cmdline, *dtb;
	uint8_t *ram;
	char error[1024]; /* the last config_error / error log */
	char error_key[32];
} fake;

static void fake_log(struct modvm_plugin *self, enum modvm_log_level level,
		     const char *fmt, ...)
{
	va_list ap;

	(void)self;
	if (level != MODVM_LOG_ERROR)
		return;
	va_start(ap, fmt);
	vsnprintf(fake.error, sizeof(fake.error), fmt, ap);
	va_end(ap);
	fake.error_key[0] = '\0';
}

static void fake_config_error(struct modvm_plugin *self, const char *key,
			      const char *fmt, ...)
{
	va_list ap;

	(void)self;
	va_start(ap, fmt);
	vsnprintf(fake.error, sizeof(fake.error), fmt, ap);
	va_end(ap);
	snprintf(fake.error_key, sizeof(fake.error_key), "%s",
		 key ? key : "");
}

static const char *fake_value(const char *key)
{
	if (strcmp(key, "kernel") == 0)
		return fake.kernel;
	if (strcmp(key, "initrd") == 0)
		return fake.initrd;
	if (strcmp(key, "cmdline") == 0)
		return fake.cmdline;
	if (strcmp(key, "dtb") == 0)
		return fake.dtb;
	return NULL;
}

static int fake_get_string(struct modvm_plugin *self, const char *key,
			   const char **out)
{
	const char *v = fake_value(key);

	(void)self;
	if (!v)
		return -ENOENT;
	*out = v;
	return 0;
}

static int fake_get_path(struct modvm_plugin *self, const char *key,
			 char **out)
{
	const char *v = fake_value(key);

	(void)self;
	if (!v)
		return -ENOENT;
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static void *fake_guest_ptr(struct modvm_plugin *self, uint64_t gpa,
			    uint64_t len)
{
	(void)self;
	if (gpa < ARM64_RAM_BASE || len > RAM_SIZE ||
	    gpa - ARM64_RAM_BASE > RAM_SIZE - len)
		return NULL;
	return fake.ram + (gpa - ARM64_RAM_BASE);
}

static uint64_t fake_ram_size(struct modvm_plugin *self)
{
	(void)self;
	return RAM_SIZE;
}

static const struct modvm_host fake_host = {
	.size = sizeof(struct modvm_host),
	.abi_major = MODVM_ABI_MAJOR,
	.abi_minor = MODVM_ABI_MINOR,
	.log = fake_log,
	.config_error = fake_config_error,
	.get_string = fake_get_string,
	.get_path = fake_get_path,
	.guest_ptr = fake_guest_ptr,
	.guest_ram_size = fake_ram_size,
};

static char *write_bytes(const char *name, const void *data, size_t size)
{
	char *path = write_temp(name, "");
	FILE *f;

	assert_non_null(path);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, size, f), size);
	fclose(f);
	return path;
}

/* A fake Image: header, then a recognisable byte pattern. */
static char *write_image(size_t file_size, uint64_t image_size)
{
	uint8_t *img = calloc(1, file_size);
	char *path;

	assert_non_null(img);
	make_header(img, 0, image_size, ARM64_IMAGE_FLAG_ANYWHERE);
	for (size_t i = 64; i < file_size; i++)
		img[i] = (uint8_t)(i * 7);
	path = write_bytes("Image", img, file_size);
	free(img);
	return path;
}

static int setup(void **state)
{
	(void)state;
	memset(&fake, 0, sizeof(fake));
	fake.ram = calloc(1, RAM_SIZE);
	return fake.ram ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(fake.ram);
	return 0;
}

static int init_plugin(void **out)
{
	*out = NULL;
	fake.error[0] = '\0';
	return modvm_plugin_descriptor.init(NULL, &fake_host, out);
}

static void fini_plugin(void *s)
{
	modvm_plugin_descriptor.fini(s);
}

static void test_descriptor(void **state)
{
	const struct modvm_boot_ops *ops = modvm_plugin_descriptor.ops;

	(void)state;
	assert_int_equal(modvm_plugin_descriptor.kind, MODVM_PLUGIN_BOOT);
	assert_string_equal(modvm_plugin_descriptor.name, "boot-linux-arm64");
	assert_int_equal(ops->size, sizeof(struct modvm_boot_ops));
}

static void test_missing_kernel_key(void **state)
{
	void *s;

	(void)state;
	assert_int_equal(init_plugin(&s), -EINVAL);
	assert_non_null(strstr(fake.error, "needs kernel = PATH"));
	fini_plugin(s);
}

/* Each bad file is refused in init, naming the file and the key. */
static void test_bad_files_are_named(void **state)
{
	static const uint8_t junk[100] = { 'E', 'L', 'F' };
	char *empty = write_bytes("empty", "", 0);
	char *shortf = write_bytes("short", junk, 10);
	char *elf = write_bytes("vmlinux", junk, sizeof(junk));
	const struct {
		const char *path, *says;
	} cases[] = {
		{ empty, "is empty" },
		{ shortf, "is 10 bytes" },
		{ elf, "no \"ARM\\x64\" magic" },
		{ "/nonexistent/Image", "cannot be read" },
	};
	void *s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake.kernel = cases[i].path;
		assert_true(init_plugin(&s) < 0);
		assert_string_equal(fake.error_key, "kernel");
		assert_non_null(strstr(fake.error, cases[i].path));
		assert_non_null(strstr(fake.error, cases[i].says));
		fini_plugin(s);
	}
	remove_temp(empty);
	remove_temp(shortf);
	remove_temp(elf);
}

static void test_too_big_for_ram(void **state)
{
	char *kernel = write_image(4096, 63ull << 20);
	void *s;

	(void)state;
	fake.kernel = kernel;
	assert_int_equal(init_plugin(&s), -E2BIG);
	assert_non_null(strstr(fake.error, "raise it"));
	fini_plugin(s);
	remove_temp(kernel);
}

static void test_bad_dtb_file(void **state)
{
	char *kernel = write_image(4096, 1 << 20);
	static const char text[] = "/dts-v1/; / { model = \"a source, not a "
				   "blob\"; };";
	char *dtb = write_bytes("bad.dtb", text, sizeof(text) - 1);
	void *s;

	(void)state;
	fake.kernel = kernel;
	fake.dtb = dtb;
	assert_int_equal(init_plugin(&s), -EINVAL);
	assert_string_equal(fake.error_key, "dtb");
	assert_non_null(strstr(fake.error, "not a device tree blob"));
	fini_plugin(s);
	remove_temp(dtb);
	remove_temp(kernel);
}

/* The arch's describe step, as arch-aarch64 does it. */
static void place_arch_fdt(void)
{
	struct modvm_topology t = {
		.sockets = 1, .dies = 1, .clusters = 1, .cores = 2,
		.threads = 1, .cpus = 2, .maxcpus = 2,
	};
	uint64_t mpidr[2] = { arm64_default_mpidr(0), arm64_default_mpidr(1) };
	struct arm64_fdt_params p = {
		.topo = &t, .mpidr = mpidr,
		.ram_base = ARM64_RAM_BASE, .ram_size = RAM_SIZE,
	};
	void *fdt;
	size_t size;

	assert_int_equal(arm64_fdt_build(&fdt, &size, &p), 0);
	memcpy(fake_guest_ptr(NULL, arm64_fdt_gpa(RAM_SIZE), size), fdt, size);
	free(fdt);
}

static uint64_t prop_u64(const void *fdt, int node, const char *name)
{
	int len;
	const void *p = fdt_getprop(fdt, node, name, &len);
	fdt64_t v;

	assert_non_null(p);
	assert_int_equal(len, 8);
	memcpy(&v, p, sizeof(v)); /* properties are only 4-byte aligned */
	return fdt64_to_cpu(v);
}

static void test_load_places_kernel_initrd_and_chosen(void **state)
{
	const struct modvm_boot_ops *ops = modvm_plugin_descriptor.ops;
	char *kernel = write_image(300000, 3 << 20);
	char *initrd = write_bytes("initrd", "070701 initramfs bytes", 22);
	uint64_t fdt_gpa = arm64_fdt_gpa(RAM_SIZE);
	const uint8_t *k = fake.ram;
	void *s, *fdt;
	int chosen;

	(void)state;
	fake.kernel = kernel;
	fake.initrd = initrd;
	fake.cmdline = "console=ttyAMA0 rdinit=/init";
	assert_int_equal(init_plugin(&s), 0);
	place_arch_fdt();
	assert_int_equal(ops->load(s), 0);

	/* Kernel at the RAM base (text_offset 0), byte for byte. */
	assert_memory_equal(k + 0x38, "ARM\x64", 4);
	assert_int_equal(k[299999], (uint8_t)(299999 * 7));
	/* initrd at the first 2 MiB boundary after image_size (3 MiB). */
	assert_memory_equal(fake.ram + (4 << 20), "070701", 6);

	fdt = fake_guest_ptr(NULL, fdt_gpa, ARM64_FDT_MAX_SIZE);
	assert_int_equal(fdt_gpa, ARM64_RAM_BASE + RAM_SIZE - (2 << 20));
	assert_int_equal(fdt_check_full(fdt, fdt_totalsize(fdt)), 0);
	chosen = fdt_path_offset(fdt, "/chosen");
	assert_string_equal(fdt_getprop(fdt, chosen, "bootargs", NULL),
			    "console=ttyAMA0 rdinit=/init");
	assert_int_equal(prop_u64(fdt, chosen, "linux,initrd-start"),
			 ARM64_RAM_BASE + (4 << 20));
	assert_int_equal(prop_u64(fdt, chosen, "linux,initrd-end"),
			 ARM64_RAM_BASE + (4 << 20) + 22);
	/* What the arch wrote is still there. */
	assert_non_null(fdt_getprop(fdt, chosen, "stdout-path", NULL));
	assert_true(fdt_path_offset(fdt, "/cpus/cpu-map/socket0/cluster0/"
					 "core1") >= 0);
	fini_plugin(s);
	remove_temp(initrd);
	remove_temp(kernel);
}

static void test_load_without_a_tree_says_why(void **state)
{
	const struct modvm_boot_ops *ops = modvm_plugin_descriptor.ops;
	char *kernel = write_image(4096, 1 << 20);
	void *s;

	(void)state;
	fake.kernel = kernel;
	assert_int_equal(init_plugin(&s), 0);
	assert_int_equal(ops->load(s), -ENOENT);
	assert_non_null(strstr(fake.error, "no device tree at 0x40e00000"));
	fini_plugin(s);
	remove_temp(kernel);
}

/* [boot] dtb replaces the arch's tree; stale initrd props go. */
static void test_dtb_file_overrides(void **state)
{
	const struct modvm_boot_ops *ops = modvm_plugin_descriptor.ops;
	char *kernel = write_image(4096, 1 << 20);
	char buf[4096], *dtb;
	void *s, *fdt;
	int chosen;

	(void)state;
	assert_int_equal(fdt_create_empty_tree(buf, sizeof(buf)), 0);
	chosen = fdt_add_subnode(buf, 0, "chosen");
	assert_true(chosen >= 0);
	assert_int_equal(fdt_setprop_u64(buf, chosen, "linux,initrd-start", 1),
			 0);
	assert_int_equal(fdt_setprop_u64(buf, chosen, "linux,initrd-end", 2),
			 0);
	assert_int_equal(fdt_setprop_string(buf, 0, "model", "mine"), 0);
	assert_int_equal(fdt_pack(buf), 0);
	dtb = write_bytes("my.dtb", buf, fdt_totalsize(buf));

	fake.kernel = kernel;
	fake.dtb = dtb;
	assert_int_equal(init_plugin(&s), 0);
	place_arch_fdt();
	assert_int_equal(ops->load(s), 0);
	fdt = fake_guest_ptr(NULL, arm64_fdt_gpa(RAM_SIZE), ARM64_FDT_MAX_SIZE);
	assert_string_equal(fdt_getprop(fdt, 0, "model", NULL), "mine");
	chosen = fdt_path_offset(fdt, "/chosen");
	assert_null(fdt_getprop(fdt, chosen, "linux,initrd-start", NULL));
	assert_null(fdt_getprop(fdt, chosen, "bootargs", NULL));
	fini_plugin(s);
	remove_temp(dtb);
	remove_temp(kernel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_header),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_compressed_images_are_named),
		cmocka_unit_test(test_old_or_corrupt_headers),
		cmocka_unit_test_setup_teardown(test_descriptor, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_kernel_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_files_are_named, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_big_for_ram, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_dtb_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_load_places_kernel_initrd_and_chosen, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_load_without_a_tree_says_why, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dtb_file_overrides, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
