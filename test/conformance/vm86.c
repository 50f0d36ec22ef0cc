/*
 * vm86.c -- virtual-8086 mode (SDM vol. 3, chapter 20): entered by IRET at CPL 0 with EFLAGS.VM=1
 * (20.2.1), 16-bit code addressing with base = selector << 4, the privileged and IOPL-sensitive
 * instructions (CLI, STI, PUSHF, POPF, INT n, IRET: #GP(0) below IOPL 3, 20.2.7), I/O through the
 * TSS's permission bitmap whatever IOPL is (20.2.8.1), an exception's frame on the ring-0 stack
 * with GS, FS, DS, ES, SS, ESP above EFLAGS, CS, EIP and the data segment registers nulled
 * (20.3.1.1), INT n at IOPL 3 through a DPL 3 gate, #GP(selector) for a gate whose code is not
 * DPL 0. Under trap-and-emulate the guest's V86 code runs in V86 mode on the real CPU, and the VMM
 * emulates what traps against the guest's own IDT, TSS and IOPL.
 * Not checked (QEMU's TCG does not enforce segment limits): #GP for an offset beyond FFFFH.
 * @qemu
 */
#include "lib/conformance.h"

#define V86_BLOB	0x30000
#define V86_CS		0x3000
#define V86_DS		0x31000	/* linear base of DS 3100H */
#define EFLAGS_IF	0x200u
#define EFLAGS_IOPL	0x3000u
#define EFLAGS_VM	0x20000u
#define PORT_OK		0x3ff	/* the UART's scratch register */
#define PORT_DENIED	0x3fe

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
	u8 bitmap[8192 + 1];
} __attribute__((packed));

static u64 gdt[6];
static struct tss32 tss;
static struct fault f;

extern u8 v86_start[], v86_end[], basic[], basic_hlt[], cli_at[], sti_at[], pushf_at[], popf_at[], int_at[], iret_at[];
extern u8 div_code[], div_at[], io_ok[], io_ok_hlt[], io_denied[], io_denied_at[], iopl3[], iopl3_exit[], bad_gate[], bad_gate_at[];
void enter_v86(u32 ip, u32 eflags);
void gp_probe(void);
void v86_exit(void);
volatile u32 seen_ds, seen_es, seen_fs, seen_gs, seen_flags, exit_eip, exit_eflags;

static u64 descriptor(u32 base, u32 limit, u32 access, u32 flags)
{
	return (u64)(limit & 0xffff) | (u64)(base & 0xffffff) << 16 | (u64)(access & 0xff) << 40 |
	       (u64)((limit >> 16) & 0xf) << 48 | (u64)(flags & 0xf) << 52 | (u64)(base >> 24) << 56;
}

static u32 ip(const u8 *p) { return (u32)(p - v86_start); }
static u8 *v86_data(u32 offset) { return (u8 *)(V86_DS + offset); }

struct v86_run { u32 ip, eflags; };
static void run(void *arg)
{
	struct v86_run *r = arg;
	enter_v86(r->ip, r->eflags);
}

/* Runs V86 code at `start` with IOPL `iopl` until it faults (f says how) or executes INT 81H (f.vector is NO_FAULT). */
static void v86(const u8 *start, u32 iopl)
{
	struct v86_run r = { ip(start), EFLAGS_VM | iopl << 12 | 0x2 };
	catch_fault(run, &r, &f);
}

/* The frame an event from V86 mode left below the ring-0 stack top: EIP CS EFLAGS ESP SS ES DS FS GS (an error code below). */
static u32 *frame(void)
{
	u32 top = (u32)exception_stack_top;	/* an address, not an array to index below */
	return (u32 *)(top - 36);
}

static void check_fault(const char *what, u32 vector, u32 error, const u8 *at)
{
	print("  %s\n", what);
	report_eq(f.vector, vector, "  vector");
	report_eq(f.error, error, "  error code");
	report_eq(f.eip, ip(at), "  EIP: the instruction");
	report_eq(f.cs, V86_CS, "  CS: the V86 code segment");
}

static void tables_init(void)
{
	struct __attribute__((packed)) { u16 limit; u32 base; } gdtr;
	gdt[1] = descriptor(0, 0xfffff, 0x9a, 0xc);
	gdt[2] = descriptor(0, 0xfffff, 0x92, 0xc);
	gdt[3] = descriptor(0, 0xfffff, 0xfa, 0xc);
	gdt[4] = descriptor(0, 0xfffff, 0xf2, 0xc);
	tss.esp0 = (u32)exception_stack_top;
	tss.ss0 = 0x10;
	tss.iomap = 104;
	for (u32 i = 0; i <= 8192; i++)
		tss.bitmap[i] = i == 8192 ? 0xff : 0;
	tss.bitmap[PORT_DENIED / 8] |= 1 << (PORT_DENIED % 8);
	gdt[5] = descriptor((u32)&tss, sizeof(tss) - 1, 0x89, 0);
	gdtr.limit = sizeof(gdt) - 1;
	gdtr.base = (u32)gdt;
	__asm__ volatile("lgdt %0\n ltr %w1" : : "m"(gdtr), "r"(0x28));
	u8 *dst = (u8 *)V86_BLOB;
	for (u8 *p = v86_start; p < v86_end; p++)
		*dst++ = *p;
}

