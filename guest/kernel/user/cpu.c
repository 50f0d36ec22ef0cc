/*
 * cpu.c - integer kernels in the spirit of SPEC CPU's integer suite.
 *
 * One round, on data generated from the round number:
 *   text      8 KiB of English-like text (words, punctuation, numbers)
 *   lzss      LZ77-family compression (hash chains, 4 KiB window), then
 *             decompression and comparison with the input
 *   sort      quicksort of 2048 pseudo-random words; checked sorted and a
 *             permutation of the input
 *   hash      SHA-256 and CRC-32 of the text
 *   matrix    32x32 integer matrix product, checked with Freivalds' test
 *   strings   Boyer-Moore-Horspool search for a few patterns (one checked
 *             against a naive search), tokenizing and counting distinct
 *             words in a hash table, parsing the decimal numbers
 * Each round is about 4.5 million instructions; n rounds scale linearly.
 * Known-answer tests for SHA-256 and CRC-32 run once at the start.
 */
#include "wl.h"

#define TEXT_SIZE	8192
#define SORT_N		2048
#define MAT_N		32

static uint32_t seed;

static uint32_t rnd(void)
{
	return xorshift(&seed);
}

/* ------------------------------------------------------------------ */
/* text                                                                 */

static const char *const words[] = {
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it",
	"as", "was", "with", "be", "by", "on", "not", "he", "this", "are",
	"processor", "register", "memory", "emulator", "instruction", "segment",
	"interrupt", "descriptor", "page", "table", "cache", "kernel", "stack",
	"virtual", "machine", "guest", "host", "shadow", "trap", "emulate",
	"fault", "frame", "process", "schedule", "switch", "context",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static uint8_t text[TEXT_SIZE];

struct textinfo {
	unsigned words;		/* words emitted (numbers included) */
	unsigned numbers;	/* how many of them are numbers */
	uint32_t numsum;	/* their sum */
};

/* Fill text[] with words; returns what went in, for the string checks. */
static struct textinfo gen_text(void)
{
	struct textinfo ti = { 0, 0, 0 };
	unsigned pos = 0;

	for (;;) {
		char tmp[16];
		const char *w;
		unsigned len, r = rnd();

		if (r % 13 == 0) {	/* a number */
			uint32_t v = (r >> 8) % 100000;

			len = (unsigned)fmt(tmp, sizeof(tmp), "%u", v);
			w = tmp;
			if (pos + len + 2 > TEXT_SIZE)
				break;
			ti.numbers++;
			ti.numsum += v;
		} else {
			w = words[(r >> 8) % NWORDS];
			len = strlen(w);
			if (pos + len + 2 > TEXT_SIZE)
				break;
		}
		memcpy(text + pos, w, len);
		pos += len;
		ti.words++;
		r = rnd() % 16;
		text[pos++] = r == 0 ? '.' : r == 1 ? ',' : ' ';
		if (r < 2)
			text[pos++] = r == 0 ? '\n' : ' ';
	}
	while (pos < TEXT_SIZE)
		text[pos++] = ' ';
	return ti;
}

/* ------------------------------------------------------------------ */
/* lzss                                                                 */

#define WINDOW		4096
#define MIN_MATCH	3
#define MAX_MATCH	18
#define HASH_SIZE	4096
#define MAX_CHAIN	16

static uint8_t comp[TEXT_SIZE + TEXT_SIZE / 8 + 16];
static uint8_t decomp[TEXT_SIZE];
static int16_t head[HASH_SIZE];
static int16_t prevpos[TEXT_SIZE];

static unsigned hash3(const uint8_t *p)
{
	return ((p[0] << 8) ^ (p[1] << 4) ^ p[2]) & (HASH_SIZE - 1);
}

/* Tokens in groups of 8 behind a flag byte (bit set = literal); a match is
 * 12 bits of distance - 1 and 4 bits of length - MIN_MATCH. */
static unsigned lzss_compress(const uint8_t *in, unsigned n, uint8_t *out)
{
	unsigned i = 0, o = 0, flagpos = 0, nflags = 8;
	int k;

	for (k = 0; k < HASH_SIZE; k++)
		head[k] = -1;
	while (i < n) {
		unsigned best = 0, bestdist = 0;

		if (nflags == 8) {
			flagpos = o++;
			out[flagpos] = 0;
			nflags = 0;
		}
		if (i + MIN_MATCH <= n) {
			unsigned h = hash3(in + i), chain = 0;
			int cand = head[h];

			while (cand >= 0 && i - (unsigned)cand < WINDOW &&
			       chain++ < MAX_CHAIN) {
				unsigned len = 0, max = n - i;

				if (max > MAX_MATCH)
					max = MAX_MATCH;
				while (len < max && in[cand + len] == in[i + len])
					len++;
				if (len > best) {
					best = len;
					bestdist = i - (unsigned)cand;
					if (len == MAX_MATCH)
						break;
				}
				cand = prevpos[cand];
			}
		}
		if (best >= MIN_MATCH) {
			unsigned d = bestdist - 1, end = i + best;

			out[o++] = (uint8_t)(d & 0xFF);
			out[o++] = (uint8_t)(((d >> 8) << 4) | (best - MIN_MATCH));
			for (; i < end; i++) {
				if (i + MIN_MATCH <= n) {
					unsigned h = hash3(in + i);
					prevpos[i] = head[h];
					head[h] = (int16_t)i;
				}
			}
		} else {
			out[flagpos] |= (uint8_t)(1 << nflags);
			out[o++] = in[i];
			if (i + MIN_MATCH <= n) {
				unsigned h = hash3(in + i);
				prevpos[i] = head[h];
				head[h] = (int16_t)i;
			}
			i++;
		}
		nflags++;
	}
	return o;
}

static unsigned lzss_decompress(const uint8_t *in, unsigned n, uint8_t *out,
				unsigned max)
{
	unsigned i = 0, o = 0;

	while (i < n) {
		unsigned flags = in[i++], b;

		for (b = 0; b < 8 && i < n; b++) {
			if (flags & (1u << b)) {
				if (o >= max)
					return 0;
				out[o++] = in[i++];
			} else {
				unsigned d, len, k;

				if (i + 2 > n)
					return 0;
				d = (in[i] | ((in[i + 1] >> 4) << 8)) + 1;
				len = (in[i + 1] & 15) + MIN_MATCH;
				i += 2;
				if (d > o || o + len > max)
					return 0;
				for (k = 0; k < len; k++, o++)
					out[o] = out[o - d];
			}
		}
	}
	return o;
}

/* ------------------------------------------------------------------ */
/* hashing                                                              */

static uint32_t crc_table[256];

static void crc32_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32(const uint8_t *p, unsigned n)
{
	uint32_t c = 0xFFFFFFFFu;

	while (n--)
		c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3];
	e = h[4], f = h[5], g = h[6], hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
		     ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
		     ((a & b) ^ (a & c) ^ (b & c));
		hh = g, g = f, f = e, e = d + t1;
		d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d;
	h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void sha256(const uint8_t *p, unsigned n, uint32_t h[8])
{
	static const uint32_t init[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
	};
	uint8_t last[128];
	unsigned i, rest, tail;
	uint32_t bits = n * 8;

	memcpy(h, init, sizeof(init));
	for (i = 0; i + 64 <= n; i += 64)
		sha256_block(h, p + i);
	rest = n - i;
	memset(last, 0, sizeof(last));
	memcpy(last, p + i, rest);
	last[rest] = 0x80;
	tail = rest + 9 <= 64 ? 64 : 128;
	last[tail - 4] = (uint8_t)(bits >> 24);
	last[tail - 3] = (uint8_t)(bits >> 16);
	last[tail - 2] = (uint8_t)(bits >> 8);
	last[tail - 1] = (uint8_t)bits;
	sha256_block(h, last);
	if (tail == 128)
		sha256_block(h, last + 64);
}

/* ------------------------------------------------------------------ */
/* sorting                                                              */

static uint32_t sortbuf[SORT_N];

static void insertion_sort(uint32_t *a, int n)
{
	int i, j;

	for (i = 1; i < n; i++) {
		uint32_t v = a[i];

		for (j = i; j > 0 && a[j - 1] > v; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

static void quicksort(uint32_t *a, int n)
{
	while (n > 16) {
		uint32_t x = a[0], y = a[n / 2], z = a[n - 1], pivot, t;
		int i = 0, j = n - 1;

		/* median of three */
		pivot = x < y ? (y < z ? y : (x < z ? z : x)) :
				(x < z ? x : (y < z ? z : y));
		for (;;) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i >= j)
				break;
			t = a[i], a[i] = a[j], a[j] = t;
			i++, j--;
		}
		/* recurse into the smaller half, loop on the larger */
		if (j + 1 < n - j - 1) {
			quicksort(a, j + 1);
			a += j + 1;
			n -= j + 1;
		} else {
			quicksort(a + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	insertion_sort(a, n);
}

/* ------------------------------------------------------------------ */
/* matrix                                                               */

static uint32_t ma[MAT_N][MAT_N], mb[MAT_N][MAT_N], mc[MAT_N][MAT_N];

static void matmul(void)
{
	int i, j, k;

	for (i = 0; i < MAT_N; i++)
		for (j = 0; j < MAT_N; j++) {
			uint32_t s = 0;

			for (k = 0; k < MAT_N; k++)
				s += ma[i][k] * mb[k][j];
			mc[i][j] = s;
		}
}

/* Freivalds: A (B v) == C v for a random v (mod 2^32). */
static int freivalds(void)
{
	uint32_t v[MAT_N], bv[MAT_N], abv, cv;
	int i, k;

	for (i = 0; i < MAT_N; i++)
		v[i] = rnd();
	for (i = 0; i < MAT_N; i++) {
		bv[i] = 0;
		for (k = 0; k < MAT_N; k++)
			bv[i] += mb[i][k] * v[k];
	}
	for (i = 0; i < MAT_N; i++) {
		abv = cv = 0;
		for (k = 0; k < MAT_N; k++) {
			abv += ma[i][k] * bv[k];
			cv += mc[i][k] * v[k];
		}
		if (abv != cv)
			return 0;
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* strings                                                              */

static unsigned bmh_count(const uint8_t *s, unsigned n, const char *pat)
{
	unsigned skip[256], m = strlen(pat), i, count = 0;

	for (i = 0; i < 256; i++)
		skip[i] = m;
	for (i = 0; i + 1 < m; i++)
		skip[(uint8_t)pat[i]] = m - 1 - i;
	i = 0;
	while (i + m <= n) {
		if (memcmp(s + i, pat, m) == 0)
			count++;
		i += skip[s[i + m - 1]];
	}
	return count;
}

static unsigned naive_count(const uint8_t *s, unsigned n, const char *pat)
{
	unsigned m = strlen(pat), i, j, count = 0;

	for (i = 0; i + m <= n; i++) {
		for (j = 0; j < m && s[i + j] == (uint8_t)pat[j]; j++)
			;
		count += j == m;
	}
	return count;
}

#define WT_SIZE 256	/* a power of two, more than the distinct words */
static struct {
	const uint8_t *word;
	unsigned len, count;
} wtab[WT_SIZE];

static int is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Tokenize: count words in the hash table, sum the numbers. */
static void tokenize(struct textinfo *got, unsigned *distinct, uint32_t *ck)
{
	unsigned i = 0, k;

	memset(wtab, 0, sizeof(wtab));
	got->words = got->numbers = got->numsum = 0;
	*distinct = 0;
	while (i < TEXT_SIZE) {
		if (text[i] >= '0' && text[i] <= '9') {
			uint32_t v = 0;

			while (i < TEXT_SIZE && text[i] >= '0' && text[i] <= '9')
				v = v * 10 + (text[i++] - '0');
			got->numbers++;
			got->numsum += v;
			got->words++;
		} else if (is_alpha(text[i])) {
			unsigned start = i, len;
			uint32_t h = 0x811C9DC5u;

			while (i < TEXT_SIZE && is_alpha(text[i])) {
				h = (h ^ text[i++]) * 16777619u;
			}
			len = i - start;
			for (k = h & (WT_SIZE - 1);; k = (k + 1) & (WT_SIZE - 1)) {
				if (!wtab[k].word) {
					wtab[k].word = text + start;
					wtab[k].len = len;
					wtab[k].count = 1;
					(*distinct)++;
					break;
				}
				if (wtab[k].len == len &&
				    memcmp(wtab[k].word, text + start, len) == 0) {
					wtab[k].count++;
					break;
				}
			}
			got->words++;
		} else {
			i++;
		}
	}
	for (k = 0; k < WT_SIZE; k++)
		if (wtab[k].word)
			*ck = ck_add(*ck, wtab[k].count * 1000003u + wtab[k].len);
}

/* ------------------------------------------------------------------ */

int run_cpu(unsigned n, uint32_t *ck)
{
	static const char *const pats[] = { "the ", "kernel", "page table", "ion" };
	uint32_t c = ck_add(CK_INIT, n);
	uint32_t h[8];
	unsigned r, i, bad = 0, comp_total = 0, distinct = 0, found = 0;

	/* Known answers. */
	crc32_init();
	if (crc32((const uint8_t *)"123456789", 9) != 0xCBF43926u) {
		printf("cpu: CRC-32 known-answer test failed\n");
		bad++;
	}
	sha256((const uint8_t *)"abc", 3, h);
	if (h[0] != 0xba7816bfu || h[7] != 0xf20015adu) {
		printf("cpu: SHA-256 known-answer test failed\n");
		bad++;
	}

	for (r = 0; r < n; r++) {
		struct textinfo ti, got;
		uint32_t sum = 0, xr = 0, sum2 = 0, xr2 = 0;
		unsigned clen, dlen;

		seed = 0x12345678u ^ (r * 0x9E3779B9u);
		if (!seed)
			seed = 1;
		ti = gen_text();

		/* lzss */
		clen = lzss_compress(text, TEXT_SIZE, comp);
		dlen = lzss_decompress(comp, clen, decomp, TEXT_SIZE);
		if (dlen != TEXT_SIZE || memcmp(decomp, text, TEXT_SIZE) != 0)
			bad++;
		comp_total += clen;
		c = ck_add(c, clen);
		c = ck_add(c, crc32(comp, clen));

		/* sort */
		for (i = 0; i < SORT_N; i++) {
			sortbuf[i] = rnd();
			sum += sortbuf[i];
			xr ^= sortbuf[i];
		}
		quicksort(sortbuf, SORT_N);
		for (i = 0; i < SORT_N; i++) {
			if (i > 0 && sortbuf[i - 1] > sortbuf[i])
				bad++;
			sum2 += sortbuf[i];
			xr2 ^= sortbuf[i];
			c = ck_add(c, sortbuf[i] * (i + 1)) ;
		}
		if (sum != sum2 || xr != xr2)
			bad++;

		/* hashing */
		sha256(text, TEXT_SIZE, h);
		for (i = 0; i < 8; i++)
			c = ck_add(c, h[i]);
		c = ck_add(c, crc32(text, TEXT_SIZE));

		/* matrix */
		for (i = 0; i < MAT_N * MAT_N; i++) {
			ma[i / MAT_N][i % MAT_N] = rnd() & 0xFFFF;
			mb[i / MAT_N][i % MAT_N] = rnd() & 0xFFFF;
		}
		matmul();
		if (!freivalds())
			bad++;
		c = ck_add(c, crc32((const uint8_t *)mc, sizeof(mc)));

		/* strings */
		for (i = 0; i < 4; i++) {
			unsigned cnt = bmh_count(text, TEXT_SIZE, pats[i]);

			if (i == 1 && cnt != naive_count(text, TEXT_SIZE, pats[i]))
				bad++;
			found += cnt;
			c = ck_add(c, cnt);
		}
		tokenize(&got, &distinct, &c);
		if (got.words != ti.words || got.numbers != ti.numbers ||
		    got.numsum != ti.numsum)
			bad++;
		c = ck_add(c, got.words);
		c = ck_add(c, got.numsum);
	}

	printf("cpu: %u rounds: lzss %u -> %u bytes, sort %u words, sha256+crc32 %u bytes,\n",
	       n, n * TEXT_SIZE, comp_total, n * SORT_N, n * TEXT_SIZE);
	printf("cpu:   matrix %ux%u, %u pattern matches, %u distinct words in the last round\n",
	       MAT_N, MAT_N, found, distinct);
	if (bad)
		printf("cpu: %u checks FAILED\n", bad);
	printf("checksum cpu 0x%08x\n", c);
	*ck = c;
	return bad == 0 ? 0 : 1;
}
