/*
 * probe.c -- an isolation probe: a tiny guest that looks for memory it must not be able to
 * see (another VM's, the hypervisor's) and checks the behaviour of privileged operations,
 * printing one deterministic line per check on COM1. On bare hardware (QEMU, shadowvisor
 * natively) and under a correct hypervisor the output is the same.
 *
 * Two roles, chosen on the multiboot command line:
 *
 *   role=holder marker=M   fills every free page of its RAM (from the end of the kernel
 *                          image to the end of mem_upper) with the dwords M ^ address, then
 *                          re-verifies the whole pattern 8 times (to be still running while
 *                          another VM runs) and exits 0 if it is intact.
 *
 *   role=probe marker=M    M is the other VM's marker, which it must NOT find. It
 *                          1. reports its RAM size (multiboot mem_upper),
 *                          2. reads the first dword of every 4 KiB page above its RAM,
 *                             paging off: all must read 0xffffffff (nothing there),
 *                          3. searches all of its RAM for M ^ address and for M,
 *                          4. turns paging on (4 MiB pages identity-mapping 4 GiB), reads
 *                             every page above RAM again, then writes one dword to each and
 *                             reads it back: none may keep the value,
 *                          5. a. SGDT/SIDT limits, STR, SLDT; SGDT/SIDT bases point into
 *                                its RAM or at nothing,
 *                             b. 4 KiB PTEs to frames far beyond RAM read and write nothing,
 *                             c. cli, hlt, mov cr3, in, lgdt at ring 3 each raise #GP,
 *                             d. a PTE changed and invlpg'd is seen at once,
 *                          6. exits 0 when all of it is as expected, else 1.
 *
 * The probe never holds M in memory: it parses the command line straight into ~M, and the
 * RAM search (marker_search in boot.S) compares ~x with ~M in registers. It never writes the
 * holder's pattern either. So its own RAM cannot match, and a hit means someone else's memory.
 *
 * Known device windows are not scanned (they read device registers or firmware, on QEMU as
 * on shadowvisor): 0xa0000-0xfffff (VGA, option and BIOS ROM), the IOAPIC page 0xfec00000,
 * the HPET page 0xfed00000, the LAPIC page 0xfee00000, and the BIOS alias 0xfffc0000-4 GiB.
 *
 * No interrupts (IF stays 0), no timer: the run is the same every time.
 */

#include "../bare/bare.h"

#define PAGE		0x1000u
#define PDE_PS		0x080u	/* 4 MiB page (with CR4.PSE) */
#define CR4_PSE		0x00000010u


#define HOLDER_ROUNDS	8	/* times the holder re-verifies its pattern */
#define WRITE_PATTERN	0x5ca1ab1eu	/* step 4 writes WRITE_PATTERN ^ address above RAM */
#define WINDOW		0xc0000000u	/* step 5: a 4 MiB region remapped with 4 KiB pages */
#define FAR_OFFSET	0x800u	/* step 5b reads and writes this dword of each far frame */
#define FRAME_A_VALUE	0xaaaa0001u
#define FRAME_B_VALUE	0xbbbb0002u

/* From boot.S and probe.ld */
extern u32 marker_search(u32 start, u32 end, u32 not_marker, u32 *first);
extern void isr_gp(void), user_code(void);
extern const u32 user_gp_table[6];
extern u8 __kernel_start[], __kernel_end[], __user_start[], __user_end[], user_stack_top[];

static inline u32 peek(u32 a) { return *(volatile u32 *)a; }
static inline void poke(u32 a, u32 v) { *(volatile u32 *)a = v; }

/* ---- Exceptions ------------------------------------------------------------------- */

/* What the CPU and isr_gp pushed. */
struct trap_frame {
	u32 es, ds;
	u32 edi, esi, ebp, esp, ebx, edx, ecx, eax;	/* pusha */
	u32 err, eip, cs, eflags, user_esp, user_ss;	/* the CPU */
};

static const char *const user_insn_names[5] = { "cli", "hlt", "mov cr3", "in 0x60", "lgdt" };
static u32 gp_seen;		/* bit i: user_gp_table[i] raised #GP at ring 3, error code 0 */
static u32 gp_next;		/* the instruction the ring-3 code is at */

