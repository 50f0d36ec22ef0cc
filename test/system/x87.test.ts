/**
 * The x87 as the operating system sees it: #NM by CR0.EM, CR0.TS and CR0.MP (SDM vol. 3, 2.5
 * table 2-2), the pending unmasked exception raised as #MF at the next waiting instruction with
 * CR0.NE=1 (vol. 1, 8.6-8.7) and the last-instruction pointers the handler finds, and with
 * CR0.NE=0 on the PC board the MS-DOS compatibility mode (vol. 1, appendix D): the processor
 * freezes at the waiting instruction and asserts FERR#, the board raises IRQ 13, the handler's
 * write to port 0xF0 lowers it and asserts IGNNE#, FNCLEX ends it all.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { symbol } from './assemble.ts';
import { CODE, DATA, Machine, asm, stubAddress } from './machine.ts';
import { Board } from '../../src/hw/platform/board.ts';
import { Cr0 } from '../../src/hw/x86/control-registers.ts';
import { SegAttr } from '../../src/hw/x86/descriptors.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { Sw } from '../../src/hw/cpu/fpu/fpu.ts';

/** Every ESC opcode byte with a register and a memory form (defined and undefined ones). */
const ESC_FORMS: readonly string[] = [];
for (let esc = 0xd8; esc <= 0xdf; esc++) {
  (ESC_FORMS as string[]).push(`.byte 0x${esc.toString(16)}, 0xd1`, `.byte 0x${esc.toString(16)}, 0x05; .long ${DATA}`);
}

describe('x87: #NM (SDM vol. 3, 2.5 table 2-2)', () => {
  it('every ESC opcode, defined or not, raises #NM with CR0.EM=1 or CR0.TS=1', () => {
    for (const cr0 of [Cr0.EM, Cr0.TS, Cr0.MP | Cr0.TS, Cr0.EM | Cr0.MP]) {
      for (const form of ESC_FORMS) {
        const m = new Machine({ cr0 });
        const a = m.load(`
        insn:
          ${form}
          out %al, $DONE_PORT`);
        const f = m.runToEvent();
        assert.equal(f.vector, Vector.NM, `${form} with CR0=${cr0.toString(16)}`);
        assert.equal(f.eip, symbol(a, 'insn'));
      }
    }
  });

  it('WAIT raises #NM only with CR0.MP=1 and TS=1; EM alone leaves it alone', () => {
    for (const [cr0, faults] of [
      [Cr0.MP | Cr0.TS, true],
      [Cr0.TS, false],
      [Cr0.EM, false],
      [Cr0.EM | Cr0.MP, false],
    ] as const) {
      const m = new Machine({ cr0 });
      const a = m.load(`
      insn:
        fwait
        out %al, $DONE_PORT`);
      if (faults) {
        const f = m.runToEvent();
        assert.equal(f.vector, Vector.NM);
        assert.equal(f.eip, symbol(a, 'insn'));
      } else m.runToDone();
    }
  });

  it('CLTS lets the x87 run again: the #NM handler of a lazy FPU switch', () => {
    const m = new Machine({ cr0: Cr0.TS | Cr0.MP });
    m.setGate(Vector.NM, { offset: CODE + 0x800 });
    m.load('clts\n iret', CODE + 0x800);
    m.load(`
      fninit
      fld1
      fld1
      faddp
      out %al, $DONE_PORT`);
    m.runToDone();
    const f = m.cpu.fpu;
    assert.equal(f.se[f.top], 0x4000);
    assert.equal(f.hi[f.top]! >>> 0, 0x80000000);
  });
});

