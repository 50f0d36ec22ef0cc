/**
 * The x87 instructions of the P6 (SDM vol. 2, each instruction; vol. 1 chapter 8): loads and
 * stores of every format, arithmetic with its register, memory and integer forms, compares,
 * condition moves, the stack and constant instructions, with stack faults (8.5.1.1), the masked
 * and unmasked exception responses (8.5) and pending exceptions raised at the next waiting
 * instruction (8.6, 8.7): #MF with CR0.NE=1; with CR0.NE=0 the MS-DOS compatibility mode of
 * vol. 1 appendix D (FERR# and IGNNE#). CR0.EM and CR0.TS give #NM (vol. 3, 2.5 table 2-2).
 * The control instructions (environment, save and restore) are in x87-control.ts, the
 * transcendental ones in x87-transcendental.ts. FISTTP, FXSAVE and MMX are not modelled (#UD).
 * DEVIATION: with alignment checking (#AC) an operand is checked in its 2- and 4-byte pieces,
 * so an m64 or m80 operand aligned on 4 bytes does not fault (the SDM asks for 8).
 */
import { Cr0 } from '../../x86/control-registers.ts';
import { Seg } from '../../x86/descriptors.ts';
import { Eflags } from '../../x86/eflags.ts';
import { Vector } from '../../x86/vectors.ts';
import { type Cpu, SEG_FAST_W, Stop } from '../cpu.ts';
import { cond, materializeFlags } from '../flags.ts';
import type { Insn } from '../insn.ts';
import { ea } from '../operands.ts';
import { type F80, Fx, INDEFINITE_HI, INDEFINITE_SE, Kind, Rc, kindOf, mulHi32 } from './float80.ts';

const TWO32 = 4294967296;
import { EXCEPTIONS, type Fpu, Sw } from './fpu.ts';

// ------------------------------------------------------------------ prologues and epilogues

/**
 * A pending unmasked exception met a waiting instruction (SDM vol. 1, 8.7): #MF when CR0.NE=1.
 * With CR0.NE=0 (appendix D.2.1.1) the processor asserts FERR# and freezes before the
 * instruction until an interrupt arrives, unless IGNNE# is asserted, which lets it run.
 * DEVIATION: the P6 asserts FERR# at the end of the instruction that raised the exception
 * (vol. 3, 22.18.6.7); here it is asserted when the next waiting instruction freezes, as on the
 * Intel486 and Pentium, which a VMM can reproduce exactly from the #MF it sees (and QEMU does).
 * Returns true when the instruction goes on.
 */
export function pendingError(c: Cpu, i: Insn): boolean {
  if ((c.cr0 & Cr0.NE) !== 0) {
    c.fault(Vector.MF, -1);
    return false;
  }
  const f = c.fpu;
  if (f.ignne) return true;
  f.setFerr(true);
  c.eip = (c.eip - i.len) | 0;
  c.halted = true;
  c.stop |= Stop.HALT;
  return false;
}

/** #NM for every ESC opcode when CR0.EM or CR0.TS is set (SDM vol. 3, 2.5 table 2-2). */
export function deviceNotAvailable(c: Cpu): boolean {
  if ((c.cr0 & (Cr0.EM | Cr0.TS)) === 0) return false;
  c.fault(Vector.NM, -1);
  return true;
}

/**
 * An undefined ESC encoding (holes of the x87 opcode map, FISTTP which is SSE3): #NM when CR0.EM
 * or CR0.TS is set, like any ESC opcode, else #UD; no pending exception is looked at (SDM vol. 3,
 * 22.18.6.6).
 */
export function undefinedEsc(c: Cpu, _i: Insn): void {
  if (!deviceNotAvailable(c)) c.fault(Vector.UD, -1);
}

/**
 * The start of a waiting control instruction (FLDCW, FLDENV, FRSTOR): #NM, then a pending
 * exception. Returns the FPU, or null when the instruction must not run.
 */
export function beginControl(c: Cpu, i: Insn): Fpu | null {
  if (deviceNotAvailable(c)) return null;
  const f = c.fpu;
  if ((f.sw & Sw.ES) !== 0 && !pendingError(c, i)) return null;
  return f;
}

/**
 * The start of a waiting non-control instruction: as beginControl, then it becomes the last
 * instruction: FIP, FCS and FOP point to it, prefixes included (SDM vol. 1, 8.1.8; vol. 3, 22.18.6.5).
 */
export function begin(c: Cpu, i: Insn): Fpu | null {
  const f = beginControl(c, i);
  if (f === null) return null;
  f.fip = (c.eip - i.len) | 0;
  f.fcs = c.segSel[Seg.CS]!;
  f.fop = i.fop;
  return f;
}

/** Records the memory operand of the last instruction (FDP, FDS). */
function operand(c: Cpu, i: Insn, f: Fpu, off: number): void {
  f.fdp = off;
  f.fds = c.segSel[i.seg]!;
}

