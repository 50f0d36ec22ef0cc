/**
 * Lazy arithmetic flags. An ALU operation records its kind, operands and result instead of
 * computing six flags; a flag is computed only when something reads it.
 * Operands and results are stored *left-aligned*: an 8-bit value v is kept as v << 24, a 16-bit
 * one as v << 16. Then one formula serves every size: ZF is res === 0, SF is res < 0, unsigned
 * carries are unsigned comparisons of the aligned values, and signed overflow is the sign of
 * the usual XOR expressions. PF and AF look at the low byte/nibble, found at `lzShift`.
 */
import type { Cpu } from './cpu.ts';
import { ARITH_FLAGS, Eflags } from '../x86/eflags.ts';

/** What produced the lazy flags. NONE: cpu.flags holds the arithmetic flags itself. */
export const Lazy = {
  NONE: 0,
  /** add (and adc with carry-in 0) */
  ADD: 1,
  /** adc with carry-in 1 */
  ADC: 2,
  /** sub, cmp, neg (and sbb with borrow-in 0) */
  SUB: 3,
  /** sbb with borrow-in 1 */
  SBB: 4,
  /** and, or, xor, test: CF = OF = 0 */
  LOGIC: 5,
  /** inc, dec: lzB holds the preserved CF */
  INC: 6,
  DEC: 7,
  /** shifts, multiplies: CF in bit 0 of lzA, OF in bit 0 of lzB, ZF/SF/PF from the result */
  CO: 8,
} as const;

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let bits = 0;
  for (let b = i; b !== 0; b >>= 1) bits += b & 1;
  PARITY[i] = bits & 1 ? 0 : 1;
}

export function cf(c: Cpu): number {
  switch (c.lzKind) {
    case Lazy.NONE:
      return c.flags & Eflags.CF;
    case Lazy.ADD:
      return (c.lzRes >>> 0) < (c.lzA >>> 0) ? 1 : 0;
    case Lazy.ADC:
      return (c.lzRes >>> 0) <= (c.lzA >>> 0) ? 1 : 0;
    case Lazy.SUB:
      return (c.lzA >>> 0) < (c.lzB >>> 0) ? 1 : 0;
    case Lazy.SBB:
      return (c.lzA >>> 0) <= (c.lzB >>> 0) ? 1 : 0;
    case Lazy.LOGIC:
      return 0;
    case Lazy.INC:
    case Lazy.DEC:
      return c.lzB & 1;
    default:
      return c.lzA & 1;
  }
}

export function zf(c: Cpu): boolean {
  return c.lzKind === Lazy.NONE ? (c.flags & Eflags.ZF) !== 0 : c.lzRes === 0;
}

export function sf(c: Cpu): boolean {
  return c.lzKind === Lazy.NONE ? (c.flags & Eflags.SF) !== 0 : c.lzRes < 0;
}

export function of(c: Cpu): boolean {
  const r = c.lzRes;
  switch (c.lzKind) {
    case Lazy.NONE:
      return (c.flags & Eflags.OF) !== 0;
    case Lazy.ADD:
    case Lazy.ADC:
      return ((c.lzA ^ r) & (c.lzB ^ r)) < 0;
    case Lazy.SUB:
    case Lazy.SBB:
      return ((c.lzA ^ c.lzB) & (c.lzA ^ r)) < 0;
    case Lazy.LOGIC:
      return false;
    case Lazy.INC:
      return r === -0x80000000;
    case Lazy.DEC:
      return c.lzA === -0x80000000;
    default:
      return (c.lzB & 1) !== 0;
  }
}

export function pf(c: Cpu): boolean {
  return c.lzKind === Lazy.NONE ? (c.flags & Eflags.PF) !== 0 : PARITY[(c.lzRes >>> c.lzShift) & 0xff] === 1;
}

