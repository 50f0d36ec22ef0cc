/*
 * hello.c - exercises glibc's stdio on the emulated CPU: printf with the
 * common integer conversions (including 64-bit ones, which make glibc do
 * 64-bit division), field widths and flags, a long string, puts, putchar
 * and fputs to stderr.  Also prints argc/argv and $SHADOWVISOR_TEST.
 *
 * Deterministic for a given argv/environment; no floating point at all.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	static char longstr[3001];
	char small[64];

	printf("hello from glibc printf on an i386\n");
	printf("%%s:   [%s] [%10s] [%-10s] [%.5s] [%s]\n", "str", "right",
	       "left", "truncated", "");
	printf("%%d:   %d %d %d %+d [%5d] [%-5d] [%05d] [% d]\n", 0, 42, -42,
	       7, 12, 12, -12, 3);
	printf("%%u:   %u %u %u\n", 0u, 3000000000u, UINT_MAX);
	printf("%%x:   %x %X %#x %x\n", 0xdeadbeefu, 0xcafebabeu, 255u, 0u);
	printf("%%08x: %08x %08x %08x\n", 0x1234u, 0xffffffffu, 0u);
	printf("%%o:   %o %#o\n", 8u, 0755u);
	printf("%%c:   [%c%c%c] [%3c] [%-3c]\n", 'a', 'b', 'c', 'r', 'l');
	printf("%%ld:  %ld %ld %ld %ld\n", 0L, -123456789L, LONG_MAX, LONG_MIN);
	printf("%%lu:  %lu\n", ULONG_MAX);
	printf("%%lld: %lld %lld %lld %lld\n", 0LL, -9876543210LL, LLONG_MAX,
	       LLONG_MIN);
	printf("%%llu: %llu %llu %llu\n", 0ULL, 1234567890123456789ULL,
	       ULLONG_MAX);
	printf("%%llx: %llx %016llx %llX\n", 0x0123456789abcdefULL,
	       0xfedcba9876543210ULL, 0xabcULL);
	printf("INT_MIN=%d INT_MAX=%d UINT_MAX=%u\n", INT_MIN, INT_MAX,
	       UINT_MAX);
	printf("LLONG_MIN=%lld LLONG_MAX=%lld\n", LLONG_MIN, LLONG_MAX);
	printf("negatives: %d %d %hd %hhd %ld %lld\n", -1, -2147483647, (short)-300,
	       (signed char)-100, -1L, -1LL);
	printf("%%*d:  [%*d] [%-*d] [%.*d]\n", 6, 99, 6, 99, 4, 7);
	printf("%%%%:   100%% done\n");

	int n = snprintf(small, sizeof(small), "%d-%u-%x-%lld", -5, 5u, 0xabu,
			 -5LL);
	printf("snprintf: \"%s\" returned %d\n", small, n);
	volatile size_t cap = 8; /* opaque, so GCC does not warn */
	n = snprintf(small, cap, "%s", "this does not fit");
	printf("snprintf truncated: \"%s\" returned %d\n", small, n);

	for (int i = 0; i < 3000; i++)
		longstr[i] = (char)('a' + (i * 7 + i / 26) % 26);
	longstr[3000] = '\0';
	printf("long string (%zu chars):\n%s\n", strlen(longstr), longstr);

	puts("puts: a line from puts");
	putchar('p');
	putchar('u');
	putchar('t');
	putchar('c');
	putchar('h');
	putchar('a');
	putchar('r');
	putchar('\n');
	fputs("fputs to stderr: this line goes to file descriptor 2\n", stderr);

	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	const char *env = getenv("SHADOWVISOR_TEST");
	printf("SHADOWVISOR_TEST=%s\n", env ? env : "(unset)");
	return 0;
}