/** The arithmetic unit, set up from the control word, its flags cleared. */
export function env(f: Fpu): F80 {
  const u = f.f;
  u.rc = (f.cw >>> 10) & 3;
  u.masks = f.cw & EXCEPTIONS;
  u.flags = 0;
  u.loadDenormal = false;
  return u;
}

/** Precision control: 24, 53 or 64 bits (PC 00, 10, 11; the reserved 01 acts as 64 bits). */
function precision(f: Fpu): number {
  const pc = (f.cw >>> 8) & 3;
  return pc === 0 ? 24 : pc === 2 ? 53 : 64;
}

/** Records an instruction's flags: exception flags accumulate, C1 is written, ES and B follow unmasked flags. */
export function commit(f: Fpu, flags: number): void {
  f.sw = (f.sw & ~Sw.C1) | (flags & (EXCEPTIONS | Sw.SF | Sw.C1));
  if ((flags & ~f.cw & EXCEPTIONS) !== 0) f.sw |= Sw.ES | Sw.B;
}

/** True when the instruction's IE is unmasked (the destination and TOP must stay as they are). */
function ieUnmasked(f: Fpu): boolean {
  return (f.cw & Fx.IE) === 0;
}

/** Stack underflow: IE and SF, C1 = 0 (SDM vol. 1, 8.5.1.1). Returns true when masked (write the indefinite). */
export function stackUnderflow(f: Fpu, u: F80): boolean {
  u.flags = (u.flags | Fx.IE | Fx.SF) & ~Fx.C1;
  u.set(INDEFINITE_SE, INDEFINITE_HI, 0);
  return !ieUnmasked(f);
}

/** Stack overflow: IE, SF and C1 = 1. Returns true when masked (push the indefinite). */
export function stackOverflow(f: Fpu, u: F80): boolean {
  u.flags |= Fx.IE | Fx.SF | Fx.C1;
  u.set(INDEFINITE_SE, INDEFINITE_HI, 0);
  return !ieUnmasked(f);
}

export function full(f: Fpu, r: number): boolean {
  return (f.full & (1 << r)) !== 0;
}

/** Writes the unit's result to physical register r, which becomes in use. */
export function put(f: Fpu, r: number, u: F80): void {
  f.se[r] = u.se;
  f.hi[r] = u.hi;
  f.lo[r] = u.lo;
  f.full |= 1 << r;
}

export function pop(f: Fpu): void {
  f.full &= ~(1 << f.top);
  f.top = (f.top + 1) & 7;
}

/** Pushes the unit's result, or faults on a full stack (then the masked response pushes the indefinite). */
function push(f: Fpu, u: F80): void {
  const r = (f.top - 1) & 7;
  if (full(f, r) && !stackOverflow(f, u)) return;
  f.top = r;
  put(f, r, u);
}

/** ST(0) -> the unit's operand A registers (aSe, aHi, aLo) by convention of the caller. */

/** The precision-independent operation `op` (ModRM.reg of D8/DC: 0 add 1 mul 4 sub 5 subr 6 div 7 divr): dest = a op b. */
function arith(u: F80, op: number, aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number, prec: number): boolean {
  switch (op) {
    case 0:
      return u.add(aSe, aHi, aLo, bSe, bHi, bLo, false, prec);
    case 1:
      return u.mul(aSe, aHi, aLo, bSe, bHi, bLo, prec);
    case 4:
      return u.add(aSe, aHi, aLo, bSe, bHi, bLo, true, prec);
    case 5:
      return u.add(bSe, bHi, bLo, aSe, aHi, aLo, true, prec);
    case 6:
      return u.div(aSe, aHi, aLo, bSe, bHi, bLo, prec);
    default:
      return u.div(bSe, bHi, bLo, aSe, aHi, aLo, prec);
  }
}

/** Condition codes of a compare result (0 less, 1 equal, 2 greater, 3 unordered): C3 C2 C0 (SDM vol. 2 FCOM table 3-21). */
const COMPARE_CC = [Sw.C0, Sw.C3, 0, Sw.C3 | Sw.C2 | Sw.C0];

function setCompareCc(f: Fpu, result: number): void {
  f.sw = (f.sw & ~(Sw.C3 | Sw.C2 | Sw.C0)) | COMPARE_CC[result]!;
}

// ------------------------------------------------------------------ memory operands

/**
 * Checks that `size` bytes at seg:off may be written (segment limit and rights, every page),
 * before a store of more than four bytes writes its first piece. False after a fault.
 */
export function writable(c: Cpu, seg: number, off: number, size: number): boolean {
  let lin: number;
  if ((c.segFast[seg]! & SEG_FAST_W) !== 0) lin = (c.segBase[seg]! + off) | 0;
  else {
    lin = c.segLinear(seg, off, size, true);
    if (c.pending !== 0) return false;
  }
  return c.probeWrite(lin, size, c.cpl === 3);
}

