import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimulatedClock } from '../platform/clock.ts';
import { ApicReg, Esr, LocalApic } from './local-apic.ts';

/** A local APIC on a simulated clock, with a recorded INTR line and a fake 8259 behind LINT0. */
function rig() {
  let now = 0;
  const clock = new SimulatedClock(() => now);
  const intr = { level: false, set(level: boolean) { intr.level = level; } };
  const pic = { vector: 0x08, inta: 0 };
  const apic = new LocalApic(clock, intr, () => {
    pic.inta++;
    return pic.vector;
  });
  const eois: number[] = [];
  apic.onEoi = (v) => eois.push(v);
  const nmi = { count: 0 };
  apic.onNmi = () => nmi.count++;
  const rd = (reg: number) => apic.read(reg, 4) >>> 0;
  const wr = (reg: number, v: number) => apic.write(reg, 4, v);
  /** Advances simulated time to `t`, running each timer callback at its own instant. */
  const runTo = (t: number) => {
    while (clock.next() <= t) {
      now = clock.next();
      clock.runDue();
    }
    now = t;
  };
  /** Jumps to `t` and runs whatever is due there at once (a late board). */
  const jumpTo = (t: number) => {
    now = t;
    clock.runDue();
  };
  const enable = () => wr(ApicReg.SVR, 0x1ff);
  const irrHas = (v: number) => ((rd(ApicReg.IRR + 0x10 * (v >>> 5)) >>> (v & 31)) & 1) === 1;
  const isrHas = (v: number) => ((rd(ApicReg.ISR + 0x10 * (v >>> 5)) >>> (v & 31)) & 1) === 1;
  return { apic, intr, pic, eois, nmi, rd, wr, runTo, jumpTo, enable, irrHas, isrHas, clock, time: () => now };
}

describe('local APIC registers (SDM vol. 3, 10.4 and 10.5)', () => {
  it('resets as QEMU resets the BSP: software-disabled, LVTs masked but LINT0 ExtINT', () => {
    const { rd } = rig();
    assert.equal(rd(ApicReg.ID), 0);
    assert.equal(rd(ApicReg.VERSION), 0x00050014); // version 0x14, max LVT entry 5
    assert.equal(rd(ApicReg.SVR), 0xff);
    assert.equal(rd(ApicReg.TPR), 0);
    assert.equal(rd(ApicReg.PPR), 0);
    assert.equal(rd(ApicReg.DFR), 0xffffffff);
    assert.equal(rd(ApicReg.LVT_TIMER), 0x10000);
    assert.equal(rd(ApicReg.LVT_THERMAL), 0x10000);
    assert.equal(rd(ApicReg.LVT_PERFMON), 0x10000);
    assert.equal(rd(ApicReg.LVT_LINT0), 0x700);
    assert.equal(rd(ApicReg.LVT_LINT1), 0x10000);
    assert.equal(rd(ApicReg.LVT_ERROR), 0x10000);
    assert.equal(rd(ApicReg.TIMER_DIVIDE), 0);
  });

  it('keeps only the architectural bits of the registers it stores', () => {
    const { rd, wr, enable } = rig();
    enable();
    wr(ApicReg.ID, 0x0f123456);
    assert.equal(rd(ApicReg.ID), 0x0f000000);
    wr(ApicReg.LDR, 0xffffffff);
    assert.equal(rd(ApicReg.LDR), 0xff000000);
    wr(ApicReg.DFR, 0x0fffffff);
    assert.equal(rd(ApicReg.DFR), 0x0fffffff);
    wr(ApicReg.LVT_TIMER, 0xffffffff);
    assert.equal(rd(ApicReg.LVT_TIMER), 0x300ff); // vector, mask, periodic: no TSC-deadline mode
    wr(ApicReg.LVT_LINT1, 0xffffffff);
    assert.equal(rd(ApicReg.LVT_LINT1), 0x1a7ff); // remote IRR and delivery status read-only
    wr(ApicReg.VERSION, 0);
    assert.equal(rd(ApicReg.VERSION), 0x00050014);
  });

  it('answers byte reads with bytes of the register and ignores sub-dword writes', () => {
    const { apic, rd } = rig();
    assert.equal(apic.read(ApicReg.VERSION + 2, 1), 0x05);
    assert.equal(apic.read(ApicReg.LVT_LINT0 + 1, 1), 0x07);
    apic.write(ApicReg.TPR, 1, 0x30);
    assert.equal(rd(ApicReg.TPR), 0);
  });

  it('software disable masks every LVT entry, and the masks cannot be cleared until re-enabled (10.4.7.2)', () => {
    const { rd, wr, enable } = rig();
    enable();
    wr(ApicReg.LVT_TIMER, 0x40);
    wr(ApicReg.LVT_LINT0, 0x700);
    wr(ApicReg.SVR, 0x0ff);
    assert.equal(rd(ApicReg.LVT_TIMER), 0x10040);
    assert.equal(rd(ApicReg.LVT_LINT0), 0x10700);
    wr(ApicReg.LVT_TIMER, 0x40);
    assert.equal(rd(ApicReg.LVT_TIMER), 0x10040);
    enable();
    wr(ApicReg.LVT_TIMER, 0x40);
    assert.equal(rd(ApicReg.LVT_TIMER), 0x40);
  });
});

