/**
 * VMM paging: the hypervisor overcommits host memory by keeping at most `budget` guest frames
 * resident and moving the rest to its backing store, behind the guest's back (the lecture's
 * "move 0xE000 page to disk; set not present in the shadow page table").
 *
 * - Page-out: the frame's bytes go to the store (if that fails nothing has changed and the error
 *   ends the VM), every shadow entry mapping the frame — found through the backward map — is
 *   made not-present and parked under the guest frame, the pmap forgets the frame, and the host
 *   frame is scrubbed and freed.
 * - Page-in: on the next access — a real page fault on a parked entry, the VMM's own walk of a
 *   guest table, an emulated instruction, a device — the VMM takes a free host frame (not
 *   necessarily the old one), reads the page back, maps GPA -> new HPA, and points every parked
 *   entry at the new HPA ("update ALL shadow page tables pointing to 0xE000"). A guest page
 *   table keeps its trace across the trip, so its mappings come back read-only.
 * - Replacement: a clock over resident guest frames; a frame survives a sweep if it was used
 *   since the last one — the accessed bits of the shadow entries that map it (the real CPU sets
 *   them; the sweep clears them) or the VMM's own accesses (walks, emulation, devices).
 * Frames the guest has never touched get a host frame on first use, zero-filled, like KVM.
 */
import type { PhysicalMemory } from '../../hw/memory/physical-memory.ts';
import type { VmmWork } from '../work.ts';
import { type BackingStore, PAGE_BYTES } from './backing-store.ts';
import { FrameOwner, type HostFrames } from './host-frames.ts';
import type { Pmap } from './pmap.ts';

/** What the pager needs from the shadows: the entries mapping a frame, through the backward map. */
export interface ShadowMappings {
  /** Makes every shadow entry mapping host frame `hfn` (guest frame `gfn`) not-present and parks it. */
  park(gfn: number, hfn: number): void;
  /** Points every entry parked under `gfn` at host frame `hfn` and makes it present again. */
  unpark(gfn: number, hfn: number): void;
  /** True if the real CPU used a mapping of `hfn` since the last call (clears the accessed bits). */
  testAndClearAccessed(hfn: number): boolean;
}

export interface PagingStats {
  /** Guest frames written to the backing store, and read back from it. */
  pageOuts: number;
  pageIns: number;
  /** Guest frames given a zeroed host frame on first use. */
  zeroFills: number;
  /** Real page faults (guest accesses) that found their frame paged out. */
  faults: number;
  /** Page-ins caused by the VMM's or a device's own access (walks, emulation, DMA). */
  vmmFetches: number;
  /** Frames the clock passed over because they had been used since its last sweep. */
  secondChances: number;
}

export interface PagerParts {
  readonly hostMem: PhysicalMemory;
  readonly frames: HostFrames;
  readonly pmap: Pmap;
  readonly work: VmmWork;
  /** Most guest frames resident at once. */
  readonly budget: number;
  /** Where paged-out frames go (required when the budget is below the guest's frames). */
  readonly store: BackingStore | null;
}

export class GuestPager {
  readonly budget: number;
  readonly stats: PagingStats = { pageOuts: 0, pageIns: 0, zeroFills: 0, faults: 0, vmmFetches: 0, secondChances: 0 };
  /** Guest frames the VMM itself read or wrote since the clock last passed them. */
  readonly referenced: Uint8Array;
  /** Guest frames with a copy in the backing store. */
  readonly onDisk: Uint8Array;
  /** Chooses the host frame for a page-in (fixed placement, e.g. the lecture's); -1: any. */
  placement: ((gfn: number) => number) | null = null;
  private readonly parts: PagerParts;
  private mappings: ShadowMappings | null = null;
  private residentFrames = 0;
  private hand = 0;
  private readonly buffer = new Uint8Array(PAGE_BYTES);

  constructor(parts: PagerParts) {
    this.parts = parts;
    this.budget = parts.budget;
    this.referenced = new Uint8Array(parts.pmap.guestFrames);
    this.onDisk = new Uint8Array(parts.pmap.guestFrames);
  }

  /** The shadow MMU, once it exists. */
  attach(mappings: ShadowMappings): void {
    this.mappings = mappings;
  }

  get resident(): number {
    return this.residentFrames;
  }

  get store(): BackingStore | null {
    return this.parts.store;
  }

