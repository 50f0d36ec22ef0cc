/*
 * devtest.h -- shared declarations of the device test kernel.
 *
 * The kernel runs at ring 0 with paging off and flat segments, so every physical address
 * (BIOS data, MP tables, the local APIC and IOAPIC registers) is reached directly.
 */
#ifndef DEVTEST_H
#define DEVTEST_H

/* Sized types, outb/inb, and the console (serial_init, print, exit_qemu: ../bare/console.c). */
#include "../bare/bare.h"

/* ---- Port I/O, memory, CPU ---- */

static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* Physical memory. The empty asm hides the constant address from the compiler, which
 * otherwise warns about dereferencing addresses in the first page. */
static inline u8 peek8(u32 a) { __asm__("" : "+r"(a)); return *(volatile u8 *)a; }
static inline u16 peek16(u32 a) { __asm__("" : "+r"(a)); return *(volatile u16 *)a; }
static inline u32 peek32(u32 a) { __asm__("" : "+r"(a)); return *(volatile u32 *)a; }
static inline void poke32(u32 a, u32 v) { __asm__("" : "+r"(a)); *(volatile u32 *)a = v; }

static inline void cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void sti(void) { __asm__ volatile("sti" : : : "memory"); }

/* ---- Vectors ---- */

#define PIC_VECTOR_BASE		0x20	/* the 8259s, remapped and masked: 0x20-0x2f */
#define TIMER_VECTOR		0x40	/* LAPIC timer under test */
#define WATCHDOG_VECTOR		0x41	/* LAPIC timer as a watchdog for device waits */
#define ISA_VECTOR_BASE		0x50	/* ISA IRQ n through the IOAPIC: vector 0x50 + n */
#define SPURIOUS_VECTOR		0xff	/* LAPIC spurious interrupt vector (SVR) */

/* ---- lib.c: interrupts, checks ---- */

struct trap_frame {
	u32 edi, esi, ebp, esp, ebx, edx, ecx, eax;	/* pusha */
	u32 vector, err;				/* the stub (err: the CPU's or 0) */
	u32 eip, cs, eflags;				/* the CPU */
};
typedef void (*handler_t)(struct trap_frame *);
void cpu_tables_init(void);
void set_handler(u32 vector, handler_t h);
u32 stray_interrupts(void);

/* Wait with sti; hlt until *counter >= target. Returns 0 if the watchdog (when armed)
 * fired first. Runs and returns with interrupts disabled. */
int wait_for(volatile u32 *counter, u32 target);
extern volatile u32 watchdog_fired;

extern u32 failures;
#define CHECK(cond, ...) do { if (!(cond)) { print("FAIL: " __VA_ARGS__); failures++; } } while (0)

/* ---- mptable.c ---- */

struct mp_info {
	int found;
	u32 lapic_addr;
	u32 ioapic_addr;
	u8 ioapic_id;
	u8 bsp_apic_id;
	u8 imcr_present;	/* feature byte 2 bit 7: PIC mode, the IMCR must be switched */
	u8 isa_bus;		/* bus id of the ISA bus, 0xff if none */
	/* per ISA IRQ: IOAPIC pin (0xff: no entry) and the entry's polarity/trigger flags */
	u8 isa_pin[16];
	u16 isa_flags[16];
};
void mp_find(struct mp_info *mp);

/* ---- apic.c ---- */

void pic_remap_and_mask(void);
void lapic_init(const struct mp_info *mp);
void lapic_eoi(void);
void lapic_timer_tests(void);
void watchdog_arm(void);
void watchdog_disarm(void);
int wait_with_watchdog(volatile u32 *counter, u32 target);
void ioapic_init(const struct mp_info *mp);
void ioapic_route_isa_irq(const struct mp_info *mp, u32 irq);

/* ---- uart.c, ide.c, cmos.c ---- */

void uart_interrupt_test(void);
void ide_test(void);
void cmos_test(u32 mbi_mem_upper);

#endif