describe('local APIC interrupt acceptance (SDM vol. 3, 10.8)', () => {
  it('moves a fixed interrupt IRR -> ISR on INTA and retires it on EOI', () => {
    const { apic, intr, rd, wr, enable, irrHas, isrHas, eois } = rig();
    enable();
    apic.deliver(0x41, 'fixed', 'edge');
    assert.equal(rd(ApicReg.IRR + 0x20), 0x2); // vector 0x41 = word 2, bit 1
    assert.equal(intr.level, true);
    assert.equal(apic.acknowledge(), 0x41);
    assert.equal(irrHas(0x41), false);
    assert.equal(isrHas(0x41), true);
    assert.equal(intr.level, false);
    assert.equal(rd(ApicReg.PPR), 0x40);
    wr(ApicReg.EOI, 0);
    assert.equal(isrHas(0x41), false);
    assert.equal(rd(ApicReg.PPR), 0);
    assert.deepEqual(eois, []); // edge-triggered: no EOI message
  });

  it('holds interrupts while software-disabled and hands them over once enabled', () => {
    const { apic, intr, enable } = rig();
    apic.deliver(0x50, 'fixed', 'edge');
    assert.equal(intr.level, false);
    enable();
    assert.equal(intr.level, true);
    assert.equal(apic.acknowledge(), 0x50);
  });

  it('TPR masks classes at or below it; PPR follows the highest in-service class', () => {
    const { apic, intr, rd, wr, enable } = rig();
    enable();
    wr(ApicReg.TPR, 0x50);
    assert.equal(rd(ApicReg.PPR), 0x50);
    apic.deliver(0x45, 'fixed', 'edge');
    apic.deliver(0x5f, 'fixed', 'edge');
    assert.equal(intr.level, false); // classes 4 and 5 are not above 5
    apic.deliver(0x61, 'fixed', 'edge');
    assert.equal(intr.level, true);
    assert.equal(apic.acknowledge(), 0x61);
    wr(ApicReg.TPR, 0);
    assert.equal(rd(ApicReg.PPR), 0x60);
    assert.equal(intr.level, false); // 0x5f and 0x45 wait for the class-6 handler
    wr(ApicReg.EOI, 0);
    assert.equal(intr.level, true);
    assert.equal(apic.acknowledge(), 0x5f);
    wr(ApicReg.EOI, 0);
    assert.equal(apic.acknowledge(), 0x45);
    wr(ApicReg.EOI, 0);
    assert.equal(intr.level, false);
    assert.equal(apic.acknowledge(), 0xff); // nothing pending: the spurious vector
  });

  it('delivers higher classes first and nests them over lower in-service ones', () => {
    const { apic, wr, enable, isrHas } = rig();
    enable();
    apic.deliver(0x31, 'fixed', 'edge');
    apic.deliver(0x82, 'fixed', 'edge');
    assert.equal(apic.acknowledge(), 0x82);
    apic.deliver(0x91, 'fixed', 'edge');
    assert.equal(apic.acknowledge(), 0x91);
    assert.equal(isrHas(0x82) && isrHas(0x91), true);
    wr(ApicReg.EOI, 0); // retires 0x91, the highest in service
    assert.equal(isrHas(0x91), false);
    assert.equal(isrHas(0x82), true);
    wr(ApicReg.EOI, 0);
    assert.equal(apic.acknowledge(), 0x31);
  });

  it('reports APR from TPR, ISR and IRR (10.8.3.1)', () => {
    const { apic, rd, wr, enable } = rig();
    enable();
    wr(ApicReg.TPR, 0x72);
    assert.equal(rd(ApicReg.APR), 0x72);
    apic.deliver(0x91, 'fixed', 'edge');
    assert.equal(rd(ApicReg.APR), 0x90);
  });

  it('sends the EOI of a level-triggered vector to onEoi, and sets TMR', () => {
    const { apic, rd, wr, enable, eois } = rig();
    enable();
    apic.deliver(0x3a, 'fixed', 'level');
    assert.equal(rd(ApicReg.TMR + 0x10), 1 << 26);
    assert.equal(apic.acknowledge(), 0x3a);
    wr(ApicReg.EOI, 0);
    assert.deepEqual(eois, [0x3a]);
  });

  it("sends NMI messages to the CPU's NMI input, one edge each", () => {
    const { apic, nmi } = rig();
    apic.deliver(0, 'nmi', 'edge');
    assert.equal(nmi.count, 1);
    apic.deliver(0, 'nmi', 'edge');
    assert.equal(nmi.count, 2);
  });

  it('runs the 8259 INTA cycle for an ExtINT message', () => {
    const { apic, intr, pic } = rig();
    apic.deliver(0, 'extint', 'edge');
    assert.equal(intr.level, true);
    pic.vector = 0x20;
    assert.equal(apic.acknowledge(), 0x20);
    assert.equal(pic.inta, 1);
    assert.equal(intr.level, false);
  });
});

