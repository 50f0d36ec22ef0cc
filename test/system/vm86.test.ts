/**
 * Virtual-8086 mode (Intel SDM vol. 3, chapter 20; vol. 2, IRET, INT n, CLI, STI, PUSHF, POPF,
 * IN, OUT): entry by IRET at CPL 0 with EFLAGS.VM=1 in the image, CPL 3 and paragraph segments
 * with 64 KiB limits, the IOPL-sensitive instructions (#GP(0) below IOPL 3; INT3 is not one),
 * I/O through the TSS bitmap whatever IOPL is, interrupts and exceptions leaving for a ring-0
 * handler with GS, FS, DS, ES pushed and nulled (20.3.1.1, figure 20-2), the privilege rule for
 * the handler's code segment, IRET back, user-level paging checks, and #UD/#GP for the
 * instructions V86 code may not use. Without VME (CR4.VME is not offered).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Seg, SegAttr, SysType } from '../../src/hw/x86/descriptors.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { PfError, Pte } from '../../src/hw/x86/paging.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { Machine, STACK0_TOP, Sel, symbol } from './machine.ts';

/** The virtual-8086 task's segments: code at 7000:0000, stack 7800:1000, DS 7200, ES 7100, FS 7300, GS 7400. */
const V86_CS = 0x7000;
const V86_ORG = V86_CS << 4;
const V86 = { es: 0x7100, ds: 0x7200, fs: 0x7300, gs: 0x7400, ss: 0x7800, sp: 0x1000 };
const IOPL3 = 3 << 12;

interface V86Options {
  iopl?: number;
  eflags?: number;
  paging?: boolean;
}

/**
 * A machine whose ring-0 code IRETs into `source` (16-bit, at 7000:0000) in virtual-8086 mode.
 * `at(label)` is a label's IP in the V86 code segment.
 */
function v86Machine(source: string, o: V86Options = {}): { m: Machine; at: (label: string) => number } {
  const m = new Machine({ cpl: 0, paging: o.paging ?? false });
  const v = m.load(`.code16\nv86_base:\n${source}`, V86_ORG);
  const flags = Eflags.FIXED1 | Eflags.VM | ((o.iopl ?? 0) << 12) | (o.eflags ?? 0);
  m.load(`
    pushl $${V86.gs}
    pushl $${V86.fs}
    pushl $${V86.ds}
    pushl $${V86.es}
    pushl $${V86.ss}
    pushl $${V86.sp}
    pushl $${flags}
    pushl $${V86_CS}
    pushl $0
    iret`);
  return { m, at: (label) => symbol(v, label) - V86_ORG };
}

/** What a handler stub found for an event from virtual-8086 mode (figure 20-2). */
interface V86Frame {
  vector: number;
  errorCode: number | null;
  eip: number;
  cs: number;
  eflags: number;
  esp: number;
  ss: number;
  es: number;
  ds: number;
  fs: number;
  gs: number;
  /** Address of the EIP pushed. */
  at: number;
}

function v86Frame(m: Machine, hasError: boolean): V86Frame {
  const sp = m.cpu.regs[4]! >>> 0;
  const word = (k: number) => m.r32(sp + 4 + 4 * k + (hasError ? 4 : 0));
  return {
    vector: m.r32(sp),
    errorCode: hasError ? m.r32(sp + 4) : null,
    eip: word(0),
    cs: word(1) & 0xffff,
    eflags: word(2),
    esp: word(3),
    ss: word(4) & 0xffff,
    es: word(5) & 0xffff,
    ds: word(6) & 0xffff,
    fs: word(7) & 0xffff,
    gs: word(8) & 0xffff,
    at: sp + 4 + (hasError ? 4 : 0),
  };
}

/** Runs to the first event and returns its frame (asserting that it came from V86 mode). */
function eventFrom(m: Machine, hasError: boolean): V86Frame {
  m.runUntil('event');
  const f = v86Frame(m, hasError);
  assert.equal(f.eflags & Eflags.VM, Eflags.VM, 'the EFLAGS pushed has VM=1');
  return f;
}

