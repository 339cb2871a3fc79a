/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for x86 guests (ACPI 6.4). The machine is "hardware
 * reduced" (FADT flag HW_REDUCED_ACPI, 5.2.9): no PM timer, no PM1
 * event/control blocks, no SCI, no FACS, which modvm has no devices
 * for. Linux then skips the legacy PIC and the PIT as timers and uses
 * the local APIC timer (TSC deadline) and kvmclock, as under Firecracker
 * and Cloud Hypervisor: the guest must find both in CPUID (leaf 1 ECX
 * bit 31 "hypervisor" with KVM's 0x40000000 leaves, and bit 24
 * TSC-deadline), or it has no timer and hangs right after "tsc: Marking
 * TSC unstable". The FADT's IA-PC boot flags say: an 8042 is there (the
 * i8042 plugin, for reboot), no VGA, no MSI (no PCI), no CMOS RTC. The
 * DSDT names COM1 and the 8042 with their IRQs (see dsdt_aml).
 *
 * Layout in the buffer, each table 16-byte aligned:
 *   RSDP (revision 2) -> XSDT -> { FADT -> DSDT, MADT }
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi.h"
#include "apicid.h"
#include "mptable.h"
#include "state.h"

#define OEM_ID "MODVM "     /* 6 bytes */
#define OEM_TABLE_ID "MODVMX86" /* 8 bytes */
#define CREATOR_ID "MDVM"
#define OEM_REVISION 1u
#define CREATOR_REVISION 1u

/* ACPI 6.4 5.2.6: the header every system description table starts with. */
struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI 6.4 table 5.4");

/* ACPI 6.4 5.2.5.3: the Root System Description Pointer, revision 2. */
struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;          /* over the first 20 bytes (ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "ACPI 6.4 table 5.3");
#define RSDP_V1_LENGTH 20u
#define RSDP_REVISION 2u

/* ACPI 6.4 5.2.3.2: Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

/* ACPI 6.4 5.2.9: Fixed ACPI Description Table, major version 6. */
struct acpi_fadt {
	struct acpi_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "ACPI 6.4 table 5.9");
#define FADT_REVISION 6u
#define FADT_MINOR_REVISION 4u

/* FADT Flags (ACPI 6.4 table 5.10). */
#define FADT_PWR_BUTTON (1u << 4)  /* no fixed power button */
#define FADT_SLP_BUTTON (1u << 5)  /* no fixed sleep button */
#define FADT_HW_REDUCED_ACPI (1u << 20)
/* IA-PC boot architecture flags (ACPI 6.4 table 5.11). */
#define BOOT_ARCH_8042 (1u << 1)
#define BOOT_ARCH_VGA_NOT_PRESENT (1u << 2)
#define BOOT_ARCH_MSI_NOT_SUPPORTED (1u << 3)
#define BOOT_ARCH_CMOS_RTC_NOT_PRESENT (1u << 5)

/* ACPI 6.4 5.2.12: Multiple APIC Description Table, revision 5. */
struct acpi_madt {
	struct acpi_header header;
	uint32_t local_apic_address;
	uint32_t flags;
} __attribute__((packed));
#define MADT_REVISION 5u /* online-capable needs 5 or later (6.3) */
#define MADT_PCAT_COMPAT (1u << 0)

/* MADT interrupt controller structure types (ACPI 6.4 table 5.21). */
enum {
	MADT_LOCAL_APIC = 0,
	MADT_IO_APIC = 1,
	MADT_INT_SRC_OVERRIDE = 2,
	MADT_LOCAL_APIC_NMI = 4,
	MADT_LOCAL_X2APIC = 9,
	MADT_LOCAL_X2APIC_NMI = 10,
};

/* Local APIC flags (ACPI 6.4 table 5.23), also in x2APIC entries. */
#define MADT_ENABLED (1u << 0)
#define MADT_ONLINE_CAPABLE (1u << 1)

