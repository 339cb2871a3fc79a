/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the unit tests. */
#ifndef MODVM_TEST_HELPERS_H
#define MODVM_TEST_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Write text to a new file in a fresh 0700 temporary folder. */
static inline char *write_temp(const char *name, const char *text)
{
	char dir[] = "/tmp/modvm-test-XXXXXX", *path;
	FILE *f;

	if (!mkdtemp(dir))
		return NULL;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

/* Remove a file made by write_temp and its folder. */
static inline void remove_temp(char *path)
{
	char *slash;

	if (!path)
		return;
	unlink(path);
	slash = strrchr(path, '/');
	*slash = '\0';
	rmdir(path);
	free(path);
}

/*
 * Run fn with stderr captured; returns what it printed (malloc'ed).
 * The core reports errors on stderr, and the tests check their text.
 */
static inline char *capture_stderr(int (*fn)(void *), void *arg, int *ret)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&buf, &size);
	FILE *saved = stderr;

	stderr = mem;
	*ret = fn(arg);
	stderr = saved;
	fclose(mem);
	return buf;
}

#endif
