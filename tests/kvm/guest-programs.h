/* SPDX-License-Identifier: MIT */
/*
 * Tiny guest programs for the KVM tests and the benchmark, hand-assembled
 * (GNU as --32, .code16 or, for PROGRAM32 ones, .code32; the source is
 * beside each). Code runs at GUEST_CODE with CS = DS = SS = 0 (real mode)
 * or flat segments (32-bit); data sits at GUEST_DATA.
 * Each vCPU starts with BX = GUEST_COUNTERS + 4 * index, so programs
 * that count do so in a dword of their own.
 */
#ifndef MODVM_TEST_GUEST_PROGRAMS_H
#define MODVM_TEST_GUEST_PROGRAMS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define GUEST_CODE 0x1000
#define GUEST_DATA 0x1100
#define GUEST_COUNTERS 0x2000
#define GUEST_STACK 0x7000

/* Port the counting programs write each iteration. */
#define COUNTER_PORT 0x80
/* Ports nobody claims, written and read by "unclaimed". */
#define UNCLAIMED_OUT 0x99
#define UNCLAIMED_IN 0x98
/* The benchmark loop: RCX exits to BENCH_PORT, then one to BENCH_DONE. */
#define BENCH_PORT 0x80
#define BENCH_DONE 0x81

struct guest_program {
	const char *name;
	const uint8_t *code;
	size_t code_size;
	const uint8_t *data; /* may be NULL */
	size_t data_size;
	/* Runs in flat 32-bit protected mode with an empty IDT (limit 0):
	 * kvmtest-boot switches the boot vCPU so. */
	int protected_mode;
};

#define PROGRAM(n, c, d, ds) { n, c, sizeof(c), d, ds, 0 }
#define PROGRAM32(n, c) { n, c, sizeof(c), NULL, 0, 1 }

/* Where nothing is mapped: no RAM and no device (kvmtest-arch's gap). */
#define UNBACKED_GPA 0xd0000000u

/* 1: incl (%bx); outb %al, $0x80; jmp 1b */
static const uint8_t prog_counter[] = { 0x66, 0xff, 0x07, 0xe6, 0x80,
					0xeb, 0xf9 };
/* 1: incl (%bx); outb %al, $0x99; inb $0x98, %al; jmp 1b */
static const uint8_t prog_unclaimed[] = { 0x66, 0xff, 0x07, 0xe6, 0x99,
					  0xe4, 0x98, 0xeb, 0xf7 };
/* mov $0x501, %dx; mov $42, %al; out %al, (%dx); hlt */
static const uint8_t prog_debug_exit[] = { 0xba, 0x01, 0x05, 0xb0, 0x2a,
					   0xee, 0xf4 };
/* 32-bit, no IDT: ud2 -> #UD, undeliverable -> #DF -> triple fault.
 * (A real-mode triple fault is not portable: kvm-pvm delivers through
 * the IVT whatever the IDT limit says.) */
static const uint8_t prog_triple_fault[] = { 0x0f, 0x0b };
/* 32-bit: mov $0xd0000000, %eax; jmp *%eax: fetching code where no RAM
 * is cannot be emulated (KVM_EXIT_INTERNAL_ERROR, emulation). */
static const uint8_t prog_emulation_failure[] = { 0xb8, 0x00, 0x00, 0x00,
						  0xd0, 0xff, 0xe0 };
/* 32-bit, a guest that pokes where nothing is:
 * 1: incl (%ebx); mov %eax, 0xd0000000; mov 0xd0000004, %eax;
 *    outb %al, $0x99; inb $0x98, %al; jmp 1b */
static const uint8_t prog_misbehave[] = { 0xff, 0x03, 0xa3, 0x00, 0x00, 0x00,
					  0xd0, 0xa1, 0x04, 0x00, 0x00, 0xd0,
					  0xe6, 0x99, 0xe4, 0x98, 0xeb, 0xee };
/* The pvpanic handshake: read the supported events, raise "panicked"
 * if supported, then (still running) debug-exit 42:
 * mov $0x505, %dx; in (%dx), %al; and $1, %al; out %al, (%dx);
 * mov $0x501, %dx; mov $42, %al; out %al, (%dx); hlt */
static const uint8_t prog_panic[] = { 0xba, 0x05, 0x05, 0xec, 0x24, 0x01,
				      0xee, 0xba, 0x01, 0x05, 0xb0, 0x2a,
				      0xee, 0xf4 };
/* hlt */
static const uint8_t prog_hlt[] = { 0xf4 };
/* mov $0x3f8, %dx; mov $0x1100, %si; mov $3, %cx; cld; rep outsb;
 * mov $0x501, %dx; xor %al, %al; out %al, (%dx); hlt */
static const uint8_t prog_serial[] = { 0xba, 0xf8, 0x03, 0xbe, 0x00, 0x11,
				       0xb9, 0x03, 0x00, 0xfc, 0xf3, 0x6e,
				       0xba, 0x01, 0x05, 0x30, 0xc0, 0xee,
				       0xf4 };
static const uint8_t serial_text[] = { 'h', 'i', '\n' };
/* mov $0x3f8, %dx; mov $'x', %al; out %al, (%dx);
 * mov $0xfe, %al; out %al, $0x64; hlt */
static const uint8_t prog_reset[] = { 0xba, 0xf8, 0x03, 0xb0, 0x78, 0xee,
				      0xb0, 0xfe, 0xe6, 0x64, 0xf4 };
/* 1: jmp 1b */
static const uint8_t prog_spin[] = { 0xeb, 0xfe };
/* mov $0x80, %dx; 1: out %al, (%dx); dec %ecx; jnz 1b;
 * mov $0x81, %dx; out %al, (%dx); hlt */
static const uint8_t prog_bench[] = { 0xba, 0x80, 0x00, 0xee, 0x66, 0x49,
				      0x75, 0xfb, 0xba, 0x81, 0x00, 0xee,
				      0xf4 };

static const struct guest_program guest_programs[] = {
	PROGRAM("counter", prog_counter, NULL, 0),
	PROGRAM("unclaimed", prog_unclaimed, NULL, 0),
	PROGRAM("debug-exit", prog_debug_exit, NULL, 0),
	PROGRAM32("triple-fault", prog_triple_fault),
	PROGRAM32("emulation-failure", prog_emulation_failure),
	PROGRAM32("misbehave", prog_misbehave),
	PROGRAM("panic", prog_panic, NULL, 0),
	PROGRAM("hlt", prog_hlt, NULL, 0),
	PROGRAM("serial", prog_serial, serial_text, sizeof(serial_text)),
	PROGRAM("reset", prog_reset, NULL, 0),
	PROGRAM("spin", prog_spin, NULL, 0),
	PROGRAM("bench", prog_bench, NULL, 0),
};

static inline const struct guest_program *guest_program(const char *name)
{
	for (size_t i = 0; i < sizeof(guest_programs) /
				    sizeof(guest_programs[0]); i++)
		if (strcmp(guest_programs[i].name, name) == 0)
			return &guest_programs[i];
	return NULL;
}

/* Copy a program into guest RAM at its addresses; ram is guest address 0. */
static inline void guest_program_load(const struct guest_program *p,
				      uint8_t *ram)
{
	memcpy(ram + GUEST_CODE, p->code, p->code_size);
	if (p->data)
		memcpy(ram + GUEST_DATA, p->data, p->data_size);
}

#endif
