/*
 * bench-matrix.c - integer matrix multiplication benchmark.
 *
 * Usage: bench-matrix.elf [N]
 *   N = number of rounds (default 1000; N=1 is a quick test).  Each round
 *       multiplies two 64x64 matrices of 32-bit integers twice, once in
 *       i-k-j order and once as dot products against the transpose of the
 *       right operand, checks that both products agree, and feeds the
 *       product back into the operands for the next round.
 *
 * All arithmetic is on uint32_t, so overflow wraps (well defined in C) and
 * the results equal signed int32 wraparound arithmetic.  Prints checksums
 * only, nothing timing related.  Integer only.  Exit status 0 if the two
 * multiplication methods always agree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_N 1000
#define DIM 64

typedef uint32_t matrix[DIM][DIM];

static matrix A, B, C, D, T;

/* C = A * B, i-k-j loop order (row-major streaming). */
static void mul_ikj(matrix c, matrix a, matrix b)
{
	memset(c, 0, sizeof(matrix));
	for (int i = 0; i < DIM; i++)
		for (int k = 0; k < DIM; k++) {
			uint32_t aik = a[i][k];
			for (int j = 0; j < DIM; j++)
				c[i][j] += aik * b[k][j];
		}
}

static void transpose(matrix t, matrix m)
{
	for (int i = 0; i < DIM; i++)
		for (int j = 0; j < DIM; j++)
			t[j][i] = m[i][j];
}

/* D = A * B computed as dot products of rows of A with rows of bt = B^T. */
static void mul_dot(matrix d, matrix a, matrix bt)
{
	for (int i = 0; i < DIM; i++)
		for (int j = 0; j < DIM; j++) {
			uint32_t s = 0;
			for (int k = 0; k < DIM; k++)
				s += a[i][k] * bt[j][k];
			d[i][j] = s;
		}
}

static uint32_t checksum(matrix m)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < DIM; i++)
		for (int j = 0; j < DIM; j++)
			h = (h ^ m[i][j]) * 16777619u;
	return h;
}

static uint32_t trace(matrix m)
{
	uint32_t t = 0;
	for (int i = 0; i < DIM; i++)
		t += m[i][i];
	return t;
}

static unsigned parse_n(int argc, char **argv)
{
	if (argc < 2)
		return DEFAULT_N;
	char *end;
	unsigned long v = strtoul(argv[1], &end, 10);
	if (argv[1][0] == '\0' || *end != '\0' || v == 0 || v > 10000000) {
		fprintf(stderr, "usage: %s [N]  (N = rounds of %dx%d multiplies)\n",
			argv[0], DIM, DIM);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	unsigned n = parse_n(argc, argv);
	uint32_t x = 1;
	for (int i = 0; i < DIM; i++)
		for (int j = 0; j < DIM; j++) {
			x = x * 1664525u + 1013904223u;
			A[i][j] = x >> 7;
			x = x * 1664525u + 1013904223u;
			/* small signed values in B: -8..7 stored as uint32 */
			B[i][j] = (uint32_t)((int32_t)(x >> 28) - 8);
		}
	printf("bench-matrix: N=%u rounds, %dx%d uint32\n", n, DIM, DIM);
	printf("initial: A %08x, B %08x\n", checksum(A), checksum(B));

	unsigned mismatches = 0;
	uint32_t history = 0;
	for (unsigned r = 0; r < n; r++) {
		mul_ikj(C, A, B);
		transpose(T, B);
		mul_dot(D, A, T);
		if (memcmp(C, D, sizeof(matrix)) != 0)
			mismatches++;
		history = history * 31u + checksum(C);
		/* Next round: A <- C mixed with A, B <- a rotated transpose of C. */
		for (int i = 0; i < DIM; i++)
			for (int j = 0; j < DIM; j++) {
				A[i][j] = C[i][j] ^ (A[i][j] >> 3);
				B[i][j] = (C[j][(i + r) % DIM] & 0xff) - 128;
			}
	}
	printf("product: checksum %08x, trace %08x, C[0][0] %d, C[%d][%d] %d\n",
	       checksum(C), trace(C), (int32_t)C[0][0], DIM - 1, DIM - 1,
	       (int32_t)C[DIM - 1][DIM - 1]);
	printf("history: %08x\n", history);
	printf("methods %s\n", mismatches ? "DISAGREE" : "agree");
	return mismatches ? 1 : 0;
}
