/*
 * trapasm.S - the way into and out of the kernel, and the context switch.
 *
 * Every one of the 256 IDT vectors has a stub that makes the stack look the
 * same (an error code, real or a 0 pushed here, then the vector number) and
 * jumps to alltraps, which saves the rest of the registers as a struct
 * trapframe (proc.h) and calls trap(tf).  trapret undoes it all and irets.
 */
#include "mmu.h"

	.altmacro

/* Vectors for which the CPU pushes an error code itself. */
.macro VECTOR n
	.globl	vector\n
vector\n:
	.if (\n == 8) || ((\n >= 10) && (\n <= 14)) || (\n == 17)
	.else
	pushl	$0
	.endif
	pushl	$\n
	jmp	alltraps
.endm

	.text
	.set	i, 0
	.rept	256
	VECTOR	%i
	.set	i, i + 1
	.endr

	.globl	alltraps
alltraps:
	pushl	%ds
	pushl	%es
	pushl	%fs
	pushl	%gs
	pushal
	movw	$KDATA_SEL, %ax		/* kernel data segments */
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	pushl	%esp			/* trap(tf) */
	cld
	call	trap
	addl	$4, %esp

	/* Return to whatever was interrupted; also where a new process starts
	 * (fork and exec leave a trap frame, forkret() returns here). */
	.globl	trapret
trapret:
	popal
	popl	%gs
	popl	%fs
	popl	%es
	popl	%ds
	addl	$8, %esp		/* the vector number and the error code */
	iret

/*
 * void swtch(struct context **old, struct context *new);
 *
 * Save the callee-saved registers on the current kernel stack, store the
 * stack pointer (which is then a struct context *) in *old, switch to the
 * stack new, and restore its registers.  The `ret` resumes whatever called
 * swtch() on that stack -- or forkret() for a new process.
 */
	.globl	swtch
swtch:
	movl	4(%esp), %eax		/* old */
	movl	8(%esp), %edx		/* new */
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	movl	%esp, (%eax)
	movl	%edx, %esp
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret

/* The address of each vector stub, for idt_init(). */
.macro VECADDR n
	.long	vector\n
.endm
	.section .rodata
	.globl	vectors
	.balign	4
vectors:
	.set	i, 0
	.rept	256
	VECADDR	%i
	.set	i, i + 1
	.endr
