/*
 * progs.S - the user programs, linked into the kernel image.
 *
 * Each built user program (build/user/NAME, a static ELF for user/user.ld)
 * is included byte for byte with .incbin; `programs` is the table exec.c
 * searches by name.  The Makefile passes the directory with -Wa,-I.
 */
	.macro	PROGRAM name
	.section .rodata.progs, "a"
	.balign	16
img_\name\()_start:
	.incbin	"\name"
img_\name\()_end:
	.section .rodata.prognames, "a"
str_\name:
	.asciz	"\name"
	.endm

	.macro	ENTRY name
	.long	str_\name, img_\name\()_start, img_\name\()_end
	.endm

	PROGRAM	init
	PROGRAM	cpu
	PROGRAM	forkwait
	PROGRAM	syscall
	PROGRAM	pagefault
	PROGRAM	ctxsw
	PROGRAM	ptemod
	PROGRAM	popf
	PROGRAM	mix
	PROGRAM	selftest

	.section .rodata
	.balign	4
	.globl	programs
programs:
	ENTRY	init
	ENTRY	cpu
	ENTRY	forkwait
	ENTRY	syscall
	ENTRY	pagefault
	ENTRY	ctxsw
	ENTRY	ptemod
	ENTRY	popf
	ENTRY	mix
	ENTRY	selftest
	.long	0, 0, 0
