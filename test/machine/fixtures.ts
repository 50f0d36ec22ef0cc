/**
 * Tiny multiboot kernels for tests, in GNU assembler (assembled at test time with the system
 * tests' helper): an a.out-kludge header (multiboot flags bit 16) makes the flat binary bootable
 * at 1 MiB without an ELF.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from '../system/assemble.ts';

const ORG = 0x100000;

/** Assembles `body` (which starts at label `entry`) into a multiboot kernel file; returns its path. */
export function kernelFile(name: string, body: string): string {
  const source = `
start:
    .long 0x1badb002
    .long 0x00010000
    .long -(0x1badb002 + 0x00010000)
    .long start, start, 0, 0, entry
entry:
${body}
`;
  const path = join(mkdtempSync(join(tmpdir(), 'shadowvisor-fixture-')), name);
  writeFileSync(path, assemble(source, ORG).code);
  return path;
}

/**
 * Programs the 8259 pair as a PC kernel does (ICW1-4: edge triggered, cascaded, vectors
 * 0x20-0x2F, 8086 mode) and masks every IRQ but those clear in `masterMask` (the slave masked).
 */
export function picInit(masterMask: number): string {
  return `
    mov $0x11, %al
    out %al, $0x20
    out %al, $0xa0
    mov $0x20, %al
    out %al, $0x21
    mov $0x28, %al
    out %al, $0xa1
    mov $4, %al
    out %al, $0x21
    mov $2, %al
    out %al, $0xa1
    mov $1, %al
    out %al, $0x21
    out %al, $0xa1
    mov $${masterMask}, %al
    out %al, $0x21
    mov $0xff, %al
    out %al, $0xa1`;
}

/**
 * Fills IDT entry `vector` of the table at label `idt` with a gate to label `handler` through
 * selector 0x08: `attr` 0x8e00 is a present DPL-0 32-bit interrupt gate, 0xee00 the same at DPL 3.
 */
export function idtGate(vector: number, handler: string, attr = 0x8e00): string {
  return `
    mov $${handler}, %eax
    mov %ax, idt + ${vector} * 8
    movw $0x08, idt + ${vector} * 8 + 2
    movw $${attr}, idt + ${vector} * 8 + 4
    shr $16, %eax
    mov %ax, idt + ${vector} * 8 + 6`;
}

/** Echoes COM1 input upper-cased until it reads '.', then exits through port 0xF4 with code 0. */
export const ECHO = `
next:
    mov $0x3fd, %dx
1:  in (%dx), %al
    test $1, %al          # LSR.DR: a byte has arrived
    jz 1b
    mov $0x3f8, %dx
    in (%dx), %al
    cmp $'.', %al
    je done
    cmp $'a', %al
    jb 2f
    cmp $'z', %al
    ja 2f
    sub $32, %al
2:  mov %al, %bl
    mov $0x3fd, %dx
3:  in (%dx), %al
    test $0x20, %al       # LSR.THRE
    jz 3b
    mov %bl, %al
    mov $0x3f8, %dx
    out %al, (%dx)
    jmp next
done:
    xor %al, %al
    out %al, $0xf4
`;

/**
 * Writes the 128 sectors of the primary master for ever, with PIO and no interrupts: in round
 * r every dword of sector s is (r << 16) | s, so a sector written only in part would show two
 * values.
 */
export const DISK_WRITER = `
    xor %esi, %esi              # round
round:
    xor %edi, %edi              # LBA
sector:
    mov $0x1f7, %dx
1:  in (%dx), %al
    test $0x80, %al             # BSY
    jnz 1b
    mov $0x1f6, %dx
    mov $0xe0, %al              # LBA mode, master
    out %al, (%dx)
    mov $0x1f2, %dx
    mov $1, %al
    out %al, (%dx)
    mov %edi, %eax
    mov $0x1f3, %dx
    out %al, (%dx)
    shr $8, %eax
    mov $0x1f4, %dx
    out %al, (%dx)
    shr $8, %eax
    mov $0x1f5, %dx
    out %al, (%dx)
    mov $0x1f7, %dx
    mov $0x30, %al              # WRITE SECTORS
    out %al, (%dx)
2:  in (%dx), %al
    test $0x08, %al             # DRQ
    jz 2b
    mov %esi, %eax
    shl $16, %eax
    or %edi, %eax
    mov $128, %ecx
    mov $0x1f0, %dx
3:  out %eax, (%dx)
    loop 3b
    inc %edi
    cmp $128, %edi
    jb sector
    inc %esi
    jmp round
`;

/**
 * Echoes COM1 input upper-cased like ECHO, but interrupt-driven: it masks every IRQ but 4,
 * leaves no timer running (PIT channel 0 one-shot, masked anyway) and waits in `sti; hlt`, so
 * between keystrokes nothing at all is scheduled: only input from outside can wake it.
 */
export const IRQ_ECHO = `
    cli
    mov $0x90000, %esp      # multiboot leaves ESP undefined: interrupts need a stack
    # 8259s at vectors 0x20/0x28, only IRQ 4 (COM1) unmasked${picInit(0xef)}
    mov $0x30, %al          # PIT channel 0, mode 0, count 1: one edge, then nothing scheduled
    out %al, $0x43
    mov $1, %al
    out %al, $0x40
    xor %al, %al
    out %al, $0x40
    # IDT entry 0x24 (IRQ 4): a 32-bit interrupt gate to handler${idtGate(0x24, 'handler')}
    lidt idtr
    mov $0x3f9, %dx         # IER: received-data interrupt
    mov $1, %al
    out %al, (%dx)
idle:
    sti
    hlt
    jmp idle
handler:
    mov $0x3fd, %dx
    in (%dx), %al
    test $1, %al
    jz eoi
    mov $0x3f8, %dx
    in (%dx), %al
    cmp $'.', %al
    je done
    cmp $'a', %al
    jb 1f
    cmp $'z', %al
    ja 1f
    sub $32, %al
1:  out %al, (%dx)
    jmp handler
eoi:
    mov $0x20, %al
    out %al, $0x20
    iret
done:
    xor %al, %al
    out %al, $0xf4
    hlt
.align 8
idt:
    .fill 0x25 * 8, 1, 0
idtr:
    .word 0x25 * 8 - 1
    .long idt
`;
