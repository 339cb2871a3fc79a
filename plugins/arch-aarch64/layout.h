/* SPDX-License-Identifier: MIT */
/*
 * The arm64 machine's guest-physical layout: the contract between
 * arch-aarch64 (which builds the device tree and places it) and the
 * boot loaders that run after it (boot-linux-arm64 finds the DTB here,
 * adds /chosen and hands its address to the kernel in x0).
 *
 *   0x08000000  GICv3 distributor        64 KiB
 *   0x09000000  PL011 UART               4 KiB, SPI 1
 *   0x0a000000  free for device plugins  up to 0x0c000000
 *   0x0c000000  GICv3 redistributors     128 KiB per possible vCPU
 *   0x40000000  RAM ([machine] memory), no gap
 *               the device tree: the last 2 MiB-aligned 2 MiB of RAM
 *
 * Header-only and free of libfdt, so either plugin can include it.
 */
#ifndef MODVM_ARM64_LAYOUT_H
#define MODVM_ARM64_LAYOUT_H

#include <stdint.h>

#define ARM64_RAM_BASE UINT64_C(0x40000000)

#define ARM64_GICD_BASE UINT64_C(0x08000000)
#define ARM64_GICD_SIZE UINT64_C(0x10000)
/* One redistributor: RD_base and SGI_base frames, 64 KiB each. */
#define ARM64_GICR_BASE UINT64_C(0x0c000000)
#define ARM64_GICR_STRIDE UINT64_C(0x20000)
/* Interrupt lines the distributor implements (32 private + 256 SPIs). */
#define ARM64_GIC_NR_IRQS 288u

#define ARM64_UART_BASE UINT64_C(0x09000000)
#define ARM64_UART_SIZE UINT64_C(0x1000)
#define ARM64_UART_SPI 1u
#define ARM64_UART_CLOCK_HZ 24000000u

/* The arch's largest maxcpus: the redistributors end at 0x10000000. */
#define ARM64_MAX_CPUS 512u

/* Linux booting.rst: the DTB is 8-byte aligned and at most 2 MiB. */
#define ARM64_FDT_MAX_SIZE UINT64_C(0x200000)
#define ARM64_ALIGN_2M UINT64_C(0x200000)

/*
 * Where the device tree sits for RAM of ram_size bytes at
 * ARM64_RAM_BASE: its own 2 MiB block at the top of RAM, so nothing a
 * boot loader places from the bottom collides with it. RAM must be at
 * least 4 MiB (0 is returned otherwise).
 */
static inline uint64_t arm64_fdt_gpa(uint64_t ram_size)
{
	uint64_t top = ARM64_RAM_BASE + ram_size;

	if (ram_size < 2 * ARM64_FDT_MAX_SIZE)
		return 0;
	return (top & ~(ARM64_ALIGN_2M - 1)) - ARM64_FDT_MAX_SIZE;
}

#endif /* MODVM_ARM64_LAYOUT_H */
