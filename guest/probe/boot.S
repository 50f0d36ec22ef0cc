/*
 * boot.S -- the probe guest's own assembly (the multiboot entry, ring3_call and the
 * catch-all for exceptions are shared: ../bare/entry.S):
 *   marker_search: the RAM search, in assembly so that the marker it looks for is only ever
 *     held in inverted form (~M) in memory -- a compiler could spill M itself to the stack,
 *   the #GP entry (vector 13), which skips the instruction that raised it,
 *   the ring-3 code itself, in a page of its own, with its stack.
 */

#include "../bare/trap-to-c.inc"

	.text
/*
 * u32 marker_search(u32 start, u32 end, u32 not_marker, u32 *first)
 * Counts the dwords x at addresses a in [start, end) (a multiple of 4 apart) with
 * ~x == not_marker (the marker itself) or ~(x ^ a) == not_marker (the holder's pattern
 * M ^ a); *first gets the address of the first hit. Only registers ever hold ~x.
 */
	.globl marker_search
marker_search:
	push %ebp
	push %ebx
	push %esi
	push %edi
	mov 20(%esp), %esi	/* a */
	mov 24(%esp), %edi	/* end */
	mov 28(%esp), %edx	/* ~M */
	xor %ebp, %ebp		/* hits */
1:	cmp %edi, %esi
	jae 4f
	mov (%esi), %eax
	not %eax		/* ~x */
	cmp %edx, %eax
	je 2f
	xor %esi, %eax		/* ~x ^ a = ~(x ^ a) */
	cmp %edx, %eax
	jne 3f
2:	test %ebp, %ebp
	jnz 5f
	mov 32(%esp), %ecx
	mov %esi, (%ecx)
5:	inc %ebp
3:	add $4, %esi
	jmp 1b
4:	mov %ebp, %eax
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret

/* Vector 13. The CPU pushed an error code; gp_fault() gets a struct trap_frame * and moves
 * its eip past the faulting instruction (or gives up). */
	.globl isr_gp
isr_gp:
	TRAP_TO_C gp_fault, 4	/* drops the error code */

/*
 * The ring-3 code: one page, mapped user-accessible. Every instruction at a user_gpN label
 * must raise #GP; isr_gp resumes at the next label. gp_fault() finds the labels in
 * user_gp_table.
 */
	.section .user.text, "ax"
	.globl user_code
user_code:
user_gp0:
	cli			/* IOPL 0 < CPL 3 (CR4.PVI = 0) */
user_gp1:
	hlt			/* CPL != 0 */
user_gp2:
	mov %cr3, %eax		/* CPL != 0 */
user_gp3:
	in $0x60, %al		/* IOPL 0 < CPL 3, and no I/O bitmap in the TSS */
user_gp4:
	lgdt user_gdtr		/* CPL != 0 */
user_gp5:
	int $0x80		/* done */
	jmp user_gp5		/* not reached */
	.balign 4
user_gdtr:			/* a harmless operand: the null descriptor only */
	.word 7
	.long 0

	.section .rodata
	.balign 4
	.globl user_gp_table
user_gp_table:			/* the faulting instructions, then where the run ends */
	.long user_gp0, user_gp1, user_gp2, user_gp3, user_gp4, user_gp5

	.section .user.stack, "aw", @nobits
	.balign 4096
	.space 4096
	.globl user_stack_top
user_stack_top:

	.section .note.GNU-stack, "", @progbits
