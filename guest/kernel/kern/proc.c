/*
 * proc.c - processes and the scheduler.
 *
 * The process table has NPROC slots.  Slot 0 is the idle process: the boot
 * code, once set up, becomes it; it never enters user mode, and runs only
 * when nothing else is runnable.  Slot 1 will hold init, the first user
 * process.
 *
 * Scheduling is round-robin over the slots, preemptive: every timer tick
 * sets need_resched, and a process gives up the CPU when it next leaves the
 * kernel for ring 3 (trap.c).  The kernel itself is not preemptible; a
 * process leaves the CPU inside the kernel only by calling schedule()
 * (yield, wait, sleep, exit).
 *
 * A context switch (schedule) goes straight from one process to the next:
 * set TSS.esp0 to the next kernel stack, load the next page directory into
 * CR3 -- every switch writes CR3 -- and swtch() stacks.
 */
#include "defs.h"
#include "proc.h"
#include "x86.h"
#include "irq.h"
#include "../common/abi.h"

struct proc proc[NPROC];
struct proc *curproc;
static struct proc *const idleproc = &proc[0];
static struct proc *initproc;
volatile int need_resched;
uint32_t stat_switches;

static uint8_t kstacks[NPROC][KSTACKSIZE] __attribute__((aligned(16)));
extern uint8_t boot_stack[];	/* boot.S */
static int nextpid = 1;

void finish(int status) NORETURN;	/* main.c */

/* The boot code becomes the idle process (slot 0, pid 0). */
void proc_init(void)
{
	idleproc->state = RUNNING;
	idleproc->pid = 0;
	strlcpy(idleproc->name, "idle", sizeof(idleproc->name));
	idleproc->pgdir = kpgdir;
	idleproc->kstack = boot_stack;
	curproc = idleproc;
}

/* A new process starts here on its first switch-in, then returns to trapret. */
static void forkret(void)
{
	/* We arrived in the middle of schedule()'s critical section.  trapret's
	 * iret loads EFLAGS from the trap frame (IF = 1), which ends it. */
	assert_irqs_off("forkret");
	irq_depth = 0;
}

/*
 * Find a free slot and set up its kernel stack so that the first swtch()
 * into it runs forkret() and then trapret with the trap frame p->tf:
 *
 *   kstack + KSTACKSIZE -> +-----------------+
 *                          | struct trapframe|  p->tf
 *                          +-----------------+
 *                          | &trapret        |  forkret() returns here
 *                          +-----------------+
 *                          | struct context  |  p->ctx; eip = forkret
 *                          +-----------------+
 */
static struct proc *allocproc(void)
{
	struct proc *p = 0;
	irqflags_t f = irq_save();
	uint8_t *sp;
	int i;

	for (i = 1; i < NPROC; i++) {
		if (proc[i].state == UNUSED) {
			p = &proc[i];
			p->state = EMBRYO;
			p->pid = nextpid++;
			break;
		}
	}
	irq_restore(f);
	if (!p)
		return 0;

	p->kstack = kstacks[p - proc];
	p->parent = 0;
	p->pgdir = 0;
	p->irq_depth = 0;
	p->exit_status = 0;
	p->heap_start = p->brk = 0;
	memset(p->vma, 0, sizeof(p->vma));

	sp = p->kstack + KSTACKSIZE;
	sp -= sizeof(*p->tf);
	p->tf = (struct trapframe *)sp;
	memset(p->tf, 0, sizeof(*p->tf));
	sp -= 4;
	*(uint32_t *)sp = (uint32_t)trapret;
	sp -= sizeof(*p->ctx);
	p->ctx = (struct context *)sp;
	memset(p->ctx, 0, sizeof(*p->ctx));
	p->ctx->eip = (uint32_t)forkret;
	return p;
}

static void freeproc(struct proc *p)
{
	p->pid = 0;
	p->parent = 0;
	p->name[0] = '\0';
	p->state = UNUSED;
}

/* The first user process: exec init with the workload and its arguments. */
void user_init(void)
{
	char *argv[MAXARGS];
	int argc = 0, i, r;
	struct proc *p = allocproc();

	if (!p)
		panic("user_init: no process slot");
	p->pgdir = kpgdir;	/* exec replaces it */
	argv[argc++] = "init";
	argv[argc++] = (char *)bootopts.workload;
	for (i = 0; i < bootopts.nargs && argc < MAXARGS; i++)
		argv[argc++] = bootopts.args[i];
	r = exec(p, "init", argv, argc);
	if (r < 0)
		panic("user_init: exec init failed (%d)", r);
	initproc = p;
	p->state = RUNNABLE;
}

/*
 * Switch to the next runnable process, or to idle if there is none.
 * Call inside a critical section, with curproc->state already set to what
 * it should be while it is off the CPU (RUNNABLE, WAITING, SLEEPING or
 * ZOMBIE).  Returns when curproc is switched back in (never for a zombie).
 */
