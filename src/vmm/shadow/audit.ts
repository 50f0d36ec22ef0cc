/**
 * The shadow audit: checks, from scratch, that every structure the shadow MMU keeps says what
 * the guest's own tables and the pmap say, and that no shadow reaches a frame the VMM owns.
 * It only reads (guest memory through RAM frames, never device windows), so it can run after
 * every exit without changing what the guest sees. Each finding is one sentence naming the
 * entry and the rule it breaks; an empty list means the shadows are sound.
 *
 * Rules (the invariants the shadow MMU's comments promise):
 * - ownership: shadow pages and descriptor-table shadows are VMM frames; resident guest frames
 *   map to GUEST frames one to one (pmap and its inverse agree; another VM's frames are not in
 *   this VM's pmap, so a shadow entry that maps one fails the pmap check); the pager's count of
 *   resident frames is right and within its budget;
 * - the real CR3 holds the active shadow;
 * - a shadow directory entry is present only for a present, accessed guest entry, points at the
 *   shadow of the guest table it names (or of the 4 MiB page), and carries exactly its U/S, R/W;
 * - a shadow table entry is present only for a present, accessed guest entry; it maps
 *   pmap(guest frame), with the guest's U/S, and is writable only if the guest entry is
 *   writable and dirty, the frame is RAM and is not traced; a not-present entry is empty, or
 *   parked: it names the guest frame the guest entry means, and that frame is paged out;
 * - traced frames are exactly the live guest page-table pages: each frame's trace count is the
 *   number of shadows derived from it (directories, tables, descriptor tables), and the guest
 *   memory's trace flags agree;
 * - the backward map lists exactly the present shadow entries (physical-mode ones included),
 *   each under the host frame it maps; the parked map exactly the parked ones, under their
 *   guest frame;
 * - the physical-mode table maps GPA -> pmap(GPA) for resident frames, read-only where traced
 *   or ROM;
 * - the shadow GDT and LDT hold the guest's descriptors in their ring-compressed form (not
 *   present where the guest's SMAP forbids the hardware's implicit read of them);
 * - the real TLB holds nothing the active shadow does not give, and (trap) the real PDPTE
 *   registers hold the active shadow PDPT.
 * PAE shadows (8-byte entries) follow the same rules, and:
 * - the active PDPT's entries are exactly the guest's PDPTE registers: present where theirs
 *   are, each pointing at the shadow of the directory it names under the guest's NXE, P only;
 * - a PAE entry's high half is XD where the guest entry at the same level has XD (under NXE),
 *   else 0; the guest entries a shadow is derived from have no reserved bit set;
 * - a 2 MiB page's shadow entries map its frames one by one, their directory entry carrying its
 *   U/S, R/W and XD.
 */
import type { Cpu } from '../../hw/cpu/cpu.ts';
import { PageKind, type PhysicalMemory } from '../../hw/memory/physical-memory.ts';
import { Cr0, Cr4, Efer } from '../../hw/x86/control-registers.ts';
import { LARGE_PAGE_MASK, Pae, Pte } from '../../hw/x86/paging.ts';
import { TlbBit } from '../../hw/mmu/tlb.ts';
import { WalkRecord, walk, walkPae } from '../../hw/mmu/walk.ts';
import { FrameOwner, type HostFrames } from '../memory/host-frames.ts';
import type { GuestPhysicalMemory } from '../memory/guest-memory.ts';
import type { Pmap } from '../memory/pmap.ts';
import { type ShadowDescriptorTable, TABLE_FRAMES } from './descriptor-tables.ts';
import { ShadowRole, type ShadowPage } from './shadow-page.ts';
import { PARKED, ShadowMmu } from './shadow-mmu.ts';
import type { GuestPager } from '../memory/pager.ts';
import type { Tracer } from './tracer.ts';

// Local copies of the constants: the audit runs after every exit in tests, over every entry.
const { P: PTE_P, RW: PTE_RW, US: PTE_US, A: PTE_A, D: PTE_D, PS: PTE_PS } = Pte;
const { RAM: KIND_RAM, ROM: KIND_ROM, NONE: KIND_NONE } = PageKind;
const { VMM: OWNER_VMM, GUEST: OWNER_GUEST } = FrameOwner;

