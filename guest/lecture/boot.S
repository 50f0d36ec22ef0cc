/*
 * boot.S -- the parts of the lecture guest that must be assembly:
 *   the multiboot header and entry point,
 *   run_app: drop to ring 3 and run the application until it traps back with int 0x80,
 *   the application itself (one load instruction),
 *   the page fault entry (vector 14) and a catch-all for unexpected exceptions.
 *
 * Segment selectors (see gdt[] in lecture.c): 0x08 kernel code, 0x10 kernel data,
 * 0x1b user code, 0x23 user data, 0x28 the TSS (its esp0 is exception_stack_top).
 */

#define MULTIBOOT_MAGIC 0x1badb002
#define MULTIBOOT_FLAGS 0x00000000	/* no requests: an ELF kernel, loaded where it says */

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
 * uint32_t run_app(uint32_t gva)
 * Runs the application at ring 3 with ebx = gva. The application loads from gva and
 * executes int 0x80 with the loaded value in eax; isr_app_exit then resumes here as if
 * run_app returned that value. Page faults in between are handled (and retried) on the
 * way, on the TSS's esp0 stack.
 */
	.globl run_app
run_app:
	push %ebp
	push %ebx
	push %esi
	push %edi
	mov %esp, kernel_esp	/* where isr_app_exit picks up again */
	mov 20(%esp), %ebx	/* the address the application will load from */
	mov $0x23, %ax		/* user data segment in every data segment register */
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	push $0x23		/* SS */
	push $app_stack_top	/* ESP */
	push $0x002		/* EFLAGS: IF=0 (no interrupts in this guest), IOPL=0 */
	push $0x1b		/* CS: user code, ring 3 */
	push $app_load		/* EIP */
	iret

/* int 0x80 (a DPL 3 gate): the application is done; eax holds the value it loaded. */
	.globl isr_app_exit
isr_app_exit:
	mov $0x10, %cx
	mov %cx, %ds
	mov %cx, %es
	mov %cx, %fs
	mov %cx, %gs
	mov kernel_esp, %esp	/* forget the interrupt frame: back in run_app's frame */
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret

/* Vector 14. The CPU pushed the error code; page_fault() gets a struct trap_frame *. */
	.globl isr_page_fault
isr_page_fault:
	pusha
	push %ds
	push %es
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	push %esp
	call page_fault
	add $4, %esp
	pop %es
	pop %ds
	popa
	add $4, %esp		/* the error code */
	iret			/* back to the faulting instruction: the load is retried */

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
 * The application: ring 3, one page of code and one page of stack, mapped user-accessible.
 * "LD [ebx]" -- then hand the value to the kernel.
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

	.bss
	.balign 4096
	.space 4096
	.globl kernel_stack_top
kernel_stack_top:
	.space 4096
	.globl exception_stack_top
exception_stack_top:		/* the TSS's esp0: ring 3 -> ring 0 entries start here */

	.data
	.balign 4
kernel_esp:			/* run_app's stack pointer while the application runs */
	.long 0

	.section .note.GNU-stack, "", @progbits