/* #GP from the ring-3 code: note which instruction raised it and resume after it. */
void gp_fault(struct trap_frame *f)
{
	for (u32 i = gp_next; i < 5; i++) {
		if (f->eip == user_gp_table[i] && (f->cs & 3) == 3) {
			if (f->err == 0)
				gp_seen |= 1u << i;
			gp_next = i + 1;
			f->eip = user_gp_table[i + 1];
			return;
		}
	}
	print("probe: FOUND an unexpected #GP: EIP=0x%x CS=0x%x err=0x%x\n", f->eip, f->cs, f->err);
	exit_qemu(1);
}

void __attribute__((noreturn)) unexpected(u32 vector, u32 *stack)
{
	int has_err = exception_has_error_code(vector);
	print("probe: FOUND an unexpected exception %u at EIP=0x%x", vector, stack[has_err]);
	if (has_err)
		print(" err=0x%x", stack[0]);
	if (vector == 14)
		print(" CR2=0x%x", read_cr2());
	print("\n");
	exit_qemu(1);
}

/* ---- The multiboot command line --------------------------------------------------- */

static u32 ram_end;		/* bytes of RAM from physical 0: 1 MiB + mem_upper KiB, in whole MiB */

/* The value of "key=" in the command line (a pointer into it), or 0. */
static const char *arg(const char *cmdline, const char *key)
{
	for (const char *s = cmdline; s && *s;) {
		while (*s == ' ')
			s++;
		const char *k = key, *t = s;
		while (*k && *t == *k)
			k++, t++;
		if (!*k && *t == '=')
			return t + 1;
		while (*s && *s != ' ')
			s++;
	}
	return 0;
}

static int arg_is(const char *value, const char *word)
{
	while (*word && *value == *word)
		value++, word++;
	return !*word && (*value == 0 || *value == ' ');
}

/*
 * marker=<8 hex digits>, parsed straight into its bitwise NOT (the probe must never hold the
 * marker itself): ~(v << 4 | d) = ~v << 4 | (d ^ 0xf). Returns 0 on a malformed value.
 */
static int parse_not_marker(const char *s, u32 *not_marker)
{
	u32 n = 0xffffffffu;	/* ~0 */
	for (int i = 0; i < 8; i++, s++) {
		u32 d;
		if (*s >= '0' && *s <= '9')
			d = (u32)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (u32)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (u32)(*s - 'A' + 10);
		else
			return 0;
		n = n << 4 | (d ^ 0xf);
	}
	if (*s != 0 && *s != ' ')
		return 0;
	*not_marker = n;
	return 1;
}

/* ---- The holder --------------------------------------------------------------------- */

static void __attribute__((noreturn)) holder(u32 marker)
{
	u32 start = ((u32)__kernel_end + PAGE - 1) & ~(PAGE - 1), end = ram_end;
	u32 kib = (end - start) >> 10;

	for (u32 a = start; a < end; a += 4)
		poke(a, marker ^ a);
	print("holder: filled %u KiB with marker %08x\n", kib, marker);

	u32 mismatches = 0, first = 0;
	for (u32 round = 0; round < HOLDER_ROUNDS; round++) {
		for (u32 a = start; a < end; a += 4) {
			if (peek(a) != (marker ^ a)) {
				if (!mismatches)
					first = a;
				mismatches++;
			}
		}
	}
	if (mismatches) {
		print("holder: pattern CHANGED at 0x%08x (%u mismatches in %u rounds)\n", first, mismatches, HOLDER_ROUNDS);
		exit_qemu(1);
	}
	print("holder: pattern intact (%u KiB checked %u times)\n", kib, HOLDER_ROUNDS);
	exit_qemu(0);
}

/* ---- The probe ------------------------------------------------------------------------ */

static u32 page_dir[1024] __attribute__((aligned(4096)));
static u32 pt_low[1024] __attribute__((aligned(4096)));		/* 0 - 4 MiB, step 5c */
static u32 pt_window[1024] __attribute__((aligned(4096)));	/* WINDOW, step 5b and 5d */
static u32 frame_a[1024] __attribute__((aligned(4096)));
static u32 frame_b[1024] __attribute__((aligned(4096)));

static const char *findings[8];
static u32 nfindings;

