/* SPDX-License-Identifier: MIT */
/*
 * arch-x86_64's APIC IDs and CPUID topology leaves, against a fake
 * Intel and a fake AMD KVM_GET_SUPPORTED_CPUID table. Every expected
 * value is derived by hand next to its row from TOPOLOGY.md: widths
 * w(n) = ceil(log2 n), fields from the low bits thread, core, module
 * (cluster), die, package.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/arch-x86_64/apicid.h"
#include "../../plugins/arch-x86_64/cpuid.h"

#define IDX KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* Vendor strings as leaf 0 returns them in EBX, EDX, ECX. */
#define GENU 0x756e6547u /* "Genu" */
#define INEI 0x49656e69u /* "ineI" */
#define NTEL 0x6c65746eu /* "ntel" */
#define AUTH 0x68747541u /* "Auth" */
#define ENTI 0x69746e65u /* "enti" */
#define CAMD 0x444d4163u /* "cAMD" */

struct fake_entry {
	uint32_t function, index, flags, eax, ebx, ecx, edx;
};

/*
 * A Skylake-like host: max basic leaf 0x16, leaf 4 caches (L1d shared
 * by 2, L3 by 16, "8 cores"), host 0BH levels that must not leak, no
 * 1FH, extended leaves up to 0x80000008.
 */
static const struct fake_entry intel_host[] = {
	{ 0x0, 0, 0, 0x16, GENU, NTEL, INEI },
	{ 0x1, 0, 0, 0x000506e3, 0x00100800, 0x76fa3203, 0x1f8bfbff },
	{ 0x4, 0, IDX, 0x1c004121, 0x01c0003f, 0x0000003f, 0 }, /* L1d */
	{ 0x4, 1, IDX, 0x1c004122, 0x01c0003f, 0x0000003f, 0 }, /* L1i */
	{ 0x4, 2, IDX, 0x1c004143, 0x03c0003f, 0x000003ff, 0 }, /* L2 */
	{ 0x4, 3, IDX, 0x1c03c163, 0x03c0003f, 0x00003fff, 6 }, /* L3 */
	{ 0x4, 4, IDX, 0, 0, 0, 0 },
	{ 0x7, 0, IDX, 0, 0x029c6fbf, 0, 0 },
	{ 0xb, 0, IDX, 1, 2, 0x100, 0 },
	{ 0xb, 1, IDX, 4, 16, 0x201, 0 },
	{ 0xb, 2, IDX, 0, 0, 2, 0 },
	{ 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d },
	{ 0x40000001, 0, 0, 0x01007afb, 0, 0, 0 },
	{ 0x80000000, 0, 0, 0x80000008, 0, 0, 0 },
	{ 0x80000001, 0, 0, 0, 0, 0x00000121, 0x2c100800 },
	{ 0x80000008, 0, 0, 0x00003027, 0, 0, 0 },
};

/*
 * An EPYC-like host: leaf 4 all zero (AMD has none), host 0BH, caches
 * in 0x8000001D (L1d per 2 threads, L3 per 8), host 0x8000001E, the
 * Zen 4 extended topology leaf 0x80000026, CmpLegacy and TopoExt set.
 */
static const struct fake_entry amd_host[] = {
	{ 0x0, 0, 0, 0x10, AUTH, CAMD, ENTI },
	{ 0x1, 0, 0, 0x00830f10, 0x00800800, 0x7ef83203, 0x178bfbff },
	{ 0x4, 0, IDX, 0, 0, 0, 0 },
	{ 0x7, 0, IDX, 0, 0x219c91a9, 0, 0 },
	{ 0xb, 0, IDX, 1, 2, 0x100, 0 },
	{ 0xb, 1, IDX, 7, 128, 0x201, 0 },
	{ 0xb, 2, IDX, 0, 0, 2, 0 },
	{ 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d },
	{ 0x40000001, 0, 0, 0x01007afb, 0, 0, 0 },
	{ 0x80000000, 0, 0, 0x80000026, AUTH, CAMD, ENTI },
	{ 0x80000001, 0, 0, 0x00830f10, 0, 0x75c237ff, 0x2fd3fbff },
	{ 0x80000008, 0, 0, 0x00003030, 0, 0x0000707f, 0 },
	{ 0x8000001d, 0, IDX, 0x00004121, 0x01c0003f, 0x0000003f, 0 },
	{ 0x8000001d, 1, IDX, 0x00004122, 0x01c0003f, 0x0000003f, 0 },
	{ 0x8000001d, 2, IDX, 0x00004143, 0x01c0003f, 0x000003ff, 2 },
	{ 0x8000001d, 3, IDX, 0x0001c163, 0x03c0003f, 0x00003fff, 1 },
	{ 0x8000001d, 4, IDX, 0, 0, 0, 0 },
	{ 0x8000001e, 0, 0, 0, 0x00000100, 0, 0 },
	{ 0x80000026, 0, IDX, 1, 2, 0x100, 0 },
};

