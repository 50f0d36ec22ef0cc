/*
 * fault.c - page faults, and how the kernel reaches user memory.
 *
 * All user memory is lazy: exec copies in the program's segments, and every
 * other page (heap, mmap regions, the stack) is only a promise recorded in a
 * VMA until the process touches it.  fork shares every page copy-on-write.
 * So most page faults are not errors at all, and resolve_fault() is where
 * promises are kept.
 */
#include "defs.h"
#include "proc.h"
#include "x86.h"
#include "irq.h"
#include "../common/abi.h"

uint32_t stat_faults, stat_cow_copies;

/*
 * Make user address va of process p usable for a read (write = 0) or a
 * write, as the page-fault handler would.  Returns 0 when the access is now
 * allowed, -EFAULT when the process has no right to it, -ENOMEM when memory
 * ran out.
 */
int resolve_fault(struct proc *p, uint32_t va, int write)
{
	struct vma *v = vma_find(p, va);
	pte_t *pte;
	uint32_t pa;
	void *copy;

	if (!v)
		return -EFAULT;			/* no region here */
	if (write && !(v->prot & PROT_WRITE))
		return -EFAULT;			/* region is read-only */
	pte = walk(p->pgdir, va, 1);
	if (!pte)
		return -ENOMEM;

	if (!(*pte & PTE_P)) {
		/* Demand-zero: first touch of a heap, mmap or stack page.
		 * No invlpg: the TLB does not keep not-present entries. */
		copy = kalloc();
		if (!copy)
			return -ENOMEM;
		*pte = (uint32_t)copy | pte_perm(v->prot);
		stat_faults++;
		return 0;
	}

	if (write && !(*pte & PTE_W)) {
		if (!(*pte & PTE_COW))
			return -EFAULT;
		/* Copy-on-write: the frame was shared by fork. */
		pa = PTE_ADDR(*pte);
		if (frame_refs(pa) == 1) {
			/* The others have copied it or gone: it is ours again. */
			*pte = (*pte & ~PTE_COW) | PTE_W;
		} else {
			copy = kalloc();
			if (!copy)
				return -ENOMEM;
			memcpy(copy, (void *)pa, PGSIZE);
			*pte = (uint32_t)copy | (PTE_FLAGS(*pte) & ~PTE_COW) | PTE_W;
			kfree((void *)pa);
			stat_cow_copies++;
		}
		if ((uint32_t)p->pgdir == rcr3())
			invlpg(va);
		stat_faults++;
	}
	return 0;
}

static const char *const pf_what[] = { "not-present", "protection" };
static const char *const pf_rw[] = { "read", "write" };
static const char *const pf_mode[] = { "kernel", "user" };

/*
 * The page-fault handler (vector 14): CR2 holds the address, the error code
 * says what happened (mmu.h: PFE_P, PFE_W, PFE_U).
 *
 * Whose fault is it?
 *
 *  1. The kernel's, if it happened in ring 0 (PFE_U = 0).  The kernel never
 *     touches user memory by its user address: copyin/copyout below find
 *     the frame and resolve the page first.  So a kernel-mode page fault is
 *     a kernel bug: panic.
 *
 *  2. Nobody's -- the kernel was lazy -- if a region of the process covers
 *     CR2 and allows the access:
 *       a. not present (PFE_P = 0): a demand-zero page of the heap, an mmap
 *          region or the stack was touched for the first time; allocate it.
 *       b. present, write (PFE_P = 1, PFE_W = 1), PTE_COW: a page shared
 *          by fork was written; copy it (or take it back if no one else
 *          maps it any more).
 *     Then return: the CPU restarts the instruction, which now succeeds.
 *
 *  3. The process's otherwise: no region covers the address (a wild
 *     pointer, a kernel address, NULL), or the region forbids the access (a
 *     write to read-only memory).  Kill it, saying why.
 */
void page_fault(struct trapframe *tf)
{
	uint32_t va = rcr2();
	uint32_t err = tf->err;
	int r;

	if (!(err & PFE_U))
		panic("page fault in the kernel: address 0x%08x, eip 0x%08x, "
		      "error 0x%x (%s, %s, %s)", va, tf->eip, err,
		      pf_what[err & 1], pf_rw[(err >> 1) & 1],
		      pf_mode[(err >> 2) & 1]);

	r = resolve_fault(curproc, va, (err & PFE_W) != 0);
	if (r == 0)
		return;
	printk("kernel: pid %d (%s) killed: %s at address 0x%08x, "
	       "eip 0x%08x, error 0x%x (%s, %s, %s)\n",
	       curproc->pid, curproc->name,
	       r == -ENOMEM ? "out of memory" : "bad memory access",
	       va, tf->eip, err, pf_what[err & 1], pf_rw[(err >> 1) & 1],
	       pf_mode[(err >> 2) & 1]);
	kill_curproc(STATUS_SEGV);
}

/*
 * The kernel address of user address va in p, made usable for the access
 * first (resolve_fault), or 0 if p may not access it.  RAM is identity-
 * mapped, so the frame's physical address is a kernel pointer: the kernel
 * never faults on user memory, and can fill a process that is not running
 * (exec builds the new stack this way).
 */
static uint8_t *uva2ka(struct proc *p, uint32_t va, int write)
{
	pte_t *pte = 0;

	if (va < USER_BASE || va >= USTACK_TOP)
		return 0;
	if (p->pgdir[PDX(va)] & PTE_P)
		pte = walk(p->pgdir, va, 0);
	if (!pte || !(*pte & PTE_P) || (write && !(*pte & PTE_W))) {
		if (resolve_fault(p, va, write) < 0)
			return 0;
		pte = walk(p->pgdir, va, 0);
	}
	return (uint8_t *)(PTE_ADDR(*pte) | (va & (PGSIZE - 1)));
}

/* Copy n bytes between user address uva of p and the kernel.  0 or -EFAULT. */
static int copy_user(struct proc *p, uint32_t uva, uint8_t *k, uint32_t n,
		     int to_user)
{
	while (n > 0) {
		uint32_t chunk = PGSIZE - (uva & (PGSIZE - 1));
		uint8_t *ka = uva2ka(p, uva, to_user);

		if (!ka)
			return -EFAULT;
		if (chunk > n)
			chunk = n;
		if (to_user)
			memcpy(ka, k, chunk);
		else
			memcpy(k, ka, chunk);
		uva += chunk;
		k += chunk;
		n -= chunk;
	}
	return 0;
}

int copyin(struct proc *p, void *dst, uint32_t uva, uint32_t n)
{
	return copy_user(p, uva, dst, n, 0);
}

int copyout(struct proc *p, uint32_t uva, const void *src, uint32_t n)
{
	return copy_user(p, uva, (uint8_t *)src, n, 1);
}

/* Copy a NUL-terminated string of at most max bytes (with the NUL).
 * Returns its length, -EFAULT, or -E2BIG if it is too long. */
int copyinstr(struct proc *p, char *dst, uint32_t uva, uint32_t max)
{
	uint32_t i;

	for (i = 0; i < max; i++) {
		uint8_t *ka = uva2ka(p, uva + i, 0);

		if (!ka)
			return -EFAULT;
		dst[i] = (char)*ka;
		if (!dst[i])
			return (int)i;
	}
	return -E2BIG;
}
