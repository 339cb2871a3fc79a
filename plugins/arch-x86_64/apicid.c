/* SPDX-License-Identifier: MIT */
#include "apicid.h"

struct x86_apic_layout x86_apic_layout(const struct modvm_topology *t)
{
	struct x86_apic_layout l;

	l.core_off = modvm_topology_width(t->threads);
	l.module_off = l.core_off + modvm_topology_width(t->cores);
	l.die_off = l.module_off + modvm_topology_width(t->clusters);
	l.pkg_off = l.die_off + modvm_topology_width(t->dies);
	l.bits = l.pkg_off + modvm_topology_width(t->sockets);
	return l;
}

/* id << off, where an offset of 32 (a field of width 0 above 32 bits of
 * others) contributes nothing instead of being undefined. */
static uint32_t field(uint32_t id, uint32_t off)
{
	return off < 32 ? id << off : 0;
}

uint32_t x86_apic_id(const struct modvm_topology *t, uint32_t index)
{
	const struct x86_apic_layout l = x86_apic_layout(t);
	const struct modvm_cpu_ids ids = modvm_topology_ids(t, index);

	if (l.bits > 32)
		return 0;
	return ids.thread | field(ids.core, l.core_off) |
	       field(ids.cluster, l.module_off) | field(ids.die, l.die_off) |
	       field(ids.socket, l.pkg_off);
}
