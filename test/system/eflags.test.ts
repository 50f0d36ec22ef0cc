/**
 * The privileged parts of EFLAGS by CPL and IOPL (Intel SDM vol. 2: POPF, CLI, STI, IRET;
 * vol. 1, 3.4.3; vol. 3, 20.2 for the rules without VME/PVI):
 *   POPF/IRET to the same ring: IF changes only when CPL <= IOPL, IOPL only when CPL = 0, and
 *   neither ever faults; CLI/STI raise #GP(0) when CPL > IOPL.
 *   IRET to an outer ring pops SS:ESP and nulls DS/ES/FS/GS that the new CPL may not use.
 * And the lecture's "problem with popf": a deprivileged kernel's cli traps but its popf does not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { Machine, Sel, symbol } from './machine.ts';

const IOPL = Eflags.IOPL;
const CODE_SEL = [Sel.CODE0, Sel.CODE1, Sel.CODE2, Sel.CODE3];
const DATA_SEL = [Sel.DATA0, Sel.DATA1, Sel.DATA2, Sel.DATA3];

function ioplOf(eflags: number): number {
  return (eflags & IOPL) >>> 12;
}

/**
 * Flips IF, both IOPL bits and CF with POPF (or IRET to the same ring) and returns EFLAGS read
 * back with PUSHF (in EBX), the machine and whether the run ended normally.
 */
function flipFlags(cpl: number, iopl: number, startIf: boolean, via: 'popf' | 'iret'): number {
  const m = new Machine({ cpl, iopl, eflags: startIf ? Eflags.IF : 0 });
  const load = via === 'popf' ? 'popf' : `push %cs\n push $after\n iret\n after:`;
  m.load(`
    pushf
    pop %eax
    xor $${Eflags.IF | IOPL | Eflags.CF}, %eax
    push %eax
    ${load}
    pushf
    pop %ebx
    out %al, $DONE_PORT`);
  m.runToDone();
  return m.ebx;
}

describe('POPF and IRET (same ring) by CPL and IOPL: never a fault (SDM vol. 2, POPF, IRET)', () => {
  for (const via of ['popf', 'iret'] as const) {
    for (let cpl = 0; cpl < 4; cpl++) {
      it(`${via} at CPL ${cpl}, every IOPL, IF 0->1 and 1->0`, () => {
        for (let iopl = 0; iopl < 4; iopl++) {
          for (const startIf of [false, true]) {
            const what = `CPL ${cpl} IOPL ${iopl} IF ${+startIf}`;
            const after = flipFlags(cpl, iopl, startIf, via);
            const ifChanges = cpl <= iopl;
            const ioplChanges = cpl === 0;
            assert.equal((after & Eflags.IF) !== 0, ifChanges ? !startIf : startIf, `${what}: IF`);
            assert.equal(ioplOf(after), ioplChanges ? iopl ^ 3 : iopl, `${what}: IOPL`);
            assert.equal(after & Eflags.CF, Eflags.CF, `${what}: status flags always load`);
          }
        }
      });
    }
  }
});

describe('CLI and STI by CPL and IOPL: #GP(0) when CPL > IOPL (SDM vol. 2, CLI, STI)', () => {
  for (const insn of ['cli', 'sti'] as const) {
    it(`${insn} for every CPL and IOPL`, () => {
      for (let cpl = 0; cpl < 4; cpl++) {
        for (let iopl = 0; iopl < 4; iopl++) {
          const what = `${insn} at CPL ${cpl} IOPL ${iopl}`;
          const m = new Machine({ cpl, iopl, eflags: insn === 'cli' ? Eflags.IF : 0 });
          const a = m.load(`
          insn:
            ${insn}
            pushf
            pop %ebx
            out %al, $DONE_PORT`);
          if (cpl > iopl) {
            const f = m.runToEvent();
            assert.equal(f.vector, Vector.GP, what);
            assert.equal(f.errorCode, 0, what);
            assert.equal(f.eip, symbol(a, 'insn'), `${what}: a fault, EIP of the instruction`);
            assert.equal((f.eflags & Eflags.IF) !== 0, insn === 'cli', `${what}: IF unchanged`);
          } else {
            m.runToDone();
            assert.equal((m.ebx & Eflags.IF) !== 0, insn === 'sti', what);
          }
        }
      }
    });
  }
});

