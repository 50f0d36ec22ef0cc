import assert from 'node:assert/strict';
import { ManualClock } from '../platform/clock.ts';
import { describe, it } from 'node:test';
import { Pit8254 } from './pit-8254.ts';
import { REFRESH_TOGGLE_NS, SystemControlPortB } from './port-61.ts';

/** The 8254's input clock on the PC, in Hz (14.31818 MHz / 12). */
const HZ = 1_193_182;
/** The first nanosecond at which `ticks` input clocks have elapsed since time 0. */
const tickNs = (ticks: number) => Math.ceil((ticks * 1e9) / HZ);

/**
 * Simulated time in a variable. advance() runs callbacks at their instants (granularity 0), or
 * only at multiples of `granularity` ns, like a run loop that overshoots deadlines.
 */

/** An IRQ line that records its rising edges. */
function edgeCounter(clock: ManualClock) {
  const rises: number[] = [];
  let level = false;
  return {
    line: {
      set: (l: boolean) => {
        if (l && !level) rises.push(clock.now());
        level = l;
      },
    },
    rises,
    level: () => level,
  };
}

function setup() {
  const clock = new ManualClock();
  const irq = edgeCounter(clock);
  const pit = new Pit8254(clock, irq.line);
  return { clock, irq, pit, out: (port: number, v: number) => pit.write(port, 1, v), inb: (port: number) => pit.read(port, 1) };
}

