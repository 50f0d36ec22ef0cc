/**
 * A guest that drops to real mode under each technique. It leaves protected mode (SDM vol. 3,
 * 9.9.2), takes INT 42H through its vector table 100 times, reads a port, and comes back; it prints
 * what it counted. Every mode must print what native prints. How each ran it is the point:
 * trap runs the real-mode code in virtual-8086 mode on the real CPU — each INT n and IN traps and
 * is emulated, and only the stretch right after CR0.PE is cleared (CS and the data segments still
 * hold protected-mode bases) is interpreted; hw runs it natively in paged real mode, where INT n
 * never exits; interpret runs it on its vCPU like everything else.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MachineRun } from '../../src/api/index.ts';
import { kernelFile } from '../machine/fixtures.ts';
import { runGuest } from '../machine/boot.ts';

const BLOB = 0x8000;

const guest = kernelFile(
  'real-mode.elf',
  `
    cli
    lgdt gdtr
    ljmp $0x08, $1f
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    mov $0x90000, %esp
    mov $blob, %esi             # the real-mode code below 1 MiB
    mov $${BLOB}, %edi
    mov $(blob_end - blob), %ecx
    rep movsb
    ljmp $0x18, $0              # 16-bit protected mode at ${BLOB}
back:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    mov $0x90000, %esp
    movzwl ${BLOB} + (count - blob), %eax
    call puthex
    movzbl ${BLOB} + (lsr - blob), %eax
    call puthex
    mov $'\\n', %al
    call putc
    xor %al, %al
    out %al, $0xf4
    hlt
putc:
    mov %al, %ah
    mov $0x3f8, %dx
    mov %ah, %al
    out %al, (%dx)
    ret
puthex:
    mov %eax, %ebx
    mov $8, %ecx
2:  rol $4, %ebx
    mov %bl, %al
    and $0xf, %al
    add $'0', %al
    cmp $'9', %al
    jbe 3f
    add $7, %al
3:  call putc
    loop 2b
    mov $' ', %al
    jmp putc
.code16
blob:
    mov $0x20, %ax              # 64 KiB data segments, then PE off
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    mov %cr0, %eax
    and $0xfffffffe, %eax
    mov %eax, %cr0
    ljmp $${BLOB >> 4}, $(rm - blob)
rm:
    xor %ax, %ax
    mov %ax, %ss
    mov $0x7000, %sp
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov $${BLOB >> 4}, %ax
    mov %ax, %ds
    movw $(handler - blob), %es:0x42 * 4
    movw $${BLOB >> 4}, %es:0x42 * 4 + 2
    mov $100, %cx
4:  int $0x42
    loop 4b
    mov $0x3fd, %dx
    in %dx, %al
    mov %al, (lsr - blob)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x08, $back
handler:
    incw (count - blob)
    iret
count:
    .word 0
lsr:
    .byte 0
blob_end:
.code32
.align 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    # 0x08 code
    .quad 0x00cf92000000ffff    # 0x10 data
    .quad 0x00009a008000ffff    # 0x18 16-bit code at ${BLOB}
    .quad 0x000092000000ffff    # 0x20 16-bit data at 0
gdt_end:
gdtr:
    .word gdt_end - gdt - 1
    .long gdt
`,
);

/** Exits of a run with `detail` (the instruction's mnemonic for emulations). */
function exitsOf(run: MachineRun, detail: string): number {
  return run.vmm!.exits.reasons.filter((r) => r.detail === detail).reduce((n, r) => n + r.count, 0);
}

describe('a real-mode guest in every mode', () => {
  const native = runGuest(guest);

  it('prints natively what the SDM says: 100 interrupts taken, the UART line status read', () => {
    assert.equal(native.output, '00000064 00000060 \n');
    assert.deepEqual(native.exit, { kind: 'exit', status: 1 });
  });

  it('trap: V86 mode on the real CPU, each INT and IN emulated; only the segments left from protected mode are interpreted', () => {
    const trap = runGuest(guest, { mode: 'trap' });
    assert.equal(trap.output, native.output);
    assert.deepEqual(trap.exit, native.exit);
    assert.equal(exitsOf(trap, 'int'), 100, 'every INT n traps in V86 mode at IOPL 0');
    assert.equal(exitsOf(trap, 'iret'), 100, 'and every IRET');
    const interpreted = exitsOf(trap, 'interpreted (real mode)');
    assert.ok(interpreted >= 1 && interpreted <= 2, `interpreted ${interpreted} times`);
  });

  it('hw: paged real mode in guest mode: INT n and IRET never exit', () => {
    const hw = runGuest(guest, { mode: 'hw' });
    assert.equal(hw.output, native.output);
    assert.equal(exitsOf(hw, 'int'), 0);
    assert.equal(exitsOf(hw, 'iret'), 0);
    assert.ok(exitsOf(hw, 'in') >= 1, 'the IN is the VMM\'s (port I/O is intercepted)');
  });

  it('interpret: the same', () => {
    const interpret = runGuest(guest, { mode: 'interpret' });
    assert.equal(interpret.output, native.output);
  });
});