/** One broken invariant, as a sentence. */
export type ShadowAuditFinding = string;

export interface AuditedVm {
  readonly hostMem: PhysicalMemory;
  readonly guestMem: GuestPhysicalMemory;
  readonly frames: HostFrames;
  readonly pmap: Pmap;
  readonly pager: GuestPager;
  readonly tracer: Tracer;
  readonly mmu: ShadowMmu;
  readonly vcpu: Cpu;
  /** The CR3 the hardware runs this guest with (the real CPU's, or its VMCB's). */
  readonly realCr3: number;
  /** The shadow GDT and LDT (trap), or none (hw: the CPU reads the guest's own). */
  readonly descriptorTables: readonly ShadowDescriptorTable[];
  /** The hardware whose TLB holds translations of the active shadow (the host's real CPU). */
  readonly real: Cpu;
  /** The real CPU's PDPTE registers hold the active shadow PDPT's (trap; hw loads them at each VMRUN). */
  readonly realPdptesLoaded: boolean;
}

/** Stop collecting after this many findings (one broken rule tends to repeat). */
const MAX_FINDINGS = 20;

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

export function auditShadows(vm: AuditedVm): ShadowAuditFinding[] {
  const out: ShadowAuditFinding[] = [];
  const report = (finding: string) => {
    if (out.length < MAX_FINDINGS) out.push(finding);
  };
  auditOwnership(vm, report);
  auditActive(vm, report);
  const counts = { present: 0, parked: 0 };
  auditPages(vm, counts, report);
  auditReverseMap(vm, counts, report);
  auditTracing(vm, report);
  auditRealTlb(vm, report);
  vm.descriptorTables.forEach((table, k) => {
    auditDescriptors(vm, table, k === 0 ? 'GDT' : 'LDT', report);
  });
  return out;
}

type Report = (finding: string) => void;

// Entry names for findings (built only when something is wrong: the audit visits every entry).
const pdeName = (dir: ShadowPage, i: number) => `shadow PDE ${i} of guest directory ${hex(dir.gfn * 4096)}`;
const pteName = (table: ShadowPage, i: number) =>
  `shadow ${table.pae ? 'PAE ' : ''}PTE ${i} of ${table.role === ShadowRole.LARGE ? 'the 4 MiB page at GPA' : table.role === ShadowRole.PAE_LARGE ? 'the 2 MiB page at GPA' : 'guest table'} ${hex(table.gfn * 4096)}`;
const PAE_XD = Pae.XD_HI;
const physName = (gfn: number) => `physical-mode entry for GPA ${hex(gfn * 4096)}`;

function auditOwnership(vm: AuditedVm, report: Report): void {
  const { frames, pmap, mmu } = vm;
  for (const sp of mmu.byFrame.values()) {
    if (frames.owner[sp.frame] !== OWNER_VMM) report(`shadow page at HPA ${hex(sp.frame * 4096)} is not in a VMM-owned frame`);
  }
  for (const table of vm.descriptorTables) {
    for (let k = 0; k < TABLE_FRAMES; k++) {
      if (frames.owner[(table.base >>> 12) + k] !== OWNER_VMM) report(`descriptor-table shadow frame ${hex(table.base + k * 4096)} is not VMM-owned`);
    }
  }
  let resident = 0;
  for (let gfn = 0; gfn < pmap.guestFrames; gfn++) {
    const hfn = pmap.hostFrame[gfn]!;
    if (hfn < 0) continue;
    resident++;
    if (frames.owner[hfn] !== OWNER_GUEST) report(`GPA ${hex(gfn * 4096)} maps to HPA ${hex(hfn * 4096)}, which is not a guest frame`);
    if (pmap.guestFrame[hfn] !== gfn) report(`pmap inverse of HPA ${hex(hfn * 4096)} is not GPA ${hex(gfn * 4096)}`);
  }
  const pager = vm.pager;
  if (resident !== pager.resident) report(`the pager counts ${pager.resident} resident guest frames, the pmap has ${resident}`);
  if (resident > pager.budget) report(`${resident} guest frames are resident, over the budget of ${pager.budget}`);
}

