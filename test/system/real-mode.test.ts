/**
 * Real-address mode (Intel SDM vol. 3, chapters 9 and 20.1; vol. 2, MOV, JMP, INT n, IRET
 * "real-address mode"): leaving protected mode as 9.9.2 says, segment arithmetic (base =
 * selector << 4), hidden limits kept across a real-mode load (the "unreal mode" of real
 * processors and QEMU), the interrupt vector table at IDTR.base with FLAGS/CS/IP pushed and no
 * error codes, IRET, #GP for the IVT limit and segment limits, external interrupts, the
 * instructions real mode does not recognize (#UD), going back to protected mode, and the
 * processor's state after RESET (9.1.1) with its first fetch at FFFFFFF0H.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cr0 } from '../../src/hw/x86/control-registers.ts';
import { Seg, SegAttr } from '../../src/hw/x86/descriptors.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { CODE, Machine, Sel, symbol } from './machine.ts';

/** A 16-bit code segment at CODE and a 16-bit data segment at 0 (64 KiB each), for leaving protected mode. */
const CODE16_AT_CODE = 0x190;
const DATA16 = 0x198;
/** The real-mode vector table the tests install (lidt), and the real-mode stack (0000:A000). */
const IVT = 0xc000;
const STACK = 0xa000;

/**
 * Protected mode -> real mode as SDM vol. 3, 9.9.2 describes it: a far jump to 16-bit code with a
 * 64 KiB limit, 64 KiB data segments in DS, ES, SS, GS (FS keeps the boot's flat 4 GiB segment),
 * CR0.PE cleared, a far jump to a real-mode CS (1000H, whose base is CODE). Then SS:SP = 0000:A000,
 * DS = ES = 0, and LIDT of the test's vector table.
 */
const TO_REAL_MODE = `
code_base:
  ljmp $${CODE16_AT_CODE}, $(pm16 - code_base)
.code16
pm16:
  mov $${DATA16}, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  mov %ax, %gs
  mov %cr0, %eax
  and $0xfffffffe, %eax
  mov %eax, %cr0
  ljmp $0x1000, $(rm - code_base)
rm:
  xor %ax, %ax
  mov %ax, %ss
  mov $${STACK}, %sp
  mov %ax, %ds
  mov %ax, %es
  lidt %cs:(ivtr - code_base)
`;

/** A machine set up to drop into real mode; `body` runs in real mode after the prologue. */
function realMachine(body: string, ivtLimit = 0x3ff): { m: Machine; at: (label: string) => number } {
  const m = new Machine({ cpl: 0 });
  m.setDescriptor(CODE16_AT_CODE >> 3, CODE, 0xffff, SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR);
  m.setDescriptor(DATA16 >> 3, 0, 0xffff, SegAttr.P | SegAttr.S | SegAttr.WR);
  const a = m.load(`
    ${TO_REAL_MODE}
    ${body}
  .balign 2
  ivtr:
    .word ${ivtLimit}
    .long ${IVT}
  `);
  for (let k = 0; k < 0x400; k += 4) m.w32(IVT + k, 0);
  return { m, at: (label) => symbol(a, label) };
}

/** Points IVT entry `vector` at `label`'s address (an offset in CS 1000H). */
function vectorTo(m: Machine, vector: number, address: number): void {
  m.w16(IVT + 4 * vector, address - CODE);
  m.w16(IVT + 4 * vector + 2, 0x1000);
}

/** The three words a real-mode event pushed at 0000:sp: [IP, CS, FLAGS]. */
function frameAt(m: Machine, sp: number): number[] {
  const w = (a: number) => m.r32(a) & 0xffff;
  return [w(sp), w(sp + 2), w(sp + 4)];
}

/** A handler that records SP in SI and FLAGS in DI, then stops. */
const RECORD = `
  mov %sp, %si
  pushf
  pop %di
  out %al, $DONE_PORT`;

