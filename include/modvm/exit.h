/* SPDX-License-Identifier: MIT */
/*
 * Ops of an exit-handler plugin (kind MODVM_PLUGIN_EXIT). Each KVM exit
 * reason has at most one owner; the core sends every KVM_RUN exit with
 * that reason to it, on the vCPU's own thread.
 */
#ifndef MODVM_EXIT_H
#define MODVM_EXIT_H

#include <stdint.h>

#include <modvm/host.h>

struct kvm_run;

enum modvm_exit_action {
	MODVM_EXIT_CONTINUE = 0, /* re-enter the guest */
	MODVM_EXIT_STOP,         /* stop the VM: ctx->stop_reason, status */
	MODVM_EXIT_RESET,        /* the guest asked for a reset */
	MODVM_EXIT_ERROR,        /* stop the VM as failed: ctx->message */
};

/* One exit of one vCPU, as handed to handle(). */
struct modvm_exit_ctx {
	uint32_t index;       /* linear vCPU index */
	uint32_t vcpu_id;     /* KVM vCPU id (x86: APIC ID) */
	int vcpu_fd;
	struct kvm_run *run;  /* the vCPU's mmap'ed kvm_run */

	/* Filled by the handler for STOP, RESET and ERROR. */
	enum modvm_stop_reason stop_reason;
	int status;
	char message[160];
};

struct modvm_exit_ops {
	uint32_t size; /* sizeof(struct modvm_exit_ops) the plugin built with */

	const uint32_t *reasons; /* KVM_EXIT_* reasons this plugin owns */
	uint32_t n_reasons;

	enum modvm_exit_action (*handle)(void *state,
					 struct modvm_exit_ctx *ctx);
};

#endif /* MODVM_EXIT_H */
