/*
 * exceptions.c -- exceptions and interrupts as the SDM (vol. 3, chapter 6) delivers them: the
 * vector, the error code, the EIP pushed (the faulting instruction for faults, the next one for
 * traps), CR2 for page faults, faults at ring 3, the double-fault rule, gate privilege for INT n,
 * single-step traps, and an external interrupt from the local APIC timer taken only with IF=1.
 * Under a hypervisor each of these is reflected or injected by the VMM: what the guest sees must
 * not change.
 * @qemu
 */
#include "lib/conformance.h"

#define PAGE		0x1000u
#define PTE_PS		0x080u
#define CR0_WP		0x00010000u
#define EFLAGS_TF	0x100u
#define EFLAGS_IF	0x200u

#define UNMAPPED	0x40000000u	/* its page directory entry is not present */
#define RO_PAGE		0x003fe000u	/* read-only (user and supervisor) */
#define SUPER_PAGE	0x003ff000u	/* supervisor only */

static u32 page_dir[1024] __attribute__((aligned(4096)));
static u32 page_table[1024] __attribute__((aligned(4096)));
static u8 user_stack[4096] __attribute__((aligned(4096)));
static struct fault f;

/* 0-4 MiB identity-mapped with 4 KiB pages, user-accessible and writable but for two pages. */
static void paging_on(void)
{
	for (u32 i = 0; i < 1024; i++)
		page_table[i] = i * PAGE | PTE_P | PTE_RW | PTE_US;
	page_table[RO_PAGE / PAGE] = RO_PAGE | PTE_P | PTE_US;
	page_table[SUPER_PAGE / PAGE] = SUPER_PAGE | PTE_P | PTE_RW;
	page_dir[0] = (u32)page_table | PTE_P | PTE_RW | PTE_US;
	write_cr3((u32)page_dir);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

/* The instructions under test, each at a global label so that the EIP pushed can be checked. */
void do_div0(void *arg);
void do_ud2(void *arg);
void do_int3(void *arg);
void do_into(void *arg);
void do_bound(void *arg);
void do_bad_ds(void *arg);
void do_null_ss(void *arg);
void do_read(void *arg);
void do_write(void *arg);
void do_call(void *arg);
void do_single_step(void *arg);
extern u8 div0_at[], ud2_at[], int3_after[], into_after[], bound_at[], bad_ds_at[], null_ss_at[],
	read_at[], write_at[], step_after[];
__asm__(
	".text\n"
	"do_div0: xor %edx, %edx\n xor %ecx, %ecx\n mov $1, %eax\n"
	"div0_at: div %ecx\n ret\n"
	"do_ud2:\n ud2_at: ud2\n ret\n"
	"do_int3: int3\n int3_after: ret\n"
	"do_into: mov $0x7fffffff, %eax\n add $1, %eax\n into\n into_after: ret\n"
	"do_bound: push $10\n push $0\n mov $11, %eax\n"
	"bound_at: bound %eax, (%esp)\n add $8, %esp\n ret\n"
	"do_bad_ds: mov $0x4b, %ax\n bad_ds_at: mov %ax, %ds\n ret\n"
	"do_null_ss: xor %eax, %eax\n null_ss_at: mov %ax, %ss\n ret\n"
	"do_read: mov 4(%esp), %eax\n read_at: mov (%eax), %eax\n ret\n"
	"do_write: mov 4(%esp), %eax\n write_at: movl $0x12345678, (%eax)\n ret\n"
	"do_call: mov 4(%esp), %eax\n call *%eax\n ret\n"
	/* EFLAGS = TF | bit 1, IF=0 as everywhere here (no PUSHF: see read_eflags in conformance.h) */
	"do_single_step: push $0x102\n popf\n nop\n step_after: push $0x2\n popf\n ret\n");

/* Ring-3 code for ring3_call: ebx = an address to read, or 0 to divide by zero, 1 to INT 0x81. */
void user_code(void);
extern u8 user_read_at[], user_div_at[], user_int_at[];
__asm__(
	".text\n"
	"user_code: cmp $1, %ebx\n je 2f\n jb 1f\n"
	"user_read_at: mov (%ebx), %eax\n int $0x80\n"
	"1: xor %ecx, %ecx\n user_div_at: div %ecx\n int $0x80\n"
	"2:\n user_int_at: int $0x81\n int $0x80\n");

struct user_args { u32 ebx; };
static void run_user(void *arg)
{
	ring3_call((u32)user_code, (u32)user_stack + sizeof(user_stack), ((struct user_args *)arg)->ebx);
}

static void check(const char *what, u32 vector, u32 error, const u8 *eip)
{
	print("  %s\n", what);
	report_eq(f.vector, vector, "  vector");
	report_eq(f.error, error, "  error code");
	if (eip)
		report_eq(f.eip, (u32)eip, "  EIP pushed");
}

/* ---------------------------------------------------------------- the local APIC timer */

#define LAPIC		0xfee00000u
#define LAPIC_EOI	0x0b0
#define LAPIC_SVR	0x0f0
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_TIMER_ICR	0x380
#define LAPIC_TIMER_DCR	0x3e0
#define TIMER_VECTOR	0x40

static volatile u32 ticks;
static volatile u32 tick_eip;
static inline void lapic_write(u32 reg, u32 v) { *(volatile u32 *)(LAPIC + reg) = v; }

void timer_isr(void);
void timer_handler(u32 *frame)
{
	ticks++;
	tick_eip = frame[0];
	lapic_write(LAPIC_EOI, 0);
}
__asm__(
	".text\n"
	"timer_isr: pusha\n lea 32(%esp), %eax\n push %eax\n call timer_handler\n add $4, %esp\n popa\n iret\n");

static void external_interrupt(void)
{
	outb(0x21, 0xff);	/* the 8259s: masked (the firmware may have left the PIT's IRQ 0 on) */
	outb(0xa1, 0xff);
	idt_set(TIMER_VECTOR, timer_isr, 0);
	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_TIMER_DCR, 0xb);		/* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR);	/* one-shot, unmasked */
	lapic_write(LAPIC_TIMER_ICR, 1000);
	for (volatile u32 i = 0; i < 100000; i++)
		;
	report_eq(ticks, 0, "a timer interrupt is held while IF=0");
	u32 at;
	__asm__ volatile("sti\n nop\n 1: mov $1b, %0\n cli" : "=r"(at));
	report_eq(ticks, 1, "it is taken once IF=1");
	report_eq(tick_eip, at, "after the one instruction STI lets through (the interrupt shadow)");
	lapic_write(LAPIC_TIMER_ICR, 1000);
	__asm__ volatile("sti; hlt; cli");
	report_eq(ticks, 2, "HLT with IF=1 wakes on the next one");
}

