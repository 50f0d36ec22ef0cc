/**
 * The x87 differential run: generates cases (x87-generate.ts), runs them natively through the
 * ordinary harness (native-harness.c) in batches and on the emulator (interpreted, and every
 * eighth case also through a compiled block), and compares. Exact cases must agree byte for
 * byte; transcendental cases may differ by one unit in the last place of the 64-bit significand
 * in a result register (SDM vol. 1, 8.3.10), and in PE and C1 where they say how the result was
 * rounded. Runnable directly for soak runs:
 *   SHADOWVISOR_X87_CASES=1000000 node --import tsx test/differential/x87-run.ts
 */
import { compareOutcomes, formatReport } from './compare.ts';
import { Emulator } from './emulate.ts';
import { initialScratch } from './generate.ts';
import { type Outcome, buildHarness, runNative } from './harness.ts';
import { SCRATCH_SIZE } from './layout.ts';
import { TRANSCENDENTAL, X87_LAYOUT, type X87Case, generateX87Case } from './x87-generate.ts';

export const X87_DEFAULT_SEED = 0x87f00d;
export const X87_DEFAULT_CASES = 30_000;
/** Every TRANS_EVERY-th case is a transcendental one. */
const TRANS_EVERY = 6;
const BATCH = 10_000;
const COMPILED_EVERY = 8;
const MAX_REPORTS = Number(process.env.MAXREP ?? 8);

export interface X87RunOptions {
  readonly seed?: number;
  readonly cases?: number;
  readonly only?: number;
  /** Generate transcendental cases (default true). */
  readonly transcendental?: boolean;
  readonly log?: (line: string) => void;
}

export interface X87RunResult {
  readonly seed: number;
  readonly cases: number;
  readonly mismatches: number;
  readonly reports: string[];
  readonly outcomes: Map<string, number>;
  /** Instructions drawn, by name. */
  readonly names: Map<string, number>;
  /** Pointer groups the host's task switches had zeroed (forgiven). */
  readonly pointerResets: number;
  /** Transcendental results that differ from the host's by one ulp (allowed), and those compared. */
  readonly ulpDifferences: number;
  readonly transcendentalResults: number;
}

export function x87OptionsFromEnv(): X87RunOptions {
  const num = (name: string): number | undefined => {
    const v = process.env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`${name}=${v} is not a number`);
    return n;
  };
  return { seed: num('SHADOWVISOR_X87_SEED'), cases: num('SHADOWVISOR_X87_CASES'), only: num('SHADOWVISOR_X87_CASE'), transcendental: process.env.SHADOWVISOR_X87_EXACT_ONLY === undefined };
}

const SIGNAL_NAMES: Readonly<Record<number, string>> = { 0: 'completed', 4: '#UD (SIGILL)', 8: '#MF (SIGFPE)', 11: 'SIGSEGV' };

/** The scratch area after a run: the initial contents with the outcome's written bytes. */
function finalScratch(tc: X87Case, o: Outcome): Uint8Array {
  const out = new Uint8Array(SCRATCH_SIZE);
  initialScratch(tc, out);
  o.diffOffsets.forEach((off, k) => {
    out[off] = o.diffValues[k]!;
  });
  return out;
}

function u16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}
function u32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

/** The 80-bit value at off as sign|exponent and a 64-bit significand. */
function f80At(b: Uint8Array, off: number): { se: number; sig: bigint } {
  return { se: u16(b, off + 8), sig: (BigInt(u32(b, off + 4)) << 32n) | BigInt(u32(b, off)) };
}

function hex(v: number | bigint, digits: number): string {
  return v.toString(16).padStart(digits, '0');
}

/** A readable FNSAVE image (the final state). */
export function describeState(b: Uint8Array): string {
  const at = X87_LAYOUT.FINAL;
  const lines = [
    `cw ${hex(u16(b, at), 4)} sw ${hex(u16(b, at + 4), 4)} tw ${hex(u16(b, at + 8), 4)} fip ${hex(u32(b, at + 12), 8)} fcs ${hex(u16(b, at + 16), 4)} fop ${hex(u16(b, at + 18) & 0x7ff, 3)} fdp ${hex(u32(b, at + 20), 8)} fds ${hex(u16(b, at + 24), 4)}`,
  ];
  for (let k = 0; k < 8; k++) {
    const v = f80At(b, at + 28 + 10 * k);
    lines.push(`st${k} ${hex(v.se, 4)} ${hex(v.sig, 16)}`);
  }
  const log: string[] = [];
  for (let k = 0; k < 8; k++) log.push(hex(u16(b, X87_LAYOUT.LOG + 2 * k), 4));
  lines.push(`status after each instruction: ${log.join(' ')}`);
  return lines.join('\n      ');
}

