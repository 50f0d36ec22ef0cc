/*
 * lib.c -- serial output (COM1, polled), a tiny printf, the exit port, segments and the
 * IDT, interrupt dispatch and waiting for interrupts.
 */
#include "devtest.h"

#define COM1		0x3f8
#define DEBUG_EXIT	0xf4	/* QEMU's isa-debug-exit: exits with (code << 1) | 1 */

u32 failures;

/* ---- COM1, polled ---- */

void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* IER: no interrupts (uart.c turns THRE on for its test) */
	outb(COM1 + 3, 0x80);	/* LCR.DLAB: divisor 1 = 115200 baud */
	outb(COM1 + 0, 0x01);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8N1 */
	outb(COM1 + 2, 0xc7);	/* FCR: FIFOs on and cleared */
	outb(COM1 + 4, 0x0b);	/* MCR: DTR, RTS, OUT2 (OUT2 gates the IRQ line on a PC) */
}

static void putc(char c)
{
	for (u32 i = 0; i < 10000000 && !(inb(COM1 + 5) & 0x20); i++)	/* LSR.THRE */
		;
	outb(COM1, (u8)c);
}

static void put_num(u32 v, u32 base, int width, char pad)
{
	char buf[12];
	int n = 0;
	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > n)
		putc(pad);
	while (n)
		putc(buf[--n]);
}

void print(const char *fmt, ...)
{
	__builtin_va_list ap;
	__builtin_va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			putc(*fmt);
			continue;
		}
		char pad = ' ';
		int width = 0;
		if (*++fmt == '0')
			pad = *fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		switch (*fmt) {
		case 's': {
			const char *s = __builtin_va_arg(ap, const char *);
			int len = 0;
			while (s[len])
				len++;
			for (; *s; s++)
				putc(*s);
			while (width-- > len)	/* strings pad on the right */
				putc(' ');
			break;
		}
		case 'c': putc((char)__builtin_va_arg(ap, int)); break;
		case 'u': put_num(__builtin_va_arg(ap, u32), 10, width, pad); break;
		case 'd': {
			int v = __builtin_va_arg(ap, int);
			if (v < 0) {
				putc('-');
				v = -v;
			}
			put_num((u32)v, 10, width, pad);
			break;
		}
		case 'x': put_num(__builtin_va_arg(ap, u32), 16, width, pad); break;
		default: putc('%'); putc(*fmt); break;
		}
	}
	__builtin_va_end(ap);
}

void exit_qemu(u8 code)
{
	for (u32 i = 0; i < 10000000 && !(inb(COM1 + 5) & 0x40); i++)	/* LSR.TEMT: all sent */
		;
	outb(DEBUG_EXIT, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

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
