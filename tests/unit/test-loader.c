/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader: search order, file vetting and descriptor checks,
 * each refusal with its own message. Test plugins are copied into a
 * private 0700 folder so the permission checks see what the test set.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "log.h"
#include "plugin.h"
#include "helpers.h"

struct fixture {
	char dir[64];
	struct plugin_path pp;
};

static void copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	assert_true(in >= 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
	assert_int_equal(chmod(to, mode), 0);
}

/* Copy test plugin NAME.so from the build tree into the fixture folder. */
static char *install(struct fixture *f, const char *name, const char *as,
		     mode_t mode)
{
	const char *src_dir = getenv("MODVM_TEST_PLUGIN_DIR");
	char *from, *to;

	assert_non_null(src_dir);
	assert_true(asprintf(&from, "%s/%s.so", src_dir, name) > 0);
	assert_true(asprintf(&to, "%s/%s.so", f->dir, as ? as : name) > 0);
	copy_file(from, to, mode);
	free(from);
	return to;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/modvm-loader-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->pp.dirs = calloc(1, sizeof(char *));
	f->pp.dirs[0] = strdup(f->dir);
	f->pp.n = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd;

	chmod(f->dir, 0700);
	if (asprintf(&cmd, "rm -rf '%s'", f->dir) > 0) {
		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
	plugin_path_free(&f->pp);
	free(f);
	return 0;
}

struct open_args {
	struct fixture *f;
	const char *name;
	uint32_t kind;
	struct modvm_plugin *p;
};

static int do_open(void *opaque)
{
	struct open_args *a = opaque;

	return plugin_open(&a->p, a->name, a->kind, &a->f->pp, "vm.ini:3: [device \"x\"]");
}

/* Open name as kind; assert it fails with an error containing want. */
static void expect_refusal(struct fixture *f, const char *name, uint32_t kind,
			   const char *want)
{
	struct open_args a = { f, name, kind, NULL };
	int ret;
	char *err = capture_stderr(do_open, &a, &ret);

	if (ret == 0 || !err || !strstr(err, want))
		fail_msg("%s: ret %d, stderr '%s', want '%s'", name, ret,
			 err ? err : "", want);
	/* One line, starting with where the plugin was named. */
	assert_non_null(strstr(err, "vm.ini:3: [device \"x\"]: "));
	assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1);
	assert_null(a.p);
	free(err);
}

static void test_good_plugin_loads_and_inits(void **state)
{
	struct fixture *f = *state;
	struct open_args a = { f, "test-good", MODVM_PLUGIN_DEVICE, NULL };
	int ret;
	char *err;

	free(install(f, "test-good", NULL, 0644));
	err = capture_stderr(do_open, &a, &ret);
	assert_int_equal(ret, 0);
	free(err);
	assert_string_equal(a.p->name, "test-good");
	assert_int_equal(a.p->desc->kind, MODVM_PLUGIN_DEVICE);
	plugin_close(a.p);
}

static void test_absolute_path_loads_without_search(void **state)
{
	struct fixture *f = *state;
	char *path = install(f, "test-good", "elsewhere", 0644);
	struct plugin_path empty = { 0 };
	struct modvm_plugin *p;

	assert_int_equal(plugin_open(&p, path, 0, &empty, NULL), 0);
	assert_string_equal(p->desc->name, "test-good");
	plugin_close(p);
	free(path);
}

