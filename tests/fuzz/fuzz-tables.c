/* SPDX-License-Identifier: MIT */
/*
 * fuzz-tables: a topology from the input, resolved the way [smp] is
 * (topology_resolve, so only topologies the core accepts), fed to every
 * table builder of the arch plugins and the result read back:
 *
 *  - x86_64 hosts: the ACPI tables (checksums, lengths, the MADT's one
 *    entry per possible vCPU with its APIC ID and flags) and the MP
 *    table (checksums, one processor entry per started vCPU, an I/O
 *    APIC ID above them all), or its refusal when IDs exceed 8 bits;
 *  - the arm64 DTB: fdt_check_full(), one cpu node per started vCPU
 *    and a cpu-map leaf pointing at each; then /chosen rewritten by
 *    boot-linux-arm64 (arm64_chosen_update) and checked again;
 *  - the arm64 PPTT: checksum 0 mod 256, nodes inside the table, every
 *    parent offset at a node before its child, one leaf per vCPU.
 *
 * Input: a byte of "given" flags for cpus, maxcpus, sockets, dies,
 * clusters, cores, threads; their values (cpus and maxcpus 16-bit, the
 * levels 8-bit); then RAM and initrd sizes; the rest is the bootargs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "../../plugins/arch-aarch64/arm64.h"
#include "../../plugins/arch-aarch64/layout.h"
#include "../../plugins/boot-linux-arm64/image.h"
#include "topology.h"
#if defined(__x86_64__)
#include "../../plugins/arch-x86_64/acpi.h"
#include "../../plugins/arch-x86_64/apicid.h"
#include "../../plugins/arch-x86_64/mptable.h"
#endif

#include "fuzz.h"

#define X86_MAX_CPUS 1024u /* plugins/arch-x86_64/plugin.c */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_stderr();
	return 0;
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

#if defined(__x86_64__)
/* An ACPI table at off: inside the buffer, its bytes sum to 0. */
static uint32_t check_acpi_table(const uint8_t *buf, size_t size, size_t off,
				 const char *sig)
{
	uint32_t len;

	FUZZ_CHECK(off + 36 <= size, "%s header at %zu past %zu", sig, off,
		   size);
	FUZZ_CHECK(memcmp(buf + off, sig, 4) == 0, "%s signature", sig);
	len = le32(buf + off + 4);
	FUZZ_CHECK(len >= 36 && off + len <= size, "%s length %u at %zu of %zu",
		   sig, len, off, size);
	FUZZ_CHECK(sum8(buf + off, len) == 0, "%s checksum", sig);
	return len;
}

