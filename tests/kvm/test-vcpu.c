/* SPDX-License-Identifier: MIT */
/*
 * vCPU lifecycle on real KVM: pause really stops the guest, resume
 * continues it, destroy leaves no thread or fd behind, illegal
 * transitions change nothing, and odd guests do not crash the core.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/signalfd.h>

#include <linux/kvm.h>

#include <cmocka.h>

#include "guest-programs.h"
#include "kvmtest.h"
#include "vcpu.h"

#define CYCLES 100
#define PROGRESS_TIMEOUT_S 20.0

struct fx {
	struct machine *m;
	struct vm *vm;
	atomic_uint port_hits;
	volatile uint32_t *counters;
	unsigned n;
};

static void hit_write(void *opaque, uint64_t offset, const void *data,
		      uint32_t len)
{
	struct fx *fx = opaque;

	(void)offset;
	(void)data;
	(void)len;
	atomic_fetch_add(&fx->port_hits, 1);
}

static const struct modvm_io_ops hit_ops = { NULL, hit_write };

/* A machine with n vCPUs and exit-io; no VM yet. */
static struct fx *fx_load(unsigned n, const char *extra)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char ini[512];

	assert_non_null(fx);
	snprintf(ini, sizeof(ini),
		 "[machine]\nmemory = 16M\n[arch]\nplugin = kvmtest-arch\n"
		 "[smp]\ncpus = %u\n%s",
		 n, extra);
	fx->m = kt_load(ini);
	fx->n = n;
	return fx;
}

/* Create the VM, load program, create and realize the vCPUs. */
static void fx_vm(struct fx *fx, const char *program)
{
	struct machine *m = fx->m;
	struct vm_params p = { m->arch_ops, m->arch->state, m->memory,
			       m->topo.maxcpus };

	assert_int_equal(vm_create(&fx->vm, &p), 0);
	m->vm = fx->vm;
	assert_int_equal(exit_table_add_plugins(&fx->vm->exits, m->plugins,
						m->n_plugins),
			 0);
	assert_int_equal(vm_bus_register(fx->vm, MODVM_BUS_PIO, COUNTER_PORT,
					 1, &hit_ops, fx, "test-counter"),
			 0);
	guest_program_load(guest_program(program),
			   vm_guest_ptr(fx->vm, 0, GUEST_COUNTERS));
	fx->counters = vm_guest_ptr(fx->vm, GUEST_COUNTERS, 4 * fx->n);
	assert_non_null(fx->counters);
	assert_int_equal(vcpus_new(fx->vm, fx->n), 0);
	assert_int_equal(vcpus_realize(fx->vm), 0);
}

static struct fx *fx_new(unsigned n, const char *program)
{
	struct fx *fx = fx_load(n, "[exit \"io\"]\nplugin = exit-io\n");

	fx_vm(fx, program);
	return fx;
}

static void fx_free(struct fx *fx)
{
	kt_free(fx->m);
	free(fx);
}

static void snapshot(const struct fx *fx, uint32_t *out)
{
	for (unsigned i = 0; i < fx->n; i++)
		out[i] = fx->counters[i];
}

/* Wait until vCPU i's counter passes base[i], for every i in mask. */
static bool progressed(const struct fx *fx, const uint32_t *base,
		       unsigned mask)
{
	double end = kt_now() + PROGRESS_TIMEOUT_S;

	for (unsigned i = 0; i < fx->n; i++) {
		if (!(mask & (1u << i)))
			continue;
		while (fx->counters[i] == base[i]) {
			if (kt_now() > end)
				return false;
			kt_sleep_ms(1);
		}
	}
	return true;
}

static void assert_states(const struct fx *fx, enum vcpu_state s)
{
	for (unsigned i = 0; i < fx->vm->n_vcpus; i++)
		assert_string_equal(vcpu_state_name(vcpu_state(fx->vm->vcpus[i])),
				    vcpu_state_name(s));
}

