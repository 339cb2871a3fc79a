/* SPDX-License-Identifier: MIT */
/*
 * exit-shutdown: the guest ends itself.
 *
 * KVM_EXIT_SHUTDOWN is a triple fault (x86: an exception while
 * delivering a double fault). Real hardware resets; a hypervisor that
 * resets hides crashes in an endless reboot loop, so by default the VM
 * stops as failed (modvm exits 1) with "guest triple fault
 * (KVM_EXIT_SHUTDOWN) on vcpu N". Guests that triple-fault on purpose to
 * reboot (Linux reboot=t) want `triple-fault = reset`.
 *
 * KVM_EXIT_SYSTEM_EVENT: SHUTDOWN powers off (status 0), RESET resets
 * (see [machine] on-reset), CRASH and anything else stop as failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include <modvm/exit.h>
#include <modvm/plugin.h>

struct exit_shutdown {
	bool triple_fault_resets;
};

static int shutdown_init(struct modvm_plugin *self,
			 const struct modvm_host *host, void **state_out)
{
	struct exit_shutdown *s;
	const char *v = "error";

	host->get_string(self, "triple-fault", &v);
	if (strcmp(v, "error") != 0 && strcmp(v, "reset") != 0) {
		host->config_error(self, "triple-fault",
				   "must be error (stop, exit status 1) or "
				   "reset");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->triple_fault_resets = strcmp(v, "reset") == 0;
	*state_out = s;
	return 0;
}

static void shutdown_fini(void *state)
{
	free(state);
}

static enum modvm_exit_action stop(struct modvm_exit_ctx *ctx,
				   enum modvm_exit_action action,
				   enum modvm_stop_reason reason,
				   const char *what)
{
	ctx->stop_reason = reason;
	ctx->status = reason == MODVM_STOP_ERROR ? 1 : 0;
	snprintf(ctx->message, sizeof(ctx->message), "%s on vcpu %" PRIu32,
		 what, ctx->index);
	return action;
}

static enum modvm_exit_action system_event(struct modvm_exit_ctx *ctx)
{
	char what[96];

	switch (ctx->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		return stop(ctx, MODVM_EXIT_STOP, MODVM_STOP_POWEROFF,
			    "guest powered off (KVM_SYSTEM_EVENT_SHUTDOWN)");
	case KVM_SYSTEM_EVENT_RESET:
		return stop(ctx, MODVM_EXIT_RESET, MODVM_STOP_RESET,
			    "guest reset (KVM_SYSTEM_EVENT_RESET)");
	case KVM_SYSTEM_EVENT_CRASH:
		return stop(ctx, MODVM_EXIT_ERROR, MODVM_STOP_ERROR,
			    "guest crashed (KVM_SYSTEM_EVENT_CRASH)");
	}
	snprintf(what, sizeof(what),
		 "unhandled KVM_EXIT_SYSTEM_EVENT type %" PRIu32,
		 ctx->run->system_event.type);
	return stop(ctx, MODVM_EXIT_ERROR, MODVM_STOP_ERROR, what);
}

static enum modvm_exit_action shutdown_handle(void *state,
					      struct modvm_exit_ctx *ctx)
{
	const struct exit_shutdown *s = state;

	if (ctx->run->exit_reason == KVM_EXIT_SYSTEM_EVENT)
		return system_event(ctx);
	if (s->triple_fault_resets)
		return stop(ctx, MODVM_EXIT_RESET, MODVM_STOP_RESET,
			    "guest triple fault (KVM_EXIT_SHUTDOWN)");
	return stop(ctx, MODVM_EXIT_ERROR, MODVM_STOP_ERROR,
		    "guest triple fault (KVM_EXIT_SHUTDOWN)");
}

static const uint32_t shutdown_reasons[] = { KVM_EXIT_SHUTDOWN,
					     KVM_EXIT_SYSTEM_EVENT };

static const struct modvm_exit_ops shutdown_ops = {
	.size = sizeof(struct modvm_exit_ops),
	.reasons = shutdown_reasons,
	.n_reasons = sizeof(shutdown_reasons) / sizeof(shutdown_reasons[0]),
	.handle = shutdown_handle,
};

static const struct modvm_key shutdown_keys[] = {
	{ "triple-fault", MODVM_KEY_STRING,
	  "error (default: stop, exit status 1) or reset" },
	{ NULL, 0, NULL },
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_EXIT,
	.name = "exit-shutdown",
	.version = MODVM_PLUGIN_VERSION,
	.description = "triple fault and system events: power off, reset, "
		       "crash",
	.keys = shutdown_keys,
	.init = shutdown_init,
	.fini = shutdown_fini,
	.ops = &shutdown_ops,
};
