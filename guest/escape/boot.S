/*
 * boot.S -- the escape guest's own assembly (the multiboot entry, ring3_call and the
 * catch-all for exceptions are shared: ../bare/entry.S):
 *   the #UD and #GP entries (vectors 6 and 13), which hand a trap frame to trap() in escape.c,
 *   the instructions under test, each at a label of its own and listed in the fixup table
 *     (TRY below): an exception there resumes after the instruction, any other is unexpected,
 *   the ring-3 code, in a page of its own, with its stack.
 */

#include "../bare/trap-to-c.inc"

/*
 * TRY insn...: the instruction, at a label of its own, with an entry { its address, the
 * address after it } in the fixup table (section .fixup, bounded by __fixup_start and
 * __fixup_end in escape.ld). trap() resumes a #UD or #GP raised at that address after it.
 */
	.macro TRY insn:vararg
.Ltry\@:
	\insn
.Ldone\@:
	.pushsection .fixup, "a"
	.long .Ltry\@, .Ldone\@
	.popsection
	.endm

/*
 * One function per instruction under test: void NAME(u32 eax, u32 ecx), and NAME_at, the
 * address of the instruction itself (what EIP must be when it faults).
 */
	.macro TEST_INSN name, bytes:vararg
	.globl \name, \name\()_at
\name:
	push %ebx
	mov 8(%esp), %eax
	mov 12(%esp), %ecx
	xor %edx, %edx
	xor %ebx, %ebx
\name\()_at:
	TRY .byte \bytes
	pop %ebx
	ret
	.endm

	.text
/* AMD SVM (APM vol. 2, 15.5; vol. 3): rAX is the VMCB's (or the SLB's, or the page's) address. */
	TEST_INSN insn_vmrun,   0x0f, 0x01, 0xd8
	TEST_INSN insn_vmmcall, 0x0f, 0x01, 0xd9
	TEST_INSN insn_vmload,  0x0f, 0x01, 0xda
	TEST_INSN insn_vmsave,  0x0f, 0x01, 0xdb
	TEST_INSN insn_stgi,    0x0f, 0x01, 0xdc
	TEST_INSN insn_clgi,    0x0f, 0x01, 0xdd
	TEST_INSN insn_skinit,  0x0f, 0x01, 0xde
	TEST_INSN insn_invlpga, 0x0f, 0x01, 0xdf	/* eax: the address, ecx: the ASID */
/* Intel VMX (SDM vol. 3, 26.1; VMCALL outside VMX operation is #UD). */
	TEST_INSN insn_vmcall,  0x0f, 0x01, 0xc1

/* Control registers: void NAME(u32 value), NAME_at the MOV itself. */
	.macro TEST_MOV_CR name, cr
	.globl \name, \name\()_at
\name:
	mov 4(%esp), %eax
\name\()_at:
	TRY mov %eax, \cr
	ret
	.endm

	TEST_MOV_CR try_write_cr0, %cr0
	TEST_MOV_CR try_write_cr3, %cr3
	TEST_MOV_CR try_write_cr4, %cr4
	TEST_MOV_CR try_write_cr5, %cr5	/* CR1 and CR5-CR7 do not exist: #UD */

/* u32 try_read_cr1(void): mov %cr1, %eax (#UD), eax 0xffffffff if nothing was read. */
	.globl try_read_cr1, try_read_cr1_at
try_read_cr1:
	mov $0xffffffff, %eax
try_read_cr1_at:
	TRY mov %cr1, %eax
	ret

/*
 * Vectors 6 (#UD, no error code: a 0 is pushed in its place) and 13 (#GP). trap() gets a
 * struct trap_frame * and moves its eip past the faulting instruction (or gives up).
 */
	.globl isr_ud, isr_gp
isr_ud:
	push $0
	push $6
	jmp trap_common
isr_gp:
	push $13
trap_common:
	TRAP_TO_C trap, 8	/* drops the vector and the error code */

/*
 * The ring-3 code: one page, mapped user-accessible. ebx: the VMCB's address; edx: a port
 * with nothing behind it (user_port). Each TRY'd instruction must fault (#UD or #GP(0));
 * trap() notes it and resumes after it. int 0x80 returns to ring3_call with eax: 0xffff in
 * the high half, what SMSW read at ring 3 in the low half.
 */
	.section .user.text, "ax"
	.globl user_code, user_vmrun_at, user_vmmcall_at, user_vmcall_at, user_inb_at, user_outb_at, user_inl_at
user_code:
	mov %ebx, %eax
	movzwl user_port, %edx
user_vmrun_at:
	TRY .byte 0x0f, 0x01, 0xd8	/* vmrun: #UD without SVM (before the CPL check) */
user_vmmcall_at:
	TRY .byte 0x0f, 0x01, 0xd9	/* vmmcall */
user_vmcall_at:
	TRY .byte 0x0f, 0x01, 0xc1	/* vmcall */
user_inb_at:
	TRY inb %dx, %al		/* IOPL 0 < CPL 3 and no I/O bitmap: #GP(0) */
user_outb_at:
	TRY outb %al, %dx
user_inl_at:
	TRY inl %dx, %eax
	mov $0xffffffff, %eax
	smsw %ax		/* not privileged (CR4.UMIP = 0): CR0's low 16 bits */
	int $0x80
	jmp .			/* not reached */
	.balign 2
	.globl user_port
user_port:			/* a port with nothing behind it, on QEMU and shadowvisor */
	.word 0x0100

	.section .user.stack, "aw", @nobits
	.balign 4096
	.space 4096
	.globl user_stack_top
user_stack_top:

	.section .note.GNU-stack, "", @progbits
