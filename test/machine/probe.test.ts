/**
 * The isolation probe (guest/probe) natively, with 32 MiB like its QEMU transcript: as the probe
 * its serial output must equal, line for line, what the same image printed under QEMU
 * (guest/probe/expected-qemu.txt) — nothing above RAM, no marker in its RAM, privileged
 * instructions at ring 3 raise #GP, invlpg makes a changed PTE visible; as the holder it must
 * fill its RAM with its pattern and find it intact.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';
import { runGuest } from './boot.ts';

const MIB = 1 << 20;

it('the probe prints exactly what it prints on QEMU, and finds nothing', () => {
  const run = runGuest('guest/probe/probe.elf', { cmdline: 'role=probe marker=12345678', ramBytes: 32 * MIB });
  const expected = readFileSync(join(ROOT, 'guest/probe/expected-qemu.txt'), 'latin1');
  assert.equal(run.output, expected);
  assert.deepEqual(run.exit, { kind: 'exit', status: 1 });
  assert.equal(run.vectors['#GP'], 5, 'cli, hlt, mov cr3, in, lgdt at ring 3');
});

it('the probe finds a marker that is in its RAM (the multiboot header magic)', () => {
  const run = runGuest('guest/probe/probe.elf', { cmdline: 'role=probe marker=1badb002', ramBytes: 32 * MIB });
  assert.match(run.output, /probe: marker search in RAM: 1 hits, first at 0x00100000\n/);
  assert.match(run.output, /probe: FOUND the other VM's marker in my RAM\n/);
  assert.deepEqual(run.exit, { kind: 'exit', status: 3 });
});

it('the holder fills its RAM with its pattern and finds it intact', () => {
  const run = runGuest('guest/probe/probe.elf', { cmdline: 'role=holder marker=12345678', ramBytes: 32 * MIB });
  const expected = readFileSync(join(ROOT, 'guest/probe/expected-qemu-holder.txt'), 'latin1');
  assert.equal(run.output, expected);
  assert.match(run.output, /holder: pattern intact/);
  assert.deepEqual(run.exit, { kind: 'exit', status: 1 });
});
