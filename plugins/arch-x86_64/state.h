/* SPDX-License-Identifier: MIT */
/*
 * arch-x86_64's instance state, shared by plugin.c (settings, --check,
 * --dump) and kvm.c (the KVM ioctls).
 */
#ifndef MODVM_ARCH_X86_64_STATE_H
#define MODVM_ARCH_X86_64_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/kvm.h>

#include <modvm/host.h>
#include <modvm/topology.h>

#include "cpuid.h"

/* [arch] tables: what describes the machine to the guest. */
enum x86_tables {
	X86_TABLES_ACPI = 0, /* MADT; the default */
	X86_TABLES_MPTABLE,  /* MP spec 1.4 table; 8-bit APIC IDs only */
};

struct x86_state {
	struct modvm_plugin *self;
	const struct modvm_host *host;
	const struct modvm_topology *topo;
	enum x86_vendor vendor;
	enum x86_tables tables;
	uint32_t max_apic_id;           /* of all maxcpus vCPUs */
	/* KVM_GET_SUPPORTED_CPUID, read once (vm_setup, or --dump). */
	struct kvm_cpuid2 *supported;
};

int x86_kvm_vm_setup(struct x86_state *s, int vm_fd);
int x86_kvm_vcpu_setup(struct x86_state *s, int vcpu_fd, uint32_t index);
void x86_kvm_dump_vcpu(struct x86_state *s, int vcpu_fd, FILE *out);
/*
 * Fill s->supported from /dev/kvm. With host_fallback, a host without
 * /dev/kvm gets a stand-in built from its own CPUID instruction (said
 * on stderr), so --dump=cpuid works anywhere. 0 or -errno, reported.
 */
int x86_kvm_supported_cpuid(struct x86_state *s, bool host_fallback);

#endif /* MODVM_ARCH_X86_64_STATE_H */
