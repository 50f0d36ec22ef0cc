/**
 * 32-bit paging structures (Intel SDM vol. 3, 4.3).
 *
 *  linear address (4 KiB page)         linear address (4 MiB page, CR4.PSE=1, PDE.PS=1)
 *  31        22 21        12 11     0   31        22 21                     0
 * +------------+------------+--------+ +------------+------------------------+
 * | dir index  | table index| offset | | dir index  |        offset          |
 * +------------+------------+--------+ +------------+------------------------+
 *
 *  PDE / PTE
 *  31                    12 11  9  8   7   6   5   4   3   2   1   0
 * +------------------------+-----+---+---+---+---+---+---+---+---+---+
 * | frame address          | avl | G |PS | D | A |PCD|PWT|U/S|R/W| P |
 * +------------------------+-----+---+---+---+---+---+---+---+---+---+
 *  (PS only in a PDE; G only in a PTE or a 4 MiB PDE; D only in a leaf)
 */
export const Pte = {
  P: 1 << 0,
  RW: 1 << 1,
  US: 1 << 2,
  PWT: 1 << 3,
  PCD: 1 << 4,
  A: 1 << 5,
  D: 1 << 6,
  PS: 1 << 7,
  G: 1 << 8,
} as const;

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
export const PAGE_MASK = 0xfff;
export const FRAME_MASK = ~0xfff;
export const LARGE_PAGE_MASK = ~0x3fffff;

/**
 * Page-fault error code (SDM vol. 3, 4.7).
 *  bit 0 P: 0 = not-present page, 1 = protection violation
 *  bit 1 W/R: the access was a write
 *  bit 2 U/S: the access was a user-mode access (CPL 3, not an implicit supervisor access)
 *  bit 3 RSVD, bit 4 I/D: not produced by 32-bit paging without PAE/NX
 */
export const PfError = {
  P: 1 << 0,
  W: 1 << 1,
  U: 1 << 2,
} as const;

export function directoryIndex(linear: number): number {
  return linear >>> 22;
}

export function tableIndex(linear: number): number {
  return (linear >>> 12) & 0x3ff;
}
