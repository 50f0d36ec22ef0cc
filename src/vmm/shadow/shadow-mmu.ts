/**
 * The shadow MMU: page tables the real CPU walks, mapping GVA straight to HPA, kept equivalent
 * to the guest's own tables composed with the pmap (the lecture's "shadow page tables").
 *
 * - Guest paging off: the real CPU runs on the physical-mode table, GPA -> HPA for all guest
 *   RAM, built when first needed (the lecture's "Step 1").
 * - Guest paging on: one shadow directory per guest page directory (keyed by its GPA and CR4.PSE,
 *   which changes what a directory entry means) and one shadow table per guest page table (by
 *   its GPA), cached across CR3 switches: switching back to a process finds its shadow (a hit)
 *   and costs no rebuild. Entries are filled lazily: a missing
 *   entry faults on the real CPU (a hidden fault); the VMM walks the guest's tables, and either
 *   fills the entry — setting the guest's accessed and dirty bits as the hardware's walk would
 *   — or finds that the guest itself forbids the access (a true fault, reflected).
 * - Rights: a shadow entry never allows more than the guest's, and is read-only until the guest
 *   entry is dirty (so the first write faults and sets D, SDM vol. 3, 4.8), while the frame is
 *   traced, and for firmware ROM. The real CPU runs with CR0.WP=1; a guest kernel write that
 *   only the guest's CR0.WP=0 allows is emulated.
 * - Tracing: every guest frame a shadow is derived from is traced (tracer.ts): its mappings are
 *   made read-only, so the guest's writes to its own tables fault (trace faults), are emulated,
 *   and the emulated write drops the shadow entries it affects (they refill lazily). Tables that
 *   take many writes without being used are unshadowed (write-flood detection).
 * - Guest 4 MiB pages are shadowed with 4 KiB entries in a table owned by the directory entry.
 * - Guest INVLPG drops the shadow entry, as it drops a TLB entry; shadows that lose rights take
 *   the matching real TLB entries with them.
 * - The backward map lists every present entry under the host frame it maps; entries whose frame
 *   the VMM paged out are parked under the guest frame (not present, PARKED) and all point at the
 *   frame's new HPA when it comes back (memory/pager.ts).
 * Shadow tables live in host frames the VMM owns, at most `capacity` of them: when the budget is
 * spent the least recently used shadow (never the active directory) is evicted, and rebuilt on
 * demand when it is needed again (the lecture: "VMM deletes a shadow page table — OK, rebuild
 * when CR3 is updated back to 0x1000"); the guest cannot tell.
 */
import type { Cpu } from '../../hw/cpu/cpu.ts';
import type { Tlb } from '../../hw/mmu/tlb.ts';
import { PageKind, type PhysicalMemory } from '../../hw/memory/physical-memory.ts';
import { Access, WalkRecord, accessFault, setAccessedDirty, walk } from '../../hw/mmu/walk.ts';
import { Cr0, Cr4 } from '../../hw/x86/control-registers.ts';
import { LARGE_PAGE_MASK, PfError, Pte } from '../../hw/x86/paging.ts';
import { FrameOwner, type HostFrames } from '../memory/host-frames.ts';
import type { GuestPhysicalMemory } from '../memory/guest-memory.ts';
import type { GuestPager, ShadowMappings } from '../memory/pager.ts';
import type { Pmap } from '../memory/pmap.ts';
import type { VmmWork } from '../work.ts';
import { ReverseMap } from './reverse-map.ts';
import { ShadowPage, ShadowRole, type ShadowRoleKind } from './shadow-page.ts';
import type { Tracer } from './tracer.ts';

/** What a real page fault turned out to be. */
export const FaultKind = {
  /** Filled a shadow entry; the guest never knows. */
  HIDDEN: 0,
  /** The guest's own tables forbid the access: reflect #PF (error code in trueFaultError). */
  TRUE: 1,
  /** A write to a traced frame (a guest page table or descriptor table): emulate it. */
  TRACE: 2,
  /** An access to a device window or to no memory at all: emulate it against the VM's devices. */
  MMIO: 3,
  /** Allowed, but not natively: a kernel write under the guest's CR0.WP=0, a write to ROM. */
  EMULATE: 4,
} as const;
export type FaultKindValue = (typeof FaultKind)[keyof typeof FaultKind];

