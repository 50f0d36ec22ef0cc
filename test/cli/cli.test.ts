/**
 * The shadowvisor command as a user meets it: help, exit statuses, and one-line errors (never a
 * stack trace) for every kind of bad input.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ROOT, buildUserPrograms, userProgram } from '../../bench/programs.ts';

function shadowvisor(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [`${ROOT}bin/shadowvisor.mjs`, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** One line naming the problem, status 2, no stack trace. */
function assertUsageError(r: { status: number; stderr: string }, pattern: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(r.stderr.trim().split('\n').length <= 2, `short message, got:\n${r.stderr}`);
}

const dir = mkdtempSync(join(tmpdir(), 'shadowvisor-cli-'));

before(() => buildUserPrograms());

describe('shadowvisor command', () => {
  it('--help lists the commands', () => {
    const r = shadowvisor('--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /demo/);
    assert.match(r.stdout, /user \[options\] <program>/);
  });

  it('demo (npm start) runs the teaching kernel natively and under trap, and reports what it cost', () => {
    const r = shadowvisor('demo', '--workload', 'forkwait');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /checksum forkwait 0x[0-9a-f]+/);
    assert.match(r.stdout, /Its console output was identical to the native run/);
    assert.match(r.stdout, /a slowdown of [\d.]+ %, [\d,]+ exits/);
    assert.match(r.stdout, /Page faults: [\d,]+ hidden .* [\d,]+ true .* [\d,]+ trace/);
  });

  it('user --help documents its options', () => {
    const r = shadowvisor('user', '--help');
    assert.equal(r.status, 0);
    for (const flag of ['--memory', '--max-instructions', '--stats', '--strace', '--env']) assert.match(r.stdout, new RegExp(flag));
  });

  it('runs a program and passes its exit status and arguments through', () => {
    const r = shadowvisor('user', userProgram('args'), 'x', '--not-an-option-of-ours');
    assert.equal(r.status, 3);
    assert.match(r.stdout, /argv\[2\]="--not-an-option-of-ours"/);
  });

  it('reports a fatal signal on one line with the shell status', () => {
    const r = shadowvisor('user', userProgram('faults'), 'segv');
    assert.equal(r.status, 139);
    assert.match(r.stderr, /killed by SIGSEGV: page fault: read of unmapped address 0x0 at eip 0x[0-9a-f]+/);
  });

  it('stops a runaway program with a message and a non-zero status', () => {
    const r = shadowvisor('user', '--max-instructions', '1000000', userProgram('faults'), 'spin');
    assert.equal(r.status, 124);
    assert.match(r.stderr, /ran 1,000,000 instructions without exiting.*--max-instructions/);
  });

  it('--stats-json writes the counters', () => {
    const out = join(dir, 'stats.json');
    const r = shadowvisor('user', '--stats-json', out, userProgram('exitcode'));
    assert.equal(r.status, 42);
    const stats = JSON.parse(readFileSync(out, 'utf8')) as { instructions: number; counters: Record<string, number> };
    assert.ok(stats.instructions > 0);
    assert.ok('tlb_hit' in stats.counters && 'page_walk' in stats.counters);
  });

  it('--strace shows system calls', () => {
    const r = shadowvisor('user', '--strace', userProgram('exitcode'));
    assert.match(r.stderr, /\[strace\] write\(0x1, 0x[0-9a-f]+, 0x[0-9a-f]+\) = 0x[0-9a-f]+/);
    assert.match(r.stderr, /\[strace\] exit_group\(0x2a\)/);
  });
});

describe('bad input: one line, status 2', () => {
  it('a file that is not ELF', () => {
    const f = join(dir, 'script.sh');
    writeFileSync(f, '#!/bin/sh\necho hi\n');
    assertUsageError(shadowvisor('user', f), /is not an ELF file/);
  });

  it('a 64-bit ELF', () => assertUsageError(shadowvisor('user', process.execPath), /64-bit ELF.*gcc -m32/));

  it('a dynamically linked ELF', () => {
    const src = join(dir, 'dyn.c');
    const out = join(dir, 'dyn.elf');
    writeFileSync(src, 'int main(void) { return 0; }\n');
    const cc = spawnSync('gcc', ['-m32', '-o', out, src]);
    assert.equal(cc.status, 0, cc.stderr?.toString());
    assertUsageError(shadowvisor('user', out), /dynamically linked.*-static/);
  });

  it('a truncated ELF', () => {
    const f = join(dir, 'truncated.elf');
    writeFileSync(f, readFileSync(userProgram('hello')).subarray(0, 4000));
    assertUsageError(shadowvisor('user', f), /truncated/);
  });

  it('a missing file', () => assertUsageError(shadowvisor('user', join(dir, 'nope.elf')), /nope\.elf: no such file/));
  it('a directory', () => assertUsageError(shadowvisor('user', dir), /is a directory/));
  it('an unknown command', () => assertUsageError(shadowvisor('frobnicate'), /unknown command/));
  it('an unknown option', () => assertUsageError(shadowvisor('user', '--bogus', 'x'), /unknown option '--bogus'/));
  it('a bad number', () => assertUsageError(shadowvisor('user', '--memory', 'lots', userProgram('exitcode')), /--memory needs a positive whole number/));
  it('too much memory', () => assertUsageError(shadowvisor('user', '--memory', '4096', userProgram('exitcode')), /--memory must be between 1 and 1024/));
  it('a malformed --env', () => assertUsageError(shadowvisor('user', '--env', 'NOEQUALS', userProgram('exitcode')), /--env needs NAME=value/));
});
