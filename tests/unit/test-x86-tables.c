/* SPDX-License-Identifier: MIT */
/*
 * arch-x86_64's machine description: the ACPI tables (RSDP, XSDT,
 * FADT, DSDT, MADT) and the MP table, checked field by field at the
 * byte offsets the specs give, for several topologies: sparse APIC IDs
 * (2 sockets x 3 cores), hot-plug (4 of 8 vCPUs started), x2APIC IDs
 * above 254. Then `iasl -d` decodes every ACPI table without a
 * complaint and compiles its own output back to the same bytes.
 * Without iasl those checks are skipped and the program exits 77.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "acpi.h"
#include "apicid.h"
#include "fake-host.h"
#include "helpers.h"
#include "mptable.h"
#include "state.h"

/* ---- topologies and their APIC IDs (TOPOLOGY.md, x86: APIC IDs) ------- */

struct topo {
	const char *name;
	uint32_t cpus, maxcpus;
	uint32_t ids[8];
};

static const struct topo one_cpu = { "1 vCPU", 1, 1, { 0 } };
/* 2 sockets x 3 cores: the core field is 2 bits wide, so ID 3 is unused. */
static const struct topo sparse = { "2s3c", 6, 6, { 0, 1, 2, 4, 5, 6 } };
/* 1 socket x 8 cores, 4 started: 4 enabled + 4 online-capable. */
static const struct topo hotplug = { "cpus=4,maxcpus=8", 4, 8,
				     { 0, 1, 2, 3, 4, 5, 6, 7 } };
/* 1 socket x 3 cores x 2 threads. */
static const struct topo smt = { "1s3c2t", 6, 6, { 0, 1, 2, 3, 4, 5 } };

/* 2 sockets x 200 cores: socket 1's IDs start at 256, beyond xAPIC. */
#define WIDE_CPUS 400u
static uint32_t wide_ids[WIDE_CPUS];

static void make_wide(void)
{
	for (uint32_t i = 0; i < WIDE_CPUS; i++)
		wide_ids[i] = (i / 200) << 8 | (i % 200);
}

/* ---- reading bytes as the specs lay them out ----------------------------- */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* A built set of ACPI tables; base is where the guest sees byte 0. */
struct acpi {
	uint8_t *buf;
	struct acpi_layout l;
	uint64_t base;
};

static struct acpi build_acpi(const uint32_t *ids, uint32_t cpus,
			      uint32_t maxcpus)
{
	struct acpi_params p = { ids, cpus, maxcpus };
	struct acpi a = { .base = X86_ACPI_BASE };
	size_t size = acpi_size(&p);

	a.buf = calloc(1, size);
	assert_non_null(a.buf);
	assert_int_equal(acpi_build(a.buf, size, a.base, &p, &a.l), 0);
	assert_int_equal(a.l.size, size);
	return a;
}

/* The table at guest address gpa: checks its header (ACPI 6.4 5.2.6). */
static const uint8_t *table_at(const struct acpi *a, uint64_t gpa,
			       const char *sig, uint8_t revision)
{
	const uint8_t *t;

	assert_true(gpa >= a->base && gpa < a->base + a->l.size);
	assert_int_equal(gpa % 8, 0);
	t = a->buf + (gpa - a->base);
	assert_memory_equal(t, sig, 4);
	assert_true(gpa - a->base + get32(t + 4) <= a->l.size);
	assert_int_equal(t[8], revision);
	assert_int_equal(sum(t, get32(t + 4)), 0);
	assert_memory_equal(t + 10, "MODVM ", 6);
	return t;
}

/* MADT entries (ACPI 6.4 5.2.12): type and length lead each one. */
struct madt_summary {
	uint32_t n_lapic, n_x2apic, n_ioapic, n_iso, n_nmi, n_x2nmi;
	uint32_t apic_id[WIDE_CPUS], uid[WIDE_CPUS], flags[WIDE_CPUS];
	uint32_t n_cpus;
	uint8_t ioapic_id;
	uint32_t ioapic_addr, ioapic_gsi_base;
	uint8_t iso_source;
	uint32_t iso_gsi;
};

