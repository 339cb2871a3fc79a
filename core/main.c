/* SPDX-License-Identifier: MIT */
/*
 * modvm [OPTIONS] VM.ini: read the settings, assemble the machine from
 * plugins, and run it (or, with --check, only validate and describe it).
 *
 * Exit status: 0 the guest powered off (or reset, with [machine]
 * on-reset = stop) or the check passed; 1 a guest or runtime failure;
 * 2 a usage, configuration or plugin error; the guest's own through
 * debug-exit; 128 + N after signal N (SIGTERM, SIGINT). machine_run
 * (core/run.c) decides and handles the signals; see modvm(1).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modvm-config.h"

#include "config.h"
#include "log.h"
#include "machine.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

enum {
	OPT_CHECK = 0x100,
	OPT_LIST_PLUGINS,
	OPT_SET,
	OPT_DUMP,
};

static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "list-plugins", no_argument, NULL, OPT_LIST_PLUGINS },
	{ "set", required_argument, NULL, OPT_SET },
	{ "dump", required_argument, NULL, OPT_DUMP },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fputs("Usage: modvm [OPTIONS] VM.ini\n"
	      "Run the virtual machine VM.ini describes, assembled from "
	      "plugins.\n"
	      "\n"
	      "Options:\n"
	      "  --check            load and validate everything, print a "
	      "summary,\n"
	      "                     do not touch /dev/kvm\n"
	      "  --set S.K=V        override key K of section S (device.NAME.K "
	      "for\n"
	      "                     named sections); may repeat\n"
	      "  --dump=WHAT[:ARG]  with --check: have the arch plugin print "
	      "or write\n"
	      "                     a table (cpuid; dtb:FILE, pptt:FILE on "
	      "arm64)\n"
	      "  --list-plugins     list the plugins found (with VM.ini: its "
	      "plugin-path too)\n"
	      "  -v, --verbose      more messages (repeat for debug)\n"
	      "  -q, --quiet        errors only\n"
	      "  -h, --help         this help\n"
	      "  -V, --version      print the version\n"
	      "\n"
	      "Plugins are searched in [machine] plugin-path, "
	      "$MODVM_PLUGIN_PATH,\n"
	      "the build tree when run from it, and " MODVM_PLUGINDIR ".\n"
	      "Exit status: 0 guest powered off or reset (or check passed), "
	      "1 guest or\n"
	      "runtime failure, 2 usage, configuration or plugin error, "
	      "128+N signal N\n"
	      "(SIGTERM 143, SIGINT 130); debug-exit: the guest's. See "
	      "modvm(1).\n",
	      out);
}

struct options {
	bool check;
	bool list_plugins;
	const char *dump;
	const char *ini;
	const char **sets;
	unsigned n_sets;
};

static int parse_args(int argc, char **argv, struct options *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "hVvq", long_options, NULL)) !=
	       -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("modvm %s (plugin ABI %d.%d)\n", MODVM_VERSION,
			       MODVM_ABI_MAJOR, MODVM_ABI_MINOR);
			exit(0);
		case 'v':
			log_level++;
			break;
		case 'q':
			log_level = MODVM_LOG_ERROR;
			break;
		case OPT_CHECK:
			o->check = true;
			break;
		case OPT_LIST_PLUGINS:
			o->list_plugins = true;
			break;
		case OPT_DUMP:
			o->dump = optarg;
			break;
		case OPT_SET:
			o->sets[o->n_sets++] = optarg;
			break;
		default:
			fputs("Try 'modvm --help'.\n", stderr);
			return -EINVAL;
		}
	}
	if (optind < argc)
		o->ini = argv[optind++];
	if (optind < argc) {
		log_error("unexpected argument '%s'; give one VM.ini "
			  "(try 'modvm --help')",
			  argv[optind]);
		return -EINVAL;
	}
	if (!o->ini && !o->list_plugins) {
		log_error("no VM.ini given (try 'modvm --help')");
		return -EINVAL;
	}
	if (o->dump && !o->check) {
		log_error("--dump needs --check");
		return -EINVAL;
	}
	return 0;
}

static int list_plugins(const struct options *o)
{
	struct config *cfg = NULL;
	const char *dirs = NULL;
	struct plugin_path pp;
	int ret;

	if (o->ini) {
		if (config_load(&cfg, o->ini))
			return EXIT_USAGE;
		config_get_string(config_section(cfg, "machine", NULL),
				  "plugin-path", &dirs);
	}
	ret = plugin_path_init(&pp, dirs, cfg ? cfg->dir : NULL);
	if (!ret) {
		ret = plugin_list(&pp, stdout);
		plugin_path_free(&pp);
	}
	config_free(cfg);
	return ret ? EXIT_USAGE : 0;
}

static int dump(struct machine *m, const char *what)
{
	char *name = strdup(what), *arg;
	int ret;

	if (!name)
		return EXIT_RUNTIME;
	arg = strchr(name, ':');
	if (arg)
		*arg++ = '\0';
	m->arch->reported_error = false;
	ret = m->arch_ops->dump ? m->arch_ops->dump(m->arch->state, name,
						    arg, stdout)
				: -ENOENT;
	/* -ENOENT is also a file the plugin could not create; then it has
	 * said so itself. */
	if (ret == -ENOENT && !m->arch->reported_error)
		log_error("--dump=%s: the %s plugin has no such table", what,
			  m->arch->desc->name);
	free(name);
	return ret ? EXIT_USAGE : 0;
}

/*
 * For a run, SIGINT and SIGTERM stay blocked from here on: one that comes
 * while the machine loads waits in the signalfd machine_run reads, and
 * stops the run as soon as it starts, with the same status and cleanup
 * as one that comes later (modvm(1), SIGNALS).
 */
static void block_stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct config *cfg = NULL;
	struct machine *m = NULL;
	int status = EXIT_USAGE;

	o.sets = calloc((size_t)argc, sizeof(*o.sets));
	if (!o.sets)
		return EXIT_RUNTIME;
	if (parse_args(argc, argv, &o))
		goto out;
	if (o.list_plugins) {
		status = list_plugins(&o);
		goto out;
	}
	if (!o.check)
		block_stop_signals();
	if (config_load(&cfg, o.ini))
		goto out;
	for (unsigned i = 0; i < o.n_sets; i++)
		if (config_set(cfg, o.sets[i]))
			goto out_config;
	/* machine_load owns cfg from here, also when it fails. */
	if (machine_load(&m, cfg))
		goto out;
	if (o.check) {
		status = 0;
		if (o.dump)
			status = dump(m, o.dump);
		else
			machine_print(m, stdout);
	} else {
		status = machine_run(m);
	}
	machine_free(m);
	goto out;

out_config:
	config_free(cfg);
out:
	free(o.sets);
	return status;
}
