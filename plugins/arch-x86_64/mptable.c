/* SPDX-License-Identifier: MIT */
/*
 * MP table (Intel MultiProcessor Specification 1.4). Entries come in
 * the order the spec requires (4.3: sorted by type): processors, the
 * ISA bus, the I/O APIC, I/O interrupt assignments, local interrupt
 * assignments. Interrupts follow the spec's default configuration
 * (5.1, table 5-2) as KVM's in-kernel irqchip wires them: the 8259's
 * INTR on I/O APIC pin 0 (ExtINT), ISA IRQ 0 (the PIT) on pin 2, the
 * other ISA IRQs on their own pin; LINT0 ExtINT and LINT1 NMI on every
 * local APIC.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "acpi.h"
#include "mptable.h"

/* MP spec 4.1: MP Floating Pointer Structure. */
struct mp_floating {
	char signature[4]; /* "_MP_" */
	uint32_t config;   /* physical address of the configuration table */
	uint8_t length;    /* in 16-byte units: 1 */
	uint8_t spec_rev;  /* 4: version 1.4 */
	uint8_t checksum;
	uint8_t features[5]; /* all 0: a configuration table, virtual wire */
} __attribute__((packed));

/* MP spec 4.2: MP Configuration Table Header. */
struct mp_config {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table, header included */
	uint8_t spec_rev;
	uint8_t checksum;
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_address;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

/* MP spec 4.3.1: Processor Entry. */
struct mp_processor {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

/* MP spec 4.3.2: Bus Entry. */
struct mp_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6]; /* blank-padded, table 4-8 */
} __attribute__((packed));

/* MP spec 4.3.3: I/O APIC Entry. */
struct mp_ioapic {
	uint8_t type;
	uint8_t id;
	uint8_t version;
	uint8_t flags;
	uint32_t address;
} __attribute__((packed));

/* MP spec 4.3.4 and 4.3.5: I/O and Local Interrupt Assignment Entries. */
struct mp_interrupt {
	uint8_t type;
	uint8_t int_type;
	uint16_t flags;  /* polarity and trigger; 0: conforms to the bus */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_id;  /* I/O APIC ID, or 0xff: every local APIC */
	uint8_t dst_pin; /* INTINn, or LINTINn */
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP spec 4.1");
_Static_assert(sizeof(struct mp_config) == 44, "MP spec 4.2");
_Static_assert(sizeof(struct mp_processor) == 20, "MP spec 4.3.1");
_Static_assert(sizeof(struct mp_bus) == 8, "MP spec 4.3.2");
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP spec 4.3.3");
_Static_assert(sizeof(struct mp_interrupt) == 8, "MP spec 4.3.4");

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_IOINT, MP_LOCALINT };
/* Interrupt types (MP spec table 4-10). */
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

#define MP_SPEC_REV 4u
#define MP_CPU_ENABLED (1u << 0)
#define MP_CPU_BSP (1u << 1)
#define MP_IOAPIC_ENABLED (1u << 0)
#define MP_ALL_LAPICS 0xffu
/* Versions KVM's in-kernel local APIC and I/O APIC report. */
#define LAPIC_VERSION 0x14u
#define IOAPIC_VERSION 0x11u

#define ISA_BUS 0u
#define ISA_IRQS 16u
#define ISA_TIMER_PIN 2u
/* One ExtINT, then ISA IRQs 0-15 without 2 (the cascade), then 2 local. */
#define N_IOINTS (1u + ISA_IRQS - 1u)
#define N_LOCALINTS 2u

static uint32_t max_apic_id(const struct mptable_params *p)
{
	uint32_t max = 0;

	for (uint32_t i = 0; i < p->cpus; i++)
		if (p->apic_ids[i] > max)
			max = p->apic_ids[i];
	return max;
}

int mptable_check(const struct mptable_params *p, char *why,
		  size_t why_size)
{
	for (uint32_t i = 0; i < p->cpus; i++) {
		if (p->apic_ids[i] > X86_XAPIC_MAX_ID) {
			snprintf(why, why_size,
				 "vCPU %u has APIC ID %u, but the MP table holds "
				 "8-bit APIC IDs up to %u; use tables = acpi (the "
				 "default) or fewer vCPUs",
				 i, p->apic_ids[i], X86_XAPIC_MAX_ID);
			return -ERANGE;
		}
	}
	/* The I/O APIC's ID goes above every CPU's (MP spec 3.6.6). */
	if (max_apic_id(p) + 1 > X86_XAPIC_MAX_ID) {
		snprintf(why, why_size,
			 "the I/O APIC needs an ID above every vCPU's APIC ID "
			 "(the highest is %u), but the MP table's IDs end at "
			 "%u; use tables = acpi (the default) or fewer vCPUs",
			 max_apic_id(p), X86_XAPIC_MAX_ID);
		return -ERANGE;
	}
	return 0;
}

static size_t config_length(const struct mptable_params *p)
{
	return sizeof(struct mp_config) +
	       p->cpus * sizeof(struct mp_processor) + sizeof(struct mp_bus) +
	       sizeof(struct mp_ioapic) +
	       (N_IOINTS + N_LOCALINTS) * sizeof(struct mp_interrupt);
}

size_t mptable_size(const struct mptable_params *p)
{
	return sizeof(struct mp_floating) + config_length(p);
}

static uint8_t *put_interrupt(uint8_t *at, uint8_t type, uint8_t int_type,
			      uint8_t src_irq, uint8_t dst_id, uint8_t dst_pin)
{
	struct mp_interrupt *e = (void *)at;

	e->type = type;
	e->int_type = int_type;
	e->flags = 0;
	e->src_bus = ISA_BUS;
	e->src_irq = src_irq;
	e->dst_id = dst_id;
	e->dst_pin = dst_pin;
	return at + sizeof(*e);
}

