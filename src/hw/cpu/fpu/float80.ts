/**
 * Double extended-precision floating point in software, exact to the bit, as the x87 computes it
 * (SDM vol. 1: 4.2 and 8.2 the formats; 4.8 zeros, denormals, infinities, NaNs; 8.2.2 the
 * encodings the x87 no longer supports; 4.7 and 8.1.5 rounding and precision control; 4.9 and 8.5
 * the exceptions and their masked and unmasked responses). A value is a 16-bit sign|exponent and
 * a 64-bit significand held in two unsigned 32-bit halves (hi = bits 63-32, lo = bits 31-0).
 *
 * An F80 unit holds the environment of an operation (rounding control, precision, exception
 * masks), accumulates the exception flags it raises (in the status word's bit positions, with
 * C1 for "rounded up") and receives its result: nothing is allocated per operation.
 *
 * Calling convention for the 32-bit halves: a function takes them in either form (signed int32
 * or unsigned) and converts them with `>>>= 0` on entry; callers pass them `| 0`. V8 passes an
 * int32 as a small integer but boxes an unsigned value of 2^31 or more as a heap number, which
 * made every x87 operation allocate (measured: a 1.5x slower fmul/fadd loop, 8x the scavenges).
 * Not here: the register stack and the instructions (x87.ts), transcendentals (transcendental.ts).
 */

/** Exception flags and C1, in the x87 status word's bit positions (SDM vol. 1, 8.1.3). */
export const Fx = { IE: 0x01, DE: 0x02, ZE: 0x04, OE: 0x08, UE: 0x10, PE: 0x20, SF: 0x40, C1: 0x200 } as const;

/** Rounding control (SDM vol. 1, table 4-8). */
export const Rc = { NEAREST: 0, DOWN: 1, UP: 2, ZERO: 3 } as const;

/** What an 80-bit encoding is (SDM vol. 1, table 8-3). */
export const Kind = {
  ZERO: 0,
  NORMAL: 1,
  /** Denormal or pseudo-denormal (exponent 0, J bit 1): a denormal operand. */
  DENORMAL: 2,
  INF: 3,
  QNAN: 4,
  SNAN: 5,
  /** Unnormal, pseudo-NaN, pseudo-infinity: invalid operands since the 387. */
  UNSUPPORTED: 6,
} as const;

/** Exponent bias of the extended format, and its largest exponent (infinities and NaNs). */
export const BIAS = 16383;
export const EXP_MAX = 0x7fff;
/** The exponent adjustment of an unmasked overflow or underflow with a register destination (SDM vol. 1, 8.5.4). */
export const WRAP = 24576;

/** The real indefinite: the default QNaN an invalid operation returns when masked. */
export const INDEFINITE_SE = 0xffff;
export const INDEFINITE_HI = 0xc0000000;

const TWO32 = 4294967296;

/** roundSig result bits. */
const INEXACT = 1;
const INCREMENTED = 2;
const CARRY = 4;

/** Classifies an 80-bit encoding. */
export function kindOf(se: number, hi: number, lo: number): number {
  const e = se & EXP_MAX;
  if (e === 0) return (hi | lo) === 0 ? Kind.ZERO : Kind.DENORMAL;
  if ((hi & 0x80000000) === 0) return Kind.UNSUPPORTED;
  if (e === EXP_MAX) {
    if ((hi & 0x7fffffff) === 0 && lo === 0) return Kind.INF;
    return (hi & 0x40000000) !== 0 ? Kind.QNAN : Kind.SNAN;
  }
  return Kind.NORMAL;
}

/** True for QNaN and SNaN kinds. */
export function isNan(kind: number): boolean {
  return kind === Kind.QNAN || kind === Kind.SNAN;
}

/**
 * High 32 bits of the 64-bit product of two unsigned 32-bit numbers (the low half is Math.imul),
 * from 16-bit partial products: integer operations only, no division.
 */
export function mulHi32(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const lh = al * bh;
  const hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  // As an int32 (a small integer to V8, not a boxed double): callers take it `>>> 0`.
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) | 0;
}

export class F80 {
  /** Rounding control, precision (24, 53 or 64 bits) and exception masks for the next operations. */
  rc: number = Rc.NEAREST;
  prec = 64;
  masks = 0x3f;
  /** Flags raised since the caller last cleared them (Fx bits). */
  flags = 0;
  /** The result: sign|exponent and significand. */
  se = 0;
  hi = 0;
  lo = 0;
  /** Scratch of the helpers (results of shifts and rounding). */
  private sHi = 0;
  private sLo = 0;
  private sX = 0;
  private tHi = 0;
  private tLo = 0;
  /** Exponent of the last normalize(). */
  private nExp = 0;
  /** Integer results (two's complement halves) of toInteger, and the packed formats of toFloat. */
  iHi = 0;
  iLo = 0;
  /**
   * The operand converted last by fromF32/fromF64 was a single or double denormal: the next
   * operation raises DE for it (its extended form is normal). Cleared by the caller per instruction.
   */
  loadDenormal = false;
  /** FXTRACT's exponent result. */
  eSe = 0;
  eHi = 0;
  eLo = 0;

  /** Sets the result. */
  set(se: number, hi: number, lo: number): void {
    this.se = se;
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
  }

  /** Invalid operation: IE, and the real indefinite as the (masked) result. */
  invalid(): void {
    this.flags |= Fx.IE;
    this.se = INDEFINITE_SE;
    this.hi = INDEFINITE_HI;
    this.lo = 0;
  }

  // ------------------------------------------------------------------ multi-word helpers

  /** hi:lo:x >> n with the bits shifted out ORed into the lowest bit ("jamming"): sHi, sLo, sX. */
  private shr96(hi: number, lo: number, x: number, n: number): void {
    hi >>>= 0; lo >>>= 0; x >>>= 0;
    if (n <= 0) {
      this.sHi = hi;
      this.sLo = lo;
      this.sX = x;
    } else if (n < 32) {
      const j = x << (32 - n) !== 0 ? 1 : 0;
      this.sX = ((lo << (32 - n)) | (x >>> n) | j) >>> 0;
      this.sLo = ((hi << (32 - n)) | (lo >>> n)) >>> 0;
      this.sHi = hi >>> n;
    } else if (n === 32) {
      this.sX = (lo | (x !== 0 ? 1 : 0)) >>> 0;
      this.sLo = hi;
      this.sHi = 0;
    } else if (n < 64) {
      const m = n - 32;
      const j = x !== 0 || lo << (32 - m) !== 0 ? 1 : 0;
      this.sX = ((hi << (32 - m)) | (lo >>> m) | j) >>> 0;
      this.sLo = hi >>> m;
      this.sHi = 0;
    } else if (n === 64) {
      this.sX = (hi | ((lo | x) !== 0 ? 1 : 0)) >>> 0;
      this.sLo = 0;
      this.sHi = 0;
    } else if (n < 96) {
      const m = n - 64;
      const j = (lo | x) !== 0 || hi << (32 - m) !== 0 ? 1 : 0;
      this.sX = ((hi >>> m) | j) >>> 0;
      this.sLo = 0;
      this.sHi = 0;
    } else {
      this.sX = (hi | lo | x) !== 0 ? 1 : 0;
      this.sLo = 0;
      this.sHi = 0;
    }
  }

