/*
 * x87.S -- the instructions x87.c checks, each at a global label so that the EIP an exception
 * pushes and the pointers the FPU records (FIP, FDP) can be compared with where they are.
 * Each is a void fn(void *arg) for catch_fault, or a plain function.
 */
	.text
	.globl x87_fld1, x87_fld1_at
	.globl x87_fwait, x87_fwait_at
	.globl x87_divide_by_zero, x87_divide_at, x87_zero
	.globl x87_pending_then_wait, x87_pending_divide_at, x87_pending_wait_at
	.globl x87_irq13_wait, x87_irq13_isr, x87_irq13_count

/* void x87_fld1(void *): one x87 instruction (fld1) and pop it again. */
x87_fld1:
x87_fld1_at:
	fld1
	fstp %st(0)
	ret

/* void x87_fwait(void *): WAIT alone. */
x87_fwait:
x87_fwait_at:
	fwait
	ret

/* void x87_divide_by_zero(void *): 1 / 0 with the operand in memory (ZE; no fault yet). */
x87_divide_by_zero:
	fld1
x87_divide_at:
	fdivs x87_zero
	ret

/* void x87_pending_then_wait(void *): raise ZE, run integer code, then WAIT: #MF there. */
x87_pending_then_wait:
	fld1
x87_pending_divide_at:
	fdivs x87_zero
	mov $3, %ecx
	add %ecx, %ecx
	fnstsw %ax			/* non-waiting: no #MF */
x87_pending_wait_at:
	fwait
	ret

/* void x87_irq13_wait(void): with CR0.NE=0 and IF=1, raise ZE and WAIT; IRQ 13 comes. */
x87_irq13_wait:
	fld1
	fdivs x87_zero
	sti
	fwait
	nop
	cli
	fstp %st(0)
	ret

/* IRQ 13 (the PIC's slave IR5): count, clear the request (port 0xF0), the exception, and EOI. */
x87_irq13_isr:
	push %eax
	incl x87_irq13_count
	xor %eax, %eax
	outb %al, $0xf0
	fnclex
	mov $0x20, %al
	outb %al, $0xa0
	outb %al, $0x20
	pop %eax
	iret

	.data
	.balign 4
x87_zero:
	.long 0
x87_irq13_count:
	.long 0

	.section .note.GNU-stack, "", @progbits
