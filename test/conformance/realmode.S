/*
 * realmode.S -- the real-mode half of realmode.c. to_real_mode (32-bit, called from C) leaves
 * protected mode as SDM vol. 3, 9.9.2 says, runs the blob below in real mode, and comes back.
 * The blob is position-independent 16-bit code that realmode.c copies to BLOB (below 1 MiB, where
 * real mode can reach it) and runs with CS = BLOB >> 4: every address in it is an offset from
 * rm_blob_start (OFF), and its results are stored in it, where the C side reads them.
 */
#define BLOB		0x20000
#define SEG		0x2000
#define IVT		0x21000
#define SEL_KCODE	0x08
#define SEL_KDATA	0x10	/* flat 4 GiB data */
#define SEL_CODE16	0x30	/* 16-bit code at BLOB, 64 KiB */
#define SEL_DATA16	0x38	/* 16-bit data at 0, 64 KiB */
#define OFF(x)		((x) - rm_blob_start)

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
	ljmp $SEL_CODE16, $0	/* the blob's first instruction, in 16-bit protected mode */
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
	.globl rm_blob_start, rm_blob_end, rm_results, rm_gdtr
	.globl int42_after, de_at
rm_blob_start:
	/* 16-bit protected mode: 64 KiB segments everywhere, then PE off and a far jump. */
	mov $SEL_DATA16, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov %cr0, %eax
	and $0xfffffffe, %eax
	mov %eax, %cr0
	ljmp $SEG, $OFF(rm_entry)
rm_entry:
	mov $SEG, %ax
	mov %ax, %ds
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $0xff00, %sp

	/* Segment arithmetic: 1234:0010 and 1000:2350 are both linear 12350H. */
	mov $0x1234, %ax
	mov %ax, %es
	movw $0xbeef, %es:0x10
	mov $0x1000, %ax
	mov %ax, %es
	mov %es:0x2350, %bx
	mov %bx, OFF(rr_alias)
	mov %cr0, %eax
	mov %eax, OFF(rr_cr0)

	/* The vector table at IDTR.base: a private one at IVT, with INT 42H and #DE handlers. */
	lidt OFF(rm_idtr)
	mov $IVT >> 4, %ax
	mov %ax, %es
	movw $OFF(int42), %es:0x42 * 4
	movw $SEG, %es:0x42 * 4 + 2
	movw $OFF(de_handler), %es:0
	movw $SEG, %es:2
	sti
	mov %sp, OFF(rr_sp_before)
	int $0x42
int42_after:
	pushf
	popw OFF(rr_flags_after)
	cli
	xor %cl, %cl
	mov $1, %ax
de_at:
	div %cl				/* #DE: the handler moves the return IP past this 2-byte DIV */

	/* A far call and return. */
	lcall $SEG, $OFF(far_fn)
	mov %ax, OFF(rr_far)

	/* Port I/O: the UART's scratch register (COM1 + 7). */
	mov $0x3ff, %dx
	mov $0x5a, %al
	out %al, %dx
	xor %al, %al
	in %dx, %al
	mov %al, OFF(rr_scratch)

	/* Unreal mode: back to protected mode to give FS a 4 GiB limit, then real mode again. */
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmp $SEL_CODE16, $OFF(pm16_again)
pm16_again:
	mov $SEL_KDATA, %ax
	mov %ax, %fs
	mov %cr0, %eax
	and $0xfffffffe, %eax
	mov %eax, %cr0
	ljmp $SEG, $OFF(unreal)
unreal:
	xor %ax, %ax
	mov %ax, %fs			/* a real-mode load: base 0, the 4 GiB limit stays */
	mov $0x200000, %ebx
	addr32 movl $0xcafebabe, %fs:(%ebx)
	mov %fs:(%ebx), %eax
	mov %eax, OFF(rr_unreal)

	/* Back to protected mode for good: LGDT in real mode, PE on, a far jump to 32-bit code. */
	lgdtl OFF(rm_gdtr)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $SEL_KCODE, $back_in_pm

int42:
	mov %sp, OFF(rr_sp_in)
	push %bp
	mov %sp, %bp
	mov 2(%bp), %ax
	mov %ax, OFF(rr_ip)
	mov 4(%bp), %ax
	mov %ax, OFF(rr_cs)
	mov 6(%bp), %ax
	mov %ax, OFF(rr_flags_pushed)
	pushf
	popw OFF(rr_flags_in)
	pop %bp
	iret

de_handler:
	push %bp
	mov %sp, %bp
	mov 2(%bp), %ax
	mov %ax, OFF(rr_de_ip)
	addw $2, 2(%bp)
	pop %bp
	iret

far_fn:
	mov $0x4242, %ax
	lret

	.balign 4
rm_idtr:
	.word 0x3ff
	.long IVT
	.balign 4
rm_gdtr:			/* filled in by realmode.c */
	.word 0
	.long 0
	.balign 4
rm_results:			/* struct rm_results in realmode.c */
rr_alias:	.word 0
rr_sp_before:	.word 0
rr_sp_in:	.word 0
rr_ip:		.word 0
rr_cs:		.word 0
rr_flags_pushed: .word 0
rr_flags_in:	.word 0
rr_flags_after:	.word 0
rr_de_ip:	.word 0
rr_far:		.word 0
rr_scratch:	.word 0
		.word 0
rr_cr0:		.long 0
rr_unreal:	.long 0
rm_blob_end:

	.data
	.balign 4
pm_esp:	.long 0
pm_idtr: .word 0
	.long 0

	.section .note.GNU-stack, "", @progbits
