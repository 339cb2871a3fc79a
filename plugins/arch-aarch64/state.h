/* SPDX-License-Identifier: MIT */
/*
 * arch-aarch64's instance state, shared by the portable plugin.c and
 * the KVM parts in kvm.c (real on aarch64 hosts, refusals elsewhere).
 */
#ifndef MODVM_ARCH_AARCH64_STATE_H
#define MODVM_ARCH_AARCH64_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <modvm/host.h>
#include <modvm/topology.h>

struct arm64_state {
	struct modvm_plugin *self;
	const struct modvm_host *host;
	const struct modvm_topology *topo;
	/*
	 * MPIDR_EL1 of every possible vCPU: KVM's default for its id until
	 * vcpu_setup reads the real one back from KVM.
	 */
	uint64_t *mpidr;
	bool described;      /* the DTB in guest RAM uses mpidr[] */
	int gic_fd;          /* the vGIC device, -1 before vm_setup */
	uint32_t n_realized; /* vCPUs set up since vm_setup */
};

int arm64_kvm_vm_setup(struct arm64_state *s, int vm_fd);
int arm64_kvm_vcpu_setup(struct arm64_state *s, int vm_fd, int vcpu_fd,
			 uint32_t index);
void arm64_kvm_dump_vcpu(struct arm64_state *s, int vcpu_fd, FILE *out);
/* Close what vm_setup opened; safe to call twice. */
void arm64_kvm_release(struct arm64_state *s);

#endif /* MODVM_ARCH_AARCH64_STATE_H */
