/**
 * The x87 transcendental functions in extended precision (SDM vol. 1, 8.3.10; vol. 2 F2XM1 FYL2X
 * FYL2XP1 FPTAN FPATAN FSIN FCOS FSINCOS): each is computed with a 128-bit significand
 * (wide.ts) and rounded once to the 64-bit significand by the rounding control, so the result is
 * within half an ulp of the true value but for values closer than 2^-120 to a rounding boundary
 * (the SDM promises under one ulp). FSIN, FCOS, FSINCOS and FPTAN reduce their argument with the
 * 66-bit approximation of pi the SDM describes (the result is exact for that pi, not for pi),
 * and leave an argument of 2^63 or more alone with C2 = 1. Special operands follow the SDM's
 * tables for each instruction. Results land in the F80 unit (se, hi, lo; a second one in eSe,
 * eHi, eLo), which also collects the flags.
 */
import { BIAS, EXP_MAX, F80, Fx, Kind, kindOf } from './float80.ts';
import { Wide, add, copy, div, divSmall, mul, out, setF80, setInt, toBits } from './wide.ts';

/** A constant from 32 hex digits of 0.m and its exponent: 0.m * 2^exp. */
function constant(hex: string, exp: number): Wide {
  const w = new Wide();
  for (let k = 0; k < 8; k++) w.m[k] = Number.parseInt(hex.slice(4 * k, 4 * k + 4), 16);
  w.exp = exp;
  w.zero = false;
  return w;
}

// Constants to 128 bits (computed with 400-bit arithmetic; 0.m * 2^exp).
const PI = constant('c90fdaa22168c234c4c6628b80dc1cd1', 2);
const LN2 = constant('b17217f7d1cf79abc9e3b39803f2f6af', 0);
const LOG2E = constant('b8aa3b295c17f0bbbe87fed0691d3e88', 1);
/** atan(k/8), k = 1..8. */
const ATAN_K8 = [
  constant('feadd4d5617b6e32c897989f3e888ef7', -3),
  constant('fadbafc96406eb156dc79ef5f7a217e5', -2),
  constant('b7b0ca0f26f784738aa32122dcfe4483', -1),
  constant('ed63382b0dda7b456fe445ecbc3a8d03', -1),
  constant('8f005d5ef7f59f9b5c835e1665c43747', 0),
  constant('a4bc7d1934f7092419a87f2a457dac9e', 0),
  constant('b8053e2bc2319e73cb2da55210a4443d', 0),
  constant('c90fdaa22168c234c4c6628b80dc1cd1', 0),
];
/**
 * The 66-bit pi of the x87's argument reduction (SDM vol. 1, 8.3.10): 0.C90FDAA2 2168C234 C * 2^2.
 * As an integer: pi66 / 2 = P * 2^-65 with P = 0x3_243F6A88_85A308D3 (66 bits).
 */
const P_HI = 0x3;
const P_MID = 0x243f6a88;
const P_LO = 0x85a308d3;
/** 2 / pi66 to 128 bits (for the quotient estimate; the remainder is computed exactly from P). */
const TWO_OVER_PI66 = constant('a2f9836e4e441529fc2757d1f534ddc0', 0);

const one = new Wide();
setInt(one, 1);

// Scratch registers.
const a = new Wide();
const b = new Wide();
const c = new Wide();
const t = new Wide();
const sum = new Wide();
const term = new Wide();
const sq = new Wide();
const sinR = new Wide();
const cosR = new Wide();

/**
 * Where the true value lies against a series result whose first neglected term fell below the
 * 128 bits (the result of a tiny argument is the argument itself, or 1): -1 below it in magnitude
 * (sin, atan, cos: 1 - r^2/2), +1 above (tan, atanh), 0 unknown. Set by the series functions.
 */
let tail = 0;

/**
 * Rounds w to the result registers (u.se, u.hi, u.lo) by the rounding control: PE, C1, UE, OE as
 * for any result. A computed value is never exact: below its 128 bits it is taken to go on
 * upwards, or downwards when `direction` says so (then it is lowered by one unit of the 128th bit).
 */
