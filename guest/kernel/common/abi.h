/*
 * abi.h - the system call interface between the kernel and user programs.
 *
 * Shared by the kernel (kern/syscall.c) and the user library (user/usys.S,
 * user/ulib.h).  A system call is `int $0x80` with the number in EAX and the
 * arguments in EBX, ECX, EDX, ESI, EDI; the result comes back in EAX, a
 * negative errno on failure.  All other registers are preserved.
 */
#ifndef COMMON_ABI_H
#define COMMON_ABI_H

#define T_SYSCALL	0x80	/* the interrupt vector */

/* System call numbers. */
#define SYS_exit	1	/* exit(status)                    no return    */
#define SYS_fork	2	/* fork()                          child pid / 0 */
#define SYS_wait	3	/* wait(int *status)               child pid    */
#define SYS_write	4	/* write(fd, buf, len)             bytes        */
#define SYS_getpid	5	/* getpid()                        pid          */
#define SYS_exec	6	/* exec(name, argv)                no return    */
#define SYS_sbrk	7	/* sbrk(increment)                 old break    */
#define SYS_mmap	8	/* mmap(length, prot)              address      */
#define SYS_munmap	9	/* munmap(addr, length)            0            */
#define SYS_mprotect	10	/* mprotect(addr, length, prot)    0            */
#define SYS_yield	11	/* yield()                         0            */
#define SYS_uptime	12	/* uptime(what)                    see below    */
#define SYS_kwork	13	/* kwork(n, seed)                  result       */
#define SYS_sleep	14	/* sleep(ticks)                    0            */
#define NSYSCALL	15

/* uptime(what): */
#define UPTIME_TICKS	0	/* timer ticks since boot */
#define UPTIME_HZ	1	/* timer ticks per second (the hz= option) */

/* Protection bits for mmap and mprotect (the same values as Linux). */
#define PROT_READ	1
#define PROT_WRITE	2
#define PROT_EXEC	4	/* accepted; i686 paging cannot forbid execution */

/* Error numbers (the same values as Linux). */
#define ENOENT		2
#define E2BIG		7
#define ENOEXEC		8
#define EBADF		9
#define ECHILD		10
#define EAGAIN		11
#define ENOMEM		12
#define EFAULT		14
#define EINVAL		22
#define ENOSYS		38

/* Exit status of a process the kernel killed for a bad memory access,
 * as a Linux shell reports SIGSEGV (128 + 11). */
#define STATUS_SEGV	139
#define STATUS_FPE	136	/* divide error (128 + SIGFPE) */
#define STATUS_ILL	132	/* invalid opcode, privileged instruction... */

/*
 * kwork(n, seed): the kernel runs n iterations, each entering and leaving
 * two nested critical sections, and returns a value computed only from n and
 * seed (so user space can check it): kwork_outer and kwork_inner are the
 * two steps of one iteration.
 */
#define KWORK_MAX	(1u << 20)
#ifndef __ASSEMBLER__
static inline unsigned kwork_outer(unsigned x, unsigned i)
{
	return x * 1664525u + 1013904223u + i;
}
static inline unsigned kwork_inner(unsigned x)
{
	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	return x ^ (x >> 12);
}
#endif

#endif