describe('local APIC PIC pass-through through LINT0 (QEMU apic_accept_pic_intr)', () => {
  it('passes the 8259 INTR from power-on, with the APIC software-disabled', () => {
    const { apic, intr, pic } = rig();
    apic.setLint0(true);
    assert.equal(intr.level, true);
    pic.vector = 0x08;
    assert.equal(apic.acknowledge(), 0x08);
    assert.equal(pic.inta, 1);
    apic.setLint0(false);
    assert.equal(intr.level, false);
  });

  it('blocks the 8259 when LINT0 is masked, and passes it again when unmasked', () => {
    const { apic, intr, pic, wr, enable } = rig();
    enable();
    wr(ApicReg.LVT_LINT0, 0x10700);
    apic.setLint0(true);
    assert.equal(intr.level, false);
    assert.equal(apic.acknowledge(), 0xff);
    assert.equal(pic.inta, 0);
    wr(ApicReg.LVT_LINT0, 0x700);
    assert.equal(intr.level, true);
    assert.equal(apic.acknowledge(), pic.vector);
  });

  it('takes the ExtINT before a pending fixed vector, as QEMU does', () => {
    const { apic, pic, enable } = rig();
    enable();
    apic.deliver(0x40, 'fixed', 'edge');
    apic.setLint0(true);
    assert.equal(apic.acknowledge(), pic.vector);
    apic.setLint0(false);
    assert.equal(apic.acknowledge(), 0x40);
  });

  it('delivers LINT0 in Fixed mode as a vector on the rising edge', () => {
    const { apic, pic, wr, enable, irrHas } = rig();
    enable();
    wr(ApicReg.LVT_LINT0, 0x10000 | 0x33);
    apic.setLint0(true);
    assert.equal(irrHas(0x33), false);
    apic.setLint0(false);
    wr(ApicReg.LVT_LINT0, 0x33);
    apic.setLint0(true);
    assert.equal(irrHas(0x33), true);
    assert.equal(pic.inta, 0);
  });
});

