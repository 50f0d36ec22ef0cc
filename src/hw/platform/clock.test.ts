import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SimulatedClock } from './clock.ts';

it('runs due callbacks in time order, same-instant ones in scheduling order, and honours cancel', () => {
  let now = 0;
  const clock = new SimulatedClock(() => now);
  const ran: string[] = [];
  clock.schedule(300, () => ran.push('c'));
  const b = clock.schedule(200, () => ran.push('b'));
  clock.schedule(100, () => ran.push('a1'));
  clock.schedule(100, () => ran.push('a2'));
  clock.schedule(200, () => ran.push('x'));
  clock.cancel(b);
  assert.equal(clock.next(), 100);
  now = 250;
  assert.equal(clock.runDue(), 3);
  assert.deepEqual(ran, ['a1', 'a2', 'x']);
  assert.equal(clock.next(), 300);
});

it('tells the board when the earliest instant changes', () => {
  let now = 0;
  const clock = new SimulatedClock(() => now);
  const seen: number[] = [];
  clock.onReschedule = () => seen.push(clock.next());
  clock.schedule(500, () => {});
  clock.schedule(900, () => {});
  clock.schedule(100, () => {});
  now = 100;
  clock.runDue();
  assert.deepEqual(seen, [500, 100, 500]);
});
