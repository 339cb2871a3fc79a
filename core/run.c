/* SPDX-License-Identifier: MIT */
/*
 * machine_run: bring a loaded machine to life on KVM and run it until it
 * stops, then say why with modvm's exit status.
 *
 * The main thread only waits: SIGINT and SIGTERM are blocked in every
 * thread and read from a signalfd here, next to the VM's stop request.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "machine.h"
#include "vcpu.h"
#include "vm.h"

/* Statuses modvm(1) documents besides the guest's own. */
enum {
	STATUS_OK = 0,
	STATUS_FAILED = 1, /* the guest or the VMM failed */
	STATUS_CONFIG = 2, /* a setting only checkable at run time */
	STATUS_SIGNAL_BASE = 128,
};

#define ONLINE_CPUS "/sys/devices/system/cpu/online"
/* Pause bounds (vcpu_pause_timeout_ms each) a stopping VM waits for its
 * vCPU threads: longer than a device may block one (serial-8250 gives
 * up on a stalled console after 5 s). */
#define STOP_TRIES 10u

/*
 * modvm's exit status for a stopped VM; the only place it is decided:
 *   POWEROFF       0
 *   RESET          0 ([machine] on-reset = stop; restart never gets here)
 *   GUEST_STATUS   the guest's status, truncated to 0-255 as exit(3)
 *                  does (debug-exit: the byte written)
 *   ERROR          1: triple fault, unhandled or failed exit, VMM failure
 *   SIGNAL         128 + the signal number, as a shell reports a process
 *                  a signal ended (SIGTERM: 143, SIGINT: 130)
 */
static int exit_status(const struct vm_stop *stop)
{
	switch (stop->reason) {
	case MODVM_STOP_POWEROFF:
	case MODVM_STOP_RESET:
		return STATUS_OK;
	case MODVM_STOP_GUEST_STATUS:
		return stop->status & 0xff;
	case MODVM_STOP_SIGNAL:
		return STATUS_SIGNAL_BASE + stop->status;
	case MODVM_STOP_ERROR:
		break;
	}
	return STATUS_FAILED;
}

static void log_stop(const struct vm_stop *stop)
{
	const char *msg = stop->message[0] ? stop->message : "no reason given";

	switch (stop->reason) {
	case MODVM_STOP_POWEROFF:
		log_info("guest powered off: %s", msg);
		break;
	case MODVM_STOP_RESET:
		log_info("guest reset: %s", msg);
		break;
	case MODVM_STOP_GUEST_STATUS:
		log_info("guest stopped with status %d: %s", stop->status, msg);
		break;
	case MODVM_STOP_SIGNAL:
		log_info("stopping: %s", msg);
		break;
	case MODVM_STOP_ERROR:
		log_error("%s", msg);
		break;
	}
}

/* Whether an online host CPU list ("0-3,6") contains cpu. */
static bool cpu_online(const uint32_t *online, unsigned n, uint32_t cpu)
{
	for (unsigned i = 0; i < n; i++)
		if (online[i] == cpu)
			return true;
	return false;
}

/* [vcpu] affinity, each entry checked against the online host CPUs. */
static int read_affinity(const struct machine *m, uint32_t **out,
			 unsigned *n_out)
{
	struct cfg_section *sec = config_section(m->cfg, "vcpu", NULL);
	uint32_t *online = NULL;
	unsigned n_online = 0;
	char buf[256] = "";
	FILE *f;
	int ret;

	*out = NULL;
	*n_out = 0;
	ret = config_get_u32_list(sec, "affinity", out, n_out);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	f = fopen(ONLINE_CPUS, "re");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		buf[strcspn(buf, "\n")] = '\0';
	}
	if (!buf[0] || parse_u32_list(buf, &online, &n_online)) {
		/* No sysfs: trust the kernel to refuse a bad CPU later. */
		log_warn("cannot read " ONLINE_CPUS "; [vcpu] affinity not "
			 "checked");
		return 0;
	}
	for (unsigned i = 0; i < *n_out && !ret; i++) {
		if (cpu_online(online, n_online, (*out)[i]))
			continue;
		config_error(sec, config_entry(sec, "affinity"),
			     "host CPU %u is not online; online CPUs: %s",
			     (*out)[i], buf);
		ret = -EINVAL;
	}
	free(online);
	if (ret) {
		free(*out);
		*out = NULL;
	}
	return ret;
}