/** Memory operand formats of the arithmetic forms. */
const M32FP = 0;
const M64FP = 1;
const M32INT = 2;
const M16INT = 3;

/** Reads the memory operand of format `fmt` into the unit's result registers. False after a fault. */
function loadOperand(c: Cpu, i: Insn, u: F80, off: number, fmt: number): boolean {
  switch (fmt) {
    case M32FP: {
      const v = c.ld32(i.seg, off);
      if (c.pending !== 0) return false;
      u.fromF32(v >>> 0);
      return true;
    }
    case M64FP: {
      const lo = c.ld32(i.seg, off);
      const hi = c.ld32(i.seg, (off + 4) & i.eaMask);
      if (c.pending !== 0) return false;
      u.fromF64(hi >>> 0, lo >>> 0);
      return true;
    }
    case M32INT: {
      const v = c.ld32(i.seg, off);
      if (c.pending !== 0) return false;
      u.fromInteger(v < 0 ? 1 : 0, 0, v < 0 ? -v >>> 0 : v);
      return true;
    }
    default: {
      const v = (c.ld16(i.seg, off) << 16) >> 16;
      if (c.pending !== 0) return false;
      u.fromInteger(v < 0 ? 1 : 0, 0, v < 0 ? -v : v);
      return true;
    }
  }
}

// ------------------------------------------------------------------ arithmetic and compares

/**
 * D8 /r m32fp, DC /r m64fp, DA /r m32int, DE /r m16int: FADD FMUL FCOM FCOMP FSUB FSUBR FDIV
 * FDIVR (and FIADD ... FIDIVR, FICOM, FICOMP) with ST(0) and a memory operand (sub = ModRM.reg).
 */
function arithMemory(c: Cpu, i: Insn, fmt: number): void {
  const f = begin(c, i);
  if (f === null) return;
  const off = ea(c, i);
  const u = env(f);
  if (!loadOperand(c, i, u, off, fmt)) return;
  operand(c, i, f, off);
  const bSe = u.se;
  const bHi = u.hi | 0;
  const bLo = u.lo | 0;
  const d = f.top;
  const op = i.sub;
  if (op === 2 || op === 3) {
    compareAndSet(f, u, d, false, bSe, bHi, bLo, false, op === 3 ? 1 : 0);
    return;
  }
  if (!full(f, d)) {
    if (stackUnderflow(f, u)) put(f, d, u);
  } else if (arith(u, op, f.se[d]!, f.hi[d]!, f.lo[d]!, bSe, bHi, bLo, precision(f))) put(f, d, u);
  commit(f, u.flags);
}

export function arithM32fp(c: Cpu, i: Insn): void {
  arithMemory(c, i, M32FP);
}
export function arithM64fp(c: Cpu, i: Insn): void {
  arithMemory(c, i, M64FP);
}
export function arithM32int(c: Cpu, i: Insn): void {
  arithMemory(c, i, M32INT);
}
export function arithM16int(c: Cpu, i: Insn): void {
  arithMemory(c, i, M16INT);
}

/** True when the instruction raised an unmasked exception (a compare then does not pop). */
function unmaskedRaised(f: Fpu, u: F80): boolean {
  return (u.flags & ~f.cw & EXCEPTIONS) !== 0;
}

/**
 * Compares ST(0) (physical d, or an empty one when `empty`) with b, sets C3 C2 C0 (C1 = 0) and
 * pops `pops` times unless an unmasked exception was raised. A stack underflow compares as
 * unordered; the codes are written even when the exception is unmasked.
 */
function compareAndSet(f: Fpu, u: F80, d: number, empty: boolean, bSe: number, bHi: number, bLo: number, quiet: boolean, pops: number): void {
  let result: number;
  if (empty || !full(f, d)) {
    stackUnderflow(f, u);
    result = 3;
  } else {
    result = u.compare(f.se[d]!, f.hi[d]!, f.lo[d]!, bSe, bHi, bLo, quiet);
    u.flags &= ~Fx.C1;
  }
  setCompareCc(f, result);
  commit(f, u.flags);
  if (!unmaskedRaised(f, u)) for (let k = 0; k < pops; k++) pop(f);
}

/** D8 C0-FF (sub = op): ST(0) = ST(0) op ST(i). */
export function arithSt0(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  const s = (f.top + i.rm) & 7;
  if (!full(f, d) || !full(f, s)) {
    if (stackUnderflow(f, u)) put(f, d, u);
  } else if (arith(u, i.sub, f.se[d]!, f.hi[d]!, f.lo[d]!, f.se[s]!, f.hi[s]!, f.lo[s]!, precision(f))) put(f, d, u);
  commit(f, u.flags);
}

