/* SPDX-License-Identifier: MIT */
/* The port-I/O/MMIO bus: claims, overlaps, lookup, unclaimed accesses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bus.h"

struct dev {
	uint64_t last_offset;
	uint32_t last_len;
	uint8_t last_write[8];
	unsigned reads, writes;
};

static void dev_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct dev *d = opaque;

	d->reads++;
	d->last_offset = offset;
	d->last_len = len;
	memset(data, 0x5a, len);
}

static void dev_write(void *opaque, uint64_t offset, const void *data,
		      uint32_t len)
{
	struct dev *d = opaque;

	d->writes++;
	d->last_offset = offset;
	d->last_len = len;
	memcpy(d->last_write, data, len);
}

static const struct modvm_io_ops dev_ops = { dev_read, dev_write };

static int setup(void **state)
{
	static struct bus bus;

	*state = &bus;
	return bus_init(&bus, "port I/O", 0x10000);
}

static int teardown(void **state)
{
	bus_free(*state);
	return 0;
}

static void test_access_reaches_owner_with_offset(void **state)
{
	struct bus *bus = *state;
	struct dev d = { 0 };
	uint8_t v = 0x41;
	uint16_t w = 0;

	assert_int_equal(bus_register(bus, 0x3f8, 8, &dev_ops, &d, "com1"), 0);
	assert_int_equal(bus_access(bus, 0x3fd, &w, 2, false), 0);
	assert_int_equal(d.reads, 1);
	assert_int_equal(d.last_offset, 5);
	assert_int_equal(d.last_len, 2);
	assert_int_equal(w, 0x5a5a);
	assert_int_equal(bus_access(bus, 0x3f8, &v, 1, true), 0);
	assert_int_equal(d.writes, 1);
	assert_int_equal(d.last_offset, 0);
	assert_int_equal(d.last_write[0], 0x41);
}

static void test_overlap_is_refused_either_side(void **state)
{
	struct bus *bus = *state;
	struct dev d = { 0 };

	assert_int_equal(bus_register(bus, 0x60, 1, &dev_ops, &d, "kbd"), 0);
	assert_int_equal(bus_register(bus, 0x64, 1, &dev_ops, &d, "kbd"), 0);
	/* Neighbours that only touch are fine. */
	assert_int_equal(bus_register(bus, 0x61, 3, &dev_ops, &d, "misc"), 0);
	assert_int_equal(bus_register(bus, 0x5f, 2, &dev_ops, &d, "x"), -EBUSY);
	assert_int_equal(bus_register(bus, 0x63, 1, &dev_ops, &d, "x"), -EBUSY);
	assert_int_equal(bus_register(bus, 0x00, 0x100, &dev_ops, &d, "x"),
			 -EBUSY);
	assert_int_equal(bus->n_ranges, 3);
}

static void test_bad_ranges_are_refused(void **state)
{
	struct bus *bus = *state;
	struct dev d = { 0 };

	assert_int_equal(bus_register(bus, 0x10, 0, &dev_ops, &d, "x"),
			 -EINVAL);
	assert_int_equal(bus_register(bus, 0xfff8, 9, &dev_ops, &d, "x"),
			 -EINVAL);
	assert_int_equal(bus_register(bus, 0xfff8, 8, &dev_ops, &d, "x"), 0);
	assert_int_equal(bus_register(bus, 0x10, 1, NULL, &d, "x"), -EINVAL);
}

static void test_unclaimed_reads_all_ones_and_counts(void **state)
{
	struct bus *bus = *state;
	uint32_t v = 0;

	assert_int_equal(bus_access(bus, 0x80, &v, 4, false), -ENOENT);
	assert_int_equal(v, 0xffffffffu);
	assert_int_equal(bus_access(bus, 0x80, &v, 1, true), -ENOENT);
	assert_int_equal(bus_access(bus, 0x81, &v, 1, true), -ENOENT);
	assert_int_equal(bus_unclaimed(bus), 3);
	assert_int_equal(bus->n_warned, 2); /* logged once per address */
}

static void test_lookup_among_many_ranges(void **state)
{
	struct bus *bus = *state;
	struct dev d = { 0 };

	/* Registered out of order; kept sorted. */
	for (unsigned i = 0; i < 200; i++) {
		uint64_t base = ((i * 7919u) % 200u) * 0x10u;

		assert_int_equal(bus_register(bus, base, 8, &dev_ops, &d, "d"),
				 0);
	}
	for (unsigned i = 1; i < bus->n_ranges; i++)
		assert_true(bus->ranges[i - 1].base < bus->ranges[i].base);
	for (uint64_t a = 0; a < 200 * 0x10; a++) {
		const struct bus_range *r = bus_find(bus, a);

		if (a % 0x10 < 8) {
			assert_non_null(r);
			assert_int_equal(r->base, a & ~0xfull);
		} else {
			assert_null(r);
		}
	}
}

static void test_sealed_bus_refuses_claims(void **state)
{
	struct bus *bus = *state;
	struct dev d = { 0 };

	bus_seal(bus);
	assert_int_equal(bus_register(bus, 0x10, 1, &dev_ops, &d, "late"),
			 -EBUSY);
}

static void test_bad_access_size(void **state)
{
	struct bus *bus = *state;
	uint8_t buf[16];

	assert_int_equal(bus_access(bus, 0x10, buf, 3, false), -EINVAL);
	assert_int_equal(bus_access(bus, 0x10, buf, 16, false), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_access_reaches_owner_with_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_overlap_is_refused_either_side, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ranges_are_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unclaimed_reads_all_ones_and_counts, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_lookup_among_many_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sealed_bus_refuses_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_access_size, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
