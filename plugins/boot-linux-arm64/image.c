/* SPDX-License-Identifier: MIT */
/*
 * Reading the arm64 Image header, and the /chosen node.
 *
 * Header (booting.rst), little-endian whatever the kernel's endianness:
 *   0x00 code0, code1 (u32 each)   0x08 text_offset   0x10 image_size
 *   0x18 flags                     0x20..0x37 reserved
 *   0x38 magic "ARM\x64"           0x3c reserved (PE header offset)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfdt.h>

#include "image.h"

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

int arm64_image_parse(const void *head, size_t len, uint64_t file_size,
		      struct arm64_image *out, char *why, size_t why_size)
{
	const uint8_t *h = head;

	if (file_size == 0) {
		snprintf(why, why_size, "is empty, not an arm64 Image");
		return -ENOEXEC;
	}
	if (len >= 2 && h[0] == 0x1f && h[1] == 0x8b) {
		snprintf(why, why_size,
			 "is gzip-compressed (some distributions ship vmlinuz so): give the "
			 "uncompressed Image, e.g. zcat FILE > Image");
		return -ENOEXEC;
	}
	if (len >= 8 && h[0] == 'M' && h[1] == 'Z' &&
	    memcmp(h + 4, "zimg", 4) == 0) {
		snprintf(why, why_size,
			 "is a compressed EFI zboot image: give the "
			 "uncompressed Image (arch/arm64/boot/Image)");
		return -ENOEXEC;
	}
	if (file_size < ARM64_IMAGE_HEADER_SIZE ||
	    len < ARM64_IMAGE_HEADER_SIZE) {
		snprintf(why, why_size,
			 "is %llu bytes, shorter than the %u-byte arm64 Image "
			 "header: truncated or not an Image",
			 (unsigned long long)file_size, ARM64_IMAGE_HEADER_SIZE);
		return -ENOEXEC;
	}
	if (get_le32(h + ARM64_IMAGE_MAGIC_OFFSET) != ARM64_IMAGE_MAGIC) {
		snprintf(why, why_size,
			 "is not an arm64 Linux Image: no \"ARM\\x64\" magic at "
			 "offset 0x38 (an x86 bzImage or a vmlinux ELF will "
			 "not do)");
		return -ENOEXEC;
	}
	out->text_offset = get_le64(h + 0x08);
	out->image_size = get_le64(h + 0x10);
	out->flags = get_le64(h + 0x18);
	out->file_size = file_size;
	if (out->image_size == 0) {
		snprintf(why, why_size,
			 "has image_size 0, the mark of a kernel older than "
			 "3.17: modvm boots Linux 3.17 or newer");
		return -ENOEXEC;
	}
	if (out->image_size < file_size) {
		snprintf(why, why_size,
			 "is %llu bytes but its header's image_size says "
			 "%llu: the Image is corrupt",
			 (unsigned long long)file_size,
			 (unsigned long long)out->image_size);
		return -ENOEXEC;
	}
	if (out->text_offset >= 0x200000 || out->text_offset % 4096) {
		snprintf(why, why_size,
			 "has text_offset 0x%llx, not a 4 KiB multiple below "
			 "2 MiB: the Image is corrupt",
			 (unsigned long long)out->text_offset);
		return -ENOEXEC;
	}
	return 0;
}

int arm64_image_read(const char *path, struct arm64_image *out, char *why,
		     size_t why_size)
{
	uint8_t head[ARM64_IMAGE_HEADER_SIZE];
	size_t got = 0;
	struct stat st;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	if (fstat(fd, &st) < 0)
		goto fail_close;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, why_size, "is not a regular file");
		return -EINVAL;
	}
	while (got < sizeof(head)) {
		ssize_t n = read(fd, head + got, sizeof(head) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail_close;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return arm64_image_parse(head, got, (uint64_t)st.st_size, out, why,
				 why_size);

fail_close:
	err = errno;
	close(fd);
	errno = err;
fail:
	err = errno;
	snprintf(why, why_size, "cannot be read: %s", strerror(err));
	return -err;
}

int arm64_chosen_update(void *fdt, size_t bufsize, const char *bootargs,
			uint64_t initrd_start, uint64_t initrd_size)
{
	int node, err;

	if (bufsize > INT32_MAX)
		return -FDT_ERR_NOSPACE;
	err = fdt_open_into(fdt, fdt, (int)bufsize);
	if (err)
		return err;
	node = fdt_path_offset(fdt, "/chosen");
	if (node == -FDT_ERR_NOTFOUND)
		node = fdt_add_subnode(fdt, 0, "chosen");
	if (node < 0)
		return node;
	if (bootargs) {
		err = fdt_setprop_string(fdt, node, "bootargs", bootargs);
		if (err)
			return err;
	}
	if (initrd_size) {
		err = fdt_setprop_u64(fdt, node, "linux,initrd-start",
				      initrd_start);
		if (!err)
			err = fdt_setprop_u64(fdt, node, "linux,initrd-end",
					      initrd_start + initrd_size);
	} else {
		err = fdt_delprop(fdt, node, "linux,initrd-start");
		if (!err || err == -FDT_ERR_NOTFOUND)
			err = fdt_delprop(fdt, node, "linux,initrd-end");
		if (err == -FDT_ERR_NOTFOUND)
			err = 0;
	}
	if (err)
		return err;
	return fdt_pack(fdt);
}
