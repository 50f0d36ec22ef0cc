/**
 * Running MIT's xv6 (../shared/clients/xv6) in tests: the commands compared with QEMU, and the
 * session every mode's test file runs (xv6-native, xv6-interpret, xv6-hw: one file per mode, so
 * that the test runner can run them side by side).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../../../bench/programs.ts';
import { XV6, xv6 } from '../../../bench/xv6.ts';
import { ConsoleScript, type ConsoleStep, type Mode, describeExit } from '../../../src/api/index.ts';

export { XV6, xv6 };
export const present = ['kernel', 'fs.img', 'xv6.img'].every((f) => existsSync(join(XV6, f)));
/** The reason to skip xv6's tests, or false. */
export const skip = present ? false : `xv6 is not here (${XV6}): it comes with the workplace's shared clients`;

/** Commands whose answers must be what xv6 answers under QEMU (expected-qemu.txt). */
export const COMMANDS = ['ls', 'cat README', 'echo hi > f', 'cat f', 'forktest'] as const;

/** The output of `command` in a transcript: from its echo to the next prompt. */
export function answer(output: string, command: string): string | null {
  const at = output.indexOf(`$ ${command}\n`);
  if (at < 0) return null;
  const from = at + command.length + 3;
  return output.slice(from, output.indexOf('$ ', from));
}

/** QEMU's answers (expected-qemu.txt). */
export function qemuAnswers(): Map<string, string> {
  const text = readFileSync(join(ROOT, 'test/machine/xv6/expected-qemu.txt'), 'latin1');
  return new Map(COMMANDS.map((c) => [c, answer(text, c) ?? '']));
}

const line = (command: string): ConsoleStep => ({ waitFor: '$ ', type: `${command}\n` });

/**
 * xv6 in `mode`, at its serial console as a person would use it: ls, cat README, echo hi > f, cat
 * f, forktest — each answered as under QEMU (expected-qemu.txt) — then stressfs, and usertests to
 * "ALL TESTS PASSED". The watchdog tells xv6's own deadlock (it answers Ctrl-P) from a dead machine.
 */
export function describeXv6Session(mode: Mode, how: string): void {
  describe('xv6, a guest written by others for QEMU', { skip }, () => {
    it(`${how}: boots to its shell, answers as under QEMU, and passes forktest, stressfs and usertests`, () => {
      // usertests' longest silence is about 3.2 billion instructions (bigdir): the watchdog waits 8.
      const script = new ConsoleScript([...COMMANDS.map(line), line('stressfs'), line('usertests'), { waitFor: 'ALL TESTS PASSED' }], { quietInstructions: 8e9 });
      const run = xv6(mode, script);
      const out = script.output;
      assert.equal(script.end, 'finished', `${describeExit(run.exit)}\n${script.answerToPoke}\n...${out.slice(-3000)}`);
      assert.match(out, /cpu0: starting 0\n/);
      const qemu = qemuAnswers();
      for (const command of COMMANDS) assert.equal(answer(out, command), qemu.get(command), command);
      // stressfs forks four times: five processes each print "write i" and "read", interleaved as scheduled.
      const stress = answer(out, 'stressfs') ?? '';
      assert.match(stress, /^stressfs starting\n((write \d|read)\n)+$/);
      assert.equal(stress.split('read\n').length - 1, 5, 'five processes read');
      assert.match(out, /usertests starting\n/);
    });
  });
}
