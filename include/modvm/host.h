/* SPDX-License-Identifier: MIT */
/*
 * The host API table: everything a plugin may ask of the core.
 *
 * The core hands one const struct modvm_host to every plugin's init.
 * The table is append-only: a member, once released, keeps its offset
 * and meaning. A plugin that uses a member added after ABI 1.0 checks
 * MODVM_HOST_HAS() first, so it still loads into an older core.
 */
#ifndef MODVM_HOST_H
#define MODVM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One loaded plugin instance; owned by the core, opaque to plugins. */
struct modvm_plugin;
struct modvm_topology;

enum modvm_log_level {
	MODVM_LOG_ERROR = 0,
	MODVM_LOG_WARN = 1,
	MODVM_LOG_INFO = 2,
	MODVM_LOG_DEBUG = 3,
};

enum modvm_bus_space {
	MODVM_BUS_PIO = 0,  /* x86 port I/O, 16-bit addresses */
	MODVM_BUS_MMIO = 1, /* guest-physical memory-mapped I/O */
};

/*
 * A device's handlers for one claimed range. offset is relative to the
 * range's base; data is len (1, 2, 4 or 8) bytes, guest byte order.
 * Called from vCPU threads: a device shared by vCPUs locks itself.
 */
struct modvm_io_ops {
	void (*read)(void *opaque, uint64_t offset, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const void *data,
		      uint32_t len);
};

/* Why the VM stopped; decides modvm's exit status (see modvm(1)). */
enum modvm_stop_reason {
	MODVM_STOP_POWEROFF = 0, /* guest powered off: exit status 0 */
	MODVM_STOP_RESET,        /* guest asked for a reset */
	MODVM_STOP_GUEST_STATUS, /* guest asked to stop with a status */
	MODVM_STOP_ERROR,        /* guest or VMM failure: exit status 1 */
	MODVM_STOP_SIGNAL,       /* SIGTERM/SIGINT */
};

#define MODVM_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

struct modvm_host {
	uint32_t size; /* sizeof(struct modvm_host) as the core built it */
	uint16_t abi_major;
	uint16_t abi_minor;

	/* ---- ABI 1.0 ---- */

	/* Log a line prefixed with the plugin's name. */
	void (*log)(struct modvm_plugin *self, enum modvm_log_level level,
		    const char *fmt, ...) MODVM_PRINTF(3, 4);

	/*
	 * Report a problem with one of the plugin's own keys. The core
	 * prefixes "FILE:LINE: [section] key = value: " (or the section
	 * when the key is absent), so the message says only what is wrong
	 * and how to fix it.
	 */
	void (*config_error)(struct modvm_plugin *self, const char *key,
			     const char *fmt, ...) MODVM_PRINTF(3, 4);

	/*
	 * Typed values of the plugin's own INI section. Each returns 0 and
	 * fills *out, -ENOENT when the key is not set (*out untouched), or
	 * -EINVAL after reporting a malformed value. Strings stay owned by
	 * the core until the plugin's fini; get_path returns a malloc'ed
	 * absolute path the caller frees.
	 */
	int (*get_string)(struct modvm_plugin *self, const char *key,
			  const char **out);
	int (*get_u64)(struct modvm_plugin *self, const char *key,
		       uint64_t *out);
	int (*get_bool)(struct modvm_plugin *self, const char *key,
			bool *out);
	int (*get_path)(struct modvm_plugin *self, const char *key, char **out);

	/* The validated CPU topology of this VM. */
	const struct modvm_topology *(*topology)(struct modvm_plugin *self);

	/*
	 * Guest RAM. guest_ptr returns the host address of [gpa, gpa+len)
	 * or NULL when that range is not entirely RAM. Valid from the
	 * device/arch/boot realize step until fini.
	 */
	void *(*guest_ptr)(struct modvm_plugin *self, uint64_t gpa,
			   uint64_t len);
	uint64_t (*guest_ram_size)(struct modvm_plugin *self);

	/* The KVM VM fd, or -1 when the core runs without KVM (--check). */
	int (*vm_fd)(struct modvm_plugin *self);

	/*
	 * Claim [base, base+len) on a bus. Overlaps with another claim are
	 * refused (-EBUSY) after naming both owners. Call from realize.
	 */
	int (*bus_register)(struct modvm_plugin *self,
			    enum modvm_bus_space space, uint64_t base,
			    uint64_t len, const struct modvm_io_ops *ops,
			    void *opaque);
	/*
	 * Route one guest access to the device that claims addr. Returns
	 * 0, or -ENOENT for an unclaimed address (reads then see all ones;
	 * the core counts and logs it once per address).
	 */
	int (*bus_access)(struct modvm_plugin *self, enum modvm_bus_space space,
			  uint64_t addr, void *data, uint32_t len,
			  bool is_write);

	/* Drive a guest interrupt line (GSI) high (1) or low (0). */
	int (*irq_line)(struct modvm_plugin *self, uint32_t gsi, int level);

	/*
	 * Ask the VM to stop: every vCPU leaves KVM_RUN and modvm exits
	 * with the status its reason implies (status is used with
	 * MODVM_STOP_GUEST_STATUS). The first request wins. Thread-safe.
	 */
	void (*vm_stop)(struct modvm_plugin *self,
			enum modvm_stop_reason reason, int status,
			const char *fmt, ...) MODVM_PRINTF(4, 5);
};

/* True when the core's table is new enough to contain member. */
#define MODVM_HOST_HAS(host, member) \
	((host)->size >= offsetof(struct modvm_host, member) + \
				 sizeof((host)->member))

#endif /* MODVM_HOST_H */
