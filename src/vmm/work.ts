/**
 * The VMM's own work, counted by kind: each kind has a cost per operation in the profile
 * (profiles.ts), so the cycles an exit costs are its round trip plus what it did.
 */
import type { VmmCosts } from './profiles.ts';

export class VmmWork {
  /** Guest paging-structure reads by the software walker. */
  guestWalkReads = 0;
  /** Shadow entries written or cleared. */
  shadowEntryWrites = 0;
  /** Shadow tables allocated and zeroed. */
  shadowPageAllocs = 0;
  /** Guest instructions decoded and emulated against the vCPU. */
  emulations = 0;
  /** Exceptions reflected and interrupts injected through the guest's IDT. */
  reflections = 0;
  /** Real TLB entries (or ranges) invalidated. */
  tlbInvalidates = 0;
  /** Guest pages written to or read from the backing store (VMM paging). */
  pageTransfers = 0;

  /** Cycles of all the work counted so far under `costs`. */
  cycles(costs: VmmCosts): number {
    return (
      this.guestWalkReads * costs.guestWalkRead +
      this.shadowEntryWrites * costs.shadowEntryWrite +
      this.shadowPageAllocs * costs.shadowPageAlloc +
      this.emulations * costs.emulation +
      this.reflections * costs.reflection +
      this.tlbInvalidates * costs.tlbInvalidate +
      this.pageTransfers * costs.pageTransfer
    );
  }

  /** Forgets what was counted (the VM's setup is not the guest's time). */
  reset(): void {
    this.guestWalkReads = 0;
    this.shadowEntryWrites = 0;
    this.shadowPageAllocs = 0;
    this.emulations = 0;
    this.reflections = 0;
    this.tlbInvalidates = 0;
    this.pageTransfers = 0;
  }

  snapshot(): Record<string, number> {
    return {
      guestWalkReads: this.guestWalkReads,
      shadowEntryWrites: this.shadowEntryWrites,
      shadowPageAllocs: this.shadowPageAllocs,
      emulations: this.emulations,
      reflections: this.reflections,
      tlbInvalidates: this.tlbInvalidates,
      pageTransfers: this.pageTransfers,
    };
  }
}
