/*
 * escape.c -- a guest that tries to leave guest mode and to tamper with its VM, printing one
 * deterministic line per attempt on COM1. On bare hardware without SVM (QEMU's default CPU),
 * on shadowvisor natively and under every virtualization mode the output must be the same:
 * what the hardware gives the guest, and nothing of the VMM.
 *
 *   1. CPUID: the highest extended leaf, SVM and SKINIT (0x80000001 ECX bits 2 and 12), VMX
 *      (1 ECX bit 5). The SVM instructions VMRUN (with rAX at a plausible VMCB in the guest's RAM), VMMCALL,
 *      VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA, and Intel's VMCALL, at ring 0: without
 *      SVM (and outside VMX operation) each raises #UD with EIP at the instruction; the VMCB
 *      page is left as it was.
 *   2. Control registers a hypervisor intercepts: CR0 (PG off and on over an identity map,
 *      CD|NW, LMSW, CLTS, SMSW), CR4 (the bits CPUID reports), CR3 (beyond RAM with paging
 *      off, then back): the values read back are printed. CR1 and CR5 raise #UD. (Not
 *      checked, because QEMU's TCG gets them wrong: CR0.PG without PE, CR0.NW without CD and
 *      a reserved CR4 bit, each #GP(0) on hardware; see README.md.)
 *   3. Ports with nothing behind them: IN of 8, 16 and 32 bits reads all ones, OUT is ignored,
 *      and the UART still prints (this transcript).
 *   4. Ring 3: VMRUN, VMMCALL, VMCALL raise #UD (not #GP); IN and OUT with IOPL 0 and no I/O
 *      bitmap raise #GP(0); SMSW reads CR0's low 16 bits.
 *   5. The code is unchanged (its checksum at boot and at the end), and the guest exits with
 *      code 0 through the debug-exit port. Any exception other than an expected #UD or #GP at
 *      an instruction under test: its vector is printed, and exit code 2.
 *
 * No interrupts (IF stays 0), no timer: the run is the same every time.
 */

#include "../bare/bare.h"

#define PAGE		0x1000u

#define CR0_PE		0x00000001u
#define CR0_TS		0x00000008u
#define CR0_ET		0x00000010u
#define CR0_NW		0x20000000u
#define CR0_CD		0x40000000u
#define CR4_TSD		0x00000004u
#define CR4_DE		0x00000008u
#define CR4_PSE		0x00000010u

#define CPUID1_EDX_DE	(1u << 2)
#define CPUID1_EDX_PSE	(1u << 3)
#define CPUID1_EDX_TSC	(1u << 4)
#define CPUID1_ECX_VMX	(1u << 5)
#define CPUID81_ECX_SVM	(1u << 2)
#define CPUID81_ECX_SKINIT (1u << 12)	/* SKINIT and STGI without SVM */


/* Fixed places in RAM, so that the CR3 values printed do not depend on the build. */
#define PAGE_DIR	0x00200000u	/* the page directory */
#define PAGE_TABLE	0x00201000u	/* 0 - 4 MiB, 4 KiB pages, identity */
#define VMCB		0x00202000u	/* the plausible VMCB */
#define MARKER		0x00203000u	/* a dword read through the identity map */
#define MARKER_VALUE	0x600dc0deu

/* CR3 values beyond RAM (32 MiB, or anything up to 1 GiB): loaded with paging off only. */
#define FAR_CR3_A	0x40000000u
#define FAR_CR3_B	0xfffff000u
#define CR3_PWT_PCD	0x00000018u

/* From boot.S and escape.ld */
struct fixup {
	u32 at, resume;
};
extern const struct fixup __fixup_start[], __fixup_end[];
extern u8 __kernel_start[], __code_end[], __kernel_end[], __user_start[], __user_end[], user_stack_top[];
extern void isr_ud(void), isr_gp(void), user_code(void);
extern const u8 user_vmrun_at[], user_vmmcall_at[], user_vmcall_at[], user_inb_at[], user_outb_at[], user_inl_at[];
extern const u16 user_port;