function auditActive(vm: AuditedVm, report: Report): void {
  const { mmu, vcpu, realCr3 } = vm;
  const active = mmu.active;
  if (active === null) {
    report('no shadow is active');
    return;
  }
  if (realCr3 >>> 12 !== active.frame) report(`real CR3 ${hex(realCr3)} is not the active shadow at ${hex(active.frame * 4096)}`);
  const paging = (vcpu.cr0 & Cr0.PG) !== 0;
  const pae = paging && (vcpu.cr4 & Cr4.PAE) !== 0;
  if (!paging && active.role !== ShadowRole.PHYS_DIRECTORY) report('guest paging is off but the active shadow is not the physical-mode table');
  if (paging && !pae && (active.role !== ShadowRole.DIRECTORY || active.gfn !== vcpu.cr3 >>> 12)) {
    report(`the active shadow does not shadow the guest's CR3 ${hex(vcpu.cr3)}`);
  }
  if (pae) {
    if (active.role !== ShadowRole.PDPT) {
      report('guest PAE paging is on but the active shadow is not a PDPT');
      return;
    }
    const nxe = (vcpu.efer & Efer.NXE) !== 0;
    for (let k = 0; k < 4; k++) {
      const lo = vcpu.pdpte[2 * k]!;
      const child = active.children![k]!;
      if ((lo & PTE_P) === 0 || (vcpu.pdpte[2 * k + 1]! & Pae.ADDR_HI) !== 0) {
        if (child !== null) report(`shadow PDPTE ${k} is present but the guest's PDPTE register ${k} is not, or names a directory above 4 GiB`);
        continue;
      }
      if (child === null || child.role !== ShadowRole.PAE_DIRECTORY || child.gfn !== lo >>> 12 || child.nxe !== nxe) {
        report(`shadow PDPTE ${k} does not point at the shadow of guest directory ${hex(lo & ~0xfff)} (NXE ${+nxe})`);
      }
    }
  }
}

/** Guest RAM dword at `gpa`, or null where the frame is not RAM or ROM (never a device read, never a page-in). */
function guestDword(vm: AuditedVm, gpa: number): number | null {
  return vm.guestMem.peek32(gpa);
}

interface EntryCounts {
  present: number;
  parked: number;
}

/** Checks every shadow page, counting present and parked entries (for the backward maps). */
function auditPages(vm: AuditedVm, counts: EntryCounts, report: Report): void {
  const { mmu, hostMem } = vm;
  for (const sp of mmu.byFrame.values()) {
    switch (sp.role) {
      case ShadowRole.DIRECTORY:
        if (mmu.directories.get(ShadowMmu.directoryKey(sp.gfn, sp.pse)) !== sp) report(`shadow directory for GPA ${hex(sp.gfn * 4096)} is not in the cache`);
        auditDirectory(vm, sp, sp.pse, report);
        break;
      case ShadowRole.TABLE:
        if (mmu.tables.get(sp.gfn) !== sp) report(`shadow table for GPA ${hex(sp.gfn * 4096)} is not in the cache`);
        auditTable(vm, sp, counts, report);
        break;
      case ShadowRole.LARGE:
        if (sp.parents.length !== 1) report(`large-page shadow at HPA ${hex(sp.frame * 4096)} has ${sp.parents.length} directory entries (one expected)`);
        auditTable(vm, sp, counts, report);
        break;
      case ShadowRole.PHYS_DIRECTORY:
        if (mmu.physDirectory !== sp) report('a second physical-mode directory exists');
        break;
      case ShadowRole.PHYS_TABLE:
        auditPhysTable(vm, sp, counts, report);
        break;
      case ShadowRole.PDPT:
        if (mmu.pdpt !== sp) report('a second shadow PDPT exists');
        auditPdpt(vm, sp, report);
        break;
      case ShadowRole.PAE_DIRECTORY:
        if (mmu.paeDirectories.get(ShadowMmu.paeKey(sp.gfn, sp.nxe)) !== sp) report(`PAE shadow directory for GPA ${hex(sp.gfn * 4096)} is not in the cache`);
        auditPaeDirectory(vm, sp, report);
        break;
      case ShadowRole.PAE_TABLE:
        if (mmu.paeTables.get(ShadowMmu.paeKey(sp.gfn, sp.nxe)) !== sp) report(`PAE shadow table for GPA ${hex(sp.gfn * 4096)} is not in the cache`);
        auditTable(vm, sp, counts, report);
        break;
      case ShadowRole.PAE_LARGE:
        if (sp.parents.length !== 1) report(`2 MiB-page shadow at HPA ${hex(sp.frame * 4096)} has ${sp.parents.length} directory entries (one expected)`);
        auditTable(vm, sp, counts, report);
        break;
    }
  }
  const phys = mmu.physDirectory;
  if (phys !== null) {
    for (let i = 0; i < 1024; i++) {
      const child = phys.children![i]!;
      const e = hostMem.i32[phys.entryAddress(i) >>> 2]!;
      const expected = child === null ? 0 : (child.frame << 12) | PTE_P | PTE_A | PTE_US | PTE_RW;
      if (e !== expected) report(`physical-mode directory entry ${i} is ${hex(e)}, expected ${hex(expected)}`);
    }
  }
}

