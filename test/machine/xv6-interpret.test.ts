/**
 * MIT's xv6 (../shared/clients/xv6: the x86 teaching OS, written by others for QEMU's PC) booted
 * as QEMU boots it (-kernel, fs.img as the IDE slave, 512 MiB) under --mode interpret (the VMM interprets every instruction), scripted at its serial
 * console as a person would: ls, cat README, echo hi > f, cat f, forktest — each answer what xv6
 * answers under QEMU (xv6/expected-qemu.txt) — then stressfs, and usertests to "ALL TESTS
 * PASSED". A watchdog tells xv6's own deadlock (usertests can deadlock in stock xv6: xv6 then
 * answers Ctrl-P with its process list) apart from a machine that stopped running. One file per
 * mode, so that the test runner can run them side by side. Skipped, with the reason, when
 * ../shared/clients/xv6 is not there.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleScript, type ConsoleStep, describeExit } from '../../src/api/index.ts';
import { COMMANDS, answer, qemuAnswers, skip, xv6 } from './xv6/xv6.ts';

const line = (command: string): ConsoleStep => ({ waitFor: '$ ', type: `${command}\n` });

describe('xv6, a guest written by others for QEMU', { skip }, () => {
  it('under interpret: boots to its shell, answers as under QEMU, and passes forktest, stressfs and usertests', () => {
    // usertests' longest silence is about 3.2 billion instructions (bigdir): the watchdog waits 8.
    const script = new ConsoleScript([...COMMANDS.map(line), line('stressfs'), line('usertests'), { waitFor: 'ALL TESTS PASSED' }], { quietInstructions: 8e9 });
    const run = xv6('interpret', script);
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
