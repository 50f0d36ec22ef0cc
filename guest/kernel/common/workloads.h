/*
 * workloads.h - the workloads and their knobs, in one table.
 *
 * The kernel checks the command line against this table (kern/cmdline.c)
 * and the user programs parse their arguments with it (user/wlargs.c), so a
 * knob exists, with one default and one range, in exactly one place.
 *
 * A knob is given as key=value (a decimal number) on the kernel command line
 * after workload=NAME, or as an argument of the Linux build.
 */
#ifndef COMMON_WORKLOADS_H
#define COMMON_WORKLOADS_H

struct knob {
	const char *workload;	/* the workload it belongs to */
	const char *key;
	unsigned def, min, max;
	const char *help;
};

static const char *const workload_names[] = {
	"cpu", "forkwait", "syscall", "pagefault", "ctxsw", "ptemod", "popf",
	"mix", "selftest", 0
};

static const struct knob knobs[] = {
	{ "cpu", "n", 80, 1, 100000,
	  "rounds of the integer kernels (~4M instructions each)" },
	{ "forkwait", "n", 2000, 1, 10000000,
	  "fork + exit + wait iterations" },
	{ "syscall", "n", 1000000, 1, 100000000,
	  "null system calls (getpid)" },
	{ "pagefault", "n", 2048, 1, 16384,
	  "pages mapped, touched and unmapped per round" },
	{ "pagefault", "rounds", 32, 1, 100000,
	  "rounds" },
	{ "ctxsw", "n", 50000, 1, 10000000,
	  "yields per process" },
	{ "ctxsw", "procs", 4, 1, 48,
	  "processes yielding to each other" },
	{ "ptemod", "n", 20000, 1, 10000000,
	  "RW -> RO -> RW cycles" },
	{ "ptemod", "pages", 16, 1, 1024,
	  "pages in the range" },
	{ "popf", "n", 8000, 1, 10000000,
	  "kwork system calls" },
	{ "popf", "work", 256, 1, 65536,
	  "nested critical sections per kwork call" },
	{ "mix", "n", 1, 1, 1000,
	  "scale of every part" },
	{ 0, 0, 0, 0, 0, 0 }
};

#endif
