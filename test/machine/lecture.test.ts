/**
 * The lecture guest natively: its serial output must equal, line for line, what the same image
 * printed under QEMU (guest/lecture/expected-qemu.txt) — page faults, CR2 and error codes, the
 * values loaded, and the accessed/dirty bits the hardware left in the guest's page tables.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';
import { boot } from './boot.ts';

it('the lecture guest prints exactly what it prints on QEMU', () => {
  const run = boot('guest/lecture/lecture.elf');
  const expected = readFileSync(join(ROOT, 'guest/lecture/expected-qemu.txt'), 'latin1');
  assert.equal(run.output, expected);
  assert.deepEqual(run.exit, { kind: 'exit', status: 1 });
  assert.equal(run.vectors['#PF'], 3, 'the three lazy faults of steps 4 and 7');
  assert.equal(run.counters.cr3_load, 3, 'CR3 <- 0x1000, 0x3000, 0x1000');
});
