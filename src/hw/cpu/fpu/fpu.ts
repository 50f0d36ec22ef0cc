/**
 * The x87 FPU's architectural state (SDM vol. 1, 8.1): eight 80-bit data registers addressed as a
 * stack through TOP, the tag word (kept abridged: which registers are in use; the full tags are
 * computed from the contents when stored, as P6 and later processors do), the control and
 * status words, and the last instruction's pointers (FIP, FCS, FOP, FDP, FDS). Plain typed arrays
 * and numbers, so the VMM can copy it between the real CPU and a vCPU without allocating.
 * The instructions are in x87.ts; the arithmetic in float80.ts.
 */
import { F80, Kind, kindOf } from './float80.ts';

/** Status word bits (SDM vol. 1, figure 8-4). */
export const Sw = {
  IE: 0x0001,
  DE: 0x0002,
  ZE: 0x0004,
  OE: 0x0008,
  UE: 0x0010,
  PE: 0x0020,
  SF: 0x0040,
  ES: 0x0080,
  C0: 0x0100,
  C1: 0x0200,
  C2: 0x0400,
  TOP: 0x3800,
  C3: 0x4000,
  B: 0x8000,
} as const;

/** The six exception flags (and masks in the control word). */
export const EXCEPTIONS = 0x3f;
/** Condition code bits. */
export const CC = Sw.C0 | Sw.C1 | Sw.C2 | Sw.C3;

/** Control word after FNINIT: all exceptions masked, 64-bit precision, round to nearest. */
export const CW_INIT = 0x037f;
/** Control-word bits FLDCW keeps (SDM vol. 1, figure 8-6; bit 12, the old infinity control, is kept and bit 6 reads as 1). */
export const CW_WRITABLE = 0x1f3f;

/** Tag values of the full tag word (SDM vol. 1, figure 8-7). */
export const Tag = { VALID: 0, ZERO: 1, SPECIAL: 2, EMPTY: 3 } as const;

/** An output pin of the processor (FERR#): level true = asserted. */
export interface FpuErrorLine {
  set(level: boolean): void;
}

export class Fpu {
  /**
   * Physical registers R0-R7: sign|exponent and significand halves. ST(i) is R((TOP + i) & 7).
   * The halves are kept as int32 (read them `>>> 0` for the unsigned value): V8 passes an int32
   * as a small integer, an unsigned value of 2^31 or more as a boxed double, which would allocate
   * on every call of the float80 operations (they take either form).
   */
  readonly se = new Uint16Array(8);
  readonly hi = new Int32Array(8);
  readonly lo = new Int32Array(8);
  /** Bit i set: R(i) is in use (its tag is not empty). */
  full = 0;
  top = 0;
  cw = CW_INIT;
  /** The status word without TOP (bits 11-13 are always 0 here; see statusWord()). */
  sw = 0;
  /** Last non-control instruction: offset, code selector, opcode (11 bits); its memory operand: offset and selector. */
  fip = 0;
  fcs = 0;
  fop = 0;
  fdp = 0;
  fds = 0;
  /** The arithmetic unit (its scratch and result registers). */
  readonly f = new F80();
  /**
   * The processor's FERR# output and IGNNE# input (SDM vol. 1, appendix D): wiring, not state
   * that moves with the FPU's contents (copyFrom leaves them). FERR# is asserted when a waiting
   * instruction meets a pending exception with CR0.NE=0 and deasserted when ES clears.
   */
  ferr: FpuErrorLine | null = null;
  ignne = false;
  private ferrLevel = false;

  /** FNINIT's state (SDM vol. 2, FINIT/FNINIT): registers keep their contents. */
  init(): void {
    this.cw = CW_INIT;
    this.sw = 0;
    this.top = 0;
    this.full = 0;
    this.fip = this.fcs = this.fop = this.fdp = this.fds = 0;
  }

  /**
   * The state a kernel finds after the firmware (QEMU's reset state, as SeaBIOS leaves it):
   * FNINIT's, with every register +0. (At power-on the SDM's table 9-1 (vol. 3) has control word
   * 0040H and tags 5555H; firmware initializes the FPU before a kernel runs.)
   */
  reset(): void {
    this.init();
    this.se.fill(0);
    this.hi.fill(0);
    this.lo.fill(0);
  }

  /** Drives FERR#. */
  setFerr(level: boolean): void {
    if (level === this.ferrLevel) return;
    this.ferrLevel = level;
    this.ferr?.set(level);
  }

  /** FERR# follows ES down: called after anything that may clear ES. */
  syncFerr(): void {
    if (this.ferrLevel && (this.sw & Sw.ES) === 0) this.setFerr(false);
  }

  /** Physical register of ST(i). */
  phys(i: number): number {
    return (this.top + i) & 7;
  }

  isEmpty(i: number): boolean {
    return (this.full & (1 << ((this.top + i) & 7))) === 0;
  }

  statusWord(): number {
    return (this.sw & ~Sw.TOP) | (this.top << 11);
  }

  /** Loads the status word (FLDENV, FRSTOR): TOP from it; ES and B follow the unmasked flags. */
  loadStatusWord(v: number): void {
    this.top = (v >>> 11) & 7;
    this.sw = v & (EXCEPTIONS | Sw.SF | CC);
    this.updateErrorSummary();
  }

  /** ES and B: set while an unmasked exception flag is set (SDM vol. 1, 8.1.3 and 8.5). */
  updateErrorSummary(): void {
    if ((this.sw & ~this.cw & EXCEPTIONS) !== 0) this.sw |= Sw.ES | Sw.B;
    else this.sw &= ~(Sw.ES | Sw.B);
  }

  /** The full tag word, computed from the registers' contents (SDM vol. 1, 8.1.7). */
  tagWord(): number {
    let tw = 0;
    for (let r = 0; r < 8; r++) tw |= this.tagOf(r) << (2 * r);
    return tw;
  }

  /** The tag of physical register r. */
  tagOf(r: number): number {
    if ((this.full & (1 << r)) === 0) return Tag.EMPTY;
    switch (kindOf(this.se[r]!, this.hi[r]!, this.lo[r]!)) {
      case Kind.ZERO:
        return Tag.ZERO;
      case Kind.NORMAL:
        return Tag.VALID;
      default:
        return Tag.SPECIAL;
    }
  }

  /** Loads a tag word (FLDENV, FRSTOR): only "empty" or not is kept; the rest follows the contents. */
  loadTagWord(tw: number): void {
    let full = 0;
    for (let r = 0; r < 8; r++) if (((tw >>> (2 * r)) & 3) !== Tag.EMPTY) full |= 1 << r;
    this.full = full;
  }

  /** Copies another FPU's whole state (a VMM moving the guest's FPU between CPUs). */
  copyFrom(o: Fpu): void {
    this.se.set(o.se);
    this.hi.set(o.hi);
    this.lo.set(o.lo);
    this.full = o.full;
    this.top = o.top;
    this.cw = o.cw;
    this.sw = o.sw;
    this.fip = o.fip;
    this.fcs = o.fcs;
    this.fop = o.fop;
    this.fdp = o.fdp;
    this.fds = o.fds;
  }

  /** ST(i)'s value into the register r (no checks). */
  write(r: number, se: number, hi: number, lo: number): void {
    this.se[r] = se;
    this.hi[r] = hi;
    this.lo[r] = lo;
  }
}

