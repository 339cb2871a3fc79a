/* SPDX-License-Identifier: MIT */
/* Core logging: one line per message to stderr, "modvm: " prefixed. */
#ifndef MODVM_CORE_LOG_H
#define MODVM_CORE_LOG_H

#include <stdarg.h>

#include <modvm/host.h>

/* Messages above this level are dropped; -q lowers it, -v raises it. */
extern int log_level;

void log_msg(enum modvm_log_level level, const char *fmt, ...)
	MODVM_PRINTF(2, 3);
void log_vmsg(enum modvm_log_level level, const char *prefix,
	      const char *fmt, va_list ap) MODVM_PRINTF(3, 0);

#define log_error(...) log_msg(MODVM_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(MODVM_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(MODVM_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(MODVM_LOG_DEBUG, __VA_ARGS__)

#endif