/** The next value above an 80-bit encoding's magnitude (finite: sig + 1, carrying into the exponent). */
function magnitudeKey(v: { se: number; sig: bigint }): bigint {
  // Finite values of one sign are ordered by (exponent, significand): adjacent ones differ by 1
  // here once the explicit J bit is folded in (normal significands are 2^63 .. 2^64-1).
  const e = BigInt(v.se & 0x7fff);
  const frac = v.sig & ((1n << 63n) - 1n);
  return e === 0n ? v.sig : (e << 63n) | frac;
}

/** Within one ulp: same sign and adjacent (or equal) finite encodings. */
function withinUlp(a: { se: number; sig: bigint }, b: { se: number; sig: bigint }): boolean {
  if ((a.se & 0x8000) !== (b.se & 0x8000)) return false;
  if ((a.se & 0x7fff) === 0x7fff || (b.se & 0x7fff) === 0x7fff) return false;
  const d = magnitudeKey(a) - magnitudeKey(b);
  return d >= -1n && d <= 1n;
}

/**
 * A transcendental case: compares like compareOutcomes, but lets a result register (in the final
 * FNSAVE image) be one ulp away, and PE and C1 (how the result was rounded) differ.
 */
function compareTranscendental(tc: X87Case, native: Outcome, emulated: Outcome, counts: { ulp: number; results: number }): string[] {
  const base = compareOutcomes(tc, native, emulated);
  if (native.status !== emulated.status || base.length === 0) {
    if (base.length === 0 && native.status === 0) counts.results++;
    return base;
  }
  const nb = finalScratch(tc, native);
  const eb = finalScratch(tc, emulated);
  const diffs: string[] = [];
  let ulp = false;
  for (let k = 0; k < 8; k++) {
    const off = X87_LAYOUT.FINAL + 28 + 10 * k;
    const a = f80At(nb, off);
    const b = f80At(eb, off);
    if (a.se === b.se && a.sig === b.sig) continue;
    if (withinUlp(a, b)) ulp = true;
    else diffs.push(`st${k}: native ${hex(a.se, 4)} ${hex(a.sig, 16)}, emulated ${hex(b.se, 4)} ${hex(b.sig, 16)}`);
  }
  // PE and C1 say how the result was rounded, which within the SDM's one ulp is the processor's own business.
  const swMask = ~0x0220;
  const words = [X87_LAYOUT.FINAL + 4, X87_LAYOUT.LOG];
  for (const off of words) {
    if ((u16(nb, off) & swMask) !== (u16(eb, off) & swMask)) diffs.push(`status word at +${hex(off, 3)}: native ${hex(u16(nb, off), 4)}, emulated ${hex(u16(eb, off), 4)}`);
  }
  // Every other byte must be equal.
  const skip = new Set<number>();
  for (let k = 0; k < 80; k++) skip.add(X87_LAYOUT.FINAL + 28 + k);
  for (const off of words) {
    skip.add(off);
    skip.add(off + 1);
  }
  for (let off = 0; off < SCRATCH_SIZE; off++) {
    if (!skip.has(off) && nb[off] !== eb[off]) diffs.push(`mem +${hex(off, 4)}: native ${hex(nb[off]!, 2)}, emulated ${hex(eb[off]!, 2)}`);
  }
  for (let r = 0; r < 8; r++) if (native.regs[r] !== emulated.regs[r]) diffs.push(`register ${r}: native ${hex(native.regs[r]! >>> 0, 8)}, emulated ${hex(emulated.regs[r]! >>> 0, 8)}`);
  if (((native.eflags ^ emulated.eflags) & 0x8d5) !== 0) diffs.push(`eflags: native ${hex(native.eflags, 8)}, emulated ${hex(emulated.eflags, 8)}`);
  if (diffs.length === 0) {
    counts.results++;
    if (ulp) counts.ulp++;
    if (ulp && process.env.SHADOWVISOR_X87_ULP_LOG !== undefined) {
      const init = new Uint8Array(SCRATCH_SIZE);
      initialScratch(tc, init);
      const r0 = f80At(init, X87_LAYOUT.INITIAL + 28);
      const r1 = f80At(init, X87_LAYOUT.INITIAL + 38);
      const a = f80At(nb, X87_LAYOUT.FINAL + 28);
      const b = f80At(eb, X87_LAYOUT.FINAL + 28);
      const a1 = f80At(nb, X87_LAYOUT.FINAL + 38);
      const b1 = f80At(eb, X87_LAYOUT.FINAL + 38);
      console.log(`ULP ${tc.forms[0]!.spec.name} cw=${hex(u16(init, X87_LAYOUT.INITIAL), 4)} st0=${hex(r0.se, 4)}:${hex(r0.sig, 16)} st1=${hex(r1.se, 4)}:${hex(r1.sig, 16)} native=${hex(a.se, 4)}:${hex(a.sig, 16)},${hex(a1.se, 4)}:${hex(a1.sig, 16)} emulated=${hex(b.se, 4)}:${hex(b.sig, 16)},${hex(b1.se, 4)}:${hex(b1.sig, 16)}`);
    }
  }
  return diffs;
}

