import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FpuErrorLatch } from './fpu-error.ts';

describe('FERR#/IGNNE# logic (port 0xF0, IRQ 13)', () => {
  it('FERR# raises IRQ 13; a write to port 0xF0 lowers it and asserts IGNNE# until FERR# goes', () => {
    const irq: boolean[] = [];
    const ignne: boolean[] = [];
    const dev = new FpuErrorLatch({ set: (l) => irq.push(l) }, { set: (l) => ignne.push(l) });
    dev.ferr.set(true);
    assert.deepEqual(irq, [true]);
    dev.write(0xf0, 1, 0);
    assert.deepEqual(irq, [true, false]);
    assert.deepEqual(ignne, [true]);
    dev.ferr.set(false);
    assert.deepEqual(ignne, [true, false]);
    assert.deepEqual(irq, [true, false]);
  });

  it('a write without FERR# asserts nothing; reads float high', () => {
    const seen: string[] = [];
    const dev = new FpuErrorLatch({ set: (l) => seen.push(`irq ${l}`) }, { set: (l) => seen.push(`ignne ${l}`) });
    dev.write(0xf0, 1, 0);
    assert.deepEqual(seen, []);
    assert.equal(dev.read(0xf0, 1), 0xff);
    dev.ferr.set(true);
    dev.ferr.set(false);
    assert.deepEqual(seen, ['irq true', 'irq false']);
  });
});