/** DC C0-FF and DE C0-FF (sub = op as its mnemonic names it; imm2 = 1 pops): ST(i) = ST(i) op ST(0). */
export function arithSti(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = (f.top + i.rm) & 7;
  const s = f.top;
  let done: boolean;
  if (!full(f, d) || !full(f, s)) {
    done = stackUnderflow(f, u);
    if (done) put(f, d, u);
  } else {
    done = arith(u, i.sub, f.se[d]!, f.hi[d]!, f.lo[d]!, f.se[s]!, f.hi[s]!, f.lo[s]!, precision(f));
    if (done) put(f, d, u);
  }
  commit(f, u.flags);
  if (done && i.imm2 !== 0) pop(f);
}

/** FCOM/FCOMP ST(i) (D8 D0-DF, DC D0-DF, DE D0-D7) and FUCOM/FUCOMP (DD E0-EF): sub = pops, imm2 = 1 unordered. */
export function compareSti(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const s = (f.top + i.rm) & 7;
  compareAndSet(f, env(f), f.top, !full(f, s), f.se[s]!, f.hi[s]!, f.lo[s]!, i.imm2 !== 0, i.sub);
}

/** FCOMPP (DE D9) and FUCOMPP (DA E9, imm2 = 1): compare ST(0) with ST(1) and pop twice. */
export function compareSt1Pop2(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const s = (f.top + 1) & 7;
  compareAndSet(f, env(f), f.top, !full(f, s), f.se[s]!, f.hi[s]!, f.lo[s]!, i.imm2 !== 0, 2);
}

/**
 * FCOMI/FUCOMI (DB F0/E8) and FCOMIP/FUCOMIP (DF F0/E8): EFLAGS.ZF PF CF from ST(0) against
 * ST(i), OF SF AF cleared (SDM vol. 2 FCOMI); sub = pops, imm2 = 1 unordered.
 */
export function compareEflags(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  const s = (f.top + i.rm) & 7;
  let result: number;
  if (!full(f, d) || !full(f, s)) {
    stackUnderflow(f, u);
    result = 3;
  } else {
    result = u.compare(f.se[d]!, f.hi[d]!, f.lo[d]!, f.se[s]!, f.hi[s]!, f.lo[s]!, i.imm2 !== 0);
    // C1 is left alone (only a stack underflow clears it), as the P6 and the host processors do.
    u.flags = (u.flags & ~Fx.C1) | (f.sw & Sw.C1);
  }
  materializeFlags(c);
  const z = Eflags.ZF;
  const bits = result === 0 ? Eflags.CF : result === 1 ? z : result === 2 ? 0 : z | Eflags.PF | Eflags.CF;
  c.flags = (c.flags & ~(Eflags.ZF | Eflags.PF | Eflags.CF | Eflags.OF | Eflags.SF | Eflags.AF)) | bits;
  commit(f, u.flags);
  if (i.sub !== 0 && !unmaskedRaised(f, u)) pop(f);
}

/** FTST (D9 E4): compares ST(0) with +0.0. */
export function ftst(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  compareAndSet(f, env(f), f.top, false, 0, 0, 0, false, 0);
}

/** FCMOVcc (DA C0-DF, DB C0-DF): ST(0) = ST(i) when the condition (a Jcc code in sub) holds. */
export function fcmov(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  const s = (f.top + i.rm) & 7;
  if (!full(f, d) || !full(f, s)) {
    if (stackUnderflow(f, u)) put(f, d, u);
    return void commit(f, u.flags);
  }
  if (cond(c, i.sub)) f.write(d, f.se[s]!, f.hi[s]!, f.lo[s]!);
  // C1 is left alone (only a stack underflow clears it), as on the host processors.
  commit(f, f.sw & Sw.C1);
}

/** FSQRT (D9 FA). */
export function fsqrt(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  if (!full(f, d)) {
    if (stackUnderflow(f, u)) put(f, d, u);
  } else if (u.sqrt(f.se[d]!, f.hi[d]!, f.lo[d]!, precision(f))) put(f, d, u);
  commit(f, u.flags);
}

/** FRNDINT (D9 FC). */
export function frndint(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  if (!full(f, d)) {
    if (stackUnderflow(f, u)) put(f, d, u);
  } else if (u.roundToInteger(f.se[d]!, f.hi[d]!, f.lo[d]!)) put(f, d, u);
  commit(f, u.flags);
}

/** FCHS (D9 E0, sub 0) and FABS (D9 E1, sub 1): the sign bit of ST(0), whatever it holds. */
export function fsign(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  // An empty ST(0) gets the indefinite as it is (the masked stack underflow).
  if (!full(f, d)) {
    if (stackUnderflow(f, u)) put(f, d, u);
  } else f.se[d] = i.sub === 0 ? f.se[d]! ^ 0x8000 : f.se[d]! & 0x7fff;
  commit(f, u.flags);
}