function round(u: F80, w: Wide, direction: number): void {
  if (w.zero) {
    u.set(w.sign << 15, 0, 0);
    u.flags &= ~Fx.C1;
    return;
  }
  if (direction < 0) {
    const m = w.m;
    let k = 7;
    while (k >= 0 && m[k] === 0) m[k--] = 0xffff;
    if (k >= 0) m[k] = m[k]! - 1;
  }
  toBits(w);
  u.pack80(w.sign, out.exp, out.hi, out.lo, out.x | 1, 64);
}

/** The common operand checks of a one-operand function: returns true when the result is decided. */
function special1(u: F80, se: number, hi: number, lo: number, k: number): boolean {
  hi >>>= 0; lo >>>= 0;
  if (k === Kind.UNSUPPORTED) {
    u.invalid();
    return true;
  }
  if (k === Kind.SNAN || k === Kind.QNAN) {
    if (k === Kind.SNAN) u.flags |= Fx.IE;
    u.set(se, hi | 0x40000000, lo);
    return true;
  }
  return false;
}

/** The NaN rules of two operands (delegated to F80's add, which applies them first). */
function special2(u: F80, aSe: number, aHi: number, aLo: number, ak: number, bSe: number, bHi: number, bLo: number, bk: number): boolean {
  aHi >>>= 0; aLo >>>= 0; bHi >>>= 0; bLo >>>= 0;
  if (ak === Kind.UNSUPPORTED || bk === Kind.UNSUPPORTED || ak === Kind.SNAN || ak === Kind.QNAN || bk === Kind.SNAN || bk === Kind.QNAN) {
    // F80.add decides unsupported operands and NaN propagation exactly as every two-operand
    // arithmetic instruction does; its result for such operands depends on nothing else.
    u.add(aSe, aHi, aLo, bSe, bHi, bLo, false, 64);
    return true;
  }
  return false;
}

/** Raises DE for denormal operands; returns false when DE is unmasked (no result). */
function denormal(u: F80, k1: number, k2: number): boolean {
  if (k1 !== Kind.DENORMAL && k2 !== Kind.DENORMAL) return true;
  u.flags |= Fx.DE;
  return (u.masks & Fx.DE) !== 0;
}

// ------------------------------------------------------------------ series

/** e^t - 1 by its series (|t| < 1): t + t^2/2! + ... */
function expm1(d: Wide, x: Wide): void {
  tail = 0;
  copy(sum, x);
  copy(term, x);
  for (let n = 2; n < 60; n++) {
    mul(term, term, x);
    divSmall(term, term, n);
    if (term.zero || term.exp < sum.exp - 132) break;
    add(sum, sum, term, false);
  }
  copy(d, sum);
}

/** atanh(z) = z + z^3/3 + z^5/5 + ... (|z| < 0.2). */
function atanh(d: Wide, z: Wide): void {
  mul(sq, z, z);
  copy(sum, z);
  copy(term, z);
  tail = 0;
  for (let n = 3; n < 200; n += 2) {
    mul(term, term, sq);
    divSmall(t, term, n);
    if (t.zero || t.exp < sum.exp - 132) {
      if (n === 3) tail = 1;
      break;
    }
    add(sum, sum, t, false);
  }
  copy(d, sum);
}

/** atan(z) = z - z^3/3 + z^5/5 - ... (|z| <= 1/16). */
function atanSeries(d: Wide, z: Wide): void {
  mul(sq, z, z);
  copy(sum, z);
  copy(term, z);
  tail = 0;
  for (let n = 3; n < 200; n += 2) {
    mul(term, term, sq);
    divSmall(t, term, n);
    if (t.zero || t.exp < sum.exp - 132) {
      if (n === 3) tail = -1;
      break;
    }
    add(sum, sum, t, (n & 2) !== 0);
  }
  copy(d, sum);
}

