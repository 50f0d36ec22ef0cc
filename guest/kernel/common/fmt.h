/*
 * fmt.h - printf-style formatting shared by the kernel and the user library.
 *
 * The kernel (kern/console.c) and the user programs (user/ulib.c) format text
 * with the same code, so a line printed by either looks the same.
 */
#ifndef COMMON_FMT_H
#define COMMON_FMT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * vfmt formats into buf[0..size-1], always NUL-terminated (output beyond
 * size-1 characters is dropped) and returns the number of characters stored.
 * Conversions: %d %i %u %x %X %p %s %c %%, with the flags '-' (left-justify)
 * and '0' (zero-pad), a decimal width, and the length modifier 'l', which is
 * accepted and ignored (long is 32 bits on i386).  No floating point, ever.
 */
int vfmt(char *buf, size_t size, const char *fmt, va_list ap);
int fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