static void check_acpi(const struct modvm_topology *t, const uint32_t *ids)
{
	struct acpi_params p = { ids, t->cpus, t->maxcpus };
	size_t size = acpi_size(&p), off, end;
	struct acpi_layout l;
	uint8_t *buf = malloc(size);
	uint32_t cpus = 0, enabled = 0, len, ioapic = 0;
	int ret;

	FUZZ_CHECK(buf, "malloc %zu", size);
	FUZZ_CHECK(acpi_build(buf, size - 1, X86_ACPI_BASE, &p, &l) == -ENOSPC,
		   "acpi_build into a buffer one byte short");
	ret = acpi_build(buf, size, X86_ACPI_BASE, &p, &l);
	FUZZ_CHECK(ret == 0, "acpi_build: %d", ret);
	FUZZ_CHECK(l.size == size, "layout size %zu, acpi_size %zu", l.size,
		   size);
	FUZZ_CHECK(memcmp(buf + l.rsdp, "RSD PTR ", 8) == 0, "RSDP signature");
	FUZZ_CHECK(sum8(buf + l.rsdp, 20) == 0 && sum8(buf + l.rsdp, 36) == 0,
		   "RSDP checksums");
	FUZZ_CHECK(le64(buf + l.rsdp + 24) == X86_ACPI_BASE + l.xsdt,
		   "RSDP -> XSDT");
	len = check_acpi_table(buf, size, l.xsdt, "XSDT");
	FUZZ_CHECK(len == 36 + 16 &&
			   le64(buf + l.xsdt + 36) == X86_ACPI_BASE + l.fadt &&
			   le64(buf + l.xsdt + 44) == X86_ACPI_BASE + l.madt,
		   "XSDT entries");
	check_acpi_table(buf, size, l.fadt, "FACP");
	check_acpi_table(buf, size, l.dsdt, "DSDT");
	len = check_acpi_table(buf, size, l.madt, "APIC");
	FUZZ_CHECK(l.madt + len == size, "MADT does not end the buffer");

	/* The MADT's interrupt controller structures. */
	end = l.madt + len;
	for (off = l.madt + 44; off < end;) {
		uint8_t type = buf[off], elen = buf[off + 1];
		uint32_t id, uid, flags;

		FUZZ_CHECK(elen >= 2 && off + elen <= end,
			   "MADT entry at %zu, length %u", off, elen);
		if (type == 0 || type == 9) {
			bool x2 = type == 9;

			id = x2 ? le32(buf + off + 4) : buf[off + 3];
			uid = x2 ? le32(buf + off + 12) : buf[off + 2];
			flags = le32(buf + off + (x2 ? 8 : 4));
			FUZZ_CHECK(cpus < t->maxcpus, "more CPU entries than %u",
				   t->maxcpus);
			FUZZ_CHECK(id == ids[cpus], "vCPU %u: APIC ID %u, want %u",
				   cpus, id, ids[cpus]);
			FUZZ_CHECK(x2 == (ids[cpus] > X86_XAPIC_MAX_ID),
				   "vCPU %u: entry type %u for APIC ID %u", cpus,
				   type, id);
			FUZZ_CHECK(uid == cpus, "vCPU %u has processor UID %u",
				   cpus, uid);
			FUZZ_CHECK(flags == (cpus < t->cpus ? 1u : 2u),
				   "vCPU %u flags %#x", cpus, flags);
			enabled += flags & 1;
			cpus++;
		} else if (type == 1) {
			ioapic++;
		}
		off += elen;
	}
	FUZZ_CHECK(cpus == t->maxcpus && enabled == t->cpus,
		   "MADT: %u CPUs, %u enabled; want %u, %u", cpus, enabled,
		   t->maxcpus, t->cpus);
	FUZZ_CHECK(ioapic == 1, "%u I/O APICs", ioapic);
	free(buf);
}

