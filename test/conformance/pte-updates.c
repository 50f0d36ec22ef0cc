/*
 * pte-updates.c -- a kernel changing its own page tables the ways kernels do, read back through
 * the new mappings: a CMPXCHG8B that rewrites two PTEs at once (PAE kernels update 64-bit
 * entries so), a LOCK CMPXCHG and an XCHG of one PTE, a plain store, each followed by INVLPG;
 * the accessed and dirty bits the processor sets in the guest's own PTEs and PDEs (SDM vol. 3,
 * 4.8). Under shadow paging every one of these writes hits a traced page-table page and is
 * emulated by the VMM, which must update the shadows exactly: the guest must see the same.
 * @qemu
 */
#include "lib/conformance.h"

#define PAGE		0x1000u
#define PTE_A		0x020u
#define PTE_D		0x040u
#define WINDOW		0x00800000u	/* 8 MiB: two pages mapped through page_table2 */
#define FRAME_A		0x00200000u
#define FRAME_B		0x00201000u
#define FRAME_C		0x00202000u
#define FRAME_D		0x00203000u

static u32 page_dir[1024] __attribute__((aligned(4096)));
static u32 page_table[1024] __attribute__((aligned(4096)));
static u32 page_table2[1024] __attribute__((aligned(4096)));

static void fill(u32 frame, u32 value)
{
	for (u32 i = 0; i < PAGE / 4; i++)
		((volatile u32 *)frame)[i] = value;
}

static u32 peek(u32 va) { return *(volatile u32 *)va; }

void conformance_main(u32 magic, struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	fill(FRAME_A, 0xaaaaaaaa);
	fill(FRAME_B, 0xbbbbbbbb);
	fill(FRAME_C, 0xcccccccc);
	fill(FRAME_D, 0xdddddddd);
	for (u32 i = 0; i < 1024; i++)
		page_table[i] = i * PAGE | PTE_P | PTE_RW;
	page_table2[0] = FRAME_A | PTE_P | PTE_RW;
	page_table2[1] = FRAME_B | PTE_P | PTE_RW;
	page_dir[0] = (u32)page_table | PTE_P | PTE_RW;
	page_dir[WINDOW >> 22] = (u32)page_table2 | PTE_P | PTE_RW;
	write_cr3((u32)page_dir);
	write_cr0(read_cr0() | CR0_PG);

	report_eq(peek(WINDOW), 0xaaaaaaaa, "the window's first page maps frame A");
	report_eq(peek(WINDOW + PAGE), 0xbbbbbbbb, "its second page maps frame B");
	report(page_table2[0] & PTE_A, "a read set the PTE's accessed bit");
	report(!(page_table2[0] & PTE_D), "but not its dirty bit");
	report(page_dir[WINDOW >> 22] & PTE_A, "and the PDE's accessed bit");
	*(volatile u32 *)(WINDOW + 4) = 0xaaaa0001;
	report(page_table2[0] & PTE_D, "a write set the dirty bit");

	/* CMPXCHG8B over both PTEs: A->C and B->D in one locked 8-byte write. */
	u32 lo = page_table2[0], hi = page_table2[1];
	u32 new_lo = FRAME_C | PTE_P | PTE_RW, new_hi = FRAME_D | PTE_P | PTE_RW;
	u8 ok;
	__asm__ volatile("lock cmpxchg8b %1; sete %0"
			 : "=q"(ok), "+m"(*(volatile u64 *)page_table2), "+a"(lo), "+d"(hi)
			 : "b"(new_lo), "c"(new_hi) : "memory");
	report(ok, "CMPXCHG8B on two PTEs succeeds");
	invlpg(WINDOW);
	invlpg(WINDOW + PAGE);
	report_eq(peek(WINDOW), 0xcccccccc, "  after INVLPG the first page maps frame C");
	report_eq(peek(WINDOW + PAGE), 0xdddddddd, "  and the second frame D");

	/* A failing CMPXCHG8B loads the entries into EDX:EAX and leaves them. */
	lo = 0;
	hi = 0;
	__asm__ volatile("lock cmpxchg8b %1; sete %0"
			 : "=q"(ok), "+m"(*(volatile u64 *)page_table2), "+a"(lo), "+d"(hi)
			 : "b"(0), "c"(0) : "memory");
	report(!ok, "CMPXCHG8B with a stale comparand fails");
	report_eq(lo & ~0xfffu, FRAME_C, "  and returns the first PTE in EAX");
	report_eq(hi & ~0xfffu, FRAME_D, "  and the second in EDX");
	invlpg(WINDOW);
	report_eq(peek(WINDOW), 0xcccccccc, "  the mapping is unchanged");

	/* LOCK CMPXCHG of one PTE: C->A. */
	u32 old = page_table2[0];
	u32 prev;
	__asm__ volatile("lock cmpxchg %2, %1" : "=a"(prev), "+m"(page_table2[0]) : "r"(FRAME_A | PTE_P | PTE_RW), "0"(old) : "memory");
	report_eq(prev, old, "LOCK CMPXCHG on a PTE succeeds");
	invlpg(WINDOW);
	report_eq(peek(WINDOW), 0xaaaaaaaa, "  the page maps frame A again");

	/* XCHG of one PTE: D->B. */
	u32 swapped = FRAME_B | PTE_P | PTE_RW;
	__asm__ volatile("xchg %0, %1" : "+r"(swapped), "+m"(page_table2[1]) : : "memory");
	report_eq(swapped & ~0xfffu, FRAME_D, "XCHG on a PTE returns the old entry");
	invlpg(WINDOW + PAGE);
	report_eq(peek(WINDOW + PAGE), 0xbbbbbbbb, "  the page maps frame B again");

	/* A plain store that makes the page not present, then present again read-only. */
	page_table2[1] = 0;
	invlpg(WINDOW + PAGE);
	page_table2[1] = FRAME_C | PTE_P;
	invlpg(WINDOW + PAGE);
	report_eq(peek(WINDOW + PAGE), 0xcccccccc, "a PTE cleared and rewritten maps its new frame");
	report(!(page_table2[1] & PTE_D), "  read only: still clean");

	/* A page directory entry changed under a live mapping: the whole table moves. */
	page_table[WINDOW / PAGE % 1024] = 0;
	for (u32 i = 0; i < 1024; i++)
		page_table2[i] = 0;
	page_table2[0] = FRAME_D | PTE_P | PTE_RW;
	write_cr3(read_cr3());
	report_eq(peek(WINDOW), 0xdddddddd, "after a CR3 reload the window follows the table's new contents");
}