/** Trace writes to a guest table, with no hidden fault using its shadow in between, that unshadow it. */
export const FLOOD_WRITES = 3;

/**
 * What the shadow MMU needs of the hardware that walks its tables: a CR3 to load (an address
 * space switch, flushing the TLB's non-global entries) and the TLB, whose entries it drops when
 * it changes a shadow entry. Under trap-and-emulate the real CPU itself; under hardware assist
 * the guest's CR3 in its VMCB.
 */
export interface RealPaging {
  loadCr3(value: number): void;
  readonly tlb: Tlb;
}

export interface ShadowMmuParts {
  readonly hostMem: PhysicalMemory;
  readonly guestMem: GuestPhysicalMemory;
  readonly pmap: Pmap;
  readonly frames: HostFrames;
  readonly pager: GuestPager;
  readonly tracer: Tracer;
  /** Where the hardware takes the shadow root from, and its TLB (the real CPU, or a VMCB). */
  readonly real: RealPaging;
  /** The vCPU: the guest's CR0, CR3 and CR4. */
  readonly guest: Cpu;
  readonly work: VmmWork;
  /** Most host frames the shadows may hold at once. */
  readonly capacity: number;
}

export interface ShadowStats {
  /** Shadow pages built, by role. */
  readonly built: number[];
  /** Lookups of a directory's or table's shadow that found it cached, and that had to build it. */
  hits: number;
  misses: number;
  /** Misses for a shadow that existed before and was evicted (a rebuild). */
  rebuilds: number;
  /** Shadow pages evicted because the page budget was spent. */
  evictions: number;
  /** Guest tables unshadowed after a flood of writes. */
  floods: number;
  /** Most shadow pages held at once. */
  peakPages: number;
}

const A_D = Pte.A | Pte.D;

/**
 * A not-present shadow entry whose frame the VMM paged out: it keeps its rights in the low bits
 * and the guest frame in the frame field, so that the page-in can restore it (an available bit,
 * ignored by the CPU in a not-present entry, SDM vol. 3, 4.3).
 */
export const PARKED = 1 << 9;

const dirKey = (gfn: number, pse: boolean) => gfn * 2 + (pse ? 1 : 0);
const evictedKey = (role: ShadowRoleKind, key: number) => key * 8 + role;

export class ShadowMmu implements ShadowMappings {
  /** Shadow directories by guest directory frame and CR4.PSE (directoryKey), shadow tables by guest table frame. */
  readonly directories = new Map<number, ShadowPage>();
  readonly tables = new Map<number, ShadowPage>();
  /** Every shadow page by its host frame (large-page tables included). */
  readonly byFrame = new Map<number, ShadowPage>();
  physDirectory: ShadowPage | null = null;
  /** The shadow in the real CR3. */
  active: ShadowPage | null = null;
  /** The backward map: present shadow entries by the host frame they map. */
  readonly rmap: ReverseMap;
  /** Entries whose frame is paged out, by guest frame. */
  readonly parked: ReverseMap;
  readonly stats: ShadowStats = { built: [0, 0, 0, 0, 0], hits: 0, misses: 0, rebuilds: 0, evictions: 0, floods: 0, peakPages: 0 };
  /** The guest's error code for the last TRUE fault. */
  trueFaultError = 0;
  /** The last HIDDEN fault had to page its frame in first. */
  lastFaultPagedIn = false;
  readonly capacity: number;
  /** Chooses the host frame for a new shadow page (fixed placement, e.g. the lecture's); -1: any. */
  placement: ((role: ShadowRoleKind, gfn: number) => number) | null = null;
  /** Shadows that were evicted (evictedKey), to tell a rebuild from a first build. */
  private readonly evicted = new Set<number>();
  private tick = 0;
  private readonly parts: ShadowMmuParts;
  private readonly i32: Int32Array;
  private readonly rec = new WalkRecord();
  /** CR4.PSE the shadows were built under (it changes what a directory entry means). */
  private pse = false;

