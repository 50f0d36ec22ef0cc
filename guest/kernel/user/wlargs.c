/*
 * wlargs.c - parse a workload's key=value arguments with the knob table the
 * kernel also uses (common/workloads.h).
 */
#include "wl.h"
#include "../common/workloads.h"

static const struct knob *find(const char *workload, const char *arg,
			       const char **value)
{
	const struct knob *k;

	for (k = knobs; k->workload; k++) {
		size_t n = strlen(k->key);

		if (strcmp(k->workload, workload) == 0 &&
		    strncmp(arg, k->key, n) == 0 && arg[n] == '=') {
			*value = arg + n + 1;
			return k;
		}
	}
	return 0;
}

/* A decimal number, or -1. */
static long long number(const char *s)
{
	long long v = 0;
	int n = 0;

	for (; *s; s++, n++) {
		if (*s < '0' || *s > '9' || n >= 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return n ? v : -1;
}

/* 0 if every argument is a known knob with a value in range; else print
 * why not and return -1. */
int wl_check_args(const char *workload, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *value;
		const struct knob *k = find(workload, argv[i], &value);
		long long v;

		if (!k) {
			printf("%s: unknown argument '%s'\n", workload, argv[i]);
			return -1;
		}
		v = number(value);
		if (v < (long long)k->min || v > (long long)k->max) {
			printf("%s: %s must be a number from %u to %u\n",
			       workload, k->key, k->min, k->max);
			return -1;
		}
	}
	return 0;
}

/* The value of knob key: the last one given, or its default. */
unsigned wl_knob(const char *workload, const char *key, int argc, char **argv)
{
	const struct knob *k;
	unsigned v = 0;
	int i, found = 0;

	for (k = knobs; k->workload; k++) {
		if (strcmp(k->workload, workload) == 0 && strcmp(k->key, key) == 0) {
			v = k->def;
			found = 1;
		}
	}
	if (!found) {
		printf("%s: no knob '%s'\n", workload, key);
		exit(3);
	}
	for (i = 1; i < argc; i++) {
		const char *value;

		k = find(workload, argv[i], &value);
		if (k && strcmp(k->key, key) == 0)
			v = (unsigned)number(value);
	}
	return v;
}
