/*
 * boot.S - the multiboot header and the kernel's entry point.
 *
 * A multiboot loader has put the ELF segments at their physical addresses
 * (the kernel is linked at 1 MiB), and jumps to _start in 32-bit protected
 * mode: flat segments, paging off, interrupts off, EAX = 0x2BADB002,
 * EBX = the multiboot information.  The stack is undefined, so we set up our
 * own -- the boot stack, which later becomes the idle process's kernel stack.
 */
#include "multiboot.h"
#include "param.h"

	.section .multiboot, "a"
	.balign	4
	.long	MB_HEADER_MAGIC
	.long	MB_HEADER_FLAGS
	.long	-(MB_HEADER_MAGIC + MB_HEADER_FLAGS)	/* checksum: sum = 0 */

	.text
	.globl	_start
_start:
	cli
	cld
	movl	$boot_stack + KSTACKSIZE, %esp
	xorl	%ebp, %ebp			/* end of backtraces */

	/* Zero .bss (a careful loader already has; it costs little). */
	movl	%eax, %esi
	movl	$__bss_start, %edi
	movl	$_end, %ecx
	subl	%edi, %ecx
	shrl	$2, %ecx			/* both are 4 KiB aligned */
	xorl	%eax, %eax
	rep	stosl
	movl	%esi, %eax

	pushl	$0				/* reset EFLAGS: IF = 0, DF = 0 */
	popfl
	pushl	%ebx				/* kmain(magic, mbi) */
	pushl	%eax
	call	kmain
1:	cli
	hlt
	jmp	1b

	.bss
	.balign	4096
	.globl	boot_stack
boot_stack:
	.space	KSTACKSIZE
