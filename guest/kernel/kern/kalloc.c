/*
 * kalloc.c - the physical frame allocator.
 *
 * Every 4 KiB frame of available RAM above the kernel image (and not holding
 * a multiboot module) goes on a free list threaded through the free frames
 * themselves (the first word of a free frame points to the next one; RAM is
 * identity-mapped, so a physical address is also a pointer).  RAM below
 * 1 MiB is left alone (real-mode IVT, BIOS data, VGA).
 *
 * Each frame has a reference count: 1 when allocated, +1 for every further
 * page table entry that maps it (fork shares frames copy-on-write).  kfree()
 * drops one reference and frees the frame when none is left.
 */
#include "defs.h"
#include "irq.h"

extern char _end[];	/* end of the kernel image, from kernel.ld */

struct run {
	struct run *next;
};

static struct run *freelist;
static uint32_t nfree;
uint32_t frames_total;
static uint16_t refcnt[PHYS_MAX / PGSIZE];

static int in_module(uint32_t pa)
{
	int i;

	for (i = 0; i < nmodules; i++)
		if (pa + PGSIZE > modules[i].start && pa < modules[i].end)
			return 1;
	return 0;
}

/* Put every usable frame on the free list, highest first, so that kalloc
 * hands them out from low addresses up. */
void frame_init(void)
{
	uint32_t lo = PGROUNDUP((uint32_t)_end);
	int i;

	for (i = nram - 1; i >= 0; i--) {
		uint32_t start = PGROUNDUP(ram[i].start);
		uint32_t pa = PGROUNDDOWN(ram[i].end);

		if (start < lo)
			start = lo;
		while (pa > start) {
			pa -= PGSIZE;
			if (in_module(pa))
				continue;
			((struct run *)pa)->next = freelist;
			freelist = (struct run *)pa;
			nfree++;
		}
	}
	frames_total = nfree;
	if (nfree < 64)
		panic("only %u free frames", nfree);
}

/* Allocate one zeroed frame with a reference count of 1; 0 if none left. */
void *kalloc(void)
{
	irqflags_t f = irq_save();
	struct run *r = freelist;

	if (r) {
		freelist = r->next;
		nfree--;
		refcnt[(uint32_t)r / PGSIZE] = 1;
	}
	irq_restore(f);
	if (r)
		memset(r, 0, PGSIZE);
	return r;
}

/* Drop one reference to the frame at pa; free it when it was the last. */
void kfree(void *pa)
{
	uint32_t i = (uint32_t)pa / PGSIZE;
	irqflags_t f;

	if ((uint32_t)pa % PGSIZE || (uint32_t)pa < (uint32_t)_end ||
	    (uint32_t)pa >= ram_top)
		panic("kfree: bad frame 0x%x", (uint32_t)pa);
	f = irq_save();
	if (refcnt[i] == 0)
		panic("kfree: frame 0x%x is already free", (uint32_t)pa);
	if (--refcnt[i] == 0) {
		struct run *r = pa;
		r->next = freelist;
		freelist = r;
		nfree++;
	}
	irq_restore(f);
}

/* One more page table entry maps the frame at pa. */
void frame_incref(uint32_t pa)
{
	irqflags_t f = irq_save();

	if (refcnt[pa / PGSIZE] == 0 || refcnt[pa / PGSIZE] == 0xFFFF)
		panic("frame_incref: frame 0x%x has %u references", pa,
		      refcnt[pa / PGSIZE]);
	refcnt[pa / PGSIZE]++;
	irq_restore(f);
}

uint32_t frame_refs(uint32_t pa)
{
	return refcnt[pa / PGSIZE];
}

uint32_t frames_free(void)
{
	return nfree;
}
