/* SPDX-License-Identifier: MIT */
/*
 * Per-vCPU CPUID: the topology leaves, derived from one struct
 * modvm_topology and the APIC ID layout (apicid.h), so the guest's
 * every way of reading its topology agrees.
 *
 * Sources for the encodings:
 *  - Intel SDM vol. 2A, CPUID: leaf 01H (EBX[31:24] initial APIC ID,
 *    EBX[23:16] addressable logical processor IDs per package, EDX[28]
 *    HTT), leaf 04H (EAX[25:14] addressable IDs sharing the cache - 1,
 *    EAX[31:26] addressable core IDs per package - 1), leaf 0BH and 1FH
 *    (EAX[4:0] shift to the next level's ID, EBX[15:0] logical
 *    processors at this level, ECX[7:0] subleaf, ECX[15:8] level type:
 *    1 SMT, 2 core, 3 module, 4 tile, 5 die; EDX x2APIC ID).
 *  - AMD APM vol. 3, appendix E (CPUID): Fn8000_0001_ECX[1] CmpLegacy
 *    and [22] TopologyExtensions, Fn8000_0008_ECX[7:0] NC (threads per
 *    package - 1) and [15:12] ApicIdSize, Fn8000_001D (cache topology,
 *    leaf 04H's layout, EAX[25:14] NumSharingCache - 1), Fn8000_001E
 *    (EAX extended APIC ID, EBX[7:0] core ID, EBX[15:8] threads per
 *    core - 1, ECX[7:0] node ID, ECX[10:8] nodes per processor - 1).
 *  - How Linux reads them: arch/x86/kernel/cpu/topology_ext.c,
 *    topology_amd.c (>= 6.9) and topology.c, amd.c (older), and
 *    cacheinfo.c (LLC id = APIC ID >> order of the sharing count).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <asm/kvm_para.h>

#include "apicid.h"
#include "cpuid.h"

#define LEAF_VENDOR 0x0u
#define LEAF_FEATURES 0x1u
#define LEAF_CACHE 0x4u
#define LEAF_TOPO 0xbu
#define LEAF_TOPO_V2 0x1fu
#define LEAF_EXT_MAX 0x80000000u
#define LEAF_EXT_FEATURES 0x80000001u
#define LEAF_EXT_SIZES 0x80000008u
#define LEAF_AMD_CACHE 0x8000001du
#define LEAF_AMD_TOPO 0x8000001eu
#define LEAF_AMD_TOPO_EXT 0x80000026u /* AMD extended topology (Zen 4+) */

#define LEAF1_EDX_HTT (1u << 28)
#define LEAF1_ECX_TSC_DEADLINE (1u << 24)
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define EXT1_ECX_CMP_LEGACY (1u << 1)
#define EXT1_ECX_TOPOEXT (1u << 22)

/* Level types of leaves 0BH/1FH. */
enum { TOPO_INVALID = 0, TOPO_SMT = 1, TOPO_CORE = 2, TOPO_MODULE = 3,
       TOPO_DIE = 5 };

static const char intel_id[] = "GenuineIntel";
static const char amd_id[] = "AuthenticAMD";
static const char hygon_id[] = "HygonGenuine";

struct build {
	struct kvm_cpuid2 *c;
	uint32_t cap;
	const struct modvm_topology *t;
	struct x86_apic_layout l;
	struct modvm_cpu_ids ids;
	uint32_t apic;
	uint64_t per_pkg; /* logical processors in one package */
	bool amd;         /* the guest sees an AMD (or Hygon) CPU */
};

int x86_vendor_parse(const char *name, enum x86_vendor *out)
{
	if (strcmp(name, "host") == 0)
		*out = X86_VENDOR_HOST;
	else if (strcmp(name, "intel") == 0)
		*out = X86_VENDOR_INTEL;
	else if (strcmp(name, "amd") == 0)
		*out = X86_VENDOR_AMD;
	else
		return -EINVAL;
	return 0;
}

const char *x86_vendor_name(enum x86_vendor vendor)
{
	switch (vendor) {
	case X86_VENDOR_INTEL: return "intel";
	case X86_VENDOR_AMD: return "amd";
	case X86_VENDOR_HOST: break;
	}
	return "host";
}

/* All ones in the low bits bits, saturated to a field of width bits:
 * the "(1 << n) - 1" of the count fields, without shifting by >= 32. */
static uint32_t ones(uint32_t bits, uint32_t width)
{
	if (bits > width)
		bits = width;
	return (uint32_t)((1ull << bits) - 1);
}

static uint32_t clamp(uint64_t v, uint32_t max)
{
	return v > max ? max : (uint32_t)v;
}

