/*
 * sysenter.c -- SYSENTER and SYSEXIT (SDM vol. 2, "SYSENTER", "SYSEXIT"; vol. 3, 5.8.7): from
 * ring 3, SYSENTER enters ring 0 at IA32_SYSENTER_EIP on IA32_SYSENTER_ESP with CS = the MSR and
 * SS = CS + 8, IF cleared; SYSEXIT returns to ring 3 at EDX on ECX with CS = MSR + 16 and SS =
 * MSR + 24, RPL 3. #GP(0): either one with IA32_SYSENTER_CS 0, SYSEXIT at ring 3. Under
 * trap-and-emulate the VMM makes both trap (the real IA32_SYSENTER_CS is 0) and emulates them
 * with the guest's MSRs; in guest mode (hw) they run natively with the guest's MSRs from the VMCB.
 * The kernel selectors are compared without their RPL: under trap-and-emulate the guest kernel's
 * CS and SS show RPL 1 (a documented leak of deprivileging).
 * Not checked under QEMU (report_sdm): #GP for a nonzero IA32_SYSENTER_CS whose bits 15:2 are 0
 * (TCG only faults on 0).
 * @qemu -cpu max
 * @run --cpu max
 */
#include "lib/conformance.h"

#define MSR_SYSENTER_CS		0x174u
#define MSR_SYSENTER_ESP	0x175u
#define MSR_SYSENTER_EIP	0x176u
#define CPUID1_EDX_SEP		(1u << 11)
#define EFLAGS_IF		0x200u

static struct fault f;
static u8 user_stack[4096] __attribute__((aligned(16)));
static u8 entry_stack[4096] __attribute__((aligned(16)));

/* What the SYSENTER entry saw; what the ring-3 code saw after SYSEXIT. */
u32 entry_cs, entry_ss, entry_esp, entry_eflags, entry_ebx;
u32 user_cs, user_ss, user_esp;
/* 1: the entry returns to ring 3 with SYSEXIT; 0: to the ring-0 caller, on saved_esp. */
u32 exit_to_user, saved_esp;

static void wrmsr(u32 index, u32 lo)
{
	__asm__ volatile("wrmsr" : : "c"(index), "a"(lo), "d"(0) : "memory");
}

void sysenter_entry(void);
void do_sysenter(void *arg);
void do_sysexit(void *arg);
void user_sysenter(void);
void user_sysexit(void);
extern u8 sysenter_at[], sysexit_at[], user_back[], user_sysexit_at[];
__asm__(
	".text\n"
	/* The entry point: record the state SYSENTER left, then leave the way the test asks. */
	"sysenter_entry:\n"
	" mov %cs, entry_cs\n mov %ss, entry_ss\n mov %esp, entry_esp\n mov %ebx, entry_ebx\n"
	" int $0x7f\n mov %eax, entry_eflags\n"	/* read_eflags(): no PUSHF, see conformance.h */
	" cmpl $0, exit_to_user\n je 1f\n"
	" sysexit\n"				/* to EDX on ECX, as the ring-3 code set them */
	"1: mov saved_esp, %esp\n ret\n"	/* back into do_sysenter's caller */
	/* Ring 0: SYSENTER with IF=1 (nothing can interrupt: every source is masked). */
	"do_sysenter: mov %esp, saved_esp\n mov $0x5a5a, %ebx\n sti\n"
	"sysenter_at: sysenter\n"
	"do_sysexit: mov %esp, %ecx\n mov $1f, %edx\n"
	"sysexit_at: sysexit\n"
	"1: ret\n"
	/* Ring 3: SYSENTER to the entry, which SYSEXITs to user_back; then record and leave by int 0x80. */
	"user_sysenter: mov %esp, %ecx\n mov $user_back, %edx\n mov $0xa5a5, %ebx\n sysenter\n"
	"user_back: mov %cs, user_cs\n mov %ss, user_ss\n mov %esp, user_esp\n mov $1, %eax\n int $0x80\n"
	"user_sysexit: mov %esp, %ecx\n mov $user_back, %edx\n"
	"user_sysexit_at: sysexit\n int $0x80\n");

