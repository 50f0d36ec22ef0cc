/**
 * MUL, IMUL (one-, two- and three-operand), DIV, IDIV (SDM vol. 2). 32x32->64 products and
 * 64/32 quotients are computed exactly in 16-bit halves, so no BigInt on the hot path.
 * Flags: MUL/IMUL define CF = OF (the result did not fit); SF, ZF, AF, PF are undefined and
 * left as the low half's ZF/SF/PF with AF clear. DIV/IDIV leave the (undefined) flags unchanged.
 */
import { Vector } from '../x86/vectors.ts';
import type { Cpu } from './cpu.ts';
import { setCoFlags } from './flags.ts';
import type { Insn } from './insn.ts';
import { readRm16, readRm32, readRm8 } from './operands.ts';

/** Scratch for 64-bit results: high and low dwords (unsigned). */
let hi32 = 0;
let lo32 = 0;

/** Unsigned 32x32 -> 64 product into hi32:lo32. */
function mulU64(a: number, b: number): void {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  lo32 = ((mid << 16) | (p00 & 0xffff)) >>> 0;
  hi32 = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/** Signed 32x32 -> 64 product into hi32:lo32 (two's complement in the dwords). */
function mulS64(a: number, b: number): void {
  mulU64(a >>> 0, b >>> 0);
  let h = hi32;
  if (a < 0) h -= b >>> 0;
  if (b < 0) h -= a >>> 0;
  hi32 = h >>> 0;
}

/**
 * Unsigned (hi:lo) / d where hi < d, so the quotient fits 32 bits. Two 16-bit long-division
 * steps keep every intermediate below 2^48, exact in a double. Sets lo32 = quotient, hi32 = remainder.
 */
function divU64(hi: number, lo: number, d: number): void {
  const x1 = hi * 65536 + (lo >>> 16);
  let q1 = Math.floor(x1 / d);
  let r1 = x1 - q1 * d;
  if (r1 < 0) {
    q1--;
    r1 += d;
  }
  const x0 = r1 * 65536 + (lo & 0xffff);
  let q0 = Math.floor(x0 / d);
  let r0 = x0 - q0 * d;
  if (r0 < 0) {
    q0--;
    r0 += d;
  }
  lo32 = (q1 * 65536 + q0) >>> 0;
  hi32 = r0 >>> 0;
}

// ---------------------------------------------------------------- one-operand MUL / IMUL

export function mulEb(c: Cpu, i: Insn): void {
  const b = readRm8(c, i);
  if (c.pending !== 0) return;
  const r = c.r8[0]! * b;
  c.r16[0] = r;
  const high = r > 0xff ? 1 : 0;
  setCoFlags(c, r << 24, 24, high, high);
}

export function imulEb(c: Cpu, i: Insn): void {
  const b = readRm8(c, i);
  if (c.pending !== 0) return;
  const r = ((c.r8[0]! << 24) >> 24) * ((b << 24) >> 24);
  c.r16[0] = r;
  const over = r !== (r << 24) >> 24 ? 1 : 0;
  setCoFlags(c, r << 24, 24, over, over);
}

export function mulEw(c: Cpu, i: Insn): void {
  const b = readRm16(c, i);
  if (c.pending !== 0) return;
  const r = c.r16[0]! * b;
  c.r16[0] = r;
  c.r16[4] = r >>> 16;
  const high = r > 0xffff ? 1 : 0;
  setCoFlags(c, r << 16, 16, high, high);
}

export function imulEw(c: Cpu, i: Insn): void {
  const b = readRm16(c, i);
  if (c.pending !== 0) return;
  const r = ((c.r16[0]! << 16) >> 16) * ((b << 16) >> 16);
  c.r16[0] = r;
  c.r16[4] = r >> 16;
  const over = r !== (r << 16) >> 16 ? 1 : 0;
  setCoFlags(c, r << 16, 16, over, over);
}

export function mulEd(c: Cpu, i: Insn): void {
  const b = readRm32(c, i);
  if (c.pending !== 0) return;
  mulU64(c.regs[0]! >>> 0, b >>> 0);
  c.regs[0] = lo32;
  c.regs[2] = hi32;
  const high = hi32 !== 0 ? 1 : 0;
  setCoFlags(c, lo32 | 0, 0, high, high);
}

export function imulEd(c: Cpu, i: Insn): void {
  const b = readRm32(c, i);
  if (c.pending !== 0) return;
  mulS64(c.regs[0]!, b);
  c.regs[0] = lo32;
  c.regs[2] = hi32;
  const over = (hi32 | 0) !== (lo32 | 0) >> 31 ? 1 : 0;
  setCoFlags(c, lo32 | 0, 0, over, over);
}

// ---------------------------------------------------------------- IMUL Gv, Ev [, imm]

/** imul r16, r/m16 (0F AF) or r16, r/m16, imm (69, 6B): imm2 = 1 when an immediate is present. */
export function imulGwEw(c: Cpu, i: Insn): void {
  const b = readRm16(c, i);
  if (c.pending !== 0) return;
  const a = i.imm2 !== 0 ? i.imm : c.r16[i.reg]!;
  const r = ((a << 16) >> 16) * ((b << 16) >> 16);
  c.r16[i.reg] = r;
  const over = r !== (r << 16) >> 16 ? 1 : 0;
  setCoFlags(c, r << 16, 16, over, over);
}

export function imulGdEd(c: Cpu, i: Insn): void {
  const b = readRm32(c, i);
  if (c.pending !== 0) return;
  const a = i.imm2 !== 0 ? i.imm : c.regs[i.reg]!;
  const r = Math.imul(a, b);
  c.regs[i.reg] = r;
  // The double product is exact below 2^53 and certainly not an int32 above it, so it
  // differs from the truncated product exactly when the result overflowed.
  const over = a * b !== r ? 1 : 0;
  setCoFlags(c, r, 0, over, over);
}

// ---------------------------------------------------------------- DIV / IDIV (#DE on zero or overflow)

export function divEb(c: Cpu, i: Insn): void {
  const d = readRm8(c, i);
  if (c.pending !== 0) return;
  const n = c.r16[0]!;
  if (d === 0) return void c.fault(Vector.DE, -1);
  const q = Math.floor(n / d);
  if (q > 0xff) return void c.fault(Vector.DE, -1);
  c.r8[0] = q;
  c.r8[1] = n - q * d;
}

export function idivEb(c: Cpu, i: Insn): void {
  const d = (readRm8(c, i) << 24) >> 24;
  if (c.pending !== 0) return;
  const n = (c.r16[0]! << 16) >> 16;
  if (d === 0) return void c.fault(Vector.DE, -1);
  const q = Math.trunc(n / d);
  if (q > 127 || q < -128) return void c.fault(Vector.DE, -1);
  c.r8[0] = q;
  c.r8[1] = n - q * d;
}

export function divEw(c: Cpu, i: Insn): void {
  const d = readRm16(c, i);
  if (c.pending !== 0) return;
  const n = c.r16[4]! * 65536 + c.r16[0]!;
  if (d === 0) return void c.fault(Vector.DE, -1);
  const q = Math.floor(n / d);
  if (q > 0xffff) return void c.fault(Vector.DE, -1);
  c.r16[0] = q;
  c.r16[4] = n - q * d;
}

export function idivEw(c: Cpu, i: Insn): void {
  const d = (readRm16(c, i) << 16) >> 16;
  if (c.pending !== 0) return;
  const n = ((c.r16[4]! << 16) | c.r16[0]!) | 0;
  if (d === 0) return void c.fault(Vector.DE, -1);
  const q = Math.trunc(n / d);
  if (q > 32767 || q < -32768) return void c.fault(Vector.DE, -1);
  c.r16[0] = q;
  c.r16[4] = n - q * d;
}

export function divEd(c: Cpu, i: Insn): void {
  const d = readRm32(c, i) >>> 0;
  if (c.pending !== 0) return;
  const hi = c.regs[2]! >>> 0;
  const lo = c.regs[0]! >>> 0;
  if (d === 0 || hi >= d) return void c.fault(Vector.DE, -1);
  if (hi === 0) {
    const q = Math.floor(lo / d);
    c.regs[0] = q;
    c.regs[2] = lo - q * d;
    return;
  }
  divU64(hi, lo, d);
  c.regs[0] = lo32;
  c.regs[2] = hi32;
}

export function idivEd(c: Cpu, i: Insn): void {
  const ds = readRm32(c, i);
  if (c.pending !== 0) return;
  if (ds === 0) return void c.fault(Vector.DE, -1);
  let hi = c.regs[2]!;
  let lo = c.regs[0]!;
  const negN = hi < 0;
  const negD = ds < 0;
  if (negN) {
    // Two's-complement negation of the 64-bit dividend.
    lo = -lo | 0;
    hi = ~hi + (lo === 0 ? 1 : 0);
  }
  const d = negD ? -ds >>> 0 : ds >>> 0;
  const uhi = hi >>> 0;
  if (uhi >= d) return void c.fault(Vector.DE, -1);
  divU64(uhi, lo >>> 0, d);
  const q = lo32;
  const r = hi32;
  const neg = negN !== negD;
  if (neg ? q > 0x80000000 : q > 0x7fffffff) return void c.fault(Vector.DE, -1);
  c.regs[0] = neg ? -q : q;
  c.regs[2] = negN ? -r : r;
}