static uint32_t set_field(uint32_t reg, uint32_t shift, uint32_t width,
			  uint32_t value)
{
	uint32_t mask = ones(width, 32) << shift;

	return (reg & ~mask) | ((value << shift) & mask);
}

static int find_entry(const struct kvm_cpuid2 *c, uint32_t function,
		      uint32_t index)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e->index == index))
			return (int)i;
	}
	return -1;
}

const struct kvm_cpuid_entry2 *x86_cpuid_find(const struct kvm_cpuid2 *c,
					      uint32_t function,
					      uint32_t index)
{
	int i = find_entry(c, function, index);

	return i < 0 ? NULL : &c->entries[i];
}

static struct kvm_cpuid_entry2 *find(struct build *b, uint32_t function,
				     uint32_t index)
{
	int i = find_entry(b->c, function, index);

	return i < 0 ? NULL : &b->c->entries[i];
}

/* Append a zeroed entry; the table never grows past cap, so earlier
 * entry pointers stay valid. */
static struct kvm_cpuid_entry2 *add(struct build *b, uint32_t function,
				    uint32_t index, bool indexed)
{
	struct kvm_cpuid_entry2 *e;

	if (b->c->nent >= b->cap)
		return NULL;
	e = &b->c->entries[b->c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = function;
	e->index = index;
	e->flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	return e;
}

static struct kvm_cpuid_entry2 *find_or_add(struct build *b,
					    uint32_t function)
{
	struct kvm_cpuid_entry2 *e = find(b, function, 0);

	return e ? e : add(b, function, 0, false);
}

/* Drop every subleaf of a leaf (before writing our own). */
static void remove_leaf(struct build *b, uint32_t function)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < b->c->nent; i++)
		if (b->c->entries[i].function != function)
			b->c->entries[n++] = b->c->entries[i];
	b->c->nent = n;
}

/* Leaf 0's EBX, EDX, ECX spell the vendor, 4 characters each. */
static bool vendor_is(const struct kvm_cpuid_entry2 *e, const char *id)
{
	return memcmp(&e->ebx, id, 4) == 0 && memcmp(&e->edx, id + 4, 4) == 0 &&
	       memcmp(&e->ecx, id + 8, 4) == 0;
}

static void vendor_set(struct kvm_cpuid_entry2 *e, const char *id)
{
	memcpy(&e->ebx, id, 4);
	memcpy(&e->edx, id + 4, 4);
	memcpy(&e->ecx, id + 8, 4);
}

/*
 * A guest shown the other vendor than the host's makes KVM hypercalls
 * with that vendor's instruction (Linux picks VMCALL or VMMCALL by
 * vendor). KVM fixes the instruction up by rewriting it in guest memory,
 * which fails on read-only kernel text: the guest oopses in
 * kvm_kick_cpu(). Hide the paravirt features that make hypercalls (PV
 * spinlock kicks, PV IPIs, PV yield); the guest then uses plain IPIs.
 */
static void hide_hypercall_features(struct build *b)
{
	struct kvm_cpuid_entry2 *e = find(b, KVM_CPUID_FEATURES, 0);

	if (e)
		e->eax &= ~((1u << KVM_FEATURE_PV_UNHALT) |
			    (1u << KVM_FEATURE_PV_SEND_IPI) |
			    (1u << KVM_FEATURE_PV_SCHED_YIELD));
}

static int set_vendor(struct build *b, enum x86_vendor vendor)
{
	struct kvm_cpuid_entry2 *leaf0 = find(b, LEAF_VENDOR, 0);
	struct kvm_cpuid_entry2 *ext0 = find(b, LEAF_EXT_MAX, 0);
	bool host_amd;

	if (!leaf0)
		return -EINVAL;
	host_amd = vendor_is(leaf0, amd_id) || vendor_is(leaf0, hygon_id);
	if (vendor == X86_VENDOR_INTEL)
		vendor_set(leaf0, intel_id);
	else if (vendor == X86_VENDOR_AMD)
		vendor_set(leaf0, amd_id);
	b->amd = vendor_is(leaf0, amd_id) || vendor_is(leaf0, hygon_id);
	if (b->amd != host_amd)
		hide_hypercall_features(b);
	/* AMD repeats the vendor in 0x80000000; Intel leaves it zero. */
	if (vendor != X86_VENDOR_HOST && ext0) {
		if (b->amd)
			vendor_set(ext0, amd_id);
		else
			ext0->ebx = ext0->ecx = ext0->edx = 0;
	}
	return 0;
}