/** The tails (see `tail`) of sinR and cosR. */
let sinTail = 0;
let cosTail = 0;

/** sin(r) and cos(r) into sinR, cosR by their series (|r| <= pi/4 + a little). */
function sinCos(r: Wide): void {
  mul(sq, r, r);
  // sin
  copy(sum, r);
  copy(term, r);
  sinTail = 0;
  for (let n = 1; n < 40; n++) {
    mul(term, term, sq);
    divSmall(term, term, 2 * n * (2 * n + 1));
    if (term.zero || (!sum.zero && term.exp < sum.exp - 132)) {
      if (n === 1) sinTail = -1;
      break;
    }
    add(sum, sum, term, (n & 1) !== 0);
  }
  copy(sinR, sum);
  // cos
  copy(sum, one);
  copy(term, one);
  cosTail = 0;
  for (let n = 1; n < 40; n++) {
    mul(term, term, sq);
    divSmall(term, term, (2 * n - 1) * (2 * n));
    if (term.zero || term.exp < sum.exp - 132) {
      if (n === 1) cosTail = -1;
      break;
    }
    add(sum, sum, term, (n & 1) !== 0);
  }
  copy(cosR, sum);
}

/** ln(m) for the Wide m in [1/sqrt2, sqrt2): 2 atanh((m - 1) / (m + 1)). */
function lnNearOne(d: Wide, m: Wide): void {
  add(a, m, one, true);
  add(b, m, one, false);
  div(c, a, b);
  atanh(d, c);
  d.exp += 1;
}

// ------------------------------------------------------------------ F2XM1

/** F2XM1: 2^x - 1 (the SDM defines it for -1 <= x <= +1; this gives 2^x - 1 for any x). Returns false when nothing is written. */
export function f2xm1(u: F80, se: number, hi: number, lo: number): boolean {
  hi >>>= 0; lo >>>= 0;
  const k = kindOf(se, hi, lo);
  u.flags &= ~Fx.C1;
  if (special1(u, se, hi, lo, k)) return (u.flags & Fx.IE & ~u.masks) === 0;
  if (k === Kind.ZERO) {
    u.set(se, 0, 0);
    return true;
  }
  if (k === Kind.INF) {
    // +inf: +inf; -inf: -1 (SDM vol. 2 F2XM1 table).
    if ((se & 0x8000) === 0) u.set(EXP_MAX, 0x80000000, 0);
    else u.set(0x8000 | BIAS, 0x80000000, 0);
    return true;
  }
  if (!denormal(u, k, Kind.ZERO)) return false;
  // 2^1 - 1 = 1 and 2^-1 - 1 = -1/2 exactly, yet reported inexact (PE) as the host processors do.
  if (hi === 0x80000000 && lo === 0 && (se & EXP_MAX) === BIAS) {
    if ((se & 0x8000) === 0) u.set(BIAS, 0x80000000, 0);
    else u.set(0x8000 | (BIAS - 1), 0x80000000, 0);
    u.flags |= Fx.PE;
    return true;
  }
  setF80(a, se, hi, lo);
  mul(a, a, LN2);
  expm1(b, a);
  round(u, b, 0);
  return true;
}

// ------------------------------------------------------------------ logarithms

/**
 * FYL2X: y * log2(x) (SDM vol. 2 FYL2X table): x < 0 (or -inf) invalid; x = +-0 with y finite
 * nonzero gives ZE and -inf * sign(y); 0 * inf and inf * log2(1) are invalid.
 */
