/*
 * param.h - sizes and the memory layout.
 *
 * Virtual address space of every process (one page directory each):
 *
 *   0xFFFFFFFF +---------------------------+
 *              |  unmapped                 |
 *   0xC0000000 +---------------------------+ USTACK_TOP
 *              |  user stack (grows down,  |  USTACK_MAX, demand-zero
 *              |  lazily allocated)        |
 *   0xBFF00000 +---------------------------+
 *              |  guard gap (unmapped)     |
 *   0xBFE00000 +---------------------------+ MMAP_TOP
 *              |  mmap regions (lazy)      |
 *   0x80000000 +---------------------------+ MMAP_BASE = HEAP_MAX
 *              |  heap (sbrk, lazy) ^      |
 *              |  program .data/.bss       |  ELF PT_LOAD segments,
 *              |  program .text/.rodata    |  copied in by exec
 *   0x40000000 +---------------------------+ USER_BASE
 *              |  all physical RAM, mapped |  identity: VA == PA,
 *              |  1:1, supervisor only,    |  the same page tables in
 *              |  up to 1 GiB              |  every page directory
 *   0x00001000 +---------------------------+
 *              |  page 0 unmapped (NULL)   |
 *   0x00000000 +---------------------------+
 *
 * The kernel itself is loaded at 1 MiB (physical = virtual).
 */
#ifndef KERN_PARAM_H
#define KERN_PARAM_H

#define NPROC		64		/* process table slots (slot 0 = idle) */
#define KSTACKSIZE	8192		/* kernel stack per process */
#define NVMA		32		/* memory regions per process */
#define MAXARGS		16		/* exec: arguments */
#define MAXARGLEN	256		/* exec: bytes of all argument strings */
#define NMODULES	8		/* multiboot modules remembered */
#define PROGNAME	32		/* program name length, with NUL */

#define KERNBASE	0x00100000u	/* the kernel's load address */
#define PHYS_MAX	0x40000000u	/* RAM beyond 1 GiB is ignored */
#define USER_BASE	0x40000000u
#define MMAP_BASE	0x80000000u
#define HEAP_MAX	MMAP_BASE
#define USTACK_TOP	0xC0000000u
#define USTACK_MAX	0x00100000u	/* 1 MiB */
#define MMAP_TOP	(USTACK_TOP - USTACK_MAX - 0x100000u)

#define DEFAULT_HZ	100

#endif