static void test_pause_freezes_every_vcpu_across_100_cycles(void **state)
{
	struct fx *fx = fx_new(4, "counter");
	uint32_t zero[4] = { 0 }, a[4], b[4];
	double paused = 0, t;
	unsigned hits;

	(void)state;
	assert_int_equal(vcpus_run(fx->vm), 0);
	assert_true(progressed(fx, zero, 0xf));
	for (unsigned c = 0; c < CYCLES; c++) {
		t = kt_now();
		assert_int_equal(vcpus_pause(fx->vm), 0);
		paused += kt_now() - t;
		assert_states(fx, VCPU_PAUSED);
		snapshot(fx, a);
		hits = atomic_load(&fx->port_hits);
		kt_sleep_ms(2);
		snapshot(fx, b);
		assert_memory_equal(a, b, sizeof(a));
		assert_int_equal(atomic_load(&fx->port_hits), hits);
		assert_int_equal(vcpus_resume(fx->vm), 0);
		assert_states(fx, VCPU_RUNNING);
		assert_true(progressed(fx, a, 0xf));
	}
	printf("# %d pause/resume cycles of 4 vCPUs: pause took %.3f ms on "
	       "average; %u port exits dispatched\n",
	       CYCLES, paused * 1000 / CYCLES, atomic_load(&fx->port_hits));
	assert_int_equal(vcpus_pause(fx->vm), 0);
	assert_int_equal(vcpus_destroy(fx->vm), 0);
	fx_free(fx);
}

static void test_pausing_one_vcpu_leaves_the_others_running(void **state)
{
	struct fx *fx = fx_new(4, "counter");
	struct vcpu *v2;
	uint32_t zero[4] = { 0 }, a[4], b[4];

	(void)state;
	assert_int_equal(vcpus_run(fx->vm), 0);
	assert_true(progressed(fx, zero, 0xf));
	v2 = fx->vm->vcpus[2];
	assert_int_equal(vcpu_pause(v2), 0);
	snapshot(fx, a);
	assert_true(progressed(fx, a, 0xb)); /* vCPUs 0, 1 and 3 */
	snapshot(fx, b);
	assert_int_equal(a[2], b[2]);
	assert_int_equal(vcpu_resume(v2), 0);
	assert_true(progressed(fx, b, 0x4));
	assert_int_equal(vcpus_destroy(fx->vm), 0); /* pauses them first */
	fx_free(fx);
}

static void test_destroy_joins_every_thread_and_closes_every_fd(void **state)
{
	struct fx *fx = fx_load(4, "[exit \"io\"]\nplugin = exit-io\n");
	unsigned fds = kt_fds(), threads = kt_threads();
	unsigned all_threads = kt_all_threads();
	uint32_t zero[4] = { 0 };

	(void)state;
	fx_vm(fx, "counter");
	assert_int_equal(kt_fds(), fds + 3 + 4); /* kvm, vm, eventfd, vCPUs */
	assert_int_equal(vcpus_run(fx->vm), 0);
	assert_true(progressed(fx, zero, 0xf));
	assert_int_equal(kt_threads(), threads + 4);
	assert_int_equal(vcpus_pause(fx->vm), 0);
	assert_int_equal(vcpus_destroy(fx->vm), 0);
	assert_int_equal(kt_threads(), threads);
	assert_int_equal(kt_fds(), fds + 3);
	assert_int_equal(fx->vm->n_vcpus, 0);
	vm_destroy(fx->vm);
	fx->m->vm = NULL;
	assert_int_equal(kt_fds(), fds);
	/* KVM's own worker went with the VM fd: nothing is left at all. */
	assert_int_equal(kt_all_threads(), all_threads);
	fx_free(fx);
}

