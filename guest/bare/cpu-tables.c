/* cpu-tables.c -- ring 0 and ring 3 segments, a TSS for esp0, an IDT (see bare.h). */
#include "bare.h"

static u64 gdt[6] = {
	0,
	0x00cf9a000000ffffull,	/* 0x08 kernel code: flat, DPL 0 */
	0x00cf92000000ffffull,	/* 0x10 kernel data */
	0x00cffa000000ffffull,	/* 0x1b user code: flat, DPL 3 */
	0x00cff2000000ffffull,	/* 0x23 user data */
	0,			/* 0x28 the TSS, filled in below */
};
static u32 tss[26];		/* 104 bytes; only esp0/ss0 matter: no task switching */
static u64 idt[256];

void idt_set(u32 vector, void (*handler)(void), u32 dpl)
{
	u32 off = (u32)handler;
	/* 32-bit interrupt gate (type 0xe): IF is cleared on entry */
	idt[vector] = (u64)(off & 0xffff) | (u64)0x08 << 16 |
		      (u64)(0x8e00 | dpl << 13) << 32 | (u64)(off >> 16) << 48;
}

void cpu_tables_init(void)
{
	struct __attribute__((packed)) { u16 limit; u32 base; } gdtr, idtr;
	u32 base = (u32)tss, limit = sizeof(tss) - 1;

	tss[1] = (u32)exception_stack_top;	/* esp0: the stack for ring 3 -> ring 0 */
	tss[2] = 0x10;				/* ss0 */
	tss[25] = sizeof(tss) << 16;		/* I/O map base beyond the limit: no I/O at ring 3 */
	gdt[5] = (u64)(limit & 0xffff) | (u64)(base & 0xffffff) << 16 |
		 (u64)0x89 << 40 |		/* present, DPL 0, 32-bit TSS (available) */
		 (u64)(limit >> 16) << 48 | (u64)(base >> 24) << 56;

	for (u32 v = 0; v < 32; v++)
		idt_set(v, (void (*)(void))((u32)isr_unexpected_stubs + 8 * v), 0);

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
		"lidt %1\n\t"
		"mov $0x28, %%ax\n\t"
		"ltr %%ax"
		: : "m"(gdtr), "m"(idtr) : "eax", "memory");
}