static void read_madt(const uint8_t *m, struct madt_summary *s)
{
	uint32_t len = get32(m + 4);

	memset(s, 0, sizeof(*s));
	assert_int_equal(get32(m + 36), 0xfee00000u); /* local APIC address */
	assert_int_equal(get32(m + 40), 1u);          /* PCAT_COMPAT */
	for (uint32_t off = 44; off < len; off += m[off + 1]) {
		const uint8_t *e = m + off;

		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0: /* Processor Local APIC, 8 bytes */
			assert_int_equal(e[1], 8);
			s->uid[s->n_cpus] = e[2];
			s->apic_id[s->n_cpus] = e[3];
			s->flags[s->n_cpus++] = get32(e + 4);
			s->n_lapic++;
			break;
		case 1: /* I/O APIC, 12 bytes */
			assert_int_equal(e[1], 12);
			s->ioapic_id = e[2];
			s->ioapic_addr = get32(e + 4);
			s->ioapic_gsi_base = get32(e + 8);
			s->n_ioapic++;
			break;
		case 2: /* Interrupt Source Override, 10 bytes */
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0); /* ISA */
			s->iso_source = e[3];
			s->iso_gsi = get32(e + 4);
			s->n_iso++;
			break;
		case 4: /* Local APIC NMI, 6 bytes: all CPUs, LINT1 */
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);
			s->n_nmi++;
			break;
		case 9: /* Processor Local x2APIC, 16 bytes */
			assert_int_equal(e[1], 16);
			s->apic_id[s->n_cpus] = get32(e + 4);
			s->flags[s->n_cpus] = get32(e + 8);
			s->uid[s->n_cpus++] = get32(e + 12);
			s->n_x2apic++;
			break;
		case 10: /* Local x2APIC NMI, 12 bytes */
			assert_int_equal(e[1], 12);
			assert_int_equal(get32(e + 4), 0xffffffffu);
			assert_int_equal(e[8], 1);
			s->n_x2nmi++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
}

static const uint8_t *madt_of(const struct acpi *a)
{
	const uint8_t *xsdt = table_at(a, a->base + a->l.xsdt, "XSDT", 1);

	return table_at(a, get64(xsdt + 44), "APIC", 5);
}

/* ---- ACPI ---------------------------------------------------------------- */

static void test_rsdp_checksums_and_points_at_the_xsdt(void **unused)
{
	struct acpi a = build_acpi(sparse.ids, sparse.cpus, sparse.maxcpus);
	const uint8_t *r = a.buf;

	(void)unused;
	/* ACPI 6.4 5.2.5.3: 16-byte aligned in 0xe0000-0xfffff. */
	assert_int_equal(a.base + a.l.rsdp, 0xe0000);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0);   /* ACPI 1.0 checksum */
	assert_int_equal(r[15], 2);        /* revision */
	assert_int_equal(get32(r + 20), 36);
	assert_int_equal(sum(r, 36), 0);   /* extended checksum */
	assert_int_equal(get64(r + 24), a.base + a.l.xsdt);
	free(a.buf);
}

static void test_xsdt_lists_the_fadt_and_the_madt(void **unused)
{
	struct acpi a = build_acpi(one_cpu.ids, 1, 1);
	const uint8_t *x = table_at(&a, a.base + a.l.xsdt, "XSDT", 1);

	(void)unused;
	assert_int_equal(get32(x + 4), 36 + 2 * 8);
	table_at(&a, get64(x + 36), "FACP", 6);
	table_at(&a, get64(x + 44), "APIC", 5);
	free(a.buf);
}

/* Device (NAME) with Name (_HID, EisaId) right after its name. */
static void expect_device(const uint8_t *dsdt, const char *name,
			  uint32_t eisa_id)
{
	const uint8_t *d = memmem(dsdt, get32(dsdt + 4), name, 4);

	assert_non_null(d);
	assert_int_equal(d[-3], 0x5b); /* DeviceOp */
	assert_int_equal(d[-2], 0x82);
	assert_int_equal(d[4], 0x08);  /* NameOp */
	assert_memory_equal(d + 5, "_HID", 4);
	assert_int_equal(d[9], 0x0c);  /* DWordConst */
	assert_int_equal(get32(d + 10), eisa_id);
}

