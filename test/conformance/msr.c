/*
 * msr.c -- RDMSR and WRMSR (SDM vol. 2; the MSRs of vol. 4, table 2-2): #GP(0) at ring 3; the
 * time-stamp counter read and written through its MSR; IA32_APIC_BASE, and the local APIC hidden
 * and brought back through its enable bit (vol. 3, 10.4.3); IA32_PAT and the MTRRs with their
 * reserved-bit rules (vol. 3, 11.11, 11.12); IA32_MISC_ENABLE, IA32_PLATFORM_ID,
 * IA32_BIOS_SIGN_ID; the SYSENTER MSRs and IA32_TSC_AUX where CPUID reports SEP and RDTSCP; #GP
 * for MSRs the processor does not have. Which MSRs must exist is decided from CPUID, so the guest
 * runs on any model; it is run on the richest ("max") to reach the most.
 * Under a hypervisor every RDMSR and WRMSR is the VMM's to emulate against the guest's own MSRs.
 *
 * Not checked under QEMU (report_sdm prints SKIP there), where its TCG differs from the SDM: TCG
 * reads 0 and ignores writes for MSRs it does not know (no #GP), checks no reserved bit, reads
 * the TSC MSR as 0 and ignores writes to it, reads IA32_TSC_AUX as 0 on qemu-system-i386 (RDTSCP
 * sees the value), keeps the APIC's registers readable while IA32_APIC_BASE disables it, and
 * never enables an APIC again once disabled. CPUID's APIC flag after the disable is not checked
 * here: under trap-and-emulate CPUID does not trap and reports the host's APIC (a documented leak).
 * @qemu -cpu max
 * @run --cpu max
 */
#include "lib/conformance.h"

#define MSR_TSC			0x010u
#define MSR_PLATFORM_ID		0x017u
#define MSR_APIC_BASE		0x01bu
#define MSR_BIOS_SIGN_ID	0x08bu
#define MSR_MTRRCAP		0x0feu
#define MSR_SYSENTER_CS		0x174u
#define MSR_SYSENTER_ESP	0x175u
#define MSR_SYSENTER_EIP	0x176u
#define MSR_MCG_CAP		0x179u
#define MSR_MISC_ENABLE		0x1a0u
#define MSR_MTRR_PHYSBASE0	0x200u
#define MSR_MTRR_PHYSMASK0	0x201u
#define MSR_MTRR_FIX64K		0x250u
#define MSR_PAT			0x277u
#define MSR_MTRR_DEF_TYPE	0x2ffu
#define MSR_EFER		0xc0000080u
#define MSR_TSC_AUX		0xc0000103u

#define CPUID1_EDX_MSR		(1u << 5)
#define CPUID1_EDX_APIC		(1u << 9)
#define CPUID1_EDX_SEP		(1u << 11)
#define CPUID1_EDX_MTRR		(1u << 12)
#define CPUID1_EDX_MCA		(1u << 14)
#define CPUID1_EDX_PAT		(1u << 16)
#define CPUID81_EDX_NX		(1u << 20)
#define CPUID81_EDX_RDTSCP	(1u << 27)
#define CPUID81_EDX_LM		(1u << 29)

#define APIC_BASE_BSP		(1u << 8)
#define APIC_BASE_EN		(1u << 11)
#define LAPIC			0xfee00000u
#define LAPIC_SVR		0x0f0
#define LAPIC_ICR_LOW		0x300
#define LAPIC_ICR_HIGH		0x310
#define LAPIC_EOI		0x0b0
#define IPI_VECTOR		0x41

static struct fault f;
static u32 msr_index, msr_lo, msr_hi;
static u8 user_stack[4096] __attribute__((aligned(16)));

static void do_rdmsr(void *arg)
{
	(void)arg;
	__asm__ volatile("rdmsr" : "=a"(msr_lo), "=d"(msr_hi) : "c"(msr_index));
}

static void do_wrmsr(void *arg)
{
	(void)arg;
	__asm__ volatile("wrmsr" : : "c"(msr_index), "a"(msr_lo), "d"(msr_hi) : "memory");
}

/* RDMSR: 1 and the value, or 0 after an exception (left in f). */
static int rd(u32 index, u64 *v)
{
	msr_index = index;
	msr_lo = msr_hi = 0;
	if (catch_fault(do_rdmsr, 0, &f))
		return 0;
	*v = (u64)msr_hi << 32 | msr_lo;
	return 1;
}

