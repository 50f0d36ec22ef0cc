/*
 * malloc.c - exercises glibc's allocator and string functions: malloc,
 * calloc, realloc and free over many sizes (including allocations above
 * 256 KiB, which glibc serves with mmap and grows with mremap), memset,
 * memcpy, memmove (both overlap directions), strlen, strcmp, strncmp,
 * strchr, strrchr, strstr, plus a linked list and a chained hash table.
 *
 * Prints only checksums and counts (never addresses), so the output is
 * deterministic.  Exit status 0 if every self-check passed, 1 otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng_state = 12345;
static int failures;

static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static uint32_t fnv1a(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

#define FNV_INIT 2166136261u

static void check(int cond, const char *what)
{
	if (!cond) {
		printf("FAILED: %s\n", what);
		failures++;
	}
}

/*
 * Writing, checking and hashing every byte would make this program far too
 * slow under emulation, so blocks are sampled: one byte in STRIDE (which
 * still touches every page) plus the last byte.
 */
#define STRIDE 64

static unsigned char pattern(size_t i, uint32_t tag)
{
	return (unsigned char)(tag + i * 131u + (i >> 8));
}

static void fill(unsigned char *p, size_t len, uint32_t tag)
{
	if (len == 0)
		return;
	for (size_t i = 0; i < len; i += STRIDE)
		p[i] = pattern(i, tag);
	p[len - 1] = pattern(len - 1, tag);
}

/* Check the first `keep` bytes of a block of `len` bytes filled by fill(). */
static int verify_prefix(const unsigned char *p, size_t keep, size_t len, uint32_t tag)
{
	for (size_t i = 0; i < keep; i += STRIDE)
		if (p[i] != pattern(i, tag))
			return 0;
	return len == 0 || len > keep || p[len - 1] == pattern(len - 1, tag);
}

static int verify(const unsigned char *p, size_t len, uint32_t tag)
{
	return verify_prefix(p, len, len, tag);
}

static uint32_t sample_hash(uint32_t h, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i += STRIDE) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

/* Size distribution: mostly small, some medium, a few large. */
static size_t pick_size(void)
{
	uint32_t r = rng();
	switch (r % 16) {
	case 0:
		return 1 + rng() % 32768;
	case 1:
	case 2:
		return 1 + rng() % 4096;
	default:
		return rng() % 257; /* includes malloc(0) */
	}
}

#define SLOTS 256

static void churn(void)
{
	static unsigned char *ptr[SLOTS];
	static size_t len[SLOTS];
	static uint32_t tag[SLOTS];
	uint32_t sum = FNV_INIT;
	unsigned mallocs = 0, reallocs = 0, frees = 0;
	unsigned long long bytes = 0;

	for (int iter = 0; iter < 4000; iter++) {
		unsigned s = rng() % SLOTS;
		if (ptr[s] == NULL) {
			size_t n = pick_size();
			ptr[s] = malloc(n);
			check(ptr[s] != NULL || n == 0, "malloc");
			if (ptr[s] == NULL)
				continue;
			len[s] = n;
			tag[s] = rng();
			fill(ptr[s], n, tag[s]);
			mallocs++;
			bytes += n;
		} else if (rng() % 3 == 0) {
			size_t n = pick_size() + 1;
			unsigned char *q = realloc(ptr[s], n);
			check(q != NULL, "realloc");
			if (q == NULL)
				continue;
			size_t keep = n < len[s] ? n : len[s];
			check(verify_prefix(q, keep, len[s], tag[s]), "realloc preserved data");
			sum = sample_hash(sum, q, keep);
			ptr[s] = q;
			len[s] = n;
			fill(q, n, tag[s]);
			reallocs++;
			bytes += n;
		} else {
			check(verify(ptr[s], len[s], tag[s]), "data intact before free");
			sum = sample_hash(sum, ptr[s], len[s]);
			free(ptr[s]);
			ptr[s] = NULL;
			frees++;
		}
	}
	for (unsigned s = 0; s < SLOTS; s++) {
		if (ptr[s]) {
			check(verify(ptr[s], len[s], tag[s]), "data intact at end");
			sum = sample_hash(sum, ptr[s], len[s]);
			free(ptr[s]);
			ptr[s] = NULL;
			frees++;
		}
	}
	printf("churn: %u mallocs, %u reallocs, %u frees, %llu bytes, checksum %08x\n",
	       mallocs, reallocs, frees, bytes, sum);
}