static void test_fadt_is_hardware_reduced_with_a_dsdt(void **unused)
{
	struct acpi a = build_acpi(one_cpu.ids, 1, 1);
	const uint8_t *f = table_at(&a, a.base + a.l.fadt, "FACP", 6);
	const uint8_t *d, *pevt;

	(void)unused;
	assert_int_equal(get32(f + 4), 276);      /* ACPI 6.x FADT */
	assert_true(get32(f + 112) & (1u << 20)); /* HW_REDUCED_ACPI */
	/* IA-PC boot flags: 8042, no VGA, no MSI, no CMOS RTC. */
	assert_int_equal(get16(f + 109), 0x2e);
	assert_int_equal(f[131], 4);              /* FADT minor version */
	assert_int_equal(get32(f + 76), 0);       /* no PM timer */
	assert_int_equal(get16(f + 46), 0);       /* no SCI */
	assert_int_equal(get64(f + 140), get32(f + 40)); /* X_DSDT = DSDT */
	d = table_at(&a, get64(f + 140), "DSDT", 2);
	/* Scope (\_SB) { Device (COM1) {...} (PS2K) {...} (PEVT) {...} } */
	assert_int_equal(d[36], 0x10);
	assert_memory_equal(d + 39, "_SB_", 4);
	expect_device(d, "COM1", 0x0105d041u); /* EisaId ("PNP0501") */
	expect_device(d, "PS2K", 0x0303d041u); /* EisaId ("PNP0303") */
	/* Device (PEVT): Name (_HID, "QEMU0001"), IO 0x505 for pvpanic. */
	pevt = memmem(d, get32(d + 4), "PEVT", 4);
	assert_non_null(pevt);
	assert_memory_equal(pevt + 4, "\x08_HID\x0dQEMU0001", 15);
	assert_memory_equal(pevt + 19, "\x08_CRS", 5);
	assert_memory_equal(pevt + 28, "\x47\x01\x05\x05\x05\x05\x01\x01", 8);
	free(a.buf);
}

static void test_madt_one_cpu(void **unused)
{
	struct acpi a = build_acpi(one_cpu.ids, 1, 1);
	struct madt_summary s;

	(void)unused;
	read_madt(madt_of(&a), &s);
	assert_int_equal(s.n_lapic, 1);
	assert_int_equal(s.apic_id[0], 0);
	assert_int_equal(s.flags[0], 1);
	assert_int_equal(s.n_ioapic, 1);
	assert_int_equal(s.ioapic_id, 1);
	assert_int_equal(s.ioapic_addr, 0xfec00000u);
	assert_int_equal(s.ioapic_gsi_base, 0);
	/* The PIT's IRQ 0 arrives on GSI 2. */
	assert_int_equal(s.n_iso, 1);
	assert_int_equal(s.iso_source, 0);
	assert_int_equal(s.iso_gsi, 2);
	assert_int_equal(s.n_nmi, 1);
	assert_int_equal(s.n_x2apic + s.n_x2nmi, 0);
	free(a.buf);
}

/* Every vCPU appears with its APIC ID and its index as processor UID. */
static void expect_cpus(const struct madt_summary *s, const struct topo *t)
{
	assert_int_equal(s->n_cpus, t->maxcpus);
	for (uint32_t i = 0; i < t->maxcpus; i++) {
		assert_int_equal(s->apic_id[i], t->ids[i]);
		assert_int_equal(s->uid[i], i);
		/* Enabled (bit 0), or online-capable (bit 1, MADT rev 5). */
		assert_int_equal(s->flags[i], i < t->cpus ? 1u : 2u);
	}
}

static void test_madt_sparse_apic_ids(void **unused)
{
	const struct topo *topos[] = { &sparse, &smt };

	(void)unused;
	for (size_t k = 0; k < 2; k++) {
		const struct topo *t = topos[k];
		struct acpi a = build_acpi(t->ids, t->cpus, t->maxcpus);
		struct madt_summary s;

		read_madt(madt_of(&a), &s);
		expect_cpus(&s, t);
		/* The I/O APIC's ID is above every CPU's. */
		assert_int_equal(s.ioapic_id, t->ids[t->maxcpus - 1] + 1);
		free(a.buf);
	}
}

static void test_madt_hotplug_cpus_are_online_capable(void **unused)
{
	struct acpi a = build_acpi(hotplug.ids, hotplug.cpus, hotplug.maxcpus);
	struct madt_summary s;

	(void)unused;
	read_madt(madt_of(&a), &s);
	expect_cpus(&s, &hotplug);
	assert_int_equal(s.n_lapic, 8);
	assert_int_equal(s.ioapic_id, 8);
	free(a.buf);
}

