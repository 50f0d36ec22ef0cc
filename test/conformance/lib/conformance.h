/*
 * conformance.h -- what every conformance guest shares (test/conformance/README.md): the
 * standalone-guest basics of guest/bare (console, GDT/TSS/IDT, ring-3 calls), one line per check
 * ("PASS: ..." or "FAIL: ..."), a summary that ends the run through QEMU's isa-debug-exit port
 * (code 0 when every check passed, 1 otherwise), and a way to run code that is expected to
 * raise an exception and to see which one, where, and with which error code.
 */
#ifndef CONFORMANCE_H
#define CONFORMANCE_H

#include "../../../guest/bare/bare.h"

/* One check: prints "PASS: what" or "FAIL: what" and counts it. Returns ok. */
int report(int ok, const char *what);
/* A check with the value seen and the value expected, both printed on failure. */
int report_eq(u32 seen, u32 expected, const char *what);
/*
 * A check of a rule QEMU's TCG does not follow (the guest's header says which): reported as
 * report() does, except under QEMU's TCG, where it prints "SKIP: what" and counts nothing.
 */
int report_sdm(int ok, const char *what);
/* Running under QEMU's TCG: CPUID's hypervisor bit and the "TCGTCGTCGTCG" leaf 0x40000000. */
int qemu_tcg(void);
/* Prints "SUMMARY: N tests, M failures" and exits: code 0 if M == 0, else 1. */
void __attribute__((noreturn)) report_summary(void);

/* What an exception caught by catch_fault left: its vector, error code (or NO_ERROR) and EIP. */
struct fault {
	u32 vector;
	u32 error;
	u32 eip;
	u32 cs;
};
#define NO_FAULT	0xffffffffu
#define NO_ERROR	0xffffffffu

/*
 * Runs fn(arg) at ring 0. If it returns, *f gets vector NO_FAULT and the result is 0. If it
 * raises an exception 0-31 (at any ring, including ring-3 code it runs with ring3_call), the
 * exception's vector, error code and EIP go to *f, fn is abandoned (its stack frame with it)
 * and the result is 1, with IF=0 (the exception's interrupt gate cleared it; a guest that runs
 * with interrupts on sets IF again itself).
 */
int catch_fault(void (*fn)(void *), void *arg, struct fault *f);

/* The guest's own entry, after serial_init() and cpu_tables_init(). */
void conformance_main(u32 magic, struct multiboot_info *info);

/* CPUID with leaf (and subleaf 0); regs[0..3] = eax, ebx, ecx, edx. */
static inline void cpuid(u32 leaf, u32 regs[4])
{
	__asm__ volatile("cpuid" : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]), "=d"(regs[3]) : "a"(leaf), "c"(0));
}

/*
 * EFLAGS as the processor pushes it in an interrupt frame: INT 0x7F (a DPL 3 gate set up before
 * conformance_main, usable at any ring) returns the frame's EFLAGS in EAX. Not PUSHF: under
 * trap-and-emulate, PUSHF with interrupts off is the sensitive, unprivileged instruction the VMM
 * cannot virtualize (it shows the real IF, src/vmm/sensitive-watch.ts), while an INT is delivered
 * with the guest's own EFLAGS in every mode.
 */
#define EFLAGS_VECTOR	0x7f
static inline u32 read_eflags(void) { u32 v; __asm__ volatile("int $0x7f" : "=a"(v) : : "memory"); return v; }

#endif