export function fyl2x(u: F80, ySe: number, yHi: number, yLo: number, xSe: number, xHi: number, xLo: number): boolean {
  yHi >>>= 0; yLo >>>= 0; xHi >>>= 0; xLo >>>= 0;
  const yk = kindOf(ySe, yHi, yLo);
  const xk = kindOf(xSe, xHi, xLo);
  u.flags &= ~Fx.C1;
  if (special2(u, ySe, yHi, yLo, yk, xSe, xHi, xLo, xk)) return (u.flags & Fx.IE & ~u.masks) === 0;
  const ySign = ySe >>> 15;
  const xNeg = (xSe & 0x8000) !== 0 && xk !== Kind.ZERO;
  if (xNeg) return invalid(u);
  const xOne = xk === Kind.NORMAL && (xSe & EXP_MAX) === BIAS && xHi === 0x80000000 && xLo === 0;
  if (xk === Kind.ZERO) {
    if (yk === Kind.ZERO) return invalid(u);
    // A finite y: ZE, and ZE alone (a denormal y raises no DE), as for a division by zero.
    if (yk !== Kind.INF) {
      u.flags |= Fx.ZE;
      if ((u.masks & Fx.ZE) === 0) return false;
    }
    u.set(((ySign ^ 1) << 15) | EXP_MAX, 0x80000000, 0);
    return true;
  }
  if (xk === Kind.INF) {
    if (yk === Kind.ZERO) return invalid(u);
    if (!denormal(u, yk, Kind.ZERO)) return false;
    u.set((ySign << 15) | EXP_MAX, 0x80000000, 0);
    return true;
  }
  // x finite positive.
  if (yk === Kind.INF) {
    if (xOne) return invalid(u);
    if (!denormal(u, xk, Kind.ZERO)) return false;
    // log2(x) < 0 for x < 1.
    const below = (xSe & EXP_MAX) < BIAS || (xSe & EXP_MAX) === 0;
    u.set(((ySign ^ (below ? 1 : 0)) << 15) | EXP_MAX, 0x80000000, 0);
    return true;
  }
  if (!denormal(u, xk, yk)) return false;
  if (yk === Kind.ZERO) {
    // +-0 * log2(x): the sign of the product.
    const below = (xSe & EXP_MAX) < BIAS;
    u.set((ySign ^ (below ? 1 : 0)) << 15, 0, 0);
    return true;
  }
  // x = 2^e exactly: y * e, one rounding (log2(1) = 0 is the one exact result).
  setF80(a, xSe, xHi, xLo);
  const pow2 = a.m[0] === 0x8000 && a.m[1] === 0 && a.m[2] === 0 && a.m[3] === 0;
  if (pow2) {
    const e = a.exp - 1;
    if (e === 0) {
      u.set(ySign << 15, 0, 0);
      return true;
    }
    u.fromInteger(e < 0 ? 1 : 0, 0, Math.abs(e));
    const ok = u.mul(ySe, yHi, yLo, u.se, u.hi, u.lo, 64);
    // The value is exact, but the host processors report it inexact all the same, and so a tiny
    // one as an underflow too.
    u.flags |= Fx.PE;
    if ((u.se & EXP_MAX) === 0 && (u.hi | u.lo) !== 0) u.flags |= Fx.UE;
    return ok;
  }
  log2Of(b, a);
  setF80(c, ySe, yHi, yLo);
  mul(b, b, c);
  round(u, b, 0);
  return true;
}

function invalid(u: F80): boolean {
  u.invalid();
  return (u.masks & Fx.IE) !== 0;
}

/** log2(x) for the positive Wide x: its exponent plus log2 of a significand in [1/sqrt2, sqrt2). */
function log2Of(d: Wide, x: Wide): void {
  // x = 0.m * 2^exp with 0.m in [1/2, 1): take m' = 0.m * 2 in [1, 2), or 0.m itself when above 1/sqrt2.
  let e = x.exp;
  copy(t, x);
  // 0.m >= 1/sqrt2 = 0.B504F333...: compare the top limbs.
  const high = t.m[0]! > 0xb504 || (t.m[0] === 0xb504 && t.m[1]! >= 0xf333);
  if (high) {
    t.exp = 0;
  } else {
    t.exp = 1;
    e -= 1;
  }
  lnNearOne(sum, t);
  mul(d, sum, LOG2E);
  if (e !== 0) {
    setInt(t, e);
    add(d, t, d, false);
  }
}

