/*
 * Native side of the random differential test: runs test cases on the host CPU (32-bit,
 * user mode) and reports the final architectural state.
 *
 * Built by the test with `gcc -m32 -O1 -static` (see harness.ts). Reads a batch of cases from
 * stdin, writes one result per case to stdout. Layout, shared with harness.ts:
 *
 *   code     CODE_BASE    (RWX, MAP_FIXED)  the case's instructions, then the exit stub
 *   scratch  SCRATCH_BASE (RW,  MAP_FIXED)  two pages: data area and the case's stack
 *
 * Input, per case (little endian):
 *   u16 codeLength (0xFFFF ends the batch), u16 patchBytes,
 *   u32 eax ecx edx ebx esp ebp esi edi, u32 eflags, u32 memorySeed,
 *   patchBytes bytes of patches: { u16 offset, u16 length, length bytes } ...,
 *   codeLength bytes of code.
 * The scratch page is filled from memorySeed (xorshift32, see fillScratch in harness.ts), then
 * the patches are applied at their offsets.
 *
 * Output, per case:
 *   u32 status (0 = ran to the end, else the signal number), u32 fault EIP (0 if none),
 *   u32 eax ecx edx ebx esp ebp esi edi, u32 eflags,
 *   u16 diffCount, u16 0, then diffCount x { u16 offset, u8 value, u8 0 }:
 *   every scratch byte that differs from its initial value.
 * On a signal (SIGFPE for #DE, SIGILL, SIGSEGV, SIGBUS, SIGTRAP) the registers and EFLAGS are
 * those of the signal context, i.e. the state at the faulting instruction.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_BASE 0x00300000u
#define CODE_SIZE 0x2000u
#define SCRATCH_BASE 0x00200000u
#define SCRATCH_SIZE 0x2000u
/* EFLAGS bits a case may set: CF PF AF ZF SF OF DF (user-mode settable, harmless). */
#define EFLAGS_CASE_MASK 0x0cd5u

struct cpu_state {
  uint32_t regs[8];
  uint32_t eflags;
};

/* Accessed by absolute address from the assembly below and from the generated exit stub. */
struct cpu_state in_state;
struct cpu_state out_state;
uint32_t host_esp;
uint32_t code_entry = CODE_BASE;
uint32_t exit_target;
uint32_t private_stack[256];

void run_code(void);
void run_code_exit(void);

/* Loads the case's registers and EFLAGS and jumps to the code; the exit stub jumps back to
 * run_code_exit, which restores the C environment. Only the callee-saved registers matter. */
__asm__(
    ".text\n"
    ".globl run_code\n"
    "run_code:\n"
    "  pushl %ebp\n"
    "  pushl %ebx\n"
    "  pushl %esi\n"
    "  pushl %edi\n"
    "  movl %esp, host_esp\n"
    "  pushl in_state+32\n"
    "  popfl\n"
    "  movl in_state+4, %ecx\n"
    "  movl in_state+8, %edx\n"
    "  movl in_state+12, %ebx\n"
    "  movl in_state+20, %ebp\n"
    "  movl in_state+24, %esi\n"
    "  movl in_state+28, %edi\n"
    "  movl in_state+0, %eax\n"
    "  movl in_state+16, %esp\n"
    "  jmp *code_entry\n"
    ".globl run_code_exit\n"
    "run_code_exit:\n"
    "  movl host_esp, %esp\n"
    "  cld\n"
    "  popl %edi\n"
    "  popl %esi\n"
    "  popl %ebx\n"
    "  popl %ebp\n"
    "  ret\n");

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_sig;
static volatile uint32_t fault_eip;

static void on_signal(int sig, siginfo_t *info, void *context) {
  (void)info;
  ucontext_t *uc = (ucontext_t *)context;
  greg_t *g = uc->uc_mcontext.gregs;
  out_state.regs[0] = (uint32_t)g[REG_EAX];
  out_state.regs[1] = (uint32_t)g[REG_ECX];
  out_state.regs[2] = (uint32_t)g[REG_EDX];
  out_state.regs[3] = (uint32_t)g[REG_EBX];
  out_state.regs[4] = (uint32_t)g[REG_UESP];
  out_state.regs[5] = (uint32_t)g[REG_EBP];
  out_state.regs[6] = (uint32_t)g[REG_ESI];
  out_state.regs[7] = (uint32_t)g[REG_EDI];
  out_state.eflags = (uint32_t)g[REG_EFL];
  fault_eip = (uint32_t)g[REG_EIP];
  fault_sig = sig;
  siglongjmp(fault_jmp, 1);
}

/* Runs the loaded case; a signal during it returns here through fault_jmp. Kept out of main
 * so that no local variable of the batch loop lives across sigsetjmp. */
static __attribute__((noinline)) void execute(void) {
  fault_sig = 0;
  fault_eip = 0;
  if (sigsetjmp(fault_jmp, 1) == 0) run_code();
}

static uint8_t *code;
static uint8_t *scratch;
static uint8_t initial[SCRATCH_SIZE];

static void put8(uint8_t **p, uint8_t v) { *(*p)++ = v; }
static void put32(uint8_t **p, uint32_t v) {
  memcpy(*p, &v, 4);
  *p += 4;
}

