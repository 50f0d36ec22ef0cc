/*
 * sys.h - tiny freestanding runtime for shadowvisor's i386 test programs.
 *
 * No libc: system calls go straight to the kernel with int $0x80 using the
 * i386 Linux convention (eax = number, ebx/ecx/edx = arguments, result in
 * eax, -errno on failure).  The entry point (_start) and memcpy/memmove/
 * memset/memcmp live in start.S.
 *
 * Everything here is static inline so each program only carries what it
 * uses.  Only integer arithmetic (programs that want the x87 use glibc).
 */
#ifndef SHADOWVISOR_SYS_H
#define SHADOWVISOR_SYS_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int i32;
typedef __SIZE_TYPE__ size_t;

#define NULL ((void *)0)

/* i386 Linux system call numbers (arch/x86/entry/syscalls/syscall_32.tbl) */
#define SYS_exit 1
#define SYS_write 4
#define SYS_brk 45
#define SYS_exit_group 252

/* Implemented in start.S. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

static inline long syscall1(long nr, long a)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a) : "memory");
	return ret;
}

static inline long syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "memory");
	return ret;
}

/* Returns the number of bytes written or -errno. */
static inline long sys_write(int fd, const void *buf, size_t len)
{
	return syscall3(SYS_write, fd, (long)buf, (long)len);
}

/* exit_group(status); never returns. */
static inline __attribute__((noreturn)) void sys_exit(int status)
{
	for (;;)
		syscall1(SYS_exit_group, status);
}

/*
 * brk(addr): returns the new program break.  brk(0) returns the current
 * break; on failure the kernel returns the old (unchanged) break.
 */
static inline void *sys_brk(void *addr)
{
	return (void *)syscall1(SYS_brk, (long)addr);
}

static inline size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

/* Write all of buf to stdout (retrying short writes); gives up on error. */
static inline void print_buf(const char *buf, size_t len)
{
	while (len > 0) {
		long n = sys_write(1, buf, len);
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static inline void print_str(const char *s)
{
	print_buf(s, str_len(s));
}

static inline void print_char(char c)
{
	print_buf(&c, 1);
}

/* Unsigned decimal, right-aligned in a field of `width` characters. */
static inline void print_u32_width(u32 v, int width)
{
	char buf[32];
	int i = 32;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (i > 0 && 32 - i < width)
		buf[--i] = ' ';
	print_buf(buf + i, (size_t)(32 - i));
}

/* Unsigned decimal, no padding. */
static inline void print_u32(u32 v)
{
	print_u32_width(v, 0);
}

/* Signed decimal. */
static inline void print_i32(i32 v)
{
	if (v < 0) {
		print_char('-');
		print_u32(0u - (u32)v);
	} else {
		print_u32((u32)v);
	}
}

/* Exactly 8 lowercase hex digits, no "0x" prefix. */
static inline void print_hex32(u32 v)
{
	static const char digits[] = "0123456789abcdef";
	char buf[8];
	for (int i = 7; i >= 0; i--) {
		buf[i] = digits[v & 15];
		v >>= 4;
	}
	print_buf(buf, 8);
}

#endif /* SHADOWVISOR_SYS_H */
