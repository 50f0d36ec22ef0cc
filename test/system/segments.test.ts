/**
 * Protected-mode segmentation (Intel SDM vol. 3, chapter 5; vol. 2 MOV, POP, LSS, LTR, LAR, LSL,
 * VERR/VERW, JMP, CALL, RET): the privilege and type checks of every segment-register load (5.5,
 * 5.6), conforming code (5.8.1.2), expand-down limits (5.3), the accessed bit (3.4.5.1), TSS
 * busy bits (7.2.2), descriptor inspection from any CPL, and far transfers including a call
 * gate from ring 3 to ring 0 with parameter copying (5.8.5, figure 5-13) and the return.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SegAttr, SysType } from '../../src/hw/x86/descriptors.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { CODE, Machine, RUN_STACK_TOP, SCRATCH, STACK0_TOP, Sel, symbol } from './machine.ts';

type Outcome = 'ok' | { vector: number; errorCode: number };

function gp(errorCode: number): Outcome {
  return { vector: Vector.GP, errorCode };
}

/** Loads `sel` into `reg` with `mov` at `cpl`; returns 'ok' (and checks the selector) or the fault. */
function load(cpl: number, reg: string, sel: number): Outcome {
  const m = new Machine({ cpl });
  const a = m.load(`
    mov $${sel}, %ecx
  insn:
    mov %cx, %${reg}
    xor %ebx, %ebx
    mov %${reg}, %ebx
    out %al, $DONE_PORT`);
  const exit = m.run();
  assert.equal(exit.kind, 'request');
  if (exit.kind === 'request' && exit.reason === 'done') {
    assert.equal(m.ebx, sel, `${reg} holds the selector as loaded`);
    return 'ok';
  }
  const f = m.frame();
  assert.equal(f.eip, symbol(a, 'insn'), 'a fault on the MOV');
  return { vector: f.vector, errorCode: f.errorCode ?? -1 };
}

