/*
 * taskswitch.c -- hardware task switching as the SDM (vol. 3, chapter 7) describes it: far JMP and
 * CALL to a TSS and through a task gate, INT n and an exception through a task gate in the IDT
 * (the error code on the new task's stack), IRET with NT=1 back through the back link, the busy
 * bits (table 7-2), the state saved in the old TSS, CR3 and LDTR loaded from the new one, CR0.TS,
 * the checks that fault in the old task (#GP, #TS, #NP) and in the new one (#TS through a task
 * gate, as 7.3 asks), and the double fault through a task gate that lets a kernel survive a stack
 * overflow (Linux's doublefault handler). Under a hypervisor the TSSes and gates are the guest's
 * own: the VMM must switch exactly as the hardware would.
 * Not checked, because QEMU's TCG differs from the SDM there: the T flag's debug trap (QEMU ignores
 * it), EXT in the error codes of new-task faults, #SS for a not-present SS in a TSS (QEMU: #NP), a
 * task gate naming an LDT selector (QEMU: #TS), the EIP a new task's fault reports (QEMU: the
 * instruction that started the switch; the SDM: the new task's first instruction).
 * @qemu
 */
#include "lib/conformance.h"

#define PAGE		0x1000u
#define CR0_TS		0x8u
#define EFLAGS_NT	0x4000u
#define TSS_AVAILABLE	9u
#define TSS_BUSY	11u

#define SEL_KCODE	0x08
#define SEL_KDATA	0x10
#define SEL_MAIN	0x28	/* the main task's TSS, loaded with LTR */
#define SEL_B		0x30
#define SEL_C		0x38
#define SEL_GATE_B	0x40
#define SEL_DF		0x48
#define SEL_LDT		0x50
#define SEL_SHORT	0x58	/* a TSS descriptor with a limit below 67H */
#define SEL_ABSENT	0x60	/* a TSS descriptor not present */
#define GDT_ENTRIES	16

struct tss32 {
	u16 link, r0;
	u32 esp0;
	u16 ss0, r1;
	u32 esp1;
	u16 ss1, r2;
	u32 esp2;
	u16 ss2, r3;
	u32 cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	u16 es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10, trap, iomap;
} __attribute__((packed));

static u64 gdt[GDT_ENTRIES];
static u64 ldt[2];
static struct tss32 tss_main, tss_b, tss_c, tss_df;
struct tss32 *main_tss = &tss_main;
static u8 stack_b[PAGE] __attribute__((aligned(16)));
static u8 stack_c[PAGE] __attribute__((aligned(16)));
static u8 stack_df[PAGE] __attribute__((aligned(16)));
static u64 *idt;
static struct fault f;

/* Paging: 0-4 MiB identity-mapped; a second directory maps probe_page elsewhere; a guard page. */
static u32 dir1[1024] __attribute__((aligned(4096)));
static u32 pt1[1024] __attribute__((aligned(4096)));
static u32 dir2[1024] __attribute__((aligned(4096)));
static u32 pt2[1024] __attribute__((aligned(4096)));
u32 probe_page[1024] __attribute__((aligned(4096)));
static u32 alt_page[1024] __attribute__((aligned(4096)));
u8 overflow_area[2 * PAGE] __attribute__((aligned(4096)));	/* page 0: the guard, page 1: the stack */

static u64 descriptor(u32 base, u32 limit, u32 access, u32 flags)
{
	return (u64)(limit & 0xffff) | (u64)(base & 0xffffff) << 16 | (u64)(access & 0xff) << 40 |
	       (u64)((limit >> 16) & 0xf) << 48 | (u64)(flags & 0xf) << 52 | (u64)(base >> 24) << 56;
}

static u64 task_gate(u32 tss_sel)
{
	return (u64)tss_sel << 16 | (u64)0x85 << 40;	/* present, DPL 0, type 5 */
}

static u32 type_of(u32 sel) { return (u32)(gdt[sel >> 3] >> 40) & 0xf; }
static void set_available(u32 sel) { gdt[sel >> 3] &= ~(2ull << 40); }
static u32 str(void) { u16 v; __asm__ volatile("str %0" : "=r"(v)); return v; }

