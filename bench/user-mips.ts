/**
 * npm run bench: emulator speed in guest MIPS on CPU-bound programs under `shadowvisor user`,
 * next to the host's native time for the same program. Wall-clock figures: they vary with the
 * machine and its load, so they are printed, never asserted.
 *   node --import tsx bench/user-mips.ts [--quick]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MemoryHost, runUserProgram } from '../src/api/index.ts';
import { count, table } from '../src/cli/format.ts';
import { buildUserPrograms, userProgram } from './programs.ts';

const quick = process.argv.includes('--quick');
/** Scale factors: each run is a few hundred million guest instructions (a few seconds). */
const WORKLOADS: readonly (readonly [string, string, number])[] = [
  ['compression (LZSS)', 'bench-compress', quick ? 20 : 120],
  ['sorting (qsort, merge, heap)', 'bench-sort', quick ? 20 : 160],
  ['hashing (SHA-256, CRC-32)', 'bench-hash', quick ? 20 : 100],
  ['matrix multiply', 'bench-matrix', quick ? 10 : 40],
];

function nativeSeconds(path: string, n: number): number {
  // Best of three, to keep the host's figure stable.
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    execFileSync(path, [String(n)], { stdio: ['ignore', 'ignore', 'inherit'] });
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
  const native = nativeSeconds(path, n);
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
const Table = (await import('cli-table3')).default;
const t = new Table({
  style: { head: [], border: [] },
  head: ['workload', 'guest instructions', 'emulated s', 'guest MIPS', 'native s', 'slowdown', 'output = native'],
  colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'center'],
});
for (const r of rows) t.push(r);
console.log(t.toString());
console.log(table([['all workloads', `${(totalInstructions / totalSeconds / 1e6).toFixed(1)} guest MIPS`]]));
