/* SPDX-License-Identifier: MIT */
/*
 * arch-aarch64: arm64 guests. The topology has sockets, clusters, cores
 * and threads (no dies); the guest learns it from the device tree's
 * cpu-map (or an ACPI PPTT), both built here from modvm_topology_ids().
 * Table building is portable, so `modvm --check` and `--dump=dtb:FILE`,
 * `--dump=pptt:FILE` work on any host; running a guest needs an
 * aarch64 host (kvm.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <modvm/arch.h>
#include <modvm/plugin.h>

#include "arm64.h"
#include "layout.h"
#include "state.h"

/* KVM's default (and the usual host's) IPA space: 40 bits. */
#define ARM64_IPA_LIMIT (1ull << 40)

static int arm64_init(struct modvm_plugin *self, const struct modvm_host *host,
		      void **state_out)
{
	struct arm64_state *s;
	uint64_t ram = host->guest_ram_size(self);

	if (!arm64_fdt_gpa(ram)) {
		host->log(self, MODVM_LOG_ERROR,
			  "[machine] memory = %" PRIu64 " KiB is too small for "
			  "an arm64 guest: the device tree alone takes the top "
			  "2 MiB; give at least 4M",
			  ram >> 10);
		return -EINVAL;
	}
	if (ram > ARM64_IPA_LIMIT - ARM64_RAM_BASE) {
		host->log(self, MODVM_LOG_ERROR,
			  "[machine] memory = %" PRIu64 " MiB does not fit in "
			  "the 40-bit guest physical address space above "
			  "0x%llx; give at most %llu MiB",
			  ram >> 20, (unsigned long long)ARM64_RAM_BASE,
			  (unsigned long long)((ARM64_IPA_LIMIT -
						ARM64_RAM_BASE) >> 20));
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->self = self;
	s->host = host;
	s->topo = host->topology(self);
	s->gic_fd = -1;
	s->mpidr = calloc(s->topo->maxcpus, sizeof(*s->mpidr));
	if (!s->mpidr) {
		free(s);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->topo->maxcpus; i++)
		s->mpidr[i] = arm64_default_mpidr(i);
	*state_out = s;
	return 0;
}

static void arm64_fini(void *state)
{
	struct arm64_state *s = state;

	if (!s)
		return;
	arm64_kvm_release(s);
	free(s->mpidr);
	free(s);
}

/* KVM vCPU ids are the linear indices; KVM derives MPIDR from them. */
static uint32_t arm64_vcpu_id(void *state, uint32_t index)
{
	(void)state;
	return index;
}

static int arm64_vm_setup(void *state, int vm_fd)
{
	return arm64_kvm_vm_setup(state, vm_fd);
}

static int arm64_vcpu_setup(void *state, int vm_fd, int vcpu_fd,
			    uint32_t index)
{
	return arm64_kvm_vcpu_setup(state, vm_fd, vcpu_fd, index);
}

static void arm64_dump_vcpu(void *state, int vcpu_fd, FILE *out)
{
	arm64_kvm_dump_vcpu(state, vcpu_fd, out);
}

static int build_fdt(struct arm64_state *s, void **out, size_t *size_out)
{
	struct arm64_fdt_params p = {
		.topo = s->topo,
		.mpidr = s->mpidr,
		.ram_base = ARM64_RAM_BASE,
		.ram_size = s->host->guest_ram_size(s->self),
	};
	int ret = arm64_fdt_build(out, size_out, &p);

	if (ret)
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "cannot build the device tree for %" PRIu32
			     " vCPUs: %s",
			     s->topo->cpus, strerror(-ret));
	return ret;
}

/*
 * The DTB goes to its fixed place (layout.h); the boot loader, which
 * runs next, adds /chosen bootargs and initrd and passes it in x0.
 */