/* ACPI 6.4 5.2.12.2, Processor Local APIC. */
struct madt_local_apic {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

/* ACPI 6.4 5.2.12.3, I/O APIC. */
struct madt_io_apic {
	uint8_t type;
	uint8_t length;
	uint8_t io_apic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

/* ACPI 6.4 5.2.12.5, Interrupt Source Override. */
struct madt_int_src_override {
	uint8_t type;
	uint8_t length;
	uint8_t bus; /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags; /* MPS INTI flags; 0: conforms to the bus */
} __attribute__((packed));

/* ACPI 6.4 5.2.12.7, Local APIC NMI. */
struct madt_local_apic_nmi {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid; /* 0xff: all processors */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

/* ACPI 6.4 5.2.12.12, Processor Local x2APIC. */
struct madt_local_x2apic {
	uint8_t type;
	uint8_t length;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t processor_uid;
} __attribute__((packed));

/* ACPI 6.4 5.2.12.13, Local x2APIC NMI. */
struct madt_local_x2apic_nmi {
	uint8_t type;
	uint8_t length;
	uint16_t flags;
	uint32_t processor_uid; /* 0xffffffff: all processors */
	uint8_t lint;
	uint8_t reserved[3];
} __attribute__((packed));

_Static_assert(sizeof(struct madt_local_apic) == 8, "ACPI 6.4 5.2.12.2");
_Static_assert(sizeof(struct madt_io_apic) == 12, "ACPI 6.4 5.2.12.3");
_Static_assert(sizeof(struct madt_int_src_override) == 10,
	       "ACPI 6.4 5.2.12.5");
_Static_assert(sizeof(struct madt_local_apic_nmi) == 6, "ACPI 6.4 5.2.12.7");
_Static_assert(sizeof(struct madt_local_x2apic) == 16, "ACPI 6.4 5.2.12.12");
_Static_assert(sizeof(struct madt_local_x2apic_nmi) == 12,
	       "ACPI 6.4 5.2.12.13");

/* The PIT's IRQ 0 is wired to I/O APIC pin 2, as in KVM's irqchip. */
#define ISA_TIMER_IRQ 0u
#define ISA_TIMER_GSI 2u
#define LINT1 1u

/*
 * The DSDT's AML (ACPI 6.4 chapter 20), byte for byte what iasl makes of
 *
 *   Scope (\_SB) {
 *     Device (COM1) {
 *       Name (_HID, EisaId ("PNP0501"))    // 16550A-compatible UART
 *       Name (_UID, Zero)
 *       Name (_CRS, ResourceTemplate () {
 *         IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08)
 *         IRQNoFlags () {4}
 *       })
 *     }
 *     Device (PS2K) {
 *       Name (_HID, EisaId ("PNP0303"))    // the i8042's keyboard port
 *       Name (_CRS, ResourceTemplate () {
 *         IO (Decode16, 0x0060, 0x0060, 0x00, 0x01)
 *         IO (Decode16, 0x0064, 0x0064, 0x00, 0x01)
 *         IRQNoFlags () {1}
 *       })
 *     }
 *     Device (PEVT) {
 *       Name (_HID, "QEMU0001")           // pvpanic, Linux's pvpanic-mmio
 *       Name (_CRS, ResourceTemplate () {
 *         IO (Decode16, 0x0505, 0x0505, 0x01, 0x01)
 *       })
 *     }
 *   }
 *
 * A hardware-reduced machine has no legacy PIC, so Linux maps no ISA
 * IRQ on its own: 8250_pnp and i8042 take their IRQ from these _CRS
 * (without PS2K the i8042 probe fails requesting IRQ 1). They match the
 * serial-8250 and i8042 plugins' defaults; PEVT is the pvpanic plugin's
 * default port (without that plugin the guest's panic write is merely an
 * unclaimed port access). Package lengths: one byte below 64, else two
 * (20.2.4).
 */
static const uint8_t dsdt_aml[] = {
	0x10, 0x4b, 0x08, '_', 'S', 'B', '_',          /* Scope, length 139 */
	0x5b, 0x82, 0x2b, 'C', 'O', 'M', '1',          /* Device, length 43 */
	0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01, /* PNP0501 */
	0x08, '_', 'U', 'I', 'D', 0x00,                /* Zero */
	0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a, 0x0d, /* Buffer (13) */
	0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08, /* IO (6.4.2.5) */
	0x22, 0x10, 0x00,                              /* IRQ 4 (6.4.2.1) */
	0x79, 0x00,                                    /* End tag (6.4.2.9) */
	0x5b, 0x82, 0x2d, 'P', 'S', '2', 'K',          /* Device, length 45 */
	0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x03, 0x03, /* PNP0303 */
	0x08, '_', 'C', 'R', 'S', 0x11, 0x18, 0x0a, 0x15, /* Buffer (21) */
	0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x00, 0x01, /* IO 0x60 */
	0x47, 0x01, 0x64, 0x00, 0x64, 0x00, 0x00, 0x01, /* IO 0x64 */
	0x22, 0x02, 0x00,                              /* IRQ 1 */
	0x79, 0x00,                                    /* End tag */
	0x5b, 0x82, 0x27, 'P', 'E', 'V', 'T',          /* Device, length 39 */
	0x08, '_', 'H', 'I', 'D', 0x0d,                /* String */
	'Q', 'E', 'M', 'U', '0', '0', '0', '1', 0x00,
	0x08, '_', 'C', 'R', 'S', 0x11, 0x0d, 0x0a, 0x0a, /* Buffer (10) */
	0x47, 0x01, 0x05, 0x05, 0x05, 0x05, 0x01, 0x01, /* IO 0x505 */
	0x79, 0x00,                                    /* End tag */
};
#define DSDT_REVISION 2u /* 64-bit AML integers */

static size_t align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)(0x100 - sum);
}

static void header_init(struct acpi_header *h, const char *signature,
			uint32_t length, uint8_t revision)
{
	memcpy(h->signature, signature, 4);
	h->length = length;
	h->revision = revision;
	h->checksum = 0;
	memcpy(h->oem_id, OEM_ID, 6);
	memcpy(h->oem_table_id, OEM_TABLE_ID, 8);
	h->oem_revision = OEM_REVISION;
	memcpy(h->creator_id, CREATOR_ID, 4);
	h->creator_revision = CREATOR_REVISION;
}

/* Checksum a finished table: all its bytes sum to zero (5.2.6). */
static void header_seal(struct acpi_header *h)
{
	h->checksum = acpi_checksum(h, h->length);
}

static bool has_x2apic(const struct acpi_params *p)
{
	for (uint32_t i = 0; i < p->maxcpus; i++)
		if (p->apic_ids[i] > X86_XAPIC_MAX_ID)
			return true;
	return false;
}

static size_t madt_size(const struct acpi_params *p)
{
	size_t n = sizeof(struct acpi_madt) + sizeof(struct madt_io_apic) +
		   sizeof(struct madt_int_src_override) +
		   sizeof(struct madt_local_apic_nmi);

	for (uint32_t i = 0; i < p->maxcpus; i++)
		n += p->apic_ids[i] > X86_XAPIC_MAX_ID
			     ? sizeof(struct madt_local_x2apic)
			     : sizeof(struct madt_local_apic);
	if (has_x2apic(p))
		n += sizeof(struct madt_local_x2apic_nmi);
	return n;
}

static void layout_of(const struct acpi_params *p, struct acpi_layout *l)
{
	l->rsdp = 0;
	l->xsdt = align16(l->rsdp + sizeof(struct acpi_rsdp));
	l->fadt = align16(l->xsdt + sizeof(struct acpi_header) +
			  2 * sizeof(uint64_t));
	l->dsdt = align16(l->fadt + sizeof(struct acpi_fadt));
	l->madt = align16(l->dsdt + sizeof(struct acpi_header) +
			  sizeof(dsdt_aml));
	l->size = l->madt + madt_size(p);
}

size_t acpi_size(const struct acpi_params *p)
{
	struct acpi_layout l;

	layout_of(p, &l);
	return l.size;
}

uint32_t acpi_ioapic_id(const uint32_t *apic_ids, uint32_t n)
{
	uint32_t max = 0;

	for (uint32_t i = 0; i < n; i++)
		if (apic_ids[i] > max)
			max = apic_ids[i];
	return max + 1 <= X86_XAPIC_MAX_ID ? max + 1 : 0;
}

static void build_rsdp(uint8_t *buf, const struct acpi_layout *l,
		       uint64_t base)
{
	struct acpi_rsdp *r = (struct acpi_rsdp *)(buf + l->rsdp);

	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, OEM_ID, 6);
	r->revision = RSDP_REVISION;
	r->rsdt_address = 0; /* XSDT only: every 64-bit OS reads it */
	r->length = sizeof(*r);
	r->xsdt_address = base + l->xsdt;
	r->checksum = acpi_checksum(r, RSDP_V1_LENGTH);
	r->extended_checksum = acpi_checksum(r, sizeof(*r));
}

