/*
 * bench-compress.c - LZSS (LZ77-family) compression benchmark.
 *
 * Usage: bench-compress.elf [N]
 *   N = number of 16 KiB blocks of generated English-like text to compress,
 *       decompress and verify (default 640; N=1 is a quick test).
 *
 * Each block is produced by an LCG choosing words from a small vocabulary
 * (so it compresses well), then compressed with a hash-chain LZSS encoder
 * (4 KiB window, matches of 3..18 bytes, flag byte per 8 tokens) and
 * decompressed again.  Prints sizes and checksums, nothing timing related.
 * Integer only.  Exit status 0 if every block round-trips, 1 otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_N 640
#define BLOCK 16384

#define WINDOW 4096		/* offsets 1..4095 fit in 12 bits */
#define MIN_MATCH 3
#define MAX_MATCH 18		/* lengths 3..18 fit in 4 bits */
#define HASH_BITS 12
#define HASH_SIZE (1 << HASH_BITS)
#define MAX_CHAIN 24		/* candidates examined per position */
#define MAX_OUT (BLOCK + BLOCK / 8 + 16)

static const char *const words[] = {
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it",
	"as", "was", "with", "be", "by", "on", "not", "he", "this", "are",
	"or", "his", "from", "at", "which", "but", "have", "an", "had", "they",
	"processor", "register", "memory", "emulator", "instruction", "segment",
	"interrupt", "descriptor", "page", "table", "cache", "kernel", "stack",
	"flag", "carry", "overflow", "zero", "sign", "parity", "byte", "word",
	"shadowvisor", "virtual", "machine", "guest", "host", "decode", "execute",
	"fetch", "branch", "loop", "call", "return", "jump",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static uint32_t lcg;

static uint32_t next_rand(void)
{
	lcg = lcg * 1664525u + 1013904223u;
	return lcg;
}

static void generate(uint8_t *out, uint32_t seed)
{
	size_t pos = 0;
	int sentence = 0;
	lcg = seed * 2654435761u + 1;
	while (pos < BLOCK) {
		uint32_t r = next_rand();
		const char *w = words[(r >> 16) % NWORDS];
		char tmp[24];
		size_t len = 0;
		if ((r & 0x3f) == 0) { /* occasional number for some entropy */
			uint32_t v = (r >> 8) & 0xffff;
			char d[8];
			int nd = 0;
			do {
				d[nd++] = (char)('0' + v % 10);
				v /= 10;
			} while (v);
			while (nd > 0)
				tmp[len++] = d[--nd];
		} else {
			while (w[len]) {
				tmp[len] = w[len];
				len++;
			}
			if (sentence == 0)
				tmp[0] = (char)(tmp[0] - 'a' + 'A');
		}
		sentence++;
		if (sentence > 6 && (r & 0x700) == 0) {
			tmp[len++] = '.';
			tmp[len++] = (r & 0x800) ? '\n' : ' ';
			sentence = 0;
		} else if ((r & 0x7000) == 0) {
			tmp[len++] = ',';
			tmp[len++] = ' ';
		} else {
			tmp[len++] = ' ';
		}
		for (size_t i = 0; i < len && pos < BLOCK; i++)
			out[pos++] = (uint8_t)tmp[i];
	}
}

static uint32_t hash3(const uint8_t *p)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
	return (v * 2654435761u) >> (32 - HASH_BITS);
}

static int32_t head[HASH_SIZE];
static int32_t prev_pos[BLOCK];

