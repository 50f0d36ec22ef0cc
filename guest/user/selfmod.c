/*
 * selfmod.c - self-modifying and generated code. Writes i386 machine code into
 * memory, runs it, rewrites it in place and runs it again: a CPU that caches
 * decoded instructions must notice every write (native hardware does).
 *   1. a function in an mmap'd page (PROT_READ|WRITE|EXEC) returning a constant,
 *      patched 1000 times, each result checked;
 *   2. a loop whose immediate is patched by the loop body itself while running;
 *   3. code copied to a second page and made executable with mprotect.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn_t)(void);

/* mov eax, imm32 ; ret */
static void emit_const(unsigned char *p, int value)
{
	p[0] = 0xb8;
	memcpy(p + 1, &value, 4);
	p[5] = 0xc3;
}

int main(void)
{
	unsigned char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	unsigned sum = 0;
	for (int k = 0; k < 1000; k++) {
		emit_const(page, k * 7 + 1);
		int got = ((fn_t)page)();
		if (got != k * 7 + 1) {
			printf("patch %d: expected %d, got %d\n", k, k * 7 + 1, got);
			return 1;
		}
		sum = sum * 31 + (unsigned)got;
	}
	printf("1. patched a function 1000 times: checksum %08x\n", sum);

	/*
	 * 2. A loop that rewrites its own immediate operand:
	 *      mov ecx, 10
	 *   L: mov eax, imm32          ; imm at offset 6
	 *      inc eax
	 *      mov [esi+6], eax        ; esi = code address: patch the imm above
	 *      dec ecx
	 *      jnz L
	 *      ret
	 */
	static const unsigned char loop[] = {
		0xb9, 0x0a, 0x00, 0x00, 0x00,	    /* mov ecx, 10 */
		0xb8, 0x00, 0x00, 0x00, 0x00,	    /* L: mov eax, 0 */
		0x40,				    /* inc eax */
		0x89, 0x46, 0x06,		    /* mov [esi+6], eax */
		0x49,				    /* dec ecx */
		0x75, 0xf4,			    /* jnz L */
		0xc3,				    /* ret */
	};
	unsigned char *code = page + 4096;
	memcpy(code, loop, sizeof loop);
	int result;
	__asm__ volatile("call *%1" : "=a"(result) : "S"(code) : "ecx", "memory");
	printf("2. self-patching loop: eax = %d (each pass saw the previous pass's write)\n", result);

	unsigned char *other = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	emit_const(other, 424242);
	if (mprotect(other, 4096, PROT_READ | PROT_EXEC) != 0) {
		perror("mprotect");
		return 1;
	}
	printf("3. code made executable by mprotect returned %d\n", ((fn_t)other)());
	return 0;
}