/* Leaf 1: initial APIC ID, logical processor IDs per package, HTT. */
static int write_leaf1(struct build *b)
{
	struct kvm_cpuid_entry2 *e = find(b, LEAF_FEATURES, 0);

	if (!e)
		return -EINVAL;
	e->ebx = set_field(e->ebx, 24, 8, b->apic & 0xff);
	/* The SDM reads this as "round up to a power of two": 255 still
	 * means 256 IDs, the most the field can say. */
	e->ebx = set_field(e->ebx, 16, 8,
			   clamp(1ull << b->l.pkg_off, 0xff));
	if (b->per_pkg > 1)
		e->edx |= LEAF1_EDX_HTT;
	else
		e->edx &= ~LEAF1_EDX_HTT;
	/* KVM leaves the TSC-deadline bit out of its supported table (it is
	 * a capability of the in-kernel LAPIC, which modvm always uses).
	 * Without it, and without the hypervisor bit, a guest with
	 * hardware-reduced ACPI (no PIT/HPET in the DSDT) has no clock
	 * event source it trusts and hangs calibrating. */
	e->ecx |= LEAF1_ECX_TSC_DEADLINE | LEAF1_ECX_HYPERVISOR;
	return 0;
}

static bool has_caches(struct build *b, uint32_t function)
{
	const struct kvm_cpuid_entry2 *e = find(b, function, 0);

	return e && (e->eax & 0x1f) != 0;
}

/* Leaf 4 and 0x8000001D share their layout: give the guest the one its
 * vendor reads, copied from the other when the host lacks it. */
static int copy_caches(struct build *b, uint32_t from, uint32_t to)
{
	uint32_t n;

	remove_leaf(b, to);
	n = b->c->nent;
	for (uint32_t i = 0; i < n; i++) {
		const struct kvm_cpuid_entry2 src = b->c->entries[i];
		struct kvm_cpuid_entry2 *e;

		if (src.function != from)
			continue;
		e = add(b, to, src.index, true);
		if (!e)
			return -ENOMEM;
		e->eax = src.eax;
		e->ebx = src.ebx;
		e->ecx = src.ecx;
		e->edx = src.edx;
	}
	return 0;
}

/*
 * Sharing in every cache subleaf: L1 and L2 per core (its threads), L3
 * and beyond per die (everything below the die field). Linux takes the
 * LLC id as APIC ID >> order(sharing), so these masks make it the die.
 */
static void write_caches(struct build *b, uint32_t function)
{
	const uint32_t cores = b->l.pkg_off - b->l.core_off;

	for (uint32_t i = 0; i < b->c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &b->c->entries[i];
		uint32_t level = (e->eax >> 5) & 7;

		if (e->function != function || (e->eax & 0x1f) == 0)
			continue;
		e->eax = set_field(e->eax, 14, 12,
				   ones(level <= 2 ? b->l.core_off
						   : b->l.die_off,
					12));
		/* EAX[31:26] is leaf 4's core count; reserved in 8000001D. */
		e->eax = set_field(e->eax, 26, 6,
				   function == LEAF_CACHE ? ones(cores, 6) : 0);
	}
}

static int add_level(struct build *b, uint32_t function, uint32_t sub,
		     uint32_t type, uint32_t shift, uint64_t count)
{
	struct kvm_cpuid_entry2 *e = add(b, function, sub, true);

	if (!e)
		return -ENOMEM;
	e->eax = shift;
	/* 0 would mean "level not implemented" to Linux. */
	e->ebx = type == TOPO_INVALID ? 0 : clamp(count, 0xffff);
	e->ecx = sub | type << 8;
	e->edx = b->apic;
	return 0;
}

/* Leaf 0BH: SMT, then Core with dies and modules folded into it. */
static int write_leaf_b(struct build *b)
{
	int ret;

	remove_leaf(b, LEAF_TOPO);
	ret = add_level(b, LEAF_TOPO, 0, TOPO_SMT, b->l.core_off,
			b->t->threads);
	if (!ret)
		ret = add_level(b, LEAF_TOPO, 1, TOPO_CORE, b->l.pkg_off,
				b->per_pkg);
	if (!ret)
		ret = add_level(b, LEAF_TOPO, 2, TOPO_INVALID, 0, 0);
	return ret;
}

/*
 * Leaf 1FH: one subleaf per level present, each with the shift to the
 * level above it and the logical processors in one instance of that
 * level above, then a type-0 subleaf.
 */