static void tss_init(struct tss32 *t, void (*entry)(void), u8 *stack, u32 size)
{
	u8 *p = (u8 *)t;
	for (u32 i = 0; i < sizeof(*t); i++)
		p[i] = 0;
	t->eip = (u32)entry;
	t->esp = t->esp0 = (u32)stack + size;
	t->ss0 = SEL_KDATA;
	t->eflags = 0x2;
	t->cs = SEL_KCODE;
	t->ss = t->ds = t->es = t->fs = t->gs = SEL_KDATA;
	t->cr3 = read_cr3();
	t->iomap = sizeof(*t);
}

/*
 * A GDT of the test's own with guest/bare's segments (same selectors), a main TSS of its own
 * (loaded with LTR; its ESP0 is guest/bare's exception stack), the test's TSSes, gates and LDT.
 * (Not a copy through SGDT: under trap-and-emulate SGDT shows the VMM's shadow GDT.)
 */
static void tables_init(void)
{
	struct __attribute__((packed)) { u16 limit; u32 base; } gdtr, idtr;
	gdt[SEL_KCODE >> 3] = descriptor(0, 0xfffff, 0x9a, 0xc);
	gdt[SEL_KDATA >> 3] = descriptor(0, 0xfffff, 0x92, 0xc);
	gdt[0x18 >> 3] = descriptor(0, 0xfffff, 0xfa, 0xc);
	gdt[0x20 >> 3] = descriptor(0, 0xfffff, 0xf2, 0xc);
	tss_main.esp0 = (u32)exception_stack_top;
	tss_main.ss0 = SEL_KDATA;
	tss_main.iomap = sizeof(tss_main);
	gdt[SEL_MAIN >> 3] = descriptor((u32)&tss_main, sizeof(tss_main) - 1, 0x89, 0);
	gdt[SEL_B >> 3] = descriptor((u32)&tss_b, sizeof(tss_b) - 1, 0x89, 0);
	gdt[SEL_C >> 3] = descriptor((u32)&tss_c, sizeof(tss_c) - 1, 0x89, 0);
	gdt[SEL_GATE_B >> 3] = task_gate(SEL_B);
	gdt[SEL_DF >> 3] = descriptor((u32)&tss_df, sizeof(tss_df) - 1, 0x89, 0);
	ldt[1] = descriptor(0, 0xfffff, 0x92, 0xc);	/* flat data, DPL 0: selector 0x0c */
	gdt[SEL_LDT >> 3] = descriptor((u32)ldt, sizeof(ldt) - 1, 0x82, 0);
	gdt[SEL_SHORT >> 3] = descriptor((u32)&tss_c, 0x66, 0x89, 0);
	gdt[SEL_ABSENT >> 3] = descriptor((u32)&tss_c, sizeof(tss_c) - 1, 0x09, 0);
	gdtr.limit = sizeof(gdt) - 1;
	gdtr.base = (u32)gdt;
	__asm__ volatile("lgdt %0\n ltr %w1" : : "m"(gdtr), "r"(SEL_MAIN));
	__asm__ volatile("sidt %0" : "=m"(idtr));
	idt = (u64 *)idtr.base;
}

/* ---------------------------------------------------------------- the tasks */

volatile u32 seen_eflags, seen_tr, seen_ebx, seen_main_type, seen_b_type, seen_cr0, seen_link;
volatile u32 seen_ds, seen_ldtr, seen_value, seen_cr3, seen_error, df_saved_esp, df_cr2;
u32 saved_esp;

void task_b_jmp(void);
void task_b_iret(void);
void task_b_ldt(void);
void task_b_cr3(void);
void task_c_error(void);
void task_c_newtask(void);
void task_df(void);
void overflow(void);
void overflow_resume(void);
extern u8 b_after_iret[];

/* What a task sees of itself: EFLAGS, TR, the busy bits, CR0, its back link. */
void task_b_record(void)
{
	seen_eflags = read_eflags();
	seen_tr = str();
	seen_main_type = type_of(SEL_MAIN);
	seen_b_type = type_of(SEL_B);
	seen_cr0 = read_cr0();
	seen_link = tss_b.link;
}

void task_c_record(u32 error)
{
	seen_error = error;
	seen_link = tss_c.link;
	seen_tr = str();
}

