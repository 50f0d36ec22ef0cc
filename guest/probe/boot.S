/*
 * boot.S -- the parts of the probe guest that must be assembly:
 *   the multiboot header and entry point,
 *   marker_search: the RAM search, in assembly so that the marker it looks for is only ever
 *     held in inverted form (~M) in memory -- a compiler could spill M itself to the stack,
 *   run_user: drop to ring 3, run the privileged instructions, come back with int 0x80,
 *   the #GP entry (vector 13), which skips the instruction that raised it,
 *   a catch-all for every other exception,
 *   the ring-3 code itself, in a page of its own.
 *
 * Segment selectors (see gdt[] in probe.c): 0x08 kernel code, 0x10 kernel data,
 * 0x1b user code, 0x23 user data, 0x28 the TSS (its esp0 is exception_stack_top).
 */

#define MULTIBOOT_MAGIC 0x1badb002
#define MULTIBOOT_FLAGS 0x00000002	/* bit 1: mem_lower/mem_upper, please */

	.section .multiboot, "a"
	.balign 4
	.long MULTIBOOT_MAGIC
	.long MULTIBOOT_FLAGS
	.long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

	.text
	.globl _start
_start:				/* paging off, interrupts off; eax = magic, ebx = multiboot info */
	cli
	mov $kernel_stack_top, %esp
	push %ebx
	push %eax
	call kmain		/* never returns: it ends by writing to the debug exit port */
1:	hlt
	jmp 1b

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

/*
 * void run_user(void)
 * Runs user_code at ring 3 (IOPL 0, IF 0). Each privileged instruction there raises #GP,
 * which isr_gp skips; the final int 0x80 comes back here as if run_user returned.
 */
	.globl run_user
run_user:
	push %ebp
	push %ebx
	push %esi
	push %edi
	mov %esp, kernel_esp	/* where isr_user_exit picks up again */
	mov $0x23, %ax		/* user data segment in every data segment register */
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	push $0x23		/* SS */
	push $user_stack_top	/* ESP */
	push $0x002		/* EFLAGS: IF=0, IOPL=0 */
	push $0x1b		/* CS: user code, ring 3 */
	push $user_code		/* EIP */
	iret

/* int 0x80 (a DPL 3 gate): the ring-3 code is done. */
	.globl isr_user_exit
isr_user_exit:
	mov $0x10, %cx
	mov %cx, %ds
	mov %cx, %es
	mov %cx, %fs
	mov %cx, %gs
	mov kernel_esp, %esp	/* forget the interrupt frame: back in run_user's frame */
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret

/* Vector 13. The CPU pushed an error code; gp_fault() gets a struct trap_frame * and moves
 * its eip past the faulting instruction (or gives up). */
	.globl isr_gp
isr_gp:
	pusha
	push %ds
	push %es
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	push %esp
	call gp_fault
	add $4, %esp
	pop %es
	pop %ds
	popa
	add $4, %esp		/* the error code */
	iret

/* Every other exception: 8-byte stubs that push their vector, then unexpected(vector, stack). */
	.balign 8
	.globl isr_unexpected_stubs
isr_unexpected_stubs:
	.set vector, 0
	.rept 32
	.balign 8
	push $vector
	jmp unexpected_common
	.set vector, vector + 1
	.endr
unexpected_common:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov (%esp), %eax	/* the vector */
	lea 4(%esp), %edx	/* what the CPU pushed: [error code,] eip, cs, eflags, ... */
	push %edx
	push %eax
	call unexpected		/* does not return */
2:	hlt
	jmp 2b

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

	.bss
	.balign 4096
	.space 8192
	.globl kernel_stack_top
kernel_stack_top:
	.space 4096
	.globl exception_stack_top
exception_stack_top:		/* the TSS's esp0: ring 3 -> ring 0 entries start here */

	.data
	.balign 4
kernel_esp:			/* run_user's stack pointer while ring 3 runs */
	.long 0

	.section .note.GNU-stack, "", @progbits