static void test_illegal_transitions_are_refused_and_change_nothing(
	void **state)
{
	struct fx *fx = fx_load(2, "[exit \"io\"]\nplugin = exit-io\n");
	struct machine *m = fx->m;
	struct vm_params p = { m->arch_ops, m->arch->state, m->memory,
			       m->topo.maxcpus };
	struct vcpu *v, *w;
	uint32_t before[2], after[2];

	(void)state;
	assert_int_equal(vm_create(&fx->vm, &p), 0);
	m->vm = fx->vm;
	assert_int_equal(exit_table_add_plugins(&fx->vm->exits, m->plugins,
						m->n_plugins),
			 0);
	guest_program_load(guest_program("counter"),
			   vm_guest_ptr(fx->vm, 0, GUEST_COUNTERS));
	fx->counters = vm_guest_ptr(fx->vm, GUEST_COUNTERS, 8);
	assert_int_equal(vcpu_new(&v, fx->vm, 0), 0);
	assert_int_equal(vcpu_new(&w, fx->vm, 0), -EEXIST);

	/* created */
	assert_int_equal(vcpu_run(v), -EINVAL);
	assert_int_equal(vcpu_pause(v), -EINVAL);
	assert_int_equal(vcpu_resume(v), -EINVAL);
	assert_int_equal(vcpu_state(v), VCPU_CREATED);
	/* realized */
	assert_int_equal(vcpu_realize(v), 0);
	assert_int_equal(vcpu_realize(v), -EINVAL);
	assert_int_equal(vcpu_pause(v), -EINVAL);
	assert_int_equal(vcpu_resume(v), -EINVAL);
	assert_int_equal(vcpu_state(v), VCPU_REALIZED);
	/* running: the guest keeps going through every refusal */
	assert_int_equal(vcpu_run(v), 0);
	assert_int_equal(vcpu_run(v), -EINVAL);
	assert_int_equal(vcpu_resume(v), -EINVAL);
	assert_int_equal(vcpu_realize(v), -EINVAL);
	assert_int_equal(vcpu_destroy(v), -EBUSY);
	assert_int_equal(vcpu_set_affinity(v, 0), -EINVAL);
	assert_int_equal(vcpu_state(v), VCPU_RUNNING);
	snapshot(fx, before);
	fx->n = 1;
	assert_true(progressed(fx, before, 0x1));
	/* paused */
	assert_int_equal(vcpu_pause(v), 0);
	assert_int_equal(vcpu_pause(v), -EINVAL);
	assert_int_equal(vcpu_run(v), -EINVAL);
	assert_int_equal(vcpu_realize(v), -EINVAL);
	assert_int_equal(vcpu_state(v), VCPU_PAUSED);

	/* VM level: one vCPU paused, one realized: nothing may move. */
	assert_int_equal(vcpu_new(&w, fx->vm, 1), 0);
	assert_int_equal(vcpu_realize(w), 0);
	assert_int_equal(vcpus_run(fx->vm), -EINVAL);
	assert_int_equal(vcpus_resume(fx->vm), -EINVAL);
	assert_int_equal(vcpus_pause(fx->vm), -EINVAL);
	assert_int_equal(vcpu_state(v), VCPU_PAUSED);
	assert_int_equal(vcpu_state(w), VCPU_REALIZED);
	snapshot(fx, before);
	kt_sleep_ms(5);
	snapshot(fx, after);
	assert_int_equal(before[0], after[0]);

	/* destroyed */
	assert_int_equal(vcpu_destroy(v), 0);
	assert_int_equal(vcpu_destroy(v), -EINVAL);
	assert_int_equal(vcpu_run(v), -EINVAL);
	assert_int_equal(vcpu_pause(v), -EINVAL);
	assert_int_equal(vcpu_resume(v), -EINVAL);
	assert_int_equal(vcpu_realize(v), -EINVAL);
	assert_int_equal(vcpu_state(v), VCPU_DESTROYED);
	assert_int_equal(vcpus_destroy(fx->vm), 0);
	fx_free(fx);
}

static void test_unclaimed_ports_are_counted_not_fatal(void **state)
{
	struct fx *fx = fx_new(1, "unclaimed");
	uint32_t base = 0, count;
	struct vm_stop stop;

	(void)state;
	assert_int_equal(vcpus_run(fx->vm), 0);
	for (unsigned i = 0; i < 5; i++) {
		assert_true(progressed(fx, &base, 0x1));
		base = fx->counters[0];
	}
	assert_int_equal(vcpus_pause(fx->vm), 0);
	count = fx->counters[0];
	/* One OUT and one IN per iteration, both unclaimed. */
	assert_true(bus_unclaimed(&fx->vm->pio) >= 2ull * (count - 1));
	assert_false(vm_stop_get(fx->vm, &stop));
	assert_int_equal(vcpus_resume(fx->vm), 0);
	assert_true(progressed(fx, &count, 0x1));
	assert_int_equal(vcpus_destroy(fx->vm), 0);
	fx_free(fx);
}

static void test_unhandled_exit_stops_the_vm_naming_reason_and_vcpu(
	void **state)
{
	/* No irqchip and no exit-halt: HLT comes out as KVM_EXIT_HLT, which
	 * nobody owns. */
	struct fx *fx = fx_load(1, "[exit \"io\"]\nplugin = exit-io\n");
	struct vm_stop stop;

	(void)state;
	fx_vm(fx, "hlt");
	assert_int_equal(vcpus_run(fx->vm), 0);
	assert_int_equal(vm_wait_stop(fx->vm, -1, 20000), 0);
	assert_true(vm_stop_get(fx->vm, &stop));
	assert_int_equal(stop.reason, MODVM_STOP_ERROR);
	assert_non_null(strstr(stop.message, "KVM_EXIT_HLT"));
	assert_non_null(strstr(stop.message, "vcpu 0"));
	/* The failed vCPU waits, parked, instead of re-entering. */
	assert_int_equal(vcpus_pause(fx->vm), 0);
	assert_int_equal(vcpus_destroy(fx->vm), 0);
	fx_free(fx);
}

