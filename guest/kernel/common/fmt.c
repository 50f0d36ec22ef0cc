/*
 * fmt.c - the formatter behind the kernel's printk and the user's printf.
 * Freestanding: no libc, no floating point, no 64-bit arithmetic.
 */
#include <stdint.h>
#include "fmt.h"

struct out {
	char *buf;
	size_t size;		/* capacity including the final NUL */
	size_t len;		/* characters stored so far */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len++] = c;
}

/* Emit s (n characters) padded to width with pad, on the left or right. */
static void emit(struct out *o, const char *s, int n, int width, int left,
		 char pad)
{
	int i;

	/* Zero padding goes after a leading minus sign. */
	if (pad == '0' && n > 0 && s[0] == '-') {
		put(o, '-');
		s++, n--, width--;
	}
	if (!left)
		for (i = n; i < width; i++)
			put(o, pad);
	for (i = 0; i < n; i++)
		put(o, s[i]);
	if (left)
		for (i = n; i < width; i++)
			put(o, ' ');
}

/* Convert v in base 10 or 16 into the end of tmp; return the start. */
static char *utoa(char *end, uint32_t v, unsigned base, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;

	*--p = '\0';
	do {
		*--p = digits[v % base];
		v /= base;
	} while (v != 0);
	return p;
}

int vfmt(char *buf, size_t size, const char *f, va_list ap)
{
	struct out o = { buf, size, 0 };
	char tmp[16];

	for (; *f; f++) {
		int left = 0, width = 0;
		char pad = ' ';
		const char *s;
		char *p;

		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		f++;
		for (;; f++) {
			if (*f == '-')
				left = 1;
			else if (*f == '0')
				pad = '0';
			else
				break;
		}
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (*f++ - '0');
		while (*f == 'l')
			f++;
		if (left)
			pad = ' ';

		switch (*f) {
		case 'd':
		case 'i': {
			int32_t v = va_arg(ap, int32_t);
			uint32_t mag = v < 0 ? -(uint32_t)v : (uint32_t)v;

			p = utoa(tmp + sizeof(tmp), mag, 10, 0);
			if (v < 0)
				*--p = '-';
			emit(&o, p, (int)(tmp + sizeof(tmp) - 1 - p), width, left, pad);
			break;
		}
		case 'u':
			p = utoa(tmp + sizeof(tmp), va_arg(ap, uint32_t), 10, 0);
			emit(&o, p, (int)(tmp + sizeof(tmp) - 1 - p), width, left, pad);
			break;
		case 'x':
		case 'X':
			p = utoa(tmp + sizeof(tmp), va_arg(ap, uint32_t), 16, *f == 'X');
			emit(&o, p, (int)(tmp + sizeof(tmp) - 1 - p), width, left, pad);
			break;
		case 'p':
			p = utoa(tmp + sizeof(tmp), (uint32_t)(uintptr_t)va_arg(ap, void *), 16, 0);
			put(&o, '0');
			put(&o, 'x');
			emit(&o, p, (int)(tmp + sizeof(tmp) - 1 - p), 8, 0, '0');
			break;
		case 's': {
			int n = 0;

			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			while (s[n])
				n++;
			emit(&o, s, n, width, left, ' ');
			break;
		}
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			emit(&o, tmp, 1, width, left, ' ');
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			f--;	/* a lone '%' at the end: stop */
			break;
		default:	/* unknown conversion: print it as is */
			put(&o, '%');
			put(&o, *f);
			break;
		}
	}
	if (o.size > 0)
		o.buf[o.len] = '\0';
	return (int)o.len;
}

int fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vfmt(buf, size, f, ap);
	va_end(ap);
	return n;
}
