/**
 * The pure page walker (Intel SDM vol. 3, 4.3 32-bit paging, 4.4 PAE paging, 4.6 access rights):
 * reads the paging structures through a reader and reports what it found. It changes nothing;
 * setting accessed and dirty bits is a separate step (`setAccessedDirty`) because only the
 * hardware's own walk does it. Shared by the CPU's TLB-miss path, the hypervisor's guest walks,
 * the tests and front-ends. PAE: 64-bit entries, 2 MiB pages, reserved bits (RSVD faults), XD
 * with IA32_EFER.NXE, physical addresses up to MAXPHYADDR = 36 bits; the PDPTEs come from the
 * CPU's PDPTE registers, loaded on MOV to CR3 (and CR0/CR4), never from memory during a walk.
 * Access rights include SMEP and SMAP. Not modelled: PSE-36 and reserved bits of 32-bit 4 MiB
 * PDEs (bits 21:13 are ignored), protection keys, 4-level paging.
 */
import { Cr4, Efer } from '../x86/control-registers.ts';
import { FRAME_MASK, LARGE_PAGE_MASK, Pae, PfError, Pte } from '../x86/paging.ts';

export interface PhysReader {
  read32(pa: number): number;
}
export interface PhysWriter {
  write32(pa: number, value: number): void;
}

/**
 * Access kind bits, combined with |. IMPLICIT: a supervisor-mode access the processor makes on
 * its own (GDT, LDT, IDT, TSS; SDM vol. 3, 4.6): SMAP forbids it on user pages whatever EFLAGS.AC.
 */
export const Access = { READ: 0, WRITE: 1, USER: 2, FETCH: 4, IMPLICIT: 8 } as const;

/** The controls access rights depend on besides CR0.WP (accessFault's `rules`). */
export const Rule = {
  /** CR4.SMEP */
  SMEP: 1,
  /** CR4.SMAP */
  SMAP: 2,
  /** EFLAGS.AC (lifts SMAP for explicit supervisor accesses) */
  AC: 4,
  /** IA32_EFER.NXE (for the I/D bit of the error code) */
  NXE: 8,
} as const;

/** What the walker needs of a processor's paging state (a Cpu has these fields). */
export interface PagingState {
  readonly cr3: number;
  readonly cr4: number;
  readonly efer: number;
  /** The PDPTE registers (PAE): entry k's low half at 2k, high half at 2k+1. */
  readonly pdpte: Int32Array;
}

const TWO32 = 4294967296;

/** A 32-bit entry at physical `pa`; nothing decodes addresses at or above 4 GiB: they read as all ones. */
function entryAt(mem: PhysReader, pa: number): number {
  return pa < TWO32 ? mem.read32(pa) : -1;
}

/** What one walk saw. Reused across walks on hot paths (no allocation per walk). */
export class WalkRecord {
  linear = 0;
  /** PAE paging: entries are 64 bits (the *Hi fields hold their high halves). */
  pae = false;
  /** PAE: the PDPTE register used (low and high half); 0 with 32-bit paging. */
  pdpte = 0;
  pdpteHi = 0;
  /** Physical address of the PDE and its value (its low half under PAE); pdeAddr is -1 when the PDPTE is absent. */
  pdeAddr = 0;
  pde = 0;
  pdeHi = 0;
  /** Physical address of the PTE and its value; -1 when the PDE maps a large page or is absent. */
  pteAddr = -1;
  pte = 0;
  pteHi = 0;
  /** True when the translation ends in a present leaf. */
  present = false;
  /**
   * True when the walk stopped at a present entry with a reserved bit set (PAE; SDM vol. 3,
   * 4.7: the fault has P=1 and RSVD=1). `present` is then false.
   */
  rsvd = false;
  /** True for a large page: 4 MiB (CR4.PSE=1 and PDE.PS=1) or, under PAE, 2 MiB (PDE.PS=1). */
  large = false;
  /**
   * Physical address the linear address translates to (valid when present). Under PAE it may
   * be at or above 4 GiB (up to MAXPHYADDR bits), where this PC decodes nothing.
   */
  physical = 0;
  /** Effective U/S and R/W: the AND over the levels (SDM vol. 3, 4.6.1). */
  user = false;
  writable = false;
  /** No level has XD=1 (with IA32_EFER.NXE=1; always true for 32-bit paging or NXE=0). */
  executable = true;
  /** The leaf entry's global bit (only meaningful with CR4.PGE=1). */
  global = false;
  /** Number of paging-structure reads the walk made (for cost accounting). */
  reads = 0;
}

