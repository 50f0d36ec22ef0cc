import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimulatedClock } from '../platform/clock.ts';
import { IoApic, IoApicPort, Redir } from './io-apic.ts';
import { ApicReg, type ApicDeliveryMode, type ApicTrigger, LocalApic } from './local-apic.ts';

interface Message {
  vector: number;
  mode: ApicDeliveryMode;
  trigger: ApicTrigger;
}

/** An I/O APIC whose messages are recorded; `sel`/`win` access the indirect registers as a driver does. */
function rig(accepts?: (d: number, logical: boolean) => boolean) {
  const sent: Message[] = [];
  const io = new IoApic((vector, mode, trigger) => sent.push({ vector, mode, trigger }), accepts);
  const read = (reg: number) => {
    io.write(IoApicPort.IOREGSEL, 4, reg);
    return io.read(IoApicPort.IOWIN, 4) >>> 0;
  };
  const write = (reg: number, v: number) => {
    io.write(IoApicPort.IOREGSEL, 4, reg);
    io.write(IoApicPort.IOWIN, 4, v);
  };
  /** Programs redirection entry `pin` (low dword, destination byte). */
  const route = (pin: number, low: number, destination = 0) => {
    write(0x11 + 2 * pin, destination << 24);
    write(0x10 + 2 * pin, low);
  };
  return { io, sent, read, write, route };
}

const LEVEL = Redir.LEVEL;

describe('I/O APIC registers (82093AA datasheet, 3.1 and 3.2)', () => {
  it('reads ID, version (24 entries, version 0x20 as QEMU) and arbitration; resets every entry masked', () => {
    const { read, write } = rig();
    assert.equal(read(0x01), 0x00170020);
    assert.equal(read(0x00), 0);
    write(0x00, 0xffffffff);
    assert.equal(read(0x00), 0x0f000000); // ID bits 27:24
    assert.equal(read(0x02), 0x0f000000);
    for (let pin = 0; pin < 24; pin++) {
      assert.equal(read(0x10 + 2 * pin), 0x00010000);
      assert.equal(read(0x11 + 2 * pin), 0);
    }
    assert.equal(read(0x40), 0xffffffff); // beyond the table (QEMU)
  });

  it('reads IOREGSEL back and answers only 32-bit IOWIN accesses', () => {
    const { io, read } = rig();
    io.write(IoApicPort.IOREGSEL, 1, 0x01);
    assert.equal(io.read(IoApicPort.IOREGSEL, 4), 0x01);
    assert.equal(io.read(IoApicPort.IOWIN, 2), 0);
    io.write(IoApicPort.IOWIN, 2, 0);
    assert.equal(read(0x01), 0x00170020);
  });

  it('stores the defined bits and keeps delivery status and remote IRR read-only', () => {
    const { read, write } = rig();
    write(0x10, 0xffffffff);
    assert.equal(read(0x10), 0x0001afff);
    write(0x11, 0xffffffff);
    assert.equal(read(0x11), 0xff000000);
  });
});

describe('I/O APIC edge-triggered pins', () => {
  it('delivers once per rising edge', () => {
    const { io, sent, route } = rig();
    route(1, 0x31);
    io.setIrq(1, true);
    io.setIrq(1, true);
    assert.deepEqual(sent, [{ vector: 0x31, mode: 'fixed', trigger: 'edge' }]);
    io.setIrq(1, false);
    io.setIrq(1, true);
    assert.equal(sent.length, 2);
  });

  it('loses an edge that arrives while masked', () => {
    const { io, sent, route } = rig();
    route(4, Redir.MASKED | 0x34);
    io.setIrq(4, true);
    route(4, 0x34);
    assert.equal(sent.length, 0);
  });

  it('sends the programmed delivery mode; ExtINT carries no priority', () => {
    const { io, sent, route } = rig();
    route(0, 0x700);
    route(5, 0x400 | 0x02);
    io.setIrq(0, true);
    io.setIrq(5, true);
    assert.deepEqual(
      sent.map((m) => m.mode),
      ['extint', 'nmi'],
    );
  });
});