export function af(c: Cpu): boolean {
  switch (c.lzKind) {
    case Lazy.NONE:
      return (c.flags & Eflags.AF) !== 0;
    case Lazy.LOGIC:
    case Lazy.CO:
      return false;
    default:
      // For inc/dec lzB holds CF (0 or 1), which has no bit at position shift+4 >= 4.
      return (((c.lzA ^ c.lzB ^ c.lzRes) >>> (c.lzShift + 4)) & 1) !== 0;
  }
}

/** The six arithmetic flags as EFLAGS bits. */
export function arithFlags(c: Cpu): number {
  if (c.lzKind === Lazy.NONE) return c.flags & ARITH_FLAGS;
  return (
    cf(c) |
    (pf(c) ? Eflags.PF : 0) |
    (af(c) ? Eflags.AF : 0) |
    (zf(c) ? Eflags.ZF : 0) |
    (sf(c) ? Eflags.SF : 0) |
    (of(c) ? Eflags.OF : 0)
  );
}

/** Folds the lazy state into cpu.flags so that individual flags can be changed directly. */
export function materializeFlags(c: Cpu): void {
  if (c.lzKind !== Lazy.NONE) {
    c.flags = (c.flags & ~ARITH_FLAGS) | arithFlags(c);
    c.lzKind = Lazy.NONE;
  }
}

/** The architectural EFLAGS value. */
export function readEflags(c: Cpu): number {
  return (c.flags & ~ARITH_FLAGS) | arithFlags(c) | Eflags.FIXED1;
}

/**
 * Evaluates condition code cc (the low nibble of Jcc/SETcc/CMOVcc, SDM vol. 1, B.1).
 * Compares straight from the operands when the flags come from a SUB/CMP, the common case.
 */
export function cond(c: Cpu, cc: number): boolean {
  if (c.lzKind === Lazy.SUB) {
    const a = c.lzA;
    const b = c.lzB;
    switch (cc) {
      case 2:
        return a >>> 0 < b >>> 0;
      case 3:
        return a >>> 0 >= b >>> 0;
      case 4:
        return a === b;
      case 5:
        return a !== b;
      case 6:
        return a >>> 0 <= b >>> 0;
      case 7:
        return a >>> 0 > b >>> 0;
      case 0xc:
        return a < b;
      case 0xd:
        return a >= b;
      case 0xe:
        return a <= b;
      case 0xf:
        return a > b;
    }
  }
  let r: boolean;
  switch (cc >> 1) {
    case 0:
      r = of(c);
      break;
    case 1:
      r = cf(c) !== 0;
      break;
    case 2:
      r = zf(c);
      break;
    case 3:
      r = cf(c) !== 0 || zf(c);
      break;
    case 4:
      r = sf(c);
      break;
    case 5:
      r = pf(c);
      break;
    case 6:
      r = sf(c) !== of(c);
      break;
    default:
      r = zf(c) || sf(c) !== of(c);
      break;
  }
  return (cc & 1) === 0 ? r : !r;
}

/** Records flags of an arithmetic operation (kind from Lazy) on aligned operands and result. */
export function setArithFlags(c: Cpu, kind: number, a: number, b: number, res: number, shift: number): void {
  c.lzKind = kind;
  c.lzA = a;
  c.lzB = b;
  c.lzRes = res;
  c.lzShift = shift;
}

/** Records flags for a logic result (aligned): CF = OF = AF = 0. */
export function setLogicFlags(c: Cpu, res: number, shift: number): void {
  c.lzKind = Lazy.LOGIC;
  c.lzRes = res;
  c.lzShift = shift;
}

/** Records flags with explicit CF and OF and ZF/SF/PF from an aligned result. */
export function setCoFlags(c: Cpu, res: number, shift: number, carry: number, overflow: number): void {
  c.lzKind = Lazy.CO;
  c.lzRes = res;
  c.lzA = carry;
  c.lzB = overflow;
  c.lzShift = shift;
}

/** Sets or clears CF directly, keeping the other flags. */
export function setCf(c: Cpu, v: number): void {
  materializeFlags(c);
  c.flags = (c.flags & ~Eflags.CF) | (v & 1);
}
