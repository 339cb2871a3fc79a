/* SPDX-License-Identifier: MIT */
/*
 * arch-x86_64's KVM side: the VM-wide x86 pieces (identity map, TSS,
 * in-kernel PIC/IOAPIC/LAPIC, PIT), each vCPU's CPUID, register dumps,
 * and the table of CPUID leaves KVM supports.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "state.h"

/*
 * Two private areas KVM needs on Intel (VMX) hosts, in the 32-bit MMIO
 * hole below 4 GiB, clear of the IOAPIC (0xfec00000) and LAPIC
 * (0xfee00000): one page for the real-mode identity page table, then
 * three pages for the TSS (KVM_SET_TSS_ADDR wants three). The same
 * addresses QEMU-less VMMs commonly use; AMD hosts ignore them.
 */
#define X86_IDENTITY_MAP_ADDR 0xfffbc000ull
#define X86_TSS_ADDR (X86_IDENTITY_MAP_ADDR + 0x1000)

/* KVM_GET_SUPPORTED_CPUID answers E2BIG until nent is large enough. */
#define CPUID_NENT_START 256u
#define CPUID_NENT_MAX 4096u

static int vm_ioctl_failed(struct x86_state *s, const char *what)
{
	int err = errno;

	s->host->log(s->self, MODVM_LOG_ERROR, "%s: %s", what, strerror(err));
	return -err;
}

int x86_kvm_vm_setup(struct x86_state *s, int vm_fd)
{
	uint64_t idmap = X86_IDENTITY_MAP_ADDR;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int ret;

	/* Both before the first vCPU exists (KVM's api.rst). */
	if (ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return vm_ioctl_failed(s, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_TSS_ADDR) < 0)
		return vm_ioctl_failed(s, "KVM_SET_TSS_ADDR");
	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return vm_ioctl_failed(s, "KVM_CREATE_IRQCHIP");
	/* The dummy speaker keeps port 0x61 in the kernel too. */
	if (ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return vm_ioctl_failed(s, "KVM_CREATE_PIT2");
	/*
	 * APIC IDs above 254 exist only in x2APIC mode, and KVM routes
	 * interrupts to them only with 32-bit IDs enabled; without them
	 * it would truncate the ID to 8 bits.
	 */
	if (s->max_apic_id > 254) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_X2APIC_API,
			.args[0] = KVM_X2APIC_API_USE_32BIT_IDS |
				   KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK,
		};

		if (ioctl(vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
			ret = vm_ioctl_failed(s, "KVM_ENABLE_CAP "
					      "KVM_CAP_X2APIC_API");
			s->host->log(s->self, MODVM_LOG_ERROR,
				     "APIC IDs up to %" PRIu32 " need 32-bit "
				     "x2APIC IDs; use a smaller topology",
				     s->max_apic_id);
			return ret;
		}
	}
	/* Read once here, so vcpu_setup only reads shared state. */
	return x86_kvm_supported_cpuid(s, false);
}

int x86_kvm_vcpu_setup(struct x86_state *s, int vcpu_fd, uint32_t index)
{
	struct kvm_cpuid2 *c;
	int ret;

	if (!s->supported) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "vcpu %" PRIu32 ": set up before the VM", index);
		return -EINVAL;
	}
	ret = x86_cpuid_build(&c, s->supported, s->topo, index, s->vendor);
	if (ret) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "vcpu %" PRIu32 ": cannot build its CPUID: %s",
			     index, strerror(-ret));
		return ret;
	}
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0) {
		ret = -errno;
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "vcpu %" PRIu32 ": KVM_SET_CPUID2 (%" PRIu32
			     " entries): %s",
			     index, c->nent, strerror(errno));
	}
	free(c);
	return ret;
}

static void dump_segment(FILE *out, const char *name,
			 const struct kvm_segment *seg)
{
	fprintf(out,
		"  %-3s sel 0x%04x base 0x%016llx limit 0x%08x type %u "
		"dpl %u db %u s %u l %u g %u present %u\n",
		name, seg->selector, (unsigned long long)seg->base, seg->limit,
		seg->type, seg->dpl, seg->db, seg->s, seg->l, seg->g,
		seg->present);
}

void x86_kvm_dump_vcpu(struct x86_state *s, int vcpu_fd, FILE *out)
{
	struct kvm_regs r;
	struct kvm_sregs sr;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0) {
		fprintf(out, "  KVM_GET_REGS: %s\n", strerror(errno));
		return;
	}
	fprintf(out,
		"  rip 0x%016llx rsp 0x%016llx rflags 0x%08llx\n"
		"  rax 0x%016llx rbx 0x%016llx rcx 0x%016llx rdx 0x%016llx\n"
		"  rsi 0x%016llx rdi 0x%016llx rbp 0x%016llx\n"
		"  r8  0x%016llx r9  0x%016llx r10 0x%016llx r11 0x%016llx\n"
		"  r12 0x%016llx r13 0x%016llx r14 0x%016llx r15 0x%016llx\n",
		r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi,
		r.rdi, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
		r.r15);
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sr) < 0) {
		fprintf(out, "  KVM_GET_SREGS: %s\n", strerror(errno));
		return;
	}
	fprintf(out,
		"  cr0 0x%016llx cr2 0x%016llx cr3 0x%016llx cr4 0x%016llx\n"
		"  cr8 0x%016llx efer 0x%016llx apic_base 0x%016llx\n",
		sr.cr0, sr.cr2, sr.cr3, sr.cr4, sr.cr8, sr.efer, sr.apic_base);
	dump_segment(out, "cs", &sr.cs);
	dump_segment(out, "ds", &sr.ds);
	dump_segment(out, "es", &sr.es);
	dump_segment(out, "fs", &sr.fs);
	dump_segment(out, "gs", &sr.gs);
	dump_segment(out, "ss", &sr.ss);
	dump_segment(out, "tr", &sr.tr);
	dump_segment(out, "ldt", &sr.ldt);
	fprintf(out,
		"  gdt base 0x%016llx limit 0x%04x idt base 0x%016llx "
		"limit 0x%04x\n",
		(unsigned long long)sr.gdt.base, sr.gdt.limit,
		(unsigned long long)sr.idt.base, sr.idt.limit);
}

