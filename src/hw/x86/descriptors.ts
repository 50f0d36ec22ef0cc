/**
 * Segment descriptors and selectors (Intel SDM vol. 3, 3.4 and 3.5).
 *
 *  selector: 15            3   2   1 0
 *           +---------------+----+-----+
 *           |     index     | TI | RPL |
 *           +---------------+----+-----+
 *
 *  descriptor high dword: 31    24 23 22 21 20 19   16 15 14 13 12 11    8 7     0
 *                        +--------+--+--+--+--+-------+--+-----+--+-------+-------+
 *                        |base31:24|G |DB|0 |AV|lim19:16|P | DPL |S | type  |base23:16|
 *                        +--------+--+--+--+--+-------+--+-----+--+-------+-------+
 *  low dword: base 15:0 in bits 31:16, limit 15:0 in bits 15:0
 */

/** Attribute word as kept in a segment register's hidden part: bits 8..23 of the high dword. */
export const SegAttr = {
  TYPE_MASK: 0xf,
  ACCESSED: 1 << 0,
  /** data: writable; code: readable */
  WR: 1 << 1,
  /** data: expand-down; code: conforming */
  DC: 1 << 2,
  CODE: 1 << 3,
  S: 1 << 4,
  DPL_SHIFT: 5,
  P: 1 << 7,
  AVL: 1 << 12,
  DB: 1 << 14,
  G: 1 << 15,
} as const;

/** System-descriptor types (S = 0), SDM vol. 3, table 3-2. */
export const SysType = {
  TSS16_AVAIL: 1,
  LDT: 2,
  TSS16_BUSY: 3,
  CALL_GATE16: 4,
  TASK_GATE: 5,
  INT_GATE16: 6,
  TRAP_GATE16: 7,
  TSS32_AVAIL: 9,
  TSS32_BUSY: 11,
  CALL_GATE32: 12,
  INT_GATE32: 14,
  TRAP_GATE32: 15,
} as const;

export const Seg = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 } as const;
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'] as const;

export function selectorIndex(sel: number): number {
  return sel & 0xfff8;
}
export function selectorRpl(sel: number): number {
  return sel & 3;
}
export function selectorTi(sel: number): boolean {
  return (sel & 4) !== 0;
}

/** Base address from a descriptor's two dwords. */
export function descriptorBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
}

/** Limit in bytes-1, expanded by the granularity bit (SDM vol. 3, 3.4.5). */
export function descriptorLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return hi & (1 << 23) ? ((raw << 12) | 0xfff) >>> 0 : raw;
}

/** Hidden-part attribute word (bits 8..23 of the high dword). */
export function descriptorAttr(hi: number): number {
  return (hi >>> 8) & 0xffff;
}

export function attrDpl(attr: number): number {
  return (attr >>> 5) & 3;
}

/** Encode a descriptor (used by loaders and tests to build GDTs). Returns [lo, hi]. */
export function encodeDescriptor(base: number, limit: number, attr: number): [number, number] {
  let lim = limit >>> 0;
  let a = attr;
  if (lim > 0xfffff) {
    lim = lim >>> 12;
    a |= SegAttr.G;
  }
  const lo = ((base & 0xffff) << 16) | (lim & 0xffff);
  const hi = (base & 0xff000000) | ((a & 0xf0ff) << 8) | (lim & 0xf0000) | ((base >>> 16) & 0xff);
  return [lo | 0, hi | 0];
}
