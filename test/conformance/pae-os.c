/*
 * pae-os.c -- a small kernel's use of PAE paging (SDM vol. 3, 4.4), the way Linux's PAE build
 * uses it: one PDPT per process sharing the kernel's directory (PDPTE 0: the first 8 MiB mapped
 * with a 4 KiB table and 2 MiB pages) and owning its user directory (PDPTE 1); a #PF handler
 * doing demand-zero paging and copy-on-write (64-bit PTEs written high half first when made
 * present, low half first when cleared, as Linux's set_pte and pte_clear do; write protection by
 * CMPXCHG8B); fork, exit (its page tables freed and their frames reused as data), CR3 switches
 * between processes, and a 2 MiB user page split into a table of 4 KiB pages. Each phase checks
 * the processes' data. Under shadow paging this is trace faults, true faults, shadow caching,
 * write-flood unshadowing and rebuilding on every path; the guest must see what it sees natively.
 * @qemu -cpu max
 * @run --cpu max
 */
#include "lib/conformance.h"

#define PAGE		0x1000u
#define CR0_WP		0x00010000u
#define CR4_PAE		0x00000020u
#define PTE_PS		0x080u
#define PTE_COW		0x200u			/* an available bit: shared copy-on-write */
#define PF_W		0x2u

#define POOL_START	0x00400000u		/* frames handed out: 4-6 MiB */
#define POOL_END	0x00600000u
#define BIG_FRAME	0x00600000u		/* 6-8 MiB: one 2 MiB user page */
#define USER		0x40000000u		/* PDPTE 1: the process's own gigabyte */
#define USER_BIG	0x40400000u		/* its directory entry 2 */
#define PAGES		64

static u64 kernel_pd[512] __attribute__((aligned(4096)));
static u64 kernel_pt[512] __attribute__((aligned(4096)));
static u64 pdpts[4][4] __attribute__((aligned(32)));

struct proc {
	u64 *pdpt;
	u64 *pd;	/* the user directory (a pool frame) */
};
static struct proc procs[4];
static struct proc *current;

/* ---------------------------------------------------------------- frames */

static u32 free_stack[(POOL_END - POOL_START) / PAGE];
static u32 free_count;
static u8 refs[(POOL_END - POOL_START) / PAGE];

static void frames_init(void)
{
	for (u32 f = POOL_END - PAGE; f >= POOL_START; f -= PAGE)
		free_stack[free_count++] = f;
}

static void zero(u32 frame)
{
	for (u32 i = 0; i < PAGE / 4; i++)
		((volatile u32 *)frame)[i] = 0;
}

/* A zeroed frame (last freed, first reused: a freed page table comes back as data). */
static u32 frame_alloc(void)
{
	if (!free_count) {
		report(0, "out of frames");
		report_summary();
	}
	u32 f = free_stack[--free_count];
	zero(f);
	refs[(f - POOL_START) / PAGE] = 1;
	return f;
}

static void frame_put(u32 f)
{
	if (--refs[(f - POOL_START) / PAGE] == 0)
		free_stack[free_count++] = f;
}

/* ---------------------------------------------------------------- 64-bit entries */

/* Made present: high half first, then the low half with P (Linux's set_pte). */
static void pte_set(volatile u64 *p, u64 v)
{
	volatile u32 *h = (volatile u32 *)p;
	h[1] = (u32)(v >> 32);
	h[0] = (u32)v;
}

/* Cleared: the low half (P) first, then the high half (Linux's pte_clear). */
static void pte_clear(volatile u64 *p)
{
	volatile u32 *h = (volatile u32 *)p;
	h[0] = 0;
	h[1] = 0;
}

/* Write-protect for copy-on-write with a locked 64-bit compare-exchange. */
static void pte_wrprotect(volatile u64 *p)
{
	u32 lo = (u32)*p, hi = (u32)(*p >> 32);
	u32 nlo = (lo & ~PTE_RW) | PTE_COW;
	__asm__ volatile("lock cmpxchg8b %0" : "+m"(*p), "+a"(lo), "+d"(hi) : "b"(nlo), "c"(hi) : "memory");
}

static u32 frame_of(u64 e) { return (u32)e & ~0xfffu; }

/* The PTE for user address va in p (allocating its table when `alloc`), or 0. */
static volatile u64 *pte_of(struct proc *p, u32 va, int alloc)
{
	volatile u64 *pde = &p->pd[(va >> 21) & 511];
	if (!(*pde & PTE_P)) {
		if (!alloc)
			return 0;
		pte_set(pde, frame_alloc() | PTE_P | PTE_RW | PTE_US);
	}
	return (volatile u64 *)frame_of(*pde) + ((va >> 12) & 511);
}

/* ---------------------------------------------------------------- processes */

