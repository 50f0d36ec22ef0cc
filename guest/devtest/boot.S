/*
 * boot.S -- multiboot header, entry point and the interrupt stubs of the device test kernel.
 */

#define MULTIBOOT_MAGIC 0x1badb002
#define MULTIBOOT_FLAGS 0x00000002	/* bit 1: we want mem_lower/mem_upper */

	.section .multiboot, "a"
	.balign 4
	.long MULTIBOOT_MAGIC
	.long MULTIBOOT_FLAGS
	.long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

	.text
	.globl _start
_start:				/* paging off, interrupts off; eax = magic, ebx = multiboot info */
	cli
	mov $stack_top, %esp
	push %ebx
	push %eax
	call kmain		/* never returns */
1:	hlt
	jmp 1b

/*
 * 256 stubs, 16 bytes apart: isr_stubs + 16 * vector. Each pushes a dummy error code
 * (unless the CPU pushed one: vectors 8, 10-14, 17), then its vector, and goes to
 * isr_common, which hands a struct trap_frame * to isr_dispatch().
 */
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vector, 0
	.rept 256
	.balign 16
	.if vector == 8 || (vector >= 10 && vector <= 14) || vector == 17
	.else
	push $0
	.endif
	push $vector
	jmp isr_common
	.set vector, vector + 1
	.endr

isr_common:
	pusha
	cld
	push %esp
	call isr_dispatch
	add $4, %esp
	popa
	add $8, %esp		/* vector and error code */
	iret

	.bss
	.balign 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
