/*
 * files.c - exercises file I/O through glibc: reads the file named by
 * argv[1] completely with fopen/fread and again with open/read, prints its
 * size (also via fstat and lseek), a checksum and its first line; opens a
 * path that does not exist and prints strerror(errno); writes to stdout
 * with write() and writev().
 *
 * Usage: files.elf PATH      (exit status 0 on success, 1 on error, 2 on usage)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MISSING "/nonexistent-shadowvisor-dir/no-such-file"

static uint32_t fnv1a(uint32_t h, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];

	/* 1. stdio: fopen + fread in odd-sized chunks into a growing buffer. */
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		printf("fopen(%s) failed: %s\n", path, strerror(errno));
		return 1;
	}
	size_t cap = 1024, size = 0;
	unsigned char *data = malloc(cap);
	for (;;) {
		if (cap - size < 1000) {
			cap *= 2;
			data = realloc(data, cap);
			if (data == NULL) {
				printf("out of memory\n");
				return 1;
			}
		}
		size_t n = fread(data + size, 1, 1000, f);
		size += n;
		if (n < 1000)
			break;
	}
	if (ferror(f)) {
		printf("fread failed\n");
		return 1;
	}
	fclose(f);
	uint32_t sum1 = fnv1a(2166136261u, data, size);
	uint32_t bytesum = 0;
	size_t lines = 0;
	for (size_t i = 0; i < size; i++) {
		bytesum += data[i];
		lines += data[i] == '\n';
	}
	printf("fread: %zu bytes, %zu newlines, fnv1a %08x, byte sum %u\n", size,
	       lines, sum1, bytesum);
	size_t first = 0;
	while (first < size && first < 200 && data[first] != '\n')
		first++;
	printf("first line: \"%.*s\"\n", (int)first, (const char *)data);

	/* 2. raw syscalls: open + fstat + read + lseek. */
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("open(%s) failed: %s\n", path, strerror(errno));
		return 1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		printf("fstat failed: %s\n", strerror(errno));
		return 1;
	}
	printf("fstat: st_size %lld, regular file %s\n", (long long)st.st_size,
	       S_ISREG(st.st_mode) ? "yes" : "no");
	unsigned char chunk[4096];
	uint32_t sum2 = 2166136261u;
	size_t total = 0;
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		sum2 = fnv1a(sum2, chunk, (size_t)n);
		total += (size_t)n;
	}
	if (n < 0) {
		printf("read failed: %s\n", strerror(errno));
		return 1;
	}
	off_t end = lseek(fd, 0, SEEK_END);
	off_t back = lseek(fd, 0, SEEK_SET);
	n = read(fd, chunk, 16);
	printf("read: %zu bytes, fnv1a %08x (%s); lseek end %ld, rewind %ld, reread %zd bytes (%s)\n",
	       total, sum2, sum2 == sum1 && total == size ? "matches fread" : "MISMATCH",
	       (long)end, (long)back, n,
	       n >= 0 && memcmp(chunk, data, (size_t)n) == 0 ? "same" : "DIFFERENT");
	close(fd);
	free(data);

	/* 3. errors. */
	errno = 0;
	f = fopen(MISSING, "r");
	int e1 = errno;
	printf("fopen missing: %s, errno %d (%s)\n", f == NULL ? "NULL" : "opened?!", e1,
	       strerror(e1));
	errno = 0;
	fd = open(MISSING, O_RDONLY);
	int e2 = errno;
	printf("open missing: returned %d, errno %d (%s)\n", fd, e2, strerror(e2));
	errno = 0;
	n = read(-1, chunk, 1);
	int e3 = errno;
	printf("read(-1): returned %zd, errno %d (%s)\n", n, e3, strerror(e3));

	/* 4. write() and writev() straight to fd 1 (flush stdio first). */
	fflush(stdout);
	static const char line[] = "write: this line came from write(1, ...)\n";
	if (write(1, line, sizeof(line) - 1) != (ssize_t)(sizeof(line) - 1))
		return 1;
	struct iovec iov[4] = {
		{.iov_base = (void *)"writev: ", .iov_len = 8},
		{.iov_base = (void *)"three ", .iov_len = 6},
		{.iov_base = (void *)"", .iov_len = 0},
		{.iov_base = (void *)"pieces\n", .iov_len = 7},
	};
	ssize_t w = writev(1, iov, 4);
	printf("writev returned %zd\n", w);
	return 0;
}
