/* SPDX-License-Identifier: MIT */
/*
 * boot-linux-x86: direct Linux boot without firmware. init vets the
 * bzImage, the initrd and the command line against the guest's RAM (so
 * `modvm --check` catches them); load copies them into guest RAM with
 * the zero page, the e820 map, a GDT and identity page tables; the
 * boot vCPU starts at the kernel's 64-bit entry point in long mode.
 * Application processors wait for INIT/SIPI from the guest through
 * KVM's in-kernel LAPIC. Layout: layout.h.
 *
 * Keys: kernel (a bzImage, required), initrd, cmdline.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <modvm/boot.h>
#include <modvm/plugin.h>

#include "bzimage.h"
#include "layout.h"

#define DEFAULT_CMDLINE "console=ttyS0 panic=-1"
/* ACPI 6.4 5.2.5.1: the RSDP is on a 16-byte boundary in 0xe0000-0xfffff. */
#define RSDP_SCAN_START 0xe0000u
#define RSDP_SCAN_END 0x100000u
#define RSDP_V1_SIZE 20u

struct boot_linux {
	struct modvm_plugin *self;
	const struct modvm_host *host;
	char *kernel_path;
	char *initrd_path;
	int kernel_fd;
	int initrd_fd;
	const char *cmdline; /* owned by the core, or DEFAULT_CMDLINE */
	struct bzimage image;
	struct boot_layout layout;
};

static void boot_fini(void *state)
{
	struct boot_linux *s = state;

	if (!s)
		return;
	if (s->kernel_fd >= 0)
		close(s->kernel_fd);
	if (s->initrd_fd >= 0)
		close(s->initrd_fd);
	free(s->kernel_path);
	free(s->initrd_path);
	free(s);
}

/* Read len bytes at off; returns 0, -errno or -EIO for a short file. */
static int read_at(int fd, void *buf, uint64_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Open a regular file of KEY for reading; reports why it cannot. */
static int open_file(struct boot_linux *s, const char *key, const char *path,
		     int *fd_out, uint64_t *size_out)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		s->host->config_error(s->self, key, "cannot open: %s",
				      strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		s->host->config_error(s->self, key, "cannot stat: %s",
				      strerror(-ret));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		s->host->config_error(s->self, key, "not a regular file");
		goto out_close;
	}
	*fd_out = fd;
	*size_out = (uint64_t)st.st_size;
	return 0;

out_close:
	close(fd);
	return ret;
}

static int check_kernel(struct boot_linux *s)
{
	uint8_t probe[BZIMAGE_PROBE_SIZE];
	uint64_t size, len;
	char why[256];
	int ret;

	ret = open_file(s, "kernel", s->kernel_path, &s->kernel_fd, &size);
	if (ret)
		return ret;
	len = size < sizeof(probe) ? size : sizeof(probe);
	ret = read_at(s->kernel_fd, probe, len, 0);
	if (ret) {
		s->host->config_error(s->self, "kernel", "cannot read: %s",
				      strerror(-ret));
		return ret;
	}
	ret = bzimage_parse(&s->image, probe, (size_t)len, size, why,
			    sizeof(why));
	if (!ret)
		ret = boot_plan_kernel(&s->layout, &s->image,
				       s->host->guest_ram_size(s->self), why,
				       sizeof(why));
	if (ret) {
		s->host->config_error(s->self, "kernel", "%s", why);
		ret = -EINVAL;
	}
	return ret;
}

static int check_initrd(struct boot_linux *s)
{
	uint64_t size;
	char why[256];
	int ret;

	ret = s->host->get_path(s->self, "initrd", &s->initrd_path);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	ret = open_file(s, "initrd", s->initrd_path, &s->initrd_fd, &size);
	if (ret)
		return ret;
	ret = boot_plan_initrd(&s->layout, &s->image, size, why, sizeof(why));
	if (ret) {
		s->host->config_error(s->self, "initrd", "%s", why);
		ret = -EINVAL;
	}
	return ret;
}

