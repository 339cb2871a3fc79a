/* SPDX-License-Identifier: MIT */
/*
 * One source, several test plugins: each build flag breaks the
 * descriptor in one way the loader must refuse with its own message.
 */
#include <errno.h>

#include <modvm/device.h>
#include <modvm/exit.h>
#include <modvm/plugin.h>

#ifndef TEST_ABI_MAJOR
#define TEST_ABI_MAJOR MODVM_ABI_MAJOR
#endif
#ifndef TEST_ABI_MINOR
#define TEST_ABI_MINOR MODVM_ABI_MINOR
#endif
#ifndef TEST_KIND
#define TEST_KIND MODVM_PLUGIN_DEVICE
#endif
#ifndef TEST_INIT_RESULT
#define TEST_INIT_RESULT 0
#endif

static int marker;

static int test_init(struct modvm_plugin *self, const struct modvm_host *host,
		     void **state_out)
{
	const char *greeting;

	if (host->get_string(self, "greeting", &greeting) == 0 &&
	    greeting[0] == '!')
		return -EINVAL;
	*state_out = &marker;
	return TEST_INIT_RESULT;
}

static void test_fini(void *state)
{
	(void)state;
}

static const struct modvm_device_ops device_ops = {
	.size = sizeof(device_ops),
};

static const struct modvm_key keys[] = {
	{ "greeting", MODVM_KEY_STRING, "any text" },
	{ "count", MODVM_KEY_INT, "a number" },
	{ NULL, 0, NULL },
};

#ifdef TEST_HIDDEN
/* A plugin whose author forgot MODVM_PLUGIN_EXPORT. */
const struct modvm_plugin_desc modvm_plugin_descriptor
#else
MODVM_PLUGIN_EXPORT
#endif
= {
	.abi_major = TEST_ABI_MAJOR,
	.abi_minor = TEST_ABI_MINOR,
	.size = sizeof(struct modvm_plugin_desc),
	.kind = TEST_KIND,
	.name = TEST_NAME,
	.version = "1.0",
	.description = "loader test plugin",
	.keys = keys,
	.init = test_init,
	.fini = test_fini,
	.ops = &device_ops,
};
