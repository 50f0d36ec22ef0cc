/**
 * Shadow descriptor tables: the GDT and LDT the real CPU uses while a guest runs, copied from
 * the guest's own with ring compression applied (ring-compression.ts), in VMM frames the real
 * CPU reads by physical address. The guest's table pages are traced, so a write to them is
 * emulated and the shadow copy follows it.
 *
 * The copy is a cache of what may run natively; every other descriptor is made not-present,
 * so that using it traps (#NP) and the VMM emulates that one instruction against the vCPU,
 * which reads the guest's real table and does exactly what the hardware would:
 * - system descriptors (TSS, LDT, call and task gates);
 * - DPL 3 code segments, so that every return to user mode (IRET, far RET) traps and the VMM
 *   restores the guest's IF and IOPL exactly (at ring 1, IRET could not set IF);
 * - descriptors whose page the guest has not mapped;
 * - with the guest's CR4.SMAP=1, descriptors on a user-mode page: the hardware reads descriptor
 *   tables with implicit supervisor accesses, which SMAP forbids on user pages whatever
 *   EFLAGS.AC says (SDM vol. 3, 4.6.1); the real CPU reads the shadow by physical address, so the
 *   load must trap for the vCPU to fault as the hardware would.
 * Kernel data and code (DPL 0 -> 1) and user data segments load natively. The cost of this
 * choice: one trace fault per guest write to a page holding the GDT (the teaching kernel keeps
 * other variables there), one exit per return to user mode, and nothing per kernel segment load.
 * Known leaks (Robin & Irvine's list): SGDT shows the shadow's address, LAR/LSL/VERR/VERW at
 * ring 1 and 3 see the shadow's DPL and present bits, and accessed bits of descriptors loaded
 * natively are set in the shadow only.
 */
import type { PhysicalMemory } from '../../hw/memory/physical-memory.ts';
import { WalkRecord, walkPaging } from '../../hw/mmu/walk.ts';
import { Cr0, Cr4 } from '../../hw/x86/control-registers.ts';
import { SegAttr, attrDpl, descriptorAttr } from '../../hw/x86/descriptors.ts';
import type { Cpu } from '../../hw/cpu/cpu.ts';
import type { GuestPhysicalMemory } from '../memory/guest-memory.ts';
import type { VmmWork } from '../work.ts';
import { compressAttr } from '../ring-compression.ts';
import type { Tracer } from './tracer.ts';

/** Largest descriptor table: 8192 descriptors. */
export const TABLE_FRAMES = 16;

/** The shadow form of guest descriptor (lo, hi): returns the new high dword (the low one is unchanged). */
export function shadowDescriptorHigh(hi: number): number {
  const attr = descriptorAttr(hi);
  const notPresent = hi & ~(SegAttr.P << 8);
  if ((attr & SegAttr.S) === 0) return notPresent;
  if ((attr & SegAttr.CODE) !== 0 && attrDpl(attr) === 3) return notPresent;
  return (hi & ~0xff00) | ((compressAttr(attr) & 0xff) << 8);
}

export interface DescriptorTableParts {
  readonly hostMem: PhysicalMemory;
  readonly guestMem: GuestPhysicalMemory;
  readonly tracer: Tracer;
  /** The vCPU: the guest's paging state for linear -> guest-physical. */
  readonly guest: Cpu;
  readonly work: VmmWork;
}

export class ShadowDescriptorTable {
  /** HPA of the shadow table (TABLE_FRAMES consecutive VMM frames). */
  readonly base: number;
  /** The guest table it copies: linear base and limit (-1: none). */
  guestBase = 0;
  guestLimit = -1;
  /** Guest frame of each page the table spans, or -1 where unmapped (traced when >= 0). */
  private pages: number[] = [];
  /** Each page is a user-mode page (U/S=1 at every level of the guest's translation). */
  private userPages: boolean[] = [];
  /** The guest's CR4.SMAP when the table was copied. */
  private smap = false;
  private readonly parts: DescriptorTableParts;
  private readonly rec = new WalkRecord();

  constructor(parts: DescriptorTableParts, baseFrame: number) {
    this.parts = parts;
    this.base = baseFrame * 4096;
  }

  /** Guest frames the table occupies (each traced once for this table; -1 where unmapped). */
  get tracedFrames(): readonly number[] {
    return this.pages;
  }