/* ACPI 6.4 5.2.8: the XSDT lists the FADT and the MADT. */
static void build_xsdt(uint8_t *buf, const struct acpi_layout *l,
		       uint64_t base)
{
	struct acpi_header *h = (struct acpi_header *)(buf + l->xsdt);
	uint64_t entries[2] = { base + l->fadt, base + l->madt };

	header_init(h, "XSDT", sizeof(*h) + sizeof(entries), 1);
	memcpy(h + 1, entries, sizeof(entries));
	header_seal(h);
}

static void build_fadt(uint8_t *buf, const struct acpi_layout *l,
		       uint64_t base)
{
	struct acpi_fadt *f = (struct acpi_fadt *)(buf + l->fadt);

	header_init(&f->header, "FACP", sizeof(*f), FADT_REVISION);
	f->minor_version = FADT_MINOR_REVISION;
	f->flags = FADT_HW_REDUCED_ACPI | FADT_PWR_BUTTON | FADT_SLP_BUTTON;
	f->iapc_boot_arch = BOOT_ARCH_8042 | BOOT_ARCH_VGA_NOT_PRESENT |
			    BOOT_ARCH_MSI_NOT_SUPPORTED |
			    BOOT_ARCH_CMOS_RTC_NOT_PRESENT;
	/* Both DSDT pointers, equal: a 64-bit OS takes X_DSDT (5.2.9). */
	f->dsdt = (uint32_t)(base + l->dsdt);
	f->x_dsdt = base + l->dsdt;
	memcpy(f->hypervisor_vendor_id, "modvm\0\0\0", 8);
	header_seal(&f->header);
}

