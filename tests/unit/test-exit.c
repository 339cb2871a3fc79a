/* SPDX-License-Identifier: MIT */
/* Exit dispatch: ownership of exit reasons and what the core does alone. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <linux/kvm.h>

#include "exit.h"

static unsigned handled;

static enum modvm_exit_action count_exit(void *state,
					 struct modvm_exit_ctx *ctx)
{
	(void)ctx;
	handled++;
	return state ? MODVM_EXIT_ERROR : MODVM_EXIT_CONTINUE;
}

static const uint32_t io_reason[] = { KVM_EXIT_IO };
static const struct modvm_exit_ops io_ops = {
	sizeof(struct modvm_exit_ops), io_reason, 1, count_exit,
};

static struct kvm_run run;

static struct modvm_exit_ctx ctx_for(uint32_t reason)
{
	struct modvm_exit_ctx ctx = { .index = 3, .run = &run };

	memset(&run, 0, sizeof(run));
	run.exit_reason = reason;
	return ctx;
}

static void test_owned_reason_goes_to_its_handler(void **state)
{
	struct exit_table t;
	struct modvm_exit_ctx ctx = ctx_for(KVM_EXIT_IO);
	bool dump;

	(void)state;
	exit_table_init(&t);
	handled = 0;
	assert_int_equal(exit_table_claim(&t, KVM_EXIT_IO, &io_ops, NULL, "io"),
			 0);
	assert_int_equal(exit_dispatch(&t, &ctx, &dump), MODVM_EXIT_CONTINUE);
	assert_int_equal(handled, 1);
	assert_false(dump);
}

static void test_second_claim_is_refused(void **state)
{
	struct exit_table t;

	(void)state;
	exit_table_init(&t);
	assert_int_equal(exit_table_claim(&t, KVM_EXIT_IO, &io_ops, NULL, "a"),
			 0);
	assert_int_equal(exit_table_claim(&t, KVM_EXIT_IO, &io_ops, NULL, "b"),
			 -EBUSY);
	assert_string_equal(t.owners[KVM_EXIT_IO].name, "a");
}

static void test_core_reasons_cannot_be_claimed(void **state)
{
	static const uint32_t core[] = { KVM_EXIT_INTR, KVM_EXIT_FAIL_ENTRY,
					 KVM_EXIT_INTERNAL_ERROR, 1000 };
	struct exit_table t;

	(void)state;
	exit_table_init(&t);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(exit_table_claim(&t, core[i], &io_ops, NULL,
						  "greedy"),
				 -EINVAL);
}

static void test_unowned_reason_stops_naming_it_and_the_vcpu(void **state)
{
	struct exit_table t;
	struct modvm_exit_ctx ctx = ctx_for(KVM_EXIT_HYPERCALL);
	bool dump;

	(void)state;
	exit_table_init(&t);
	assert_int_equal(exit_dispatch(&t, &ctx, &dump), MODVM_EXIT_ERROR);
	assert_int_equal(ctx.stop_reason, MODVM_STOP_ERROR);
	assert_non_null(strstr(ctx.message, "KVM_EXIT_HYPERCALL"));
	assert_non_null(strstr(ctx.message, "vcpu 3"));
}

static void test_fail_entry_and_internal_error_dump_registers(void **state)
{
	struct exit_table t;
	struct modvm_exit_ctx ctx = ctx_for(KVM_EXIT_FAIL_ENTRY);
	bool dump;

	(void)state;
	exit_table_init(&t);
	run.fail_entry.hardware_entry_failure_reason = 0x80000021;
	assert_int_equal(exit_dispatch(&t, &ctx, &dump), MODVM_EXIT_ERROR);
	assert_true(dump);
	assert_non_null(strstr(ctx.message, "0x80000021"));
	ctx = ctx_for(KVM_EXIT_INTERNAL_ERROR);
	run.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	assert_int_equal(exit_dispatch(&t, &ctx, &dump), MODVM_EXIT_ERROR);
	assert_true(dump);
	assert_non_null(strstr(ctx.message, "emulation"));
}

static void test_handler_error_gets_a_message(void **state)
{
	struct exit_table t;
	struct modvm_exit_ctx ctx = ctx_for(KVM_EXIT_IO);
	bool dump;

	(void)state;
	exit_table_init(&t);
	exit_table_claim(&t, KVM_EXIT_IO, &io_ops, &t, "io");
	assert_int_equal(exit_dispatch(&t, &ctx, &dump), MODVM_EXIT_ERROR);
	assert_int_equal(ctx.status, 1);
	assert_non_null(strstr(ctx.message, "io failed on KVM_EXIT_IO"));
}

static void test_every_known_reason_has_a_name(void **state)
{
	(void)state;
	assert_string_equal(exit_reason_name(KVM_EXIT_IO), "KVM_EXIT_IO");
	assert_string_equal(exit_reason_name(KVM_EXIT_SHUTDOWN),
			    "KVM_EXIT_SHUTDOWN");
	for (uint32_t r = 0; r <= KVM_EXIT_NOTIFY; r++)
		assert_non_null(strstr(exit_reason_name(r), "KVM_EXIT_"));
	assert_null(strstr(exit_reason_name(63), "KVM_EXIT_"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owned_reason_goes_to_its_handler),
		cmocka_unit_test(test_second_claim_is_refused),
		cmocka_unit_test(test_core_reasons_cannot_be_claimed),
		cmocka_unit_test(test_unowned_reason_stops_naming_it_and_the_vcpu),
		cmocka_unit_test(test_fail_entry_and_internal_error_dump_registers),
		cmocka_unit_test(test_handler_error_gets_a_message),
		cmocka_unit_test(test_every_known_reason_has_a_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