describe('loading DS, ES, FS, GS (SDM vol. 2, MOV; vol. 3, 5.6)', () => {
  // Data or readable code; for data and nonconforming code RPL <= DPL and CPL <= DPL; present.
  const FROM_CPL3: [string, number, Outcome][] = [
    ['DPL 3 data', Sel.DATA3, 'ok'],
    ['DPL 3 data, RPL 0', Sel.DATA3 & ~3, 'ok'],
    ['DPL 0 data', Sel.DATA0, gp(Sel.DATA0)],
    ['DPL 0 data, RPL 3', Sel.DATA0 | 3, gp(Sel.DATA0)],
    ['DPL 1 data', Sel.DATA1, gp(Sel.DATA1 & 0xfffc)],
    ['readable DPL 3 code', Sel.CODE3, 'ok'],
    ['execute-only code', Sel.EXEC_ONLY, gp(Sel.EXEC_ONLY & 0xfffc)],
    ['readable conforming DPL 0 code (no privilege check)', Sel.CONFORMING0 | 3, 'ok'],
    ['a TSS descriptor', Sel.TSS, gp(Sel.TSS)],
    ['a call gate', Sel.CALL_GATE, gp(Sel.CALL_GATE)],
    ['beyond the GDT limit', 0x200 | 3, gp(0x200)],
    ['an LDT selector with no LDT', 0x0c | 3, gp(0x0c)],
    ['not present', Sel.NOT_PRESENT, { vector: Vector.NP, errorCode: Sel.NOT_PRESENT & 0xfffc }],
    ['null', 0, 'ok'],
    ['null with RPL 3', 3, 'ok'],
  ];
  for (const reg of ['ds', 'es', 'fs', 'gs']) {
    it(`${reg} at CPL 3`, () => {
      for (const [what, sel, want] of FROM_CPL3) assert.deepEqual(load(3, reg, sel), want, what);
    });
  }

  it('ds at CPL 1: RPL and CPL both count', () => {
    assert.deepEqual(load(1, 'ds', Sel.DATA1), 'ok');
    assert.deepEqual(load(1, 'ds', (Sel.DATA1 & ~3) | 2), gp(Sel.DATA1 & 0xfffc), 'RPL 2 > DPL 1');
    assert.deepEqual(load(1, 'ds', (Sel.DATA2 & ~3) | 1), 'ok', 'DPL 2 data from CPL 1');
    assert.deepEqual(load(1, 'ds', Sel.DATA0 | 1), gp(Sel.DATA0), 'DPL 0 data from CPL 1');
  });

  it('a load sets the descriptor\'s accessed bit in the GDT (3.4.5.1)', () => {
    const m = new Machine({ cpl: 3 });
    assert.equal(m.descriptorHigh(Sel.READ_ONLY) & 0x100, 0);
    m.load(`
      mov $SEL_READ_ONLY, %ax
      mov %ax, %es
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.descriptorHigh(Sel.READ_ONLY) & 0x100, 0x100);
  });
});

describe('system instructions with register operands other than AX', () => {
  it('mov Sreg, r16 / mov r16, Sreg / str / smsw / ltr / lmsw / arpl use the named register', () => {
    const m = new Machine({ cpl: 0 });
    m.load(`
      mov $SEL_DATA3, %ebx
      mov %bx, %es                # ES from BX
      mov $0xffffffff, %esi
      mov %es, %si                # 16-bit destination: only SI changes
      mov %es, %edx               # 32-bit destination: zero-extended (P6 family, SDM vol. 2 MOV)
      mov $0xffffffff, %edi
      str %di
      mov $SEL_TSS2, %ecx
      ltr %cx                     # from CX
      mov $0xffffffff, %ebp
      smsw %bp
      mov %ebp, SCRATCH
      mov $${0x8 | 0x1}, %ecx
      lmsw %cx                    # sets CR0.TS from CX
      mov $0x0040, %ebx
      mov $0x0003, %ecx
      arpl %cx, %bx               # raises BX's RPL to CX's
      pushf
      popl SCRATCH + 4
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.cpu.segSel[0], Sel.DATA3);
    assert.equal(m.esi, (0xffff0000 | Sel.DATA3) >>> 0);
    assert.equal(m.edx, Sel.DATA3);
    assert.equal(m.edi, (0xffff0000 | Sel.TSS) >>> 0);
    assert.equal(m.descriptorHigh(Sel.TSS2) & 0xf00, 0xb00, 'LTR CX loaded TSS2 (busy)');
    assert.equal(m.cpu.trSel, Sel.TSS2);
    assert.equal(m.r32(SCRATCH), (0xffff0000 | 0x11) >>> 0, 'SMSW BP: PE and ET of CR0');
    assert.equal(m.cpu.cr0 & 0x8, 0x8, 'LMSW CX set TS');
    assert.equal(m.ebx & 0xffff, 0x43);
    assert.equal(m.r32(SCRATCH + 4) & Eflags.ZF, Eflags.ZF);
  });
});