static void check_mptable(const struct modvm_topology *t, const uint32_t *ids)
{
	struct mptable_params p = { .apic_ids = ids, .cpus = t->cpus,
				    .cpu_signature = 0x806f8,
				    .cpu_features = 0x178bfbff };
	struct mptable_layout l;
	size_t size = mptable_size(&p);
	uint32_t max = 0, procs = 0;
	char why[256] = "";
	uint8_t *buf, *at;
	uint16_t len;
	int ret;

	for (uint32_t i = 0; i < t->cpus; i++)
		max = ids[i] > max ? ids[i] : max;
	ret = mptable_check(&p, why, sizeof(why));
	FUZZ_CHECK((ret == 0) == (max < X86_XAPIC_MAX_ID),
		   "mptable_check %d for highest APIC ID %u", ret, max);
	FUZZ_CHECK(ret == 0 || why[0], "mptable_check refused without why");
	buf = malloc(size);
	FUZZ_CHECK(buf, "malloc");
	if (ret) {
		FUZZ_CHECK(mptable_build(buf, size, X86_MPTABLE_BASE, &p, &l) ==
				   -ERANGE,
			   "mptable_build of a refused topology");
		free(buf);
		return;
	}
	FUZZ_CHECK(size <= X86_MPTABLE_MAX_SIZE, "MP table of %zu bytes", size);
	ret = mptable_build(buf, size, X86_MPTABLE_BASE, &p, &l);
	FUZZ_CHECK(ret == 0, "mptable_build: %d", ret);
	FUZZ_CHECK(l.size == size && l.floating == 0 && l.config == 16,
		   "layout");
	FUZZ_CHECK(memcmp(buf, "_MP_", 4) == 0 && sum8(buf, 16) == 0,
		   "floating pointer");
	FUZZ_CHECK(le32(buf + 4) == X86_MPTABLE_BASE + 16, "-> config table");
	FUZZ_CHECK(memcmp(buf + 16, "PCMP", 4) == 0, "config signature");
	len = le16(buf + 20);
	FUZZ_CHECK(16u + len == size && sum8(buf + 16, len) == 0,
		   "config length %u checksum", len);
	FUZZ_CHECK(le16(buf + 16 + 34) == l.entries, "entry count");
	at = buf + 16 + 44;
	for (unsigned i = 0; i < l.entries; i++) {
		FUZZ_CHECK(at < buf + size, "entry %u past the end", i);
		if (at[0] == 0) {
			FUZZ_CHECK(procs < t->cpus && at[1] == ids[procs],
				   "processor %u APIC ID %u", procs, at[1]);
			procs++;
			at += 20;
		} else {
			if (at[0] == 2)
				FUZZ_CHECK(at[1] == l.ioapic_id && at[1] > max,
					   "I/O APIC ID %u, highest CPU %u",
					   at[1], max);
			at += 8;
		}
	}
	FUZZ_CHECK(at == buf + size && procs == t->cpus,
		   "%u processor entries for %u vCPUs", procs, t->cpus);
	free(buf);
}

static void check_x86(const struct modvm_topology *t)
{
	struct x86_apic_layout al = x86_apic_layout(t);
	uint32_t *ids = calloc(t->maxcpus, sizeof(*ids));

	FUZZ_CHECK(ids, "calloc");
	FUZZ_CHECK(al.bits <= 32, "%u APIC ID bits for %u vCPUs", al.bits,
		   t->maxcpus);
	for (uint32_t i = 0; i < t->maxcpus; i++) {
		ids[i] = x86_apic_id(t, i);
		FUZZ_CHECK(i == 0 || ids[i] > ids[i - 1],
			   "APIC IDs not increasing at vCPU %u: %u after %u", i,
			   ids[i], ids[i - 1]);
	}
	check_acpi(t, ids);
	check_mptable(t, ids);
	free(ids);
}
#endif

/*
 * Linux's cpu-map walk, simplified: every leaf sits at the last level
 * and names a cpu node (cpu_of: phandle - ARM64_PHANDLE_CPU0 -> found),
 * each one once.
 */
static unsigned check_cpu_map(const void *fdt, int node, int depth,
			      int levels, uint8_t *cpu_of, uint32_t n_cpus)
{
	unsigned leaves = 0;
	int child, len;
	const fdt32_t *cpu = fdt_getprop(fdt, node, "cpu", &len);

	if (cpu) {
		uint32_t ph = len == 4 ? fdt32_to_cpu(*cpu) : 0;
		uint32_t i = ph - ARM64_PHANDLE_CPU0;

		FUZZ_CHECK(len == 4 && depth == levels,
			   "cpu-map leaf at depth %d of %d", depth, levels);
		FUZZ_CHECK(ph >= ARM64_PHANDLE_CPU0 && i < n_cpus &&
				   cpu_of[i] == 1,
			   "cpu-map points at phandle %u: no cpu node, or "
			   "named twice", ph);
		cpu_of[i] = 2;
		return 1;
	}
	FUZZ_CHECK(depth < levels, "cpu-map node at depth %d without cpu",
		   depth);
	fdt_for_each_subnode(child, fdt, node)
		leaves += check_cpu_map(fdt, child, depth + 1, levels, cpu_of,
					n_cpus);
	return leaves;
}