static void test_madt_x2apic_entries_above_254(void **unused)
{
	struct acpi a = build_acpi(wide_ids, 300, WIDE_CPUS);
	struct madt_summary s;

	(void)unused;
	read_madt(madt_of(&a), &s);
	assert_int_equal(s.n_lapic, 200);
	assert_int_equal(s.n_x2apic, 200);
	assert_int_equal(s.n_x2nmi, 1);
	assert_int_equal(s.n_cpus, WIDE_CPUS);
	for (uint32_t i = 0; i < WIDE_CPUS; i++) {
		assert_int_equal(s.apic_id[i], wide_ids[i]);
		assert_int_equal(s.uid[i], i);
		assert_int_equal(s.flags[i], i < 300 ? 1u : 2u);
	}
	assert_int_equal(s.apic_id[200], 256);
	/* No 8-bit I/O APIC ID is above 455: Linux takes 0. */
	assert_int_equal(s.ioapic_id, 0);
	free(a.buf);
}

static void test_acpi_build_refuses_a_short_buffer(void **unused)
{
	struct acpi_params p = { sparse.ids, sparse.cpus, sparse.maxcpus };
	struct acpi_layout l;
	uint8_t buf[256];

	(void)unused;
	assert_true(acpi_size(&p) > sizeof(buf));
	assert_int_equal(acpi_build(buf, sizeof(buf), X86_ACPI_BASE, &p, &l),
			 -ENOSPC);
	assert_int_equal(acpi_build(buf, sizeof(buf), X86_ACPI_BASE + 4, &p,
				    &l),
			 -EINVAL);
}

/* ---- guest RAM for the entry points -------------------------------------- */

static int fake_ram(void **state)
{
	(void)state;
	return fake_ram_map(1u << 20);
}

static int fake_ram_free(void **state)
{
	(void)state;
	fake_host_reset();
	return 0;
}

/* ---- iasl ------------------------------------------------------------------ */

static int iasl_missing = -1;

static bool have_iasl(void)
{
	if (iasl_missing < 0)
		iasl_missing = system("iasl -v >/dev/null 2>&1") != 0;
	return !iasl_missing;
}

/* The whole file dir/name.ext (text or binary), malloc'ed; "" if absent. */
static char *slurp(const char *dir, const char *name, const char *ext,
		   size_t *size_out)
{
	char *path, *data = NULL;
	size_t size = 0;
	FILE *f, *mem;
	int c;

	assert_true(asprintf(&path, "%s/%s.%s", dir, name, ext) > 0);
	f = fopen(path, "rb");
	free(path);
	mem = open_memstream(&data, &size);
	while (f && (c = fgetc(f)) != EOF)
		fputc(c, mem);
	fclose(mem);
	if (f)
		fclose(f);
	if (size_out)
		*size_out = size;
	return data;
}

