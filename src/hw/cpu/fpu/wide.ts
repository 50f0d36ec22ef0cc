/**
 * Binary floating point with a 128-bit significand, for the intermediate results of the x87's
 * transcendental instructions (transcendental.ts): enough bits that rounding the final result to
 * the 64-bit significand is correct but for values closer to a rounding boundary than 2^-120.
 * A value is sign, exponent and eight 16-bit limbs (most significant first): 0.m * 2^e with
 * 0.m in [1/2, 1), or zero. Operations truncate; the last bits of a long computation are noise.
 * Instances are preallocated scratch registers: nothing is allocated per operation.
 */

const LIMBS = 8;
/** Limbs of the working buffers: two more than a value, for guard bits. */
const WORK = LIMBS + 2;

export class Wide {
  sign = 0;
  exp = 0;
  zero = true;
  readonly m = new Int32Array(LIMBS);
}

const acc = new Float64Array(2 * LIMBS + 2);
const work = new Int32Array(WORK);
const workB = new Int32Array(WORK);

/** Copies a into d. */
export function copy(d: Wide, a: Wide): void {
  if (d === a) return;
  d.sign = a.sign;
  d.exp = a.exp;
  d.zero = a.zero;
  d.m.set(a.m);
}

export function setZero(d: Wide): void {
  d.zero = true;
  d.sign = 0;
  d.exp = 0;
  d.m.fill(0);
}

/** Normalizes the work buffer w (WORK limbs, value 0.w * 2^exp) into d. */
function fromWork(d: Wide, w: Int32Array, sign: number, exp: number): void {
  let first = 0;
  while (first < WORK && w[first] === 0) first++;
  if (first === WORK) return void setZero(d);
  let shift = Math.clz32(w[first]!) - 16;
  const limbShift = first;
  exp -= limbShift * 16 + shift;
  for (let k = 0; k < LIMBS; k++) {
    const i = k + limbShift;
    const a = i < WORK ? w[i]! : 0;
    const b = i + 1 < WORK ? w[i + 1]! : 0;
    d.m[k] = shift === 0 ? a : ((a << shift) | (b >>> (16 - shift))) & 0xffff;
  }
  shift = 0;
  d.sign = sign;
  d.exp = exp;
  d.zero = false;
}

/** An integer value (|n| < 2^53). */
export function setInt(d: Wide, n: number): void {
  if (n === 0) return void setZero(d);
  const sign = n < 0 ? 1 : 0;
  let v = Math.abs(n);
  work.fill(0);
  // Place v in the last four limbs, then normalize: exponent 16 * 4 for 0.w with w the integer at the bottom.
  for (let k = WORK - 1; k >= WORK - 4; k--) {
    work[k] = v % 65536;
    v = Math.floor(v / 65536);
  }
  fromWork(d, work, sign, WORK * 16);
}

/** The extended value se|hi:lo (finite, nonzero; a denormal with exponent field 0 counts as exponent 1). */
export function setF80(d: Wide, se: number, hi: number, lo: number): void {
  hi >>>= 0; lo >>>= 0;
  if ((hi | lo) === 0) return void setZero(d);
  work.fill(0);
  work[0] = hi >>> 16;
  work[1] = hi & 0xffff;
  work[2] = lo >>> 16;
  work[3] = lo & 0xffff;
  const e = se & 0x7fff || 1;
  // hi:lo / 2^64 * 2^(e - 16383 + 1): the J bit has weight 2^(e - 16383).
  fromWork(d, work, se >>> 15, e - 16383 + 1);
}

/** a + b (or a - b with `negate`). d may be a or b. */
export function add(d: Wide, a: Wide, b: Wide, negate: boolean): void {
  const bSign = b.sign ^ (negate ? 1 : 0);
  if (b.zero) return void copy(d, a);
  if (a.zero) {
    copy(d, b);
    d.sign = bSign;
    return;
  }
  let x = a;
  let y = b;
  let xSign = a.sign;
  let ySign = bSign;
  if (b.exp > a.exp || (b.exp === a.exp && compareMag(b, a) > 0)) {
    x = b;
    y = a;
    xSign = bSign;
    ySign = a.sign;
  }
  const diff = x.exp - y.exp;
  work.fill(0);
  workB.fill(0);
  for (let k = 0; k < LIMBS; k++) work[k + 1] = x.m[k]!;
  // y shifted right by diff bits (one limb of headroom at the top for a carry).
  const limbShift = diff >>> 4;
  const bitShift = diff & 15;
  if (diff < WORK * 16) {
    for (let k = 0; k < LIMBS; k++) {
      const v = y.m[k]!;
      const at = k + 1 + limbShift;
      if (at < WORK) workB[at] = workB[at]! | (v >>> bitShift);
      if (bitShift !== 0 && at + 1 < WORK) workB[at + 1] = workB[at + 1]! | ((v << (16 - bitShift)) & 0xffff);
    }
  }
  if (xSign === ySign) {
    let carry = 0;
    for (let k = WORK - 1; k >= 0; k--) {
      const s = work[k]! + workB[k]! + carry;
      work[k] = s & 0xffff;
      carry = s >>> 16;
    }
  } else {
    let borrow = 0;
    for (let k = WORK - 1; k >= 0; k--) {
      let s = work[k]! - workB[k]! - borrow;
      borrow = 0;
      if (s < 0) {
        s += 65536;
        borrow = 1;
      }
      work[k] = s;
    }
  }
  fromWork(d, work, xSign, x.exp + 16);
}

