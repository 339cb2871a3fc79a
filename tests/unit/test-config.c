/* SPDX-License-Identifier: MIT */
/* The settings store: syntax, types, suffixes, origins, overrides, schemas. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "helpers.h"

struct load_args {
	const char *path;
	struct config *cfg;
};

static int do_load(void *opaque)
{
	struct load_args *a = opaque;

	return config_load(&a->cfg, a->path);
}

/* Load text as vm.ini; returns the config or NULL and the error text. */
static struct config *load_text(const char *text, char **err, char **path)
{
	struct load_args a = { 0 };
	int ret;
	char *msg;

	*path = write_temp("vm.ini", text);
	assert_non_null(*path);
	a.path = *path;
	msg = capture_stderr(do_load, &a, &ret);
	if (err)
		*err = msg;
	else
		free(msg);
	return ret ? NULL : a.cfg;
}

static void test_values_remember_file_and_line(void **unused)
{
	char *path;
	struct config *cfg = load_text("; comment\n[machine]\nmemory = 512M\n"
				       "\n[smp]\ncpus = 4\n",
				       NULL, &path);
	struct cfg_entry *e;

	assert_non_null(cfg);
	e = config_entry(config_section(cfg, "smp", NULL), "cpus");
	assert_non_null(e);
	assert_int_equal(e->line, 6);
	assert_string_equal(e->file, path);
	e = config_entry(config_section(cfg, "machine", NULL), "memory");
	assert_int_equal(e->line, 3);
	assert_int_equal(config_section(cfg, "smp", NULL)->line, 5);
	config_free(cfg);
	remove_temp(path);
}

static void test_named_sections_are_kind_and_name(void **unused)
{
	char *path;
	struct config *cfg = load_text("[device \"com1\"]\nplugin = serial-8250\n"
				       "[device \"com2\"]\nirq = 3\n",
				       NULL, &path);
	const char *v;

	assert_non_null(cfg);
	assert_int_equal(cfg->n_sections, 2);
	assert_int_equal(config_get_string(config_section(cfg, "device", "com1"),
					   "plugin", &v), 0);
	assert_string_equal(v, "serial-8250");
	assert_null(config_section(cfg, "device", NULL));
	assert_null(config_section(cfg, "device", "com3"));
	config_free(cfg);
	remove_temp(path);
}

static void test_syntax_error_names_the_line(void **unused)
{
	char *path, *err;
	struct config *cfg = load_text("[machine]\nmemory = 1G\nthis is not ini\n",
				       &err, &path);

	assert_null(cfg);
	assert_non_null(strstr(err, "vm.ini:3: not an INI line"));
	free(err);
	remove_temp(path);
}

static void test_malformed_section_name_is_an_error(void **unused)
{
	char *path, *err;
	struct config *cfg = load_text("[device com1]\nirq = 4\n", &err, &path);

	assert_null(cfg);
	assert_non_null(strstr(err, "vm.ini:1: [device com1]: malformed section"));
	free(err);
	remove_temp(path);
}

static void test_empty_sections_exist(void **unused)
{
	char *path;
	struct config *cfg = load_text("[exit \"exit-io\"]\n\n[exit \"exit-halt\"] ; c\n",
				       NULL, &path);

	assert_non_null(cfg);
	assert_int_equal(cfg->n_sections, 2);
	assert_int_equal(config_section(cfg, "exit", "exit-halt")->line, 3);
	config_free(cfg);
	remove_temp(path);
}

static void test_key_set_twice_is_an_error(void **unused)
{
	char *path, *err;
	struct config *cfg = load_text("[smp]\ncpus = 2\ncpus = 4\n", &err, &path);

	assert_null(cfg);
	assert_non_null(strstr(err, "vm.ini:3: [smp] cpus: set twice (first at line 2)"));
	free(err);
	remove_temp(path);
}

static void test_key_before_any_section_is_an_error(void **unused)
{
	char *path, *err;
	struct config *cfg = load_text("cpus = 4\n", &err, &path);

	assert_null(cfg);
	assert_non_null(strstr(err, "vm.ini:1: cpus = 4: keys must come after"));
	free(err);
	remove_temp(path);
}

