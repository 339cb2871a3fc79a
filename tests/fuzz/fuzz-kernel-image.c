/* SPDX-License-Identifier: MIT */
/*
 * fuzz-kernel-image: the input is a kernel file. It goes through the
 * arm64 Image header check (arm64_image_parse) and, on x86_64 hosts,
 * the bzImage check (bzimage_parse) and the memory plan built on it
 * (boot_plan_kernel, boot_plan_initrd, the zero page and the e820
 * map), for a fixed set of guest RAM and initrd sizes.
 *
 * Each parser sees the file twice: as the loader reads it (its first
 * bytes, the file size) and with the size claimed larger than the
 * bytes given (a header read from the front of a big file). Checked:
 * a refusal says why; an accepted image keeps the promises its
 * header's checks make; a plan fits the RAM it was made for.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../plugins/boot-linux-arm64/image.h"
#if defined(__x86_64__)
#include "../../plugins/boot-linux-x86/bzimage.h"
#include "../../plugins/boot-linux-x86/layout.h"
#endif

#include "fuzz.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_stderr();
	return 0;
}

static void check_why(int ret, const char *why, const char *what)
{
	size_t len = strnlen(why, 256);

	FUZZ_CHECK(len < 256, "%s: why is not terminated", what);
	FUZZ_CHECK(ret != 0 || len == 0, "%s: accepted, but why says: %s",
		   what, why);
	FUZZ_CHECK(ret == 0 || len > 0, "%s: refused (%d) without a reason",
		   what, ret);
}

static void fuzz_arm64(const uint8_t *data, size_t len, uint64_t file_size)
{
	struct arm64_image img;
	char why[256] = "";
	int ret;

	memset(&img, 0xa5, sizeof(img));
	ret = arm64_image_parse(data, len, file_size, &img, why, sizeof(why));
	check_why(ret, why, "arm64_image_parse");
	FUZZ_CHECK(ret == 0 || ret == -ENOEXEC, "arm64_image_parse: %d", ret);
	if (ret)
		return;
	FUZZ_CHECK(len >= ARM64_IMAGE_HEADER_SIZE, "accepted %zu bytes", len);
	FUZZ_CHECK(img.file_size == file_size, "file_size %llu",
		   (unsigned long long)img.file_size);
	FUZZ_CHECK(img.image_size >= file_size, "image_size %llu < file %llu",
		   (unsigned long long)img.image_size,
		   (unsigned long long)file_size);
	FUZZ_CHECK(img.text_offset < 0x200000 && img.text_offset % 4096 == 0,
		   "text_offset %#llx", (unsigned long long)img.text_offset);
}

#if defined(__x86_64__)
static const uint64_t ram_sizes[] = {
	1 * MIB, 16 * MIB, 256 * MIB, 3 * GIB - 4096, 3 * GIB, 4 * GIB,
	64 * GIB,
};
static const uint64_t initrd_sizes[] = {
	0, 1, 4096, 16 * MIB + 1, 1 * GIB, 3 * GIB, UINT64_MAX,
};

static void check_plan(const struct bzimage *k, uint64_t ram)
{
	struct boot_layout l;
	struct boot_e820_entry e820[8];
	static struct boot_params bp;
	char why[256] = "";
	unsigned n;
	int ret;

	ret = boot_plan_kernel(&l, k, ram, why, sizeof(why));
	check_why(ret, why, "boot_plan_kernel");
	FUZZ_CHECK(ret == 0 || ret == -E2BIG, "boot_plan_kernel: %d", ret);
	if (ret)
		return;
	FUZZ_CHECK(l.ram_below_4g <= ram && l.ram_below_4g <= BOOT_RAM_GAP_START,
		   "ram_below_4g %#llx", (unsigned long long)l.ram_below_4g);
	FUZZ_CHECK(l.kernel_end >= BOOT_KERNEL_ADDR + k->kernel_size &&
			   l.kernel_end <= l.ram_below_4g,
		   "kernel_end %#llx, kernel %llu bytes, RAM below 4G %#llx",
		   (unsigned long long)l.kernel_end,
		   (unsigned long long)k->kernel_size,
		   (unsigned long long)l.ram_below_4g);
	for (size_t i = 0; i < sizeof(initrd_sizes) / sizeof(initrd_sizes[0]);
	     i++) {
		uint64_t size = initrd_sizes[i];
		uint64_t top = (uint64_t)k->hdr.initrd_addr_max + 1;

		why[0] = '\0';
		ret = boot_plan_initrd(&l, k, size, why, sizeof(why));
		check_why(ret, why, "boot_plan_initrd");
		FUZZ_CHECK(ret == 0 || ret == -E2BIG, "boot_plan_initrd: %d",
			   ret);
		if (ret)
			continue;
		FUZZ_CHECK(l.initrd_size == size, "initrd_size");
		if (!size) {
			FUZZ_CHECK(!l.initrd_addr, "initrd_addr for no initrd");
			continue;
		}
		FUZZ_CHECK(l.initrd_addr % 4096 == 0 &&
				   l.initrd_addr >= l.kernel_end &&
				   l.initrd_addr + size <= l.ram_below_4g &&
				   l.initrd_addr + size <= top,
			   "initrd [%#llx, +%#llx) kernel_end %#llx RAM %#llx "
			   "initrd_addr_max %#x",
			   (unsigned long long)l.initrd_addr,
			   (unsigned long long)size,
			   (unsigned long long)l.kernel_end,
			   (unsigned long long)l.ram_below_4g,
			   k->hdr.initrd_addr_max);
		boot_params_build(&bp, k, &l);
		FUZZ_CHECK(bp.hdr.ramdisk_image == (uint32_t)l.initrd_addr,
			   "zero page ramdisk_image");
	}
	n = boot_e820_build(e820, 8, ram);
	FUZZ_CHECK(n >= 1 && n <= 8, "%u e820 entries", n);
	for (unsigned i = 0; i < n; i++) {
		FUZZ_CHECK(e820[i].size > 0, "empty e820 entry %u", i);
		FUZZ_CHECK(i == 0 || e820[i].addr >= e820[i - 1].addr +
							     e820[i - 1].size,
			   "e820 entry %u overlaps the one before", i);
	}
}

static void fuzz_bzimage(const uint8_t *data, size_t len,
			 uint64_t file_size, bool plan)
{
	struct bzimage k;
	char why[256] = "";
	int ret;

	ret = bzimage_parse(&k, data, len, file_size, why, sizeof(why));
	check_why(ret, why, "bzimage_parse");
	FUZZ_CHECK(ret == 0 || ret == -EINVAL, "bzimage_parse: %d", ret);
	if (ret)
		return;
	FUZZ_CHECK(k.hdr.boot_flag == BZIMAGE_BOOT_FLAG, "boot_flag %#x",
		   k.hdr.boot_flag);
	FUZZ_CHECK(k.hdr.header == BZIMAGE_MAGIC, "magic %#x", k.hdr.header);
	FUZZ_CHECK(k.hdr.version >= BZIMAGE_MIN_VERSION, "version %#x",
		   k.hdr.version);
	FUZZ_CHECK(k.hdr_len <= sizeof(k.hdr) &&
			   BZIMAGE_HDR_OFFSET + k.hdr_len <= len,
		   "hdr_len %zu of %zu bytes", k.hdr_len, len);
	FUZZ_CHECK(k.file_size == file_size &&
			   k.setup_size + k.kernel_size == file_size &&
			   k.kernel_size > 0 &&
			   k.kernel_size >= (uint64_t)k.hdr.syssize * 16,
		   "sizes: file %llu setup %llu kernel %llu syssize %u",
		   (unsigned long long)file_size,
		   (unsigned long long)k.setup_size,
		   (unsigned long long)k.kernel_size, k.hdr.syssize);
	/* Fields past the header's end must read as zero. */
	for (size_t i = k.hdr_len; i < sizeof(k.hdr); i++)
		FUZZ_CHECK(((const uint8_t *)&k.hdr)[i] == 0,
			   "byte %zu of the setup header past its end", i);
	if (!plan)
		return;
	for (size_t i = 0; i < sizeof(ram_sizes) / sizeof(ram_sizes[0]); i++)
		check_plan(&k, ram_sizes[i]);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Claimed sizes: as given, and the bytes as the front of a bigger
	 * file. */
	const uint64_t sizes[] = { size, (uint64_t)size + 64 * MIB };

	for (size_t i = 0; i < 2; i++) {
		size_t head = size < ARM64_IMAGE_HEADER_SIZE
				      ? size
				      : ARM64_IMAGE_HEADER_SIZE;

		fuzz_arm64(data, head, sizes[i]);
		fuzz_arm64(data, size, sizes[i]);
#if defined(__x86_64__)
		head = size < BZIMAGE_PROBE_SIZE ? size : BZIMAGE_PROBE_SIZE;
		fuzz_bzimage(data, head, sizes[i], true);
		fuzz_bzimage(data, size, sizes[i], false);
#endif
	}
	return 0;
}
