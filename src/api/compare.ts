/**
 * The lecture's techniques side by side: one guest, several workloads (kernel command lines),
 * run natively and under each virtualization mode and cost profile. For every run: simulated
 * cycles, the slowdown against native (same guest, same workload, same profile), exits by
 * category, shadow-paging faults, shadow memory, and where the cycles went; for every workload:
 * whether each mode's guest output equals native's. Platform-neutral: the front end shows it.
 */
import { INTERPRETED_WORK, SOFTWARE_WALK_WORK } from '../vmm/report.ts';
import type { ComparisonPlotData } from './plots.ts';
import { type MachineRun, type Mode, type Profile, TextSink, describeExit, runMachine } from './machine.ts';

export interface CompareOptions {
  readonly kernel: Uint8Array;
  readonly kernelName: string;
  /** Kernel command lines, one per workload. */
  readonly workloads: readonly string[];
  readonly modes: readonly Mode[];
  readonly profiles: readonly Profile[];
  readonly ramBytes?: number;
  readonly maxInstructions?: number;
  /** Called before each run (progress). */
  readonly onRun?: (done: number, total: number, label: string) => void;
}

export interface CycleShare {
  /** "guest" (the guest's own instructions and hardware events), "interpretation", "software walks", "exits: <category>". */
  readonly part: string;
  readonly cycles: number;
}

export interface ModeResult {
  readonly mode: Mode;
  readonly status: number;
  readonly exitKind: string;
  /** Why the run ended, for people. */
  readonly exitDescription: string;
  readonly instructions: number;
  readonly cycles: number;
  /** cycles / native cycles - 1, or null without a native run that ended the same way. */
  readonly slowdown: number | null;
  readonly exits: { readonly count: number; readonly cycles: number; readonly categories: readonly { readonly category: string; readonly count: number; readonly cycles: number }[] };
  readonly faults: { readonly hidden: number; readonly true: number; readonly trace: number };
  /** Most shadow page-table memory held at once, or null without shadow paging. */
  readonly shadowPeakBytes: number | null;
  readonly breakdown: readonly CycleShare[];
  readonly output: string;
  readonly seconds: number;
}

/** How the modes' guest outputs compare with the reference (native's, else the first mode's). */
export type OutputVerdict = 'identical' | 'identical apart from clock readings' | 'different';

export interface WorkloadComparison {
  readonly workload: string;
  readonly profile: string;
  readonly runs: readonly ModeResult[];
  readonly verdict: OutputVerdict;
  /** The lines where a mode's output differs from the reference's (at most 10 per mode). */
  readonly differences: readonly { readonly mode: Mode; readonly line: number; readonly expected: string; readonly got: string }[];
}

export interface Comparison {
  readonly kernel: string;
  readonly modes: readonly Mode[];
  readonly profiles: readonly string[];
  readonly results: readonly WorkloadComparison[];
}

/** Lines in which a guest reports its own clock: they count the VMM's overhead, as they would on real hardware. */
const CLOCK_LINE = /^time:/;

/** A guest's output without the lines that report its own clock (the teaching kernel's 'time:' lines). */
export function withoutClockLines(output: string): string {
  return output
    .split('\n')
    .filter((l) => !CLOCK_LINE.test(l))
    .join('\n');
}

export function compareModes(options: CompareOptions): Comparison {
  const total = options.workloads.length * options.modes.length * options.profiles.length;
  let done = 0;
  const results: WorkloadComparison[] = [];
  for (const profile of options.profiles) {
    for (const workload of options.workloads) {
      const runs: { mode: Mode; run: MachineRun; output: string }[] = [];
      for (const mode of options.modes) {
        options.onRun?.(done++, total, `${profile.name} ${mode} ${workload}`);
        const serial = new TextSink();
        const run = runMachine({
          kernel: options.kernel,
          kernelName: options.kernelName,
          cmdline: workload,
          mode,
          profile,
          serial,
          ...(options.ramBytes !== undefined ? { ramBytes: options.ramBytes } : {}),
          ...(options.maxInstructions !== undefined ? { maxInstructions: options.maxInstructions } : {}),
        });
        runs.push({ mode, run, output: serial.text });
      }
      results.push(compareWorkload(workload, profile, runs));
    }
  }
  options.onRun?.(done, total, '');
  return { kernel: options.kernelName, modes: options.modes, profiles: options.profiles.map((p) => p.name), results };
}