static void build_dsdt(uint8_t *buf, const struct acpi_layout *l)
{
	struct acpi_header *h = (struct acpi_header *)(buf + l->dsdt);

	header_init(h, "DSDT", sizeof(*h) + sizeof(dsdt_aml), DSDT_REVISION);
	memcpy(h + 1, dsdt_aml, sizeof(dsdt_aml));
	header_seal(h);
}

/*
 * One entry per possible vCPU in index order, ACPI processor UID =
 * linear index: local APIC entries for IDs up to 254, local x2APIC
 * entries above (ACPI 6.4 5.2.12.12: 0xff is the broadcast ID). vCPUs
 * from cpus on are online-capable instead of enabled, so Linux counts
 * them as possible CPUs for hot-plug.
 */
static uint8_t *madt_cpus(uint8_t *p, const struct acpi_params *prm)
{
	for (uint32_t i = 0; i < prm->maxcpus; i++) {
		uint32_t id = prm->apic_ids[i];
		uint32_t flags = i < prm->cpus ? MADT_ENABLED
					       : MADT_ONLINE_CAPABLE;

		if (id <= X86_XAPIC_MAX_ID) {
			struct madt_local_apic *e = (void *)p;

			e->type = MADT_LOCAL_APIC;
			e->length = sizeof(*e);
			e->processor_uid = (uint8_t)i; /* i <= id <= 254 */
			e->apic_id = (uint8_t)id;
			e->flags = flags;
			p += sizeof(*e);
		} else {
			struct madt_local_x2apic *e = (void *)p;

			e->type = MADT_LOCAL_X2APIC;
			e->length = sizeof(*e);
			e->reserved = 0;
			e->x2apic_id = id;
			e->flags = flags;
			e->processor_uid = i;
			p += sizeof(*e);
		}
	}
	return p;
}

static void build_madt(uint8_t *buf, const struct acpi_layout *l,
		       const struct acpi_params *prm)
{
	struct acpi_madt *m = (struct acpi_madt *)(buf + l->madt);
	uint8_t *p = (uint8_t *)(m + 1);
	struct madt_io_apic *io;
	struct madt_int_src_override *iso;
	struct madt_local_apic_nmi *nmi;

	header_init(&m->header, "APIC", (uint32_t)madt_size(prm),
		    MADT_REVISION);
	m->local_apic_address = X86_LAPIC_ADDR;
	m->flags = MADT_PCAT_COMPAT; /* KVM's irqchip has the dual 8259 */
	p = madt_cpus(p, prm);

	io = (void *)p;
	io->type = MADT_IO_APIC;
	io->length = sizeof(*io);
	io->io_apic_id = (uint8_t)acpi_ioapic_id(prm->apic_ids, prm->maxcpus);
	io->reserved = 0;
	io->address = X86_IOAPIC_ADDR;
	io->gsi_base = 0;
	p += sizeof(*io);

	iso = (void *)p;
	iso->type = MADT_INT_SRC_OVERRIDE;
	iso->length = sizeof(*iso);
	iso->bus = 0;
	iso->source = ISA_TIMER_IRQ;
	iso->gsi = ISA_TIMER_GSI;
	iso->flags = 0;
	p += sizeof(*iso);

	/* LINT1 of every local APIC is the NMI input (MP spec 5.1). */
	nmi = (void *)p;
	nmi->type = MADT_LOCAL_APIC_NMI;
	nmi->length = sizeof(*nmi);
	nmi->processor_uid = 0xff;
	nmi->flags = 0;
	nmi->lint = LINT1;
	p += sizeof(*nmi);
	if (has_x2apic(prm)) {
		struct madt_local_x2apic_nmi *x = (void *)p;

		memset(x, 0, sizeof(*x));
		x->type = MADT_LOCAL_X2APIC_NMI;
		x->length = sizeof(*x);
		x->processor_uid = 0xffffffffu;
		x->lint = LINT1;
	}
	header_seal(&m->header);
}