static int check_cmdline(struct boot_linux *s)
{
	/* Boot protocol 2.06, cmdline_size: the longest, without its NUL. */
	size_t max = s->image.hdr.cmdline_size, len;
	int ret;

	ret = s->host->get_string(s->self, "cmdline", &s->cmdline);
	if (ret == -ENOENT)
		s->cmdline = DEFAULT_CMDLINE;
	else if (ret)
		return ret;
	if (max > BOOT_CMDLINE_MAX)
		max = BOOT_CMDLINE_MAX;
	len = strlen(s->cmdline);
	if (len > max) {
		s->host->config_error(s->self, "cmdline",
				      "is %zu bytes long; this kernel takes at "
				      "most %zu (its cmdline_size)",
				      len, max);
		return -EINVAL;
	}
	return 0;
}

static int boot_init(struct modvm_plugin *self, const struct modvm_host *host,
		     void **state_out)
{
	struct boot_linux *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->self = self;
	s->host = host;
	s->kernel_fd = -1;
	s->initrd_fd = -1;
	ret = host->get_path(self, "kernel", &s->kernel_path);
	if (ret == -ENOENT)
		host->config_error(self, NULL,
				   "needs kernel = PATH, a bzImage such as "
				   "/boot/vmlinuz-*");
	if (ret)
		goto out_fini;
	ret = check_kernel(s);
	if (!ret)
		ret = check_initrd(s);
	if (!ret)
		ret = check_cmdline(s);
	if (ret)
		goto out_fini;
	*state_out = s;
	return 0;

out_fini:
	boot_fini(s);
	return ret;
}

/* Copy len bytes of a file into guest RAM at gpa. */
static int load_file(struct boot_linux *s, int fd, const char *path,
		     uint64_t off, uint64_t gpa, uint64_t len)
{
	void *dst = s->host->guest_ptr(s->self, gpa, len);
	int ret;

	if (!dst) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "%s: guest RAM [%#llx, +%#llx) is not mapped",
			     path, (unsigned long long)gpa,
			     (unsigned long long)len);
		return -EFAULT;
	}
	ret = read_at(fd, dst, len, off);
	if (ret)
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "%s: read: %s (did the file change since "
			     "modvm started?)",
			     path, ret == -EIO ? "file is shorter" :
						 strerror(-ret));
	return ret;
}

/* The arch wrote an RSDP (ACPI 6.4 5.2.5.3) in the BIOS area? */
static uint64_t find_rsdp(struct boot_linux *s)
{
	const uint8_t *area = s->host->guest_ptr(
		s->self, RSDP_SCAN_START, RSDP_SCAN_END - RSDP_SCAN_START);

	if (!area)
		return 0;
	for (uint32_t off = 0; off < RSDP_SCAN_END - RSDP_SCAN_START;
	     off += 16) {
		uint8_t sum = 0;

		if (memcmp(area + off, "RSD PTR ", 8) != 0)
			continue;
		for (uint32_t i = 0; i < RSDP_V1_SIZE; i++)
			sum = (uint8_t)(sum + area[off + i]);
		if (sum == 0)
			return RSDP_SCAN_START + off;
	}
	return 0;
}