describe('entering virtual-8086 mode (SDM vol. 3, 20.2.1; vol. 2, IRET "RETURN-TO-VIRTUAL-8086-MODE")', () => {
  it('IRET at CPL 0 with VM=1 in the image: CPL 3, every segment a 64 KiB paragraph segment, 16-bit code', () => {
    const { m } = v86Machine(`
      movw $0xbeef, 0x20
      mov %ss, %ax
      out %al, $DONE_PORT`);
    m.runToDone();
    const c = m.cpu;
    assert.equal(c.cpl, 3);
    assert.equal(m.eflags() & Eflags.VM, Eflags.VM);
    assert.equal(c.cs32, false);
    assert.deepEqual([...c.segBase], [V86.es << 4, V86_CS << 4, V86.ss << 4, V86.ds << 4, V86.fs << 4, V86.gs << 4]);
    for (let s = 0; s < 6; s++) assert.equal(c.segLimit[s], 0xffff);
    assert.equal(m.esp, V86.sp);
    assert.equal(m.r32((V86.ds << 4) + 0x20) & 0xffff, 0xbeef);
    assert.equal(m.eax & 0xffff, V86.ss);
  });

  it('MOV to a segment register: base = selector << 4, no descriptor involved', () => {
    const { m } = v86Machine(`
      mov $0x1234, %ax
      mov %ax, %es
      movw $0x55aa, %es:0x10
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.cpu.segBase[Seg.ES], 0x12340);
    assert.equal(m.r32(0x12350) & 0xffff, 0x55aa);
  });
});

describe('leaving virtual-8086 mode for a ring-0 handler (SDM vol. 3, 20.3.1.1, figure 20-2)', () => {
  it('an exception pushes GS, FS, DS, ES, SS, ESP, EFLAGS, CS, EIP on the TSS ring-0 stack and nulls DS, ES, FS, GS', () => {
    const { m, at } = v86Machine(`
      xor %cl, %cl
    insn:
      div %cl`);
    const f = eventFrom(m, false);
    assert.equal(f.vector, Vector.DE);
    assert.deepEqual([f.eip, f.cs, f.esp, f.ss, f.es, f.ds, f.fs, f.gs], [at('insn'), V86_CS, V86.sp, V86.ss, V86.es, V86.ds, V86.fs, V86.gs]);
    assert.equal(f.at, STACK0_TOP - 36, 'nine dwords');
    const c = m.cpu;
    assert.equal(c.cpl, 0);
    assert.equal(m.eflags() & Eflags.VM, 0, 'VM cleared in the handler');
    assert.deepEqual([c.segSel[Seg.ES], c.segSel[Seg.DS], c.segSel[Seg.FS], c.segSel[Seg.GS]], [0, 0, 0, 0]);
    assert.equal(c.segAttr[Seg.DS]! & SegAttr.P, 0, 'DS is unusable');
  });

  it('the handler IRETs back: the V86 registers come back from the frame (RETURN-TO-VIRTUAL-8086-MODE)', () => {
    const { m } = v86Machine(`
      int3
      mov %fs, %ax
      mov %sp, %bx
      out %al, $DONE_PORT`);
    eventFrom(m, false);
    m.runToDone();
    assert.equal(m.cpu.cpl, 3);
    assert.equal(m.eax & 0xffff, V86.fs);
    assert.equal(m.ebx & 0xffff, V86.sp);
    assert.equal(m.eflags() & Eflags.VM, Eflags.VM);
  });

  it('INT3 is not IOPL-sensitive: at IOPL 0 it reaches the DPL-3 gate of vector 3, EIP after it', () => {
    const { m, at } = v86Machine(`
      int3
    after:
      hlt`);
    const f = eventFrom(m, false);
    assert.deepEqual([f.vector, f.eip], [Vector.BP, at('after')]);
  });

  it('a gate whose code segment is not a nonconforming DPL-0 one: #GP(selector)', () => {
    for (const selector of [Sel.CODE3, Sel.CONFORMING0, Sel.CODE1]) {
      const { m, at } = v86Machine(`
      insn:
        int3`);
      m.setGate(Vector.BP, { selector, dpl: 3 });
      const f = eventFrom(m, true);
      assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, selector & 0xfffc, at('insn')], `handler selector 0x${selector.toString(16)}`);
    }
  });

  it('an external interrupt with IF=1: the same frame; the stub returns to V86 and the code goes on', () => {
    const { m, at } = v86Machine(
      `
      out %al, $IRQ_PORT
    after:
      out %al, $DONE_PORT`,
      { eflags: Eflags.IF },
    );
    const f = eventFrom(m, false);
    assert.deepEqual([f.vector, f.eip], [0x20, at('after')]);
    m.runToDone();
    assert.equal(m.acks, 1);
  });

  it('a 16-bit interrupt gate pushes words (SDM vol. 2, INT n)', () => {
    const { m, at } = v86Machine(`
      int3
    after:
      hlt`);
    m.setGate(Vector.BP, { type: SysType.INT_GATE16, dpl: 3 });
    m.runUntil('event');
    const sp = m.cpu.regs[4]! >>> 0;
    const w = (k: number) => m.r32(sp + 4 + 2 * k) & 0xffff;
    assert.deepEqual([w(0), w(1), w(3), w(4), w(5), w(6), w(7), w(8)], [at('after'), V86_CS, V86.sp, V86.ss, V86.es, V86.ds, V86.fs, V86.gs]);
    assert.equal(sp + 4, STACK0_TOP - 18);
  });
});

describe('IOPL-sensitive instructions (SDM vol. 3, 20.2.7)', () => {
  const SENSITIVE: [string, string][] = [
    ['cli', 'cli'],
    ['sti', 'sti'],
    ['pushf', 'pushf'],
    ['popf', 'popf'],
    ['int $0x40', 'int $0x40'],
    ['iret', 'iret'],
  ];
  for (const [name, insn] of SENSITIVE) {
    it(`${name} at IOPL 0: #GP(0) at the instruction, for the monitor to emulate`, () => {
      const { m, at } = v86Machine(`
      insn:
        ${insn}
        hlt`);
      const f = eventFrom(m, true);
      assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, 0, at('insn')]);
    });
  }

  it('at IOPL 3 they run: CLI/STI change IF, POPF cannot change IOPL, INT n goes through the IDT, IRET returns in V86', () => {
    const { m, at } = v86Machine(
      `
      cli
      pushf
      pop %ax
      sti
      pushf
      pop %bx
      push $0x0002
      popf
      pushf
      pop %cx
      int $0x40
      push $0x0202
      push %cs
      push $(done - v86_base)
      iret
      hlt
    done:
      out %al, $DONE_PORT`,
      { iopl: 3 },
    );
    const f = eventFrom(m, false);
    assert.equal(f.vector, 0x40, 'INT $0x40 reached the DPL-3 gate');
    assert.equal(f.eflags & Eflags.IOPL, IOPL3);
    m.runToDone();
    assert.equal(m.eax & Eflags.IF, 0);
    assert.equal(m.ebx & Eflags.IF, Eflags.IF);
    assert.equal(m.ecx & Eflags.IOPL, IOPL3, 'POPF in V86 leaves IOPL alone');
    assert.equal(m.ecx & Eflags.IF, 0, 'but loads IF');
    assert.equal(m.eflags() & Eflags.IF, Eflags.IF, 'IRET loaded IF from the image');
    assert.equal(m.eflags() & (Eflags.IOPL | Eflags.VM), IOPL3 | Eflags.VM, 'and kept IOPL and VM');
    assert.equal(m.cpu.eip, at('done') + 2, 'IRET went to done');
  });

  it('PUSHF at IOPL 3 shows VM and RF as 0 (SDM vol. 2, PUSHF)', () => {
    const { m } = v86Machine(
      `
      pushfl
      popl %eax
      out %al, $DONE_PORT`,
      { iopl: 3 },
    );
    m.runToDone();
    assert.equal(m.eax & (Eflags.VM | Eflags.RF), 0);
  });
});

