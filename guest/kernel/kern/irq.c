/*
 * irq.c - the interrupt discipline's state, and kwork().
 */
#include "defs.h"
#include "irq.h"
#include "../common/abi.h"

int irq_mode = IRQ_CLI;

/* Boot runs with interrupts off, as one critical section that the idle loop
 * leaves (main.c), so sections during boot never execute sti. */
int irq_depth = 1;

void irq_assert_failed(const char *what, const char *where, uint32_t eflags)
{
	panic("assertion %s failed in %s (EFLAGS = 0x%08x)", what, where,
	      eflags);
}

/* irq=cli: an irq_restore() without its irq_save(). */
void irq_unbalanced(void)
{
	panic("irq_restore: not in a critical section (irq_depth = %d)",
	      irq_depth);
}

/* Data "shared with interrupt handlers" that kwork() updates. */
static volatile uint32_t kwork_shared;

/*
 * kwork(n, seed): n iterations, each entering a critical section, entering
 * a nested one inside it, and leaving both -- a kernel path that, like a
 * busy driver or the scheduler, masks interrupts over and over.  Per
 * iteration: irq=cli executes cli, cli, sti; irq=popf executes pushf/cli
 * twice and popf twice (plus the IF=0 assertions, which read EFLAGS).
 * The result depends only on n and seed (common/abi.h), so the Linux build
 * of the popf workload computes it in user space.
 */
uint32_t kwork(uint32_t n, uint32_t seed)
{
	uint32_t x = seed, i;

	for (i = 0; i < n; i++) {
		irqflags_t outer = irq_save();
		irqflags_t inner;

		x = kwork_outer(x, i);
		inner = irq_save();
		x = kwork_inner(x);
		kwork_shared += x;
		irq_restore(inner);
		irq_restore(outer);
	}
	return x;
}
