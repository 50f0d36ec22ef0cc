/** Booting the repository's guest kernels in tests: paths, a memory console, disks in temp files. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BlockBackend, type BootModule, type MachineOptions, type MachineRun, runMachine } from '../../src/api/index.ts';
import { ROOT } from '../../bench/programs.ts';

export interface BootResult extends MachineRun {
  readonly output: string;
}

/** Boots guest/<path> natively with a serial console captured in memory. */
export function boot(kernelPath: string, cmdline = '', disks: BlockBackend[] = [], maxInstructions = 2e9): BootResult {
  return bootWithModules(kernelPath, cmdline, [], disks, maxInstructions);
}

/** The same, with boot modules. */
export function bootWithModules(kernelPath: string, cmdline: string, modules: BootModule[], disks: BlockBackend[] = [], maxInstructions = 2e9): BootResult {
  return runGuest(kernelPath, { cmdline, modules, disks, maxInstructions });
}

/** Boots `kernelPath` (relative to the repository, or absolute) in any mode, the console captured in memory. */
export function runGuest(kernelPath: string, options: Partial<Omit<MachineOptions, 'kernel' | 'serial'>> = {}): BootResult {
  const bytes: number[] = [];
  const run = runMachine({
    kernel: new Uint8Array(readFileSync(kernelPath.startsWith('/') ? kernelPath : join(ROOT, kernelPath))),
    kernelName: kernelPath,
    maxInstructions: 2e9,
    ...options,
    serial: { write: (b) => bytes.push(b) },
  });
  return { ...run, output: Buffer.from(bytes).toString('latin1') };
}

/** A zeroed disk image file of `bytes` in a fresh temporary directory. */
export function tempImage(bytes: number): string {
  const path = join(mkdtempSync(join(tmpdir(), 'shadowvisor-disk-')), 'disk.img');
  writeFileSync(path, new Uint8Array(bytes));
  return path;
}

/** The guest's output without the lines that report its own clock (the teaching kernel's 'time:' lines). */
export function withoutTimes(output: string): string {
  return output
    .split('\n')
    .filter((l) => !l.startsWith('time:'))
    .join('\n');
}
