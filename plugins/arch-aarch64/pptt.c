/* SPDX-License-Identifier: MIT */
/*
 * The ACPI Processor Properties Topology Table (ACPI 6.3 5.2.29,
 * revision 2) for every possible vCPU, cpus..maxcpus included: their
 * GICC entries in a MADT are online-capable, and a CPU that comes
 * online later needs its place in the hierarchy already described.
 *
 * Nodes in depth-first order, all type 0 (processor hierarchy, 20
 * bytes, no private resources):
 *
 *   package (socket S)          flags physical package | identical
 *     cluster C                 flags identical
 *       core K                  leaf when threads == 1, else flags identical
 *         thread T              leaf
 *
 * Leaves: ACPI processor ID valid | leaf (| thread), ID = the linear
 * vCPU index. Containers leave "ID valid" clear, so Linux names them
 * by byte offset; their ID fields still carry the index inside their
 * parent, for a human reading `iasl -d`.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arm64.h"

#define ACPI_HEADER_SIZE 36u
#define PPTT_REVISION 2u
#define PPTT_NODE_PROCESSOR 0u
#define PPTT_PROCESSOR_SIZE 20u

/* Processor hierarchy node flags, ACPI 6.3 table 5-155. */
#define PPTT_PHYSICAL_PACKAGE (1u << 0)
#define PPTT_ID_VALID (1u << 1)
#define PPTT_IS_THREAD (1u << 2)
#define PPTT_IS_LEAF (1u << 3)
#define PPTT_IDENTICAL (1u << 4)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint64_t node_count(const struct modvm_topology *t)
{
	uint64_t packages = t->sockets;
	uint64_t clusters = packages * t->clusters;
	uint64_t cores = clusters * t->cores;
	uint64_t threads = t->threads > 1 ? cores * t->threads : 0;

	return packages + clusters + cores + threads;
}

size_t arm64_pptt_size(const struct modvm_topology *t)
{
	return ACPI_HEADER_SIZE + (size_t)node_count(t) * PPTT_PROCESSOR_SIZE;
}

/* Append one processor hierarchy node at *off; returns its offset. */
static uint32_t put_node(uint8_t *table, uint32_t *off, uint32_t flags,
			 uint32_t parent, uint32_t acpi_id)
{
	uint8_t *n = table + *off;
	uint32_t at = *off;

	n[0] = PPTT_NODE_PROCESSOR;
	n[1] = PPTT_PROCESSOR_SIZE;
	put16(n + 2, 0);
	put32(n + 4, flags);
	put32(n + 8, parent);
	put32(n + 12, acpi_id);
	put32(n + 16, 0); /* private resources */
	*off += PPTT_PROCESSOR_SIZE;
	return at;
}

/* Standard ACPI header (ACPI 6.3 5.2.6); the checksum comes last. */
static void put_header(uint8_t *table, uint32_t length)
{
	memcpy(table, "PPTT", 4);
	put32(table + 4, length);
	table[8] = PPTT_REVISION;
	table[9] = 0;
	memcpy(table + 10, "MODVM ", 6);
	memcpy(table + 16, "MODVMPPT", 8);
	put32(table + 24, 1);           /* OEM revision */
	memcpy(table + 28, "MDVM", 4);  /* creator ID */
	put32(table + 32, 1);           /* creator revision */
}

static void set_checksum(uint8_t *table, uint32_t length)
{
	uint8_t sum = 0;

	table[9] = 0;
	for (uint32_t i = 0; i < length; i++)
		sum = (uint8_t)(sum + table[i]);
	table[9] = (uint8_t)(0x100 - sum);
}

int arm64_pptt_build(void **out, size_t *size_out,
		     const struct modvm_topology *t)
{
	uint32_t leaf_flags = PPTT_ID_VALID | PPTT_IS_LEAF;
	uint32_t package = 0, cluster = 0, core = 0, off;
	uint64_t length;
	uint8_t *table;

	*out = NULL;
	*size_out = 0;
	if (t->dies != 1 || !t->maxcpus)
		return -EINVAL;
	length = ACPI_HEADER_SIZE + node_count(t) * PPTT_PROCESSOR_SIZE;
	if (length > UINT32_MAX)
		return -E2BIG;
	table = calloc(1, (size_t)length);
	if (!table)
		return -ENOMEM;
	put_header(table, (uint32_t)length);
	off = ACPI_HEADER_SIZE;
	if (t->threads > 1)
		leaf_flags |= PPTT_IS_THREAD;

	/* Indices run in (socket, cluster, core, thread) order: open a
	 * container whenever its id starts again from 0. */
	for (uint32_t i = 0; i < t->maxcpus; i++) {
		struct modvm_cpu_ids ids = modvm_topology_ids(t, i);
		bool new_package = ids.cluster == 0 && ids.core == 0 &&
				   ids.thread == 0;
		bool new_cluster = ids.core == 0 && ids.thread == 0;

		if (new_package)
			package = put_node(table, &off,
					   PPTT_PHYSICAL_PACKAGE | PPTT_IDENTICAL,
					   0, ids.socket);
		if (new_cluster)
			cluster = put_node(table, &off, PPTT_IDENTICAL, package,
					   ids.cluster);
		if (t->threads == 1) {
			put_node(table, &off, leaf_flags, cluster, i);
			continue;
		}
		if (ids.thread == 0)
			core = put_node(table, &off, PPTT_IDENTICAL, cluster,
					ids.core);
		put_node(table, &off, leaf_flags, core, i);
	}
	set_checksum(table, (uint32_t)length);
	*out = table;
	*size_out = (size_t)length;
	return 0;
}
