/**
 * Public API: running a statically linked 32-bit Linux program on the emulated CPU.
 * Front-ends (the CLI, tests, later the visualizer) use this, never the runner's internals.
 */
import { ElfError, parseElf } from '../user/elf.ts';
import type { UserHost } from '../user/host.ts';
import { LinuxProcess, type UserExit, type UserRunResult } from '../user/linux-process.ts';
import { SYSCALL_NAMES } from '../user/linux-syscalls.ts';

export { ElfError, type UserExit, type UserRunResult };
export { MemoryHost, type UserHost, type HostFile } from '../user/host.ts';

export interface UserProgramOptions {
  /** Arguments after argv[0]. */
  readonly args?: readonly string[];
  /** argv[0]; defaults to the program's name. */
  readonly argv0?: string;
  /** Environment strings, "NAME=value". */
  readonly env?: readonly string[];
  /** Guest RAM in MiB (default 256, at most 1024). */
  readonly memoryMiB?: number;
  /** Stop after this many instructions (default 20 billion). */
  readonly maxInstructions?: number;
  /** Interpret every block instead of compiling hot ones (slower; for comparison). */
  readonly interpretOnly?: boolean;
  /** Receives one line per system call, like strace. */
  readonly traceSyscalls?: (line: string) => void;
}

export interface UserProgramRun extends UserRunResult {
  /** Wall-clock seconds the emulation took (for emulator-speed figures only). */
  readonly seconds: number;
  /** Guest instructions per wall-clock microsecond. */
  readonly mips: number;
  /** System calls by name. */
  readonly syscalls: Record<string, number>;
}

/**
 * Loads `bytes` (an i386 ELF executable called `name`) and runs it to completion.
 * Throws ElfError for files that are not runnable programs; RangeError for bad options.
 */
export function runUserProgram(bytes: Uint8Array, name: string, host: UserHost, options: UserProgramOptions = {}): UserProgramRun {
  const memoryMiB = options.memoryMiB ?? 256;
  if (!Number.isInteger(memoryMiB) || memoryMiB < 4 || memoryMiB > 1024) {
    throw new RangeError(`memory must be a whole number of MiB from 4 to 1024, got ${memoryMiB}`);
  }
  const elf = parseElf(bytes, name);
  const process = new LinuxProcess(elf, host, {
    argv: [options.argv0 ?? name, ...(options.args ?? [])],
    env: options.env ?? [],
    memoryBytes: memoryMiB << 20,
    ...(options.maxInstructions !== undefined ? { maxInstructions: options.maxInstructions } : {}),
    compileThreshold: options.interpretOnly ? 0 : 8,
  });
  if (options.traceSyscalls !== undefined) process.syscalls.trace = options.traceSyscalls;
  const start = Date.now();
  const result = process.run();
  const seconds = (Date.now() - start) / 1000;
  const syscalls: Record<string, number> = {};
  for (const [nr, count] of process.syscalls.counts) syscalls[syscallName(nr)] = count;
  return { ...result, seconds, mips: seconds > 0 ? result.instructions / seconds / 1e6 : 0, syscalls };
}

/** The i386 system call's name, or "syscall N" for ones the runner does not implement. */
export function syscallName(nr: number): string {
  return SYSCALL_NAMES.get(nr) ?? `syscall ${nr}`;
}