typedef void insn_fn(u32 eax, u32 ecx);
extern insn_fn insn_vmrun, insn_vmmcall, insn_vmload, insn_vmsave, insn_stgi, insn_clgi, insn_skinit,
	insn_invlpga, insn_vmcall;
extern const u8 insn_vmrun_at[], insn_vmmcall_at[], insn_vmload_at[], insn_vmsave_at[], insn_stgi_at[],
	insn_clgi_at[], insn_skinit_at[], insn_invlpga_at[], insn_vmcall_at[];
extern void try_write_cr0(u32), try_write_cr3(u32), try_write_cr4(u32), try_write_cr5(u32);
extern u32 try_read_cr1(void);
extern const u8 try_write_cr0_at[], try_write_cr3_at[], try_write_cr4_at[], try_write_cr5_at[], try_read_cr1_at[];

static inline u32 peek(u32 a) { return *(volatile u32 *)a; }
static inline void poke(u32 a, u32 v) { *(volatile u32 *)a = v; }

static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static inline u32 smsw(void) { u16 v; __asm__ volatile("smsw %0" : "=r"(v)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

/* ---- Exceptions ------------------------------------------------------------------- */

/* What the CPU and boot.S's trap_common pushed. */
struct trap_frame {
	u32 es, ds;
	u32 edi, esi, ebp, esp, ebx, edx, ecx, eax;	/* pusha */
	u32 vector, err;				/* boot.S (#UD: err 0) */
	u32 eip, cs, eflags;				/* the CPU */
};

/* The exceptions the instructions under test raised since the last clear_traps(). */
struct trap_record {
	u32 vector, err, eip, cs;
};
static struct trap_record traps[8];
static u32 ntraps;

static void clear_traps(void) { ntraps = 0; }

/* #UD or #GP: at an instruction in the fixup table, note it and resume after it. */
void trap(struct trap_frame *f)
{
	for (const struct fixup *x = __fixup_start; x < __fixup_end; x++) {
		if (f->eip != x->at)
			continue;
		if (ntraps < sizeof(traps) / sizeof(traps[0]))
			traps[ntraps] = (struct trap_record){ f->vector, f->err, f->eip, f->cs };
		ntraps++;
		f->eip = x->resume;
		return;
	}
	print("escape: unexpected exception %u at EIP=0x%x CS=0x%x err=0x%x\n", f->vector, f->eip, f->cs, f->err);
	exit_qemu(2);
}

void __attribute__((noreturn)) unexpected(u32 vector, u32 *stack)
{
	int has_err = exception_has_error_code(vector);
	print("escape: unexpected exception %u at EIP=0x%x", vector, stack[has_err]);
	if (has_err)
		print(" err=0x%x", stack[0]);
	if (vector == 14)
		print(" CR2=0x%x", read_cr2());
	print("\n");
	exit_qemu(2);
}

/* What traps[k] was, and where: "#UD (vector 6), eip at the instruction". */
static void print_trap(const struct trap_record *t, const u8 *at)
{
	if (t->vector == 6)
		print("#UD (vector 6)");
	else if (t->vector == 13)
		print("#GP(%u) (vector 13)", t->err);
	else
		print("vector %u, error code 0x%x", t->vector, t->err);
	if (t->eip == (u32)at)
		print(", eip at the instruction");
	else
		print(", eip 0x%08x (the instruction is at 0x%08x)", t->eip, (u32)at);
	if ((t->cs & 3) != 0)
		print(", cs 0x%x", t->cs);
}

/* The outcome of the one instruction at `at` run since clear_traps(). */
static void print_outcome(const u8 *at)
{
	if (ntraps == 0)
		print("no exception");
	else if (ntraps == 1)
		print_trap(&traps[0], at);
	else
		print("%u exceptions", ntraps);
}

/* ---- Memory -------------------------------------------------------------------------- */

/* Adler-32 of [start, end). */
static u32 checksum(const u8 *start, const u8 *end)
{
	u32 a = 1, b = 0;
	for (const volatile u8 *p = start; p < end; p++) {
		a = (a + *p) % 65521;
		b = (b + a) % 65521;
	}
	return b << 16 | a;
}

/* ---- 1. CPUID and the SVM instructions ---------------------------------------------- */

/*
 * A VMCB (AMD APM vol. 2, appendix B) a naive VMM might believe: intercepts that make no
 * sense (VMRUN's own intercept clear, which real SVM rejects with VMEXIT_INVALID), ASID 0,
 * EFER.SVME, flat 32-bit segments, paging on with my page directory, RIP at escaped().
 */
static void __attribute__((noreturn, used)) escaped(void)
{
	print("escape: ESCAPED: running at the VMCB's RIP\n");
	exit_qemu(3);
}

static void vmcb_fill(void)
{
	u32 *v = (u32 *)VMCB;
	for (u32 i = 0; i < PAGE / 4; i++)
		v[i] = 0;
	v[0x000 / 4] = 0xffff0000u;	/* intercept CR writes, not reads */
	v[0x008 / 4] = 0x00004000u;	/* intercept #PF only */
	v[0x00c / 4] = 0xdeadbeefu;	/* InterceptMisc1: nonsense */
	v[0x010 / 4] = 0x0000fffeu;	/* InterceptMisc2: everything but VMRUN */
	v[0x058 / 4] = 0;		/* ASID 0: reserved for the host */
	static const u32 seg[6][2] = {	/* selector | attributes << 16, limit */
		{ 0x10 | 0x0c93u << 16, 0xffffffffu }, { 0x08 | 0x0c9bu << 16, 0xffffffffu },
		{ 0x10 | 0x0c93u << 16, 0xffffffffu }, { 0x10 | 0x0c93u << 16, 0xffffffffu },
		{ 0x10 | 0x0c93u << 16, 0xffffffffu }, { 0x10 | 0x0c93u << 16, 0xffffffffu },
	};
	for (u32 s = 0; s < 6; s++) {	/* ES CS SS DS FS GS at 0x400, 16 bytes each */
		v[(0x400 + 16 * s) / 4] = seg[s][0];
		v[(0x404 + 16 * s) / 4] = seg[s][1];
	}
	v[0x4d0 / 4] = 1u << 12;	/* EFER.SVME */
	v[0x548 / 4] = CR4_PSE;		/* CR4 */
	v[0x550 / 4] = PAGE_DIR;	/* CR3 */
	v[0x558 / 4] = CR0_PG | CR0_ET | CR0_PE;	/* CR0 */
	v[0x570 / 4] = 0x2;		/* RFLAGS */
	v[0x578 / 4] = (u32)escaped;	/* RIP */
	v[0x5d8 / 4] = MARKER + PAGE - 16;	/* RSP */
	v[0x5f8 / 4] = VMCB;		/* RAX */
}

struct svm_insn {
	const char *name;
	u8 modrm;
	insn_fn *run;
	const u8 *at;
};

static const struct svm_insn svm_insns[] = {
	{ "vmrun  ", 0xd8, insn_vmrun, insn_vmrun_at },
	{ "vmmcall", 0xd9, insn_vmmcall, insn_vmmcall_at },
	{ "vmload ", 0xda, insn_vmload, insn_vmload_at },
	{ "vmsave ", 0xdb, insn_vmsave, insn_vmsave_at },
	{ "stgi   ", 0xdc, insn_stgi, insn_stgi_at },
	{ "clgi   ", 0xdd, insn_clgi, insn_clgi_at },
	{ "skinit ", 0xde, insn_skinit, insn_skinit_at },
	{ "invlpga", 0xdf, insn_invlpga, insn_invlpga_at },
	{ "vmcall ", 0xc1, insn_vmcall, insn_vmcall_at },
};

static void check_cpuid(void)
{
	u32 a, b, c, d;
	cpuid(0x80000000u, &a, &b, &c, &d);
	u32 max_ext = a;
	u32 svm = 0, skinit = 0, vmx;
	if (max_ext >= 0x80000001u) {
		cpuid(0x80000001u, &a, &b, &c, &d);
		svm = (c & CPUID81_ECX_SVM) != 0;
		skinit = (c & CPUID81_ECX_SKINIT) != 0;
	}
	cpuid(1, &a, &b, &c, &d);
	vmx = (c & CPUID1_ECX_VMX) != 0;
	print("escape: cpuid 0x80000000: highest extended leaf 0x%08x\n", max_ext);
	print("escape: cpuid 0x80000001 ecx bit 2 (SVM) %u, bit 12 (SKINIT) %u; cpuid 1 ecx bit 5 (VMX) %u\n",
	      svm, skinit, vmx);
}

static void check_svm_ring0(void)
{
	vmcb_fill();
	u32 before = checksum((const u8 *)VMCB, (const u8 *)VMCB + PAGE);
	print("escape: VMCB at 0x%08x: bogus intercepts, ASID 0, EFER.SVME, CR3 0x%08x, RIP escaped()\n",
	      VMCB, PAGE_DIR);
	for (u32 k = 0; k < sizeof(svm_insns) / sizeof(svm_insns[0]); k++) {
		const struct svm_insn *s = &svm_insns[k];
		clear_traps();
		s->run(VMCB, 1);	/* eax: the VMCB (or page, or SLB); ecx: ASID 1 for invlpga */
		print("escape: %s (0f 01 %02x) at ring 0, eax 0x%08x: ", s->name, s->modrm, VMCB);
		print_outcome(s->at);
		print("\n");
	}
	u32 after = checksum((const u8 *)VMCB, (const u8 *)VMCB + PAGE);
	print("escape: VMCB page after them: %s\n", after == before ? "unchanged" : "CHANGED");
}

/* ---- 2. Control registers ------------------------------------------------------------ */

/* mov value -> crN, then read it back: "cr0 <- 0x... (what): reads 0x..." (and a fault). */
static void write_cr(u32 n, u32 value, const char *what)
{
	clear_traps();
	const u8 *at;
	switch (n) {
	case 0: try_write_cr0(value); at = try_write_cr0_at; break;
	case 3: try_write_cr3(value); at = try_write_cr3_at; break;
	default: try_write_cr4(value); at = try_write_cr4_at; break;
	}
	u32 now = n == 0 ? read_cr0() : n == 3 ? read_cr3() : read_cr4();
	print("escape: cr%u <- 0x%08x (%s): ", n, value, what);
	if (ntraps) {
		print_outcome(at);
		print("; ");
	}
	print("reads 0x%08x\n", now);
}

static void check_control_registers(void)
{
	u32 a, b, c, d;
	cpuid(1, &a, &b, &c, &d);

	/* Paging off: a known CR0 and CR4 first (multiboot leaves most of both undefined). */
	write_cr(0, CR0_PE | CR0_ET, "PE ET, paging off");
	write_cr(4, 0, "nothing");

	/* CR4: what CPUID 1 EDX reports may be set. PSE and TSD (TSC) on both machines here;
	 * DE only where reported, so its line says whether the CPU did what CPUID said. */
	u32 cr4 = 0;
	if (d & CPUID1_EDX_PSE)
		cr4 |= CR4_PSE;
	if (d & CPUID1_EDX_TSC)
		cr4 |= CR4_TSD;
	write_cr(4, cr4, "PSE TSD, as CPUID 1 EDX reports PSE and TSC");
	/* DE: QEMU's CPU reports it, shadowvisor's does not; where reported it must stick. */
	int de_ok = 1;
	if (d & CPUID1_EDX_DE) {
		clear_traps();
		try_write_cr4(cr4 | CR4_DE);
		u32 got = read_cr4();
		try_write_cr4(cr4);
		de_ok = !ntraps && got == (cr4 | CR4_DE) && read_cr4() == cr4;
	}
	print("escape: cr4.DE set, read back and cleared where CPUID 1 EDX reports DE: %s\n", de_ok ? "ok" : "FAILED");
	/* CR1 and CR5-CR7 do not exist (SDM vol. 2, MOV to/from control registers: #UD). */
	clear_traps();
	u32 cr1 = try_read_cr1();
	print("escape: mov eax <- cr1 (no such register): ");
	print_outcome(try_read_cr1_at);
	print("; eax 0x%08x\n", cr1);
	clear_traps();
	try_write_cr5(0);
	print("escape: mov cr5 <- 0 (no such register): ");
	print_outcome(try_write_cr5_at);
	print("\n");

	/* CR3, paging off: a value beyond RAM is only a register until paging is turned on. */
	write_cr(3, FAR_CR3_A, "beyond RAM, paging off");
	write_cr(3, FAR_CR3_B, "beyond RAM, paging off");
	write_cr(3, PAGE_DIR | CR3_PWT_PCD, "my page directory, PWT PCD");
	write_cr(3, PAGE_DIR, "my page directory");

	/* Paging on over an identity map of 0 - 4 MiB, then off and on again. */
	poke(MARKER, MARKER_VALUE);
	write_cr(0, CR0_PG | CR0_ET | CR0_PE, "PG on");
	print("escape: cr3 reads 0x%08x; 0x%08x reads 0x%08x through the identity map\n", read_cr3(), MARKER, peek(MARKER));
	write_cr(0, CR0_ET | CR0_PE, "PG off");
	print("escape: cr3 reads 0x%08x; 0x%08x reads 0x%08x\n", read_cr3(), MARKER, peek(MARKER));
	write_cr(0, CR0_PG | CR0_ET | CR0_PE, "PG on again");
	poke(MARKER, MARKER_VALUE + 1);
	print("escape: cr3 reads 0x%08x; 0x%08x reads 0x%08x after a write through paging\n", read_cr3(), MARKER, peek(MARKER));

	/* Caches off: CD=1 NW=1 is a valid combination (the reset value of CR0 has both; SDM
	 * vol. 3, 11.5.1); then back. */
	write_cr(0, CR0_PG | CR0_CD | CR0_NW | CR0_ET | CR0_PE, "CD NW");
	write_cr(0, CR0_PG | CR0_ET | CR0_PE, "caches on");

	/* LMSW and CLTS write CR0 too (LMSW: PE MP EM TS only, and it cannot clear PE); SMSW,
	 * at any CPL, reads CR0's low 16 bits (to a 16-bit register: the rest of it is undefined
	 * with a 32-bit one, SDM vol. 2). */
	__asm__ volatile("lmsw %w0" : : "r"(CR0_TS) : "memory");
	print("escape: lmsw 0x%04x (TS, PE clear): cr0 reads 0x%08x, smsw 0x%04x\n", CR0_TS, read_cr0(), smsw());
	__asm__ volatile("clts" : : : "memory");
	print("escape: clts: cr0 reads 0x%08x, smsw 0x%04x\n", read_cr0(), smsw());
}

/* ---- 3. Ports with nothing behind them ----------------------------------------------- */

/*
 * Ports nothing answers on QEMU (-nodefaults) or shadowvisor: reads float to all ones, writes
 * vanish. (Not 0x0600, 0x0700, 0xc000: SeaBIOS puts QEMU's ACPI PM, SMBus and IDE bus-master
 * registers there.) Each is free for all four bytes a 32-bit access touches.
 */
static const u16 empty_ports[] = { 0x0100, 0x0200, 0x0300, 0x0800, 0x8000 };

static void check_ports(void)
{
	for (u32 k = 0; k < sizeof(empty_ports) / sizeof(empty_ports[0]); k++) {
		u16 p = empty_ports[k];
		u32 b8 = inb(p), b16 = inw(p), b32 = inl(p);
		outb(p, 0x5a);
		outw(p, 0xa55a);
		outl(p, 0xdeadbeefu);
		print("escape: port 0x%04x: in 8/16/32 0x%02x 0x%04x 0x%08x; out 0x5a 0xa55a 0xdeadbeef; "
		      "in again 0x%02x 0x%04x 0x%08x\n", p, b8, b16, b32, inb(p), inw(p), inl(p));
	}
	print("escape: COM1 still prints after those writes (this line)\n");
}

/* ---- 4. Ring 3 -------------------------------------------------------------------------- */

static void check_ring3(void)
{
	u32 *pt = (u32 *)PAGE_TABLE;
	for (u32 a = (u32)__user_start; a < (u32)__user_end; a += PAGE)
		pt[a >> 12] |= PTE_US;
	write_cr3(read_cr3());
	clear_traps();
	u32 msw = ring3_call((u32)user_code, (u32)user_stack_top, VMCB);
	static const struct {
		const char *what;
		const u8 *at;
		int port;
	} user[] = {
		{ "vmrun (0f 01 d8)", user_vmrun_at, 0 },
		{ "vmmcall (0f 01 d9)", user_vmmcall_at, 0 },
		{ "vmcall (0f 01 c1)", user_vmcall_at, 0 },
		{ "in al, dx", user_inb_at, 1 },
		{ "out dx, al", user_outb_at, 1 },
		{ "in eax, dx", user_inl_at, 1 },
	};
	u32 n = sizeof(user) / sizeof(user[0]);
	for (u32 k = 0; k < n; k++) {
		print("escape: ring 3 %s", user[k].what);
		if (user[k].port)
			print(" (port 0x%04x, IOPL 0, no I/O bitmap)", user_port);
		print(": ");
		u32 found = 0;
		for (u32 t = 0; t < ntraps && t < sizeof(traps) / sizeof(traps[0]); t++) {
			if (traps[t].eip == (u32)user[k].at) {
				print_trap(&traps[t], user[k].at);
				found = 1;
			}
		}
		if (!found)
			print("no exception");
		print("\n");
	}
	if (ntraps != n)
		print("escape: ring 3 raised %u exceptions, not %u\n", ntraps, n);
	print("escape: ring 3 smsw (not privileged): 0x%04x\n", msw & 0xffff);
}

/* ---- Entry ------------------------------------------------------------------------------ */

void __attribute__((noreturn)) kmain(u32 magic)
{
	serial_init();
	if (magic != MB_MAGIC || (read_cr0() & CR0_PG)) {
		print("escape: not booted by a multiboot loader (magic 0x%x)\n", magic);
		exit_qemu(1);
	}
	if ((u32)__kernel_end > PAGE_DIR) {
		print("escape: the kernel (to 0x%x) overlaps the page directory at 0x%x\n", (u32)__kernel_end, PAGE_DIR);
		exit_qemu(1);
	}
	u32 code_sum = checksum(__kernel_start, __code_end);
	cpu_tables_init();
	idt_set(6, isr_ud, 0);
	idt_set(13, isr_gp, 0);
	idt_set(0x80, isr_ring3_exit, 3);

	/* The identity map of 0 - 4 MiB, supervisor; ring 3 gets its pages in step 4. */
	u32 *pd = (u32 *)PAGE_DIR, *pt = (u32 *)PAGE_TABLE;
	for (u32 i = 0; i < 1024; i++) {
		pd[i] = 0;
		pt[i] = i << 12 | PTE_RW | PTE_P;
	}
	pd[0] = PAGE_TABLE | PTE_US | PTE_RW | PTE_P;

	check_cpuid();
	check_svm_ring0();
	check_control_registers();
	check_ports();
	check_ring3();

	u32 now = checksum(__kernel_start, __code_end);
	if (now != code_sum) {
		print("escape: code checksum CHANGED: 0x%08x at boot, 0x%08x now\n", code_sum, now);
		exit_qemu(1);
	}
	print("escape: code checksum unchanged; done\n");
	exit_qemu(0);
}
