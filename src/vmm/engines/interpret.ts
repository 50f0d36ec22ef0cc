/**
 * Interpretive execution (the lecture's Idea 1; IBM System/370's SIE began as this): the VMM
 * executes every guest instruction itself. The vCPU is the interpreter: a CPU model the VMM runs
 * in software over the guest's memory, an array the VMM owns (GPA -> HPA through the pmap), with
 * every access going through a software walk of the guest's page tables, a software TLB of
 * GVA -> GPA translations and a cache of decoded instructions keyed by GPA. Privileged
 * instructions act on the vCPU directly; interrupts reach it through the VM's own interrupt
 * controller. No guest instruction runs on the real CPU, so nothing is sensitive: POPF, PUSHF
 * and every other instruction do exactly what they do on bare hardware.
 *
 * The software TLB follows the hardware's rules (guest INVLPG, CR3 loads and CR0/CR4 changes
 * flush it), so the guest sees what it would see natively; it caches only GVA -> GPA, so the
 * VMM's own changes to GPA -> HPA (paging a frame out) never leave a stale entry. The decoded-
 * instruction cache is kept coherent by watching the guest frames that hold decoded code: every
 * write to guest memory passes through the VMM here, so none is missed.
 *
 * Cost: each instruction costs its own cycles plus the profile's interpretation cost; each
 * guest page-structure read by the software walker costs the profile's guestWalkRead.
 */
import type { Cpu } from '../../hw/cpu/cpu.ts';
import { runPc } from '../../hw/platform/board.ts';
import type { PcChipset } from '../../hw/platform/chipset.ts';
import { ExitStats } from '../exits.ts';
import { type VmEngine, type VmExit, noExit } from './engine.ts';

export class InterpretEngine implements VmEngine {
  /** The interpreter never leaves the VMM: no exits. */
  readonly exits = new ExitStats();
  readonly faults = { hidden: 0, true: 0, trace: 0 };
  readonly injections = 0;
  afterExit: (() => void) | null = null;
  readonly lastExit = noExit();
  private readonly vcpu: Cpu;
  private readonly chipset: PcChipset;

  constructor(vcpu: Cpu, chipset: PcChipset) {
    this.vcpu = vcpu;
    this.chipset = chipset;
  }

  setIntr(level: boolean): void {
    this.vcpu.setIrq(level);
  }

  raiseNmi(): void {
    this.vcpu.raiseNmi();
  }

  requestStop(): void {
    this.vcpu.requestExit('device');
  }

  start(): void {}

  resume(): void {}

  suspend(): void {}

  run(maxInstructions: number): VmExit {
    return runPc(this.vcpu, this.chipset, maxInstructions);
  }
}