static struct kvm_cpuid2 *make_table(const struct fake_entry *f, size_t n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		c->entries[i].function = f[i].function;
		c->entries[i].index = f[i].index;
		c->entries[i].flags = f[i].flags;
		c->entries[i].eax = f[i].eax;
		c->entries[i].ebx = f[i].ebx;
		c->entries[i].ecx = f[i].ecx;
		c->entries[i].edx = f[i].edx;
	}
	return c;
}

#define TABLE(a) make_table(a, sizeof(a) / sizeof(a[0]))

/* Build vCPU index's table from a fake host table; the build must
 * return want_ret. Returns the table (NULL on failure) to free. */
static struct kvm_cpuid2 *build_from(const struct fake_entry *f, size_t n,
				     const struct modvm_topology *t,
				     uint32_t index, int want_ret)
{
	struct kvm_cpuid2 *host = make_table(f, n), *c;

	assert_int_equal(x86_cpuid_build(&c, host, t, index, X86_VENDOR_HOST),
			 want_ret);
	free(host);
	if (want_ret)
		assert_null(c);
	return c;
}

#define BUILD(a, t, index, want_ret) \
	build_from(a, sizeof(a) / sizeof(a[0]), t, index, want_ret)

#define TOPO(s, d, cl, c, t, n, max) \
	{ .sockets = s, .dies = d, .clusters = cl, .cores = c, .threads = t, \
	  .cpus = n, .maxcpus = max }

struct regs {
	uint32_t eax, ebx, ecx; /* EDX is the x2APIC ID, checked apart */
};

struct row {
	const char *name;
	struct modvm_topology t;
	uint32_t index;         /* the vCPU checked */
	uint32_t apic;
	uint32_t leaf1_ebx_hi;  /* leaf 1 EBX[31:16]: APIC ID, IDs/package */
	bool htt;               /* leaf 1 EDX[28] */
	uint32_t l1_share;      /* L1d EAX[25:14]: sharing IDs - 1 */
	uint32_t l3_share;      /* L3 EAX[25:14] */
	uint32_t cores_m1;      /* leaf 4 EAX[31:26]: core IDs/package - 1 */
	struct regs b[2];       /* leaf 0BH subleaves 0 and 1 */
	uint32_t n1f;           /* leaf 1FH subleaves, terminator included */
	struct regs f[5];
	bool cmp_legacy;        /* AMD: 0x80000001 ECX[1] */
	uint32_t ext8_ecx;      /* AMD: 0x80000008 ECX[15:0] */
	uint32_t e_ebx, e_ecx;  /* AMD: 0x8000001E EBX, ECX */
};