void df_record(void)
{
	seen_link = tss_df.link;
	seen_tr = str();
	df_saved_esp = main_tss->esp;
	df_cr2 = read_cr2();
	main_tss->eip = (u32)overflow_resume;
}

extern u8 gp_resume[];
void c_resume_main(void) { main_tss->eip = (u32)gp_resume; }

__asm__(
	".text\n"
	/* B entered by JMP: records and jumps back to the main task. */
	"task_b_jmp: mov %ebx, seen_ebx\n call task_b_record\n ljmp $0x28, $0\n"
	/* B entered by CALL or INT n: records and returns with IRET (NT=1). */
	"task_b_iret: mov %ebx, seen_ebx\n call task_b_record\n iret\n b_after_iret: hlt\n"
	/* B with an LDT: its DS is LDT selector 0x0c. */
	"task_b_ldt: mov %ds, %eax\n mov %eax, seen_ds\n sldt %ax\n mov %eax, seen_ldtr\n iret\n"
	/* B with the other page directory: what probe_page holds there. */
	"task_b_cr3: mov probe_page, %eax\n mov %eax, seen_value\n mov %cr3, %eax\n mov %eax, seen_cr3\n iret\n"
	/* C, the #GP handler task: the error code is on its stack; the main task resumes after the fault. */
	"task_c_error: call task_c_record\n add $4, %esp\n call c_resume_main\n iret\n"
	/* C, the handler of a fault of a new task: records, then jumps to the main task. */
	"task_c_newtask: call task_c_record\n ljmp $0x28, $0\n"
	/* The double-fault task: records, points the main task at overflow_resume, returns to it. */
	"task_df: pop %eax\n mov %eax, seen_error\n call df_record\n iret\n"
	/* Runs the stack down into the guard page; df_record sends the main task to overflow_resume. */
	"overflow: push %ebp\n push %ebx\n push %esi\n push %edi\n mov %esp, saved_esp\n"
	" mov $overflow_area + 0x2000, %esp\n 1: push $0\n jmp 1b\n"
	"overflow_resume: mov saved_esp, %esp\n pop %edi\n pop %esi\n pop %ebx\n pop %ebp\n ret\n");

/* ---------------------------------------------------------------- the checks */

static __attribute__((noinline)) void jmp_and_back(void)
{
	u32 after;
	print("JMP to a TSS\n");
	tss_init(&tss_b, task_b_jmp, stack_b, sizeof(stack_b));
	tss_b.ebx = 0x600d600d;
	tss_b.link = 0x1234;
	__asm__ volatile("clts\n mov $0x5a5a5a5a, %%esi\n ljmp $0x30, $0\n 1: movl $1b, %0" : "=m"(after) : : "esi", "memory");
	report_eq(seen_ebx, 0x600d600d, "the new task's registers come from its TSS");
	report_eq(seen_tr, SEL_B, "TR holds the new TSS");
	report_eq(seen_eflags & EFLAGS_NT, 0, "JMP does not set NT");
	report_eq(seen_main_type, TSS_AVAILABLE, "JMP leaves the old task not busy");
	report_eq(seen_b_type, TSS_BUSY, "and the new task busy");
	report(seen_cr0 & CR0_TS, "CR0.TS is set by the switch");
	report_eq(seen_link, 0x1234, "JMP writes no back link");
	report_eq(main_tss->eip, after, "the old task's EIP saved: the instruction after the JMP");
	report_eq(main_tss->esi, 0x5a5a5a5a, "and its registers");
	report_eq(main_tss->cs, SEL_KCODE, "and its segment registers");
	report_eq(str(), SEL_MAIN, "the jump back restored TR");
	report_eq(type_of(SEL_B), TSS_AVAILABLE, "and left B not busy");
	report_eq(type_of(SEL_MAIN), TSS_BUSY, "the main task busy again");
}

