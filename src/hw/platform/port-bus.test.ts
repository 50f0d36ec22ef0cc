import assert from 'node:assert/strict';
import { it } from 'node:test';
import { IoPortBus } from './port-bus.ts';

it('routes claimed ports with their size and reads unclaimed ports as all ones', () => {
  const bus = new IoPortBus();
  const seen: string[] = [];
  bus.claim(0x70, 2, 'cmos', { read: (p, s) => p + s, write: (p, s, v) => seen.push(`${p}:${s}:${v}`) });
  assert.equal(bus.read(0x71, 1), 0x72);
  bus.write(0x70, 2, 5);
  assert.deepEqual(seen, ['112:2:5']);
  assert.equal(bus.read(0x300, 1), 0xff);
  assert.equal(bus.read(0x300, 2), 0xffff);
  assert.equal(bus.read(0x300, 4), -1);
  assert.equal(bus.accesses.get('cmos'), 2);
});

it('refuses to give one port to two devices', () => {
  const bus = new IoPortBus();
  const h = { read: () => 0, write: () => {} };
  bus.claim(0x60, 1, 'kbd', h);
  assert.throws(() => bus.claim(0x5f, 2, 'other', h), /port 0x60 claimed twice \(kbd and other\)/);
});
