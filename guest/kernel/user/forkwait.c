/*
 * forkwait.c - fork and wait in a loop (Adams & Agesen, ASPLOS 2006).
 *
 * n times: fork; the child computes a byte from its iteration number and
 * exits with it; the parent waits and checks the status.  Every fork copies
 * the page tables copy-on-write, every child takes a COW fault or two on its
 * stack before exiting, and every exit tears an address space down: a
 * process-creation benchmark that is mostly page-table work.
 */
#include "wl.h"

static int child_status(unsigned i)
{
	uint32_t x = i * 2654435761u;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (int)(x & 0xFF);
}

int run_forkwait(unsigned n, uint32_t *ck)
{
	unsigned i, good = 0;
	uint32_t c = ck_add(CK_INIT, n);

	for (i = 0; i < n; i++) {
		int pid = fork(), st = -1, w;

		if (pid < 0) {
			printf("forkwait: fork failed (%d) in iteration %u\n", pid, i);
			return 1;
		}
		if (pid == 0)
			exit(child_status(i));
		w = wait(&st);
		if (w == pid && st == child_status(i))
			good++;
		c = ck_add(c, (uint32_t)st);
	}
	printf("forkwait: %u fork/exit/wait, %u statuses as expected\n", n, good);
	printf("checksum forkwait 0x%08x\n", c);
	*ck = c;
	return good == n ? 0 : 1;
}
