/* SPDX-License-Identifier: MIT */
/*
 * kvmtest-boot: puts one program of guest-programs.h into guest RAM
 * (key program = NAME). Registers are kvmtest-arch's business, except
 * that 32-bit programs get the boot vCPU into protected mode.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include <modvm/boot.h>
#include <modvm/plugin.h>

#include "guest-programs.h"

struct kvmtest_boot {
	struct modvm_plugin *self;
	const struct modvm_host *host;
	const struct guest_program *program;
};

static int boot_init(struct modvm_plugin *self, const struct modvm_host *host,
		     void **state_out)
{
	struct kvmtest_boot *s;
	const char *name = NULL;

	if (host->get_string(self, "program", &name) || !guest_program(name)) {
		host->config_error(self, "program",
				   "name one of guest-programs.h");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->self = self;
	s->host = host;
	s->program = guest_program(name);
	*state_out = s;
	return 0;
}

static void boot_fini(void *state)
{
	free(state);
}

static int boot_load(void *state)
{
	struct kvmtest_boot *s = state;
	uint8_t *ram = s->host->guest_ptr(s->self, 0, GUEST_COUNTERS);

	if (!ram)
		return -EFAULT;
	guest_program_load(s->program, ram);
	return 0;
}

/* Flat 4 GiB segment: code (type 0xb) or data (type 0x3). */
static void flat_segment(struct kvm_segment *seg, uint16_t selector,
			 uint8_t type)
{
	*seg = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector,
		.type = type, .present = 1, .dpl = 0, .db = 1, .s = 1,
		.l = 0, .g = 1,
	};
}

/* Programs marked protected_mode start in flat 32-bit protected mode,
 * paging off, with an IDT of limit 0 so that no exception is
 * deliverable. */
static int boot_setup_vcpu(void *state, int vcpu_fd)
{
	const struct kvmtest_boot *s = state;
	struct kvm_sregs sregs;

	if (!s->program->protected_mode)
		return 0;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cr0 |= 1; /* PE */
	flat_segment(&sregs.cs, 0x08, 0xb);
	flat_segment(&sregs.ds, 0x10, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	return ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0 ? -errno : 0;
}

static const struct modvm_boot_ops boot_ops = {
	.size = sizeof(struct modvm_boot_ops),
	.load = boot_load,
	.setup_boot_vcpu = boot_setup_vcpu,
};

static const struct modvm_key boot_keys[] = {
	{ "program", MODVM_KEY_STRING, "a program of guest-programs.h" },
	{ NULL, 0, NULL },
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_BOOT,
	.name = "kvmtest-boot",
	.version = "1.0",
	.description = "test boot loader: a real-mode program at 0x1000",
	.keys = boot_keys,
	.init = boot_init,
	.fini = boot_fini,
	.ops = &boot_ops,
};