/**
 * FYL2XP1: y * log2(x + 1) (SDM vol. 2 FYL2XP1 table; defined for |x| < 1 - sqrt(2)/2, computed
 * for x > -1 here): ln(1 + x) = 2 atanh(x / (2 + x)), accurate for tiny x.
 */
export function fyl2xp1(u: F80, ySe: number, yHi: number, yLo: number, xSe: number, xHi: number, xLo: number): boolean {
  yHi >>>= 0; yLo >>>= 0; xHi >>>= 0; xLo >>>= 0;
  const yk = kindOf(ySe, yHi, yLo);
  const xk = kindOf(xSe, xHi, xLo);
  u.flags &= ~Fx.C1;
  if (special2(u, ySe, yHi, yLo, yk, xSe, xHi, xLo, xk)) return (u.flags & Fx.IE & ~u.masks) === 0;
  const ySign = ySe >>> 15;
  const xSign = xSe >>> 15;
  if (xk === Kind.INF) {
    // Outside the SDM's domain; the host processors give y * log2(+inf) and take -inf as invalid.
    if (xSign !== 0 || yk === Kind.ZERO) return invalid(u);
    if (!denormal(u, yk, Kind.ZERO)) return false;
    u.set((ySign << 15) | EXP_MAX, 0x80000000, 0);
    return true;
  }
  if (xk === Kind.ZERO) {
    if (yk === Kind.INF) return invalid(u);
    if (!denormal(u, yk, Kind.ZERO)) return false;
    u.set((ySign ^ xSign) << 15, 0, 0);
    return true;
  }
  if (yk === Kind.INF) {
    if (!denormal(u, xk, Kind.ZERO)) return false;
    u.set(((ySign ^ xSign) << 15) | EXP_MAX, 0x80000000, 0);
    return true;
  }
  if (!denormal(u, xk, yk)) return false;
  if (yk === Kind.ZERO) {
    u.set((ySign ^ xSign) << 15, 0, 0);
    return true;
  }
  setF80(a, xSe, xHi, xLo);
  if (a.exp <= -1) {
    // |x| < 1/2: ln(1 + x) = 2 atanh(x / (2 + x)), accurate however small x is.
    setInt(b, 2);
    add(b, b, a, false);
    div(c, a, b);
    atanh(sum, c);
    sum.exp += 1;
    mul(sum, sum, LOG2E);
  } else {
    // Outside the SDM's domain (the result is undefined there): log2(1 + x), NaN-free for x > -1.
    add(b, a, one, false);
    if (b.zero || b.sign !== 0) return invalid(u);
    log2Of(sum, b);
  }
  setF80(c, ySe, yHi, yLo);
  mul(sum, sum, c);
  round(u, sum, 0);
  return true;
}

// ------------------------------------------------------------------ FPATAN

/**
 * FPATAN: the angle of (x, y), atan(y / x) in the right quadrant (SDM vol. 2 FPATAN table):
 * zeros and infinities give 0, +-pi/4, +-pi/2, +-3pi/4, +-pi by their signs, rounded.
 */