/* Each device claims its ranges and starts its I/O. */
static int realize_devices(struct machine *m)
{
	for (unsigned i = 0; i < m->n_plugins; i++) {
		struct modvm_plugin *p = m->plugins[i];
		const struct modvm_device_ops *ops = p->desc->ops;
		int ret;

		if (p->desc->kind != MODVM_PLUGIN_DEVICE || !ops->realize)
			continue;
		ret = ops->realize(p->state);
		if (ret) {
			log_error("device %s (%s): realize failed: %s",
				  p->name, p->path, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void reset_devices(struct machine *m)
{
	for (unsigned i = 0; i < m->n_plugins; i++) {
		struct modvm_plugin *p = m->plugins[i];
		const struct modvm_device_ops *ops = p->desc->ops;

		if (p->desc->kind == MODVM_PLUGIN_DEVICE && ops->reset)
			ops->reset(p->state);
	}
}

/* Describe the machine, load the guest, start the boot vCPUs. */
static int start_guest(struct machine *m, const uint32_t *affinity,
		       unsigned n_affinity)
{
	struct vm *vm = m->vm;
	int ret = 0;

	if (m->arch_ops->describe) {
		ret = m->arch_ops->describe(m->arch->state);
		if (ret) {
			log_error("%s: describing the machine failed: %s",
				  m->arch->name, strerror(-ret));
			return ret;
		}
	}
	if (m->boot && m->boot_ops->load) {
		ret = m->boot_ops->load(m->boot->state);
		if (ret) {
			log_error("%s: loading the guest failed: %s",
				  m->boot->name, strerror(-ret));
			return ret;
		}
	}
	/* vCPUs cpus..maxcpus-1 are possible but not created. */
	ret = vcpus_new(vm, m->topo.cpus);
	for (unsigned i = 0; i < vm->n_vcpus && n_affinity && !ret; i++)
		ret = vcpu_set_affinity(vm->vcpus[i],
					(int)affinity[i % n_affinity]);
	if (!ret)
		ret = vcpus_realize(vm);
	if (ret)
		return ret;
	if (m->boot && m->boot_ops->setup_boot_vcpu) {
		ret = m->boot_ops->setup_boot_vcpu(m->boot->state,
						   vcpu_fd(vm->vcpus[0]));
		if (ret) {
			log_error("%s: setting up the boot vCPU failed: %s",
				  m->boot->name, strerror(-ret));
			return ret;
		}
	}
	return vcpus_run(vm);
}

/* Run the guest until it stops; a reset may restart it in place. */
static int run_until_stopped(struct machine *m, int sig_fd,
			     const uint32_t *affinity, unsigned n_affinity,
			     bool restart, struct vm_stop *stop)
{
	int ret;

	for (;;) {
		ret = start_guest(m, affinity, n_affinity);
		if (!ret)
			ret = vm_wait_stop(m->vm, sig_fd, -1);
		if (!ret)
			ret = vcpus_pause(m->vm);
		/* Even after a failure: no vCPU thread outlives the run. A
		 * thread stuck in a device (a console write to a stalled
		 * terminal) gets several pause bounds to come back. */
		if (ret == -ETIMEDOUT)
			ret = 0;
		for (unsigned tries = 1; vcpus_destroy(m->vm); tries++) {
			if (tries == STOP_TRIES) {
				log_error("a vCPU thread did not stop within %u "
					  "tries of %u ms",
					  STOP_TRIES, vcpu_pause_timeout_ms);
				/* Tearing plugins down under a live vCPU
				 * thread could crash in their code: leave
				 * now and let the kernel reclaim it all. */
				fflush(stdout);
				fflush(stderr);
				_exit(STATUS_FAILED);
			}
		}
		if (ret)
			return ret;
		/* A SIGTERM that came while the vCPUs stopped ends a
		 * restart loop instead of waiting for the next boot. */
		vm_take_signals(m->vm, sig_fd);
		vm_stop_get(m->vm, stop);
		if (stop->reason != MODVM_STOP_RESET || !restart)
			return 0;
		log_info("guest reset: restarting ([machine] on-reset = "
			 "restart): %s",
			 stop->message);
		ret = vm_reset(m->vm);
		if (ret == -ECANCELED) {
			/* Asked to end while resetting: that wins. */
			vm_stop_get(m->vm, stop);
			return 0;
		}
		if (ret)
			return ret;
		reset_devices(m);
	}
}

int machine_run(struct machine *m)
{
	struct vm_params params = {
		.arch = m->arch_ops,
		.arch_state = m->arch->state,
		.ram_size = m->memory,
		.max_vcpus = m->topo.maxcpus,
	};
	struct sigaction ignore = { .sa_handler = SIG_IGN }, saved_pipe;
	sigset_t stop_signals, saved_mask;
	struct vm_stop stop = { 0 };
	uint32_t *affinity = NULL;
	unsigned n_affinity = 0;
	int sig_fd, status = STATUS_FAILED;
	bool restart = m->restart_on_reset;

	if (read_affinity(m, &affinity, &n_affinity))
		return STATUS_CONFIG;

	/* Before any thread exists, so every thread inherits the mask. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &saved_mask);
	sig_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		log_error("signalfd: %s", strerror(errno));
		goto out_mask;
	}
	/* A console reader that went away must not kill the VM: writers
	 * see EPIPE instead. */
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGPIPE, &ignore, &saved_pipe);

	if (vm_create(&m->vm, &params))
		goto out_signals;
	if (exit_table_add_plugins(&m->vm->exits, m->plugins, m->n_plugins) ||
	    realize_devices(m))
		goto out_signals;
	if (run_until_stopped(m, sig_fd, affinity, n_affinity, restart,
			      &stop))
		goto out_signals;
	log_stop(&stop);
	status = exit_status(&stop);

out_signals:
	/* m->vm stays: device I/O threads may use it until their fini;
	 * machine_free destroys it after the plugins. */
	sigaction(SIGPIPE, &saved_pipe, NULL);
	close(sig_fd);
out_mask:
	pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
	free(affinity);
	return status;
}