describe('local APIC ICR (SDM vol. 3, 10.6)', () => {
  it('delivers a self IPI by shorthand, to all including self, and by physical or logical destination', () => {
    const { apic, rd, wr, enable, irrHas } = rig();
    enable();
    wr(ApicReg.ICR_LOW, (1 << 18) | 0x55); // self
    assert.equal(irrHas(0x55), true);
    assert.equal(rd(ApicReg.ICR_LOW) & (1 << 12), 0); // delivery status idle
    wr(ApicReg.ICR_LOW, (2 << 18) | 0x56); // all including self
    assert.equal(irrHas(0x56), true);
    wr(ApicReg.ICR_LOW, (3 << 18) | 0x57); // all excluding self
    assert.equal(irrHas(0x57), false);
    wr(ApicReg.ICR_HIGH, 0x00000000);
    wr(ApicReg.ICR_LOW, 0x58); // physical destination 0 = this APIC
    assert.equal(irrHas(0x58), true);
    wr(ApicReg.ICR_HIGH, 0x01000000);
    wr(ApicReg.ICR_LOW, 0x59); // physical 1: nobody
    assert.equal(irrHas(0x59), false);
    wr(ApicReg.LDR, 0x01000000);
    wr(ApicReg.ICR_LOW, (1 << 11) | 0x5a); // logical 0x01 in the flat model
    assert.equal(irrHas(0x5a), true);
    assert.equal(apic.acknowledge(), 0x5a);
  });

  it('accepts INIT and STARTUP to absent processors harmlessly', () => {
    const { nmi, intr, rd, wr, enable } = rig();
    enable();
    wr(ApicReg.ICR_HIGH, 0x01000000);
    wr(ApicReg.ICR_LOW, 0x0000c500); // INIT, level assert
    wr(ApicReg.ICR_LOW, 0x00004608); // STARTUP at 0x8000
    wr(ApicReg.ICR_LOW, (3 << 18) | 0x4500); // INIT to all excluding self
    assert.equal(rd(ApicReg.ICR_LOW), (3 << 18) | 0x4500);
    assert.equal(intr.level, false);
    wr(ApicReg.ESR, 0);
    assert.equal(rd(ApicReg.ESR), 0);
    assert.equal(nmi.count, 0);
  });

  it('matches cluster-model logical destinations', () => {
    const { apic, wr } = rig();
    wr(ApicReg.DFR, 0x0fffffff);
    wr(ApicReg.LDR, 0x21000000); // cluster 2, member bit 0
    assert.equal(apic.accepts(0x21, true), true);
    assert.equal(apic.accepts(0x23, true), true);
    assert.equal(apic.accepts(0x11, true), false);
    assert.equal(apic.accepts(0x22, true), false);
    assert.equal(apic.accepts(0xff, true), true);
  });
});

describe('local APIC error status register (SDM vol. 3, 10.5.3)', () => {
  it('latches errors on an ESR write: illegal vectors sent and received, illegal registers', () => {
    const { apic, rd, wr, enable, irrHas } = rig();
    enable();
    wr(ApicReg.ICR_LOW, (1 << 18) | 0x05);
    assert.equal(irrHas(0x05), false);
    assert.equal(rd(ApicReg.ESR), 0); // not visible before the write
    wr(ApicReg.ESR, 0);
    assert.equal(rd(ApicReg.ESR), Esr.SEND_ILLEGAL_VECTOR);
    wr(ApicReg.ESR, 0);
    assert.equal(rd(ApicReg.ESR), 0);
    apic.deliver(0x03, 'fixed', 'edge');
    rd(0x2f0); // reserved: CMCI is beyond max LVT 5
    wr(ApicReg.ESR, 0);
    assert.equal(rd(ApicReg.ESR), Esr.RECEIVE_ILLEGAL_VECTOR | Esr.ILLEGAL_REGISTER);
  });

  it('raises the LVT error interrupt', () => {
    const { apic, wr, enable } = rig();
    enable();
    wr(ApicReg.LVT_ERROR, 0xfe);
    apic.deliver(0x01, 'fixed', 'edge');
    assert.equal(apic.acknowledge(), 0xfe);
  });
});

