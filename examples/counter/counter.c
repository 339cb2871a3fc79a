/* SPDX-License-Identifier: MIT */
/*
 * guest-counter: an example third-party device plugin, built out of tree
 * against the installed SDK (see Makefile). It claims one I/O port; each
 * read returns how many times the guest has read it, a write sets the
 * count, and at the end the plugin logs how busy the guest was.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <modvm/device.h>
#include <modvm/host.h>
#include <modvm/plugin.h>

struct counter {
	struct modvm_plugin *self;
	const struct modvm_host *host;
	uint64_t port;
	uint32_t count;
	uint64_t writes;
};

static void counter_read(void *opaque, uint64_t offset, void *data,
			 uint32_t len)
{
	struct counter *c = opaque;
	uint32_t value = __atomic_add_fetch(&c->count, 1, __ATOMIC_RELAXED);

	(void)offset; /* the four ports are one register */
	memcpy(data, &value, len < sizeof(value) ? len : sizeof(value));
}

static void counter_write(void *opaque, uint64_t offset, const void *data,
			  uint32_t len)
{
	struct counter *c = opaque;
	uint32_t value = 0;

	(void)offset;
	memcpy(&value, data, len < sizeof(value) ? len : sizeof(value));
	__atomic_store_n(&c->count, value, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->writes, 1, __ATOMIC_RELAXED);
}

static const struct modvm_io_ops counter_io = {
	.read = counter_read,
	.write = counter_write,
};

static int counter_init(struct modvm_plugin *self,
			const struct modvm_host *host, void **state_out)
{
	struct counter *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->self = self;
	c->host = host;
	c->port = 0x510;
	if (host->get_u64(self, "port", &c->port) == -EINVAL)
		goto out_free;
	if (c->port > 0xfffc) {
		host->config_error(self, "port",
				   "must be an I/O port from 0 to 0xfffc");
		goto out_free;
	}
	*state_out = c;
	return 0;

out_free:
	free(c);
	return -EINVAL;
}

static int counter_realize(void *state)
{
	struct counter *c = state;

	return c->host->bus_register(c->self, MODVM_BUS_PIO, c->port, 4,
				     &counter_io, c);
}

static void counter_fini(void *state)
{
	struct counter *c = state;

	if (!c)
		return;
	c->host->log(c->self, MODVM_LOG_INFO,
		     "guest read the counter up to %u, wrote it %llu times",
		     c->count, (unsigned long long)c->writes);
	free(c);
}

static const struct modvm_device_ops counter_ops = {
	.size = sizeof(counter_ops),
	.realize = counter_realize,
};

static const struct modvm_key counter_keys[] = {
	{ "port", MODVM_KEY_INT, "I/O port of the counter (default 0x510)" },
	{ NULL, 0, NULL },
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_DEVICE,
	.name = "guest-counter",
	.version = "1.0",
	.description = "example: a port that counts the guest's reads",
	.keys = counter_keys,
	.init = counter_init,
	.fini = counter_fini,
	.ops = &counter_ops,
};