/* WRMSR: 1, or 0 after an exception (left in f). */
static int wr(u32 index, u64 v)
{
	msr_index = index;
	msr_lo = (u32)v;
	msr_hi = (u32)(v >> 32);
	return !catch_fault(do_wrmsr, 0, &f);
}

static int gp0(void) { return f.vector == 13 && f.error == 0; }

static u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (u64)hi << 32 | lo;
}

/* Ring 3: RDMSR or WRMSR of the TSC (ebx 0 or 1), then back through int 0x80. */
void user_msr(void);
extern u8 user_rdmsr_at[], user_wrmsr_at[];
__asm__(
	".text\n"
	"user_msr: mov $0x10, %ecx\n xor %eax, %eax\n xor %edx, %edx\n test %ebx, %ebx\n jnz 1f\n"
	"user_rdmsr_at: rdmsr\n int $0x80\n"
	"1:\n user_wrmsr_at: wrmsr\n int $0x80\n");

static void run_user(void *arg)
{
	ring3_call((u32)user_msr, (u32)user_stack + sizeof(user_stack), (u32)arg);
}

/* A valid MSR's write of `bad` faults with #GP(0) and leaves `good` (written first) in place. */
static void reserved(u32 index, u64 good, u64 bad, const char *what)
{
	u64 v = 0;
	wr(index, good);
	int ok = !wr(index, bad) && gp0();
	report_sdm(ok && rd(index, &v) && v == good, what);
}

static void check_privilege(void)
{
	print("privilege\n");
	idt_set(0x80, isr_ring3_exit, 3);
	catch_fault(run_user, (void *)0, &f);
	report(f.vector == 13 && f.error == 0 && f.eip == (u32)user_rdmsr_at, "RDMSR at ring 3: #GP(0) at the RDMSR");
	catch_fault(run_user, (void *)1, &f);
	report(f.vector == 13 && f.error == 0 && f.eip == (u32)user_wrmsr_at, "WRMSR at ring 3: #GP(0) at the WRMSR");
}

static void check_tsc(void)
{
	u64 m = 0;
	print("IA32_TIME_STAMP_COUNTER\n");
	u64 t0 = rdtsc();
	int ok = rd(MSR_TSC, &m);
	u64 t1 = rdtsc();
	report(ok, "RDMSR of the TSC");
	report_sdm(t0 <= m && m <= t1, "it reads between the RDTSCs before and after it");
	const u64 set = 0x0000123400000000ull;
	ok = wr(MSR_TSC, set);
	u64 t2 = rdtsc();
	report(ok, "WRMSR of the TSC");
	report_sdm(t2 >= set && t2 - set < 10000000u, "RDTSC after it counts on from the value written");
	const u64 low = 0x00000000fffffff0ull;
	wr(MSR_TSC, low);
	u64 t3 = rdtsc();
	report_sdm(t3 >= low && t3 - low < 10000000u, "a write near a 32-bit boundary: the count carries into EDX");
}

static void check_identification(void)
{
	u64 v = 0;
	print("identification MSRs\n");
	report(rd(MSR_PLATFORM_ID, &v), "IA32_PLATFORM_ID reads");
	report_sdm(!wr(MSR_PLATFORM_ID, v) && gp0(), "IA32_PLATFORM_ID is read-only: WRMSR #GP(0)");
	report(wr(MSR_BIOS_SIGN_ID, 0), "IA32_BIOS_SIGN_ID takes the 0 written before CPUID(1)");
	u32 r[4];
	cpuid(1, r);
	report(rd(MSR_BIOS_SIGN_ID, &v) && v != 0, "then reads a microcode revision");
	report(rd(MSR_MISC_ENABLE, &v) && (v & 1), "IA32_MISC_ENABLE reads, fast strings enabled");
	reserved(MSR_MISC_ENABLE, v, v | 0x2, "IA32_MISC_ENABLE bit 1 is reserved: #GP(0)");
}

static void check_pat(void)
{
	u64 v = 0;
	print("IA32_PAT\n");
	report(rd(MSR_PAT, &v) && v == 0x0007040600070406ull, "power-up value WB WT UC- UC, twice");
	const u64 mine = 0x0001050600070406ull;
	report(wr(MSR_PAT, mine) && rd(MSR_PAT, &v) && v == mine, "a write of valid types reads back");
	reserved(MSR_PAT, mine, mine | 0x0200000000000000ull, "a reserved type (2) in entry 7: #GP(0), the old value kept");
	reserved(MSR_PAT, mine, mine | 0x08, "a reserved bit (3): #GP(0)");
	wr(MSR_PAT, 0x0007040600070406ull);
}

