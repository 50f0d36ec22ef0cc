/**
 * xv6 (../shared/clients/xv6) under --mode trap: trap-and-emulate keeps the real interrupt flag on
 * while a guest runs, and xv6 reads its own with PUSHF (mycpu, pushcli, popcli), which does not
 * trap at ring 1. The run must end at xv6's first PUSHF with interrupts off, explained, with
 * status 129 — not with xv6's panic. Skipped when ../shared/clients/xv6 is not there.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleScript, type Vm } from '../../src/api/index.ts';
import { skip, xv6 } from './xv6/xv6.ts';

describe('xv6 under trap-and-emulate', { skip }, () => {
  it("ends at xv6's first PUSHF with interrupts off (status 129), explained, instead of letting xv6 panic", () => {
    const script = new ConsoleScript([{ waitFor: '$ ', type: 'ls\n' }, { waitFor: '$ ' }]);
    let vm: Vm | null = null;
    const run = xv6('trap', script, (v) => {
      vm = v;
    });
    assert.equal(run.status, 129);
    assert.equal(run.exit.kind, 'not-virtualizable');
    if (run.exit.kind !== 'not-virtualizable') return;
    assert.equal(run.exit.instruction, 'pushf');
    assert.match(run.exit.explanation, new RegExp(`pushf at 0x${run.exit.eip.toString(16).padStart(8, '0')}`));
    assert.match(run.exit.explanation, /Popek and Goldberg/);
    // xv6 runs at 0x80000000 and up, mapped over physical 0: the byte there is PUSHF's opcode.
    assert.equal(vm!.guestMem.read8((run.exit.eip - 0x80000000) >>> 0), 0x9c);
    assert.doesNotMatch(script.output, /panic/);
  });
});
