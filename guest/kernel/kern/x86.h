/*
 * x86.h - the few i686 instructions C cannot express, as inline functions.
 */
#ifndef KERN_X86_H
#define KERN_X86_H

#include <stdint.h>

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

/* EFLAGS.IF: interrupts enabled. */
#define FL_IF	0x00000200

static inline uint32_t read_eflags(void)
{
	uint32_t f;
	asm volatile("pushfl; popl %0" : "=r"(f));
	return f;
}

static inline void cli(void) { asm volatile("cli" ::: "memory"); }
static inline void sti(void) { asm volatile("sti" ::: "memory"); }
static inline void hlt(void) { asm volatile("hlt" ::: "memory"); }

static inline uint32_t rcr0(void)
{
	uint32_t v;
	asm volatile("movl %%cr0, %0" : "=r"(v));
	return v;
}

static inline void lcr0(uint32_t v)
{
	asm volatile("movl %0, %%cr0" : : "r"(v) : "memory");
}

static inline uint32_t rcr2(void)
{
	uint32_t v;
	asm volatile("movl %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint32_t rcr3(void)
{
	uint32_t v;
	asm volatile("movl %%cr3, %0" : "=r"(v));
	return v;
}

/* Load CR3: switch address space and flush the TLB. */
static inline void lcr3(uint32_t pa)
{
	asm volatile("movl %0, %%cr3" : : "r"(pa) : "memory");
}

/* Drop the TLB entry of one linear page. */
static inline void invlpg(uint32_t va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

struct dtr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

static inline void lgdt(void *base, uint16_t size)
{
	struct dtr d = { (uint16_t)(size - 1), (uint32_t)base };
	asm volatile("lgdt %0" : : "m"(d));
}

static inline void lidt(void *base, uint16_t size)
{
	struct dtr d = { (uint16_t)(size - 1), (uint32_t)base };
	asm volatile("lidt %0" : : "m"(d));
}

static inline void ltr(uint16_t sel)
{
	asm volatile("ltr %0" : : "r"(sel));
}

#endif
