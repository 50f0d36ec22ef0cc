/** Running MIT's xv6 (../shared/clients/xv6) in tests: its files, the commands compared with QEMU, a scripted boot. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../../bench/programs.ts';
import { type ConsoleScript, type MachineRun, MemoryDisk, type Mode, type Vm, runMachine } from '../../../src/api/index.ts';

export const XV6 = join(ROOT, '..', 'shared', 'clients', 'xv6');
export const present = ['kernel', 'fs.img', 'xv6.img'].every((f) => existsSync(join(XV6, f)));
/** The reason to skip xv6's tests, or false. */
export const skip = present ? false : `xv6 is not here (${XV6}): it comes with the workplace's shared clients`;

/** Commands whose answers must be what xv6 answers under QEMU (expected-qemu.txt). */
export const COMMANDS = ['ls', 'cat README', 'echo hi > f', 'cat f', 'forktest'] as const;

/** Boots xv6 with fresh copies of its disks (xv6.img the master, fs.img the slave), 512 MiB, at `script`'s console. */
export function xv6(mode: Mode, script: ConsoleScript, onVm?: (vm: Vm) => void): MachineRun {
  const image = (name: string) => new MemoryDisk(new Uint8Array(readFileSync(join(XV6, name))));
  return runMachine({
    kernel: new Uint8Array(readFileSync(join(XV6, 'kernel'))),
    kernelName: 'kernel',
    ramBytes: 512 << 20,
    mode,
    disks: [image('xv6.img'), image('fs.img')],
    input: script,
    serial: script,
    hostStop: (n) => script.hostStop(n),
    maxInstructions: 40e9,
    ...(onVm !== undefined ? { onVm } : {}),
  });
}

/** The output of `command` in a transcript: from its echo to the next prompt. */
export function answer(output: string, command: string): string | null {
  const at = output.indexOf(`$ ${command}\n`);
  if (at < 0) return null;
  const from = at + command.length + 3;
  return output.slice(from, output.indexOf('$ ', from));
}

/** QEMU's answers (expected-qemu.txt). */
export function qemuAnswers(): Map<string, string> {
  const text = readFileSync(join(ROOT, 'test/machine/xv6/expected-qemu.txt'), 'latin1');
  return new Map(COMMANDS.map((c) => [c, answer(text, c) ?? '']));
}