static struct proc *proc_new(u32 k)
{
	struct proc *p = &procs[k];
	p->pdpt = pdpts[k];
	p->pd = (u64 *)frame_alloc();
	p->pdpt[0] = (u32)kernel_pd | PTE_P;
	p->pdpt[1] = (u32)p->pd | PTE_P;
	return p;
}

static void switch_to(struct proc *p)
{
	current = p;
	write_cr3((u32)p->pdpt);	/* loads the PDPTE registers */
}

/* fork: the child shares every page copy-on-write (the parent's entries are write-protected too). */
static struct proc *fork_from(struct proc *parent, u32 k)
{
	struct proc *child = proc_new(k);
	for (u32 d = 0; d < 512; d++) {
		if (!(parent->pd[d] & PTE_P) || (parent->pd[d] & PTE_PS))
			continue;
		volatile u64 *pt = (volatile u64 *)frame_of(parent->pd[d]);
		for (u32 i = 0; i < 512; i++) {
			if (!(pt[i] & PTE_P))
				continue;
			if (pt[i] & PTE_RW)
				pte_wrprotect(&pt[i]);
			refs[(frame_of(pt[i]) - POOL_START) / PAGE]++;
			pte_set(pte_of(child, USER + d * 0x200000u + i * PAGE, 1), pt[i]);
		}
	}
	write_cr3(read_cr3());		/* the parent's write-protected entries leave the TLB */
	return child;
}

/* exit: the process's frames and tables go back to the pool. */
static void proc_exit(struct proc *p)
{
	for (u32 d = 0; d < 512; d++) {
		if (!(p->pd[d] & PTE_P) || (p->pd[d] & PTE_PS))
			continue;
		volatile u64 *pt = (volatile u64 *)frame_of(p->pd[d]);
		for (u32 i = 0; i < 512; i++) {
			if (pt[i] & PTE_P)
				frame_put(frame_of(pt[i]));
			pte_clear(&pt[i]);
		}
		frame_put(frame_of(p->pd[d]));
		pte_clear(&p->pd[d]);
	}
	frame_put((u32)p->pd);
}

/* ---------------------------------------------------------------- page faults */

static u32 demand_faults, cow_faults;

int page_fault(u32 error)
{
	u32 va = read_cr2();
	if (va < USER || va >= USER + 0x40000000u)
		return 0;
	volatile u64 *pte = pte_of(current, va, 1);
	if (!(*pte & PTE_P)) {
		pte_set(pte, frame_alloc() | PTE_P | PTE_RW | PTE_US);
		demand_faults++;
	} else if ((error & PF_W) && (*pte & PTE_COW)) {
		u32 old = frame_of(*pte), copy = frame_alloc();
		for (u32 i = 0; i < PAGE / 4; i++)
			((volatile u32 *)copy)[i] = ((volatile u32 *)old)[i];
		frame_put(old);
		pte_clear(pte);
		invlpg(va);
		pte_set(pte, copy | PTE_P | PTE_RW | PTE_US);
		cow_faults++;
	} else {
		return 0;
	}
	invlpg(va);
	return 1;
}

void pf_isr(void);
__asm__(
	".text\n"
	"pf_isr: pusha\n push 32(%esp)\n call page_fault\n add $4, %esp\n test %eax, %eax\n jz 1f\n"
	" popa\n add $4, %esp\n iret\n"
	"1: popa\n jmp isr_unexpected_stubs + 8 * 14\n");

/* ---------------------------------------------------------------- the checks */

static u32 word(u32 va, u32 off) { return *(volatile u32 *)(va + off); }
static void put(u32 va, u32 off, u32 v) { *(volatile u32 *)(va + off) = v; }

/* Every page of `n` from USER holds (tag + page) at both ends? */
static int holds(u32 n, u32 tag_even, u32 tag_odd)
{
	for (u32 i = 0; i < n; i++) {
		u32 want = (i % 2 ? tag_odd : tag_even) + i;
		if (word(USER + i * PAGE, 0) != want || word(USER + i * PAGE, PAGE - 4) != want)
			return 0;
	}
	return 1;
}