describe('I/O APIC level-triggered pins and remote IRR', () => {
  it('delivers while asserted, once until EOI, and again on EOI if still asserted', () => {
    const { io, sent, read, route } = rig();
    route(10, LEVEL | 0x3a);
    io.setIrq(10, true);
    assert.deepEqual(sent, [{ vector: 0x3a, mode: 'fixed', trigger: 'level' }]);
    assert.equal(read(0x10 + 20) & Redir.REMOTE_IRR, Redir.REMOTE_IRR);
    io.setIrq(10, true);
    assert.equal(sent.length, 1);
    io.eoi(0x3a);
    assert.equal(sent.length, 2); // still asserted
    assert.equal(read(0x10 + 20) & Redir.REMOTE_IRR, Redir.REMOTE_IRR);
    io.setIrq(10, false);
    io.eoi(0x3a);
    assert.equal(sent.length, 2);
    assert.equal(read(0x10 + 20) & Redir.REMOTE_IRR, 0);
    io.eoi(0x3a); // a stray EOI is harmless
    assert.equal(sent.length, 2);
  });

  it('takes a directed EOI through the EOI register at 0x40 (ICH9 13.5.5): remote IRR of that vector clears', () => {
    const { io, sent, read, route } = rig();
    route(10, LEVEL | 0x3a);
    io.setIrq(10, true);
    io.setIrq(10, false);
    io.write(IoApicPort.EOI, 4, 0x3b); // another vector: nothing happens
    assert.equal(read(0x10 + 20) & Redir.REMOTE_IRR, Redir.REMOTE_IRR);
    io.write(IoApicPort.EOI, 4, 0x3a);
    assert.equal(read(0x10 + 20) & Redir.REMOTE_IRR, 0);
    io.setIrq(10, true);
    assert.equal(sent.length, 2);
  });

  it('EOIs only entries with the vector', () => {
    const { io, sent, route } = rig();
    route(10, LEVEL | 0x3a);
    route(11, LEVEL | 0x3b);
    io.setIrq(10, true);
    io.setIrq(11, true);
    io.eoi(0x3b);
    assert.deepEqual(
      sent.map((m) => m.vector),
      [0x3a, 0x3b, 0x3b],
    );
  });

  it('delivers an asserted input when its entry is unmasked', () => {
    const { io, sent, route } = rig();
    route(9, LEVEL | Redir.MASKED | 0x39);
    io.setIrq(9, true);
    assert.equal(sent.length, 0);
    route(9, LEVEL | 0x39);
    assert.deepEqual(sent, [{ vector: 0x39, mode: 'fixed', trigger: 'level' }]);
  });

  it('does not wait for an EOI of a message no CPU accepted', () => {
    const { io, sent, read, route } = rig();
    route(12, LEVEL | 0x3c, 5); // physical APIC 5: absent
    io.setIrq(12, true);
    assert.equal(sent.length, 0);
    assert.equal(read(0x10 + 24) & Redir.REMOTE_IRR, 0);
    route(12, LEVEL | 0x3c, 0);
    assert.equal(sent.length, 1);
  });
});

describe('I/O APIC destinations', () => {
  it('by default reaches physical APIC 0, logical bit 0 and the broadcast', () => {
    const { io, sent, route } = rig();
    route(1, 0x41, 0);
    route(2, 0x42, 1);
    route(3, Redir.LOGICAL | 0x43, 0x01);
    route(4, Redir.LOGICAL | 0x44, 0x02);
    route(5, 0x45, 0xff);
    for (let pin = 1; pin <= 5; pin++) io.setIrq(pin, true);
    assert.deepEqual(
      sent.map((m) => m.vector),
      [0x41, 0x43, 0x45],
    );
  });

  it('with the local APIC: message, INTA, EOI back to the I/O APIC, redelivery', () => {
    const intr = { level: false, set(l: boolean) { intr.level = l; } };
    const lapic = new LocalApic(new SimulatedClock(() => 0), intr, () => 0x08);
    const io = new IoApic((v, m, t) => lapic.deliver(v, m, t), (d, l) => lapic.accepts(d, l));
    lapic.onEoi = (v) => io.eoi(v);
    lapic.write(ApicReg.SVR, 4, 0x1ff);
    lapic.write(ApicReg.LDR, 4, 0x02000000);
    io.write(0, 4, 0x11 + 2 * 11);
    io.write(0x10, 4, 0x02000000);
    io.write(0, 4, 0x10 + 2 * 11);
    io.write(0x10, 4, LEVEL | Redir.LOGICAL | 0x5b);
    io.setIrq(11, true);
    assert.equal(intr.level, true);
    assert.equal(lapic.acknowledge(), 0x5b);
    assert.equal(intr.level, false);
    lapic.write(ApicReg.EOI, 4, 0); // the line is still asserted: delivered again
    assert.equal(intr.level, true);
    assert.equal(lapic.acknowledge(), 0x5b);
    io.setIrq(11, false);
    lapic.write(ApicReg.EOI, 4, 0);
    assert.equal(intr.level, false);
  });

  it('refuses pins that do not exist (a board bug)', () => {
    const { io } = rig();
    assert.throws(() => io.setIrq(24, true), RangeError);
  });
});
