/*
 * start.S - the entry point of every user program, for the teaching kernel
 * and for the Linux build alike: both start a process with the System V
 * i386 stack (argc at (%esp), then argv[0..argc-1], NULL, ...).
 * Calls main(argc, argv) on a 16-byte aligned stack, then exit(main's value).
 */
	.text
	.globl	_start
_start:
	xorl	%ebp, %ebp		/* the outermost frame */
	movl	(%esp), %eax		/* argc */
	leal	4(%esp), %ecx		/* argv */
	andl	$-16, %esp
	subl	$8, %esp
	pushl	%ecx
	pushl	%eax
	call	main
	movl	%eax, (%esp)
	call	exit
1:	jmp	1b			/* not reached */
