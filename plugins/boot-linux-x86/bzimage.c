/* SPDX-License-Identifier: MIT */
/*
 * Vet a kernel file against the Linux boot protocol before anything is
 * loaded, so `modvm --check` already says when [boot] kernel names an
 * uncompressed vmlinux, a 32-bit kernel or a truncated download. The
 * header fields are little-endian, like every host modvm runs on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bzimage.h"

#define SECTOR 512u
/* Boot protocol: "If setup_sects is 0, the real value is 4." */
#define DEFAULT_SETUP_SECTS 4u
#define HINT "give a bzImage such as arch/x86/boot/bzImage or /boot/vmlinuz-*"

static const uint8_t elf_magic[4] = { 0x7f, 'E', 'L', 'F' };

int bzimage_parse(struct bzimage *out, const uint8_t *buf, size_t len,
		  uint64_t file_size, char *why, size_t why_size)
{
	struct setup_header *h = &out->hdr;
	unsigned setup_sects;
	uint32_t magic = 0;
	size_t end;

	memset(out, 0, sizeof(*out));
	if (len > file_size)
		len = (size_t)file_size;
	if (file_size == 0) {
		snprintf(why, why_size, "is empty; %s", HINT);
		return -EINVAL;
	}
	if (len >= sizeof(elf_magic) &&
	    memcmp(buf, elf_magic, sizeof(elf_magic)) == 0) {
		snprintf(why, why_size,
			 "is an ELF file (an uncompressed vmlinux?), not a "
			 "bzImage; %s", HINT);
		return -EINVAL;
	}
	if (len >= BZIMAGE_MAGIC_OFFSET + 4)
		memcpy(&magic, buf + BZIMAGE_MAGIC_OFFSET, 4);
	if (magic != BZIMAGE_MAGIC) {
		snprintf(why, why_size,
			 "not a bzImage (no \"HdrS\" boot header at 0x202%s); %s",
			 len < BZIMAGE_MAGIC_OFFSET + 4 ? ", the file is shorter"
							: "",
			 HINT);
		return -EINVAL;
	}

	/*
	 * The header runs from 0x1f1 to 0x202 + the byte at 0x201 (the
	 * jump over it); fields past that end do not exist in this
	 * protocol version and stay zero.
	 */
	end = 0x202u + buf[0x201];
	if (end > BZIMAGE_PROBE_SIZE)
		end = BZIMAGE_PROBE_SIZE;
	if (end > len)
		end = len;
	out->hdr_len = end - BZIMAGE_HDR_OFFSET;
	memcpy(h, buf + BZIMAGE_HDR_OFFSET, out->hdr_len);

	if (h->boot_flag != BZIMAGE_BOOT_FLAG) {
		snprintf(why, why_size,
			 "not a bzImage (boot_flag at 0x1fe is 0x%04x, not "
			 "0xaa55); %s",
			 h->boot_flag, HINT);
		return -EINVAL;
	}
	if (h->version < BZIMAGE_MIN_VERSION) {
		snprintf(why, why_size,
			 "uses boot protocol %u.%02u; modvm starts the kernel "
			 "at its 64-bit entry point, which needs protocol 2.12 "
			 "or newer (Linux 3.8 or later)",
			 h->version >> 8, h->version & 0xffu);
		return -EINVAL;
	}
	/* Boot protocol 2.12, xloadflags: XLF_KERNEL_64. */
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		snprintf(why, why_size,
			 "has no 64-bit entry point (xloadflags lacks "
			 "XLF_KERNEL_64: a 32-bit kernel?); give an x86_64 "
			 "bzImage");
		return -EINVAL;
	}
	/* A zImage (loaded at 0x10000) is older than protocol 2.12. */
	if (!(h->loadflags & LOADED_HIGH)) {
		snprintf(why, why_size,
			 "is a zImage (loadflags lacks LOADED_HIGH); %s", HINT);
		return -EINVAL;
	}

	setup_sects = h->setup_sects ? h->setup_sects : DEFAULT_SETUP_SECTS;
	out->file_size = file_size;
	out->setup_size = (uint64_t)(setup_sects + 1) * SECTOR;
	/* syssize: the protected-mode code, in 16-byte paragraphs. */
	if (file_size < out->setup_size + (uint64_t)h->syssize * 16 ||
	    file_size <= out->setup_size) {
		snprintf(why, why_size,
			 "is truncated: %llu bytes, but its header says %llu "
			 "(setup %llu + kernel %llu)",
			 (unsigned long long)file_size,
			 (unsigned long long)(out->setup_size +
					      (uint64_t)h->syssize * 16),
			 (unsigned long long)out->setup_size,
			 (unsigned long long)h->syssize * 16);
		return -EINVAL;
	}
	out->kernel_size = file_size - out->setup_size;
	return 0;
}
