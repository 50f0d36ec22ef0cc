/*
 * boot.S -- the lecture guest's own assembly (the multiboot entry, ring3_call and the
 * catch-all for exceptions are shared: ../bare/entry.S):
 *   the page fault entry (vector 14),
 *   the application itself (one load instruction), with its stack.
 */

#include "../bare/trap-to-c.inc"

/* Vector 14. The CPU pushed the error code; page_fault() gets a struct trap_frame *. */
	.text
	.globl isr_page_fault
isr_page_fault:
	/* Drops the error code; IRET goes back to the faulting instruction: the load is retried. */
	TRAP_TO_C page_fault, 4

/*
 * The application: ring 3, one page of code and one page of stack, mapped user-accessible.
 * "LD [ebx]" -- then hand the value to the kernel (ring3_call returns it).
 */
	.section .app.text, "ax"
	.globl app_load
app_load:
	mov (%ebx), %eax	/* the load: may page-fault, and is retried after the fault */
	int $0x80		/* done: report eax to the kernel */
	jmp app_load		/* not reached */

	.section .app.stack, "aw", @nobits
	.balign 4096
	.space 4096
	.globl app_stack_top
app_stack_top:

	.section .note.GNU-stack, "", @progbits
