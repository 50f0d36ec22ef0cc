/**
 * Monitor mode (docs: ARCHITECTURE.md, "the run loop"): every exception, software interrupt and
 * external interrupt returns to the caller as an exit instead of going through the guest IDT.
 * The vector, error code, CR2 and EIP are what the IDT delivery would have used (Intel SDM vol. 3,
 * 6.5, 6.13, 4.7) and nothing is pushed on the guest's stack; the monitor emulates the rest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CpuExit } from '../../src/hw/cpu/cpu.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { PfError, Pte } from '../../src/hw/x86/paging.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { Machine, RUN_STACK_TOP, Sel, TARGET_LIN, TARGET_PHYS, describeExit, symbol } from './machine.ts';

type Trap = Extract<CpuExit, { kind: 'trap' }>;

function trap(exit: CpuExit): Trap {
  if (exit.kind !== 'trap') assert.fail(`expected a trap exit, got ${describeExit(exit)}`);
  return exit;
}

/** A monitor-mode machine whose run stack below RUN_STACK_TOP is filled with a pattern. */
function monitored(options: ConstructorParameters<typeof Machine>[0] = {}): Machine {
  const m = new Machine({ monitor: true, cpl: 1, ...options });
  for (let a = RUN_STACK_TOP - 0x100; a < RUN_STACK_TOP; a += 4) m.w32(a, 0x5a5a5a5a);
  return m;
}

function assertStackUntouched(m: Machine): void {
  assert.equal(m.esp, RUN_STACK_TOP, 'ESP unchanged');
  for (let a = RUN_STACK_TOP - 0x100; a < RUN_STACK_TOP; a += 4) assert.equal(m.r32(a), 0x5a5a5a5a, `stack word at 0x${a.toString(16)}`);
}

describe('monitor mode: exceptions and INT n come back as trap exits', () => {
  it('#UD: vector 6, no error code, EIP of the instruction, nothing pushed', () => {
    const m = monitored();
    const a = m.load(`
    insn:
      ud2`);
    const t = trap(m.run());
    assert.deepEqual([t.vector, t.errorCode, t.eip, t.source], [Vector.UD, -1, symbol(a, 'insn'), 'exception']);
    assertStackUntouched(m);
    assert.equal(m.cpu.cpl, 1, 'still in the guest ring');
    assert.equal(m.cpu.segSel[1], Sel.CODE1);
  });

  it('#GP(0) from CLI at CPL 1 with IOPL 0', () => {
    const m = monitored();
    const a = m.load(`
    insn:
      cli`);
    const t = trap(m.run());
    assert.deepEqual([t.vector, t.errorCode, t.eip, t.source], [Vector.GP, 0, symbol(a, 'insn'), 'exception']);
    assertStackUntouched(m);
  });

  it('#PF: error code and CR2 in the exit; after the monitor maps the page the access restarts', () => {
    const m = monitored({ cpl: 3, paging: true });
    m.setPte(TARGET_LIN, 0);
    m.w32(TARGET_PHYS + 0x10, 0x1234abcd);
    const a = m.load(`
    insn:
      mov TARGET_LIN + 0x10, %eax
      out %al, $DONE_PORT`);
    const t = trap(m.run());
    assert.deepEqual([t.vector, t.errorCode, t.eip, t.cr2], [Vector.PF, PfError.U, symbol(a, 'insn'), TARGET_LIN + 0x10]);
    assert.equal(m.cpu.cr2 >>> 0, TARGET_LIN + 0x10);
    assertStackUntouched(m);
    m.setPte(TARGET_LIN, TARGET_PHYS | Pte.P | Pte.RW | Pte.US);
    m.runToDone();
    assert.equal(m.eax, 0x1234abcd);
  });

  it('INT n, INT3 and INTO: source "software", EIP after the instruction', () => {
    for (const [insn, vector] of [
      ['int $0x80', 0x80],
      ['int3', Vector.BP],
      ['int $0x50', 0x50],
      ['mov $0x7fffffff, %eax\n add $1, %eax\n into', Vector.OF],
    ] as const) {
      const m = monitored({ cpl: 3 });
      const a = m.load(`
        ${insn}
      after:
        nop`);
      const t = trap(m.run());
      assert.deepEqual([t.vector, t.errorCode, t.eip, t.source], [vector, -1, symbol(a, 'after'), 'software'], insn);
      assertStackUntouched(m);
    }
  });

  it('#DB single-step: a trap-class exception with EIP after the stepped instruction', () => {
    const m = monitored({ cpl: 0 });
    const a = m.load(`
      pushf
      orl $${Eflags.TF}, (%esp)
      popf
      nop
    after:
      nop`);
    const t = trap(m.run());
    assert.deepEqual([t.vector, t.errorCode, t.eip, t.source], [Vector.DB, -1, symbol(a, 'after'), 'exception']);
  });

  it('the IDT is not used: exits even with an empty IDT (no double or triple fault)', () => {
    const m = monitored({ cpl: 0 });
    const a = m.load(`
      lidt idtr
    insn:
      ud2
    idtr:
      .word 0
      .long 0`);
    const t = trap(m.run());
    assert.deepEqual([t.vector, t.eip], [Vector.UD, symbol(a, 'insn')]);
  });

  it('a fault in a hot compiled loop reports the exact instruction and state', () => {
    const m = monitored({ cpl: 3, paging: true, compileThreshold: 2 });
    m.setPte(TARGET_LIN + 0x1000, 0);
    const a = m.load(`
      mov $TARGET_LIN, %ebx
      xor %ecx, %ecx
    loop:
      inc %ecx
      add $16, %ebx
    insn:
      mov (%ebx), %eax
      add %eax, %edx
      jmp loop`);
    const t = trap(m.run());
    assert.deepEqual([t.vector, t.eip, t.cr2], [Vector.PF, symbol(a, 'insn'), TARGET_LIN + 0x1000]);
    assert.equal(m.ecx, 0x100, 'the 256th iteration faulted, after its inc and add');
    assert.equal(m.ebx, TARGET_LIN + 0x1000);
  });
});

describe('monitor mode: external interrupts', () => {
  it('an asserted line with IF=1 is an interrupt exit; the monitor acknowledges it', () => {
    const m = monitored({ cpl: 1, iopl: 1, eflags: Eflags.IF });
    const a = m.load(`
      out %al, $IRQ_PORT
    after:
      nop`);
    const exit = m.run();
    assert.equal(exit.kind, 'interrupt');
    assert.equal(m.cpu.eip, symbol(a, 'after'), 'at the boundary after the instruction that raised it');
    assert.equal(m.acks, 0, 'not acknowledged by the CPU');
    assertStackUntouched(m);
  });

  it('with IF=0 the guest keeps running', () => {
    const m = monitored({ cpl: 1, iopl: 1 });
    m.load(`
      out %al, $IRQ_PORT
      mov $1, %ebx
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.ebx, 1);
  });

  it('the popf problem seen by a trap-and-emulate monitor: CLI exits, POPF does not', () => {
    const m = monitored({ cpl: 1, iopl: 0 });
    const a = m.load(`
      pushf
      orl $${Eflags.IF}, (%esp)
      popf
      pushf
      pop %ebx
      out %al, $DONE_PORT
    insn:
      cli`);
    m.runToDone();
    assert.equal(m.ebx & Eflags.IF, 0, 'the guest believes it enabled interrupts; it did not, and no exit happened');
    const t = trap(m.run());
    assert.deepEqual([t.vector, t.errorCode, t.eip], [Vector.GP, 0, symbol(a, 'insn')]);
  });
});