void conformance_main(u32 magic, struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	u32 args;

	print("faults and traps at ring 0\n");
	catch_fault(do_div0, 0, &f);
	check("DIV by zero: #DE at the DIV", 0, NO_ERROR, div0_at);
	catch_fault(do_ud2, 0, &f);
	check("UD2: #UD at the UD2", 6, NO_ERROR, ud2_at);
	catch_fault(do_int3, 0, &f);
	check("INT3: #BP after it", 3, NO_ERROR, int3_after);
	catch_fault(do_into, 0, &f);
	check("INTO with OF=1: #OF after it", 4, NO_ERROR, into_after);
	catch_fault(do_bound, 0, &f);
	check("BOUND out of range: #BR at the BOUND", 5, NO_ERROR, bound_at);
	catch_fault(do_bad_ds, 0, &f);
	check("MOV DS with a selector beyond the GDT limit: #GP(selector)", 13, 0x48, bad_ds_at);
	catch_fault(do_null_ss, 0, &f);
	check("MOV SS with a null selector: #GP(0)", 13, 0, null_ss_at);
	catch_fault(do_single_step, 0, &f);
	check("POPF setting TF: #DB after the next instruction", 1, NO_ERROR, step_after);
	u32 dr6;
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	report(dr6 & 0x4000, "  DR6.BS set");

	print("page faults (CR0.WP=1)\n");
	paging_on();
	catch_fault(do_read, (void *)UNMAPPED, &f);
	check("read of a not-present page: #PF(0)", 14, 0, read_at);
	report_eq(read_cr2(), UNMAPPED, "  CR2");
	catch_fault(do_write, (void *)(UNMAPPED + 0x123), &f);
	check("write to a not-present page: #PF(W)", 14, 2, write_at);
	report_eq(read_cr2(), UNMAPPED + 0x123, "  CR2");
	catch_fault(do_write, (void *)(RO_PAGE + 8), &f);
	check("supervisor write to a read-only page: #PF(P|W)", 14, 3, write_at);
	report_eq(read_cr2(), RO_PAGE + 8, "  CR2");
	catch_fault(do_call, (void *)UNMAPPED, &f);
	check("fetch from a not-present page: #PF(0) at the target", 14, 0, (u8 *)UNMAPPED);
	write_cr0(read_cr0() & ~CR0_WP);
	int faulted = catch_fault(do_write, (void *)(RO_PAGE + 8), &f);
	report(!faulted && *(volatile u32 *)(RO_PAGE + 8) == 0x12345678, "with CR0.WP=0 the supervisor write goes through");
	write_cr0(read_cr0() | CR0_WP);

	print("at ring 3\n");
	idt_set(0x80, isr_ring3_exit, 3);
	args = SUPER_PAGE;
	catch_fault(run_user, &args, &f);
	check("user read of a supervisor page: #PF(P|U)", 14, 5, user_read_at);
	report_eq(f.cs, 0x1b, "  CS pushed is the user code segment");
	args = 0;
	catch_fault(run_user, &args, &f);
	check("DIV by zero at ring 3: #DE", 0, NO_ERROR, user_div_at);
	args = 1;
	catch_fault(run_user, &args, &f);
	check("INT 0x81 through a DPL 0 gate from ring 3: #GP(0x81*8 + 2)", 13, 0x81 * 8 + 2, user_int_at);

	print("double fault\n");
	struct __attribute__((packed)) { u16 limit; u32 base; } idtr;
	__asm__ volatile("sidt %0" : "=m"(idtr));
	u32 *gp_gate = (u32 *)(idtr.base + 13 * 8);
	gp_gate[1] &= ~0x8000u;
	catch_fault(do_bad_ds, 0, &f);
	report_eq(f.vector, 8, "#GP whose gate is not present: #NP, contributory twice: #DF");
	report_eq(f.error, 0, "  #DF error code 0");
	idt_set(13, (void (*)(void))((u32)isr_unexpected_stubs + 8 * 13), 0);

	write_cr0(read_cr0() & ~CR0_PG);	/* the local APIC's page is not mapped */
	print("external interrupts\n");
	external_interrupt();
}
