/*
 * boot.S -- the entry probe's own assembly (the multiboot header, the shared exception stubs and
 * the kernel stack are ../bare/entry.S; this guest's ELF entry is probe_entry, not _start):
 *   probe_entry: saves every register the loader left, before anything else touches one, into
 *     `entry` (struct entry_state in entry-probe.c), then calls probe_main on a stack of its own,
 *   irq_stubs: one 16-byte stub per vector 0-255 that notes the vector in `last_vector` and
 *     returns (the 8259s' vector bases are found by letting one interrupt through).
 */

	.text
	.globl probe_entry
probe_entry:
	/* Nothing may change a register or a flag before it is saved: MOV to memory changes neither. */
	mov %eax, entry + 0
	mov %ebx, entry + 4
	mov %ecx, entry + 8
	mov %edx, entry + 12
	mov %esi, entry + 16
	mov %edi, entry + 20
	mov %ebp, entry + 24
	mov %esp, entry + 28
	mov $kernel_stack_top, %esp	/* the loader's stack (if any) is not used: it is being probed */
	pushf				/* EFLAGS as the loader left it (MOV changes no flag) */
	popl entry + 32
	mov %cs, entry + 36
	mov %ds, entry + 38
	mov %es, entry + 40
	mov %fs, entry + 42
	mov %gs, entry + 44
	mov %ss, entry + 46
	sgdt entry + 48			/* limit (2 bytes), base (4 bytes) */
	sidt entry + 56
	sldt entry + 64
	str entry + 66
	mov %cr0, %eax
	mov %eax, entry + 68
	mov %cr2, %eax
	mov %eax, entry + 72
	mov %cr3, %eax
	mov %eax, entry + 76
	mov %cr4, %eax
	mov %eax, entry + 80
	mov %dr6, %eax
	mov %eax, entry + 84
	mov %dr7, %eax
	mov %eax, entry + 88
	call probe_main		/* never returns: it ends by writing to the debug exit port */
1:	hlt
	jmp 1b

/*
 * Vector n's stub is at irq_stubs + 16 * n. The vectors it is used for carry no error code
 * (the 8259s' interrupts, and nothing else while it is installed).
 */
	.balign 16
	.globl irq_stubs
irq_stubs:
	.set vector, 0
	.rept 256
	.balign 16
	movl $vector, last_vector
	iret
	.set vector, vector + 1
	.endr

	.data
	.balign 4
	.globl last_vector
last_vector:
	.long 0xffffffff

	.section .note.GNU-stack, "", @progbits
