/* SPDX-License-Identifier: MIT */
/*
 * exit-io: routes KVM_EXIT_IO (port I/O, including string I/O such as
 * `rep outsb` with count > 1) and KVM_EXIT_MMIO to the device that
 * claims the address, through the core's buses. An unclaimed address
 * is not an error: the core counts it and reads see all ones.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <linux/kvm.h>

#include <modvm/exit.h>
#include <modvm/plugin.h>

struct exit_io {
	struct modvm_plugin *self;
	const struct modvm_host *host;
};

static int io_init(struct modvm_plugin *self, const struct modvm_host *host,
		   void **state_out)
{
	struct exit_io *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->self = self;
	s->host = host;
	*state_out = s;
	return 0;
}

static void io_fini(void *state)
{
	free(state);
}

static enum modvm_exit_action io_handle(void *state,
					struct modvm_exit_ctx *ctx)
{
	const struct exit_io *s = state;
	struct kvm_run *run = ctx->run;

	if (run->exit_reason == KVM_EXIT_IO) {
		/* KVM puts count items of size bytes at data_offset, all for
		 * the same port; for IN we fill them and KVM copies them to
		 * the guest on the next KVM_RUN. */
		uint8_t *data = (uint8_t *)run + run->io.data_offset;
		bool out = run->io.direction == KVM_EXIT_IO_OUT;

		for (uint32_t i = 0; i < run->io.count; i++)
			s->host->bus_access(s->self, MODVM_BUS_PIO, run->io.port,
					    data + (size_t)i * run->io.size,
					    run->io.size, out);
		return MODVM_EXIT_CONTINUE;
	}
	s->host->bus_access(s->self, MODVM_BUS_MMIO, run->mmio.phys_addr,
			    run->mmio.data, run->mmio.len,
			    run->mmio.is_write);
	return MODVM_EXIT_CONTINUE;
}

static const uint32_t io_reasons[] = { KVM_EXIT_IO, KVM_EXIT_MMIO };

static const struct modvm_exit_ops io_ops = {
	.size = sizeof(struct modvm_exit_ops),
	.reasons = io_reasons,
	.n_reasons = sizeof(io_reasons) / sizeof(io_reasons[0]),
	.handle = io_handle,
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_EXIT,
	.name = "exit-io",
	.version = MODVM_PLUGIN_VERSION,
	.description = "port I/O and MMIO exits to the devices on the buses",
	.init = io_init,
	.fini = io_fini,
	.ops = &io_ops,
};
