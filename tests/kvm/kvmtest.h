/* SPDX-License-Identifier: MIT */
/* Helpers shared by the KVM tests: skip without /dev/kvm, load machines. */
#ifndef MODVM_TEST_KVMTEST_H
#define MODVM_TEST_KVMTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "machine.h"
#include "vm.h"

#include "../unit/helpers.h"

/* Exit 77 (meson: skipped) with the reason when KVM is unusable. */
static inline void kt_require_kvm(const char *test)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return;
	}
	printf("%s: SKIP: cannot open /dev/kvm (%s); run the suite inside "
	       "the test host: tests/kvm/run-in-testhost.sh\n",
	       test, strerror(errno));
	exit(77);
}

/* Load a machine from INI text; the test fails if that does not work. */
static inline struct machine *kt_load(const char *ini)
{
	struct config *cfg = NULL;
	struct machine *m = NULL;
	char *path = write_temp("vm.ini", ini);

	if (!path || config_load(&cfg, path) || machine_load(&m, cfg)) {
		fprintf(stderr, "cannot load machine:\n%s\n", ini);
		abort();
	}
	remove_temp(path);
	return m;
}

/*
 * Free a machine and its VM, the VM after the plugins (device threads
 * use it until their fini). m->vm is cleared first, so this is right
 * whether or not machine_free destroys the VM itself.
 */
static inline void kt_free(struct machine *m)
{
	struct vm *vm = m->vm;

	m->vm = NULL;
	machine_free(m);
	vm_destroy(vm);
}

static inline unsigned kt_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Open fds (not counting the one opendir uses) and threads. */
static inline unsigned kt_fds(void)
{
	return kt_count_dir("/proc/self/fd") - 1;
}

/*
 * Threads of this process that user space made. Since Linux 6.13 KVM
 * starts a worker of its own in the process at a VM's first KVM_RUN
 * ("kvm-nx-lpage-recovery", shown truncated to "kvm-nx-lpage-re"); it is
 * the kernel's, lives exactly as long as the VM fd, and is not counted
 * here. kt_all_threads() counts it too, for checks after the VM is gone.
 */
static inline bool kt_kernel_worker(const char *tid)
{
	char path[300], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/comm", tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "kvm-", 4) == 0;
}

static inline unsigned kt_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && !kt_kernel_worker(e->d_name))
			n++;
	closedir(d);
	return n;
}

static inline unsigned kt_all_threads(void)
{
	return kt_count_dir("/proc/self/task");
}

static inline void kt_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static inline double kt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
