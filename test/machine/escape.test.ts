/**
 * The escape guest (guest/escape) in every mode, with 32 MiB like its QEMU transcript: a guest
 * that runs the SVM instructions and VMCALL at ring 0 and ring 3, writes the control registers a
 * hypervisor intercepts and pokes ports with nothing behind them must print, byte for byte, what
 * the same image printed under QEMU (guest/escape/expected-qemu.txt) — #UD for every
 * virtualization instruction on a CPU without SVM or VMX, the control-register values a real CPU
 * reads back, all ones from empty ports — and exit with code 0 (status 1).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';
import { MODES } from '../../src/api/index.ts';
import { runGuest } from './boot.ts';

const MIB = 1 << 20;
const IMAGE = 'guest/escape/escape.elf';

for (const mode of MODES) {
  it(`${mode}: the escape guest prints exactly what it prints on QEMU, and exits 0`, () => {
    const run = runGuest(IMAGE, { ramBytes: 32 * MIB, mode });
    const expected = readFileSync(join(ROOT, 'guest/escape/expected-qemu.txt'), 'latin1');
    assert.equal(run.output, expected);
    assert.deepEqual(run.exit, { kind: 'exit', status: 1 });
    assert.equal(run.status, 1);
  });
}

it('native: the guest saw 14 #UD, 3 #GP and its own int 0x80, nothing else', () => {
  const run = runGuest(IMAGE, { ramBytes: 32 * MIB });
  assert.deepEqual(run.vectors, {
    '#UD': 14, // the 8 SVM instructions and VMCALL at ring 0, mov from CR1, mov to CR5; VMRUN, VMMCALL, VMCALL at ring 3
    '#GP': 3, // in, out, in at ring 3
    'int 0x80': 1, // ring 3 is done
  });
});