static void calloc_test(void)
{
	static const size_t counts[] = {1, 7, 100, 1000, 4096, 70000, 300000};
	uint32_t sum = FNV_INIT;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		/* Dirty the heap first so calloc has to really clear memory. */
		unsigned char *dirty = malloc(counts[i] * 4);
		fill(dirty, counts[i] * 4, 0xa5u + (uint32_t)i);
		free(dirty);
		uint32_t *p = calloc(counts[i], sizeof(uint32_t));
		size_t nonzero = 0;
		for (size_t j = 0; j < counts[i]; j += j < 4096 ? 1 : 61)
			nonzero += p[j] != 0;
		check(nonzero == 0, "calloc zeroed");
		for (size_t j = 0; j < counts[i]; j += j < 4096 ? 1 : 61)
			p[j] = (uint32_t)(j * 2654435761u);
		sum = sample_hash(sum, (unsigned char *)p, counts[i] * sizeof(uint32_t));
		free(p);
	}
	printf("calloc: checksum %08x\n", sum);
}

static void large_test(void)
{
	static const size_t sizes[] = {300 * 1024, 1024 * 1024, 3 * 1024 * 1024 + 5};
	unsigned char *big[3];
	uint32_t sum = FNV_INIT;
	for (int i = 0; i < 3; i++) {
		big[i] = malloc(sizes[i]);
		check(big[i] != NULL, "large malloc");
		fill(big[i], sizes[i], 1000u + (uint32_t)i);
	}
	for (int i = 0; i < 3; i++) {
		check(verify(big[i], sizes[i], 1000u + (uint32_t)i), "large data intact");
		sum = sample_hash(sum, big[i], sizes[i]);
	}
	/* Grow and shrink mmapped blocks (glibc uses mremap for these). */
	unsigned char *q = realloc(big[1], 2 * 1024 * 1024);
	check(q != NULL && verify(q, 1024 * 1024, 1001u), "large realloc grow");
	big[1] = q;
	q = realloc(big[2], 400 * 1024);
	check(q != NULL && verify_prefix(q, 400 * 1024, sizes[2], 1002u), "large realloc shrink");
	big[2] = q;
	sum = sample_hash(sum, big[1], 1024 * 1024);
	sum = sample_hash(sum, big[2], 400 * 1024);
	for (int i = 0; i < 3; i++)
		free(big[i]);
	printf("large: 300 KiB, 1 MiB, 3 MiB; realloc 1->2 MiB, 3 MiB->400 KiB; checksum %08x\n",
	       sum);
}

static void string_test(void)
{
	char buf[256];
	char big[1000];
	uint32_t sum = FNV_INIT;

	for (int i = 0; i < 256; i++)
		buf[i] = (char)i;
	/* memmove forwards and backwards with overlap, various lengths. */
	for (int len = 0; len < 100; len += 7) {
		memmove(buf + 3, buf, (size_t)len);
		sum = fnv1a(sum, buf, sizeof(buf));
		memmove(buf + 1, buf + 10, (size_t)len);
		sum = fnv1a(sum, buf, sizeof(buf));
	}
	/* memcpy/memset at every alignment. */
	for (int off = 0; off < 8; off++) {
		for (int len = 0; len < 64; len += 5) {
			memset(big, 0, sizeof(big));
			memset(big + off, 'A' + off, (size_t)len);
			memcpy(big + 200 + (7 - off), big + off, (size_t)len + 1);
			sum = fnv1a(sum, big, 300);
		}
	}
	printf("memmove/memcpy/memset: checksum %08x\n", sum);

	for (int i = 0; i < 999; i++)
		big[i] = (char)('a' + i % 26);
	big[999] = '\0';
	const char *hay = "the quick brown fox jumps over the lazy dog";
	printf("strlen: %zu %zu %zu\n", strlen(""), strlen(hay), strlen(big));
	printf("strcmp: %d %d %d\n", strcmp("abc", "abc") == 0,
	       strcmp("abc", "abd") < 0, strcmp("b", "abc") > 0);
	printf("strncmp: %d %d\n", strncmp("abcdef", "abcxyz", 3) == 0,
	       strncmp("abcdef", "abcxyz", 4) < 0);
	printf("strchr: %d %d %d\n", (int)(strchr(hay, 'q') - hay),
	       (int)(strchr(hay, 'z') - hay), strchr(hay, 'Q') == NULL);
	printf("strrchr: %d\n", (int)(strrchr(hay, 'o') - hay));
	printf("strstr: %d %d %d %d\n", (int)(strstr(hay, "fox") - hay),
	       (int)(strstr(hay, "the lazy") - hay), strstr(hay, "cat") == NULL,
	       (int)(strstr(big, "xyzabc") - big));

	char *dup = strdup(hay);
	check(dup && strcmp(dup, hay) == 0, "strdup");
	size_t l = strlen(dup);
	for (size_t i = 0; i < l / 2; i++) {
		char t = dup[i];
		dup[i] = dup[l - 1 - i];
		dup[l - 1 - i] = t;
	}
	printf("reversed: %s\n", dup);
	free(dup);
}