/**
 * A not-present entry: empty, or parked for guest frame `gfn` (the one the guest entry means),
 * which must then be paged out and the entry listed in the parked map. Returns 1 if parked.
 */
function auditNotPresent(vm: AuditedVm, e: number, addr: number, gfn: number, name: () => string, report: Report): number {
  if (e === 0) return 0;
  if ((e & PARKED) === 0) {
    report(`not-present ${name()} holds ${hex(e)}`);
    return 0;
  }
  if (e >>> 12 !== gfn) report(`${name()} is parked for GPA ${hex((e >>> 12) * 4096)}, but the guest entry means GPA ${hex(gfn * 4096)}`);
  if (vm.pmap.hostFrame[e >>> 12]! >= 0) report(`${name()} is parked, but GPA ${hex((e >>> 12) * 4096)} is resident`);
  if (!vm.mmu.parked.of(e >>> 12).includes(addr)) report(`${name()} is parked but missing from the parked map`);
  return 1;
}

function auditDirectory(vm: AuditedVm, dir: ShadowPage, pse: boolean, report: Report): void {
  const i32 = vm.hostMem.i32;
  for (let i = 0; i < 1024; i++) {
    const e = i32[dir.entryAddress(i) >>> 2]!;
    const child = dir.children![i]!;
    if (child === null) {
      if (e !== 0) report(`${pdeName(dir, i)} is ${hex(e)} with no shadow table`);
      continue;
    }
    if (!child.parents.some((p) => p.directory === dir && p.index === i)) report(`${pdeName(dir, i)}: its table does not list it as a parent`);
    const pde = guestDword(vm, dir.gfn * 4096 + i * 4);
    if (pde === null || (pde & PTE_P) === 0) {
      report(`${pdeName(dir, i)} is present but the guest entry is not`);
      continue;
    }
    if ((pde & PTE_A) === 0) report(`${pdeName(dir, i)} is present but the guest entry's accessed bit is clear`);
    const expected = (child.frame << 12) | PTE_P | PTE_A | (pde & (PTE_US | PTE_RW));
    if (e !== expected) report(`${pdeName(dir, i)} is ${hex(e)}, expected ${hex(expected)} (guest ${hex(pde)})`);
    const large = pse && (pde & PTE_PS) !== 0;
    if (large) {
      if (child.role !== ShadowRole.LARGE || child.gfn !== (pde & LARGE_PAGE_MASK) >>> 12) report(`${pdeName(dir, i)} does not point at the shadow of the guest's 4 MiB page`);
    } else if (child.role !== ShadowRole.TABLE || child.gfn !== pde >>> 12) {
      report(`${pdeName(dir, i)} does not point at the shadow of guest table ${hex(pde & ~0xfff)}`);
    }
  }
}