  constructor(parts: ShadowMmuParts) {
    this.parts = parts;
    this.capacity = parts.capacity;
    this.i32 = parts.hostMem.i32;
    this.rmap = new ReverseMap(parts.frames.total);
    this.parked = new ReverseMap(parts.pmap.guestFrames);
    parts.tracer.onTraceStart = (gfn) => this.writeProtect(gfn);
    parts.pager.attach(this);
  }

  /** The cache key of guest directory `gfn`'s shadow under CR4.PSE = `pse`. */
  static directoryKey(gfn: number, pse: boolean): number {
    return dirKey(gfn, pse);
  }

  /** The shadow of guest directory `gfn` built for the current CR4.PSE, if cached. */
  directoryOf(gfn: number): ShadowPage | undefined {
    return this.directories.get(dirKey(gfn, this.pse));
  }

  /** Host frames the shadows hold now. */
  get pagesInUse(): number {
    return this.byFrame.size;
  }

  /** Pages in use by role. */
  pagesByRole(): number[] {
    const out = [0, 0, 0, 0, 0];
    for (const sp of this.byFrame.values()) out[sp.role]!++;
    return out;
  }

  // ---------------------------------------------------------------- activation

  /** Puts the shadow for the guest's current paging state (CR0.PG, CR3, CR4.PSE) in the real CR3. */
  activate(): void {
    const g = this.parts.guest;
    this.pse = (g.cr4 & Cr4.PSE) !== 0;
    let target: ShadowPage;
    if ((g.cr0 & Cr0.PG) === 0) {
      target = this.physDirectory ?? this.buildPhysical();
    } else {
      const gfn = g.cr3 >>> 12;
      const cached = this.directories.get(dirKey(gfn, this.pse));
      if (cached !== undefined) {
        this.stats.hits++;
        target = cached;
      } else {
        this.active = null; // the old shadow may be evicted to make room
        this.ensureRoom(1);
        target = this.buildDirectory(gfn);
      }
    }
    target.lastUse = ++this.tick;
    this.active = target;
    this.parts.real.loadCr3(target.frame * 4096);
  }

  // ---------------------------------------------------------------- page faults

  /**
   * Classifies a real page fault at `gva` (real error code) and, for a hidden fault, fills the
   * shadow entry. For TRUE the guest's error code is left in trueFaultError.
   */
  handlePageFault(gva: number, errorCode: number): FaultKindValue {
    const write = (errorCode & PfError.W) !== 0;
    const user = (errorCode & PfError.U) !== 0;
    const g = this.parts.guest;
    this.lastFaultPagedIn = false;
    if ((g.cr0 & Cr0.PG) === 0) return this.physicalFault(gva >>> 0, write);
    const rec = this.rec;
    walk(this.parts.guestMem, g.cr3, this.pse, gva, rec);
    this.parts.work.guestWalkReads += rec.reads;
    const error = accessFault(rec, (write ? Access.WRITE : 0) | (user ? Access.USER : 0), (g.cr0 & Cr0.WP) !== 0);
    if (error >= 0) {
      this.trueFaultError = error;
      return FaultKind.TRUE;
    }
    const gfn = rec.physical >>> 12;
    const kind = this.parts.guestMem.pageKind[gfn];
    if (kind !== PageKind.RAM && kind !== PageKind.ROM) return FaultKind.MMIO;
    if (write) {
      if (kind === PageKind.ROM) return FaultKind.EMULATE;
      if (this.parts.tracer.isTraced(gfn)) return FaultKind.TRACE;
      if (!rec.writable) return FaultKind.EMULATE;
    }
    // The access happens: the guest's entries get A (and D for a write), as a hardware walk sets them.
    setAccessedDirty(this.parts.guestMem, rec, write);
    this.bringIn(gfn);
    // Evicting other shadows leaves the walk standing (the guest's tables did not change).
    this.ensureRoom(2);
    this.fill(gva, gfn, kind === PageKind.RAM);
    return FaultKind.HIDDEN;
  }

  /** Pages `gfn` in if the VMM paged it out (the fault was the guest touching a parked entry). */
  private bringIn(gfn: number): void {
    if (this.parts.pmap.hostFrame[gfn]! >= 0) return;
    this.parts.pager.stats.faults++;
    this.parts.pager.pageIn(gfn, -1);
    this.lastFaultPagedIn = true;
  }

