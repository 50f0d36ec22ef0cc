/*
 * pae.c -- PAE paging (SDM vol. 3, 4.4): a 32-byte PDPT in CR3, 64-bit PDEs and PTEs, 4 KiB and
 * 2 MiB pages, accessed and dirty bits in the low halves of the guest's own entries (4.8),
 * reserved bits and the RSVD error-code bit (4.7), CMPXCHG8B on a live 64-bit PTE and an entry
 * written in two 4-byte halves, INVLPG, a CR3 load that reloads the PDPTEs, and execute-disable
 * with IA32_EFER.NXE (the I/D error-code bit, at ring 0 and 3; bit 63 reserved again with NXE=0).
 * Under shadow paging every write to these tables is a trace fault the VMM emulates, and the
 * shadows must follow, half-written entries included.
 *
 * NXE is set with WRMSR, so the NX checks run where CPUID.01H:EDX.MSR = 1 and CPUID reports NX,
 * or where the command line says "nxe=preset" (a harness set IA32_EFER.NXE before boot).
 * Checked only with "sdm" on the command line (shadowvisor's runs pass it; QEMU's do not), because
 * QEMU's TCG does not model them: the PDPTE registers holding their values while the PDPT in
 * memory changes (TCG reads the PDPT at every walk), the #GP(0) of a MOV to CR3 whose PDPT has a
 * reserved bit set, and the P bit of a reserved-bit fault's error code (SDM vol. 3, 4.7: RSVD is
 * set only with P; TCG reports RSVD without P; without "sdm" bit 0 is not checked).
 * @qemu -cpu max
 * @run --cpu max --append sdm
 */
#include "lib/conformance.h"

#define PAGE		0x1000u
#define CR0_WP		0x00010000u
#define CR4_PAE		0x00000020u
#define PTE_A		0x020u
#define PTE_D		0x040u
#define PTE_PS		0x080u
#define XD		(1ull << 63)
#define EFER		0xc0000080u
#define EFER_NXE	0x800u

#define WINDOW		0x00800000u	/* PDE 4: pt_win */
#define BIG		0x00a00000u	/* PDE 5: a 2 MiB page at physical 2 MiB */
#define FRAME_A		0x00300000u
#define FRAME_B		0x00301000u
#define FRAME_C		0x00302000u
#define FRAME_D		0x00303000u

static u64 pdpt[4] __attribute__((aligned(32)));
static u64 pdpt2[4] __attribute__((aligned(32)));
static u64 pd[512] __attribute__((aligned(4096)));
static u64 pd2[512] __attribute__((aligned(4096)));
static u64 pt_low[512] __attribute__((aligned(4096)));
static u64 pt_high[512] __attribute__((aligned(4096)));
static u64 pt_win[512] __attribute__((aligned(4096)));
static u64 pt_win2[512] __attribute__((aligned(4096)));
static u8 user_stack[4096] __attribute__((aligned(4096)));
#define SPACES		8
#define FRAME_SPACE(i)	(0x00310000u + (i) * PAGE)
static u64 space_pdpt[SPACES][4] __attribute__((aligned(32)));
static u64 space_pd[SPACES][512] __attribute__((aligned(4096)));
static u64 space_pt[SPACES][512] __attribute__((aligned(4096)));
static struct fault f;
static int sdm;	/* "sdm" on the command line: also check where QEMU's TCG differs from the SDM */

static void fill(u32 frame, u32 value)
{
	for (u32 i = 0; i < PAGE / 4; i++)
		((volatile u32 *)frame)[i] = value;
}

static u32 peek(u32 va) { return *(volatile u32 *)va; }
static u32 lo(u64 e) { return (u32)e; }
static u32 hi(u64 e) { return (u32)(e >> 32); }

static void wrmsr(u32 msr, u64 v) { __asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32))); }
static u64 rdmsr(u32 msr) { u32 a, d; __asm__ volatile("rdmsr" : "=a"(a), "=d"(d) : "c"(msr)); return ((u64)d << 32) | a; }