/** Reserved bits of a PAE entry's high half (bit 63 too without NXE). */
const paeRsvdHi = (nxe: boolean) => (nxe ? Pae.RSVD_HI : Pae.RSVD_HI | Pae.XD_HI);

/** A table or large-page shadow (32-bit or PAE). */
function auditTable(vm: AuditedVm, table: ShadowPage, counts: EntryCounts, report: Report): void {
  const { hostMem, pmap, frames, tracer, mmu, guestMem } = vm;
  const i32 = hostMem.i32;
  const large = table.role === ShadowRole.LARGE || table.role === ShadowRole.PAE_LARGE;
  const pae = table.pae;
  const stride = pae ? 8 : 4;
  for (let i = 0; i < table.size; i++) {
    const addr = table.entryAddress(i);
    const e = i32[addr >>> 2]!;
    const hi = pae ? i32[(addr >>> 2) + 1]! : 0;
    // PAE: the high half is the guest leaf's XD (a large page's XD is on its directory entry).
    if (pae && e !== 0) {
      const pteHi = large ? 0 : guestDword(vm, table.gfn * 4096 + i * 8 + 4);
      const expectedHi = table.nxe && pteHi !== null && pteHi < 0 ? PAE_XD : 0;
      if (hi !== expectedHi) report(`${pteName(table, i)} has high half ${hex(hi)}, expected ${hex(expectedHi)}`);
    } else if (pae && hi !== 0) report(`empty ${pteName(table, i)} has high half ${hex(hi)}`);
    if ((e & PTE_P) === 0) {
      if (e === 0) continue;
      const pte = large ? null : guestDword(vm, table.gfn * 4096 + i * stride);
      const gfn = large ? table.gfn + i : pte === null ? -1 : pte >>> 12;
      counts.parked += auditNotPresent(vm, e, addr, gfn, () => pteName(table, i), report);
      continue;
    }
    counts.present++;
    let gfn: number;
    let leafWritable: boolean;
    let leafDirty: boolean;
    let user: boolean;
    if (large) {
      gfn = table.gfn + i;
      const parent = table.parents[0];
      const pde = parent === undefined ? null : guestDword(vm, parent.directory.gfn * 4096 + parent.index * stride);
      if (pde === null) {
        report(`${pteName(table, i)} has no guest directory entry`);
        continue;
      }
      leafWritable = true; // the directory entry's R/W is checked on the shadow PDE
      leafDirty = (pde & PTE_D) !== 0;
      user = true;
      if ((pde & PTE_A) === 0) report(`${pteName(table, i)} is present but the guest's large-page entry is not accessed`);
    } else {
      const pte = guestDword(vm, table.gfn * 4096 + i * stride);
      if (pte === null || (pte & PTE_P) === 0) {
        report(`${pteName(table, i)} is present but the guest entry is not`);
        continue;
      }
      if (pae) {
        const pteHi = guestDword(vm, table.gfn * 4096 + i * 8 + 4) ?? 0;
        if ((pteHi & paeRsvdHi(table.nxe)) !== 0) report(`${pteName(table, i)} is present but the guest entry has reserved bits (${hex(pteHi)}:${hex(pte)})`);
        if ((pteHi & Pae.ADDR_HI) !== 0) report(`${pteName(table, i)} is present but the guest entry maps above 4 GiB`);
      }
      if ((pte & PTE_A) === 0) report(`${pteName(table, i)} is present but the guest entry's accessed bit is clear`);
      gfn = pte >>> 12;
      leafWritable = (pte & PTE_RW) !== 0;
      leafDirty = (pte & PTE_D) !== 0;
      user = (pte & PTE_US) !== 0;
    }
    const hfn = e >>> 12;
    if (frames.owner[hfn] !== OWNER_GUEST) {
      report(`${pteName(table, i)} maps HPA ${hex(hfn * 4096)}, which is not a guest frame`);
      continue;
    }
    if (gfn >= pmap.guestFrames || pmap.hostFrame[gfn] !== hfn) report(`${pteName(table, i)} maps HPA ${hex(hfn * 4096)}, but the guest entry means GPA ${hex(gfn * 4096)}`);
    if (((e & PTE_US) !== 0) !== user) report(`${pteName(table, i)} has U/S ${(e & PTE_US) !== 0 ? 1 : 0}, the guest ${user ? 1 : 0}`);
    if ((e & PTE_RW) !== 0) {
      if (!leafWritable || !leafDirty) report(`${pteName(table, i)} is writable but the guest entry is not writable and dirty`);
      if (gfn < pmap.guestFrames && guestMem.pageKind[gfn] !== KIND_RAM) report(`${pteName(table, i)} makes non-RAM GPA ${hex(gfn * 4096)} writable`);
      if (tracer.isTraced(gfn)) report(`${pteName(table, i)} makes traced GPA ${hex(gfn * 4096)} writable`);
    }
    if (!mmu.rmap.of(hfn).includes(addr)) report(`${pteName(table, i)} is missing from the backward map of HPA ${hex(hfn * 4096)}`);
  }
}

