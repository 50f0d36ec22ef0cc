/*
 * boot.S -- the nanobenchmark guest's own assembly (the multiboot entry, ring3_call and the
 * catch-all for exceptions are shared: ../bare/entry.S):
 *   the timed loops, one routine per operation, so that no compiler can reorder, hoist or
 *     drop what is timed: each loop is the operation plus `dec; jnz` (and, where the operation
 *     alternates two values, one `xor` or `xchg` that its baseline keeps),
 *   the entries of the exceptions and interrupts the loops raise on purpose: #DE (vector 0),
 *     #PF (vector 14) and the system-call gate (0x81); each counts itself,
 *   the ring-3 code of the syscall loop, in a page of its own, and the ring-3 stack page, which
 *     also holds the box through which that code hands back its deltas.
 *
 * Every routine times the operation's loop, then the same loop without the operation (the
 * baseline), each between two RDTSCs; only the low 32 bits of each difference are kept (the
 * runs are far shorter than 2^32 cycles). RDTSC is not serializing (SDM vol. 2B, RDTSC), which
 * matters little for loops of hundreds of iterations and not at all on shadowvisor, whose RDTSC
 * counts every instruction before it.
 */

#define PF_ADDRESS	0x00c00000	/* a page whose PTE is 0 (nanobench.c maps its page table) */
#define PF_INSN_BYTES	5		/* mov moffs32, %eax: A1 + a 4-byte address */
#define DE_INSN_BYTES	2		/* div %ecx: F7 F1 */
#define PTE_AVL9	0x200		/* an available bit: an entry with only it is still not present */

/* The address the #PF loop reads, for nanobench.c (an absolute symbol: one definition). */
	.globl nb_fault_page
	.set nb_fault_page, PF_ADDRESS

/*
 * Every kernel routine is void nb_<op>(u32 n, u32 out[2], u32 a, u32 b): it runs the operation
 * n times (n >= 1), writes the cycles of that loop to out[0] and those of the baseline loop to
 * out[1]. a and b are the operation's operands where it has any. Interrupts are off (IF = 0)
 * throughout.
 */
#define ARG_N	20		/* after the four pushes of PROLOGUE and the return address */
#define ARG_OUT	24
#define ARG_A	28
#define ARG_B	32

.macro PROLOGUE
	push %ebp
	push %ebx
	push %esi
	push %edi
.endm

.macro EPILOGUE
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret
.endm

/* t0 in EBP: RDTSC writes EDX:EAX (SDM vol. 2B, RDTSC), so loops leave EBP, EAX, EDX alone. */
.macro START_TIMER
	rdtsc
	mov %eax, %ebp
.endm

/* out[slot / 4] = low 32 bits of (now - t0). */
.macro STOP_TIMER slot
	rdtsc
	sub %ebp, %eax
	mov ARG_OUT(%esp), %edx
	mov %eax, \slot(%edx)
.endm

/* The loop counter in ESI, from the n argument. */
.macro COUNT
	mov ARG_N(%esp), %esi
.endm

/* The same loop without the operation, timed into out[1]. */
.macro BASELINE
	COUNT
	START_TIMER
2:	dec %esi
	jnz 2b
	STOP_TIMER 4
.endm

	.text

/* in: one read of the master PIC's mask register (port 0x21), harmless and always there. */
	.globl nb_in
nb_in:
	PROLOGUE
	COUNT
	START_TIMER
1:	inb $0x21, %al
	dec %esi
	jnz 1b
	STOP_TIMER 0
	BASELINE
	EPILOGUE

/* callret: a near call to a function that only returns. */
	.globl nb_callret
nb_callret:
	PROLOGUE
	COUNT
	START_TIMER
1:	call just_ret
	dec %esi
	jnz 1b
	STOP_TIMER 0
	BASELINE
	EPILOGUE

just_ret:
	ret

/*
 * pgfault: a supervisor read of PF_ADDRESS, whose PTE is 0. A not-present translation is never
 * cached in the TLB (SDM vol. 3A, 4.10.2.3), so every iteration walks and faults; isr_pf
 * resumes after the instruction.
 */
	.globl nb_pgfault
nb_pgfault:
	PROLOGUE
	COUNT
	START_TIMER
1:
pf_insn:
	mov PF_ADDRESS, %eax	/* #PF, error code 0 (not present, read, supervisor) */
pf_next:
	dec %esi
	jnz 1b
	STOP_TIMER 0
	BASELINE
	EPILOGUE
	.if pf_next - pf_insn - PF_INSN_BYTES
	.error "the faulting read must be PF_INSN_BYTES long: isr_pf skips that many bytes"
	.endif

/* divzero: an unsigned divide by ECX = 0, which raises #DE (SDM vol. 2A, DIV) before changing
 * any register; isr_de resumes after it. */
	.globl nb_divzero
nb_divzero:
	PROLOGUE
	xor %ecx, %ecx
	COUNT
	START_TIMER
1:
de_insn:
	div %ecx
