/*
 * ptemod.c - page table entry writes: n times, mprotect a range of pages
 * read-only, read them, mprotect them read-write again, write them.  Every
 * mprotect rewrites one PTE per page (and invlpg's it); the writes in
 * between make sure the pages really are writable again.
 */
#include "wl.h"

#define WORDS (4096 / 4)

int run_ptemod(unsigned n, unsigned pages, uint32_t *ck)
{
	unsigned it, i, bad = 0;
	uint32_t c = ck_add(ck_add(CK_INIT, n), pages);
	uint32_t *p = mmap(pages * 4096, PROT_READ | PROT_WRITE);

	if (p == MAP_FAILED) {
		printf("ptemod: mmap failed\n");
		return 1;
	}
	for (i = 0; i < pages; i++)
		p[i * WORDS] = i;
	for (it = 0; it < n; it++) {
		uint32_t sum = 0;

		if (mprotect(p, pages * 4096, PROT_READ) != 0)
			bad++;
		for (i = 0; i < pages; i++)
			sum += p[i * WORDS] * (i + 1);
		if (mprotect(p, pages * 4096, PROT_READ | PROT_WRITE) != 0)
			bad++;
		for (i = 0; i < pages; i++)
			p[i * WORDS] = p[i * WORDS] * 3 + it;
		c = ck_add(c, sum);
	}
	for (i = 0; i < pages; i++)
		c = ck_add(c, p[i * WORDS]);
	munmap(p, pages * 4096);
	printf("ptemod: %u x (RW -> RO -> RW) of %u pages, %u failed mprotects\n",
	       n, pages, bad);
	printf("checksum ptemod 0x%08x\n", c);
	*ck = c;
	return bad == 0 ? 0 : 1;
}
