/*
 * demo.c - shadowvisor's headline demo: a freestanding i386 Linux program.
 *
 * No libc at all (see lib/sys.h, lib/start.S): it talks to the "kernel"
 * only through int $0x80 (write, brk, exit_group).  It runs a sieve of
 * Eratosthenes up to 200000 in zero-filled .bss, stores the primes in
 * memory obtained with brk, cross-checks the sieve by trial division
 * (exercising div), and prints statistics, a histogram and a checksum.
 *
 * Deterministic, integer-only, a few million instructions; exits with 0
 * (or 1 if a self-check fails).
 */
#include "lib/sys.h"

#define LIMIT 200000u	/* sieve covers [0, LIMIT) */
#define BUCKET 20000u	/* histogram bucket width */
#define NBUCKETS (LIMIT / BUCKET)
#define BAR_MAX 40	/* widest histogram bar */
#define CHECK_LIMIT 20000u /* trial-division cross-check covers [0, CHECK_LIMIT) */

static u8 composite[LIMIT]; /* .bss: must arrive zero-filled */

static u32 sieve(void)
{
	u32 count = 0;
	composite[0] = composite[1] = 1;
	for (u32 i = 2; i * i < LIMIT; i++) {
		if (composite[i])
			continue;
		for (u32 j = i * i; j < LIMIT; j += i)
			composite[j] = 1;
	}
	for (u32 i = 2; i < LIMIT; i++)
		count += composite[i] == 0;
	return count;
}

static int is_prime_by_division(u32 n)
{
	if (n < 2)
		return 0;
	if (n % 2 == 0)
		return n == 2;
	for (u32 d = 3; d <= n / d; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

static void label(const char *s)
{
	print_str("  ");
	print_str(s);
	for (u32 n = str_len(s); n < 18; n++)
		print_char(' ');
}

int main(int argc, char **argv)
{
	(void)argv;
	int ok = 1;

	print_str("shadowvisor demo: a freestanding i386 program\n");
	print_str("  (no libc: raw int $0x80 system calls, integer arithmetic only)\n");
	print_str("  argc = ");
	print_i32(argc);
	print_str("\n\n");

	u32 count = sieve();

	/* Collect the primes into memory grown with brk(). */
	u8 *heap = sys_brk(0);
	u32 bytes = count * (u32)sizeof(u32);
	u8 *end = sys_brk(heap + bytes);
	if (end != heap + bytes) {
		print_str("brk failed\n");
		return 1;
	}
	u32 *primes = (u32 *)heap;
	u32 n = 0;
	for (u32 i = 2; i < LIMIT; i++)
		if (!composite[i])
			primes[n++] = i;

	/* Statistics over the list. */
	u32 sum = 0, twins = 0, gap = 0, gap_lo = 0;
	u32 hash = 2166136261u; /* FNV-1a over the little-endian prime bytes */
	u32 buckets[NBUCKETS] = {0};
	for (u32 i = 0; i < n; i++) {
		u32 p = primes[i];
		sum += p;
		buckets[p / BUCKET]++;
		for (u32 b = 0; b < 4; b++) {
			hash ^= (p >> (8 * b)) & 0xff;
			hash *= 16777619u;
		}
		if (i > 0) {
			u32 d = p - primes[i - 1];
			if (d == 2)
				twins++;
			if (d > gap) {
				gap = d;
				gap_lo = primes[i - 1];
			}
		}
	}

	/* Independent check of the sieve by trial division. */
	u32 mismatches = 0;
	for (u32 i = 0; i < CHECK_LIMIT; i++)
		if (is_prime_by_division(i) != !composite[i])
			mismatches++;

	print_str("sieve of Eratosthenes below ");
	print_u32(LIMIT);
	print_str("\n");
	label("primes found:");
	print_u32(count);
	print_str("\n");
	label("first 10 primes:");
	for (u32 i = 0; i < 10 && i < n; i++) {
		print_u32(primes[i]);
		print_char(i == 9 ? '\n' : ' ');
	}
	label("largest prime:");
	print_u32(primes[n - 1]);
	print_str("\n");
	label("sum of primes:");
	print_u32(sum);
	print_str("\n");
	label("twin prime pairs:");
	print_u32(twins);
	print_str("\n");
	label("largest gap:");
	print_u32(gap);
	print_str(" (after ");
	print_u32(gap_lo);
	print_str(")\n\n");

	print_str("primes per block of ");
	print_u32(BUCKET);
	print_str(":\n");
	u32 most = 1;
	for (u32 b = 0; b < NBUCKETS; b++)
		if (buckets[b] > most)
			most = buckets[b];
	for (u32 b = 0; b < NBUCKETS; b++) {
		char bar[BAR_MAX + 2];
		u32 w = buckets[b] * BAR_MAX / most;
		memset(bar, '#', w);
		bar[w] = '\n';
		print_str("  ");
		print_u32_width(b * BUCKET, 6);
		print_str(" .. ");
		print_u32_width((b + 1) * BUCKET - 1, 6);
		print_u32_width(buckets[b], 6);
		print_char(' ');
		print_buf(bar, w + 1);
	}

	print_str("\n");
	label("checksum:");
	print_str("0x");
	print_hex32(hash);
	print_str("\n");
	label("heap from brk:");
	print_u32(bytes);
	print_str(" bytes\n");
	label("trial division:");
	if (mismatches == 0) {
		print_str("agrees with the sieve below ");
		print_u32(CHECK_LIMIT);
		print_str("\n");
	} else {
		print_u32(mismatches);
		print_str(" MISMATCHES\n");
		ok = 0;
	}
	if (count != 17984 || n != count) {
		print_str("  self-check FAILED: expected 17984 primes\n");
		ok = 0;
	}
	print_str(ok ? "done.\n" : "FAILED.\n");
	return ok ? 0 : 1;
}
