/* SPDX-License-Identifier: MIT */
/*
 * arch-x86_64: x86-64 guests. Every vCPU's KVM id is its APIC ID
 * (apicid.h), and its CPUID topology leaves (cpuid.h) are built from the
 * same struct modvm_topology, so the guest's APIC, CPUID and tables
 * agree. `modvm --check` shows the per-vCPU ids; `--dump=cpuid` the
 * leaves, even on a host without /dev/kvm.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <modvm/arch.h>
#include <modvm/plugin.h>

#include "acpi.h"
#include "apicid.h"
#include "state.h"

/* x2APIC IDs reach far beyond this; it bounds --check output, the
 * tables' size and KVM's usual KVM_CAP_MAX_VCPUS. */
#define X86_MAX_CPUS 1024u

static const char *const tables_names[] = {
	[X86_TABLES_ACPI] = "acpi",
	[X86_TABLES_MPTABLE] = "mptable",
};

static int read_vendor(struct x86_state *s)
{
	const char *v;
	int ret = s->host->get_string(s->self, "vendor", &v);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (x86_vendor_parse(v, &s->vendor)) {
		s->host->config_error(s->self, "vendor",
				      "must be host, intel or amd");
		return -EINVAL;
	}
	return 0;
}

static int read_tables(struct x86_state *s)
{
	const char *v;
	int ret = s->host->get_string(s->self, "tables", &v);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(tables_names) / sizeof(tables_names[0]);
	     i++)
		if (strcmp(v, tables_names[i]) == 0) {
			s->tables = (enum x86_tables)i;
			return 0;
		}
	s->host->config_error(s->self, "tables", "must be acpi or mptable");
	return -EINVAL;
}

static int x86_init(struct modvm_plugin *self, const struct modvm_host *host,
		    void **state_out)
{
	struct x86_state *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->self = self;
	s->host = host;
	s->topo = host->topology(self);
	ret = read_vendor(s);
	if (!ret)
		ret = read_tables(s);
	if (ret)
		goto out_free;
	if (x86_apic_layout(s->topo).bits > 32) {
		host->log(self, MODVM_LOG_ERROR,
			  "the APIC IDs of this topology need %" PRIu32 " bits; "
			  "x2APIC IDs have 32",
			  x86_apic_layout(s->topo).bits);
		ret = -EINVAL;
		goto out_free;
	}
	/* IDs grow with the index (fields in index order), but take the
	 * maximum anyway: it is cheap and assumes nothing. */
	for (uint32_t i = 0; i < s->topo->maxcpus; i++) {
		uint32_t id = x86_apic_id(s->topo, i);

		if (id > s->max_apic_id)
			s->max_apic_id = id;
	}
	/* The chosen tables must hold this topology (8-bit APIC IDs in
	 * the MP table, the BIOS area's size): say so in --check. */
	ret = x86_tables_check(s);
	if (ret)
		goto out_free;
	*state_out = s;
	return 0;

out_free:
	free(s);
	return ret;
}

static void x86_fini(void *state)
{
	struct x86_state *s = state;

	if (!s)
		return;
	free(s->supported);
	free(s);
}

static uint32_t x86_vcpu_id(void *state, uint32_t index)
{
	struct x86_state *s = state;

	return x86_apic_id(s->topo, index);
}

static int x86_vm_setup(void *state, int vm_fd)
{
	return x86_kvm_vm_setup(state, vm_fd);
}

static int x86_vcpu_setup(void *state, int vm_fd, int vcpu_fd,
			  uint32_t index)
{
	(void)vm_fd;
	return x86_kvm_vcpu_setup(state, vcpu_fd, index);
}

static int x86_describe(void *state)
{
	return x86_tables_describe(state);
}

static void x86_dump_vcpu(void *state, int vcpu_fd, FILE *out)
{
	x86_kvm_dump_vcpu(state, vcpu_fd, out);
}

static void x86_print_topology(void *state, FILE *out)
{
	struct x86_state *s = state;
	const struct modvm_topology *t = s->topo;
	const struct x86_apic_layout l = x86_apic_layout(t);

	fprintf(out,
		"x86: vendor %s, tables %s; apic-id = thread | core << %" PRIu32
		" | cluster << %" PRIu32 " | die << %" PRIu32
		" | socket << %" PRIu32 "\n",
		x86_vendor_name(s->vendor), tables_names[s->tables],
		l.core_off, l.module_off, l.die_off, l.pkg_off);
	for (uint32_t i = 0; i < t->maxcpus; i++) {
		struct modvm_cpu_ids ids = modvm_topology_ids(t, i);

		fprintf(out,
			"vcpu %" PRIu32 ": apic-id %" PRIu32 " socket %" PRIu32
			" die %" PRIu32 " cluster %" PRIu32 " core %" PRIu32
			" thread %" PRIu32 "%s\n",
			i, x86_apic_id(t, i), ids.socket, ids.die,
			ids.cluster, ids.core, ids.thread,
			i < t->cpus ? "" : " (present, not started)");
	}
}

/* --dump=cpuid: every possible vCPU's topology leaves; --dump=acpi and
 * --dump=mptable: the tables. */
static int x86_dump(void *state, const char *what, const char *arg,
		    FILE *out)
{
	struct x86_state *s = state;
	int ret;

	if (strcmp(what, "cpuid") != 0)
		return x86_tables_dump(s, what, arg, out);
	ret = x86_kvm_supported_cpuid(s, true);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < s->topo->maxcpus; i++) {
		struct kvm_cpuid2 *c;

		ret = x86_cpuid_build(&c, s->supported, s->topo, i, s->vendor);
		if (ret) {
			s->host->log(s->self, MODVM_LOG_ERROR,
				     "vcpu %" PRIu32 ": cannot build its "
				     "CPUID: %s",
				     i, strerror(-ret));
			return ret;
		}
		x86_cpuid_dump(c, i, x86_apic_id(s->topo, i), out);
		free(c);
	}
	return 0;
}

static const struct modvm_key x86_keys[] = {
	{ "vendor", MODVM_KEY_STRING,
	  "CPU vendor the guest sees: host (default), intel or amd" },
	{ "tables", MODVM_KEY_STRING,
	  "machine description: acpi (default) or mptable" },
	{ NULL, 0, NULL },
};

static const struct modvm_arch_ops x86_ops = {
	.size = sizeof(struct modvm_arch_ops),
	/* CPUID 1FH has die and module levels. */
	.topo_levels = MODVM_TOPO_DIES | MODVM_TOPO_CLUSTERS,
	.max_cpus = X86_MAX_CPUS,
	.ram_base = 0,
	/* RAM below 3 GiB, the 32-bit MMIO hole (IOAPIC, LAPIC, the
	 * identity map and TSS), RAM again from 4 GiB. */
	.ram_gap_start = 0xc0000000ull,
	.ram_gap_size = 0x40000000ull,
	.vcpu_id = x86_vcpu_id,
	.vm_setup = x86_vm_setup,
	.vcpu_setup = x86_vcpu_setup,
	.describe = x86_describe,
	.dump_vcpu = x86_dump_vcpu,
	.print_topology = x86_print_topology,
	.dump = x86_dump,
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_ARCH,
	.name = "arch-x86_64",
	.version = MODVM_PLUGIN_VERSION,
	.description = "x86-64 guests: APIC IDs and CPUID topology leaves, "
		       "in-kernel irqchip and PIT",
	.keys = x86_keys,
	.init = x86_init,
	.fini = x86_fini,
	.ops = &x86_ops,
};
