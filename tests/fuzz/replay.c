/* SPDX-License-Identifier: MIT */
/*
 * main() for a fuzz target built without libFuzzer: run every file
 * named on the command line (a folder: every file in it, sorted) once
 * through LLVMFuzzerTestOneInput. A crash or a failed check aborts, so
 * the corpus is a regression test under gcc, ASan and valgrind alike.
 * Exit status 0 when all ran, 1 when a file could not be read, 77 (a
 * skip) when no input was found.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* Where replay's own messages go: stdout as it was at start. */
static FILE *report;

/* Weak: targets without an initializer leave it undefined. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = NULL;
	size_t size = 0, cap = 0, n;

	if (!f) {
		fprintf(report, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (size == cap) {
			uint8_t *grown = realloc(buf, cap ? cap * 2 : 4096);

			if (!grown) {
				fclose(f);
				free(buf);
				return -1;
			}
			buf = grown;
			cap = cap ? cap * 2 : 4096;
		}
		n = fread(buf + size, 1, cap - size, f);
		size += n;
	} while (n);
	fclose(f);
	/* An exact-size copy, so ASan sees reads past the input's end. */
	uint8_t *exact = malloc(size ? size : 1);

	if (!exact) {
		free(buf);
		return -1;
	}
	if (size)
		memcpy(exact, buf, size);
	free(buf);
	LLVMFuzzerTestOneInput(exact, size);
	free(exact);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run one file, or every regular file of a folder; counts into *ran. */
static int run_path(const char *path, unsigned *ran)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int ret = 0;
	DIR *d;

	if (stat(path, &st) < 0) {
		fprintf(report, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		ret = run_file(path);
		*ran += ret == 0;
		return ret;
	}
	d = opendir(path);
	if (!d) {
		fprintf(report, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char **grown;

		if (de->d_name[0] == '.')
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown)
			break;
		names = grown;
		if (asprintf(&names[n], "%s/%s", path, de->d_name) < 0)
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(names[i]) == 0)
				(*ran)++;
			else
				ret = -1;
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	/* The targets may point stdout and stderr elsewhere: keep a copy. */
	int fd = dup(STDOUT_FILENO);
	FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
	unsigned ran = 0;
	int status = 0;

	if (!out)
		out = stdout;
	report = out;
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &ran) < 0)
			status = 1;
	fprintf(out, "replay: %u inputs ran\n", ran);
	if (!status && !ran) {
		fprintf(out, "replay: no input found; give files or folders\n");
		status = 77;
	}
	fclose(out);
	return status;
}
