/*
 * conformance-entry.S -- catch_fault's two halves (conformance.h): catch_fault_asm saves the
 * callee-saved registers and ESP in catch_ctx and calls fn(arg), returning 0 when it returns;
 * fault_resume, called by unexpected() on the exception's stack, restores them and returns 1
 * from catch_fault_asm. Data segments are the kernel's again (the stub loaded them). EFLAGS is
 * not saved: reading it takes PUSHF, which a trap-and-emulate VMM cannot virtualize while
 * interrupts are off (src/vmm/sensitive-watch.ts) — after a caught fault IF is 0, as the
 * exception's interrupt gate left it.
 */
	.text
	.globl catch_fault_asm, fault_resume
catch_fault_asm:			/* int catch_fault_asm(void (*fn)(void *), void *arg) */
	mov 4(%esp), %ecx		/* fn */
	mov 8(%esp), %edx		/* arg */
	mov %ebx, catch_ctx + 0
	mov %esi, catch_ctx + 4
	mov %edi, catch_ctx + 8
	mov %ebp, catch_ctx + 12
	mov %esp, catch_ctx + 16
	push %edx
	call *%ecx
	add $4, %esp
	xor %eax, %eax
	ret

fault_resume:
	mov $0x10, %ax
	mov %ax, %ss
	mov catch_ctx + 16, %esp
	cld
	mov catch_ctx + 0, %ebx
	mov catch_ctx + 4, %esi
	mov catch_ctx + 8, %edi
	mov catch_ctx + 12, %ebp
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov $1, %eax
	ret

/* INT 0x7F (read_eflags in conformance.h): EAX = the EFLAGS the processor pushed (at 8(%esp) from any ring). */
	.globl eflags_isr
eflags_isr:
	mov 8(%esp), %eax
	iret

	.section .note.GNU-stack, "", @progbits
