/*
 * bare.h -- what the standalone guests (lecture, probe, escape, nanobench; devtest its console) share: sized
 * types, port I/O and control-register helpers, COM1 output with a tiny printf, the debug-exit
 * port, one GDT/TSS/IDT setup (ring 0 and ring 3 segments, a TSS for esp0), and (entry.S) the
 * multiboot entry, which calls the guest's kmain(magic, info), a way to run code at ring 3, and
 * a stub per exception that calls the guest's unexpected(vector, stack).
 *
 * Segment selectors: 0x08 kernel code, 0x10 kernel data, 0x1b user code, 0x23 user data,
 * 0x28 the TSS.
 */
#ifndef BARE_H
#define BARE_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define PTE_P	0x001u	/* present */
#define PTE_RW	0x002u	/* writable */
#define PTE_US	0x004u	/* user-accessible */

#define CR0_PG	0x80000000u

/* Multiboot 0.6.96, 3.2-3.3: the magic in EAX, and the info structure's first fields and flags. */
#define MB_MAGIC	0x2badb002u
#define MB_MEM		0x1u	/* flags: mem_lower/mem_upper valid */
#define MB_CMDLINE	0x4u	/* flags: cmdline valid */

struct multiboot_info {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline;
};

/* The exceptions that push an error code before EIP: #DF, #TS, #NP, #SS, #GP, #PF, #AC (SDM vol. 3, 6.13). */
static inline int exception_has_error_code(u32 vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

#define COM1		0x3f8
#define DEBUG_EXIT	0xf4	/* QEMU's isa-debug-exit: exits with (code << 1) | 1 */

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline u32 read_cr0(void) { u32 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline u32 read_cr2(void) { u32 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline u32 read_cr3(void) { u32 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline u32 read_cr4(void) { u32 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(u32 v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(u32 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(u32 v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void invlpg(u32 va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

/* console.c */
void serial_init(void);
/* A tiny printf: %s %c %u %d %x, with an optional 0 flag and width (%08x; strings pad on the right). */
void print(const char *fmt, ...);
/* Waits until the last byte has left the UART, then writes `code` to the debug-exit port. */
void __attribute__((noreturn)) exit_qemu(u8 code);

/* cpu-tables.c */
/* Loads the GDT, the TSS (esp0 = exception_stack_top) and an IDT whose vectors 0-31 go to the unexpected stubs. */
void cpu_tables_init(void);
/* Points `vector` at `handler` through a 32-bit interrupt gate (IF cleared on entry) of privilege `dpl`. */
void idt_set(u32 vector, void (*handler)(void), u32 dpl);

/* entry.S */
/* Runs the code at `eip` at ring 3 on stack `esp` with ebx = `ebx`, until it executes int 0x80; returns its eax. */
u32 ring3_call(u32 eip, u32 esp, u32 ebx);
/* The int 0x80 gate's handler (install it with DPL 3). */
void isr_ring3_exit(void);
extern void isr_unexpected_stubs(void);
extern u8 exception_stack_top[];

/* Provided by the guest: an exception nobody expected (stack: [error code,] eip, cs, eflags). */
void __attribute__((noreturn)) unexpected(u32 vector, u32 *stack);

#endif
