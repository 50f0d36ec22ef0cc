/**
 * `shadowvisor nanobench`: the nanobenchmark guest (guest/nanobench) natively and under each
 * mode: cycles per operation, measured by the guest itself with RDTSC on its own simulated
 * clock, next to Adams & Agesen's 2006 figures, with why ours agree or differ.
 */
import { fileURLToPath } from 'node:url';
import { ADAMS_AGESEN_2006, type Mode, NANOBENCH_OPS, type NanobenchOp, TextSink, describeExit, parseNanobench, runMachine } from '../api/index.ts';
import { parseModes } from './compare-command.ts';
import { UsageError } from './errors.ts';
import { count, table, wrap } from './format.ts';
import { parseProfile } from './run-command.ts';
import { parsePositiveInteger, readProgram } from './user-command.ts';

export const NANOBENCH_GUEST = fileURLToPath(new URL('../../guest/nanobench/nanobench.elf', import.meta.url));

/** Why our figures agree with the paper's or not (their software VMM translated code; ours traps). */
const WHY: Readonly<Record<NanobenchOp, string>> = {
  syscall:
    "hw: INT 0x80 and IRET go through the guest's own IDT in guest mode, no exit, as with their VT-x; trap: the INT from ring 3 and the IRET both exit, two round trips where their binary translator paid a callout.",
  in: "every port is the VMM's device, so trap and hw both exit and emulate (one round trip); their translator emulated IN without leaving translated code (214), their P4's exits cost 15,826; our native ISA access costs 300, their real device 3,209.",
  callret: 'no VMM work in any mode that runs the guest directly; their translator paid for translating the return (51); the interpreter pays its per-instruction cost twice.',
  pgfault:
    "a fault the guest's own tables cause: trap takes it to the monitor, reflects it and exits again on the IRET; hw intercepts #PF (shadow paging needs every fault) and injects it, one round trip, where their P4 paid 11,242.",
  divzero: "hw does not intercept #DE, so the guest's IDT takes it at native cost, as with their VT-x (1,014); trap takes every exception to the monitor and exits again on the IRET.",
  ptemod:
    'a store into a traced guest page table: a trace fault and an emulated write under trap and hw alike, plus a rebuild when the flood heuristic unshadows the table; their translator rewrote the store to emulate it in place (391).',
  cr3: 'a CR3 load exits under trap and hw alike (shadow paging must switch shadows); the paper did not time it.',
};

export interface NanobenchCommandOptions {
  modes: string;
  profile: string;
  n: string;
  kernel?: string;
}

export function nanobenchCommand(opts: NanobenchCommandOptions): number {
  const modes = parseModes(opts.modes);
  const profile = parseProfile(opts.profile);
  const n = parsePositiveInteger(opts.n, '--n');
  if (n > 100_000) throw new UsageError(`--n must be at most 100000, got ${n}`);
  const kernel = readProgram(opts.kernel ?? NANOBENCH_GUEST);
  const perMode = new Map<Mode, Map<NanobenchOp, number>>();
  for (const mode of modes) {
    const serial = new TextSink();
    const run = runMachine({ kernel, kernelName: 'nanobench.elf', cmdline: `n=${n}`, mode, profile, ramBytes: 32 << 20, serial });
    if (run.exit.kind !== 'exit' || run.status !== 1) throw new UsageError(`the nanobenchmark guest failed under ${mode}: ${describeExit(run.exit)}`);
    const results = parseNanobench(serial.text);
    perMode.set(mode, new Map(results.map((r) => [r.op, r.perOp])));
  }
  const paper = ADAMS_AGESEN_2006.perOp;
  const figure = (x: number) => (x < 100 ? x.toFixed(1) : count(x));
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`cycles per operation, ${profile.name} (VMM round trip ${profile.vmmRoundTrip} cycles), n=${n}`);
  out(
    table(
      NANOBENCH_OPS.map((op) => {
        const p = paper[op];
        return [op, ...modes.map((m) => figure(perMode.get(m)!.get(op)!)), p === null ? '-' : `${count(p.native)} / ${count(p.software)} / ${count(p.hardware)}`];
      }),
      ['operation', ...modes, 'Adams & Agesen 2006: native / software VMM / hardware VMM'],
    ),
  );
  for (const op of NANOBENCH_OPS) out(wrap(`${op}: ${WHY[op]}`, 100, '    '));
  out(wrap(`source: ${ADAMS_AGESEN_2006.source}. Ours: ${profile.source}; the interpreter adds ${profile.vmm.interpretation} cycles to every instruction.`, 100, '    '));
  return 0;
}