export function fpatan(u: F80, ySe: number, yHi: number, yLo: number, xSe: number, xHi: number, xLo: number): boolean {
  yHi >>>= 0; yLo >>>= 0; xHi >>>= 0; xLo >>>= 0;
  const yk = kindOf(ySe, yHi, yLo);
  const xk = kindOf(xSe, xHi, xLo);
  u.flags &= ~Fx.C1;
  if (special2(u, ySe, yHi, yLo, yk, xSe, xHi, xLo, xk)) return (u.flags & Fx.IE & ~u.masks) === 0;
  if (!denormal(u, xk, yk)) return false;
  const ySign = ySe >>> 15;
  const xNeg = (xSe & 0x8000) !== 0;
  // Angles as multiples of pi/4 for the special cases, or a computed one.
  let quarters = -1;
  if (yk === Kind.ZERO) {
    if (!xNeg) {
      u.set(ySign << 15, 0, 0);
      return true;
    }
    quarters = 4;
  } else if (yk === Kind.INF) {
    quarters = xk === Kind.INF ? (xNeg ? 3 : 1) : 2;
  } else if (xk === Kind.INF) {
    if (!xNeg) {
      u.set(ySign << 15, 0, 0);
      return true;
    }
    quarters = 4;
  } else if (xk === Kind.ZERO) {
    quarters = 2;
  }
  if (quarters >= 0) {
    copy(a, PI);
    if (quarters !== 4) {
      mul(a, a, quartersOf(quarters));
      a.exp -= 2;
    }
    a.sign = ySign;
    round(u, a, 0);
    return true;
  }
  // Both finite nonzero: A = atan(|y| / |x|) in [0, pi/2].
  setF80(a, ySe, yHi, yLo);
  setF80(b, xSe, xHi, xLo);
  a.sign = 0;
  b.sign = 0;
  const swap = a.exp > b.exp || (a.exp === b.exp && compareMagnitude(a, b) > 0);
  if (swap) div(c, b, a);
  else div(c, a, b);
  tail = 0;
  atanUnit(sum, c);
  // The tail of atan(v) ~ v matters only when nothing else was added or subtracted.
  const direction = swap || xNeg ? 0 : tail;
  if (swap) {
    // pi/2 - atan(|x| / |y|).
    copy(t, PI);
    t.exp -= 1;
    add(sum, t, sum, true);
  }
  if (xNeg) add(sum, PI, sum, true);
  sum.sign = ySign;
  round(u, sum, direction);
  return true;
}

const quarterScratch = new Wide();
function quartersOf(n: number): Wide {
  setInt(quarterScratch, n);
  return quarterScratch;
}

function compareMagnitude(x: Wide, y: Wide): number {
  for (let k = 0; k < 8; k++) if (x.m[k] !== y.m[k]) return x.m[k]! > y.m[k]! ? 1 : -1;
  return 0;
}

/** atan(v) for v in [0, 1]: atan(c) + atan((v - c) / (1 + v c)) with c = k/8 the nearest eighth. */
function atanUnit(d: Wide, v: Wide): void {
  if (v.zero) return void copy(d, v);
  // k = round(8 v), from the value's top bits.
  const approx = (v.m[0]! / 65536) * 2 ** v.exp;
  const k = Math.min(8, Math.round(approx * 8));
  if (k === 0) return void atanSeries(d, v);
  tail = 0;
  setInt(t, k);
  t.exp -= 3;
  // z = (v - c) / (1 + v c)
  add(a, v, t, true);
  mul(b, v, t);
  add(b, b, one, false);
  div(c, a, b);
  atanSeries(sum, c);
  add(d, ATAN_K8[k - 1]!, sum, false);
}

// ------------------------------------------------------------------ FSIN FCOS FSINCOS FPTAN

/** Quadrant of the last reduction (k mod 4) and whether the argument was out of range (C2). */
export const reduced = { quadrant: 0, outOfRange: false };
const rWide = new Wide();

/**
 * Reduces the finite argument x (|x| < 2^63) by multiples of pi66 / 2 into rWide: x = k pi66/2 + r
 * with |r| <= pi66/4 (about), exactly: r = x - k * P * 2^-65 is a multiple of 2^-65 below 1 in
 * magnitude, so it is computed modulo 2^96 in integer arithmetic.
 */