describe('8254 PIT', () => {
  it('runs channel 0 at 18.2 Hz from reset (mode 3, count 65536, as a PC BIOS and QEMU leave it)', () => {
    const { clock, irq } = setup();
    assert.deepEqual(irq.rises, [0], 'OUT is high in mode 3 from power-on');
    clock.advance(1e9);
    assert.equal(irq.rises.length - 1, Math.floor(HZ / 65536)); // 18 periods
    assert.equal(irq.rises[1], tickNs(65536));
  });

  it('mode 2 with Linux HZ=1000 (count 1193) raises IRQ 0 at exact, drift-free instants', () => {
    const { clock, irq, out } = setup();
    out(0x43, 0x34); // channel 0, LSB then MSB, mode 2, binary
    out(0x40, 1193 & 0xff);
    out(0x40, 1193 >> 8);
    irq.rises.length = 0;
    clock.advance(1e9);
    assert.equal(irq.rises.length, Math.floor(HZ / 1193)); // 1000 periods of 1193 input clocks
    assert.equal(irq.rises[0], tickNs(1193));
    assert.equal(irq.rises[999], tickNs(1000 * 1193));
  });

  it('mode 2 still delivers every period when callbacks run late (the low pulse is one clock)', () => {
    const { clock, irq, out } = setup();
    out(0x43, 0x34);
    out(0x40, 1193 & 0xff);
    out(0x40, 1193 >> 8);
    irq.rises.length = 0;
    clock.advance(1e9, 10_000); // callbacks only every 10 us, far longer than 838 ns
    assert.equal(irq.rises.length, 1000);
  });

  it('mode 3 square wave: high for N/2 clocks, low for N/2, one rising edge per period', () => {
    const { clock, irq, out } = setup();
    out(0x43, 0x36); // mode 3
    out(0x40, 0x00);
    out(0x40, 0x00); // 0 = 65536
    irq.rises.length = 0;
    clock.advance(tickNs(32768) - 1);
    assert.equal(irq.level(), true);
    clock.advance(tickNs(32768));
    assert.equal(irq.level(), false);
    clock.advance(10e9);
    assert.equal(irq.rises.length, Math.floor((10 * HZ) / 65536)); // 182
  });

  it('mode 0 keeps OUT low from the control word until terminal count, then high once', () => {
    const { clock, irq, out } = setup();
    out(0x43, 0x30); // mode 0
    assert.equal(irq.level(), false);
    irq.rises.length = 0;
    out(0x40, 100);
    out(0x40, 0);
    clock.advance(tickNs(100) - 1);
    assert.equal(irq.level(), false);
    clock.advance(tickNs(100));
    assert.equal(irq.level(), true);
    clock.advance(1e9);
    assert.equal(irq.rises.length, 1);
  });

  it('computes the current count from time and latches it', () => {
    const { clock, out, inb } = setup();
    out(0x43, 0x34);
    out(0x40, 1000 & 0xff);
    out(0x40, 1000 >> 8);
    clock.advance(tickNs(100));
    out(0x43, 0x00); // counter latch, channel 0
    clock.advance(tickNs(300)); // the latch holds
    const lo = inb(0x40);
    const hi = inb(0x40);
    assert.equal(lo | (hi << 8), 900);
    // Unlatched reads follow the count: 1000 - 300.
    assert.equal(inb(0x40) | (inb(0x40) << 8), 700);
  });

  it('read-back latches status (OUT, null count, access, mode) ahead of the count', () => {
    const { clock, out, inb } = setup();
    out(0x43, 0x34);
    out(0x43, 0xe2); // read-back: status of channel 0 before a count is written
    assert.equal(inb(0x40), 0x80 | 0x40 | 0x30 | 0x04, 'OUT high, null count, LSB/MSB, mode 2');
    out(0x40, 0x10);
    out(0x40, 0x00);
    clock.advance(tickNs(4));
    out(0x43, 0xc2); // latch count and status
    assert.equal(inb(0x40), 0x80 | 0x30 | 0x04, 'count loaded: null count clear');
    assert.equal(inb(0x40), 0x0c);
    assert.equal(inb(0x40), 0x00);
  });

  it('honours LSB-only and MSB-only access', () => {
    const { clock, out, inb } = setup();
    out(0x43, 0x14); // channel 0, LSB only, mode 2
    out(0x40, 0x50);
    assert.equal(inb(0x40), 0x50);
    out(0x43, 0x24); // MSB only
    out(0x40, 0x02); // count 0x200
    clock.advance(tickNs(0x100));
    assert.equal(inb(0x40), 0x01);
  });

  it('counts channel 2 only while its gate is high in mode 0 (Linux PIT calibration sequence)', () => {
    const clock = new ManualClock();
    const pit = new Pit8254(clock, { set: () => {} });
    const portB = new SystemControlPortB(clock, pit);
    assert.equal(portB.read(0x61, 1) & 0x01, 0, 'gate low at reset');
    // outb((inb(0x61) & ~0x02) | 0x01, 0x61): gate high, speaker off.
    portB.write(0x61, 1, (portB.read(0x61, 1) & ~0x02) | 0x01);
    pit.write(0x43, 1, 0xb0); // channel 2, LSB/MSB, mode 0
    const latch = 11932; // 10 ms
    pit.write(0x42, 1, latch & 0xff);
    pit.write(0x42, 1, latch >> 8);
    assert.equal(portB.read(0x61, 1) & 0x20, 0);
    clock.advance(tickNs(latch) - 1);
    assert.equal(portB.read(0x61, 1) & 0x20, 0);
    clock.advance(tickNs(latch));
    assert.equal(portB.read(0x61, 1) & 0x20, 0x20);
    // Gate low pauses a mode 0 count.
    pit.write(0x42, 1, 100);
    pit.write(0x42, 1, 0);
    portB.write(0x61, 1, 0x00);
    clock.advance(clock.t + 1e6);
    assert.equal(pit.out2(), false);
    portB.write(0x61, 1, 0x01);
    clock.advance(clock.t + tickNs(101));
    assert.equal(pit.out2(), true);
  });

  it('restarts a mode 2 count on a channel 2 gate rising edge and holds OUT high while low', () => {
    const { clock, pit, out, inb } = setup();
    out(0x43, 0xb4); // channel 2, mode 2
    out(0x42, 100);
    out(0x42, 0);
    pit.setGate2(true);
    clock.advance(tickNs(50));
    assert.equal(inb(0x42) | (inb(0x42) << 8), 50);
    pit.setGate2(false);
    assert.equal(pit.out2(), true);
    pit.setGate2(true);
    assert.equal(inb(0x42) | (inb(0x42) << 8), 100);
  });
});

describe('system control port B (0x61)', () => {
  it('toggles the refresh bit every 15 us and keeps bits 0-3', () => {
    const clock = new ManualClock();
    const gates: boolean[] = [];
    const portB = new SystemControlPortB(clock, { setGate2: (g) => gates.push(g), out2: () => true });
    assert.equal(portB.read(0x61, 1), 0x20);
    clock.t = REFRESH_TOGGLE_NS;
    assert.equal(portB.read(0x61, 1), 0x30);
    clock.t = 2 * REFRESH_TOGGLE_NS - 1;
    assert.equal(portB.read(0x61, 1) & 0x10, 0x10);
    clock.t = 2 * REFRESH_TOGGLE_NS;
    assert.equal(portB.read(0x61, 1) & 0x10, 0);
    portB.write(0x61, 1, 0xf3);
    assert.equal(portB.read(0x61, 1), 0x23);
    assert.deepEqual(gates, [true]);
    assert.equal(portB.speakerOn, true);
  });
});