static void check_dtb_cpus(const void *fdt, const struct modvm_topology *t)
{
	int cpus = fdt_path_offset(fdt, "/cpus"), map, node;
	uint8_t *cpu_of = calloc(t->cpus, 1);
	unsigned n = 0;

	FUZZ_CHECK(cpu_of, "calloc");
	FUZZ_CHECK(cpus >= 0, "/cpus: %s", fdt_strerror(cpus));
	fdt_for_each_subnode(node, fdt, cpus) {
		const char *name = fdt_get_name(fdt, node, NULL);
		uint32_t i = fdt_get_phandle(fdt, node) - ARM64_PHANDLE_CPU0;

		if (!name || strncmp(name, "cpu@", 4) != 0)
			continue;
		FUZZ_CHECK(i < t->cpus && !cpu_of[i],
			   "%s: phandle %u", name, i + ARM64_PHANDLE_CPU0);
		cpu_of[i] = 1;
		n++;
	}
	FUZZ_CHECK(n == t->cpus, "%u cpu nodes for %u vCPUs", n, t->cpus);
	map = fdt_subnode_offset(fdt, cpus, "cpu-map");
	FUZZ_CHECK(map >= 0, "cpu-map: %s", fdt_strerror(map));
	n = check_cpu_map(fdt, map, 0, t->threads > 1 ? 4 : 3, cpu_of,
			  t->cpus);
	FUZZ_CHECK(n == t->cpus, "%u cpu-map leaves for %u vCPUs", n, t->cpus);
	free(cpu_of);
}

static void check_dtb(const struct modvm_topology *t, uint64_t ram_size,
		      uint64_t initrd_size, const char *bootargs)
{
	uint64_t *mpidr = calloc(t->maxcpus, sizeof(*mpidr));
	struct arm64_fdt_params p = {
		.topo = t, .mpidr = mpidr, .ram_base = ARM64_RAM_BASE,
		.ram_size = ram_size, .bootargs = bootargs,
		.initrd_start = ARM64_RAM_BASE + 0x8000000,
		.initrd_size = initrd_size,
	};
	static void *big;
	void *fdt;
	size_t size;
	int ret;

	FUZZ_CHECK(mpidr, "calloc");
	for (uint32_t i = 0; i < t->maxcpus; i++)
		mpidr[i] = arm64_default_mpidr(i);
	ret = arm64_fdt_build(&fdt, &size, &p);
	FUZZ_CHECK(ret == 0 || (ret == -E2BIG && strlen(bootargs) > 0x100000),
		   "arm64_fdt_build: %d", ret);
	free(mpidr);
	if (ret)
		return;
	FUZZ_CHECK(size == fdt_totalsize(fdt) && size <= ARM64_FDT_MAX_SIZE,
		   "size %zu", size);
	ret = fdt_check_full(fdt, size);
	FUZZ_CHECK(ret == 0, "fdt_check_full: %s", fdt_strerror(ret));
	check_dtb_cpus(fdt, t);

	/* boot-linux-arm64 rewrites /chosen in a buffer of the max size. */
	/* Allocated once: 2 MiB per input would dominate the run time. */
	if (!big)
		big = malloc(ARM64_FDT_MAX_SIZE);
	FUZZ_CHECK(big, "malloc");
	memcpy(big, fdt, size);
	free(fdt);
	ret = arm64_chosen_update(big, ARM64_FDT_MAX_SIZE,
				  initrd_size & 1 ? NULL : bootargs,
				  ARM64_RAM_BASE + 0x10000000, initrd_size / 2);
	if (ret == 0) {
		ret = fdt_check_full(big, fdt_totalsize(big));
		FUZZ_CHECK(ret == 0, "after arm64_chosen_update: %s",
			   fdt_strerror(ret));
		check_dtb_cpus(big, t);
	} else {
		FUZZ_CHECK(ret == -FDT_ERR_NOSPACE,
			   "arm64_chosen_update: %s", fdt_strerror(ret));
	}
}

