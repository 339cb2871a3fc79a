/* SPDX-License-Identifier: MIT */
/*
 * boot-linux-arm64: boots an arm64 Linux Image as booting.rst asks.
 *
 * Guest RAM (ARM64_RAM_BASE, 2 MiB aligned) from the bottom up:
 *   kernel   at RAM base + text_offset, image_size bytes
 *   initrd   at the next 2 MiB boundary after the kernel
 *   ...
 *   DTB      the last 2 MiB-aligned 2 MiB of RAM (layout.h)
 *
 * The arch plugin (arch-aarch64) has already written the machine's
 * device tree there in its describe step, which runs before this
 * plugin's load. load only adds /chosen bootargs and the initrd range;
 * with [boot] dtb = FILE, that file replaces the arch's tree first.
 * The plugins never call each other: the fixed address is the contract.
 * The boot vCPU starts at the kernel's first byte with x0 = the DTB
 * address and x1..x3 = 0, in EL1h with interrupts masked (KVM's reset
 * state); the other vCPUs wait, powered off, for PSCI CPU_ON.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfdt.h>

#include <modvm/boot.h>
#include <modvm/plugin.h>

#include "../arch-aarch64/layout.h"
#include "image.h"

#if defined(__aarch64__)
#include <stddef.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>
#endif

/* arm64 COMMAND_LINE_SIZE (include/uapi/asm-generic/setup.h). */
#define CMDLINE_MAX 2048u

struct boot_state {
	struct modvm_plugin *self;
	const struct modvm_host *host;
	char *kernel;
	char *initrd; /* NULL: none */
	const char *cmdline;
	char *dtb_path;
	void *dtb;    /* [boot] dtb, read in init; NULL: the arch's */
	size_t dtb_size;
	struct arm64_image image;
	uint64_t initrd_size;
	/* Guest-physical placement, fixed in init. */
	uint64_t kernel_gpa;
	uint64_t initrd_gpa;
	uint64_t fdt_gpa;
};

static const struct modvm_key boot_keys[] = {
	{ "kernel", MODVM_KEY_PATH, "the uncompressed arm64 Linux Image" },
	{ "initrd", MODVM_KEY_PATH, "an initramfs (optional)" },
	{ "cmdline", MODVM_KEY_STRING,
	  "the kernel command line, /chosen bootargs (e.g. console=ttyAMA0)" },
	{ "dtb", MODVM_KEY_PATH,
	  "a device tree to boot with instead of the arch plugin's" },
	{ NULL, 0, NULL },
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int file_size(struct boot_state *s, const char *key, const char *path,
		     uint64_t *out)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		int err = errno;

		s->host->config_error(s->self, key, "%s: %s", path,
				      strerror(err));
		return -err;
	}
	if (!S_ISREG(st.st_mode)) {
		s->host->config_error(s->self, key, "%s is not a regular file",
				      path);
		return -EINVAL;
	}
	*out = (uint64_t)st.st_size;
	return 0;
}

/* Read a whole file of size bytes into dst. */
static int read_into(const char *path, void *dst, uint64_t size)
{
	uint8_t *p = dst;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	while (size) {
		ssize_t n = read(fd, p, size > (1u << 30) ? (1u << 30) : size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : EIO; /* shrank since init */
			close(fd);
			return -err;
		}
		p += n;
		size -= (uint64_t)n;
	}
	close(fd);
	return 0;
}

static int load_dtb_file(struct boot_state *s)
{
	uint64_t size;
	int ret;

	ret = file_size(s, "dtb", s->dtb_path, &size);
	if (ret)
		return ret;
	if (size < sizeof(struct fdt_header) || size > ARM64_FDT_MAX_SIZE) {
		s->host->config_error(s->self, "dtb",
				      "%s is %" PRIu64 " bytes; a device tree "
				      "blob is at most 2 MiB (booting.rst)",
				      s->dtb_path, size);
		return -EINVAL;
	}
	s->dtb = malloc((size_t)size);
	if (!s->dtb)
		return -ENOMEM;
	ret = read_into(s->dtb_path, s->dtb, size);
	if (ret) {
		s->host->config_error(s->self, "dtb", "%s: %s", s->dtb_path,
				      strerror(-ret));
		return ret;
	}
	if (fdt_check_header(s->dtb) != 0 || fdt_totalsize(s->dtb) > size) {
		s->host->config_error(s->self, "dtb",
				      "%s is not a device tree blob (compile "
				      "a .dts with dtc -O dtb)",
				      s->dtb_path);
		return -EINVAL;
	}
	s->dtb_size = fdt_totalsize(s->dtb);
	return 0;
}