  /** Fills the shadow entry for `gva` from the walk in this.rec. */
  private fill(gva: number, gfn: number, ram: boolean): void {
    const rec = this.rec;
    const dir = this.active!;
    dir.writes = 0;
    const now = ++this.tick;
    dir.lastUse = now;
    const pdi = gva >>> 22;
    let table = dir.children![pdi]!;
    if (table === null) {
      table = rec.large ? this.allocPage(ShadowRole.LARGE, (rec.pde & LARGE_PAGE_MASK) >>> 12) : this.tableFor(rec.pde >>> 12);
      this.link(dir, pdi, table, rec.pde);
    }
    table.writes = 0;
    table.lastUse = now;
    const leaf = rec.large ? rec.pde : rec.pte;
    let entry = (this.parts.pmap.hostFrame[gfn]! << 12) | Pte.P | Pte.A;
    // A large page's directory entry carries the guest's U/S and R/W; a table entry its own.
    entry |= rec.large ? Pte.US : leaf & Pte.US;
    const guestWritable = rec.large || (leaf & Pte.RW) !== 0;
    if (guestWritable && (leaf & Pte.D) !== 0 && ram && !this.parts.tracer.isTraced(gfn)) entry |= Pte.RW | Pte.D;
    this.setEntry(table, (gva >>> 12) & 0x3ff, entry);
  }

  private physicalFault(gpa: number, write: boolean): FaultKindValue {
    const gfn = gpa >>> 12;
    const kind = this.parts.guestMem.pageKind[gfn];
    if (kind !== PageKind.RAM && kind !== PageKind.ROM) return FaultKind.MMIO;
    if (write) {
      if (kind === PageKind.ROM) return FaultKind.EMULATE;
      if (this.parts.tracer.isTraced(gfn)) return FaultKind.TRACE;
    }
    this.bringIn(gfn);
    // A frame that stopped being traced: its entry may be writable again.
    this.setPhysicalEntry(gfn);
    return FaultKind.HIDDEN;
  }

  // ---------------------------------------------------------------- guest events

  /** Guest INVLPG: the shadow entry goes, as the TLB entry would (the next access refills it). */
  invalidatePage(gva: number): void {
    const dir = this.active;
    if (dir === null || dir.role !== ShadowRole.DIRECTORY) return;
    const table = dir.children![gva >>> 22]!;
    if (table !== null) this.zapTableEntry(table, (gva >>> 12) & 0x3ff);
  }

  /** A write to a traced guest frame (the guest memory's trace hook). */
  onTracedWrite(gpa: number, size: number, old: number, value: number): void {
    // Setting accessed or dirty bits (the VMM's own walk, or the guest's) keeps every shadow valid.
    if (size === 4 && (gpa & 3) === 0 && ((old ^ value) & ~A_D) === 0 && (old & ~value) === 0) return;
    const gfn = gpa >>> 12;
    const first = (gpa & 0xfff) >> 2;
    const last = ((gpa & 0xfff) + size - 1) >> 2;
    const table = this.tables.get(gfn);
    if (table !== undefined) {
      for (let i = first; i <= last; i++) this.zapTableEntry(table, i);
      if (++table.writes >= FLOOD_WRITES) {
        this.stats.floods++;
        this.destroyTable(table);
      }
    }
    // The frame may be shadowed as a directory under either CR4.PSE.
    for (const pse of [false, true]) {
      const dir = this.directories.get(dirKey(gfn, pse));
      if (dir === undefined) continue;
      for (let i = first; i <= last; i++) this.zapDirectoryEntry(dir, i);
      if (dir !== this.active && ++dir.writes >= FLOOD_WRITES) {
        this.stats.floods++;
        this.destroyDirectory(dir);
      }
    }
  }

  /** A frame became traced: every shadow entry mapping it loses write access. */
  private writeProtect(gfn: number): void {
    const hfn = this.parts.pmap.hostFrame[gfn]!;
    for (const addr of hfn >= 0 ? this.rmap.of(hfn) : []) {
      const e = this.i32[addr >>> 2]!;
      if ((e & Pte.RW) === 0) continue;
      this.i32[addr >>> 2] = e & ~(Pte.RW | Pte.D);
      this.parts.work.shadowEntryWrites++;
      this.invalidateEntry(this.byFrame.get(addr >>> 12)!, (addr & 0xfff) >>> 2);
    }
    // Parked entries come back with these rights: they lose write access too (not cached in any TLB).
    for (const addr of this.parked.of(gfn)) this.i32[addr >>> 2] = this.i32[addr >>> 2]! & ~(Pte.RW | Pte.D);
  }