static uint8_t *put_processors(uint8_t *at, const struct mptable_params *p)
{
	for (uint32_t i = 0; i < p->cpus; i++) {
		struct mp_processor *e = (void *)at;

		memset(e, 0, sizeof(*e));
		e->type = MP_PROCESSOR;
		e->apic_id = (uint8_t)p->apic_ids[i]; /* its APIC ID, not i */
		e->apic_version = LAPIC_VERSION;
		e->flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
		e->signature = p->cpu_signature;
		e->features = p->cpu_features;
		at += sizeof(*e);
	}
	return at;
}

static uint8_t *put_interrupts(uint8_t *at, uint8_t ioapic)
{
	at = put_interrupt(at, MP_IOINT, MP_EXTINT, 0, ioapic, 0);
	for (uint8_t irq = 0; irq < ISA_IRQS; irq++) {
		if (irq == ISA_TIMER_PIN)
			continue; /* the 8259 cascade; pin 2 is the timer's */
		at = put_interrupt(at, MP_IOINT, MP_INT, irq, ioapic,
				   irq == 0 ? ISA_TIMER_PIN : irq);
	}
	at = put_interrupt(at, MP_LOCALINT, MP_EXTINT, 0, MP_ALL_LAPICS, 0);
	return put_interrupt(at, MP_LOCALINT, MP_NMI, 0, MP_ALL_LAPICS, 1);
}

int mptable_build(void *buf, size_t size, uint64_t base,
		  const struct mptable_params *p, struct mptable_layout *out)
{
	struct mp_floating *fp = buf;
	struct mp_config *cfg = (void *)(fp + 1);
	uint8_t *at = (uint8_t *)(cfg + 1);
	uint8_t ioapic = (uint8_t)(max_apic_id(p) + 1);
	struct mp_bus *bus;
	struct mp_ioapic *io;
	char why[200];

	if (!p->cpus || !p->apic_ids || (base & 15) ||
	    base + size > UINT32_MAX)
		return -EINVAL;
	if (mptable_check(p, why, sizeof(why)))
		return -ERANGE;
	if (mptable_size(p) > size)
		return -ENOSPC;
	memset(buf, 0, mptable_size(p));

	at = put_processors(at, p);
	bus = (void *)at;
	bus->type = MP_BUS;
	bus->bus_id = ISA_BUS;
	memcpy(bus->bus_type, "ISA   ", 6);
	at += sizeof(*bus);
	io = (void *)at;
	io->type = MP_IOAPIC;
	io->id = ioapic;
	io->version = IOAPIC_VERSION;
	io->flags = MP_IOAPIC_ENABLED;
	io->address = X86_IOAPIC_ADDR;
	at = put_interrupts(at + sizeof(*io), ioapic);

	memcpy(cfg->signature, "PCMP", 4);
	cfg->length = (uint16_t)config_length(p);
	cfg->spec_rev = MP_SPEC_REV;
	memcpy(cfg->oem_id, "MODVM   ", 8);
	memcpy(cfg->product_id, "MODVM x86   ", 12);
	cfg->entry_count = (uint16_t)(p->cpus + 2 + N_IOINTS + N_LOCALINTS);
	cfg->lapic_address = X86_LAPIC_ADDR;
	cfg->checksum = acpi_checksum(cfg, cfg->length); /* 4.2 */

	memcpy(fp->signature, "_MP_", 4);
	fp->config = (uint32_t)(base + sizeof(*fp));
	fp->length = 1;
	fp->spec_rev = MP_SPEC_REV;
	fp->checksum = acpi_checksum(fp, sizeof(*fp)); /* 4.1 */

	out->floating = 0;
	out->config = sizeof(*fp);
	out->size = (size_t)(at - (uint8_t *)buf);
	out->entries = cfg->entry_count;
	out->ioapic_id = ioapic;
	return 0;
}

static const char *int_type_name(uint8_t t)
{
	static const char *const names[] = { "INT", "NMI", "SMI", "ExtINT" };

	return t < 4 ? names[t] : "?";
}

void mptable_print(const uint8_t *buf, const struct mptable_layout *l,
		   FILE *out)
{
	const struct mp_config *cfg = (const void *)(buf + l->config);
	const uint8_t *at = (const uint8_t *)(cfg + 1);

	fprintf(out, "floating pointer  %#x -> configuration table %#zx, "
		     "%u bytes, %u entries\n",
		X86_MPTABLE_BASE, X86_MPTABLE_BASE + l->config, cfg->length,
		cfg->entry_count);
	for (unsigned i = 0; i < cfg->entry_count; i++) {
		if (at[0] == MP_PROCESSOR) {
			const struct mp_processor *e = (const void *)at;

			fprintf(out, "processor  APIC ID %u%s%s\n", e->apic_id,
				e->flags & MP_CPU_ENABLED ? ", enabled" : "",
				e->flags & MP_CPU_BSP ? ", BSP" : "");
			at += sizeof(*e);
			continue;
		}
		if (at[0] == MP_BUS)
			fprintf(out, "bus        %u %.6s\n", at[1],
				((const struct mp_bus *)(const void *)at)
					->bus_type);
		else if (at[0] == MP_IOAPIC)
			fprintf(out, "I/O APIC   ID %u at %#x\n", at[1],
				X86_IOAPIC_ADDR);
		else if (at[0] == MP_IOINT)
			fprintf(out, "interrupt  %-6s ISA IRQ %2u -> I/O APIC %u "
				     "pin %u\n",
				int_type_name(at[1]), at[5], at[6], at[7]);
		else
			fprintf(out, "local int  %-6s -> every local APIC, "
				     "LINT%u\n",
				int_type_name(at[1]), at[7]);
		at += 8;
	}
}
