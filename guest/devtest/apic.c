/*
 * apic.c -- the 8259 PICs (remapped, then masked), the local APIC and its timer, the IOAPIC.
 */
#include "devtest.h"

/* ---- 8259 PICs ---- */

void pic_remap_and_mask(void)
{
	outb(0x20, 0x11);		/* ICW1: edge, cascade, ICW4 follows */
	outb(0xa0, 0x11);
	outb(0x21, PIC_VECTOR_BASE);	/* ICW2: master IRQs 0-7 -> vectors 0x20-0x27 */
	outb(0xa1, PIC_VECTOR_BASE + 8);	/* slave IRQs 8-15 -> 0x28-0x2f */
	outb(0x21, 0x04);		/* ICW3: slave on master's IRQ 2 */
	outb(0xa1, 0x02);		/* ... slave's cascade identity 2 */
	outb(0x21, 0x01);		/* ICW4: 8086 mode */
	outb(0xa1, 0x01);
	outb(0x21, 0xff);		/* OCW1: mask everything */
	outb(0xa1, 0xff);
	u8 m = inb(0x21), s = inb(0xa1);
	print("pic: remapped to vectors 0x%x/0x%x and masked (IMR 0x%02x 0x%02x)\n",
	      PIC_VECTOR_BASE, PIC_VECTOR_BASE + 8, m, s);
	CHECK(m == 0xff && s == 0xff, "pic: masks do not read back\n");
}

/* ---- Local APIC ---- */

#define LAPIC_ID		0x020
#define LAPIC_VERSION		0x030
#define LAPIC_TPR		0x080
#define LAPIC_EOI		0x0b0
#define LAPIC_SVR		0x0f0
#define LAPIC_LVT_TIMER		0x320
#define LAPIC_LVT_LINT0		0x350
#define LAPIC_LVT_LINT1		0x360
#define LAPIC_TIMER_INITIAL	0x380
#define LAPIC_TIMER_CURRENT	0x390
#define LAPIC_TIMER_DIVIDE	0x3e0

#define LVT_MASKED		(1u << 16)
#define LVT_TIMER_PERIODIC	(1u << 17)
#define DIVIDE_BY_16		0x3

#define PERIODIC_COUNT		625000u		/* 10 ms at QEMU's 1 GHz / 16 */
#define PERIODIC_INTERRUPTS	10u
#define ONESHOT_COUNT		6250000u	/* 100 ms */
#define WATCHDOG_COUNT		0x10000000u	/* about 4.3 s: device waits give up then */

static u32 lapic_base = 0xfee00000;
static u8 bsp_apic_id;

static u32 lapic_read(u32 reg) { return peek32(lapic_base + reg); }
static void lapic_write(u32 reg, u32 v) { poke32(lapic_base + reg, v); }

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

void lapic_init(const struct mp_info *mp)
{
	if (mp->found)
		lapic_base = mp->lapic_addr;
	u32 svr = lapic_read(LAPIC_SVR);
	lapic_write(LAPIC_TPR, 0);				/* accept every priority */
	lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);	/* bit 8: APIC software enable */
	u32 id = lapic_read(LAPIC_ID) >> 24, ver = lapic_read(LAPIC_VERSION);
	bsp_apic_id = (u8)id;
	print("lapic: at 0x%x, SVR 0x%x -> 0x%x (enabled, spurious vector 0x%x)\n",
	      lapic_base, svr, lapic_read(LAPIC_SVR), SPURIOUS_VECTOR);
	print("lapic: ID %u, version 0x%x (version 0x%x, %u LVT entries)\n",
	      id, ver, ver & 0xff, ((ver >> 16) & 0xff) + 1);
	print("lapic: LVT LINT0 0x%x, LINT1 0x%x, timer 0x%x\n", lapic_read(LAPIC_LVT_LINT0),
	      lapic_read(LAPIC_LVT_LINT1), lapic_read(LAPIC_LVT_TIMER));
	CHECK(!mp->found || id == mp->bsp_apic_id, "lapic: ID %u is not the MP table's BSP %u\n",
	      id, mp->bsp_apic_id);
	CHECK((lapic_read(LAPIC_SVR) & 0x1ff) == (0x100 | SPURIOUS_VECTOR), "lapic: SVR does not read back\n");
}

