/**
 * SYSENTER and SYSEXIT (SDM vol. 2, "SYSENTER", "SYSEXIT"; vol. 3, 5.8.7) and RDTSCP (SDM vol. 2,
 * "RDTSCP") on the `max` model: the fixed flat segments derived from IA32_SYSENTER_CS whatever
 * the GDT says, the stack and entry point from the MSRs, the flags SYSENTER clears, every #GP(0)
 * case, the privilege change seen by memory accesses, compiled blocks going through them; RDTSCP's
 * TSC and IA32_TSC_AUX and its CR4.TSD rule. (#UD on qemu32, which lacks both: cpuid.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCpuModel } from '../../src/hw/cpu/cpu-model.ts';
import { Cr4 } from '../../src/hw/x86/control-registers.ts';
import { Seg, SegAttr } from '../../src/hw/x86/descriptors.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { DATA, Machine, type MachineOptions, SCRATCH, Sel, symbol } from './machine.ts';

const MAX = findCpuModel('max')!;
const FLAT = 0xffffffff | 0;
const CODE0 = SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR | SegAttr.ACCESSED | SegAttr.DB | SegAttr.G;
const DATA0 = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.ACCESSED | SegAttr.DB | SegAttr.G;
const DPL3 = 3 << SegAttr.DPL_SHIFT;

/** A `max` machine with the SYSENTER MSRs set (CS, ESP, EIP = the label `entry`'s address). */
function machine(options: MachineOptions, source: string, cs: number, esp = 0x7000): { m: Machine; a: ReturnType<Machine['load']> } {
  const m = new Machine({ cpuModel: MAX, ...options });
  const a = m.load(source);
  m.cpu.msr.sysenterCs = cs;
  m.cpu.msr.sysenterEsp = esp;
  m.cpu.msr.sysenterEip = a.symbols.get('entry') ?? 0;
  return { m, a };
}

function segment(m: Machine, seg: number): [number, number, number, number] {
  const c = m.cpu;
  return [c.segSel[seg]!, c.segBase[seg]!, c.segLimit[seg]!, c.segAttr[seg]!];
}

describe('SYSENTER', () => {
  it('from CPL 3: CPL 0, CS = MSR, SS = MSR + 8, flat 4 GiB, ESP and EIP from the MSRs; VM, IF, RF cleared', () => {
    const { m, a } = machine(
      { cpl: 3, eflags: Eflags.IF | Eflags.RF, iopl: 3 },
      `
      mov $0x11111111, %ebx
      sysenter
      ud2
    entry:
      mov %esp, %esi
      out %al, $DONE_PORT`,
      Sel.CODE0,
    );
    m.runToDone();
    const c = m.cpu;
    assert.equal(c.cpl, 0);
    assert.deepEqual(segment(m, Seg.CS), [Sel.CODE0, 0, FLAT, CODE0]);
    assert.deepEqual(segment(m, Seg.SS), [Sel.DATA0, 0, FLAT, DATA0]);
    assert.equal(m.esi, 0x7000);
    assert.equal(c.eip >>> 0, symbol(a, 'entry') + 2 + 2);
    assert.equal(m.eflags() & (Eflags.IF | Eflags.RF | Eflags.VM), 0);
    assert.equal((m.eflags() >>> 12) & 3, 3, 'IOPL kept');
    assert.equal(m.ebx, 0x11111111, 'general registers kept');
    assert.equal(c.segSel[Seg.DS], Sel.DATA3, 'DS untouched');
  });

  it('reads no descriptor: an MSR naming a not-present data descriptor, with RPL 3, still gives flat CPL-0 code', () => {
    const { m } = machine({ cpl: 3 }, 'sysenter\n entry: out %al, $DONE_PORT', Sel.NOT_PRESENT);
    m.runToDone();
    const sel = Sel.NOT_PRESENT & 0xfffc;
    assert.deepEqual(segment(m, Seg.CS), [sel, 0, FLAT, CODE0], 'RPL forced to 0');
    assert.deepEqual(segment(m, Seg.SS), [sel + 8, 0, FLAT, DATA0]);
  });

  it('works at CPL 0 too', () => {
    const { m } = machine({ cpl: 0 }, 'sysenter\n ud2\n entry: out %al, $DONE_PORT', Sel.CODE0, 0x6800);
    m.runToDone();
    assert.equal(m.esp, 0x6800);
  });

  for (const cs of [0, 3]) {
    it(`#GP(0) when IA32_SYSENTER_CS[15:2] is 0 (MSR = ${cs}), nothing changed`, () => {
      const { m, a } = machine({ cpl: 3, eflags: Eflags.IF }, 'insn: sysenter\n entry: out %al, $DONE_PORT', cs);
      const f = m.runToEvent();
      assert.deepEqual([f.vector, f.errorCode, f.eip, f.cs], [Vector.GP, 0, symbol(a, 'insn'), Sel.CODE3]);
      assert.ok((f.eflags & Eflags.IF) !== 0, 'IF as it was');
    });
  }
});

