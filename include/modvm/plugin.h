/* SPDX-License-Identifier: MIT */
/*
 * The modvm plugin descriptor: the one symbol a plugin exports.
 *
 * A plugin is a shared object that exports MODVM_PLUGIN_SYMBOL, a const
 * struct modvm_plugin_desc. The core reads the ABI fields before anything
 * else, so they stay first and never change shape.
 */
#ifndef MODVM_PLUGIN_H
#define MODVM_PLUGIN_H

#include <stdint.h>

#include <modvm/host.h>

/*
 * ABI of the descriptor, the host table and the ops tables. The core
 * loads a plugin when its major equals the core's and its minor is not
 * newer. Minor bumps only append members at the end of a struct.
 */
#define MODVM_ABI_MAJOR 1
#define MODVM_ABI_MINOR 0

#define MODVM_PLUGIN_SYMBOL "modvm_plugin_descriptor"

enum modvm_plugin_kind {
	MODVM_PLUGIN_ARCH = 1,   /* ops: struct modvm_arch_ops (arch.h) */
	MODVM_PLUGIN_BOOT = 2,   /* ops: struct modvm_boot_ops (boot.h) */
	MODVM_PLUGIN_DEVICE = 3, /* ops: struct modvm_device_ops (device.h) */
	MODVM_PLUGIN_EXIT = 4,   /* ops: struct modvm_exit_ops (exit.h) */
};

/* Types of INI values, checked by the core before the plugin's init. */
enum modvm_key_type {
	MODVM_KEY_STRING = 1,
	MODVM_KEY_INT,  /* decimal or 0x hex, unsigned 64-bit */
	MODVM_KEY_SIZE, /* like INT, with an optional K, M, G or T suffix */
	MODVM_KEY_BOOL, /* true/false, yes/no, on/off, 1/0 */
	MODVM_KEY_PATH, /* relative paths resolve against the INI file's folder */
	MODVM_KEY_LIST, /* comma-separated; numbers may be ranges "0-3" */
};

/* One key a plugin accepts in its INI section. */
struct modvm_key {
	const char *name;
	enum modvm_key_type type;
	const char *help; /* one line, shown when a key is unknown or wrong */
};

struct modvm_plugin_desc {
	/* ABI 1.0: these three stay first in every future version. */
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t size; /* sizeof(struct modvm_plugin_desc) the plugin built with */

	uint32_t kind; /* enum modvm_plugin_kind */
	const char *name;        /* matches the file name without ".so" */
	const char *version;
	const char *description; /* one line */

	/* Keys of the plugin's INI section, terminated by { NULL }. May be NULL. */
	const struct modvm_key *keys;

	/*
	 * Called once, after the core has checked the section's keys.
	 * Store what you need from host and self in *state_out. Return 0 or
	 * a negative errno after reporting the reason with host->log() or
	 * host->config_error(). May be NULL.
	 */
	int (*init)(struct modvm_plugin *self, const struct modvm_host *host,
		    void **state_out);
	/* Undo init. Called in reverse load order, also after a failed
	 * launch; state is whatever init stored (maybe NULL). May be NULL. */
	void (*fini)(void *state);

	/* The kind's ops table; its first member is its own size. */
	const void *ops;
};

#define MODVM_PLUGIN_DESC_INIT \
	.abi_major = MODVM_ABI_MAJOR, .abi_minor = MODVM_ABI_MINOR, \
	.size = sizeof(struct modvm_plugin_desc)

/*
 * Defines the exported descriptor:
 *   MODVM_PLUGIN_EXPORT = { MODVM_PLUGIN_DESC_INIT, .kind = ..., ... };
 * Build plugins with -fvisibility=hidden so this is the only export.
 */
#define MODVM_PLUGIN_EXPORT \
	__attribute__((visibility("default"))) \
	const struct modvm_plugin_desc modvm_plugin_descriptor

/* Human-readable name of a kind ("arch", "boot", ...), or "unknown". */
static inline const char *modvm_plugin_kind_name(uint32_t kind)
{
	switch (kind) {
	case MODVM_PLUGIN_ARCH: return "arch";
	case MODVM_PLUGIN_BOOT: return "boot";
	case MODVM_PLUGIN_DEVICE: return "device";
	case MODVM_PLUGIN_EXIT: return "exit";
	}
	return "unknown";
}

#endif /* MODVM_PLUGIN_H */
