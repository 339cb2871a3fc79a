/* SPDX-License-Identifier: MIT */
/*
 * kvmtest-boot: puts one program of guest-programs.h into guest RAM
 * (key program = NAME). Registers are kvmtest-arch's business.
 */
#include <errno.h>
#include <stdlib.h>

#include <modvm/boot.h>
#include <modvm/plugin.h>

#include "guest-programs.h"

struct kvmtest_boot {
	struct modvm_plugin *self;
	const struct modvm_host *host;
	const struct guest_program *program;
};

static int boot_init(struct modvm_plugin *self, const struct modvm_host *host,
		     void **state_out)
{
	struct kvmtest_boot *s;
	const char *name = NULL;

	if (host->get_string(self, "program", &name) || !guest_program(name)) {
		host->config_error(self, "program",
				   "name one of guest-programs.h");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->self = self;
	s->host = host;
	s->program = guest_program(name);
	*state_out = s;
	return 0;
}

static void boot_fini(void *state)
{
	free(state);
}

static int boot_load(void *state)
{
	struct kvmtest_boot *s = state;
	uint8_t *ram = s->host->guest_ptr(s->self, 0, GUEST_COUNTERS);

	if (!ram)
		return -EFAULT;
	guest_program_load(s->program, ram);
	return 0;
}

static const struct modvm_boot_ops boot_ops = {
	.size = sizeof(struct modvm_boot_ops),
	.load = boot_load,
};

static const struct modvm_key boot_keys[] = {
	{ "program", MODVM_KEY_STRING, "a program of guest-programs.h" },
	{ NULL, 0, NULL },
};

MODVM_PLUGIN_EXPORT = {
	MODVM_PLUGIN_DESC_INIT,
	.kind = MODVM_PLUGIN_BOOT,
	.name = "kvmtest-boot",
	.version = "1.0",
	.description = "test boot loader: a real-mode program at 0x1000",
	.keys = boot_keys,
	.init = boot_init,
	.fini = boot_fini,
	.ops = &boot_ops,
};