de_next:
	dec %esi
	jnz 1b
	STOP_TIMER 0
	BASELINE
	EPILOGUE
	.if de_next - de_insn - DE_INSN_BYTES
	.error "div %ecx must be DE_INSN_BYTES long: isr_de skips that many bytes"
	.endif

/*
 * ptemod: a = the address of a PTE in a page table the CPU is using (it maps this code and its
 * stack), for a page nothing uses. The stores alternate PTE_AVL9 and 0, the first being
 * PTE_AVL9, so after n stores the entry holds PTE_AVL9 if n is odd, else 0. Both values are
 * not present (P = 0), and the TLB never caches a not-present translation (SDM vol. 3A,
 * 4.10.2.3): no INVLPG is needed, and the store is the whole operation.
 */
	.globl nb_ptemod
nb_ptemod:
	PROLOGUE
	mov ARG_A(%esp), %ecx
	mov $PTE_AVL9, %ebx
	COUNT
	START_TIMER
1:	mov %ebx, (%ecx)
	xor $PTE_AVL9, %ebx
	dec %esi
	jnz 1b
	STOP_TIMER 0
	COUNT
	START_TIMER
2:	xor $PTE_AVL9, %ebx
	dec %esi
	jnz 2b
	STOP_TIMER 4
	EPILOGUE

/*
 * cr3: a and b are two page directories that map this kernel identically. Each operation loads
 * CR3 with one of them (a first, then b, a, ...), which flushes every TLB entry (no global
 * pages: CR4.PGE = 0; SDM vol. 3A, 4.10.4.1), then reads one stack variable, which must walk
 * again. After n operations CR3 holds a if n is odd, else b.
 */
	.globl nb_cr3
nb_cr3:
	PROLOGUE
	mov ARG_A(%esp), %ebx
	mov ARG_B(%esp), %ecx
	COUNT
	START_TIMER
1:	mov %ebx, %cr3
	mov (%esp), %edi	/* the stack variable: the saved EDI */
	xchg %ebx, %ecx
	dec %esi
	jnz 1b
	STOP_TIMER 0
	COUNT
	START_TIMER
2:	xchg %ebx, %ecx
	dec %esi
	jnz 2b
	STOP_TIMER 4
	EPILOGUE

/*
 * Vector 14, from pf_insn only: the CPU pushed an error code (SDM vol. 3A, 6.15, #PF). Checks
 * that this is the fault the loop raises (CR2, EIP, error code), counts it and resumes at the
 * next instruction; anything else goes to the shared catch-all as if it had come there.
 */
	.globl isr_pf
isr_pf:
	push %eax
	mov %cr2, %eax
	cmp $PF_ADDRESS, %eax
	jne 1f
	cmpl $pf_insn, 8(%esp)	/* EIP */
	jne 1f
	cmpl $0, 4(%esp)	/* error code: P = 0, W/R = 0, U/S = 0 */
	jne 1f
	incl nb_pf_count
	pop %eax
	addl $PF_INSN_BYTES, 4(%esp)
	add $4, %esp		/* the error code */
	iret
1:	pop %eax
	jmp isr_unexpected_stubs + 8 * 14

/* Vector 0, from de_insn only: a fault with no error code, EIP at the DIV (SDM vol. 3A, 6.15). */
	.globl isr_de
isr_de:
	cmpl $de_insn, (%esp)
	jne 1f
	incl nb_de_count
	addl $DE_INSN_BYTES, (%esp)
	iret
1:	jmp isr_unexpected_stubs + 8 * 0

/*
 * Vector 0x81, a DPL 3 interrupt gate: the null system call. Counts itself and returns; the
 * IRET restores EFLAGS and goes back to ring 3. DS still holds the user data selector, which is
 * flat like the kernel's, so the count is reached through it.
 */
	.globl isr_syscall
isr_syscall:
	incl nb_syscall_count
	iret

/*
 * The ring-3 code: one page, mapped user-accessible; ring3_call enters it with EBX pointing at
 * the box { n, cycles, base } in the user stack page. Both timed loops, RDTSCs included, run
 * at ring 3 (CR4.TSD = 0 lets RDTSC run there: SDM vol. 2B, RDTSC); int $0x80 goes back to
 * ring3_call's caller.
 */
	.section .user.text, "ax"
	.globl user_syscall
user_syscall:
	mov (%ebx), %esi
	rdtsc
	mov %eax, %ebp
1:	int $0x81
	dec %esi
	jnz 1b
	rdtsc
	sub %ebp, %eax
	mov %eax, 4(%ebx)
	mov (%ebx), %esi
	rdtsc
	mov %eax, %ebp
2:	dec %esi
	jnz 2b
	rdtsc
	sub %ebp, %eax
	mov %eax, 8(%ebx)
	int $0x80
3:	jmp 3b			/* not reached */

	.section .user.stack, "aw", @nobits
	.balign 4096
	.globl user_box
user_box:			/* n (in), cycles, base (out) */
	.space 12
	.space 4096 - 12
	.globl user_stack_top
user_stack_top:

	.section .note.GNU-stack, "", @progbits
