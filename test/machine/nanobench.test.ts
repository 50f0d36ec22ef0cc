/**
 * The nanobenchmark guest (guest/nanobench) natively and under trap-and-emulate: it must finish
 * (debug-exit code 0: every handler ran as often as its loop raised it), print the same lines
 * as under QEMU but for the cycle counts (guest/nanobench/expected-qemu-format.txt), and its
 * cycles per operation must stand in the relations the mechanisms imply. No fixed totals: the
 * cost model may change; what an operation costs relative to the profile's anchors may not.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';
import { PROFILES } from '../../src/api/index.ts';
import { ADAMS_AGESEN_2006, NANOBENCH_OPS, type NanobenchOp, type NanobenchResult, parseNanobench } from '../../src/api/nanobench.ts';
import { type BootResult, runGuest } from './boot.ts';

const IMAGE = 'guest/nanobench/nanobench.elf';
const N = 200;
const CMDLINE = `bench=all n=${N}`;
const MIB = 1 << 20;

function perOp(results: readonly NanobenchResult[]): Record<NanobenchOp, number> {
  return Object.fromEntries(results.map((r) => [r.op, r.perOp])) as Record<NanobenchOp, number>;
}

/** The output with the cycle counts masked, as in expected-qemu-format.txt. */
function format(output: string): string {
  return output.replace(/cycles=\d+/g, 'cycles=*').replace(/base=\d+/g, 'base=*');
}

function checkRun(run: BootResult): Record<NanobenchOp, number> {
  assert.deepEqual(run.exit, { kind: 'exit', status: 1 }, `the guest must write 0 to the debug-exit port; it printed:\n${run.output}`);
  const results = parseNanobench(run.output);
  assert.deepEqual(
    results.map((r) => r.op),
    [...NANOBENCH_OPS],
  );
  for (const r of results) assert.equal(r.n, N, r.op);
  return perOp(results);
}

for (const profile of PROFILES) describe(`the nanobenchmark guest (${profile.name})`, () => {
  const native = runGuest(IMAGE, { cmdline: CMDLINE, ramBytes: 32 * MIB, profile });
  const trap = runGuest(IMAGE, { cmdline: CMDLINE, ramBytes: 32 * MIB, profile, mode: 'trap' });

  it('runs natively to the end and prints what QEMU prints, cycle counts aside', () => {
    checkRun(native);
    const expected = readFileSync(join(ROOT, 'guest/nanobench/expected-qemu-format.txt'), 'latin1');
    assert.equal(format(native.output), expected);
    // Each iteration of the pgfault and divzero loops raised its exception (the guest counts
    // them too); the warm-up runs 4 more of each.
    assert.ok((native.vectors['#PF'] ?? 0) >= N, `#PF delivered ${native.vectors['#PF']} times`);
    assert.ok((native.vectors['#DE'] ?? 0) >= N, `#DE delivered ${native.vectors['#DE']} times`);
  });

  it('natively, each operation costs what its mechanism implies', () => {
    const c = checkRun(native);
    const hw = profile.hardware;
    // A near call and return: a handful of cycles, no event.
    assert.ok(c.callret < 20, `callret ${c.callret}`);
    // INT n to a DPL 3 gate and IRET back: at least the profile's system-call round trip.
    assert.ok(c.syscall >= profile.syscallRoundTrip, `syscall ${c.syscall} < ${profile.syscallRoundTrip}`);
    // Both faults are delivered through the IDT and return by IRET; #PF also walks first.
    for (const op of ['pgfault', 'divzero'] as const) {
      assert.ok(c[op] >= hw.eventDelivery + hw.iret, `${op} ${c[op]} < delivery ${hw.eventDelivery} + iret ${hw.iret}`);
    }
    assert.ok(c.pgfault > c.divzero, `pgfault ${c.pgfault} <= divzero ${c.divzero}: it also walks and pushes an error code`);
    // An I/O port read is a bus cycle to the PIC.
    assert.ok(c.in >= hw.portIo, `in ${c.in} < port I/O ${hw.portIo}`);
    // A store to a page table is, to the hardware, a store.
    assert.ok(c.ptemod < 20, `ptemod ${c.ptemod}`);
    // A CR3 load empties the TLB: the stack read after it walks the two levels again.
    assert.ok(c.cr3 >= 2 * hw.walkRead, `cr3 ${c.cr3} < one two-level walk (${2 * hw.walkRead})`);
  });

  it('under trap-and-emulate, runs to the end, and every operation but call/ret exits', () => {
    const t = checkRun(trap);
    assert.equal(format(trap.output), format(native.output));
    const c = perOp(parseNanobench(native.output));
    // Direct execution: no exit in the call/ret loop.
    assert.ok(t.callret < 20, `trap callret ${t.callret}`);
    // INT from ring 3 and its IRET each exit (the VMM owns the real IDT and the rings).
    assert.ok(t.syscall - c.syscall >= profile.vmmRoundTrip, `trap syscall ${t.syscall} vs native ${c.syscall}`);
    // I/O (IOPL 0 in a deprivileged guest), the faults (the real IDT is the VMM's), a store to
    // a shadowed (write-protected) page table, a CR3 load: each at least one round trip more.
    for (const op of ['in', 'pgfault', 'divzero', 'ptemod', 'cr3'] as const) {
      assert.ok(t[op] - c[op] >= profile.vmmRoundTrip, `trap ${op} ${t[op]} vs native ${c[op]}`);
    }
  });
});

describe('parseNanobench', () => {
  const good = 'nanobench in n=10 cycles=3100 base=100\nnanobench done\n';

  it('reads the results and computes cycles per operation, unrounded', () => {
    assert.deepEqual(parseNanobench(`ignored\r\n${good}`), [{ op: 'in', n: 10, cycles: 3100, base: 100, perOp: 300 }]);
    assert.equal(parseNanobench('nanobench callret n=3 cycles=10 base=2\nnanobench done\n')[0]!.perOp, 8 / 3);
  });

  it('throws on a failed check, a complaint, a malformed line or a missing end', () => {
    assert.throws(() => parseNanobench('nanobench pgfault FAILED: the handler ran 3 times, expected 204\n'), /pgfault failed/);
    assert.throws(() => parseNanobench('nanobench: unexpected exception 13 at EIP=0x100000\n'), /unexpected exception 13/);
    assert.throws(() => parseNanobench('nanobench in n=10 cycles=x base=1\nnanobench done\n'), /malformed/);
    assert.throws(() => parseNanobench('nanobench mov n=10 cycles=1 base=1\nnanobench done\n'), /unknown operation/);
    assert.throws(() => parseNanobench(`nanobench in n=1 cycles=1 base=1\n${good}`), /reported twice/);
    assert.throws(() => parseNanobench(`${good}${good}`), /after "nanobench done"/);
    assert.throws(() => parseNanobench('nanobench in n=10 cycles=3100 base=100\n'), /lacks "nanobench done"/);
  });

  it("has Adams & Agesen's figures for every operation they measured", () => {
    assert.deepEqual(Object.keys(ADAMS_AGESEN_2006.perOp), [...NANOBENCH_OPS]);
    assert.equal(ADAMS_AGESEN_2006.perOp.cr3, null);
    assert.match(ADAMS_AGESEN_2006.source, /Adams.*Agesen.*2006/);
  });
});