/**
 * FXAM (D9 E5): the class of ST(0) in C3 C2 C0 and its sign in C1 (SDM vol. 2, FXAM, its table of results):
 * unsupported 000, NaN 001, normal 010, infinity 011, zero 100, empty 101, denormal 110.
 */
export function fxam(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const d = f.top;
  let cc: number;
  if (!full(f, d)) cc = Sw.C3 | Sw.C0;
  else {
    switch (kindOf(f.se[d]!, f.hi[d]!, f.lo[d]!)) {
      case Kind.UNSUPPORTED:
        cc = 0;
        break;
      case Kind.QNAN:
      case Kind.SNAN:
        cc = Sw.C0;
        break;
      case Kind.NORMAL:
        cc = Sw.C2;
        break;
      case Kind.INF:
        cc = Sw.C2 | Sw.C0;
        break;
      case Kind.ZERO:
        cc = Sw.C3;
        break;
      default:
        cc = Sw.C3 | Sw.C2;
    }
  }
  if ((f.se[d]! & 0x8000) !== 0) cc |= Sw.C1;
  f.sw = (f.sw & ~(Sw.C3 | Sw.C2 | Sw.C1 | Sw.C0)) | cc;
}

// ------------------------------------------------------------------ loads

/**
 * Pushes the unit's result after a load whose own flags are in u.flags: a stack overflow is
 * reported alone (the load's IE or DE are not), and an unmasked IE pushes nothing (an unmasked
 * DE still loads the normalized value, as the host processors do).
 */
function pushLoaded(f: Fpu, u: F80): void {
  if (full(f, (f.top - 1) & 7)) {
    u.flags = 0;
    push(f, u);
  } else if ((u.flags & ~f.cw & Fx.IE) === 0) push(f, u);
  commit(f, u.flags);
}

/** FLD m32fp (D9 /0) and m64fp (DD /0): SNaN raises IE (a QNaN is pushed), a denormal DE. */
function fldFloat(c: Cpu, i: Insn, fmt: number): void {
  const f = begin(c, i);
  if (f === null) return;
  const off = ea(c, i);
  const u = env(f);
  if (!loadOperand(c, i, u, off, fmt)) return;
  operand(c, i, f, off);
  if (u.loadDenormal) u.flags |= Fx.DE;
  if (kindOf(u.se, u.hi, u.lo) === Kind.SNAN) {
    u.flags |= Fx.IE;
    u.hi = (u.hi | 0x40000000) >>> 0;
  }
  pushLoaded(f, u);
}

export function fldM32fp(c: Cpu, i: Insn): void {
  fldFloat(c, i, M32FP);
}
export function fldM64fp(c: Cpu, i: Insn): void {
  fldFloat(c, i, M64FP);
}

/** FILD m16int (DF /0), m32int (DB /0): exact. */
export function fildM16(c: Cpu, i: Insn): void {
  fldFloat(c, i, M16INT);
}
export function fildM32(c: Cpu, i: Insn): void {
  fldFloat(c, i, M32INT);
}

/** FILD m64int (DF /5): exact. */
export function fildM64(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const off = ea(c, i);
  const lo = c.ld32(i.seg, off);
  const hi = c.ld32(i.seg, (off + 4) & i.eaMask);
  if (c.pending !== 0) return;
  operand(c, i, f, off);
  const u = env(f);
  if (hi < 0) {
    // Magnitude of a negative 64-bit integer: two's complement.
    let l = (~lo >>> 0) + 1;
    let h = ~hi >>> 0;
    if (l >= TWO32) {
      l -= TWO32;
      h = (h + 1) >>> 0;
    }
    u.fromInteger(1, h, l);
  } else u.fromInteger(0, hi, lo >>> 0);
  pushLoaded(f, u);
}

/** FLD m80fp (DB /5): the bits as they are, no exception but stack overflow. */
export function fldM80(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const off = ea(c, i);
  const lo = c.ld32(i.seg, off);
  const hi = c.ld32(i.seg, (off + 4) & i.eaMask);
  const se = c.ld16(i.seg, (off + 8) & i.eaMask);
  if (c.pending !== 0) return;
  operand(c, i, f, off);
  const u = env(f);
  u.set(se, hi, lo);
  pushLoaded(f, u);
}

/**
 * FLD ST(i) (D9 C0-C7): an empty ST(i) is a stack underflow, and its masked response pushes the
 * indefinite without looking for an overflow (C1 = 0, as the host processors do).
 */
export function fldSti(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const s = (f.top + i.rm) & 7;
  if (!full(f, s)) {
    if (stackUnderflow(f, u)) {
      f.top = (f.top - 1) & 7;
      put(f, f.top, u);
    }
  } else {
    u.set(f.se[s]!, f.hi[s]!, f.lo[s]!);
    push(f, u);
  }
  commit(f, u.flags);
}