function auditPhysTable(vm: AuditedVm, table: ShadowPage, counts: EntryCounts, report: Report): void {
  const { hostMem, pmap, guestMem, tracer, mmu } = vm;
  for (let i = 0; i < 1024; i++) {
    const gfn = table.gfn + i;
    const addr = table.entryAddress(i);
    const e = hostMem.i32[addr >>> 2]!;
    const kind = gfn < pmap.guestFrames ? guestMem.pageKind[gfn] : KIND_NONE;
    if (kind !== KIND_RAM && kind !== KIND_ROM) {
      if (e !== 0) report(`${physName(gfn)} is ${hex(e)} but the frame is no memory`);
      continue;
    }
    if ((e & PTE_P) === 0) {
      counts.parked += auditNotPresent(vm, e, addr, gfn, () => physName(gfn), report);
      continue;
    }
    counts.present++;
    if (e >>> 12 !== pmap.hostFrame[gfn]) report(`${physName(gfn)} maps HPA ${hex(e & ~0xfff)}, the pmap says ${hex(pmap.hostFrame[gfn]! * 4096)}`);
    if ((e & PTE_RW) !== 0 && (kind !== KIND_RAM || tracer.isTraced(gfn))) report(`${physName(gfn)} is writable but the frame is ${kind === KIND_RAM ? 'traced' : 'ROM'}`);
    if (!mmu.rmap.of(e >>> 12).includes(addr)) report(`${physName(gfn)} is missing from the backward map of HPA ${hex(e & ~0xfff)}`);
  }
}

/** A shadow PDPT: each entry P and its PAE directory's frame, or empty (the active one is checked against the guest in auditActive). */
function auditPdpt(vm: AuditedVm, pdpt: ShadowPage, report: Report): void {
  const i32 = vm.hostMem.i32;
  for (let k = 0; k < 4; k++) {
    const child = pdpt.children![k]!;
    const lo = i32[pdpt.entryAddress(k) >>> 2]!;
    const hi = i32[(pdpt.entryAddress(k) >>> 2) + 1]!;
    const expected = child === null ? 0 : (child.frame << 12) | PTE_P;
    if (lo !== expected || hi !== 0) report(`shadow PDPTE ${k} is ${hex(hi)}:${hex(lo)}, expected 0:${hex(expected)}`);
    if (child !== null && !child.parents.some((p) => p.directory === pdpt && p.index === k)) report(`shadow PDPTE ${k}: its directory does not list it as a parent`);
  }
}