static int write_leaf_1f(struct build *b)
{
	const struct modvm_topology *t = b->t;
	uint32_t sub = 0;
	int ret;

	remove_leaf(b, LEAF_TOPO_V2);
	ret = add_level(b, LEAF_TOPO_V2, sub++, TOPO_SMT, b->l.core_off,
			t->threads);
	if (!ret)
		ret = add_level(b, LEAF_TOPO_V2, sub++, TOPO_CORE,
				b->l.module_off,
				(uint64_t)t->threads * t->cores);
	if (!ret && t->clusters > 1)
		ret = add_level(b, LEAF_TOPO_V2, sub++, TOPO_MODULE,
				b->l.die_off,
				(uint64_t)t->threads * t->cores * t->clusters);
	if (!ret && t->dies > 1)
		ret = add_level(b, LEAF_TOPO_V2, sub++, TOPO_DIE, b->l.pkg_off,
				b->per_pkg);
	if (!ret)
		ret = add_level(b, LEAF_TOPO_V2, sub, TOPO_INVALID, 0, 0);
	return ret;
}

/*
 * AMD: 0x80000001 CmpLegacy/TopoExt, 0x80000008 NC/ApicIdSize and
 * 0x8000001E. Linux >= 6.9 prefers leaf 0x80000026 to 0BH on AMD, and
 * this file does not encode it, so it is dropped (KVM then answers
 * zeros, which Linux skips).
 */
static int write_amd(struct build *b)
{
	const struct modvm_topology *t = b->t;
	struct kvm_cpuid_entry2 *ext0 = find_or_add(b, LEAF_EXT_MAX);
	struct kvm_cpuid_entry2 *ext1 = find_or_add(b, LEAF_EXT_FEATURES);
	struct kvm_cpuid_entry2 *ext8 = find_or_add(b, LEAF_EXT_SIZES);
	struct kvm_cpuid_entry2 *e;
	uint64_t node;

	if (!ext0 || !ext1 || !ext8)
		return -ENOMEM;
	if (ext0->eax < LEAF_AMD_TOPO)
		ext0->eax = LEAF_AMD_TOPO;

	/* CmpLegacy says leaf 1's logical processor count counts cores;
	 * legacy Linux then ignores it as a thread count. Set it only
	 * when a package has more than one core. */
	if ((uint64_t)t->dies * t->clusters * t->cores > 1)
		ext1->ecx |= EXT1_ECX_CMP_LEGACY;
	else
		ext1->ecx &= ~EXT1_ECX_CMP_LEGACY;
	ext1->ecx |= EXT1_ECX_TOPOEXT; /* we provide 8000001D/E */

	ext8->ecx = set_field(ext8->ecx, 0, 8, clamp(b->per_pkg - 1, 0xff));
	ext8->ecx = set_field(ext8->ecx, 12, 4, clamp(b->l.pkg_off, 0xf));

	remove_leaf(b, LEAF_AMD_TOPO_EXT);
	remove_leaf(b, LEAF_AMD_TOPO);
	e = add(b, LEAF_AMD_TOPO, 0, false);
	if (!e)
		return -ENOMEM;
	e->eax = b->apic;
	/*
	 * Core ID, unique within the socket: the APIC ID's bits between
	 * the thread field and the package field, the same core_id Linux
	 * computes from leaf 0BH, so both paths agree (sparse for
	 * non-power-of-two counts, like the APIC IDs).
	 */
	e->ebx = (b->apic >> b->l.core_off) &
		 ones(b->l.pkg_off - b->l.core_off, 8);
	e->ebx |= clamp((uint64_t)t->threads - 1, 0xff) << 8;
	/* Node = die, numbered across the system as on real parts (the
	 * PPRs encode socket and die in NodeId). */
	node = (uint64_t)b->ids.socket * t->dies + b->ids.die;
	e->ecx = (uint32_t)(node & 0xff) | clamp(t->dies - 1, 7) << 8;
	return 0;
}

/* An Intel guest sees no AMD topology: Linux takes CmpLegacy as "no
 * SMT" (QEMU clears it for Intel for that reason). */
static void clear_amd(struct build *b)
{
	struct kvm_cpuid_entry2 *ext1 = find(b, LEAF_EXT_FEATURES, 0);
	struct kvm_cpuid_entry2 *ext8 = find(b, LEAF_EXT_SIZES, 0);

	if (ext1)
		ext1->ecx &= ~(EXT1_ECX_CMP_LEGACY | EXT1_ECX_TOPOEXT);
	if (ext8)
		ext8->ecx = set_field(set_field(ext8->ecx, 0, 8, 0), 12, 4, 0);
	remove_leaf(b, LEAF_AMD_CACHE);
	remove_leaf(b, LEAF_AMD_TOPO);
	remove_leaf(b, LEAF_AMD_TOPO_EXT);
}

