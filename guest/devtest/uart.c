/*
 * uart.c -- a UART interrupt: interrupt-driven transmission on COM1 (ISA IRQ 4).
 *
 * With IER.ETBEI (bit 1) set, the 16550 interrupts whenever the transmitter holding
 * register is empty: right away when the bit is turned on (the THR is empty), and again
 * after every byte written. The handler identifies the source in the IIR (reading it
 * clears a THRE interrupt), sends the next byte, and turns the interrupt off when there is
 * nothing left: for a message of n bytes, n + 1 interrupts. Nothing depends on input.
 */
#include "devtest.h"

#define COM1		0x3f8
#define UART_IER	(COM1 + 1)
#define UART_IIR	(COM1 + 2)
#define IER_ETBEI	0x02
#define IIR_THRE	0x02	/* IIR bits 3-0: THR empty is the interrupt's source */

static const char message[] = "OK";
static u32 sent;
static volatile u32 thre_interrupts, other_interrupts;
static u8 first_iir;

static void uart_handler(struct trap_frame *f)
{
	(void)f;
	u8 iir = inb(UART_IIR);
	if ((iir & 0x0f) == IIR_THRE) {
		if (thre_interrupts++ == 0)
			first_iir = iir;
		if (message[sent])
			outb(COM1, (u8)message[sent++]);
		else
			outb(UART_IER, 0);	/* all sent: THRE interrupt off */
	} else {
		other_interrupts++;
	}
	lapic_eoi();
}

void uart_interrupt_test(void)
{
	const u32 want = sizeof(message);	/* n bytes + the final "empty" */

	set_handler(ISA_VECTOR_BASE + 4, uart_handler);
	print("uart: interrupt-driven transmit: [");
	outb(UART_IER, IER_ETBEI);
	int ok = wait_with_watchdog(&thre_interrupts, want);
	__asm__ volatile("sti; nop; nop; cli" : : : "memory");	/* anything else pending */
	print("]\n");
	print("uart: %u THRE interrupts (IIR 0x%02x, source 0x%x) on vector 0x%x for %u bytes, %u other\n",
	      thre_interrupts, first_iir, first_iir & 0x0f, ISA_VECTOR_BASE + 4, want - 1, other_interrupts);
	CHECK(ok, "uart: timed out waiting for THRE interrupts\n");
	CHECK(thre_interrupts == want && other_interrupts == 0 && sent == want - 1,
	      "uart: want %u THRE interrupts and no others\n", want);
	CHECK(inb(UART_IER) == 0, "uart: IER reads 0x%x, want 0\n", inb(UART_IER));
}