/* Run cmd (malloc'ed, freed here) in a shell; its exit status. */
static int run(char *cmd)
{
	int status;

	assert_non_null(cmd);
	status = system(cmd);
	free(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* "iasl FLAGS NAME.EXT" in dir, its output in NAME.log. */
static char *iasl_cmd(const char *dir, const char *flags, const char *name,
		      const char *ext)
{
	char *cmd;

	assert_true(asprintf(&cmd, "cd '%s' && iasl %s %s.%s >%s.log 2>&1",
			     dir, flags, name, ext, name) > 0);
	return cmd;
}

/* iasl's ways of saying a table is wrong (seen on broken tables). */
static void expect_no_complaint(const char *what, const char *text)
{
	static const char *const bad[] = {
		"Incorrect", "Invalid", "Unknown", "****", "Warning", "Error",
		"error", "does not contain",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(text, bad[i]))
			fail_msg("iasl on %s says \"%s\":\n%s", what, bad[i],
				 text);
}

/*
 * Decode name.dat without a complaint; compile the decoded name.dsl
 * back and, when exact, compare: equal but for the checksum (byte 9)
 * and the compiler's ID and revision (bytes 28-35), which iasl writes.
 */
static void iasl_round_trip(const char *dir, const char *name, bool exact)
{
	size_t n_dat, n_aml;
	char *log, *dsl, *dat, *aml;

	assert_int_equal(run(iasl_cmd(dir, "-d", name, "dat")), 0);
	log = slurp(dir, name, "log", NULL);
	dsl = slurp(dir, name, "dsl", NULL);
	expect_no_complaint(name, log);
	expect_no_complaint(name, dsl);
	assert_true(strstr(log, "decoded") ||
		    strstr(log, "Disassembly completed"));
	free(log);
	free(dsl);

	assert_int_equal(run(iasl_cmd(dir, "", name, "dsl")), 0);
	dat = slurp(dir, name, "dat", &n_dat);
	aml = slurp(dir, name, "aml", &n_aml);
	assert_int_equal(n_aml, n_dat);
	for (size_t i = 0; exact && i < n_dat; i++)
		if (i != 9 && (i < 28 || i > 35) && dat[i] != aml[i])
			fail_msg("%s: byte %zu is %#x, iasl compiles %#x", name,
				 i, (uint8_t)dat[i], (uint8_t)aml[i]);
	free(dat);
	free(aml);
}

static char iasl_dir[64];

static int iasl_dir_make(void **state)
{
	(void)state;
	strcpy(iasl_dir, "/tmp/modvm-acpi-XXXXXX");
	return mkdtemp(iasl_dir) ? 0 : -1;
}

static int iasl_dir_remove(void **state)
{
	char *cmd;

	(void)state;
	if (asprintf(&cmd, "rm -rf '%s'", iasl_dir) < 0)
		return -1;
	return run(cmd) == 0 ? 0 : -1;
}

static void test_iasl_decodes_every_table(void **unused)
{
	const struct {
		const uint32_t *ids;
		uint32_t cpus, maxcpus;
	} cases[] = {
		{ one_cpu.ids, 1, 1 },
		{ sparse.ids, sparse.cpus, sparse.maxcpus },
		{ hotplug.ids, hotplug.cpus, hotplug.maxcpus },
		{ wide_ids, 300, WIDE_CPUS },
	};
	static const char *const names[] = { "xsdt", "facp", "dsdt", "apic" };

	(void)unused;
	if (!have_iasl())
		return; /* main() exits 77 and says why */
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct acpi a = build_acpi(cases[c].ids, cases[c].cpus,
					   cases[c].maxcpus);
		const char *failed = NULL;
		char *out = NULL, *want;
		size_t out_size = 0;
		FILE *mem = open_memstream(&out, &out_size);

		/* What modvm --check --dump=acpi:DIR does. */
		assert_int_equal(acpi_print(a.buf, &a.l, iasl_dir, mem, &failed),
				 0);
		fclose(mem);
		assert_true(asprintf(&want, "apic  %#07zx", a.base + a.l.madt) > 0);
		assert_non_null(strstr(out, want));
		free(want);
		free(out);
		free(a.buf);
		/*
		 * iasl 20200925 cannot read a lone RSDP (the tests above
		 * check it), and knows no online-capable bit in x2APIC
		 * entries: it compiles those flags back without it.
		 */
		for (size_t i = 0; i < 4; i++)
			iasl_round_trip(iasl_dir, names[i],
					cases[c].ids != wide_ids ||
						strcmp(names[i], "apic") != 0);
	}
}

/* ---- MP table --------------------------------------------------------------- */

struct mp {
	uint8_t *buf;
	struct mptable_layout l;
};

static struct mp build_mp(const uint32_t *ids, uint32_t cpus)
{
	struct mptable_params p = { ids, cpus, 0x00a00f11, 0x178bfbff };
	size_t size = mptable_size(&p);
	struct mp m;

	m.buf = calloc(1, size);
	assert_non_null(m.buf);
	assert_int_equal(mptable_build(m.buf, size, X86_MPTABLE_BASE, &p, &m.l),
			 0);
	assert_int_equal(m.l.size, size);
	return m;
}

static const uint8_t *mp_config(const struct mp *m)
{
	const uint8_t *fp = m->buf;
	const uint8_t *cfg;

	/* MP spec 4.1: floating pointer, 16 bytes, on a 16-byte boundary. */
	assert_memory_equal(fp, "_MP_", 4);
	assert_int_equal(fp[8], 1);  /* length in 16-byte units */
	assert_int_equal(fp[9], 4);  /* spec revision 1.4 */
	assert_int_equal(sum(fp, 16), 0);
	assert_int_equal(fp[11], 0); /* a configuration table is present */
	assert_int_equal(get32(fp + 4) % 4, 0);
	cfg = m->buf + (get32(fp + 4) - X86_MPTABLE_BASE);
	/* MP spec 4.2: header. */
	assert_memory_equal(cfg, "PCMP", 4);
	assert_int_equal(cfg[6], 4);
	assert_int_equal(sum(cfg, get16(cfg + 4)), 0);
	assert_int_equal(get32(cfg + 36), 0xfee00000u);
	assert_int_equal(get16(cfg + 40), 0); /* no extended table */
	return cfg;
}

static void test_mp_table_sparse_ids(void **unused)
{
	struct mp m = build_mp(sparse.ids, sparse.cpus);
	const uint8_t *cfg = mp_config(&m), *e = cfg + 44;
	uint32_t entries = get16(cfg + 34), n = 0, ioapic = 0;
	bool pin_used[16] = { false };

	(void)unused;
	/* 6 CPUs, bus, I/O APIC, ExtINT + 15 ISA IRQs, LINT0 + LINT1. */
	assert_int_equal(entries, 6 + 1 + 1 + 16 + 2);
	assert_int_equal(get16(cfg + 4), 44 + 6 * 20 + 20 * 8);
	/* MP spec 4.3.1: processors with their APIC IDs, BSP first. */
	for (uint32_t i = 0; i < sparse.cpus; i++, n++, e += 20) {
		assert_int_equal(e[0], 0);
		assert_int_equal(e[1], sparse.ids[i]);
		assert_int_equal(e[2], 0x14);
		assert_int_equal(e[3], i == 0 ? 3 : 1);
		assert_int_equal(get32(e + 4), 0x00a00f11);
		assert_int_equal(get32(e + 8), 0x178bfbff);
	}
	/* 4.3.2: the ISA bus. */
	assert_int_equal(e[0], 1);
	assert_memory_equal(e + 2, "ISA   ", 6);
	e += 8, n++;
	/* 4.3.3: the I/O APIC, above every CPU's APIC ID. */
	assert_int_equal(e[0], 2);
	ioapic = e[1];
	assert_int_equal(ioapic, 7);
	assert_int_equal(e[3], 1);
	assert_int_equal(get32(e + 4), 0xfec00000u);
	e += 8, n++;
	/* 4.3.4: ExtINT on pin 0, IRQ 0 on pin 2, the rest on their own. */
	assert_int_equal(e[0], 3);
	assert_int_equal(e[1], 3);
	assert_int_equal(e[7], 0);
	e += 8, n++;
	for (uint32_t irq = 0; irq < 16; irq++) {
		if (irq == 2)
			continue;
		assert_int_equal(e[0], 3);
		assert_int_equal(e[1], 0);    /* INT */
		assert_int_equal(get16(e + 2), 0);
		assert_int_equal(e[4], 0);    /* ISA bus */
		assert_int_equal(e[5], irq);
		assert_int_equal(e[6], ioapic);
		assert_int_equal(e[7], irq == 0 ? 2 : irq);
		assert_false(pin_used[e[7]]);
		pin_used[e[7]] = true;
		e += 8, n++;
	}
	/* 4.3.5: LINT0 ExtINT and LINT1 NMI on every local APIC. */
	assert_int_equal(e[0], 4);
	assert_int_equal(e[1], 3);
	assert_int_equal(e[6], 0xff);
	assert_int_equal(e[7], 0);
	assert_int_equal(e[8], 4);
	assert_int_equal(e[9], 1);
	assert_int_equal(e[14], 0xff);
	assert_int_equal(e[15], 1);
	n += 2;
	assert_int_equal(n, entries);
	free(m.buf);
}

static void test_mp_table_lists_started_cpus_only(void **unused)
{
	struct mp m = build_mp(hotplug.ids, hotplug.cpus);
	const uint8_t *cfg = mp_config(&m);

	(void)unused;
	assert_int_equal(get16(cfg + 34), 4 + 20);
	assert_int_equal(cfg[44 + 3 * 20 + 1], 3);
	assert_int_equal(m.l.ioapic_id, 4);
	free(m.buf);
}

static void test_mp_table_refuses_apic_ids_above_254(void **unused)
{
	struct mptable_params p = { wide_ids, 201, 0, 0 };
	char why[256];
	uint8_t buf[8192];
	struct mptable_layout l;

	(void)unused;
	assert_int_equal(mptable_check(&p, why, sizeof(why)), -ERANGE);
	assert_string_equal(why, "vCPU 200 has APIC ID 256, but the MP table "
				 "holds 8-bit APIC IDs up to 254; use tables = "
				 "acpi (the default) or fewer vCPUs");
	assert_int_equal(mptable_build(buf, sizeof(buf), X86_MPTABLE_BASE, &p,
				       &l),
			 -ERANGE);
	p.cpus = 200; /* IDs 0-199: fine */
	assert_int_equal(mptable_check(&p, why, sizeof(why)), 0);
}

static void test_mp_table_needs_room_for_the_ioapic_id(void **unused)
{
	uint32_t ids[2] = { 0, 254 };
	struct mptable_params p = { ids, 2, 0, 0 };
	char why[256];

	(void)unused;
	assert_int_equal(mptable_check(&p, why, sizeof(why)), -ERANGE);
	assert_string_equal(why, "the I/O APIC needs an ID above every vCPU's "
				 "APIC ID (the highest is 254), but the MP "
				 "table's IDs end at 254; use tables = acpi (the "
				 "default) or fewer vCPUs");
}

static void test_mp_print_names_every_entry(void **unused)
{
	struct mp m = build_mp(sparse.ids, sparse.cpus);
	char *out = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&out, &size);

	(void)unused;
	mptable_print(m.buf, &m.l, mem);
	fclose(mem);
	assert_non_null(strstr(out, "processor  APIC ID 0, enabled, BSP\n"));
	assert_non_null(strstr(out, "processor  APIC ID 6, enabled\n"));
	assert_non_null(strstr(out, "I/O APIC   ID 7 at 0xfec00000\n"));
	assert_non_null(strstr(out, "interrupt  INT    ISA IRQ  0 -> I/O APIC "
				    "7 pin 2\n"));
	assert_non_null(strstr(out, "local int  NMI    -> every local APIC, "
				    "LINT1\n"));
	free(out);
	free(m.buf);
}

