/*
 * wlmain.c - main() of a single-workload program.  The Makefile compiles it
 * once per workload with -DWORKLOAD=\"name\" -DWL_name.
 *
 *   name [key=value ...]      e.g.  ctxsw procs=8 n=1000
 *
 * Exit status: 0 when the workload's checks passed, 1 when not, 3 for bad
 * arguments.
 */
#include "wl.h"

int main(int argc, char **argv)
{
	const char *name = WORKLOAD;
	uint32_t ck = CK_INIT;
	unsigned t0, t1, hz = uptime(UPTIME_HZ);
	int r;

	if (wl_check_args(name, argc, argv) < 0)
		return 3;
	t0 = uptime(UPTIME_TICKS);
#if defined(WL_cpu)
	r = run_cpu(wl_knob(name, "n", argc, argv), &ck);
#elif defined(WL_forkwait)
	r = run_forkwait(wl_knob(name, "n", argc, argv), &ck);
#elif defined(WL_syscall)
	r = run_syscall(wl_knob(name, "n", argc, argv), &ck);
#elif defined(WL_pagefault)
	r = run_pagefault(wl_knob(name, "n", argc, argv),
			  wl_knob(name, "rounds", argc, argv), &ck);
#elif defined(WL_ctxsw)
	r = run_ctxsw(wl_knob(name, "n", argc, argv),
		      wl_knob(name, "procs", argc, argv), &ck);
#elif defined(WL_ptemod)
	r = run_ptemod(wl_knob(name, "n", argc, argv),
		       wl_knob(name, "pages", argc, argv), &ck);
#elif defined(WL_popf)
	r = run_popf(wl_knob(name, "n", argc, argv),
		     wl_knob(name, "work", argc, argv), &ck);
#else
#error "compile with -DWL_<workload>"
#endif
	t1 = uptime(UPTIME_TICKS);
	printf("time: %s took %u ticks (%u ms)\n", name, t1 - t0,
	       (t1 - t0) * 1000 / hz);
	printf("%s: %s\n", name, r == 0 ? "ok" : "FAILED");
	return r == 0 ? 0 : 1;
}
