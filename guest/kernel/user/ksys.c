/*
 * ksys.c - the system calls of the teaching kernel that need a C wrapper
 * to give them the usual error convention.
 */
#include "ulib.h"

int sys_sbrk(int increment);
int sys_mmap(unsigned length, int prot);

void *sbrk(int increment)
{
	int r = sys_sbrk(increment);

	return r < 0 ? (void *)-1 : (void *)r;
}

/* mmap addresses are above 0x80000000, negative as an int: errors are the
 * values -4095..-1, as on Linux. */
void *mmap(unsigned length, int prot)
{
	unsigned r = (unsigned)sys_mmap(length, prot);

	return r >= (unsigned)-4095 ? MAP_FAILED : (void *)r;
}
