/*
 * vm.c - segments, the kernel's page tables, page directories, and the
 * memory regions (VMAs) of a process.
 *
 * Paging in this kernel (see param.h for the picture):
 *   - One set of kernel page tables maps all RAM, identity (VA == PA),
 *     supervisor-only, 4 KiB pages, page 0 left unmapped.  kpgdir holds
 *     them; every process's page directory copies kpgdir's PDEs, so the
 *     kernel tables are shared and never change after boot.
 *   - PDEs from USER_BASE (0x40000000) up to USTACK_TOP (0xC0000000) belong
 *     to the process; their page tables are allocated as pages get mapped.
 *   - Only mappings the kernel chose exist: a process's VMAs say which
 *     addresses may be mapped and how, and the page-fault handler
 *     (fault.c) fills them in lazily.
 */
#include "defs.h"
#include "proc.h"
#include "x86.h"
#include "irq.h"
#include "../common/abi.h"

/* ------------------------------------------------------------------ */
/* Segments                                                             */

static uint64_t gdt[NSEGS];
static struct tss tss;

/*
 * A segment descriptor, 8 bytes:
 *
 *   63      56 55 52 51  48 47      40 39      32
 *  +----------+-----+------+----------+----------+
 *  | base     |G D 0|limit | P DPL S  | base     |
 *  | 31..24   | /B A|19..16|   type   | 23..16   |
 *  +----------+-----+------+----------+----------+
 *  | base 15..0              | limit 15..0        |
 *  +-------------------------+--------------------+
 *   31                     16 15                 0
 */
static uint64_t segdesc(uint32_t base, uint32_t limit, uint8_t access,
			uint8_t flags)
{
	return (uint64_t)(limit & 0xFFFF) |
	       ((uint64_t)(base & 0xFFFFFF) << 16) |
	       ((uint64_t)access << 40) |
	       ((uint64_t)((limit >> 16) & 0xF) << 48) |
	       ((uint64_t)(flags & 0xF) << 52) |
	       ((uint64_t)(base >> 24) << 56);
}

#define ACC_P		0x80	/* present */
#define ACC_DPL(d)	((d) << 5)
#define ACC_S		0x10	/* code or data (not system) */
#define ACC_CODE	0x0A	/* execute + read */
#define ACC_DATA	0x02	/* read + write */
#define ACC_TSS32	0x09	/* available 32-bit TSS */
#define FLG_4K32	0xC	/* 4 KiB granularity, 32-bit */

void seg_init(void)
{
	gdt[0] = 0;
	gdt[SEG_KCODE] = segdesc(0, 0xFFFFF, ACC_P | ACC_DPL(0) | ACC_S | ACC_CODE, FLG_4K32);
	gdt[SEG_KDATA] = segdesc(0, 0xFFFFF, ACC_P | ACC_DPL(0) | ACC_S | ACC_DATA, FLG_4K32);
	gdt[SEG_UCODE] = segdesc(0, 0xFFFFF, ACC_P | ACC_DPL(3) | ACC_S | ACC_CODE, FLG_4K32);
	gdt[SEG_UDATA] = segdesc(0, 0xFFFFF, ACC_P | ACC_DPL(3) | ACC_S | ACC_DATA, FLG_4K32);
	gdt[SEG_TSS] = segdesc((uint32_t)&tss, sizeof(tss) - 1,
			       ACC_P | ACC_DPL(0) | ACC_TSS32, 0);

	tss.ss0 = KDATA_SEL;
	tss.iomb = sizeof(tss);		/* no I/O bitmap */

	lgdt(gdt, sizeof(gdt));
	asm volatile(
		"ljmp %0, $1f\n"
		"1:\n\t"
		"movw %w1, %%ax\n\t"
		"movw %%ax, %%ds\n\t"
		"movw %%ax, %%es\n\t"
		"movw %%ax, %%fs\n\t"
		"movw %%ax, %%gs\n\t"
		"movw %%ax, %%ss"
		: : "i"(KCODE_SEL), "i"(KDATA_SEL) : "eax", "memory");
	ltr(TSS_SEL);
}

