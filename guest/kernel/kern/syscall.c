/*
 * syscall.c - the system calls.
 *
 *   int $0x80:  EAX = number, EBX, ECX, EDX, ESI, EDI = arguments,
 *               result in EAX (a negative errno on failure).
 *
 * The numbers are in common/abi.h; README.md has the table.  System calls
 * run with interrupts enabled (the IDT entry is a trap gate).  Pointers from
 * user space are only used through copyin/copyout/copyinstr (fault.c).
 */
#include "defs.h"
#include "proc.h"
#include "x86.h"
#include "irq.h"
#include "../common/abi.h"

uint32_t stat_syscalls;

static int sys_exit(struct trapframe *tf)
{
	exit((int)(tf->ebx & 0xFF));
}

static int sys_fork(struct trapframe *tf)
{
	(void)tf;
	return fork();
}

static int sys_wait(struct trapframe *tf)
{
	return wait(tf->ebx);
}

/* write(fd, buf, len): fd 1 and 2 both go to the serial console. */
static int sys_write(struct trapframe *tf)
{
	uint32_t buf = tf->ecx, len = tf->edx, done = 0;
	char chunk[128];

	if (tf->ebx != 1 && tf->ebx != 2)
		return -EBADF;
	if ((int32_t)len < 0)
		return -EINVAL;
	while (done < len) {
		uint32_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);

		if (copyin(curproc, chunk, buf + done, n) < 0)
			return done ? (int)done : -EFAULT;
		console_write(chunk, n);
		done += n;
	}
	return (int)len;
}

static int sys_getpid(struct trapframe *tf)
{
	(void)tf;
	return curproc->pid;
}

/* exec(name, argv): argv is a NULL-terminated array of strings. */
static int sys_exec(struct trapframe *tf)
{
	char name[PROGNAME], strings[MAXARGLEN];
	char *argv[MAXARGS];
	uint32_t used = 0;
	int argc, r;

	r = copyinstr(curproc, name, tf->ebx, sizeof(name));
	if (r < 0)
		return r == -E2BIG ? -ENOENT : r;
	for (argc = 0;; argc++) {
		uint32_t uarg;

		if (copyin(curproc, &uarg, tf->ecx + 4 * argc, 4) < 0)
			return -EFAULT;
		if (!uarg)
			break;
		if (argc == MAXARGS)
			return -E2BIG;
		r = copyinstr(curproc, strings + used, uarg, MAXARGLEN - used);
		if (r < 0)
			return r;
		argv[argc] = strings + used;
		used += (uint32_t)r + 1;
	}
	return exec(curproc, name, argv, argc);	/* 0: returns to the new program */
}

static int sys_sbrk(struct trapframe *tf)
{
	uint32_t old;
	int r = vm_sbrk(curproc, (int32_t)tf->ebx, &old);

	return r < 0 ? r : (int)old;
}

/* The range [addr, addr + len) rounded out to pages, checked. */
static int user_range(uint32_t addr, uint32_t len, uint32_t *start,
		      uint32_t *end)
{
	if (addr % PGSIZE || len == 0 || len > USTACK_TOP)
		return -EINVAL;
	*start = addr;
	*end = addr + PGROUNDUP(len);
	if (*start < USER_BASE || *end > USTACK_TOP || *end < *start)
		return -EINVAL;
	return 0;
}

static int check_prot(uint32_t prot)
{
	if (prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (!(prot & (PROT_READ | PROT_WRITE)))
		return -EINVAL;		/* PROT_NONE is not supported */
	return (int)(prot & PROT_WRITE ? PROT_READ | PROT_WRITE : PROT_READ);
}

/* mmap(length, prot): anonymous memory, zero-filled on first touch. */
static int sys_mmap(struct trapframe *tf)
{
	uint32_t len = PGROUNDUP(tf->ebx), a;
	int prot = check_prot(tf->ecx);

	if (prot < 0)
		return prot;
	if (tf->ebx == 0 || len == 0 || len > MMAP_TOP - MMAP_BASE)
		return -EINVAL;
	a = vma_gap(curproc, len, MMAP_BASE, MMAP_TOP);
	if (!a || vma_add(curproc, a, a + len, prot, VMA_MMAP) < 0)
		return -ENOMEM;
	return (int)a;
}

static int sys_munmap(struct trapframe *tf)
{
	uint32_t start, end;
	int r = user_range(tf->ebx, tf->ecx, &start, &end);

	if (r < 0)
		return r;
	if (!vma_range_is(curproc, start, end, VMA_MMAP))
		return -EINVAL;
	return vma_remove(curproc, start, end);
}

static int sys_mprotect(struct trapframe *tf)
{
	uint32_t start, end;
	int prot = check_prot(tf->edx);
	int r = user_range(tf->ebx, tf->ecx, &start, &end);

	if (r < 0)
		return r;
	if (prot < 0)
		return prot;
	if (!vma_range_is(curproc, start, end, VMA_MMAP))
		return -EINVAL;
	return vma_protect(curproc, start, end, prot);
}

static int sys_yield(struct trapframe *tf)
{
	(void)tf;
	yield();
	return 0;
}

static int sys_uptime(struct trapframe *tf)
{
	switch (tf->ebx) {
	case UPTIME_TICKS:
		return (int)ticks;
	case UPTIME_HZ:
		return (int)bootopts.hz;
	default:
		return -EINVAL;
	}
}

static int sys_kwork(struct trapframe *tf)
{
	if (tf->ebx > KWORK_MAX)
		return -EINVAL;
	return (int)kwork(tf->ebx, tf->ecx);
}

static int sys_sleep(struct trapframe *tf)
{
	return sleep(tf->ebx);
}

static int (*const syscalls[NSYSCALL])(struct trapframe *) = {
	[SYS_exit] = sys_exit,
	[SYS_fork] = sys_fork,
	[SYS_wait] = sys_wait,
	[SYS_write] = sys_write,
	[SYS_getpid] = sys_getpid,
	[SYS_exec] = sys_exec,
	[SYS_sbrk] = sys_sbrk,
	[SYS_mmap] = sys_mmap,
	[SYS_munmap] = sys_munmap,
	[SYS_mprotect] = sys_mprotect,
	[SYS_yield] = sys_yield,
	[SYS_uptime] = sys_uptime,
	[SYS_kwork] = sys_kwork,
	[SYS_sleep] = sys_sleep,
};

void syscall(struct trapframe *tf)
{
	uint32_t n = tf->eax;
	int r;

	stat_syscalls++;
	if (n < NSYSCALL && syscalls[n])
		r = syscalls[n](tf);
	else
		r = -ENOSYS;
	/* exec replaced the trap frame: its EAX starts at 0. */
	if (!(n == SYS_exec && r == 0))
		tf->eax = (uint32_t)r;
}