/* Everything must fit between the RAM base and the DTB's 2 MiB. */
static int place(struct boot_state *s)
{
	uint64_t ram = s->host->guest_ram_size(s->self);
	uint64_t kernel_end, initrd_end;

	s->fdt_gpa = arm64_fdt_gpa(ram);
	s->kernel_gpa = ARM64_RAM_BASE + s->image.text_offset;
	kernel_end = s->kernel_gpa + s->image.image_size;
	s->initrd_gpa = align_up(kernel_end, ARM64_ALIGN_2M);
	initrd_end = s->initrd_gpa + s->initrd_size;
	if (!s->fdt_gpa || initrd_end > s->fdt_gpa) {
		s->host->config_error(s->self, s->initrd ? "initrd" : "kernel",
				      "the kernel (%" PRIu64 " MiB with bss)%s "
				      "and the device tree (2 MiB) need %" PRIu64
				      " MiB of guest RAM, [machine] memory is "
				      "%" PRIu64 " MiB: raise it",
				      s->image.image_size >> 20,
				      s->initrd ? " and the initrd" : "",
				      (align_up(initrd_end, ARM64_ALIGN_2M) +
				       ARM64_FDT_MAX_SIZE - ARM64_RAM_BASE) >> 20,
				      ram >> 20);
		return -E2BIG;
	}
	return 0;
}

static void boot_fini(void *state)
{
	struct boot_state *s = state;

	if (!s)
		return;
	free(s->kernel);
	free(s->initrd);
	free(s->dtb_path);
	free(s->dtb);
	free(s);
}

/* Read and check everything the section names; reports each problem. */
static int configure(struct boot_state *s)
{
	const struct modvm_host *host = s->host;
	struct modvm_plugin *self = s->self;
	char why[256];
	int ret;

	ret = host->get_path(self, "kernel", &s->kernel);
	if (ret == -ENOENT) {
		host->config_error(self, NULL,
				   "needs kernel = PATH, an uncompressed arm64 "
				   "Linux Image");
		return -EINVAL;
	}
	if (ret)
		return ret;
	ret = arm64_image_read(s->kernel, &s->image, why, sizeof(why));
	if (ret) {
		host->config_error(self, "kernel", "%s %s", s->kernel, why);
		return ret;
	}
	if (s->image.flags & ARM64_IMAGE_FLAG_BE)
		host->log(self, MODVM_LOG_INFO,
			  "%s is a big-endian kernel", s->kernel);

	ret = host->get_path(self, "initrd", &s->initrd);
	if (ret && ret != -ENOENT)
		return ret;
	if (s->initrd) {
		ret = file_size(s, "initrd", s->initrd, &s->initrd_size);
		if (ret)
			return ret;
	}

	ret = host->get_string(self, "cmdline", &s->cmdline);
	if (ret && ret != -ENOENT)
		return ret;
	if (s->cmdline && strlen(s->cmdline) >= CMDLINE_MAX) {
		host->config_error(self, "cmdline",
				   "is %zu characters; arm64 Linux takes at "
				   "most %u",
				   strlen(s->cmdline), CMDLINE_MAX - 1);
		return -EINVAL;
	}

	ret = host->get_path(self, "dtb", &s->dtb_path);
	if (ret && ret != -ENOENT)
		return ret;
	if (s->dtb_path) {
		ret = load_dtb_file(s);
		if (ret)
			return ret;
	}
	return place(s);
}

static int boot_init(struct modvm_plugin *self, const struct modvm_host *host,
		     void **state_out)
{
	struct boot_state *s = calloc(1, sizeof(*s));
	int ret;

	*state_out = NULL;
	if (!s)
		return -ENOMEM;
	s->self = self;
	s->host = host;
	ret = configure(s);
	if (ret) {
		/* The core calls fini only for plugins whose init succeeded. */
		boot_fini(s);
		return ret;
	}
	*state_out = s;
	return 0;
}