/* The kernel stack the CPU switches to on a trap from ring 3. */
void tss_set_esp0(uint32_t esp0)
{
	tss.esp0 = esp0;
}

/* ------------------------------------------------------------------ */
/* Page directories and tables                                          */

pde_t *kpgdir;
static uint32_t kernel_pdes;	/* PDEs 0 .. kernel_pdes-1 map RAM */

/* Build the kernel page tables, load CR3, and turn on paging with WP. */
void kvm_init(void)
{
	uint32_t pa;

	kpgdir = kalloc();
	if (!kpgdir)
		panic("kvm_init: out of memory");
	kernel_pdes = (ram_top + PTSIZE - 1) / PTSIZE;
	for (pa = PGSIZE; pa < ram_top; pa += PGSIZE) {	/* page 0: unmapped */
		pde_t *pde = &kpgdir[PDX(pa)];
		pte_t *pt;

		if (!(*pde & PTE_P)) {
			pt = kalloc();
			if (!pt)
				panic("kvm_init: out of memory");
			*pde = (uint32_t)pt | PTE_P | PTE_W;	/* supervisor */
		}
		pt = (pte_t *)PTE_ADDR(*pde);
		pt[PTX(pa)] = pa | PTE_P | PTE_W;		/* supervisor */
	}
	lcr3((uint32_t)kpgdir);
	lcr0(rcr0() | CR0_PG | CR0_WP);
}

/* A new page directory: the kernel's PDEs, no user mappings. */
pde_t *pgdir_new(void)
{
	pde_t *pgdir = kalloc();

	if (pgdir)
		memcpy(pgdir, kpgdir, kernel_pdes * sizeof(pde_t));
	return pgdir;
}

/*
 * Return the address of the PTE for user address va in pgdir.  If its page
 * table does not exist: allocate one when alloc is set, else return 0.
 * The PDE of a user page table is P|W|U; the PTE decides the access.
 */
pte_t *walk(pde_t *pgdir, uint32_t va, int alloc)
{
	pde_t *pde = &pgdir[PDX(va)];
	pte_t *pt;

	if (va < USER_BASE || va >= USTACK_TOP)
		panic("walk: 0x%x is not a user address", va);
	if (*pde & PTE_P) {
		pt = (pte_t *)PTE_ADDR(*pde);
	} else {
		if (!alloc || !(pt = kalloc()))
			return 0;
		*pde = (uint32_t)pt | PTE_P | PTE_W | PTE_U;
	}
	return &pt[PTX(va)];
}

/* Map the frame pa at user address va with perm (PTE_W, PTE_U, ...). */
int map_page(pde_t *pgdir, uint32_t va, uint32_t pa, uint32_t perm)
{
	pte_t *pte = walk(pgdir, va, 1);

	if (!pte)
		return -ENOMEM;
	if (*pte & PTE_P)
		panic("map_page: 0x%x is already mapped", va);
	*pte = pa | perm | PTE_P;
	return 0;
}

/* The PTE permission bits for user pages with protection prot. */
uint32_t pte_perm(int prot)
{
	return PTE_P | PTE_U | ((prot & PROT_WRITE) ? PTE_W : 0);
}

/*
 * Unmap the user pages in [start, end) and drop their frames.  flush: the
 * page directory is the one in CR3, so each page must also leave the TLB.
 */
void unmap_range(pde_t *pgdir, uint32_t start, uint32_t end, int flush)
{
	uint32_t va = start;

	while (va < end) {
		pte_t *pte;

		if (!(pgdir[PDX(va)] & PTE_P)) {	/* no page table: skip it */
			va = (va & ~(PTSIZE - 1)) + PTSIZE;
			continue;
		}
		pte = walk(pgdir, va, 0);
		if (*pte & PTE_P) {
			kfree((void *)PTE_ADDR(*pte));
			*pte = 0;
			if (flush)
				invlpg(va);
		}
		va += PGSIZE;
	}
}

/* Free a page directory: its user pages, user page tables, and itself.
 * It must not be the one in CR3. */
