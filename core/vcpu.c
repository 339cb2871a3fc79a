/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads and their lifecycle.
 *
 * Kicking a vCPU out of KVM_RUN without a race: the kick signal stays
 * blocked in the vCPU thread at all times except inside KVM_RUN, where
 * KVM_SET_SIGNAL_MASK unblocks it. A kick that lands while the thread is
 * in user space therefore stays pending and makes the next KVM_RUN
 * return -EINTR at once; one that lands inside KVM_RUN forces an exit.
 * run->immediate_exit is set as well, so even a thread about to enter
 * returns straight away. Either way no kick is lost, device code on the
 * vCPU thread never sees EINTR, and the pending signal is consumed with
 * sigtimedwait() before the thread re-enters or parks.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "log.h"
#include "vcpu.h"
#include "vm.h"

#define KICK_SIGNAL SIGUSR1
/* The kernel's sigset is 64 bits on every arch KVM runs on here. */
#define KERNEL_SIGSET_SIZE 8

unsigned vcpu_pause_timeout_ms = 1000;

struct vcpu {
	struct vm *vm;
	uint32_t index;
	uint32_t id; /* KVM vCPU id */
	int fd;
	struct kvm_run *run;
	int host_cpu; /* -1: not pinned */
	pthread_t thread;
	bool thread_started;

	/* Guards the fields below and run->immediate_exit. */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* any change of the fields below */
	enum vcpu_state state;
	bool want_pause; /* controller: park and stay parked */
	bool want_exit;  /* controller: leave the thread */
	bool parked;     /* thread: parked because of want_pause */
	bool halted;     /* thread: asked the VM to stop; waits for pause */

	atomic_uint_fast64_t exits;
	struct modvm_exit_ctx ctx; /* used by the vCPU thread only */
};

/* What one KVM_RUN came back with. */
enum enter_result {
	ENTER_CONTINUE,
	ENTER_KICKED,
	ENTER_STOP,
};

static const char *const state_names[] = {
	[VCPU_CREATED] = "created", [VCPU_REALIZED] = "realized",
	[VCPU_RUNNING] = "running", [VCPU_PAUSED] = "paused",
	[VCPU_DESTROYED] = "destroyed",
};

const char *vcpu_state_name(enum vcpu_state state)
{
	return (unsigned)state < sizeof(state_names) / sizeof(state_names[0])
		       ? state_names[state]
		       : "invalid";
}

static void kick_handler(int sig)
{
	(void)sig; /* only there so the signal interrupts KVM_RUN */
}

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;
static int kick_installed;

static void install_kick_handler(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	/* No SA_RESTART: the point is to interrupt. */
	sigemptyset(&sa.sa_mask);
	kick_installed = sigaction(KICK_SIGNAL, &sa, NULL) == 0 ? 0 : -errno;
}

/* Consume a kick that is pending while blocked (see the top comment). */
static void eat_kicks(void)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, KICK_SIGNAL);
	while (sigtimedwait(&kick, NULL, &zero) == KICK_SIGNAL)
		;
}

/* Log why op is refused in the current state; the caller holds v->lock. */
static int refuse(const struct vcpu *v, const char *op, int err,
		  const char *hint)
{
	log_error("vcpu %" PRIu32 ": cannot %s a %s vCPU%s%s", v->index, op,
		  vcpu_state_name(v->state), hint ? "; " : "",
		  hint ? hint : "");
	return err;
}

int vcpu_new(struct vcpu **out, struct vm *vm, uint32_t index)
{
	pthread_condattr_t attr;
	struct vcpu *v, **grown;
	int ret;

	*out = NULL;
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		if (vm->vcpus[i]->index == index) {
			log_error("vcpu %" PRIu32 " already exists", index);
			return -EEXIST;
		}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->index = index;
	v->fd = -1;
	v->run = MAP_FAILED;
	v->host_cpu = -1;
	v->id = vm->arch->vcpu_id ? vm->arch->vcpu_id(vm->arch_state, index)
				  : index;
	if (v->id >= vm->max_vcpu_id) {
		log_error("vcpu %" PRIu32 ": KVM vCPU id %" PRIu32 " (x86: the "
			  "APIC ID) is beyond this host's limit "
			  "(KVM_CAP_MAX_VCPU_ID %" PRIu32 "); use a smaller "
			  "topology",
			  index, v->id, vm->max_vcpu_id);
		ret = -E2BIG;
		goto out_free;
	}
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->id);
	if (v->fd < 0) {
		ret = -errno;
		log_error("vcpu %" PRIu32 ": KVM_CREATE_VCPU id %" PRIu32 ": %s",
			  index, v->id, strerror(errno));
		goto out_free;
	}
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		ret = -errno;
		log_error("vcpu %" PRIu32 ": mmap kvm_run: %s", index,
			  strerror(errno));
		goto out_close;
	}
	ret = -pthread_mutex_init(&v->lock, NULL);
	if (ret)
		goto out_unmap;
	/* Pause deadlines are on the monotonic clock. */
	ret = -pthread_condattr_init(&attr);
	if (ret)
		goto out_mutex;
	ret = -pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!ret)
		ret = -pthread_cond_init(&v->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (ret)
		goto out_mutex;
	grown = realloc(vm->vcpus, (vm->n_vcpus + 1) * sizeof(*grown));
	if (!grown) {
		ret = -ENOMEM;
		goto out_cond;
	}
	vm->vcpus = grown;
	vm->vcpus[vm->n_vcpus++] = v;
	v->ctx = (struct modvm_exit_ctx){
		.index = index, .vcpu_id = v->id, .vcpu_fd = v->fd,
		.run = v->run,
	};
	v->state = VCPU_CREATED;
	*out = v;
	return 0;

out_cond:
	pthread_cond_destroy(&v->cond);
out_mutex:
	pthread_mutex_destroy(&v->lock);
out_unmap:
	munmap(v->run, vm->run_size);
out_close:
	close(v->fd);
out_free:
	free(v);
	return ret;
}

