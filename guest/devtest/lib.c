/*
 * lib.c -- segments and the IDT, interrupt dispatch and waiting for interrupts (the console is
 * ../bare/console.c).
 */
#include "devtest.h"

u32 failures;

/* ---- Segments and the IDT ---- */

extern u8 isr_stubs[];	/* boot.S: 256 stubs, 16 bytes apart */

static u64 gdt[3] = {
	0,
	0x00cf9a000000ffffull,	/* 0x08 code: flat, ring 0 */
	0x00cf92000000ffffull,	/* 0x10 data */
};
static u64 idt[256];
static handler_t handlers[256];
static u32 stray[256];

void cpu_tables_init(void)
{
	struct __attribute__((packed)) { u16 limit; u32 base; } gdtr, idtr;

	for (u32 v = 0; v < 256; v++) {
		u32 off = (u32)isr_stubs + 16 * v;
		/* 32-bit interrupt gate, ring 0: IF is cleared on entry */
		idt[v] = (u64)(off & 0xffff) | (u64)0x08 << 16 | (u64)0x8e00 << 32 |
			 (u64)(off >> 16) << 48;
	}
	gdtr.limit = sizeof(gdt) - 1;
	gdtr.base = (u32)gdt;
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (u32)idt;
	__asm__ volatile(
		"lgdt %0\n\t"
		"ljmp $0x08, $1f\n"
		"1:\tmov $0x10, %%ax\n\t"
		"mov %%ax, %%ds\n\t"
		"mov %%ax, %%es\n\t"
		"mov %%ax, %%fs\n\t"
		"mov %%ax, %%gs\n\t"
		"mov %%ax, %%ss\n\t"
		"lidt %1"
		: : "m"(gdtr), "m"(idtr) : "eax", "memory");
}

void set_handler(u32 vector, handler_t h)
{
	handlers[vector] = h;
}

static const char *const exception_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "9", "#TS", "#NP",
	"#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM",
};

void isr_dispatch(struct trap_frame *f)
{
	if (f->vector < 32) {
		u32 cr2;
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		print("FAIL: exception %s (vector %u) error code 0x%x at EIP 0x%x, CR2 0x%x\n",
		      exception_names[f->vector] ? exception_names[f->vector] : "reserved",
		      f->vector, f->err, f->eip, cr2);
		exit_qemu(1);
	}
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	/* Nothing expects this vector: count it (the summary reports and fails on it).
	 * A PIC interrupt here would be a spurious IRQ 7/15: the PICs are masked. The LAPIC's
	 * spurious vector needs no EOI; for anything else, EOI so that the LAPIC goes on. */
	stray[f->vector]++;
	if (f->vector != SPURIOUS_VECTOR && !(f->vector >= PIC_VECTOR_BASE && f->vector < PIC_VECTOR_BASE + 16))
		lapic_eoi();
}

u32 stray_interrupts(void)
{
	u32 n = 0;
	for (u32 v = 0; v < 256; v++) {
		if (stray[v]) {
			print("interrupts: %u unexpected on vector 0x%x\n", stray[v], v);
			n += stray[v];
		}
	}
	return n;
}

/* ---- Waiting for interrupts ---- */

volatile u32 watchdog_fired;

int wait_for(volatile u32 *counter, u32 target)
{
	cli();
	while (*counter < target && !watchdog_fired)
		__asm__ volatile("sti; hlt; cli" : : : "memory");	/* sti's shadow covers hlt */
	return *counter >= target;
}