/**
 * The host's kernel saves the FPU with XSAVE when it switches tasks, and AMD processors save the
 * last-instruction pointers only while an exception is pending (ES=1): after a switch between
 * two of a case's instructions they read 0 natively. Where the native image holds a zero pointer
 * field (FIP, FCS, FOP, FDP or FDS) the emulated one is taken as equal. Returns how many fields
 * were forgiven.
 */
function forgiveHostPointerReset(tc: X87Case, native: Outcome, emulated: Outcome): number {
  const nb = finalScratch(tc, native);
  const eb = finalScratch(tc, emulated);
  const images: { at: number; wide: boolean }[] = [{ at: X87_LAYOUT.FINAL, wide: true }];
  tc.forms.forEach((f, k) => {
    if (f.spec.name === 'fnstenv' || f.spec.name === 'fnsave') images.push({ at: X87_LAYOUT.AREAS + X87_LAYOUT.AREA_SIZE * k, wide: !tc.insns.some((i) => !i.helper && i.bytes[0] === 0x66 && i.name.startsWith(f.spec.name)) });
  });
  let forgiven = 0;
  for (const { at, wide } of images) {
    // FIP, FCS, FOP, FDP, FDS (a 64-bit XSAVE image has no selectors: they may read 0 alone).
    const groups = wide
      ? [
          [at + 12, at + 13, at + 14, at + 15],
          [at + 16, at + 17],
          [at + 18, at + 19],
          [at + 20, at + 21, at + 22, at + 23],
          [at + 24, at + 25],
        ]
      : [[at + 6, at + 7], [at + 8, at + 9], [at + 10, at + 11], [at + 12, at + 13]];
    for (const g of groups) {
      const nativeZero = g.every((o) => (wide && o === at + 19 ? nb[o]! & 0x07 : nb[o]) === 0);
      const differs = g.some((o) => nb[o] !== eb[o]);
      if (!nativeZero || !differs) continue;
      forgiven++;
      for (const o of g) {
        const k = emulated.diffOffsets.indexOf(o);
        const initial = nb[o] === eb[o];
        if (initial) continue;
        // Make the emulated byte equal to the native one.
        const nk = native.diffOffsets.indexOf(o);
        if (k >= 0 && nk >= 0) emulated.diffValues[k] = native.diffValues[nk]!;
        else if (k >= 0) {
          emulated.diffOffsets.splice(k, 1);
          emulated.diffValues.splice(k, 1);
        } else if (nk >= 0) {
          const at2 = emulated.diffOffsets.findIndex((x) => x > o);
          const pos = at2 < 0 ? emulated.diffOffsets.length : at2;
          emulated.diffOffsets.splice(pos, 0, o);
          emulated.diffValues.splice(pos, 0, native.diffValues[nk]!);
        }
      }
    }
  }
  return forgiven;
}