static volatile u32 timer_interrupts;

static void timer_handler(struct trap_frame *f)
{
	(void)f;
	timer_interrupts++;
	lapic_eoi();
}

void lapic_timer_tests(void)
{
	set_handler(TIMER_VECTOR, timer_handler);

	/* Periodic: count PERIODIC_INTERRUPTS interrupts, then stop the timer. */
	lapic_write(LAPIC_TIMER_DIVIDE, DIVIDE_BY_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | TIMER_VECTOR);
	lapic_write(LAPIC_TIMER_INITIAL, PERIODIC_COUNT);
	wait_for(&timer_interrupts, PERIODIC_INTERRUPTS);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
	lapic_write(LAPIC_TIMER_INITIAL, 0);	/* an initial count of 0 stops the timer */
	u32 cur = lapic_read(LAPIC_TIMER_CURRENT);
	print("lapic: timer periodic, divide by 16, initial count %u, vector 0x%x: %u interrupts\n",
	      PERIODIC_COUNT, TIMER_VECTOR, PERIODIC_INTERRUPTS);
	print("lapic: timer stopped (LVT masked, initial count 0): current count %u\n", cur);
	CHECK(cur == 0, "lapic: current count %u after stopping the timer\n", cur);
	/* One more period may have elapsed before the timer was stopped; let it in. */
	__asm__ volatile("sti; nop; nop; cli" : : : "memory");
	u32 base = timer_interrupts;
	if (base != PERIODIC_INTERRUPTS)
		print("time: lapic: %u more periodic interrupt(s) were pending when the timer stopped\n",
		      base - PERIODIC_INTERRUPTS);

	/* One-shot: the current count counts down; one interrupt at zero, and it stays zero. */
	lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR);	/* mode 00: one-shot, unmasked */
	lapic_write(LAPIC_TIMER_INITIAL, ONESHOT_COUNT);
	u32 c1 = lapic_read(LAPIC_TIMER_CURRENT), c2 = c1;
	for (u32 i = 0; i < 10000000 && c2 == c1; i++)
		c2 = lapic_read(LAPIC_TIMER_CURRENT);
	print("time: lapic: one-shot current count %u -> %u\n", c1, c2);
	CHECK(c1 <= ONESHOT_COUNT && c2 < c1 && c2 > 0,
	      "lapic: one-shot current count does not count down (%u -> %u)\n", c1, c2);
	wait_for(&timer_interrupts, base + 1);
	cur = lapic_read(LAPIC_TIMER_CURRENT);
	__asm__ volatile("sti; nop; nop; cli" : : : "memory");
	print("lapic: timer one-shot, initial count %u: the current count decreases, %u interrupt, then current count %u\n",
	      ONESHOT_COUNT, timer_interrupts - base, cur);
	CHECK(timer_interrupts == base + 1 && cur == 0,
	      "lapic: one-shot gave %u interrupts, current count %u\n", timer_interrupts - base, cur);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
}

/* The watchdog: the LAPIC timer, one-shot, on its own vector, so that a device that never
 * interrupts makes the test fail instead of hang. */
static void watchdog_handler(struct trap_frame *f)
{
	(void)f;
	watchdog_fired = 1;
	lapic_eoi();
}

void watchdog_arm(void)
{
	set_handler(WATCHDOG_VECTOR, watchdog_handler);
	watchdog_fired = 0;
	lapic_write(LAPIC_TIMER_DIVIDE, DIVIDE_BY_16);
	lapic_write(LAPIC_LVT_TIMER, WATCHDOG_VECTOR);
	lapic_write(LAPIC_TIMER_INITIAL, WATCHDOG_COUNT);
}

void watchdog_disarm(void)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | WATCHDOG_VECTOR);
	lapic_write(LAPIC_TIMER_INITIAL, 0);
}

