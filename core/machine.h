/* SPDX-License-Identifier: MIT */
/*
 * A machine: the settings, the topology and the plugins that make one
 * VM, and (when it runs) its KVM state.
 */
#ifndef MODVM_CORE_MACHINE_H
#define MODVM_CORE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include <modvm/arch.h>
#include <modvm/boot.h>
#include <modvm/device.h>
#include <modvm/exit.h>
#include <modvm/topology.h>

#include "config.h"
#include "plugin.h"

struct vm;

struct machine {
	struct config *cfg;
	struct plugin_path path;
	struct modvm_topology topo;
	uint64_t memory;         /* [machine] memory, bytes */
	bool restart_on_reset;   /* [machine] on-reset = restart */

	struct modvm_plugin *arch;
	const struct modvm_arch_ops *arch_ops;
	struct modvm_plugin *boot; /* NULL when [boot] is absent */
	const struct modvm_boot_ops *boot_ops;

	/* Every plugin in init order (arch, boot, devices, exits); torn
	 * down in reverse. */
	struct modvm_plugin **plugins;
	unsigned n_plugins;

	struct vm *vm;           /* NULL until machine_run creates it */
};

/* The host API table the core hands every plugin. */
extern const struct modvm_host host_table;

/*
 * Resolve, load and init every plugin the settings name, and validate
 * the topology. Touches no /dev/kvm. On failure everything done so far
 * is undone and the reason has been reported. Takes ownership of cfg.
 */
int machine_load(struct machine **out, struct config *cfg);
/* --check: print a summary of the loaded machine. */
void machine_print(const struct machine *m, FILE *out);
/*
 * Create the VM, realize devices, describe, boot and run the vCPUs
 * until the VM stops. Returns modvm's exit status (0, 1).
 */
int machine_run(struct machine *m);
/* Tear everything down in reverse order. Accepts NULL. */
void machine_free(struct machine *m);

#endif
