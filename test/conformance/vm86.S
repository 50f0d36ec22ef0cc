/*
 * vm86.S -- the virtual-8086 half of vm86.c: enter_v86 (32-bit, ring 0) IRETs into the blob in
 * virtual-8086 mode, and the blob (16-bit, position-independent: vm86.c copies it to V86_BLOB,
 * CS = V86_BLOB >> 4) holds one short piece of code per check, each ending in an exception or in
 * INT 81H, which the monitor (vm86.c, through catch_fault) takes as the end of the run.
 */
#define V86_CS	0x3000
#define V86_DS	0x3100
#define V86_SS	0x3200
#define V86_FS	0x3500
#define V86_GS	0x3600
#define OFF(x)	((x) - v86_start)

	.code32
	.text
	.globl enter_v86, gp_probe, v86_exit
enter_v86:			/* void enter_v86(u32 ip, u32 eflags): never returns */
	mov 4(%esp), %ecx
	mov 8(%esp), %edx
	pushl $V86_GS
	pushl $V86_FS
	pushl $V86_DS		/* DS */
	pushl $V86_DS		/* ES */
	pushl $V86_SS
	pushl $0x1000		/* ESP */
	pushl %edx		/* EFLAGS, with VM=1 */
	pushl $V86_CS
	pushl %ecx
	iret

/* A #GP gate that looks at the data segment registers the processor left, then goes on as guest/bare's stub. */
gp_probe:
	mov %ds, %eax
	mov %eax, %ss:seen_ds
	mov %es, %eax
	mov %eax, %ss:seen_es
	mov %fs, %eax
	mov %eax, %ss:seen_fs
	mov %gs, %eax
	mov %eax, %ss:seen_gs
	int $0x7f			/* read_eflags (conformance.h): EFLAGS without PUSHF */
	mov %eax, %ss:seen_flags
	jmp isr_unexpected_stubs + 8 * 13

/* INT 81H (a DPL 3 gate): the V86 code is done; its frame tells where and with which EFLAGS. */
v86_exit:
	mov (%esp), %eax
	mov %eax, %ss:exit_eip
	mov 8(%esp), %eax
	mov %eax, %ss:exit_eflags
	mov $0x10, %ax			/* DS and ES are null after V86 mode; fault_resume reads memory */
	mov %ax, %ds
	mov %ax, %es
	jmp fault_resume

	.code16
	.globl v86_start, v86_end
	.globl basic, basic_hlt, cli_at, sti_at, pushf_at, popf_at, int_at, iret_at
	.globl div_code, div_at, io_ok, io_ok_hlt, io_denied, io_denied_at, iopl3, iopl3_exit, bad_gate, bad_gate_at
v86_start:
basic:
	movw $0xbeef, 0x10	/* DS 3100H: linear 31010H */
	mov $0x1234, %ax
	mov %ax, %es
	mov %sp, 0x12
basic_hlt:
	hlt			/* privileged: #GP(0) */
cli_at:	cli
sti_at:	sti
pushf_at: pushf
popf_at: popf
int_at:	int $0x80
iret_at: iret
div_code:
	xor %cl, %cl
	mov $1, %ax
div_at:	div %cl
io_ok:
	mov $0x3ff, %dx
	mov $0x5a, %al
	out %al, %dx
	xor %al, %al
	in %dx, %al
	mov %al, 0x20
io_ok_hlt:
	hlt
io_denied:
	mov $0x3fe, %dx
io_denied_at:
	in %dx, %al
	hlt
iopl3:
	cli
	pushf
	popw 0x30
	sti
	pushf
	popw 0x32
	push $0x0002
	popf			/* IOPL 0 in the image: IOPL stays 3 */
	pushf
	popw 0x34
	push $0x0202
	push %cs
	push $OFF(iopl3_after)
	iret			/* IOPL 3: a real-mode-style return, IF=1 */
	hlt
iopl3_after:
	pushf
	popw 0x36
iopl3_exit:
	int $0x81
bad_gate:
	nop
bad_gate_at:
	int $0x82		/* a gate to DPL 3 code: #GP(selector) */
v86_end:

	.section .note.GNU-stack, "", @progbits
