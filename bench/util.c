/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void bench_stop(pid_t pid)
{
	struct timespec tick = { 0, 10 * 1000000L };
	int status;

	kill(pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, unsigned n)
{
	if (!n)
		return -1;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct mapping {
	char name[256];
	double size, rss, priv, anon;
};

static void add_mapping(const struct mapping *m, unsigned guest_mib,
			struct bench_smaps *s, FILE *list)
{
	/* Guest RAM is anonymous, so it has no name. */
	int guest = !m->name[0] && m->size >= guest_mib * 1024.0 &&
		    m->size <= (guest_mib + 4) * 1024.0;

	if (strstr(m->name, "bench-trace"))
		return;
	s->total_kib += m->rss;
	if (guest) {
		s->guest_kib += m->rss;
	} else {
		s->vmm_kib += m->rss;
		s->vmm_private_kib += m->priv;
		s->vmm_anon_kib += m->anon;
	}
	if (list && (m->rss >= 256 || guest))
		fprintf(list, "    %6.0f KiB rss %s%s\n", m->rss,
			m->name[0] ? m->name : "[anon]",
			guest ? " (guest RAM)" : "");
}

int bench_smaps_read(pid_t pid, unsigned guest_mib, struct bench_smaps *s,
		     FILE *list)
{
	struct mapping m;
	char path[64], line[512];
	int have = 0;
	FILE *f;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		double kib;
		int off = 0;

		/* "start-end perms offset dev inode [name]" opens a mapping;
		 * the "Key: N kB" lines after it describe it. */
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %n", &a, &b,
			   &off) == 2 &&
		    off > 0) {
			if (have)
				add_mapping(&m, guest_mib, s, list);
			memset(&m, 0, sizeof(m));
			snprintf(m.name, sizeof(m.name), "%s", line + off);
			m.name[strcspn(m.name, "\n")] = '\0';
			have = 1;
		} else if (sscanf(line, "Size: %lf kB", &kib) == 1) {
			m.size = kib;
		} else if (sscanf(line, "Rss: %lf kB", &kib) == 1) {
			m.rss = kib;
		} else if (sscanf(line, "Private_Clean: %lf kB", &kib) == 1 ||
			   sscanf(line, "Private_Dirty: %lf kB", &kib) == 1) {
			m.priv += kib;
		} else if (sscanf(line, "Anonymous: %lf kB", &kib) == 1) {
			m.anon = kib;
		}
	}
	if (have)
		add_mapping(&m, guest_mib, s, list);
	fclose(f);
	return 0;
}
