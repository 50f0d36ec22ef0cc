/*
 * mmu.h - i386 paging and segmentation: constants, entry layouts, macros.
 *
 * A 32-bit linear address is split by the two-level page walk:
 *
 *   31          22 21          12 11                    0
 *  +--------------+--------------+-----------------------+
 *  |  PDX (10)    |  PTX (10)    |   offset in page (12) |
 *  +--------------+--------------+-----------------------+
 *      \ index into the page directory (CR3)
 *                     \ index into the page table named by that PDE
 *
 * A page directory entry (PDE) or page table entry (PTE), 4 KiB pages:
 *
 *   31                    12 11  9 8 7 6 5 4 3 2 1 0
 *  +------------------------+-----+-+-+-+-+-+-+-+-+-+
 *  | physical frame number  | AVL |G|S|D|A|C|W|U|W|P|
 *  |                        |     | |Z| | |D|T|/|/| |
 *  |                        |     | | | | | | |S|R| |
 *  +------------------------+-----+-+-+-+-+-+-+-+-+-+
 *    P   present              A   accessed (set by the walk)
 *    W/R writable             D   dirty (PTE only; set by a write)
 *    U/S user may access      SZ  page size (PDE; 0 = 4 KiB, we never set it)
 *    WT  write-through        G   global (we never set it)
 *    CD  cache disable        AVL three bits the OS may use: bit 9 = COW
 *
 * The access allowed is the AND of the PDE and the PTE.  This kernel makes
 * user PDEs P|W|U and puts the real protection in the PTEs; kernel PDEs and
 * PTEs are P|W without U, so ring 3 cannot touch the kernel.  With CR0.WP=1
 * ring 0 also obeys W, which is how copy-on-write pages stay read-only for
 * the kernel too.
 */
#ifndef KERN_MMU_H
#define KERN_MMU_H

#define PGSIZE		4096
#define PGSHIFT		12
#define NPDENTRIES	1024
#define NPTENTRIES	1024
#define PTSIZE		(PGSIZE * NPTENTRIES)	/* bytes mapped by one PDE: 4 MiB */

#define PGROUNDUP(a)	(((a) + PGSIZE - 1) & ~(uint32_t)(PGSIZE - 1))
#define PGROUNDDOWN(a)	((a) & ~(uint32_t)(PGSIZE - 1))

#define PDX(va)		(((uint32_t)(va) >> 22) & 0x3FF)
#define PTX(va)		(((uint32_t)(va) >> 12) & 0x3FF)
#define PGADDR(d, t)	((uint32_t)(((d) << 22) | ((t) << 12)))

#define PTE_P		0x001	/* present */
#define PTE_W		0x002	/* writable */
#define PTE_U		0x004	/* user */
#define PTE_A		0x020	/* accessed */
#define PTE_D		0x040	/* dirty */
#define PTE_COW		0x200	/* AVL bit 9: shared copy-on-write frame */
#define PTE_ADDR(e)	((uint32_t)(e) & ~0xFFFu)
#define PTE_FLAGS(e)	((uint32_t)(e) & 0xFFFu)

/* CR0 bits. */
#define CR0_PE		0x00000001	/* protection enable */
#define CR0_WP		0x00010000	/* supervisor obeys W */
#define CR0_PG		0x80000000	/* paging */

/* Page-fault error code bits. */
#define PFE_P		0x1	/* 0: page not present, 1: protection violation */
#define PFE_W		0x2	/* 0: read, 1: write */
#define PFE_U		0x4	/* 0: supervisor mode, 1: user mode */

/*
 * The GDT.  Flat 4 GiB segments; paging does all the protecting.
 *   index selector  what
 *   0     0x00      null
 *   1     0x08      kernel code, DPL 0
 *   2     0x10      kernel data, DPL 0
 *   3     0x1B      user code,   DPL 3   (0x18 | RPL 3)
 *   4     0x23      user data,   DPL 3   (0x20 | RPL 3)
 *   5     0x28      the TSS (only its SS0:ESP0 is used)
 */
#define SEG_KCODE	1
#define SEG_KDATA	2
#define SEG_UCODE	3
#define SEG_UDATA	4
#define SEG_TSS		5
#define NSEGS		6
#define KCODE_SEL	(SEG_KCODE << 3)
#define KDATA_SEL	(SEG_KDATA << 3)
#define UCODE_SEL	((SEG_UCODE << 3) | 3)
#define UDATA_SEL	((SEG_UDATA << 3) | 3)
#define TSS_SEL		(SEG_TSS << 3)

#ifndef __ASSEMBLER__
#include <stdint.h>

typedef uint32_t pte_t;
typedef uint32_t pde_t;

/*
 * A 32-bit task state segment.  Hardware task switching is never used: the
 * CPU only reads SS0:ESP0 from it, as the kernel stack to switch to when an
 * interrupt or exception arrives in ring 3.  iomb past the limit = no I/O
 * permission bitmap, so ring 3 can use no port.
 */
struct tss {
	uint32_t link;
	uint32_t esp0;
	uint32_t ss0;
	uint32_t esp1, ss1, esp2, ss2;
	uint32_t cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomb;
};

/* An IDT gate descriptor. */
struct gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t zero;
	uint8_t type_attr;	/* P | DPL | 0 | type (0xE interrupt, 0xF trap) */
	uint16_t off_hi;
};

#define GATE_INTR	0xE	/* clears IF on entry */
#define GATE_TRAP	0xF	/* leaves IF alone */
#endif

#endif