static const struct row rows[] = {
	/* 1 vCPU: every width 0, so APIC ID 0, one ID per package, no
	 * HTT (the Intel host had it set), sharing masks (1 << 0) - 1 = 0.
	 * 0BH: SMT shift 0 count 1, Core shift 0 count 1. AMD: one core,
	 * so no CmpLegacy; NC 0, ApicIdSize 0; 0x8000001E all zero. */
	{ "one_vcpu", TOPO(1, 1, 1, 1, 1, 1, 1), 0, 0,
	  0x0001, false, 0, 0, 0,
	  { { 0, 1, 0x100 }, { 0, 1, 0x201 } }, 0, { { 0 } },
	  false, 0x0000, 0x000, 0x000 },

	/* 1 core x 2 threads, vCPU 1: thread 1 in a 1-bit field -> APIC 1.
	 * Package offset 1: 2 IDs per package -> EBX[31:16] = 01 02, HTT.
	 * L1 per core: 2 threads -> 1; L3 per die (offset 1) -> 1; leaf 4
	 * cores (1 << (1 - 1)) - 1 = 0. 0BH: SMT 1/2, Core 1/2. AMD: one
	 * core -> no CmpLegacy; ApicIdSize 1, NC 1; 1E: threads-1 = 1 in
	 * EBX[15:8], core 0; node 0. */
	{ "one_core_two_threads", TOPO(1, 1, 1, 1, 2, 2, 2), 1, 1,
	  0x0102, true, 1, 1, 0,
	  { { 1, 2, 0x100 }, { 1, 2, 0x201 } }, 0, { { 0 } },
	  false, 0x1001, 0x100, 0x000 },

	/* 2 sockets x 3 cores: core field 2 bits, so IDs 0,1,2 then 4,5,6.
	 * vCPU 5 = socket 1 core 2 -> 1 << 2 | 2 = 6. 4 IDs per package:
	 * EBX[31:16] = 06 04, HTT (3 per package). L1 per core (1 thread)
	 * -> 0; L3 per die (offset 2) -> 3; leaf 4 cores (1 << 2) - 1 = 3.
	 * 0BH: SMT 0/1, Core 2/3. AMD: 3 cores -> CmpLegacy; ApicIdSize 2,
	 * NC 2; 1E core id = APIC bits [1:0] = 2, node = socket 1. */
	{ "three_cores_are_sparse", TOPO(2, 1, 1, 3, 1, 6, 6), 5, 6,
	  0x0604, true, 0, 3, 3,
	  { { 0, 1, 0x100 }, { 2, 3, 0x201 } }, 0, { { 0 } },
	  true, 0x2002, 0x002, 0x001 },

	/* 2 sockets x 2 cores x 2 threads, vCPU 5 = thread 1, core 0,
	 * socket 1 -> 1 | 0 << 1 | 1 << 2 = 5. Package offset 2: 4 IDs,
	 * EBX[31:16] = 05 04, HTT. L1 -> 1, L3 (offset 2) -> 3, leaf 4
	 * cores (1 << 1) - 1 = 1. 0BH: SMT 1/2, Core 2/4. AMD: CmpLegacy,
	 * ApicIdSize 2, NC 3; 1E: core id (5 >> 1) & 1 = 0, threads-1 = 1,
	 * node 1. */
	{ "two_sockets_two_cores_two_threads", TOPO(2, 1, 1, 2, 2, 8, 8), 5,
	  5, 0x0504, true, 1, 3, 1,
	  { { 1, 2, 0x100 }, { 2, 4, 0x201 } }, 0, { { 0 } },
	  true, 0x2003, 0x100, 0x001 },

	/* 2 sockets x 2 dies x 2 cores x 2 threads: offsets core 1, module
	 * 2, die 2, package 3. vCPU 13 = thread 1, core 0, die 1, socket 1
	 * -> 1 | 1 << 2 | 1 << 3 = 13. 8 IDs per package: 0d 08, HTT. L1
	 * -> 1; L3 per die: 1 << 2 IDs -> 3; leaf 4 cores (1 << 2) - 1 = 3.
	 * 0BH: SMT 1/2, Core 3/8 (the die folds in). 1FH: SMT 1/2, Core
	 * 2/4 (shift to the die), Die 3/8 (type 5, subleaf 2), end
	 * (type 0, subleaf 3). AMD: CmpLegacy; ApicIdSize 3, NC 7; 1E core
	 * id = (13 >> 1) & 3 = 2 (die and core bits), node = 1 * 2 + 1 = 3,
	 * nodes per package - 1 = 1. */
	{ "two_sockets_two_dies", TOPO(2, 2, 1, 2, 2, 16, 16), 13, 13,
	  0x0d08, true, 1, 3, 3,
	  { { 1, 2, 0x100 }, { 3, 8, 0x201 } }, 4,
	  { { 1, 2, 0x100 }, { 2, 4, 0x201 }, { 3, 8, 0x502 }, { 0, 0, 3 } },
	  true, 0x3007, 0x102, 0x103 },

	/* 1 socket x 3 cores x 2 threads: core field 2 bits above 1 thread
	 * bit, package offset 3. vCPU 5 = thread 1, core 2 -> 1 | 2 << 1 =
	 * 5. 8 IDs per package: 05 08, HTT. L1 -> 1, L3 (offset 3) -> 7,
	 * leaf 4 cores (1 << 2) - 1 = 3. 0BH: SMT 1/2, Core 3/6. AMD:
	 * CmpLegacy, ApicIdSize 3, NC 5; 1E core id (5 >> 1) & 3 = 2,
	 * threads-1 = 1, node 0. */
	{ "one_socket_three_cores_two_threads", TOPO(1, 1, 1, 3, 2, 6, 6), 5,
	  5, 0x0508, true, 1, 7, 3,
	  { { 1, 2, 0x100 }, { 3, 6, 0x201 } }, 0, { { 0 } },
	  true, 0x3005, 0x102, 0x000 },

	/* 4 sockets x 2 clusters x 2 cores: offsets core 0, module 1, die
	 * 2, package 2. vCPU 14 = core 0, cluster 1, socket 3 -> 1 << 1 |
	 * 3 << 2 = 14. 4 IDs per package: 0e 04, HTT. L1 -> 0, L3 per die
	 * (offset 2) -> 3, leaf 4 cores (1 << 2) - 1 = 3. 0BH: SMT 0/1,
	 * Core 2/4. 1FH: SMT 0/1, Core 1/2 (shift to the module), Module
	 * 2/4 (type 3), end. AMD: CmpLegacy, ApicIdSize 2, NC 3; 1E core
	 * id 14 & 3 = 2, node = socket 3. */
	{ "four_sockets_two_clusters_two_cores", TOPO(4, 1, 2, 2, 1, 16, 16),
	  14, 14, 0x0e04, true, 0, 3, 3,
	  { { 0, 1, 0x100 }, { 2, 4, 0x201 } }, 3,
	  { { 0, 1, 0x100 }, { 1, 2, 0x201 }, { 2, 4, 0x302 }, { 0, 0, 3 } },
	  true, 0x2003, 0x002, 0x003 },

	/* cpus=4, maxcpus=8: 8 cores, core field 3 bits. vCPU 6 is not
	 * started yet but gets the same view: APIC 6, 8 IDs: 06 08, HTT.
	 * L1 -> 0, L3 -> 7, leaf 4 cores 7. 0BH: SMT 0/1, Core 3/8. AMD:
	 * CmpLegacy, ApicIdSize 3, NC 7; 1E core id 6. */
	{ "hotplug_vcpus_get_the_full_view", TOPO(1, 1, 1, 8, 1, 4, 8), 6, 6,
	  0x0608, true, 0, 7, 7,
	  { { 0, 1, 0x100 }, { 3, 8, 0x201 } }, 0, { { 0 } },
	  true, 0x3007, 0x006, 0x000 },
};