/* Zero page, command line, GDT and page tables. */
static int write_boot_data(struct boot_linux *s)
{
	size_t cmdline_len = strlen(s->cmdline) + 1;
	struct boot_params *bp;
	uint64_t gdt[BOOT_GDT_ENTRIES];
	void *cmdline, *gdt_mem, *tables;

	bp = s->host->guest_ptr(s->self, BOOT_PARAMS_ADDR, sizeof(*bp));
	cmdline = s->host->guest_ptr(s->self, BOOT_CMDLINE_ADDR, cmdline_len);
	gdt_mem = s->host->guest_ptr(s->self, BOOT_GDT_ADDR, sizeof(gdt));
	tables = s->host->guest_ptr(s->self, BOOT_PML4_ADDR,
				    BOOT_PAGE_TABLES_SIZE);
	if (!bp || !cmdline || !gdt_mem || !tables) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "guest RAM below 1 MiB is not mapped");
		return -EFAULT;
	}
	s->layout.rsdp_addr = find_rsdp(s);
	boot_params_build(bp, &s->image, &s->layout);
	memcpy(cmdline, s->cmdline, cmdline_len);
	boot_gdt_build(gdt);
	memcpy(gdt_mem, gdt, sizeof(gdt));
	boot_page_tables_build(tables);
	return 0;
}

static int boot_load(void *state)
{
	struct boot_linux *s = state;
	uint64_t above = s->layout.ram_size - s->layout.ram_below_4g;
	int ret;

	/* Guest RAM must be where the e820 map will say it is. */
	if (!s->host->guest_ptr(s->self, 0, s->layout.ram_below_4g) ||
	    (above && !s->host->guest_ptr(s->self, BOOT_RAM_GAP_END, above))) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "guest RAM is not laid out as [0, 3 GiB) + "
			     "[4 GiB, ...): use the arch-x86_64 plugin");
		return -EINVAL;
	}
	ret = load_file(s, s->kernel_fd, s->kernel_path, s->image.setup_size,
			BOOT_KERNEL_ADDR, s->image.kernel_size);
	if (!ret && s->layout.initrd_size)
		ret = load_file(s, s->initrd_fd, s->initrd_path, 0,
				s->layout.initrd_addr, s->layout.initrd_size);
	if (!ret)
		ret = write_boot_data(s);
	if (!ret)
		s->host->log(s->self, MODVM_LOG_DEBUG,
			     "kernel %s (protocol %u.%02u) at %#x, initrd at "
			     "%#llx (%llu bytes), RSDP at %#llx",
			     s->kernel_path, s->image.hdr.version >> 8,
			     s->image.hdr.version & 0xffu, BOOT_KERNEL_ADDR,
			     (unsigned long long)s->layout.initrd_addr,
			     (unsigned long long)s->layout.initrd_size,
			     (unsigned long long)s->layout.rsdp_addr);
	return ret;
}

static int boot_setup_vcpu(void *state, int vcpu_fd)
{
	struct boot_linux *s = state;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	const char *what = "KVM_GET_SREGS";
	int ret;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		goto out_errno;
	boot_sregs_build(&sregs);
	what = "KVM_SET_SREGS";
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		goto out_errno;
	boot_regs_build(&regs);
	what = "KVM_SET_REGS";
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		goto out_errno;
	return 0;

out_errno:
	ret = -errno;
	s->host->log(s->self, MODVM_LOG_ERROR, "boot vCPU: %s: %s", what,
		     strerror(-ret));
	return ret;
}

static const struct modvm_boot_ops boot_ops = {
	.size = sizeof(struct modvm_boot_ops),
	.load = boot_load,
	.setup_boot_vcpu = boot_setup_vcpu,
};

static const struct modvm_key boot_keys[] = {
	{ "kernel", MODVM_KEY_PATH,
	  "the Linux kernel, a bzImage (required), e.g. /boot/vmlinuz-6.1.0" },
	{ "initrd", MODVM_KEY_PATH, "an initramfs (cpio, may be compressed)" },
	{ "cmdline", MODVM_KEY_STRING,
	  "the kernel command line (default \"" DEFAULT_CMDLINE "\")" },
	{ NULL, 0, NULL },
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_BOOT,
	.name = "boot-linux-x86",
	.version = MODVM_PLUGIN_VERSION,
	.description = "boots a Linux bzImage at its 64-bit entry point",
	.keys = boot_keys,
	.init = boot_init,
	.fini = boot_fini,
	.ops = &boot_ops,
};
