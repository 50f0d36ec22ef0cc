/**
 * The NMI input (SDM vol. 3, 6.7, 6.7.1, 6.8.3, 6.9): taken through vector 2 at an instruction
 * boundary whatever EFLAGS.IF says, before a pending INTR; latched (one waits, more are lost);
 * blocked from the start of its delivery until the next IRET — even an IRET that faults — and
 * held for one instruction after STI and MOV SS; it wakes HLT with IF=0. In monitor mode it
 * comes back as an 'nmi' exit. The handler stubs of machine.ts stop the run inside the handler
 * ('event'); running on executes the stub's IRET.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { Machine, stubAddress, symbol } from './machine.ts';

describe('NMI delivery', () => {
  it('is taken with IF=0 at the next boundary, through vector 2, no error code; the handler runs with IF=0', () => {
    const m = new Machine({ cpl: 0 });
    const a = m.load(`
      nop
      out %al, $NMI_PORT
    after:
      nop
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.NMI, null, symbol(a, 'after')]);
    assert.equal(f.eflags & Eflags.IF, 0);
    assert.equal(m.eflags() & Eflags.IF, 0);
    m.runToDone();
    assert.equal(m.cpu.counters.byVector[Vector.NMI], 1);
  });

  it('a second NMI while the handler runs waits for its IRET; a third one then is lost (one is latched)', () => {
    const m = new Machine({ cpl: 3 });
    const a = m.load(`
      out %al, $NMI_PORT
    after:
      nop
    end:
      out %al, $DONE_PORT`);
    let f = m.runToEvent();
    assert.equal(f.eip, symbol(a, 'after'));
    // Inside the handler: two more NMIs.
    m.cpu.raiseNmi();
    m.cpu.raiseNmi();
    f = m.runToEvent();
    assert.equal(f.vector, Vector.NMI);
    assert.equal(f.eip, symbol(a, 'after'), 'taken right after the first handler returned, not nested in it');
    assert.equal(f.handlerCpl, 0);
    m.runToDone();
    assert.equal(m.cpu.counters.byVector[Vector.NMI], 2);
  });

  it('an IRET that faults still ends the blocking: the NMI comes before the #GP handler runs', () => {
    const m = new Machine({ cpl: 0 });
    m.load('out %al, $NMI_PORT\n nop\n out %al, $DONE_PORT');
    const f = m.runToEvent();
    // Make the stub's IRET fault: a null CS in its frame (#GP(0)).
    m.write32Lin(f.frameAddress + 4, 0);
    m.cpu.raiseNmi();
    const g = m.runToEvent();
    assert.deepEqual([g.vector, g.eip], [Vector.NMI, stubAddress(Vector.GP)]);
  });

  it('outranks INTR: with both pending and IF=1 the NMI goes first, the interrupt after its IRET', () => {
    const m = new Machine({ cpl: 0, eflags: Eflags.IF });
    const a = m.load('out %al, $STOP_PORT\n start: nop\n out %al, $DONE_PORT');
    m.runUntil('stop');
    m.raiseIrq(0x30);
    m.cpu.raiseNmi();
    const f = m.runToEvent();
    assert.deepEqual([f.vector, f.eip], [Vector.NMI, symbol(a, 'start')]);
    const g = m.runToEvent();
    assert.deepEqual([g.vector, g.eip], [0x30, symbol(a, 'start')]);
  });

  for (const [name, source] of [
    ['STI', 'sti'],
    ['MOV SS', 'mov %ss, %ax\n mov %ax, %ss'],
  ] as const) {
    it(`is held for one instruction after ${name} (SDM vol. 3, 6.8.3)`, () => {
      const m = new Machine({ cpl: 0 });
      const lines = source.split('\n');
      const a = m.load(`
        ${lines.slice(0, -1).join('\n')}
        out %al, $STOP_PORT
        ${lines.at(-1)}
        nop
      after:
        out %al, $DONE_PORT`);
      m.runUntil('stop');
      assert.equal(m.cpu.run(1).kind, 'budget');
      m.cpu.raiseNmi();
      const f = m.runToEvent();
      assert.deepEqual([f.vector, f.eip], [Vector.NMI, symbol(a, 'after')]);
    });
  }

  it('wakes HLT with IF=0, returning after the HLT', () => {
    const m = new Machine({ cpl: 0 });
    const a = m.load('cli\n hlt\n after: out %al, $DONE_PORT');
    assert.equal(m.run().kind, 'halt');
    assert.equal(m.run().kind, 'halt', 'nothing else wakes it');
    m.cpu.raiseNmi();
    const f = m.runToEvent();
    assert.deepEqual([f.vector, f.eip], [Vector.NMI, symbol(a, 'after')]);
    m.runToDone();
  });
});

describe('NMI in monitor mode', () => {
  it("comes back as an 'nmi' exit, taken off the input, whatever IF says", () => {
    const m = new Machine({ cpl: 0, monitor: true });
    m.load('out %al, $NMI_PORT\n nop\n out %al, $DONE_PORT');
    assert.equal(m.run().kind, 'nmi');
    assert.equal(m.cpu.nmiPending, false);
    m.runToDone();
  });

  it('no exit while NMIs are blocked (a monitor mirrors a guest handler running); one as soon as they are not', () => {
    const m = new Machine({ cpl: 0, monitor: true });
    m.load('out %al, $STOP_PORT\n out %al, $NMI_PORT\n nop\n out %al, $DONE_PORT');
    m.runUntil('stop');
    m.cpu.nmiBlocked = true;
    m.runToDone();
    assert.equal(m.cpu.nmiPending, true, 'still latched');
    m.cpu.nmiBlocked = false;
    assert.equal(m.run().kind, 'nmi');
  });
});
