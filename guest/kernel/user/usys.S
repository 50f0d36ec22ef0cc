/*
 * usys.S - the system call stubs for the teaching kernel.
 *
 * cdecl in, int $0x80 out: EAX = number, arguments in EBX, ECX, EDX (as
 * many as the call takes), the result back in EAX.  EBX is callee-saved in
 * the C ABI, so it is saved here.
 */
#include "../common/abi.h"

	.macro	SYSCALL name, number, nargs
	.text
	.globl	\name
	.type	\name, @function
\name:
	pushl	%ebx
	.if	\nargs >= 1
	movl	8(%esp), %ebx
	.endif
	.if	\nargs >= 2
	movl	12(%esp), %ecx
	.endif
	.if	\nargs >= 3
	movl	16(%esp), %edx
	.endif
	movl	$\number, %eax
	int	$T_SYSCALL
	popl	%ebx
	ret
	.size	\name, . - \name
	.endm

	SYSCALL	exit, SYS_exit, 1
	SYSCALL	fork, SYS_fork, 0
	SYSCALL	wait, SYS_wait, 1
	SYSCALL	write, SYS_write, 3
	SYSCALL	getpid, SYS_getpid, 0
	SYSCALL	exec, SYS_exec, 2
	SYSCALL	sys_sbrk, SYS_sbrk, 1
	SYSCALL	sys_mmap, SYS_mmap, 2
	SYSCALL	munmap, SYS_munmap, 2
	SYSCALL	mprotect, SYS_mprotect, 3
	SYSCALL	yield, SYS_yield, 0
	SYSCALL	uptime, SYS_uptime, 1
	SYSCALL	kwork, SYS_kwork, 2
	SYSCALL	sleep, SYS_sleep, 1
