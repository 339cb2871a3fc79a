/* SPDX-License-Identifier: MIT */
/*
 * machine_run end to end on real KVM, with the in-tree exit and device
 * plugins: each way a guest can end maps to its documented exit status
 * and message.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "guest-programs.h"
#include "kvmtest.h"

struct result {
	int status;
	struct vm_stop stop;
	char out[256];  /* what the guest printed on stdout */
	char err[4096]; /* what modvm logged on stderr */
	uint64_t pio_unclaimed, mmio_unclaimed;
	uint64_t exits; /* KVM exits handled, all vCPUs */
};

/* A guest that should end by itself but does not gets SIGTERM after
 * this long, so the test fails instead of hanging. */
#define WATCHDOG_S 30

/* Sends signo to the process once stdout holds `after` bytes and the
 * guest had delay_ms to get going; as a watchdog, only after WATCHDOG_S
 * unless the run ended (done) first. */
struct killer {
	pthread_t thread;
	int fd;
	off_t after;
	int signo;
	unsigned delay_ms;
	bool watchdog;
	atomic_bool done;
};

static void *killer_thread(void *arg)
{
	struct killer *k = arg;
	double end = kt_now() + (k->watchdog ? WATCHDOG_S : 60);
	struct stat st;

	kt_sleep_ms(k->delay_ms);
	while (!atomic_load(&k->done) && kt_now() < end) {
		if (!k->watchdog && fstat(k->fd, &st) == 0 &&
		    st.st_size >= k->after)
			break;
		kt_sleep_ms(5);
	}
	if (atomic_load(&k->done))
		return NULL;
	if (k->watchdog)
		fprintf(stderr, "watchdog: the guest did not end within %d s; "
				"sending SIGTERM\n",
			WATCHDOG_S);
	kill(getpid(), k->signo);
	return NULL;
}

/* How a run ends when the guest does not end it itself. */
struct ending {
	off_t after;       /* < 0: no signal */
	int signo;         /* default SIGTERM */
	unsigned delay_ms; /* default 100 */
};

