/* SPDX-License-Identifier: MIT */
/*
 * The bzImage header (Linux boot protocol, Documentation/arch/x86/
 * boot.rst, "The Real-Mode Kernel Header"): what boot-linux-x86 checks
 * before it accepts a kernel file. Pure code: no I/O, no host table.
 */
#ifndef MODVM_BOOT_LINUX_X86_BZIMAGE_H
#define MODVM_BOOT_LINUX_X86_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

/* Where struct setup_header sits, in the file and in boot_params. */
#define BZIMAGE_HDR_OFFSET 0x1f1u
/* The "HdrS" magic (setup_header.header). */
#define BZIMAGE_MAGIC_OFFSET 0x202u
#define BZIMAGE_MAGIC 0x53726448u /* "HdrS" */
#define BZIMAGE_BOOT_FLAG 0xaa55u
/*
 * Oldest protocol modvm boots: 2.12 brought xloadflags, whose
 * XLF_KERNEL_64 promises the 64-bit entry point at load address +
 * 0x200 (boot protocol, "64-bit Boot Protocol").
 */
#define BZIMAGE_MIN_VERSION 0x020cu
/* Bytes from the start of the file bzimage_parse() reads. */
#define BZIMAGE_PROBE_SIZE (BZIMAGE_HDR_OFFSET + sizeof(struct setup_header))

/* A kernel file that passed the checks. */
struct bzimage {
	/* The setup header as in the file; bytes past its end are zero. */
	struct setup_header hdr;
	size_t hdr_len;        /* bytes of hdr the file defines */
	uint64_t file_size;
	uint64_t setup_size;   /* (setup_sects + 1) * 512: real-mode part */
	uint64_t kernel_size;  /* the rest: the protected-mode kernel */
};

/*
 * Check a kernel file from its first len bytes (at most
 * BZIMAGE_PROBE_SIZE are read) and its size. On success fills *out and
 * returns 0; otherwise returns -EINVAL and writes one line to why: what
 * is wrong and what to give instead.
 */
int bzimage_parse(struct bzimage *out, const uint8_t *buf, size_t len,
		  uint64_t file_size, char *why, size_t why_size);

#endif
