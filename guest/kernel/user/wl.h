/*
 * wl.h - what the workload programs share.
 *
 * Each workload is a function run_NAME(knobs..., &checksum) that prints its
 * results, ending with the line `checksum NAME 0x%08x`, and returns 0 when
 * its own checks passed.  The checksum depends only on the computation:
 * never on pids, addresses, timing or the order processes ran in.
 * wlmain.c makes a program of one workload; mix.c runs them all.
 */
#ifndef USER_WL_H
#define USER_WL_H

#include "ulib.h"

/* Fold a 32-bit value into a checksum: FNV-1a over its four bytes. */
#define CK_INIT 0x811C9DC5u
static inline uint32_t ck_add(uint32_t ck, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++) {
		ck ^= v & 0xFF;
		ck *= 16777619u;
		v >>= 8;
	}
	return ck;
}

/* A small deterministic generator (xorshift32). */
static inline uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* wlargs.c: key=value arguments, checked against common/workloads.h. */
int wl_check_args(const char *workload, int argc, char **argv);
unsigned wl_knob(const char *workload, const char *key, int argc, char **argv);

/* The workloads. */
int run_cpu(unsigned n, uint32_t *ck);
int run_forkwait(unsigned n, uint32_t *ck);
int run_syscall(unsigned n, uint32_t *ck);
int run_pagefault(unsigned n, unsigned rounds, uint32_t *ck);
int run_ctxsw(unsigned n, unsigned procs, uint32_t *ck);
int run_ptemod(unsigned n, unsigned pages, uint32_t *ck);
int run_popf(unsigned n, unsigned work, uint32_t *ck);

#endif