static void check_pptt(const struct modvm_topology *t)
{
	uint32_t leaves = 0, packages = 0, length;
	size_t size;
	uint8_t *tab, *is_node;
	void *out;
	int ret;

	ret = arm64_pptt_build(&out, &size, t);
	FUZZ_CHECK(ret == 0, "arm64_pptt_build: %d", ret);
	tab = out;
	FUZZ_CHECK(size == arm64_pptt_size(t) && size >= 36, "size %zu", size);
	length = le32(tab + 4);
	FUZZ_CHECK(memcmp(tab, "PPTT", 4) == 0 && length == size,
		   "header length %u of %zu", length, size);
	FUZZ_CHECK(sum8(tab, size) == 0, "checksum");
	is_node = calloc(1, size);
	FUZZ_CHECK(is_node, "calloc");
	for (size_t off = 36; off < size;) {
		uint32_t flags, parent, id;

		FUZZ_CHECK(off + 2 <= size && tab[off] == 0 && tab[off + 1] == 20 &&
				   off + 20 <= size,
			   "node at %zu: type %u length %u", off, tab[off],
			   tab[off + 1]);
		flags = le32(tab + off + 4);
		parent = le32(tab + off + 8);
		id = le32(tab + off + 12);
		FUZZ_CHECK(le32(tab + off + 16) == 0, "private resources");
		if (parent) {
			FUZZ_CHECK(parent < off && is_node[parent],
				   "node at %zu: parent %u is no earlier node",
				   off, parent);
			FUZZ_CHECK(!(le32(tab + parent + 4) & (1u << 3)),
				   "node at %zu: parent %u is a leaf", off,
				   parent);
		} else {
			FUZZ_CHECK(flags & 1u, "root at %zu not a package", off);
			packages++;
		}
		if (flags & (1u << 3)) {
			FUZZ_CHECK(id == leaves && (flags & 2u),
				   "leaf %u has ID %u flags %#x", leaves, id,
				   flags);
			leaves++;
		}
		is_node[off] = 1;
		off += 20;
	}
	FUZZ_CHECK(leaves == t->maxcpus && packages == t->sockets,
		   "%u leaves, %u packages for %u vCPUs, %u sockets", leaves,
		   packages, t->maxcpus, t->sockets);
	free(is_node);
	free(out);
}

/* Resolve the request against an arch; false when [smp] would refuse. */
static bool resolve(const struct smp_request *req, const char *arch,
		    uint32_t levels, uint32_t max, struct modvm_topology *t)
{
	const struct topology_arch a = { arch, levels, max };
	const char *key;
	char err[512];

	return topology_resolve(req, &a, t, err, sizeof(err), &key) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct smp_request req = { 0 };
	struct modvm_topology t;
	uint8_t given = fuzz_u8(&in);
	uint64_t ram_size, initrd_size;
	char *bootargs;

	for (int k = 0; k < SMP_N_KEYS; k++) {
		req.given[k] = given & (1u << k);
		req.value[k] = k == SMP_CPUS || k == SMP_MAXCPUS
				       ? fuzz_u16(&in)
				       : fuzz_u8(&in);
	}
	ram_size = (uint64_t)(fuzz_u16(&in) + 1) << 20;
	initrd_size = fuzz_u32(&in);
	bootargs = strndup((const char *)in.p, in.left);
	FUZZ_CHECK(bootargs, "strndup");

#if defined(__x86_64__)
	if (resolve(&req, "arch-x86_64", MODVM_TOPO_DIES | MODVM_TOPO_CLUSTERS,
		    X86_MAX_CPUS, &t))
		check_x86(&t);
#endif
	if (resolve(&req, "arch-aarch64", MODVM_TOPO_CLUSTERS, ARM64_MAX_CPUS,
		    &t)) {
		check_dtb(&t, ram_size, initrd_size, bootargs);
		check_pptt(&t);
	}
	free(bootargs);
	return 0;
}
