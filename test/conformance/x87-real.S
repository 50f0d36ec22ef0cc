/*
 * x87-real.S -- the real-mode half of x87-real.c, built as realmode.S is: to_real_mode (32-bit,
 * called from C) leaves protected mode as SDM vol. 3, 9.9.2 says, runs the blob below in real
 * mode and comes back. The blob is position-independent 16-bit code that x87-real.c copies to
 * BLOB and runs with CS = DS = BLOB >> 4: its addresses are offsets from xr_blob_start (OFF), and
 * its results are stored in it, where the C side reads them.
 */
#define BLOB		0x20000
#define SEG		0x2000
#define IVT		0x21000
#define SEL_KCODE	0x08
#define SEL_KDATA	0x10	/* flat 4 GiB data */
#define SEL_CODE16	0x30	/* 16-bit code at BLOB, 64 KiB */
#define SEL_DATA16	0x38	/* 16-bit data at 0, 64 KiB */
#define OFF(x)		((x) - xr_blob_start)

	.code32
	.text
	.globl to_real_mode
to_real_mode:			/* void to_real_mode(void) */
	push %ebp
	push %ebx
	push %esi
	push %edi
	mov %esp, pm_esp
	sidt pm_idtr
	ljmp $SEL_CODE16, $0
back_in_pm:
	mov $SEL_KDATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov pm_esp, %esp
	lidt pm_idtr
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret

	.code16
	.balign 16
	.globl xr_blob_start, xr_blob_end, xr_results, xr_gdtr, xr_load, xr_div, xr_wait, xr_one
xr_blob_start:
	mov $SEL_DATA16, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov %cr0, %eax
	and $0xfffffffe, %eax
	or $0x20, %eax			/* CR0.NE: x87 errors as #MF */
	mov %eax, %cr0
	ljmp $SEG, $OFF(rm_entry)
rm_entry:
	mov $SEG, %ax
	mov %ax, %ds
	mov %ax, %ss
	mov $0xff00, %sp
	lidt OFF(rm_idtr)
	mov $IVT >> 4, %ax
	mov %ax, %es
	movw $OFF(mf_handler), %es:16 * 4
	movw $SEG, %es:16 * 4 + 2

	/* 1/3 in extended precision, and the environment right after the load. */
	fninit
xr_load:
	fldl OFF(xr_one)
	fnstenv OFF(xr_env)
	fdivl OFF(three)
	fstpt OFF(xr_third)

	/* 1/0 with ZE unmasked: pending until the FWAIT, which raises #MF through vector 16. */
	fldcw OFF(cw_ze_unmasked)
	fld1
xr_div:
	fdivs OFF(zero)
	movw $0x1234, OFF(xr_after_div)
xr_wait:
	fwait
	movw $0x5678, OFF(xr_after_wait)
	fninit

	lgdtl OFF(xr_gdtr)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $SEL_KCODE, $back_in_pm

mf_handler:
	fnstenv OFF(xr_mf_env)
	fnclex
	push %bp
	mov %sp, %bp
	mov 2(%bp), %ax
	mov %ax, OFF(xr_mf_ip)
	incw 2(%bp)			/* past the one-byte FWAIT */
	pop %bp
	iret

	.balign 8
xr_one:		.double 1.0
three:		.double 3.0
zero:		.float 0.0
cw_ze_unmasked:	.word 0x037b
	.balign 4
rm_idtr:
	.word 0x3ff
	.long IVT
	.balign 4
xr_gdtr:			/* filled in by x87-real.c */
	.word 0
	.long 0
	.balign 4
xr_results:			/* struct xr_results in x87-real.c */
xr_env:		.fill 14, 1, 0
xr_mf_env:	.fill 14, 1, 0
xr_third:	.fill 10, 1, 0
xr_after_div:	.word 0
xr_after_wait:	.word 0
xr_mf_ip:	.word 0
xr_blob_end:

	.data
	.balign 4
pm_esp:	.long 0
pm_idtr: .word 0
	.long 0

	.section .note.GNU-stack, "", @progbits
