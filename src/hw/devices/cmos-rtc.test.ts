import assert from 'node:assert/strict';
import { ManualClock } from '../platform/clock.ts';
import { describe, it } from 'node:test';
import { CmosRtc } from './cmos-rtc.ts';

/** 2026-01-01T00:00:00Z, a Thursday. */
const EPOCH = 1_767_225_600;
const S = 1e9;

/** Simulated time in a variable; advance() runs due callbacks at their instants. */

function setup(memory = { baseKiB: 640, extendedKiB: 31 * 1024, above16MiB64KiB: 256 }) {
  const clock = new ManualClock();
  let level = false;
  const rises: number[] = [];
  const rtc = new CmosRtc(
    clock,
    {
      set: (l) => {
        if (l && !level) rises.push(clock.now());
        level = l;
      },
    },
    EPOCH,
    memory,
  );
  const cmos = (index: number) => {
    rtc.write(0x70, 1, index);
    return rtc.read(0x71, 1);
  };
  const setCmos = (index: number, v: number) => {
    rtc.write(0x70, 1, index);
    rtc.write(0x71, 1, v);
  };
  /** Seconds, minutes, hours, day of week, day of month, month, year, century. */
  const time = () => [0, 2, 4, 6, 7, 8, 9, 0x32].map(cmos);
  return { clock, rtc, cmos, setCmos, time, irq: () => level, rises };
}

