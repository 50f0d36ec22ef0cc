/*
 * ulib.c - printf and the string functions, for both builds.
 */
#include "ulib.h"

/* printf: format the whole text first, then one write(), so that lines of
 * different processes never interleave. */
int printf(const char *f, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, f);
	n = vfmt(buf, sizeof(buf), f, ap);
	va_end(ap);
	return write(1, buf, (unsigned)n);
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

