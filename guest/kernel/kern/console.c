/*
 * console.c - the serial console (COM1, polled), printk and panic.
 *
 * Everything the kernel and the user programs print goes out of the 16550
 * UART at I/O port 0x3F8, one byte at a time: wait until the transmit holding
 * register is empty (LSR bit 5), then write the byte.  No interrupts.
 * Newlines are sent as "\n" alone.
 */
#include <stdarg.h>
#include "defs.h"
#include "x86.h"
#include "irq.h"
#include "../common/fmt.h"

#define COM1		0x3F8
#define UART_THR	0	/* transmit holding register (DLAB = 0) */
#define UART_DLL	0	/* divisor latch, low byte (DLAB = 1) */
#define UART_IER	1	/* interrupt enable (DLAB = 0) */
#define UART_DLM	1	/* divisor latch, high byte (DLAB = 1) */
#define UART_FCR	2	/* FIFO control */
#define UART_LCR	3	/* line control; bit 7 = DLAB */
#define UART_MCR	4	/* modem control */
#define UART_LSR	5	/* line status */
#define LSR_THRE	0x20	/* transmit holding register empty */

#define DEBUG_EXIT_PORT	0xF4	/* QEMU's isa-debug-exit device */

void uart_init(void)
{
	outb(COM1 + UART_IER, 0x00);	/* no UART interrupts */
	outb(COM1 + UART_LCR, 0x80);	/* DLAB = 1: set the baud rate */
	outb(COM1 + UART_DLL, 0x01);	/* divisor 1 = 115200 baud */
	outb(COM1 + UART_DLM, 0x00);
	outb(COM1 + UART_LCR, 0x03);	/* DLAB = 0, 8 data bits, no parity, 1 stop */
	outb(COM1 + UART_FCR, 0xC7);	/* enable and clear the FIFOs */
	outb(COM1 + UART_MCR, 0x03);	/* DTR, RTS */
}

static void uart_putc(char c)
{
	while (!(inb(COM1 + UART_LSR) & LSR_THRE))
		;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void console_write(const char *s, size_t n)
{
	while (n--)
		uart_putc(*s++);
}

void printk(const char *f, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, f);
	n = vfmt(buf, sizeof(buf), f, ap);
	va_end(ap);
	console_write(buf, (size_t)n);
}

/*
 * Leave the machine: write the code to QEMU's debug-exit port (QEMU exits
 * with status code * 2 + 1).  On a PC without that device, just stop.
 */
void machine_exit(int code)
{
	outb(DEBUG_EXIT_PORT, (uint8_t)code);
	for (;;) {
		cli();
		hlt();
	}
}

void panic(const char *f, ...)
{
	char buf[512];
	va_list ap;
	int n;

	cli();
	va_start(ap, f);
	n = vfmt(buf, sizeof(buf), f, ap);
	va_end(ap);
	printk("\nkernel panic: ");
	console_write(buf, (size_t)n);
	printk("\n");
	machine_exit(EXIT_PANIC);
}
