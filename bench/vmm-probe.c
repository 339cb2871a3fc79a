/* SPDX-License-Identifier: MIT */
/*
 * vmm-probe: start-up time and memory overhead of any VMM process
 * (modvm, QEMU), measured from outside with the bench-trace.so preload.
 *
 *   vmm-probe startup PRELOAD RUNS -- CMD [ARGS...]
 *     RUNS times: exec CMD, which must run a guest that exits at once.
 *     Per run: exec -> first KVM_RUN wall and CPU, dlopen time before
 *     it, exec -> exit wall, total CPU. Prints each run and the medians.
 *   vmm-probe rss PRELOAD RUNS GUEST_MIB THREADS -- CMD [ARGS...]
 *     RUNS times: exec CMD (a guest that idles), wait until THREADS
 *     vCPU threads have entered KVM_RUN, read /proc/PID/smaps, SIGTERM.
 *     Guest RAM = the anonymous mappings of GUEST_MIB MiB (up to 4 MiB
 *     more for alignment); everything else but the shim itself is VMM
 *     overhead. Medians.
 *
 * The last line is machine-readable: "RESULT key=value ...".
 * Timings never fail: exit status 0 unless the VMM could not be run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define MAX_RUNS 101

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static double minimum(const double *v, unsigned n)
{
	double m = v[0];

	for (unsigned i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

/* fork + exec argv with the preload; returns the pid, t0 = before fork. */
static pid_t launch(char **argv, const char *preload, const char *trace,
		    int quiet)
{
	pid_t pid;

	unlink(trace);
	pid = fork();
	if (pid < 0) {
		perror("vmm-probe: fork");
		return -1;
	}
	if (pid == 0) {
		char t0[32];
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			if (quiet)
				dup2(null, STDOUT_FILENO);
		}
		setenv("LD_PRELOAD", preload, 1);
		setenv("MODVM_BENCH_TRACE", trace, 1);
		snprintf(t0, sizeof(t0), "%" PRIu64, mono_ns());
		setenv("MODVM_BENCH_T0", t0, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "vmm-probe: exec %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Lines of the trace file; the first parsed into v[4]. */
static int read_trace(const char *trace, double v[4])
{
	FILE *f = fopen(trace, "re");
	char line[200];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, c, d;

		if (sscanf(line, "run %llu %llu %llu %llu", &a, &b, &c, &d) !=
		    4)
			continue;
		if (n++ == 0 && v) {
			v[0] = a / 1e6;
			v[1] = b / 1e6;
			v[2] = c / 1e6;
			v[3] = (double)d;
		}
	}
	fclose(f);
	return n;
}

static int startup(const char *preload, unsigned runs, char **argv)
{
	double run_wall[MAX_RUNS], run_cpu[MAX_RUNS], dl[MAX_RUNS],
		dl_n[MAX_RUNS], exit_wall[MAX_RUNS], cpu[MAX_RUNS];
	char trace[64];
	unsigned ok = 0;
	int last_status = -1;

	snprintf(trace, sizeof(trace), "/tmp/vmm-probe-%d.trace",
		 (int)getpid());
	for (unsigned r = 0; r < runs; r++) {
		uint64_t t0 = mono_ns();
		pid_t pid = launch(argv, preload, trace, 1);
		struct rusage ru;
		double v[4];
		int status;

		if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
			return 1;
		exit_wall[ok] = (mono_ns() - t0) / 1e6;
		last_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (last_status == 127 || !read_trace(trace, v)) {
			fprintf(stderr,
				"vmm-probe: run %u: no KVM_RUN seen (status "
				"%d)\n",
				r, last_status);
			continue;
		}
		cpu[ok] = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
		run_wall[ok] = v[0];
		run_cpu[ok] = v[1];
		dl[ok] = v[2];
		dl_n[ok] = v[3];
		printf("  run %u: exec->KVM_RUN %.2f ms wall %.2f ms CPU "
		       "(dlopen %.2f ms, %g calls); exec->exit %.2f ms, "
		       "%.2f ms CPU; status %d\n",
		       r, v[0], v[1], v[2], v[3], exit_wall[ok], cpu[ok],
		       last_status);
		ok++;
	}
	unlink(trace);
	if (!ok) {
		printf("RESULT ok=0 status=%d\n", last_status);
		return 1;
	}
	printf("RESULT ok=%u runs=%u run_wall_ms=%.3f run_wall_min_ms=%.3f "
	       "run_cpu_ms=%.3f dlopen_ms=%.3f dlopen_n=%.0f exit_wall_ms=%.3f "
	       "cpu_ms=%.3f status=%d\n",
	       ok, runs, bench_median(run_wall, ok), minimum(run_wall, ok),
	       bench_median(run_cpu, ok), bench_median(dl, ok),
	       bench_median(dl_n, ok), bench_median(exit_wall, ok),
	       bench_median(cpu, ok), last_status);
	return 0;
}

static int rss(const char *preload, unsigned runs, unsigned guest_mib,
	       unsigned threads, char **argv)
{
	double vmm[MAX_RUNS], priv[MAX_RUNS], anon[MAX_RUNS], guest[MAX_RUNS];
	char trace[64];
	unsigned ok = 0;

	snprintf(trace, sizeof(trace), "/tmp/vmm-probe-%d.trace",
		 (int)getpid());
	for (unsigned r = 0; r < runs; r++) {
		pid_t pid = launch(argv, preload, trace, 1);
		uint64_t end = mono_ns() + 20000000000ull;
		struct bench_smaps s;
		int status, got = 0, n = 0;

		if (pid < 0)
			return 1;
		while (mono_ns() < end) {
			n = read_trace(trace, NULL);
			if (n >= (int)threads)
				break;
			if (waitpid(pid, &status, WNOHANG) == pid) {
				pid = -1;
				break;
			}
			sleep_ms(5);
		}
		if (pid > 0 && n >= (int)threads) {
			sleep_ms(100); /* let start-up finish its last steps */
			got = bench_smaps_read(pid, guest_mib, &s,
					       r == 0 ? stderr : NULL) == 0;
		}
		if (pid > 0)
			bench_stop(pid);
		if (!got) {
			fprintf(stderr,
				"vmm-probe: run %u: only %d of %u vCPU threads "
				"entered KVM_RUN\n",
				r, n, threads);
			continue;
		}
		vmm[ok] = s.vmm_kib;
		priv[ok] = s.vmm_private_kib;
		anon[ok] = s.vmm_anon_kib;
		guest[ok] = s.guest_kib;
		printf("  run %u: RSS %.0f KiB = guest RAM %.0f + VMM %.0f "
		       "(private %.0f, anonymous %.0f)\n",
		       r, s.total_kib, s.guest_kib, s.vmm_kib,
		       s.vmm_private_kib, s.vmm_anon_kib);
		ok++;
	}
	unlink(trace);
	if (!ok) {
		printf("RESULT ok=0\n");
		return 1;
	}
	printf("RESULT ok=%u runs=%u vmm_kib=%.0f vmm_private_kib=%.0f "
	       "vmm_anon_kib=%.0f guest_kib=%.0f\n",
	       ok, runs, bench_median(vmm, ok), bench_median(priv, ok),
	       bench_median(anon, ok), bench_median(guest, ok));
	return 0;
}

static int usage(void)
{
	fputs("usage: vmm-probe startup PRELOAD RUNS -- CMD [ARGS...]\n"
	      "       vmm-probe rss PRELOAD RUNS GUEST_MIB THREADS -- CMD "
	      "[ARGS...]\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	unsigned runs;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 6)
		return usage();
	runs = (unsigned)atoi(argv[3]);
	if (!runs || runs > MAX_RUNS)
		return usage();
	if (strcmp(argv[1], "startup") == 0 && strcmp(argv[4], "--") == 0)
		return startup(argv[2], runs, argv + 5);
	if (strcmp(argv[1], "rss") == 0 && argc >= 8 &&
	    strcmp(argv[6], "--") == 0)
		return rss(argv[2], runs, (unsigned)atoi(argv[4]),
			   (unsigned)atoi(argv[5]), argv + 7);
	return usage();
}
