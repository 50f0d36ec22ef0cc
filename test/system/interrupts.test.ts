/**
 * External (maskable) interrupts (Intel SDM vol. 3, 6.3.2, 6.8): recognised only at instruction
 * boundaries and only with EFLAGS.IF=1; not at the boundary right after an STI that set IF, nor
 * after MOV SS / POP SS (6.8.3, which also holds back single-step traps); HLT resumes on one
 * (SDM vol. 2, HLT). The interrupt controller is a stub: INTA lowers the line and hands over the
 * vector. The last test runs a compiled hot loop that opens interrupt windows of ~10 instructions
 * while a timer (cpu.deadline) raises the line at fixed cycle counts: every interrupt must be
 * taken, and taken inside a window.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cr4 } from '../../src/hw/x86/control-registers.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { Pte } from '../../src/hw/x86/paging.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { Machine, RUN_STACK_TOP, STACK0_TOP, Sel, symbol } from './machine.ts';

const IRQ = 0x20;

describe('delivery at instruction boundaries (SDM vol. 3, 6.3.2, 6.8.1)', () => {
  it('a line raised by an instruction is taken at the boundary after it: EIP of the next instruction', () => {
    const m = new Machine({ cpl: 0, eflags: Eflags.IF });
    const a = m.load(`
      mov $1, %eax
      out %al, $IRQ_PORT
    after:
      mov $2, %ebx
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, IRQ);
    assert.equal(f.errorCode, null);
    assert.equal(f.eip, symbol(a, 'after'));
    assert.equal(f.eflags & Eflags.IF, Eflags.IF);
    assert.equal(m.eflags() & Eflags.IF, 0, 'interrupt gate cleared IF');
    assert.equal(m.ebx, 0);
    assert.equal(m.acks, 1, 'one INTA cycle');
    m.runToDone();
    assert.equal(m.ebx, 2);
    assert.equal(m.acks, 1);
  });

  it('a stack in the upper half (ESP >= 0x80000000, as higher-half kernels such as xv6 have) takes the frame like any other', () => {
    const m = new Machine({ cpl: 0, eflags: Eflags.IF, paging: true, cr4: Cr4.PSE });
    // Linear 0x80000000-0x803fffff: a 4 MiB page over physical 0, so the stack at 0x80000000 + RUN_STACK_TOP is RUN_STACK_TOP.
    m.setPde(0x80000000, Pte.P | Pte.RW | Pte.PS);
    const a = m.load(`
      mov $0x80000000 + RUN_STACK_TOP, %esp
      out %al, $IRQ_PORT
    after:
      nop`);
    const f = m.runToEvent();
    assert.equal(f.vector, IRQ);
    assert.equal(f.eip, symbol(a, 'after'));
    assert.equal(f.frameAddress, (0x80000000 + RUN_STACK_TOP - 12) >>> 0, 'EFLAGS, CS, EIP pushed below the upper-half ESP');
  });

  it('from CPL 3 the gate DPL is not checked for external interrupts; the stack switches (6.12.1.1)', () => {
    const m = new Machine({ cpl: 3, eflags: Eflags.IF });
    assert.equal(m.r32(IRQ * 8 + 4) & 0x6000, 0, 'gate DPL 0');
    const a = m.load(`
      push $7
      out %al, $IRQ_PORT
    after:
      nop`);
    const f = m.runToEvent();
    assert.equal(f.vector, IRQ);
    assert.equal(f.eip, symbol(a, 'after'));
    assert.equal(f.cs, Sel.CODE3);
    assert.equal(f.ss, Sel.DATA3);
    assert.equal(f.esp, RUN_STACK_TOP - 4);
    assert.equal(f.frameAddress, STACK0_TOP - 20);
  });

  it('a not-present gate for an external interrupt: #NP(vector*8 + IDT + EXT)', () => {
    const m = new Machine({ cpl: 0, eflags: Eflags.IF });
    m.setGate(IRQ, { present: false });
    const a = m.load(`
      out %al, $IRQ_PORT
    after:
      nop`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.NP);
    assert.equal(f.errorCode, IRQ * 8 + 3);
    assert.equal(f.eip, symbol(a, 'after'));
  });

  it('not while IF=0; after STI the next instruction runs first (the STI shadow)', () => {
    const m = new Machine({ cpl: 0 });
    const a = m.load(`
      cli
      out %al, $IRQ_PORT
      mov $1, %ebx
      mov $2, %ecx
      sti
      mov $3, %edx
    window:
      nop
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, IRQ);
    assert.equal(f.eip, symbol(a, 'window'));
    assert.deepEqual([m.ebx, m.ecx, m.edx], [1, 2, 3]);
  });

  it('STI; HLT with an interrupt pending: HLT executes, then the interrupt wakes it (EIP after HLT)', () => {
    const m = new Machine({ cpl: 0 });
    const a = m.load(`
      cli
      out %al, $IRQ_PORT
      sti
      hlt
    after:
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, IRQ);
    assert.equal(f.eip, symbol(a, 'after'));
  });

  it('STI with IF already 1 opens no shadow (SDM vol. 2, STI: only when it sets IF)', () => {
    const m = new Machine({ cpl: 0, eflags: Eflags.IF });
    const a = m.load(`
      out %al, $DONE_PORT
      sti
    after:
      mov $3, %edx
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.run(1).kind, 'budget');
    m.raiseIrq();
    const f = m.runToEvent();
    assert.equal(f.vector, IRQ);
    assert.equal(f.eip, symbol(a, 'after'));
  });

  /**
   * Stops right before `insn` (at DONE), runs exactly that instruction, raises the line and runs
   * to the interrupt. Returns the interrupted EIP, the frame address and the snippet's labels.
   */
  function afterOne(insn: string, setup = ''): { eip: number; labels: (n: string) => number; frameAddress: number } {
    const m = new Machine({ cpl: 0, eflags: Eflags.IF });
    const a = m.load(`
      ${setup}
      mov %ss, %ecx
      out %al, $DONE_PORT
      ${insn}
    next:
      mov $0xa800, %esp
    after:
      nop
      out %al, $DONE_PORT
    ptr:
      .long 0xa400
      .word SEL_DATA0`);
    m.runToDone();
    assert.equal(m.run(1).kind, 'budget');
    m.raiseIrq();
    const f = m.runToEvent();
    return { eip: f.eip, labels: (n) => symbol(a, n), frameAddress: f.frameAddress };
  }

  it('MOV SS: the next instruction runs before the interrupt (6.8.3)', () => {
    const r = afterOne('mov %ecx, %ss');
    assert.equal(r.eip, r.labels('after'));
    assert.equal(r.frameAddress, 0xa800 - 12, 'the frame went to the new SS:ESP');
  });

  it('POP SS: the next instruction runs before the interrupt (6.8.3)', () => {
    const r = afterOne('pop %ss', 'push $SEL_DATA0');
    assert.equal(r.eip, r.labels('after'));
  });

  it('other segment loads and LSS open no shadow: the interrupt comes right after them', () => {
    for (const insn of ['mov %ecx, %ds', 'lss ptr, %esp']) {
      const r = afterOne(insn);
      assert.equal(r.eip, r.labels('next'), insn);
    }
  });

  it('MOV SS also holds back the single-step trap until after the next instruction (6.8.3)', () => {
    const m = new Machine({ cpl: 0 });
    const a = m.load(`
      mov %ss, %ecx
      pushf
      orl $${Eflags.TF}, (%esp)
      popf
      mov %ecx, %ss
      mov $0xa800, %esp
    after:
      nop`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.DB);
    assert.equal(f.eip, symbol(a, 'after'), 'one #DB, after the instruction following MOV SS');
    assert.equal(f.frameAddress, 0xa800 - 12);
  });
});

