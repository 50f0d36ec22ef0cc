/*
 * console.c -- COM1, polled, a tiny printf, and the debug-exit port (see bare.h). The waits for
 * the UART are bounded: a guest testing a UART model (guest/devtest) must not hang on a broken one.
 */
#include "bare.h"

void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* no UART interrupts */
	outb(COM1 + 3, 0x80);	/* DLAB: divisor 1 = 115200 baud */
	outb(COM1 + 0, 0x01);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8N1 */
	outb(COM1 + 2, 0xc7);	/* FIFOs on and cleared */
	outb(COM1 + 4, 0x0b);	/* DTR, RTS, OUT2 (OUT2 gates the IRQ line on a PC: devtest's UART test) */
}

static void putc(char c)
{
	for (u32 i = 0; i < 10000000 && !(inb(COM1 + 5) & 0x20); i++)	/* LSR.THRE: the holding register is empty */
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

void __attribute__((noreturn)) exit_qemu(u8 code)
{
	for (u32 i = 0; i < 10000000 && !(inb(COM1 + 5) & 0x40); i++)	/* LSR.TEMT: the last byte has left */
		;
	outb(DEBUG_EXIT, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}
