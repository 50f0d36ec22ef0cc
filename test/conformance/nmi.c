/*
 * nmi.c -- non-maskable interrupts (SDM vol. 3, 6.7 and 6.7.1): an NMI sent by the local APIC to
 * its own processor (ICR delivery mode NMI, physical destination = its APIC ID) is taken through
 * vector 2 with EFLAGS.IF=0; while its handler runs, a second NMI is held — not lost, not nested —
 * and taken right after the handler's IRET; an NMI from a device (the PIT's IRQ 0 routed by the
 * I/O APIC in NMI delivery mode) wakes a HLT executed with IF=0, and execution goes on after it.
 * Under a hypervisor the VMM injects the NMI into the guest and must keep the blocking rule.
 * Not checked: NMIs held across the STI and MOV SS shadows (QEMU's TCG does not hold them).
 * @qemu
 */
#include "lib/conformance.h"

#define LAPIC		0xfee00000u
#define LAPIC_ID	0x020
#define LAPIC_SVR	0x0f0
#define LAPIC_ICR_LOW	0x300
#define LAPIC_ICR_HIGH	0x310
#define IOAPIC		0xfec00000u
#define EFLAGS_IF	0x200u

static volatile u32 nmis, nested, inside, second_seen_inside, resend;
static volatile u32 handler_eflags;

static inline void apic_write(u32 reg, u32 v) { *(volatile u32 *)(LAPIC + reg) = v; }
static inline u32 apic_read(u32 reg) { return *(volatile u32 *)(LAPIC + reg); }

/* An NMI to this processor: ICR delivery mode 100 (NMI), physical destination = its APIC ID. */
static void send_nmi(void)
{
	apic_write(LAPIC_ICR_HIGH, apic_read(LAPIC_ID) & 0xff000000u);
	apic_write(LAPIC_ICR_LOW, 4u << 8);
}

void nmi_isr(void);
void nmi_handler(u32 *frame)
{
	if (inside)
		nested++;
	inside = 1;
	nmis++;
	handler_eflags = frame[2];
	if (resend) {
		resend = 0;
		send_nmi();
		for (volatile u32 i = 0; i < 20000; i++)
			;
		second_seen_inside = nmis;
	}
	inside = 0;
}
__asm__(
	".text\n"
	"nmi_isr: pusha\n lea 32(%esp), %eax\n push %eax\n call nmi_handler\n add $4, %esp\n popa\n iret\n");

/* Waits a while for `count` NMIs to have been taken. */
static u32 wait_for(u32 count)
{
	for (volatile u32 i = 0; i < 100000 && nmis < count; i++)
		;
	return nmis;
}

static void ioapic_write(u32 reg, u32 v)
{
	*(volatile u32 *)IOAPIC = reg;
	*(volatile u32 *)(IOAPIC + 0x10) = v;
}

void conformance_main(u32 magic, struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	outb(0x21, 0xff);	/* the 8259s masked: only what is set up below interrupts */
	outb(0xa1, 0xff);
	idt_set(2, nmi_isr, 0);
	apic_write(LAPIC_SVR, 0x1ff);

	print("an NMI IPI to self with IF=0\n");
	report(!(read_eflags() & EFLAGS_IF), "IF is 0 here");
	send_nmi();
	report_eq(wait_for(1), 1, "the NMI is taken although IF=0");
	report(!(handler_eflags & EFLAGS_IF), "  the interrupted code had IF=0 (EFLAGS pushed)");
	report(!(read_eflags() & EFLAGS_IF), "  IF is still 0 after the handler's IRET");

	print("an NMI while the NMI handler runs\n");
	resend = 1;
	send_nmi();
	wait_for(3);
	report_eq(second_seen_inside, 2, "the second NMI is held while the handler runs");
	report_eq(nested, 0, "  the handler is never entered twice at once");
	report_eq(nmis, 3, "  it is taken after the handler's IRET");

	print("a device's NMI wakes HLT with IF=0\n");
	/* The PIT's channel 0 in mode 0: OUT low now, one rising edge when the count runs out. */
	outb(0x43, 0x30);
	outb(0x40, 0x00);
	outb(0x40, 0x10);	/* 4096 ticks, about 3.4 ms */
	/* I/O APIC pin 2 (ISA IRQ 0): NMI delivery mode, edge, unmasked, to this processor. */
	ioapic_write(0x10 + 2 * 2 + 1, apic_read(LAPIC_ID) & 0xff000000u);
	ioapic_write(0x10 + 2 * 2, 4u << 8);
	u32 before = nmis;
	__asm__ volatile("hlt");
	report_eq(nmis, before + 1, "HLT returns after the NMI's handler");
	ioapic_write(0x10 + 2 * 2, 1u << 16);	/* masked again */
	report(!(read_eflags() & EFLAGS_IF), "  IF is still 0");
}