describe('faults while delivering an external interrupt (INTR is benign, SDM vol. 3, table 6-4)', () => {
  it('an IRQ on vector 8 (an unremapped PIC\'s timer) with a not-present gate: #NP, not a triple fault', () => {
    const m = new Machine({ cpl: 0, eflags: Eflags.IF });
    m.setGate(Vector.DF, { present: false });
    const a = m.load(`
      out %al, $IRQ_PORT
    after:
      nop`);
    m.irqVector = Vector.DF;
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.NP);
    assert.equal(f.errorCode, Vector.DF * 8 + 3);
    assert.equal(f.eip, symbol(a, 'after'));
  });

  it('an IRQ on vector 13 from CPL 3 with a bad TSS.SS0: #TS(SS0 + EXT), not #DF', () => {
    const m = new Machine({ cpl: 3, eflags: Eflags.IF });
    m.w32(0x1000 + 8, Sel.DATA3);
    m.setGate(Vector.TS, { selector: Sel.CODE1 });
    m.setGate(Vector.DF, { selector: Sel.CODE1 });
    const a = m.load(`
      out %al, $IRQ_PORT
    after:
      nop`);
    m.irqVector = Vector.GP;
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.TS);
    assert.equal(f.errorCode, (Sel.DATA3 & 0xfffc) | 1);
    assert.equal(f.eip, symbol(a, 'after'));
  });
});