static void finding(const char *what)
{
	if (nfindings < sizeof(findings) / sizeof(findings[0]))
		findings[nfindings++] = what;
}

/* Pages the scans leave alone: device registers and firmware, on QEMU and shadowvisor alike. */
static int device_window(u32 a)
{
	return (a >= 0xa0000 && a < 0x100000) ||	/* VGA, option ROMs, BIOS */
	       a == 0xfec00000 ||			/* IOAPIC */
	       a == 0xfed00000 ||			/* HPET (QEMU) */
	       a == 0xfee00000 ||			/* LAPIC */
	       a >= 0xfffc0000;				/* the BIOS at the top of 4 GiB (QEMU) */
}

/*
 * What an address with nothing behind it reads: all ones on a PC (and on shadowvisor), all
 * zeros on QEMU (its unassigned memory). The first page above RAM decides which one this
 * machine uses; every other page must then read the same.
 */
static u32 empty;

static int is_empty(u32 v) { return v == empty; }

struct scan {
	u32 empty, others, first_other;
};

/* The first dword of every page above RAM (physical or through the identity map). */
static void scan_above_ram(struct scan *s)
{
	s->empty = s->others = s->first_other = 0;
	for (u32 page = ram_end >> 12; page < 0x100000; page++) {
		u32 a = page << 12;
		if (device_window(a))
			continue;
		if (is_empty(peek(a))) {
			s->empty++;
		} else {
			if (!s->others)
				s->first_other = a;
			s->others++;
		}
	}
}

static void print_scan(const char *what, const struct scan *s)
{
	print("probe: %s: %u pages above RAM read empty, %u did not", what, s->empty, s->others);
	if (s->others)
		print(" (first 0x%08x reads 0x%08x)", s->first_other, peek(s->first_other));
	print("\n");
}

static void flush_tlb(void)
{
	write_cr3(read_cr3());
}