function compareMag(a: Wide, b: Wide): number {
  for (let k = 0; k < LIMBS; k++) if (a.m[k] !== b.m[k]) return a.m[k]! > b.m[k]! ? 1 : -1;
  return 0;
}

/** a * b. d may be a or b. */
export function mul(d: Wide, a: Wide, b: Wide): void {
  if (a.zero || b.zero) {
    setZero(d);
    d.sign = a.sign ^ b.sign;
    return;
  }
  acc.fill(0);
  for (let i = 0; i < LIMBS; i++) {
    const ai = a.m[i]!;
    if (ai === 0) continue;
    for (let j = 0; j < LIMBS; j++) acc[i + j + 1]! += ai * b.m[j]!;
  }
  // Carries, from the bottom: acc[k] is the column of weight 2^(-16(k+1)).
  let carry = 0;
  for (let k = 2 * LIMBS; k >= 0; k--) {
    const s = acc[k]! + carry;
    const low = s % 65536;
    acc[k] = low;
    carry = (s - low) / 65536;
  }
  for (let k = 0; k < WORK; k++) work[k] = acc[k]!;
  fromWork(d, work, a.sign ^ b.sign, a.exp + b.exp);
}

/** a / n for a small positive integer n (< 2^20). d may be a. */
export function divSmall(d: Wide, a: Wide, n: number): void {
  if (a.zero) return void copy(d, a);
  let rem = 0;
  for (let k = 0; k < WORK; k++) {
    const cur = rem * 65536 + (k < LIMBS ? a.m[k]! : 0);
    const q = Math.floor(cur / n);
    work[k] = q;
    rem = cur - q * n;
  }
  fromWork(d, work, a.sign, a.exp);
}

/** A double's approximation of a (for the first step of Newton's method). */
export function toDouble(a: Wide): number {
  if (a.zero) return 0;
  const m = a.m[0]! / 65536 + a.m[1]! / 4294967296 + a.m[2]! / 281474976710656 + a.m[3]! / 2 ** 64;
  return (a.sign !== 0 ? -m : m) * 2 ** a.exp;
}

const rx = new Wide();
const rt = new Wide();
const two = new Wide();
setInt(two, 2);

/**
 * 1 / b by Newton's method: a double's 53 bits, then three steps (106, 212: truncated to 128).
 * b nonzero. d must not be b.
 */
export function recip(d: Wide, b: Wide): void {
  // Scale b to [1/2, 1) for the double estimate; the exponent comes back at the end.
  const e = b.exp;
  copy(rt, b);
  rt.exp = 0;
  setDouble(rx, 1 / toDouble(rt));
  for (let k = 0; k < 3; k++) {
    mul(d, rt, rx);
    add(d, two, d, true);
    mul(rx, rx, d);
  }
  copy(d, rx);
  d.exp -= e;
}

/** a / b, b nonzero. d may be a, not b. */
export function div(d: Wide, a: Wide, b: Wide): void {
  const q = quotientScratch;
  recip(q, b);
  mul(d, a, q);
}
const quotientScratch = new Wide();

/** A double, exactly. */
export function setDouble(d: Wide, v: number): void {
  if (v === 0) return void setZero(d);
  const sign = v < 0 ? 1 : 0;
  let x = Math.abs(v);
  let e = Math.ceil(Math.log2(x));
  // 0.m in [1/2, 1): x / 2^e.
  let m = x / 2 ** e;
  if (m >= 1) {
    m /= 2;
    e += 1;
  } else if (m < 0.5) {
    m *= 2;
    e -= 1;
  }
  x = m;
  work.fill(0);
  for (let k = 0; k < 5; k++) {
    x *= 65536;
    const limb = Math.floor(x);
    work[k] = limb;
    x -= limb;
  }
  fromWork(d, work, sign, e);
}

/**
 * The top 96 bits of |a|'s significand as three unsigned 32-bit words and the bits below ORed
 * into the lowest ("sticky"), for the final rounding by F80.pack80; `exp` is the biased
 * extended exponent of the J bit (top bit).
 */
export const out = { hi: 0, lo: 0, x: 0, exp: 0 };
export function toBits(a: Wide): void {
  const m = a.m;
  out.hi = ((m[0]! << 16) | m[1]!) >>> 0;
  out.lo = ((m[2]! << 16) | m[3]!) >>> 0;
  out.x = ((m[4]! << 16) | m[5]! | (m[6]! !== 0 || m[7]! !== 0 ? 1 : 0)) >>> 0;
  out.exp = a.exp - 1 + 16383;
}
