/*
 * pagefault.c - demand paging: each round maps n fresh anonymous pages,
 * which the kernel only promises, then touches every page (one write, which
 * faults and gets a zeroed frame, then reads), checks the rest of the page
 * is still zero, and unmaps them all.
 */
#include "wl.h"

#define WORDS (4096 / 4)

static uint32_t value(unsigned i, unsigned r)
{
	uint32_t x = (i + 1) * 0x9E3779B9u ^ (r + 1) * 0x85EBCA6Bu;

	return x ^ (x >> 13);
}

int run_pagefault(unsigned n, unsigned rounds, uint32_t *ck)
{
	unsigned r, i, bad = 0;
	uint32_t c = ck_add(ck_add(CK_INIT, n), rounds);

	for (r = 0; r < rounds; r++) {
		uint32_t *p = mmap(n * 4096, PROT_READ | PROT_WRITE);

		if (p == MAP_FAILED) {
			printf("pagefault: mmap of %u pages failed\n", n);
			return 1;
		}
		for (i = 0; i < n; i++)		/* first touch: a write */
			p[i * WORDS + (i * 7) % WORDS] = value(i, r);
		for (i = 0; i < n; i++) {	/* read back */
			uint32_t *page = p + i * WORDS;
			uint32_t v = page[(i * 7) % WORDS];

			if (v != value(i, r) || page[(i * 7 + 1) % WORDS] != 0)
				bad++;
			c = ck_add(c, v);
		}
		if (munmap(p, n * 4096) != 0) {
			printf("pagefault: munmap failed\n");
			return 1;
		}
	}
	printf("pagefault: %u rounds of %u pages: %u faults expected, %u bad pages\n",
	       rounds, n, rounds * n, bad);
	printf("checksum pagefault 0x%08x\n", c);
	*ck = c;
	return bad == 0 ? 0 : 1;
}