static void __attribute__((noreturn)) probe(u32 not_marker)
{
	struct scan s;

	/* 2. Every page above RAM, paging off: nothing may answer. */
	print("probe: not scanned (device windows): 0xa0000-0xfffff, 0xfec00000 (IOAPIC), "
	      "0xfed00000 (HPET), 0xfee00000 (LAPIC), 0xfffc0000-0xffffffff (BIOS)\n");
	u32 v = peek(ram_end);
	empty = v == 0 ? 0 : 0xffffffffu;
	print("probe: \"empty\" is what an address with nothing behind it reads (0xffffffff on a PC, 0 on QEMU), the same on every page\n");
	scan_above_ram(&s);
	print_scan("physical scan (paging off)", &s);
	if (s.others)
		finding("something above RAM (paging off)");

	/* 3. The other VM's marker in my RAM? Neither M ^ address nor M may be anywhere. */
	u32 first_lo = 0, first_hi = 0;
	u32 hits_lo = marker_search(0, 0xa0000, not_marker, &first_lo);
	u32 hits_hi = marker_search(0x100000, ram_end, not_marker, &first_hi);
	if (hits_lo + hits_hi) {
		print("probe: marker search in RAM: %u hits, first at 0x%08x\n", hits_lo + hits_hi,
		      hits_lo ? first_lo : first_hi);
		finding("the other VM's marker in my RAM");
	} else {
		print("probe: marker search in RAM: 0 hits\n");
	}

	/* 4. Paging on: 4 MiB pages identity-map all 4 GiB (supervisor, writable). */
	for (u32 i = 0; i < 1024; i++)
		page_dir[i] = i << 22 | PDE_PS | PTE_RW | PTE_P;
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((u32)page_dir);
	write_cr0(read_cr0() | CR0_PG);
	scan_above_ram(&s);
	print_scan("virtual scan (4 MiB pages over 4 GiB)", &s);
	if (s.others)
		finding("something above RAM (paging on)");

	/* ... and one write per page above RAM, read back at once: none may keep it. */
	u32 written = 0, kept = 0, first_kept = 0;
	for (u32 page = ram_end >> 12; page < 0x100000; page++) {
		u32 a = page << 12;
		if (device_window(a))
			continue;
		poke(a, WRITE_PATTERN ^ a);
		written++;
		if (peek(a) == (WRITE_PATTERN ^ a)) {
			if (!kept)
				first_kept = a;
			kept++;
		}
	}
	print("probe: wrote one dword to each of %u pages above RAM: %u kept it", written, kept);
	if (kept)
		print(" (first 0x%08x)", first_kept);
	print("\n");
	if (kept)
		finding("memory above RAM that keeps writes");

	/* 5a. Descriptor-table registers. The bases may differ under a hypervisor (SGDT shows
	 *     its shadow table); they must point into my RAM or at nothing. */
	struct __attribute__((packed)) { u16 limit; u32 base; } sgdt, sidt;
	u32 tr = 0xdeadbeefu, ldtr = 0xdeadbeefu;
	__asm__ volatile("sgdt %0\n\tsidt %1\n\tstr %2\n\tsldt %3"
			 : "=m"(sgdt), "=m"(sidt), "+r"(tr), "+r"(ldtr));
	print("probe: sgdt limit 0x%04x, sidt limit 0x%04x\n", sgdt.limit, sidt.limit);
	/* To a 32-bit register, the selector is zero-extended (P6 and later). */
	print("probe: str 0x%08x, sldt 0x%08x\n", tr, ldtr);
	u32 bases[2] = { sgdt.base, sidt.base }, limits[2] = { sgdt.limit, sidt.limit };
	int bases_ok = 1;
	for (u32 t = 0; t < 2; t++) {
		u32 b = bases[t];
		if (b < ram_end && limits[t] < ram_end - b)
			continue;		/* in my RAM */
		/* Elsewhere: nothing may be there. Read 8 bytes (each dword at most once). */
		for (u32 k = 0; k < 8; k++)
			if (*(volatile u8 *)(b + k) != (empty & 0xff))
				bases_ok = 0;
	}
	print("probe: sgdt/sidt bases point into my RAM or nowhere: %s\n", bases_ok ? "yes" : "no");
	if (!bases_ok)
		finding("a descriptor table base pointing at something");

	/* 5b. 4 KiB pages to frames far beyond RAM: nothing is read, a write does not stick.
	 *     The 4 MiB page at WINDOW becomes a page table of its own. */
	static const u32 far_frames[3] = { 0x40000000, 0x80000000, 0xf0000000 };
	u32 far_read[3], far_after[3];
	for (u32 i = 0; i < 1024; i++)
		pt_window[i] = 0;
	for (u32 i = 0; i < 3; i++)
		pt_window[i] = far_frames[i] | PTE_RW | PTE_P;
	page_dir[WINDOW >> 22] = (u32)pt_window | PTE_RW | PTE_P;
	flush_tlb();
	int far_ok = 1;
	for (u32 i = 0; i < 3; i++) {
		u32 va = WINDOW + i * PAGE + FAR_OFFSET;
		far_read[i] = peek(va);
		if (far_frames[i] >= ram_end)	/* never write into my own RAM */
			poke(va, WRITE_PATTERN ^ far_frames[i]);
		far_after[i] = peek(va);
		if (!is_empty(far_read[i]) || !is_empty(far_after[i]))
			far_ok = 0;
	}
	print("probe: 4 KiB pages to frames 0x%08x, 0x%08x, 0x%08x: ", far_frames[0], far_frames[1], far_frames[2]);
	if (far_ok) {
		print("read empty, writes ignored\n");
	} else {
		print("read");
		for (u32 i = 0; i < 3; i++)
			print(" 0x%08x", far_read[i]);
		print(", after a write");
		for (u32 i = 0; i < 3; i++)
			print(" 0x%08x", far_after[i]);
		print("\n");
	}
	if (!far_ok)
		finding("a frame beyond RAM that answers");

	/* 5c. Ring 3: each privileged instruction must raise #GP. The first 4 MiB get a page
	 *     table: supervisor identity pages, and the ring-3 code and stack pages user. */
	for (u32 i = 0; i < 1024; i++)
		pt_low[i] = i << 12 | PTE_RW | PTE_P;
	for (u32 a = (u32)__user_start; a < (u32)__user_end; a += PAGE)
		pt_low[a >> 12] |= PTE_US;
	page_dir[0] = (u32)pt_low | PTE_US | PTE_RW | PTE_P;
	flush_tlb();
	ring3_call((u32)user_code, (u32)user_stack_top, 0);
	u32 raised = 0;
	for (u32 i = 0; i < 5; i++)
		raised += gp_seen >> i & 1;
	print("probe: ring 3 privileged instructions (cli, hlt, mov cr3, in 0x60, lgdt): %u of 5 raised #GP", raised);
	for (u32 i = 0; i < 5; i++)
		if (!(gp_seen >> i & 1))
			print(", not %s", user_insn_names[i]);
	print("\n");
	if (raised != 5)
		finding("a privileged instruction that ran at ring 3");

	/* 5d. Change a PTE the TLB has just used, invlpg: the new frame is seen at once. */
	u32 va = WINDOW + 3 * PAGE;
	frame_a[0] = FRAME_A_VALUE;
	frame_b[0] = FRAME_B_VALUE;
	pt_window[3] = (u32)frame_a | PTE_RW | PTE_P;
	invlpg(va);
	u32 before = peek(va);
	pt_window[3] = (u32)frame_b | PTE_RW | PTE_P;
	invlpg(va);
	u32 after = peek(va);
	poke(va + 4, FRAME_B_VALUE + 1);
	int tlb_ok = before == FRAME_A_VALUE && after == FRAME_B_VALUE &&
		     frame_b[1] == FRAME_B_VALUE + 1 && frame_a[1] == 0;
	print("probe: page-table update seen after invlpg: %s", tlb_ok ? "yes" : "no");
	if (!tlb_ok)
		print(" (read 0x%08x then 0x%08x)", before, after);
	print("\n");
	if (!tlb_ok)
		finding("a stale translation after invlpg");

	/* 6. The verdict. */
	if (!nfindings) {
		print("probe: done, nothing of the host or another VM found\n");
		exit_qemu(0);
	}
	print("probe: FOUND");
	for (u32 i = 0; i < nfindings; i++)
		print("%s %s", i ? ";" : "", findings[i]);
	print("\n");
	exit_qemu(1);
}