int acpi_build(void *buf, size_t size, uint64_t base,
	       const struct acpi_params *p, struct acpi_layout *out)
{
	struct acpi_layout l;

	if (!p->maxcpus || p->cpus > p->maxcpus || !p->apic_ids ||
	    (base & 15) || base + size > UINT32_MAX)
		return -EINVAL;
	layout_of(p, &l);
	if (l.size > size)
		return -ENOSPC;
	memset(buf, 0, l.size);
	build_rsdp(buf, &l, base);
	build_xsdt(buf, &l, base);
	build_fadt(buf, &l, base);
	build_dsdt(buf, &l);
	build_madt(buf, &l, p);
	*out = l;
	return 0;
}

static size_t table_length(const uint8_t *buf, size_t off)
{
	return ((const struct acpi_header *)(const void *)(buf + off))->length;
}

static int write_table(const char *dir, const char *name, const void *p,
		       size_t len)
{
	char path[4096];
	int fd, ret = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.dat", dir, name) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, p, len) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

int acpi_print(const uint8_t *buf, const struct acpi_layout *l,
	       const char *dir, FILE *out, const char **failed)
{
	const struct {
		const char *name; /* iasl's file name for the signature */
		size_t off;
		size_t len;
	} t[] = {
		{ "rsdp", l->rsdp, sizeof(struct acpi_rsdp) },
		{ "xsdt", l->xsdt, table_length(buf, l->xsdt) },
		{ "facp", l->fadt, table_length(buf, l->fadt) },
		{ "dsdt", l->dsdt, table_length(buf, l->dsdt) },
		{ "apic", l->madt, table_length(buf, l->madt) },
	};
	int ret = 0;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]) && !ret; i++) {
		fprintf(out, "%s  %#07zx  %5zu bytes", t[i].name,
			X86_ACPI_BASE + t[i].off, t[i].len);
		if (dir) {
			fprintf(out, "  %s/%s.dat", dir, t[i].name);
			ret = write_table(dir, t[i].name, buf + t[i].off,
					  t[i].len);
			*failed = t[i].name;
		}
		fputc('\n', out);
	}
	return ret;
}

/* ---- the arch plugin's entry points ---------------------------------- */

/*
 * CPUID leaf 1 of the host for the MP table's processor entries: KVM
 * passes family, model and stepping through, so it is the guest's
 * signature too. (Inline: this folder's cpuid.h shadows the
 * compiler's <cpuid.h>.)
 */
static void host_cpuid1(uint32_t *eax, uint32_t *edx)
{
#if defined(__x86_64__) || defined(__i386__)
	uint32_t ebx, ecx;

	__asm__ volatile("cpuid"
			 : "=a"(*eax), "=b"(ebx), "=c"(ecx), "=d"(*edx)
			 : "a"(1u), "c"(0u));
#else
	*eax = 0;
	*edx = 0;
#endif
}

/* APIC IDs of all maxcpus vCPUs (malloc'ed), as the vCPUs get them. */
static uint32_t *apic_ids_of(const struct modvm_topology *t)
{
	uint32_t *ids = calloc(t->maxcpus ? t->maxcpus : 1, sizeof(*ids));

	for (uint32_t i = 0; ids && i < t->maxcpus; i++)
		ids[i] = x86_apic_id(t, i);
	return ids;
}

/* One built set of tables, ready to be copied to gpa. */
struct tables {
	uint8_t *buf;
	size_t size;
	uint64_t gpa;
	struct acpi_layout acpi;
	struct mptable_layout mp;
};

/*
 * Whether the topology fits the tables: 0, or -ERANGE/-ENOSPC with
 * why filled (8-bit APIC IDs in the MP table, the BIOS area's size).
 */
