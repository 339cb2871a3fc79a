/* SPDX-License-Identifier: MIT */
/*
 * pvpanic: a one-byte I/O port through which a guest kernel says it
 * panicked, so the VM ends with a failure instead of looking like an
 * ordinary reboot (a panicking Linux with panic=-1 resets the machine
 * the same way `reboot` does).
 *
 * The register follows the pvpanic interface Linux's pvpanic-mmio
 * driver speaks (ACPI _HID QEMU0001; arch-x86_64's DSDT names it at
 * port 0x505): a read returns the events the device reports, a write
 * raises events. Bit 0 is "guest panicked", bit 1 "crash kernel
 * loaded" (the guest will kexec a kdump kernel rather than reset).
 *
 * Keys: port (default 0x505), on-panic = stop (default: the VM stops and
 * modvm exits 1 naming the panic) or log (say so and let the guest go on,
 * e.g. to reboot or run its kdump kernel).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <modvm/device.h>
#include <modvm/plugin.h>

#define DEFAULT_PORT 0x505
#define EV_PANICKED 0x1u
#define EV_CRASH_LOADED 0x2u
#define EV_SUPPORTED (EV_PANICKED | EV_CRASH_LOADED)

struct pvpanic {
	struct modvm_plugin *self;
	const struct modvm_host *host;
	uint64_t port;
	bool stop_on_panic;
	/* Events already logged: each is said once, whichever vCPU raises it. */
	atomic_uint seen;
};

static int pvpanic_init(struct modvm_plugin *self,
			const struct modvm_host *host, void **state_out)
{
	struct pvpanic *s = calloc(1, sizeof(*s));
	const char *on_panic = "stop";
	int ret = -EINVAL;

	if (!s)
		return -ENOMEM;
	s->self = self;
	s->host = host;
	s->port = DEFAULT_PORT;
	atomic_init(&s->seen, 0);
	if (host->get_u64(self, "port", &s->port) == -EINVAL ||
	    host->get_string(self, "on-panic", &on_panic) == -EINVAL)
		goto out_free;
	if (s->port > 0xffff) {
		host->config_error(self, "port", "must be an I/O port, 0 to 0xffff");
		goto out_free;
	}
	if (strcmp(on_panic, "stop") == 0) {
		s->stop_on_panic = true;
	} else if (strcmp(on_panic, "log") != 0) {
		host->config_error(self, "on-panic", "must be stop or log");
		goto out_free;
	}
	*state_out = s;
	return 0;

out_free:
	free(s);
	return ret;
}

static void pvpanic_fini(void *state)
{
	free(state);
}

static void pvpanic_read(void *opaque, uint64_t offset, void *data,
			 uint32_t len)
{
	(void)opaque;
	(void)offset;
	/* The driver ANDs this with what it knows: report both events. */
	memset(data, 0, len);
	*(uint8_t *)data = EV_SUPPORTED;
}

static void pvpanic_write(void *opaque, uint64_t offset, const void *data,
			  uint32_t len)
{
	struct pvpanic *s = opaque;
	unsigned ev = *(const uint8_t *)data & EV_SUPPORTED;
	unsigned fresh = ev & ~atomic_fetch_or(&s->seen, ev);

	(void)offset;
	(void)len;
	if (fresh & EV_CRASH_LOADED)
		s->host->log(s->self, MODVM_LOG_INFO,
			     "guest kernel crashed; it is starting its crash "
			     "(kdump) kernel");
	if (!(ev & EV_PANICKED))
		return;
	if (s->stop_on_panic) {
		s->host->vm_stop(s->self, MODVM_STOP_ERROR, 1,
				 "guest kernel panicked (see its console "
				 "output above)");
	} else if (fresh & EV_PANICKED) {
		s->host->log(s->self, MODVM_LOG_WARN,
			     "guest kernel panicked; VM left running "
			     "(on-panic = log)");
	}
}

static const struct modvm_io_ops pvpanic_io = {
	.read = pvpanic_read,
	.write = pvpanic_write,
};

static int pvpanic_realize(void *state)
{
	struct pvpanic *s = state;

	return s->host->bus_register(s->self, MODVM_BUS_PIO, s->port, 1,
				     &pvpanic_io, s);
}

static const struct modvm_device_ops pvpanic_ops = {
	.size = sizeof(struct modvm_device_ops),
	.realize = pvpanic_realize,
};

static const struct modvm_key pvpanic_keys[] = {
	{ "port", MODVM_KEY_INT, "I/O port (default 0x505, where arch-x86_64's "
				 "DSDT describes it)" },
	{ "on-panic", MODVM_KEY_STRING, "stop (default; modvm exits 1) or log" },
	{ NULL, 0, NULL },
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_DEVICE,
	.name = "pvpanic",
	.version = MODVM_PLUGIN_VERSION,
	.description = "the guest kernel reports a panic; the VM stops with a failure",
	.keys = pvpanic_keys,
	.init = pvpanic_init,
	.fini = pvpanic_fini,
	.ops = &pvpanic_ops,
};
