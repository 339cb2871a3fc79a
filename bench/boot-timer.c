/* SPDX-License-Identifier: MIT */
/*
 * boot-timer: one boot of a VMM, timed from its exec to a marker line on
 * its console, and the VMM's own memory at that moment.
 *
 *   boot-timer TIMEOUT_S GUEST_MIB MARKER -- CMD [ARGS...]
 *
 * Runs CMD with stdout and stderr on a pipe and notes when a line
 * containing MARKER appears (the test guest's /init prints
 * "@@ MODVM-GUEST-BEGIN" first thing, then "@@ uptime: S"). At the
 * marker it reads /proc/PID/smaps: the resident memory of every mapping
 * but guest RAM (the anonymous GUEST_MIB MiB one). After the uptime line
 * it stops the VMM (SIGTERM, SIGKILL after 2 s): the rest of the guest's
 * report is not part of the boot.
 * Prints "RESULT ok=1 marker_ms=T uptime_s=U vmm_kib=K vmm_private_kib=P
 * guest_kib=G" (-1 for what could not be read), or "RESULT ok=0" with
 * the last console lines on stderr when no marker came within TIMEOUT_S.
 * Exit status 0 when the marker came, 1 when not, 2 on usage errors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define TAIL 24
#define UPTIME "@@ uptime: "

struct boot {
	double marker_ms, uptime_s;
	struct bench_smaps mem;
	int mem_ok;
};

/* Reads the console until the uptime line (or any other "@@ " line after
 * the marker), EOF or the deadline; keeps the last lines in tail. */
static void watch(int fd, pid_t pid, const char *marker, double t0,
		  double timeout_ms, unsigned guest_mib, struct boot *b,
		  char tail[TAIL][256], unsigned *n_tail)
{
	char buf[8192], line[4096];
	size_t len = 0;
	double end = t0 + timeout_ms;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		double left = end - bench_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n' && len < sizeof(line) - 1) {
				if (buf[i] != '\r')
					line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			len = 0;
			snprintf(tail[(*n_tail)++ % TAIL], 256, "%.255s", line);
			if (b->marker_ms < 0 && strstr(line, marker)) {
				b->marker_ms = bench_now_ms() - t0;
				b->mem_ok = bench_smaps_read(pid, guest_mib,
							     &b->mem, NULL) == 0;
			} else if (b->marker_ms >= 0 && strstr(line, "@@ ")) {
				if (strstr(line, UPTIME))
					b->uptime_s = atof(strstr(line, UPTIME) +
							   strlen(UPTIME));
				return;
			}
		}
	}
}

int main(int argc, char **argv)
{
	static char tail[TAIL][256];
	struct boot b = { .marker_ms = -1, .uptime_s = -1 };
	unsigned n_tail = 0, guest_mib;
	double timeout_s, t0;
	int fds[2];
	pid_t pid;

	if (argc < 6 || strcmp(argv[4], "--") != 0) {
		fputs("usage: boot-timer TIMEOUT_S GUEST_MIB MARKER -- CMD "
		      "[ARGS...]\n",
		      stderr);
		return 2;
	}
	timeout_s = atof(argv[1]);
	guest_mib = (unsigned)atoi(argv[2]);
	if (timeout_s <= 0 || !guest_mib || pipe2(fds, O_CLOEXEC)) {
		fputs("boot-timer: bad TIMEOUT_S or GUEST_MIB, or no pipe\n",
		      stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	t0 = bench_now_ms();
	pid = fork();
	if (pid < 0) {
		perror("boot-timer: fork");
		return 2;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, STDIN_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execvp(argv[5], argv + 5);
		fprintf(stderr, "boot-timer: exec %s: %s\n", argv[5],
			strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	watch(fds[0], pid, argv[3], t0, timeout_s * 1000, guest_mib, &b, tail,
	      &n_tail);
	bench_stop(pid);
	close(fds[0]);
	if (b.marker_ms < 0) {
		fprintf(stderr,
			"boot-timer: no '%s' within %.0f s; last console "
			"lines:\n",
			argv[3], timeout_s);
		for (unsigned i = n_tail > TAIL ? n_tail - TAIL : 0; i < n_tail;
		     i++)
			fprintf(stderr, "  | %s\n", tail[i % TAIL]);
		printf("RESULT ok=0\n");
		return 1;
	}
	if (!b.mem_ok)
		b.mem.vmm_kib = b.mem.vmm_private_kib = -1;
	printf("RESULT ok=1 marker_ms=%.1f uptime_s=%.3f vmm_kib=%.0f "
	       "vmm_private_kib=%.0f guest_kib=%.0f\n",
	       b.marker_ms, b.uptime_s, b.mem.vmm_kib, b.mem.vmm_private_kib,
	       b.mem.guest_kib);
	return 0;
}
