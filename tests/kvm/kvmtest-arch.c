/* SPDX-License-Identifier: MIT */
/*
 * kvmtest-arch: the smallest x86 arch plugin that runs the real-mode
 * programs of guest-programs.h, so the core's KVM tests do not depend on
 * arch-x86_64's CPUID and table work. Every vCPU starts runnable at
 * GUEST_CODE in real mode with BX = its counter and RCX = key rcx.
 *
 * Keys: irqchip (bool, default false: then HLT exits to user space),
 * rcx (initial RCX, default 0).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include <modvm/arch.h>
#include <modvm/plugin.h>
#include <modvm/topology.h>

#include "guest-programs.h"

/* Three pages below 4 GiB for the TSS real mode needs on Intel. */
#define TSS_ADDR 0xfffbd000

struct kvmtest_arch {
	bool irqchip;
	uint64_t rcx;
};

static int arch_init(struct modvm_plugin *self, const struct modvm_host *host,
		     void **state_out)
{
	struct kvmtest_arch *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	if (host->get_bool(self, "irqchip", &s->irqchip) == -EINVAL ||
	    host->get_u64(self, "rcx", &s->rcx) == -EINVAL) {
		free(s);
		return -EINVAL;
	}
	*state_out = s;
	return 0;
}

static void arch_fini(void *state)
{
	free(state);
}

static uint32_t arch_vcpu_id(void *state, uint32_t index)
{
	(void)state;
	return index;
}

static int arch_vm_setup(void *state, int vm_fd)
{
	const struct kvmtest_arch *s = state;

	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
		return -errno;
	if (s->irqchip && ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return -errno;
	return 0;
}

static void real_mode_segment(struct kvm_segment *seg)
{
	seg->selector = 0;
	seg->base = 0;
	seg->limit = 0xffff;
}

static int arch_vcpu_setup(void *state, int vm_fd, int vcpu_fd,
			   uint32_t index)
{
	const struct kvmtest_arch *s = state;
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = GUEST_CODE,
		.rflags = 0x2,
		.rsp = GUEST_STACK,
		.rbx = GUEST_COUNTERS + 4 * index,
		.rcx = s->rcx,
	};
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	(void)vm_fd;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	real_mode_segment(&sregs.cs);
	real_mode_segment(&sregs.ds);
	real_mode_segment(&sregs.es);
	real_mode_segment(&sregs.fs);
	real_mode_segment(&sregs.gs);
	real_mode_segment(&sregs.ss);
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	/* With an in-kernel LAPIC, APs wait for INIT/SIPI: start them. */
	if (s->irqchip && ioctl(vcpu_fd, KVM_SET_MP_STATE, &mp) < 0)
		return -errno;
	return 0;
}

static void arch_dump_vcpu(void *state, int vcpu_fd, FILE *out)
{
	struct kvm_regs r;

	(void)state;
	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0) {
		fprintf(out, "  (KVM_GET_REGS failed)\n");
		return;
	}
	fprintf(out, "  rip %#llx rflags %#llx rax %#llx rbx %#llx rcx %#llx\n",
		(unsigned long long)r.rip, (unsigned long long)r.rflags,
		(unsigned long long)r.rax, (unsigned long long)r.rbx,
		(unsigned long long)r.rcx);
}

static void arch_print_topology(void *state, FILE *out)
{
	(void)state;
	fprintf(out, "kvmtest-arch: vCPU id = index, real mode\n");
}

static const struct modvm_arch_ops arch_ops = {
	.size = sizeof(struct modvm_arch_ops),
	.topo_levels = MODVM_TOPO_DIES | MODVM_TOPO_CLUSTERS,
	.max_cpus = 64,
	.ram_base = 0,
	.ram_gap_start = 0xc0000000,
	.ram_gap_size = 0x40000000,
	.vcpu_id = arch_vcpu_id,
	.vm_setup = arch_vm_setup,
	.vcpu_setup = arch_vcpu_setup,
	.dump_vcpu = arch_dump_vcpu,
	.print_topology = arch_print_topology,
};

static const struct modvm_key arch_keys[] = {
	{ "irqchip", MODVM_KEY_BOOL, "create an in-kernel irqchip" },
	{ "rcx", MODVM_KEY_INT, "initial RCX of every vCPU" },
	{ NULL, 0, NULL },
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_ARCH,
	.name = "kvmtest-arch",
	.version = "1.0",
	.description = "test arch: real-mode vCPUs for the core's KVM tests",
	.keys = arch_keys,
	.init = arch_init,
	.fini = arch_fini,
	.ops = &arch_ops,
};
