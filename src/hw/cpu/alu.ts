/**
 * Two-operand arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP, TEST, INC, DEC, NOT, NEG
 * (SDM vol. 2). Every size goes through one routine on left-aligned operands (see flags.ts):
 * an 8-bit operand x is passed as x << 24 with shift 24, a 16-bit one as x << 16 with shift 16.
 */
import type { Cpu } from './cpu.ts';
import { Lazy, cf } from './flags.ts';
import type { Insn } from './insn.ts';
import { commitRm16, commitRm32, commitRm8, readRm16, readRm32, readRm8, rmwRm16, rmwRm32, rmwRm8 } from './operands.ts';

/** ALU operation numbers, in opcode order (bits 5:3 of 00-3F, ModRM.reg of group 1). */
export const AluOp = { ADD: 0, OR: 1, ADC: 2, SBB: 3, AND: 4, SUB: 5, XOR: 6, CMP: 7 } as const;

/** Computes `a op b` on aligned operands, records the flags, returns the aligned result. */
export function alu(c: Cpu, op: number, a: number, b: number, shift: number): number {
  let r: number;
  switch (op) {
    case 0:
      r = (a + b) | 0;
      c.lzKind = Lazy.ADD;
      break;
    case 1:
      r = a | b;
      c.lzKind = Lazy.LOGIC;
      break;
    case 2: {
      const cin = cf(c);
      r = (a + b + (cin << shift)) | 0;
      c.lzKind = cin !== 0 ? Lazy.ADC : Lazy.ADD;
      break;
    }
    case 3: {
      const cin = cf(c);
      r = (a - b - (cin << shift)) | 0;
      c.lzKind = cin !== 0 ? Lazy.SBB : Lazy.SUB;
      break;
    }
    case 4:
      r = a & b;
      c.lzKind = Lazy.LOGIC;
      break;
    case 6:
      r = a ^ b;
      c.lzKind = Lazy.LOGIC;
      break;
    default:
      r = (a - b) | 0;
      c.lzKind = Lazy.SUB;
      break;
  }
  c.lzA = a;
  c.lzB = b;
  c.lzRes = r;
  c.lzShift = shift;
  return r;
}

/** dst op= src for 8-bit operands; CMP only sets flags. Shared by all 8-bit forms. */
function aluRm8(c: Cpu, i: Insn, b: number): void {
  if (i.sub === AluOp.CMP) {
    const a = readRm8(c, i);
    if (c.pending === 0) alu(c, AluOp.CMP, a << 24, b << 24, 24);
    return;
  }
  const a = rmwRm8(c, i);
  if (c.pending !== 0) return;
  commitRm8(c, i, alu(c, i.sub, a << 24, b << 24, 24) >>> 24);
}

function aluRm16(c: Cpu, i: Insn, b: number): void {
  if (i.sub === AluOp.CMP) {
    const a = readRm16(c, i);
    if (c.pending === 0) alu(c, AluOp.CMP, a << 16, b << 16, 16);
    return;
  }
  const a = rmwRm16(c, i);
  if (c.pending !== 0) return;
  commitRm16(c, i, alu(c, i.sub, a << 16, b << 16, 16) >>> 16);
}

function aluRm32(c: Cpu, i: Insn, b: number): void {
  if (i.mem === 0) {
    const r = alu(c, i.sub, c.regs[i.rm]!, b, 0);
    if (i.sub !== AluOp.CMP) c.regs[i.rm] = r;
    return;
  }
  if (i.sub === AluOp.CMP) {
    const a = readRm32(c, i);
    if (c.pending === 0) alu(c, AluOp.CMP, a, b, 0);
    return;
  }
  const a = rmwRm32(c, i);
  if (c.pending !== 0) return;
  commitRm32(c, i, alu(c, i.sub, a, b, 0));
}

/** op Eb,Gb / Ev,Gv */
export function aluEbGb(c: Cpu, i: Insn): void {
  aluRm8(c, i, c.r8[i.reg]!);
}
export function aluEwGw(c: Cpu, i: Insn): void {
  aluRm16(c, i, c.r16[i.reg]!);
}
export function aluEdGd(c: Cpu, i: Insn): void {
  aluRm32(c, i, c.regs[i.reg]!);
}

/** op Eb,Ib / Ev,Iz / Ev,Ib (sign-extended): group 1 and the accumulator forms (rm = AL/AX/EAX). */
export function aluEbI(c: Cpu, i: Insn): void {
  aluRm8(c, i, i.imm & 0xff);
}
export function aluEwI(c: Cpu, i: Insn): void {
  aluRm16(c, i, i.imm & 0xffff);
}
export function aluEdI(c: Cpu, i: Insn): void {
  aluRm32(c, i, i.imm);
}