int vcpu_realize(struct vcpu *v)
{
	const struct vm *vm = v->vm;
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (v->state != VCPU_CREATED) {
		ret = refuse(v, "realize", -EINVAL, "a vCPU is realized once");
		goto out_unlock;
	}
	if (vm->arch->vcpu_setup)
		ret = vm->arch->vcpu_setup(vm->arch_state, vm->vm_fd, v->fd,
					   v->index);
	if (ret) {
		log_error("vcpu %" PRIu32 ": the arch plugin's vCPU setup "
			  "failed: %s",
			  v->index, strerror(-ret));
		goto out_unlock;
	}
	v->state = VCPU_REALIZED;
out_unlock:
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* One KVM_RUN and the dispatch of its exit, on the vCPU thread. */
static enum enter_result vcpu_enter(struct vcpu *v)
{
	struct modvm_exit_ctx *ctx = &v->ctx;
	enum modvm_exit_action action;
	bool dump;

	if (ioctl(v->fd, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			eat_kicks();
			return ENTER_KICKED;
		}
		ctx->stop_reason = MODVM_STOP_ERROR;
		ctx->status = 1;
		snprintf(ctx->message, sizeof(ctx->message),
			 "vcpu %" PRIu32 ": KVM_RUN: %s", v->index,
			 strerror(errno));
		return ENTER_STOP;
	}
	atomic_fetch_add_explicit(&v->exits, 1, memory_order_relaxed);
	action = exit_dispatch(&v->vm->exits, ctx, &dump);
	if (dump && v->vm->arch->dump_vcpu) {
		fprintf(stderr, "modvm: registers of vcpu %" PRIu32 ":\n",
			v->index);
		v->vm->arch->dump_vcpu(v->vm->arch_state, v->fd, stderr);
	}
	return action == MODVM_EXIT_CONTINUE ? ENTER_CONTINUE : ENTER_STOP;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	enum enter_result r;
	char name[16];

	snprintf(name, sizeof(name), "vcpu %" PRIu32, v->index);
	pthread_setname_np(pthread_self(), name);

	pthread_mutex_lock(&v->lock);
	while (!v->want_exit) {
		/* Once the VM is to stop, no vCPU runs the guest on: a
		 * reset or debug-exit write must be the guest's last act,
		 * not followed by whatever the next instructions do. */
		if (!v->halted && vm_stopping(v->vm))
			v->halted = true;
		if (v->want_pause || v->halted) {
			if (v->want_pause && !v->parked) {
				/* The kick that asked for this was sent
				 * under the lock we hold, so it is pending
				 * now unless KVM_RUN already took it. */
				eat_kicks();
				v->run->immediate_exit = 0;
				v->parked = true;
				pthread_cond_broadcast(&v->cond);
			}
			pthread_cond_wait(&v->cond, &v->lock);
			continue;
		}
		v->parked = false;
		pthread_mutex_unlock(&v->lock);

		r = vcpu_enter(v);
		if (r == ENTER_STOP)
			vm_request_stop(v->vm, v->ctx.stop_reason,
					v->ctx.status, v->ctx.message);

		pthread_mutex_lock(&v->lock);
		if (r == ENTER_KICKED)
			v->run->immediate_exit = 0;
		else if (r == ENTER_STOP)
			v->halted = true; /* never re-enter a failed vCPU */
	}
	v->parked = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

/* KVM's view of the thread's mask: the same, with the kick unblocked. */
static int set_kvm_sigmask(const struct vcpu *v, const sigset_t *thread_mask)
{
	union {
		struct kvm_signal_mask hdr;
		unsigned char bytes[sizeof(struct kvm_signal_mask) +
				    KERNEL_SIGSET_SIZE];
	} m;
	sigset_t in_kvm = *thread_mask;

	sigdelset(&in_kvm, KICK_SIGNAL);
	m.hdr.len = KERNEL_SIGSET_SIZE;
	memcpy(m.bytes + sizeof(m.hdr), &in_kvm, KERNEL_SIGSET_SIZE);
	if (ioctl(v->fd, KVM_SET_SIGNAL_MASK, &m) < 0) {
		int err = errno;

		log_error("vcpu %" PRIu32 ": KVM_SET_SIGNAL_MASK: %s", v->index,
			  strerror(err));
		return -err;
	}
	return 0;
}

int vcpu_run(struct vcpu *v)
{
	sigset_t block, saved;
	pthread_attr_t attr;
	cpu_set_t cpus;
	int ret;

	pthread_mutex_lock(&v->lock);
	if (v->state != VCPU_REALIZED) {
		ret = refuse(v, "run", -EINVAL,
			     v->state == VCPU_PAUSED ? "resume it instead"
			     : v->state == VCPU_CREATED ? "realize it first"
						       : NULL);
		goto out_unlock;
	}
	pthread_once(&kick_once, install_kick_handler);
	ret = kick_installed;
	if (ret) {
		log_error("vcpu %" PRIu32 ": cannot install the kick signal "
			  "handler: %s",
			  v->index, strerror(-ret));
		goto out_unlock;
	}
	/* From now on vCPU threads look ranges up without locks. */
	bus_seal(&v->vm->pio);
	bus_seal(&v->vm->mmio);

	/* The thread inherits this mask: the kick and the signals that
	 * stop modvm (handled by the main thread) stay blocked in it. */
	pthread_sigmask(SIG_BLOCK, NULL, &block);
	sigaddset(&block, KICK_SIGNAL);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	ret = set_kvm_sigmask(v, &block);
	if (ret)
		goto out_unlock;
	ret = -pthread_attr_init(&attr);
	if (ret)
		goto out_unlock;
	if (v->host_cpu >= 0) {
		CPU_ZERO(&cpus);
		CPU_SET((unsigned)v->host_cpu, &cpus);
		ret = -pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
		if (ret)
			goto out_attr;
	}
	v->want_pause = v->want_exit = v->parked = v->halted = false;
	pthread_sigmask(SIG_SETMASK, &block, &saved);
	ret = -pthread_create(&v->thread, &attr, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (ret)
		goto out_attr;
	v->thread_started = true;
	v->state = VCPU_RUNNING;
out_attr:
	if (ret)
		log_error("vcpu %" PRIu32 ": cannot start its thread%s: %s",
			  v->index, v->host_cpu >= 0 ? " (pinned)" : "",
			  strerror(-ret));
	pthread_attr_destroy(&attr);
out_unlock:
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* First half of a pause: ask, and kick the thread out of the guest. */
static int pause_request(struct vcpu *v)
{
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (v->state != VCPU_RUNNING) {
		ret = refuse(v, "pause", -EINVAL, NULL);
		goto out_unlock;
	}
	v->want_pause = true;
	if (!v->parked) {
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, KICK_SIGNAL);
	}
	pthread_cond_broadcast(&v->cond); /* a halted thread waits on it */
out_unlock:
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* Second half: wait until the thread parked, at most until deadline. */
static int pause_wait(struct vcpu *v, const struct timespec *deadline)
{
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	while (!v->parked && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&v->cond, &v->lock, deadline);
	if (v->parked) {
		v->state = VCPU_PAUSED;
		ret = 0;
	} else {
		/* Withdraw, so the vCPU is as it was: still running. */
		v->want_pause = false;
		log_error("vcpu %" PRIu32 ": did not stop within %u ms of being "
			  "kicked (blocked in a device handler?); it keeps "
			  "running",
			  v->index, vcpu_pause_timeout_ms);
		ret = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static void pause_deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += vcpu_pause_timeout_ms / 1000;
	ts->tv_nsec += (long)(vcpu_pause_timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int vcpu_pause(struct vcpu *v)
{
	struct timespec deadline;
	int ret = pause_request(v);

	if (ret)
		return ret;
	pause_deadline(&deadline);
	return pause_wait(v, &deadline);
}

int vcpu_resume(struct vcpu *v)
{
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (v->state != VCPU_PAUSED) {
		ret = refuse(v, "resume", -EINVAL, NULL);
		goto out_unlock;
	}
	v->want_pause = false;
	v->halted = false;
	v->state = VCPU_RUNNING;
	pthread_cond_broadcast(&v->cond);
out_unlock:
	pthread_mutex_unlock(&v->lock);
	return ret;
}

int vcpu_destroy(struct vcpu *v)
{
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (v->state == VCPU_RUNNING || v->state == VCPU_DESTROYED) {
		ret = refuse(v, "destroy", v->state == VCPU_RUNNING ? -EBUSY
								    : -EINVAL,
			     v->state == VCPU_RUNNING ? "pause it first"
						      : NULL);
		pthread_mutex_unlock(&v->lock);
		return ret;
	}
	v->want_exit = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);

	/* The thread is parked: it leaves without entering the guest. */
	if (v->thread_started)
		pthread_join(v->thread, NULL);
	v->thread_started = false;
	munmap(v->run, v->vm->run_size);
	v->run = MAP_FAILED;
	close(v->fd);
	v->fd = -1;

	pthread_mutex_lock(&v->lock);
	v->state = VCPU_DESTROYED;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

int vcpu_set_affinity(struct vcpu *v, int host_cpu)
{
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (v->state != VCPU_CREATED && v->state != VCPU_REALIZED)
		ret = refuse(v, "pin", -EINVAL, "pin it before it runs");
	else if (host_cpu >= CPU_SETSIZE)
		ret = -EINVAL;
	else
		v->host_cpu = host_cpu;
	pthread_mutex_unlock(&v->lock);
	return ret;
}

enum vcpu_state vcpu_state(struct vcpu *v)
{
	enum vcpu_state s;

	pthread_mutex_lock(&v->lock);
	s = v->state;
	pthread_mutex_unlock(&v->lock);
	return s;
}

uint32_t vcpu_index(const struct vcpu *v)
{
	return v->index;
}

int vcpu_fd(const struct vcpu *v)
{
	return v->fd;
}

uint64_t vcpu_exits(const struct vcpu *v)
{
	return atomic_load_explicit(&v->exits, memory_order_relaxed);
}

/* ---- all vCPUs of a VM ---- */

/* Refuse op unless every vCPU is in state `from`, before touching any. */
static int check_all(struct vm *vm, enum vcpu_state from, const char *op)
{
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		enum vcpu_state s = vcpu_state(v);

		if (s != from) {
			log_error("cannot %s the vCPUs: vcpu %" PRIu32 " is %s, "
				  "not %s",
				  op, v->index, vcpu_state_name(s),
				  vcpu_state_name(from));
			return -EINVAL;
		}
	}
	return 0;
}

int vcpus_new(struct vm *vm, uint32_t n)
{
	unsigned before = vm->n_vcpus;
	struct vcpu *v;
	int ret = 0;

	if (before) {
		log_error("the VM already has %u vCPUs", before);
		return -EEXIST;
	}
	for (uint32_t i = 0; i < n && !ret; i++)
		ret = vcpu_new(&v, vm, i);
	if (ret)
		vcpus_destroy(vm);
	return ret;
}

/* op on every vCPU, after checking all of them may make the move. */
static int for_all(struct vm *vm, enum vcpu_state from, const char *name,
		   int (*op)(struct vcpu *v))
{
	int ret = check_all(vm, from, name);

	for (unsigned i = 0; i < vm->n_vcpus && !ret; i++)
		ret = op(vm->vcpus[i]);
	return ret;
}

int vcpus_realize(struct vm *vm)
{
	return for_all(vm, VCPU_CREATED, "realize", vcpu_realize);
}

int vcpus_run(struct vm *vm)
{
	return for_all(vm, VCPU_REALIZED, "run", vcpu_run);
}

int vcpus_pause(struct vm *vm)
{
	struct timespec deadline;
	int ret = check_all(vm, VCPU_RUNNING, "pause");

	if (ret)
		return ret;
	/* Kick them all, then wait: they park in parallel. */
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		pause_request(vm->vcpus[i]);
	pause_deadline(&deadline);
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		int r = pause_wait(vm->vcpus[i], &deadline);

		if (r && !ret)
			ret = r;
	}
	return ret;
}

int vcpus_resume(struct vm *vm)
{
	return for_all(vm, VCPU_PAUSED, "resume", vcpu_resume);
}

int vcpus_destroy(struct vm *vm)
{
	int ret = 0;

	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		enum vcpu_state s = vcpu_state(v);

		if (s == VCPU_RUNNING && vcpu_pause(v)) {
			ret = -EBUSY;
			continue;
		}
		if (s != VCPU_DESTROYED)
			vcpu_destroy(v);
	}
	if (ret)
		return ret; /* keep every vCPU: one thread still runs */
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		pthread_cond_destroy(&vm->vcpus[i]->cond);
		pthread_mutex_destroy(&vm->vcpus[i]->lock);
		free(vm->vcpus[i]);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->n_vcpus = 0;
	return 0;
}
