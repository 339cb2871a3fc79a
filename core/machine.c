/* SPDX-License-Identifier: MIT */
/*
 * Assemble a machine from its settings: check the core's own sections,
 * load the arch plugin, validate the topology against it, then load and
 * init the boot loader, the devices and the exit handlers, in that
 * order. Nothing here touches /dev/kvm, so `modvm --check` runs all of
 * it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "machine.h"
#include "topology.h"
#include "vm.h"

#define DEFAULT_MEMORY (256ull << 20)
#define MIN_MEMORY (1ull << 20)

/* Sections the core knows; named ones are [kind "name"]. */
static const struct {
	const char *kind;
	bool named;
} known_sections[] = {
	{ "machine", false }, { "smp", false },   { "vcpu", false },
	{ "arch", false },    { "boot", false },  { "device", true },
	{ "exit", true },
};

static const struct modvm_key machine_keys[] = {
	{ "name", MODVM_KEY_STRING, "a name for logs" },
	{ "memory", MODVM_KEY_SIZE, "guest RAM, e.g. 512M (default 256M)" },
	{ "plugin-path", MODVM_KEY_STRING,
	  "':'-separated plugin directories, searched first" },
	{ "on-reset", MODVM_KEY_STRING,
	  "what a guest reset does: stop (default) or restart" },
	{ NULL, 0, NULL },
};

static const struct modvm_key smp_keys[] = {
	{ "smp", MODVM_KEY_STRING, "QEMU form: 8,sockets=2,cores=2,threads=2" },
	{ "cpus", MODVM_KEY_INT, "vCPUs started at boot" },
	{ "maxcpus", MODVM_KEY_INT, "vCPUs possible (default cpus)" },
	{ "sockets", MODVM_KEY_INT, "sockets" },
	{ "dies", MODVM_KEY_INT, "dies per socket" },
	{ "clusters", MODVM_KEY_INT, "clusters per die" },
	{ "cores", MODVM_KEY_INT, "cores per cluster" },
	{ "threads", MODVM_KEY_INT, "threads per core" },
	{ NULL, 0, NULL },
};

static const struct modvm_key vcpu_keys[] = {
	{ "affinity", MODVM_KEY_LIST,
	  "host CPUs the vCPU threads are pinned to, round-robin (0-3,6)" },
	{ NULL, 0, NULL },
};

static const char *const plugin_key[] = { "plugin", NULL };

static int check_sections(const struct config *cfg)
{
	int ret = 0;

	for (unsigned i = 0; i < cfg->n_sections; i++) {
		const struct cfg_section *sec = &cfg->sections[i];
		bool found = false;

		for (unsigned k = 0; k < sizeof(known_sections) /
						 sizeof(known_sections[0]);
		     k++) {
			if (strcmp(sec->kind, known_sections[k].kind) != 0)
				continue;
			found = true;
			if (known_sections[k].named && !sec->name) {
				config_error(sec, NULL,
					     "needs a name: write [%s \"NAME\"]",
					     sec->kind);
				ret = -EINVAL;
			} else if (!known_sections[k].named && sec->name) {
				config_error(sec, NULL,
					     "takes no name: write [%s]",
					     sec->kind);
				ret = -EINVAL;
			}
		}
		if (!found) {
			config_error(sec, NULL,
				     "unknown section; valid sections: "
				     "[machine], [smp], [vcpu], [arch], [boot], "
				     "[device \"NAME\"], [exit \"NAME\"]");
			ret = -EINVAL;
		}
	}
	if (ret)
		return ret;
	if (config_check_keys(config_section(cfg, "machine", NULL),
			      machine_keys, NULL) ||
	    config_check_keys(config_section(cfg, "smp", NULL), smp_keys,
			      NULL) ||
	    config_check_keys(config_section(cfg, "vcpu", NULL), vcpu_keys,
			      NULL))
		ret = -EINVAL;
	return ret;
}

/* "FILE:LINE: [section] plugin = NAME" for loader messages. */
static void describe_slot(const struct cfg_section *sec, const char *name,
			  char *buf, size_t size)
{
	const struct cfg_entry *e = config_entry(sec, "plugin");
	char label[160];

	if (!sec) {
		snprintf(buf, size, "plugin %s", name);
		return;
	}
	config_section_label(sec, label, sizeof(label));
	if (e && e->line > 0)
		snprintf(buf, size, "%s:%d: %s plugin = %s", e->file, e->line,
			 label, e->value);
	else if (e)
		snprintf(buf, size, "--set %s.plugin=%s", sec->kind, e->value);
	else if (sec->line > 0)
		snprintf(buf, size, "%s:%d: %s (plugin %s)", sec->file,
			 sec->line, label, name);
	else
		snprintf(buf, size, "%s (plugin %s)", label, name);
}

