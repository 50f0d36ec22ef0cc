/**
 * The VMM's scheduler: several VMs on one host take turns on its one real CPU, round robin, a
 * quantum of guest instructions at a time. Switching saves the outgoing guest's state into its
 * vCPU and puts the incoming one's back (its registers, its shadow in CR3, its own time and
 * counters: each VM's clock counts only the cycles it ran, so a guest computes exactly what it
 * computes alone). A VM that ends — it exits, triple-faults, runs past its instruction limit, or
 * its backing store fails — leaves the others running to completion.
 */
import type { VmExit } from './engines/engine.ts';
import type { Vm } from './vm.ts';

/** Guest instructions a VM runs before the next one gets the real CPU. */
export const QUANTUM = 1_000_000;

export interface ScheduledVm {
  readonly vm: Vm;
  /** The VM ends with a 'limit' exit after this many of its instructions. */
  readonly maxInstructions: number;
  /** How it ended (null while it runs). */
  exit: VmExit | null;
}

/** Runs every VM until it ends. */
export function runRoundRobin(entries: readonly ScheduledVm[], quantum = QUANTUM): void {
  for (;;) {
    const live = entries.filter((e) => e.exit === null);
    if (live.length === 0) return;
    for (const e of live) {
      const vm = e.vm;
      // vm.run switches the real CPU to this VM first; the limit counts the VM's own instructions.
      const exit = vm.run(Math.min(vm.instructionsRun + quantum, e.maxInstructions));
      if (exit.kind === 'limit' && exit.instructions < e.maxInstructions) continue;
      e.exit = exit;
    }
  }
}