static struct kvm_cpuid2 *alloc_cpuid(uint32_t nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)nent *
					     sizeof(c->entries[0]));

	if (c)
		c->nent = nent;
	return c;
}

static int kvm_supported(int kvm_fd, struct kvm_cpuid2 **out)
{
	for (uint32_t nent = CPUID_NENT_START; nent <= CPUID_NENT_MAX;
	     nent *= 2) {
		struct kvm_cpuid2 *c = alloc_cpuid(nent);

		if (!c)
			return -ENOMEM;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}

/* Subleaves to read of one leaf for the stand-in table. */
static uint32_t host_subleaves(uint32_t leaf, uint32_t eax0)
{
	switch (leaf) {
	case 0x7:
		return eax0 + 1 < 8 ? eax0 + 1 : 8;
	case 0x4:
	case 0xb:
	case 0x1f:
	case 0x8000001d:
	case 0x80000026:
		return 64; /* until the null subleaf, included */
	default:
		return 1;
	}
}

static bool indexed_leaf(uint32_t leaf)
{
	static const uint32_t leaves[] = {
		0x4, 0x7, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1d,
		0x1e, 0x1f, 0x20, 0x23, 0x24, 0x8000001d, 0x80000020,
		0x80000026,
	};

	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		if (leaves[i] == leaf)
			return true;
	return false;
}

/* The null subleaf that ends leaf 4/8000001D (cache type 0) or
 * 0BH/1FH/80000026 (level type 0). */
static bool is_last_subleaf(uint32_t leaf, const struct kvm_cpuid_entry2 *e)
{
	if (leaf == 0x4 || leaf == 0x8000001d)
		return (e->eax & 0x1f) == 0;
	if (leaf == 0xb || leaf == 0x1f || leaf == 0x80000026)
		return ((e->ecx >> 8) & 0xff) == 0;
	return false;
}

static int add_host_range(struct kvm_cpuid2 *c, uint32_t cap, uint32_t first,
			  uint32_t last)
{
	for (uint32_t leaf = first; leaf <= last; leaf++) {
		uint32_t n = 1;

		for (uint32_t sub = 0; sub < n; sub++) {
			struct kvm_cpuid_entry2 *e;

			if (c->nent >= cap)
				return -E2BIG;
			e = &c->entries[c->nent];
			memset(e, 0, sizeof(*e));
			e->function = leaf;
			e->index = sub;
			e->flags = indexed_leaf(leaf)
					   ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX
					   : 0;
			__cpuid_count(leaf, sub, e->eax, e->ebx, e->ecx, e->edx);
			c->nent++;
			if (sub == 0)
				n = host_subleaves(leaf, e->eax);
			if (is_last_subleaf(leaf, e))
				break;
		}
	}
	return 0;
}

/*
 * A stand-in for KVM_GET_SUPPORTED_CPUID on a host without /dev/kvm:
 * the host's own leaves (basic and extended, with the subleaves the
 * topology code reads). Only for --dump; never handed to KVM.
 */
static int host_cpuid_table(struct kvm_cpuid2 **out)
{
	const uint32_t cap = 512;
	struct kvm_cpuid2 *c = alloc_cpuid(cap);
	uint32_t max = __get_cpuid_max(0, NULL);
	uint32_t ext = __get_cpuid_max(0x80000000, NULL);
	int ret;

	if (!c)
		return -ENOMEM;
	c->nent = 0;
	/* Bounded, in case a hypervisor reports nonsense. */
	ret = add_host_range(c, cap, 0, max < 0x40 ? max : 0x40);
	if (!ret && ext >= 0x80000000)
		ret = add_host_range(c, cap, 0x80000000,
				     ext < 0x80000040 ? ext : 0x80000040);
	if (ret) {
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

int x86_kvm_supported_cpuid(struct x86_state *s, bool host_fallback)
{
	int fd, ret;

	if (s->supported)
		return 0;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		if (!host_fallback) {
			s->host->log(s->self, MODVM_LOG_ERROR,
				     "/dev/kvm: %s", strerror(err));
			return -err;
		}
		s->host->log(s->self, MODVM_LOG_WARN,
			     "/dev/kvm: %s; showing this host's own CPUID "
			     "in place of KVM_GET_SUPPORTED_CPUID",
			     strerror(err));
		ret = host_cpuid_table(&s->supported);
		if (ret)
			s->host->log(s->self, MODVM_LOG_ERROR,
				     "cannot read this host's CPUID: %s",
				     strerror(-ret));
		return ret;
	}
	ret = kvm_supported(fd, &s->supported);
	close(fd);
	if (ret)
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
	return ret;
}