describe('local APIC timer (SDM vol. 3, 10.5.4)', () => {
  it('counts down once at the 1 GHz bus clock / divisor and interrupts at 0', () => {
    const { apic, rd, wr, enable, runTo, irrHas } = rig();
    enable();
    wr(ApicReg.TIMER_DIVIDE, 0xb); // divide by 1
    wr(ApicReg.LVT_TIMER, 0x40); // one-shot, vector 0x40
    wr(ApicReg.TIMER_INITIAL, 1000);
    assert.equal(rd(ApicReg.TIMER_CURRENT), 1000);
    runTo(400);
    assert.equal(rd(ApicReg.TIMER_CURRENT), 600);
    runTo(999);
    assert.equal(irrHas(0x40), false);
    runTo(1000);
    assert.equal(irrHas(0x40), true);
    assert.equal(rd(ApicReg.TIMER_CURRENT), 0);
    assert.equal(apic.acknowledge(), 0x40);
    wr(ApicReg.EOI, 0);
    runTo(100_000);
    assert.equal(irrHas(0x40), false);
    assert.equal(rd(ApicReg.TIMER_CURRENT), 0);
    assert.equal(apic.timerInterrupts, 1);
  });

  it('decodes all eight divide configurations (figure 10-10)', () => {
    const table: [number, number][] = [
      [0x0, 2],
      [0x1, 4],
      [0x2, 8],
      [0x3, 16],
      [0x8, 32],
      [0x9, 64],
      [0xa, 128],
      [0xb, 1],
    ];
    for (const [config, divisor] of table) {
      const { rd, wr, enable, runTo, time } = rig();
      enable();
      wr(ApicReg.TIMER_DIVIDE, config);
      assert.equal(rd(ApicReg.TIMER_DIVIDE), config);
      wr(ApicReg.TIMER_INITIAL, 100_000);
      runTo(time() + 1000 * divisor + divisor - 1);
      assert.equal(rd(ApicReg.TIMER_CURRENT), 100_000 - 1000, `divide configuration ${config}`);
    }
  });

  it('reloads in periodic mode on a fixed grid, without drift however late the callbacks run', () => {
    const { apic, rd, wr, enable, runTo, clock } = rig();
    enable();
    wr(ApicReg.TIMER_DIVIDE, 0x3); // 16
    wr(ApicReg.LVT_TIMER, 0x20040); // periodic
    wr(ApicReg.TIMER_INITIAL, 100); // period 1600 ns
    const deadlines: number[] = [];
    for (let k = 0; k < 10; k++) {
      deadlines.push(clock.next());
      runTo(clock.next());
      assert.equal(apic.acknowledge(), 0x40);
      wr(ApicReg.EOI, 0);
    }
    assert.deepEqual(
      deadlines,
      Array.from({ length: 10 }, (_, k) => (k + 1) * 1600),
    );
    assert.equal(rd(ApicReg.TIMER_CURRENT), 100);
    runTo(16_000 + 800);
    assert.equal(rd(ApicReg.TIMER_CURRENT), 50);
    assert.equal(apic.timerInterrupts, 10);
  });

  it('coalesces missed periods into one interrupt and stays on the grid', () => {
    const { apic, wr, enable, clock, jumpTo } = rig();
    enable();
    wr(ApicReg.TIMER_DIVIDE, 0xb);
    wr(ApicReg.LVT_TIMER, 0x20040);
    wr(ApicReg.TIMER_INITIAL, 1000);
    assert.equal(clock.next(), 1000);
    jumpTo(4500); // the board runs the callback 3.5 periods late
    assert.equal(apic.timerInterrupts, 1);
    assert.equal(clock.next(), 5000);
  });

  it('keeps counting while masked, without interrupts; initial count 0 stops it', () => {
    const { apic, rd, wr, enable, runTo, irrHas, clock } = rig();
    enable();
    wr(ApicReg.TIMER_DIVIDE, 0xb);
    wr(ApicReg.LVT_TIMER, 0x30040); // periodic, masked
    wr(ApicReg.TIMER_INITIAL, 1000);
    runTo(2500);
    assert.equal(irrHas(0x40), false);
    assert.equal(rd(ApicReg.TIMER_CURRENT), 500);
    wr(ApicReg.LVT_TIMER, 0x20040);
    runTo(3000);
    assert.equal(irrHas(0x40), true);
    wr(ApicReg.TIMER_INITIAL, 0);
    assert.equal(rd(ApicReg.TIMER_CURRENT), 0);
    assert.equal(clock.next(), Number.POSITIVE_INFINITY);
    assert.equal(apic.timerInterrupts, 1);
  });

  it('keeps the current count across a divide change', () => {
    const { rd, wr, enable, runTo } = rig();
    enable();
    wr(ApicReg.TIMER_DIVIDE, 0xb);
    wr(ApicReg.TIMER_INITIAL, 1000);
    runTo(300);
    wr(ApicReg.TIMER_DIVIDE, 0x0); // now by 2
    assert.equal(rd(ApicReg.TIMER_CURRENT), 700);
    runTo(500);
    assert.equal(rd(ApicReg.TIMER_CURRENT), 600);
  });
});