/**
 * FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ (D9 E8-EE, sub = 0-6). The constants are held
 * with more bits than the format has and rounded by the rounding control (SDM vol. 2 FLD1 ...:
 * "rounded ... as specified by RC"), without raising PE.
 */
const CONSTANTS: readonly (readonly [number, number, number, number])[] = [
  // sign|exponent, significand hi, lo, and the rounding of the value held (0 exact, +1 the next
  // bits are above half an ulp (rounding up gives the nearest), -1 below half (nearest is down)).
  [0x3fff, 0x80000000, 0x00000000, 0],
  [0x4000, 0xd49a784b, 0xcd1b8afe, -1], // log2(10) = 3.3219280948873623478703...: next bits 0x49...
  [0x3fff, 0xb8aa3b29, 0x5c17f0bc, +1], // log2(e)
  [0x4000, 0xc90fdaa2, 0x2168c235, +1], // pi (rounded up to nearest: 0x...C234C4C6 -> C235)
  [0x3ffd, 0x9a209a84, 0xfbcff799, +1], // log10(2)
  [0x3ffe, 0xb17217f7, 0xd1cf79ac, +1], // ln(2)
  [0x0000, 0x00000000, 0x00000000, 0],
];

export function fldConstant(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const k = CONSTANTS[i.sub]!;
  let lo = k[2];
  // The table holds the nearest value; `k[3]` says on which side of it the true value lies.
  if (k[3] > 0 && (u.rc === Rc.DOWN || u.rc === Rc.ZERO)) lo -= 1;
  if (k[3] < 0 && u.rc === Rc.UP) lo += 1;
  u.set(k[0], k[1], lo);
  push(f, u);
  commit(f, u.flags);
}

// ------------------------------------------------------------------ stores

/** After a store of ST(0): commit and pop when FSTP (sub = 1) unless the store was refused. */
function afterStore(f: Fpu, u: F80, stored: boolean, popIt: boolean): void {
  commit(f, u.flags);
  if (stored && popIt) pop(f);
}

/** FST/FSTP m32fp (D9 /2 /3) and m64fp (DD /2 /3): sub = 1 pops. */
function fstFloat(c: Cpu, i: Insn, double: boolean): void {
  const f = begin(c, i);
  if (f === null) return;
  const off = ea(c, i);
  const u = env(f);
  const d = f.top;
  let ok: boolean;
  if (!full(f, d)) ok = stackUnderflow(f, u) && u.toFloat(INDEFINITE_SE, INDEFINITE_HI, 0, double);
  else ok = u.toFloat(f.se[d]!, f.hi[d]!, f.lo[d]!, double);
  if (ok) {
    if (double) {
      if (!writable(c, i.seg, off, 8)) return;
      c.st32(i.seg, off, u.iLo);
      c.st32(i.seg, (off + 4) & i.eaMask, u.iHi);
    } else {
      c.st32(i.seg, off, u.iLo);
      if (c.pending !== 0) return;
    }
  }
  operand(c, i, f, off);
  afterStore(f, u, ok, i.sub !== 0);
}

export function fstM32fp(c: Cpu, i: Insn): void {
  fstFloat(c, i, false);
}
export function fstM64fp(c: Cpu, i: Insn): void {
  fstFloat(c, i, true);
}

/** FSTP m80fp (DB /7): the bits as they are. */
export function fstpM80(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const off = ea(c, i);
  const u = env(f);
  const d = f.top;
  let ok = true;
  if (!full(f, d)) ok = stackUnderflow(f, u);
  else u.set(f.se[d]!, f.hi[d]!, f.lo[d]!);
  if (ok) {
    if (!writable(c, i.seg, off, 10)) return;
    c.st32(i.seg, off, u.lo);
    c.st32(i.seg, (off + 4) & i.eaMask, u.hi);
    c.st16(i.seg, (off + 8) & i.eaMask, u.se);
  }
  operand(c, i, f, off);
  afterStore(f, u, ok, true);
}

/** FIST/FISTP m16int (DF /2 /3), m32int (DB /2 /3) and FISTP m64int (DF /7): sub = 1 pops; imm2 = size in bits. */
export function fist(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const off = ea(c, i);
  const u = env(f);
  const d = f.top;
  const bits = i.imm2;
  let ok: boolean;
  if (!full(f, d)) ok = stackUnderflow(f, u) && u.toInteger(INDEFINITE_SE, INDEFINITE_HI, 0, bits);
  else ok = u.toInteger(f.se[d]!, f.hi[d]!, f.lo[d]!, bits);
  if (ok) {
    if (bits === 16) c.st16(i.seg, off, u.iLo);
    else if (bits === 32) c.st32(i.seg, off, u.iLo);
    else {
      if (!writable(c, i.seg, off, 8)) return;
      c.st32(i.seg, off, u.iLo);
      c.st32(i.seg, (off + 4) & i.eaMask, u.iHi);
    }
    if (c.pending !== 0) return;
  }
  operand(c, i, f, off);
  afterStore(f, u, ok, i.sub !== 0);
}

