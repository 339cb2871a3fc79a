/* SPDX-License-Identifier: MIT */
/*
 * /dev/kvm, the VM fd, guest RAM and the stop request.
 *
 * Guest RAM is one anonymous MAP_NORESERVE mapping: the host commits
 * pages only when the guest touches them, so a large [machine] memory
 * costs nothing up front. The arch's gap (x86: the 32-bit MMIO hole
 * below 4 GiB) splits it into at most two KVM memory slots.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "log.h"
#include "vcpu.h"
#include "vm.h"

/* Helgrind does not model C11 atomics; tell it vm->stopping is one. */
#if defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include <valgrind/helgrind.h>
#pragma GCC diagnostic pop
#endif
#endif
#ifndef VALGRIND_HG_DISABLE_CHECKING
#define VALGRIND_HG_DISABLE_CHECKING(addr, len) ((void)(addr), (void)(len))
#endif

#define KVM_DEVICE "/dev/kvm"

static int open_kvm(void)
{
	int fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
	int err = errno;

	if (fd >= 0)
		return fd;
	if (err == ENOENT || err == ENXIO || err == ENODEV)
		log_error("cannot open " KVM_DEVICE ": %s: KVM is not available "
			  "on this host; load it (modprobe kvm-amd or kvm-intel, "
			  "with virtualization enabled in the firmware), or run "
			  "inside the test host: tests/host/run.sh",
			  strerror(err));
	else if (err == EACCES || err == EPERM)
		log_error("cannot open " KVM_DEVICE ": %s: add yourself to group "
			  "kvm (usermod -aG kvm $USER, then log in again)",
			  strerror(err));
	else
		log_error("cannot open " KVM_DEVICE ": %s", strerror(err));
	return -err;
}

static int check_cap(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

/* The API version and the capabilities the core itself depends on. */
static int check_kvm(struct vm *vm)
{
	static const struct {
		long cap;
		const char *name;
	} required[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		/* Devices drive interrupt lines with KVM_IRQ_LINE. */
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	};
	int version, size, nr;

	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		log_error(KVM_DEVICE ": KVM API version %d, modvm needs %d",
			  version, KVM_API_VERSION);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!check_cap(vm->kvm_fd, required[i].cap)) {
			log_error(KVM_DEVICE ": the kernel lacks %s, which modvm "
				  "needs; use Linux 4.11 or newer",
				  required[i].name);
			return -ENOTSUP;
		}
	}
	/* Documented fallbacks (api.rst, KVM_CAP_NR_VCPUS/MAX_VCPUS). */
	nr = check_cap(vm->kvm_fd, KVM_CAP_NR_VCPUS);
	vm->max_vcpus = (uint32_t)check_cap(vm->kvm_fd, KVM_CAP_MAX_VCPUS);
	if (!vm->max_vcpus)
		vm->max_vcpus = nr ? (uint32_t)nr : 4;
	vm->max_vcpu_id = (uint32_t)check_cap(vm->kvm_fd, KVM_CAP_MAX_VCPU_ID);
	if (!vm->max_vcpu_id)
		vm->max_vcpu_id = vm->max_vcpus;

	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run)) {
		log_error(KVM_DEVICE ": KVM_GET_VCPU_MMAP_SIZE: %s",
			  size < 0 ? strerror(errno) : "too small");
		return size < 0 ? -errno : -EINVAL;
	}
	vm->run_size = (size_t)size;
	return 0;
}

/* Split RAM around the arch's gap into memory slots and tell KVM. */
static int map_ram(struct vm *vm)
{
	const struct modvm_arch_ops *a = vm->arch;
	uint64_t below = vm->ram_size;

	if (a->ram_gap_size && a->ram_gap_start > a->ram_base &&
	    vm->ram_size > a->ram_gap_start - a->ram_base)
		below = a->ram_gap_start - a->ram_base;
	vm->regions[0] = (struct vm_region){ .gpa = a->ram_base,
					     .size = below, .host = vm->ram };
	vm->n_regions = 1;
	if (below < vm->ram_size)
		vm->regions[vm->n_regions++] = (struct vm_region){
			.gpa = a->ram_gap_start + a->ram_gap_size,
			.size = vm->ram_size - below,
			.host = vm->ram + below,
		};

	for (unsigned i = 0; i < vm->n_regions; i++) {
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = vm->regions[i].gpa,
			.memory_size = vm->regions[i].size,
			.userspace_addr = (uintptr_t)vm->regions[i].host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			int err = errno;

			log_error("KVM_SET_USER_MEMORY_REGION slot %u [%#" PRIx64
				  ", +%#" PRIx64 "): %s",
				  i, vm->regions[i].gpa, vm->regions[i].size,
				  strerror(err));
			return -err;
		}
	}
	return 0;
}