/* Returns the compressed size. */
static size_t compress(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t op = 0, flag_pos = 0;
	int nbits = 8;
	for (int i = 0; i < HASH_SIZE; i++)
		head[i] = -1;

	size_t i = 0;
	while (i < n) {
		if (nbits == 8) {
			flag_pos = op++;
			out[flag_pos] = 0;
			nbits = 0;
		}
		size_t best_len = 0, best_off = 0;
		if (i + MIN_MATCH <= n) {
			uint32_t h = hash3(in + i);
			int32_t cand = head[h];
			size_t limit = n - i < MAX_MATCH ? n - i : MAX_MATCH;
			for (int chain = 0; cand >= 0 && chain < MAX_CHAIN; chain++) {
				size_t off = i - (size_t)cand;
				if (off >= WINDOW)
					break;
				if (in[cand + (int32_t)best_len] == in[i + best_len]) {
					size_t len = 0;
					while (len < limit && in[(size_t)cand + len] == in[i + len])
						len++;
					if (len > best_len) {
						best_len = len;
						best_off = off;
						if (len == limit)
							break;
					}
				}
				cand = prev_pos[cand];
			}
		}
		size_t advance;
		if (best_len >= MIN_MATCH) {
			out[op++] = (uint8_t)(best_off & 0xff);
			out[op++] = (uint8_t)(((best_off >> 8) << 4) | (best_len - MIN_MATCH));
			advance = best_len;
		} else {
			out[flag_pos] |= (uint8_t)(1u << nbits); /* literal */
			out[op++] = in[i];
			advance = 1;
		}
		nbits++;
		/* Insert every position we pass over into the hash chains. */
		for (size_t k = 0; k < advance; k++, i++) {
			if (i + MIN_MATCH <= n) {
				uint32_t h = hash3(in + i);
				prev_pos[i] = head[h];
				head[h] = (int32_t)i;
			}
		}
	}
	return op;
}

/* Returns the decompressed size, or (size_t)-1 on malformed input. */
static size_t decompress(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t ip = 0, op = 0;
	while (ip < n) {
		uint8_t flags = in[ip++];
		for (int bit = 0; bit < 8 && ip < n; bit++) {
			if (flags & (1u << bit)) {
				if (op >= cap)
					return (size_t)-1;
				out[op++] = in[ip++];
			} else {
				if (ip + 2 > n)
					return (size_t)-1;
				size_t off = in[ip] | (size_t)(in[ip + 1] >> 4) << 8;
				size_t len = (size_t)(in[ip + 1] & 15) + MIN_MATCH;
				ip += 2;
				if (off == 0 || off > op || op + len > cap)
					return (size_t)-1;
				for (size_t k = 0; k < len; k++, op++)
					out[op] = out[op - off]; /* may overlap */
			}
		}
	}
	return op;
}

static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static unsigned parse_n(int argc, char **argv)
{
	if (argc < 2)
		return DEFAULT_N;
	char *end;
	unsigned long v = strtoul(argv[1], &end, 10);
	if (argv[1][0] == '\0' || *end != '\0' || v == 0 || v > 1000000) {
		fprintf(stderr, "usage: %s [N]  (N = number of %d-byte blocks, 1..1000000)\n",
			argv[0], BLOCK);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	static uint8_t text[BLOCK], packed[MAX_OUT], unpacked[BLOCK];
	unsigned n = parse_n(argc, argv);
	unsigned long long in_total = 0, out_total = 0;
	uint32_t in_sum = 2166136261u, out_sum = 2166136261u;
	unsigned failures = 0;

	for (unsigned b = 0; b < n; b++) {
		generate(text, b);
		size_t clen = compress(text, BLOCK, packed);
		size_t dlen = decompress(packed, clen, unpacked, BLOCK);
		if (dlen != BLOCK || memcmp(text, unpacked, BLOCK) != 0)
			failures++;
		in_sum = fnv1a(in_sum, text, BLOCK);
		out_sum = fnv1a(out_sum, packed, clen);
		in_total += BLOCK;
		out_total += clen;
	}
	generate(text, 0);
	printf("bench-compress: N=%u blocks of %d bytes\n", n, BLOCK);
	printf("sample: \"%.60s\"\n", (const char *)text);
	printf("input:  %llu bytes, fnv1a %08x\n", in_total, in_sum);
	printf("output: %llu bytes, fnv1a %08x, ratio %llu.%02llu%%\n", out_total,
	       out_sum, out_total * 100 / in_total, out_total * 10000 / in_total % 100);
	printf("round trip: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
