/**
 * What a VM's run cost, as plain data: exits by reason, faults by kind, the VMM's work, and the
 * shadow structures with the memory they hold (the lecture's "resource utilization"). Front
 * ends print it (`--stats`) or write it as JSON (`--stats-json`).
 */
import { ROLE_NAMES } from './shadow/shadow-page.ts';
import { Counter } from '../hw/cpu/counters.ts';
import type { ShadowMmu } from './shadow/shadow-mmu.ts';
import type { Tracer } from './shadow/tracer.ts';
import type { Vm } from './vm.ts';

export interface ExitReason {
  /** "instruction", "I/O", "hidden fault", ... */
  readonly category: string;
  /** The mnemonic, vector or device within the category ('' when nothing more). */
  readonly detail: string;
  readonly count: number;
  /** Simulated cycles: round trips, the VMM's work, and the emulated instructions' own cost. */
  readonly cycles: number;
}

export interface VmmReport {
  /** interpret, trap or hw. */
  readonly technique: string;
  readonly profile: { readonly name: string; readonly vmmRoundTrip: number; readonly syscallRoundTrip: number; readonly source: string };
  readonly exits: {
    readonly count: number;
    readonly cycles: number;
    /** Every reason, most expensive first. */
    readonly reasons: readonly ExitReason[];
    /** Totals per category, most expensive first. */
    readonly categories: readonly ExitReason[];
  };
  readonly faults: { readonly hidden: number; readonly true: number; readonly trace: number };
  /** Interrupts injected into the guest through its IDT. */
  readonly injections: number;
  /** The VMM's own operations: how many, and the cycles they cost under the profile. */
  readonly work: Readonly<Record<string, { readonly count: number; readonly cycles: number }>>;
  /** Shadow paging (trap, hw); null under interpretation, which keeps no shadows. */
  readonly shadow: {
    /** Shadow page-table pages held at the end, and at most. */
    readonly pages: number;
    readonly peakPages: number;
    /** Bytes of host memory those pages use (4 KiB each). */
    readonly bytes: number;
    readonly peakBytes: number;
    readonly pagesByRole: Readonly<Record<string, number>>;
    readonly builtByRole: Readonly<Record<string, number>>;
    /** The shadow cache: lookups that found a shadow, that had to build one, and rebuilds of evicted ones. */
    readonly hits: number;
    readonly misses: number;
    readonly rebuilds: number;
    /** Shadow pages evicted (least recently used) because the page budget was spent. */
    readonly evictions: number;
    /** Guest tables unshadowed after a flood of writes. */
    readonly floods: number;
    readonly capacityPages: number;
    /** Guest frames traced (write-protected) now. */
    readonly tracedFrames: number;
    /** Entries in the backward map (shadow entries mapping guest frames). */
    readonly backwardMapEntries: number;
    /** The shadow GDT and LDT (trap). */
    readonly descriptorTableBytes: number;
  } | null;
  /** VMM paging: the resident limit, and what moving frames to and from the backing store cost. */
  readonly paging: {
    readonly residentLimitPages: number;
    readonly residentPages: number;
    readonly pageOuts: number;
    readonly pageIns: number;
    readonly zeroFills: number;
    /** Real page faults (guest accesses) that found their frame paged out. */
    readonly faults: number;
    /** Page-ins for the VMM's own accesses (walks, emulation, devices). */
    readonly vmmFetches: number;
    /** Frames the replacement clock spared because they had been used. */
    readonly secondChances: number;
    readonly backingStore: string | null;
    /** Entries made not-present for paged-out frames (parked in the backward map). */
    readonly parkedEntries: number;
  };
  /** Host memory: total, guest RAM, and what the VMM holds. */
  readonly hostMemory: { readonly bytes: number; readonly guestBytes: number; readonly vmmBytes: number };
}

function byRole(counts: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  ROLE_NAMES.forEach((name, role) => {
    out[name] = counts[role] ?? 0;
  });
  return out;
}

/** The interpreter's work in VmmReport.work (the interpretation of every instruction, its software walks). */
export const INTERPRETED_WORK = 'instructions interpreted';
export const SOFTWARE_WALK_WORK = 'guest table reads (software walks)';