static __attribute__((noinline)) void call_and_iret(void)
{
	u32 after;
	print("CALL and IRET\n");
	tss_init(&tss_b, task_b_iret, stack_b, sizeof(stack_b));
	__asm__ volatile("lcall $0x30, $0" : : : "memory");
	report(seen_eflags & EFLAGS_NT, "the called task runs with NT=1");
	report_eq(seen_link, SEL_MAIN, "its back link is the caller");
	report_eq(seen_main_type, TSS_BUSY, "the caller stays busy");
	report_eq(seen_b_type, TSS_BUSY, "the called task is busy");
	report_eq(str(), SEL_MAIN, "IRET went back to the caller");
	report_eq(read_eflags() & EFLAGS_NT, 0, "where NT is 0 again");
	report_eq(type_of(SEL_B), TSS_AVAILABLE, "IRET leaves the called task not busy");
	report_eq(tss_b.eip, (u32)b_after_iret, "the called task's EIP saved after its IRET");
	report_eq(tss_b.eflags & EFLAGS_NT, 0, "IRET clears NT in the saved EFLAGS image");

	print("a task gate in the GDT\n");
	tss_init(&tss_b, task_b_iret, stack_b, sizeof(stack_b));
	seen_tr = 0;
	__asm__ volatile("lcall $0x40, $0" : : : "memory");
	report_eq(seen_tr, SEL_B, "CALL through the gate reaches the TSS it names");

	print("INT n through a task gate in the IDT\n");
	tss_init(&tss_b, task_b_iret, stack_b, sizeof(stack_b));
	idt[0x50] = task_gate(SEL_B);
	seen_tr = 0;
	__asm__ volatile("int $0x50\n 1: movl $1b, %0" : "=m"(after) : : "memory");
	report_eq(seen_tr, SEL_B, "INT $0x50 switched to B");
	report_eq(seen_link, SEL_MAIN, "with a back link");
	report(seen_eflags & EFLAGS_NT, "and NT=1");
	report_eq(main_tss->eip, after, "the EIP after the INT saved in the old TSS");
	idt[0x50] = 0;
}

static __attribute__((noinline)) void exception_task(void)
{
	u32 at;
	print("#GP through a task gate in the IDT\n");
	tss_init(&tss_c, task_c_error, stack_c, sizeof(stack_c));
	u64 saved = idt[13];
	idt[13] = task_gate(SEL_C);
	__asm__ volatile("mov $0x100, %%ax\n 1: mov %%ax, %%ds\n gp_resume: movl $1b, %0" : "=m"(at) : : "eax", "memory");
	idt[13] = saved;
	report_eq(seen_tr, SEL_C, "the handler is a task");
	report_eq(seen_error, 0x100, "the error code (#GP(0x100): beyond the GDT limit) is on its stack");
	report_eq(seen_link, SEL_MAIN, "its back link is the faulting task");
	report_eq(main_tss->eip, (u32)gp_resume, "which resumed where the handler task told it to");
	(void)at;
}

static void do_jmp_busy(void *arg) { (void)arg; __asm__ volatile("ljmp $0x28, $0"); }
static void do_jmp_short(void *arg) { (void)arg; __asm__ volatile("ljmp $0x58, $0"); }
static void do_jmp_absent(void *arg) { (void)arg; __asm__ volatile("ljmp $0x60, $0"); }
/* EFLAGS = NT (IF=0 as everywhere here; no PUSHF: see read_eflags in conformance.h), then IRET. */
static void do_iret_nt(void *arg) { (void)arg; __asm__ volatile("push $0x4002\n popf\n iret"); }

static __attribute__((noinline)) void old_task_faults(void)
{
	print("faults before the switch, in the old task\n");
	catch_fault(do_jmp_busy, 0, &f);
	report_eq(f.vector, 13, "JMP to a busy TSS (the current task): #GP");
	report_eq(f.error, SEL_MAIN, "  error code: the selector");
	catch_fault(do_jmp_short, 0, &f);
	report_eq(f.vector, 10, "a TSS limit below 67H: #TS");
	report_eq(f.error, SEL_SHORT, "  error code: the selector");
	catch_fault(do_jmp_absent, 0, &f);
	report_eq(f.vector, 11, "a TSS not present: #NP");
	report_eq(f.error, SEL_ABSENT, "  error code: the selector");
	main_tss->link = SEL_B;
	catch_fault(do_iret_nt, 0, &f);
	main_tss->link = 0;
	report_eq(f.vector, 10, "IRET with NT=1 to a back link that is not busy: #TS");
	report_eq(f.error, SEL_B, "  error code: the back link");
	report_eq(str(), SEL_MAIN, "no switch happened");
}

