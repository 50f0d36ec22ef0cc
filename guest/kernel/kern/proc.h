/*
 * proc.h - processes: trap frames, saved contexts, the process table.
 */
#ifndef KERN_PROC_H
#define KERN_PROC_H

#include <stdint.h>
#include "param.h"
#include "mmu.h"

/*
 * The trap frame: what the CPU and alltraps (trapasm.S) push on the kernel
 * stack on every interrupt, exception and system call, lowest address first.
 * trap() gets a pointer to it; trapret pops it and irets.
 *
 *        +--------------------+  <- top of the kernel stack (TSS.esp0)
 *        | ss, esp            |  pushed by the CPU only when coming from ring 3
 *        | eflags, cs, eip    |  pushed by the CPU
 *        | err                |  by the CPU for some exceptions, else 0 by the stub
 *        | trapno             |  by the vector stub
 *        | ds, es, fs, gs     |  by alltraps
 *        | eax ... edi        |  by alltraps (pushal)
 *  tf -> +--------------------+
 */
struct trapframe {
	/* pushal */
	uint32_t edi, esi, ebp, oesp, ebx, edx, ecx, eax;
	/* segment registers: 16 bits, padded to 32 */
	uint16_t gs, pad1, fs, pad2, es, pad3, ds, pad4;
	uint32_t trapno;
	uint32_t err;
	/* pushed by the CPU */
	uint32_t eip;
	uint16_t cs, pad5;
	uint32_t eflags;
	/* only when the trap came from ring 3 */
	uint32_t esp;
	uint16_t ss, pad6;
};

/*
 * A saved kernel context: the callee-saved registers and the place to resume,
 * stored on the kernel stack by swtch() (trapasm.S).  The other registers are
 * caller-saved, so the C caller of swtch() has already saved what it needs.
 */
struct context {
	uint32_t edi, esi, ebx, ebp;
	uint32_t eip;
};

enum procstate {
	UNUSED,		/* free slot */
	EMBRYO,		/* being created */
	RUNNABLE,	/* waiting for the CPU */
	RUNNING,	/* on the CPU (exactly one process, maybe idle) */
	WAITING,	/* in wait(), for a child to exit */
	SLEEPING,	/* in sleep(), until ticks >= wake_tick */
	ZOMBIE		/* exited, its parent has not waited yet */
};

/* A memory region: [start, end), page aligned. */
enum vmakind { VMA_FREE, VMA_PROG, VMA_HEAP, VMA_STACK, VMA_MMAP };
struct vma {
	uint32_t start, end;
	uint8_t prot;		/* PROT_READ | PROT_WRITE */
	uint8_t kind;		/* enum vmakind */
};

struct proc {
	enum procstate state;
	int pid;
	struct proc *parent;
	char name[PROGNAME];		/* program name, for messages */

	pde_t *pgdir;			/* page directory (a physical address) */
	uint8_t *kstack;		/* bottom of the kernel stack */
	struct trapframe *tf;		/* the frame of the current trap */
	struct context *ctx;		/* where swtch() left off */
	int irq_depth;			/* saved cli nesting (irq.h) across a switch */

	struct vma vma[NVMA];		/* the regions that may be mapped */
	uint32_t heap_start, brk;	/* sbrk: the heap is [heap_start, brk) */

	uint32_t wake_tick;		/* SLEEPING: when to wake up */
	int exit_status;		/* ZOMBIE: the status for wait() */
};

extern struct proc proc[NPROC];
extern struct proc *curproc;		/* the process on the CPU */

#endif