struct combo {
	const char *what;
	const struct fake_entry *host;
	size_t n;
	enum x86_vendor vendor;
	bool amd_guest;
};

static const struct combo combos[] = {
	{ "Intel host", intel_host, sizeof(intel_host) / sizeof(intel_host[0]),
	  X86_VENDOR_HOST, false },
	{ "AMD host", amd_host, sizeof(amd_host) / sizeof(amd_host[0]),
	  X86_VENDOR_HOST, true },
	{ "AMD host, vendor = intel", amd_host,
	  sizeof(amd_host) / sizeof(amd_host[0]), X86_VENDOR_INTEL, false },
	{ "Intel host, vendor = amd", intel_host,
	  sizeof(intel_host) / sizeof(intel_host[0]), X86_VENDOR_AMD, true },
};

static const struct kvm_cpuid_entry2 *need(const struct kvm_cpuid2 *c,
					   uint32_t function, uint32_t index,
					   const char *ctx)
{
	const struct kvm_cpuid_entry2 *e = x86_cpuid_find(c, function, index);

	if (!e)
		fail_msg("%s: no leaf 0x%x.%u", ctx, function, index);
	return e;
}

static void expect_regs(const struct kvm_cpuid2 *c, uint32_t function,
			uint32_t index, struct regs want, uint32_t apic,
			const char *ctx)
{
	const struct kvm_cpuid_entry2 *e = need(c, function, index, ctx);

	if (e->eax != want.eax || e->ebx != want.ebx || e->ecx != want.ecx ||
	    e->edx != apic)
		fail_msg("%s: leaf 0x%x.%u = %x %x %x %x, want %x %x %x %x",
			 ctx, function, index, e->eax, e->ebx, e->ecx, e->edx,
			 want.eax, want.ebx, want.ecx, apic);
}