  // ---------------------------------------------------------------- VMM paging (memory/pager.ts)

  park(gfn: number, hfn: number): void {
    for (const addr of this.rmap.take(hfn)) {
      const e = this.i32[addr >>> 2]!;
      this.i32[addr >>> 2] = (gfn << 12) | (e & 0xfff & ~Pte.P) | PARKED;
      this.parked.add(gfn, addr);
      this.parts.work.shadowEntryWrites++;
      this.invalidateEntry(this.byFrame.get(addr >>> 12)!, (addr & 0xfff) >>> 2);
    }
  }

  unpark(gfn: number, hfn: number): void {
    const traced = this.parts.tracer.isTraced(gfn);
    for (const addr of this.parked.take(gfn)) {
      let e = (hfn << 12) | (this.i32[addr >>> 2]! & 0xfff & ~PARKED) | Pte.P;
      if (traced) e &= ~(Pte.RW | Pte.D);
      this.i32[addr >>> 2] = e;
      this.rmap.add(hfn, addr);
      this.parts.work.shadowEntryWrites++;
    }
  }

  testAndClearAccessed(hfn: number): boolean {
    let used = false;
    for (const addr of this.rmap.of(hfn)) {
      const e = this.i32[addr >>> 2]!;
      if ((e & Pte.A) === 0) continue;
      used = true;
      // The real CPU sets A again on its next walk of this entry (SDM vol. 3, 4.8): drop the TLB entry.
      this.i32[addr >>> 2] = e & ~Pte.A;
      this.parts.work.shadowEntryWrites++;
      this.invalidateEntry(this.byFrame.get(addr >>> 12)!, (addr & 0xfff) >>> 2);
    }
    return used;
  }

  // ---------------------------------------------------------------- building

  /** Makes room for `frames` more shadow pages, evicting the least recently used shadows. */
  private ensureRoom(frames: number): void {
    while (this.byFrame.size + frames > this.capacity || this.parts.frames.free < frames) {
      const victim = this.leastRecentlyUsed();
      if (victim === null) throw new Error(`shadow MMU: the budget of ${this.capacity} shadow pages cannot hold the active shadow`);
      this.evict(victim);
    }
  }

  /** Shadows that may go: not the active directory, not a physical-mode table on its own (its directory goes with them). */
  private evictable(sp: ShadowPage): boolean {
    return sp !== this.active && sp.role !== ShadowRole.PHYS_TABLE;
  }

  private leastRecentlyUsed(): ShadowPage | null {
    let best: ShadowPage | null = null;
    for (const sp of this.byFrame.values()) {
      if (this.evictable(sp) && (best === null || sp.lastUse < best.lastUse)) best = sp;
    }
    return best;
  }

  /** Deletes a shadow page (budget spent, or a tool's request); it is rebuilt when next needed. */
  evict(sp: ShadowPage): void {
    if (sp === this.active) throw new Error('shadow MMU: the active shadow cannot be evicted');
    this.stats.evictions++;
    switch (sp.role) {
      case ShadowRole.DIRECTORY:
        this.evicted.add(evictedKey(sp.role, dirKey(sp.gfn, sp.pse)));
        this.destroyDirectory(sp);
        break;
      case ShadowRole.TABLE:
        this.evicted.add(evictedKey(sp.role, sp.gfn));
        this.destroyTable(sp);
        break;
      case ShadowRole.LARGE:
        for (const p of [...sp.parents]) this.clearDirectoryEntry(p.directory, p.index, sp);
        this.destroyTable(sp);
        break;
      default:
        this.destroyPhysical();
    }
  }