static int arch_vm_setup(struct vm *vm)
{
	int ret;

	if (!vm->arch->vm_setup)
		return 0;
	ret = vm->arch->vm_setup(vm->arch_state, vm->vm_fd);
	if (ret)
		log_error("the arch plugin's VM setup failed: %s",
			  strerror(-ret));
	return ret;
}

int vm_create(struct vm **out, const struct vm_params *p)
{
	struct vm *vm;
	int ret;

	*out = NULL;
	if (!p->ram_size || p->ram_size % 4096 ||
	    p->arch->ram_base + p->ram_size < p->arch->ram_base) {
		log_error("guest RAM of %#" PRIx64 " bytes at %#" PRIx64
			  " is not a whole number of 4 KiB pages in the "
			  "address space",
			  p->ram_size, p->arch->ram_base);
		return -EINVAL;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = -1;
	vm->arch = p->arch;
	vm->arch_state = p->arch_state;
	vm->ram_size = p->ram_size;
	vm->ram = MAP_FAILED;
	exit_table_init(&vm->exits);
	atomic_init(&vm->stopping, false);
	VALGRIND_HG_DISABLE_CHECKING(&vm->stopping, sizeof(vm->stopping));
	ret = -pthread_mutex_init(&vm->stop_lock, NULL);
	if (ret)
		goto out_free;
	ret = bus_init(&vm->pio, "port I/O", 0x10000);
	if (!ret)
		ret = bus_init(&vm->mmio, "MMIO", 0);
	if (ret)
		goto out_destroy;
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0) {
		ret = -errno;
		log_error("eventfd: %s", strerror(errno));
		goto out_destroy;
	}

	ret = vm->kvm_fd = open_kvm();
	if (ret < 0)
		goto out_destroy;
	ret = check_kvm(vm);
	if (ret)
		goto out_destroy;
	if (p->max_vcpus > vm->max_vcpus) {
		log_error("%" PRIu32 " possible vCPUs ([smp] maxcpus), but KVM "
			  "on this host allows %" PRIu32 "; lower maxcpus",
			  p->max_vcpus, vm->max_vcpus);
		ret = -E2BIG;
		goto out_destroy;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		log_error("KVM_CREATE_VM: %s", strerror(errno));
		goto out_destroy;
	}
	vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED) {
		ret = -errno;
		log_error("cannot map %" PRIu64 " MiB of guest RAM: %s",
			  vm->ram_size >> 20, strerror(errno));
		goto out_destroy;
	}
	ret = map_ram(vm);
	if (!ret)
		ret = arch_vm_setup(vm);
	if (ret)
		goto out_destroy;
	*out = vm;
	return 0;

out_destroy:
	vm_destroy(vm);
	return ret;
out_free:
	free(vm);
	return ret;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	if (vcpus_destroy(vm)) {
		/* A vCPU thread still runs and may touch RAM, buses and
		 * locks: keeping them is the only safe thing left. */
		log_error("a vCPU thread did not stop; not freeing the VM");
		return;
	}
	if (vm->ram != MAP_FAILED)
		munmap(vm->ram, vm->ram_size);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	bus_free(&vm->mmio);
	bus_free(&vm->pio);
	pthread_mutex_destroy(&vm->stop_lock);
	free(vm);
}

static bool reset_pending(struct vm *vm)
{
	bool pending;

	pthread_mutex_lock(&vm->stop_lock);
	pending = vm->stop.requested && vm->stop.reason == MODVM_STOP_RESET;
	pthread_mutex_unlock(&vm->stop_lock);
	return pending;
}

int vm_reset(struct vm *vm)
{
	uint64_t drain;
	int fd, ret;

	if (vm->n_vcpus) {
		log_error("cannot reset the VM while it has %u vCPUs",
			  vm->n_vcpus);
		return -EBUSY;
	}
	if (!reset_pending(vm))
		return -ECANCELED;
	fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (fd < 0) {
		ret = -errno;
		log_error("reset: KVM_CREATE_VM: %s", strerror(errno));
		return ret;
	}
	/* Atomically swap the old VM for the new one under the same fd
	 * number; the old VM goes away with its last reference. */
	if (dup3(fd, vm->vm_fd, O_CLOEXEC) < 0) {
		ret = -errno;
		log_error("reset: dup3: %s", strerror(errno));
		close(fd);
		return ret;
	}
	close(fd);
	/* Private anonymous memory reads as zeroes after MADV_DONTNEED. */
	if (madvise(vm->ram, vm->ram_size, MADV_DONTNEED) < 0)
		memset(vm->ram, 0, vm->ram_size);
	ret = map_ram(vm);
	if (!ret)
		ret = arch_vm_setup(vm);
	if (ret)
		return ret;
	/* Clear the reset, unless a request to end the VM replaced it
	 * meanwhile: that one must survive the restart. */
	ret = -ECANCELED;
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop.requested && vm->stop.reason == MODVM_STOP_RESET) {
		memset(&vm->stop, 0, sizeof(vm->stop));
		while (read(vm->stop_efd, &drain, sizeof(drain)) > 0)
			;
		atomic_store_explicit(&vm->stopping, false,
				      memory_order_release);
		ret = 0;
	}
	pthread_mutex_unlock(&vm->stop_lock);
	return ret;
}

