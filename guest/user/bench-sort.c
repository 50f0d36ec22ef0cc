/*
 * bench-sort.c - sorting benchmark.
 *
 * Usage: bench-sort.elf [N]
 *   N = array length in units of 1024 elements: sorts N*1024 pseudo-random
 *       32-bit integers (default 640; N=1 is a quick test).
 *
 * The same xorshift-generated array is sorted three ways: glibc qsort(),
 * a bottom-up merge sort and a heapsort written here.  All three results
 * are verified to be sorted and identical; checksums are printed, nothing
 * timing related.  Integer only.  Exit status 0 if all checks pass.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_N 640
#define UNIT 1024

static uint32_t xorshift_state = 2463534242u;

static uint32_t xorshift32(void)
{
	uint32_t x = xorshift_state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return xorshift_state = x;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static void merge_sort(uint32_t *a, uint32_t *tmp, size_t n)
{
	uint32_t *src = a, *dst = tmp;
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				dst[k++] = src[j] < src[i] ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		uint32_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

static void sift_down(uint32_t *a, size_t root, size_t n)
{
	uint32_t v = a[root];
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			break;
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[child] <= v)
			break;
		a[root] = a[child];
		root = child;
	}
	a[root] = v;
}

static void heap_sort(uint32_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n; end-- > 1;) {
		uint32_t t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
}

static int is_sorted(const uint32_t *a, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (a[i - 1] > a[i])
			return 0;
	return 1;
}

static uint32_t checksum(const uint32_t *a, size_t n)
{
	uint32_t h = 0;
	for (size_t i = 0; i < n; i++)
		h = (h ^ a[i]) * 16777619u + (uint32_t)i;
	return h;
}

static unsigned parse_n(int argc, char **argv)
{
	if (argc < 2)
		return DEFAULT_N;
	char *end;
	unsigned long v = strtoul(argv[1], &end, 10);
	if (argv[1][0] == '\0' || *end != '\0' || v == 0 || v > 65536) {
		fprintf(stderr, "usage: %s [N]  (sorts N*%d integers, N = 1..65536)\n",
			argv[0], UNIT);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	size_t n = (size_t)parse_n(argc, argv) * UNIT;
	uint32_t *orig = malloc(n * sizeof(uint32_t));
	uint32_t *a = malloc(n * sizeof(uint32_t));
	uint32_t *b = malloc(n * sizeof(uint32_t));
	uint32_t *c = malloc(n * sizeof(uint32_t));
	uint32_t *tmp = malloc(n * sizeof(uint32_t));
	if (!orig || !a || !b || !c || !tmp) {
		printf("out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++) /* some duplicates: mask the range */
		orig[i] = (i & 7) == 0 ? xorshift32() & 0xffff : xorshift32();

	memcpy(a, orig, n * sizeof(uint32_t));
	memcpy(b, orig, n * sizeof(uint32_t));
	memcpy(c, orig, n * sizeof(uint32_t));
	qsort(a, n, sizeof(uint32_t), cmp_u32);
	merge_sort(b, tmp, n);
	heap_sort(c, n);

	int ok_a = is_sorted(a, n), ok_b = is_sorted(b, n), ok_c = is_sorted(c, n);
	int same = memcmp(a, b, n * sizeof(uint32_t)) == 0 &&
		   memcmp(a, c, n * sizeof(uint32_t)) == 0;
	size_t dups = 0;
	for (size_t i = 1; i < n; i++)
		dups += a[i] == a[i - 1];

	printf("bench-sort: N=%zu -> %zu elements\n", n / UNIT, n);
	printf("input checksum:  %08x\n", checksum(orig, n));
	printf("qsort:     %s, checksum %08x\n", ok_a ? "sorted" : "NOT SORTED", checksum(a, n));
	printf("mergesort: %s, checksum %08x\n", ok_b ? "sorted" : "NOT SORTED", checksum(b, n));
	printf("heapsort:  %s, checksum %08x\n", ok_c ? "sorted" : "NOT SORTED", checksum(c, n));
	printf("min %08x, median %08x, max %08x, duplicates %zu\n", a[0], a[n / 2],
	       a[n - 1], dups);
	int ok = ok_a && ok_b && ok_c && same;
	printf("results %s\n", ok ? "identical" : "DIFFER");
	free(orig);
	free(a);
	free(b);
	free(c);
	free(tmp);
	return ok ? 0 : 1;
}
