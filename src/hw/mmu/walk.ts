/**
 * The pure i386 page walker (Intel SDM vol. 3, 4.3 and 4.6): reads the paging structures
 * through a reader and reports what it found. It changes nothing; setting accessed and dirty
 * bits is a separate step (`setAccessedDirty`) because only the hardware's own walk does it.
 * Shared by the CPU's TLB-miss path, the hypervisor's guest walks, the tests and front-ends.
 * Not modelled: PAE, PSE-36, reserved-bit (RSVD) faults, NX, SMEP/SMAP.
 */
import { FRAME_MASK, LARGE_PAGE_MASK, PfError, Pte } from '../x86/paging.ts';

export interface PhysReader {
  read32(pa: number): number;
}
export interface PhysWriter {
  write32(pa: number, value: number): void;
}

/** Access kind bits, combined with | */
export const Access = { READ: 0, WRITE: 1, USER: 2, FETCH: 4 } as const;

/** What one walk saw. Reused across walks on hot paths (no allocation per walk). */
export class WalkRecord {
  linear = 0;
  /** Physical address of the PDE and its value. */
  pdeAddr = 0;
  pde = 0;
  /** Physical address of the PTE and its value; -1 when the PDE maps a 4 MiB page or is absent. */
  pteAddr = -1;
  pte = 0;
  /** True when the translation ends in a present leaf. */
  present = false;
  /** True for a 4 MiB page (CR4.PSE=1 and PDE.PS=1). */
  large = false;
  /** Physical address the linear address translates to (valid when present). */
  physical = 0;
  /** Effective U/S and R/W: the AND over the levels (SDM vol. 3, 4.6.1). */
  user = false;
  writable = false;
  /** The leaf entry's global bit (only meaningful with CR4.PGE=1). */
  global = false;
  /** Number of paging-structure reads the walk made (for cost accounting). */
  reads = 0;
}

/** Walks the two-level tables rooted at cr3 for `linear`. Contract: fills `out`, returns out.present. */
export function walk(mem: PhysReader, cr3: number, pse: boolean, linear: number, out: WalkRecord): boolean {
  out.linear = linear;
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
 * The page-fault error code this access would raise after `walk`, or -1 if it is allowed.
 * SDM vol. 3, 4.6: user accesses need U/S=1 (and R/W=1 to write) at every level; supervisor
 * writes to read-only pages fault only when CR0.WP=1; fetches are reads (no NX here).
 * `access` is a combination of Access bits; Access.USER means CPL 3 and not an implicit
 * supervisor access (descriptor-table and TSS references are supervisor accesses at any CPL).
 */
export function accessFault(rec: WalkRecord, access: number, wp: boolean): number {
  const write = (access & Access.WRITE) !== 0;
  const user = (access & Access.USER) !== 0;
  const code = (write ? PfError.W : 0) | (user ? PfError.U : 0);
  if (!rec.present) return code;
  if (user) {
    if (!rec.user || (write && !rec.writable)) return code | PfError.P;
  } else if (write && wp && !rec.writable) {
    return code | PfError.P;
  }
  return -1;
}

/**
 * The hardware's side effect of a successful translation (SDM vol. 3, 4.8): set A in every
 * entry used, and D in the leaf on a write. Writes only entries that change; returns how many.
 */
export function setAccessedDirty(mem: PhysWriter, rec: WalkRecord, write: boolean): number {
  let writes = 0;
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
