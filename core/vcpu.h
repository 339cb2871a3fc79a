/* SPDX-License-Identifier: MIT */
/*
 * vCPU lifecycle: one KVM vCPU, its kvm_run page and its thread.
 *
 *   CREATED --realize--> REALIZED --run--> RUNNING <--pause/resume--> PAUSED
 *   CREATED, REALIZED, PAUSED --destroy--> DESTROYED
 *
 * Any other transition is refused with -EINVAL (-EBUSY for destroying a
 * running vCPU: pause it first), logged, and changes nothing.
 *
 * Threading: the lifecycle calls are made by one controlling thread (the
 * main thread); the vCPU's own thread only runs the guest and handles
 * its exits. A destroyed vCPU keeps its struct (state DESTROYED) until
 * vcpus_destroy() or vm_destroy() frees every vCPU of the VM.
 *
 * Once the VM has a stop request (vm_request_stop, from any thread), a
 * vCPU thread does not enter the guest again: it waits, still RUNNING
 * as far as the lifecycle goes, for the controller to pause it. So a
 * reset or debug-exit write is the last thing the guest did.
 */
#ifndef MODVM_CORE_VCPU_H
#define MODVM_CORE_VCPU_H

#include <stdint.h>

struct vm;
struct vcpu;

enum vcpu_state {
	VCPU_CREATED,
	VCPU_REALIZED,
	VCPU_RUNNING,
	VCPU_PAUSED,
	VCPU_DESTROYED,
};

/* How long pause waits for a vCPU thread to park, in milliseconds. */
extern unsigned vcpu_pause_timeout_ms;

/* KVM_CREATE_VCPU with id = arch->vcpu_id(index), map its kvm_run.
 * The vCPU joins vm->vcpus. */
int vcpu_new(struct vcpu **out, struct vm *vm, uint32_t index);
/* The arch's vcpu_setup (CPUID, MSRs, LAPIC). */
int vcpu_realize(struct vcpu *v);
/* Start the thread "vcpu N": it loops on KVM_RUN and dispatches exits. */
int vcpu_run(struct vcpu *v);
/* Kick the thread out of KVM_RUN and wait (bounded) until it parks. */
int vcpu_pause(struct vcpu *v);
int vcpu_resume(struct vcpu *v);
/* Join the thread, unmap kvm_run, close the vCPU fd. */
int vcpu_destroy(struct vcpu *v);

/* Pin the thread to a host CPU (-1: none); before run. */
int vcpu_set_affinity(struct vcpu *v, int host_cpu);

enum vcpu_state vcpu_state(struct vcpu *v);
const char *vcpu_state_name(enum vcpu_state state);
uint32_t vcpu_index(const struct vcpu *v);
int vcpu_fd(const struct vcpu *v);
/* KVM exits this vCPU has handled (kicks not counted). */
uint64_t vcpu_exits(const struct vcpu *v);

/*
 * The same over all vCPUs of a VM, in index order. Each first checks
 * that every vCPU may make the transition, so a refused call changes
 * nothing. vcpus_new creates n vCPUs with indices 0..n-1 (a VM has one
 * set at a time). vcpus_destroy takes any state (it pauses running
 * vCPUs first) and frees them all; it fails only if a thread would not
 * stop.
 */
int vcpus_new(struct vm *vm, uint32_t n);
int vcpus_realize(struct vm *vm);
int vcpus_run(struct vm *vm);
int vcpus_pause(struct vm *vm);
int vcpus_resume(struct vm *vm);
int vcpus_destroy(struct vm *vm);

#endif
