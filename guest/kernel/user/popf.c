/*
 * popf.c - kernel-heavy critical sections: n kwork(work, seed) system
 * calls.  In the kernel each runs `work` iterations of two nested critical
 * sections: cli/sti under irq=cli, pushf/cli/popf under irq=popf.  The
 * results depend only on the arguments; the first and the last are checked
 * against the same computation done here.
 */
#include "wl.h"

static unsigned expect(unsigned n, unsigned seed)
{
	unsigned x = seed, i;

	for (i = 0; i < n; i++)
		x = kwork_inner(kwork_outer(x, i));
	return x;
}

int run_popf(unsigned n, unsigned work, uint32_t *ck)
{
	unsigned i, bad = 0;
	uint32_t c = ck_add(ck_add(CK_INIT, n), work);

	for (i = 0; i < n; i++) {
		unsigned seed = i * 0x9E3779B9u, r = kwork(work, seed);

		if ((i == 0 || i == n - 1) && r != expect(work, seed))
			bad++;
		c = ck_add(c, r);
	}
	printf("popf: %u kwork calls x %u nested critical sections, %s\n",
	       n, work, bad ? "WRONG results" : "results as expected");
	printf("checksum popf 0x%08x\n", c);
	*ck = c;
	return bad == 0 ? 0 : 1;
}
