/**
 * The differential run: generate cases, execute them natively in large batches and on the
 * emulator (interpreted, and for a share of the cases a second time through compiled blocks),
 * compare. Used by random-alu.test.ts; also runnable directly for soak runs:
 *   SHADOWVISOR_DIFF_SEQUENCES=5000000 node --import tsx test/differential/run.ts
 */
import { compareOutcomes, formatReport } from './compare.ts';
import { Emulator } from './emulate.ts';
import { type TestCase, generateCase } from './generate.ts';
import { buildHarness, runNative } from './harness.ts';

export const DEFAULT_SEED = 0x5eed1386;
export const DEFAULT_SEQUENCES = 100_000;
/** Cases per native process. */
const BATCH = 10_000;
/** Every COMPILED_EVERY-th case also runs a second time through a compiled block. */
const COMPILED_EVERY = 8;
/** Reports printed in full (all mismatches are counted). */
const MAX_REPORTS = 8;

export interface RunResult {
  readonly seed: number;
  readonly sequences: number;
  readonly mismatches: number;
  readonly reports: string[];
  /** Outcomes by kind (completed, SIGFPE...), native. */
  readonly outcomes: Map<string, number>;
  /** Instructions executed per spec name (helpers excluded). */
  readonly names: Map<string, number>;
  readonly timings: { generate: number; native: number; emulate: number };
}

export interface RunOptions {
  readonly seed?: number;
  readonly sequences?: number;
  /** Run only this case index (reproducing a report). */
  readonly only?: number;
  readonly log?: (line: string) => void;
}

/** Options from the environment (SHADOWVISOR_DIFF_SEED, _SEQUENCES, _CASE). */
export function optionsFromEnv(): RunOptions {
  const num = (name: string): number | undefined => {
    const v = process.env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`${name}=${v} is not a number`);
    return n;
  };
  return { seed: num('SHADOWVISOR_DIFF_SEED'), sequences: num('SHADOWVISOR_DIFF_SEQUENCES'), only: num('SHADOWVISOR_DIFF_CASE') };
}

const SIGNAL_NAMES: Readonly<Record<number, string>> = { 0: 'completed', 4: '#UD (SIGILL)', 5: 'SIGTRAP', 7: 'SIGBUS', 8: '#DE (SIGFPE)', 11: 'SIGSEGV' };

export function runDifferential(options: RunOptions = {}): RunResult {
  const seed = (options.seed ?? DEFAULT_SEED) >>> 0;
  const sequences = options.sequences ?? DEFAULT_SEQUENCES;
  const log = options.log ?? (() => {});
  const binary = buildHarness();
  const interpreted = new Emulator(0);
  const compiled = new Emulator(1);
  const reports: string[] = [];
  const outcomes = new Map<string, number>();
  const names = new Map<string, number>();
  const timings = { generate: 0, native: 0, emulate: 0 };
  let mismatches = 0;
  const first = options.only ?? 0;
  const end = options.only !== undefined ? options.only + 1 : sequences;
  for (let start = first; start < end; start += BATCH) {
    const stop = Math.min(end, start + BATCH);
    let t = performance.now();
    const cases: TestCase[] = [];
    for (let k = start; k < stop; k++) cases.push(generateCase(seed, k));
    timings.generate += performance.now() - t;
    t = performance.now();
    const native = runNative(binary, cases);
    timings.native += performance.now() - t;
    t = performance.now();
    for (let k = 0; k < cases.length; k++) {
      const tc = cases[k]!;
      const n = native[k]!;
      const kind = SIGNAL_NAMES[n.status] ?? `signal ${n.status}`;
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
      for (const i of tc.insns) {
        if (i.helper) continue;
        const name = i.name.replace(/^(rep|repe|repne) /, '').split(' ')[0]!;
        names.set(name, (names.get(name) ?? 0) + 1);
      }
      interpreted.load(tc);
      const e = interpreted.run(tc);
      let diffs = compareOutcomes(tc, n, e);
      let label = '';
      let emulated = e;
      if (diffs.length === 0 && (tc.index % COMPILED_EVERY === 0 || options.only !== undefined)) {
        compiled.load(tc);
        compiled.run(tc);
        emulated = compiled.run(tc);
        diffs = compareOutcomes(tc, n, emulated);
        label = ' (compiled block)';
      }
      if (diffs.length > 0) {
        mismatches++;
        if (reports.length < MAX_REPORTS) {
          const report = formatReport(tc, n, emulated, diffs, label);
          reports.push(report);
          log(report);
        }
      }
    }
    timings.emulate += performance.now() - t;
  }
  return { seed, sequences: end - first, mismatches, reports, outcomes, names, timings };
}

/** Runs from the command line with the environment's options. */
function main(): void {
  const started = performance.now();
  const opts = optionsFromEnv();
  const r = runDifferential({ ...opts, log: (line) => console.log(line) });
  console.log(`seed ${r.seed}: ${r.sequences} sequences, ${r.mismatches} mismatches in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log(`outcomes: ${[...r.outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`timings (s): generate ${(r.timings.generate / 1000).toFixed(1)}, native ${(r.timings.native / 1000).toFixed(1)}, emulate ${(r.timings.emulate / 1000).toFixed(1)}`);
  if (process.env.SHADOWVISOR_DIFF_NAMES !== undefined) console.log([...r.names].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join('\n'));
  process.exitCode = r.mismatches === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) main();