static __attribute__((noinline)) void new_task_fault(void)
{
	print("a fault of the new task (table 7-1), handled by a task\n");
	tss_init(&tss_b, task_b_jmp, stack_b, sizeof(stack_b));
	tss_b.cs = SEL_KDATA;
	tss_init(&tss_c, task_c_newtask, stack_c, sizeof(stack_c));
	u64 saved = idt[10];
	idt[10] = task_gate(SEL_C);
	__asm__ volatile("ljmp $0x30, $0" : : : "memory");
	idt[10] = saved;
	report_eq(seen_error, SEL_KDATA, "a data segment as CS: #TS(CS selector)");
	report_eq(seen_link, SEL_B, "raised in the new task: it is the one the handler interrupted");
	set_available(SEL_B);

	print("an LDT from the TSS\n");
	tss_init(&tss_b, task_b_ldt, stack_b, sizeof(stack_b));
	tss_b.ldt = SEL_LDT;
	tss_b.ds = 0x0c;
	__asm__ volatile("lcall $0x30, $0" : : : "memory");
	report_eq(seen_ldtr, SEL_LDT, "LDTR loaded from the new TSS");
	report_eq(seen_ds & 0xffff, 0x0c, "and DS from the LDT");
	u16 ldtr;
	__asm__ volatile("sldt %0" : "=r"(ldtr));
	report_eq(ldtr, 0, "the caller's LDTR (null) came back from its TSS");
}

static void paging_on(void)
{
	for (u32 i = 0; i < 1024; i++)
		pt1[i] = i * PAGE | PTE_P | PTE_RW;
	dir1[0] = (u32)pt1 | PTE_P | PTE_RW;
	for (u32 i = 0; i < 1024; i++)
		pt2[i] = pt1[i];
	pt2[(u32)probe_page / PAGE] = (u32)alt_page | PTE_P | PTE_RW;
	dir2[0] = (u32)pt2 | PTE_P | PTE_RW;
	write_cr3((u32)dir1);
	write_cr0(read_cr0() | CR0_PG);
	main_tss->cr3 = (u32)dir1;
}

static __attribute__((noinline)) void with_paging(void)
{
	paging_on();
	print("CR3 from the new TSS\n");
	probe_page[0] = 0x1111;
	alt_page[0] = 0x2222;
	tss_init(&tss_b, task_b_cr3, stack_b, sizeof(stack_b));
	tss_b.cr3 = (u32)dir2;
	__asm__ volatile("lcall $0x30, $0" : : : "memory");
	report_eq(seen_cr3, (u32)dir2, "the new task runs on its own page directory");
	report_eq(seen_value, 0x2222, "and sees its own mapping (the TLB was flushed)");
	report_eq(read_cr3(), (u32)dir1, "back in the caller, its CR3 again");
	report_eq(probe_page[0], 0x1111, "and its mapping");

	print("a double fault through a task gate: a kernel stack overflow\n");
	pt1[(u32)overflow_area / PAGE] = 0;	/* the guard page */
	invlpg((u32)overflow_area);
	tss_init(&tss_df, task_df, stack_df, sizeof(stack_df));
	u64 saved = idt[8];
	idt[8] = task_gate(SEL_DF);
	seen_error = 0xdead;
	overflow();
	idt[8] = saved;
	report_eq(seen_tr, SEL_DF, "the double-fault handler runs as a task, on a good stack");
	report_eq(seen_error, 0, "#DF pushes error code 0 on the new task's stack");
	report_eq(seen_link, SEL_MAIN, "its back link is the task that overflowed");
	report_eq(df_saved_esp, (u32)overflow_area + PAGE, "that task's ESP (saved in its TSS) is at the guard page");
	report_eq(df_cr2 & ~(PAGE - 1), (u32)overflow_area, "CR2: the guard page");
	report_eq(str(), SEL_MAIN, "and the overflowed task went on after the handler's IRET");
	write_cr0(read_cr0() & ~CR0_PG);
}

void conformance_main(u32 magic, struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	tables_init();
	jmp_and_back();
	call_and_iret();
	exception_task();
	old_task_faults();
	new_task_fault();
	with_paging();
}
