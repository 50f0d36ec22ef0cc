/*
 * faults.c - a program that ends the way argv[1] asks, so tests can check that
 * shadowvisor reports each fault as the signal Linux would deliver:
 *   segv     read through a null pointer            -> SIGSEGV (139)
 *   wsegv    write to the read-only text segment    -> SIGSEGV (139)
 *   div      integer divide by zero                 -> SIGFPE  (136)
 *   ud2      an undefined instruction               -> SIGILL  (132)
 *   x87      an unmasked x87 exception (1 / 0)       -> SIGFPE  (136), at the next FWAIT
 *   int3     a breakpoint                           -> SIGTRAP (133)
 *   abort    abort()                                -> SIGABRT (134)
 *   rdmsr    RDMSR at ring 3 (#GP: privileged)      -> SIGSEGV (139)
 *   wrmsr    WRMSR at ring 3                        -> SIGSEGV (139)
 *   spin     loop forever                           (a runaway program)
 *   stack N  recurse N levels, touching stack pages, then exit 0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int recurse(int n)
{
	volatile char pad[1000];
	pad[0] = (char)n;
	pad[999] = (char)n;
	if (n == 0)
		return pad[0];
	return recurse(n - 1) + pad[999];
}

int main(int argc, char **argv)
{
	volatile int zero = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: faults segv|wsegv|div|ud2|x87|int3|rdmsr|wrmsr|abort|spin|stack N\n");
		return 2;
	}
	printf("faults: %s\n", argv[1]);
	fflush(stdout);
	const char *what = argv[1];
	if (!strcmp(what, "segv"))
		return *(volatile int *)zero;
	if (!strcmp(what, "wsegv")) {
		*(volatile char *)(void *)main = 0;
		return 0;
	}
	if (!strcmp(what, "div"))
		return 100 / zero;
	if (!strcmp(what, "ud2"))
		__asm__ volatile("ud2");
	if (!strcmp(what, "x87")) {
		/* Zero-divide unmasked (control word 0x37b), 1 / 0, then FWAIT: #MF. */
		static const unsigned short cw = 0x37b;
		static const int zero_int = 0;
		__asm__ volatile("fldcw %0; fld1; fidivl %1; fwait" : : "m"(cw), "m"(zero_int));
	}
	if (!strcmp(what, "int3"))
		__asm__ volatile("int3");
	if (!strcmp(what, "rdmsr"))
		__asm__ volatile("rdmsr" : : "c"(0x10) : "eax", "edx");
	if (!strcmp(what, "wrmsr"))
		__asm__ volatile("wrmsr" : : "c"(0x10), "a"(0), "d"(0));
	if (!strcmp(what, "abort"))
		abort();
	if (!strcmp(what, "spin"))
		for (;;)
			__asm__ volatile("");
	if (!strcmp(what, "stack") && argc > 2) {
		int n = atoi(argv[2]);
		printf("stack: depth %d sum %d\n", n, recurse(n));
		return 0;
	}
	fprintf(stderr, "faults: unknown request %s\n", what);
	return 2;
}
