/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader. A plugin runs inside the VMM with all its rights,
 * so before dlopen (which already runs code) the file is vetted: a
 * regular file, owned by root or by us, and neither it nor its folder
 * writable by anyone else. Then its descriptor is checked field by
 * field, each mismatch with its own message.
 */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "modvm-config.h"

#include "log.h"
#include "plugin.h"

/* Smallest descriptor this core understands: ABI 1.0's. */
#define DESC_MIN_SIZE (offsetof(struct modvm_plugin_desc, ops) + sizeof(void *))

static void report(const char *where, const char *fmt, ...) MODVM_PRINTF(2, 3);
static void report(const char *where, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(MODVM_LOG_ERROR, where, fmt, ap);
	va_end(ap);
}

static int path_add(struct plugin_path *pp, const char *dir)
{
	char **dirs;

	for (unsigned i = 0; i < pp->n; i++)
		if (strcmp(pp->dirs[i], dir) == 0)
			return 0;
	dirs = realloc(pp->dirs, (pp->n + 1) * sizeof(*dirs));
	if (!dirs)
		return -ENOMEM;
	pp->dirs = dirs;
	pp->dirs[pp->n] = strdup(dir);
	if (!pp->dirs[pp->n])
		return -ENOMEM;
	pp->n++;
	return 0;
}

/* Add each ':'-separated entry; relative ones resolve against base
 * (when base is NULL they are skipped with a warning). */
static int path_add_list(struct plugin_path *pp, const char *list,
			 const char *base, const char *origin)
{
	char *copy = strdup(list), *save = NULL, *item;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ":", &save); item && !ret;
	     item = strtok_r(NULL, ":", &save)) {
		char *abs = NULL;

		if (item[0] == '/') {
			ret = path_add(pp, item);
			continue;
		}
		if (!base) {
			log_warn("%s: ignoring relative plugin directory '%s'; "
				 "use absolute paths",
				 origin, item);
			continue;
		}
		if (asprintf(&abs, "%s/%s", base, item) < 0) {
			ret = -ENOMEM;
			break;
		}
		ret = path_add(pp, abs);
		free(abs);
	}
	free(copy);
	return ret;
}

/*
 * The build tree's plugin folder when this modvm binary runs from a Meson
 * build tree (its folder holds meson-private/), else NULL. Found from the
 * binary's own location, so no build path is compiled in and builds stay
 * reproducible. The caller frees the result.
 */
static char *uninstalled_plugindir(void)
{
	char *exe = realpath("/proc/self/exe", NULL), *slash, *dir = NULL;
	struct stat st;

	if (!exe)
		return NULL;
	slash = strrchr(exe, '/');
	if (slash) {
		*slash = '\0';
		if (asprintf(&dir, "%s/meson-private", exe) < 0)
			dir = NULL;
		else if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
			free(dir);
			dir = NULL;
		} else {
			free(dir);
			if (asprintf(&dir, "%s/plugins", exe) < 0)
				dir = NULL;
		}
	}
	free(exe);
	return dir;
}

int plugin_path_init(struct plugin_path *pp, const char *config_dirs,
		     const char *base_dir)
{
	const char *env = getenv("MODVM_PLUGIN_PATH");
	int ret = 0;

	pp->dirs = NULL;
	pp->n = 0;
	if (config_dirs)
		ret = path_add_list(pp, config_dirs, base_dir,
				    "[machine] plugin-path");
	if (!ret && env && env[0])
		ret = path_add_list(pp, env, NULL, "MODVM_PLUGIN_PATH");
	if (!ret) {
		char *build_dir = uninstalled_plugindir();

		if (build_dir)
			ret = path_add(pp, build_dir);
		free(build_dir);
	}
	if (!ret)
		ret = path_add(pp, MODVM_PLUGINDIR);
	if (ret)
		plugin_path_free(pp);
	return ret;
}

void plugin_path_free(struct plugin_path *pp)
{
	for (unsigned i = 0; i < pp->n; i++)
		free(pp->dirs[i]);
	free(pp->dirs);
	pp->dirs = NULL;
	pp->n = 0;
}

/* A plugin name is a file name without ".so": no slashes, no dot-dot. */
static bool valid_name(const char *name)
{
	if (!name[0] || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' ||
		      *p == '.'))
			return false;
	return true;
}

