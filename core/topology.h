/* SPDX-License-Identifier: MIT */
/*
 * [smp] -> struct modvm_topology: parsing, QEMU-compatible defaults and
 * validation against what the arch plugin supports.
 *
 * topology_resolve() is pure (no config, no output) so the rules can be
 * tested on their own; topology_from_config() feeds it the [smp] section
 * and reports its error with the file and line of the key at fault.
 */
#ifndef MODVM_CORE_TOPOLOGY_H
#define MODVM_CORE_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <modvm/topology.h>

struct config;

/* The [smp] keys, in the order of struct smp_request's arrays. */
enum smp_key {
	SMP_CPUS,
	SMP_MAXCPUS,
	SMP_SOCKETS,
	SMP_DIES,
	SMP_CLUSTERS,
	SMP_CORES,
	SMP_THREADS,
	SMP_N_KEYS,
};

/* "cpus", "maxcpus", "sockets", ...; NULL for an out-of-range key. */
const char *smp_key_name(enum smp_key key);

/* What the user wrote: value[k] counts only when given[k] is true. */
struct smp_request {
	uint64_t value[SMP_N_KEYS];
	bool given[SMP_N_KEYS];
};

/* What the arch plugin declares (struct modvm_arch_ops). */
struct topology_arch {
	const char *name;   /* the arch plugin's name, for messages */
	uint32_t levels;    /* MODVM_TOPO_* beyond sockets/cores/threads */
	uint32_t max_cpus;  /* most maxcpus its tables describe; 0: no limit */
};

/*
 * Apply the defaults (QEMU >= 6.2) and check the result. Returns 0 and
 * fills *out, or -EINVAL (-E2BIG for a limit) with the reason in err
 * (without a location) and, in *err_key, the name of the key the error
 * is about, or NULL when it is about the section as a whole.
 */
int topology_resolve(const struct smp_request *req,
		     const struct topology_arch *arch,
		     struct modvm_topology *out, char *err, size_t errlen,
		     const char **err_key);

/*
 * Parse "8,sockets=2,cores=2,threads=2" (the QEMU -smp form; the first
 * item may be a bare number, the cpus) into *out. 0, or -EINVAL with
 * the reason in err.
 */
int topology_parse_smp(const char *text, struct smp_request *out, char *err,
		       size_t errlen);

/*
 * Read [smp] (separate keys or the one-line "smp" key; a missing
 * section means one vCPU), resolve it against the arch and report any
 * problem as FILE:LINE: [smp] key = value: message. 0 or -EINVAL/-E2BIG.
 */
int topology_from_config(const struct config *cfg, const char *arch_name,
			 uint32_t arch_levels, uint32_t arch_max,
			 struct modvm_topology *out);

/*
 * Check the topology against this host's KVM: maxcpus against
 * KVM_CAP_MAX_VCPUS and the largest vCPU id (x86: APIC ID) against
 * KVM_CAP_MAX_VCPU_ID (ids must be below it). Logs the reason; 0 or
 * -E2BIG.
 */
int topology_check_kvm(const struct modvm_topology *t, uint32_t max_vcpus,
		       uint32_t max_vcpu_id, uint32_t highest_id);

/* modvm --check: the one-line summary "topology: 2 sockets x ...". */
void topology_print(const struct modvm_topology *t, FILE *out);

#endif