describe('the LDT (SDM vol. 3, 3.5.1; vol. 2, LLDT)', () => {
  it('LLDT loads an LDT; TI=1 selectors index it and are checked against its limit', () => {
    const m = new Machine({ cpl: 0 });
    const LDT = SCRATCH + 0x400;
    // LDT entry 1: data DPL 3 at DATA, limit 0xfff; the LDT holds two entries (limit 15).
    m.setDescriptor(31, LDT, 15, SegAttr.P | SysType.LDT);
    const [lo, hi] = [0x0fff | (0xb000 << 16), 0x0040f200];
    m.w32(LDT + 8, lo);
    m.w32(LDT + 12, hi);
    m.w32(0xb000, 0xfeedf00d);
    const a = m.load(`
      mov $${31 * 8}, %eax
      lldt %ax
      sldt %ebx
      mov $0x0f, %ecx
      mov %cx, %ds
      mov 0, %esi
      mov $0x17, %ecx
    insn:
      mov %cx, %es
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(m.ebx, 31 * 8);
    assert.equal(m.esi, 0xfeedf00d, 'DS:0 is DATA through the LDT descriptor');
    assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, 0x14, symbol(a, 'insn')], 'index 2 is beyond the LDT limit');
  });

  it('with a null LDTR every TI=1 selector is #GP(selector)', () => {
    const m = new Machine({ cpl: 3 });
    const a = m.load(`
      mov $0x0f, %ecx
    insn:
      mov %cx, %ds`);
    const f = m.runToEvent();
    assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, 0x0c, symbol(a, 'insn')]);
  });

  it('LLDT of a selector that is not an LDT descriptor is #GP(selector)', () => {
    const m = new Machine({ cpl: 0 });
    m.load(`
      mov $SEL_DATA0, %eax
      lldt %ax`);
    const f = m.runToEvent();
    assert.deepEqual([f.vector, f.errorCode], [Vector.GP, Sel.DATA0]);
  });
});

describe('loading SS (SDM vol. 2, MOV and POP "IF SS is loaded")', () => {
  // Not null; RPL = CPL; writable data; DPL = CPL; present (else #SS).
  const FROM_CPL3: [string, number, Outcome][] = [
    ['DPL 3 writable data', Sel.DATA3, 'ok'],
    ['expand-down writable data', Sel.EXPAND_DOWN, 'ok'],
    ['RPL 0 != CPL', Sel.DATA3 & ~3, gp(Sel.DATA3 & 0xfffc)],
    ['DPL 0 != CPL', Sel.DATA0 | 3, gp(Sel.DATA0)],
    ['read-only data', Sel.READ_ONLY, gp(Sel.READ_ONLY & 0xfffc)],
    ['code', Sel.CODE3, gp(Sel.CODE3 & 0xfffc)],
    ['null', 0, gp(0)],
    ['null with RPL 3', 3, gp(0)],
    ['not present', Sel.NOT_PRESENT, { vector: Vector.SS, errorCode: Sel.NOT_PRESENT & 0xfffc }],
  ];
  it('mov ss at CPL 3', () => {
    for (const [what, sel, want] of FROM_CPL3) assert.deepEqual(load(3, 'ss', sel), want, what);
  });

  it('mov ss at CPL 1: DPL must equal CPL', () => {
    assert.deepEqual(load(1, 'ss', Sel.DATA1), 'ok');
    assert.deepEqual(load(1, 'ss', (Sel.DATA2 & ~3) | 1), gp(Sel.DATA2 & 0xfffc));
  });

  it('pop ss and lss check the same way; a refused pop leaves ESP alone', () => {
    const m = new Machine({ cpl: 3 });
    const a = m.load(`
      push $SEL_DATA0
    insn:
      pop %ss`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.GP);
    assert.equal(f.errorCode, Sel.DATA0);
    assert.equal(f.eip, symbol(a, 'insn'));
    assert.equal(f.esp, RUN_STACK_TOP - 4);
    const n = new Machine({ cpl: 3 });
    const b = n.load(`
    insn:
      lss ptr, %esp
    ptr:
      .long 0x1234
      .word SEL_DATA0`);
    const g = n.runToEvent();
    assert.equal(g.errorCode, Sel.DATA0);
    assert.equal(g.eip, symbol(b, 'insn'));
    assert.equal(g.esp, RUN_STACK_TOP, 'ESP not loaded');
  });
});

describe('segment limits and expand-down segments (SDM vol. 3, 5.3)', () => {
  /** Reads `size` bytes at offset `off` through DS = `sel` at `cpl`: true if it did not fault. */
  function readOk(cpl: number, sel: number, off: number, size: 1 | 2 | 4): boolean {
    const reg = size === 1 ? '%al' : size === 2 ? '%ax' : '%eax';
    const m = new Machine({ cpl });
    m.load(`
      mov $${sel}, %ebx
      mov %bx, %ds
      mov ${off >>> 0}, ${reg}
      out %al, $DONE_PORT`);
    const exit = m.run();
    if (exit.kind === 'request' && exit.reason === 'event') {
      const f = m.frame();
      assert.equal(f.vector, Vector.GP);
      assert.equal(f.errorCode, 0);
      return false;
    }
    assert.equal(exit.kind === 'request' && exit.reason, 'done');
    return true;
  }

  it('32-bit expand-down (B=1), limit 0xfff: valid offsets are 0x1000 through 0xffffffff', () => {
    const cases: [number, 1 | 2 | 4, boolean][] = [
      [0x0fff, 1, false],
      [0x0000, 1, false],
      [0x1000, 4, true],
      [0x0ffe, 4, false],
      [0xfffffffc, 4, true],
      [0xffffffff, 1, true],
      [0xfffffffe, 4, false],
    ];
    for (const [off, size, ok] of cases) assert.equal(readOk(3, Sel.EXPAND_DOWN, off, size), ok, `${size} bytes at 0x${off.toString(16)}`);
  });

  it('16-bit expand-down (B=0), limit 0x7fff: valid offsets are 0x8000 through 0xffff', () => {
    const cases: [number, 1 | 2 | 4, boolean][] = [
      [0x7fff, 1, false],
      [0x8000, 1, true],
      [0xfffe, 2, true],
      [0xffff, 2, false],
      [0x10000, 1, false],
    ];
    for (const [off, size, ok] of cases) assert.equal(readOk(0, Sel.STACK16_DOWN, off, size), ok, `${size} bytes at 0x${off.toString(16)}`);
  });

  it('expand-up, byte-granular limit 0xfff: the last byte is 0xfff', () => {
    assert.equal(readOk(3, Sel.SMALL, 0xffc, 4), true);
    assert.equal(readOk(3, Sel.SMALL, 0xfff, 1), true);
    assert.equal(readOk(3, Sel.SMALL, 0xffd, 4), false);
    assert.equal(readOk(3, Sel.SMALL, 0x1000, 1), false);
  });
});

describe('LTR and the TSS busy bit (SDM vol. 2, LTR; vol. 3, 7.2.2)', () => {
  const BUSY = 0x200;

  it('LTR marks the TSS descriptor busy; LTR of a busy TSS is #GP(selector)', () => {
    const m = new Machine({ cpl: 0 });
    const a = m.load(`
      str %ebx
      mov $SEL_TSS2, %ax
      ltr %ax
      str %ecx
      mov $SEL_TSS, %ax
    insn:
      ltr %ax`);
    // The boot code loaded SEL_TSS with LTR.
    assert.equal(m.descriptorHigh(Sel.TSS2) & 0xf00, 0x900, 'available before');
    const f = m.runToEvent();
    assert.equal(m.ebx, Sel.TSS);
    assert.equal(m.ecx, Sel.TSS2);
    assert.equal(m.descriptorHigh(Sel.TSS) & BUSY, BUSY);
    assert.equal(m.descriptorHigh(Sel.TSS2) & 0xf00, 0xb00, 'TSS2 busy after LTR');
    assert.equal(f.vector, Vector.GP);
    assert.equal(f.errorCode, Sel.TSS);
    assert.equal(f.eip, symbol(a, 'insn'));
  });

  it('LTR of a null selector is #GP(0); of a data segment #GP(selector); not present #NP(selector)', () => {
    const cases: [number, Outcome][] = [
      [0, gp(0)],
      [Sel.DATA0, gp(Sel.DATA0)],
      [Sel.TSS2, { vector: Vector.NP, errorCode: Sel.TSS2 }],
    ];
    for (const [sel, want] of cases) {
      const m = new Machine({ cpl: 0 });
      if (sel === Sel.TSS2) m.w32(0x800 + Sel.TSS2 + 4, m.descriptorHigh(Sel.TSS2) & ~0x8000);
      m.load(`
        mov $${sel}, %ax
        ltr %ax`);
      const f = m.runToEvent();
      assert.deepEqual({ vector: f.vector, errorCode: f.errorCode }, want, `selector ${sel.toString(16)}`);
    }
  });
});

describe('LAR, LSL, VERR, VERW (SDM vol. 2): results and ZF, never a fault on the selector', () => {
  interface Inspect {
    lar: number | null;
    lsl: number | null;
    verr: boolean;
    verw: boolean;
  }

  function inspect(cpl: number, sel: number): Inspect {
    const m = new Machine({ cpl });
    m.load(`
      mov $0xdeadbeef, %eax
      mov $0xdeadbeef, %ebx
      mov $${sel}, %ecx
      lar %ecx, %eax
      pushf
      popl DATA
      lsl %ecx, %ebx
      pushf
      popl DATA + 4
      verr %cx
      pushf
      popl DATA + 8
      verw %cx
      pushf
      popl DATA + 12
      out %al, $DONE_PORT`);
    m.runToDone();
    const zf = (k: number) => (m.r32(0xb000 + 4 * k) & Eflags.ZF) !== 0;
    // ZF=0 leaves the destination unchanged.
    if (!zf(0)) assert.equal(m.eax, 0xdeadbeef);
    if (!zf(1)) assert.equal(m.ebx, 0xdeadbeef);
    return { lar: zf(0) ? m.eax : null, lsl: zf(1) ? m.ebx : null, verr: zf(2), verw: zf(3) };
  }

  // LAR returns the descriptor's second dword masked with 0x00F0FF00 (G, D/B, AVL, P, DPL, S, type).
  const FROM_CPL3: [string, number, Inspect][] = [
    ['read-only data, DPL 3', Sel.READ_ONLY, { lar: 0x00c0f000, lsl: 0xffffffff, verr: true, verw: false }],
    ['expand-down data, limit 0xfff', Sel.EXPAND_DOWN, { lar: 0x0040f600, lsl: 0xfff, verr: true, verw: true }],
    ['execute-only code', Sel.EXEC_ONLY, { lar: 0x00c0f800, lsl: 0xffffffff, verr: false, verw: false }],
    ['conforming readable code, DPL 0', Sel.CONFORMING0 | 3, { lar: 0x00c09e00, lsl: 0xffffffff, verr: true, verw: false }],
    ['a 32-bit call gate, DPL 3 (LAR only)', Sel.CALL_GATE, { lar: 0x0000ec00, lsl: null, verr: false, verw: false }],
    ['DPL 0 data', Sel.DATA0 | 3, { lar: null, lsl: null, verr: false, verw: false }],
    ['DPL 1 data', Sel.DATA1, { lar: null, lsl: null, verr: false, verw: false }],
    ['the TSS (DPL 0)', Sel.TSS, { lar: null, lsl: null, verr: false, verw: false }],
    ['null', 0, { lar: null, lsl: null, verr: false, verw: false }],
    ['beyond the GDT limit', 0x203, { lar: null, lsl: null, verr: false, verw: false }],
  ];
  for (const [what, sel, want] of FROM_CPL3) {
    it(`CPL 3: ${what}`, () => assert.deepEqual(inspect(3, sel), want));
  }

  it('CPL 0: the busy 32-bit TSS (type 0xB, byte-granular limit); RPL > DPL hides a descriptor', () => {
    assert.deepEqual(inspect(0, Sel.TSS), { lar: 0x00008b00, lsl: 0x68 + 8192, verr: false, verw: false });
    // DATA0 was loaded by the boot code, so its accessed bit is set (3.4.5.1).
    assert.deepEqual(inspect(0, Sel.DATA0), { lar: 0x00c09300, lsl: 0xffffffff, verr: true, verw: true });
    assert.deepEqual(inspect(0, Sel.DATA0 | 3), { lar: null, lsl: null, verr: false, verw: false });
  });
});

describe('far JMP, CALL and RET (SDM vol. 2; vol. 3, 5.8)', () => {
  it('JMP to conforming code keeps CPL 3; CS.RPL becomes the CPL (5.8.1.2)', () => {
    const m = new Machine({ cpl: 3 });
    m.load(`
      ljmp $SEL_CONFORMING0, $there
    there:
      mov %cs, %eax
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.eax, Sel.CONFORMING0 | 3);
    assert.equal(m.cpu.cpl, 3);
  });

  it('CALL to conforming code pushes CS:EIP; RETF returns at the same CPL', () => {
    const m = new Machine({ cpl: 3 });
    const a = m.load(`
      lcall $SEL_CONFORMING0, $there
    back:
      mov %cs, %ecx
      out %al, $DONE_PORT
    there:
      mov (%esp), %eax
      mov 4(%esp), %ebx
      lret`);
    m.runToDone();
    assert.equal(m.eax, symbol(a, 'back'));
    assert.equal(m.ebx, Sel.CODE3);
    assert.equal(m.ecx, Sel.CODE3);
    assert.equal(m.esp, RUN_STACK_TOP);
  });

  it('JMP to nonconforming code: RPL <= CPL and DPL = CPL, CS.RPL becomes the CPL', () => {
    const cases: [number, number, Outcome][] = [
      [3, Sel.CODE3 & ~3, 'ok'],
      [3, Sel.CODE0, gp(Sel.CODE0)],
      [3, Sel.CODE1 | 3, gp(Sel.CODE1 & 0xfffc)],
      [0, Sel.CODE3, gp(Sel.CODE3 & 0xfffc)],
      [0, Sel.CONFORMING3, gp(Sel.CONFORMING3 & 0xfffc)],
      [1, Sel.CODE1 | 2, gp(Sel.CODE1 & 0xfffc)],
      [3, Sel.DATA3, gp(Sel.DATA3 & 0xfffc)],
    ];
    for (const [cpl, sel, want] of cases) {
      const m = new Machine({ cpl });
      m.load(`
        ljmp $${sel}, $there
      there:
        mov %cs, %eax
        out %al, $DONE_PORT`);
      const exit = m.run();
      const got: Outcome = exit.kind === 'request' && exit.reason === 'done' ? 'ok' : { vector: m.frame().vector, errorCode: m.frame().errorCode ?? -1 };
      assert.deepEqual(got, want, `CPL ${cpl} to ${sel.toString(16)}`);
      if (got === 'ok') assert.equal(m.eax, (sel & ~3) | cpl);
    }
  });

  it('RETF to an outer ring pops SS:ESP (skipping imm16 on both stacks); to an inner ring is #GP', () => {
    const m = new Machine({ cpl: 0 });
    m.load(`
      push $SEL_DATA3
      push $0x9000
      push $0xaaaa
      push $SEL_CODE3
      push $outer
      lret $4
    outer:
      mov %esp, %eax
      mov %ss, %ebx
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.cpu.cpl, 3);
    assert.equal(m.eax, 0x9004);
    assert.equal(m.ebx, Sel.DATA3);
    const n = new Machine({ cpl: 3 });
    const a = n.load(`
      push $SEL_CODE0
      push $0
    insn:
      lret`);
    const f = n.runToEvent();
    assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, Sel.CODE0, symbol(a, 'insn')]);
  });

  it('a call gate from ring 3 to ring 0: TSS stack, parameters copied, RETF imm16 back (5.8.5, figure 5-13)', () => {
    const m = new Machine({ cpl: 3 });
    const a = m.load(`
      push $0x11111111
      push $0x22222222
    call_insn:
      lcall $SEL_CALL_GATE, $0
    after:
      mov %esp, SCRATCH + 12
      mov %fs, SCRATCH + 16
      out %al, $DONE_PORT

    gate_entry:
      mov 0(%esp), %eax
      mov 4(%esp), %ebx
      mov 8(%esp), %ecx
      mov 12(%esp), %edx
      mov 16(%esp), %esi
      mov 20(%esp), %edi
      mov %esp, SCRATCH
      movl $0, SCRATCH + 4
      mov %ss, SCRATCH + 4
      movl $0, SCRATCH + 8
      mov %cs, SCRATCH + 8
      mov $SEL_DATA0, %bp
      mov %bp, %fs
      lret $8`);
    m.setCallGate(symbol(a, 'gate_entry'), Sel.CODE0, 2);
    m.runToDone();
    // In ring 0: the stack from TSS.SS0:ESP0 holding caller SS, ESP, the two parameters, CS, EIP.
    assert.equal(m.r32(SCRATCH), STACK0_TOP - 24, 'ring-0 ESP');
    assert.equal(m.r32(SCRATCH + 4), Sel.DATA0, 'SS = TSS.SS0');
    assert.equal(m.r32(SCRATCH + 8), Sel.CODE0, 'CS = the gate\'s selector, RPL 0');
    assert.equal(m.eax, symbol(a, 'after'), 'return EIP');
    assert.equal(m.ebx, Sel.CODE3, 'return CS');
    assert.equal(m.ecx, 0x22222222, 'parameter at the caller\'s ESP');
    assert.equal(m.edx, 0x11111111, 'parameter at the caller\'s ESP + 4');
    assert.equal(m.esi, RUN_STACK_TOP - 8, 'caller ESP');
    assert.equal(m.edi, Sel.DATA3, 'caller SS');
    // Back in ring 3: RETF 8 released the parameters from the caller's stack; FS (DPL 0) was nulled.
    assert.equal(m.cpu.cpl, 3);
    assert.equal(m.r32(SCRATCH + 12), RUN_STACK_TOP);
    assert.equal(m.r32(SCRATCH + 16) & 0xffff, 0);
  });

  it('call gates: gate DPL < CPL or RPL > gate DPL is #GP(gate selector); JMP may not raise privilege', () => {
    const cases: [string, number, number, string, Outcome][] = [
      ['gate DPL 0 from CPL 3', 3, 0, 'lcall $SEL_CALL_GATE, $0', gp(Sel.CALL_GATE)],
      ['RPL 3 > gate DPL 2 at CPL 2', 2, 2, 'lcall $SEL_CALL_GATE | 3, $0', gp(Sel.CALL_GATE)],
      ['JMP through a gate to DPL 0 code from CPL 3', 3, 3, 'ljmp $SEL_CALL_GATE, $0', gp(Sel.CODE0)],
    ];
    for (const [what, cpl, dpl, insn, want] of cases) {
      const m = new Machine({ cpl });
      const a = m.load(`
      insn:
        ${insn}`);
      m.setCallGate(CODE + 0x100, Sel.CODE0, 0, dpl);
      const f = m.runToEvent();
      assert.deepEqual({ vector: f.vector, errorCode: f.errorCode }, want, what);
      assert.equal(f.eip, symbol(a, 'insn'), what);
    }
  });

  it('JMP through a call gate at the same privilege: no stack change', () => {
    const m = new Machine({ cpl: 0 });
    const a = m.load(`
      ljmp $SEL_CALL_GATE, $0
      ud2
    target:
      mov %esp, %eax
      mov %cs, %ebx
      out %al, $DONE_PORT`);
    m.setCallGate(symbol(a, 'target'), Sel.CODE0, 2, 0);
    m.runToDone();
    assert.equal(m.eax, RUN_STACK_TOP);
    assert.equal(m.ebx, Sel.CODE0);
  });

  it('a 16-bit code segment runs 16-bit code (D=0, SDM vol. 3, 3.4.5) and can jump back', () => {
    const m = new Machine({ cpl: 0 });
    const a16 = m.load(`
      .code16
    entry16:
      mov $0x1234, %ax
      mov $0x5678, %ebx
      ljmpl $SEL_CODE0, $${CODE + 0x100}`, SCRATCH + 0x800);
    m.load(`
      ljmp $SEL_CODE16, $${symbol(a16, 'entry16')}
      .org 0x100
      mov %cs, %ecx
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.eax & 0xffff, 0x1234);
    assert.equal(m.ebx, 0x5678);
    assert.equal(m.ecx, Sel.CODE0);
  });
});