/* ---- the arch plugin's entry points: [arch] tables ------------------------ */

static void set_topology(uint32_t sockets, uint32_t cores, uint32_t threads,
			 uint32_t cpus)
{
	fake.topo = (struct modvm_topology){
		.sockets = sockets, .dies = 1, .clusters = 1, .cores = cores,
		.threads = threads, .cpus = cpus,
		.maxcpus = sockets * cores * threads,
	};
}

static void test_hand_written_ids_are_the_vcpus_apic_ids(void **unused)
{
	const struct {
		const struct topo *t;
		uint32_t sockets, cores, threads;
	} cases[] = {
		{ &one_cpu, 1, 1, 1 },
		{ &sparse, 2, 3, 1 },
		{ &hotplug, 1, 8, 1 },
		{ &smt, 1, 3, 2 },
	};

	(void)unused;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		set_topology(cases[c].sockets, cases[c].cores, cases[c].threads,
			     cases[c].t->cpus);
		for (uint32_t i = 0; i < cases[c].t->maxcpus; i++)
			assert_int_equal(x86_apic_id(&fake.topo, i),
					 cases[c].t->ids[i]);
	}
	set_topology(2, 200, 1, 300);
	for (uint32_t i = 0; i < WIDE_CPUS; i++)
		assert_int_equal(x86_apic_id(&fake.topo, i), wide_ids[i]);
}

