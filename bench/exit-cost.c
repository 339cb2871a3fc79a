/* SPDX-License-Identifier: MIT */
/*
 * exit-cost: what modvm's exit path costs on top of KVM itself.
 *
 * One real-mode guest loop makes N port-I/O exits (out to port 0x80,
 * then one to 0x81 to finish). It runs twice per round:
 *   bare   a KVM_RUN loop written here, that only counts the exits;
 *   modvm  the core's path: vCPU thread, exit table, the exit-io plugin,
 *          the host API and the port-I/O bus to a device callback.
 * Prints exits/s for each and their ratio, medians over the rounds
 * (the ratio is the median of each round's ratio: bare and modvm run
 * back to back, so a round shares the machine's load). Goal:
 * modvm/bare >= 0.97. Also the ratio of the fastest rounds, which the
 * machine's other load disturbs least. Never fails on a timing; exits 77
 * without KVM.
 * The last line is machine-readable ("RESULT key=value ...").
 *
 * Usage: exit-cost [EXITS [ROUNDS]]   (default 100000 5)
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
#include "util.h"
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
	/* No vCPU thread may still be inside a plugin (the done write
	 * returns through exit-io) when machine_free unloads them. */
	if (vm && vcpus_destroy(vm))
		fprintf(stderr, "exit-cost: a vCPU thread did not stop\n");
	if (m) {
		m->vm = NULL;
		machine_free(m);
	}
	vm_destroy(vm);
	remove_temp(path);
	return t;
}

#define MAX_ROUNDS 51

int main(int argc, char **argv)
{
	uint32_t exits = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0)
				  : 100000;
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 5;
	double rate_bare[MAX_ROUNDS], rate_modvm[MAX_ROUNDS],
		ratio[MAX_ROUNDS];
	double mb, mm, mr, best;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fd < 0) {
		printf("exit-cost: SKIP: cannot open /dev/kvm (%s); run it in "
		       "the test host: tests/kvm/run-in-testhost.sh --bench\n",
		       strerror(errno));
		return 77;
	}
	close(fd);
	if (!exits || !rounds || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: exit-cost [EXITS [ROUNDS (1-%d)]]\n",
			MAX_ROUNDS);
		return 2;
	}
	log_level = MODVM_LOG_WARN;
	printf("exit-cost: %u port-I/O exits per run, %u rounds (bare and "
	       "modvm back to back, order alternating), medians\n",
	       exits, rounds);
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t nb, nm;
		double tb, tm;

		/* Alternate who goes first so drift in the machine's load
		 * does not always favour the same side. */
		if (r % 2) {
			tm = modvm_round(exits, &nm);
			tb = bare_round(exits, &nb);
		} else {
			tb = bare_round(exits, &nb);
			tm = modvm_round(exits, &nm);
		}
		if (tb <= 0 || tm <= 0 || nb != exits || nm != exits) {
			fprintf(stderr, "exit-cost: round %u failed (bare %llu, "
				"modvm %llu exits counted)\n",
				r, (unsigned long long)nb,
				(unsigned long long)nm);
			printf("RESULT ok=0\n");
			return 1;
		}
		rate_bare[r] = exits / tb;
		rate_modvm[r] = exits / tm;
		ratio[r] = tb / tm;
		printf("  round %u: bare %.0f exits/s, modvm %.0f exits/s, "
		       "ratio %.3f\n",
		       r, rate_bare[r], rate_modvm[r], ratio[r]);
	}
	mb = bench_median(rate_bare, rounds);
	mm = bench_median(rate_modvm, rounds);
	mr = bench_median(ratio, rounds);
	/* Sorted now: the last rounds are each side's fastest, the least
	 * disturbed by other load (which only ever slows a round down). */
	best = rate_modvm[rounds - 1] / rate_bare[rounds - 1];
	printf("bare KVM_RUN loop: %10.0f exits/s (%.2f us/exit)\n", mb,
	       1e6 / mb);
	printf("modvm dispatch:    %10.0f exits/s (%.2f us/exit)\n", mm,
	       1e6 / mm);
	printf("ratio modvm/bare:  %10.3f (median of per-round ratios; "
	       "goal >= 0.97)\n",
	       mr);
	printf("best rounds:       %10.3f (fastest modvm / fastest bare)\n",
	       best);
	printf("RESULT ok=1 exits=%u rounds=%u bare_per_s=%.0f "
	       "modvm_per_s=%.0f ratio=%.4f best_ratio=%.4f\n",
	       exits, rounds, mb, mm, mr, best);
	return 0;
}
