/** `shadowvisor user`: run a statically linked 32-bit Linux program on the emulated CPU. */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type UserProgramRun, runUserProgram } from '../api/index.ts';
import { NodeHost } from '../api/node.ts';
import { count, table } from './format.ts';
import { UsageError } from './errors.ts';

export interface UserCommandOptions {
  memory: string;
  maxInstructions?: string;
  env: string[];
  clearEnv?: boolean;
  stats?: boolean;
  statsJson?: string;
  interpret?: boolean;
  strace?: boolean;
}

export function parsePositiveInteger(value: string, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  const cleaned = value.replace(/_/g, '');
  if (!/^\d+$/.test(cleaned)) throw new UsageError(`${flag} needs a positive whole number, got "${value}"`);
  const n = Number(cleaned);
  if (n <= 0 || n > max) throw new UsageError(`${flag} must be between 1 and ${max}, got ${value}`);
  return n;
}

/** Reads a program file, turning file-system errors into one-line messages. */
export function readProgram(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${path}: no such file`);
    if (code === 'EISDIR') throw new UsageError(`${path} is a directory, not a program`);
    if (code === 'EACCES') throw new UsageError(`${path}: permission denied`);
    throw new UsageError(`${path}: cannot read (${code ?? String(e)})`);
  }
}

/** Prints what the CPU counted during a run. */
export function printStats(run: UserProgramRun, out: (s: string) => void): void {
  const c = run.counters;
  const rows: [string, string][] = [
    ['instructions', count(run.instructions)],
    ['simulated cycles', count(run.cycles)],
    ['wall-clock seconds', run.seconds.toFixed(3)],
    ['guest MIPS (wall clock)', run.mips.toFixed(1)],
    ['TLB hits', count(c.tlb_hit ?? 0)],
    ['TLB misses', count(c.tlb_miss ?? 0)],
    ['page walks', count(c.page_walk ?? 0)],
    ['paging-structure reads', count(c.walk_read ?? 0)],
    ['A/D bit writes', count(c.ad_write ?? 0)],
    ['TLB flushes', count(c.tlb_flush ?? 0)],
    ['exceptions and traps', count(c.exception ?? 0)],
    ['blocks decoded', count(c.block_decoded ?? 0)],
    ['blocks compiled', count(c.block_compiled ?? 0)],
    ['blocks invalidated (code writes)', count(c.block_invalidated ?? 0)],
  ];
  out(table(rows, ['counter', 'value']));
  const vectors = Object.entries(run.vectors).sort((a, b) => b[1] - a[1]);
  if (vectors.length > 0) out(table(vectors.map(([k, v]) => [k, count(v)]), ['exception or trap', 'count']));
  const calls = Object.entries(run.syscalls).sort((a, b) => b[1] - a[1]);
  if (calls.length > 0) out(table(calls.map(([k, v]) => [k, count(v)]), ['system call', 'calls']));
}

export function userCommand(program: string, args: string[], opts: UserCommandOptions): number {
  const memoryMiB = parsePositiveInteger(opts.memory, '--memory', 1024);
  if (memoryMiB < 4) throw new UsageError('--memory must be at least 4 (MiB)');
  const maxInstructions = opts.maxInstructions === undefined ? undefined : parsePositiveInteger(opts.maxInstructions, '--max-instructions');
  for (const e of opts.env) if (!e.includes('=')) throw new UsageError(`--env needs NAME=value, got "${e}"`);
  const inherited = opts.clearEnv ? [] : Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
  const bytes = readProgram(program);
  const run = runUserProgram(bytes, program, new NodeHost(), {
    args,
    env: [...inherited, ...opts.env],
    memoryMiB,
    ...(maxInstructions !== undefined ? { maxInstructions } : {}),
    interpretOnly: opts.interpret ?? false,
    ...(opts.strace ? { traceSyscalls: (line: string) => process.stderr.write(`[strace] ${line}\n`) } : {}),
  });
  const err = (s: string) => process.stderr.write(`${s}\n`);
  const name = basename(program);
  switch (run.exit.kind) {
    case 'signaled':
      err(`shadowvisor: ${name} was killed by ${run.exit.name}: ${run.exit.reason}`);
      break;
    case 'limit':
      err(`shadowvisor: ${name} ran ${count(run.exit.instructions)} instructions without exiting (a runaway program?); raise --max-instructions to let it run longer`);
      break;
    case 'exited':
      break;
  }
  if (opts.stats) printStats(run, err);
  if (opts.statsJson !== undefined) {
    const { exit, status, instructions, cycles, counters, vectors, syscalls, seconds, mips } = run;
    const json = { program: name, exit, status, instructions, cycles, counters, vectors, syscalls, seconds, mips };
    writeFileSync(opts.statsJson, `${JSON.stringify(json, null, 2)}\n`);
  }
  return run.exit.kind === 'limit' ? 124 : run.status;
}