#define EXPECT(ctx, what, got, want)                                         \
	do {                                                                 \
		uint32_t got_ = (got), want_ = (want);                       \
		if (got_ != want_)                                           \
			fail_msg("%s: %s = 0x%x, want 0x%x", ctx, what, got_, \
				 want_);                                     \
	} while (0)

/* Sharing field and (leaf 4) core field of one cache subleaf; its type
 * and level are kept. */
static void expect_cache(const struct kvm_cpuid2 *c, uint32_t function,
			 uint32_t sub, uint32_t share, uint32_t cores,
			 const char *ctx)
{
	const struct kvm_cpuid_entry2 *e = need(c, function, sub, ctx);

	EXPECT(ctx, "cache EAX[25:14]", (e->eax >> 14) & 0xfff, share);
	EXPECT(ctx, "cache EAX[31:26]", e->eax >> 26, cores);
	EXPECT(ctx, "cache level", (e->eax >> 5) & 7, sub == 3 ? 3 : 1);
}

static void check_row(const struct row *r, const struct combo *k)
{
	struct kvm_cpuid2 *host = make_table(k->host, k->n), *c;
	const struct kvm_cpuid_entry2 *e;
	char ctx[160];

	snprintf(ctx, sizeof(ctx), "%s, %s, vCPU %u", r->name, k->what,
		 r->index);
	assert_int_equal(x86_apic_id(&r->t, r->index), r->apic);
	assert_int_equal(x86_cpuid_build(&c, host, &r->t, r->index, k->vendor),
			 0);

	e = need(c, 0x0, 0, ctx);
	EXPECT(ctx, "leaf 0 vendor EBX", e->ebx, k->amd_guest ? AUTH : GENU);
	if (e->eax < (r->n1f ? 0x1fu : 0xbu))
		fail_msg("%s: max basic leaf 0x%x too low", ctx, e->eax);
	e = need(c, 0x1, 0, ctx);
	EXPECT(ctx, "leaf 1 EBX[31:16]", e->ebx >> 16, r->leaf1_ebx_hi);
	EXPECT(ctx, "leaf 1 EBX[15:0] (kept)", e->ebx & 0xffff, 0x0800);
	EXPECT(ctx, "leaf 1 EDX.HTT", (e->edx >> 28) & 1, r->htt);
	EXPECT(ctx, "leaf 1 ECX.TSC-deadline", (e->ecx >> 24) & 1, 1);
	EXPECT(ctx, "leaf 1 ECX.hypervisor", (e->ecx >> 31) & 1, 1);

	expect_regs(c, 0xb, 0, r->b[0], r->apic, ctx);
	expect_regs(c, 0xb, 1, r->b[1], r->apic, ctx);
	expect_regs(c, 0xb, 2, (struct regs){ 0, 0, 2 }, r->apic, ctx);
	for (uint32_t i = 0; i < r->n1f; i++)
		expect_regs(c, 0x1f, i, r->f[i], r->apic, ctx);
	if (!r->n1f && x86_cpuid_find(c, 0x1f, 0))
		fail_msg("%s: leaf 0x1f without dies or clusters", ctx);

	/* The KVM paravirt leaves pass through; a guest of the other
	 * vendor loses the features that make hypercalls (7, 11, 13). */
	e = need(c, 0x40000000, 0, ctx);
	EXPECT(ctx, "leaf 0x40000000 EBX", e->ebx, 0x4b4d564b);
	EXPECT(ctx, "leaf 0x40000001 EAX",
	       need(c, 0x40000001, 0, ctx)->eax,
	       k->vendor == X86_VENDOR_HOST ? 0x01007afbu
					    : 0x01007afbu & ~0x2880u);

	if (!k->amd_guest) {
		expect_cache(c, 0x4, 0, r->l1_share, r->cores_m1, ctx);
		expect_cache(c, 0x4, 3, r->l3_share, r->cores_m1, ctx);
		e = need(c, 0x80000001, 0, ctx);
		EXPECT(ctx, "CmpLegacy|TopoExt", e->ecx & (1u << 1 | 1u << 22),
		       0);
		if (x86_cpuid_find(c, 0x8000001e, 0) ||
		    x86_cpuid_find(c, 0x8000001d, 0))
			fail_msg("%s: AMD topology leaves for an Intel guest",
				 ctx);
		EXPECT(ctx, "0x80000008 ECX[15:0]",
		       need(c, 0x80000008, 0, ctx)->ecx & 0xffff, 0);
	} else {
		expect_cache(c, 0x8000001d, 0, r->l1_share, 0, ctx);
		expect_cache(c, 0x8000001d, 3, r->l3_share, 0, ctx);
		EXPECT(ctx, "0x80000000 EAX >= 0x8000001e",
		       need(c, 0x80000000, 0, ctx)->eax >= 0x8000001e, 1);
		e = need(c, 0x80000001, 0, ctx);
		EXPECT(ctx, "CmpLegacy", (e->ecx >> 1) & 1, r->cmp_legacy);
		EXPECT(ctx, "TopoExt", (e->ecx >> 22) & 1, 1);
		e = need(c, 0x80000008, 0, ctx);
		EXPECT(ctx, "0x80000008 ECX[15:0]", e->ecx & 0xffff,
		       r->ext8_ecx);
		e = need(c, 0x8000001e, 0, ctx);
		EXPECT(ctx, "0x8000001e EAX", e->eax, r->apic);
		EXPECT(ctx, "0x8000001e EBX", e->ebx, r->e_ebx);
		EXPECT(ctx, "0x8000001e ECX", e->ecx, r->e_ecx);
		if (x86_cpuid_find(c, 0x80000026, 0))
			fail_msg("%s: host leaf 0x80000026 leaked", ctx);
	}
	free(c);
	free(host);
}