describe('x87: stack faults (SDM vol. 1, 8.5.1.1)', () => {
  it('a push onto a full register: IE, SF, C1 = 1, and the masked response pushes the real indefinite', () => {
    const m = new Machine();
    m.load(`
      fninit
      fld1; fld1; fld1; fld1; fld1; fld1; fld1; fld1
      fnstsw %ax
      mov %eax, %ebx
      fldz
      fnstsw %ax
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.ebx & (Sw.IE | Sw.SF), 0, 'eight pushes fit');
    assert.equal(m.eax & (Sw.IE | Sw.SF | Sw.C1 | Sw.TOP), Sw.IE | Sw.SF | Sw.C1 | (7 << 11));
    const f = m.cpu.fpu;
    assert.deepEqual([f.se[f.top], f.hi[f.top]! >>> 0, f.lo[f.top]], [0xffff, 0xc0000000, 0]);
  });

  it('an empty operand: IE, SF, C1 = 0; masked, the destination gets the indefinite; unmasked, nothing changes', () => {
    const m = new Machine();
    m.load(`
      fninit
      fld1
      fadd %st(3), %st          # ST(3) is empty
      fnstsw %ax
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.eax & (Sw.IE | Sw.SF | Sw.C1 | Sw.ES), Sw.IE | Sw.SF);
    const f = m.cpu.fpu;
    assert.deepEqual([f.se[f.top], f.hi[f.top]! >>> 0], [0xffff, 0xc0000000]);
    const u = new Machine();
    u.load(`
      fninit
      fldcw cw                  # IE unmasked
      fld1
      fadd %st(3), %st
      fnstsw %ax
      out %al, $DONE_PORT
    cw: .word 0x37e`);
    u.runToDone();
    assert.equal(u.eax & (Sw.IE | Sw.SF | Sw.ES), Sw.IE | Sw.SF | Sw.ES);
    const g = u.cpu.fpu;
    assert.deepEqual([g.se[g.top], g.hi[g.top]! >>> 0], [0x3fff, 0x80000000], 'ST(0) still 1.0');
  });
});

describe('x87: pending exceptions with CR0.NE=1 (#MF, SDM vol. 1, 8.7)', () => {
  it('an unmasked exception is raised as #MF at the next waiting instruction; FIP, FOP and FDP point at its cause', () => {
    const m = new Machine({ cr0: Cr0.NE | Cr0.MP });
    const a = m.load(`
      fninit
      fldcw cw                    # zero-divide unmasked
      fldz
      fld1
    cause:
      fdivs zero                  # 1 / 0: ZE, pending
      mov $7, %ecx                # integer instructions run on
      fnstsw %ax                  # non-waiting: no #MF
      fnstcw scratch              # neither
    waiting:
      fld1
      out %al, $DONE_PORT
      .balign 4
    zero: .long 0
    cw: .word 0x37b
    scratch: .word 0`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.MF);
    assert.equal(f.errorCode, null);
    assert.equal(f.eip, symbol(a, 'waiting'));
    assert.equal(m.ecx, 7);
    assert.equal(m.eax & 0xffff & (Sw.ES | Sw.B | Sw.ZE), Sw.ES | Sw.B | Sw.ZE, 'FNSTSW saw ES, B and ZE');
    const fpu = m.cpu.fpu;
    assert.equal(fpu.fip >>> 0, symbol(a, 'cause'));
    assert.equal(fpu.fop, (0xd8 & 7) << 8 | 0x35, 'FOP: ESC bits and ModRM of fdivs disp32');
    assert.equal(fpu.fdp >>> 0, symbol(a, 'zero'));
    assert.equal(fpu.fcs, m.cpu.segSel[1]);
    // The destination was left alone (unmasked ZE: SDM vol. 1, 8.5.3), and nothing was pushed since.
    assert.equal(fpu.se[fpu.top], 0x3fff);
  });

  it('WAIT raises the pending #MF too; FNCLEX clears it so that nothing is raised', () => {
    const m = new Machine({ cr0: Cr0.NE });
    const a = m.load(`
      fninit
      fldcw cw
      fld1
      fdivs zero                  # 1 / 0: ZE
    wait1:
      fwait
      out %al, $DONE_PORT
    zero: .long 0
    cw: .word 0x37b`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.MF);
    assert.equal(f.eip, symbol(a, 'wait1'));
    const b = new Machine({ cr0: Cr0.NE });
    b.load(`
      fninit
      fldcw cw
      fld1
      fdivs zero
      fnclex
      fwait
      fld1
      out %al, $DONE_PORT
    zero: .long 0
    cw: .word 0x37b`);
    b.runToDone();
  });
});

/** A kernel fragment on the PC board: IDT, the 8259s programmed (slave base 0x28: IRQ 13 is vector 0x2d). */
const PIC_SETUP = `
  mov $0x11, %al
  out %al, $0x20
  out %al, $0xa0
  mov $0x20, %al
  out %al, $0x21
  mov $0x28, %al
  out %al, $0xa1
  mov $0x04, %al
  out %al, $0x21
  mov $0x02, %al
  out %al, $0xa1
  mov $0x01, %al
  out %al, $0x21
  out %al, $0xa1
  mov $0xfb, %al              # master: only the cascade
  out %al, $0x21
  mov $0xdf, %al              # slave: only IRQ 13
  out %al, $0xa1
`;

