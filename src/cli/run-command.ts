/**
 * `shadowvisor run`: boot a multiboot kernel natively on the emulated PC, like
 * `qemu-system-i386 -kernel`. Serial console on stdout, stdin to the serial port and keyboard,
 * exit status from the debug-exit port.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type BootModule, type NativeRun, MAX_RAM, bootNative, describeExit } from '../api/index.ts';
import { DiskError, FileDisk, StdoutSink, stdinSource } from '../api/node.ts';
import { UsageError } from './errors.ts';
import { count, table } from './format.ts';
import { parsePositiveInteger, readProgram } from './user-command.ts';

export interface RunCommandOptions {
  append: string;
  module: string[];
  disk: string[];
  mem: string;
  maxInstructions?: string;
  stats?: boolean;
  statsJson?: string;
  screen?: boolean;
  cga?: boolean;
}

/** "128M", "1G", "65536K" or a plain number of MiB -> bytes. */
export function parseMemorySize(text: string): number {
  const m = /^(\d+)\s*([KMG]?)i?B?$/i.exec(text.trim());
  if (m === null) throw new UsageError(`--mem needs a size such as 128M or 1G, got "${text}"`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  const bytes = unit === 'G' ? n * 2 ** 30 : unit === 'K' ? n * 1024 : n * 2 ** 20;
  if (bytes % 2 ** 20 !== 0) throw new UsageError(`--mem must be a whole number of MiB, got ${text}`);
  if (bytes < 2 * 2 ** 20 || bytes > MAX_RAM) throw new UsageError(`--mem must be between 2M and 1G, got ${text}`);
  return bytes;
}

function loadModule(spec: string): BootModule {
  const path = spec.trim().split(/\s+/)[0] ?? '';
  if (path === '') throw new UsageError('--module needs a file name');
  return { name: path, data: readProgram(path), cmdline: spec.trim() };
}

export function printMachineStats(run: NativeRun, out: (s: string) => void): void {
  const c = run.counters;
  out(
    table(
      [
        ['instructions', count(run.instructions)],
        ['simulated cycles', count(run.cycles)],
        ['wall-clock seconds', run.seconds.toFixed(3)],
        ['guest MIPS (wall clock)', run.mips.toFixed(1)],
        ['TLB misses', count(c.tlb_miss ?? 0)],
        ['page walks', count(c.page_walk ?? 0)],
        ['CR3 loads', count(c.cr3_load ?? 0)],
        ['TLB flushes', count(c.tlb_flush ?? 0)],
        ['INVLPG', count(c.invlpg ?? 0)],
        ['port I/O', count(c.port_io ?? 0)],
        ['MMIO accesses', count(c.mmio ?? 0)],
        ['HLT', count(c.halt ?? 0)],
      ],
      ['counter', 'value'],
    ),
  );
  const vectors = Object.entries(run.vectors).sort((a, b) => b[1] - a[1]);
  if (vectors.length > 0) out(table(vectors.map(([k, v]) => [k, count(v)]), ['exception or interrupt (vector)', 'delivered']));
  const sources = Object.entries(run.interrupts).filter(([, v]) => v > 0);
  if (sources.length > 0) out(table(sources.map(([k, v]) => [k, count(v)]), ['interrupt source', 'requests']));
}

export function runCommand(kernelPath: string, opts: RunCommandOptions): number {
  const ramBytes = parseMemorySize(opts.mem);
  const maxInstructions = opts.maxInstructions === undefined ? undefined : parsePositiveInteger(opts.maxInstructions, '--max-instructions');
  if (opts.disk.length > 2) throw new UsageError('at most two --disk images (primary master and slave)');
  const kernel = readProgram(kernelPath);
  const modules = opts.module.map(loadModule);
  const disks: FileDisk[] = [];
  try {
    for (const d of opts.disk) disks.push(FileDisk.open(d));
  } catch (e) {
    for (const d of disks) d.close();
    if (e instanceof DiskError) throw new UsageError(e.message);
    throw e;
  }
  const serial = new StdoutSink();
  const input = stdinSource();
  let run: NativeRun;
  try {
    run = bootNative({
      kernel,
      kernelName: basename(kernelPath),
      cmdline: opts.append,
      modules,
      ramBytes,
      disks,
      input,
      waitForInput: () => {
        serial.flush();
        return input.wait();
      },
      serial,
      ...(opts.cga ? { cgaMirror: (row: number, text: string) => process.stderr.write(`[cga ${String(row).padStart(2)}] ${text}\n`) } : {}),
      ...(maxInstructions !== undefined ? { maxInstructions } : {}),
    });
  } finally {
    serial.flush();
    for (const d of disks) d.close();
  }
  const err = (s: string) => process.stderr.write(`${s}\n`);
  const failed = run.exit.kind !== 'exit' && run.exit.kind !== 'halted';
  if (failed) err(`shadowvisor: ${describeExit(run.exit)}`);
  if (failed || opts.screen) {
    const rows = [...run.screen];
    while (rows.length > 0 && rows[rows.length - 1]!.trim() === '') rows.pop();
    if (rows.length > 0) err(`--- CGA text screen ---\n${rows.map((r) => r.trimEnd()).join('\n')}\n-----------------------`);
  }
  if (opts.stats) printMachineStats(run, err);
  if (opts.statsJson !== undefined) {
    const { exit, status, instructions, cycles, counters, vectors, interrupts, seconds, mips } = run;
    const json = { kernel: basename(kernelPath), cmdline: opts.append, exit, status, instructions, cycles, counters, vectors, interrupts, seconds, mips };
    writeFileSync(opts.statsJson, `${JSON.stringify(json, null, 2)}\n`);
  }
  return run.status;
}