static void test_row(void **state)
{
	const struct row *r = *state;

	for (size_t k = 0; k < sizeof(combos) / sizeof(combos[0]); k++)
		check_row(r, &combos[k]);
}

static void test_apic_ids_leave_holes_for_three_cores(void **unused)
{
	const struct modvm_topology t = TOPO(2, 1, 1, 3, 1, 6, 6);
	/* Core field 2 bits: socket 1 starts at 1 << 2. */
	static const uint32_t want[] = { 0, 1, 2, 4, 5, 6 };

	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(x86_apic_id(&t, i), want[i]);
}

static void test_apic_ids_of_every_level(void **unused)
{
	/* 2 sockets x 3 dies x 3 clusters x 3 cores x 3 threads: every
	 * field 2 bits: thread [1:0], core [3:2], module [5:4], die [7:6],
	 * package [8]. The last vCPU is all 2s and socket 1. */
	const struct modvm_topology t = TOPO(2, 3, 3, 3, 3, 162, 162);
	const struct x86_apic_layout l = x86_apic_layout(&t);

	assert_int_equal(l.core_off, 2);
	assert_int_equal(l.module_off, 4);
	assert_int_equal(l.die_off, 6);
	assert_int_equal(l.pkg_off, 8);
	assert_int_equal(l.bits, 9);
	assert_int_equal(x86_apic_id(&t, 161), 0x1aa);
	/* vCPU 1 * 81 + 1 * 27 + 2 * 9 + 0 * 3 + 1 = 127: socket 1, die 1,
	 * cluster 2, core 0, thread 1. */
	assert_int_equal(x86_apic_id(&t, 127), 0x100 | 1 << 6 | 2 << 4 | 1);
}

static void test_layout_beyond_32_bits_is_refused(void **unused)
{
	/* 17 + 16 bits: no x2APIC ID holds it. */
	const struct modvm_topology t = TOPO(1, 1, 1, 65536, 65537, 1, 1);

	assert_true(x86_apic_layout(&t).bits > 32);
	assert_int_equal(x86_apic_id(&t, 0), 0);
	BUILD(intel_host, &t, 0, -EINVAL);
}

static void test_table_without_leaf_0_is_refused(void **unused)
{
	const struct modvm_topology t = TOPO(1, 1, 1, 1, 1, 1, 1);

	build_from(intel_host + 1, 3, &t, 0, -EINVAL);
}