const BOARD_CODE = 0x100000;
const BOARD_IDT = 0x90000;

function boardWith(source: string, handler: string): { board: Board; symbols: ReturnType<typeof asm> } {
  const board = new Board({ ramBytes: 4 << 20, input: { read: () => -1, ready: () => false }, serial: { write: () => {} } });
  const a = asm(
    `
    lgdt gdtr                   # flat ring-0 code 0x08 and data 0x10, as the segment registers hold
    lidt idtr
    ${PIC_SETUP}
    ${source}
    .balign 16
  irq13:
    ${handler}
    mov $0x20, %al
    out %al, $0xa0
    out %al, $0x20
    iret
    .balign 8
  gdt: .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
  gdtr: .word 23
    .long gdt
  idtr: .word 0x7ff
    .long ${BOARD_IDT}
  count: .long 0
  pushed: .long 0
  zero: .long 0
  cw: .word 0x37b`,
    BOARD_CODE,
  );
  board.mem.writeBytes(BOARD_CODE, a.code);
  // Vector 0x2d: a 32-bit interrupt gate to irq13 in the boot code segment.
  const handlerAt = symbol(a, 'irq13');
  board.mem.write32(BOARD_IDT + 0x2d * 8, (board.cpu.segSel[1]! << 16) | (handlerAt & 0xffff));
  board.mem.write32(BOARD_IDT + 0x2d * 8 + 4, (handlerAt & 0xffff0000) | 0x8e00);
  board.cpu.eip = BOARD_CODE;
  board.cpu.regs[4] = 0x80000;
  return { board, symbols: a };
}

describe('x87: MS-DOS compatibility mode with CR0.NE=0 on the PC board (SDM vol. 1, appendix D)', () => {
  it('the waiting instruction freezes with FERR# asserted; IRQ 13 runs the handler, which clears it; the instruction then runs', () => {
    const { board, symbols: a } = boardWith(
      `
      fninit
      fldcw cw
      fld1
      fdivs zero                # 1 / 0: ZE pending
      sti
    waiting:
      fld1                      # freezes: IRQ 13
      cli
      hlt`,
      `
      incl count
      mov (%esp), %eax
      mov %eax, pushed
      out %al, $0xf0            # IRQ 13 down, IGNNE# up
      fnclex                    # ES clear: FERR# and IGNNE# down`,
    );
    assert.equal(board.cpu.cr0 & Cr0.NE, 0, 'the board starts with CR0.NE=0');
    const exit = board.run(100_000);
    assert.equal(exit.kind, 'halted');
    assert.equal(board.mem.read32(symbol(a, 'count')), 1, 'one IRQ 13');
    assert.equal(board.mem.read32(symbol(a, 'pushed')), symbol(a, 'waiting'), 'the interrupted instruction is the frozen one');
    const f = board.cpu.fpu;
    assert.equal(f.sw & (Sw.ES | Sw.ZE), 0);
    assert.equal(f.se[f.top], 0x3fff, 'the frozen FLD1 ran after the handler');
    assert.equal(board.chipset.fpuError.state.irq, false);
    assert.equal(board.chipset.fpuError.state.ignne, false);
    assert.equal(board.interruptsBySource()['FPU error (FERR#, IRQ 13)'], 1);
  });

  it('IGNNE#: after the write to port 0xF0 the x87 runs on with the exception still pending', () => {
    const { board, symbols: a } = boardWith(
      `
      fninit
      fldcw cw
      fld1
      fdivs zero
      sti
      fld1                      # freezes once
      fld1                      # IGNNE#: runs despite ES
      fnstsw %ax
      cli
      hlt`,
      `
      incl count
      out %al, $0xf0            # IGNNE#, and ES stays set`,
    );
    assert.equal(board.run(100_000).kind, 'halted');
    assert.equal(board.mem.read32(symbol(a, 'count')), 1);
    assert.equal(board.cpu.regs[0]! & (Sw.ES | Sw.ZE), Sw.ES | Sw.ZE);
    assert.equal(board.chipset.fpuError.state.ignne, true);
    assert.equal(board.cpu.fpu.top, 5, 'the first FLD1 (1/0 left it unchanged), then two more');
  });

  it('with interrupts disabled the frozen processor never continues', () => {
    const { board } = boardWith(
      `
      fninit
      fldcw cw
      fld1
      fdivs zero
      fld1
      hlt`,
      'incl count',
    );
    assert.equal(board.run(100_000).kind, 'halted');
    assert.equal(board.chipset.fpuError.state.ferr, true);
    assert.equal(board.chipset.fpuError.state.irq, true);
  });
});

