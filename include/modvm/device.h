/* SPDX-License-Identifier: MIT */
/*
 * Ops of a device plugin (kind MODVM_PLUGIN_DEVICE). A device claims
 * port or MMIO ranges and interrupt lines through the host API.
 */
#ifndef MODVM_DEVICE_H
#define MODVM_DEVICE_H

#include <stdint.h>

struct modvm_device_ops {
	uint32_t size; /* sizeof(struct modvm_device_ops) the plugin built with */

	/* The VM exists: claim bus ranges (host->bus_register) and start
	 * any I/O thread. Undone by the plugin's fini. */
	int (*realize)(void *state);
	/* Return to power-on state (guest reset). May be NULL. */
	void (*reset)(void *state);
};

#endif /* MODVM_DEVICE_H */
