/*
 * trap.c - the IDT, the 8259 PIC, the 8254 PIT, and trap dispatch.
 *
 * Vectors:
 *   0..19    CPU exceptions: in ring 3 they kill the process (page faults
 *            first go to fault.c), in ring 0 they panic
 *   32..47   IRQ 0..15 from the two 8259s (only IRQ 0, the PIT, is unmasked)
 *   0x80     system calls (a trap gate with DPL 3: `int $0x80` works from
 *            ring 3 and interrupts stay enabled)
 *   others   unexpected: panic
 * Every gate except 0x80 is an interrupt gate: the CPU clears IF on entry.
 */
#include "defs.h"
#include "proc.h"
#include "x86.h"
#include "irq.h"
#include "../common/abi.h"

#define T_PGFLT		14
#define T_IRQ0		32
#define IRQ_TIMER	0

#define PIC1		0x20	/* master: command */
#define PIC1_DATA	0x21
#define PIC2		0xA0	/* slave: command */
#define PIC2_DATA	0xA1
#define PIC_EOI		0x20
#define PIC_READ_ISR	0x0B

#define PIT_CH0		0x40
#define PIT_CMD		0x43
#define PIT_FREQ	1193182	/* Hz */

extern uint32_t vectors[];	/* trapasm.S */
static struct gate idt[256];
volatile uint32_t ticks;

static void setgate(int n, uint32_t handler, int type, int dpl)
{
	idt[n].off_lo = handler & 0xFFFF;
	idt[n].sel = KCODE_SEL;
	idt[n].zero = 0;
	idt[n].type_attr = (uint8_t)(0x80 | (dpl << 5) | type);
	idt[n].off_hi = handler >> 16;
}

void idt_init(void)
{
	int i;

	for (i = 0; i < 256; i++)
		setgate(i, vectors[i], GATE_INTR, 0);
	setgate(T_SYSCALL, vectors[T_SYSCALL], GATE_TRAP, 3);
	lidt(idt, sizeof(idt));
}

/* Program both 8259s: IRQ 0-7 -> vectors 32-39, IRQ 8-15 -> 40-47. */
void pic_init(void)
{
	outb(PIC1, 0x11);		/* ICW1: initialize, ICW4 follows */
	outb(PIC2, 0x11);
	outb(PIC1_DATA, T_IRQ0);	/* ICW2: vector base */
	outb(PIC2_DATA, T_IRQ0 + 8);
	outb(PIC1_DATA, 0x04);		/* ICW3: slave on IRQ 2 */
	outb(PIC2_DATA, 0x02);		/*       slave's cascade identity */
	outb(PIC1_DATA, 0x01);		/* ICW4: 8086 mode, normal EOI */
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, 0xFE);		/* mask everything but IRQ 0 */
	outb(PIC2_DATA, 0xFF);
}

/* PIT channel 0, mode 2 (rate generator): IRQ 0 hz times a second. */
void pit_init(uint32_t hz)
{
	uint32_t div = (PIT_FREQ + hz / 2) / hz;

	outb(PIT_CMD, 0x34);		/* channel 0, lobyte/hibyte, mode 2, binary */
	outb(PIT_CH0, div & 0xFF);
	outb(PIT_CH0, (div >> 8) & 0xFF);
}

static const char *const exc_names[20] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow",
	"BOUND range exceeded", "invalid opcode", "device not available",
	"double fault", "coprocessor segment overrun", "invalid TSS",
	"segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 floating-point error",
	"alignment check", "machine check", "SIMD floating-point"
};

/* A CPU exception other than a resolved page fault. */
static void exception(struct trapframe *tf)
{
	const char *name = tf->trapno < 20 ? exc_names[tf->trapno] : "unknown";

	if ((tf->cs & 3) == 0 || tf->trapno >= 20)
		panic("exception %u (%s) in ring %u: error code 0x%x, eip 0x%08x, "
		      "cr2 0x%08x, esp 0x%08x",
		      tf->trapno, name, tf->cs & 3, tf->err, tf->eip, rcr2(),
		      (uint32_t)&tf->esp);
	printk("kernel: pid %d (%s) killed: %s (vector %u, error code 0x%x) "
	       "at eip 0x%08x, cr2 0x%08x\n", curproc->pid, curproc->name,
	       name, tf->trapno, tf->err, tf->eip, rcr2());
	kill_curproc(tf->trapno == 0 ? STATUS_FPE :
		     tf->trapno == 6 ? STATUS_ILL : STATUS_SEGV);
}

/* An IRQ from the 8259s. */
static void irq(int n)
{
	if (n == 7 || n == 15) {
		/* A spurious IRQ 7/15 has no bit in the in-service register
		 * and must not be acknowledged (the master still must be, for
		 * a spurious 15, as it did see IRQ 2). */
		uint16_t port = n == 7 ? PIC1 : PIC2;

		outb(port, PIC_READ_ISR);
		if (!(inb(port) & 0x80)) {
			if (n == 15)
				outb(PIC1, PIC_EOI);
			return;
		}
	}
	if (n >= 8)
		outb(PIC2, PIC_EOI);
	outb(PIC1, PIC_EOI);

	if (n == IRQ_TIMER) {
		ticks++;
		timer_tick();
	} else {
		panic("unexpected IRQ %d", n);
	}
}

/*
 * Called by alltraps with the trap frame.  System calls arrive with
 * interrupts enabled (trap gate), everything else with IF = 0.
 */
void trap(struct trapframe *tf)
{
	int from_user = (tf->cs & 3) == 3;

	if (tf->trapno == T_SYSCALL) {
		assert_irqs_on("system call entry");
		syscall(tf);
		if (need_resched)
			yield();
		assert_irqs_on("system call return");
		return;
	}

	/* An interrupt gate: IF = 0 until iret.  For irq=cli this is one
	 * nesting level, so sections inside the handler leave IF alone. */
	irq_depth++;
	assert_irqs_off("interrupt or exception handler");
	if (tf->trapno >= T_IRQ0 && tf->trapno < T_IRQ0 + 16)
		irq((int)tf->trapno - T_IRQ0);
	else if (tf->trapno == T_PGFLT)
		page_fault(tf);
	else
		exception(tf);

	/* Preempt: on the way back to ring 3, give up the CPU if the timer
	 * said so.  The kernel itself is never preempted. */
	if (from_user && need_resched)
		yield();
	assert_irqs_off("return from interrupt");
	irq_depth--;
}