/* The arch plugin's state as its init leaves it. */
static struct x86_state arch_state(enum x86_tables tables)
{
	struct x86_state s = {
		.host = &fake_host, .topo = &fake.topo, .tables = tables,
	};

	return s;
}

static void test_tables_acpi(void **unused)
{
	struct x86_state s = arch_state(X86_TABLES_ACPI);
	struct acpi a;
	struct madt_summary m;

	(void)unused;
	set_topology(2, 3, 1, 6);
	assert_int_equal(x86_tables_check(&s), 0);
	assert_int_equal(x86_tables_describe(&s), 0);
	/* The guest's copy, read back from its RAM. */
	a.buf = fake.ram + X86_ACPI_BASE;
	a.base = X86_ACPI_BASE;
	a.l.size = X86_ACPI_MAX_SIZE;
	a.l.xsdt = get64(a.buf + 24) - X86_ACPI_BASE;
	read_madt(madt_of(&a), &m);
	expect_cpus(&m, &sparse);
	/* Byte for byte what acpi_build() makes, and nothing else. */
	a = build_acpi(sparse.ids, sparse.cpus, sparse.maxcpus);
	assert_memory_equal(fake.ram + X86_ACPI_BASE, a.buf, a.l.size);
	for (size_t i = 0; i < fake.ram_size; i++)
		if (i < X86_ACPI_BASE || i >= X86_ACPI_BASE + a.l.size)
			assert_int_equal(fake.ram[i], 0);
	free(a.buf);
}