void do_read(void *arg);
void do_write(void *arg);
void do_call(void *arg);
void do_write_cr3(void *arg);
extern u8 read_at[], write_at[], write_cr3_at[];
__asm__(
	".text\n"
	"do_read: mov 4(%esp), %eax\n read_at: mov (%eax), %eax\n ret\n"
	"do_write: mov 4(%esp), %eax\n write_at: movl $0x12345678, (%eax)\n ret\n"
	"do_call: mov 4(%esp), %eax\n call *%eax\n ret\n"
	"do_write_cr3: mov 4(%esp), %eax\n write_cr3_at: mov %eax, %cr3\n ret\n");

static void run_user(void *arg)
{
	ring3_call((u32)arg, (u32)user_stack + sizeof(user_stack), 0);
}

static void check(const char *what, u32 vector, u32 error, u32 eip)
{
	print("  %s\n", what);
	report_eq(f.vector, vector, "  vector");
	report_eq(f.error, error, "  error code");
	if (eip)
		report_eq(f.eip, eip, "  EIP pushed");
}

/* A reserved-bit fault: its error code without bit 0 (see the header). */
static void check_rsvd(const char *what, u32 error, u32 eip)
{
	print("  %s\n", what);
	report_eq(f.vector, 14, "  vector #PF");
	if (sdm)
		report_eq(f.error, error | 1u, "  error code (P and RSVD: SDM vol. 3, 4.7)");
	else
		report_eq(f.error & ~1u, error, "  error code (P aside)");
	report_eq(f.eip, eip, "  EIP pushed");
}

static int contains(const char *s, const char *word)
{
	for (; *s; s++) {
		const char *a = s, *b = word;
		while (*b && *a == *b)
			a++, b++;
		if (!*b)
			return 1;
	}
	return 0;
}

static void cmpxchg8b_pte(volatile u64 *p, u64 expect, u64 want, u8 *ok, u64 *seen)
{
	u32 elo = (u32)expect, ehi = (u32)(expect >> 32);
	__asm__ volatile("lock cmpxchg8b %1; sete %0"
			 : "=q"(*ok), "+m"(*p), "+a"(elo), "+d"(ehi)
			 : "b"((u32)want), "c"((u32)(want >> 32)) : "memory");
	*seen = ((u64)ehi << 32) | elo;
}

static void nx_checks(void)
{
	print("execute-disable (IA32_EFER.NXE = 1)\n");
	*(volatile u8 *)FRAME_D = 0xc3;		/* ret */
	*(volatile u16 *)(FRAME_D + 0x10) = 0x80cd;	/* int $0x80: back from ring 3 */
	pt_win[3] = FRAME_D | PTE_P | PTE_RW | PTE_US | XD;
	invlpg(WINDOW + 3 * PAGE);
	catch_fault(do_call, (void *)(WINDOW + 3 * PAGE), &f);
	check("a fetch from an XD page at ring 0: #PF(P|I/D) at the target", 14, 0x11, WINDOW + 3 * PAGE);
	report_eq(read_cr2(), WINDOW + 3 * PAGE, "  CR2");
	report(!catch_fault(do_read, (void *)(WINDOW + 3 * PAGE), &f), "data reads of an XD page are allowed");
	catch_fault(run_user, (void *)(WINDOW + 3 * PAGE + 0x10), &f);
	check("a fetch from an XD page at ring 3: #PF(P|U|I/D)", 14, 0x15, WINDOW + 3 * PAGE + 0x10);
	pt_win[3] &= ~XD;
	pd[WINDOW >> 21] |= XD;
	invlpg(WINDOW + 3 * PAGE);
	catch_fault(do_call, (void *)(WINDOW + 3 * PAGE), &f);
	check("XD in the PDE forbids the fetch too", 14, 0x11, WINDOW + 3 * PAGE);
	pd[WINDOW >> 21] &= ~XD;
	invlpg(WINDOW + 3 * PAGE);
	report(!catch_fault(do_call, (void *)(WINDOW + 3 * PAGE), &f), "without XD the code runs");
	pt_win[4] = 0;
	invlpg(WINDOW + 4 * PAGE);
	catch_fault(do_call, (void *)(WINDOW + 4 * PAGE), &f);
	check("a fetch from a not-present page has I/D set with NXE=1: #PF(I/D)", 14, 0x10, WINDOW + 4 * PAGE);
}