/** A PAE shadow directory against the guest's 64-bit PDEs. */
function auditPaeDirectory(vm: AuditedVm, dir: ShadowPage, report: Report): void {
  const i32 = vm.hostMem.i32;
  const name = (i: number) => `shadow PAE PDE ${i} of guest directory ${hex(dir.gfn * 4096)}`;
  for (let i = 0; i < 512; i++) {
    const addr = dir.entryAddress(i);
    const e = i32[addr >>> 2]!;
    const hi = i32[(addr >>> 2) + 1]!;
    const child = dir.children![i]!;
    if (child === null) {
      if (e !== 0 || hi !== 0) report(`${name(i)} is ${hex(hi)}:${hex(e)} with no shadow table`);
      continue;
    }
    if (!child.parents.some((p) => p.directory === dir && p.index === i)) report(`${name(i)}: its table does not list it as a parent`);
    const pde = guestDword(vm, dir.gfn * 4096 + i * 8);
    const pdeHi = guestDword(vm, dir.gfn * 4096 + i * 8 + 4) ?? 0;
    if (pde === null || (pde & PTE_P) === 0) {
      report(`${name(i)} is present but the guest entry is not`);
      continue;
    }
    if ((pde & PTE_A) === 0) report(`${name(i)} is present but the guest entry's accessed bit is clear`);
    const large = (pde & PTE_PS) !== 0;
    if ((pdeHi & paeRsvdHi(dir.nxe)) !== 0 || (pdeHi & Pae.ADDR_HI) !== 0 || (large && (pde & Pae.LARGE_RSVD_LO) !== 0)) {
      report(`${name(i)} is present but the guest entry has reserved bits or an address above 4 GiB (${hex(pdeHi)}:${hex(pde)})`);
    }
    const expected = (child.frame << 12) | PTE_P | PTE_A | (pde & (PTE_US | PTE_RW));
    const expectedHi = dir.nxe && pdeHi < 0 ? PAE_XD : 0;
    if (e !== expected || hi !== expectedHi) report(`${name(i)} is ${hex(hi)}:${hex(e)}, expected ${hex(expectedHi)}:${hex(expected)} (guest ${hex(pdeHi)}:${hex(pde)})`);
    if (child.nxe !== dir.nxe) report(`${name(i)} points at a shadow built for another NXE`);
    if (large) {
      if (child.role !== ShadowRole.PAE_LARGE || child.gfn !== (pde & Pae.LARGE_PAGE_MASK) >>> 12) report(`${name(i)} does not point at the shadow of the guest's 2 MiB page`);
    } else if (child.role !== ShadowRole.PAE_TABLE || child.gfn !== pde >>> 12) {
      report(`${name(i)} does not point at the shadow of guest table ${hex(pde & ~0xfff)}`);
    }
  }
}

/**
 * The real CPU's TLB caches only what the active shadow says: every entry's frame is the one
 * the shadow maps, and it allows no more than the shadow (writes only through writable shadow
 * entries, user accesses only through user ones, fetches not through XD) — so a shadow entry the
 * VMM changed took its TLB entries with it. Under trap, the PDPTE registers hold the shadow PDPT.
 */
function auditRealTlb(vm: AuditedVm, report: Report): void {
  const root = vm.mmu.active;
  if (root === null) return;
  const mem = vm.hostMem;
  const pae = root.role === ShadowRole.PDPT;
  const pdpte = new Int32Array(8);
  for (let k = 0; k < 8 && pae; k++) pdpte[k] = mem.i32[(root.frame * 4096 + 4 * k) >>> 2]!;
  if (pae && vm.realPdptesLoaded) {
    for (let k = 0; k < 8; k++) if (vm.real.pdpte[k] !== pdpte[k]) report(`real PDPTE register ${k >> 1} holds ${hex(vm.real.pdpte[k | 1]!)}:${hex(vm.real.pdpte[k & ~1]!)}, the shadow PDPT another value`);
  }
  const rec = new WalkRecord();
  let found = 0;
  vm.real.tlb.forEachEntry((vpn, e) => {
    if (found >= 3) return;
    const lin = vpn * 4096;
    if (pae) walkPae(mem, pdpte, true, lin, rec);
    else walk(mem, root.frame * 4096, false, lin, rec);
    const problem = !rec.present
      ? 'the shadow maps nothing there'
      : rec.physical >>> 12 !== e >>> 12
        ? `the shadow maps HPA ${hex(rec.physical & ~0xfff)}`
        : (e & (TlbBit.WS | TlbBit.WU | TlbBit.WSU)) !== 0 && !rec.writable
          ? 'it allows writes the shadow does not'
          : (e & (TlbBit.RU | TlbBit.WU | TlbBit.XU | TlbBit.WSU)) !== 0 && !rec.user
            ? 'it allows user accesses the shadow does not'
            : (e & (TlbBit.XS | TlbBit.XU)) !== 0 && !rec.executable
              ? 'it allows fetches the shadow does not'
              : '';
    if (problem === '') return;
    found++;
    report(`real TLB entry for GVA ${hex(lin)} (${hex(e)}) is stale: ${problem}`);
  });
}

