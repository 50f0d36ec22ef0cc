/**
 * Microarchitecture profiles: what things cost, in simulated cycles, on a named processor. A
 * profile has a hardware part (what the CPU charges for events in every mode, native included)
 * and a VMM part (what an exit and each piece of the hypervisor's work cost). Slowdowns are
 * always ratios of runs under the same profile.
 *
 * The two anchor figures per processor are the lecture's (its table of round-trip latencies):
 * a VMM round trip (exit and re-entry) and a system-call round trip (INT n into the kernel and
 * IRET back). The hardware event costs are chosen so that a native `int $0x80` + `iret` round
 * trip costs exactly the syscall figure (1 + delivery + 1 + iret). The VMM's per-operation
 * costs are our estimates of what the software steps take on a core of that generation: a
 * guest page-structure read by the software walker is an L1/L2 hit plus checks; a shadow entry
 * write includes its backward-map update; a new shadow table is a 4 KiB zeroing; decoding and
 * emulating an instruction is a few hundred cycles, as in KVM's x86 emulator; INVLPG on the
 * host costs what the instruction does; moving a 4 KiB page to or from the backing store is a
 * fast SSD's ~10 microseconds; interpreting an instruction in software is some tens of cycles
 * (a Bochs-class interpreter). They are round numbers, stated so that anyone can
 * change them and see what moves.
 */
import type { HardwareCosts } from '../hw/cpu/costs.ts';

export interface VmmCosts {
  /** One exit from the guest to the VMM and the return to the guest (trap, state save/restore). */
  readonly exitRoundTrip: number;
  /** One read of a guest paging structure by the VMM's software walker. */
  readonly guestWalkRead: number;
  /** Writing or clearing one shadow page-table entry, backward map included. */
  readonly shadowEntryWrite: number;
  /** Taking a host frame for a new shadow table and zeroing it. */
  readonly shadowPageAlloc: number;
  /** Decoding one guest instruction and emulating it against the vCPU (on top of its own cost). */
  readonly emulation: number;
  /** Reflecting an exception or injecting an interrupt through the guest's IDT (on top of delivery). */
  readonly reflection: number;
  /** Invalidating one real TLB entry (INVLPG on the host). */
  readonly tlbInvalidate: number;
  /** Writing one guest page to the backing store, or reading it back (VMM paging). */
  readonly pageTransfer: number;
  /**
   * Interpreting one guest instruction in software (--mode interpret), on top of its own cost:
   * fetching it through the decoded-instruction cache, dispatching, updating the virtual
   * registers. Our estimate for a fast table-driven interpreter of Bochs's kind, which spends
   * some tens of host cycles per guest instruction.
   */
  readonly interpretation: number;
}

export interface Profile {
  readonly name: string;
  /** Where the anchor figures come from. */
  readonly source: string;
  /** The lecture's anchors: VMM round trip and syscall round trip, in cycles. */
  readonly vmmRoundTrip: number;
  readonly syscallRoundTrip: number;
  readonly hardware: HardwareCosts;
  readonly vmm: VmmCosts;
}

function profile(name: string, released: string, vmmRoundTrip: number, syscallRoundTrip: number, delivery: number, software: number): Profile {
  const iret = syscallRoundTrip - 2 - delivery;
  const scale = (cycles: number) => Math.round(cycles * software);
  return {
    name,
    source: `lecture table: ${name} (${released}), VMM round trip ${vmmRoundTrip} cycles, syscall round trip ${syscallRoundTrip}`,
    vmmRoundTrip,
    syscallRoundTrip,
    hardware: { walkRead: 10, eventDelivery: delivery, iret, portIo: 300, stringIteration: 1, taskSwitch: 300 },
    vmm: {
      exitRoundTrip: vmmRoundTrip,
      guestWalkRead: scale(20),
      shadowEntryWrite: scale(30),
      shadowPageAlloc: scale(600),
      emulation: scale(400),
      reflection: scale(300),
      tlbInvalidate: scale(100),
      pageTransfer: scale(30000),
      interpretation: scale(40),
    },
  };
}

export const PROFILES: readonly Profile[] = [profile('nehalem', '3Q09', 1009, 138, 96, 1), profile('sandybridge', '1Q11', 784, 134, 94, 0.9)];

export const DEFAULT_PROFILE = PROFILES[0]!;

/** The profile called `name`, or undefined. */
export function findProfile(name: string): Profile | undefined {
  return PROFILES.find((p) => p.name === name.toLowerCase());
}
