/**
 * Small protected-mode guests in GNU assembler for the hypervisor's tests: a common setup (own
 * GDT with ring 0 and ring 3 segments, a TSS, an IDT, 4 KiB paging over the first 4 MiB) and
 * bodies that exercise one mechanism each. They print on COM1 and leave through port 0xF4, so
 * a run's output and status can be compared between modes and with what the SDM says.
 *
 * Memory: page directory at 0x200000, page table at 0x201000 (identity map of 0-4 MiB,
 * supervisor read/write), ring-0 stack below 0x90000, exception stack (TSS.ESP0) below 0x8f000.
 */
import { idtGate, kernelFile } from '../machine/fixtures.ts';

/** Everything before the test's own code: segments, TSS, IDT gates, paging on with CR0.WP=1. */
const SETUP = `
    cli
    mov $0x90000, %esp
    lgdt gdtr
    ljmp $0x08, $1f
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $tss, %eax              # TSS descriptor base (selector 0x28)
    mov %ax, gdt + 0x28 + 2
    shr $16, %eax
    mov %al, gdt + 0x28 + 4
    mov %ah, gdt + 0x28 + 7
    mov $0x28, %ax
    ltr %ax
    # gates: #DE, #GP, #PF, and INT 0x80 callable from ring 3${idtGate(0, 'de_handler')}${idtGate(13, 'gp_handler')}${idtGate(14, 'pf_handler')}${idtGate(0x80, 'sys_handler', 0xee00)}
    lidt idtr
    mov $0x201000, %edi         # page table: 0-4 MiB identity, supervisor read/write
    mov $0x3, %eax
    mov $1024, %ecx
2:  mov %eax, (%edi)
    add $4, %edi
    add $0x1000, %eax
    loop 2b
    movl $0x201007, 0x200000    # PDE 0 (user allowed: the PTEs decide)
    mov $0x200000, %eax
    mov %eax, %cr3
    mov %cr0, %eax
    or $0x80010000, %eax        # PG | WP
    mov %eax, %cr0
    jmp main
`;

/** Handlers and helpers every guest has. */
const COMMON = `
putc:                           # AL -> COM1, waiting for THRE
    push %edx
    push %eax
    mov $0x3fd, %dx
1:  in (%dx), %al
    test $0x20, %al
    jz 1b
    pop %eax
    mov $0x3f8, %dx
    out %al, (%dx)
    pop %edx
    ret
puthex:                         # EAX as 8 hex digits and a space
    push %ecx
    push %ebx
    mov %eax, %ebx
    mov $8, %ecx
1:  rol $4, %ebx
    mov %bl, %al
    and $0xf, %al
    add $'0', %al
    cmp $'9', %al
    jbe 2f
    add $7, %al
2:  call putc
    loop 1b
    mov $' ', %al
    call putc
    pop %ebx
    pop %ecx
    ret
newline:
    mov $'\\n', %al
    jmp putc
exit0:
    xor %al, %al
    out %al, $0xf4
    hlt
pf_handler:                     # "P cr2 error": maps the page read/write (lazy allocation) and retries
    pusha
    mov $'P', %al
    call putc
    mov %cr2, %eax
    call puthex
    mov 32(%esp), %eax
    call puthex
    call newline
    testl $3, 40(%esp)
    jnz finish                  # from ring 3: the test is over
    mov %cr2, %ebx
    mov %ebx, %eax
    shr $12, %eax
    and $0x3ff, %eax
    and $~0xfff, %ebx
    or $3, %ebx
    mov %ebx, 0x201000(,%eax,4)
    mov %cr2, %eax
    invlpg (%eax)
    popa
    add $4, %esp
    iret
de_handler:                     # "D", then skip the 2-byte DIV
    pusha
    mov $'D', %al
    call putc
    call newline
    popa
    addl $2, (%esp)
    iret
gp_handler:                     # "G error", then skip the 3-byte MOV to CRn
    pusha
    mov $'G', %al
    call putc
    mov 32(%esp), %eax
    call puthex
    call newline
    popa
    add $4, %esp
    addl $3, (%esp)
    iret
sys_handler:                    # "S eax"
    pusha
    mov $'S', %al
    call putc
    mov 28(%esp), %eax
    call puthex
    call newline
    popa
    iret
.align 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    # 0x08 ring-0 code
    .quad 0x00cf92000000ffff    # 0x10 ring-0 data
    .quad 0x00cffa000000ffff    # 0x18 ring-3 code
    .quad 0x00cff2000000ffff    # 0x20 ring-3 data
    .word 103, 0                # 0x28 TSS (base filled in at run time)
    .byte 0, 0x89, 0, 0
gdt_end:
gdtr:
    .word gdt_end - gdt - 1
    .long gdt
.align 8
idt:
    .fill 0x81 * 8, 1, 0
idtr:
    .word 0x81 * 8 - 1
    .long idt
tss:
    .long 0, 0x8f000, 0x10      # link, ESP0, SS0
    .fill 104 - 12, 1, 0
`;

function guest(name: string, main: string, extra = ''): string {
  // The page-fault handler ends a ring-3 fault at \`finish\`: by default, exit.
  const finish = main.includes('finish:') ? '' : 'finish:\n    jmp exit0\n';
  return kernelFile(name, `${SETUP}main:\n${main}\n${finish}${COMMON}${extra}`);
}

