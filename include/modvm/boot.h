/* SPDX-License-Identifier: MIT */
/*
 * Ops of a boot-loader plugin (kind MODVM_PLUGIN_BOOT): it does what
 * firmware would, placing kernel, initrd and command line in guest RAM
 * and putting the boot vCPU at the kernel's entry point.
 */
#ifndef MODVM_BOOT_H
#define MODVM_BOOT_H

#include <stdint.h>

struct modvm_boot_ops {
	uint32_t size; /* sizeof(struct modvm_boot_ops) the plugin built with */

	/* Copy the images into guest RAM; runs after the arch described the
	 * machine. Files are checked in init, so --check catches them. */
	int (*load)(void *state);
	/* Set the boot vCPU's registers (after the arch's vcpu_setup). */
	int (*setup_boot_vcpu)(void *state, int vcpu_fd);
};

#endif /* MODVM_BOOT_H */
