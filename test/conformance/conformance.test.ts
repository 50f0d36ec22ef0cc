/**
 * The conformance suite (README.md): small guests written here, each checking architectural
 * rules the way kvm-unit-tests does and printing one PASS or FAIL line per check. Each is built
 * once, then run natively and under every virtualization mode — the guest must report no FAIL
 * and exit with code 0 (status 1) — and under qemu-system-i386 when it is installed, so that the
 * expectations are checked against QEMU and not only against shadowvisor.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';
import { MODES } from '../../src/api/index.ts';

const DIR = join(ROOT, 'test/conformance');
const CLI = join(ROOT, 'bin/shadowvisor.mjs');
const QEMU = 'qemu-system-i386';
const OUT = mkdtempSync(join(tmpdir(), 'shadowvisor-conformance-'));

const hasQemu = spawnSync(QEMU, ['--version'], { stdio: 'ignore' }).status === 0;

/** A guest's "@name args" header line, split into arguments ([] when absent). */
function header(source: string, name: string): string[] {
  const m = new RegExp(`^ \\* @${name}(.*)$`, 'm').exec(source);
  return m === null ? [] : m[1]!.trim().split(/\s+/).filter((a) => a !== '');
}

/** What a finished guest must have printed: no FAIL line, and a summary with no failures. */
function checkTranscript(output: string, status: number | null, where: string): void {
  const failures = output.split('\n').filter((l) => l.startsWith('FAIL'));
  assert.deepEqual(failures, [], `${where}: failed checks`);
  const summary = /^SUMMARY: (\d+) tests, (\d+) failures$/m.exec(output);
  assert.ok(summary !== null, `${where}: no summary line (the guest stopped early):\n${output.slice(-2000)}`);
  assert.ok(Number(summary[1]) > 0, `${where}: no checks ran`);
  assert.equal(Number(summary[2]), 0);
  assert.equal(status, 1, `${where}: exit status (1 = the guest exited with code 0)`);
}

const guests = readdirSync(DIR)
  .filter((f) => f.endsWith('.c'))
  .map((f) => f.slice(0, -2))
  .sort();

before(() => {
  const make = spawnSync('make', ['-s', '-C', DIR, `OUT=${OUT}`], { encoding: 'utf8' });
  assert.equal(make.status, 0, `building the conformance guests failed:\n${make.stderr}`);
});

for (const guest of guests) {
  describe(`conformance: ${guest}`, () => {
    const source = readFileSync(join(DIR, `${guest}.c`), 'utf8');
    const elf = join(OUT, `${guest}.elf`);
    for (const mode of MODES) {
      it(`passes ${mode === 'native' ? 'natively' : `under --mode ${mode}`}`, () => {
        const run = spawnSync(process.execPath, [CLI, 'run', elf, '--mode', mode, ...header(source, 'run')], { encoding: 'latin1', timeout: 300_000 });
        checkTranscript(run.stdout, run.status, `${guest} (${mode})\n${run.stderr}`);
      });
    }
    it('passes under QEMU', { skip: hasQemu ? false : `${QEMU} is not installed` }, () => {
      const args = ['-nographic', '-no-reboot', '-m', '128', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', ...header(source, 'qemu'), '-kernel', elf];
      const run = spawnSync(QEMU, args, { encoding: 'latin1', timeout: 120_000 });
      checkTranscript(run.stdout, run.status, `${guest} (QEMU)`);
    });
  });
}