void conformance_main(u32 magic, struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	tables_init();

	print("entering V86 mode by IRET, and leaving it by an exception\n");
	idt_set(13, gp_probe, 0);
	v86(basic, 0);
	check_fault("HLT is privileged: #GP(0)", 13, 0, basic_hlt);
	report_eq(*(volatile u16 *)v86_data(0x10), 0xbeef, "DS 3100H:0010H is linear 31010H");
	report_eq(*(volatile u16 *)v86_data(0x12), 0x1000, "SP came from the IRET frame");
	u32 *fr = frame();
	report(fr[2] & EFLAGS_VM, "the EFLAGS pushed has VM=1");
	report_eq(fr[3], 0x1000, "ESP pushed");
	report_eq(fr[4], 0x3200, "SS pushed");
	report_eq(fr[5], 0x1234, "ES pushed: the V86 code's own");
	report_eq(fr[6], 0x3100, "DS pushed");
	report_eq(fr[7], 0x3500, "FS pushed");
	report_eq(fr[8], 0x3600, "GS pushed");
	report_eq(seen_ds | seen_es | seen_fs | seen_gs, 0, "the handler starts with DS, ES, FS, GS null");
	report_eq(seen_flags & EFLAGS_VM, 0, "and VM=0 (at ring 0)");
	idt_set(13, (void (*)(void))((u32)isr_unexpected_stubs + 8 * 13), 0);

	print("IOPL-sensitive instructions at IOPL 0: #GP(0)\n");
	v86(cli_at, 0);
	check_fault("CLI", 13, 0, cli_at);
	v86(sti_at, 0);
	check_fault("STI", 13, 0, sti_at);
	v86(pushf_at, 0);
	check_fault("PUSHF", 13, 0, pushf_at);
	v86(popf_at, 0);
	check_fault("POPF", 13, 0, popf_at);
	v86(int_at, 0);
	check_fault("INT 80H", 13, 0, int_at);
	v86(iret_at, 0);
	check_fault("IRET", 13, 0, iret_at);

	print("exceptions\n");
	v86(div_code, 0);
	check_fault("DIV by zero: #DE", 0, NO_ERROR, div_at);
	report(frame()[2] & EFLAGS_VM, "  the EFLAGS pushed has VM=1");

	print("I/O: the TSS's permission bitmap decides, not IOPL\n");
	idt_set(0x81, v86_exit, 3);
	v86(io_ok, 0);
	report_eq(f.eip, ip(io_ok_hlt), "an allowed port at IOPL 0 works (the code ran on to its HLT)");
	report_eq(*(volatile u8 *)v86_data(0x20), 0x5a, "  OUT and IN reached the UART's scratch register");
	v86(io_denied, 3);
	check_fault("a denied port at IOPL 3: #GP(0)", 13, 0, io_denied_at);

	print("at IOPL 3\n");
	v86(iopl3, 3);
	report_eq(f.vector, NO_FAULT, "CLI, STI, PUSHF, POPF, IRET run; INT 81H goes through its DPL 3 gate");
	report_eq(*(volatile u16 *)v86_data(0x30) & EFLAGS_IF, 0, "CLI cleared IF");
	report(*(volatile u16 *)v86_data(0x32) & EFLAGS_IF, "STI set it");
	report_eq(*(volatile u16 *)v86_data(0x34) & EFLAGS_IOPL, EFLAGS_IOPL, "POPF left IOPL at 3");
	report(*(volatile u16 *)v86_data(0x36) & EFLAGS_IF, "IRET loaded IF from the image");
	report_eq(exit_eip, ip(iopl3_exit) + 2, "INT 81H pushed the EIP after it");
	report((exit_eflags & (EFLAGS_VM | EFLAGS_IOPL)) == (EFLAGS_VM | EFLAGS_IOPL), "and EFLAGS with VM=1, IOPL 3");
	u64 *idt;
	struct __attribute__((packed)) { u16 limit; u32 base; } idtr;
	__asm__ volatile("sidt %0" : "=m"(idtr));
	idt = (u64 *)idtr.base;
	u32 off = (u32)v86_exit;
	idt[0x82] = (u64)(off & 0xffff) | (u64)0x1b << 16 | (u64)0xee00 << 32 | (u64)(off >> 16) << 48;
	v86(bad_gate, 3);
	check_fault("INT to a gate whose code segment is DPL 3: #GP(selector)", 13, 0x18, bad_gate_at);
}
