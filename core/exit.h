/* SPDX-License-Identifier: MIT */
/*
 * Exit dispatch: which exit-handler plugin owns each KVM exit reason.
 *
 * The table is filled before any vCPU runs and only read afterwards, so
 * vCPU threads dispatch without a lock. The core keeps three reasons for
 * itself: KVM_EXIT_INTR (a kick out of KVM_RUN, never dispatched), and
 * KVM_EXIT_FAIL_ENTRY and KVM_EXIT_INTERNAL_ERROR (the VM stops and the
 * vCPU's registers are printed).
 */
#ifndef MODVM_CORE_EXIT_H
#define MODVM_CORE_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#include <modvm/exit.h>

struct modvm_plugin;

/* Above every KVM_EXIT_* the kernel defines today, with room to grow. */
#define EXIT_REASONS 64

struct exit_owner {
	const struct modvm_exit_ops *ops; /* NULL: nobody claims the reason */
	void *state;
	const char *name; /* the owning plugin instance */
};

struct exit_table {
	struct exit_owner owners[EXIT_REASONS];
};

void exit_table_init(struct exit_table *t);
/*
 * Give reason to one handler. A reason already owned (-EBUSY, naming
 * both owners), one the core keeps or one out of range (-EINVAL) is
 * refused and logged.
 */
int exit_table_claim(struct exit_table *t, uint32_t reason,
		     const struct modvm_exit_ops *ops, void *state,
		     const char *owner);
/* Claim the reasons of every exit-handler plugin among plugins. */
int exit_table_add_plugins(struct exit_table *t,
			   struct modvm_plugin *const *plugins, unsigned n);

/* "KVM_EXIT_IO" for KVM_EXIT_IO; "KVM_EXIT_<n>" style text for unknown. */
const char *exit_reason_name(uint32_t reason);

/*
 * Handle one exit of the vCPU ctx describes (ctx->run->exit_reason).
 * For anything but CONTINUE, ctx->stop_reason, status and message say
 * why the VM must stop, the message naming the vCPU and the reason.
 * *dump_regs is set when the vCPU's registers explain the failure.
 */
enum modvm_exit_action exit_dispatch(const struct exit_table *t,
				     struct modvm_exit_ctx *ctx,
				     bool *dump_regs);

#endif
