/**
 * xv6 (../shared/clients/xv6) in wall-clock seconds: boot to its first shell prompt, and
 * `usertests` to "ALL TESTS PASSED", natively and under each technique that can run it, next to
 * qemu-system-i386 (TCG) on the same machine when it is installed. Trap-and-emulate cannot run
 * xv6 (its PUSHF with interrupts off): its row says so. Part of `npm run bench`; with --quick only
 * the boot is timed.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleScript, type MachineRun, MemoryDisk, type Mode, type Vm, describeExit, runMachine } from '../src/api/index.ts';
import { ROOT } from './programs.ts';

export const XV6 = join(ROOT, '..', 'shared', 'clients', 'xv6');
const QEMU = 'qemu-system-i386';

export interface Xv6Timing {
  readonly where: string;
  /** Seconds to the first "$ ", and from typing usertests to "ALL TESTS PASSED" (null: not run or failed, see note). */
  readonly boot: number | null;
  readonly usertests: number | null;
  readonly note: string;
}

/** Boots xv6 as QEMU does (-kernel, 512 MiB), fresh copies of its disks (xv6.img the master, fs.img the slave), at `script`'s console. */
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

/** xv6 on shadowvisor in `mode`: boot to the shell, then (unless quick) usertests. */
function onShadowvisor(mode: Mode, quick: boolean): Xv6Timing {
  let prompt = -1;
  const start = performance.now();
  const steps = quick ? [{ waitFor: '$ ' }] : [{ waitFor: '$ ', type: 'usertests\n' }, { waitFor: 'ALL TESTS PASSED' }];
  const script = new ConsoleScript(steps, {
    echo: {
      write: () => {
        if (prompt < 0 && script.output.endsWith('$ ')) prompt = performance.now();
      },
    },
  });
  const run = xv6(mode, script);
  const end = performance.now();
  const boot = prompt < 0 ? null : (prompt - start) / 1000;
  const done = script.end === 'finished';
  const note = done ? `${(run.instructions / 1e6).toFixed(0)} M instructions, ${run.mips.toFixed(0)} MIPS` : describeExit(run.exit);
  return { where: `shadowvisor --mode ${mode}`, boot, usertests: !quick && done ? (end - prompt) / 1000 : null, note };
}

/** The same under QEMU, driven through its serial console on stdio (as a person types). */
async function onQemu(quick: boolean): Promise<Xv6Timing> {
  const fs = join(mkdtempSync(join(tmpdir(), 'shadowvisor-xv6-')), 'fs.img');
  copyFileSync(join(XV6, 'fs.img'), fs);
  const args = ['-nographic', '-no-reboot', '-kernel', join(XV6, 'kernel'), '-drive', `file=${fs},index=1,media=disk,format=raw`, '-smp', '1', '-m', '512'];
  const child = spawn(QEMU, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const start = performance.now();
  let out = '';
  let boot: number | null = null;
  let usertests: number | null = null;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill(), 600_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('latin1');
      if (boot === null && out.includes('$ ')) {
        boot = (performance.now() - start) / 1000;
        if (quick) child.kill();
        else child.stdin.write('usertests\n');
      } else if (boot !== null && usertests === null && out.includes('ALL TESTS PASSED')) {
        usertests = (performance.now() - start) / 1000 - boot;
        child.kill();
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.on('error', () => resolve());
  });
  return { where: 'qemu-system-i386 (TCG)', boot, usertests, note: usertests === null && !quick ? 'did not finish' : '' };
}

function hasQemu(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn(QEMU, ['--version'], { stdio: 'ignore' });
    p.on('error', () => resolve(false));
    p.on('exit', (code) => resolve(code === 0));
  });
}

/** Every timing, or null when xv6 is not in ../shared/clients. */
export async function benchXv6(quick: boolean): Promise<Xv6Timing[] | null> {
  if (!existsSync(join(XV6, 'kernel'))) return null;
  const rows: Xv6Timing[] = [];
  for (const mode of ['native', 'interpret', 'hw'] as const) rows.push(onShadowvisor(mode, quick));
  const trap = onShadowvisor('trap', true);
  rows.push({ where: 'shadowvisor --mode trap', boot: null, usertests: null, note: trap.note });
  if (await hasQemu()) rows.push(await onQemu(quick));
  return rows;
}
