/* SPDX-License-Identifier: MIT */
/*
 * The CPU topology model, shared by the core and the arch plugins.
 *
 * Levels, outermost first: socket > die > cluster > core > thread.
 * sockets * dies * clusters * cores * threads == maxcpus, and the first
 * cpus of those vCPUs start. Every guest-visible description (CPUID,
 * APIC IDs, ACPI tables, device-tree cpu-map) is derived from
 * modvm_topology_ids(), so they cannot disagree.
 */
#ifndef MODVM_TOPOLOGY_H
#define MODVM_TOPOLOGY_H

#include <stdint.h>

/* Levels an arch may support besides sockets, cores and threads. */
#define MODVM_TOPO_DIES (1u << 0)
#define MODVM_TOPO_CLUSTERS (1u << 1)

struct modvm_topology {
	uint32_t sockets;
	uint32_t dies;     /* per socket */
	uint32_t clusters; /* per die (x86 CPUID calls them modules) */
	uint32_t cores;    /* per cluster */
	uint32_t threads;  /* per core */
	uint32_t cpus;     /* started at boot */
	uint32_t maxcpus;  /* possible, the product of the levels */
};

/* Where one vCPU sits: ids inside its parent level, from 0. */
struct modvm_cpu_ids {
	uint32_t socket;
	uint32_t die;
	uint32_t cluster;
	uint32_t core;
	uint32_t thread;
};

/* Linear vCPU index -> ids; thread changes fastest, socket slowest. */
static inline struct modvm_cpu_ids
modvm_topology_ids(const struct modvm_topology *t, uint32_t index)
{
	struct modvm_cpu_ids ids;

	ids.thread = index % t->threads;
	index /= t->threads;
	ids.core = index % t->cores;
	index /= t->cores;
	ids.cluster = index % t->clusters;
	index /= t->clusters;
	ids.die = index % t->dies;
	index /= t->dies;
	ids.socket = index;
	return ids;
}

/* Number of bits a field for n values needs: 0 for n <= 1, else ceil(log2 n). */
static inline uint32_t modvm_topology_width(uint32_t n)
{
	uint32_t w = 0;

	while (n > 1 && (1ull << w) < n)
		w++;
	return w;
}

#endif /* MODVM_TOPOLOGY_H */
