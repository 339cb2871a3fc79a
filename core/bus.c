/* SPDX-License-Identifier: MIT */
/*
 * Port-I/O and MMIO address spaces. A sorted array and a binary search:
 * a PC has a few dozen ranges, so this beats a tree on every count, and
 * it is immutable while vCPUs run (see bus.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "log.h"

/* Distinct unclaimed addresses logged one by one before we go quiet. */
#define WARN_MAX 64

int bus_init(struct bus *bus, const char *name, uint64_t limit)
{
	int ret;

	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	bus->limit = limit;
	atomic_init(&bus->sealed, false);
	atomic_init(&bus->unclaimed, 0);
	ret = pthread_mutex_init(&bus->warn_lock, NULL);
	if (ret)
		return -ret;
	return 0;
}

void bus_free(struct bus *bus)
{
	if (!bus || !bus->name)
		return;
	for (unsigned i = 0; i < bus->n_ranges; i++)
		free(bus->ranges[i].owner);
	free(bus->ranges);
	free(bus->warned);
	pthread_mutex_destroy(&bus->warn_lock);
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first range whose base is above addr (0..n). */
static unsigned upper_bound(const struct bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->n_ranges;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	unsigned i = upper_bound(bus, addr);
	const struct bus_range *r;

	if (i == 0)
		return NULL;
	r = &bus->ranges[i - 1];
	return addr - r->base < r->len ? r : NULL;
}

static void log_overlap(const struct bus *bus, uint64_t base, uint64_t len,
			const char *owner, const struct bus_range *other)
{
	log_error("%s: %s [%#llx-%#llx] overlaps [%#llx-%#llx] claimed by "
		  "%s; move one of them (each address has one owner)",
		  owner, bus->name, (unsigned long long)base,
		  (unsigned long long)(base + len - 1),
		  (unsigned long long)other->base,
		  (unsigned long long)(other->base + other->len - 1),
		  other->owner);
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct modvm_io_ops *ops, void *opaque,
		 const char *owner)
{
	struct bus_range *grown;
	unsigned at;
	char *name;

	if (atomic_load(&bus->sealed)) {
		log_error("%s: cannot claim %s %#llx once vCPUs run; claim "
			  "ranges in realize",
			  owner, bus->name, (unsigned long long)base);
		return -EBUSY;
	}
	if (len == 0 || base + len - 1 < base ||
	    (bus->limit && base + len > bus->limit) || !ops) {
		log_error("%s: invalid %s range [%#llx, +%#llx)%s", owner,
			  bus->name, (unsigned long long)base,
			  (unsigned long long)len,
			  ops ? "" : " without handlers");
		return -EINVAL;
	}
	/* Neighbours in sort order are the only candidates for overlap. */
	at = upper_bound(bus, base);
	if (at > 0 && base - bus->ranges[at - 1].base <
			      bus->ranges[at - 1].len) {
		log_overlap(bus, base, len, owner, &bus->ranges[at - 1]);
		return -EBUSY;
	}
	if (at < bus->n_ranges && bus->ranges[at].base - base < len) {
		log_overlap(bus, base, len, owner, &bus->ranges[at]);
		return -EBUSY;
	}

	name = strdup(owner);
	if (!name)
		return -ENOMEM;
	grown = realloc(bus->ranges, (bus->n_ranges + 1) * sizeof(*grown));
	if (!grown) {
		free(name);
		return -ENOMEM;
	}
	bus->ranges = grown;
	memmove(&grown[at + 1], &grown[at],
		(bus->n_ranges - at) * sizeof(*grown));
	grown[at] = (struct bus_range){ .base = base, .len = len, .ops = ops,
					.opaque = opaque, .owner = name };
	bus->n_ranges++;
	return 0;
}

void bus_seal(struct bus *bus)
{
	atomic_store(&bus->sealed, true);
}

/* Log the first access at each unclaimed address; later ones only count. */
static void note_unclaimed(struct bus *bus, uint64_t addr, uint32_t len,
			   bool is_write)
{
	bool first = true;
	unsigned n;

	atomic_fetch_add_explicit(&bus->unclaimed, 1, memory_order_relaxed);
	pthread_mutex_lock(&bus->warn_lock);
	/* n_warned goes one past WARN_MAX once the "no longer" line is out. */
	n = bus->n_warned < WARN_MAX ? bus->n_warned : WARN_MAX;
	for (unsigned i = 0; i < n && first; i++)
		first = bus->warned[i] != addr;
	if (first && bus->n_warned < WARN_MAX) {
		if (!bus->warned)
			bus->warned = calloc(WARN_MAX, sizeof(*bus->warned));
		if (bus->warned)
			bus->warned[bus->n_warned++] = addr;
		log_warn("unclaimed %s %s of %u byte%s at %#llx: %s (further "
			 "accesses there are only counted)",
			 bus->name, is_write ? "write" : "read", len,
			 len == 1 ? "" : "s", (unsigned long long)addr,
			 is_write ? "ignored" : "reads as all ones");
	} else if (first && bus->n_warned == WARN_MAX) {
		bus->n_warned++;
		log_warn("more than %d unclaimed %s addresses; no longer "
			 "logging each",
			 WARN_MAX, bus->name);
	}
	pthread_mutex_unlock(&bus->warn_lock);
}

int bus_access(struct bus *bus, uint64_t addr, void *data, uint32_t len,
	       bool is_write)
{
	const struct bus_range *r;

	if (len == 0 || len > 8 || (len & (len - 1)))
		return -EINVAL;
	r = bus_find(bus, addr);
	if (!r) {
		if (!is_write)
			memset(data, 0xff, len);
		note_unclaimed(bus, addr, len, is_write);
		return -ENOENT;
	}
	if (is_write) {
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, data, len);
	} else if (r->ops->read) {
		r->ops->read(r->opaque, addr - r->base, data, len);
	} else {
		memset(data, 0xff, len);
	}
	return 0;
}

uint64_t bus_unclaimed(const struct bus *bus)
{
	return atomic_load_explicit(&bus->unclaimed, memory_order_relaxed);
}
