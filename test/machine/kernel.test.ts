/**
 * The teaching kernel booted natively: every workload, under both interrupt-masking
 * disciplines, must print the checksum lines that the same workload code prints when built as
 * a Linux program and run natively on the host CPU (an independent computation of the expected
 * values), and finish with status 0 (debug-exit code 0 -> process status 1).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { ROOT, buildKernelLinuxWorkloads } from '../../bench/programs.ts';
import { boot, bootWithModules } from './boot.ts';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KERNEL = 'guest/kernel/kernel.elf';

/** Small sizes: each run is a few million instructions. */
const WORKLOADS: readonly (readonly [string, string])[] = [
  ['cpu', 'n=1'],
  ['forkwait', 'n=20'],
  ['syscall', 'n=2000'],
  ['pagefault', 'n=64'],
  ['ctxsw', 'n=100'],
  ['ptemod', 'n=20'],
  ['popf', 'n=100'],
  ['mix', ''],
];

function checksums(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('checksum ')).sort();
}

function linux(workload: string, args: string): string {
  const argv = args === '' ? [] : args.split(' ');
  return execFileSync(`${ROOT}guest/kernel/build/linux/${workload}`, argv, { encoding: 'latin1' });
}

before(() => buildKernelLinuxWorkloads());

describe('teaching kernel workloads: checksums equal the Linux builds run natively', () => {
  for (const [workload, args] of WORKLOADS) {
    for (const irq of ['cli', 'popf']) {
      it(`${workload} ${args} irq=${irq}`, () => {
        const run = boot(KERNEL, `workload=${workload} irq=${irq} ${args}`.trim());
        const expected = checksums(linux(workload, args));
        assert.ok(expected.length > 0, 'the Linux build printed checksum lines');
        assert.deepEqual(checksums(run.output), expected);
        assert.match(run.output, new RegExp(`done: workload=${workload} irq=${irq} status=0`));
        assert.deepEqual(run.exit, { kind: 'exit', status: 1 });
      });
    }
  }
});

describe('teaching kernel: boot modules', () => {
  it('execs a program loaded as a multiboot module, found by its name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shadowvisor-module-'));
    const program = join(dir, 'mysyscall');
    copyFileSync(`${ROOT}guest/kernel/build/user/syscall`, program);
    const run = bootWithModules(KERNEL, 'workload=mysyscall n=3000', [{ name: program, data: new Uint8Array(readFileSync(program)), cmdline: program }]);
    assert.deepEqual(checksums(run.output), checksums(linux('syscall', 'n=3000')));
    assert.match(run.output, /init: mysyscall exited with status 0/);
  });
});

describe('teaching kernel: the machine at work', () => {
  it('timer interrupts preempt, processes switch address spaces, lazy pages fault in', () => {
    const run = boot(KERNEL, 'workload=ctxsw n=2000 hz=2000');
    assert.ok(run.interrupts['timer (PIT, IRQ 0)']! > 10, 'the PIT drives the scheduler');
    assert.ok(run.counters.cr3_load! > 1000, 'a CR3 load on every context switch');
    assert.ok(run.vectors['int 0x80']! > 2000, 'system calls through int 0x80');
  });

  it('runs deterministically: the mix workload twice gives the same bytes and counters', () => {
    const a = boot(KERNEL, 'workload=mix');
    const b = boot(KERNEL, 'workload=mix');
    assert.equal(a.output, b.output);
    assert.equal(a.instructions, b.instructions);
    assert.equal(a.cycles, b.cycles);
    assert.deepEqual(a.counters, b.counters);
    assert.deepEqual(a.vectors, b.vectors);
  });
});
