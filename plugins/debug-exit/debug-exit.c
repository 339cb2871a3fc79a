/* SPDX-License-Identifier: MIT */
/*
 * debug-exit: lets a test guest end the VM with a status of its choice.
 *
 * A write of value V to the port stops the VM with
 * MODVM_STOP_GUEST_STATUS and status V, so modvm exits with V & 0xff
 * (`mov al, 3; out 0x501, al` exits 3). Unlike QEMU's isa-debug-exit,
 * which exits (V << 1) | 1, every status including 0 is reachable.
 * Reads return 0. Keys: port (default 0x501), size (ports claimed from
 * port, default 1, at most 4).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <modvm/device.h>
#include <modvm/plugin.h>

#define DEFAULT_PORT 0x501

struct debug_exit {
	struct modvm_plugin *self;
	const struct modvm_host *host;
	uint64_t port;
	uint64_t size;
};

static int debug_exit_init(struct modvm_plugin *self,
			   const struct modvm_host *host, void **state_out)
{
	struct debug_exit *s = calloc(1, sizeof(*s));
	int ret = -EINVAL;

	if (!s)
		return -ENOMEM;
	s->self = self;
	s->host = host;
	s->port = DEFAULT_PORT;
	s->size = 1;
	if (host->get_u64(self, "port", &s->port) == -EINVAL ||
	    host->get_u64(self, "size", &s->size) == -EINVAL)
		goto out_free;
	if (s->size < 1 || s->size > 4) {
		host->config_error(self, "size", "must be 1 to 4 ports");
		goto out_free;
	}
	if (s->port + s->size > 0x10000) {
		host->config_error(self, "port",
				   "must leave room for %u ports below 0x10000",
				   (unsigned)s->size);
		goto out_free;
	}
	*state_out = s;
	return 0;

out_free:
	free(s);
	return ret;
}

static void debug_exit_fini(void *state)
{
	free(state);
}

static void debug_exit_read(void *opaque, uint64_t offset, void *data,
			    uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, len);
}

static void debug_exit_write(void *opaque, uint64_t offset, const void *data,
			     uint32_t len)
{
	const struct debug_exit *s = opaque;
	uint64_t v = 0;

	(void)offset;
	/* Guest byte order is little-endian on every host modvm runs. */
	memcpy(&v, data, len < sizeof(v) ? len : sizeof(v));
	s->host->vm_stop(s->self, MODVM_STOP_GUEST_STATUS, (int)(v & 0xff),
			 "guest wrote %#llx to the debug-exit port",
			 (unsigned long long)v);
}

static const struct modvm_io_ops debug_exit_io = {
	.read = debug_exit_read,
	.write = debug_exit_write,
};

static int debug_exit_realize(void *state)
{
	struct debug_exit *s = state;

	return s->host->bus_register(s->self, MODVM_BUS_PIO, s->port, s->size,
				     &debug_exit_io, s);
}

static const struct modvm_device_ops debug_exit_ops = {
	.size = sizeof(struct modvm_device_ops),
	.realize = debug_exit_realize,
};

static const struct modvm_key debug_exit_keys[] = {
	{ "port", MODVM_KEY_INT, "I/O port (default 0x501)" },
	{ "size", MODVM_KEY_INT, "ports claimed from port, 1-4 (default 1)" },
	{ NULL, 0, NULL },
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_DEVICE,
	.name = "debug-exit",
	.version = MODVM_PLUGIN_VERSION,
	.description = "a port write of V stops the VM with exit status V",
	.keys = debug_exit_keys,
	.init = debug_exit_init,
	.fini = debug_exit_fini,
	.ops = &debug_exit_ops,
};
