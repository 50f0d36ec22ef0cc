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
 * - PAE guests (CR4.PAE=1) get PAE shadows and the real CPU runs with PAE on: a shadow PDPT
 *   whose four entries follow the guest's PDPTE registers (loaded on the CR3, CR0 and CR4 writes
 *   the VMM intercepts, never re-read from guest memory, so the guest's PDPT is not traced), one
 *   shadow per guest PAE directory and table (keyed by GPA and IA32_EFER.NXE, which decides
 *   whether bit 63 is XD or reserved), XD carried level by level into the shadow entries, and
 *   2 MiB guest pages shadowed with 4 KiB entries (the pmap scatters a 2 MiB guest page over
 *   host frames, so no 2 MiB host page can map it). A guest's 8-byte entry written in two 4-byte
 *   halves is followed half by half: each write drops the shadow entry, and the next access
 *   refills it from whatever the guest entry then holds, half-updated or not — what the
 *   hardware would see at that moment.
 * - SMEP and SMAP: the real CPU carries the guest's CR4.SMEP/SMAP and EFLAGS.AC (vcpu.ts, hw.ts),
 *   and the VMM's walk applies them too, so a guest's SMEP/SMAP violation is a true fault.
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
import { Access, Rule, WalkRecord, accessFault, pagingRules, setAccessedDirty, walkPaging } from '../../hw/mmu/walk.ts';
import { Cr0, Cr4, Efer } from '../../hw/x86/control-registers.ts';
import { LARGE_PAGE_MASK, Pae, PfError, Pte } from '../../hw/x86/paging.ts';
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
 * What the shadow MMU needs of the hardware that walks its tables: a root to load (an address
 * space switch, flushing the TLB's non-global entries) in the format of the shadows — a PAE PDPT
 * (CR4.PAE=1, IA32_EFER.NXE=1, the PDPTE registers loaded from it) or a 32-bit directory — and
 * the TLB, whose entries it drops when it changes a shadow entry. Under trap-and-emulate the
 * real CPU itself (CpuPaging); under hardware assist the guest's CR3, CR4 and EFER in its VMCB.
 */
export interface RealPaging {
  loadRoot(root: number, pae: boolean): void;
  readonly tlb: Tlb;
}

/** The real CPU as the shadows' hardware (trap-and-emulate): the shadows' format owns its CR4.PAE and EFER.NXE. */
export class CpuPaging implements RealPaging {
  readonly tlb: Tlb;
  private readonly cpu: Cpu;

  constructor(cpu: Cpu) {
    this.cpu = cpu;
    this.tlb = cpu.tlb;
  }

  loadRoot(root: number, pae: boolean): void {
    const c = this.cpu;
    c.cr4 = pae ? c.cr4 | Cr4.PAE : c.cr4 & ~Cr4.PAE;
    // PAE shadows carry the guest's XD bits: NXE makes them XD (with NXE=0 they would be reserved).
    c.efer = pae ? c.efer | Efer.NXE : c.efer & ~Efer.NXE;
    if (!c.loadCr3(root)) throw new Error('shadow MMU: the real CPU refused the shadow PDPT');
  }
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
const XD = Pae.XD_HI;

/**
 * A not-present shadow entry whose frame the VMM paged out: it keeps its rights in the low bits
 * and the guest frame in the frame field, so that the page-in can restore it (an available bit,
 * ignored by the CPU in a not-present entry, SDM vol. 3, 4.3).
 */
export const PARKED = 1 << 9;

const dirKey = (gfn: number, pse: boolean) => gfn * 2 + (pse ? 1 : 0);
/** PAE directories and tables: keyed by GPA and NXE (which decides what bit 63 means). */
const paeKey = (gfn: number, nxe: boolean) => gfn * 2 + (nxe ? 1 : 0);
const evictedKey = (role: ShadowRoleKind, key: number) => key * 16 + role;

export class ShadowMmu implements ShadowMappings {
  /** Shadow directories by guest directory frame and CR4.PSE (directoryKey), shadow tables by guest table frame. */
  readonly directories = new Map<number, ShadowPage>();
  readonly tables = new Map<number, ShadowPage>();
  /** PAE shadow directories and tables by guest frame and IA32_EFER.NXE (ShadowMmu.paeKey). */
  readonly paeDirectories = new Map<number, ShadowPage>();
  readonly paeTables = new Map<number, ShadowPage>();
  /** The shadow PDPT (PAE guests): one, its entries rewritten from the guest's PDPTE registers at each activation. */
  pdpt: ShadowPage | null = null;
  /** Every shadow page by its host frame (large-page tables included). */
  readonly byFrame = new Map<number, ShadowPage>();
  physDirectory: ShadowPage | null = null;
  /** The shadow in the real CR3. */
  active: ShadowPage | null = null;
  /** The backward map: present shadow entries by the host frame they map. */
  readonly rmap: ReverseMap;
  /** Entries whose frame is paged out, by guest frame. */
  readonly parked: ReverseMap;
  readonly stats: ShadowStats = { built: [0, 0, 0, 0, 0, 0, 0, 0, 0], hits: 0, misses: 0, rebuilds: 0, evictions: 0, floods: 0, peakPages: 0 };
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

  /** The cache key of a PAE directory's or table's shadow for guest frame `gfn` under NXE = `nxe`. */
  static paeKey(gfn: number, nxe: boolean): number {
    return paeKey(gfn, nxe);
  }

  /** The shadow of guest directory `gfn` built for the current CR4.PSE, if cached. */
  directoryOf(gfn: number): ShadowPage | undefined {
    return this.directories.get(dirKey(gfn, this.pse));
  }

  /** The guest's IA32_EFER.NXE. */
  private get guestNxe(): boolean {
    return (this.parts.guest.efer & Efer.NXE) !== 0;
  }

  /** The active root, or a PAE directory the active PDPT points at: never evicted, never unshadowed. */
  private isActive(sp: ShadowPage): boolean {
    if (sp === this.active) return true;
    return sp.role === ShadowRole.PAE_DIRECTORY && sp.parents.some((p) => p.directory === this.active);
  }

  /** Host frames the shadows hold now. */
  get pagesInUse(): number {
    return this.byFrame.size;
  }

  /** Pages in use by role. */
  pagesByRole(): number[] {
    const out = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    for (const sp of this.byFrame.values()) out[sp.role]!++;
    return out;
  }

  // ---------------------------------------------------------------- activation

  /**
   * Puts the shadow for the guest's current paging state (CR0.PG, CR3, CR4.PSE, CR4.PAE, its
   * PDPTE registers, IA32_EFER.NXE) in the real CR3.
   */
  activate(): void {
    const g = this.parts.guest;
    this.pse = (g.cr4 & Cr4.PSE) !== 0;
    let target: ShadowPage;
    if ((g.cr0 & Cr0.PG) === 0) {
      target = this.physDirectory ?? this.buildPhysical();
    } else if ((g.cr4 & Cr4.PAE) !== 0) {
      target = this.activatePae();
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
    this.reload();
  }

  /** Loads the active shadow into the hardware again (after another VM used it). */
  reload(): void {
    const active = this.active!;
    this.parts.real.loadRoot(active.frame * 4096, active.role === ShadowRole.PDPT);
  }

  /**
   * The shadow PDPT for the guest's PDPTE registers (SDM vol. 3, 4.4.1): entry k points at the
   * shadow of the PAE directory guest PDPTE k names, or is empty where the guest's is not present.
   */
  private activatePae(): ShadowPage {
    const g = this.parts.guest;
    const nxe = this.guestNxe;
    let pdpt = this.pdpt;
    if (pdpt === null) {
      this.active = null;
      this.ensureRoom(1);
      pdpt = this.allocPage(ShadowRole.PDPT, -1);
      this.pdpt = pdpt;
    }
    // From here the PDPT and the directories it keeps are active: nothing evicts them.
    this.active = pdpt;
    // A directory above 4 GiB reads as all ones (every walk through it is a reserved-bit fault): no shadow.
    const want = (k: number) => ((g.pdpte[2 * k]! & Pte.P) !== 0 && (g.pdpte[2 * k + 1]! & Pae.ADDR_HI) === 0 ? paeKey(g.pdpte[2 * k]! >>> 12, nxe) : -1);
    for (let k = 0; k < 4; k++) {
      const child = pdpt.children![k]!;
      if (child !== null && paeKey(child.gfn, child.nxe) !== want(k)) this.clearDirectoryEntry(pdpt, k, child);
    }
    for (let k = 0; k < 4; k++) {
      const key = want(k);
      if (key < 0 || pdpt.children![k] !== null) continue;
      let dir = this.paeDirectories.get(key);
      if (dir !== undefined) this.stats.hits++;
      else {
        this.ensureRoom(1);
        dir = this.allocPage(ShadowRole.PAE_DIRECTORY, key >>> 1, false, nxe);
        this.paeDirectories.set(key, dir);
        this.parts.tracer.trace(dir.gfn);
      }
      dir.lastUse = ++this.tick;
      // A PDPTE holds only P and the address (its bits 2:1 and 8:5 are reserved).
      pdpt.children![k] = dir;
      dir.parents.push({ directory: pdpt, index: k });
      this.i32[pdpt.entryAddress(k) >>> 2] = (dir.frame << 12) | Pte.P;
      this.i32[(pdpt.entryAddress(k) >>> 2) + 1] = 0;
      this.parts.work.shadowEntryWrites++;
    }
    return pdpt;
  }

  // ---------------------------------------------------------------- page faults

  /**
   * Classifies a real page fault at `gva` (real error code) and, for a hidden fault, fills the
   * shadow entry. For TRUE the guest's error code is left in trueFaultError. `eflags` is the
   * guest's (its AC lifts SMAP); `implicit`: the hardware's own supervisor access at CPL 3
   * (a descriptor-table or IDT read in guest mode; the error code's U/S=0 tells it).
   * An instruction fetch is known by the error code's I/D bit: the real CPU reports it whenever
   * the guest could tell a fetch from a read (SMEP mirrored, or PAE shadows with NXE).
   */
  handlePageFault(gva: number, errorCode: number, eflags = 0, implicit = false): FaultKindValue {
    const write = (errorCode & PfError.W) !== 0;
    const user = (errorCode & PfError.U) !== 0;
    const fetch = (errorCode & PfError.I) !== 0;
    const g = this.parts.guest;
    this.lastFaultPagedIn = false;
    if ((g.cr0 & Cr0.PG) === 0) return this.physicalFault(gva >>> 0, write);
    const rec = this.rec;
    walkPaging(this.parts.guestMem, g, gva, rec);
    this.parts.work.guestWalkReads += rec.reads;
    const access = (write ? Access.WRITE : 0) | (user ? Access.USER : 0) | (fetch ? Access.FETCH : 0) | (implicit ? Access.IMPLICIT : 0);
    const rules = pagingRules(g, eflags);
    const error = accessFault(rec, access, (g.cr0 & Cr0.WP) !== 0, rules);
    if (error >= 0) {
      this.trueFaultError = error;
      return FaultKind.TRUE;
    }
    // The guest allows it, yet the hardware refused a shadow entry that already allows it: only
    // an implicit supervisor access under SMAP does that (guest mode at CPL < 3, where the error
    // code cannot tell it from an explicit one with EFLAGS.AC=1). The hardware's verdict is the guest's.
    if ((errorCode & PfError.P) !== 0 && !user && !fetch && rec.user && (rules & Rule.SMAP) !== 0 && this.shadowAllows(gva, write)) {
      this.trueFaultError = errorCode & (PfError.P | PfError.W);
      return FaultKind.TRUE;
    }
    // Nothing decodes guest-physical addresses at or above 4 GiB (PAE): an access there is emulated.
    if (rec.physical >= 4294967296) return FaultKind.MMIO;
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
    if (rec.pae) this.fillPae(gva, gfn, kind === PageKind.RAM);
    else this.fill(gva, gfn, kind === PageKind.RAM);
    return FaultKind.HIDDEN;
  }

  /** The active shadow's leaf entry for `gva` is present and allows the access (a write: writable). */
  private shadowAllows(gva: number, write: boolean): boolean {
    const root = this.active;
    if (root === null) return false;
    let table: ShadowPage | null;
    let index: number;
    if (root.role === ShadowRole.PDPT) {
      const dir = root.children![gva >>> 30] ?? null;
      table = dir === null ? null : (dir.children![(gva >>> 21) & 0x1ff] ?? null);
      index = (gva >>> 12) & 0x1ff;
    } else {
      table = root.children![gva >>> 22] ?? null;
      index = (gva >>> 12) & 0x3ff;
    }
    if (table === null) return false;
    const e = this.i32[table.entryAddress(index) >>> 2]!;
    return (e & Pte.P) !== 0 && (!write || (e & Pte.RW) !== 0);
  }

  /** Fills the PAE shadow entry for `gva` from the walk in this.rec (XD carried level by level). */
  private fillPae(gva: number, gfn: number, ram: boolean): void {
    const rec = this.rec;
    const pdpt = this.active!;
    const dir = pdpt.children![gva >>> 30] ?? null;
    if (dir === null) throw new Error('shadow MMU: a present guest PDPTE has no shadow directory');
    dir.writes = 0;
    const now = ++this.tick;
    dir.lastUse = now;
    pdpt.lastUse = now;
    const nxe = dir.nxe;
    const pdi = (gva >>> 21) & 0x1ff;
    let table = dir.children![pdi]!;
    if (table === null) {
      table = rec.large ? this.allocPage(ShadowRole.PAE_LARGE, (rec.pde & Pae.LARGE_PAGE_MASK) >>> 12, false, nxe) : this.paeTableFor(rec.pde >>> 12, nxe);
      this.link(dir, pdi, table, rec.pde, nxe && rec.pdeHi < 0 ? XD : 0);
    }
    table.writes = 0;
    table.lastUse = now;
    const leaf = rec.large ? rec.pde : rec.pte;
    let entry = (this.parts.pmap.hostFrame[gfn]! << 12) | Pte.P | Pte.A;
    // A large page's directory entry carries the guest's U/S, R/W and XD; a table entry its own.
    entry |= rec.large ? Pte.US : leaf & Pte.US;
    const guestWritable = rec.large || (leaf & Pte.RW) !== 0;
    if (guestWritable && (leaf & Pte.D) !== 0 && ram && !this.parts.tracer.isTraced(gfn)) entry |= Pte.RW | Pte.D;
    const hi = !rec.large && nxe && rec.pteHi < 0 ? XD : 0;
    this.setEntry(table, (gva >>> 12) & 0x1ff, entry, hi);
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
    const root = this.active;
    if (root === null) return;
    if (root.role === ShadowRole.DIRECTORY) {
      const table = root.children![gva >>> 22]!;
      if (table !== null) this.zapTableEntry(table, (gva >>> 12) & 0x3ff);
    } else if (root.role === ShadowRole.PDPT) {
      const dir = root.children![gva >>> 30] ?? null;
      const table = dir === null ? null : dir.children![(gva >>> 21) & 0x1ff]!;
      if (table !== null) this.zapTableEntry(table, (gva >>> 12) & 0x1ff);
    }
  }

  /** A write to a traced guest frame (the guest memory's trace hook). */
  onTracedWrite(gpa: number, size: number, old: number, value: number): void {
    // Setting accessed or dirty bits (the VMM's own walk, or the guest's) keeps every shadow valid.
    const adOnly = size === 4 && (gpa & 3) === 0 && ((old ^ value) & ~A_D) === 0 && (old & ~value) === 0;
    const gfn = gpa >>> 12;
    const off = gpa & 0xfff;
    if (!adOnly) this.followWrite32(gfn, off >> 2, (off + size - 1) >> 2);
    // In a PAE entry A and D are in the low half; the same bits of the high half are address bits.
    if (!adOnly || (gpa & 7) !== 0) this.followWritePae(gfn, off >> 3, (off + size - 1) >> 3, (off & 7) < 4 || size > 4);
  }

  /** Follows a guest write to 32-bit entries first..last of frame `gfn`. */
  private followWrite32(gfn: number, first: number, last: number): void {
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

  /**
   * Follows a guest write to PAE entries first..last of frame `gfn` (shadowed under either NXE).
   * Each write drops the entries it touches, so a 64-bit entry written as two halves is dropped
   * twice and refilled from whatever it holds at the next access. `counts`: the write reached an
   * entry's low half — only those count towards write-flood detection, so a two-half update
   * (high half, then low half, as PAE kernels write a PTE) is one write.
   */
  private followWritePae(gfn: number, first: number, last: number, counts: boolean): void {
    for (const nxe of [false, true]) {
      const table = this.paeTables.get(paeKey(gfn, nxe));
      if (table !== undefined) {
        for (let i = first; i <= last; i++) this.zapTableEntry(table, i);
        if (counts && ++table.writes >= FLOOD_WRITES) {
          this.stats.floods++;
          this.destroyTable(table);
        }
      }
      const dir = this.paeDirectories.get(paeKey(gfn, nxe));
      if (dir === undefined) continue;
      for (let i = first; i <= last; i++) this.zapDirectoryEntry(dir, i);
      if (counts && !this.isActive(dir) && ++dir.writes >= FLOOD_WRITES) {
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
      this.invalidateEntryAt(addr);
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
      this.invalidateEntryAt(addr);
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
      this.invalidateEntryAt(addr);
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

  /** Shadows that may go: not the active root or its PAE directories, not a physical-mode table on its own (its directory goes with them). */
  private evictable(sp: ShadowPage): boolean {
    return !this.isActive(sp) && sp.role !== ShadowRole.PHYS_TABLE;
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
      case ShadowRole.PAE_DIRECTORY:
        this.evicted.add(evictedKey(sp.role, paeKey(sp.gfn, sp.nxe)));
        this.destroyDirectory(sp);
        break;
      case ShadowRole.PAE_TABLE:
        this.evicted.add(evictedKey(sp.role, paeKey(sp.gfn, sp.nxe)));
        this.destroyTable(sp);
        break;
      case ShadowRole.LARGE:
      case ShadowRole.PAE_LARGE:
        this.destroyTable(sp);
        break;
      case ShadowRole.PDPT:
        this.destroyDirectory(sp);
        break;
      default:
        this.destroyPhysical();
    }
  }

  private allocPage(role: ShadowRoleKind, gfn: number, pse = false, nxe = false): ShadowPage {
    const { frames, hostMem } = this.parts;
    let frame = this.placement?.(role, gfn) ?? -1;
    if (frame < 0 || !frames.allocAt(frame, FrameOwner.VMM)) frame = frames.alloc(FrameOwner.VMM);
    if (frame < 0) throw new Error('shadow MMU: no host frame left for a shadow table');
    // Through the memory's own fill: the frame may hold decoded guest code from an earlier life.
    hostMem.fill(frame * 4096, 4096, 0);
    const sp = new ShadowPage(frame, role, gfn, pse, nxe);
    sp.lastUse = ++this.tick;
    this.byFrame.set(frame, sp);
    if (this.byFrame.size > this.stats.peakPages) this.stats.peakPages = this.byFrame.size;
    this.stats.built[role]!++;
    this.parts.work.shadowPageAllocs++;
    if (role === ShadowRole.DIRECTORY || role === ShadowRole.TABLE || role === ShadowRole.PAE_DIRECTORY || role === ShadowRole.PAE_TABLE) {
      this.stats.misses++;
      const key = role === ShadowRole.DIRECTORY ? dirKey(gfn, pse) : role === ShadowRole.TABLE ? gfn : paeKey(gfn, nxe);
      if (this.evicted.delete(evictedKey(role, key))) this.stats.rebuilds++;
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

  private paeTableFor(gfn: number, nxe: boolean): ShadowPage {
    const key = paeKey(gfn, nxe);
    let table = this.paeTables.get(key);
    if (table !== undefined) this.stats.hits++;
    else {
      table = this.allocPage(ShadowRole.PAE_TABLE, gfn, false, nxe);
      this.paeTables.set(key, table);
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

  /** Points directory entry `index` at `table` with the guest directory entry's U/S and R/W (and, PAE, XD in `hi`). */
  private link(dir: ShadowPage, index: number, table: ShadowPage, guestPde: number, hi = 0): void {
    dir.children![index] = table;
    table.parents.push({ directory: dir, index });
    this.i32[dir.entryAddress(index) >>> 2] = (table.frame << 12) | Pte.P | Pte.A | (guestPde & (Pte.US | Pte.RW));
    if (dir.pae) this.i32[(dir.entryAddress(index) >>> 2) + 1] = hi;
    this.parts.work.shadowEntryWrites++;
  }

  /** Writes a table entry (PAE: `hi` is its high half), keeping the backward and parked maps exact. */
  private setEntry(table: ShadowPage, index: number, entry: number, hi = 0): void {
    const addr = table.entryAddress(index);
    const old = this.i32[addr >>> 2]!;
    // A refill of the same frame (rights changed) keeps its backward-map entry.
    if ((old & entry & Pte.P) === 0 || old >>> 12 !== entry >>> 12) {
      this.forget(addr, old);
      if ((entry & Pte.P) !== 0) this.rmap.add(entry >>> 12, addr);
    }
    this.i32[addr >>> 2] = entry;
    if (table.pae) this.i32[(addr >>> 2) + 1] = hi;
    this.parts.work.shadowEntryWrites++;
    if ((old & Pte.P) !== 0) this.invalidateEntry(table, index);
  }

  /** Takes entry `e` at `addr` out of the backward map (present) or the parked map (paged out). */
  private forget(addr: number, e: number): void {
    if ((e & Pte.P) !== 0) this.rmap.remove(e >>> 12, addr);
    else if ((e & PARKED) !== 0) this.parked.remove(e >>> 12, addr);
  }

  // ---------------------------------------------------------------- tearing down

  /** invalidateEntry for the entry at host-physical `addr` (4- or 8-byte entries, by its page's format). */
  private invalidateEntryAt(addr: number): void {
    const table = this.byFrame.get(addr >>> 12)!;
    this.invalidateEntry(table, (addr & 0xfff) >>> (table.pae ? 3 : 2));
  }

  /** Drops the real TLB entries that may hold table entry `index` (only the active shadow's are cached). */
  private invalidateEntry(table: ShadowPage, index: number): void {
    const tlb = this.parts.real.tlb;
    for (const p of table.parents) {
      if (table.pae) {
        // A PAE table's directory is active through the PDPT entries that point at it.
        for (const q of p.directory.parents) {
          if (q.directory !== this.active) continue;
          tlb.invalidate((q.index << 18) | (p.index << 9) | index);
          this.parts.work.tlbInvalidates++;
        }
        continue;
      }
      if (p.directory !== this.active) continue;
      tlb.invalidate((p.index << 10) | index);
      this.parts.work.tlbInvalidates++;
    }
  }

  private zapTableEntry(table: ShadowPage, index: number): void {
    const addr = table.entryAddress(index);
    const e = this.i32[addr >>> 2]!;
    if (e === 0 && (!table.pae || this.i32[(addr >>> 2) + 1] === 0)) return;
    this.forget(addr, e);
    this.i32[addr >>> 2] = 0;
    if (table.pae) this.i32[(addr >>> 2) + 1] = 0;
    this.parts.work.shadowEntryWrites++;
    if ((e & Pte.P) !== 0) this.invalidateEntry(table, index);
  }

  /** Empties directory entry `index` (a large page's table goes with it). */
  private zapDirectoryEntry(dir: ShadowPage, index: number): void {
    if (index >= dir.size) return;
    const child = dir.children![index]!;
    if (child === null) return;
    this.clearDirectoryEntry(dir, index, child);
    if (child.role === ShadowRole.LARGE || child.role === ShadowRole.PAE_LARGE) this.destroyTable(child);
  }

  private clearDirectoryEntry(dir: ShadowPage, index: number, child: ShadowPage): void {
    dir.children![index] = null;
    child.unlinkParent(dir, index);
    this.i32[dir.entryAddress(index) >>> 2] = 0;
    if (dir.pae) this.i32[(dir.entryAddress(index) >>> 2) + 1] = 0;
    this.parts.work.shadowEntryWrites++;
    const tlb = this.parts.real.tlb;
    if (dir === this.active && !dir.pae) {
      for (let v = 0; v < 1024; v++) tlb.invalidate((index << 10) | v);
      this.parts.work.tlbInvalidates++;
    } else if (dir.role === ShadowRole.PAE_DIRECTORY) {
      // The PDPT entries that make this directory active.
      for (const q of dir.parents) {
        if (q.directory !== this.active) continue;
        for (let v = 0; v < 512; v++) tlb.invalidate((q.index << 18) | (index << 9) | v);
        this.parts.work.tlbInvalidates++;
      }
    }
    // A PDPT entry is cleared only while that PDPT is inactive, or just before it is loaded again
    // (activatePae): the real PDPTE registers never keep a stale one.
  }

  /** Unshadows a table: out of every directory, out of the backward map, untraced, freed. */
  private destroyTable(table: ShadowPage): void {
    for (const p of [...table.parents]) this.clearDirectoryEntry(p.directory, p.index, table);
    for (let i = 0; i < table.size; i++) {
      const addr = table.entryAddress(i);
      this.forget(addr, this.i32[addr >>> 2]!);
    }
    if (table.role === ShadowRole.TABLE) {
      this.tables.delete(table.gfn);
      this.parts.tracer.untrace(table.gfn);
    } else if (table.role === ShadowRole.PAE_TABLE) {
      this.paeTables.delete(paeKey(table.gfn, table.nxe));
      this.parts.tracer.untrace(table.gfn);
    }
    this.freePage(table);
  }

  /** Unshadows a directory (32-bit or PAE) or frees the PDPT: its large-page tables go with it. */
  private destroyDirectory(dir: ShadowPage): void {
    for (const p of [...dir.parents]) this.clearDirectoryEntry(p.directory, p.index, dir);
    const children = dir.children!;
    for (let i = 0; i < dir.size; i++) {
      const child = children[i]!;
      if (child !== null) {
        this.clearDirectoryEntry(dir, i, child);
        if (child.role === ShadowRole.LARGE || child.role === ShadowRole.PAE_LARGE) this.destroyTable(child);
      }
    }
    if (dir.role === ShadowRole.DIRECTORY) {
      this.directories.delete(dirKey(dir.gfn, dir.pse));
      this.parts.tracer.untrace(dir.gfn);
    } else if (dir.role === ShadowRole.PAE_DIRECTORY) {
      this.paeDirectories.delete(paeKey(dir.gfn, dir.nxe));
      this.parts.tracer.untrace(dir.gfn);
    } else if (dir === this.pdpt) this.pdpt = null;
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
