/* SPDX-License-Identifier: MIT */
/*
 * The KVM side of arch-aarch64: the in-kernel GICv3, vCPU init with
 * PSCI 0.2 (secondaries start powered off and wait for PSCI CPU_ON),
 * and MPIDR read back from KVM. Compiled for real only on aarch64
 * hosts; elsewhere each entry point refuses with one clear message, so
 * the rest of the plugin (--check, --dump) still works.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "state.h"

#if defined(__aarch64__)

#include <stddef.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "arm64.h"

/* MPIDR_EL1: op0 3, op1 0, CRn 0, CRm 0, op2 5. */
#define REG_MPIDR_EL1 ARM64_SYS_REG(3, 0, 0, 0, 5)
#define CORE_REG(field)                                   \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 KVM_REG_ARM_CORE_REG(field))

static int gic_attr(struct arm64_state *s, uint32_t group, uint64_t attr,
		    const void *value, const char *what)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uintptr_t)value,
	};

	int err;

	if (ioctl(s->gic_fd, KVM_SET_DEVICE_ATTR, &a) == 0)
		return 0;
	err = errno;
	s->host->log(s->self, MODVM_LOG_ERROR, "vGICv3: setting %s: %s", what,
		     strerror(err));
	return -err;
}

int arm64_kvm_vm_setup(struct arm64_state *s, int vm_fd)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	uint64_t dist = ARM64_GICD_BASE, redist = ARM64_GICR_BASE;
	uint32_t nr_irqs = ARM64_GIC_NR_IRQS;
	int ret;

	/* A guest reset recreates the VM and calls us again. */
	arm64_kvm_release(s);
	s->described = false;
	s->n_realized = 0;
	for (uint32_t i = 0; i < s->topo->maxcpus; i++)
		s->mpidr[i] = arm64_default_mpidr(i);
	if (ioctl(vm_fd, KVM_CREATE_DEVICE, &dev) < 0) {
		ret = -errno;
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "cannot create the in-kernel GICv3 "
			     "(KVM_DEV_TYPE_ARM_VGIC_V3): %s; this host's GIC "
			     "may lack a GICv3 CPU interface",
			     strerror(errno));
		return ret;
	}
	s->gic_fd = (int)dev.fd;
	ret = gic_attr(s, KVM_DEV_ARM_VGIC_GRP_ADDR,
		       KVM_VGIC_V3_ADDR_TYPE_DIST, &dist, "the distributor "
		       "address");
	if (!ret)
		ret = gic_attr(s, KVM_DEV_ARM_VGIC_GRP_ADDR,
			       KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist,
			       "the redistributor address");
	if (!ret)
		ret = gic_attr(s, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs,
			       "the number of interrupts");
	if (ret)
		arm64_kvm_release(s);
	return ret;
}

int arm64_kvm_vcpu_setup(struct arm64_state *s, int vm_fd, int vcpu_fd,
			 uint32_t index)
{
	struct kvm_vcpu_init init;
	uint64_t mpidr = 0;
	int err;
	struct kvm_one_reg reg = {
		.id = REG_MPIDR_EL1,
		.addr = (uintptr_t)&mpidr,
	};

	memset(&init, 0, sizeof(init));
	if (ioctl(vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		err = errno;
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "KVM_ARM_PREFERRED_TARGET: %s", strerror(err));
		return -err;
	}
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	/* Secondaries wait for PSCI CPU_ON from the boot vCPU. */
	if (index != 0)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(vcpu_fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		err = errno;
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "vcpu %" PRIu32 ": KVM_ARM_VCPU_INIT: %s", index,
			     strerror(err));
		return -err;
	}
	if (ioctl(vcpu_fd, KVM_GET_ONE_REG, &reg) < 0) {
		err = errno;
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "vcpu %" PRIu32 ": reading MPIDR_EL1: %s", index,
			     strerror(err));
		return -err;
	}
	if (s->described && mpidr != s->mpidr[index]) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "vcpu %" PRIu32 ": KVM gave MPIDR 0x%" PRIx64
			     " but the device tree says 0x%" PRIx64,
			     index, mpidr, s->mpidr[index]);
		return -EINVAL;
	}
	s->mpidr[index] = mpidr;
	/* The vGIC is initialised once every started vCPU exists. */
	if (++s->n_realized == s->topo->cpus)
		return gic_attr(s, KVM_DEV_ARM_VGIC_GRP_CTRL,
				KVM_DEV_ARM_VGIC_CTRL_INIT, NULL,
				"initialisation");
	return 0;
}

void arm64_kvm_dump_vcpu(struct arm64_state *s, int vcpu_fd, FILE *out)
{
	static const struct {
		const char *name;
		uint64_t id;
	} named[] = {
		{ "pc", CORE_REG(regs.pc) },
		{ "pstate", CORE_REG(regs.pstate) },
		{ "sp_el1", CORE_REG(sp_el1) },
		{ "elr_el1", CORE_REG(elr_el1) },
	};
	uint64_t v;
	struct kvm_one_reg reg = { .addr = (uintptr_t)&v };

	(void)s;
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		reg.id = named[i].id;
		if (ioctl(vcpu_fd, KVM_GET_ONE_REG, &reg) == 0)
			fprintf(out, "%-8s %016" PRIx64 "\n", named[i].name, v);
	}
	for (unsigned r = 0; r < 31; r++) {
		reg.id = CORE_REG(regs.regs[0]) + 2 * r;
		if (ioctl(vcpu_fd, KVM_GET_ONE_REG, &reg) == 0)
			fprintf(out, "x%-7u %016" PRIx64 "%s", r, v,
				r % 2 ? "\n" : "  ");
	}
	fputc('\n', out);
}

void arm64_kvm_release(struct arm64_state *s)
{
	if (s->gic_fd >= 0)
		close(s->gic_fd);
	s->gic_fd = -1;
}

#else /* !__aarch64__ */

static int need_aarch64(struct arm64_state *s)
{
	s->host->log(s->self, MODVM_LOG_ERROR,
		     "arm64 guests need an aarch64 host with KVM; on this "
		     "host, modvm --check and --dump=dtb:FILE or "
		     "--dump=pptt:FILE work");
	return -ENOTSUP;
}

int arm64_kvm_vm_setup(struct arm64_state *s, int vm_fd)
{
	(void)vm_fd;
	return need_aarch64(s);
}

int arm64_kvm_vcpu_setup(struct arm64_state *s, int vm_fd, int vcpu_fd,
			 uint32_t index)
{
	(void)vm_fd;
	(void)vcpu_fd;
	(void)index;
	return need_aarch64(s);
}

void arm64_kvm_dump_vcpu(struct arm64_state *s, int vcpu_fd, FILE *out)
{
	(void)s;
	(void)vcpu_fd;
	fputs("arm64 vCPU registers: not available, this is not an aarch64 "
	      "host\n",
	      out);
}

void arm64_kvm_release(struct arm64_state *s)
{
	if (s->gic_fd >= 0)
		close(s->gic_fd);
	s->gic_fd = -1;
}

#endif
