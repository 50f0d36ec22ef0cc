/*
 * string.c - the string and memory functions the kernel uses.  GCC may also
 * emit calls to memset/memcpy/memmove/memcmp on its own, so they must exist.
 */
#include "defs.h"

void *memset(void *d, int c, size_t n)
{
	void *p = d;

	if (((uint32_t)d | n) & 3) {
		asm volatile("cld; rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	} else {
		uint32_t v = (uint8_t)c * 0x01010101u;

		n /= 4;
		asm volatile("cld; rep stosl" : "+D"(p), "+c"(n) : "a"(v) : "memory");
	}
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *dp = d;
	if (((uint32_t)d | (uint32_t)s | n) & 3) {
		asm volatile("cld; rep movsb" : "+D"(dp), "+S"(s), "+c"(n) : : "memory");
	} else {
		n /= 4;
		asm volatile("cld; rep movsl" : "+D"(dp), "+S"(s), "+c"(n) : : "memory");
	}
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (uint8_t)*a - (uint8_t)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (uint8_t)*a - (uint8_t)*b;
		if (!*a)
			break;
	}
	return 0;
}

/* Copy with truncation; the result is always NUL-terminated (size > 0). */
size_t strlcpy(char *d, const char *s, size_t size)
{
	size_t n = strlen(s);

	if (size) {
		size_t m = n < size - 1 ? n : size - 1;
		memcpy(d, s, m);
		d[m] = '\0';
	}
	return n;
}