static void test_host_leaf_1f_is_rewritten_without_dies(void **unused)
{
	/* An Intel host with 1FH (SMT, Core, Die): the guest with one die
	 * must see our two levels, not the host's three. */
	static const struct fake_entry host_1f[] = {
		{ 0x0, 0, 0, 0x1f, GENU, NTEL, INEI },
		{ 0x1, 0, 0, 0x000506e3, 0x00100800, 0, 0 },
		{ 0x1f, 0, IDX, 1, 2, 0x100, 0 },
		{ 0x1f, 1, IDX, 5, 16, 0x201, 0 },
		{ 0x1f, 2, IDX, 6, 32, 0x502, 0 },
		{ 0x1f, 3, IDX, 0, 0, 3, 0 },
	};
	/* 2 sockets x 4 cores x 2 threads, vCPU 9 = socket 1, core 0,
	 * thread 1: 1 | 1 << 3 = 9. 1FH: SMT 1/2, Core 3/8, end. */
	const struct modvm_topology t = TOPO(2, 1, 1, 4, 2, 16, 16);
	struct kvm_cpuid2 *c = BUILD(host_1f, &t, 9, 0);

	expect_regs(c, 0x1f, 0, (struct regs){ 1, 2, 0x100 }, 9, "1FH");
	expect_regs(c, 0x1f, 1, (struct regs){ 3, 8, 0x201 }, 9, "1FH");
	expect_regs(c, 0x1f, 2, (struct regs){ 0, 0, 2 }, 9, "1FH");
	assert_null(x86_cpuid_find(c, 0x1f, 3));
	assert_int_equal(x86_cpuid_find(c, 0x0, 0)->eax, 0x1f);
	free(c);
}

static void test_max_basic_leaf_is_raised_to_0b(void **unused)
{
	static const struct fake_entry old_host[] = {
		{ 0x0, 0, 0, 0x7, GENU, NTEL, INEI },
		{ 0x1, 0, 0, 0x000506e3, 0x00100800, 0, 0 },
	};
	const struct modvm_topology t = TOPO(1, 1, 1, 2, 1, 2, 2);
	struct kvm_cpuid2 *c = BUILD(old_host, &t, 1, 0);

	assert_int_equal(x86_cpuid_find(c, 0x0, 0)->eax, 0xb);
	expect_regs(c, 0xb, 1, (struct regs){ 1, 2, 0x201 }, 1, "0BH");
	free(c);
}

static void test_other_leaves_pass_through(void **unused)
{
	const struct modvm_topology t = TOPO(2, 1, 1, 2, 2, 8, 8);
	struct kvm_cpuid2 *host = TABLE(intel_host), *c;
	const struct kvm_cpuid_entry2 *e;

	assert_int_equal(x86_cpuid_build(&c, host, &t, 3, X86_VENDOR_HOST), 0);
	e = x86_cpuid_find(c, 0x7, 0);
	assert_non_null(e);
	assert_int_equal(e->ebx, 0x029c6fbf);
	assert_int_equal(e->flags, IDX);
	e = x86_cpuid_find(c, 0x1, 0);
	assert_int_equal(e->eax, 0x000506e3);
	/* Other feature bits are kept; TSC-deadline and hypervisor added. */
	assert_int_equal(e->ecx, 0x76fa3203 | 1u << 24 | 1u << 31);
	/* Leaf 4 keeps everything but its two count fields. */
	e = x86_cpuid_find(c, 0x4, 3);
	assert_int_equal(e->eax & 0x3fff, 0x163);
	assert_int_equal(e->ebx, 0x03c0003f);
	assert_int_equal(e->edx, 6);
	/* The host table itself is untouched. */
	assert_int_equal(x86_cpuid_find(host, 0xb, 1)->ebx, 16);
	free(c);
	free(host);
}

/* The other vendor's guest loses the PV features that make hypercalls
 * (spinlock kick 7, send-IPI 11, sched-yield 13); the rest stay. */