describe('entering real mode (SDM vol. 3, 9.9.2, 20.1.1)', () => {
  it('clearing CR0.PE, then a far jump: CS = 1000H with base 10000H; MOV to DS gives base selector << 4', () => {
    const { m } = realMachine(`
      mov $0x1234, %ax
      mov %ax, %ds
      movw $0x5678, 0x10
      out %al, $DONE_PORT`);
    m.runToDone();
    const c = m.cpu;
    assert.equal(c.cr0 & Cr0.PE, 0);
    assert.equal(c.segSel[Seg.CS], 0x1000);
    assert.equal(c.segBase[Seg.CS], 0x10000);
    assert.equal(c.cs32, false, '16-bit code');
    assert.equal(c.cpl, 0);
    assert.equal(c.segBase[Seg.DS], 0x12340);
    assert.equal(m.r32(0x12350) & 0xffff, 0x5678, '1234:0010 is linear 12350H');
    assert.equal(c.segLimit[Seg.DS], 0xffff, 'the limit loaded in protected mode stays');
  });

  it('a hidden 4 GiB limit survives a real-mode load ("unreal mode"); a 64 KiB one faults beyond FFFFH: #GP, no error code', () => {
    const { m, at } = realMachine(`
      mov $0x2000, %ax
      mov %ax, %fs
      mov $0x100000, %ebx
      addr32 movl $0xcafe, %fs:(%ebx)
      mov $0xffff, %ebx
    insn:
      addr32 movw $1, (%ebx)
      hlt
    gp:
      ${RECORD}`);
    vectorTo(m, Vector.GP, at('gp'));
    m.runToDone();
    assert.equal(m.r32(0x120000), 0xcafe, '2000:00100000 reaches linear 120000H through the kept 4 GiB limit');
    assert.equal(m.cpu.segLimit[Seg.FS]! >>> 0, 0xffffffff);
    assert.equal(m.esi, STACK - 6, 'three words pushed: no error code in real mode');
    assert.deepEqual(frameAt(m, STACK - 6).slice(0, 2), [at('insn') - CODE, 0x1000], 'IP of the faulting MOV');
  });

  it('a CS: override may write in real mode (no type checks), although CS was a code segment', () => {
    const { m } = realMachine(`
      movw $0x4321, %cs:0xf000
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.r32(0x1f000) & 0xffff, 0x4321);
  });
});

describe('interrupts in real mode (SDM vol. 3, 20.1.4; vol. 2, INT n, IRET)', () => {
  it('INT n: the vector table at IDTR.base; FLAGS, CS, IP pushed as words; IF and TF cleared; IRET restores them', () => {
    const { m, at } = realMachine(`
      sti
      mov $0x77, %cx
      int $0x30
    after:
      pushf
      pop %dx
      out %al, $DONE_PORT
    handler:
      mov %sp, %si
      pushf
      pop %di
      iret`);
    vectorTo(m, 0x30, at('handler'));
    m.runToDone();
    assert.equal(m.esi, STACK - 6);
    const [ip, cs, flags] = frameAt(m, STACK - 6);
    assert.deepEqual([ip, cs], [at('after') - CODE, 0x1000]);
    assert.equal(flags & Eflags.IF, Eflags.IF, 'the FLAGS pushed had IF=1');
    assert.equal(m.edi & (Eflags.IF | Eflags.TF), 0, 'the handler runs with IF=0, TF=0');
    assert.equal(m.edx & Eflags.IF, Eflags.IF, 'IRET brought IF back');
    assert.equal(m.esp & 0xffff, STACK);
  });

  it('#DE: a fault through vector 0 with the IP of the DIV', () => {
    const { m, at } = realMachine(`
      xor %cl, %cl
      mov $1, %ax
    insn:
      div %cl
      hlt
    de:
      ${RECORD}`);
    vectorTo(m, Vector.DE, at('de'));
    m.runToDone();
    assert.equal(m.esi, STACK - 6);
    assert.equal(frameAt(m, STACK - 6)[0], at('insn') - CODE);
  });

  it('a vector beyond the IDTR limit: #GP with the IP of the INT', () => {
    const { m, at } = realMachine(
      `
    insn:
      int $0x30
      hlt
    gp:
      ${RECORD}`,
      4 * 0x20 - 1,
    );
    vectorTo(m, Vector.GP, at('gp'));
    m.runToDone();
    assert.equal(frameAt(m, STACK - 6)[0], at('insn') - CODE);
  });

  it('an external interrupt with IF=1 goes through the vector table with the IP of the next instruction', () => {
    const { m, at } = realMachine(`
      sti
      out %al, $IRQ_PORT
    after:
      hlt
    irq:
      ${RECORD}`);
    vectorTo(m, 0x20, at('irq'));
    m.runToDone();
    assert.equal(m.acks, 1);
    assert.equal(frameAt(m, STACK - 6)[0], at('after') - CODE);
  });

  it('IRETD in real mode loads EFLAGS AND 257FD5H and keeps VM, VIF, VIP (SDM vol. 2, IRET)', () => {
    const { m } = realMachine(`
      pushl $0xfffffeff
      pushl $0x1000
      pushl $(next - code_base)
      iretl
    next:
      pushfl
      popl %edx
      out %al, $DONE_PORT`);
    m.runToDone();
    // All ones but TF (which would single-step): 257FD5H of it, bit 1 reads 1, PUSHFD reads RF as 0.
    assert.equal(m.edx, ((0x257fd5 & ~Eflags.TF & ~Eflags.RF) | Eflags.FIXED1) >>> 0);
    assert.equal(m.eflags() & Eflags.RF, Eflags.RF, 'RF was loaded');
  });
});

describe('instructions in real mode', () => {
  it('LLDT, LTR, SLDT, STR, LAR, VERR, ARPL are not recognized: #UD', () => {
    for (const insn of ['lldt %ax', 'ltr %ax', 'sldt %ax', 'str %ax', 'lar %ax, %bx', 'verr %ax', 'arpl %ax, %bx']) {
      const { m, at } = realMachine(`
      insn:
        ${insn}
        hlt
      ud:
        ${RECORD}`);
      vectorTo(m, Vector.UD, at('ud'));
      m.runToDone();
      assert.equal(frameAt(m, STACK - 6)[0], at('insn') - CODE, insn);
    }
  });

  it('back to protected mode: set PE, far jump to a 32-bit code selector; CPL 0, descriptors in force again', () => {
    const { m, at } = realMachine(`
      mov %cr0, %eax
      or $1, %eax
      mov %eax, %cr0
      ljmpl $${Sel.CODE0}, $pm32
    .code32
    pm32:
      mov $${Sel.DATA0}, %ax
      mov %ax, %ds
      mov %ax, %ss
      movl $0x13579bdf, 0x300000
      out %al, $DONE_PORT`);
    m.runToDone();
    const c = m.cpu;
    assert.equal(c.cr0 & Cr0.PE, Cr0.PE);
    assert.equal(c.cs32, true);
    assert.equal(c.cpl, 0);
    assert.equal(c.segBase[Seg.CS], 0);
    assert.equal(c.segLimit[Seg.DS]! >>> 0, 0xffffffff);
    assert.equal(m.r32(0x300000), 0x13579bdf);
    assert.ok(at('pm32') > CODE);
  });

  it('MOV CR0 with PG=1 and PE=0 is #GP(0) (SDM vol. 3, 2.5)', () => {
    const m = new Machine({ cpl: 0, paging: true });
    const a = m.load(`
      mov %cr0, %eax
      and $0xfffffffe, %eax
    insn:
      mov %eax, %cr0`);
    const f = m.runToEvent();
    assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, 0, symbol(a, 'insn')]);
  });
});

describe('the state after RESET (SDM vol. 3, 9.1.1, table 9-1)', () => {
  it('real mode, CS F000H with base FFFF0000H: the first instruction is fetched at FFFFFFF0H; a far jump gives CS a 20-bit base', () => {
    const m = new Machine();
    // A 64 KiB "ROM" at the top of the address space: a far jump at FFFFFFF0H to 1000:0000.
    const rom = new Uint8Array(0x10000);
    rom.set([0xea, 0x00, 0x00, 0x00, 0x10], 0xfff0);
    m.mem.mapMmio(0xffff0000, 0x10000, { read: (o, size) => (size === 1 ? rom[o]! : size === 2 ? rom[o]! | (rom[o + 1]! << 8) : new DataView(rom.buffer).getInt32(o, true)), write: () => {} });
    m.load(`
    .code16
      mov %cs, %ax
      out %al, $DONE_PORT`);
    m.cpu.powerOn();
    const c = m.cpu;
    assert.equal(c.cr0 >>> 0, 0x60000010);
    assert.equal(c.eip, 0xfff0);
    assert.equal(c.segSel[Seg.CS], 0xf000);
    assert.equal(c.segBase[Seg.CS]! >>> 0, 0xffff0000);
    assert.equal(c.regs[2], 0x610, 'EDX: the processor signature (9.1.4)');
    assert.equal(m.eflags(), Eflags.FIXED1);
    m.runToDone();
    assert.equal(c.segBase[Seg.CS], 0x10000);
    assert.equal(m.eax & 0xffff, 0x1000);
  });
});