describe('I/O in virtual-8086 mode: the TSS bitmap alone decides (SDM vol. 3, 20.2.8.1)', () => {
  it('at IOPL 0 an allowed port works; at IOPL 3 a denied port is #GP(0)', () => {
    let { m } = v86Machine(`
      mov $0x42, %al
      out %al, $0x80
      in $0x81, %al
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.deepEqual(
      m.ports.accesses.map((a) => [a.dir, a.port]),
      [
        ['out', 0x80],
        ['in', 0x81],
      ],
    );
    const r = v86Machine(
      `
    insn:
      out %al, $0x80
      hlt`,
      { iopl: 3 },
    );
    m = r.m;
    m.denyPorts(0x80);
    const f = eventFrom(m, true);
    assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, 0, r.at('insn')]);
    assert.equal(m.ports.accesses.length, 0);
  });
});

describe('what virtual-8086 code may not do', () => {
  it('privileged instructions (MOV CR0, HLT, LGDT) are #GP(0); LLDT, LAR, ARPL are #UD', () => {
    const cases: [string, number, number | null][] = [
      ['mov %cr0, %eax', Vector.GP, 0],
      ['hlt', Vector.GP, 0],
      ['lgdt 0x100', Vector.GP, 0],
      ['lldt %ax', Vector.UD, null],
      ['lar %ax, %bx', Vector.UD, null],
      ['arpl %ax, %bx', Vector.UD, null],
    ];
    for (const [insn, vector, errorCode] of cases) {
      const { m, at } = v86Machine(`
      insn:
        ${insn}`);
      const f = eventFrom(m, errorCode !== null);
      assert.deepEqual([f.vector, f.errorCode, f.eip], [vector, errorCode, at('insn')], insn);
    }
  });

  it('an offset beyond FFFFH (32-bit addressing) is #GP(0): every segment is 64 KiB', () => {
    const { m, at } = v86Machine(`
      mov $0xffff, %ebx
    insn:
      addr32 movw (%ebx), %ax`);
    const f = eventFrom(m, true);
    assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, 0, at('insn')]);
  });

  it('with paging, V86 accesses are user accesses: a supervisor page is #PF with U/S=1', () => {
    const { m, at } = v86Machine(
      `
    insn:
      mov 0x20, %ax`,
      { paging: true },
    );
    const page = V86.ds << 4;
    m.setPte(page, page | Pte.P | Pte.RW);
    const f = eventFrom(m, true);
    assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.PF, PfError.P | PfError.U, at('insn')]);
    assert.equal(m.cpu.cr2, page + 0x20);
  });
});
