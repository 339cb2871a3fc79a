/* SPDX-License-Identifier: MIT */
/*
 * The arm64 Linux Image header (Linux Documentation/arch/arm64/
 * booting.rst, "Call the kernel image") and the /chosen node the boot
 * loader adds to the device tree. Portable, unit-tested on any host.
 */
#ifndef MODVM_BOOT_ARM64_IMAGE_H
#define MODVM_BOOT_ARM64_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define ARM64_IMAGE_HEADER_SIZE 64u
#define ARM64_IMAGE_MAGIC_OFFSET 0x38u
#define ARM64_IMAGE_MAGIC 0x644d5241u /* "ARM\x64", little-endian */

/* flags: bit 0 big-endian kernel, bits 1-2 page size, bit 3 placement */
#define ARM64_IMAGE_FLAG_BE (1ull << 0)
#define ARM64_IMAGE_FLAG_ANYWHERE (1ull << 3)

struct arm64_image {
	uint64_t text_offset; /* from a 2 MiB-aligned base */
	uint64_t image_size;  /* bytes the kernel occupies, bss included */
	uint64_t flags;
	uint64_t file_size;
};

/*
 * Check the header of a file of file_size bytes whose first len bytes
 * (at most 64 needed) are in head. Returns 0 and fills *out, or
 * -ENOEXEC and writes why into why: a sentence that follows the file
 * name ("is empty", "is gzip-compressed ...").
 */
int arm64_image_parse(const void *head, size_t len, uint64_t file_size,
		      struct arm64_image *out, char *why, size_t why_size);

/* The same on a file: -errno when it cannot be read (why says so). */
int arm64_image_read(const char *path, struct arm64_image *out, char *why,
		     size_t why_size);

/*
 * Add to the device tree blob fdt, in a buffer of bufsize bytes, a
 * /chosen bootargs (when bootargs is not NULL) and linux,initrd-start/
 * -end (when initrd_size > 0; stale ones are removed otherwise), then
 * pack it. Returns 0, or a negative libfdt error (fdt_strerror()).
 */
int arm64_chosen_update(void *fdt, size_t bufsize, const char *bootargs,
			uint64_t initrd_start, uint64_t initrd_size);

#endif /* MODVM_BOOT_ARM64_IMAGE_H */
