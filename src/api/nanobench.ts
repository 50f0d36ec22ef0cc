/**
 * Nanobenchmarks (guest/nanobench): reading what the guest prints, and Adams & Agesen's 2006
 * figures to set beside it. The guest times N iterations of one operation and N of the same
 * loop without it, by RDTSC; cycles per operation is the difference over N. Platform-neutral:
 * parsing only, no Node imports.
 */

/** The operations, in the order the guest runs and prints them. */
export const NANOBENCH_OPS = ['syscall', 'in', 'callret', 'pgfault', 'divzero', 'ptemod', 'cr3'] as const;
export type NanobenchOp = (typeof NANOBENCH_OPS)[number];

/** One `nanobench <op> n=<N> cycles=<C> base=<B>` line. */
export interface NanobenchResult {
  readonly op: NanobenchOp;
  /** Iterations of each loop. */
  readonly n: number;
  /** Cycles of the N iterations with the operation. */
  readonly cycles: number;
  /** Cycles of the N iterations of the same loop without it. */
  readonly base: number;
  /** (cycles - base) / n, unrounded. */
  readonly perOp: number;
}

const RESULT = /^nanobench (\S+) n=(\d+) cycles=(\d+) base=(\d+)$/;
const FAILED = /^nanobench (\S+) FAILED\b(.*)$/;

/**
 * The results in `output` (the guest's serial output; lines that do not start with the word
 * "nanobench" are ignored), in the order printed. Throws an Error naming the problem when a
 * check in the guest failed, when the guest complained (`nanobench: ...`: a bad command line,
 * an unexpected exception), when a line is malformed or repeats an operation, or when
 * `nanobench done` is missing.
 */
export function parseNanobench(output: string): NanobenchResult[] {
  const results: NanobenchResult[] = [];
  let done = false;
  for (const raw of output.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line.startsWith('nanobench ') && !line.startsWith('nanobench:')) continue;
    if (line.startsWith('nanobench: ')) throw new Error(`the nanobench guest stopped: ${line.slice('nanobench: '.length)}`);
    if (line === 'nanobench done') {
      if (done) throw new Error('nanobench output says "nanobench done" twice');
      done = true;
      continue;
    }
    const failed = FAILED.exec(line);
    if (failed) throw new Error(`nanobench ${failed[1]} failed in the guest:${failed[2]}`);
    const m = RESULT.exec(line);
    if (!m) throw new Error(`malformed nanobench line: "${line}"`);
    if (done) throw new Error(`nanobench line after "nanobench done": "${line}"`);
    const op = NANOBENCH_OPS.find((o) => o === m[1]);
    if (op === undefined) throw new Error(`nanobench line for an unknown operation "${m[1]}": "${line}"`);
    if (results.some((r) => r.op === op)) throw new Error(`nanobench ${op} reported twice`);
    const n = Number(m[2]);
    const cycles = Number(m[3]);
    const base = Number(m[4]);
    if (n < 1) throw new Error(`nanobench ${op} with n=${n}: must be at least 1`);
    results.push({ op, n, cycles, base, perOp: (cycles - base) / n });
  }
  if (!done) throw new Error('nanobench output lacks "nanobench done" (the guest did not finish)');
  return results;
}

/** Cycles per operation in one paper's three configurations. */
export interface NanobenchFigures {
  readonly native: number;
  /** VMware's binary-translating VMM. */
  readonly software: number;
  /** The VMM built on Intel VT-x (first generation: no nested paging). */
  readonly hardware: number;
}

/**
 * Adams & Agesen's nanobenchmarks, cycles per operation; null where they measured nothing
 * comparable (they timed no CR3 switch). ptemod's native figure is theirs "about 1".
 */
export const ADAMS_AGESEN_2006: {
  readonly source: string;
  readonly perOp: Readonly<Record<NanobenchOp, NanobenchFigures | null>>;
} = {
  source:
    'Keith Adams and Ole Agesen, "A Comparison of Software and Hardware Techniques for x86 Virtualization", ASPLOS XII (2006), ' +
    'nanobenchmarks: cycles per operation natively, under VMware\'s software (binary translation) VMM and under their VT-x hardware VMM, ' +
    'on a 3.8 GHz Pentium 4 672',
  perOp: {
    syscall: { native: 242, software: 2308, hardware: 246 },
    in: { native: 3209, software: 214, hardware: 15826 },
    callret: { native: 11, software: 51, hardware: 11 },
    pgfault: { native: 1093, software: 3927, hardware: 11242 },
    divzero: { native: 889, software: 3223, hardware: 1014 },
    ptemod: { native: 1, software: 391, hardware: 12733 },
    cr3: null,
  },
};
