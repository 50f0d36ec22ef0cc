/*
 * start.S - tiny freestanding runtime for shadowvisor's i386 test programs.
 *
 * Provides _start (the ELF entry point) and the four memory routines GCC
 * is allowed to emit calls to even with -ffreestanding (memcpy, memmove,
 * memset, memcmp).  No libc is involved: everything else lives as static
 * inline functions in sys.h.
 *
 * Initial Linux i386 process stack at _start (System V i386 ABI):
 *
 *     (%esp)            argc
 *     4(%esp)           argv[0] ... argv[argc-1], NULL
 *     ...               envp[0] ... NULL
 *     ...               auxv pairs, AT_NULL
 *
 * _start calls main(argc, argv, envp) with a 16-byte aligned stack and
 * passes main's return value to exit_group (syscall 252) via int $0x80.
 */
	.file	"start.S"
	.text

	.globl	_start
	.type	_start, @function
_start:
	xorl	%ebp, %ebp		/* mark the outermost frame */
	movl	(%esp), %eax		/* argc */
	leal	4(%esp), %ecx		/* argv */
	leal	4(%ecx,%eax,4), %edx	/* envp = &argv[argc + 1] */
	andl	$-16, %esp		/* align; after 3 pushes + 4 pad the */
	subl	$4, %esp		/* call site is 16-byte aligned */
	pushl	%edx
	pushl	%ecx
	pushl	%eax
	call	main
	movl	%eax, %ebx		/* status = main's return value */
	movl	$252, %eax		/* __NR_exit_group */
	int	$0x80
	hlt				/* not reached: faults in user mode */
	.size	_start, .-_start

/* void *memcpy(void *dst, const void *src, size_t n) */
	.globl	memcpy
	.type	memcpy, @function
memcpy:
	pushl	%esi
	pushl	%edi
	movl	12(%esp), %edi
	movl	16(%esp), %esi
	movl	20(%esp), %ecx
	movl	%edi, %eax
	rep movsb
	popl	%edi
	popl	%esi
	ret
	.size	memcpy, .-memcpy

/* void *memmove(void *dst, const void *src, size_t n) */
	.globl	memmove
	.type	memmove, @function
memmove:
	pushl	%esi
	pushl	%edi
	movl	12(%esp), %edi
	movl	16(%esp), %esi
	movl	20(%esp), %ecx
	movl	%edi, %eax
	movl	%edi, %edx
	subl	%esi, %edx		/* dst - src (unsigned) */
	cmpl	%ecx, %edx
	jb	1f			/* dst inside [src, src+n): copy backwards */
	rep movsb
	jmp	2f
1:	leal	-1(%esi,%ecx), %esi
	leal	-1(%edi,%ecx), %edi
	std
	rep movsb
	cld
2:	popl	%edi
	popl	%esi
	ret
	.size	memmove, .-memmove

/* void *memset(void *dst, int c, size_t n) */
	.globl	memset
	.type	memset, @function
memset:
	pushl	%edi
	movl	8(%esp), %edi
	movzbl	12(%esp), %eax
	movl	16(%esp), %ecx
	movl	%edi, %edx
	rep stosb
	movl	%edx, %eax
	popl	%edi
	ret
	.size	memset, .-memset

/* int memcmp(const void *a, const void *b, size_t n) */
	.globl	memcmp
	.type	memcmp, @function
memcmp:
	pushl	%esi
	pushl	%edi
	movl	12(%esp), %esi
	movl	16(%esp), %edi
	movl	20(%esp), %ecx
	xorl	%eax, %eax
	testl	%ecx, %ecx
	jz	2f
	repe cmpsb
	je	2f
	movzbl	-1(%esi), %eax
	movzbl	-1(%edi), %edx
	subl	%edx, %eax
2:	popl	%edi
	popl	%esi
	ret
	.size	memcmp, .-memcmp

	.section .note.GNU-stack,"",@progbits