/** FST/FSTP ST(i) (DD D0-DF; the aliases D9 D8-DF, DF D0-DF): sub = 1 pops. No conversion, so no IE for an SNaN. */
export function fstSti(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  const s = (f.top + i.rm) & 7;
  if (!full(f, d)) {
    if (!stackUnderflow(f, u)) return void commit(f, u.flags);
  } else u.set(f.se[d]!, f.hi[d]!, f.lo[d]!);
  put(f, s, u);
  afterStore(f, u, true, i.sub !== 0);
}

// ------------------------------------------------------------------ BCD

/** FBLD m80bcd (DF /4): 18 packed BCD digits and a sign, exactly (digits above 9 count as their value). */
export function fbld(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const off = ea(c, i);
  const b0 = c.ld32(i.seg, off);
  const b1 = c.ld32(i.seg, (off + 4) & i.eaMask);
  const b2 = c.ld16(i.seg, (off + 8) & i.eaMask);
  if (c.pending !== 0) return;
  operand(c, i, f, off);
  const u = env(f);
  // value = high * 10^9 + low, nine digits each: at most 10^18 - 1 < 2^60.
  let high = 0;
  let low = 0;
  for (let k = 17; k >= 0; k--) {
    const word = k < 8 ? b0 : k < 16 ? b1 : b2;
    const d = (word >>> ((k & 7) * 4)) & 15;
    if (k >= 9) high = high * 10 + d;
    else low = low * 10 + d;
  }
  let lo = (Math.imul(high, 1e9) >>> 0) + low;
  let hi = mulHi32(high, 1e9) >>> 0;
  if (lo >= TWO32) {
    lo -= TWO32;
    hi += 1;
  }
  u.fromInteger((b2 >>> 15) & 1, hi, lo);
  pushLoaded(f, u);
}

/** The packed BCD indefinite (FFFF C000 0000 0000 0000), as its three words. */
const BCD_INDEFINITE_W1 = 0xc0000000;
const BCD_INDEFINITE_W2 = 0xffff;

/**
 * FBSTP m80bcd (DF /6): ST(0) rounded to an integer by the rounding control, as 18 packed BCD
 * digits and its sign; NaNs, infinities, unsupported encodings and magnitudes of 10^18 or more
 * raise IE and store the packed BCD indefinite.
 */
export function fbstp(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const off = ea(c, i);
  const u = env(f);
  const d = f.top;
  let store: boolean;
  let w0 = 0;
  let w1 = BCD_INDEFINITE_W1;
  let w2 = BCD_INDEFINITE_W2;
  if (!full(f, d)) store = stackUnderflow(f, u);
  else {
    const se = f.se[d]!;
    store = u.toInteger(se, f.hi[d]!, f.lo[d]!, 64);
    if (store && (u.flags & Fx.IE) === 0) {
      let hi = u.iHi;
      let lo = u.iLo;
      const negative = (se & 0x8000) !== 0;
      if (negative && (hi | lo) !== 0) {
        // Back to the magnitude.
        lo = (~lo >>> 0) + 1;
        hi = ~hi >>> 0;
        if (lo >= TWO32) {
          lo -= TWO32;
          hi = (hi + 1) >>> 0;
        }
      }
      if (hi > 0x0de0b6b3 || (hi === 0x0de0b6b3 && lo >= 0xa7640000)) {
        // 10^18 or more: invalid, and the rounding is not reported.
        u.flags = (u.flags | Fx.IE) & ~(Fx.PE | Fx.C1);
        store = !ieUnmasked(f);
      } else {
        // high = magnitude / 10^9 (a double's estimate, corrected exactly), low = the rest.
        let high = Math.floor((hi * TWO32 + lo) / 1e9);
        let low = (hi - (mulHi32(high, 1e9) >>> 0)) * TWO32 + (lo - (Math.imul(high, 1e9) >>> 0));
        while (low < 0) {
          high -= 1;
          low += 1e9;
        }
        while (low >= 1e9) {
          high += 1;
          low -= 1e9;
        }
        w1 = 0;
        w2 = negative ? 0x8000 : 0;
        for (let k = 0; k < 18; k++) {
          const part = k < 9 ? low : high;
          const dgt = part % 10;
          if (k < 9) low = (low - dgt) / 10;
          else high = (high - dgt) / 10;
          if (k < 8) w0 |= dgt << (4 * k);
          else if (k < 16) w1 |= dgt << (4 * (k - 8));
          else w2 |= dgt << (4 * (k - 16));
        }
      }
    }
  }
  if (store) {
    if (!writable(c, i.seg, off, 10)) return;
    c.st32(i.seg, off, w0);
    c.st32(i.seg, (off + 4) & i.eaMask, w1);
    c.st16(i.seg, (off + 8) & i.eaMask, w2);
  }
  operand(c, i, f, off);
  afterStore(f, u, store, true);
}