  /** Gives `gfn` host frame `hfn` from the start (the VM's initial placement). */
  place(gfn: number, hfn: number): void {
    this.parts.pmap.map(gfn, hfn);
    this.residentFrames++;
  }

  /**
   * Brings `gfn` back (or backs it for the first time) at host frame `target` (-1: the placement
   * hook's choice, else the lowest free frame), evicting a frame first when the budget is spent.
   */
  pageIn(gfn: number, target: number): number {
    const { frames, pmap, hostMem, work } = this.parts;
    if (pmap.hostFrame[gfn]! >= 0) throw new Error(`pager: guest frame 0x${gfn.toString(16)} is already resident`);
    while (this.residentFrames >= this.budget) this.pageOut(this.victim());
    let hfn = target >= 0 ? target : (this.placement?.(gfn) ?? -1);
    if (hfn < 0 || !frames.allocAt(hfn, FrameOwner.GUEST)) hfn = frames.alloc(FrameOwner.GUEST);
    if (hfn < 0) throw new Error('pager: no free host frame for a guest page (host memory is sized for every budget)');
    const at = hfn * PAGE_BYTES;
    if (this.onDisk[gfn] !== 0) {
      const store = this.parts.store!;
      try {
        store.read(gfn, this.buffer);
      } catch (e) {
        frames.release(hfn);
        throw e;
      }
      hostMem.writeBytes(at, this.buffer);
      this.stats.pageIns++;
      work.pageTransfers++;
    } else {
      hostMem.fill(at, PAGE_BYTES, 0);
      this.stats.zeroFills++;
    }
    pmap.map(gfn, hfn);
    this.residentFrames++;
    this.referenced[gfn] = 1;
    this.mappings?.unpark(gfn, hfn);
    return hfn;
  }

  /** Moves resident `gfn` to the backing store (a BackingStoreError leaves it resident). */
  pageOut(gfn: number): void {
    const { frames, pmap, hostMem, work } = this.parts;
    const hfn = pmap.hostFrame[gfn]!;
    if (hfn < 0) throw new Error(`pager: guest frame 0x${gfn.toString(16)} is not resident`);
    const store = this.parts.store;
    if (store === null) throw new Error('pager: no backing store to page out to');
    const at = hfn * PAGE_BYTES;
    store.write(gfn, hostMem.u8.subarray(at, at + PAGE_BYTES));
    this.onDisk[gfn] = 1;
    this.mappings?.park(gfn, hfn);
    pmap.unmap(gfn);
    this.residentFrames--;
    // Scrubbed before anyone else (a shadow table, another VM) gets the frame.
    hostMem.fill(at, PAGE_BYTES, 0);
    frames.release(hfn);
    this.stats.pageOuts++;
    work.pageTransfers++;
  }

  /** The clock: the next resident frame not used since the hand last passed it. */
  private victim(): number {
    const { pmap } = this.parts;
    const n = pmap.guestFrames;
    for (let step = 0; step < 3 * n; step++) {
      const gfn = this.hand;
      this.hand = (this.hand + 1) % n;
      const hfn = pmap.hostFrame[gfn]!;
      if (hfn < 0) continue;
      const usedByVmm = this.referenced[gfn] !== 0;
      this.referenced[gfn] = 0;
      const usedByGuest = this.mappings?.testAndClearAccessed(hfn) ?? false;
      if (usedByVmm || usedByGuest) {
        this.stats.secondChances++;
        continue;
      }
      return gfn;
    }
    throw new Error('pager: no resident guest frame to evict');
  }

  /**
   * Dword of guest RAM at `gpa` without bringing anything in: from the host frame, or from the
   * backing store's copy, or 0 for a frame never backed (audits, the VMM peeking at the guest).
   */
  peek32(gpa: number): number {
    const gfn = gpa >>> 12;
    const hfn = this.parts.pmap.hostFrame[gfn]!;
    const off = gpa & 0xfff;
    if (hfn >= 0) return this.parts.hostMem.read32(hfn * PAGE_BYTES + off);
    if (this.onDisk[gfn] === 0) return 0;
    this.parts.store!.read(gfn, this.buffer);
    return (this.buffer[off]! | (this.buffer[off + 1]! << 8) | (this.buffer[off + 2]! << 16) | (this.buffer[off + 3]! << 24)) | 0;
  }
}
