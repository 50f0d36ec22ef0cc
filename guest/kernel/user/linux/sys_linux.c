/*
 * sys_linux.c - the user library's system calls on Linux (i386, int $0x80),
 * so that the workloads also build as ordinary static Linux programs
 * (`make linux`) and print the checksums the teaching kernel must match.
 *
 * Differences that cannot affect a checksum: uptime() counts 10 ms ticks of
 * CLOCK_MONOTONIC (UPTIME_HZ = 100), kwork() computes its result in user
 * space, exec() is execve() with an empty environment, and fd 1 and 2 are
 * whatever the shell gave us.
 */
#include "../ulib.h"

#define NR_exit_group		252
#define NR_fork			2
#define NR_waitpid		7
#define NR_write		4
#define NR_getpid		20
#define NR_execve		11
#define NR_brk			45
#define NR_old_mmap		90
#define NR_munmap		91
#define NR_mprotect		125
#define NR_sched_yield		158
#define NR_nanosleep		162
#define NR_clock_gettime	265

#define CLOCK_MONOTONIC		1
#define MAP_PRIVATE		0x02
#define MAP_ANONYMOUS		0x20

static inline int sc(int n, int a, int b, int c)
{
	int r;

	asm volatile("int $0x80"
		     : "=a"(r)
		     : "a"(n), "b"(a), "c"(b), "d"(c)
		     : "memory");
	return r;
}

void exit(int status)
{
	for (;;)
		sc(NR_exit_group, status, 0, 0);
}

int fork(void)
{
	return sc(NR_fork, 0, 0, 0);
}

/* The exit value, or 128 + the signal that killed the child (as the
 * teaching kernel reports a process it killed: 139 = SIGSEGV). */
int wait(int *status)
{
	int st = 0, r = sc(NR_waitpid, -1, (int)&st, 0);

	if (r >= 0 && status)
		*status = (st & 0x7F) == 0 ? (st >> 8) & 0xFF : 128 + (st & 0x7F);
	return r;
}

int write(int fd, const void *buf, unsigned len)
{
	return sc(NR_write, fd, (int)buf, (int)len);
}

int getpid(void)
{
	return sc(NR_getpid, 0, 0, 0);
}

int exec(const char *name, char *const argv[])
{
	static char *const envp[] = { 0 };

	return sc(NR_execve, (int)name, (int)argv, (int)envp);
}

void *sbrk(int increment)
{
	static unsigned cur;
	unsigned old;

	if (!cur)
		cur = (unsigned)sc(NR_brk, 0, 0, 0);
	old = cur;
	if (increment) {
		unsigned want = cur + (unsigned)increment;

		if ((unsigned)sc(NR_brk, (int)want, 0, 0) != want)
			return (void *)-1;
		cur = want;
	}
	return (void *)old;
}

void *mmap(unsigned length, int prot)
{
	unsigned args[6] = { 0, length, (unsigned)prot,
			     MAP_PRIVATE | MAP_ANONYMOUS, (unsigned)-1, 0 };
	unsigned r = (unsigned)sc(NR_old_mmap, (int)args, 0, 0);

	return r >= (unsigned)-4095 ? MAP_FAILED : (void *)r;
}

int munmap(void *addr, unsigned length)
{
	return sc(NR_munmap, (int)addr, (int)length, 0);
}

int mprotect(void *addr, unsigned length, int prot)
{
	return sc(NR_mprotect, (int)addr, (int)length, prot);
}

int yield(void)
{
	return sc(NR_sched_yield, 0, 0, 0);
}

unsigned uptime(int what)
{
	struct { int32_t sec, nsec; } ts;

	if (what == UPTIME_HZ)
		return 100;
	sc(NR_clock_gettime, CLOCK_MONOTONIC, (int)&ts, 0);
	return (unsigned)ts.sec * 100u + (unsigned)ts.nsec / 10000000u;
}

/* The kernel's kwork() (kern/irq.c) without the critical sections. */
unsigned kwork(unsigned n, unsigned seed)
{
	unsigned x = seed, i;

	if (n > KWORK_MAX)
		return (unsigned)-EINVAL;
	for (i = 0; i < n; i++)
		x = kwork_inner(kwork_outer(x, i));
	return x;
}

int sleep(unsigned ticks)
{
	struct { int32_t sec, nsec; } ts = { (int32_t)(ticks / 100),
					     (int32_t)(ticks % 100) * 10000000 };

	if (!ticks)
		return yield();
	return sc(NR_nanosleep, (int)&ts, 0, 0);
}
