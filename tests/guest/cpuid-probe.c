/*
 * cpuid-probe: the test guest's view of the CPU topology through CPUID.
 *
 *   cpuid-probe            for each online CPU (whatever the caller's
 *                          affinity; pinned with sched_setaffinity in
 *                          turn), print the topology
 *                          leaves, one line per leaf/subleaf:
 *     cpu N: vendor GenuineIntel|AuthenticAMD|... max 0x.. ext 0x8000....
 *     cpu N: leaf 0x1 eax=... ebx=... ecx=... edx=...
 *     cpu N: leaf 0xb.S eax=... ebx=... ecx=... edx=...   (until type 0)
 *     cpu N: leaf 0x1f.S ...                              (if max >= 0x1f)
 *     cpu N: leaf 0x80000001 / 0x80000008 / 0x8000001e ... (if present)
 *     cpu N: x2apic-id X apic8 Y                          (summary)
 *   cpuid-probe --exit V   write byte V to the debug-exit port (0x501 or
 *                          --port P) with ioperm + outb; the VM stops
 *                          with status V, after tcdrain() on fds 0-2 (the
 *                          console). Returns 1 if it is still alive.
 *   cpuid-probe --drain    only the tcdrain() on fds 0-2: what was written
 *                          to the console has left the guest's tty buffer
 *                          (before a deliberate panic, whose kernel
 *                          messages would otherwise interleave with it).
 *
 * Built with gcc -static -O2 by tests/guest/build.sh.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <termios.h>
#include <unistd.h>

struct regs {
	uint32_t a, b, c, d;
};

static struct regs q(uint32_t leaf, uint32_t sub)
{
	struct regs r;
	__cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
	return r;
}

static void line(int cpu, const char *name, struct regs r)
{
	printf("cpu %d: leaf %s eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n",
	       cpu, name, r.a, r.b, r.c, r.d);
}

/* Leaves 0xb and 0x1f: subleaves until level type 0 (at most 8). */
static uint32_t ext_topo(int cpu, uint32_t leaf)
{
	uint32_t x2apic = 0;
	for (uint32_t s = 0; s < 8; s++) {
		struct regs r = q(leaf, s);
		char name[32];
		snprintf(name, sizeof(name), "0x%x.%u", leaf, s);
		line(cpu, name, r);
		if (s == 0)
			x2apic = r.d;
		if (((r.c >> 8) & 0xff) == 0)
			break;
	}
	return x2apic;
}

static void probe(int cpu)
{
	struct regs v = q(0, 0);
	uint32_t max = v.a, ext = q(0x80000000, 0).a;
	char vendor[13];
	memcpy(vendor, &v.b, 4);
	memcpy(vendor + 4, &v.d, 4);
	memcpy(vendor + 8, &v.c, 4);
	vendor[12] = 0;
	printf("cpu %d: vendor %s max 0x%x ext 0x%x\n", cpu, vendor, max, ext);

	struct regs l1 = q(1, 0);
	line(cpu, "0x1", l1);
	long x2apic = -1;
	if (max >= 0xb)
		x2apic = ext_topo(cpu, 0xb);
	if (max >= 0x1f)
		ext_topo(cpu, 0x1f);
	if (ext >= 0x80000001)
		line(cpu, "0x80000001", q(0x80000001, 0));
	if (ext >= 0x80000008)
		line(cpu, "0x80000008", q(0x80000008, 0));
	if (ext >= 0x8000001e)
		line(cpu, "0x8000001e", q(0x8000001e, 0));
	printf("cpu %d: x2apic-id %ld apic8 %u\n", cpu, x2apic, l1.b >> 24);
}

/* What was written to the console tty so far: wait until the serial
 * driver has sent every byte of it. */
static void drain(void)
{
	fflush(NULL);
	for (int fd = 0; fd <= 2; fd++)
		tcdrain(fd);
}

static int do_exit(unsigned port, unsigned value)
{
	if (ioperm(port, 1, 1) != 0) {
		fprintf(stderr, "cpuid-probe: ioperm(0x%x): %s\n", port, strerror(errno));
		return 1;
	}
	/* The report was written just before: without this the VM stops
	 * with its tail still in the guest's tty buffer. */
	drain();
	outb((unsigned char)value, port);
	/* Still here: no debug-exit device on this machine. */
	fprintf(stderr, "cpuid-probe: wrote %u to port 0x%x, VM still running\n", value, port);
	return 1;
}

int main(int argc, char **argv)
{
	unsigned port = 0x501;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			port = (unsigned)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--drain")) {
			drain();
			return 0;
		} else if (!strcmp(argv[i], "--exit") && i + 1 < argc) {
			return do_exit(port, (unsigned)strtoul(argv[++i], NULL, 0));
		} else {
			fprintf(stderr, "usage: cpuid-probe [--port P] [--exit V | --drain]\n");
			return 2;
		}
	}

	/* /init pins itself (and so this process) to CPU 0: widen the mask
	 * to every CPU first; the kernel keeps the online ones. */
	cpu_set_t online;
	CPU_ZERO(&online);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		CPU_SET(cpu, &online);
	if (sched_setaffinity(0, sizeof(online), &online) != 0) {
		perror("cpuid-probe: sched_setaffinity(every CPU)");
		return 1;
	}
	if (sched_getaffinity(0, sizeof(online), &online) != 0) {
		perror("cpuid-probe: sched_getaffinity");
		return 1;
	}
	long n = sysconf(_SC_NPROCESSORS_CONF);
	if (n < CPU_SETSIZE)
		n = CPU_SETSIZE;
	int probed = 0;
	for (int cpu = 0; cpu < n && cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &online))
			continue;
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) != 0) {
			printf("cpu %d: sched_setaffinity failed: %s\n", cpu, strerror(errno));
			continue;
		}
		sched_yield();
		probe(cpu);
		probed++;
	}
	printf("cpuid-probe: %d cpus\n", probed);
	fflush(stdout);
	return probed ? 0 : 1;
}