/** Walks the two-level tables rooted at cr3 for `linear`. Contract: fills `out`, returns out.present. */
export function walk(mem: PhysReader, cr3: number, pse: boolean, linear: number, out: WalkRecord): boolean {
  out.linear = linear;
  out.pae = false;
  out.pdpte = out.pdpteHi = out.pdeHi = out.pteHi = 0;
  out.rsvd = false;
  out.executable = true;
  out.pdeAddr = ((cr3 & FRAME_MASK) | ((linear >>> 20) & 0xffc)) >>> 0;
  const pde = mem.read32(out.pdeAddr);
  out.pde = pde;
  out.pteAddr = -1;
  out.pte = 0;
  out.reads = 1;
  out.large = false;
  if ((pde & Pte.P) === 0) {
    out.present = false;
    return false;
  }
  if (pse && (pde & Pte.PS) !== 0) {
    out.large = true;
    out.present = true;
    out.physical = ((pde & LARGE_PAGE_MASK) | (linear & ~LARGE_PAGE_MASK)) >>> 0;
    out.user = (pde & Pte.US) !== 0;
    out.writable = (pde & Pte.RW) !== 0;
    out.global = (pde & Pte.G) !== 0;
    return true;
  }
  out.pteAddr = ((pde & FRAME_MASK) | ((linear >>> 10) & 0xffc)) >>> 0;
  const pte = mem.read32(out.pteAddr);
  out.pte = pte;
  out.reads = 2;
  if ((pte & Pte.P) === 0) {
    out.present = false;
    return false;
  }
  out.present = true;
  out.physical = ((pte & FRAME_MASK) | (linear & 0xfff)) >>> 0;
  out.user = (pde & pte & Pte.US) !== 0;
  out.writable = (pde & pte & Pte.RW) !== 0;
  out.global = (pte & Pte.G) !== 0;
  return true;
}

/**
 * Walks the PAE structures for `linear` (SDM vol. 3, 4.4.2): the PDPTE register for bits 31:30,
 * then a 64-bit PDE (PS=1: a 2 MiB page, whatever CR4.PSE) and a 64-bit PTE. A present entry
 * with a reserved bit set stops the walk with rec.rsvd (bits 62:MAXPHYADDR; bit 63 unless
 * `nxe`; bits 20:13 of a 2 MiB PDE). The PDPTE registers hold only entries that passed their
 * own reserved-bit check when they were loaded. Contract: fills `out`, returns out.present.
 */
export function walkPae(mem: PhysReader, pdpte: Int32Array, nxe: boolean, linear: number, out: WalkRecord): boolean {
  out.linear = linear;
  out.pae = true;
  out.present = false;
  out.rsvd = false;
  out.large = false;
  out.reads = 0;
  out.pde = out.pdeHi = out.pte = out.pteHi = 0;
  out.pdeAddr = out.pteAddr = -1;
  const k = (linear >>> 30) << 1;
  const plo = pdpte[k]!;
  const phi = pdpte[k + 1]!;
  out.pdpte = plo;
  out.pdpteHi = phi;
  if ((plo & Pte.P) === 0) return false;
  const rsvdHi = nxe ? Pae.RSVD_HI : Pae.RSVD_HI | Pae.XD_HI;
  out.pdeAddr = (phi & Pae.ADDR_HI) * TWO32 + ((plo & FRAME_MASK) >>> 0) + ((linear >>> 21) & 0x1ff) * 8;
  const pde = entryAt(mem, out.pdeAddr);
  const pdeHi = entryAt(mem, out.pdeAddr + 4);
  out.pde = pde;
  out.pdeHi = pdeHi;
  out.reads = 1;
  if ((pde & Pte.P) === 0) return false;
  const large = (pde & Pte.PS) !== 0;
  if ((pdeHi & rsvdHi) !== 0 || (large && (pde & Pae.LARGE_RSVD_LO) !== 0)) {
    out.rsvd = true;
    return false;
  }
  const xd = nxe && pdeHi < 0;
  if (large) {
    out.large = true;
    out.present = true;
    out.physical = (pdeHi & Pae.ADDR_HI) * TWO32 + ((pde & Pae.LARGE_PAGE_MASK) >>> 0) + (linear & 0x1fffff);
    out.user = (pde & Pte.US) !== 0;
    out.writable = (pde & Pte.RW) !== 0;
    out.global = (pde & Pte.G) !== 0;
    out.executable = !xd;
    return true;
  }
  out.pteAddr = (pdeHi & Pae.ADDR_HI) * TWO32 + ((pde & FRAME_MASK) >>> 0) + ((linear >>> 12) & 0x1ff) * 8;
  const pte = entryAt(mem, out.pteAddr);
  const pteHi = entryAt(mem, out.pteAddr + 4);
  out.pte = pte;
  out.pteHi = pteHi;
  out.reads = 2;
  if ((pte & Pte.P) === 0) return false;
  if ((pteHi & rsvdHi) !== 0) {
    out.rsvd = true;
    return false;
  }
  out.present = true;
  out.physical = (pteHi & Pae.ADDR_HI) * TWO32 + ((pte & FRAME_MASK) >>> 0) + (linear & 0xfff);
  out.user = (pde & pte & Pte.US) !== 0;
  out.writable = (pde & pte & Pte.RW) !== 0;
  out.global = (pte & Pte.G) !== 0;
  out.executable = !xd && !(nxe && pteHi < 0);
  return true;
}