describe('MC146818 RTC and CMOS', () => {
  it('reads the epoch in BCD, 24-hour mode with the BIOS register defaults', () => {
    const { cmos, time } = setup();
    assert.deepEqual(time(), [0x00, 0x00, 0x00, 0x05, 0x01, 0x01, 0x26, 0x20]); // Thursday = 5 (Sunday = 1)
    assert.equal(cmos(0x0a), 0x26);
    assert.equal(cmos(0x0b), 0x02);
    assert.equal(cmos(0x0d), 0x80, 'VRT');
  });

  it('advances with simulated time, across days and months', () => {
    const { clock, time } = setup();
    clock.advance((86_400 + 3600 + 2 * 60 + 3) * S); // + 1 day 01:02:03
    assert.deepEqual(time(), [0x03, 0x02, 0x01, 0x06, 0x02, 0x01, 0x26, 0x20]);
    clock.advance(58 * 86_400 * S); // 2026 is not a leap year: Feb 28, then Mar 1
    assert.deepEqual(time().slice(4, 6), [0x28, 0x02]);
    clock.advance(59 * 86_400 * S);
    assert.deepEqual(time().slice(4, 6), [0x01, 0x03]);
  });

  it('switches to binary and 12-hour formats through register B', () => {
    const { clock, setCmos, cmos, time } = setup();
    clock.advance((13 * 3600 + 5 * 60 + 59) * S);
    setCmos(0x0b, 0x06); // DM (binary) | 24-hour
    assert.deepEqual(time(), [59, 5, 13, 5, 1, 1, 26, 20]);
    setCmos(0x0b, 0x00); // BCD, 12-hour
    assert.equal(cmos(0x04), 0x81, '1 PM: 1 with bit 7');
    setCmos(0x0b, 0x04); // binary, 12-hour
    assert.equal(cmos(0x04), 0x81);
    clock.advance(86_400 * S);
    setCmos(0x0b, 0x00);
    assert.equal(cmos(0x04), 0x12, 'midnight is 12 AM');
  });

  it('sets UIP for the 244 us before each update', () => {
    const { clock, cmos } = setup();
    clock.advance(S - 244_000 - 1);
    assert.equal(cmos(0x0a) & 0x80, 0);
    assert.equal(cmos(0x00), 0x00);
    clock.advance(S - 244_000);
    assert.equal(cmos(0x0a) & 0x80, 0x80);
    assert.equal(cmos(0x00), 0x00, 'the update has not happened yet');
    clock.advance(S);
    assert.equal(cmos(0x0a) & 0x80, 0);
    assert.equal(cmos(0x00), 0x01);
  });

  it('raises the 1024 Hz periodic interrupt, held until register C is read', () => {
    const { clock, setCmos, cmos, irq, rises } = setup();
    setCmos(0x0b, 0x02 | 0x40); // PIE
    let handled = 0;
    // A driver's handler: acknowledge by reading C whenever the line is up.
    for (let t = 0; t < S; t += 100_000) {
      clock.advance(t);
      if (irq()) {
        assert.equal(cmos(0x0c) & 0xc0, 0xc0, 'IRQF | PF');
        handled++;
      }
    }
    clock.advance(S);
    if (irq()) handled += cmos(0x0c) >> 7;
    assert.equal(rises.length, 1024);
    assert.equal(handled, 1024);
    assert.equal(rises[0], Math.ceil((32 * 1e9) / 32_768), 'first tick after 32 cycles of 32.768 kHz');
  });

  it('sets the flags without interrupting when the enables are off', () => {
    const { clock, cmos, irq } = setup();
    clock.advance(S + 1);
    assert.equal(irq(), false);
    assert.equal(cmos(0x0c), 0x40 | 0x10, 'PF and UF, no IRQF');
    assert.equal(cmos(0x0c), 0x00, 'cleared by the read');
  });

  it('interrupts once per second for update-ended and at the alarm time', () => {
    const { clock, setCmos, cmos, rises } = setup();
    setCmos(0x0b, 0x02 | 0x10); // UIE
    for (let s = 1; s <= 3; s++) {
      clock.advance(s * S);
      assert.equal(cmos(0x0c) & 0xb0, 0x90, 'IRQF | UF (PF runs at 1024 Hz without interrupting)');
    }
    assert.deepEqual(rises, [S, 2 * S, 3 * S]);
    setCmos(0x0b, 0x02 | 0x20); // AIE only
    setCmos(0x01, 0x05);
    setCmos(0x03, 0x00);
    setCmos(0x05, 0x00); // 00:00:05
    clock.advance(5 * S - 1);
    assert.equal(rises.length, 3);
    clock.advance(5 * S);
    assert.equal(rises.length, 4);
    assert.equal(cmos(0x0c) & 0xa0, 0xa0, 'IRQF | AF');
    setCmos(0x01, 0xc0); // "don't care" seconds: matches every second of minute 0
    clock.advance(6 * S);
    assert.equal(cmos(0x0c) & 0xa0, 0xa0);
  });

  it('freezes the time while SET is 1 and restarts from what the guest wrote', () => {
    const { clock, setCmos, cmos, time } = setup();
    setCmos(0x0b, 0x82 | 0x10); // SET (UIE requested too: SET clears it)
    assert.equal(cmos(0x0b), 0x82);
    clock.advance(3 * S);
    assert.equal(cmos(0x00), 0x00, 'no updates while SET');
    assert.equal(cmos(0x0a) & 0x80, 0);
    // 2027-06-15 12:34:56, BCD
    for (const [i, v] of [
      [0x00, 0x56],
      [0x02, 0x34],
      [0x04, 0x12],
      [0x07, 0x15],
      [0x08, 0x06],
      [0x09, 0x27],
    ] as const)
      setCmos(i, v);
    setCmos(0x0b, 0x02);
    assert.deepEqual(time(), [0x56, 0x34, 0x12, 0x03, 0x15, 0x06, 0x27, 0x20]); // a Tuesday
    clock.advance(4 * S);
    assert.equal(cmos(0x00), 0x57);
  });

  it('records the memory sizes a BIOS leaves, capped at 0xFFFF', () => {
    const { cmos } = setup();
    assert.deepEqual([0x15, 0x16].map(cmos), [0x80, 0x02]); // 640 KiB
    // A 32 MiB machine: 31 MiB above 1 MiB = 0x7C00 KiB; 16 MiB above 16 MiB = 0x100 units of 64 KiB.
    assert.deepEqual([0x17, 0x18, 0x30, 0x31].map(cmos), [0x00, 0x7c, 0x00, 0x7c]);
    assert.deepEqual([0x34, 0x35].map(cmos), [0x00, 0x01]);
    const big = setup({ baseKiB: 640, extendedKiB: 127 * 1024, above16MiB64KiB: 0x1_0000 });
    assert.deepEqual([0x17, 0x18, 0x30, 0x31, 0x34, 0x35].map(big.cmos), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  });

  it('stores the other bytes and masks NMI with index bit 7', () => {
    const { rtc, setCmos, cmos } = setup();
    rtc.write(0x70, 1, 0x8f); // NMI off, shutdown status byte
    assert.equal(rtc.nmiMasked, true);
    rtc.write(0x71, 1, 0x0a);
    assert.equal(cmos(0x0f), 0x0a);
    assert.equal(rtc.nmiMasked, false);
    setCmos(0x7f, 0x5a);
    assert.equal(cmos(0x7f), 0x5a);
    setCmos(0x0d, 0x00);
    assert.equal(cmos(0x0d), 0x80, 'register D is read-only');
    assert.equal(rtc.read(0x70, 1), 0xff, 'the index port is write-only');
  });
});
