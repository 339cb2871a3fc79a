/* SPDX-License-Identifier: MIT */
/*
 * One KVM virtual machine: the /dev/kvm and VM fds, guest RAM laid out
 * as the arch plugin says, the two buses, the exit table, the vCPUs and
 * the stop request that ends a run.
 */
#ifndef MODVM_CORE_VM_H
#define MODVM_CORE_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <modvm/arch.h>
#include <modvm/host.h>

#include "bus.h"
#include "exit.h"

struct vcpu;

struct vm_params {
	const struct modvm_arch_ops *arch;
	void *arch_state;
	uint64_t ram_size;  /* bytes, a multiple of 4 KiB */
	uint32_t max_vcpus; /* the topology's maxcpus, checked against KVM */
};

/* A contiguous piece of guest RAM (one KVM memory slot). */
struct vm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

/* Why the VM stopped, as the first vm_request_stop() said. */
struct vm_stop {
	bool requested;
	enum modvm_stop_reason reason;
	int status;        /* GUEST_STATUS: the guest's; SIGNAL: the signo */
	char message[256];
};

struct vm {
	int kvm_fd; /* /dev/kvm: system ioctls */
	int vm_fd;  /* keeps its number across vm_reset() */
	size_t run_size;      /* KVM_GET_VCPU_MMAP_SIZE */
	uint32_t max_vcpus;   /* KVM_CAP_MAX_VCPUS */
	uint32_t max_vcpu_id; /* KVM_CAP_MAX_VCPU_ID: ids are below this */

	const struct modvm_arch_ops *arch;
	void *arch_state;

	uint8_t *ram; /* one anonymous mapping, split around the arch's gap */
	uint64_t ram_size;
	struct vm_region regions[2];
	unsigned n_regions;

	struct bus pio;
	struct bus mmio;
	struct exit_table exits;

	struct vcpu **vcpus; /* see vcpu.h; index order */
	unsigned n_vcpus;

	pthread_mutex_t stop_lock;
	struct vm_stop stop;
	/* Set with stop.requested: vCPU threads read it before each entry
	 * and park instead of running on into a stopping VM. */
	atomic_bool stopping;
	int stop_efd; /* readable once a stop is requested */
};

/*
 * Open /dev/kvm, check the API and capabilities modvm relies on, create
 * the VM and its RAM, and run the arch's vm_setup. Reports every failure
 * with what to do about it. Exit handlers are added afterwards
 * (exit_table_claim on vm->exits) and devices claim bus ranges, both
 * before the first vCPU runs.
 */
int vm_create(struct vm **out, const struct vm_params *p);
/*
 * Destroy remaining vCPUs (pausing running ones), then the VM. Call
 * after the device plugins' fini: their I/O threads may use the VM
 * (irq_line) until then. Accepts NULL.
 */
void vm_destroy(struct vm *vm);
/*
 * For a guest reset: replace the KVM VM by a fresh one (same fd number,
 * so plugins holding it stay valid), zero RAM, redo the arch's vm_setup
 * and clear the stop request, all only while that request is still a
 * reset: a request to end the VM made since (a signal, a device) wins
 * and vm_reset returns -ECANCELED, leaving the VM as it was. All vCPUs
 * must have been destroyed.
 */
int vm_reset(struct vm *vm);

/* The host API (core/host.c) is built on these. */
void *vm_guest_ptr(struct vm *vm, uint64_t gpa, uint64_t len);
uint64_t vm_ram_size(const struct vm *vm);
int vm_kvm_fd(const struct vm *vm); /* the VM fd */
int vm_bus_register(struct vm *vm, enum modvm_bus_space space, uint64_t base,
		    uint64_t len, const struct modvm_io_ops *ops, void *opaque,
		    const char *owner);
int vm_bus_access(struct vm *vm, enum modvm_bus_space space, uint64_t addr,
		  void *data, uint32_t len, bool is_write);
int vm_irq_line(struct vm *vm, uint32_t gsi, int level);
/*
 * The first request wins and later ones are ignored, except that a
 * pending reset gives way to any request to end the VM. Thread-safe.
 */
void vm_request_stop(struct vm *vm, enum modvm_stop_reason reason,
		     int status, const char *message);

/*
 * Wait until a stop is requested, or until a signal arrives on sig_fd
 * (a signalfd, or -1), which then requests MODVM_STOP_SIGNAL itself.
 * timeout_ms < 0 waits forever. Returns 0 once stopped, -ETIMEDOUT.
 */
int vm_wait_stop(struct vm *vm, int sig_fd, int timeout_ms);
/*
 * Turn every signal pending on sig_fd (a signalfd, or -1) into a stop
 * request, without waiting. Returns how many were read.
 */
int vm_take_signals(struct vm *vm, int sig_fd);
/* Whether a stop was requested; lock-free, for the vCPU threads. */
static inline bool vm_stopping(struct vm *vm)
{
	return atomic_load_explicit(&vm->stopping, memory_order_acquire);
}
/* Copy the stop request; returns whether one was made. */
bool vm_stop_get(struct vm *vm, struct vm_stop *out);

#endif
