/*
 * entry.S -- the assembly the standalone teaching guests share (see bare.h):
 *   the multiboot header (flags: MULTIBOOT_FLAGS, from the guest's Makefile) and _start,
 *   ring3_call: run code at ring 3 until it comes back with int 0x80 (isr_ring3_exit),
 *   isr_unexpected_stubs: one 8-byte stub per exception 0-31, calling unexpected(vector, stack),
 *   the kernel stack (KERNEL_STACK_BYTES) and the exception stack (the TSS's esp0).
 *
 * Segment selectors (gdt[] in cpu-tables.c): 0x08 kernel code, 0x10 kernel data, 0x1b user
 * code, 0x23 user data, 0x28 the TSS.
 */

#define MULTIBOOT_MAGIC 0x1badb002
#ifndef MULTIBOOT_FLAGS
#define MULTIBOOT_FLAGS 0x00000000	/* no requests: an ELF kernel, loaded where it says */
#endif
#ifndef KERNEL_STACK_BYTES
#define KERNEL_STACK_BYTES 4096
#endif

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
 * u32 ring3_call(u32 eip, u32 esp, u32 ebx)
 * Runs the code at eip at ring 3 (IF=0, IOPL=0) on the stack esp, with ebx as given. The code
 * ends with int 0x80 (a DPL 3 gate to isr_ring3_exit), which resumes here as if ring3_call
 * returned the code's eax. Exceptions in between are handled on the TSS's esp0 stack.
 */
	.globl ring3_call
ring3_call:
	push %ebp
	push %ebx
	push %esi
	push %edi
	mov %esp, kernel_esp	/* where isr_ring3_exit picks up again */
	mov 20(%esp), %ecx	/* eip */
	mov 24(%esp), %edx	/* esp */
	mov 28(%esp), %ebx	/* ebx for the ring-3 code */
	mov $0x23, %ax		/* user data segment in every data segment register */
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	push $0x23		/* SS */
	push %edx		/* ESP */
	push $0x002		/* EFLAGS: IF=0 (no interrupts in these guests), IOPL=0 */
	push $0x1b		/* CS: user code, ring 3 */
	push %ecx		/* EIP */
	iret

/* int 0x80 (a DPL 3 gate): the ring-3 code is done; eax holds its result. */
	.globl isr_ring3_exit
isr_ring3_exit:
	mov $0x10, %cx
	mov %cx, %ds
	mov %cx, %es
	mov %cx, %fs
	mov %cx, %gs
	mov kernel_esp, %esp	/* forget the interrupt frame: back in ring3_call's frame */
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret

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

	.bss
	.balign 4096
	.space KERNEL_STACK_BYTES
	.globl kernel_stack_top
kernel_stack_top:
	.space 4096
	.globl exception_stack_top
exception_stack_top:		/* the TSS's esp0: ring 3 -> ring 0 entries start here */

	.data
	.balign 4
kernel_esp:			/* ring3_call's stack pointer while ring 3 runs */
	.long 0

	.section .note.GNU-stack, "", @progbits