  /** Copies the guest table at linear `base` with `limit` (after LGDT/LLDT, at boot). */
  load(base: number, limit: number): void {
    this.unload();
    this.guestBase = base | 0;
    this.guestLimit = limit;
    if (limit < 0) return;
    this.pages = this.resolvePages();
    this.smap = (this.parts.guest.cr4 & Cr4.SMAP) !== 0;
    for (const gfn of this.pages) if (gfn >= 0) this.parts.tracer.trace(gfn);
    for (let t = 0; t <= limit; t += 8) this.copy(t >>> 3);
  }

  /** No table (LLDT with a null selector). */
  unload(): void {
    for (const gfn of this.pages) if (gfn >= 0) this.parts.tracer.untrace(gfn);
    this.pages = [];
    this.guestLimit = -1;
  }

  /** The guest's paging changed: if the table now lives in other frames, copy it again. */
  refresh(): void {
    if (this.guestLimit < 0) return;
    const pages = this.pages;
    const users = this.userPages;
    const now = this.resolvePages();
    const smap = (this.parts.guest.cr4 & Cr4.SMAP) !== 0;
    if (smap !== this.smap || now.some((gfn, k) => gfn !== pages[k] || this.userPages[k] !== users[k])) this.load(this.guestBase, this.guestLimit);
  }

  /** A write to a traced guest frame: copy again the descriptors it touched. */
  onTracedWrite(gpa: number, size: number): void {
    const gfn = gpa >>> 12;
    const first = this.guestBase >>> 12;
    for (let k = 0; k < this.pages.length; k++) {
      if (this.pages[k] !== gfn) continue;
      // Byte offset of the write in the table; it may start before the table or end after it.
      const t = (first + k) * 4096 + (gpa & 0xfff) - (this.guestBase >>> 0);
      const from = Math.max(0, t);
      const to = Math.min(t + size - 1, this.guestLimit);
      for (let d = from >>> 3; d * 8 <= to; d++) this.copy(d);
    }
  }

  /** Guest frames of the table's pages (the guest's own walk, without setting accessed bits). */
  private resolvePages(): number[] {
    const g = this.parts.guest;
    const first = this.guestBase >>> 12;
    const last = ((this.guestBase + this.guestLimit) >>> 0) >>> 12;
    const out: number[] = [];
    const users: boolean[] = [];
    for (let p = first; p <= last; p++) {
      if ((g.cr0 & Cr0.PG) === 0) {
        out.push(p);
        users.push(false);
        continue;
      }
      walkPaging(this.parts.guestMem, g, p * 4096, this.rec);
      this.parts.work.guestWalkReads += this.rec.reads;
      const mapped = this.rec.present && this.rec.physical < 4294967296;
      out.push(mapped ? this.rec.physical >>> 12 : -1);
      users.push(mapped && this.rec.user);
    }
    this.userPages = users;
    return out;
  }

  /** GPA of table byte `t`, or -1 where the guest has not mapped it. */
  private gpa(t: number): number {
    const lin = (this.guestBase + t) >>> 0;
    const gfn = this.pages[(lin >>> 12) - (this.guestBase >>> 12)] ?? -1;
    return gfn < 0 ? -1 : gfn * 4096 + (lin & 0xfff);
  }

  /** The guest table's dword at byte `t` (through the frames resolved at load), or null where unmapped. */
  guestDword(t: number): number | null {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const at = this.gpa(t + k);
      if (at < 0) return null;
      // Without side effects (the audit calls this): no page-in; a table outside memory reads all ones.
      const b = this.parts.guestMem.peek8(at);
      v |= (b < 0 ? 0xff : b) << (8 * k);
    }
    return v;
  }

  /**
   * The shadow's high dword for guest descriptor `index` whose high dword is `hi`: its shadow
   * form, or not present when SMAP forbids the hardware's implicit read of it (a user page).
   */
  shadowHigh(index: number, hi: number): number {
    const h = shadowDescriptorHigh(hi);
    if (!this.smap) return h;
    const first = this.guestBase >>> 12;
    const a = ((this.guestBase + index * 8) >>> 0) >>> 12;
    const b = ((this.guestBase + index * 8 + 7) >>> 0) >>> 12;
    return this.userPages[a - first] === true || this.userPages[b - first] === true ? h & ~(SegAttr.P << 8) : h;
  }

  /** Copies descriptor `index` into the shadow. */
  private copy(index: number): void {
    const lo = this.guestDword(index * 8);
    const hi = this.guestDword(index * 8 + 4);
    const at = this.base + index * 8;
    const mem = this.parts.hostMem;
    if (lo === null || hi === null) {
      mem.write32(at, 0);
      mem.write32(at + 4, 0);
    } else {
      mem.write32(at, lo);
      mem.write32(at + 4, this.shadowHigh(index, hi));
    }
    this.parts.work.shadowEntryWrites++;
  }
}