static int check_fit(const struct modvm_topology *t, const uint32_t *ids,
		     enum x86_tables which, char *why, size_t why_size)
{
	struct mptable_params mp = { .apic_ids = ids, .cpus = t->cpus };
	struct acpi_params acpi = { ids, t->cpus, t->maxcpus };

	if (which == X86_TABLES_MPTABLE)
		return mptable_check(&mp, why, why_size);
	if (acpi_size(&acpi) > X86_ACPI_MAX_SIZE) {
		snprintf(why, why_size,
			 "the ACPI tables for %u vCPUs take %zu bytes, more "
			 "than the %u the BIOS area has; use fewer vCPUs",
			 t->maxcpus, acpi_size(&acpi), X86_ACPI_MAX_SIZE);
		return -ENOSPC;
	}
	return 0;
}

/* Build the tables which names for s's topology; reports failures. */
static int tables_build(const struct x86_state *s, enum x86_tables which,
			struct tables *out)
{
	const struct modvm_topology *t = s->topo;
	uint32_t *ids = apic_ids_of(t);
	char why[200];
	int ret;

	memset(out, 0, sizeof(*out));
	if (!ids)
		return -ENOMEM;
	ret = check_fit(t, ids, which, why, sizeof(why));
	if (ret) {
		s->host->log(s->self, MODVM_LOG_ERROR, "%s", why);
		goto out_free_ids;
	}
	if (which == X86_TABLES_MPTABLE) {
		struct mptable_params p = { .apic_ids = ids, .cpus = t->cpus };

		host_cpuid1(&p.cpu_signature, &p.cpu_features);
		out->gpa = X86_MPTABLE_BASE;
		out->size = mptable_size(&p);
		out->buf = malloc(out->size);
		ret = out->buf ? mptable_build(out->buf, out->size, out->gpa,
					       &p, &out->mp)
			       : -ENOMEM;
	} else {
		struct acpi_params p = { ids, t->cpus, t->maxcpus };

		out->gpa = X86_ACPI_BASE;
		out->size = acpi_size(&p);
		out->buf = malloc(out->size);
		ret = out->buf ? acpi_build(out->buf, out->size, out->gpa, &p,
					    &out->acpi)
			       : -ENOMEM;
	}
	if (ret) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "building the %s: %s",
			     which == X86_TABLES_MPTABLE ? "MP table"
							 : "ACPI tables",
			     strerror(-ret));
		free(out->buf);
		out->buf = NULL;
	}
out_free_ids:
	free(ids);
	return ret;
}

int x86_tables_check(const struct x86_state *s)
{
	uint32_t *ids = apic_ids_of(s->topo);
	char why[200];
	int ret;

	if (!ids)
		return -ENOMEM;
	ret = check_fit(s->topo, ids, s->tables, why, sizeof(why));
	if (ret) {
		s->host->config_error(s->self, "tables", "%s", why);
		ret = -EINVAL;
	}
	free(ids);
	return ret;
}

int x86_tables_describe(const struct x86_state *s)
{
	struct tables t;
	void *dst;
	int ret;

	ret = tables_build(s, s->tables, &t);
	if (ret)
		return ret;
	dst = s->host->guest_ptr(s->self, t.gpa, t.size);
	if (dst) {
		memcpy(dst, t.buf, t.size);
	} else {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "guest RAM [%#llx, +%#zx) for the %s is not "
			     "mapped",
			     (unsigned long long)t.gpa, t.size,
			     s->tables == X86_TABLES_MPTABLE ? "MP table"
							     : "ACPI tables");
		ret = -EFAULT;
	}
	free(t.buf);
	return ret;
}

int x86_tables_dump(const struct x86_state *s, const char *what,
		    const char *arg, FILE *out)
{
	enum x86_tables which = X86_TABLES_ACPI;
	const char *failed = NULL;
	struct tables t;
	int ret;

	if (strcmp(what, "mptable") == 0)
		which = X86_TABLES_MPTABLE;
	else if (strcmp(what, "acpi") != 0)
		return -ENOENT;
	ret = tables_build(s, which, &t);
	if (ret)
		return ret;
	if (which == X86_TABLES_MPTABLE) {
		mptable_print(t.buf, &t.mp, out);
	} else {
		ret = acpi_print(t.buf, &t.acpi, arg, out, &failed);
		if (ret)
			s->host->log(s->self, MODVM_LOG_ERROR,
				     "--dump=acpi: writing %s/%s.dat: %s", arg,
				     failed, strerror(-ret));
	}
	free(t.buf);
	return ret;
}
