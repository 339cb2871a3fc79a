/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader: resolve a plugin name to a file, vet the file,
 * dlopen it, check its descriptor, init and tear it down.
 */
#ifndef MODVM_CORE_PLUGIN_H
#define MODVM_CORE_PLUGIN_H

#include <stdbool.h>
#include <stdio.h>

#include <modvm/plugin.h>

struct config;
struct cfg_section;
struct machine;

/* One loaded plugin instance (the SDK's opaque struct modvm_plugin). */
struct modvm_plugin {
	char *name;     /* instance name: the plugin name, or the device's */
	char *path;     /* the file it was loaded from */
	void *handle;   /* dlopen handle */
	const struct modvm_plugin_desc *desc;
	const struct config *cfg;
	struct cfg_section *section; /* its INI section; may be NULL */
	struct machine *machine;     /* set by the machine that owns it */
	void *state;                 /* what init stored */
	bool initialized;
	bool reported_error; /* the plugin reported an error itself */
};

/* Ordered absolute directories a plugin name is looked up in. */
struct plugin_path {
	char **dirs;
	unsigned n;
};

/*
 * Build the search path: config_dirs (a ':'-separated list from
 * [machine] plugin-path, relative to base_dir; may be NULL), then
 * $MODVM_PLUGIN_PATH, then the build tree when modvm runs uninstalled,
 * then the installed plugin directory. Non-absolute entries of the
 * environment variable are ignored with a warning.
 */
int plugin_path_init(struct plugin_path *pp, const char *config_dirs,
		     const char *base_dir);
void plugin_path_free(struct plugin_path *pp);

/*
 * Find, vet, dlopen and check a plugin. name is a plugin name (looked up
 * as NAME.so along pp) or an absolute path. kind is the slot it fills
 * (0 accepts any kind). Every failure is reported in one line that
 * starts with where (e.g. "vm.ini:3: [device "com1"] plugin = x: ").
 */
int plugin_open(struct modvm_plugin **out, const char *name, uint32_t kind,
		const struct plugin_path *pp, const char *where);
/* Call the plugin's init with the host table. */
int plugin_init(struct modvm_plugin *p, const struct modvm_host *host,
		const char *where);
/* fini (when initialized), dlclose, free. Accepts NULL. */
void plugin_close(struct modvm_plugin *p);

/* --list-plugins: every plugin file found along pp, one line each. */
int plugin_list(const struct plugin_path *pp, FILE *out);

#endif