static int load_file(struct boot_state *s, const char *what, const char *path,
		     uint64_t gpa, uint64_t size)
{
	void *dst = s->host->guest_ptr(s->self, gpa, size);
	int ret;

	if (!dst) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "%s %s: [0x%" PRIx64 ", +0x%" PRIx64 ") is not "
			     "guest RAM",
			     what, path, gpa, size);
		return -EFAULT;
	}
	ret = read_into(path, dst, size);
	if (ret)
		s->host->log(s->self, MODVM_LOG_ERROR, "loading %s %s: %s",
			     what, path, strerror(-ret));
	return ret;
}

static int boot_load(void *state)
{
	struct boot_state *s = state;
	void *fdt;
	int ret;

	fdt = s->host->guest_ptr(s->self, s->fdt_gpa, ARM64_FDT_MAX_SIZE);
	if (!fdt) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "no guest RAM at 0x%" PRIx64 " for the device tree",
			     s->fdt_gpa);
		return -EFAULT;
	}
	if (s->dtb)
		memcpy(fdt, s->dtb, s->dtb_size);
	else if (fdt_check_header(fdt) != 0) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "no device tree at 0x%" PRIx64 ": the arch plugin "
			     "places it there (arch-aarch64 does); with another "
			     "arch plugin give [boot] dtb = FILE",
			     s->fdt_gpa);
		return -ENOENT;
	}

	ret = load_file(s, "kernel", s->kernel, s->kernel_gpa,
			s->image.file_size);
	if (!ret && s->initrd)
		ret = load_file(s, "initrd", s->initrd, s->initrd_gpa,
				s->initrd_size);
	if (ret)
		return ret;

	ret = arm64_chosen_update(fdt, ARM64_FDT_MAX_SIZE, s->cmdline,
				  s->initrd_gpa, s->initrd ? s->initrd_size : 0);
	if (ret) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "cannot add /chosen to the device tree: %s",
			     fdt_strerror(ret));
		return -EINVAL;
	}
	s->host->log(s->self, MODVM_LOG_DEBUG,
		     "kernel at 0x%" PRIx64 ", initrd at 0x%" PRIx64
		     " (%" PRIu64 " bytes), device tree at 0x%" PRIx64,
		     s->kernel_gpa, s->initrd_gpa, s->initrd_size, s->fdt_gpa);
	return 0;
}

#if defined(__aarch64__)
static int set_core_reg(struct boot_state *s, int vcpu_fd, uint64_t id,
			uint64_t value, const char *name)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&value };
	int err;

	if (ioctl(vcpu_fd, KVM_SET_ONE_REG, &reg) == 0)
		return 0;
	err = errno;
	s->host->log(s->self, MODVM_LOG_ERROR, "setting %s of the boot vCPU: %s",
		     name, strerror(err));
	return -err;
}

#define CORE_REG(field)                                   \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 KVM_REG_ARM_CORE_REG(field))

static int boot_setup_vcpu(void *state, int vcpu_fd)
{
	struct boot_state *s = state;
	int ret;

	/* booting.rst: x0 = DTB address, x1..x3 = 0, pc = the Image. */
	ret = set_core_reg(s, vcpu_fd, CORE_REG(regs.regs[0]), s->fdt_gpa,
			   "x0");
	for (unsigned r = 1; !ret && r <= 3; r++)
		ret = set_core_reg(s, vcpu_fd, CORE_REG(regs.regs[0]) + 2 * r,
				   0, "x1..x3");
	if (!ret)
		ret = set_core_reg(s, vcpu_fd, CORE_REG(regs.pc), s->kernel_gpa,
				   "pc");
	return ret;
}
#else
static int boot_setup_vcpu(void *state, int vcpu_fd)
{
	struct boot_state *s = state;

	(void)vcpu_fd;
	s->host->log(s->self, MODVM_LOG_ERROR,
		     "arm64 guests need an aarch64 host with KVM");
	return -ENOTSUP;
}
#endif

static const struct modvm_boot_ops boot_ops = {
	.size = sizeof(struct modvm_boot_ops),
	.load = boot_load,
	.setup_boot_vcpu = boot_setup_vcpu,
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_BOOT,
	.name = "boot-linux-arm64",
	.version = MODVM_PLUGIN_VERSION,
	.description = "arm64 Linux Image with initrd and command line, "
		       "device tree in x0",
	.keys = boot_keys,
	.init = boot_init,
	.fini = boot_fini,
	.ops = &boot_ops,
};
