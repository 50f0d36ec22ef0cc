/*
 * ctxsw.c - context switches: procs processes each call yield() n times,
 * so the kernel switches between them (and loads CR3) about procs * n
 * times.  They share nothing; each exits with a byte computed from its
 * index and its loop, and the parent checks them all.
 */
#include "wl.h"

#define MAXPROCS 48

static uint32_t child_work(unsigned k, unsigned n, int yielding)
{
	uint32_t x = k + 1;
	unsigned j;

	for (j = 0; j < n; j++) {
		if (yielding)
			yield();
		x = x * 31 + j;
	}
	return x;
}

int run_ctxsw(unsigned n, unsigned procs, uint32_t *ck)
{
	int pids[MAXPROCS], status[MAXPROCS];
	unsigned k, good = 0;
	uint32_t c = ck_add(ck_add(CK_INIT, n), procs);

	if (procs > MAXPROCS)
		procs = MAXPROCS;
	for (k = 0; k < procs; k++) {
		pids[k] = fork();
		if (pids[k] < 0) {
			printf("ctxsw: fork failed (%d)\n", pids[k]);
			return 1;
		}
		if (pids[k] == 0)
			exit((int)(child_work(k, n, 1) & 0xFF));
		status[k] = -1;
	}
	for (k = 0; k < procs; k++) {
		int st, pid = wait(&st);
		unsigned j;

		for (j = 0; j < procs; j++)
			if (pids[j] == pid)
				status[j] = st;
	}
	for (k = 0; k < procs; k++) {	/* in index order, not exit order */
		if (status[k] == (int)(child_work(k, n, 0) & 0xFF))
			good++;
		c = ck_add(c, (uint32_t)status[k]);
	}
	printf("ctxsw: %u processes x %u yields, %u finished as expected\n",
	       procs, n, good);
	printf("checksum ctxsw 0x%08x\n", c);
	*ck = c;
	return good == procs ? 0 : 1;
}
