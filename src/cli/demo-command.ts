/**
 * `shadowvisor demo` (what `npm start` runs): the teaching kernel booted natively on the
 * emulated PC with its `mix` workload — processes, system calls, page faults, context switches
 * and timer interrupts — followed by what the hardware counted.
 */
import { fileURLToPath } from 'node:url';
import { bootNative, describeExit } from '../api/index.ts';
import { StdoutSink } from '../api/node.ts';
import { count } from './format.ts';
import { printMachineStats } from './run-command.ts';
import { readProgram } from './user-command.ts';

export const DEMO_KERNEL = fileURLToPath(new URL('../../guest/kernel/kernel.elf', import.meta.url));

export function demoCommand(opts: { workload: string }): number {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const cmdline = `workload=${opts.workload}`;
  out(`shadowvisor demo: booting guest/kernel/kernel.elf (the teaching kernel, built from guest/kernel by gcc -m32)`);
  out(`natively on the emulated PC, like qemu-system-i386 -kernel, with the command line "${cmdline}".`);
  out('Its serial console follows.\n');
  const serial = new StdoutSink();
  const run = bootNative({ kernel: readProgram(DEMO_KERNEL), kernelName: 'kernel.elf', cmdline, serial });
  serial.flush();
  out('');
  out(`The guest stopped: ${describeExit(run.exit)}.`);
  out(
    `${count(run.instructions)} instructions in ${count(run.cycles)} simulated cycles; ` +
      `${count(run.counters.cr3_load ?? 0)} CR3 loads, ${count(run.vectors['#PF'] ?? 0)} page faults, ` +
      `${count(run.vectors['int 0x80'] ?? 0)} system calls; emulator speed ${run.mips.toFixed(1)} guest MIPS.`,
  );
  printMachineStats(run, out);
  out('\nNext: `shadowvisor run guest/kernel/kernel.elf --append "workload=cpu irq=popf"` runs another workload;');
  out('`shadowvisor user <program.elf>` runs a static Linux program; `shadowvisor --help` lists everything.');
  return run.status === 1 ? 0 : run.status;
}