static char *resolve(const char *name, const struct plugin_path *pp,
		     const char *where)
{
	char searched[1024] = "";
	size_t len = 0;

	if (name[0] == '/')
		return strdup(name);
	if (!valid_name(name)) {
		report(where,
		       "'%s' is not a plugin name; give a name such as "
		       "serial-8250 or an absolute path to a .so file",
		       name);
		return NULL;
	}
	for (unsigned i = 0; i < pp->n; i++) {
		struct stat st;
		char *path;

		if (asprintf(&path, "%s/%s.so", pp->dirs[i], name) < 0)
			return NULL;
		if (lstat(path, &st) == 0)
			return path;
		free(path);
		if (len + 1 < sizeof(searched))
			len += (size_t)snprintf(searched + len,
						sizeof(searched) - len, "%s%s",
						len ? ", " : "", pp->dirs[i]);
	}
	report(where,
	       "plugin '%s' not found; searched %s (add a directory with "
	       "[machine] plugin-path or MODVM_PLUGIN_PATH)",
	       name, len ? searched : "no directories");
	return NULL;
}

/* Refuse files someone other than root or us could have changed. */
static int vet_file(const char *path, const char *where)
{
	struct stat st, dst;
	char *dir, *slash;
	int ret = -EPERM;

	if (lstat(path, &st) < 0) {
		report(where, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (S_ISLNK(st.st_mode)) {
		report(where,
		       "%s: is a symbolic link; a plugin must be a regular "
		       "file (name its target instead)",
		       path);
		return -EPERM;
	}
	if (!S_ISREG(st.st_mode)) {
		report(where, "%s: is not a regular file", path);
		return -EPERM;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		report(where,
		       "%s: owned by uid %u, neither root nor you; refusing "
		       "to run its code",
		       path, (unsigned)st.st_uid);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		report(where,
		       "%s: is writable by group or others (mode %04o); run "
		       "chmod go-w on it",
		       path, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	if (stat(dir, &dst) < 0) {
		ret = -errno;
		report(where, "%s: %s", dir, strerror(errno));
	} else if (dst.st_mode & (S_IWGRP | S_IWOTH)) {
		report(where,
		       "%s: its folder %s is writable by group or others "
		       "(mode %04o); run chmod go-w on the folder",
		       path, dir, (unsigned)(dst.st_mode & 07777));
	} else {
		ret = 0;
	}
	free(dir);
	return ret;
}

static const char *article(const char *word)
{
	return strchr("aeiou", word[0]) ? "an" : "a";
}

/* Check the descriptor: ABI, size, kind, name and ops. */
static int check_desc(const struct modvm_plugin_desc *d, const char *path,
		      uint32_t kind, const char *where)
{
	if (d->abi_major != MODVM_ABI_MAJOR) {
		report(where,
		       "%s: built for ABI %u.%u, this modvm speaks %u.%u; "
		       "rebuild the plugin against this modvm's SDK",
		       path, d->abi_major, d->abi_minor, MODVM_ABI_MAJOR,
		       MODVM_ABI_MINOR);
		return -EPROTO;
	}
	if (d->abi_minor > MODVM_ABI_MINOR) {
		report(where,
		       "%s: built for ABI %u.%u, newer than this modvm's "
		       "%u.%u; upgrade modvm or rebuild the plugin",
		       path, d->abi_major, d->abi_minor, MODVM_ABI_MAJOR,
		       MODVM_ABI_MINOR);
		return -EPROTO;
	}
	if (d->size < DESC_MIN_SIZE) {
		report(where,
		       "%s: descriptor is %u bytes, ABI %u.%u needs at least "
		       "%zu; not a modvm plugin?",
		       path, d->size, d->abi_major, d->abi_minor,
		       DESC_MIN_SIZE);
		return -EPROTO;
	}
	if (!d->name || !d->name[0] || !d->ops ||
	    *(const uint32_t *)d->ops < sizeof(uint32_t)) {
		report(where,
		       "%s: descriptor has no name or no ops table; fix the "
		       "plugin's MODVM_PLUGIN_EXPORT",
		       path);
		return -EPROTO;
	}
	if (d->kind < MODVM_PLUGIN_ARCH || d->kind > MODVM_PLUGIN_EXIT) {
		report(where, "%s: unknown plugin kind %u", path, d->kind);
		return -EPROTO;
	}
	if (kind && d->kind != kind) {
		report(where, "%s: is %s %s plugin, used as %s %s plugin",
		       path, article(modvm_plugin_kind_name(d->kind)),
		       modvm_plugin_kind_name(d->kind),
		       article(modvm_plugin_kind_name(kind)),
		       modvm_plugin_kind_name(kind));
		return -EPROTO;
	}
	return 0;
}

int plugin_open(struct modvm_plugin **out, const char *name, uint32_t kind,
		const struct plugin_path *pp, const char *where)
{
	struct modvm_plugin *p;
	int ret;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->path = resolve(name, pp, where);
	if (!p->path) {
		ret = -ENOENT;
		goto out_free;
	}
	ret = vet_file(p->path, where);
	if (ret)
		goto out_free;
	p->handle = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle) {
		report(where, "cannot load: %s", dlerror());
		ret = -ENOEXEC;
		goto out_free;
	}
	p->desc = dlsym(p->handle, MODVM_PLUGIN_SYMBOL);
	if (!p->desc) {
		report(where,
		       "%s: not a modvm plugin (it exports no %s)",
		       p->path, MODVM_PLUGIN_SYMBOL);
		ret = -ENOEXEC;
		goto out_close;
	}
	ret = check_desc(p->desc, p->path, kind, where);
	if (ret)
		goto out_close;
	p->name = strdup(p->desc->name);
	if (!p->name) {
		ret = -ENOMEM;
		goto out_close;
	}
	*out = p;
	return 0;

out_close:
	dlclose(p->handle);
out_free:
	free(p->path);
	free(p);
	return ret;
}

int plugin_init(struct modvm_plugin *p, const struct modvm_host *host,
		const char *where)
{
	int ret;

	if (!p->desc->init) {
		p->initialized = true;
		return 0;
	}
	p->reported_error = false;
	ret = p->desc->init(p, host, &p->state);
	if (ret) {
		/* One line per problem: say more only when the plugin did
		 * not say why itself. */
		if (!p->reported_error)
			report(where, "plugin %s failed to initialise (%s)",
			       p->name, strerror(ret < 0 ? -ret : ret));
		return ret < 0 ? ret : -ret;
	}
	p->initialized = true;
	return 0;
}

void plugin_close(struct modvm_plugin *p)
{
	if (!p)
		return;
	if (p->initialized && p->desc->fini)
		p->desc->fini(p->state);
	if (p->handle)
		dlclose(p->handle);
	free(p->name);
	free(p->path);
	free(p);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the *.so files in dir, sorted; NULL-terminated. */
static char **list_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **grown;

		if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
			continue;
		grown = realloc(names, (n + 2) * sizeof(*names));
		if (!grown)
			break;
		names = grown;
		names[n] = strndup(de->d_name, len - 3);
		if (!names[n])
			break;
		n++;
		names[n] = NULL;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof(*names), compare_names);
	return names;
}

int plugin_list(const struct plugin_path *pp, FILE *out)
{
	char **seen = NULL;
	size_t n_seen = 0;
	int failures = 0;

	fprintf(out, "%-16s %-7s %-8s %-44s %s\n", "NAME", "KIND", "VERSION",
		"PATH", "DESCRIPTION");
	for (unsigned i = 0; i < pp->n; i++) {
		char **names = list_dir(pp->dirs[i]);

		for (size_t j = 0; names && names[j]; j++) {
			struct modvm_plugin *p;
			char *path = NULL;
			bool shadowed = false;

			for (size_t k = 0; k < n_seen; k++)
				shadowed |= strcmp(seen[k], names[j]) == 0;
			if (!shadowed && asprintf(&path, "%s/%s.so",
						  pp->dirs[i], names[j]) >= 0) {
				if (plugin_open(&p, path, 0, pp, NULL) == 0) {
					fprintf(out, "%-16s %-7s %-8s %-44s %s\n",
						p->desc->name,
						modvm_plugin_kind_name(p->desc->kind),
						p->desc->version ? p->desc->version : "-",
						p->path,
						p->desc->description ? p->desc->description : "");
					plugin_close(p);
				} else {
					failures++;
				}
			}
			free(path);
			if (!shadowed) {
				char **grown = realloc(seen, (n_seen + 1) * sizeof(*seen));

				if (grown) {
					seen = grown;
					seen[n_seen++] = names[j];
					continue;
				}
			}
			free(names[j]);
		}
		free(names);
	}
	for (size_t k = 0; k < n_seen; k++)
		free(seen[k]);
	free(seen);
	return failures ? -EINVAL : 0;
}