describe('SYSEXIT', () => {
  // MSR = CODE2's selector (0x28): CS = 0x38 | 3 (CODE3), SS = 0x40 | 3 (DATA3).
  const MSR = Sel.CODE2 & 0xfffc;

  it('from CPL 0: CPL 3, CS = MSR + 16 | 3, SS = MSR + 24 | 3, flat, ESP = ECX, EIP = EDX; flags kept', () => {
    const { m, a } = machine(
      { cpl: 0, eflags: Eflags.IF },
      `
      mov $user, %edx
      mov $0x9000, %ecx
      sysexit
      ud2
    user:
      movl $0x42, ${DATA}
      out %al, $DONE_PORT`,
      MSR,
    );
    m.runToDone();
    const c = m.cpu;
    assert.equal(c.cpl, 3);
    assert.deepEqual(segment(m, Seg.CS), [Sel.CODE3, 0, FLAT, CODE0 | DPL3]);
    assert.deepEqual(segment(m, Seg.SS), [Sel.DATA3, 0, FLAT, DATA0 | DPL3]);
    assert.equal(m.esp, 0x9000);
    assert.equal(c.eip >>> 0, symbol(a, 'user') + 10 + 2);
    assert.ok((m.eflags() & Eflags.IF) !== 0, 'IF kept');
    assert.equal(m.r32(DATA), 0x42, 'a user-mode store went through');
  });

  it('the new CPL governs paging: a supervisor-only page faults at CPL 3 after SYSEXIT', () => {
    const { m, a } = machine(
      { cpl: 0, paging: true },
      `
      andl $~4, PT0 + ${(SCRATCH >>> 12) * 4}
      invlpg ${SCRATCH}
      mov $user, %edx
      mov $0x9000, %ecx
      sysexit
    user:
    read:
      mov ${SCRATCH}, %eax
      out %al, $DONE_PORT`,
      MSR,
    );
    const f = m.runToEvent();
    assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.PF, 5, symbol(a, 'read')]);
  });

  for (const cpl of [1, 2, 3]) {
    it(`#GP(0) at CPL ${cpl}`, () => {
      const { m, a } = machine({ cpl }, 'insn: sysexit\n entry: out %al, $DONE_PORT', MSR);
      const f = m.runToEvent();
      assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, 0, symbol(a, 'insn')]);
    });
  }

  it('#GP(0) with IA32_SYSENTER_CS 0, at CPL 0', () => {
    const { m, a } = machine({ cpl: 0 }, 'insn: sysexit\n entry: out %al, $DONE_PORT', 0);
    const f = m.runToEvent();
    assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, 0, symbol(a, 'insn')]);
  });

  it('a system-call loop, run long enough to be compiled, counts right in both directions', () => {
    const { m } = machine(
      { cpl: 3, compileThreshold: 2 },
      `
      mov $50, %edi
    loop:
      mov $back, %edx
      mov %esp, %ecx
      sysenter
    back:
      dec %edi
      jnz loop
      out %al, $DONE_PORT
    entry:
      inc %esi
      sysexit`,
      MSR,
    );
    m.runToDone();
    assert.equal(m.esi, 50);
    assert.equal(m.cpu.cpl, 3);
    assert.ok(m.cpu.counters.get('BLOCK_COMPILED') > 0, 'blocks were compiled');
  });
});

describe('RDTSCP', () => {
  it('EDX:EAX = the TSC (as RDTSC reads it), ECX = IA32_TSC_AUX, at CPL 3', () => {
    const m = new Machine({ cpl: 3, cpuModel: MAX });
    m.cpu.msr.tscAux = 0x1234abcd;
    m.load(`
      rdtsc
      mov %eax, %esi
      rdtscp
      mov %eax, %edi
      rdtsc
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.ecx, 0x1234abcd);
    assert.ok(m.esi < m.edi && m.edi < m.eax, `${m.esi} < ${m.edi} < ${m.eax}`);
  });

  it('with CR4.TSD: #GP(0) above CPL 0, allowed at CPL 0', () => {
    for (const cpl of [1, 3]) {
      const m = new Machine({ cpl, cr4: Cr4.TSD, cpuModel: MAX });
      const a = m.load('insn: rdtscp\n out %al, $DONE_PORT');
      const f = m.runToEvent();
      assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, 0, symbol(a, 'insn')], `CPL ${cpl}`);
    }
    const m = new Machine({ cpl: 0, cr4: Cr4.TSD, cpuModel: MAX });
    m.cpu.msr.tscAux = 7;
    m.load('rdtscp\n out %al, $DONE_PORT');
    m.runToDone();
    assert.equal(m.ecx, 7);
  });

  it('0F 01 F8 and FA-FF (the other register forms of 0F 01 /7) are #UD', () => {
    for (const bytes of ['0x0f, 0x01, 0xf8', '0x0f, 0x01, 0xfa', '0x0f, 0x01, 0xff']) {
      const m = new Machine({ cpl: 0, cpuModel: MAX });
      const a = m.load(`insn: .byte ${bytes}\n out %al, $DONE_PORT`);
      const f = m.runToEvent();
      assert.deepEqual([f.vector, f.eip], [Vector.UD, symbol(a, 'insn')], bytes);
    }
  });
});