describe('priority at one boundary (SDM vol. 3, 6.9, table 6-2)', () => {
  it('a single-step trap is taken before a pending external interrupt', () => {
    const m = new Machine({ cpl: 0, eflags: Eflags.IF });
    const a = m.load(`
      pushf
      orl $${Eflags.TF}, (%esp)
      popf
      out %al, $IRQ_PORT
    after:
      nop
    next:
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.DB, 'the trap of the previous instruction first');
    assert.equal(f.eip, symbol(a, 'after'));
    assert.equal(m.acks, 0, 'the #DB handler runs with IF=0');
    // The #DB handler returns (IF=1 again): the interrupt comes before the next instruction.
    const g = m.runToEvent();
    assert.equal(g.vector, IRQ);
    assert.equal(g.eip, symbol(a, 'after'));
    assert.equal(g.eflags & Eflags.TF, Eflags.TF);
    // Its handler returns: `after` executes under TF and traps.
    const h = m.runToEvent();
    assert.equal(h.vector, Vector.DB);
    assert.equal(h.eip, symbol(a, 'next'));
  });
});

describe('HLT (SDM vol. 2, HLT)', () => {
  it('halts until an interrupt; resumes after HLT', () => {
    const m = new Machine({ cpl: 0, eflags: Eflags.IF });
    const a = m.load(`
      hlt
    after:
      mov $5, %ebx
      out %al, $DONE_PORT`);
    assert.equal(m.run().kind, 'halt');
    assert.equal(m.run().kind, 'halt', 'still halted without an interrupt');
    m.raiseIrq();
    const f = m.runToEvent();
    assert.equal(f.vector, IRQ);
    assert.equal(f.eip, symbol(a, 'after'));
    m.runToDone();
    assert.equal(m.ebx, 5);
  });

  it('with IF=0 an interrupt does not wake it', () => {
    const m = new Machine({ cpl: 0 });
    m.load('cli\n hlt\n out %al, $DONE_PORT');
    assert.equal(m.run().kind, 'halt');
    m.raiseIrq();
    assert.equal(m.run().kind, 'halt');
    assert.equal(m.acks, 0);
  });
});

describe('a compiled hot loop with short interrupt windows and a periodic timer', () => {
  const LOG = 0x40000;
  const COUNT = LOG - 4;
  const ITERATIONS = 6000;

  for (const [cpl, threshold] of [
    [0, 8],
    [0, 1],
    [3, 8],
  ] as const) {
    it(`CPL ${cpl}, compile threshold ${threshold}: every timer interrupt is taken, inside a window`, () => {
      const m = new Machine({ cpl, iopl: 3, compileThreshold: threshold });
      const adds = (reg: string, n: number) => Array.from({ length: n }, () => `add $1, ${reg}`).join('\n');
      const a = m.load(`
        xor %ecx, %ecx
        xor %edx, %edx
        xor %esi, %esi
      loop:
        sti
        add $1, %ecx          # the STI shadow: no interrupt before this one
      window_first:
        ${adds('%ecx', 9)}
      window_last:
        cli
        ${adds('%edx', 20)}
        inc %esi
        cmp $${ITERATIONS}, %esi
        jne loop
        out %al, $DONE_PORT

      irq_handler:
        push %eax
        push %ebx
        mov ${COUNT}, %ebx
        mov 8(%esp), %eax
        mov %eax, ${LOG}(,%ebx,4)
        inc %ebx
        mov %ebx, ${COUNT}
        pop %ebx
        pop %eax
        iret`);
      m.setGate(IRQ, { offset: symbol(a, 'irq_handler') });
      const PERIOD = 997;
      m.cpu.deadline = PERIOD;
      let raised = 0;
      for (;;) {
        const exit = m.run(50_000_000);
        if (exit.kind === 'deadline') {
          assert.equal(m.cpu.irq, false, `interrupt ${raised} was still pending when the timer fired again`);
          m.raiseIrq(IRQ);
          raised++;
          m.cpu.deadline += PERIOD;
          continue;
        }
        assert.equal(exit.kind === 'request' && exit.reason, 'done');
        break;
      }
      const taken = m.r32(COUNT);
      const pending = m.cpu.irq ? 1 : 0;
      assert.ok(raised > 100, `the timer fired ${raised} times`);
      assert.equal(taken + pending, raised, 'no interrupt lost');
      assert.equal(m.acks, taken);
      const first = symbol(a, 'window_first');
      const last = symbol(a, 'window_last');
      for (let k = 0; k < taken; k++) {
        const eip = m.r32(LOG + 4 * k);
        assert.ok(eip >= first && eip <= last, `interrupt ${k} taken at 0x${eip.toString(16)}, outside [0x${first.toString(16)}, 0x${last.toString(16)}]`);
      }
      // The loop itself was not disturbed.
      assert.deepEqual([m.esi, m.ecx, m.edx], [ITERATIONS, ITERATIONS * 10, ITERATIONS * 20]);
      if (threshold > 0) assert.ok(m.cpu.counters.get('BLOCK_COMPILED') > 0, 'the loop ran compiled');
    });
  }
});