static void test_missing_file_is_reported(void **unused)
{
	struct load_args a = { .path = "/nonexistent/vm.ini" };
	int ret;
	char *err = capture_stderr(do_load, &a, &ret);

	assert_int_equal(ret, -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/vm.ini: cannot open"));
	free(err);
}

/* Table: integer and size parsing. */
static const struct {
	const char *text;
	int ret;
	uint64_t value;
	bool size;
} numbers[] = {
	{ "0", 0, 0, false },
	{ "42", 0, 42, false },
	{ "0x10", 0, 16, false },
	{ "0XfF", 0, 255, false },
	{ "18446744073709551615", 0, UINT64_MAX, false },
	{ "18446744073709551616", -ERANGE, 0, false },
	{ "-1", -EINVAL, 0, false },
	{ " 1", -EINVAL, 0, false },
	{ "1 ", -EINVAL, 0, false },
	{ "", -EINVAL, 0, false },
	{ "0x", -EINVAL, 0, false },
	{ "12abc", -EINVAL, 0, false },
	{ "512", 0, 512, true },
	{ "4K", 0, 4096, true },
	{ "4k", 0, 4096, true },
	{ "512M", 0, 512ull << 20, true },
	{ "2G", 0, 2ull << 30, true },
	{ "2GiB", 0, 2ull << 30, true },
	{ "2GB", 0, 2ull << 30, true },
	{ "1T", 0, 1ull << 40, true },
	{ "0x1000", 0, 4096, true },
	{ "16777216T", -ERANGE, 0, true },
	{ "1X", -EINVAL, 0, true },
	{ "1MM", -EINVAL, 0, true },
	{ "M", -EINVAL, 0, true },
};

static void test_numbers_and_sizes_parse_as_documented(void **unused)
{
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		uint64_t v = 0;
		int ret = numbers[i].size ? parse_size(numbers[i].text, &v)
					  : parse_u64(numbers[i].text, &v);

		if (ret != numbers[i].ret || (ret == 0 && v != numbers[i].value))
			fail_msg("'%s': got %d/%llu, want %d/%llu",
				 numbers[i].text, ret, (unsigned long long)v,
				 numbers[i].ret,
				 (unsigned long long)numbers[i].value);
	}
}

static void test_booleans_accept_the_usual_words(void **unused)
{
	static const char *const yes[] = { "true", "YES", "on", "1" };
	static const char *const no[] = { "false", "No", "OFF", "0" };
	bool b;

	for (int i = 0; i < 4; i++) {
		assert_int_equal(parse_bool(yes[i], &b), 0);
		assert_true(b);
		assert_int_equal(parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	assert_int_equal(parse_bool("maybe", &b), -EINVAL);
	assert_int_equal(parse_bool("", &b), -EINVAL);
}

static void test_lists_expand_ranges(void **unused)
{
	uint32_t *list;
	unsigned n;

	assert_int_equal(parse_u32_list("0-3, 6,8-8", &list, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(list[0], 0);
	assert_int_equal(list[3], 3);
	assert_int_equal(list[4], 6);
	assert_int_equal(list[5], 8);
	free(list);
	assert_int_equal(parse_u32_list("3-1", &list, &n), -EINVAL);
	assert_int_equal(parse_u32_list("1,,2", &list, &n), -EINVAL);
	assert_int_equal(parse_u32_list("a", &list, &n), -EINVAL);
	assert_int_equal(parse_u32_list("0-4294967295", &list, &n), -E2BIG);
	assert_int_equal(parse_u32_list("4294967296", &list, &n), -EINVAL);
}

struct get_args {
	struct config *cfg;
	int (*get)(struct get_args *);
	uint64_t u;
	bool b;
};

static int get_memory_size(struct get_args *a)
{
	return config_get_size(config_section(a->cfg, "machine", NULL),
			       "memory", &a->u);
}

static int do_get(void *opaque)
{
	struct get_args *a = opaque;

	return a->get(a);
}

static void test_bad_value_names_file_line_key_and_fix(void **unused)
{
	char *path, *err;
	struct get_args a = { .get = get_memory_size };
	int ret;

	a.cfg = load_text("[machine]\n\nmemory = lots\n", NULL, &path);
	assert_non_null(a.cfg);
	err = capture_stderr(do_get, &a, &ret);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "vm.ini:3: [machine] memory = lots: not a size"));
	assert_non_null(strstr(err, "512M"));
	free(err);
	config_free(a.cfg);
	remove_temp(path);
}

static void test_missing_key_is_enoent_and_silent(void **unused)
{
	char *path, *err;
	struct get_args a = { .get = get_memory_size };
	int ret;

	a.cfg = load_text("[machine]\n", NULL, &path);
	err = capture_stderr(do_get, &a, &ret);
	assert_int_equal(ret, -ENOENT);
	assert_true(err == NULL || err[0] == '\0');
	free(err);
	config_free(a.cfg);
	remove_temp(path);
}

static void test_set_overrides_a_file_value(void **unused)
{
	char *path;
	struct config *cfg = load_text("[smp]\ncpus = 2\n", NULL, &path);
	struct cfg_entry *e;
	uint64_t v;

	assert_int_equal(config_set(cfg, "smp.cpus=8"), 0);
	assert_int_equal(config_get_u64(config_section(cfg, "smp", NULL),
					"cpus", &v), 0);
	assert_int_equal(v, 8);
	e = config_entry(config_section(cfg, "smp", NULL), "cpus");
	assert_string_equal(e->file, "--set");
	assert_int_equal(e->line, 0);
	config_free(cfg);
	remove_temp(path);
}

static void test_set_creates_named_sections(void **unused)
{
	char *path;
	struct config *cfg = load_text("[machine]\n", NULL, &path);
	const char *v;

	assert_int_equal(config_set(cfg, "device.com2.plugin=serial-8250"), 0);
	assert_int_equal(config_get_string(config_section(cfg, "device", "com2"),
					   "plugin", &v), 0);
	assert_string_equal(v, "serial-8250");
	assert_int_equal(config_set(cfg, "machine.memory="), 0);
	config_free(cfg);
	remove_temp(path);
}

struct set_args {
	struct config *cfg;
	const char *text;
};

static int do_set(void *opaque)
{
	struct set_args *a = opaque;

	return config_set(a->cfg, a->text);
}

static void test_set_without_section_or_value_is_refused(void **unused)
{
	static const char *const bad[] = { "cpus=4", "smp.cpus", "=4",
					   ".cpus=4", "smp.=4", "device..irq=4" };
	char *path;
	struct set_args a;

	a.cfg = load_text("[smp]\n", NULL, &path);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret;
		char *err;

		a.text = bad[i];
		err = capture_stderr(do_set, &a, &ret);
		if (ret != -EINVAL || !strstr(err, "expected SECTION.KEY=VALUE"))
			fail_msg("--set %s: ret %d, '%s'", bad[i], ret, err);
		free(err);
	}
	config_free(a.cfg);
	remove_temp(path);
}

static void test_relative_paths_resolve_against_the_ini_folder(void **unused)
{
	char *path, *kernel = NULL, *dir, *want;
	struct config *cfg = load_text("[boot]\nkernel = guest/bzImage\n"
				       "initrd = /abs/initrd\n",
				       NULL, &path);
	struct cfg_section *boot = config_section(cfg, "boot", NULL);

	dir = strdup(path);
	*strrchr(dir, '/') = '\0';
	assert_true(asprintf(&want, "%s/guest/bzImage", dir) > 0);
	assert_int_equal(config_get_path(cfg, boot, "kernel", &kernel), 0);
	assert_string_equal(kernel, want);
	free(kernel);
	assert_int_equal(config_get_path(cfg, boot, "initrd", &kernel), 0);
	assert_string_equal(kernel, "/abs/initrd");
	free(kernel);
	free(want);
	free(dir);
	config_free(cfg);
	remove_temp(path);
}

struct schema_args {
	struct cfg_section *sec;
};

static const struct modvm_key schema[] = {
	{ "port", MODVM_KEY_INT, "I/O port" },
	{ "enabled", MODVM_KEY_BOOL, "on or off" },
	{ "size", MODVM_KEY_SIZE, "bytes" },
	{ "cpus", MODVM_KEY_LIST, "host CPUs" },
	{ NULL, 0, NULL },
};

static int do_check(void *opaque)
{
	static const char *const extra[] = { "plugin", NULL };
	struct schema_args *a = opaque;

	return config_check_keys(a->sec, schema, extra);
}

static void test_unknown_key_lists_the_valid_keys(void **unused)
{
	char *path, *err;
	struct config *cfg = load_text("[device \"d\"]\nplugin = x\nprot = 1\n",
				       NULL, &path);
	struct schema_args a = { config_section(cfg, "device", "d") };
	int ret;

	err = capture_stderr(do_check, &a, &ret);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "vm.ini:3: [device \"d\"] prot = 1: unknown key; "
				    "valid keys: plugin, port, enabled, size, cpus"));
	free(err);
	config_free(cfg);
	remove_temp(path);
}