function reduce(se: number, hi: number, lo: number): void {
  hi >>>= 0; lo >>>= 0;
  const e = (se & EXP_MAX || 1) - BIAS;
  if (e < -2) {
    setF80(rWide, se, hi, lo);
    reduced.quadrant = 0;
    return;
  }
  // k = round(|x| * 2/pi66).
  setF80(a, se & 0x7fff, hi, lo);
  mul(a, a, TWO_OVER_PI66);
  // |x| 2/pi66 < 2^63: its integer part from the top bits.
  let kHi = 0;
  let kLo = 0;
  if (a.exp >= 0) {
    toBits(a);
    // out.hi:out.lo holds 0.m's top 64 bits at weight 2^(a.exp - 64) for the lowest: integer = top a.exp bits.
    const shift = 64 - a.exp;
    let iHi: number;
    let iLo: number;
    let half: number;
    if (shift >= 64) {
      iHi = 0;
      iLo = 0;
      half = out.hi >>> 31;
    } else if (shift > 32) {
      iHi = 0;
      iLo = out.hi >>> (shift - 32);
      half = (out.hi >>> (shift - 33)) & 1;
    } else if (shift === 32) {
      iHi = 0;
      iLo = out.hi;
      half = out.lo >>> 31;
    } else if (shift > 0) {
      iHi = out.hi >>> shift;
      iLo = ((out.hi << (32 - shift)) | (out.lo >>> shift)) >>> 0;
      half = (out.lo >>> (shift - 1)) & 1;
    } else {
      iHi = out.hi;
      iLo = out.lo;
      half = out.x >>> 31;
    }
    if (half !== 0) {
      iLo += 1;
      if (iLo >= 4294967296) {
        iLo -= 4294967296;
        iHi += 1;
      }
    }
    kHi = iHi >>> 0;
    kLo = iLo >>> 0;
  }
  // X * 2^(e + 2) mod 2^96, with X the 64-bit significand: the argument in units of 2^-65.
  let x2 = 0;
  let x1 = 0;
  let x0 = 0;
  const s = e + 2;
  if (s === 0) {
    x1 = hi;
    x0 = lo;
  } else if (s < 32) {
    x2 = hi >>> (32 - s);
    x1 = ((hi << s) | (lo >>> (32 - s))) >>> 0;
    x0 = (lo << s) >>> 0;
  } else if (s === 32) {
    x2 = hi;
    x1 = lo;
  } else if (s < 64) {
    x2 = ((hi << (s - 32)) | (lo >>> (64 - s))) >>> 0;
    x1 = (lo << (s - 32)) >>> 0;
  } else {
    x2 = lo;
  }
  // k * P mod 2^96.
  const u = scratchUnit;
  u.mul64(kHi, kLo, P_MID, P_LO);
  let m0 = u.p0;
  let m1 = u.p1;
  let m2 = u.p2;
  // + k * P_HI * 2^64 (only its low 32 bits matter).
  m2 = (m2 + Math.imul(kLo, P_HI)) >>> 0;
  // r = x - k P (mod 2^96), as a signed value.
  let d0 = x0 - m0;
  let borrow = 0;
  if (d0 < 0) {
    d0 += 4294967296;
    borrow = 1;
  }
  let d1 = x1 - m1 - borrow;
  borrow = 0;
  if (d1 < 0) {
    d1 += 4294967296;
    borrow = 1;
  }
  let d2 = (x2 - m2 - borrow) >>> 0;
  let negative = 0;
  if ((d2 & 0x80000000) !== 0) {
    negative = 1;
    // Negate the 96-bit value.
    d0 = (~d0 >>> 0) + 1;
    d1 = ~d1 >>> 0;
    d2 = ~d2 >>> 0;
    if (d0 >= 4294967296) {
      d0 -= 4294967296;
      d1 += 1;
      if (d1 >= 4294967296) {
        d1 -= 4294967296;
        d2 = (d2 + 1) >>> 0;
      }
    }
  }
  m0 = d0 >>> 0;
  m1 = d1 >>> 0;
  m2 = d2 >>> 0;
  // r = (m2:m1:m0) * 2^-65 as a Wide: through the 80-bit layout, twice (the 96 bits do not fit one).
  setWords(rWide, m2, m1, m0);
  // x = -|x| = (-k) pi66/2 + (-r) for a negative argument.
  const xNegative = se >>> 15;
  rWide.sign = negative ^ xNegative;
  reduced.quadrant = xNegative !== 0 ? (4 - (kLo & 3)) & 3 : kLo & 3;
}