static void test_cross_vendor_hides_hypercall_features(void **unused)
{
	const struct modvm_topology t = TOPO(1, 1, 1, 2, 1, 2, 2);
	const uint32_t hypercalls = 1u << 7 | 1u << 11 | 1u << 13;
	struct kvm_cpuid2 *host = TABLE(intel_host), *c;

	(void)unused;
	assert_int_equal(x86_cpuid_build(&c, host, &t, 0, X86_VENDOR_HOST), 0);
	assert_int_equal(x86_cpuid_find(c, 0x40000001, 0)->eax, 0x01007afb);
	free(c);
	assert_int_equal(x86_cpuid_build(&c, host, &t, 0, X86_VENDOR_INTEL), 0);
	assert_int_equal(x86_cpuid_find(c, 0x40000001, 0)->eax, 0x01007afb);
	free(c);
	assert_int_equal(x86_cpuid_build(&c, host, &t, 0, X86_VENDOR_AMD), 0);
	assert_int_equal(x86_cpuid_find(c, 0x40000001, 0)->eax,
			 0x01007afb & ~hypercalls);
	free(c);
	free(host);
}

static void test_dump_is_one_line_per_subleaf(void **unused)
{
	/* 1 socket x 3 cores x 2 threads, vCPU 3 = core 1 thread 1: APIC
	 * 1 | 1 << 1 = 3. */
	const struct modvm_topology t = TOPO(1, 1, 1, 3, 2, 6, 6);
	struct kvm_cpuid2 *c = BUILD(intel_host, &t, 3, 0);
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	assert_non_null(f);
	x86_cpuid_dump(c, 3, x86_apic_id(&t, 3), f);
	fclose(f);
	assert_non_null(strstr(buf, "vcpu 3 apic 0x3 leaf 0x0000000b.0: "
				    "eax=0x00000001 ebx=0x00000002 "
				    "ecx=0x00000100 edx=0x00000003\n"
				    "vcpu 3 apic 0x3 leaf 0x0000000b.1: "
				    "eax=0x00000003 ebx=0x00000006 "
				    "ecx=0x00000201 edx=0x00000003\n"
				    "vcpu 3 apic 0x3 leaf 0x0000000b.2: "));
	/* Leaves in a fixed order, leaf 0 first. */
	assert_true(strncmp(buf, "vcpu 3 apic 0x3 leaf 0x00000000.0: ",
			    35) == 0);
	/* Features outside the topology leaves are not shown. */
	assert_null(strstr(buf, "leaf 0x00000007"));
	assert_null(strstr(buf, "leaf 0x40000000"));
	free(buf);
	free(c);
}

static void test_vendor_names(void **unused)
{
	enum x86_vendor v;

	assert_int_equal(x86_vendor_parse("host", &v), 0);
	assert_int_equal(v, X86_VENDOR_HOST);
	assert_int_equal(x86_vendor_parse("intel", &v), 0);
	assert_int_equal(v, X86_VENDOR_INTEL);
	assert_int_equal(x86_vendor_parse("amd", &v), 0);
	assert_int_equal(v, X86_VENDOR_AMD);
	assert_int_equal(x86_vendor_parse("AMD", &v), -EINVAL);
	assert_string_equal(x86_vendor_name(X86_VENDOR_AMD), "amd");
}

int main(void)
{
	enum { N = sizeof(rows) / sizeof(rows[0]) };
	struct CMUnitTest tests[N + 16];
	size_t n = 0;

	for (size_t i = 0; i < N; i++) {
		tests[n] = (struct CMUnitTest)cmocka_unit_test(test_row);
		tests[n].name = rows[i].name;
		tests[n].initial_state = (void *)&rows[i];
		n++;
	}
#define ADD(fn) tests[n++] = (struct CMUnitTest)cmocka_unit_test(fn)
	ADD(test_apic_ids_leave_holes_for_three_cores);
	ADD(test_apic_ids_of_every_level);
	ADD(test_layout_beyond_32_bits_is_refused);
	ADD(test_table_without_leaf_0_is_refused);
	ADD(test_host_leaf_1f_is_rewritten_without_dies);
	ADD(test_max_basic_leaf_is_raised_to_0b);
	ADD(test_other_leaves_pass_through);
	ADD(test_cross_vendor_hides_hypercall_features);
	ADD(test_dump_is_one_line_per_subleaf);
	ADD(test_vendor_names);
#undef ADD
	return _cmocka_run_group_tests("x86-cpuid", tests, n, NULL, NULL);
}
