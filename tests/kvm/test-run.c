/* SPDX-License-Identifier: MIT */
/*
 * machine_run end to end on real KVM, with the in-tree exit and device
 * plugins: each way a guest can end maps to its documented exit status
 * and message.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "guest-programs.h"
#include "kvmtest.h"

struct result {
	int status;
	struct vm_stop stop;
	char out[256]; /* what the guest printed on stdout */
};

/* Sends SIGTERM to the process once stdout holds `after` bytes and the
 * guest had 100 ms to get going. */
struct killer {
	pthread_t thread;
	int fd;
	off_t after;
};

static void *killer_thread(void *arg)
{
	const struct killer *k = arg;
	double end = kt_now() + 60;
	struct stat st;

	kt_sleep_ms(100);
	while (kt_now() < end) {
		if (fstat(k->fd, &st) == 0 && st.st_size >= k->after)
			break;
		kt_sleep_ms(5);
	}
	kill(getpid(), SIGTERM);
	return NULL;
}

static void run_machine(const char *program, const char *machine_keys,
			const char *extra, off_t kill_after, struct result *r);

/* Run a machine: program on kvmtest-arch, extra sections appended. With
 * kill_after >= 0, SIGTERM arrives once the guest printed that much. */
static void run(const char *program, const char *extra, off_t kill_after,
		struct result *r)
{
	run_machine(program, "", extra, kill_after, r);
}

static void run_machine(const char *program, const char *machine_keys,
			const char *extra, off_t kill_after, struct result *r)
{
	char ini[1024];
	struct machine *m;
	struct killer k = { 0 };
	sigset_t term, saved;
	int saved_stdout;
	ssize_t n;

	snprintf(ini, sizeof(ini),
		 "[machine]\nmemory = 16M\n%s[arch]\nplugin = kvmtest-arch\n"
		 "[boot]\nplugin = kvmtest-boot\nprogram = %s\n%s",
		 machine_keys, program, extra);
	m = kt_load(ini);
	memset(r, 0, sizeof(*r));

	k.fd = memfd_create("guest-stdout", MFD_CLOEXEC);
	assert_true(k.fd >= 0);
	fflush(stdout);
	saved_stdout = dup(STDOUT_FILENO);
	dup2(k.fd, STDOUT_FILENO);
	/* Blocked here already, so the SIGTERM cannot end the test before
	 * machine_run blocks it and reads it from its signalfd. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, &saved);
	if (kill_after >= 0) {
		k.after = kill_after;
		assert_int_equal(pthread_create(&k.thread, NULL, killer_thread,
						&k),
				 0);
	}

	r->status = machine_run(m);

	if (kill_after >= 0)
		pthread_join(k.thread, NULL);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	dup2(saved_stdout, STDOUT_FILENO);
	close(saved_stdout);
	n = pread(k.fd, r->out, sizeof(r->out) - 1, 0);
	r->out[n > 0 ? n : 0] = '\0';
	close(k.fd);
	if (m->vm)
		vm_stop_get(m->vm, &r->stop);
	kt_free(m);
}

#define IO "[exit \"io\"]\nplugin = exit-io\n"
#define SHUTDOWN "[exit \"shutdown\"]\nplugin = exit-shutdown\n"
#define HALT "[exit \"halt\"]\nplugin = exit-halt\n"
#define DEBUG_EXIT "[device \"debug\"]\nplugin = debug-exit\n"
#define COM1 "[device \"com1\"]\nplugin = serial-8250\ninput = false\n"
#define I8042 "[device \"kbc\"]\nplugin = i8042\n"

static void test_debug_exit_write_is_the_exit_status(void **state)
{
	struct result r;

	(void)state;
	run("debug-exit", IO DEBUG_EXIT, -1, &r);
	assert_int_equal(r.status, 42);
	assert_int_equal(r.stop.reason, MODVM_STOP_GUEST_STATUS);
	assert_non_null(strstr(r.stop.message, "debug-exit"));
}

static void test_triple_fault_stops_with_status_1(void **state)
{
	struct result r;

	(void)state;
	run("triple-fault", IO SHUTDOWN, -1, &r);
	assert_int_equal(r.status, 1);
	assert_int_equal(r.stop.reason, MODVM_STOP_ERROR);
	assert_string_equal(r.stop.message,
			    "guest triple fault (KVM_EXIT_SHUTDOWN) on vcpu 0");
}

static void test_unhandled_exit_reason_stops_naming_it(void **state)
{
	struct result r;

	(void)state;
	run("debug-exit", DEBUG_EXIT, -1, &r); /* no exit-io: IO is unowned */
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.stop.message, "unhandled KVM_EXIT_IO"));
	assert_non_null(strstr(r.stop.message, "vcpu 0"));
}

static void test_hlt_without_irqchip_powers_off(void **state)
{
	struct result r;

	(void)state;
	run("hlt", HALT, -1, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.stop.reason, MODVM_STOP_POWEROFF);
	assert_non_null(strstr(r.stop.message, "KVM_EXIT_HLT"));
}

static void test_serial_string_io_reaches_stdout(void **state)
{
	struct result r;

	(void)state;
	run("serial", IO DEBUG_EXIT COM1, -1, &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "hi\n");
}

static void test_keyboard_controller_reset_stops_by_default(void **state)
{
	struct result r;

	(void)state;
	run("reset", IO COM1 I8042, -1, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.stop.reason, MODVM_STOP_RESET);
	assert_non_null(strstr(r.stop.message, "keyboard controller"));
	assert_string_equal(r.out, "x");
}

static void test_reset_restarts_until_sigterm(void **state)
{
	struct result r;

	(void)state;
	/* Each boot prints one 'x' then resets; three boots, then SIGTERM. */
	run_machine("reset", "on-reset = restart\n", IO COM1 I8042, 3, &r);
	assert_int_equal(r.status, 128 + SIGTERM);
	assert_int_equal(r.stop.reason, MODVM_STOP_SIGNAL);
	assert_true(strlen(r.out) >= 3);
	assert_int_equal(strspn(r.out, "x"), strlen(r.out));
}

static void test_sigterm_status_is_128_plus_signo(void **state)
{
	struct result r;

	(void)state;
	run("spin", IO "[smp]\ncpus = 2\n", 0, &r);
	assert_int_equal(r.status, 143);
	assert_string_equal(r.stop.message, "received SIGTERM");
}

static void test_affinity_beyond_online_cpus_is_a_config_error(void **state)
{
	struct result r;

	(void)state;
	run("spin", IO "[vcpu]\naffinity = 0,4095\n", -1, &r);
	assert_int_equal(r.status, 2);
}

static void test_affinity_pins_vcpus(void **state)
{
	struct result r;

	(void)state;
	run("debug-exit", IO DEBUG_EXIT "[vcpu]\naffinity = 0\n", -1, &r);
	assert_int_equal(r.status, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debug_exit_write_is_the_exit_status),
		cmocka_unit_test(test_triple_fault_stops_with_status_1),
		cmocka_unit_test(test_unhandled_exit_reason_stops_naming_it),
		cmocka_unit_test(test_hlt_without_irqchip_powers_off),
		cmocka_unit_test(test_serial_string_io_reaches_stdout),
		cmocka_unit_test(
			test_keyboard_controller_reset_stops_by_default),
		cmocka_unit_test(test_reset_restarts_until_sigterm),
		cmocka_unit_test(test_sigterm_status_is_128_plus_signo),
		cmocka_unit_test(
			test_affinity_beyond_online_cpus_is_a_config_error),
		cmocka_unit_test(test_affinity_pins_vcpus),
	};

	kt_require_kvm("test-run");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
