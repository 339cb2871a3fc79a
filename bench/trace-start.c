/* SPDX-License-Identifier: MIT */
/*
 * bench-trace.so: an LD_PRELOAD shim that timestamps a VMM's start-up
 * from the outside, with no strace and no change to the VMM: any VMM
 * (modvm or QEMU) that calls libc's ioctl() and dlopen().
 *
 *   MODVM_BENCH_TRACE=FILE  append one line per thread, at that thread's
 *                           first KVM_RUN:
 *     run WALL_NS CPU_NS DLOPEN_NS DLOPEN_N
 *       WALL_NS   CLOCK_MONOTONIC now minus MODVM_BENCH_T0 (ns, set by
 *                 the launcher right before execve), or absolute when
 *                 unset
 *       CPU_NS    user+system CPU time of the whole process so far
 *       DLOPEN_NS wall time spent inside dlopen() so far (plugins; for
 *                 QEMU its modules), DLOPEN_N how many calls
 *
 * The launcher (vmm-probe) reads the first line for start-up and counts
 * lines to know every vCPU thread has entered the guest.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#define EXPORT __attribute__((visibility("default")))

static atomic_uint_fast64_t dlopen_ns, dlopen_n;
static _Thread_local int thread_seen;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void trace_first_run(void)
{
	const char *path = getenv("MODVM_BENCH_TRACE");
	const char *t0s = getenv("MODVM_BENCH_T0");
	uint64_t t = mono_ns(), t0 = t0s ? strtoull(t0s, NULL, 10) : 0;
	struct rusage ru;
	uint64_t cpu;
	char line[160];
	int fd, n;

	if (!path)
		return;
	getrusage(RUSAGE_SELF, &ru);
	cpu = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
		      1000000000u +
	      (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
	n = snprintf(line, sizeof(line), "run %llu %llu %llu %llu\n",
		     (unsigned long long)(t - t0), (unsigned long long)cpu,
		     (unsigned long long)atomic_load(&dlopen_ns),
		     (unsigned long long)atomic_load(&dlopen_n));
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) != n) {
		/* nothing to do: the launcher reports a missing line */
	}
	close(fd);
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "ioctl"); /* POSIX idiom */
	if (request == KVM_RUN && !thread_seen) {
		thread_seen = 1;
		trace_first_run();
	}
	return real(fd, request, arg);
}

EXPORT void *dlopen(const char *file, int mode)
{
	static void *(*real)(const char *, int);
	uint64_t t0 = mono_ns();
	void *h;

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "dlopen");
	h = real(file, mode);
	atomic_fetch_add(&dlopen_ns, mono_ns() - t0);
	atomic_fetch_add(&dlopen_n, 1);
	return h;
}