/**
 * Walks with the paging structures `state` selects: PAE paging when CR4.PAE=1 (the caller
 * knows CR0.PG=1), else 32-bit paging with CR4.PSE.
 */
export function walkPaging(mem: PhysReader, state: PagingState, linear: number, out: WalkRecord): boolean {
  if ((state.cr4 & Cr4.PAE) !== 0) return walkPae(mem, state.pdpte, (state.efer & Efer.NXE) !== 0, linear, out);
  return walk(mem, state.cr3, (state.cr4 & Cr4.PSE) !== 0, linear, out);
}

/** The Rule bits of a processor's state: CR4.SMEP/SMAP, IA32_EFER.NXE, and EFLAGS.AC from `eflags`. */
export function pagingRules(state: PagingState, eflags: number): number {
  let rules = 0;
  if ((state.cr4 & Cr4.SMEP) !== 0) rules |= Rule.SMEP;
  if ((state.cr4 & Cr4.SMAP) !== 0) rules |= Rule.SMAP;
  if ((state.efer & Efer.NXE) !== 0) rules |= Rule.NXE;
  if ((eflags & AC_FLAG) !== 0) rules |= Rule.AC;
  return rules;
}

/** EFLAGS.AC (bit 18). */
const AC_FLAG = 1 << 18;

/**
 * The page-fault error code this access would raise after a walk, or -1 if it is allowed
 * (SDM vol. 3, 4.6.1 and 4.7). `access` combines Access bits: USER means CPL 3 and not an
 * implicit supervisor access (descriptor-table and TSS references are supervisor accesses at
 * any CPL). `rules` combines Rule bits.
 * - User accesses need U/S=1 at every level, R/W=1 to write, and no XD to fetch.
 * - Supervisor fetches need no XD, and (SMEP) a supervisor-mode address.
 * - Supervisor data accesses to user-mode addresses (U/S=1 at every level) fault under SMAP
 *   unless the access is explicit and EFLAGS.AC=1; supervisor writes to read-only addresses
 *   fault when CR0.WP=1.
 * - A reserved bit: P=1 and RSVD=1. I/D is set for a fetch when SMEP, or PAE paging with NXE.
 */
export function accessFault(rec: WalkRecord, access: number, wp: boolean, rules = 0): number {
  const write = (access & Access.WRITE) !== 0;
  const user = (access & Access.USER) !== 0;
  const fetch = (access & Access.FETCH) !== 0;
  let code = (write ? PfError.W : 0) | (user ? PfError.U : 0);
  if (fetch && ((rules & Rule.SMEP) !== 0 || (rec.pae && (rules & Rule.NXE) !== 0))) code |= PfError.I;
  if (rec.rsvd) return code | PfError.P | PfError.RSVD;
  if (!rec.present) return code;
  if (user) {
    if (!rec.user || (write && !rec.writable) || (fetch && !rec.executable)) return code | PfError.P;
  } else if (fetch) {
    if (!rec.executable || (rec.user && (rules & Rule.SMEP) !== 0)) return code | PfError.P;
  } else {
    if (rec.user && (rules & Rule.SMAP) !== 0 && ((access & Access.IMPLICIT) !== 0 || (rules & Rule.AC) === 0)) return code | PfError.P;
    if (write && wp && !rec.writable) return code | PfError.P;
  }
  return -1;
}

/**
 * The hardware's side effect of a successful translation (SDM vol. 3, 4.8): set A in every
 * entry used, and D in the leaf on a write. Writes only entries that change; returns how many.
 * Under PAE A and D are in the low half of a 64-bit entry: the write is of that half only
 * (a locked update of the dword that changes; the high half is never written). PAE PDPTEs
 * have no accessed bit.
 */
export function setAccessedDirty(mem: PhysWriter, rec: WalkRecord, write: boolean): number {
  let writes = 0;
  // Tables above 4 GiB: nothing is there to write (they read as all ones, so no walk gets here).
  if (rec.pdeAddr >= TWO32 || rec.pteAddr >= TWO32) return 0;
  if (rec.large) {
    const want = rec.pde | Pte.A | (write ? Pte.D : 0);
    if (want !== rec.pde) {
      mem.write32(rec.pdeAddr, want);
      rec.pde = want;
      writes++;
    }
    return writes;
  }
  if ((rec.pde & Pte.A) === 0) {
    rec.pde |= Pte.A;
    mem.write32(rec.pdeAddr, rec.pde);
    writes++;
  }
  const want = rec.pte | Pte.A | (write ? Pte.D : 0);
  if (want !== rec.pte) {
    mem.write32(rec.pteAddr, want);
    rec.pte = want;
    writes++;
  }
  return writes;
}

/** True when the leaf entry already has its dirty bit set. */
export function leafDirty(rec: WalkRecord): boolean {
  return ((rec.large ? rec.pde : rec.pte) & Pte.D) !== 0;
}