static void check_mtrrs(void)
{
	u64 v = 0;
	print("MTRRs\n");
	report(rd(MSR_MTRRCAP, &v) && (v & 0xff) == 8 && (v & 0x100) && (v & 0x400), "IA32_MTRRCAP: 8 variable ranges, fixed ranges, write combining");
	report_sdm(!wr(MSR_MTRRCAP, v) && gp0(), "IA32_MTRRCAP is read-only: #GP(0)");
	report(wr(MSR_MTRR_DEF_TYPE, 0xc06) && rd(MSR_MTRR_DEF_TYPE, &v) && v == 0xc06, "IA32_MTRR_DEF_TYPE: E, FE, WB read back");
	reserved(MSR_MTRR_DEF_TYPE, 0xc06, 0xc02, "default type 2 is reserved: #GP(0)");
	reserved(MSR_MTRR_DEF_TYPE, 0xc06, 0xe06, "bit 9 is reserved: #GP(0)");
	const u64 fixed = 0x0606060606060606ull;
	report(wr(MSR_MTRR_FIX64K, fixed) && rd(MSR_MTRR_FIX64K, &v) && v == fixed, "a fixed-range MTRR reads back");
	reserved(MSR_MTRR_FIX64K, fixed, 0x0606060306060606ull, "a fixed range of type 3: #GP(0)");
	const u64 base = 0x0000000080000000ull, mask = 0x0000000fc0000800ull;
	report(wr(MSR_MTRR_PHYSBASE0, base) && wr(MSR_MTRR_PHYSMASK0, mask) && rd(MSR_MTRR_PHYSMASK0, &v) && v == mask,
	       "PHYSBASE0 (UC) and PHYSMASK0 (1 GiB, valid) read back");
	reserved(MSR_MTRR_PHYSBASE0, base, base | 0x100, "PHYSBASE bits 11:8 are reserved: #GP(0)");
	reserved(MSR_MTRR_PHYSMASK0, mask, mask | 0x1, "PHYSMASK bits 10:0 are reserved: #GP(0)");
	reserved(MSR_MTRR_PHYSMASK0, mask, mask | 0x0000001000000000ull, "PHYSMASK bits above 35 are reserved: #GP(0)");
	wr(MSR_MTRR_PHYSMASK0, 0);
}

static void check_sysenter_msrs(void)
{
	u64 v = 0;
	print("SYSENTER MSRs\n");
	report(wr(MSR_SYSENTER_CS, 0x1234) && rd(MSR_SYSENTER_CS, &v) && (u32)v == 0x1234, "IA32_SYSENTER_CS reads back");
	report(wr(MSR_SYSENTER_ESP, 0x89abcdef) && rd(MSR_SYSENTER_ESP, &v) && (u32)v == 0x89abcdef, "IA32_SYSENTER_ESP reads back");
	report(wr(MSR_SYSENTER_EIP, 0x00c0ffee) && rd(MSR_SYSENTER_EIP, &v) && (u32)v == 0x00c0ffee, "IA32_SYSENTER_EIP reads back");
	wr(MSR_SYSENTER_CS, 0);
}

static void check_tsc_aux(void)
{
	u64 v = 0;
	u32 aux;
	print("IA32_TSC_AUX\n");
	report(wr(MSR_TSC_AUX, 0x2a), "WRMSR of IA32_TSC_AUX");
	__asm__ volatile("rdtscp" : "=c"(aux) : : "eax", "edx");
	report_eq(aux, 0x2a, "RDTSCP returns it in ECX");
	report_sdm(rd(MSR_TSC_AUX, &v) && v == 0x2a, "RDMSR reads it back");
	reserved(MSR_TSC_AUX, 0x2a, 0x100000000ull, "bits 63:32 are reserved: #GP(0)");
	wr(MSR_TSC_AUX, 0);
}

/* Absent MSRs: #GP(0) on read and write. */
static void absent(u32 index, const char *what)
{
	u64 v = 0;
	int r = !rd(index, &v) && gp0();
	int w = !wr(index, 0) && gp0();
	report_sdm(r && w, what);
}

/* ---------------------------------------------------------------- the local APIC's enable bit */