/**
 * Faults and privileged instructions whose results the SDM fixes: a not-present read, a write
 * to a read-only page under CR0.WP=1 and under WP=0, #DE, #GP(0) from invalid CR0 and CR4
 * values, a system call from ring 3 through a DPL-3 gate, and a ring-3 read of a supervisor
 * page; then the accessed and dirty bits the hardware left in the entries.
 */
export function faultsGuest(): string {
  return guest(
    'faults.elf',
    `
    movl $0x5a5a1234, 0x300120  # (paging is on, the page is mapped: set the value the fault will find)
    movl $0, 0x201000 + 0x300 * 4
    movl $0x301001, 0x201000 + 0x301 * 4
    mov %cr3, %eax
    mov %eax, %cr3
    mov 0x300120, %eax          # not present: #PF error 0, CR2 0x300120
    call puthex
    call newline
    movl $1, 0x301000           # read-only, WP=1: #PF error 3
    mov 0x301000, %eax
    call puthex
    call newline
    mov %cr0, %eax              # WP=0: a supervisor write to a read-only page succeeds
    and $~0x10000, %eax
    mov %eax, %cr0
    movl $0x301001, 0x201000 + 0x301 * 4
    invlpg 0x301000
    movl $0x77, 0x301004
    mov 0x301004, %eax
    call puthex
    call newline
    mov %cr0, %eax
    or $0x10000, %eax
    mov %eax, %cr0
    xor %ecx, %ecx
    div %ecx                    # #DE
    mov $0x80000011, %eax
    and $~1, %eax
    mov %eax, %cr0              # PG without PE: #GP(0)
    mov $0x80000000, %eax
    mov %eax, %cr4              # a reserved CR4 bit: #GP(0)
    mov $user, %eax             # the user page and stack page become user pages
    shr $12, %eax
    movl $0, 0x201000(,%eax,4)
    mov $user, %ebx
    and $~0xfff, %ebx
    or $7, %ebx
    mov %ebx, 0x201000(,%eax,4)
    movl $0x302007, 0x201000 + 0x302 * 4
    mov %cr3, %eax
    mov %eax, %cr3
    push $0x23
    push $0x303000
    push $0x2
    push $0x1b
    push $user
    iret
finish:
    mov 0x201000 + 0x300 * 4, %eax
    call puthex
    mov 0x201000 + 0x301 * 4, %eax
    call puthex
    mov 0x200000, %eax
    call puthex
    call newline
    jmp exit0
`,
    `
.align 4096
user:
    mov $0x23, %ax              # IRET to ring 3 nulled DS and ES (DPL 0 < CPL 3)
    mov %ax, %ds
    mov %ax, %es
    mov $42, %eax
    int $0x80                   # ring 3 -> ring 0 through the DPL-3 gate
    mov 0x100000, %eax          # a supervisor page: #PF error 5 (present, user)
    jmp .
.align 4096
`,
  );
}

/** The output faultsGuest must print, from the SDM's rules (vol. 3, 4.7 error codes, 4.8 A/D bits). */
export const FAULTS_EXPECTED = [
  'P00300120 00000000 ',
  '5A5A1234 ',
  'P00301000 00000003 ',
  '00000001 ',
  '00000077 ',
  'D',
  'G00000000 ',
  'G00000000 ',
  'S0000002A ',
  'P00100000 00000005 ',
  // PTE 0x300: P|RW from the handler, A from the retried read; PTE 0x301: P (read-only), A|D
  // from the WP=0 write; PDE 0: P|RW|US and A.
  '00300023 00301061 00201027 ',
  '',
].join('\n');

/** Writes its own page table for ever (every write is a trace fault under the shadow MMU). */
export function tableWriterGuest(): string {
  return guest('table-writer.elf', '1:  incl 0x201000 + 0x3ff * 4\n    jmp 1b');
}

/** Jumps to an address no entry maps, with no handler for #PF or #GP (their gates are cleared): a triple fault. */
export function unmappedJumpGuest(): string {
  return guest('unmapped.elf', '    movl $0, idt + 14 * 8 + 4\n    movl $0, idt + 13 * 8 + 4\n    mov $0x800000, %eax\n    jmp *%eax');
}

/** Reads and writes guest-physical addresses beyond RAM with paging off: all ones, writes dropped. */
export function beyondRamGuest(): string {
  return guest(
    'beyond-ram.elf',
    `
    mov %cr0, %eax
    and $0x7fffffff, %eax
    mov %eax, %cr0              # paging off
    movl $0x12345678, 0x3ff00000
    mov 0x3ff00000, %eax
    call puthex
    call newline
    jmp exit0
`,
  );
}

/**
 * A long x87 computation (x87 state live across many scheduler slices): acc = sqrt(acc * x + x),
 * `iterations` times, with `seed` as x; prints the double result's two words. Two of these with
 * different seeds on one host must each print what they print alone: the VMM keeps every VM's
 * FPU its own.
 */
export function fpuLoopGuest(seedHex: string, iterations: number): string {
  return guest(
    `fpu-${seedHex}.elf`,
    `
    fninit
    fldl seed
    fld1
    mov $${iterations}, %ecx
1:  fmul %st(1), %st
    fadd %st(1), %st
    fsqrt
    loop 1b
    fstpl result
    mov result + 4, %eax
    call puthex
    mov result, %eax
    call puthex
    call newline
    jmp exit0
.align 8
seed: .quad 0x${seedHex}
result: .quad 0`,
  );
}