  private allocPage(role: ShadowRoleKind, gfn: number, pse = false): ShadowPage {
    const { frames, hostMem } = this.parts;
    let frame = this.placement?.(role, gfn) ?? -1;
    if (frame < 0 || !frames.allocAt(frame, FrameOwner.VMM)) frame = frames.alloc(FrameOwner.VMM);
    if (frame < 0) throw new Error('shadow MMU: no host frame left for a shadow table');
    // Through the memory's own fill: the frame may hold decoded guest code from an earlier life.
    hostMem.fill(frame * 4096, 4096, 0);
    const sp = new ShadowPage(frame, role, gfn, pse);
    sp.lastUse = ++this.tick;
    this.byFrame.set(frame, sp);
    if (this.byFrame.size > this.stats.peakPages) this.stats.peakPages = this.byFrame.size;
    this.stats.built[role]!++;
    this.parts.work.shadowPageAllocs++;
    if (role === ShadowRole.DIRECTORY || role === ShadowRole.TABLE) {
      this.stats.misses++;
      if (this.evicted.delete(evictedKey(role, role === ShadowRole.DIRECTORY ? dirKey(gfn, pse) : gfn))) this.stats.rebuilds++;
    }
    return sp;
  }

  private freePage(sp: ShadowPage): void {
    this.byFrame.delete(sp.frame);
    this.parts.frames.release(sp.frame);
  }

  private buildDirectory(gfn: number): ShadowPage {
    const dir = this.allocPage(ShadowRole.DIRECTORY, gfn, this.pse);
    this.directories.set(dirKey(gfn, this.pse), dir);
    this.parts.tracer.trace(gfn);
    return dir;
  }

  private tableFor(gfn: number): ShadowPage {
    let table = this.tables.get(gfn);
    if (table !== undefined) this.stats.hits++;
    else {
      table = this.allocPage(ShadowRole.TABLE, gfn);
      this.tables.set(gfn, table);
      this.parts.tracer.trace(gfn);
    }
    return table;
  }

  /** The physical-mode table, filled at once: every guest RAM frame at GVA = GPA. */
  private buildPhysical(): ShadowPage {
    const frames = this.parts.pmap.guestFrames;
    const tables = Math.ceil(frames / 1024);
    this.ensureRoom(tables + 1);
    const dir = this.allocPage(ShadowRole.PHYS_DIRECTORY, -1);
    this.physDirectory = dir;
    for (let t = 0; t < tables; t++) {
      const table = this.allocPage(ShadowRole.PHYS_TABLE, t * 1024);
      this.link(dir, t, table, Pte.US | Pte.RW);
      for (let gfn = t * 1024; gfn < Math.min(frames, t * 1024 + 1024); gfn++) this.setPhysicalEntry(gfn);
    }
    return dir;
  }

  /** The physical-mode table holding `gfn`'s entry, if built. */
  private physTable(gfn: number): ShadowPage | null {
    const dir = this.physDirectory;
    return dir === null ? null : (dir.children![gfn >>> 10] ?? null);
  }

  /** The physical-mode entry of `gfn`: RAM writable unless traced, ROM read-only, devices absent. */
  private setPhysicalEntry(gfn: number): void {
    const table = this.physTable(gfn);
    if (table === null) return;
    const kind = this.parts.guestMem.pageKind[gfn];
    const hfn = this.parts.pmap.hostFrame[gfn]!;
    let entry = 0;
    // Frames not resident stay empty: the first access pages them in (a hidden fault).
    if ((kind === PageKind.RAM || kind === PageKind.ROM) && hfn >= 0) {
      entry = (hfn << 12) | Pte.P | Pte.A | Pte.US;
      if (kind === PageKind.RAM && !this.parts.tracer.isTraced(gfn)) entry |= Pte.RW | Pte.D;
    }
    if (this.i32[table.entryAddress(gfn & 0x3ff) >>> 2] === entry) return;
    this.setEntry(table, gfn & 0x3ff, entry);
  }

  /** Points directory entry `index` at `table` with the guest directory entry's U/S and R/W. */
  private link(dir: ShadowPage, index: number, table: ShadowPage, guestPde: number): void {
    dir.children![index] = table;
    table.parents.push({ directory: dir, index });
    this.i32[dir.entryAddress(index) >>> 2] = (table.frame << 12) | Pte.P | Pte.A | (guestPde & (Pte.US | Pte.RW));
    this.parts.work.shadowEntryWrites++;
  }