function compareWorkload(workload: string, profile: Profile, runs: readonly { mode: Mode; run: MachineRun; output: string }[]): WorkloadComparison {
  const native = runs.find((r) => r.mode === 'native');
  const reference = native ?? runs[0]!;
  const differences: WorkloadComparison['differences'][number][] = [];
  let clockOnly = false;
  for (const r of runs) {
    if (r === reference || r.output === reference.output) continue;
    const a = reference.output.split('\n');
    const b = r.output.split('\n');
    let shown = 0;
    for (let k = 0; k < Math.max(a.length, b.length); k++) {
      const expected = a[k] ?? '';
      const got = b[k] ?? '';
      if (expected === got) continue;
      if (CLOCK_LINE.test(expected) && CLOCK_LINE.test(got)) {
        clockOnly = true;
        continue;
      }
      if (shown++ < 10) differences.push({ mode: r.mode, line: k + 1, expected, got });
    }
  }
  const verdict: OutputVerdict = differences.length > 0 ? 'different' : clockOnly ? 'identical apart from clock readings' : 'identical';
  const sameEnd = (run: MachineRun) => native !== undefined && run.exit.kind === native.run.exit.kind && run.status === native.run.status;
  return {
    workload,
    profile: profile.name,
    verdict,
    differences,
    runs: runs.map(({ mode, run, output }) => ({
      mode,
      status: run.status,
      exitKind: run.exit.kind,
      exitDescription: describeExit(run.exit),
      instructions: run.instructions,
      cycles: run.cycles,
      slowdown: native !== undefined && sameEnd(run) ? run.cycles / native.run.cycles - 1 : null,
      exits: {
        count: run.vmm?.exits.count ?? 0,
        cycles: run.vmm?.exits.cycles ?? 0,
        categories: (run.vmm?.exits.categories ?? []).map((c) => ({ category: c.category, count: c.count, cycles: c.cycles })),
      },
      faults: run.vmm?.faults ?? { hidden: 0, true: 0, trace: 0 },
      shadowPeakBytes: run.vmm?.shadow?.peakBytes ?? null,
      breakdown: breakdown(run),
      output,
      seconds: run.seconds,
    })),
  };
}

/** Where a run's cycles went: the guest's own, and the technique's overheads. */
function breakdown(run: MachineRun): CycleShare[] {
  const vmm = run.vmm;
  if (vmm === null) return [{ part: 'guest', cycles: run.cycles }];
  const parts: CycleShare[] = [];
  const interpreted = vmm.work[INTERPRETED_WORK];
  const walks = vmm.work[SOFTWARE_WALK_WORK];
  if (interpreted !== undefined) parts.push({ part: 'interpretation', cycles: interpreted.cycles });
  if (walks !== undefined) parts.push({ part: 'software walks', cycles: walks.cycles });
  for (const c of vmm.exits.categories) parts.push({ part: `exits: ${c.category}`, cycles: c.cycles });
  const overhead = parts.reduce((s, p) => s + p.cycles, 0);
  return [{ part: 'guest', cycles: Math.max(0, run.cycles - overhead) }, ...parts];
}

/** The figures the plots show, for one profile. */
export function comparisonPlotData(comparison: Comparison, profile: string): ComparisonPlotData {
  const rows = comparison.results.filter((r) => r.profile === profile);
  const slowdown: { workload: string; mode: string; relative: number }[] = [];
  const parts: { workload: string; mode: string; part: string; cycles: number }[] = [];
  for (const w of rows) {
    for (const r of w.runs) {
      if (r.slowdown !== null) slowdown.push({ workload: w.workload, mode: r.mode, relative: r.slowdown + 1 });
      for (const b of r.breakdown) parts.push({ workload: w.workload, mode: r.mode, part: b.part, cycles: b.cycles });
    }
  }
  return { title: `${comparison.kernel} under ${profile}`, profile, slowdown, breakdown: parts };
}
