/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "log.h"

int log_level = MODVM_LOG_INFO;

static const char *const level_tag[] = {
	[MODVM_LOG_ERROR] = "error: ",
	[MODVM_LOG_WARN] = "warning: ",
	[MODVM_LOG_INFO] = "",
	[MODVM_LOG_DEBUG] = "debug: ",
};

void log_vmsg(enum modvm_log_level level, const char *prefix, const char *fmt,
	      va_list ap)
{
	char line[1024];

	if ((int)level > log_level)
		return;
	/* Format first and write once, so lines from vCPU threads do not
	 * interleave. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "modvm: %s%s%s%s\n",
		level <= MODVM_LOG_DEBUG ? level_tag[level] : "",
		prefix ? prefix : "", prefix ? ": " : "", line);
}

void log_msg(enum modvm_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, NULL, fmt, ap);
	va_end(ap);
}
