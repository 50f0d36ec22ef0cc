/**
 * `shadowvisor demo` (what `npm start` runs): the teaching kernel booted twice on the emulated
 * PC with one workload — natively, then deprivileged under the trap-and-emulate hypervisor with
 * shadow page tables — followed by what virtualization cost: the guest output compared, the
 * slowdown in simulated cycles, the exits that caused it, and the shadow tables' memory.
 */
import { fileURLToPath } from 'node:url';
import { type MachineRun, TextSink, describeExit, runMachine, slowdown, withoutClockLines } from '../api/index.ts';
import { StdoutSink } from '../api/node.ts';
import { bytes, count, percent, table } from './format.ts';
import { readProgram } from './user-command.ts';

export const DEMO_KERNEL = fileURLToPath(new URL('../../guest/kernel/kernel.elf', import.meta.url));

/** Without the lines that read the guest's clock (the VMM's overhead advances it). */

export function demoCommand(opts: { workload: string }): number {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const cmdline = `workload=${opts.workload} irq=cli`;
  const kernel = readProgram(DEMO_KERNEL);
  out('shadowvisor demo: the teaching kernel (guest/kernel/kernel.elf, built from guest/kernel by gcc -m32),');
  out(`booted on the emulated PC like qemu-system-i386 -kernel with the command line "${cmdline}":`);
  out('first natively, then under the trap-and-emulate hypervisor (--mode trap). Its serial console follows.\n');
  const serial = new StdoutSink();
  const nativeText = new TextSink(serial);
  const native = runMachine({ kernel, kernelName: 'kernel.elf', cmdline, serial: nativeText });
  serial.flush();
  out('');
  out(`Natively the guest stopped: ${describeExit(native.exit)}.`);
  out(`${count(native.instructions)} instructions in ${count(native.cycles)} simulated cycles (${native.profile}); emulator speed ${native.mips.toFixed(1)} guest MIPS.\n`);
  out('Now the same kernel, unmodified, deprivileged: its kernel at ring 1, its page tables shadowed...');
  const trapText = new TextSink();
  const trap = runMachine({ kernel, kernelName: 'kernel.elf', cmdline, mode: 'trap', serial: trapText });
  out(`Under the hypervisor the guest stopped: ${describeExit(trap.exit)}.`);
  const same = withoutClockLines(trapText.text) === withoutClockLines(nativeText.text);
  out(same ? 'Its console output was identical to the native run (the lines of its own clock aside).' : 'Its console output DIFFERED from the native run.');
  printCost(trap, native, out);
  out('\nNext: `shadowvisor run --mode trap --stats guest/kernel/kernel.elf --append "workload=forkwait irq=cli"` shows every exit;');
  out('with irq=popf the same command shows why trap-and-emulate fails on x86 (the popf problem). `shadowvisor --help` lists everything.');
  return native.status === 1 && trap.status === 1 && same ? 0 : 1;
}

function printCost(trap: MachineRun, native: MachineRun, out: (s: string) => void): void {
  const vmm = trap.vmm!;
  out(
    `${count(trap.cycles)} simulated cycles against ${count(native.cycles)} natively: a slowdown of ${percent(slowdown(trap, native))}, ` +
      `${count(vmm.exits.count)} exits costing ${count(vmm.exits.cycles)} cycles. The most expensive exit reasons:`,
  );
  out(
    table(
      vmm.exits.reasons.slice(0, 8).map((r) => [r.detail === '' ? r.category : `${r.category}: ${r.detail}`, count(r.count), count(r.cycles)]),
      ['exit reason', 'exits', 'cycles'],
    ),
  );
  out(
    `Page faults: ${count(vmm.faults.hidden)} hidden (the VMM filled a shadow entry), ${count(vmm.faults.true)} true (reflected into the guest), ` +
      `${count(vmm.faults.trace)} trace (guest page-table writes emulated). Shadow page tables: at most ${count(vmm.shadow?.peakPages ?? 0)} pages ` +
      `(${bytes(vmm.shadow?.peakBytes ?? 0)}) of host memory the guest cannot see.`,
  );
}
