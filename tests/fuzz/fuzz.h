/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target shares: the libFuzzer entry points, a reader
 * that turns the input into bounded numbers, and FUZZ_CHECK, which
 * aborts (a crash libFuzzer records) when an invariant does not hold.
 * Each target is also built with replay.c into a plain program that
 * runs the corpus, so gcc and ASan builds replay it without libFuzzer.
 */
#ifndef MODVM_FUZZ_H
#define MODVM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                              \
	do {                                                               \
		if (!(cond)) {                                             \
			FILE *to_ = fuzz_report ? fuzz_report : stderr;    \
			fprintf(to_, "%s:%d: check failed: %s: ",          \
				__FILE__, __LINE__, #cond);                \
			fprintf(to_, __VA_ARGS__);                         \
			fputc('\n', to_);                                  \
			fflush(to_);                                       \
			abort();                                           \
		}                                                          \
	} while (0)

/*
 * Where FUZZ_CHECK reports: the real stderr, kept aside because the
 * targets point stderr elsewhere to check (or silence) the code's
 * messages. Set by fuzz_quiet_stderr().
 */
static FILE *fuzz_report __attribute__((unused));

/*
 * Send the code's stderr messages to /dev/null (unless FUZZ_VERBOSE is
 * set), keeping fuzz_report on the real stderr. libFuzzer and the
 * sanitizers write to fd 2 or their own copy of stderr, not through
 * the stderr variable, so they still show.
 */
static inline void fuzz_quiet_stderr(void)
{
	fuzz_report = stderr;
	if (getenv("FUZZ_VERBOSE"))
		return;
	FILE *null = fopen("/dev/null", "we");

	if (null)
		stderr = null;
}

/* The input, consumed from the front; reads past its end give 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);

	return (uint16_t)(lo | fuzz_u8(in) << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t lo = fuzz_u16(in);

	return lo | (uint32_t)fuzz_u16(in) << 16;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t lo = fuzz_u32(in);

	return lo | (uint64_t)fuzz_u32(in) << 32;
}

#endif