void *vm_guest_ptr(struct vm *vm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < vm->n_regions; i++) {
		const struct vm_region *r = &vm->regions[i];

		if (gpa >= r->gpa && len <= r->size &&
		    gpa - r->gpa <= r->size - len)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

uint64_t vm_ram_size(const struct vm *vm)
{
	return vm->ram_size;
}

int vm_kvm_fd(const struct vm *vm)
{
	return vm->vm_fd;
}

static struct bus *bus_of(struct vm *vm, enum modvm_bus_space space)
{
	switch (space) {
	case MODVM_BUS_PIO: return &vm->pio;
	case MODVM_BUS_MMIO: return &vm->mmio;
	}
	return NULL;
}

int vm_bus_register(struct vm *vm, enum modvm_bus_space space, uint64_t base,
		    uint64_t len, const struct modvm_io_ops *ops, void *opaque,
		    const char *owner)
{
	struct bus *bus = bus_of(vm, space);

	if (!bus) {
		log_error("%s: no bus space %d", owner, (int)space);
		return -EINVAL;
	}
	return bus_register(bus, base, len, ops, opaque, owner);
}

int vm_bus_access(struct vm *vm, enum modvm_bus_space space, uint64_t addr,
		  void *data, uint32_t len, bool is_write)
{
	struct bus *bus = bus_of(vm, space);

	return bus ? bus_access(bus, addr, data, len, is_write) : -EINVAL;
}

int vm_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };

	/* Fails with ENXIO until the arch created an in-kernel irqchip. */
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

void vm_request_stop(struct vm *vm, enum modvm_stop_reason reason,
		     int status, const char *message)
{
	static const uint64_t one = 1;

	pthread_mutex_lock(&vm->stop_lock);
	/* A reset gives way to a later request to end the VM: a SIGTERM
	 * read while a reboot is pending must not be lost in the restart. */
	if (!vm->stop.requested || (vm->stop.reason == MODVM_STOP_RESET &&
				    reason != MODVM_STOP_RESET)) {
		bool first = !vm->stop.requested;

		vm->stop.requested = true;
		vm->stop.reason = reason;
		vm->stop.status = status;
		snprintf(vm->stop.message, sizeof(vm->stop.message), "%s",
			 message ? message : "");
		atomic_store_explicit(&vm->stopping, true,
				      memory_order_release);
		/* Cannot fail short of a counter overflow: one write ever. */
		if (first && write(vm->stop_efd, &one, sizeof(one)) < 0)
			log_error("stop request: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

bool vm_stop_get(struct vm *vm, struct vm_stop *out)
{
	bool requested;

	pthread_mutex_lock(&vm->stop_lock);
	*out = vm->stop;
	requested = vm->stop.requested;
	pthread_mutex_unlock(&vm->stop_lock);
	return requested;
}

int vm_take_signals(struct vm *vm, int sig_fd)
{
	struct signalfd_siginfo si;
	const char *abbrev;
	char msg[64];
	int n = 0;

	if (sig_fd < 0)
		return 0;
	/* poll first: a blocking signalfd must not block here either. */
	while (poll(&(struct pollfd){ .fd = sig_fd, .events = POLLIN }, 1,
		    0) == 1 &&
	       read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		abbrev = sigabbrev_np((int)si.ssi_signo);
		snprintf(msg, sizeof(msg), "received SIG%s",
			 abbrev ? abbrev : "(unknown)");
		vm_request_stop(vm, MODVM_STOP_SIGNAL, (int)si.ssi_signo, msg);
		n++;
	}
	return n;
}

int vm_wait_stop(struct vm *vm, int sig_fd, int timeout_ms)
{
	struct pollfd fds[2] = {
		{ .fd = vm->stop_efd, .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
	};
	struct vm_stop stop;
	int n;

	while (!vm_stop_get(vm, &stop)) {
		n = poll(fds, sig_fd >= 0 ? 2 : 1, timeout_ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		if (n > 0 && (fds[1].revents & POLLIN))
			vm_take_signals(vm, sig_fd);
	}
	/* A signal that came with another stop still counts: it must
	 * not wait, unread, for a restart that it should prevent. */
	vm_take_signals(vm, sig_fd);
	return 0;
}