static void test_first_directory_in_path_wins(void **state)
{
	struct fixture *f = *state;
	char second[] = "/tmp/modvm-loader2-XXXXXX", *decoy, *cmd;
	char *dirs[2] = { f->dir, second };
	struct plugin_path pp = { dirs, 2 };
	struct modvm_plugin *p;

	/* The later folder holds an empty file of the same name: loading
	 * it would fail, so success proves the first folder won. */
	assert_non_null(mkdtemp(second));
	free(install(f, "test-good", NULL, 0644));
	assert_true(asprintf(&decoy, "%s/test-good.so", second) > 0);
	copy_file("/dev/null", decoy, 0644);
	assert_int_equal(plugin_open(&p, "test-good", 0, &pp, NULL), 0);
	assert_non_null(strstr(p->path, f->dir));
	plugin_close(p);
	assert_true(asprintf(&cmd, "rm -rf '%s'", second) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(decoy);
}

static void test_missing_plugin_lists_the_directories(void **state)
{
	struct fixture *f = *state;
	char want[128];

	snprintf(want, sizeof(want), "plugin 'nothere' not found; searched %s",
		 f->dir);
	expect_refusal(f, "nothere", 0, want);
}

static void test_name_with_a_slash_is_not_a_name(void **state)
{
	expect_refusal(*state, "../evil", 0, "'../evil' is not a plugin name");
}

static void test_other_abi_major_is_refused(void **state)
{
	struct fixture *f = *state;

	free(install(f, "test-abi-major", NULL, 0644));
	expect_refusal(f, "test-abi-major", 0,
		       "built for ABI 99.0, this modvm speaks 1.0");
}

static void test_newer_abi_minor_is_refused(void **state)
{
	struct fixture *f = *state;

	free(install(f, "test-abi-minor", NULL, 0644));
	expect_refusal(f, "test-abi-minor", 0,
		       "built for ABI 1.999, newer than this modvm's 1.0");
}

static void test_missing_descriptor_is_not_a_plugin(void **state)
{
	struct fixture *f = *state;

	free(install(f, "test-hidden", NULL, 0644));
	expect_refusal(f, "test-hidden", 0,
		       "not a modvm plugin (it exports no modvm_plugin_descriptor)");
}

static void test_ordinary_library_is_not_a_plugin(void **state)
{
	struct fixture *f = *state;

	free(install(f, "test-plain", NULL, 0644));
	expect_refusal(f, "test-plain", 0, "not a modvm plugin");
}

static void test_wrong_kind_names_both_kinds(void **state)
{
	struct fixture *f = *state;

	free(install(f, "test-exit-kind", NULL, 0644));
	expect_refusal(f, "test-exit-kind", MODVM_PLUGIN_DEVICE,
		       "is an exit plugin, used as a device plugin");
}

static void test_group_writable_file_is_refused(void **state)
{
	struct fixture *f = *state;

	free(install(f, "test-good", NULL, 0664));
	expect_refusal(f, "test-good", 0,
		       "is writable by group or others (mode 0664)");
}

static void test_world_writable_folder_is_refused(void **state)
{
	struct fixture *f = *state;

	free(install(f, "test-good", NULL, 0644));
	assert_int_equal(chmod(f->dir, 0777), 0);
	expect_refusal(f, "test-good", 0, "is writable by group or others (mode 0777)");
	assert_int_equal(chmod(f->dir, 0700), 0);
}

static void test_symlink_is_refused(void **state)
{
	struct fixture *f = *state;
	char *target = install(f, "test-good", "real", 0644), *link;

	assert_true(asprintf(&link, "%s/test-link.so", f->dir) > 0);
	assert_int_equal(symlink(target, link), 0);
	expect_refusal(f, "test-link", 0, "is a symbolic link");
	free(link);
	free(target);
}

static void test_directory_named_like_a_plugin_is_refused(void **state)
{
	struct fixture *f = *state;
	char *dir;

	assert_true(asprintf(&dir, "%s/test-dir.so", f->dir) > 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	expect_refusal(f, "test-dir", 0, "is not a regular file");
	free(dir);
}

static int fail_init_host_get_string(struct modvm_plugin *self, const char *key,
				     const char **out)
{
	return -ENOENT;
}

struct init_args {
	struct modvm_plugin *p;
	struct modvm_host host;
};

static int do_init(void *opaque)
{
	struct init_args *a = opaque;

	return plugin_init(a->p, &a->host, "vm.ini:7: [device \"x\"]");
}

static void test_failing_init_is_reported_and_not_finied(void **state)
{
	struct fixture *f = *state;
	struct init_args a = { 0 };
	int ret;
	char *err;

	free(install(f, "test-init-fails", NULL, 0644));
	assert_int_equal(plugin_open(&a.p, "test-init-fails", 0, &f->pp, NULL), 0);
	a.host.size = sizeof(a.host);
	a.host.get_string = fail_init_host_get_string;
	err = capture_stderr(do_init, &a, &ret);
	assert_int_equal(ret, -EIO);
	assert_non_null(strstr(err, "vm.ini:7: [device \"x\"]: plugin test-init-fails "
				    "failed to initialise (Input/output error)"));
	assert_false(a.p->initialized);
	free(err);
	plugin_close(a.p);
}

static void test_environment_path_comes_before_installed_dir(void **state)
{
	struct plugin_path pp;

	setenv("MODVM_PLUGIN_PATH", "/opt/a:relative:/opt/b", 1);
	assert_int_equal(plugin_path_init(&pp, "cfgdir:/abs", "/etc/vm"), 0);
	unsetenv("MODVM_PLUGIN_PATH");
	assert_true(pp.n >= 5);
	assert_string_equal(pp.dirs[0], "/etc/vm/cfgdir");
	assert_string_equal(pp.dirs[1], "/abs");
	assert_string_equal(pp.dirs[2], "/opt/a");
	assert_string_equal(pp.dirs[3], "/opt/b");
	plugin_path_free(&pp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_good_plugin_loads_and_inits),
		T(test_absolute_path_loads_without_search),
		T(test_first_directory_in_path_wins),
		T(test_missing_plugin_lists_the_directories),
		T(test_name_with_a_slash_is_not_a_name),
		T(test_other_abi_major_is_refused),
		T(test_newer_abi_minor_is_refused),
		T(test_missing_descriptor_is_not_a_plugin),
		T(test_ordinary_library_is_not_a_plugin),
		T(test_wrong_kind_names_both_kinds),
		T(test_group_writable_file_is_refused),
		T(test_world_writable_folder_is_refused),
		T(test_symlink_is_refused),
		T(test_directory_named_like_a_plugin_is_refused),
		T(test_failing_init_is_reported_and_not_finied),
		T(test_environment_path_comes_before_installed_dir),
#undef T
	};

	log_level = MODVM_LOG_DEBUG;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
