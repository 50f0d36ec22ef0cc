/**
 * What every virtualization technique's engine offers the VM around it: a run loop over the
 * guest that returns only when the guest stops, the exits it took (by reason and cost), the
 * shadow-paging faults it handled, and the hooks the VM and the scheduler need (the guest's
 * interrupt line, a device's stop request, taking the guest's state on and off the real CPU).
 */
import type { Cpu } from '../../hw/cpu/cpu.ts';
import type { Insn } from '../../hw/cpu/insn.ts';
import type { MachineExit } from '../../hw/platform/board.ts';
import type { ExitCategoryName, ExitStats } from '../exits.ts';
import { specOf } from '../guest-view.ts';
import type { ShadowMmu } from '../shadow/shadow-mmu.ts';

/** Why a VM's run ended: the machine's reasons, and the technique's own failures. */
export type VmExit =
  | MachineExit
  /** The guest did something this technique cannot virtualize (the popf problem). */
  | { readonly kind: 'not-virtualizable'; readonly instruction: string; readonly eip: number; readonly explanation: string }
  /** The VMM could not go on for this VM (its backing store failed, the hardware refused its VMCB); the message says why. */
  | { readonly kind: 'vmm-failure'; readonly message: string };

/** The exit just handled, for observers: its reason, cost, where the guest was, the faulting GVA. */
export interface LastExit {
  category: ExitCategoryName | '';
  detail: string;
  cycles: number;
  eip: number;
  cpl: number;
  gva: number;
}

export interface VmEngine {
  readonly exits: ExitStats;
  /** Page faults the shadow MMU handled, by kind (all zero without shadow paging). */
  readonly faults: { hidden: number; true: number; trace: number };
  /** Interrupts and exceptions the VMM put into the guest. */
  readonly injections: number;
  /** Called after every exit (tests: the shadow audit; examples: tracing exits). */
  afterExit: (() => void) | null;
  readonly lastExit: LastExit;
  /** The VM's INTR line (from its local APIC). */
  setIntr(level: boolean): void;
  /** An edge on the VM's NMI line (from its local APIC): the guest gets an NMI when its NMIs are not blocked. */
  raiseNmi(): void;
  /** A device asked the run to stop (debug exit, keyboard-controller reset). */
  requestStop(): void;
  /** The booted guest starts: its state goes where the technique runs it. */
  start(): void;
  /** Puts the guest back on the real CPU after another VM ran there. */
  resume(): void;
  /** Takes the guest's state off the real CPU. */
  suspend(): void;
  /** Runs the guest until it stops or has run `maxInstructions` instructions in all. */
  run(maxInstructions: number): VmExit;
}

/** A fresh LastExit. */
export function noExit(): LastExit {
  return { category: '', detail: '', cycles: 0, eip: 0, cpl: 0, gva: 0 };
}

/** The guest's paging registers (the vCPU's) before an instruction the VMM emulated. */
export interface PagingRegisters {
  readonly cr0: number;
  readonly cr3: number;
  readonly cr4: number;
}

/**
 * After an emulated instruction, the shadow MMU follows the guest's paging state: a change of
 * CR0, CR3 or CR4 — or a CR3 load of the same value, which is still an address-space switch and
 * a TLB flush — activates the shadow for the new state. Returns true when a register changed.
 */
export function followPaging(mmu: ShadowMmu, v: Cpu, before: PagingRegisters, insn: Insn | null): boolean {
  const changed = v.cr0 !== before.cr0 || v.cr3 !== before.cr3 || v.cr4 !== before.cr4;
  if (changed || (insn !== null && specOf(insn).operands === 'Cd,Rd' && insn.reg === 3)) mmu.activate();
  return changed;
}
