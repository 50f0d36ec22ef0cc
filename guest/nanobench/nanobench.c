/*
 * nanobench.c -- nanobenchmarks as a guest: the cost of single operations in cycles, by RDTSC,
 * after Adams & Agesen (ASPLOS 2006, "A Comparison of Software and Hardware Techniques for x86
 * Virtualization"): a null system call from ring 3, an I/O port read, a call/ret, a page
 * fault, a divide error, a store into a live page table, and (theirs had none) a CR3 switch.
 * The same image runs natively and under each virtualization mode; the host side compares.
 *
 * Command line (multiboot; words separated by spaces; a first word without '=' is skipped,
 * QEMU puts the kernel's file name there):
 *   bench=all | bench=<op>[,<op>...]   which ones (default all), always run in the order below
 *   n=<N>                              iterations per loop, 1..100000 (default 1000)
 * Each prints `nanobench <op> n=<N> cycles=<C> base=<B>`: C the cycles of N iterations of the
 * operation's loop, B those of the same loop without the operation. Then `nanobench done`.
 *
 * Exit codes (debug-exit port): 0 done, 1 a check failed (a handler did not run as often as the
 * loop raised it, a store or CR3 load that did not land), 2 an unexpected exception, 3 a bad
 * command line. Interrupts stay off (IF = 0) the whole time: no timer, the same run every time.
 */

#include "../bare/bare.h"

#define PAGE		0x1000u
#define CR0_WP		0x00010000u	/* supervisor writes honour R/W (SDM vol. 3A, 2.5) */


#define WARMUP		4u		/* untimed iterations first: TLB, shadows, the VMM's caches */
#define DEFAULT_N	1000u
#define MAX_N		100000u
#define PTEMOD_PAGE	0x003ff000u	/* the page whose PTE the ptemod loop rewrites: never mapped */
#define PTE_AVL9	0x200u		/* the value ptemod alternates with 0 (see boot.S) */

enum op { OP_SYSCALL, OP_IN, OP_CALLRET, OP_PGFAULT, OP_DIVZERO, OP_PTEMOD, OP_CR3, NOPS };

/* In the order src/api/nanobench.ts expects them (NANOBENCH_OPS). */
static const char *const op_names[NOPS] = { "syscall", "in", "callret", "pgfault", "divzero", "ptemod", "cr3" };

/* From boot.S and nanobench.ld */
extern void nb_in(u32 n, u32 out[2], u32 a, u32 b);
extern void nb_callret(u32 n, u32 out[2], u32 a, u32 b);
extern void nb_pgfault(u32 n, u32 out[2], u32 a, u32 b);
extern void nb_divzero(u32 n, u32 out[2], u32 a, u32 b);
extern void nb_ptemod(u32 n, u32 out[2], u32 a, u32 b);
extern void nb_cr3(u32 n, u32 out[2], u32 a, u32 b);
extern void isr_pf(void), isr_de(void), isr_syscall(void), user_syscall(void);
extern u32 user_box[3];
extern u8 nb_fault_page[], __kernel_end[], __user_start[], __user_end[], user_stack_top[];

/* How often each handler ran (boot.S increments them). */
volatile u32 nb_pf_count, nb_de_count, nb_syscall_count;

void __attribute__((noreturn)) unexpected(u32 vector, u32 *stack)
{
	int has_err = exception_has_error_code(vector);
	print("nanobench: unexpected exception %u at EIP=0x%x", vector, stack[has_err]);
	if (has_err)
		print(" err=0x%x", stack[0]);
	if (vector == 14)
		print(" CR2=0x%x", read_cr2());
	print("\n");
	exit_qemu(2);
}

/* ---- The command line ------------------------------------------------------------- */

static u32 selected = (1u << NOPS) - 1;	/* bit i: op i runs */
static u32 iterations = DEFAULT_N;

/* Does [s, e) spell `word`? */
static int span_is(const char *s, const char *e, const char *word)
{
	while (s < e && *word && *s == *word)
		s++, word++;
	return s == e && !*word;
}