  /**
   * Shifts hi:lo:x left until bit 95 is set, lowering `exp` by the shift: sHi, sLo, sX, nExp.
   * Returns false when the value is zero.
   */
  private normalize(exp: number, hi: number, lo: number, x: number): boolean {
    hi >>>= 0; lo >>>= 0; x >>>= 0;
    let n: number;
    if (hi !== 0) n = Math.clz32(hi);
    else if (lo !== 0) n = 32 + Math.clz32(lo);
    else if (x !== 0) n = 64 + Math.clz32(x);
    else return false;
    this.nExp = exp - n;
    if (n === 0) {
      this.sHi = hi;
      this.sLo = lo;
      this.sX = x;
    } else if (n < 32) {
      this.sHi = ((hi << n) | (lo >>> (32 - n))) >>> 0;
      this.sLo = ((lo << n) | (x >>> (32 - n))) >>> 0;
      this.sX = (x << n) >>> 0;
    } else if (n === 32) {
      this.sHi = lo;
      this.sLo = x;
      this.sX = 0;
    } else if (n < 64) {
      const m = n - 32;
      this.sHi = ((lo << m) | (x >>> (32 - m))) >>> 0;
      this.sLo = (x << m) >>> 0;
      this.sX = 0;
    } else {
      this.sHi = (x << (n - 64)) >>> 0;
      this.sLo = 0;
      this.sX = 0;
    }
    return true;
  }

  // ------------------------------------------------------------------ rounding

  /**
   * Rounds hi:lo:x at `prec` bits from the top of hi (64: the discarded part is x; 53: the low
   * 11 bits of lo and x; 24: the low 8 bits of hi, lo and x) by the rounding control: tHi, tLo.
   * Returns INEXACT, INCREMENTED, and CARRY when the significand became 2^64 (then tHi:tLo is
   * 2^63 and the caller adds one to the exponent).
   */
  private roundSig(sign: number, hi: number, lo: number, x: number, prec: number): number {
    hi >>>= 0; lo >>>= 0; x >>>= 0;
    let rb: number;
    let sticky: boolean;
    let lsb: number;
    if (prec === 64) {
      rb = x >>> 31;
      sticky = (x & 0x7fffffff) !== 0;
      lsb = lo & 1;
    } else if (prec === 53) {
      rb = (lo >>> 10) & 1;
      sticky = (lo & 0x3ff) !== 0 || x !== 0;
      lsb = (lo >>> 11) & 1;
      lo = (lo & ~0x7ff) >>> 0;
    } else {
      rb = (hi >>> 7) & 1;
      sticky = (hi & 0x7f) !== 0 || lo !== 0 || x !== 0;
      lsb = (hi >>> 8) & 1;
      hi = (hi & ~0xff) >>> 0;
      lo = 0;
    }
    const inexact = rb !== 0 || sticky;
    let inc: boolean;
    switch (this.rc) {
      case Rc.NEAREST:
        inc = rb !== 0 && (sticky || lsb !== 0);
        break;
      case Rc.DOWN:
        inc = inexact && sign !== 0;
        break;
      case Rc.UP:
        inc = inexact && sign === 0;
        break;
      default:
        inc = false;
    }
    let out = inexact ? INEXACT : 0;
    if (inc) {
      out |= INCREMENTED;
      if (prec === 64) lo += 1;
      else if (prec === 53) lo += 0x800;
      else hi += 0x100;
      if (lo >= TWO32) {
        lo -= TWO32;
        hi += 1;
      }
      if (hi >= TWO32) {
        hi = 0x80000000;
        lo = 0;
        out |= CARRY;
      }
    }
    this.tHi = hi;
    this.tLo = lo;
    return out;
  }

  /**
   * Rounds the normalized 96-bit significand hi:lo:x (bit 95 set) with biased exponent `exp`
   * (unbounded) to `prec` bits in a format whose largest exponent is `maxExp` (0x7fff, 0x7ff,
   * 0xff), and applies the overflow and underflow rules (SDM vol. 1, 4.9.1.4-6, 8.5.4-5):
   * tininess is detected after rounding with unbounded exponent; masked, a tiny result is
   * denormalized (UE when also inexact) and an overflow gives infinity or the largest finite
   * value by rounding control; unmasked, the exponent is adjusted by `wrap` (24576 for a
   * register destination; a memory destination passes 0 and stores nothing). Writes the
   * target-format exponent to the result's `se` (without sign) and the significand to hi, lo.
   */
  private round(sign: number, exp: number, hi: number, lo: number, x: number, prec: number, maxExp: number, wrap: number): void {
    hi >>>= 0; lo >>>= 0; x >>>= 0;
    let r: number;
    if (exp > 0) {
      r = this.roundSig(sign, hi | 0, lo | 0, x | 0, prec);
      const e = (r & CARRY) !== 0 ? exp + 1 : exp;
      if (e < maxExp) return void this.rounded(e, r);
      this.flags |= Fx.OE;
      if ((this.masks & Fx.OE) === 0) {
        // Unmasked: the exponent adjusted; if it still overflows (FSCALE), infinity whatever the
        // rounding control, rounded up (as the host processors give it).
        if (e - wrap < maxExp) return void this.rounded(e - wrap, r);
        this.flags |= Fx.PE | Fx.C1;
        this.se = maxExp;
        this.hi = 0x80000000;
        this.lo = 0;
        return;
      }
      this.flags |= Fx.PE;
      const toInfinity = this.rc === Rc.NEAREST || (this.rc === Rc.UP && sign === 0) || (this.rc === Rc.DOWN && sign !== 0);
      if (toInfinity) {
        this.flags |= Fx.C1;
        this.se = maxExp;
        this.hi = 0x80000000;
        this.lo = 0;
      } else {
        this.flags &= ~Fx.C1;
        this.se = maxExp - 1;
        this.hi = prec === 24 ? 0xffffff00 : 0xffffffff;
        this.lo = prec === 64 ? 0xffffffff : prec === 53 ? 0xfffff800 : 0;
      }
      return;
    }
    // Tiny unless rounding with unbounded exponent carries a result of exponent 0 up to 1.
    r = this.roundSig(sign, hi | 0, lo | 0, x | 0, prec);
    if (exp === 0 && (r & CARRY) !== 0) return void this.rounded(1, r);
    if ((this.masks & Fx.UE) === 0) {
      this.flags |= Fx.UE;
      const e = ((r & CARRY) !== 0 ? exp + 1 : exp) + wrap;
      if (e > 0) return void this.rounded(e, r);
      // Still too small (FSCALE): zero, whatever the rounding control.
      this.flags = (this.flags | Fx.PE) & ~Fx.C1;
      this.se = 0;
      this.hi = 0;
      this.lo = 0;
      return;
    }
    this.shr96(hi | 0, lo | 0, x | 0, 1 - exp);
    r = this.roundSig(sign, this.sHi | 0, this.sLo | 0, this.sX | 0, prec);
    if ((r & INEXACT) !== 0) this.flags |= Fx.UE;
    this.rounded((this.tHi & 0x80000000) !== 0 ? 1 : 0, r);
  }

