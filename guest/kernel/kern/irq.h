/*
 * irq.h - critical sections under the two interrupt-masking disciplines.
 *
 * The kernel runs on one CPU and is not preemptible, so a critical section
 * only needs to keep interrupt handlers out: it runs with EFLAGS.IF = 0.
 * The command line chooses how (irq=cli or irq=popf):
 *
 *   irq=cli   irq_save() is `cli` and irq_restore() is `sti`, with a nesting
 *             count in memory (irq_depth) so that only the outermost
 *             restore executes `sti` -- xv6's pushcli/popcli.  Interrupt
 *             entry counts as one level (trap() increments it), so a section
 *             inside an interrupt handler never turns interrupts on.  The
 *             kernel never reads EFLAGS in this mode.
 *
 *   irq=popf  irq_save() is `pushfl; cli; popl` -- save EFLAGS, disable --
 *             and irq_restore(flags) is `pushl; popfl`, putting back the IF
 *             that was saved (Linux's local_irq_save/restore).  Nesting needs
 *             no counter: an inner section saves IF=0 and restores IF=0.
 *             The kernel also checks its interrupt state by reading EFLAGS
 *             (assert_irqs_off/on), which is how a hypervisor that gets popf
 *             wrong is caught: at ring 1 popf silently keeps IF = 0.
 *
 * Invariant in both modes: IF = 0 inside every section, in interrupt
 * handlers and in the scheduler; IF = 1 in system calls outside sections and
 * in the idle loop when it halts.
 */
#ifndef KERN_IRQ_H
#define KERN_IRQ_H

#include <stdint.h>
#include "x86.h"

enum { IRQ_CLI, IRQ_POPF };
extern int irq_mode;		/* chosen at boot, never changed after */
extern int irq_depth;		/* irq=cli: nesting of sections and handlers */

typedef uint32_t irqflags_t;

void irq_assert_failed(const char *what, const char *where, uint32_t eflags)
	__attribute__((noreturn));
void irq_unbalanced(void) __attribute__((noreturn));

/* irq=popf only: panic unless EFLAGS.IF is 0 (1).  No-ops under irq=cli. */
static inline void assert_irqs_off(const char *where)
{
	if (irq_mode == IRQ_POPF) {
		uint32_t f = read_eflags();
		if (f & FL_IF)
			irq_assert_failed("IF=0", where, f);
	}
}

static inline void assert_irqs_on(const char *where)
{
	if (irq_mode == IRQ_POPF) {
		uint32_t f = read_eflags();
		if (!(f & FL_IF))
			irq_assert_failed("IF=1", where, f);
	}
}

/* Enter a critical section.  Returns what irq_restore() needs. */
static inline irqflags_t irq_save(void)
{
	if (irq_mode == IRQ_POPF) {
		irqflags_t f;
		asm volatile("pushfl; cli; popl %0" : "=r"(f) : : "memory");
		return f;
	}
	asm volatile("cli" : : : "memory");
	irq_depth++;
	return 0;
}

/* Leave the critical section that irq_save() entered. */
static inline void irq_restore(irqflags_t f)
{
	if (irq_mode == IRQ_POPF) {
		assert_irqs_off("critical section");
		asm volatile("pushl %0; popfl" : : "r"(f) : "memory", "cc");
		return;
	}
	if (irq_depth <= 0)
		irq_unbalanced();
	if (--irq_depth == 0)
		asm volatile("sti" : : : "memory");
}

uint32_t kwork(uint32_t n, uint32_t seed);

#endif