void conformance_main(u32 magic, struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	frames_init();
	/* The kernel's half: 0-2 MiB through a table, 2-8 MiB with 2 MiB pages; supervisor. */
	for (u32 i = 0; i < 512; i++)
		kernel_pt[i] = i * PAGE | PTE_P | PTE_RW;
	kernel_pd[0] = (u32)kernel_pt | PTE_P | PTE_RW;
	for (u32 d = 1; d < 4; d++)
		kernel_pd[d] = d * 0x200000u | PTE_P | PTE_RW | PTE_PS;
	idt_set(14, pf_isr, 0);

	struct proc *a = proc_new(0);
	write_cr3((u32)a->pdpt);
	current = a;
	write_cr4(read_cr4() | CR4_PAE);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);

	print("demand-zero paging\n");
	for (u32 i = 0; i < PAGES; i++) {
		put(USER + i * PAGE, 0, 0xa0000000u + i);
		put(USER + i * PAGE, PAGE - 4, 0xa0000000u + i);
	}
	report_eq(demand_faults, PAGES, "one #PF per page touched, each mapped by the handler");
	report(holds(PAGES, 0xa0000000u, 0xa0000000u), "every page holds what was written");

	print("fork and copy-on-write\n");
	struct proc *b = fork_from(a, 1);
	report(holds(PAGES, 0xa0000000u, 0xa0000000u), "the parent reads its pages after they were write-protected");
	switch_to(b);
	report(holds(PAGES, 0xa0000000u, 0xa0000000u), "the child reads the same pages");
	for (u32 i = 0; i < PAGES; i += 2) {
		put(USER + i * PAGE, 0, 0xb0000000u + i);
		put(USER + i * PAGE, PAGE - 4, 0xb0000000u + i);
	}
	report_eq(cow_faults, PAGES / 2, "the child's writes copy its even pages, one #PF(P|W) each");
	report(holds(PAGES, 0xb0000000u, 0xa0000000u), "the child sees its writes and the parent's odd pages");
	switch_to(a);
	report(holds(PAGES, 0xa0000000u, 0xa0000000u), "the parent's pages are untouched");
	put(USER + PAGE, 0, 0xa1000001u);
	put(USER + PAGE, PAGE - 4, 0xa1000001u);
	report_eq(cow_faults, PAGES / 2 + 1, "the parent's write to a shared page copies it too");
	switch_to(b);
	report_eq(word(USER + PAGE, 0), 0xa0000001u, "  and the child keeps the old contents");

	print("exit, and a new process on the freed frames\n");
	u32 free_before = free_count;
	proc_exit(a);
	report(free_count > free_before + PAGES / 2, "the parent's frames and tables are free again");
	report(holds(PAGES, 0xb0000000u, 0xa0000000u), "the child is unaffected");
	struct proc *c = proc_new(2);
	switch_to(c);
	for (u32 i = 0; i < 2 * PAGES; i++) {
		put(USER + i * PAGE, 0, 0xc0000000u + i);
		put(USER + i * PAGE, PAGE - 4, 0xc0000000u + i);
	}
	report(holds(2 * PAGES, 0xc0000000u, 0xc0000000u), "the new process demand-pages over frames that were page tables");
	int switches_ok = 1;
	for (u32 round = 0; round < 4; round++) {
		switch_to(b);
		switches_ok &= word(USER + 2 * PAGE, 0) == 0xb0000002u && word(USER + 3 * PAGE, 0) == 0xa0000003u;
		switch_to(c);
		switches_ok &= word(USER + 2 * PAGE, 0) == 0xc0000002u && word(USER + 100 * PAGE, 0) == 0xc0000064u;
	}
	report(switches_ok, "CR3 switches back and forth see each process's own pages");

	print("a 2 MiB user page split into 4 KiB pages\n");
	pte_set(&c->pd[(USER_BIG >> 21) & 511], BIG_FRAME | PTE_P | PTE_RW | PTE_US | PTE_PS);
	for (u32 k = 0; k < 512; k++)
		put(USER_BIG + k * PAGE, 8, 0xd0000000u + k);
	report_eq(*(volatile u32 *)(BIG_FRAME + 77 * PAGE + 8), 0xd0000000u + 77, "writes through the 2 MiB page reach its frames");
	u32 table = frame_alloc();
	for (u32 k = 0; k < 512; k++)
		((volatile u64 *)table)[k] = (BIG_FRAME + k * PAGE) | PTE_P | PTE_RW | PTE_US;
	pte_clear(&c->pd[(USER_BIG >> 21) & 511]);
	pte_set(&c->pd[(USER_BIG >> 21) & 511], table | PTE_P | PTE_RW | PTE_US);
	write_cr3(read_cr3());
	int split_ok = 1;
	for (u32 k = 0; k < 512; k++)
		split_ok &= word(USER_BIG + k * PAGE, 8) == 0xd0000000u + k;
	report(split_ok, "after the split every 4 KiB page maps the same frame");
	((volatile u64 *)table)[5] = (BIG_FRAME + 6 * PAGE) | PTE_P | PTE_RW | PTE_US;
	invlpg(USER_BIG + 5 * PAGE);
	report_eq(word(USER_BIG + 5 * PAGE, 8), 0xd0000006u, "and one of them can now be remapped alone");

	write_cr0(read_cr0() & ~CR0_PG);
}