  /** Writes a table entry, keeping the backward and parked maps exact. */
  private setEntry(table: ShadowPage, index: number, entry: number): void {
    const addr = table.entryAddress(index);
    const old = this.i32[addr >>> 2]!;
    // A refill of the same frame (rights changed) keeps its backward-map entry.
    if ((old & entry & Pte.P) === 0 || old >>> 12 !== entry >>> 12) {
      this.forget(addr, old);
      if ((entry & Pte.P) !== 0) this.rmap.add(entry >>> 12, addr);
    }
    this.i32[addr >>> 2] = entry;
    this.parts.work.shadowEntryWrites++;
    if ((old & Pte.P) !== 0) this.invalidateEntry(table, index);
  }

  /** Takes entry `e` at `addr` out of the backward map (present) or the parked map (paged out). */
  private forget(addr: number, e: number): void {
    if ((e & Pte.P) !== 0) this.rmap.remove(e >>> 12, addr);
    else if ((e & PARKED) !== 0) this.parked.remove(e >>> 12, addr);
  }

  // ---------------------------------------------------------------- tearing down

  /** Drops the real TLB entries that may hold table entry `index` (only the active shadow's are cached). */
  private invalidateEntry(table: ShadowPage, index: number): void {
    const tlb = this.parts.real.tlb;
    for (const p of table.parents) {
      if (p.directory !== this.active) continue;
      tlb.invalidate((p.index << 10) | index);
      this.parts.work.tlbInvalidates++;
    }
  }

  private zapTableEntry(table: ShadowPage, index: number): void {
    const addr = table.entryAddress(index);
    const e = this.i32[addr >>> 2]!;
    if (e === 0) return;
    this.forget(addr, e);
    this.i32[addr >>> 2] = 0;
    this.parts.work.shadowEntryWrites++;
    if ((e & Pte.P) !== 0) this.invalidateEntry(table, index);
  }

  /** Empties directory entry `index` (a large page's table goes with it). */
  private zapDirectoryEntry(dir: ShadowPage, index: number): void {
    const child = dir.children![index]!;
    if (child === null) return;
    this.clearDirectoryEntry(dir, index, child);
    if (child.role === ShadowRole.LARGE) this.destroyTable(child);
  }

  private clearDirectoryEntry(dir: ShadowPage, index: number, child: ShadowPage): void {
    dir.children![index] = null;
    child.unlinkParent(dir, index);
    this.i32[dir.entryAddress(index) >>> 2] = 0;
    this.parts.work.shadowEntryWrites++;
    if (dir === this.active) {
      const tlb = this.parts.real.tlb;
      for (let v = 0; v < 1024; v++) tlb.invalidate((index << 10) | v);
      this.parts.work.tlbInvalidates++;
    }
  }

  /** Unshadows a table: out of every directory, out of the backward map, untraced, freed. */
  private destroyTable(table: ShadowPage): void {
    for (const p of [...table.parents]) this.clearDirectoryEntry(p.directory, p.index, table);
    for (let i = 0; i < 1024; i++) {
      const addr = table.entryAddress(i);
      this.forget(addr, this.i32[addr >>> 2]!);
    }
    if (table.role === ShadowRole.TABLE) {
      this.tables.delete(table.gfn);
      this.parts.tracer.untrace(table.gfn);
    }
    this.freePage(table);
  }

  private destroyDirectory(dir: ShadowPage): void {
    const children = dir.children!;
    for (let i = 0; i < 1024; i++) {
      const child = children[i]!;
      if (child !== null) {
        this.clearDirectoryEntry(dir, i, child);
        if (child.role === ShadowRole.LARGE) this.destroyTable(child);
      }
    }
    this.directories.delete(dirKey(dir.gfn, dir.pse));
    this.parts.tracer.untrace(dir.gfn);
    if (this.active === dir) this.active = null;
    this.freePage(dir);
  }

  /** Drops the physical-mode table (guest paging is on; it is rebuilt if the guest turns paging off). */
  private destroyPhysical(): void {
    const dir = this.physDirectory!;
    const children = dir.children!;
    for (let i = 0; i < 1024; i++) {
      const child = children[i]!;
      if (child === null) continue;
      this.clearDirectoryEntry(dir, i, child);
      this.destroyTable(child);
    }
    this.physDirectory = null;
    this.freePage(dir);
  }
}
