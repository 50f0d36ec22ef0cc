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

/**
 * PAE paging structures (SDM vol. 3, 4.4): 64-bit entries, held here as two 32-bit halves. The
 * low half has the 32-bit layout above (frame bits 31:12, flags 11:0; in a 4 KiB PTE bit 7 is
 * PAT, in a 2 MiB PDE bit 12 is PAT); the high half holds physical-address bits 35:32 (our
 * MAXPHYADDR is 36) and XD in bit 63.
 *
 *  linear address (PAE)
 *  31 30 29        21 20        12 11          0
 * +-----+------------+------------+-------------+
 * |PDPTE| dir index  | table index|   offset    |   (2 MiB page: bits 20:0 are the offset)
 * +-----+------------+------------+-------------+
 *
 *  high half of a PDE/PTE              PDPTE (loaded into the PDPTE registers on MOV CR3)
 *  63  62      36 35       32          bits 2:1, 8:5 and 63:36 reserved; no U/S, R/W, A, XD
 * +--+-----------+----------+
 * |XD| reserved  | addr hi  |
 * +--+-----------+----------+
 */
export const Pae = {
  /** Execute-disable, bit 63: bit 31 of the high half (reserved when IA32_EFER.NXE = 0). */
  XD_HI: 1 << 31,
  /** Physical-address bits 35:32 in the high half. */
  ADDR_HI: 0xf,
  /** High-half bits 62:36, reserved in every PAE entry (MAXPHYADDR = 36). */
  RSVD_HI: 0x7ffffff0,
  /** Reserved low bits of a present PDPTE: 2:1 and 8:5. */
  PDPTE_RSVD_LO: 0x1e6,
  /** Reserved low bits of a 2 MiB PDE: 20:13 (bit 12 is PAT). */
  LARGE_RSVD_LO: 0x1fe000,
  LARGE_PAGE_MASK: ~0x1fffff,
  /** 4 KiB PTE bit 7: PAT (not PS). */
  PAT: 1 << 7,
  /** 2 MiB PDE bit 12: PAT. */
  LARGE_PAT: 1 << 12,
} as const;

/**
 * The physical-address width (SDM vol. 3, 4.1.4): CPUID leaf 0x80000008 is not implemented,
 * so a processor that reports PAE has MAXPHYADDR = 36 (the classic PAE value).
 */
export const MAXPHYADDR = 36;

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
 *  bit 3 RSVD: a present entry had a reserved bit set (PAE paging; P is then 1)
 *  bit 4 I/D: the access was an instruction fetch, and CR4.SMEP = 1 or (CR4.PAE = 1 and
 *        IA32_EFER.NXE = 1); 0 otherwise, whatever the access rights
 */
export const PfError = {
  P: 1 << 0,
  W: 1 << 1,
  U: 1 << 2,
  RSVD: 1 << 3,
  I: 1 << 4,
} as const;

export function directoryIndex(linear: number): number {
  return linear >>> 22;
}

export function tableIndex(linear: number): number {
  return (linear >>> 12) & 0x3ff;
}
