/**
 * `shadowvisor demo` (what `npm start` runs): a bundled freestanding i386 program on the
 * emulated CPU, with what the hardware counted while it ran.
 */
import { fileURLToPath } from 'node:url';
import { runUserProgram } from '../api/index.ts';
import { NodeHost } from '../api/node.ts';
import { count } from './format.ts';
import { printStats, readProgram } from './user-command.ts';

export const DEMO_PROGRAM = fileURLToPath(new URL('../../guest/user/prebuilt/demo.elf', import.meta.url));

export function demoCommand(opts: { stats: boolean }): number {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out('shadowvisor: running guest/user/prebuilt/demo.elf (built from guest/user/demo.c by gcc -m32)');
  out('on the emulated i686: ring 3, paging on, every system call trapped to the runner.\n');
  const run = runUserProgram(readProgram(DEMO_PROGRAM), 'demo.elf', new NodeHost(), { args: [], env: [] });
  const c = run.counters;
  out('');
  out(`exit status ${run.status}; ${count(run.instructions)} instructions, ${count(run.cycles)} simulated cycles`);
  out(
    `TLB: ${count(c.tlb_hit ?? 0)} hits, ${count(c.tlb_miss ?? 0)} misses (${count(c.page_walk ?? 0)} page walks); ` +
      `${count(c.exception ?? 0)} traps to the runner (system calls and demand-zero page faults)`,
  );
  out(`emulator speed: ${run.mips.toFixed(1)} guest MIPS on this machine`);
  if (opts.stats) printStats(run, out);
  out('\nNext: `shadowvisor user <program.elf>` runs your own static i386 program; `shadowvisor --help` lists everything.');
  return run.status;
}