// ------------------------------------------------------------------ stack control

/** FXCH ST(i) (D9 C8-CF; aliases DD C8-CF, DF C8-CF): an empty register reads as the indefinite (masked stack underflow). */
export function fxch(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  const s = (f.top + i.rm) & 7;
  if (!full(f, d) || !full(f, s)) {
    if (!stackUnderflow(f, u)) return void commit(f, u.flags);
    if (!full(f, d)) put(f, d, u);
    if (!full(f, s)) put(f, s, u);
  }
  const se = f.se[d]!;
  const hi = f.hi[d]!;
  const lo = f.lo[d]!;
  f.write(d, f.se[s]!, f.hi[s]!, f.lo[s]!);
  f.write(s, se, hi, lo);
  commit(f, u.flags & ~Fx.C1);
}

/** FFREE ST(i) (DD C0-C7) and FFREEP ST(i) (DF C0-C7, sub = 1: also pops, as hardware does). C1 = 0, as on the host processors. */
export function ffree(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  f.full &= ~(1 << ((f.top + i.rm) & 7));
  if (i.sub !== 0) pop(f);
  f.sw &= ~Sw.C1;
}

/** FDECSTP (D9 F6, sub -1) and FINCSTP (D9 F7, sub +1): TOP moves, tags stay; C1 = 0. */
export function fstp(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  f.top = (f.top + i.sub) & 7;
  f.sw &= ~Sw.C1;
}

/** FNOP (D9 D0): a non-control instruction that does nothing (it still becomes the last instruction). */
export function fnop(c: Cpu, i: Insn): void {
  begin(c, i);
}

// ------------------------------------------------------------------ scale, extract, remainder

/** FSCALE (D9 FD): ST(0) * 2^trunc(ST(1)) (SDM vol. 2, FSCALE, its table of results). */
export function fscale(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  const s = (f.top + 1) & 7;
  if (!full(f, d) || !full(f, s)) {
    if (stackUnderflow(f, u)) put(f, d, u);
  } else if (u.scale(f.se[d]!, f.hi[d]!, f.lo[d]!, f.se[s]!, f.hi[s]!, f.lo[s]!)) put(f, d, u);
  commit(f, u.flags);
}

/**
 * FXTRACT (D9 F4): ST(0) becomes its exponent (a value) and its significand (exponent 0) is
 * pushed: ST(0) significand, ST(1) exponent. A zero raises ZE (exponent -inf).
 */
export function fxtract(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  const up = (f.top - 1) & 7;
  if (!full(f, d)) {
    // A stack underflow's masked response fills both without looking for an overflow.
    if (stackUnderflow(f, u)) {
      put(f, d, u);
      f.top = up;
      put(f, up, u);
    }
    return void commit(f, u.flags);
  }
  if (full(f, up)) {
    if (!stackOverflow(f, u)) return void commit(f, u.flags);
    put(f, d, u);
    push(f, u);
    return void commit(f, u.flags);
  }
  if (!u.extract(f.se[d]!, f.hi[d]!, f.lo[d]!)) return void commit(f, u.flags);
  // u: significand; u.eSe/eHi/eLo: exponent.
  f.write(d, u.eSe, u.eHi, u.eLo);
  f.top = up;
  put(f, up, u);
  commit(f, u.flags);
}

/** FPREM (D9 F8, sub 0) and FPREM1 (D9 F5, sub 1): partial remainder of ST(0) / ST(1), quotient bits in C0 C3 C1, C2 = incomplete. */
export function fprem(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  const s = (f.top + 1) & 7;
  if (!full(f, d) || !full(f, s)) {
    if (stackUnderflow(f, u)) put(f, d, u);
    f.sw &= ~Sw.C2;
    return void commit(f, u.flags);
  }
  const q = u.remainder(f.se[d]!, f.hi[d]!, f.lo[d]!, f.se[s]!, f.hi[s]!, f.lo[s]!, i.sub !== 0);
  if (q === -2) {
    f.sw &= ~Sw.C2;
    return void commit(f, u.flags);
  }
  put(f, d, u);
  if (q >= 0) {
    let cc = 0;
    if ((q & 4) !== 0) cc |= Sw.C0;
    if ((q & 2) !== 0) cc |= Sw.C3;
    if ((q & 1) !== 0) cc |= Sw.C1;
    if ((q & 8) !== 0) cc |= Sw.C2;
    f.sw = (f.sw & ~(Sw.C0 | Sw.C1 | Sw.C2 | Sw.C3)) | cc;
    commit(f, (u.flags & ~Fx.C1) | (cc & Sw.C1));
  } else {
    f.sw &= ~Sw.C2;
    commit(f, u.flags & ~Fx.C1);
  }
}

// ------------------------------------------------------------------ exports for the table

