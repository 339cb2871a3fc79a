/* SPDX-License-Identifier: MIT */
/*
 * exit-halt: KVM_EXIT_HLT.
 *
 * With an in-kernel interrupt controller (what arch-x86_64 creates) KVM
 * keeps a halted vCPU in the kernel until an interrupt wakes it, and
 * this exit never comes. Without one, nothing in modvm could ever wake
 * the vCPU, so waiting would hang the VM forever: the VM stops instead,
 * as a power-off (exit status 0), which is also what a bare-metal test
 * program ending in `hlt` means.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include <linux/kvm.h>

#include <modvm/exit.h>
#include <modvm/plugin.h>

static enum modvm_exit_action halt_handle(void *state,
					  struct modvm_exit_ctx *ctx)
{
	(void)state;
	ctx->stop_reason = MODVM_STOP_POWEROFF;
	ctx->status = 0;
	snprintf(ctx->message, sizeof(ctx->message),
		 "vcpu %" PRIu32 " halted (KVM_EXIT_HLT) with no interrupt "
		 "controller to wake it; stopping",
		 ctx->index);
	return MODVM_EXIT_STOP;
}

static const uint32_t halt_reasons[] = { KVM_EXIT_HLT };

static const struct modvm_exit_ops halt_ops = {
	.size = sizeof(struct modvm_exit_ops),
	.reasons = halt_reasons,
	.n_reasons = 1,
	.handle = halt_handle,
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_EXIT,
	.name = "exit-halt",
	.version = MODVM_PLUGIN_VERSION,
	.description = "HLT without an in-kernel irqchip stops the VM",
	.ops = &halt_ops,
};