describe('local APIC NMI sources (SDM vol. 3, 10.5.1, 10.6.1)', () => {
  it('LINT1 in NMI mode (as SeaBIOS leaves it): one NMI per rising edge; masked, none', () => {
    const { wr, enable, apic, nmi } = rig();
    enable();
    wr(ApicReg.LVT_LINT1, 0x400);
    apic.setLint1(true);
    apic.setLint1(true);
    apic.setLint1(false);
    assert.equal(nmi.count, 1);
    wr(ApicReg.LVT_LINT1, 0x10400);
    apic.setLint1(true);
    apic.setLint1(false);
    assert.equal(nmi.count, 1);
  });

  it('LINT0 in NMI mode: an NMI on the 8259 output rising edge', () => {
    const { wr, enable, apic, nmi } = rig();
    enable();
    wr(ApicReg.LVT_LINT0, 0x400);
    apic.setLint0(true);
    apic.setLint0(false);
    apic.setLint0(true);
    assert.equal(nmi.count, 2);
  });

  it('an NMI IPI to its own APIC ID, and to all including self; the vector is ignored', () => {
    const { wr, enable, nmi, intr } = rig();
    enable();
    wr(ApicReg.ICR_HIGH, 0);
    wr(ApicReg.ICR_LOW, 0x400);
    wr(ApicReg.ICR_LOW, (2 << 18) | 0x4ff);
    assert.equal(nmi.count, 2);
    wr(ApicReg.ICR_LOW, (3 << 18) | 0x400); // all excluding self
    assert.equal(nmi.count, 2);
    assert.equal(intr.level, false);
  });
});

describe('IA32_APIC_BASE.EN: the APIC globally disabled (SDM vol. 3, 10.4.3)', () => {
  it('hides the window (reads all ones, writes ignored) and drops messages and IPIs', () => {
    const { apic, rd, wr, enable, intr, nmi } = rig();
    enable();
    apic.setGlobalEnable(false);
    assert.equal(rd(ApicReg.VERSION), 0xffffffff);
    assert.equal(apic.read(ApicReg.SVR, 1), 0xff);
    wr(ApicReg.TPR, 0x20);
    apic.deliver(0x40, 'fixed', 'edge');
    apic.deliver(0, 'nmi', 'edge');
    assert.equal(intr.level, false);
    assert.equal(nmi.count, 0);
  });

  it('LINT0 and LINT1 become the processor INTR and NMI pins; the 8259 answers INTA itself', () => {
    const { apic, intr, nmi, pic } = rig();
    apic.setGlobalEnable(false);
    pic.vector = 0x21;
    apic.setLint0(true);
    assert.equal(intr.level, true);
    assert.equal(apic.acknowledge(), 0x21);
    assert.equal(pic.inta, 1);
    apic.setLint0(false);
    assert.equal(intr.level, false);
    apic.setLint1(true);
    assert.equal(nmi.count, 1);
  });

  it('stops the timer; enabled again, the APIC is in its power-up state', () => {
    const { apic, rd, wr, enable, runTo, intr } = rig();
    enable();
    wr(ApicReg.TPR, 0x30);
    wr(ApicReg.TIMER_DIVIDE, 0xb);
    wr(ApicReg.LVT_TIMER, 0x40);
    wr(ApicReg.TIMER_INITIAL, 100);
    apic.setGlobalEnable(false);
    runTo(1000);
    assert.equal(intr.level, false);
    apic.setGlobalEnable(true);
    assert.equal(rd(ApicReg.SVR), 0xff);
    assert.equal(rd(ApicReg.TPR), 0);
    assert.equal(rd(ApicReg.TIMER_INITIAL), 0);
    assert.equal(rd(ApicReg.LVT_TIMER), 0x10000);
    assert.equal(rd(ApicReg.LVT_LINT0), 0x700);
  });
});