static int arm64_describe(void *state)
{
	struct arm64_state *s = state;
	uint64_t gpa = arm64_fdt_gpa(s->host->guest_ram_size(s->self));
	size_t size;
	void *fdt, *dst;
	int ret;

	ret = build_fdt(s, &fdt, &size);
	if (ret)
		return ret;
	dst = s->host->guest_ptr(s->self, gpa, ARM64_FDT_MAX_SIZE);
	if (!dst) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "no guest RAM at 0x%" PRIx64 " for the device tree",
			     gpa);
		free(fdt);
		return -EFAULT;
	}
	memcpy(dst, fdt, size);
	free(fdt);
	s->described = true;
	s->host->log(s->self, MODVM_LOG_DEBUG,
		     "device tree (%zu bytes) at 0x%" PRIx64, size, gpa);
	return 0;
}

static void arm64_print_topology(void *state, FILE *out)
{
	struct arm64_state *s = state;
	const struct modvm_topology *t = s->topo;

	for (uint32_t i = 0; i < t->maxcpus; i++) {
		struct modvm_cpu_ids ids = modvm_topology_ids(t, i);

		fprintf(out,
			"vcpu %" PRIu32 ": mpidr 0x%" PRIx64 " socket %" PRIu32
			" cluster %" PRIu32 " core %" PRIu32
			" thread %" PRIu32 "%s\n",
			i, s->mpidr[i], ids.socket, ids.cluster, ids.core,
			ids.thread, i < t->cpus ? "" : " (not started)");
	}
}

static int write_file(struct arm64_state *s, const char *what,
		      const char *path, const void *data, size_t size)
{
	const uint8_t *p = data;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	while (size) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;

			close(fd);
			errno = err;
			goto fail;
		}
		p += n;
		size -= (size_t)n;
	}
	if (close(fd) == 0)
		return 0;
fail:
	s->host->log(s->self, MODVM_LOG_ERROR, "--dump=%s:%s: %s", what, path,
		     strerror(errno));
	return -EIO;
}

/* --dump=dtb:FILE and --dump=pptt:FILE write the binary tables. */
static int arm64_dump(void *state, const char *what, const char *arg,
		      FILE *out)
{
	struct arm64_state *s = state;
	bool dtb = strcmp(what, "dtb") == 0;
	size_t size;
	void *blob;
	int ret;

	if (!dtb && strcmp(what, "pptt") != 0)
		return -ENOENT;
	if (!arg || !*arg) {
		s->host->log(s->self, MODVM_LOG_ERROR,
			     "--dump=%s needs a file to write: --dump=%s:FILE",
			     what, what);
		return -EINVAL;
	}
	if (dtb) {
		ret = build_fdt(s, &blob, &size);
	} else {
		ret = arm64_pptt_build(&blob, &size, s->topo);
		if (ret)
			s->host->log(s->self, MODVM_LOG_ERROR,
				     "cannot build the PPTT: %s",
				     strerror(-ret));
	}
	if (ret)
		return ret;
	ret = write_file(s, what, arg, blob, size);
	if (!ret)
		fprintf(out, "%s: %zu bytes written to %s\n", what, size, arg);
	free(blob);
	return ret;
}

static const struct modvm_arch_ops arm64_ops = {
	.size = sizeof(struct modvm_arch_ops),
	.topo_levels = MODVM_TOPO_CLUSTERS,
	.max_cpus = ARM64_MAX_CPUS,
	.ram_base = ARM64_RAM_BASE,
	.ram_gap_start = 0,
	.ram_gap_size = 0,
	.vcpu_id = arm64_vcpu_id,
	.vm_setup = arm64_vm_setup,
	.vcpu_setup = arm64_vcpu_setup,
	.describe = arm64_describe,
	.dump_vcpu = arm64_dump_vcpu,
	.print_topology = arm64_print_topology,
	.dump = arm64_dump,
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_ARCH,
	.name = "arch-aarch64",
	.version = MODVM_PLUGIN_VERSION,
	.description = "arm64 guests: GICv3, PSCI, device tree with cpu-map, "
		       "ACPI PPTT",
	.keys = NULL,
	.init = arm64_init,
	.fini = arm64_fini,
	.ops = &arm64_ops,
};