static void test_tables_mptable(void **unused)
{
	struct x86_state s = arch_state(X86_TABLES_MPTABLE);

	(void)unused;
	set_topology(2, 3, 1, 6);
	assert_int_equal(x86_tables_check(&s), 0);
	assert_int_equal(x86_tables_describe(&s), 0);
	assert_memory_equal(fake.ram + X86_MPTABLE_BASE, "_MP_", 4);
	/* The fourth processor entry: vCPU 3, APIC ID 4. */
	assert_int_equal(fake.ram[X86_MPTABLE_BASE + 16 + 44 + 3 * 20 + 1], 4);
	assert_int_equal(fake.ram[X86_ACPI_BASE], 0);
}

static void test_tables_mptable_with_wide_apic_ids(void **unused)
{
	struct x86_state s = arch_state(X86_TABLES_MPTABLE);

	(void)unused;
	set_topology(2, 200, 1, 300);
	assert_int_equal(x86_tables_check(&s), -EINVAL);
	assert_string_equal(fake.error,
			    "tables: vCPU 200 has APIC ID 256, but the MP table "
			    "holds 8-bit APIC IDs up to 254; use tables = acpi "
			    "(the default) or fewer vCPUs");
	/* The same machine with ACPI is fine. */
	s.tables = X86_TABLES_ACPI;
	assert_int_equal(x86_tables_check(&s), 0);
}

static void test_tables_dump(void **unused)
{
	struct x86_state s = arch_state(X86_TABLES_ACPI);
	char *out = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&out, &size);

	(void)unused;
	set_topology(1, 2, 1, 2);
	assert_int_equal(x86_tables_dump(&s, "cpuid", NULL, mem), -ENOENT);
	assert_int_equal(x86_tables_dump(&s, "acpi", NULL, mem), 0);
	assert_int_equal(x86_tables_dump(&s, "mptable", NULL, mem), 0);
	fclose(mem);
	assert_non_null(strstr(out, "rsdp  0xe0000     36 bytes\n"));
	assert_non_null(strstr(out, "processor  APIC ID 1, enabled\n"));
	free(out);
	/* --dump=mptable of a machine the MP table cannot hold. */
	set_topology(2, 200, 1, 300);
	assert_int_equal(x86_tables_dump(&s, "mptable", NULL, stdout),
			 -ERANGE);
	assert_string_equal(fake.error,
			    "vCPU 200 has APIC ID 256, but the MP table holds "
			    "8-bit APIC IDs up to 254; use tables = acpi (the "
			    "default) or fewer vCPUs");
}

#define T(fn) cmocka_unit_test(fn)
#define TR(fn) cmocka_unit_test_setup_teardown(fn, fake_ram, fake_ram_free)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rsdp_checksums_and_points_at_the_xsdt),
		T(test_xsdt_lists_the_fadt_and_the_madt),
		T(test_fadt_is_hardware_reduced_with_a_dsdt),
		T(test_madt_one_cpu),
		T(test_madt_sparse_apic_ids),
		T(test_madt_hotplug_cpus_are_online_capable),
		T(test_madt_x2apic_entries_above_254),
		T(test_acpi_build_refuses_a_short_buffer),
		cmocka_unit_test_setup_teardown(test_iasl_decodes_every_table,
						iasl_dir_make, iasl_dir_remove),
		T(test_mp_table_sparse_ids),
		T(test_mp_table_lists_started_cpus_only),
		T(test_mp_table_refuses_apic_ids_above_254),
		T(test_mp_table_needs_room_for_the_ioapic_id),
		T(test_mp_print_names_every_entry),
		T(test_hand_written_ids_are_the_vcpus_apic_ids),
		TR(test_tables_acpi),
		TR(test_tables_mptable),
		TR(test_tables_mptable_with_wide_apic_ids),
		TR(test_tables_dump),
	};
	int failed;

	make_wide();
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (!failed && !have_iasl()) {
		fprintf(stderr, "iasl not found (apt-get install acpica-tools): "
				"the iasl checks were skipped\n");
		return 77;
	}
	return failed;
}