static void test_schema_checks_value_types(void **unused)
{
	char *path, *err;
	struct config *cfg = load_text("[device \"d\"]\nport = 0x3f8\nenabled = perhaps\n"
				       "size = 2M\ncpus = 0-1\n",
				       NULL, &path);
	struct schema_args a = { config_section(cfg, "device", "d") };
	int ret;

	err = capture_stderr(do_check, &a, &ret);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "vm.ini:3: [device \"d\"] enabled = perhaps: not a boolean"));
	assert_null(strstr(err, "port"));
	free(err);
	config_free(cfg);
	remove_temp(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_remember_file_and_line),
		cmocka_unit_test(test_named_sections_are_kind_and_name),
		cmocka_unit_test(test_syntax_error_names_the_line),
		cmocka_unit_test(test_malformed_section_name_is_an_error),
		cmocka_unit_test(test_empty_sections_exist),
		cmocka_unit_test(test_key_set_twice_is_an_error),
		cmocka_unit_test(test_key_before_any_section_is_an_error),
		cmocka_unit_test(test_missing_file_is_reported),
		cmocka_unit_test(test_numbers_and_sizes_parse_as_documented),
		cmocka_unit_test(test_booleans_accept_the_usual_words),
		cmocka_unit_test(test_lists_expand_ranges),
		cmocka_unit_test(test_bad_value_names_file_line_key_and_fix),
		cmocka_unit_test(test_missing_key_is_enoent_and_silent),
		cmocka_unit_test(test_set_overrides_a_file_value),
		cmocka_unit_test(test_set_creates_named_sections),
		cmocka_unit_test(test_set_without_section_or_value_is_refused),
		cmocka_unit_test(test_relative_paths_resolve_against_the_ini_folder),
		cmocka_unit_test(test_unknown_key_lists_the_valid_keys),
		cmocka_unit_test(test_schema_checks_value_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