static void __attribute__((noreturn)) bad_word(const char *s, const char *e)
{
	print("nanobench: bad command-line word \"");
	while (s < e)
		print("%c", *s++);
	print("\" (usage: bench=all|<op>[,<op>...] n=1..%u; ops:", MAX_N);
	for (u32 i = 0; i < NOPS; i++)
		print(" %s", op_names[i]);
	print(")\n");
	exit_qemu(3);
}

/* bench=<value>: "all" or a comma list of names. Returns the mask, or 0 if malformed. */
static u32 parse_ops(const char *s, const char *e)
{
	if (span_is(s, e, "all"))
		return (1u << NOPS) - 1;
	u32 mask = 0;
	while (s < e) {
		const char *c = s;
		while (c < e && *c != ',')
			c++;
		u32 i = 0;
		while (i < NOPS && !span_is(s, c, op_names[i]))
			i++;
		if (i == NOPS)
			return 0;	/* an unknown name, or an empty one (",," or a trailing ",") */
		mask |= 1u << i;
		s = c + 1;
		if (c + 1 == e)
			return 0;	/* a trailing comma */
	}
	return mask;
}

/* n=<value>: decimal, 1..MAX_N. Returns 0 if malformed. */
static u32 parse_n(const char *s, const char *e)
{
	u32 v = 0;
	if (s == e)
		return 0;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (u32)(*s - '0');
		if (v > MAX_N)
			return 0;
	}
	return v;
}

static void parse_cmdline(const char *cmdline)
{
	int first = 1;
	for (const char *s = cmdline; *s;) {
		if (*s == ' ') {
			s++;
			continue;
		}
		const char *e = s, *eq = 0;
		while (*e && *e != ' ') {
			if (*e == '=' && !eq)
				eq = e;
			e++;
		}
		if (!eq) {
			if (!first)
				bad_word(s, e);	/* only the first word may lack '=' (QEMU's file name) */
		} else if (span_is(s, eq, "bench")) {
			if (!(selected = parse_ops(eq + 1, e)))
				bad_word(s, e);
		} else if (span_is(s, eq, "n")) {
			if (!(iterations = parse_n(eq + 1, e)))
				bad_word(s, e);
		} else {
			bad_word(s, e);
		}
		first = 0;
		s = e;
	}
}

/* ---- Paging ------------------------------------------------------------------------- */

/*
 * Two page directories with the same entries (for the cr3 loop), sharing two page tables:
 *   pt_low   0-4 MiB identity, supervisor and writable, except: page 0 (not mapped: a null
 *            pointer faults), PTEMOD_PAGE (not mapped: the ptemod loop's entry), and the
 *            ring-3 code and stack pages (user-accessible);
 *   pt_hole  the 4 MiB around nb_fault_page: all entries 0, so a read there is a #PF on the
 *            PTE (the PDE is present).
 *
 *   linear address: | 31    22 | 21    12 | 11        0 |
 *                   | PD index | PT index | page offset |
 */
static u32 pd_a[1024] __attribute__((aligned(4096)));
static u32 pd_b[1024] __attribute__((aligned(4096)));
static u32 pt_low[1024] __attribute__((aligned(4096)));
static u32 pt_hole[1024] __attribute__((aligned(4096)));

