/* SPDX-License-Identifier: MIT */
/*
 * exit-cost: what modvm's exit path costs on top of KVM itself.
 *
 * One real-mode guest loop makes N port-I/O exits (out to port 0x80,
 * then one to 0x81 to finish). It runs twice per round:
 *   bare   a KVM_RUN loop written here, that only counts the exits;
 *   modvm  the core's path: vCPU thread, exit table, the exit-io plugin,
 *          the host API and the port-I/O bus to a device callback.
 * Prints exits/s for each, best of the rounds, and their ratio (goal:
 * modvm/bare >= 0.97). Never fails on a timing; exits 77 without KVM.
 *
 * Usage: exit-cost [EXITS [ROUNDS]]   (default 100000 3)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "../tests/kvm/guest-programs.h"
#include "../tests/unit/helpers.h"
#include "config.h"
#include "log.h"
#include "machine.h"
#include "vcpu.h"
#include "vm.h"

#define BARE_RAM (1u << 20)
#define TSS_ADDR 0xfffbd000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- bare: the least a VMM can do per exit ---- */

struct bare {
	int kvm, vm, vcpu;
	uint8_t *ram;
	struct kvm_run *run;
	size_t run_size;
};

static void bare_free(struct bare *b)
{
	if (b->run && b->run != MAP_FAILED)
		munmap(b->run, b->run_size);
	if (b->ram && b->ram != MAP_FAILED)
		munmap(b->ram, BARE_RAM);
	if (b->vcpu >= 0)
		close(b->vcpu);
	if (b->vm >= 0)
		close(b->vm);
	if (b->kvm >= 0)
		close(b->kvm);
}