static void read_back(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Run a machine: program on kvmtest-arch, extra sections appended, and
 * end it as e says. The guest's stdout and modvm's stderr are kept. */
static void run_machine(const char *program, const char *machine_keys,
			const char *extra, const struct ending *e,
			struct result *r)
{
	char ini[1024];
	struct machine *m;
	struct killer k = { 0 };
	sigset_t stop, saved;
	int saved_stdout, saved_stderr, err_fd;
	bool kill = e && e->after >= 0;

	snprintf(ini, sizeof(ini),
		 "[machine]\nmemory = 16M\n%s[arch]\nplugin = kvmtest-arch\n"
		 "[boot]\nplugin = kvmtest-boot\nprogram = %s\n%s",
		 machine_keys, program, extra);
	m = kt_load(ini);
	memset(r, 0, sizeof(*r));

	k.fd = memfd_create("guest-stdout", MFD_CLOEXEC);
	err_fd = memfd_create("modvm-stderr", MFD_CLOEXEC);
	assert_true(k.fd >= 0 && err_fd >= 0);
	fflush(stdout);
	fflush(stderr);
	saved_stdout = dup(STDOUT_FILENO);
	saved_stderr = dup(STDERR_FILENO);
	dup2(k.fd, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	/* Blocked here already, so the signal cannot end the test before
	 * machine_run blocks it and reads it from its signalfd. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, &saved);
	k.watchdog = !kill;
	k.after = kill ? e->after : 0;
	k.signo = kill && e->signo ? e->signo : SIGTERM;
	k.delay_ms = kill && e->delay_ms ? e->delay_ms : 100;
	atomic_init(&k.done, false);
	assert_int_equal(pthread_create(&k.thread, NULL, killer_thread, &k), 0);

	r->status = machine_run(m);

	atomic_store(&k.done, true);
	pthread_join(k.thread, NULL);
	/* Nothing may stay pending for the test process itself. */
	while (sigtimedwait(&stop, NULL, &(struct timespec){ 0, 0 }) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	fflush(stderr);
	dup2(saved_stdout, STDOUT_FILENO);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stdout);
	close(saved_stderr);
	read_back(k.fd, r->out, sizeof(r->out));
	read_back(err_fd, r->err, sizeof(r->err));
	fputs(r->err, stderr);
	if (m->vm) {
		vm_stop_get(m->vm, &r->stop);
		r->pio_unclaimed = bus_unclaimed(&m->vm->pio);
		r->mmio_unclaimed = bus_unclaimed(&m->vm->mmio);
	}
	kt_free(m);
}

/* Run with SIGTERM once stdout holds kill_after bytes (< 0: never). */
static void run(const char *program, const char *extra, off_t kill_after,
		struct result *r)
{
	struct ending e = { .after = kill_after };

	run_machine(program, "", extra, &e, r);
}

/* Lines of text that contain needle. */
static unsigned count_lines(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++) {
		n++;
		p = strchr(p, '\n');
		if (!p)
			break;
	}
	return n;
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

#define PVPANIC "[device \"pvpanic\"]\nplugin = pvpanic\n"

static void test_pvpanic_stops_with_status_1(void **state)
{
	struct result r;

	(void)state;
	run("panic", IO DEBUG_EXIT PVPANIC, -1, &r);
	assert_int_equal(r.status, 1);
	assert_int_equal(r.stop.reason, MODVM_STOP_ERROR);
	assert_non_null(strstr(r.stop.message, "guest kernel panicked"));
}

static void test_pvpanic_on_panic_log_lets_the_guest_go_on(void **state)
{
	struct result r;

	(void)state;
	run("panic", IO DEBUG_EXIT PVPANIC "on-panic = log\n", -1, &r);
	assert_int_equal(r.status, 42);
	assert_int_equal(r.stop.reason, MODVM_STOP_GUEST_STATUS);
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
	struct ending e = { .after = 3 };
	struct result r;

	(void)state;
	/* Each boot prints one 'x' then resets; three boots, then SIGTERM. */

	run_machine("reset", "on-reset = restart\n", IO COM1 I8042, &e, &r);
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

static void test_emulation_failure_stops_with_status_1(void **state)
{
	struct result r;

	(void)state;
	run("emulation-failure", IO SHUTDOWN, -1, &r);
	assert_int_equal(r.status, 1);
	assert_int_equal(r.stop.reason, MODVM_STOP_ERROR);
	assert_non_null(strstr(r.stop.message, "vcpu 0: KVM_EXIT_INTERNAL_ERROR: "
					       "instruction emulation failed"));
	/* The registers explain where: the guest jumped to UNBACKED_GPA. */
	assert_non_null(strstr(r.err, "registers of vcpu 0"));
	assert_non_null(strstr(r.err, "rip 0xd0000000"));
}

static void test_guest_hammering_unclaimed_ports_and_mmio_keeps_running(
	void **state)
{
	struct ending e = { .after = 0, .delay_ms = 500 };
	struct result r;

	(void)state;
	run_machine("misbehave", "", IO, &e, &r);
	/* Only the signal ended it: never fatal. */
	assert_int_equal(r.status, 128 + SIGTERM);
	assert_string_equal(r.stop.message, "received SIGTERM");
	printf("# misbehaving guest: %llu unclaimed port and %llu unclaimed "
	       "MMIO accesses in 0.5 s\n",
	       (unsigned long long)r.pio_unclaimed,
	       (unsigned long long)r.mmio_unclaimed);
	assert_true(r.pio_unclaimed >= 20);
	assert_true(r.mmio_unclaimed >= 20);
	/* Counted always, logged once per address. */
	assert_int_equal(count_lines(r.err, "unclaimed port I/O write of 1 "
					    "byte at 0x99"), 1);
	assert_int_equal(count_lines(r.err, "unclaimed port I/O read of 1 "
					    "byte at 0x98"), 1);
	assert_int_equal(count_lines(r.err, "unclaimed MMIO write of 4 bytes "
					    "at 0xd0000000"), 1);
	assert_int_equal(count_lines(r.err, "unclaimed MMIO read of 4 bytes "
					    "at 0xd0000004"), 1);
}

static void test_sigint_status_is_128_plus_signo(void **state)
{
	struct ending e = { .after = 0, .signo = SIGINT };
	struct result r;

	(void)state;
	run_machine("spin", "", IO "[smp]\ncpus = 2\n", &e, &r);
	assert_int_equal(r.status, 130);
	assert_string_equal(r.stop.message, "received SIGINT");
}

static void test_debug_exit_keeps_the_console_output_before_it(void **state)
{
	struct result r;

	(void)state;
	/* "serial" prints with rep outsb and writes debug-exit at once. */
	for (int i = 0; i < 10; i++) {
		run("serial", IO DEBUG_EXIT COM1, -1, &r);
		assert_int_equal(r.status, 0);
		assert_string_equal(r.out, "hi\n");
	}
}

/* A whole run, reset and restart and a serial reader thread included,
 * leaves no fd and no thread behind, the kernel's KVM worker included. */
static void test_a_run_leaves_no_fd_and_no_thread(void **state)
{
	struct ending e = { .after = 2 };
	unsigned fds, threads;
	struct result r;
	int in[2], saved_stdin;

	(void)state;
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	saved_stdin = dup(STDIN_FILENO);
	dup2(in[0], STDIN_FILENO);
	fds = kt_fds();
	threads = kt_all_threads();
	run_machine("reset", "on-reset = restart\n",
		    IO I8042 "[device \"com1\"]\nplugin = serial-8250\n"
			     "[smp]\ncpus = 2\n",
		    &e, &r);
	assert_int_equal(r.status, 128 + SIGTERM);
	assert_true(strlen(r.out) >= 2);
	assert_int_equal(kt_fds(), fds);
	assert_int_equal(kt_all_threads(), threads);
	dup2(saved_stdin, STDIN_FILENO);
	close(saved_stdin);
	close(in[0]);
	close(in[1]);
}

/* ---- the modvm binary, as a user runs it ---- */

struct child {
	int status; /* from waitpid */
	char out[256];
	char err[4096];
};

/* modvm's stdout in run_modvm. */
enum out_mode {
	OUT_PIPE,    /* a pipe read after modvm exits */
	OUT_CLOSED,  /* a pipe nobody reads any more */
	OUT_STALLED, /* a full non-blocking pipe, read only after 1.5 s */
};

/* Read a pipe to its end; keep what follows the filler bytes 'f'. */
static void drain_pipe(int fd, char *buf, size_t size)
{
	char chunk[4096];
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		for (ssize_t i = 0; i < n; i++)
			if (chunk[i] != 'f' && len < size - 1)
				buf[len++] = chunk[i];
	buf[len] = '\0';
}

/* Run `modvm VM.ini` on program; signo (0: none) after delay_ms. */
static void run_modvm(const char *program, const char *extra, int signo,
		      unsigned delay_ms, enum out_mode mode, struct child *c)
{
	const char *bin = getenv("MODVM_BIN");
	char ini[1024], *path;
	int err_fd, out[2];
	double end;
	pid_t pid;

	if (!bin) {
		printf("# MODVM_BIN not set: cannot run the modvm binary\n");
		skip();
	}
	memset(c, 0, sizeof(*c));
	snprintf(ini, sizeof(ini),
		 "[machine]\nmemory = 16M\n[arch]\nplugin = kvmtest-arch\n"
		 "[boot]\nplugin = kvmtest-boot\nprogram = %s\n%s",
		 program, extra);
	path = write_temp("vm.ini", ini);
	assert_non_null(path);
	err_fd = memfd_create("modvm-stderr", MFD_CLOEXEC);
	assert_true(err_fd >= 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	if (mode == OUT_CLOSED)
		close(out[0]);
	if (mode == OUT_STALLED) {
		/* O_NONBLOCK is on the open file, so modvm gets it too. */
		fcntl(out[1], F_SETFL, O_NONBLOCK);
		while (write(out[1], "ffffffffffffffff", 16) > 0)
			;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sigset_t none;

		/* The test's own mask must not leak into modvm. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(out[1], STDOUT_FILENO);
		dup2(err_fd, STDERR_FILENO);
		execl(bin, "modvm", path, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	if (signo) {
		kt_sleep_ms(delay_ms);
		kill(pid, signo);
	}
	if (mode == OUT_STALLED)
		kt_sleep_ms(1500);
	if (mode != OUT_CLOSED) {
		/* Until modvm exits and so closes its end. */
		drain_pipe(out[0], c->out, sizeof(c->out));
		close(out[0]);
	}
	end = kt_now() + 60;
	while (waitpid(pid, &c->status, WNOHANG) == 0) {
		if (kt_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &c->status, 0);
			fail_msg("modvm %s did not end within 60 s", program);
		}
		kt_sleep_ms(5);
	}
	read_back(err_fd, c->err, sizeof(c->err));
	fputs(c->err, stderr);
	remove_temp(path);
}

static void test_modvm_exits_143_on_sigterm(void **state)
{
	struct child c;

	(void)state;
	run_modvm("spin", IO "[smp]\ncpus = 2\n", SIGTERM, 300, OUT_PIPE, &c);
	assert_true(WIFEXITED(c.status));
	assert_int_equal(WEXITSTATUS(c.status), 143);
	assert_non_null(strstr(c.err, "stopping: received SIGTERM"));
}

static void test_modvm_exits_130_on_sigint(void **state)
{
	struct child c;

	(void)state;
	run_modvm("spin", IO "[smp]\ncpus = 2\n", SIGINT, 300, OUT_PIPE, &c);
	assert_true(WIFEXITED(c.status));
	assert_int_equal(WEXITSTATUS(c.status), 130);
	assert_non_null(strstr(c.err, "stopping: received SIGINT"));
}

static void test_modvm_ignores_sigpipe_on_the_console(void **state)
{
	struct child c;

	(void)state;
	/* The guest prints to a console nobody reads, then exits 0. */
	run_modvm("serial", IO DEBUG_EXIT COM1, 0, 0, OUT_CLOSED, &c);
	assert_false(WIFSIGNALED(c.status));
	assert_true(WIFEXITED(c.status));
	assert_int_equal(WEXITSTATUS(c.status), 0);
	assert_non_null(strstr(c.err, "stdout was closed"));
}

static void test_modvm_reset_stops_with_status_0_and_says_so(void **state)
{
	struct child c;

	(void)state;
	run_modvm("reset", IO COM1 I8042, 0, 0, OUT_PIPE, &c);
	assert_true(WIFEXITED(c.status));
	assert_int_equal(WEXITSTATUS(c.status), 0);
	assert_non_null(strstr(c.err, "guest reset"));
	assert_string_equal(c.out, "x");
}

/* A console that stalls (a full non-blocking pipe) loses nothing the
 * guest printed before its debug-exit write, and modvm still stops. */
static void test_modvm_waits_for_a_stalled_console(void **state)
{
	struct child c;

	(void)state;
	run_modvm("serial", IO DEBUG_EXIT COM1, 0, 0, OUT_STALLED, &c);
	assert_true(WIFEXITED(c.status));
	assert_int_equal(WEXITSTATUS(c.status), 0);
	assert_string_equal(c.out, "hi\n");
}

static void test_triple_fault_as_reset_stops_or_restarts(void **state)
{
	struct ending e = { .after = 0, .delay_ms = 300 };
	struct result r;

	(void)state;
	run("triple-fault", IO SHUTDOWN "triple-fault = reset\n", -1, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.stop.reason, MODVM_STOP_RESET);
	assert_non_null(strstr(r.err, "guest reset: guest triple fault"));

	run_machine("triple-fault", "on-reset = restart\n",
		    IO SHUTDOWN "triple-fault = reset\n", &e, &r);
	assert_int_equal(r.status, 128 + SIGTERM);
	assert_true(count_lines(r.err, "restarting ([machine] on-reset = "
				       "restart): guest triple fault") >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debug_exit_write_is_the_exit_status),
		cmocka_unit_test(test_pvpanic_stops_with_status_1),
		cmocka_unit_test(test_pvpanic_on_panic_log_lets_the_guest_go_on),
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
		cmocka_unit_test(test_emulation_failure_stops_with_status_1),
		cmocka_unit_test(test_triple_fault_as_reset_stops_or_restarts),
		cmocka_unit_test(
			test_guest_hammering_unclaimed_ports_and_mmio_keeps_running),
		cmocka_unit_test(test_sigint_status_is_128_plus_signo),
		cmocka_unit_test(
			test_debug_exit_keeps_the_console_output_before_it),
		cmocka_unit_test(test_a_run_leaves_no_fd_and_no_thread),
		cmocka_unit_test(test_modvm_exits_143_on_sigterm),
		cmocka_unit_test(test_modvm_exits_130_on_sigint),
		cmocka_unit_test(test_modvm_ignores_sigpipe_on_the_console),
		cmocka_unit_test(
			test_modvm_reset_stops_with_status_0_and_says_so),
		cmocka_unit_test(test_modvm_waits_for_a_stalled_console),
	};

	kt_require_kvm("test-run");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