/** op Gb,Eb / Gv,Ev: the register is the destination. */
export function aluGbEb(c: Cpu, i: Insn): void {
  const b = readRm8(c, i);
  if (c.pending !== 0) return;
  const r = alu(c, i.sub, c.r8[i.reg]! << 24, b << 24, 24);
  if (i.sub !== AluOp.CMP) c.r8[i.reg] = r >>> 24;
}
export function aluGwEw(c: Cpu, i: Insn): void {
  const b = readRm16(c, i);
  if (c.pending !== 0) return;
  const r = alu(c, i.sub, c.r16[i.reg]! << 16, b << 16, 16);
  if (i.sub !== AluOp.CMP) c.r16[i.reg] = r >>> 16;
}
export function aluGdEd(c: Cpu, i: Insn): void {
  const b = i.mem === 0 ? c.regs[i.rm]! : readRm32(c, i);
  if (c.pending !== 0) return;
  const r = alu(c, i.sub, c.regs[i.reg]!, b, 0);
  if (i.sub !== AluOp.CMP) c.regs[i.reg] = r;
}

/** TEST: AND that only sets flags. */
export function testEbGb(c: Cpu, i: Insn): void {
  const a = readRm8(c, i);
  if (c.pending === 0) alu(c, AluOp.AND, a << 24, c.r8[i.reg]! << 24, 24);
}
export function testEwGw(c: Cpu, i: Insn): void {
  const a = readRm16(c, i);
  if (c.pending === 0) alu(c, AluOp.AND, a << 16, c.r16[i.reg]! << 16, 16);
}
export function testEdGd(c: Cpu, i: Insn): void {
  const a = readRm32(c, i);
  if (c.pending === 0) alu(c, AluOp.AND, a, c.regs[i.reg]!, 0);
}
export function testEbI(c: Cpu, i: Insn): void {
  const a = readRm8(c, i);
  if (c.pending === 0) alu(c, AluOp.AND, a << 24, i.imm << 24, 24);
}
export function testEwI(c: Cpu, i: Insn): void {
  const a = readRm16(c, i);
  if (c.pending === 0) alu(c, AluOp.AND, a << 16, i.imm << 16, 16);
}
export function testEdI(c: Cpu, i: Insn): void {
  const a = readRm32(c, i);
  if (c.pending === 0) alu(c, AluOp.AND, a, i.imm, 0);
}

/** INC/DEC keep CF (SDM vol. 2, INC): the old CF is parked in lzB. */
function incDec(c: Cpu, a: number, shift: number, dec: boolean): number {
  const carry = cf(c);
  const r = (dec ? a - (1 << shift) : a + (1 << shift)) | 0;
  c.lzKind = dec ? Lazy.DEC : Lazy.INC;
  c.lzA = a;
  c.lzB = carry;
  c.lzRes = r;
  c.lzShift = shift;
  return r;
}

/** inc/dec r/m (FE /0 /1, FF /0 /1); sub = 1 for dec. */
export function incDecEb(c: Cpu, i: Insn): void {
  const a = rmwRm8(c, i);
  if (c.pending === 0) commitRm8(c, i, incDec(c, a << 24, 24, i.sub === 1) >>> 24);
}
export function incDecEw(c: Cpu, i: Insn): void {
  const a = rmwRm16(c, i);
  if (c.pending === 0) commitRm16(c, i, incDec(c, a << 16, 16, i.sub === 1) >>> 16);
}
export function incDecEd(c: Cpu, i: Insn): void {
  const a = rmwRm32(c, i);
  if (c.pending === 0) commitRm32(c, i, incDec(c, a, 0, i.sub === 1));
}

/** inc/dec r16/r32 (40+r, 48+r): reg holds the register; sub = 1 for dec. */
export function incDecRw(c: Cpu, i: Insn): void {
  c.r16[i.reg] = incDec(c, c.r16[i.reg]! << 16, 16, i.sub === 1) >>> 16;
}
export function incDecRd(c: Cpu, i: Insn): void {
  c.regs[i.reg] = incDec(c, c.regs[i.reg]!, 0, i.sub === 1);
}

/** NOT r/m: no flags. */
export function notEb(c: Cpu, i: Insn): void {
  const a = rmwRm8(c, i);
  if (c.pending === 0) commitRm8(c, i, ~a & 0xff);
}
export function notEw(c: Cpu, i: Insn): void {
  const a = rmwRm16(c, i);
  if (c.pending === 0) commitRm16(c, i, ~a & 0xffff);
}
export function notEd(c: Cpu, i: Insn): void {
  const a = rmwRm32(c, i);
  if (c.pending === 0) commitRm32(c, i, ~a);
}

/** NEG r/m: 0 - x with SUB flags (CF = x != 0). */
export function negEb(c: Cpu, i: Insn): void {
  const a = rmwRm8(c, i);
  if (c.pending === 0) commitRm8(c, i, alu(c, AluOp.SUB, 0, a << 24, 24) >>> 24);
}
export function negEw(c: Cpu, i: Insn): void {
  const a = rmwRm16(c, i);
  if (c.pending === 0) commitRm16(c, i, alu(c, AluOp.SUB, 0, a << 16, 16) >>> 16);
}
export function negEd(c: Cpu, i: Insn): void {
  const a = rmwRm32(c, i);
  if (c.pending === 0) commitRm32(c, i, alu(c, AluOp.SUB, 0, a, 0));
}
