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
