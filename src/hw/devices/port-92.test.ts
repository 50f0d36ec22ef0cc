/** System control port A (port 0x92) against QEMU's hw/i386/pc.c port92 and the PS/2 reference. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SystemControlPortA } from './port-92.ts';

it('reads back what was written; the A20 bit is bit 1', () => {
  const p = new SystemControlPortA(() => {});
  assert.equal(p.read(0x92, 1), 0);
  p.write(0x92, 1, 0x02);
  assert.equal(p.read(0x92, 1), 0x02);
  assert.equal(p.a20, true);
  p.write(0x92, 1, 0x00);
  assert.equal(p.a20, false);
});

it('requests a reset on a rising edge of bit 0 only', () => {
  let resets = 0;
  const p = new SystemControlPortA(() => resets++);
  p.write(0x92, 1, 0x03);
  assert.equal(resets, 1);
  p.write(0x92, 1, 0x03); // already set: no edge
  assert.equal(resets, 1);
  p.write(0x92, 1, 0x02);
  p.write(0x92, 1, 0x01);
  assert.equal(resets, 2);
});
