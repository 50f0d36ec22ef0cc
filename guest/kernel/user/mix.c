/*
 * mix.c - a little of every workload, in sequence: the headline demo.
 *
 *   mix [n=SCALE]
 *
 * Each part prints its own lines, including its checksum line (the same a
 * standalone run with the same sizes prints); the summary table and one
 * combined checksum follow.  A short sleep between parts lets the idle
 * process halt the CPU for a moment.  With n=1, a few tens of millions of
 * instructions in all.
 */
#include "wl.h"

struct part {
	const char *name;
	unsigned a, b;		/* sizes at n=1 */
	const char *ka, *kb;	/* their knob names */
};

static const struct part parts[] = {
	{ "cpu",       2,     0,   "n", 0 },
	{ "forkwait",  200,   0,   "n", 0 },
	{ "syscall",   30000, 0,   "n", 0 },
	{ "pagefault", 512,   4,   "n", "rounds" },
	{ "ctxsw",     500,   4,   "n", "procs" },
	{ "ptemod",    300,   16,  "n", "pages" },
	{ "popf",      500,   64,  "n", "work" },
};
#define NPARTS (sizeof(parts) / sizeof(parts[0]))

static int run_part(int i, unsigned a, unsigned b, uint32_t *ck)
{
	switch (i) {
	case 0: return run_cpu(a, ck);
	case 1: return run_forkwait(a, ck);
	case 2: return run_syscall(a, ck);
	case 3: return run_pagefault(a, b, ck);
	case 4: return run_ctxsw(a, b, ck);
	case 5: return run_ptemod(a, b, ck);
	default: return run_popf(a, b, ck);
	}
}

int main(int argc, char **argv)
{
	unsigned s, i, hz = uptime(UPTIME_HZ), ticks[NPARTS];
	uint32_t cks[NPARTS], c;
	int res[NPARTS], failed = 0;

	if (wl_check_args("mix", argc, argv) < 0)
		return 3;
	s = wl_knob("mix", "n", argc, argv);
	c = ck_add(CK_INIT, s);
	printf("mix: %u parts at scale %u\n", (unsigned)NPARTS, s);
	for (i = 0; i < NPARTS; i++) {
		unsigned t0, a = parts[i].a * s, b = parts[i].b;

		cks[i] = CK_INIT;
		printf("mix: --- %s %s=%u", parts[i].name, parts[i].ka, a);
		if (parts[i].kb)
			printf(" %s=%u", parts[i].kb, b);
		printf("\n");
		t0 = uptime(UPTIME_TICKS);
		res[i] = run_part((int)i, a, b, &cks[i]);
		ticks[i] = uptime(UPTIME_TICKS) - t0;
		failed |= res[i];
		c = ck_add(c, cks[i]);
		sleep(1);	/* let the CPU idle for a tick */
	}

	printf("mix: summary\n");
	printf("mix:   %-10s %-22s %-10s %s\n", "part", "sizes", "checksum", "result");
	for (i = 0; i < NPARTS; i++) {
		char sizes[32];

		if (parts[i].kb)
			fmt(sizes, sizeof(sizes), "%s=%u %s=%u", parts[i].ka,
			    parts[i].a * s, parts[i].kb, parts[i].b);
		else
			fmt(sizes, sizeof(sizes), "%s=%u", parts[i].ka,
			    parts[i].a * s);
		printf("mix:   %-10s %-22s 0x%08x %s\n", parts[i].name, sizes,
		       cks[i], res[i] ? "FAILED" : "ok");
	}
	for (i = 0; i < NPARTS; i++)
		printf("time: mix %s took %u ticks (%u ms)\n", parts[i].name,
		       ticks[i], ticks[i] * 1000 / hz);
	printf("checksum mix 0x%08x\n", c);
	printf("mix: %s\n", failed ? "FAILED" : "ok");
	return failed ? 1 : 0;
}
