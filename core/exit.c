/* SPDX-License-Identifier: MIT */
/*
 * Exit dispatch: an array indexed by KVM exit reason. One load and one
 * indirect call per exit; the table never changes while vCPUs run.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <linux/kvm.h>

#include "exit.h"
#include "log.h"
#include "plugin.h"

#define NAME(r) [r] = #r
static const char *const reason_names[EXIT_REASONS] = {
	NAME(KVM_EXIT_UNKNOWN),        NAME(KVM_EXIT_EXCEPTION),
	NAME(KVM_EXIT_IO),             NAME(KVM_EXIT_HYPERCALL),
	NAME(KVM_EXIT_DEBUG),          NAME(KVM_EXIT_HLT),
	NAME(KVM_EXIT_MMIO),           NAME(KVM_EXIT_IRQ_WINDOW_OPEN),
	NAME(KVM_EXIT_SHUTDOWN),       NAME(KVM_EXIT_FAIL_ENTRY),
	NAME(KVM_EXIT_INTR),           NAME(KVM_EXIT_SET_TPR),
	NAME(KVM_EXIT_TPR_ACCESS),     NAME(KVM_EXIT_S390_SIEIC),
	NAME(KVM_EXIT_S390_RESET),     NAME(KVM_EXIT_DCR),
	NAME(KVM_EXIT_NMI),            NAME(KVM_EXIT_INTERNAL_ERROR),
	NAME(KVM_EXIT_OSI),            NAME(KVM_EXIT_PAPR_HCALL),
	NAME(KVM_EXIT_S390_UCONTROL),  NAME(KVM_EXIT_WATCHDOG),
	NAME(KVM_EXIT_S390_TSCH),      NAME(KVM_EXIT_EPR),
	NAME(KVM_EXIT_SYSTEM_EVENT),   NAME(KVM_EXIT_S390_STSI),
	NAME(KVM_EXIT_IOAPIC_EOI),     NAME(KVM_EXIT_HYPERV),
	NAME(KVM_EXIT_ARM_NISV),       NAME(KVM_EXIT_X86_RDMSR),
	NAME(KVM_EXIT_X86_WRMSR),      NAME(KVM_EXIT_DIRTY_RING_FULL),
	NAME(KVM_EXIT_AP_RESET_HOLD),  NAME(KVM_EXIT_X86_BUS_LOCK),
	NAME(KVM_EXIT_XEN),            NAME(KVM_EXIT_RISCV_SBI),
	NAME(KVM_EXIT_RISCV_CSR),      NAME(KVM_EXIT_NOTIFY),
};
#undef NAME

const char *exit_reason_name(uint32_t reason)
{
	if (reason < EXIT_REASONS && reason_names[reason])
		return reason_names[reason];
	return "an exit reason this modvm does not know";
}

/* Reasons the core handles itself; plugins may not claim them. */
static bool core_reason(uint32_t reason)
{
	return reason == KVM_EXIT_INTR || reason == KVM_EXIT_FAIL_ENTRY ||
	       reason == KVM_EXIT_INTERNAL_ERROR;
}

void exit_table_init(struct exit_table *t)
{
	memset(t, 0, sizeof(*t));
}

int exit_table_claim(struct exit_table *t, uint32_t reason,
		     const struct modvm_exit_ops *ops, void *state,
		     const char *owner)
{
	struct exit_owner *o;

	if (reason >= EXIT_REASONS || core_reason(reason)) {
		log_error("%s: cannot claim %s (%" PRIu32 "): %s", owner,
			  exit_reason_name(reason), reason,
			  reason >= EXIT_REASONS ? "out of range"
						 : "the core handles it");
		return -EINVAL;
	}
	o = &t->owners[reason];
	if (o->ops) {
		log_error("%s: cannot claim %s (%" PRIu32 "): already handled "
			  "by %s; each exit reason has one owner",
			  owner, exit_reason_name(reason), reason, o->name);
		return -EBUSY;
	}
	*o = (struct exit_owner){ .ops = ops, .state = state, .name = owner };
	return 0;
}

int exit_table_add_plugins(struct exit_table *t,
			   struct modvm_plugin *const *plugins, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct modvm_exit_ops *ops = plugins[i]->desc->ops;
		int ret;

		if (plugins[i]->desc->kind != MODVM_PLUGIN_EXIT)
			continue;
		if (!ops || !ops->handle) {
			log_error("%s: exit plugin %s has no handle()",
				  plugins[i]->name, plugins[i]->path);
			return -EINVAL;
		}
		for (uint32_t r = 0; r < ops->n_reasons; r++) {
			ret = exit_table_claim(t, ops->reasons[r], ops,
					       plugins[i]->state,
					       plugins[i]->name);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static void set_stop(struct modvm_exit_ctx *ctx, enum modvm_stop_reason why,
		     int status)
{
	ctx->stop_reason = why;
	ctx->status = status;
}

/* KVM_EXIT_INTERNAL_ERROR suberrors, from <linux/kvm.h>. */
static const char *suberror_name(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exit while delivering an event";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
		return "unexpected hardware exit reason";
	}
	return "unknown suberror";
}

enum modvm_exit_action exit_dispatch(const struct exit_table *t,
				     struct modvm_exit_ctx *ctx,
				     bool *dump_regs)
{
	const struct kvm_run *run = ctx->run;
	uint32_t reason = run->exit_reason;
	const struct exit_owner *o;
	enum modvm_exit_action action;

	*dump_regs = false;
	if (reason < EXIT_REASONS && t->owners[reason].ops) {
		o = &t->owners[reason];
		ctx->message[0] = '\0';
		action = o->ops->handle(o->state, ctx);
		if (action == MODVM_EXIT_ERROR) {
			/* Where the guest was is the first thing one asks
			 * about a failed exit (a triple fault, say). */
			*dump_regs = true;
			set_stop(ctx, MODVM_STOP_ERROR, 1);
			if (!ctx->message[0])
				snprintf(ctx->message, sizeof(ctx->message),
					 "%s failed on %s of vcpu %" PRIu32,
					 o->name, exit_reason_name(reason),
					 ctx->index);
		} else if (action == MODVM_EXIT_RESET) {
			set_stop(ctx, MODVM_STOP_RESET, 0);
		}
		return action;
	}

	/* A kick normally shows as -EINTR from KVM_RUN, never here. */
	if (reason == KVM_EXIT_INTR)
		return MODVM_EXIT_CONTINUE;
	*dump_regs = true;
	set_stop(ctx, MODVM_STOP_ERROR, 1);
	switch (reason) {
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(ctx->message, sizeof(ctx->message),
			 "vcpu %" PRIu32 ": KVM_EXIT_FAIL_ENTRY: the CPU "
			 "refused to enter the guest (hardware reason %#llx)",
			 ctx->index,
			 (unsigned long long)run->fail_entry
				 .hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(ctx->message, sizeof(ctx->message),
			 "vcpu %" PRIu32 ": KVM_EXIT_INTERNAL_ERROR: %s "
			 "(suberror %" PRIu32 ")",
			 ctx->index, suberror_name(run->internal.suberror),
			 run->internal.suberror);
		break;
	default:
		*dump_regs = false;
		snprintf(ctx->message, sizeof(ctx->message),
			 "vcpu %" PRIu32 ": unhandled %s (%" PRIu32 "): no "
			 "[exit] plugin claims it",
			 ctx->index, exit_reason_name(reason), reason);
		break;
	}
	return MODVM_EXIT_ERROR;
}