describe('IRET to an outer ring (SDM vol. 2, IRET "RETURN-TO-OUTER-PRIVILEGE-LEVEL")', () => {
  for (const target of [1, 2, 3]) {
    it(`from CPL 0 to CPL ${target}: pops SS:ESP; DS/ES/FS/GS with DPL < ${target} become null`, () => {
      const m = new Machine({ cpl: 0 });
      m.load(`
        mov $SEL_DATA0, %ax
        mov %ax, %ds
        mov $SEL_DATA3, %ax
        mov %ax, %es
        mov $SEL_CONFORMING0, %ax
        mov %ax, %fs
        mov $SEL_DATA1, %ax
        mov %ax, %gs
        push $${DATA_SEL[target]}
        push $0x9876
        push $${Eflags.FIXED1 | Eflags.IF | (2 << 12)}
        push $${CODE_SEL[target]}
        push $outer
        iret
      outer:
        mov %ds, %eax
        mov %es, %ebx
        mov %fs, %ecx
        mov %gs, %edx
        mov %esp, %esi
        mov %ss, %edi
        pushf
        pop %ebp
        out %al, $DONE_PORT`);
      m.runToDone();
      assert.equal(m.cpu.cpl, target);
      assert.equal(m.cpu.segSel[1], CODE_SEL[target]);
      assert.equal(m.eax, 0, 'DS (data, DPL 0) nulled');
      assert.equal(m.ebx, Sel.DATA3, 'ES (data, DPL 3) kept');
      assert.equal(m.ecx, Sel.CONFORMING0, 'FS (conforming code) kept');
      assert.equal(m.edx, target > 1 ? 0 : Sel.DATA1, 'GS (data, DPL 1) nulled only above CPL 1');
      assert.equal(m.esi, 0x9876, 'ESP popped');
      assert.equal(m.edi, DATA_SEL[target], 'SS popped');
      // IRET at CPL 0 loads IF and IOPL.
      assert.equal(m.reg(5) & (Eflags.IF | IOPL), Eflags.IF | (2 << 12));
    });
  }

  it('IRET from CPL 1 to CPL 3 loads IF only when CPL <= IOPL, never IOPL', () => {
    for (const iopl of [0, 1]) {
      const m = new Machine({ cpl: 1, iopl });
      m.load(`
        push $SEL_DATA3
        push $0x9000
        push $${Eflags.FIXED1 | Eflags.IF | (3 << 12)}
        push $SEL_CODE3
        push $outer
        iret
      outer:
        pushf
        pop %ebx
        out %al, $DONE_PORT`);
      m.runToDone();
      assert.equal(m.cpu.cpl, 3);
      assert.equal(m.ebx & Eflags.IF, iopl >= 1 ? Eflags.IF : 0, `IOPL ${iopl}: IF`);
      assert.equal(ioplOf(m.ebx), iopl, `IOPL ${iopl}: IOPL unchanged`);
    }
  });

  it('IRET to an inner ring (RPL < CPL) is #GP(selector)', () => {
    const m = new Machine({ cpl: 3 });
    const a = m.load(`
      push $SEL_DATA0
      push $0x7000
      pushf
      push $SEL_CODE0
      push $0
    insn:
      iret`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.GP);
    assert.equal(f.errorCode, Sel.CODE0);
    assert.equal(f.eip, symbol(a, 'insn'));
  });
});

describe('the lecture\'s "problem with popf": a deprivileged kernel at CPL 1 with IOPL 0', () => {
  it('cli traps with #GP(0), but popf of IF=1 neither traps nor sets IF', () => {
    const m = new Machine({ cpl: 1, iopl: 0 });
    const a = m.load(`
      pushf
      pop %eax
      or $${Eflags.IF}, %eax
      push %eax
      popf                  # wants to enable interrupts: silently ignored
      pushf
      pop %ebx
      out %al, $DONE_PORT
    cli_insn:
      cli                   # wants to disable interrupts: traps to ring 0`);
    // The popf ran to completion: no event before DONE, and IF is still 0.
    m.runToDone();
    assert.equal(m.ebx & Eflags.IF, 0, 'popf at CPL 1 > IOPL 0 left IF clear');
    assert.equal(m.eflags() & Eflags.IF, 0);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.GP);
    assert.equal(f.errorCode, 0);
    assert.equal(f.eip, symbol(a, 'cli_insn'));
    assert.equal(f.cs, Sel.CODE1);
  });

  it('and the same kernel\'s popf of IF=0 does not disable interrupts either', () => {
    const m = new Machine({ cpl: 1, iopl: 0, eflags: Eflags.IF });
    m.load(`
      pushf
      pop %eax
      and $~${Eflags.IF}, %eax
      push %eax
      popf
      pushf
      pop %ebx
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.ebx & Eflags.IF, Eflags.IF);
  });
});

describe('sensitive but unprivileged: CPL 3 reads system state without a trap (Popek and Goldberg)', () => {
  it('SGDT, SIDT, SLDT, STR, SMSW and PUSHF run at CPL 3 and see the real values', () => {
    const m = new Machine({ cpl: 3, iopl: 0 });
    m.load(`
      sgdt DATA
      sidt DATA + 8
      sldt %eax
      str %ebx
      smsw %ecx
      pushf
      pop %edx
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.r32(0xb000) & 0xffff, 64 * 8 - 1, 'GDT limit');
    assert.equal((m.r32(0xb000) >>> 16) | ((m.r32(0xb004) & 0xffff) << 16), 0x800, 'GDT base');
    assert.equal(m.r32(0xb008) & 0xffff, 256 * 8 - 1, 'IDT limit');
    assert.equal(m.eax, 0);
    assert.equal(m.ebx, Sel.TSS);
    assert.equal(m.ecx & 1, 1, 'CR0.PE');
    assert.equal(ioplOf(m.edx), 0);
  });
});