export function runX87Differential(options: X87RunOptions = {}): X87RunResult {
  const seed = (options.seed ?? X87_DEFAULT_SEED) >>> 0;
  const total = options.cases ?? X87_DEFAULT_CASES;
  const log = options.log ?? (() => {});
  const binary = buildHarness();
  const interpreted = new Emulator(0);
  const compiled = new Emulator(1);
  const reports: string[] = [];
  const outcomes = new Map<string, number>();
  const names = new Map<string, number>();
  const counts = { ulp: 0, results: 0 };
  let mismatches = 0;
  let pointerResets = 0;
  const first = options.only ?? 0;
  const end = options.only !== undefined ? options.only + 1 : total;
  for (let start = first; start < end; start += BATCH) {
    const stop = Math.min(end, start + BATCH);
    const cases: X87Case[] = [];
    for (let k = start; k < stop; k++) cases.push(generateX87Case(seed, k, (options.transcendental ?? true) && k % TRANS_EVERY === TRANS_EVERY - 1));
    const native = runNative(binary, cases);
    for (let k = 0; k < cases.length; k++) {
      const tc = cases[k]!;
      const n = native[k]!;
      const kind = SIGNAL_NAMES[n.status] ?? `signal ${n.status}`;
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
      for (const f of tc.forms) names.set(f.spec.name, (names.get(f.spec.name) ?? 0) + 1);
      const compare = (e: Outcome): string[] => (tc.transcendental ? compareTranscendental(tc, n, e, counts) : compareOutcomes(tc, n, e));
      interpreted.load(tc);
      let emulated = interpreted.run(tc);
      pointerResets += forgiveHostPointerReset(tc, n, emulated);
      let diffs = compare(emulated);
      let label = '';
      if (diffs.length === 0 && (tc.index % COMPILED_EVERY === 0 || options.only !== undefined) && !tc.transcendental) {
        compiled.load(tc);
        compiled.run(tc);
        emulated = compiled.run(tc);
        forgiveHostPointerReset(tc, n, emulated);
        diffs = compareOutcomes(tc, n, emulated);
        label = ' (compiled block)';
      }
      if (diffs.length > 0) {
        mismatches++;
        if (reports.length < MAX_REPORTS) {
          const nb = finalScratch(tc, n);
          const eb = finalScratch(tc, emulated);
          let first = -1;
          for (let k = 0; k < tc.forms.length && first < 0; k++) if (u16(nb, X87_LAYOUT.LOG + 2 * k) !== u16(eb, X87_LAYOUT.LOG + 2 * k)) first = k;
          const firstLine = first >= 0 ? `FIRST DIVERGENCE: instruction ${first} ${tc.forms[first]!.spec.name} ${tc.forms[first]!.spec.operands}\n` : '';
          const report = `${firstLine}${formatReport(tc, n, emulated, diffs, label).replace('SHADOWVISOR_DIFF_SEED', 'SHADOWVISOR_X87_SEED').replace('SHADOWVISOR_DIFF_CASE', 'SHADOWVISOR_X87_CASE')}\n  initial state:\n      ${describeInitial(tc)}\n  native final:\n      ${describeState(finalScratch(tc, n))}\n  emulated final:\n      ${describeState(finalScratch(tc, emulated))}`;
          reports.push(report);
          log(report);
        }
      }
    }
  }
  return { seed, cases: end - first, mismatches, reports, outcomes, names, pointerResets, ulpDifferences: counts.ulp, transcendentalResults: counts.results };
}

function describeInitial(tc: X87Case): string {
  const b = new Uint8Array(SCRATCH_SIZE);
  initialScratch(tc, b);
  const at = X87_LAYOUT.INITIAL;
  const lines = [`cw ${hex(u16(b, at), 4)} sw ${hex(u16(b, at + 4), 4)} tw ${hex(u16(b, at + 8), 4)}`];
  for (let k = 0; k < 8; k++) {
    const v = f80At(b, at + 28 + 10 * k);
    lines.push(`st${k} ${hex(v.se, 4)} ${hex(v.sig, 16)}`);
  }
  for (let k = 0; k < tc.forms.length; k++) {
    const f = tc.forms[k]!;
    if (f.rm >= 0 || f.store) continue;
    const off = f.fmt === 'env' || f.fmt === 'save' ? X87_LAYOUT.AREAS + X87_LAYOUT.AREA_SIZE * k : X87_LAYOUT.SLOTS + X87_LAYOUT.SLOT_SIZE * k;
    const n = f.fmt === 'save' ? 108 : f.fmt === 'env' ? 28 : 10;
    lines.push(`operand ${k} (${f.fmt}): ${[...b.subarray(off, off + n)].map((x) => hex(x, 2)).join(' ')}`);
  }
  return lines.join('\n      ');
}

function main(): void {
  const started = performance.now();
  const r = runX87Differential({ ...x87OptionsFromEnv(), log: (line) => console.log(line) });
  console.log(`seed ${r.seed}: ${r.cases} x87 cases, ${r.mismatches} mismatches in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log(`outcomes: ${[...r.outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`transcendental results ${r.transcendentalResults}, one ulp from the host ${r.ulpDifferences}; pointer groups zeroed by host task switches ${r.pointerResets}`);
  if (process.env.SHADOWVISOR_X87_NAMES !== undefined) console.log([...r.names].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join('\n'));
  process.exitCode = r.mismatches === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) main();

export { TRANSCENDENTAL };