static void paging_init(void)
{
	for (u32 i = 0; i < 1024; i++)
		pt_low[i] = i << 12 | PTE_RW | PTE_P;
	pt_low[0] = 0;
	pt_low[PTEMOD_PAGE >> 12] = 0;
	for (u32 a = (u32)__user_start; a < (u32)__user_end; a += PAGE)
		pt_low[a >> 12] |= PTE_US;
	/* The PDE allows user access; the PTE decides (SDM vol. 3A, 4.6: both must allow it). */
	pd_a[0] = (u32)pt_low | PTE_US | PTE_RW | PTE_P;
	pd_a[(u32)nb_fault_page >> 22] = (u32)pt_hole | PTE_RW | PTE_P;
	for (u32 i = 0; i < 1024; i++)
		pd_b[i] = pd_a[i];
	write_cr3((u32)pd_a);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

/* ---- The benchmarks ------------------------------------------------------------------- */

static void __attribute__((noreturn)) failed(u32 op, const char *what, u32 got, u32 expected)
{
	print("nanobench %s FAILED: %s 0x%x, expected 0x%x\n", op_names[op], what, got, expected);
	exit_qemu(1);
}

/* Runs op's loops with n iterations: out[0] the operation's cycles, out[1] the baseline's. */
static void measure(u32 op, u32 n, u32 out[2])
{
	switch (op) {
	case OP_SYSCALL:
		user_box[0] = n;
		ring3_call((u32)user_syscall, (u32)user_stack_top, (u32)user_box);
		out[0] = user_box[1];
		out[1] = user_box[2];
		break;
	case OP_IN:
		nb_in(n, out, 0, 0);
		break;
	case OP_CALLRET:
		nb_callret(n, out, 0, 0);
		break;
	case OP_PGFAULT:
		nb_pgfault(n, out, 0, 0);
		break;
	case OP_DIVZERO:
		nb_divzero(n, out, 0, 0);
		break;
	case OP_PTEMOD: {
		u32 *pte = &pt_low[PTEMOD_PAGE >> 12];
		nb_ptemod(n, out, (u32)pte, 0);
		u32 want = n & 1 ? PTE_AVL9 : 0;	/* the last of n stores alternating PTE_AVL9, 0 */
		if (*pte != want)
			failed(op, "the PTE after the stores is", *pte, want);
		*pte = 0;
		break;
	}
	case OP_CR3: {
		/* pd_b first: every load is a real switch. */
		nb_cr3(n, out, (u32)pd_b, (u32)pd_a);
		u32 want = n & 1 ? (u32)pd_b : (u32)pd_a;
		if (read_cr3() != want)
			failed(op, "CR3 after the loads is", read_cr3(), want);
		write_cr3((u32)pd_a);
		break;
	}
	}
}

/* A warm-up run, the timed run, its line, and the check of the handler's count. */
static void bench(u32 op)
{
	u32 out[2];
	volatile u32 *count = op == OP_SYSCALL ? &nb_syscall_count :
			      op == OP_PGFAULT ? &nb_pf_count :
			      op == OP_DIVZERO ? &nb_de_count : 0;
	if (count)
		*count = 0;
	measure(op, WARMUP, out);
	measure(op, iterations, out);
	print("nanobench %s n=%u cycles=%u base=%u\n", op_names[op], iterations, out[0], out[1]);
	if (count && *count != WARMUP + iterations) {
		print("nanobench %s FAILED: the handler ran %u times, expected %u\n", op_names[op], *count, WARMUP + iterations);
		exit_qemu(1);
	}
}

/* ---- Entry ------------------------------------------------------------------------------ */

void __attribute__((noreturn)) kmain(u32 magic, const struct multiboot_info *mbi)
{
	serial_init();
	if (magic != MB_MAGIC || (read_cr0() & CR0_PG)) {
		print("nanobench: not booted by a multiboot loader (magic 0x%x)\n", magic);
		exit_qemu(1);
	}
	/* Read before paging: the loader may put the string anywhere in low RAM. */
	if (mbi->flags & MB_CMDLINE)
		parse_cmdline((const char *)mbi->cmdline);
	if ((u32)__kernel_end > PTEMOD_PAGE) {
		print("nanobench: the kernel reaches 0x%x, over the ptemod page 0x%x\n", (u32)__kernel_end, PTEMOD_PAGE);
		exit_qemu(1);
	}

	cpu_tables_init();
	idt_set(0, isr_de, 0);			/* #DE: the divzero loop */
	idt_set(14, isr_pf, 0);			/* #PF: the pgfault loop */
	idt_set(0x80, isr_ring3_exit, 3);	/* ring 3's "I am done" (ring3_call) */
	idt_set(0x81, isr_syscall, 3);		/* the null system call */
	paging_init();

	for (u32 op = 0; op < NOPS; op++)
		if (selected >> op & 1)
			bench(op);
	print("nanobench done\n");
	exit_qemu(0);
}
