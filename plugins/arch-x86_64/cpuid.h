/* SPDX-License-Identifier: MIT */
/*
 * Per-vCPU CPUID tables: the topology leaves rewritten from one struct
 * modvm_topology. Pure functions (no KVM, no I/O besides dump's FILE),
 * so the unit tests feed them hand-written host tables.
 */
#ifndef MODVM_X86_CPUID_H
#define MODVM_X86_CPUID_H

#include <stdint.h>
#include <stdio.h>

#include <linux/kvm.h>

#include <modvm/topology.h>

/* What leaf 0 tells the guest its CPU vendor is ([arch] vendor). */
enum x86_vendor {
	X86_VENDOR_HOST = 0, /* keep the host's string */
	X86_VENDOR_INTEL,    /* "GenuineIntel" */
	X86_VENDOR_AMD,      /* "AuthenticAMD" */
};

/* "host", "intel", "amd" -> *out; 0 or -EINVAL. */
int x86_vendor_parse(const char *name, enum x86_vendor *out);
const char *x86_vendor_name(enum x86_vendor vendor);

/*
 * Build the CPUID table of the vCPU at index from the table KVM
 * supports (KVM_GET_SUPPORTED_CPUID). Rewrites leaves 0x0 (vendor,
 * highest leaf), 0x1, 0x4, 0xB, 0x1F and, for AMD, 0x80000000,
 * 0x80000001, 0x80000008, 0x8000001D and 0x8000001E; everything else
 * (features, the KVM leaves at 0x40000000) is copied as is. *out is
 * malloc'ed; the caller frees it. 0, -ENOMEM, or -EINVAL when the
 * supported table has no leaf 0 or 1, or the APIC IDs need more than
 * 32 bits.
 */
int x86_cpuid_build(struct kvm_cpuid2 **out,
		    const struct kvm_cpuid2 *supported,
		    const struct modvm_topology *t, uint32_t index,
		    enum x86_vendor vendor);

/* The entry for (function, index), or NULL. index is ignored for a
 * leaf without KVM_CPUID_FLAG_SIGNIFCANT_INDEX. */
const struct kvm_cpuid_entry2 *x86_cpuid_find(const struct kvm_cpuid2 *c,
					      uint32_t function,
					      uint32_t index);

/*
 * --dump=cpuid: the topology leaves of one vCPU's table, one line per
 * leaf and subleaf, in a stable order:
 *   vcpu 3 apic 0x5 leaf 0x0000000b.0: eax=0x... ebx=0x... ecx=... edx=...
 */
void x86_cpuid_dump(const struct kvm_cpuid2 *c, uint32_t index,
		    uint32_t apic_id, FILE *out);

#endif