void stubAddress;

describe('x87 in real-address mode (SDM vol. 1, 8.1.10 and figure 8-12; vol. 3, 20.1.4)', () => {
  /** 16-bit descriptors (base CODE, and 0) to leave protected mode through, as SDM vol. 3, 9.9.2 says. */
  const CODE16 = 0x190;
  const DATA16 = 0x198;
  const IVT = 0xc000;

  it('after the switch to real mode: FNSTENV stores 20-bit linear pointers, #MF goes through the vector table', () => {
    const m = new Machine({ cpl: 0 });
    m.setDescriptor(CODE16 >> 3, CODE, 0xffff, SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR);
    m.setDescriptor(DATA16 >> 3, 0, 0xffff, SegAttr.P | SegAttr.S | SegAttr.WR);
    const a = m.load(`
    code_base:
      ljmp $${CODE16}, $(pm16 - code_base)
    .code16
    pm16:
      mov $${DATA16}, %ax
      mov %ax, %ds
      mov %ax, %es
      mov %ax, %ss
      mov %cr0, %eax
      and $0xfffffffe, %eax
      or $${Cr0.NE}, %eax
      mov %eax, %cr0
      ljmp $0x1000, $(rm - code_base)
    rm:
      xor %ax, %ax
      mov %ax, %ss
      mov $0xa000, %sp
      lidt %cs:(ivtr - code_base)
      mov $0x100, %ax
      mov %ax, %ds              # base 1000H
      fninit
    load:
      fldl 0x3000               # linear 4000H
      fnstenv 0x5000            # linear 6000H, 16-bit layout
      fldcw 0x3100              # ZE unmasked
      fld1
    div:
      fdivs 0x3200              # 1 / +0: ZE, pending
      xor %bx, %bx
    wait:
      fwait                     # #MF here
      hlt
    mf:
      fnstenv 0x5100            # linear 6100H
      mov %sp, %si
      out %al, $DONE_PORT
    .balign 2
    ivtr:
      .word 0x3ff
      .long ${IVT}
    `);
    for (let k = 0; k < 0x400; k += 4) m.w32(IVT + k, 0);
    m.w16(IVT + 4 * Vector.MF, symbol(a, 'mf') - CODE);
    m.w16(IVT + 4 * Vector.MF + 2, 0x1000);
    m.w32(0x4000, 0);
    m.w32(0x4004, 0x3ff00000); // 1.0
    m.w16(0x4100, 0x037b);
    m.w32(0x4200, 0); // +0.0f
    m.runToDone();
    // CS = 1000H has base 10000H = CODE: an instruction's linear address is its assembled address.
    const r16 = (at: number) => m.r32(at) & 0xffff;
    const load = symbol(a, 'load');
    assert.deepEqual(
      [r16(0x6000), r16(0x6002), r16(0x6004), r16(0x6006), r16(0x6008), r16(0x600a), r16(0x600c)],
      // FCW; FSW with TOP 7; tags: R7 valid, the rest empty; IP 15-0; IP 19-16 | FOP (DD /0, ModRM 06); DP 15-0; DP 19-16
      [0x037f, 0x3800, 0x3fff, load & 0xffff, ((load >>> 16) << 12) | 0x506, 0x4000, 0],
    );
    const div = symbol(a, 'div');
    assert.equal(r16(0x6102) & (Sw.ES | Sw.ZE), Sw.ES | Sw.ZE, 'FSW: ZE and ES');
    assert.deepEqual(
      [r16(0x6106), r16(0x6108), r16(0x610a), r16(0x610c)],
      // FDIV m32fp is D8 /6 (ModRM 36): FOP 036H; the operand at 1000H + 3200H
      [div & 0xffff, ((div >>> 16) << 12) | 0x036, 0x4200, 0],
    );
    // Real mode pushes FLAGS, CS, IP: the #MF is a fault at the FWAIT.
    assert.equal(m.esi & 0xffff, 0xa000 - 6);
    assert.deepEqual([r16(0xa000 - 6), r16(0xa000 - 4)], [symbol(a, 'wait') - CODE, 0x1000]);
  });
});