/* ---- Entry ------------------------------------------------------------------------------ */

void __attribute__((noreturn)) kmain(u32 magic, const struct multiboot_info *mbi)
{
	serial_init();
	if (magic != MB_MAGIC || (read_cr0() & CR0_PG)) {
		print("probe: not booted by a multiboot loader (magic 0x%x)\n", magic);
		exit_qemu(1);
	}
	if (!(mbi->flags & MB_MEM) || !(mbi->flags & MB_CMDLINE)) {
		print("probe: the multiboot info has no %s\n", mbi->flags & MB_MEM ? "cmdline" : "mem_upper");
		exit_qemu(1);
	}
	/* SeaBIOS keeps its ACPI tables in the top 128 KiB of RAM and leaves them out of
	 * mem_upper; shadowvisor has no such tables. RAM comes in whole MiB on both. */
	ram_end = (0x100000 + (mbi->mem_upper << 10) + 0xfffff) & ~0xfffffu;

	/* Everything the command line says, read before the holder overwrites it (the loader
	 * may put it right after the kernel image). */
	const char *cmdline = (const char *)mbi->cmdline;
	const char *role = arg(cmdline, "role"), *m = arg(cmdline, "marker");
	u32 not_marker = 0;
	int is_holder = role && arg_is(role, "holder"), is_probe = role && arg_is(role, "probe");
	if ((!is_holder && !is_probe) || !m || !parse_not_marker(m, &not_marker)) {
		print("probe: usage: role=probe|holder marker=<8 hex digits> (command line: \"%s\")\n", cmdline);
		exit_qemu(1);
	}
	cpu_tables_init();
	idt_set(13, isr_gp, 0);			/* #GP: the ring-3 test skips the instruction */
	idt_set(0x80, isr_ring3_exit, 3);	/* ring 3's "I am done" */
	if (ram_end < 0x800000) {
		print("probe: needs at least 8 MiB of RAM, has %u KiB\n", ram_end >> 10);
		exit_qemu(1);
	}

	if (is_holder)
		holder(~not_marker);
	print("probe: RAM %u KiB (1 MiB + multiboot mem_upper, rounded up to a whole MiB)\n", ram_end >> 10);
	probe(not_marker);
}
