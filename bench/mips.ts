/**
 * npm run bench: emulator speed in guest MIPS
 *   1. CPU-bound Linux programs under `shadowvisor user` (ring 3, the user-mode runner);
 *   2. the teaching kernel's `cpu` workload booted natively on the PC board (kernel, processes,
 *      timer interrupts, paging);
 *   3. MIT's xv6 (../shared/clients/xv6), boot to shell and usertests, in every mode and on QEMU;
 * each next to the host's native time for the same program. Wall-clock figures: they vary with
 * the machine and its load, so they are printed, never asserted.
 *   node --import tsx bench/mips.ts [--quick]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MemoryHost, type Mode, runMachine, runUserProgram, slowdown } from '../src/api/index.ts';
import { count, table } from '../src/cli/format.ts';
import { ROOT, buildKernelLinuxWorkloads, buildUserPrograms, userProgram } from './programs.ts';
import { XV6, benchXv6 } from './xv6.ts';

const quick = process.argv.includes('--quick');
/** Scale factors: each run is a few hundred million guest instructions (a few seconds). */
const WORKLOADS: readonly (readonly [string, string, number])[] = [
  ['compression (LZSS)', 'bench-compress', quick ? 20 : 120],
  ['sorting (qsort, merge, heap)', 'bench-sort', quick ? 20 : 160],
  ['hashing (SHA-256, CRC-32)', 'bench-hash', quick ? 20 : 100],
  ['matrix multiply', 'bench-matrix', quick ? 10 : 40],
];

function nativeSeconds(path: string, args: string[]): number {
  // Best of three, to keep the host's figure stable.
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    execFileSync(path, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return best;
}

buildUserPrograms();
const rows: string[][] = [];
let totalInstructions = 0;
let totalSeconds = 0;
for (const [label, name, n] of WORKLOADS) {
  const path = userProgram(name);
  const native = nativeSeconds(path, [String(n)]);
  const host = new MemoryHost();
  const run = runUserProgram(new Uint8Array(readFileSync(path)), name, host, { args: [String(n)] });
  const nativeOut = execFileSync(path, [String(n)]).toString();
  const same = nativeOut === host.stdoutText() ? 'yes' : 'NO';
  totalInstructions += run.instructions;
  totalSeconds += run.seconds;
  rows.push([
    label,
    count(run.instructions),
    run.seconds.toFixed(2),
    run.mips.toFixed(1),
    native.toFixed(3),
    `${(run.seconds / native).toFixed(0)}x`,
    same,
  ]);
}
// The teaching kernel's cpu workload, booted natively and under the trap-and-emulate hypervisor:
// the same integer kernels inside a guest OS, and inside a deprivileged guest OS.
const cpuN = quick ? 2 : 60;
buildKernelLinuxWorkloads();
const linuxCpu = `${ROOT}guest/kernel/build/linux/cpu`;
const linuxOut = execFileSync(linuxCpu, [`n=${cpuN}`]).toString();
const checksum = (text: string) => /checksum cpu 0x[0-9a-f]+/.exec(text)?.[0] ?? '(none)';
const kernelNative = nativeSeconds(linuxCpu, [`n=${cpuN}`]);
const kernelRuns = new Map<Mode, ReturnType<typeof runMachine>>();
for (const mode of ['native', 'trap'] as const) {
  const serial: number[] = [];
  const kernelRun = runMachine({
    kernel: new Uint8Array(readFileSync(`${ROOT}guest/kernel/kernel.elf`)),
    kernelName: 'kernel.elf',
    cmdline: `workload=cpu irq=cli n=${cpuN}`,
    mode,
    serial: { write: (b) => serial.push(b) },
  });
  kernelRuns.set(mode, kernelRun);
  const kernelOut = Buffer.from(serial).toString('latin1');
  totalInstructions += kernelRun.instructions;
  totalSeconds += kernelRun.seconds;
  rows.push([
    `teaching kernel: workload=cpu n=${cpuN} (${mode} mode)`,
    count(kernelRun.instructions),
    kernelRun.seconds.toFixed(2),
    kernelRun.mips.toFixed(1),
    kernelNative.toFixed(3),
    `${(kernelRun.seconds / kernelNative).toFixed(0)}x`,
    checksum(kernelOut) === checksum(linuxOut) && kernelRun.status === 1 ? 'yes' : 'NO',
  ]);
}

const Table = (await import('cli-table3')).default;
const t = new Table({
  style: { head: [], border: [] },
  head: ['workload', 'guest instructions', 'emulated s', 'guest MIPS', 'native s', 'slowdown', 'output = native'],
  colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'center'],
});
for (const r of rows) t.push(r);
console.log(t.toString());
console.log(table([['all workloads', `${(totalInstructions / totalSeconds / 1e6).toFixed(1)} guest MIPS`]]));
const nativeKernel = kernelRuns.get('native')!;
const trapKernel = kernelRuns.get('trap')!;
console.log(
  table([
    [`trap vs native, workload=cpu n=${cpuN}: simulated slowdown (${trapKernel.profile})`, `${(slowdown(trapKernel, nativeKernel) * 100).toFixed(2)} %`],
    ['trap vs native: wall-clock ratio', `${(trapKernel.seconds / nativeKernel.seconds).toFixed(2)}x`],
  ]),
);

const xv6 = await benchXv6(quick);
if (xv6 === null) console.log(`xv6: not measured (${XV6} is not here)`);
else {
  const seconds = (s: number | null) => (s === null ? '-' : s.toFixed(1));
  const x = new Table({ style: { head: [], border: [] }, head: ['xv6 on', 'boot to shell, s', 'usertests, s', ''], colAligns: ['left', 'right', 'right', 'left'] });
  for (const r of xv6) x.push([r.where, seconds(r.boot), seconds(r.usertests), r.note]);
  console.log(x.toString());
}