static int bare_setup(struct bare *b, uint32_t exits)
{
	struct kvm_userspace_memory_region slot = { .memory_size = BARE_RAM };
	struct kvm_regs regs = { .rip = GUEST_CODE, .rflags = 2,
				 .rcx = exits };
	struct kvm_sregs sregs;
	struct kvm_segment *segs[] = { &sregs.cs, &sregs.ds, &sregs.es,
				       &sregs.fs, &sregs.gs, &sregs.ss };

	b->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	b->vm = b->kvm < 0 ? -1 : ioctl(b->kvm, KVM_CREATE_VM, 0);
	if (b->vm < 0 || ioctl(b->vm, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
		return -errno;
	b->ram = mmap(NULL, BARE_RAM, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b->ram == MAP_FAILED)
		return -errno;
	guest_program_load(guest_program("bench"), b->ram);
	slot.userspace_addr = (uintptr_t)b->ram;
	if (ioctl(b->vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return -errno;
	b->vcpu = ioctl(b->vm, KVM_CREATE_VCPU, 0);
	b->run_size = (size_t)ioctl(b->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (b->vcpu < 0)
		return -errno;
	b->run = mmap(NULL, b->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      b->vcpu, 0);
	if (b->run == MAP_FAILED || ioctl(b->vcpu, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		segs[i]->selector = 0;
		segs[i]->base = 0;
	}
	if (ioctl(b->vcpu, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(b->vcpu, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

/* Seconds for the whole loop, or < 0 on failure. */
static double bare_round(uint32_t exits, uint64_t *counted)
{
	struct bare b = { .kvm = -1, .vm = -1, .vcpu = -1 };
	double t0, t = -1;

	*counted = 0;
	if (bare_setup(&b, exits)) {
		fprintf(stderr, "exit-cost: bare KVM setup: %s\n",
			strerror(errno));
		goto out;
	}
	t0 = now();
	for (;;) {
		if (ioctl(b.vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "exit-cost: KVM_RUN: %s\n",
				strerror(errno));
			goto out;
		}
		if (b.run->exit_reason != KVM_EXIT_IO)
			break;
		if (b.run->io.port == BENCH_DONE)
			break;
		(*counted)++;
	}
	t = now() - t0;
out:
	bare_free(&b);
	return t;
}

/* ---- modvm: the core's vCPU thread, exit table, plugin and bus ---- */

struct sink {
	atomic_uint_fast64_t counted;
	struct vm *vm;
	double done;
};

static void sink_write(void *opaque, uint64_t offset, const void *data,
		       uint32_t len)
{
	struct sink *s = opaque;

	(void)offset;
	(void)data;
	(void)len;
	atomic_fetch_add_explicit(&s->counted, 1, memory_order_relaxed);
}

static void done_write(void *opaque, uint64_t offset, const void *data,
		       uint32_t len)
{
	struct sink *s = opaque;

	(void)offset;
	(void)data;
	(void)len;
	s->done = now();
	vm_request_stop(s->vm, MODVM_STOP_POWEROFF, 0, "benchmark done");
}

static const struct modvm_io_ops sink_ops = { NULL, sink_write };
static const struct modvm_io_ops done_ops = { NULL, done_write };

static double modvm_round(uint32_t exits, uint64_t *counted)
{
	struct config *cfg = NULL;
	struct machine *m = NULL;
	struct vm *vm = NULL;
	struct sink sink = { 0 };
	struct vm_params p;
	char ini[256], *path;
	double t0, t = -1;

	*counted = 0;
	snprintf(ini, sizeof(ini),
		 "[machine]\nmemory = 1M\n[arch]\nplugin = kvmtest-arch\n"
		 "rcx = %u\n[exit \"io\"]\nplugin = exit-io\n",
		 exits);
	path = write_temp("bench.ini", ini);
	if (!path || config_load(&cfg, path) || machine_load(&m, cfg))
		goto out;
	p = (struct vm_params){ m->arch_ops, m->arch->state, m->memory,
				m->topo.maxcpus };
	if (vm_create(&vm, &p))
		goto out;
	m->vm = sink.vm = vm;
	if (exit_table_add_plugins(&vm->exits, m->plugins, m->n_plugins) ||
	    vm_bus_register(vm, MODVM_BUS_PIO, BENCH_PORT, 1, &sink_ops, &sink,
			    "sink") ||
	    vm_bus_register(vm, MODVM_BUS_PIO, BENCH_DONE, 1, &done_ops, &sink,
			    "done"))
		goto out;
	guest_program_load(guest_program("bench"),
			   vm_guest_ptr(vm, 0, GUEST_COUNTERS));
	if (vcpus_new(vm, 1) || vcpus_realize(vm))
		goto out;
	t0 = now();
	if (vcpus_run(vm) || vm_wait_stop(vm, -1, 600000))
		goto out;
	t = sink.done - t0;
	*counted = atomic_load(&sink.counted);
out:
	if (m) {
		m->vm = NULL;
		machine_free(m);
	}
	vm_destroy(vm);
	remove_temp(path);
	return t;
}

int main(int argc, char **argv)
{
	uint32_t exits = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0)
				  : 100000;
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 3;
	double best_bare = 0, best_modvm = 0;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("exit-cost: SKIP: cannot open /dev/kvm (%s); run it in "
		       "the test host: tests/kvm/run-in-testhost.sh --bench\n",
		       strerror(errno));
		return 77;
	}
	close(fd);
	if (!exits || !rounds) {
		fprintf(stderr, "usage: exit-cost [EXITS [ROUNDS]]\n");
		return 2;
	}
	log_level = MODVM_LOG_WARN;
	printf("exit-cost: %u port-I/O exits per run, %u rounds, best of each\n",
	       exits, rounds);
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t nb, nm;
		double tb = bare_round(exits, &nb);
		double tm = modvm_round(exits, &nm);

		if (tb <= 0 || tm <= 0 || nb != exits || nm != exits) {
			fprintf(stderr, "exit-cost: round %u failed (bare %llu, "
				"modvm %llu exits counted)\n",
				r, (unsigned long long)nb,
				(unsigned long long)nm);
			return 1;
		}
		printf("  round %u: bare %.0f exits/s, modvm %.0f exits/s\n", r,
		       exits / tb, exits / tm);
		if (exits / tb > best_bare)
			best_bare = exits / tb;
		if (exits / tm > best_modvm)
			best_modvm = exits / tm;
	}
	printf("bare KVM_RUN loop: %10.0f exits/s (%.2f us/exit)\n", best_bare,
	       1e6 / best_bare);
	printf("modvm dispatch:    %10.0f exits/s (%.2f us/exit)\n",
	       best_modvm, 1e6 / best_modvm);
	printf("ratio modvm/bare:  %10.3f (goal >= 0.97)\n",
	       best_modvm / best_bare);
	return 0;
}
