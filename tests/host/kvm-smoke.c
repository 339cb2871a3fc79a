/* kvm-smoke: minimal proof that /dev/kvm works.
 *
 * Creates a VM with 64 KiB of memory, loads a few real-mode instructions
 * that write to I/O port 0x10 several times and then halt, and checks that
 * the KVM_EXIT_IO exits carry the expected port, size, direction and data.
 *
 * Exit status: 0 PASS, 1 FAIL, 77 SKIP (no /dev/kvm on this machine).
 * Build: cc -O2 -o kvm-smoke kvm-smoke.c
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE  0x10000u /* 64 KiB guest RAM at guest-physical 0 */
#define CODE_ADDR 0x1000u
#define PORT      0x10

static int fail(const char *what)
{
	printf("kvm-smoke: FAIL: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	/* 16-bit real-mode code, loaded at 0000:1000 */
	static const uint8_t code[] = {
		0xba, PORT, 0x00,     /* mov dx, 0x10    */
		0xb0, 'A',            /* mov al, 'A'     */
		0xee,                 /* out dx, al      */
		0xfe, 0xc0,           /* inc al          */
		0xee,                 /* out dx, al      */
		0x04, 0x05,           /* add al, 5       */
		0xe6, PORT,           /* out 0x10, al    */
		0xb8, 0x34, 0x12,     /* mov ax, 0x1234  */
		0xef,                 /* out dx, ax      */
		0xf4,                 /* hlt             */
	};
	/* expected exits: {size, value} */
	static const struct { uint8_t size; uint16_t val; } want[] = {
		{ 1, 'A' }, { 1, 'B' }, { 1, 'G' }, { 2, 0x1234 },
	};
	const unsigned nwant = sizeof(want) / sizeof(want[0]);

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		if (errno == ENOENT || errno == ENODEV || errno == ENXIO) {
			printf("kvm-smoke: SKIP: no /dev/kvm on this machine (%s)\n",
			       strerror(errno));
			return 77;
		}
		return fail("open /dev/kvm");
	}
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		printf("kvm-smoke: FAIL: KVM API version %d, want %d\n", api, KVM_API_VERSION);
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	if (vm < 0)
		return fail("KVM_CREATE_VM");

	uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem + CODE_ADDR, code, sizeof(code));

	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");

	struct kvm_regs regs = { .rip = CODE_ADDR, .rflags = 0x2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	unsigned seen = 0;
	for (int iter = 0; iter < 100; iter++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return fail("KVM_RUN");
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint16_t v = 0;
			memcpy(&v, (uint8_t *)run + run->io.data_offset, run->io.size);
			printf("kvm-smoke: exit %u: IO %s port 0x%x size %u count %u value 0x%x\n",
			       seen, run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			       run->io.port, run->io.size, run->io.count, v);
			if (seen >= nwant || run->io.direction != KVM_EXIT_IO_OUT ||
			    run->io.port != PORT || run->io.count != 1 ||
			    run->io.size != want[seen].size || v != want[seen].val) {
				printf("kvm-smoke: FAIL: unexpected IO exit #%u\n", seen);
				return 1;
			}
			seen++;
			break;
		}
		case KVM_EXIT_HLT:
			if (seen != nwant) {
				printf("kvm-smoke: FAIL: HLT after %u of %u IO exits\n", seen, nwant);
				return 1;
			}
			printf("kvm-smoke: PASS: %u IO exits then HLT (KVM API %d)\n", seen, api);
			return 0;
		case KVM_EXIT_FAIL_ENTRY:
			printf("kvm-smoke: FAIL: KVM_EXIT_FAIL_ENTRY reason 0x%llx\n",
			       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return 1;
		case KVM_EXIT_INTERNAL_ERROR:
			printf("kvm-smoke: FAIL: KVM_EXIT_INTERNAL_ERROR suberror %u\n",
			       run->internal.suberror);
			return 1;
		default:
			printf("kvm-smoke: FAIL: unexpected exit reason %u\n", run->exit_reason);
			return 1;
		}
	}
	printf("kvm-smoke: FAIL: no HLT after 100 runs\n");
	return 1;
}
