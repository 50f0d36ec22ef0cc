/**
 * What the native harness (native-harness.c) and the emulator run agree on: where code and the
 * scratch area live, how the scratch area is filled, and the PRNG the generator uses.
 */

/** Code of a case, natively an RWX mapping at this fixed address, in the emulator plain RAM. */
export const CODE_BASE = 0x00300000;
/** Room for a case's code (the native exit stub needs 64 bytes after it). */
export const CODE_SIZE = 0x2000;
/** The scratch area (two pages, so accesses can cross a page boundary): data and the stack. */
export const SCRATCH_BASE = 0x00200000;
export const SCRATCH_SIZE = 0x2000;
/** EFLAGS bits a case may choose: CF PF AF ZF SF OF DF. IF and bit 1 are always set. */
export const EFLAGS_CASE_MASK = 0x0cd5;
export const EFLAGS_ALWAYS = 0x0202;
/** The six arithmetic flags. */
export const ARITH_MASK = 0x08d5;

/** Fills the scratch area from a seed, exactly as fill_scratch() in native-harness.c does. */
export function fillScratch(seed: number, out: Uint8Array): void {
  let x = (seed ^ 0x9e3779b9) >>> 0;
  if (x === 0) x = 1;
  const words = new Int32Array(out.buffer, out.byteOffset, SCRATCH_SIZE >>> 2);
  for (let k = 0; k < words.length; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[k] = x;
  }
}

/** A small, fast, seedable PRNG (sfc32), seeded through splitmix32. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    let s = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) | 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let k = 0; k < 12; k++) this.u32();
  }

  /** A uniformly random int32. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(((this.u32() >>> 0) / 4294967296) * n);
  }

  /** A uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return (this.u32() >>> 0) / 4294967296 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}