void pgdir_free(pde_t *pgdir)
{
	uint32_t d;

	if (pgdir == kpgdir || (uint32_t)pgdir == rcr3())
		panic("pgdir_free: directory in use");
	for (d = PDX(USER_BASE); d < PDX(USTACK_TOP); d++) {
		if (pgdir[d] & PTE_P) {
			pte_t *pt = (pte_t *)PTE_ADDR(pgdir[d]);
			int t;

			for (t = 0; t < NPTENTRIES; t++)
				if (pt[t] & PTE_P)
					kfree((void *)PTE_ADDR(pt[t]));
			kfree(pt);
		}
	}
	kfree(pgdir);
}

/*
 * fork: give child the same user pages as parent, copy-on-write.  Every
 * mapped user page becomes read-only with PTE_COW in both directories and its
 * frame gets one more reference; the first write to it (by either process)
 * faults and fault.c copies the page, or just makes it writable again if
 * nobody else maps it any more.  The caller flushes the parent's TLB.
 */
int uvm_fork(pde_t *parent, pde_t *child)
{
	uint32_t d;

	for (d = PDX(USER_BASE); d < PDX(USTACK_TOP); d++) {
		pte_t *ppt, *cpt;
		int t;

		if (!(parent[d] & PTE_P))
			continue;
		ppt = (pte_t *)PTE_ADDR(parent[d]);
		cpt = kalloc();
		if (!cpt)
			return -ENOMEM;
		child[d] = (uint32_t)cpt | PTE_P | PTE_W | PTE_U;
		for (t = 0; t < NPTENTRIES; t++) {
			if (!(ppt[t] & PTE_P))
				continue;
			ppt[t] = (ppt[t] & ~PTE_W) | PTE_COW;
			cpt[t] = ppt[t];
			frame_incref(PTE_ADDR(ppt[t]));
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Memory regions                                                       */

struct vma *vma_find(struct proc *p, uint32_t va)
{
	int i;

	for (i = 0; i < NVMA; i++)
		if (p->vma[i].kind != VMA_FREE && p->vma[i].start <= va &&
		    va < p->vma[i].end)
			return &p->vma[i];
	return 0;
}

int vma_add(struct proc *p, uint32_t start, uint32_t end, int prot, int kind)
{
	int i;

	for (i = 0; i < NVMA; i++) {
		if (p->vma[i].kind == VMA_FREE) {
			p->vma[i].start = start;
			p->vma[i].end = end;
			p->vma[i].prot = (uint8_t)prot;
			p->vma[i].kind = (uint8_t)kind;
			return 0;
		}
	}
	return -ENOMEM;
}

static int vma_free_slots(struct proc *p)
{
	int i, n = 0;

	for (i = 0; i < NVMA; i++)
		n += p->vma[i].kind == VMA_FREE;
	return n;
}

/* Is every page of [start, end) inside regions of this kind? */
int vma_range_is(struct proc *p, uint32_t start, uint32_t end, int kind)
{
	while (start < end) {
		struct vma *v = vma_find(p, start);

		if (!v || v->kind != kind)
			return 0;
		start = v->end;
	}
	return 1;
}

/* The lowest address a in [lo, hi) with [a, a+len) free of regions; 0 if none. */
uint32_t vma_gap(struct proc *p, uint32_t len, uint32_t lo, uint32_t hi)
{
	uint32_t a = lo;
	int i;

again:
	if (a > hi || hi - a < len)
		return 0;
	for (i = 0; i < NVMA; i++) {
		struct vma *v = &p->vma[i];

		if (v->kind != VMA_FREE && v->start < a + len && a < v->end) {
			a = v->end;
			goto again;
		}
	}
	return a;
}

/* Make addr a region boundary: split the region that straddles it. */
static void vma_split(struct proc *p, uint32_t addr)
{
	struct vma *v = vma_find(p, addr);

	if (v && v->start < addr) {
		/* The caller made sure a slot is free. */
		vma_add(p, addr, v->end, v->prot, v->kind);
		v->end = addr;
	}
}

/* Join neighbouring mmap regions with the same protection. */
static void vma_merge(struct proc *p)
{
	int i, j, again = 1;

	while (again) {
		again = 0;
		for (i = 0; i < NVMA; i++) {
			struct vma *a = &p->vma[i];

			if (a->kind != VMA_MMAP)
				continue;
			for (j = 0; j < NVMA; j++) {
				struct vma *b = &p->vma[j];

				if (b->kind == VMA_MMAP && b->start == a->end &&
				    b->prot == a->prot) {
					a->end = b->end;
					b->kind = VMA_FREE;
					again = 1;
				}
			}
		}
	}
}

/*
 * mprotect: give [start, end) (inside mmap regions) the protection prot.
 * The region is split at start and end, and every present PTE in the range
 * is rewritten: writable if prot allows writing and the frame is not shared
 * copy-on-write, read-only otherwise.  Each changed PTE is flushed from the
 * TLB with invlpg (p is the current process).
 */
int vma_protect(struct proc *p, uint32_t start, uint32_t end, int prot)
{
	uint32_t va;
	int i;

	if (vma_free_slots(p) < 2)
		return -ENOMEM;
	vma_split(p, start);
	vma_split(p, end);
	for (i = 0; i < NVMA; i++) {
		struct vma *v = &p->vma[i];

		if (v->kind != VMA_FREE && v->start >= start && v->end <= end)
			v->prot = (uint8_t)prot;
	}
	vma_merge(p);

	for (va = start; va < end; va += PGSIZE) {
		pte_t *pte = (p->pgdir[PDX(va)] & PTE_P) ? walk(p->pgdir, va, 0) : 0;
		pte_t old;

		if (!pte || !(*pte & PTE_P))
			continue;	/* not touched yet: the fault will use the VMA */
		old = *pte;
		if ((prot & PROT_WRITE) && !(old & PTE_COW))
			*pte = old | PTE_W;
		else
			*pte = old & ~PTE_W;
		if (*pte != old)
			invlpg(va);
	}
	return 0;
}

/* munmap: remove [start, end) (inside mmap regions) and free its pages. */
int vma_remove(struct proc *p, uint32_t start, uint32_t end)
{
	int i;

	if (vma_free_slots(p) < 2)
		return -ENOMEM;
	vma_split(p, start);
	vma_split(p, end);
	for (i = 0; i < NVMA; i++) {
		struct vma *v = &p->vma[i];

		if (v->kind != VMA_FREE && v->start >= start && v->end <= end)
			v->kind = VMA_FREE;
	}
	unmap_range(p->pgdir, start, end, 1);
	return 0;
}

/*
 * sbrk: move the break by incr bytes, returning the old break in *old.
 * Growing only moves the end of the heap region; the pages arrive on first
 * touch.  Shrinking unmaps the whole pages above the new break.
 */
int vm_sbrk(struct proc *p, int32_t incr, uint32_t *old)
{
	uint32_t brk = p->brk, nbrk = brk + (uint32_t)incr;
	uint32_t top = PGROUNDUP(brk), ntop;
	struct vma *heap = 0;
	int i;

	if (incr > 0 ? (nbrk < brk || nbrk > HEAP_MAX) :
		       (nbrk > brk || nbrk < p->heap_start))
		return -ENOMEM;
	ntop = PGROUNDUP(nbrk);
	for (i = 0; i < NVMA; i++)
		if (p->vma[i].kind == VMA_HEAP)
			heap = &p->vma[i];
	if (ntop > top) {
		if (heap)
			heap->end = ntop;
		else if (vma_add(p, p->heap_start, ntop,
				 PROT_READ | PROT_WRITE, VMA_HEAP) < 0)
			return -ENOMEM;
	} else if (ntop < top) {
		unmap_range(p->pgdir, ntop, top, 1);
		heap->end = ntop;
		if (heap->end == heap->start)
			heap->kind = VMA_FREE;
	}
	*old = brk;
	p->brk = nbrk;
	return 0;
}