/* KVM_RUN itself failing (here: kvm_run asks to sync registers KVM does
 * not know) stops the VM with status ERROR naming the vCPU, and that
 * vCPU never re-enters. */
static void test_vcpu_that_fails_entry_stops_the_vm(void **state)
{
	struct fx *fx = fx_new(2, "counter");
	struct kvm_run *run;
	struct vm_stop stop;
	size_t size;

	(void)state;
	size = fx->vm->run_size;
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu_fd(fx->vm->vcpus[1]), 0);
	assert_true(run != MAP_FAILED);
	run->kvm_valid_regs = 1ull << 63;
	assert_int_equal(vcpus_run(fx->vm), 0);
	assert_int_equal(vm_wait_stop(fx->vm, -1, 20000), 0);
	assert_true(vm_stop_get(fx->vm, &stop));
	assert_int_equal(stop.reason, MODVM_STOP_ERROR);
	assert_string_equal(stop.message, "vcpu 1: KVM_RUN: Invalid argument");
	assert_int_equal(vcpus_pause(fx->vm), 0);
	assert_int_equal(fx->counters[1], 0);
	munmap(run, size);
	assert_int_equal(vcpus_destroy(fx->vm), 0);
	fx_free(fx);
}

/* A SIGTERM that arrives while a reset is being handled ends the VM
 * instead of vanishing in the restart. */
static void test_sigterm_during_reset_is_not_lost(void **state)
{
	struct fx *fx = fx_load(1, "");
	struct machine *m = fx->m;
	struct vm_params p = { m->arch_ops, m->arch->state, m->memory,
			       m->topo.maxcpus };
	sigset_t term, saved;
	struct vm_stop stop;
	int sig_fd;

	(void)state;
	assert_int_equal(vm_create(&fx->vm, &p), 0);
	m->vm = fx->vm;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, &saved);
	sig_fd = signalfd(-1, &term, SFD_CLOEXEC); /* blocking: never waits */
	assert_true(sig_fd >= 0);

	/* The guest asks for a reset; the VMM stops the vCPUs... */
	vm_request_stop(fx->vm, MODVM_STOP_RESET, 0, "reset");
	assert_true(vm_stopping(fx->vm));
	/* ...while SIGTERM arrives, before or during vm_reset. */
	raise(SIGTERM);
	assert_int_equal(vm_take_signals(fx->vm, sig_fd), 1);
	assert_int_equal(vm_reset(fx->vm), -ECANCELED);
	assert_true(vm_stop_get(fx->vm, &stop));
	assert_int_equal(stop.reason, MODVM_STOP_SIGNAL);
	assert_int_equal(stop.status, SIGTERM);
	assert_string_equal(stop.message, "received SIGTERM");

	/* A reset alone is cleared by vm_reset, and so is the flag. */
	vm_destroy(fx->vm);
	assert_int_equal(vm_create(&fx->vm, &p), 0);
	m->vm = fx->vm;
	vm_request_stop(fx->vm, MODVM_STOP_RESET, 0, "reset");
	assert_int_equal(vm_reset(fx->vm), 0);
	assert_false(vm_stop_get(fx->vm, &stop));
	assert_false(vm_stopping(fx->vm));

	close(sig_fd);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_freezes_every_vcpu_across_100_cycles),
		cmocka_unit_test(test_pausing_one_vcpu_leaves_the_others_running),
		cmocka_unit_test(test_destroy_joins_every_thread_and_closes_every_fd),
		cmocka_unit_test(
			test_illegal_transitions_are_refused_and_change_nothing),
		cmocka_unit_test(test_unclaimed_ports_are_counted_not_fatal),
		cmocka_unit_test(
			test_unhandled_exit_stops_the_vm_naming_reason_and_vcpu),
		cmocka_unit_test(test_vcpu_that_fails_entry_stops_the_vm),
		cmocka_unit_test(test_sigterm_during_reset_is_not_lost),
	};
	const char *timeout = getenv("MODVM_TEST_PAUSE_TIMEOUT_MS");

	kt_require_kvm("test-vcpu");
	/* Valgrind runs threads one at a time, far slower than 1 s allows. */
	if (timeout)
		vcpu_pause_timeout_ms = (unsigned)atoi(timeout);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
