/*
 * ulib.h - the user library: system calls and a little libc.
 *
 * The same header serves both builds of a user program:
 *   - for the teaching kernel, the calls are usys.S (+ ksys.c);
 *   - for Linux (make linux), they are linux/sys_linux.c on Linux's own
 *     i386 system calls.
 * Everything else here (printf, strings) is ulib.c, shared.
 */
#ifndef USER_ULIB_H
#define USER_ULIB_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include "../common/abi.h"
#include "../common/fmt.h"

#define MAP_FAILED ((void *)-1)

/* System calls.  Errors are negative errno values, except where noted. */
void exit(int status) __attribute__((noreturn));
int fork(void);
int wait(int *status);		/* status: exit value 0..255, 139 if killed */
int write(int fd, const void *buf, unsigned len);
int getpid(void);
int exec(const char *name, char *const argv[]);
void *sbrk(int increment);	/* the old break, or (void *)-1 */
void *mmap(unsigned length, int prot);	/* MAP_FAILED on error */
int munmap(void *addr, unsigned length);
int mprotect(void *addr, unsigned length, int prot);
int yield(void);
unsigned uptime(int what);	/* UPTIME_TICKS or UPTIME_HZ */
unsigned kwork(unsigned n, unsigned seed);
int sleep(unsigned ticks);

/* ulib.c */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