static void nxe_off_checks(int msr)
{
	if (!msr)
		return;
	wrmsr(EFER, rdmsr(EFER) & ~(u64)EFER_NXE);
	pt_win[3] |= XD;
	invlpg(WINDOW + 3 * PAGE);
	catch_fault(do_read, (void *)(WINDOW + 3 * PAGE), &f);
	check_rsvd("with NXE=0 bit 63 is reserved: a read faults #PF(P|RSVD)", 0x8, (u32)read_at);
	catch_fault(do_call, (void *)(WINDOW + 3 * PAGE), &f);
	check_rsvd("  and a fetch #PF(P|RSVD), I/D clear", 0x8, WINDOW + 3 * PAGE);
	pt_win[3] &= ~XD;
	invlpg(WINDOW + 3 * PAGE);
}

void conformance_main(u32 magic, struct multiboot_info *info)
{
	(void)magic;
	sdm = (info->flags & MB_CMDLINE) && contains((const char *)info->cmdline, "sdm");
	u32 r[4];
	cpuid(1, r);
	report(r[3] & (1u << 6), "CPUID.01H:EDX reports PAE");
	int msr = (r[3] & (1u << 5)) != 0;
	cpuid(0x80000000u, r);
	int nx = 0;
	if (r[0] >= 0x80000001u) {
		cpuid(0x80000001u, r);
		nx = (r[3] & (1u << 20)) != 0;
	}
	report(nx, "CPUID.80000001H:EDX reports NX");
	int preset = (info->flags & MB_CMDLINE) && contains((const char *)info->cmdline, "nxe=preset");

	fill(FRAME_A, 0xaaaaaaaa);
	fill(FRAME_B, 0xbbbbbbbb);
	fill(FRAME_C, 0xcccccccc);
	fill(FRAME_D, 0xdddddddd);
	for (u32 i = 0; i < 512; i++) {
		pt_low[i] = i * PAGE | PTE_P | PTE_RW | PTE_US;
		pt_high[i] = (0x200000u + i * PAGE) | PTE_P | PTE_RW | PTE_US;
	}
	pd[0] = (u32)pt_low | PTE_P | PTE_RW | PTE_US;
	pd[1] = (u32)pt_high | PTE_P | PTE_RW | PTE_US;
	pd[WINDOW >> 21] = (u32)pt_win | PTE_P | PTE_RW | PTE_US;
	pd[BIG >> 21] = 0x200000u | PTE_P | PTE_RW | PTE_US | PTE_PS;
	pt_win[0] = FRAME_A | PTE_P | PTE_RW | PTE_US;
	pt_win[1] = FRAME_B | PTE_P | PTE_RW | PTE_US;
	pdpt[0] = (u32)pd | PTE_P;

	print("PAE paging on: CR3 = the PDPT, CR4.PAE, then CR0.PG\n");
	write_cr3((u32)pdpt);
	write_cr4(read_cr4() | CR4_PAE);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
	report((read_cr4() & CR4_PAE) && (read_cr0() & CR0_PG), "PAE paging is on");
	report_eq(read_cr3(), (u32)pdpt, "CR3 reads the PDPT's address");
	report_eq(peek(WINDOW), 0xaaaaaaaa, "a 4 KiB page through PDPTE, PDE and PTE maps frame A");
	report_eq(peek(WINDOW + PAGE + 4), 0xbbbbbbbb, "the next PTE maps frame B");
	report(lo(pt_win[0]) & PTE_A, "a read set the PTE's accessed bit (low half)");
	report(!(lo(pt_win[0]) & PTE_D), "  but not its dirty bit");
	report(lo(pd[WINDOW >> 21]) & PTE_A, "  and the PDE's accessed bit");
	report_eq(hi(pt_win[0]), 0, "  the high halves are untouched");
	*(volatile u32 *)(WINDOW + 8) = 0xaaaa0002;
	report(lo(pt_win[0]) & PTE_D, "a write set the dirty bit");

	print("2 MiB pages\n");
	report_eq(peek(BIG + (FRAME_C - 0x200000u)), 0xcccccccc, "a PDE with PS=1 maps 2 MiB: BIG + 1 MiB + 8 KiB is frame C");
	report((lo(pd[BIG >> 21]) & (PTE_A | PTE_D)) == PTE_A, "  the PDE is the leaf: A set, D clear");
	*(volatile u32 *)(BIG + (FRAME_C - 0x200000u) + 4) = 0xcccc0001;
	report(lo(pd[BIG >> 21]) & PTE_D, "  a write sets D in the PDE");
	report_eq(peek(FRAME_C + 4), 0xcccc0001, "  the write reached frame C");

	print("reserved bits\n");
	pt_win[2] = FRAME_C | PTE_P | PTE_RW | PTE_US | (1ull << 62);
	invlpg(WINDOW + 2 * PAGE);
	catch_fault(do_read, (void *)(WINDOW + 2 * PAGE), &f);
	check_rsvd("bit 62 of a PTE: #PF(P|RSVD)", 0x8, (u32)read_at);
	report_eq(read_cr2(), WINDOW + 2 * PAGE, "  CR2");
	catch_fault(do_write, (void *)(WINDOW + 2 * PAGE + 0x40), &f);
	check_rsvd("  a write: #PF(P|W|RSVD)", 0xa, (u32)write_at);
	report(!(lo(pt_win[2]) & PTE_A), "  a faulting walk sets no accessed bit");
	pd[BIG >> 21] |= 1u << 13;
	invlpg(BIG);
	catch_fault(do_read, (void *)BIG, &f);
	check_rsvd("bit 13 of a 2 MiB PDE: #PF(P|RSVD)", 0x8, (u32)read_at);
	pd[BIG >> 21] &= ~(1u << 13);
	invlpg(BIG);
	pt_win[2] = FRAME_C | PTE_P | PTE_RW | PTE_US;
	invlpg(WINDOW + 2 * PAGE);
	report_eq(peek(WINDOW + 2 * PAGE), 0xcccccccc, "without it the page maps frame C");

	print("64-bit PTE updates\n");
	u8 ok;
	u64 seen;
	u64 old = pt_win[0];
	cmpxchg8b_pte(&pt_win[0], old, FRAME_D | PTE_P | PTE_RW | PTE_US, &ok, &seen);
	report(ok, "CMPXCHG8B on a 64-bit PTE succeeds");
	invlpg(WINDOW);
	report_eq(peek(WINDOW), 0xdddddddd, "  after INVLPG the page maps frame D");
	cmpxchg8b_pte(&pt_win[0], old, FRAME_A | PTE_P | PTE_RW | PTE_US, &ok, &seen);
	report(!ok, "CMPXCHG8B with a stale comparand fails");
	report_eq(lo(seen) & ~0xfffu, FRAME_D, "  and returns the entry in EDX:EAX");
	invlpg(WINDOW);
	report_eq(peek(WINDOW), 0xdddddddd, "  the mapping is unchanged");
	volatile u32 *half = (volatile u32 *)&pt_win[1];
	half[1] = 0;
	half[0] = FRAME_A | PTE_P | PTE_RW | PTE_US;
	invlpg(WINDOW + PAGE);
	report_eq(peek(WINDOW + PAGE), 0xaaaaaaaa, "a PTE written as two halves (high, then low) maps its new frame");
	half[0] = 0;
	invlpg(WINDOW + PAGE);
	catch_fault(do_read, (void *)(WINDOW + PAGE), &f);
	check("  its low half cleared: #PF(0)", 14, 0, (u32)read_at);
	half[0] = FRAME_B | PTE_P | PTE_US;
	invlpg(WINDOW + PAGE);
	report_eq(peek(WINDOW + PAGE), 0xbbbbbbbb, "  and rewritten read-only: frame B");
	catch_fault(do_write, (void *)(WINDOW + PAGE), &f);
	check("  a write to it: #PF(P|W)", 14, 3, (u32)write_at);

	print("CR3 loads reload the PDPTEs\n");
	for (u32 i = 0; i < 512; i++) {
		pd2[i] = pd[i];
		pt_win2[i] = 0;
	}
	pt_win2[0] = FRAME_C | PTE_P | PTE_RW | PTE_US;
	pd2[WINDOW >> 21] = (u32)pt_win2 | PTE_P | PTE_RW | PTE_US;
	pdpt2[0] = (u32)pd2 | PTE_P;
	write_cr3((u32)pdpt2);
	report_eq(peek(WINDOW), 0xcccccccc, "a new PDPT: its directory maps the window to frame C");
	write_cr3((u32)pdpt);
	report_eq(peek(WINDOW), 0xdddddddd, "back to the first PDPT: frame D");
	pdpt[0] = (u32)pd2 | PTE_P;
	write_cr3(read_cr3());
	report_eq(peek(WINDOW), 0xcccccccc, "the PDPT changed in memory and CR3 reloaded: the new PDPTE counts");
	pdpt[0] = (u32)pd | PTE_P;
	write_cr3(read_cr3());
	report_eq(peek(WINDOW), 0xdddddddd, "  and back");
	if (sdm) {
		pdpt[0] = (u32)pd2 | PTE_P;
		invlpg(WINDOW);
		report_eq(peek(WINDOW), 0xdddddddd, "the PDPT changed in memory, no CR3 load: the PDPTE register still counts");
		write_cr3(read_cr3());
		report_eq(peek(WINDOW), 0xcccccccc, "  until the CR3 load");
		pdpt[0] = (u32)pd | PTE_P;
		write_cr3(read_cr3());
		pdpt2[1] = (u32)pd2 | PTE_P | PTE_RW;	/* bit 1 of a PDPTE is reserved */
		catch_fault(do_write_cr3, pdpt2, &f);
		check("MOV to CR3 with a reserved bit in a present PDPTE: #GP(0)", 13, 0, (u32)write_cr3_at);
		report_eq(read_cr3(), (u32)pdpt, "  CR3 unchanged");
		report_eq(peek(WINDOW), 0xdddddddd, "  and so are the PDPTE registers");
		pdpt2[1] = 0;
	}

	print("address spaces\n");
	for (u32 i = 0; i < SPACES; i++) {
		fill(FRAME_SPACE(i), 0x5a000000u + i);
		for (u32 k = 0; k < 512; k++) {
			space_pd[i][k] = pd[k];
			space_pt[i][k] = 0;
		}
		space_pt[i][0] = FRAME_SPACE(i) | PTE_P | PTE_RW | PTE_US;
		space_pd[i][WINDOW >> 21] = (u32)space_pt[i] | PTE_P | PTE_RW | PTE_US;
		space_pdpt[i][0] = (u32)space_pd[i] | PTE_P;
	}
	int spaces_ok = 1;
	for (u32 round = 0; round < 3; round++) {
		for (u32 i = 0; i < SPACES; i++) {
			write_cr3((u32)space_pdpt[i]);
			u32 want = 0x5a000000u + (i + round) % SPACES;
			if (peek(WINDOW) != want)
				spaces_ok = 0;
			/* The next round maps the next space's frame: the high half, then the low half. */
			volatile u32 *half = (volatile u32 *)&space_pt[i][0];
			half[1] = 0;
			half[0] = FRAME_SPACE((i + round + 1) % SPACES) | PTE_P | PTE_RW | PTE_US;
		}
	}
	write_cr3((u32)pdpt);
	report(spaces_ok, "8 address spaces, each its own PDPT, switched round after round, their PTEs rewritten in two halves");

	idt_set(0x80, isr_ring3_exit, 3);
	if (nx && (msr || preset)) {
		if (msr)
			wrmsr(EFER, rdmsr(EFER) | EFER_NXE);
		nx_checks();
		nxe_off_checks(msr);
	} else {
		print("NX checks skipped: NXE cannot be set here (no NX, or no WRMSR and no nxe=preset)\n");
	}
}
