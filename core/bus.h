/* SPDX-License-Identifier: MIT */
/*
 * An address space of device ranges: x86 port I/O or guest-physical
 * MMIO. Devices claim ranges; vCPU threads route their accesses here.
 *
 * Threading: ranges are registered while the machine is assembled,
 * before any vCPU runs (bus_seal() marks that point; later claims are
 * refused). From then on the range array never changes, so lookups take
 * no lock. Only the bookkeeping of unclaimed addresses is locked, and
 * only on that slow path.
 */
#ifndef MODVM_CORE_BUS_H
#define MODVM_CORE_BUS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <modvm/host.h>

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct modvm_io_ops *ops;
	void *opaque;
	char *owner; /* who claimed it, for messages */
};

struct bus {
	const char *name;  /* "port I/O" or "MMIO", for messages */
	uint64_t limit;    /* addresses are below this (0: the full 64 bits) */
	struct bus_range *ranges; /* sorted by base, never overlapping */
	unsigned n_ranges;
	atomic_bool sealed;

	atomic_uint_fast64_t unclaimed; /* accesses nobody claimed */
	pthread_mutex_t warn_lock;      /* guards warned[] */
	uint64_t *warned;               /* addresses already logged */
	unsigned n_warned;
};

/* limit: one past the highest address (0x10000 for port I/O), 0 for none. */
int bus_init(struct bus *bus, const char *name, uint64_t limit);
/* Accepts a bus that bus_init never touched, if zeroed. */
void bus_free(struct bus *bus);

/*
 * Claim [base, base + len). Refuses (-EBUSY) an overlap, naming both
 * owners, an empty or out-of-space range (-EINVAL), and any claim after
 * bus_seal() (-EBUSY). Logs the reason itself: only the bus knows the
 * other owner.
 */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct modvm_io_ops *ops, void *opaque,
		 const char *owner);
/* No more claims: from now on vCPU threads look ranges up unlocked. */
void bus_seal(struct bus *bus);

/* The range holding addr, or NULL. O(log n). */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);

/*
 * One access of len (1, 2, 4 or 8) bytes. Returns 0, or -ENOENT when
 * nobody claims addr: reads then see all ones, the access is counted,
 * and the first one at each address is logged. -EINVAL for a bad len.
 */
int bus_access(struct bus *bus, uint64_t addr, void *data, uint32_t len,
	       bool is_write);

/* Accesses to unclaimed addresses so far. */
uint64_t bus_unclaimed(const struct bus *bus);

#endif