static int add_plugin(struct machine *m, struct modvm_plugin *p)
{
	struct modvm_plugin **grown;

	grown = realloc(m->plugins, (m->n_plugins + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	m->plugins = grown;
	m->plugins[m->n_plugins++] = p;
	return 0;
}

/*
 * Open the plugin for one section, check the section's keys against
 * the plugin's schema and add it to the machine (not yet initialised).
 */
static int open_slot(struct machine *m, struct cfg_section *sec,
		     const char *default_name, uint32_t kind,
		     struct modvm_plugin **out)
{
	const char *name = default_name;
	char where[512];
	struct modvm_plugin *p;
	int ret;

	if (sec)
		config_get_string(sec, "plugin", &name);
	if (!name) {
		config_error(sec, NULL,
			     "names no plugin; add plugin = NAME (see modvm "
			     "--list-plugins)");
		return -EINVAL;
	}
	describe_slot(sec, name, where, sizeof(where));
	ret = plugin_open(&p, name, kind, &m->path, where);
	if (ret)
		return ret;
	p->cfg = m->cfg;
	p->section = sec;
	p->machine = m;
	if (sec && sec->name) {
		/* Devices and exits are known by their section's name. */
		free(p->name);
		p->name = strdup(sec->name);
		if (!p->name) {
			plugin_close(p);
			return -ENOMEM;
		}
	}
	/* Singleton kinds may not load the same plugin twice. */
	for (unsigned i = 0; kind != MODVM_PLUGIN_DEVICE && i < m->n_plugins;
	     i++) {
		if (m->plugins[i]->desc->kind == kind &&
		    strcmp(m->plugins[i]->desc->name, p->desc->name) == 0) {
			log_error("%s: duplicate: plugin %s is already loaded "
				  "from %s",
				  where, p->desc->name, m->plugins[i]->path);
			plugin_close(p);
			return -EEXIST;
		}
	}
	if (config_check_keys(sec, p->desc->keys, plugin_key)) {
		plugin_close(p);
		return -EINVAL;
	}
	ret = add_plugin(m, p);
	if (ret) {
		plugin_close(p);
		return ret;
	}
	if (out)
		*out = p;
	return 0;
}

/* Every KVM exit reason has one owner: refuse a second claim now. */
static int check_exit_owners(const struct machine *m)
{
	for (unsigned i = 0; i < m->n_plugins; i++) {
		const struct modvm_plugin *a = m->plugins[i];
		const struct modvm_exit_ops *ao = a->desc->ops;

		if (a->desc->kind != MODVM_PLUGIN_EXIT)
			continue;
		for (unsigned j = i + 1; j < m->n_plugins; j++) {
			const struct modvm_plugin *b = m->plugins[j];
			const struct modvm_exit_ops *bo = b->desc->ops;

			if (b->desc->kind != MODVM_PLUGIN_EXIT)
				continue;
			for (unsigned x = 0; x < ao->n_reasons; x++)
				for (unsigned y = 0; y < bo->n_reasons; y++)
					if (ao->reasons[x] == bo->reasons[y]) {
						config_error(b->section, NULL,
							     "exit reason %u is already "
							     "handled by [exit \"%s\"]; "
							     "each reason has one owner",
							     bo->reasons[y], a->name);
						return -EBUSY;
					}
		}
	}
	return 0;
}

static int load_memory(struct machine *m)
{
	struct cfg_section *sec = config_section(m->cfg, "machine", NULL);
	int ret;

	m->memory = DEFAULT_MEMORY;
	ret = config_get_size(sec, "memory", &m->memory);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (m->memory < MIN_MEMORY || m->memory % 4096) {
		config_error(sec, config_entry(sec, "memory"),
			     "must be at least 1M and a multiple of 4K");
		return -EINVAL;
	}
	return 0;
}

/* Checked here, not when the guest first resets, so --check catches it. */
static int load_on_reset(struct machine *m)
{
	struct cfg_section *sec = config_section(m->cfg, "machine", NULL);
	const char *v = "stop";

	config_get_string(sec, "on-reset", &v);
	m->restart_on_reset = strcmp(v, "restart") == 0;
	if (m->restart_on_reset || strcmp(v, "stop") == 0)
		return 0;
	config_error(sec, config_entry(sec, "on-reset"),
		     "must be stop or restart");
	return -EINVAL;
}

static const char *host_arch_plugin(void)
{
#if defined(__x86_64__)
	return "arch-x86_64";
#elif defined(__aarch64__)
	return "arch-aarch64";
#else
	return NULL;
#endif
}

int machine_load(struct machine **out, struct config *cfg)
{
	struct cfg_section *machine_sec = config_section(cfg, "machine", NULL);
	const char *plugin_path = NULL;
	struct machine *m;
	int ret;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m) {
		config_free(cfg);
		return -ENOMEM;
	}
	m->cfg = cfg;
	ret = check_sections(cfg);
	if (ret)
		goto out_free;
	ret = load_memory(m);
	if (!ret)
		ret = load_on_reset(m);
	if (ret)
		goto out_free;
	config_get_string(machine_sec, "plugin-path", &plugin_path);
	ret = plugin_path_init(&m->path, plugin_path, cfg->dir);
	if (ret)
		goto out_free;

	ret = open_slot(m, config_section(cfg, "arch", NULL),
			host_arch_plugin(), MODVM_PLUGIN_ARCH, &m->arch);
	if (ret)
		goto out_free;
	m->arch_ops = m->arch->desc->ops;
	ret = topology_from_config(cfg, m->arch->desc->name,
				   m->arch_ops->topo_levels,
				   m->arch_ops->max_cpus, &m->topo);
	if (ret)
		goto out_free;

	if (config_section(cfg, "boot", NULL)) {
		ret = open_slot(m, config_section(cfg, "boot", NULL), NULL,
				MODVM_PLUGIN_BOOT, &m->boot);
		if (ret)
			goto out_free;
		m->boot_ops = m->boot->desc->ops;
	}
	for (unsigned i = 0; i < cfg->n_sections && !ret; i++)
		if (strcmp(cfg->sections[i].kind, "device") == 0)
			ret = open_slot(m, &cfg->sections[i],
					cfg->sections[i].name,
					MODVM_PLUGIN_DEVICE, NULL);
	for (unsigned i = 0; i < cfg->n_sections && !ret; i++)
		if (strcmp(cfg->sections[i].kind, "exit") == 0)
			ret = open_slot(m, &cfg->sections[i],
					cfg->sections[i].name,
					MODVM_PLUGIN_EXIT, NULL);
	if (!ret)
		ret = check_exit_owners(m);
	if (ret)
		goto out_free;

	/* Only now, with every file vetted, run any plugin code. */
	for (unsigned i = 0; i < m->n_plugins; i++) {
		char where[512];

		describe_slot(m->plugins[i]->section, m->plugins[i]->name,
			      where, sizeof(where));
		ret = plugin_init(m->plugins[i], &host_table, where);
		if (ret)
			goto out_free;
	}
	*out = m;
	return 0;

out_free:
	machine_free(m);
	return ret;
}

void machine_print(const struct machine *m, FILE *out)
{
	fprintf(out, "config:   %s\n", m->cfg->path);
	fprintf(out, "memory:   %llu MiB\n",
		(unsigned long long)(m->memory >> 20));
	topology_print(&m->topo, out);
	for (unsigned i = 0; i < m->n_plugins; i++) {
		const struct modvm_plugin *p = m->plugins[i];

		fprintf(out, "%-8s  %-14s %s %s (%s)\n",
			modvm_plugin_kind_name(p->desc->kind), p->name,
			p->desc->name, p->desc->version ? p->desc->version : "-",
			p->path);
	}
	if (m->arch_ops->print_topology)
		m->arch_ops->print_topology(m->arch->state, out);
}

void machine_free(struct machine *m)
{
	if (!m)
		return;
	for (unsigned i = m->n_plugins; i-- > 0;)
		plugin_close(m->plugins[i]);
	free(m->plugins);
	/* After the plugins: a device's I/O thread may use the VM until
	 * its fini. */
	vm_destroy(m->vm);
	plugin_path_free(&m->path);
	config_free(m->cfg);
	free(m);
}