struct node {
	struct node *next;
	uint32_t value;
};

static void list_test(void)
{
	struct node *head = NULL;
	for (uint32_t i = 0; i < 2000; i++) {
		struct node *n = malloc(sizeof(*n));
		n->value = rng() % 100000;
		/* insert in sorted position within the first few nodes */
		struct node **pp = &head;
		for (int k = 0; *pp && (*pp)->value < n->value && k < 8; k++)
			pp = &(*pp)->next;
		n->next = *pp;
		*pp = n;
	}
	/* reverse */
	struct node *prev = NULL;
	while (head) {
		struct node *next = head->next;
		head->next = prev;
		prev = head;
		head = next;
	}
	head = prev;
	uint32_t sum = 0, weighted = 0, count = 0;
	for (struct node *n = head; n; n = n->next) {
		count++;
		sum += n->value;
		weighted = weighted * 31u + n->value;
	}
	while (head) {
		struct node *next = head->next;
		free(head);
		head = next;
	}
	printf("list: %u nodes, sum %u, ordered hash %08x\n", count, sum, weighted);
}

struct entry {
	struct entry *next;
	char *key;
	uint32_t value;
};

#define BUCKETS 1024

static struct entry *table[BUCKETS];

static struct entry **lookup(const char *key)
{
	uint32_t h = fnv1a(FNV_INIT, key, strlen(key)) % BUCKETS;
	struct entry **pp = &table[h];
	while (*pp && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

/* Writes "key-<n>" (cheaper than snprintf, which would dominate the run). */
static void make_key(char *out, uint32_t n)
{
	char digits[10];
	int d = 0;
	do {
		digits[d++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	memcpy(out, "key-", 4);
	out += 4;
	while (d > 0)
		*out++ = digits[--d];
	*out = '\0';
}

static void hash_test(void)
{
	char key[32];
	unsigned inserted = 0, updated = 0, found = 0, removed = 0;

	for (uint32_t i = 0; i < 4000; i++) {
		make_key(key, rng() % 5000);
		struct entry **pp = lookup(key);
		if (*pp) {
			(*pp)->value += i;
			updated++;
		} else {
			struct entry *e = malloc(sizeof(*e));
			e->key = strdup(key);
			e->value = i;
			e->next = NULL;
			*pp = e;
			inserted++;
		}
	}
	for (uint32_t i = 0; i < 5000; i += 2) {
		make_key(key, i);
		struct entry **pp = lookup(key);
		if (*pp) {
			struct entry *e = *pp;
			*pp = e->next;
			free(e->key);
			free(e);
			removed++;
		}
	}
	uint32_t sum = 0, longest = 0, remaining = 0;
	for (uint32_t i = 0; i < 5000; i++) {
		make_key(key, i);
		struct entry **pp = lookup(key);
		if (*pp) {
			found++;
			sum += (*pp)->value * (i + 1);
		}
	}
	for (int b = 0; b < BUCKETS; b++) {
		uint32_t chain = 0;
		struct entry *e = table[b];
		while (e) {
			struct entry *next = e->next;
			chain++;
			remaining++;
			free(e->key);
			free(e);
			e = next;
		}
		table[b] = NULL;
		if (chain > longest)
			longest = chain;
	}
	check(found == remaining, "hash table consistent");
	printf("hash: %u inserted, %u updated, %u removed, %u found, longest chain %u, checksum %08x\n",
	       inserted, updated, removed, found, longest, sum);
}

int main(void)
{
	churn();
	calloc_test();
	large_test();
	string_test();
	list_test();
	hash_test();
	printf(failures ? "malloc: %d FAILURES\n" : "malloc: all checks passed\n",
	       failures);
	return failures ? 1 : 0;
}