static void run_user(void *arg)
{
	ring3_call((u32)arg, (u32)user_stack + sizeof(user_stack), 0);
}

void conformance_main(u32 magic, struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	u32 r[4];
	cpuid(1, r);
	if (!report(r[3] & CPUID1_EDX_SEP, "CPUID.1:EDX.SEP: SYSENTER and SYSEXIT exist"))
		return;
	outb(0x21, 0xff);	/* nothing may interrupt the ring-0 SYSENTER, which runs with IF=1 */
	outb(0xa1, 0xff);
	idt_set(0x80, isr_ring3_exit, 3);

	print("IA32_SYSENTER_CS = 0\n");
	wrmsr(MSR_SYSENTER_CS, 0);
	catch_fault(do_sysenter, 0, &f);
	report(f.vector == 13 && f.error == 0 && f.eip == (u32)sysenter_at, "SYSENTER: #GP(0) at the SYSENTER");
	catch_fault(do_sysexit, 0, &f);
	report(f.vector == 13 && f.error == 0 && f.eip == (u32)sysexit_at, "SYSEXIT: #GP(0) at the SYSEXIT");
	/* Where a SYSENTER that does not fault goes (QEMU's, below): the entry, back to the caller. */
	wrmsr(MSR_SYSENTER_ESP, (u32)entry_stack + sizeof(entry_stack));
	wrmsr(MSR_SYSENTER_EIP, (u32)sysenter_entry);
	exit_to_user = 0;
	wrmsr(MSR_SYSENTER_CS, 3);
	catch_fault(do_sysenter, 0, &f);
	__asm__ volatile("cli");
	report_sdm(f.vector == 13 && f.error == 0, "IA32_SYSENTER_CS = 3 (bits 15:2 zero): SYSENTER #GP(0)");
	wrmsr(MSR_SYSENTER_CS, 0x08);

	print("SYSENTER at ring 0 with IF=1\n");
	int faulted = catch_fault(do_sysenter, 0, &f);
	__asm__ volatile("cli");
	report(!faulted, "it enters the entry point");
	report_eq(entry_cs & 0xfffc, 0x08, "  CS = IA32_SYSENTER_CS");
	report_eq(entry_ss & 0xfffc, 0x10, "  SS = CS + 8");
	report_eq(entry_esp, (u32)entry_stack + sizeof(entry_stack), "  ESP = IA32_SYSENTER_ESP");
	report(!(entry_eflags & EFLAGS_IF), "  IF cleared");
	report_eq(entry_ebx, 0x5a5a, "  the general registers kept");

	print("SYSENTER from ring 3, SYSEXIT back\n");
	exit_to_user = 1;
	entry_cs = entry_ss = 0;
	u32 back = ring3_call((u32)user_sysenter, (u32)user_stack + sizeof(user_stack), 0);
	report_eq(entry_cs & 0xfffc, 0x08, "SYSENTER: CS = IA32_SYSENTER_CS");
	report_eq(entry_ss & 0xfffc, 0x10, "  SS = CS + 8");
	report_eq(entry_esp, (u32)entry_stack + sizeof(entry_stack), "  ESP = IA32_SYSENTER_ESP");
	report_eq(entry_ebx, 0xa5a5, "  the general registers kept");
	report_eq(back, 1, "SYSEXIT: back at ring 3 at EDX");
	report_eq(user_cs, 0x1b, "  CS = IA32_SYSENTER_CS + 16, RPL 3");
	report_eq(user_ss, 0x23, "  SS = IA32_SYSENTER_CS + 24, RPL 3");
	report_eq(user_esp, (u32)user_stack + sizeof(user_stack), "  ESP = ECX");

	print("SYSEXIT at ring 3\n");
	catch_fault(run_user, (void *)user_sysexit, &f);
	report(f.vector == 13 && f.error == 0 && f.eip == (u32)user_sysexit_at, "#GP(0) at the SYSEXIT");
	wrmsr(MSR_SYSENTER_CS, 0);
}