  /** Stores a rounded significand (tHi, tLo) with exponent e and its PE and C1. */
  private rounded(e: number, r: number): void {
    this.se = e;
    this.hi = this.tHi;
    this.lo = this.tLo;
    if ((r & INEXACT) !== 0) this.flags |= Fx.PE;
    if ((r & INCREMENTED) !== 0) this.flags |= Fx.C1;
    else this.flags &= ~Fx.C1;
  }

  /**
   * Rounds and packs an extended result: sign, biased exponent (unbounded) and a 96-bit
   * significand (any; zero gives a zero of that sign), at precision `prec`.
   */
  pack80(sign: number, exp: number, hi: number, lo: number, x: number, prec: number): void {
    hi >>>= 0; lo >>>= 0; x >>>= 0;
    if (!this.normalize(exp, hi | 0, lo | 0, x | 0)) {
      this.set(sign << 15, 0, 0);
      this.flags &= ~Fx.C1;
      return;
    }
    this.round(sign, this.nExp, this.sHi | 0, this.sLo | 0, this.sX | 0, prec, EXP_MAX, WRAP);
    this.se |= sign << 15;
  }

  // ------------------------------------------------------------------ operands

  /**
   * Unpacks a finite nonzero operand for arithmetic into sHi, sLo (normalized) and nExp (biased,
   * unbounded): denormals and pseudo-denormals have the exponent of 1 (SDM vol. 1, 8.2.2).
   */
  private unpack(se: number, hi: number, lo: number): void {
    hi >>>= 0; lo >>>= 0;
    const e = se & EXP_MAX;
    this.normalize(e === 0 ? 1 : e, hi | 0, lo | 0, 0);
  }

  /**
   * The NaN result of an operation on a and b, at least one a NaN (SDM vol. 1, 4.8.3.5 table 4-7):
   * an SNaN raises IE; two NaNs give the QNaN one, or the one with the larger significand (equal
   * significands: the first); the result is quieted.
   */
  private propagateNaN(aSe: number, aHi: number, aLo: number, aKind: number, bSe: number, bHi: number, bLo: number, bKind: number): void {
    aHi >>>= 0; aLo >>>= 0; bHi >>>= 0; bLo >>>= 0;
    if (aKind === Kind.SNAN || bKind === Kind.SNAN) this.flags |= Fx.IE;
    let pickA: boolean;
    if (!isNan(bKind)) pickA = true;
    else if (!isNan(aKind)) pickA = false;
    else if (aKind !== bKind) pickA = aKind === Kind.QNAN;
    else {
      const ah = aHi >>> 0;
      const bh = bHi >>> 0;
      pickA = ah > bh || (ah === bh && aLo >>> 0 >= bLo >>> 0);
      if (ah === bh && aLo >>> 0 === bLo >>> 0) pickA = (aSe & 0x8000) === 0 || (bSe & 0x8000) !== 0;
    }
    if (pickA) this.set(aSe, aHi | 0x40000000, aLo | 0);
    else this.set(bSe, bHi | 0x40000000, bLo | 0);
  }

