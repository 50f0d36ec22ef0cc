/**
 * `shadowvisor compare`: one guest under each technique, side by side (api/compare.ts). Prints,
 * per profile and workload, whether every mode's guest output equals native's, a table of
 * cycles, slowdown, exits, faults and shadow memory per mode, and the exits by category; writes
 * the same as JSON and the plots (SVG, and PNG when a font is available) into --out.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SingleBar } from 'cli-progress';
import { type Comparison, MODES, type Mode, type WorkloadComparison, compareModes, comparisonPlotData } from '../api/index.ts';
import { svgToPng } from '../api/node.ts';
import { UsageError } from './errors.ts';
import { bytes, count, percent, table, wrap } from './format.ts';
import { parseMemorySize, parseProfile } from './run-command.ts';
import { parsePositiveInteger, readProgram } from './user-command.ts';

export interface CompareCommandOptions {
  append: string[];
  modes: string;
  profile: string;
  out: string;
  mem: string;
  maxInstructions?: string;
}

/** A comma list of modes, each once. */
export function parseModes(text: string): Mode[] {
  const modes = text.split(',').map((m) => m.trim());
  for (const m of modes) if (!MODES.includes(m as Mode)) throw new UsageError(`--modes takes a comma list of ${MODES.join(', ')}, got "${m}"`);
  if (new Set(modes).size !== modes.length) throw new UsageError(`--modes names a mode twice: "${text}"`);
  return modes as Mode[];
}

export async function compareCommand(kernelPath: string, opts: CompareCommandOptions): Promise<number> {
  const modes = parseModes(opts.modes);
  const profiles = opts.profile.split(',').map((p) => parseProfile(p.trim()));
  const ramBytes = parseMemorySize(opts.mem);
  const maxInstructions = opts.maxInstructions === undefined ? undefined : parsePositiveInteger(opts.maxInstructions, '--max-instructions');
  const kernel = readProgram(kernelPath);
  const workloads = opts.append.length > 0 ? opts.append : [''];
  const bar = new SingleBar({ stream: process.stderr, format: 'compare [{bar}] {value}/{total} {label}', hideCursor: true, clearOnComplete: true });
  bar.start(workloads.length * modes.length * profiles.length, 0, { label: '' });
  let comparison: Comparison;
  try {
    comparison = compareModes({
      kernel,
      kernelName: basename(kernelPath),
      workloads,
      modes,
      profiles,
      ramBytes,
      ...(maxInstructions !== undefined ? { maxInstructions } : {}),
      onRun: (done, _total, label) => bar.update(done, { label }),
    });
  } finally {
    bar.stop();
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  let ok = true;
  for (const w of comparison.results) ok = printWorkload(w, out) && ok;
  await writeResults(comparison, opts.out, out);
  return ok ? 0 : 1;
}

/** One workload's verdict and tables. Returns false when a mode's output or ending differs from native's. */
function printWorkload(w: WorkloadComparison, out: (s: string) => void): boolean {
  out(`\n== ${w.workload === '' ? '(empty command line)' : w.workload}  [profile ${w.profile}]`);
  const native = w.runs.find((r) => r.mode === 'native');
  let ok = w.verdict !== 'different';
  if (w.verdict === 'identical') out(`guest output: identical in ${w.runs.map((r) => r.mode).join(', ')}`);
  else if (w.verdict === 'identical apart from clock readings') {
    out(
      wrap(
        `guest output: identical in ${w.runs.map((r) => r.mode).join(', ')}, apart from the guest's own clock readings ('time:' lines), which count the VMM's overhead as they would on real hardware`,
      ),
    );
  } else {
    out('guest output: DIFFERENT');
    for (const d of w.differences) out(`  ${d.mode}, line ${d.line}:\n    ${native ? 'native' : 'reference'}: ${d.expected}\n    ${d.mode}: ${d.got}`);
  }
  out(
    table(
      w.runs.map((r) => [
        r.mode,
        String(r.status),
        count(r.cycles),
        r.slowdown === null ? '-' : percent(r.slowdown),
        count(r.exits.count),
        count(r.exits.cycles),
        `${count(r.faults.hidden)} / ${count(r.faults.true)} / ${count(r.faults.trace)}`,
        r.shadowPeakBytes === null ? '-' : bytes(r.shadowPeakBytes),
      ]),
      ['mode', 'status', 'simulated cycles', 'slowdown', 'exits', 'exit cycles', 'faults hidden/true/trace', 'shadow memory (peak)'],
    ),
  );
  const categories = [...new Set(w.runs.flatMap((r) => r.exits.categories.map((c) => c.category)))];
  const withExits = w.runs.filter((r) => r.exits.count > 0);
  if (categories.length > 0) {
    out(
      table(
        categories.map((c) => [
          c,
          ...withExits.map((r) => {
            const x = r.exits.categories.find((e) => e.category === c);
            return x === undefined ? '-' : `${count(x.count)} (${count(x.cycles)} cycles)`;
          }),
        ]),
        ['exits by category', ...withExits.map((r) => r.mode)],
      ),
    );
  }
  for (const r of w.runs) {
    if (native !== undefined && (r.exitKind !== native.exitKind || r.status !== native.status)) {
      ok = false;
      out(wrap(`${r.mode}: ended differently from native: ${r.exitDescription}`));
    }
  }
  return ok;
}

/** compare.json, and per profile slowdown-<profile>.svg and breakdown-<profile>.svg (and .png). */
async function writeResults(comparison: Comparison, dir: string, out: (s: string) => void): Promise<void> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`--out ${dir}: cannot create the folder (${e instanceof Error ? e.message : String(e)})`);
  }
  const written: string[] = [];
  const write = (name: string, data: string | Uint8Array) => {
    writeFileSync(join(dir, name), data);
    written.push(name);
  };
  write('compare.json', `${JSON.stringify(comparison, null, 2)}\n`);
  const { comparisonPlots } = await import('../api/plots.ts');
  let pngNote = '';
  for (const profile of comparison.profiles) {
    const plots = comparisonPlots(comparisonPlotData(comparison, profile));
    for (const [name, svg] of [
      [`slowdown-${profile}`, plots.slowdown],
      [`breakdown-${profile}`, plots.breakdown],
    ] as const) {
      write(`${name}.svg`, svg);
      const png = await svgToPng(svg);
      if ('png' in png) write(`${name}.png`, png.png);
      else pngNote = png.skipped;
    }
  }
  out(`\nwrote ${written.join(', ')} in ${dir}`);
  if (pngNote !== '') out(`PNG skipped: ${pngNote}`);
}
