/**
 * MIT's xv6 (../shared/clients/xv6: the x86 teaching OS, written by others for QEMU's PC) booted
 * as QEMU boots it (-kernel, fs.img as the IDE slave, 512 MiB) natively, under interpret and
 * under hw, and scripted at its serial console as a person would: ls, cat README, echo hi > f,
 * cat f, forktest, stressfs, and usertests to "ALL TESTS PASSED". A watchdog tells xv6's own
 * deadlock (usertests can deadlock in stock xv6: it answers Ctrl-P with its process list) apart
 * from a machine that stopped running. Under trap the run must end, explained, at xv6's first
 * PUSHF with interrupts off: trap-and-emulate cannot virtualize it (src/vmm/sensitive-watch.ts).
 * Skipped, with the reason, when ../shared/clients/xv6 is not there.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';
import { ConsoleScript, type ConsoleStep, MemoryDisk, type Mode, type Vm, runMachine } from '../../src/api/index.ts';

const XV6 = join(ROOT, '..', 'shared', 'clients', 'xv6');
const present = existsSync(join(XV6, 'kernel')) && existsSync(join(XV6, 'fs.img')) && existsSync(join(XV6, 'xv6.img'));
const skip = present ? false : `xv6 is not here (${XV6}): it comes with the workplace's shared clients`;

/** Boots xv6 with fresh copies of its disks (xv6.img the master, fs.img the slave) and runs `script`. */
function xv6(mode: Mode, script: ConsoleScript, onVm?: (vm: Vm) => void) {
  const image = (name: string) => new MemoryDisk(new Uint8Array(readFileSync(join(XV6, name))));
  return runMachine({
    kernel: new Uint8Array(readFileSync(join(XV6, 'kernel'))),
    kernelName: 'kernel',
    ramBytes: 512 << 20,
    mode,
    disks: [image('xv6.img'), image('fs.img')],
    input: script,
    serial: script,
    hostStop: (n) => script.hostStop(n),
    maxInstructions: 40e9,
    ...(onVm !== undefined ? { onVm } : {}),
  });
}

const line = (command: string): ConsoleStep => ({ waitFor: '$ ', type: `${command}\n` });

/** The output of `command` in a transcript: from its echo to the next prompt. */
function answer(output: string, command: string): string {
  const at = output.indexOf(`$ ${command}\n`);
  assert.ok(at >= 0, `"${command}" was typed`);
  const from = at + command.length + 3;
  return output.slice(from, output.indexOf('$ ', from));
}

describe('xv6, a guest written by others for QEMU', { skip }, () => {
  const transcripts = new Map<Mode, string>();

  for (const mode of ['native', 'interpret', 'hw'] as const) {
    it(`${mode}: boots to its shell; ls, cat, echo into a file, forktest, stressfs, and usertests pass`, () => {
      const script = new ConsoleScript([
        line('ls'),
        line('cat README'),
        line('echo hi > f'),
        line('cat f'),
        line('forktest'),
        line('stressfs'),
        line('usertests'),
        { waitFor: 'ALL TESTS PASSED' },
      ]);
      const run = xv6(mode, script);
      const out = script.output;
      assert.equal(script.end, 'finished', `${describeEnd(run.exit)}; watchdog: ${script.end}\n${script.answerToPoke}\n...${out.slice(-3000)}`);
      assert.match(out, /cpu0: starting 0\n/);
      assert.match(out, /init: starting sh\n/);
      assert.match(answer(out, 'ls'), /^README +2 2 2286$/m);
      assert.match(answer(out, 'ls'), /^usertests +2 \d+ \d+$/m);
      assert.match(answer(out, 'cat README'), /^xv6 is a re-implementation of Dennis Ritchie's and Ken Thompson's Unix$/m);
      assert.equal(answer(out, 'cat f'), 'hi\n');
      assert.equal(answer(out, 'forktest'), 'fork test\nfork test OK\n');
      assert.match(answer(out, 'stressfs'), /^stressfs starting\n(write \d+\n)+read\n(read\n)*$/);
      assert.match(out, /usertests starting\n/);
      transcripts.set(mode, out);
    });
  }

  it('every mode printed what native printed for ls, cat, echo and forktest', () => {
    const native = transcripts.get('native');
    assert.ok(native !== undefined, 'the native run finished');
    for (const [mode, out] of transcripts) {
      for (const command of ['ls', 'cat README', 'cat f', 'forktest']) assert.equal(answer(out, command), answer(native, command), `${mode}: ${command}`);
    }
  });

  it("trap: ends at xv6's first PUSHF with interrupts off (status 129), explained, instead of letting xv6 panic", () => {
    const script = new ConsoleScript([line('ls'), { waitFor: '$ ' }]);
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

function describeEnd(exit: { kind: string }): string {
  return `the run ended: ${JSON.stringify(exit)}`;
}
