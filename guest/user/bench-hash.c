/*
 * bench-hash.c - SHA-256 and CRC-32 benchmark (both implemented here).
 *
 * Usage: bench-hash.elf [N]
 *   N = number of rounds; each round hashes a 16 KiB buffer with SHA-256
 *       and CRC-32, then folds both results back into the buffer so every
 *       round depends on the previous one (default 2000; N=1 is a quick test).
 *
 * Before the benchmark it checks the standard test vectors (SHA-256 of "",
 * "abc" and the 448-bit NIST message; CRC-32 of "123456789").  Prints hex
 * digests only, nothing timing related.  Integer only.  Exit status 0 if
 * the test vectors match.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_N 2000
#define BUF_SIZE 16384

/* ---- SHA-256 (FIPS 180-4) ---- */

struct sha256 {
	uint32_t h[8];
	uint64_t length; /* bytes hashed so far */
	uint8_t block[64];
	size_t used;
};

static const uint32_t K[64] = {
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
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_compress(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
	uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t S1 = ror(e, 6) ^ ror(e, 11) ^ ror(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t t1 = hh + S1 + ch + K[i] + w[i];
		uint32_t S0 = ror(a, 2) ^ ror(a, 13) ^ ror(a, 22);
		uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
		uint32_t t2 = S0 + maj;
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	memcpy(s->h, iv, sizeof(iv));
	s->length = 0;
	s->used = 0;
}

static void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	s->length += len;
	if (s->used > 0) {
		size_t take = 64 - s->used < len ? 64 - s->used : len;
		memcpy(s->block + s->used, p, take);
		s->used += take;
		p += take;
		len -= take;
		if (s->used < 64)
			return;
		sha256_compress(s->h, s->block);
		s->used = 0;
	}
	for (; len >= 64; p += 64, len -= 64)
		sha256_compress(s->h, p);
	memcpy(s->block, p, len);
	s->used = len;
}

static void sha256_final(struct sha256 *s, uint8_t out[32])
{
	uint64_t bits = s->length * 8;
	uint8_t pad = 0x80;
	sha256_update(s, &pad, 1);
	pad = 0;
	while (s->used != 56)
		sha256_update(s, &pad, 1);
	uint8_t len_be[8];
	for (int i = 0; i < 8; i++)
		len_be[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(s, len_be, 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

static void sha256(const void *data, size_t len, uint8_t out[32])
{
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final(&s, out);
}

/* ---- CRC-32 (IEEE 802.3, reflected, polynomial 0xedb88320) ---- */

static uint32_t crc_table[256];

static void crc32_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < len; i++)
		c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* ---- driver ---- */

static void hex(char *out, const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

static int check_sha(const char *msg, const char *expect)
{
	uint8_t d[32];
	char text[65];
	sha256(msg, strlen(msg), d);
	hex(text, d, 32);
	int ok = strcmp(text, expect) == 0;
	printf("sha256(\"%.20s%s\") = %s %s\n", msg, strlen(msg) > 20 ? "..." : "",
	       text, ok ? "ok" : "WRONG");
	return ok;
}

static unsigned parse_n(int argc, char **argv)
{
	if (argc < 2)
		return DEFAULT_N;
	char *end;
	unsigned long v = strtoul(argv[1], &end, 10);
	if (argv[1][0] == '\0' || *end != '\0' || v == 0 || v > 10000000) {
		fprintf(stderr, "usage: %s [N]  (N = rounds over a %d-byte buffer)\n",
			argv[0], BUF_SIZE);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	static uint8_t buf[BUF_SIZE];
	unsigned n = parse_n(argc, argv);
	int ok = 1;

	crc32_init();
	ok &= check_sha("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ok &= check_sha("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ok &= check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
			"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	uint32_t c = crc32("123456789", 9);
	printf("crc32(\"123456789\") = %08x %s\n", c, c == 0xcbf43926u ? "ok" : "WRONG");
	ok &= c == 0xcbf43926u;

	uint32_t x = 0x12345678u;
	for (size_t i = 0; i < BUF_SIZE; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}

	struct sha256 chain; /* hash of every round's digest and CRC */
	sha256_init(&chain);
	uint8_t digest[32];
	uint32_t crc = 0;
	for (unsigned r = 0; r < n; r++) {
		sha256(buf, BUF_SIZE, digest);
		crc = crc32(buf, BUF_SIZE);
		sha256_update(&chain, digest, 32);
		sha256_update(&chain, &crc, 4);
		/* Feed the results back so the next round hashes new data. */
		size_t at = (r * 4099u) % (BUF_SIZE - 36);
		for (int i = 0; i < 32; i++)
			buf[at + (size_t)i] ^= digest[i];
		memcpy(buf + at + 32, &crc, 4);
	}
	uint8_t final[32];
	sha256_final(&chain, final);
	char text[65];
	printf("bench-hash: N=%u rounds over %d bytes\n", n, BUF_SIZE);
	hex(text, digest, 32);
	printf("last sha256: %s\n", text);
	printf("last crc32:  %08x\n", crc);
	hex(text, final, 32);
	printf("chain:       %s\n", text);
	printf("test vectors %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