function auditReverseMap(vm: AuditedVm, counts: EntryCounts, report: Report): void {
  const { mmu, hostMem } = vm;
  if (mmu.rmap.size !== counts.present) report(`the backward map lists ${mmu.rmap.size} entries, the shadows hold ${counts.present} present entries`);
  if (mmu.parked.size !== counts.parked) report(`the parked map lists ${mmu.parked.size} entries, the shadows hold ${counts.parked} parked entries`);
  mmu.rmap.forEachEntry((hfn, addr) => {
    const sp = mmu.byFrame.get(addr >>> 12);
    const e = hostMem.i32[addr >>> 2]!;
    if (sp === undefined || sp.isDirectory) report(`backward map of HPA ${hex(hfn * 4096)} names ${hex(addr)}, not a shadow table entry`);
    else if ((e & PTE_P) === 0 || e >>> 12 !== hfn) report(`backward map of HPA ${hex(hfn * 4096)} names ${hex(addr)}, which holds ${hex(e)}`);
  });
  mmu.parked.forEachEntry((gfn, addr) => {
    const sp = mmu.byFrame.get(addr >>> 12);
    const e = hostMem.i32[addr >>> 2]!;
    if (sp === undefined || sp.isDirectory) report(`parked map of GPA ${hex(gfn * 4096)} names ${hex(addr)}, not a shadow table entry`);
    else if ((e & (PTE_P | PARKED)) !== PARKED || e >>> 12 !== gfn) report(`parked map of GPA ${hex(gfn * 4096)} names ${hex(addr)}, which holds ${hex(e)}`);
  });
}

function auditTracing(vm: AuditedVm, report: Report): void {
  const { mmu, tracer, guestMem } = vm;
  const expected = new Int32Array(tracer.count.length);
  for (const dir of mmu.directories.values()) expected[dir.gfn]!++;
  for (const gfn of mmu.tables.keys()) expected[gfn]!++;
  for (const dir of mmu.paeDirectories.values()) expected[dir.gfn]!++;
  for (const table of mmu.paeTables.values()) expected[table.gfn]!++;
  for (const table of vm.descriptorTables) for (const gfn of table.tracedFrames) if (gfn >= 0 && gfn < expected.length) expected[gfn]!++;
  for (let gfn = 0; gfn < tracer.count.length; gfn++) {
    const count = tracer.count[gfn]!;
    if (count !== expected[gfn]) {
      report(`GPA ${hex(gfn * 4096)} is traced ${count} times, but ${expected[gfn]} shadows are derived from it (traced frames must be exactly the live guest tables)`);
    }
    if ((guestMem.traced[gfn] !== 0) !== count > 0) report(`trace flag of GPA ${hex(gfn * 4096)} disagrees with its trace count`);
  }
}

function auditDescriptors(vm: AuditedVm, table: ShadowDescriptorTable, name: string, report: Report): void {
  if (table.guestLimit < 0) return;
  const host = vm.hostMem;
  for (let t = 0; t + 7 <= table.guestLimit; t += 8) {
    const lo = table.guestDword(t);
    const hi = table.guestDword(t + 4);
    const at = table.base + t;
    const slo = host.read32(at);
    const shi = host.read32(at + 4);
    const expectedHi = lo === null || hi === null ? 0 : table.shadowHigh(t >>> 3, hi);
    const expectedLo = lo === null || hi === null ? 0 : lo;
    // The accessed bit of a natively loaded descriptor is set in the shadow only (a documented leak).
    if (slo !== expectedLo || (shi | 0x100) !== (expectedHi | 0x100)) {
      report(`shadow ${name} descriptor ${t >>> 3} is ${hex(shi)}:${hex(slo)}, expected ${hex(expectedHi)}:${hex(expectedLo)}`);
    }
  }
}