/** A VM's shadow paging, when it has it. */
function shadowParts(vm: Vm): { mmu: ShadowMmu; tracer: Tracer } | null {
  const parts = vm as Partial<{ mmu: ShadowMmu; tracer: Tracer }>;
  return parts.mmu !== undefined && parts.tracer !== undefined ? { mmu: parts.mmu, tracer: parts.tracer } : null;
}

export function vmmReport(vm: Vm): VmmReport {
  const { engine, work, profile, frames } = vm;
  const shadow = shadowParts(vm);
  const categories = [...engine.exits.byCategory()].map(([category, t]) => ({ category, detail: '', count: t.count, cycles: t.cycles }));
  categories.sort((a, b) => b.cycles - a.cycles);
  const costs = profile.vmm;
  const ops: [string, number, number][] = [
    ['guest table reads', work.guestWalkReads, costs.guestWalkRead],
    ['shadow entry writes', work.shadowEntryWrites, costs.shadowEntryWrite],
    ['shadow pages allocated', work.shadowPageAllocs, costs.shadowPageAlloc],
    ['instructions emulated', work.emulations, costs.emulation],
    ['events reflected or injected', work.reflections, costs.reflection],
    ['TLB invalidations', work.tlbInvalidates, costs.tlbInvalidate],
    ['pages moved to or from the backing store', work.pageTransfers, costs.pageTransfer],
  ];
  if (vm.technique === 'interpret') {
    // The interpreter's work is the guest's whole run: every instruction, every software walk.
    const counters = vm.realCounters.values;
    ops.unshift([INTERPRETED_WORK, vm.instructionsRun, costs.interpretation], [SOFTWARE_WALK_WORK, counters[Counter.WALK_READ]!, costs.guestWalkRead]);
  }
  const workOut: Record<string, { count: number; cycles: number }> = {};
  for (const [name, n, each] of ops) if (n > 0 || vm.technique !== 'interpret') workOut[name] = { count: n, cycles: n * each };
  // This VM's frames only (the host may run others): its resident guest frames, its shadows and the technique's own frames.
  const guestFrames = vm.pager.resident;
  const ownFrames = vm.vmmFrameCount;
  const vmmFrames = (shadow?.mmu.pagesInUse ?? 0) + ownFrames;
  const pg = vm.pager.stats;
  return {
    technique: vm.technique,
    profile: { name: profile.name, vmmRoundTrip: profile.vmmRoundTrip, syscallRoundTrip: profile.syscallRoundTrip, source: profile.source },
    exits: { count: engine.exits.count, cycles: engine.exits.cycles, reasons: engine.exits.list(), categories },
    faults: { ...engine.faults },
    injections: engine.injections,
    work: workOut,
    shadow: shadow === null ? null : shadowReport(shadow.mmu, shadow.tracer, vm.technique === 'trap' ? ownFrames * 4096 : 0),
    paging: {
      residentLimitPages: vm.pager.budget,
      residentPages: vm.pager.resident,
      pageOuts: pg.pageOuts,
      pageIns: pg.pageIns,
      zeroFills: pg.zeroFills,
      faults: pg.faults,
      vmmFetches: pg.vmmFetches,
      secondChances: pg.secondChances,
      backingStore: vm.pager.store?.name ?? null,
      parkedEntries: shadow?.mmu.parked.size ?? 0,
    },
    hostMemory: { bytes: frames.total * 4096, guestBytes: guestFrames * 4096, vmmBytes: vmmFrames * 4096 },
  };
}

function shadowReport(mmu: ShadowMmu, tracer: Tracer, descriptorTableBytes: number): NonNullable<VmmReport['shadow']> {
  return {
    pages: mmu.pagesInUse,
    peakPages: mmu.stats.peakPages,
    bytes: mmu.pagesInUse * 4096,
    peakBytes: mmu.stats.peakPages * 4096,
    pagesByRole: byRole(mmu.pagesByRole()),
    builtByRole: byRole(mmu.stats.built),
    hits: mmu.stats.hits,
    misses: mmu.stats.misses,
    rebuilds: mmu.stats.rebuilds,
    evictions: mmu.stats.evictions,
    floods: mmu.stats.floods,
    capacityPages: mmu.capacity,
    tracedFrames: tracer.tracedFrames(),
    backwardMapEntries: mmu.rmap.size,
    descriptorTableBytes,
  };
}
