/* SPDX-License-Identifier: MIT */
/*
 * The host API table: the one way plugins reach the core. Each entry
 * resolves the calling plugin instance (self) to its settings section
 * or to the machine's VM.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "log.h"
#include "machine.h"
#include "vm.h"

static void h_log(struct modvm_plugin *self, enum modvm_log_level level,
		  const char *fmt, ...)
{
	va_list ap;

	if (level == MODVM_LOG_ERROR)
		self->reported_error = true;
	va_start(ap, fmt);
	log_vmsg(level, self->name, fmt, ap);
	va_end(ap);
}

static void h_config_error(struct modvm_plugin *self, const char *key,
			   const char *fmt, ...)
{
	struct cfg_entry *e = key ? config_entry(self->section, key) : NULL;
	va_list ap;

	self->reported_error = true;
	va_start(ap, fmt);
	if (self->section)
		config_verror(self->section, e, fmt, ap);
	else
		log_vmsg(MODVM_LOG_ERROR, self->name, fmt, ap);
	va_end(ap);
}

/* The schema entry of one of the plugin's keys, or NULL. */
static const struct modvm_key *key_of(struct modvm_plugin *self,
				      const char *key)
{
	for (const struct modvm_key *k = self->desc->keys; k && k->name; k++)
		if (strcmp(k->name, key) == 0)
			return k;
	return NULL;
}

static int h_get_string(struct modvm_plugin *self, const char *key,
			const char **out)
{
	return config_get_string(self->section, key, out);
}

static int h_get_u64(struct modvm_plugin *self, const char *key,
		     uint64_t *out)
{
	const struct modvm_key *k = key_of(self, key);

	if (k && k->type == MODVM_KEY_SIZE)
		return config_get_size(self->section, key, out);
	return config_get_u64(self->section, key, out);
}

static int h_get_bool(struct modvm_plugin *self, const char *key, bool *out)
{
	return config_get_bool(self->section, key, out);
}

static int h_get_path(struct modvm_plugin *self, const char *key, char **out)
{
	return config_get_path(self->cfg, self->section, key, out);
}

static const struct modvm_topology *h_topology(struct modvm_plugin *self)
{
	return &self->machine->topo;
}

static void *h_guest_ptr(struct modvm_plugin *self, uint64_t gpa,
			 uint64_t len)
{
	struct vm *vm = self->machine->vm;

	return vm ? vm_guest_ptr(vm, gpa, len) : NULL;
}

static uint64_t h_guest_ram_size(struct modvm_plugin *self)
{
	return self->machine->memory;
}

static int h_vm_fd(struct modvm_plugin *self)
{
	struct vm *vm = self->machine->vm;

	return vm ? vm_kvm_fd(vm) : -1;
}

static int h_bus_register(struct modvm_plugin *self,
			  enum modvm_bus_space space, uint64_t base,
			  uint64_t len, const struct modvm_io_ops *ops,
			  void *opaque)
{
	struct vm *vm = self->machine->vm;

	if (!vm)
		return -ENODEV;
	return vm_bus_register(vm, space, base, len, ops, opaque, self->name);
}

static int h_bus_access(struct modvm_plugin *self, enum modvm_bus_space space,
			uint64_t addr, void *data, uint32_t len, bool is_write)
{
	struct vm *vm = self->machine->vm;

	if (!vm)
		return -ENODEV;
	return vm_bus_access(vm, space, addr, data, len, is_write);
}

static int h_irq_line(struct modvm_plugin *self, uint32_t gsi, int level)
{
	struct vm *vm = self->machine->vm;

	if (!vm)
		return -ENODEV;
	return vm_irq_line(vm, gsi, level);
}

static void h_vm_stop(struct modvm_plugin *self, enum modvm_stop_reason reason,
		      int status, const char *fmt, ...)
{
	struct vm *vm = self->machine->vm;
	char msg[256];
	int n;
	va_list ap;

	if (!vm)
		return;
	n = snprintf(msg, sizeof(msg), "%s: ", self->name);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	vm_request_stop(vm, reason, status, msg);
}

const struct modvm_host host_table = {
	.size = sizeof(struct modvm_host),
	.abi_major = MODVM_ABI_MAJOR,
	.abi_minor = MODVM_ABI_MINOR,
	.log = h_log,
	.config_error = h_config_error,
	.get_string = h_get_string,
	.get_u64 = h_get_u64,
	.get_bool = h_get_bool,
	.get_path = h_get_path,
	.topology = h_topology,
	.guest_ptr = h_guest_ptr,
	.guest_ram_size = h_guest_ram_size,
	.vm_fd = h_vm_fd,
	.bus_register = h_bus_register,
	.bus_access = h_bus_access,
	.irq_line = h_irq_line,
	.vm_stop = h_vm_stop,
};
