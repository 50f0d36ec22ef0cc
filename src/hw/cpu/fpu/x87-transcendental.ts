/**
 * The x87 transcendental instructions (SDM vol. 2: F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN,
 * FCOS, FSINCOS): the register stack around the functions of transcendental.ts. FPTAN and
 * FSINCOS need a free register for their second result (a stack overflow otherwise, whose masked
 * response leaves two indefinites); FYL2X, FYL2XP1 and FPATAN write ST(1) and pop. An argument
 * of FSIN, FCOS, FSINCOS or FPTAN of 2^63 or more leaves the stack alone with C2 = 1.
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import type { F80 } from './float80.ts';
import { Sw } from './fpu.ts';
import * as tr from './transcendental.ts';
import { begin, commit, env, full, pop, put, stackOverflow, stackUnderflow } from './x87.ts';

/** F2XM1 (D9 F0): ST(0) = 2^ST(0) - 1. */
export function f2xm1(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  if (!full(f, d)) {
    if (stackUnderflow(f, u)) put(f, d, u);
  } else if (tr.f2xm1(u, f.se[d]!, f.hi[d]!, f.lo[d]!)) put(f, d, u);
  commit(f, u.flags);
}

type TwoOperand = (u: F80, ySe: number, yHi: number, yLo: number, xSe: number, xHi: number, xLo: number) => boolean;

/** ST(1) = fn(ST(1), ST(0)), then pop: FYL2X, FYL2XP1, FPATAN. */
function twoOperand(c: Cpu, i: Insn, fn: TwoOperand): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const x = f.top;
  const y = (f.top + 1) & 7;
  if (!full(f, x) || !full(f, y)) {
    if (stackUnderflow(f, u)) {
      put(f, y, u);
      pop(f);
    }
  } else if (fn(u, f.se[y]!, f.hi[y]!, f.lo[y]!, f.se[x]!, f.hi[x]!, f.lo[x]!)) {
    put(f, y, u);
    pop(f);
  }
  commit(f, u.flags);
}

/** FYL2X (D9 F1): ST(1) = ST(1) * log2(ST(0)), pop. */
export function fyl2x(c: Cpu, i: Insn): void {
  twoOperand(c, i, tr.fyl2x);
}

/** FYL2XP1 (D9 F9): ST(1) = ST(1) * log2(ST(0) + 1), pop. */
export function fyl2xp1(c: Cpu, i: Insn): void {
  twoOperand(c, i, tr.fyl2xp1);
}

/** FPATAN (D9 F3): ST(1) = arctan(ST(1) / ST(0)), pop. */
export function fpatan(c: Cpu, i: Insn): void {
  twoOperand(c, i, tr.fpatan);
}

/** FSIN (D9 FE, sub 0) and FCOS (D9 FF, sub 1). */
export function fsinFcos(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  f.sw &= ~Sw.C2;
  if (!full(f, d)) {
    if (stackUnderflow(f, u)) put(f, d, u);
    return void commit(f, u.flags);
  }
  const r = tr.trigArgument(u, f.se[d]!, f.hi[d]!, f.lo[d]!);
  if (r === 2) {
    f.sw |= Sw.C2;
    return void commit(f, u.flags);
  }
  if (r === 0) tr.trigResult(u, i.sub);
  else if (r === 4 && i.sub === 1) u.set(0x3fff, 0x80000000, 0);
  if (r !== 3) put(f, d, u);
  commit(f, u.flags);
}

/**
 * FPTAN (D9 F2, sub 0: ST(0) = tan, push 1.0) and FSINCOS (D9 FB, sub 1: ST(0) = sin, push cos).
 * An empty ST(0) or a full ST(7) is a stack fault whose masked response is two indefinites; a
 * NaN result is pushed twice.
 */
export function fptanFsincos(c: Cpu, i: Insn): void {
  const f = begin(c, i);
  if (f === null) return;
  const u = env(f);
  const d = f.top;
  const up = (f.top - 1) & 7;
  f.sw &= ~Sw.C2;
  if (!full(f, d) || full(f, up)) {
    const masked = !full(f, d) ? stackUnderflow(f, u) : stackOverflow(f, u);
    if (masked) {
      put(f, d, u);
      f.top = up;
      put(f, up, u);
    }
    return void commit(f, u.flags);
  }
  const r = tr.trigArgument(u, f.se[d]!, f.hi[d]!, f.lo[d]!);
  if (r === 2) {
    f.sw |= Sw.C2;
    return void commit(f, u.flags);
  }
  if (r === 3) return void commit(f, u.flags);
  if (r === 1 || r === 4) {
    // A NaN result is pushed twice; a zero gives tan 0 = sin 0 = 0 (signed) and 1.0 (1 or cos 0).
    put(f, d, u);
    if (r === 4) u.set(0x3fff, 0x80000000, 0);
    f.top = up;
    put(f, up, u);
    return void commit(f, u.flags);
  }
  if (i.sub === 0) {
    tr.tanResult(u);
    const flags = u.flags;
    put(f, d, u);
    u.set(0x3fff, 0x80000000, 0);
    f.top = up;
    put(f, up, u);
    return void commit(f, flags);
  }
  tr.trigResult(u, 0);
  put(f, d, u);
  const sinFlags = u.flags;
  tr.trigResult(u, 1);
  f.top = up;
  put(f, up, u);
  // C1 and PE from both results; UE can only come from the sine.
  commit(f, sinFlags | u.flags);
}