/* ---- IOAPIC ---- */

#define IOAPIC_ID	0x00
#define IOAPIC_VERSION	0x01
#define IOAPIC_REDIR	0x10	/* + 2 * pin: low dword, + 1: high dword */

#define REDIR_ACTIVE_LOW	(1u << 13)
#define REDIR_LEVEL		(1u << 15)
#define REDIR_MASKED		(1u << 16)

static u32 ioapic_base = 0xfec00000;

static u32 ioapic_read(u32 reg)
{
	poke32(ioapic_base, reg);		/* IOREGSEL */
	return peek32(ioapic_base + 0x10);	/* IOWIN */
}

static void ioapic_write(u32 reg, u32 v)
{
	poke32(ioapic_base, reg);
	poke32(ioapic_base + 0x10, v);
}

void ioapic_init(const struct mp_info *mp)
{
	if (mp->found)
		ioapic_base = mp->ioapic_addr;
	u32 id = (ioapic_read(IOAPIC_ID) >> 24) & 0x0f, ver = ioapic_read(IOAPIC_VERSION);
	u32 pins = ((ver >> 16) & 0xff) + 1;
	print("ioapic: at 0x%x, ID %u (MP table: %u), version 0x%x, %u pins\n",
	      ioapic_base, id, mp->ioapic_id, ver & 0xff, pins);
	CHECK(!mp->found || id == mp->ioapic_id, "ioapic: ID %u is not the MP table's %u\n", id, mp->ioapic_id);
	for (u32 pin = 0; pin < pins; pin++) {
		ioapic_write(IOAPIC_REDIR + 2 * pin + 1, 0);
		ioapic_write(IOAPIC_REDIR + 2 * pin, REDIR_MASKED);
	}
	print("ioapic: all %u redirection entries masked\n", pins);
	if (mp->imcr_present) {
		outb(0x22, 0x70);	/* IMCR: select */
		outb(0x23, 0x01);	/* ... route interrupts through the APICs */
		print("ioapic: IMCR switched from PIC mode to symmetric I/O mode\n");
	}
}

/* Route ISA IRQ irq to vector ISA_VECTOR_BASE + irq on the BSP, through the pin the MP
 * table gives, with its polarity and trigger mode ("conforms to bus" = ISA: high, edge). */
void ioapic_route_isa_irq(const struct mp_info *mp, u32 irq)
{
	u32 pin = mp->found && mp->isa_pin[irq] != 0xff ? mp->isa_pin[irq] : irq;
	u32 flags = mp->found ? mp->isa_flags[irq] : 0;
	u32 low = ISA_VECTOR_BASE + irq;	/* delivery fixed, destination physical */
	if ((flags & 3) == 3)
		low |= REDIR_ACTIVE_LOW;
	if (((flags >> 2) & 3) == 3)
		low |= REDIR_LEVEL;
	u32 high = (u32)bsp_apic_id << 24;

	ioapic_write(IOAPIC_REDIR + 2 * pin + 1, high);
	ioapic_write(IOAPIC_REDIR + 2 * pin, low);
	u32 rl = ioapic_read(IOAPIC_REDIR + 2 * pin), rh = ioapic_read(IOAPIC_REDIR + 2 * pin + 1);
	print("ioapic: ISA IRQ %u -> pin %u: vector 0x%x, fixed, physical APIC %u, active %s, %s (entry 0x%08x%08x)\n",
	      irq, pin, low & 0xff, bsp_apic_id, low & REDIR_ACTIVE_LOW ? "low" : "high",
	      low & REDIR_LEVEL ? "level" : "edge", rh, rl);
	CHECK(rl == low && rh == high, "ioapic: pin %u reads back 0x%08x%08x\n", pin, rh, rl);
}

/* Wait for a device's interrupt counter, with the watchdog armed. Returns 0 on timeout. */
int wait_with_watchdog(volatile u32 *counter, u32 target)
{
	watchdog_arm();
	int ok = wait_for(counter, target);
	watchdog_disarm();
	return ok;
}