void schedule(void)
{
	struct proc *prev = curproc, *next = idleproc;
	int i, start = (int)(prev - proc);

	assert_irqs_off("schedule");
	if (irq_mode == IRQ_CLI && irq_depth < 1)
		panic("schedule: called outside a critical section");
	need_resched = 0;
	for (i = 1; i <= NPROC; i++) {
		struct proc *p = &proc[(start + i) % NPROC];

		if (p != idleproc && p->state == RUNNABLE) {
			next = p;
			break;
		}
	}
	if (next == prev) {
		prev->state = RUNNING;
		return;
	}
	if (prev == idleproc)
		prev->state = RUNNABLE;
	next->state = RUNNING;
	curproc = next;
	tss_set_esp0((uint32_t)next->kstack + KSTACKSIZE);
	lcr3((uint32_t)next->pgdir);
	stat_switches++;

	prev->irq_depth = irq_depth;
	swtch(&prev->ctx, next->ctx);
	/* Back on prev's stack: curproc == prev again. */
	irq_depth = curproc->irq_depth;
}

/* Give up the CPU, staying runnable. */
void yield(void)
{
	irqflags_t f = irq_save();

	curproc->state = RUNNABLE;
	schedule();
	irq_restore(f);
}

/*
 * The idle process: run whatever is runnable; when nothing is, halt until
 * the next interrupt.  (An interrupt between irq_restore and hlt that wakes
 * a sleeper is only noticed at the interrupt after that: at most one tick.)
 */
void idle_loop(void)
{
	for (;;) {
		irqflags_t f = irq_save();

		schedule();
		irq_restore(f);
		assert_irqs_on("idle loop, before hlt");
		hlt();
	}
}

/* Called from the timer interrupt (IF = 0). */
void timer_tick(void)
{
	int i;

	for (i = 1; i < NPROC; i++)
		if (proc[i].state == SLEEPING &&
		    (int32_t)(ticks - proc[i].wake_tick) >= 0)
			proc[i].state = RUNNABLE;
	need_resched = 1;
}

/* Copy the current process: the child returns 0, the parent its pid. */
int fork(void)
{
	struct proc *p = curproc, *np = allocproc();
	irqflags_t f;

	if (!np)
		return -EAGAIN;
	np->pgdir = pgdir_new();
	if (!np->pgdir) {
		freeproc(np);
		return -ENOMEM;
	}
	if (uvm_fork(p->pgdir, np->pgdir) < 0) {
		pgdir_free(np->pgdir);
		freeproc(np);
		lcr3((uint32_t)p->pgdir);
		return -ENOMEM;
	}
	/* The parent's writable pages just became read-only (COW): drop its
	 * stale TLB entries. */
	lcr3((uint32_t)p->pgdir);

	memcpy(np->vma, p->vma, sizeof(p->vma));
	np->heap_start = p->heap_start;
	np->brk = p->brk;
	strlcpy(np->name, p->name, sizeof(np->name));
	*np->tf = *p->tf;
	np->tf->eax = 0;		/* fork() returns 0 in the child */
	np->parent = p;

	f = irq_save();
	np->state = RUNNABLE;
	irq_restore(f);
	return np->pid;
}

/* End the current process.  Its parent collects the status with wait(). */
void exit(int status)
{
	struct proc *p = curproc;
	irqflags_t f;
	int i;

	if (p == idleproc)
		panic("the idle process exited");

	/* Give back all user memory now; only the slot stays, as a zombie. */
	lcr3((uint32_t)kpgdir);
	pgdir_free(p->pgdir);
	p->pgdir = kpgdir;

	if (p == initproc)
		finish(status);

	f = irq_save();
	/* Orphans are adopted by init. */
	for (i = 1; i < NPROC; i++) {
		if (proc[i].parent == p) {
			proc[i].parent = initproc;
			if (proc[i].state == ZOMBIE && initproc->state == WAITING)
				initproc->state = RUNNABLE;
		}
	}
	p->exit_status = status;
	p->state = ZOMBIE;
	if (p->parent->state == WAITING)
		p->parent->state = RUNNABLE;
	schedule();
	(void)f;	/* never restored: a zombie does not run again */
	panic("a zombie ran");
}

/* The kernel kills the current process (a bad access, an exception). */
void kill_curproc(int status)
{
	exit(status);
}

/*
 * Wait for a child to exit; store its status at user address status_uva
 * (unless 0) and return its pid.  -ECHILD if there are no children.
 */
int wait(uint32_t status_uva)
{
	struct proc *p = curproc;

	for (;;) {
		irqflags_t f = irq_save();
		int i, havekids = 0;

		for (i = 1; i < NPROC; i++) {
			struct proc *q = &proc[i];
			int pid, status;

			if (q->parent != p || q->state == UNUSED)
				continue;
			havekids = 1;
			if (q->state != ZOMBIE)
				continue;
			pid = q->pid;
			status = q->exit_status;
			freeproc(q);
			irq_restore(f);
			if (status_uva &&
			    copyout(p, status_uva, &status, sizeof(status)) < 0)
				return -EFAULT;
			return pid;
		}
		if (!havekids) {
			irq_restore(f);
			return -ECHILD;
		}
		p->state = WAITING;
		schedule();
		irq_restore(f);
	}
}

/* Sleep for n timer ticks (0: just yield). */
int sleep(uint32_t n)
{
	irqflags_t f = irq_save();

	if (n) {
		curproc->wake_tick = ticks + n;
		curproc->state = SLEEPING;
	} else {
		curproc->state = RUNNABLE;
	}
	schedule();
	irq_restore(f);
	return 0;
}
