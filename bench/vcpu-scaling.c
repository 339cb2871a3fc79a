/* SPDX-License-Identifier: MIT */
/*
 * vcpu-scaling: what the core's vCPU lifecycle costs as vCPUs multiply.
 *
 *   lifecycle  new + realize + destroy of N vCPUs (N = 1, 8, 64, 255) on
 *              arch-x86_64 (its realize sets CPUID, MSRs, LAPIC per vCPU),
 *              a fresh VM each round (KVM never frees a vCPU id within a
 *              VM); the VM's creation is not timed.
 *   pause      pause + resume of all N running vCPUs (N = 1, 8, 64) on
 *              kvmtest-arch with an in-kernel irqchip, every vCPU halted
 *              in the kernel (program "hlt"), so the kick has to take each
 *              thread out of KVM_RUN and park it.
 * Medians over ROUNDS (default 7, at least 5). Never fails on a timing;
 * exits 77 without /dev/kvm. Last lines: "RESULT ..." per measurement.
 *
 * Usage: vcpu-scaling [ROUNDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tests/kvm/guest-programs.h"
#include "../tests/unit/helpers.h"
#include "config.h"
#include "log.h"
#include "machine.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#define MAX_ROUNDS 51

static struct machine *load(const char *ini)
{
	struct config *cfg = NULL;
	struct machine *m = NULL;
	char *path = write_temp("bench.ini", ini);

	if (!path || config_load(&cfg, path) || machine_load(&m, cfg))
		m = NULL;
	remove_temp(path);
	return m;
}

static struct vm *make_vm(struct machine *m)
{
	struct vm_params p = { m->arch_ops, m->arch->state, m->memory,
			       m->topo.maxcpus };
	struct vm *vm = NULL;

	if (vm_create(&vm, &p))
		return NULL;
	m->vm = vm;
	return vm;
}

static void free_machine(struct machine *m)
{
	struct vm *vm = m ? m->vm : NULL;

	if (!m)
		return;
	m->vm = NULL;
	machine_free(m);
	vm_destroy(vm);
}

/* new + realize + destroy of n vCPUs; 0 or -1 (skipped/failed). */
static int lifecycle(unsigned n, unsigned rounds)
{
	double tot[MAX_ROUNDS], tnew[MAX_ROUNDS], treal[MAX_ROUNDS],
		tdest[MAX_ROUNDS];
	char ini[256];
	unsigned ok = 0;

	snprintf(ini, sizeof(ini),
		 "[machine]\nmemory = 16M\n[arch]\nplugin = arch-x86_64\n"
		 "[smp]\ncpus = %u\n",
		 n);
	for (unsigned r = 0; r < rounds; r++) {
		struct machine *m = load(ini);
		struct vm *vm = m ? make_vm(m) : NULL;
		double t0, t1, t2, t3;

		if (!vm) {
			printf("RESULT lifecycle n=%u skipped=\"cannot create "
			       "a VM for %u vCPUs on arch-x86_64\"\n",
			       n, n);
			free_machine(m);
			return -1;
		}
		if (vm->max_vcpus < n) {
			printf("RESULT lifecycle n=%u skipped=\"KVM allows "
			       "%u vCPUs\"\n",
			       n, vm->max_vcpus);
			free_machine(m);
			return -1;
		}
		t0 = bench_now_ms();
		if (vcpus_new(vm, n)) {
			free_machine(m);
			break;
		}
		t1 = bench_now_ms();
		if (vcpus_realize(vm)) {
			free_machine(m);
			break;
		}
		t2 = bench_now_ms();
		if (vcpus_destroy(vm)) {
			free_machine(m);
			break;
		}
		t3 = bench_now_ms();
		free_machine(m);
		tnew[ok] = t1 - t0;
		treal[ok] = t2 - t1;
		tdest[ok] = t3 - t2;
		tot[ok++] = t3 - t0;
	}
	if (ok < rounds) {
		printf("RESULT lifecycle n=%u skipped=\"failed after %u "
		       "rounds (see the messages above)\"\n",
		       n, ok);
		return -1;
	}
	printf("RESULT lifecycle n=%u total_ms=%.3f new_ms=%.3f "
	       "realize_ms=%.3f destroy_ms=%.3f rounds=%u\n",
	       n, bench_median(tot, ok), bench_median(tnew, ok),
	       bench_median(treal, ok), bench_median(tdest, ok), ok);
	return 0;
}

/* pause + resume of n running vCPUs, all halted in the kernel. */
static int pause_resume(unsigned n, unsigned rounds)
{
	double tot[MAX_ROUNDS], tp[MAX_ROUNDS], tr[MAX_ROUNDS];
	char ini[256];
	struct machine *m;
	struct vm *vm;
	unsigned ok = 0;
	struct timespec settle = { 0, 50 * 1000000L };

	snprintf(ini, sizeof(ini),
		 "[machine]\nmemory = 16M\n[arch]\nplugin = kvmtest-arch\n"
		 "irqchip = true\n[smp]\ncpus = %u\n",
		 n);
	m = load(ini);
	vm = m ? make_vm(m) : NULL;
	if (!vm) {
		printf("RESULT pause n=%u skipped=\"cannot create the VM\"\n",
		       n);
		free_machine(m);
		return -1;
	}
	guest_program_load(guest_program("hlt"),
			   vm_guest_ptr(vm, 0, GUEST_COUNTERS));
	if (vcpus_new(vm, n) || vcpus_realize(vm) || vcpus_run(vm)) {
		printf("RESULT pause n=%u skipped=\"cannot run %u vCPUs\"\n",
		       n, n);
		free_machine(m);
		return -1;
	}
	nanosleep(&settle, NULL);
	for (unsigned r = 0; r < rounds; r++) {
		double t0 = bench_now_ms(), t1, t2;

		if (vcpus_pause(vm))
			break;
		t1 = bench_now_ms();
		if (vcpus_resume(vm))
			break;
		t2 = bench_now_ms();
		tp[ok] = t1 - t0;
		tr[ok] = t2 - t1;
		tot[ok++] = t2 - t0;
		nanosleep(&settle, NULL); /* back in the guest, halted */
	}
	if (vcpus_destroy(vm))
		fprintf(stderr, "vcpu-scaling: a vCPU thread did not stop\n");
	free_machine(m);
	if (ok < rounds) {
		printf("RESULT pause n=%u skipped=\"pause/resume failed after "
		       "%u rounds\"\n",
		       n, ok);
		return -1;
	}
	printf("RESULT pause n=%u total_ms=%.3f pause_ms=%.3f resume_ms=%.3f "
	       "rounds=%u\n",
	       n, bench_median(tot, ok), bench_median(tp, ok),
	       bench_median(tr, ok), ok);
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned life_n[] = { 1, 8, 64, 255 };
	static const unsigned pause_n[] = { 1, 8, 64 };
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 7;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fd < 0) {
		printf("vcpu-scaling: SKIP: cannot open /dev/kvm (%s)\n",
		       strerror(errno));
		return 77;
	}
	close(fd);
	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: vcpu-scaling [ROUNDS (1-%d)]\n",
			MAX_ROUNDS);
		return 2;
	}
	log_level = MODVM_LOG_WARN;
	for (unsigned i = 0; i < sizeof(life_n) / sizeof(life_n[0]); i++)
		lifecycle(life_n[i], rounds);
	for (unsigned i = 0; i < sizeof(pause_n) / sizeof(pause_n[0]); i++)
		pause_resume(pause_n[i], rounds);
	return 0;
}