const scratchUnit = new F80();
const limbs = new Int32Array(6);

/** The Wide value (w2:w1:w0) * 2^-65. */
function setWords(d: Wide, w2: number, w1: number, w0: number): void {
  limbs[0] = w2 >>> 16;
  limbs[1] = w2 & 0xffff;
  limbs[2] = w1 >>> 16;
  limbs[3] = w1 & 0xffff;
  limbs[4] = w0 >>> 16;
  limbs[5] = w0 & 0xffff;
  let first = 0;
  while (first < 6 && limbs[first] === 0) first++;
  if (first === 6) {
    d.zero = true;
    d.m.fill(0);
    d.exp = 0;
    return;
  }
  d.m.fill(0);
  const shift = Math.clz32(limbs[first]!) - 16;
  for (let k = 0; first + k < 6; k++) {
    const hiL = limbs[first + k]!;
    const loL = first + k + 1 < 6 ? limbs[first + k + 1]! : 0;
    d.m[k] = shift === 0 ? hiL : ((hiL << shift) | (loL >>> (16 - shift))) & 0xffff;
  }
  // 0.(limbs) * 2^96 * 2^-65 = 0.(limbs) * 2^31; less the leading zeros.
  d.exp = 31 - first * 16 - shift;
  d.zero = false;
}

/**
 * The argument checks of FSIN, FCOS, FSINCOS and FPTAN: returns 0 to compute (rWide and
 * `reduced` set), 1 when the result is decided in u (a NaN or the invalid result), 2 when out
 * of range (C2 = 1, nothing changes), 3 when an unmasked exception leaves the stack alone, 4 for
 * a zero (u holds it: sin 0 = tan 0 = 0 with its sign, cos 0 = 1).
 */
export function trigArgument(u: F80, se: number, hi: number, lo: number): number {
  hi >>>= 0; lo >>>= 0;
  const k = kindOf(se, hi, lo);
  u.flags &= ~Fx.C1;
  reduced.outOfRange = false;
  if (special1(u, se, hi, lo, k)) return (u.flags & Fx.IE & ~u.masks) === 0 ? 1 : 3;
  if (k === Kind.INF) {
    u.invalid();
    return (u.masks & Fx.IE) !== 0 ? 1 : 3;
  }
  if (k === Kind.ZERO) {
    u.set(se, 0, 0);
    return 4;
  }
  if (!denormal(u, k, Kind.ZERO)) return 3;
  if ((se & EXP_MAX) >= BIAS + 63) {
    reduced.outOfRange = true;
    return 2;
  }
  reduce(se, hi, lo);
  return 0;
}

/** sin (which 0) or cos (1) of the reduced argument into u's result registers. */
export function trigResult(u: F80, which: number): void {
  sinCos(rWide);
  const q = (reduced.quadrant + which) & 3;
  // sin(x) = [sin r, cos r, -sin r, -cos r][q]; cos(x) is sin(x + pi/2).
  copy(a, (q & 1) === 0 ? sinR : cosR);
  if ((q & 2) !== 0) a.sign ^= 1;
  round(u, a, (q & 1) === 0 ? sinTail : cosTail);
}

/** tan of the reduced argument into u's result registers: tan r, or -1/tan r in odd quadrants. */
export function tanResult(u: F80): void {
  sinCos(rWide);
  // tan r ~ r (1 + r^2/3): above r; cot r ~ 1/r (1 - r^2/3): below 1/r.
  const direction = sinTail < 0 && cosTail < 0 ? ((reduced.quadrant & 1) === 0 ? 1 : -1) : 0;
  if ((reduced.quadrant & 1) === 0) div(a, sinR, cosR);
  else {
    div(a, cosR, sinR);
    a.sign ^= 1;
  }
  round(u, a, direction);
}
