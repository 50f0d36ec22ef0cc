/*
 * selftest.c - does the kernel keep its promises?  Copy-on-write, lazy
 * memory, mprotect, killing a process for a bad access, error returns.
 * Runs the same on Linux (make linux), which is how its expectations were
 * checked.  The kernel also prints a line for every process it kills; Linux
 * does not, so only the checksum and the selftest lines are comparable.
 */
#include "wl.h"

static int failures;
static uint32_t c = CK_INIT;

static void check(const char *name, int ok, int value)
{
	printf("selftest: %-14s %s\n", name, ok ? "ok" : "FAILED");
	failures += !ok;
	c = ck_add(c, (uint32_t)value);
}

/* Run fn in a child; return its exit status. */
static int in_child(void (*fn)(void))
{
	int st = -1, pid = fork();

	if (pid == 0) {
		fn();
		exit(0);
	}
	if (pid < 0 || wait(&st) != pid)
		return -1;
	return st;
}

static volatile int global = 1;
static volatile int zero;
static volatile uint32_t *target;

static void touch_null(void) { global = *(volatile int *)0; }
static void touch_kernel(void) { global = *(volatile int *)0x100000; }
static void write_target(void) { *target = 5; }
static void read_target(void) { global = (int)*target; }
static void divide(void) { global = 100 / zero; }
static void privileged(void) { asm volatile("cli"); }

static unsigned deep(unsigned n)
{
	volatile uint8_t buf[1024];
	unsigned i;

	for (i = 0; i < sizeof(buf); i += 256)
		buf[i] = (uint8_t)(n + i);
	if (n == 0)
		return buf[0];
	return deep(n - 1) + buf[256];
}

int main(int argc, char **argv)
{
	int st, i, pid, sum;
	uint8_t *p, *q;
	uint32_t *m;
	char msg[] = "selftest: write ok\n";

	if (wl_check_args("selftest", argc, argv) < 0)
		return 3;

	/* fork: the child's writes stay in the child. */
	pid = fork();
	if (pid == 0) {
		global = 2;
		exit(global + 40);
	}
	st = -1;
	check("cow", wait(&st) == pid && st == 42 && global == 1, st);

	/* sbrk: grow, use, shrink. */
	p = sbrk(0);
	q = sbrk(3 * 4096 + 100);
	for (i = 0; i < 3 * 4096 + 100; i++)
		q[i] = (uint8_t)i;
	sum = 0;
	for (i = 0; i < 3 * 4096 + 100; i++)
		sum += q[i] - (i & 0xFF);
	sbrk(-(3 * 4096 + 100));
	check("sbrk", p == q && sbrk(0) == p && sum == 0, sum);

	/* heap pages after fork are copy-on-write too. */
	q = sbrk(4096);
	q[0] = 7;
	pid = fork();
	if (pid == 0) {
		q[0] = 8;
		exit(q[0]);
	}
	st = -1;
	check("cow-heap", wait(&st) == pid && st == 8 && q[0] == 7, st);
	sbrk(-4096);

	/* mmap: zero-filled, lazily; munmap of one page in the middle. */
	m = mmap(5 * 4096, PROT_READ | PROT_WRITE);
	sum = 0;
	for (i = 0; i < 5 * 1024; i++)
		sum += (int)m[i];
	for (i = 0; i < 5; i++)
		m[i * 1024] = (uint32_t)i + 100;
	check("mmap-zero", m != MAP_FAILED && sum == 0, sum);
	check("munmap", munmap(m + 2 * 1024, 4096) == 0, 0);
	target = m + 2 * 1024;
	st = in_child(read_target);
	check("munmap-kill", st == STATUS_SEGV && m[4 * 1024] == 104, st);

	/* mprotect: read-only pages kill a writer, are readable, and are
	 * writable again afterwards. */
	target = m;
	check("mprotect-ro", mprotect(m, 4096, PROT_READ) == 0, 0);
	st = in_child(write_target);
	check("mprotect-kill", st == STATUS_SEGV && m[0] == 100, st);
	check("mprotect-rw", mprotect(m, 4096, PROT_READ | PROT_WRITE) == 0, 0);
	m[0] = 9;
	check("mprotect-write", m[0] == 9, (int)m[0]);

	/* COW survives mprotect in the child. */
	pid = fork();
	if (pid == 0) {
		mprotect(m, 4096, PROT_READ);
		mprotect(m, 4096, PROT_READ | PROT_WRITE);
		m[0] = 11;
		exit((int)m[0]);
	}
	st = -1;
	check("cow-mprotect", wait(&st) == pid && st == 11 && m[0] == 9, st);
	munmap(m, 2 * 4096);
	munmap(m + 3 * 1024, 2 * 4096);

	/* Bad accesses and exceptions kill the child only. */
	check("null", in_child(touch_null) == STATUS_SEGV, STATUS_SEGV);
	check("kernel-memory", in_child(touch_kernel) == STATUS_SEGV, STATUS_SEGV);
	check("divide-error", in_child(divide) == STATUS_FPE, STATUS_FPE);
	check("privileged", in_child(privileged) == STATUS_SEGV, STATUS_SEGV);

	/* The stack grows on demand: 200 frames of over 1 KiB. */
	sum = (int)deep(200);
	check("stack", sum == 200 * 201 / 2, sum);

	/* Many children, reaped in any order. */
	for (i = 0; i < 10; i++)
		if (fork() == 0)
			exit(i * 3);
	sum = 0;
	for (i = 0; i < 10; i++) {
		st = 0;
		if (wait(&st) > 0)
			sum += st;
	}
	check("wait-many", sum == 135, sum);

	/* Error returns. */
	check("wait-none", wait(&st) == -ECHILD, ECHILD);
	check("write-efault", write(1, (void *)0, 5) == -EFAULT, EFAULT);
	check("write-ebadf", write(99, msg, 1) == -EBADF, EBADF);
	check("write", write(1, msg, sizeof(msg) - 1) == sizeof(msg) - 1, 0);
	check("exec-enoent", exec("/no/such/program", (char *[]){ "x", 0 }) == -ENOENT, ENOENT);
	check("mprotect-align", mprotect((void *)0x40000001, 4096, PROT_READ) == -EINVAL, EINVAL);
	check("sleep", sleep(2) == 0, 0);

	printf("selftest: %d failures\n", failures);
	printf("checksum selftest 0x%08x\n", c);
	return failures ? 1 : 0;
}
