/* SPDX-License-Identifier: MIT */
/*
 * Helpers the benchmark programs share: a monotonic clock, stopping a
 * child, medians, and a VMM's own resident memory from /proc/PID/smaps.
 */
#ifndef MODVM_BENCH_UTIL_H
#define MODVM_BENCH_UTIL_H

#include <stdio.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in milliseconds. */
double bench_now_ms(void);

/* Stop a child: SIGTERM, SIGKILL after 2 s; reaps it. */
void bench_stop(pid_t pid);

/* Median of v[0..n-1], sorting v in place; -1 when n is 0. */
double bench_median(double *v, unsigned n);

/*
 * Resident memory of a VMM process, in KiB. Guest RAM is the anonymous
 * mapping of guest_mib MiB (up to 4 MiB more for alignment); vmm_* is
 * every other mapping but the bench-trace.so shim, which is not the
 * VMM's own.
 */
struct bench_smaps {
	double total_kib, guest_kib, vmm_kib, vmm_private_kib, vmm_anon_kib;
};

/* 0 or -errno. With a non-NULL list, names the mappings of 256 KiB or
 * more and the guest RAM there, one per line. */
int bench_smaps_read(pid_t pid, unsigned guest_mib, struct bench_smaps *s,
		     FILE *list);

#endif