/* The exit stub: saves all eight registers by absolute address (no register or stack use),
 * switches to a private stack, saves EFLAGS, and jumps back into run_code_exit. */
static size_t write_stub(uint8_t *p) {
  uint8_t *start = p;
  uint32_t out = (uint32_t)(uintptr_t)&out_state;
  put8(&p, 0xa3); /* mov [out], eax */
  put32(&p, out);
  for (int r = 1; r < 8; r++) {
    put8(&p, 0x89); /* mov [out + 4r], r32 */
    put8(&p, (uint8_t)(0x05 | (r << 3)));
    put32(&p, out + 4u * (uint32_t)r);
  }
  put8(&p, 0xbc); /* mov esp, private stack top */
  put32(&p, (uint32_t)(uintptr_t)&private_stack[255]);
  put8(&p, 0x9c); /* pushfd */
  put8(&p, 0x8f); /* pop dword [out + 32] */
  put8(&p, 0x05);
  put32(&p, out + 32u);
  put8(&p, 0xff); /* jmp dword [exit_target] */
  put8(&p, 0x25);
  put32(&p, (uint32_t)(uintptr_t)&exit_target);
  return (size_t)(p - start);
}

static void fill_scratch(uint32_t seed) {
  uint32_t x = seed ^ 0x9e3779b9u;
  if (x == 0) x = 1;
  for (uint32_t k = 0; k < SCRATCH_SIZE; k += 4) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    memcpy(scratch + k, &x, 4);
  }
}

static uint8_t *read_all(size_t *length) {
  size_t cap = 1 << 20, len = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (len == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
    }
    size_t n = fread(buf + len, 1, cap - len, stdin);
    if (n == 0) break;
    len += n;
  }
  *length = len;
  return buf;
}

static void die(const char *what) {
  fprintf(stderr, "native-harness: %s\n", what);
  exit(2);
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

int main(void) {
  code = mmap((void *)CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (code != (uint8_t *)CODE_BASE) die("cannot map the code area at its fixed address");
  scratch = mmap((void *)SCRATCH_BASE, SCRATCH_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (scratch != (uint8_t *)SCRATCH_BASE) die("cannot map the scratch area at its fixed address");
  exit_target = (uint32_t)(uintptr_t)&run_code_exit;

  static uint8_t altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) die("sigaltstack");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  int signals[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGTRAP};
  for (size_t k = 0; k < sizeof signals / sizeof signals[0]; k++) {
    if (sigaction(signals[k], &sa, NULL) != 0) die("sigaction");
  }

  size_t length;
  uint8_t *input = read_all(&length);
  static char outbuf[1 << 20];
  setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  static uint8_t result[44 + 4 + 4 * SCRATCH_SIZE];

  size_t pos = 0;
  for (;;) {
    if (pos + 4 > length) die("truncated input");
    uint16_t code_length = rd16(input + pos);
    uint16_t patch_bytes = rd16(input + pos + 2);
    if (code_length == 0xffff) break;
    if (pos + 44 + patch_bytes + code_length > length) die("truncated case");
    const uint8_t *h = input + pos + 4;
    for (int r = 0; r < 8; r++) in_state.regs[r] = rd32(h + 4 * r);
    in_state.eflags = (rd32(h + 32) & EFLAGS_CASE_MASK) | 0x202u;
    fill_scratch(rd32(h + 36));
    const uint8_t *patch = h + 40;
    const uint8_t *patch_end = patch + patch_bytes;
    while (patch < patch_end) {
      uint16_t off = rd16(patch), len = rd16(patch + 2);
      if (off + len > SCRATCH_SIZE) die("patch outside the scratch page");
      memcpy(scratch + off, patch + 4, len);
      patch += 4 + len;
    }
    if (code_length + 64u > CODE_SIZE) die("code too long");
    memcpy(code, patch_end, code_length);
    write_stub(code + code_length);
    memcpy(initial, scratch, SCRATCH_SIZE);
    pos += 44 + patch_bytes + code_length;

    execute();

    uint8_t *o = result;
    uint32_t status = (uint32_t)fault_sig;
    memcpy(o, &status, 4);
    uint32_t eip = fault_eip;
    memcpy(o + 4, &eip, 4);
    memcpy(o + 8, out_state.regs, 32);
    memcpy(o + 40, &out_state.eflags, 4);
    uint8_t *d = o + 48;
    uint16_t count = 0;
    for (uint32_t k = 0; k < SCRATCH_SIZE; k += 4) {
      if (memcmp(scratch + k, initial + k, 4) == 0) continue;
      for (uint32_t b = k; b < k + 4; b++) {
        if (scratch[b] == initial[b]) continue;
        d[0] = (uint8_t)b;
        d[1] = (uint8_t)(b >> 8);
        d[2] = scratch[b];
        d[3] = 0;
        d += 4;
        count++;
      }
    }
    o[44] = (uint8_t)count;
    o[45] = (uint8_t)(count >> 8);
    o[46] = 0;
    o[47] = 0;
    fwrite(result, 1, (size_t)(d - result), stdout);
  }
  fflush(stdout);
  return 0;
}