static volatile u32 ipis;
void ipi_isr(void);
void ipi_handler(void)
{
	ipis++;
	*(volatile u32 *)(LAPIC + LAPIC_EOI) = 0;
}
__asm__(".text\n ipi_isr: pusha\n call ipi_handler\n popa\n iret\n");

static inline u32 apic_read(u32 reg) { return *(volatile u32 *)(LAPIC + reg); }
static inline void apic_write(u32 reg, u32 v) { *(volatile u32 *)(LAPIC + reg) = v; }

/* A fixed self-IPI with IF=1 for a moment: did it arrive? */
static u32 self_ipi(void)
{
	u32 before = ipis;
	apic_write(LAPIC_ICR_HIGH, 0);
	apic_write(LAPIC_ICR_LOW, (1u << 18) | IPI_VECTOR);	/* shorthand self, fixed */
	__asm__ volatile("sti; nop; nop; nop; cli");
	return ipis - before;
}

static void check_apic_base(void)
{
	u64 v = 0;
	print("IA32_APIC_BASE\n");
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	idt_set(IPI_VECTOR, ipi_isr, 0);
	report(rd(MSR_APIC_BASE, &v) && (v & 0xfffff000u) == LAPIC && (v & APIC_BASE_BSP) && (v & APIC_BASE_EN),
	       "base 0xFEE00000, BSP, enabled");
	const u64 on = v;
	reserved(MSR_APIC_BASE, on, on | 0x1, "bit 0 is reserved: #GP(0)");
	apic_write(LAPIC_SVR, 0x1ff);
	report_eq(self_ipi(), 1, "a self-IPI arrives while the APIC is enabled");

	report(wr(MSR_APIC_BASE, on & ~(u64)APIC_BASE_EN) && rd(MSR_APIC_BASE, &v) && !(v & APIC_BASE_EN), "clearing EN: it reads clear");
	report_eq(self_ipi(), 0, "the disabled APIC delivers nothing");
	report_sdm(apic_read(LAPIC_SVR) == 0xffffffffu, "its window reads all ones (the processor has no APIC)");

	report_sdm(wr(MSR_APIC_BASE, on) && rd(MSR_APIC_BASE, &v) && (v & APIC_BASE_EN), "setting EN again: it reads set");
	report_sdm(apic_read(LAPIC_SVR) == 0xff, "the APIC is back in its power-up state (SVR 0xFF, software-disabled)");
	apic_write(LAPIC_SVR, 0x1ff);
	report_sdm(self_ipi() == 1, "enabled again, a self-IPI arrives");
}

void conformance_main(u32 magic, struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	u32 r[4];
	cpuid(1, r);
	const u32 edx = r[3];
	cpuid(0x80000000u, r);
	u32 ext = 0;
	if (r[0] >= 0x80000001u) {
		cpuid(0x80000001u, r);
		ext = r[3];
	}
	report(edx & CPUID1_EDX_MSR, "CPUID.1:EDX.MSR: RDMSR and WRMSR exist");
	check_privilege();
	check_tsc();
	check_identification();
	if (edx & CPUID1_EDX_PAT)
		check_pat();
	else
		absent(MSR_PAT, "no PAT: IA32_PAT #GP(0)");
	if (edx & CPUID1_EDX_MTRR)
		check_mtrrs();
	else
		absent(MSR_MTRRCAP, "no MTRRs: IA32_MTRRCAP #GP(0)");
	if (edx & CPUID1_EDX_SEP)
		check_sysenter_msrs();
	else
		absent(MSR_SYSENTER_CS, "no SEP: IA32_SYSENTER_CS #GP(0)");
	if (ext & CPUID81_EDX_RDTSCP)
		check_tsc_aux();
	else
		absent(MSR_TSC_AUX, "no RDTSCP: IA32_TSC_AUX #GP(0)");
	print("absent MSRs\n");
	if (!(edx & CPUID1_EDX_MCA))
		absent(MSR_MCG_CAP, "no machine-check architecture: IA32_MCG_CAP #GP(0)");
	if (!(ext & (CPUID81_EDX_NX | CPUID81_EDX_LM)))
		absent(MSR_EFER, "neither NX nor long mode: IA32_EFER #GP(0)");
	absent(0x12345678u, "an index no processor has: #GP(0)");
	absent(0xc0010015u, "an AMD-only MSR (HWCR) on an Intel processor: #GP(0)");
	if (edx & CPUID1_EDX_APIC)
		check_apic_base();
}