static int build(struct build *b, enum x86_vendor vendor)
{
	const struct modvm_topology *t = b->t;
	bool leaf_1f = t->dies > 1 || t->clusters > 1 ||
		       find(b, LEAF_TOPO_V2, 0) != NULL;
	struct kvm_cpuid_entry2 *leaf0;
	int ret;

	ret = set_vendor(b, vendor);
	if (!ret)
		ret = write_leaf1(b);
	if (ret)
		return ret;

	if (b->amd && !has_caches(b, LEAF_AMD_CACHE) &&
	    has_caches(b, LEAF_CACHE))
		ret = copy_caches(b, LEAF_CACHE, LEAF_AMD_CACHE);
	else if (!b->amd && !has_caches(b, LEAF_CACHE) &&
		 has_caches(b, LEAF_AMD_CACHE))
		ret = copy_caches(b, LEAF_AMD_CACHE, LEAF_CACHE);
	if (ret)
		return ret;
	write_caches(b, LEAF_CACHE);
	write_caches(b, LEAF_AMD_CACHE);

	ret = write_leaf_b(b);
	/* A host table with 1FH would otherwise show the host's levels;
	 * Linux reads 1FH before 0BH. */
	if (!ret && leaf_1f)
		ret = write_leaf_1f(b);
	if (!ret && b->amd)
		ret = write_amd(b);
	if (ret)
		return ret;
	if (!b->amd)
		clear_amd(b);

	leaf0 = find(b, LEAF_VENDOR, 0);
	if (leaf0->eax < (leaf_1f ? LEAF_TOPO_V2 : LEAF_TOPO))
		leaf0->eax = leaf_1f ? LEAF_TOPO_V2 : LEAF_TOPO;
	return 0;
}

int x86_cpuid_build(struct kvm_cpuid2 **out,
		    const struct kvm_cpuid2 *supported,
		    const struct modvm_topology *t, uint32_t index,
		    enum x86_vendor vendor)
{
	struct build b = { .t = t };
	int ret;

	*out = NULL;
	b.l = x86_apic_layout(t);
	if (b.l.bits > 32)
		return -EINVAL;
	b.ids = modvm_topology_ids(t, index);
	b.apic = x86_apic_id(t, index);
	b.per_pkg = (uint64_t)t->dies * t->clusters * t->cores * t->threads;
	/* Room for every leaf we add: the cache leaves at most double,
	 * the rest is a fixed handful. */
	b.cap = 2 * supported->nent + 32;
	b.c = calloc(1, sizeof(*b.c) + (size_t)b.cap * sizeof(b.c->entries[0]));
	if (!b.c)
		return -ENOMEM;
	b.c->nent = supported->nent;
	memcpy(b.c->entries, supported->entries,
	       (size_t)supported->nent * sizeof(b.c->entries[0]));

	ret = build(&b, vendor);
	if (ret) {
		free(b.c);
		return ret;
	}
	*out = b.c;
	return 0;
}

/* The leaves --dump=cpuid shows, in this order. */
static const uint32_t dump_leaves[] = {
	LEAF_VENDOR,	   LEAF_FEATURES,   LEAF_CACHE,
	LEAF_TOPO,	   LEAF_TOPO_V2,    LEAF_EXT_MAX,
	LEAF_EXT_FEATURES, LEAF_EXT_SIZES,  LEAF_AMD_CACHE,
	LEAF_AMD_TOPO,
};

void x86_cpuid_dump(const struct kvm_cpuid2 *c, uint32_t index,
		    uint32_t apic_id, FILE *out)
{
	for (size_t l = 0; l < sizeof(dump_leaves) / sizeof(dump_leaves[0]);
	     l++) {
		uint64_t next = 0; /* smallest subleaf not yet printed */

		for (;;) {
			const struct kvm_cpuid_entry2 *e = NULL;

			/* Subleaves in ascending order, whatever the
			 * table's order. */
			for (uint32_t i = 0; i < c->nent; i++) {
				const struct kvm_cpuid_entry2 *x =
					&c->entries[i];

				if (x->function == dump_leaves[l] &&
				    x->index >= next &&
				    (!e || x->index < e->index))
					e = x;
			}
			if (!e)
				break;
			fprintf(out,
				"vcpu %" PRIu32 " apic 0x%" PRIx32
				" leaf 0x%08" PRIx32 ".%" PRIu32
				": eax=0x%08" PRIx32 " ebx=0x%08" PRIx32
				" ecx=0x%08" PRIx32 " edx=0x%08" PRIx32 "\n",
				index, apic_id, e->function, e->index, e->eax,
				e->ebx, e->ecx, e->edx);
			next = (uint64_t)e->index + 1;
		}
	}
}