  /**
   * The common part of every two-operand arithmetic operation: unsupported operands and NaNs.
   * Returns true when the result is decided (written, with its flags).
   */
  private nanOrInvalid(aSe: number, aHi: number, aLo: number, aKind: number, bSe: number, bHi: number, bLo: number, bKind: number): boolean {
    if (aKind === Kind.UNSUPPORTED || bKind === Kind.UNSUPPORTED) {
      this.invalid();
      return true;
    }
    if (isNan(aKind) || isNan(bKind)) {
      this.propagateNaN(aSe, aHi | 0, aLo | 0, aKind, bSe, bHi | 0, bLo | 0, bKind);
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ arithmetic

  /**
   * a + b (or a - b with `negateB`) at precision `prec`. Returns false when an unmasked
   * exception detected before the operation (IE, DE) leaves the destination unchanged.
   */
  add(aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number, negateB: boolean, prec: number): boolean {
    aHi >>>= 0; aLo >>>= 0; bHi >>>= 0; bLo >>>= 0;
    const ak = kindOf(aSe, aHi, aLo);
    const bk = kindOf(bSe, bHi, bLo);
    if (this.nanOrInvalid(aSe, aHi | 0, aLo | 0, ak, bSe, bHi | 0, bLo | 0, bk)) return (this.flags & Fx.IE & ~this.masks) === 0;
    const aSign = aSe >>> 15;
    const bSign = (bSe >>> 15) ^ (negateB ? 1 : 0);
    if (ak === Kind.INF || bk === Kind.INF) {
      if (ak === Kind.INF && bk === Kind.INF && aSign !== bSign) {
        this.invalid();
        return (this.masks & Fx.IE) !== 0;
      }
      if (ak === Kind.DENORMAL || bk === Kind.DENORMAL || this.loadDenormal) {
        this.flags |= Fx.DE;
        if ((this.masks & Fx.DE) === 0) return false;
      }
      this.set(((ak === Kind.INF ? aSign : bSign) << 15) | EXP_MAX, 0x80000000, 0);
      this.flags &= ~Fx.C1;
      return true;
    }
    if (ak === Kind.DENORMAL || bk === Kind.DENORMAL || this.loadDenormal) {
      this.flags |= Fx.DE;
      if ((this.masks & Fx.DE) === 0) return false;
    }
    if (ak === Kind.ZERO && bk === Kind.ZERO) {
      const sign = aSign === bSign ? aSign : this.rc === Rc.DOWN ? 1 : 0;
      this.set(sign << 15, 0, 0);
      this.flags &= ~Fx.C1;
      return true;
    }
    if (bk === Kind.ZERO || ak === Kind.ZERO) {
      // x + 0 is x, rounded to the precision.
      if (ak === Kind.ZERO) this.pack80(bSign, (bSe & EXP_MAX) || 1, bHi | 0, bLo | 0, 0, prec);
      else this.pack80(aSign, (aSe & EXP_MAX) || 1, aHi | 0, aLo | 0, 0, prec);
      return true;
    }
    let aExp = aSe & EXP_MAX || 1;
    let bExp = bSe & EXP_MAX || 1;
    let xHi = aHi >>> 0;
    let xLo = aLo >>> 0;
    let yHi = bHi >>> 0;
    let yLo = bLo >>> 0;
    let xSign = aSign;
    let ySign = bSign;
    // x is the operand with the larger exponent (or, for equal exponents, the larger significand).
    if (bExp > aExp || (bExp === aExp && (yHi > xHi || (yHi === xHi && yLo > xLo)))) {
      // Swapped by hand: a destructuring swap would allocate.
      let t = aExp;
      aExp = bExp;
      bExp = t;
      t = xHi;
      xHi = yHi;
      yHi = t;
      t = xLo;
      xLo = yLo;
      yLo = t;
      t = xSign;
      xSign = ySign;
      ySign = t;
    }
    this.shr96(yHi | 0, yLo | 0, 0, aExp - bExp);
    const sHi = this.sHi;
    const sLo = this.sLo;
    const sX = this.sX;
    if (xSign === ySign) {
      let lo = xLo + sLo;
      let c = 0;
      if (lo >= TWO32) {
        lo -= TWO32;
        c = 1;
      }
      let hi = xHi + sHi + c;
      let x = sX;
      let exp = aExp;
      if (hi >= TWO32) {
        hi -= TWO32;
        x = ((lo << 31) | (x >>> 1) | (x & 1)) >>> 0;
        lo = ((hi << 31) | (lo >>> 1)) >>> 0;
        hi = (0x80000000 | (hi >>> 1)) >>> 0;
        exp++;
      }
      this.pack80(xSign, exp, hi | 0, lo | 0, x | 0, prec);
      return true;
    }
    // Magnitude subtraction: x - y >= 0.
    let x = 0 - sX;
    let b = 0;
    if (x < 0) {
      x += TWO32;
      b = 1;
    }
    let lo = xLo - sLo - b;
    b = 0;
    if (lo < 0) {
      lo += TWO32;
      b = 1;
    }
    const hi = xHi - sHi - b;
    if (hi === 0 && lo === 0 && x === 0) {
      this.set((this.rc === Rc.DOWN ? 1 : 0) << 15, 0, 0);
      this.flags &= ~Fx.C1;
      return true;
    }
    this.pack80(xSign, aExp, hi | 0, lo | 0, x | 0, prec);
    return true;
  }

  /** a * b at precision `prec`. Returns false when an unmasked pre-operation exception leaves the destination unchanged. */
  mul(aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number, prec: number): boolean {
    aHi >>>= 0; aLo >>>= 0; bHi >>>= 0; bLo >>>= 0;
    const ak = kindOf(aSe, aHi, aLo);
    const bk = kindOf(bSe, bHi, bLo);
    if (this.nanOrInvalid(aSe, aHi | 0, aLo | 0, ak, bSe, bHi | 0, bLo | 0, bk)) return (this.flags & Fx.IE & ~this.masks) === 0;
    const sign = (aSe ^ bSe) >>> 15;
    if ((ak === Kind.INF && bk === Kind.ZERO) || (ak === Kind.ZERO && bk === Kind.INF)) {
      this.invalid();
      return (this.masks & Fx.IE) !== 0;
    }
    if (ak === Kind.DENORMAL || bk === Kind.DENORMAL || this.loadDenormal) {
      this.flags |= Fx.DE;
      if ((this.masks & Fx.DE) === 0) return false;
    }
    this.flags &= ~Fx.C1;
    if (ak === Kind.INF || bk === Kind.INF) {
      this.set((sign << 15) | EXP_MAX, 0x80000000, 0);
      return true;
    }
    if (ak === Kind.ZERO || bk === Kind.ZERO) {
      this.set(sign << 15, 0, 0);
      return true;
    }
    this.unpack(aSe, aHi | 0, aLo | 0);
    const xHi = this.sHi;
    const xLo = this.sLo;
    const xExp = this.nExp;
    this.unpack(bSe, bHi | 0, bLo | 0);
    this.mul64(xHi | 0, xLo | 0, this.sHi | 0, this.sLo | 0);
    this.pack80(sign, xExp + this.nExp - BIAS + 1, this.p3 | 0, this.p2 | 0, this.p1 | (this.p0 !== 0 ? 1 : 0), prec);
    return true;
  }

  /** The 128-bit product of two 64-bit numbers: p3 (high) .. p0. */
  p3 = 0;
  p2 = 0;
  p1 = 0;
  p0 = 0;
  mul64(aHi: number, aLo: number, bHi: number, bLo: number): void {
    // Math.imul and mulHi32 take either form: the halves stay int32 (unboxed if mulHi32 is not inlined).
    const llh = mulHi32(aLo, bLo) >>> 0;
    const hl = Math.imul(aHi, bLo) >>> 0;
    const lh = Math.imul(aLo, bHi) >>> 0;
    // Column sums stay below 2^34: `>>> 0` takes them modulo 2^32, the rest is the carry.
    const c1 = llh + hl + lh;
    const p1 = c1 >>> 0;
    const c2 = (c1 - p1) / TWO32 + (mulHi32(aHi, bLo) >>> 0) + (mulHi32(aLo, bHi) >>> 0) + (Math.imul(aHi, bHi) >>> 0);
    const p2 = c2 >>> 0;
    this.p0 = Math.imul(aLo, bLo) >>> 0;
    this.p1 = p1;
    this.p2 = p2;
    this.p3 = (c2 - p2) / TWO32 + (mulHi32(aHi, bHi) >>> 0);
  }

  /** a / b at precision `prec`. Returns false when an unmasked pre-operation exception (IE, DE, ZE) leaves the destination unchanged. */
  div(aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number, prec: number): boolean {
    aHi >>>= 0; aLo >>>= 0; bHi >>>= 0; bLo >>>= 0;
    const ak = kindOf(aSe, aHi, aLo);
    const bk = kindOf(bSe, bHi, bLo);
    if (this.nanOrInvalid(aSe, aHi | 0, aLo | 0, ak, bSe, bHi | 0, bLo | 0, bk)) return (this.flags & Fx.IE & ~this.masks) === 0;
    const sign = (aSe ^ bSe) >>> 15;
    if ((ak === Kind.INF && bk === Kind.INF) || (ak === Kind.ZERO && bk === Kind.ZERO)) {
      this.invalid();
      return (this.masks & Fx.IE) !== 0;
    }
    this.flags &= ~Fx.C1;
    if (bk === Kind.ZERO) {
      // A finite dividend by zero: ZE alone, even for a denormal dividend (IE and ZE are reported alone).
      if (ak !== Kind.INF) {
        this.flags |= Fx.ZE;
        if ((this.masks & Fx.ZE) === 0) return false;
      }
      this.set((sign << 15) | EXP_MAX, 0x80000000, 0);
      return true;
    }
    if (ak === Kind.DENORMAL || bk === Kind.DENORMAL || this.loadDenormal) {
      this.flags |= Fx.DE;
      if ((this.masks & Fx.DE) === 0) return false;
    }
    if (ak === Kind.INF) {
      this.set((sign << 15) | EXP_MAX, 0x80000000, 0);
      return true;
    }
    if (ak === Kind.ZERO || bk === Kind.INF) {
      this.set(sign << 15, 0, 0);
      return true;
    }
    this.unpack(aSe, aHi | 0, aLo | 0);
    const xHi = this.sHi;
    const xLo = this.sLo;
    let exp = this.nExp;
    this.unpack(bSe, bHi | 0, bLo | 0);
    const yHi = this.sHi;
    const yLo = this.sLo;
    exp = exp - this.nExp + BIAS;
    // Restoring division, one quotient bit per step: r < 2y always, 65 bits (rT:rH:rL).
    let rT = 0;
    let rH = xHi;
    let rL = xLo;
    if (xHi < yHi || (xHi === yHi && xLo < yLo)) {
      rT = 1;
      rH = ((rH << 1) | (rL >>> 31)) >>> 0;
      rL = (rL << 1) >>> 0;
      exp--;
    }
    let qH = 0;
    let qL = 0;
    let roundBit = 0;
    for (let k = 0; k < 65; k++) {
      let bit = 0;
      if (rT !== 0 || rH > yHi || (rH === yHi && rL >= yLo)) {
        let l = rL - yLo;
        let borrow = 0;
        if (l < 0) {
          l += TWO32;
          borrow = 1;
        }
        let h = rH - yHi - borrow;
        if (h < 0) h += TWO32;
        rL = l;
        rH = h;
        bit = 1;
      }
      if (k < 64) {
        qH = ((qH << 1) | (qL >>> 31)) >>> 0;
        qL = ((qL << 1) | bit) >>> 0;
      } else roundBit = bit;
      rT = rH >>> 31;
      rH = ((rH << 1) | (rL >>> 31)) >>> 0;
      rL = (rL << 1) >>> 0;
    }
    const sticky = (rT | rH | rL) !== 0 ? 1 : 0;
    this.pack80(sign, exp, qH | 0, qL | 0, (roundBit << 31) | sticky, prec);
    return true;
  }

  /** The square root of a at precision `prec`. Returns false when an unmasked pre-operation exception leaves the destination unchanged. */
  sqrt(aSe: number, aHi: number, aLo: number, prec: number): boolean {
    aHi >>>= 0; aLo >>>= 0;
    const ak = kindOf(aSe, aHi, aLo);
    if (ak === Kind.UNSUPPORTED) {
      this.invalid();
      return (this.masks & Fx.IE) !== 0;
    }
    if (isNan(ak)) {
      this.propagateNaN(aSe, aHi | 0, aLo | 0, ak, 0, 0, 0, Kind.ZERO);
      return (this.flags & Fx.IE & ~this.masks) === 0;
    }
    const sign = aSe >>> 15;
    if (ak === Kind.ZERO) {
      this.set(aSe, 0, 0);
      this.flags &= ~Fx.C1;
      return true;
    }
    if (sign !== 0) {
      this.invalid();
      return (this.masks & Fx.IE) !== 0;
    }
    if (ak === Kind.DENORMAL) {
      this.flags |= Fx.DE;
      if ((this.masks & Fx.DE) === 0) return false;
    }
    this.flags &= ~Fx.C1;
    if (ak === Kind.INF) {
      this.set(EXP_MAX, 0x80000000, 0);
      return true;
    }
    this.unpack(aSe, aHi | 0, aLo | 0);
    const e = this.nExp - BIAS;
    const odd = (e & 1) !== 0;
    // N = sig << 65 (even exponent) or sig << 66 (odd): 130 bits in five words n4..n0.
    const sh = odd ? 2 : 1;
    const h = this.sHi;
    const l = this.sLo;
    // sig << (64 + sh): words n4 n3 n2 = (sig << sh) split, n1 = n0 = 0.
    const n4 = h >>> (32 - sh);
    const n3 = ((h << sh) | (l >>> (32 - sh))) >>> 0;
    const n2 = (l << sh) >>> 0;
    // Digit-by-digit square root: 65 result bits from the 65 bit pairs of N (bits 129..0).
    let r2 = 0;
    let r1 = 0;
    let r0 = 0; // root, up to 65 bits
    let m2 = 0;
    let m1 = 0;
    let m0 = 0; // remainder, up to 67 bits
    for (let k = 64; k >= 0; k--) {
      // The bit pair at positions 2k+1, 2k of N.
      const pos = 2 * k;
      const word = pos >>> 5;
      const w = word === 4 ? n4 : word === 3 ? n3 : word === 2 ? n2 : 0;
      const pair = (w >>> (pos & 31)) & 3;
      // m = (m << 2) | pair
      m2 = ((m2 << 2) | (m1 >>> 30)) >>> 0;
      m1 = ((m1 << 2) | (m0 >>> 30)) >>> 0;
      m0 = ((m0 << 2) | pair) >>> 0;
      // t = (r << 2) | 1
      const t2 = ((r2 << 2) | (r1 >>> 30)) >>> 0;
      const t1 = ((r1 << 2) | (r0 >>> 30)) >>> 0;
      const t0 = ((r0 << 2) | 1) >>> 0;
      // r <<= 1
      r2 = ((r2 << 1) | (r1 >>> 31)) >>> 0;
      r1 = ((r1 << 1) | (r0 >>> 31)) >>> 0;
      r0 = (r0 << 1) >>> 0;
      if (m2 > t2 || (m2 === t2 && (m1 > t1 || (m1 === t1 && m0 >= t0)))) {
        let d0 = m0 - t0;
        let borrow = 0;
        if (d0 < 0) {
          d0 += TWO32;
          borrow = 1;
        }
        let d1 = m1 - t1 - borrow;
        borrow = 0;
        if (d1 < 0) {
          d1 += TWO32;
          borrow = 1;
        }
        m2 = m2 - t2 - borrow;
        m1 = d1;
        m0 = d0;
        r0 = (r0 | 1) >>> 0;
      }
    }
    // The root has 65 bits (r2 = 1, r1, r0): the significand is its top 64 bits.
    const sHi = ((r2 << 31) | (r1 >>> 1)) >>> 0;
    const sLo = ((r1 << 31) | (r0 >>> 1)) >>> 0;
    const x = (((r0 & 1) << 31) | ((m2 | m1 | m0) !== 0 ? 1 : 0)) >>> 0;
    const exp = (odd ? (e - 1) / 2 : e / 2) + BIAS;
    this.pack80(0, exp, sHi | 0, sLo | 0, x | 0, prec);
    return true;
  }

  // ------------------------------------------------------------------ conversions

  /**
   * An unsigned 64-bit magnitude with a sign, exactly (FILD; integers of up to 64 bits always fit).
   */
  fromInteger(sign: number, hi: number, lo: number): void {
    hi >>>= 0; lo >>>= 0;
    this.flags &= ~Fx.C1;
    if (!this.normalize(BIAS + 63, hi | 0, lo | 0, 0)) {
      this.set(sign << 15, 0, 0);
      return;
    }
    this.set((sign << 15) | this.nExp, this.sHi | 0, this.sLo | 0);
  }

  /**
   * A single-precision encoding to extended, exactly (FLD m32fp and the m32fp operands): a
   * denormal is normalized and sets loadDenormal; NaNs keep their kind (the caller decides on IE).
   */
  fromF32(bits: number): void {
    const sign = bits >>> 31;
    const e = (bits >>> 23) & 0xff;
    const frac = bits & 0x7fffff;
    if (e === 0xff) this.set((sign << 15) | EXP_MAX, 0x80000000 | (frac << 8), 0);
    else if (e !== 0) this.set((sign << 15) | (e - 127 + BIAS), 0x80000000 | (frac << 8), 0);
    else if (frac === 0) this.set(sign << 15, 0, 0);
    else {
      this.loadDenormal = true;
      // Value 0.f * 2^-126: f (23 bits) at the bottom of hi is f << 8 at exponent -126, so -118 here.
      this.normalize(BIAS - 118, frac, 0, 0);
      this.set((sign << 15) | this.nExp, this.sHi | 0, this.sLo | 0);
    }
  }

  /** A double-precision encoding (high and low words) to extended, exactly (as fromF32). */
  fromF64(hiBits: number, loBits: number): void {
    const sign = hiBits >>> 31;
    const e = (hiBits >>> 20) & 0x7ff;
    const fHi = hiBits & 0xfffff;
    const fLo = loBits >>> 0;
    const sigHi = ((fHi << 11) | (fLo >>> 21)) >>> 0;
    const sigLo = (fLo << 11) >>> 0;
    if (e === 0x7ff) this.set((sign << 15) | EXP_MAX, 0x80000000 | sigHi, sigLo | 0);
    else if (e !== 0) this.set((sign << 15) | (e - 1023 + BIAS), 0x80000000 | sigHi, sigLo | 0);
    else if ((fHi | fLo) === 0) this.set(sign << 15, 0, 0);
    else {
      this.loadDenormal = true;
      // Value 0.f * 2^-1022: the significand without its J bit, at exponent -1022.
      this.normalize(BIAS - 1022, sigHi | 0, sigLo | 0, 0);
      this.set((sign << 15) | this.nExp, this.sHi | 0, this.sLo | 0);
    }
  }

  /**
   * Extended to single (bits in iLo) or double (iHi:iLo) precision with the rounding control
   * (FST m32fp/m64fp, SDM vol. 1, 4.9.1 and 8.5): `double` selects the format. Returns false
   * when nothing may be stored (an unmasked IE, OE or UE; the flags say which).
   */
  toFloat(se: number, hi: number, lo: number, double: boolean): boolean {
    hi >>>= 0; lo >>>= 0;
    const k = kindOf(se, hi, lo);
    const sign = se >>> 15;
    this.flags &= ~Fx.C1;
    let e: number;
    let sHi: number;
    let sLo: number;
    switch (k) {
      case Kind.UNSUPPORTED:
        this.flags |= Fx.IE;
        if ((this.masks & Fx.IE) === 0) return false;
        this.packFloat(1, double ? 0x7ff : 0xff, 0xc0000000, 0, double);
        return true;
      case Kind.SNAN:
      case Kind.QNAN:
        if (k === Kind.SNAN) {
          this.flags |= Fx.IE;
          if ((this.masks & Fx.IE) === 0) return false;
        }
        this.packFloat(sign, double ? 0x7ff : 0xff, hi | 0x40000000, lo | 0, double);
        return true;
      case Kind.INF:
        this.packFloat(sign, double ? 0x7ff : 0xff, 0x80000000, 0, double);
        return true;
      case Kind.ZERO:
        this.packFloat(sign, 0, 0, 0, double);
        return true;
      default:
        this.unpack(se, hi | 0, lo | 0);
        e = this.nExp - BIAS + (double ? 1023 : 127);
        sHi = this.sHi;
        sLo = this.sLo;
    }
    this.round(sign, e, sHi | 0, sLo | 0, 0, double ? 53 : 24, double ? 0x7ff : 0xff, 0);
    if ((this.flags & ~this.masks & (Fx.OE | Fx.UE)) !== 0) {
      // Unmasked overflow or underflow of a store: nothing stored, and neither PE nor C1 reported
      // (SDM vol. 1, 8.5.4 and 8.5.5: the operands stay unchanged for the handler).
      this.flags &= ~(Fx.PE | Fx.C1);
      return false;
    }
    this.packFloat(sign, this.se, this.hi | 0, this.lo | 0, double);
    return true;
  }

  /** Packs sign, exponent and a significand (J at bit 63, ignored) into iLo (single) or iHi:iLo (double). */
  private packFloat(sign: number, e: number, hi: number, lo: number, double: boolean): void {
    hi >>>= 0; lo >>>= 0;
    if (double) {
      this.iHi = ((sign << 31) | (e << 20) | ((hi >>> 11) & 0xfffff)) >>> 0;
      this.iLo = ((hi << 21) | (lo >>> 11)) >>> 0;
    } else {
      this.iLo = ((sign << 31) | (e << 23) | ((hi >>> 8) & 0x7fffff)) >>> 0;
      this.iHi = 0;
    }
  }

  /**
   * Rounds a finite value to an integer by the rounding control: magnitude in tHi:tLo. Returns
   * the roundSig bits (CARRY: the magnitude is 2^64). The caller has handled zeros, NaNs and
   * infinities, and an exponent too large for any 64-bit integer.
   */
  private roundToIntMag(sign: number, exp: number, hi: number, lo: number): number {
    hi >>>= 0; lo >>>= 0;
    this.shr96(hi | 0, lo | 0, 0, BIAS + 63 - exp);
    return this.roundSig(sign, this.sHi | 0, this.sLo | 0, this.sX | 0, 64);
  }

  /**
   * Extended to a signed integer of `bits` (16, 32, 64) by the rounding control (FIST, FISTP):
   * two's complement in iHi:iLo. NaNs, infinities, unsupported encodings and values out of
   * range raise IE and give the integer indefinite (the most negative integer). Returns false
   * when nothing may be stored (unmasked IE).
   */
  toInteger(se: number, hi: number, lo: number, bits: number): boolean {
    hi >>>= 0; lo >>>= 0;
    const k = kindOf(se, hi, lo);
    const sign = se >>> 15;
    this.flags &= ~Fx.C1;
    if (k === Kind.ZERO) {
      this.iHi = this.iLo = 0;
      return true;
    }
    if (k !== Kind.NORMAL && k !== Kind.DENORMAL) return this.integerIndefinite(bits);
    const exp = se & EXP_MAX || 1;
    if (exp > BIAS + 63) return this.integerIndefinite(bits);
    const r = this.roundToIntMag(sign, exp, hi | 0, lo | 0);
    if ((r & CARRY) !== 0) return this.integerIndefinite(bits);
    let mHi = this.tHi;
    const mLo = this.tLo;
    // Largest magnitude: 2^(bits-1) - 1, or 2^(bits-1) when negative.
    if (bits === 64) {
      if (mHi > 0x80000000 || (mHi === 0x80000000 && (mLo !== 0 || sign === 0))) return this.integerIndefinite(bits);
    } else if (mHi !== 0) return this.integerIndefinite(bits);
    else {
      const limit = bits === 32 ? 0x80000000 : 0x8000;
      if (mLo > limit || (mLo === limit && sign === 0)) return this.integerIndefinite(bits);
    }
    if ((r & INEXACT) !== 0) this.flags |= Fx.PE;
    if ((r & INCREMENTED) !== 0) this.flags |= Fx.C1;
    if (sign !== 0) {
      // Two's complement of the 64-bit magnitude.
      let l = (~mLo >>> 0) + 1;
      let h = ~mHi >>> 0;
      if (l >= TWO32) {
        l -= TWO32;
        h = (h + 1) >>> 0;
      }
      this.iLo = l >>> 0;
      mHi = h;
    } else this.iLo = mLo;
    this.iHi = mHi >>> 0;
    return true;
  }

  private integerIndefinite(bits: number): boolean {
    this.flags |= Fx.IE;
    this.flags &= ~Fx.C1;
    this.iHi = bits === 64 ? 0x80000000 : 0;
    this.iLo = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0x8000;
    return (this.masks & Fx.IE) !== 0;
  }

  /**
   * FRNDINT: rounds to an integral value by the rounding control. Returns false when an unmasked
   * exception before the operation leaves the destination unchanged.
   */
  roundToInteger(se: number, hi: number, lo: number): boolean {
    hi >>>= 0; lo >>>= 0;
    const k = kindOf(se, hi, lo);
    this.flags &= ~Fx.C1;
    switch (k) {
      case Kind.UNSUPPORTED:
        this.invalid();
        return (this.masks & Fx.IE) !== 0;
      case Kind.SNAN:
      case Kind.QNAN:
        this.propagateNaN(se, hi | 0, lo | 0, k, 0, 0, 0, Kind.ZERO);
        return (this.flags & Fx.IE & ~this.masks) === 0;
      case Kind.ZERO:
      case Kind.INF:
        this.set(se, hi | 0, lo | 0);
        return true;
      case Kind.DENORMAL:
        this.flags |= Fx.DE;
        if ((this.masks & Fx.DE) === 0) return false;
        break;
    }
    const sign = se >>> 15;
    const exp = se & EXP_MAX || 1;
    if (exp >= BIAS + 63) {
      this.set(se, hi | 0, lo | 0);
      return true;
    }
    const r = this.roundToIntMag(sign, exp, hi | 0, lo | 0);
    if ((r & INEXACT) !== 0) this.flags |= Fx.PE;
    if ((r & INCREMENTED) !== 0) this.flags |= Fx.C1;
    if ((r & CARRY) !== 0) this.set((sign << 15) | (BIAS + 64), 0x80000000, 0);
    else if (!this.normalize(BIAS + 63, this.tHi | 0, this.tLo | 0, 0)) this.set(sign << 15, 0, 0);
    else this.set((sign << 15) | this.nExp, this.sHi | 0, this.sLo | 0);
    return true;
  }

  /**
   * Compares a with b (FCOM, FUCOM, FTST, FICOM, FCOMI): 0 less, 1 equal, 2 greater, 3 unordered.
   * Unsupported encodings and SNaNs raise IE; QNaNs too unless `quiet` (the unordered compares);
   * denormals raise DE. The result is given even when an exception is unmasked: the compares
   * write their condition codes or flags regardless and only skip the pop.
   */
  compare(aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number, quiet: boolean): number {
    aHi >>>= 0; aLo >>>= 0; bHi >>>= 0; bLo >>>= 0;
    const ak = kindOf(aSe, aHi, aLo);
    const bk = kindOf(bSe, bHi, bLo);
    if (ak === Kind.UNSUPPORTED || bk === Kind.UNSUPPORTED || ak === Kind.SNAN || bk === Kind.SNAN || (!quiet && (ak === Kind.QNAN || bk === Kind.QNAN))) {
      this.flags |= Fx.IE;
      return 3;
    }
    if (ak === Kind.QNAN || bk === Kind.QNAN) return 3;
    if (ak === Kind.DENORMAL || bk === Kind.DENORMAL || this.loadDenormal) this.flags |= Fx.DE;
    if (ak === Kind.ZERO && bk === Kind.ZERO) return 1;
    const aSign = aSe >>> 15;
    const bSign = bSe >>> 15;
    if (ak === Kind.ZERO) return bSign !== 0 ? 2 : 0;
    if (bk === Kind.ZERO) return aSign !== 0 ? 0 : 2;
    if (aSign !== bSign) return aSign !== 0 ? 0 : 2;
    this.unpack(aSe, aHi | 0, aLo | 0);
    const ae = this.nExp;
    const ah = this.sHi;
    const al = this.sLo;
    this.unpack(bSe, bHi | 0, bLo | 0);
    let c: number;
    if (ae !== this.nExp) c = ae > this.nExp ? 1 : -1;
    else if (ah !== this.sHi) c = ah > this.sHi ? 1 : -1;
    else if (al !== this.sLo) c = al > this.sLo ? 1 : -1;
    else return 1;
    if (aSign !== 0) c = -c;
    return c > 0 ? 2 : 0;
  }

  // ------------------------------------------------------------------ FPREM, FSCALE, FXTRACT

  /**
   * FPREM (`ieee` false: the quotient truncated) and FPREM1 (`ieee`: rounded to nearest even) of
   * a by b (SDM vol. 2 FPREM, FPREM1): exact. With an exponent difference D of 64 or more the
   * reduction is partial: by N = 32 + (D mod 32) bits, as the host processors do (the SDM
   * leaves N between 32 and 63). Returns the quotient's low three bits, or 8 for a partial
   * reduction (C2; the quotient bits read 0), or -1 when an invalid operation or NaN wrote the
   * result without a quotient, or -2 when nothing is written (an unmasked exception).
   */
  remainder(aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number, ieee: boolean): number {
    aHi >>>= 0; aLo >>>= 0; bHi >>>= 0; bLo >>>= 0;
    const ak = kindOf(aSe, aHi, aLo);
    const bk = kindOf(bSe, bHi, bLo);
    if (this.nanOrInvalid(aSe, aHi | 0, aLo | 0, ak, bSe, bHi | 0, bLo | 0, bk)) return (this.flags & Fx.IE & ~this.masks) === 0 ? -1 : -2;
    if (ak === Kind.INF || bk === Kind.ZERO) {
      this.invalid();
      return (this.masks & Fx.IE) !== 0 ? -1 : -2;
    }
    if (ak === Kind.DENORMAL || bk === Kind.DENORMAL) {
      this.flags |= Fx.DE;
      if ((this.masks & Fx.DE) === 0) return -2;
    }
    if (ak === Kind.ZERO) {
      this.set(aSe, aHi | 0, aLo | 0);
      return 0;
    }
    let sign = aSe >>> 15;
    if (bk === Kind.INF) {
      // The dividend itself (a pseudo-denormal comes back with the exponent of 1).
      this.pack80(sign, aSe & EXP_MAX || 1, aHi | 0, aLo | 0, 0, 64);
      return 0;
    }
    this.unpack(aSe, aHi | 0, aLo | 0);
    const aExp = this.nExp;
    const xH = this.sHi;
    const xL = this.sLo;
    this.unpack(bSe, bHi | 0, bLo | 0);
    const bExp = this.nExp;
    const yH = this.sHi;
    const yL = this.sLo;
    const d = aExp - bExp;
    if (d < -1 || (d === -1 && !ieee)) {
      this.pack80(sign, aExp, xH | 0, xL | 0, 0, 64);
      return 0;
    }
    if (d === -1) {
      // |a| against |b| / 2: x against y. Above: quotient 1 and |b| - |a| = (2y - x) / 2.
      if (xH < yH || (xH === yH && xL <= yL)) {
        this.pack80(sign, aExp, xH | 0, xL | 0, 0, 64);
        return 0;
      }
      let l = yL * 2 - xL;
      let h = yH * 2 - xH;
      if (l < 0) {
        l += TWO32;
        h -= 1;
      } else if (l >= TWO32) {
        l -= TWO32;
        h += 1;
      }
      // 2y - x < y: fits in 64 bits, at b's exponent minus one.
      this.pack80(sign ^ 1, bExp - 1, h | 0, l | 0, 0, 64);
      return 1;
    }
    let steps = d;
    let scale = 0;
    const partial = d >= 64;
    if (partial) {
      steps = 32 + (d & 31);
      scale = d - steps;
    }
    // Long division of x * 2^steps by y: r < y after each step (65 bits while shifted).
    let rT = 0;
    let rH = xH;
    let rL = xL;
    let q = 0;
    for (let k = 0; k <= steps; k++) {
      if (k > 0) {
        rT = rH >>> 31;
        rH = ((rH << 1) | (rL >>> 31)) >>> 0;
        rL = (rL << 1) >>> 0;
        q = (q << 1) & 0x3fffffff;
      }
      if (rT !== 0 || rH > yH || (rH === yH && rL >= yL)) {
        let l = rL - yL;
        let borrow = 0;
        if (l < 0) {
          l += TWO32;
          borrow = 1;
        }
        let h = rH - yH - borrow;
        if (h < 0) h += TWO32;
        rL = l;
        rH = h;
        rT = 0;
        q |= 1;
      }
    }
    if (ieee && !partial) {
      // Round the quotient to nearest even: 2r against y.
      const tT = rH >>> 31;
      const tH = ((rH << 1) | (rL >>> 31)) >>> 0;
      const tL = (rL << 1) >>> 0;
      const above = tT !== 0 || tH > yH || (tH === yH && tL > yL);
      const tie = tT === 0 && tH === yH && tL === yL;
      if (above || (tie && (q & 1) !== 0)) {
        q += 1;
        let l = yL - rL;
        let h = yH - rH;
        if (l < 0) {
          l += TWO32;
          h -= 1;
        }
        rH = h;
        rL = l;
        sign ^= 1;
      }
    }
    if ((rH | rL) === 0) this.set(aSe & 0x8000, 0, 0);
    else this.pack80(sign, bExp + scale, rH | 0, rL | 0, 0, 64);
    return partial ? 8 : q & 7;
  }

  /**
   * FSCALE: a * 2^trunc(b) (SDM vol. 2 FSCALE table): exact unless the result leaves the
   * exponent range. Returns false when an unmasked exception leaves the destination unchanged.
   */
  scale(aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number): boolean {
    aHi >>>= 0; aLo >>>= 0; bHi >>>= 0; bLo >>>= 0;
    const ak = kindOf(aSe, aHi, aLo);
    const bk = kindOf(bSe, bHi, bLo);
    if (this.nanOrInvalid(aSe, aHi | 0, aLo | 0, ak, bSe, bHi | 0, bLo | 0, bk)) return (this.flags & Fx.IE & ~this.masks) === 0;
    const bNeg = bSe >>> 15 !== 0;
    this.flags &= ~Fx.C1;
    if ((ak === Kind.INF && bk === Kind.INF && bNeg) || (ak === Kind.ZERO && bk === Kind.INF && !bNeg)) {
      this.invalid();
      return (this.masks & Fx.IE) !== 0;
    }
    if (ak === Kind.DENORMAL || bk === Kind.DENORMAL) {
      this.flags |= Fx.DE;
      if ((this.masks & Fx.DE) === 0) return false;
    }
    if (ak === Kind.INF || ak === Kind.ZERO) {
      this.set(aSe, aHi | 0, aLo | 0);
      return true;
    }
    const sign = aSe >>> 15;
    if (bk === Kind.INF) {
      this.set(bNeg ? sign << 15 : (sign << 15) | EXP_MAX, bNeg ? 0 : 0x80000000, 0);
      return true;
    }
    // trunc(b), clamped far beyond any exponent that can still give a finite nonzero result.
    let n = 0;
    if (bk === Kind.NORMAL) {
      const e = (bSe & EXP_MAX) - BIAS;
      if (e > 20) n = 1 << 20;
      else if (e >= 0) n = bHi >>> (31 - e);
      if (bNeg) n = -n;
    }
    this.unpack(aSe, aHi | 0, aLo | 0);
    this.pack80(sign, this.nExp + n, this.sHi | 0, this.sLo | 0, 0, 64);
    return true;
  }

  /**
   * FXTRACT: the significand (exponent 0, same sign) in the result and the unbiased exponent as
   * a value in eSe/eHi/eLo. A zero raises ZE (exponent -inf); an infinity gives +inf. Returns
   * false when an unmasked exception leaves the stack unchanged.
   */
  extract(se: number, hi: number, lo: number): boolean {
    hi >>>= 0; lo >>>= 0;
    const k = kindOf(se, hi, lo);
    this.flags &= ~Fx.C1;
    switch (k) {
      case Kind.UNSUPPORTED:
        this.invalid();
        this.eSe = INDEFINITE_SE;
        this.eHi = INDEFINITE_HI;
        this.eLo = 0;
        return (this.masks & Fx.IE) !== 0;
      case Kind.SNAN:
      case Kind.QNAN:
        this.propagateNaN(se, hi | 0, lo | 0, k, 0, 0, 0, Kind.ZERO);
        this.eSe = this.se;
        this.eHi = this.hi;
        this.eLo = this.lo;
        return (this.flags & Fx.IE & ~this.masks) === 0;
      case Kind.ZERO:
        this.flags |= Fx.ZE;
        if ((this.masks & Fx.ZE) === 0) return false;
        this.eSe = 0x8000 | EXP_MAX;
        this.eHi = 0x80000000;
        this.eLo = 0;
        this.set(se, 0, 0);
        return true;
      case Kind.INF:
        this.eSe = EXP_MAX;
        this.eHi = 0x80000000;
        this.eLo = 0;
        this.set(se, hi | 0, lo | 0);
        return true;
      case Kind.DENORMAL:
        this.flags |= Fx.DE;
        if ((this.masks & Fx.DE) === 0) return false;
    }
    this.unpack(se, hi | 0, lo | 0);
    const e = this.nExp - BIAS;
    const mHi = this.sHi;
    const mLo = this.sLo;
    this.fromInteger(e < 0 ? 1 : 0, 0, Math.abs(e));
    this.eSe = this.se;
    this.eHi = this.hi;
    this.eLo = this.lo;
    this.set((se & 0x8000) | BIAS, mHi | 0, mLo | 0);
    return true;
  }
}
