/**
 * String instructions MOVS CMPS STOS LODS SCAS INS OUTS with REP/REPE/REPNE (SDM vol. 2).
 * The source is seg:(E)SI (DS unless overridden), the destination ES:(E)DI; the address size
 * picks SI/DI/CX or ESI/EDI/ECX; DF picks the direction. A repeated instruction does one
 * iteration at a time and keeps the registers current, so a fault restarts it where it stopped;
 * it also stops between iterations when an interrupt is due or simulated time reaches the
 * deadline, leaving EIP on itself to resume — as hardware does (SDM vol. 2, REP).
 */
import { Seg } from '../x86/descriptors.ts';
import { Eflags } from '../x86/eflags.ts';
import { type Cpu, Stop } from './cpu.ts';
import { AluOp, alu } from './alu.ts';
import { cond } from './flags.ts';
import type { Insn } from './insn.ts';
import { ioPermitted, portRead, portWrite } from './io.ts';
import { interceptIo } from './virtualization.ts';

export const StrOp = { MOVS: 0, CMPS: 1, STOS: 2, LODS: 3, SCAS: 4, INS: 5, OUTS: 6 } as const;

function load(c: Cpu, seg: number, off: number, size: number): number {
  return size === 1 ? c.ld8(seg, off) : size === 2 ? c.ld16(seg, off) : c.ld32(seg, off);
}

function store(c: Cpu, seg: number, off: number, size: number, v: number): void {
  if (size === 1) c.st8(seg, off, v);
  else if (size === 2) c.st16(seg, off, v);
  else c.st32(seg, off, v);
}

function acc(c: Cpu, size: number): number {
  return size === 1 ? c.r8[0]! : size === 2 ? c.r16[0]! : c.regs[0]!;
}

function setAcc(c: Cpu, size: number, v: number): void {
  if (size === 1) c.r8[0] = v;
  else if (size === 2) c.r16[0] = v;
  else c.regs[0] = v;
}

/** One iteration. Returns false after a fault (registers untouched for this iteration). */
function iterate(c: Cpu, i: Insn, op: number, size: number, a32: boolean, step: number): boolean {
  const mask = a32 ? -1 : 0xffff;
  const si = a32 ? c.regs[6]! : c.r16[12]!;
  const di = a32 ? c.regs[7]! : c.r16[14]!;
  const shift = 32 - size * 8;
  let moveSi = false;
  let moveDi = false;
  switch (op) {
    case StrOp.MOVS: {
      const v = load(c, i.seg, si, size);
      if (c.pending !== 0) return false;
      store(c, Seg.ES, di, size, v);
      moveSi = moveDi = true;
      break;
    }
    case StrOp.CMPS: {
      const a = load(c, i.seg, si, size);
      const b = load(c, Seg.ES, di, size);
      if (c.pending !== 0) return false;
      alu(c, AluOp.CMP, a << shift, b << shift, shift);
      moveSi = moveDi = true;
      break;
    }
    case StrOp.STOS:
      store(c, Seg.ES, di, size, acc(c, size));
      moveDi = true;
      break;
    case StrOp.LODS: {
      const v = load(c, i.seg, si, size);
      if (c.pending !== 0) return false;
      setAcc(c, size, v);
      moveSi = true;
      break;
    }
    case StrOp.SCAS: {
      const b = load(c, Seg.ES, di, size);
      if (c.pending !== 0) return false;
      alu(c, AluOp.CMP, acc(c, size) << shift, b << shift, shift);
      moveDi = true;
      break;
    }
    case StrOp.INS: {
      const port = c.r16[4]!;
      if (!ioPermitted(c, port, size)) return false;
      if (c.guestMode && interceptIo(c, i, port, size, true, true)) return false;
      // The destination is checked before the port is read, so a fault loses no input.
      if (!c.probeWrite((c.segBase[Seg.ES]! + di) | 0, size, c.cpl === 3)) return false;
      store(c, Seg.ES, di, size, portRead(c, port, size as 1 | 2 | 4));
      moveDi = true;
      break;
    }
    default: {
      const port = c.r16[4]!;
      if (!ioPermitted(c, port, size)) return false;
      if (c.guestMode && interceptIo(c, i, port, size, false, true)) return false;
      const v = load(c, i.seg, si, size);
      if (c.pending !== 0) return false;
      portWrite(c, port, size as 1 | 2 | 4, v);
      moveSi = true;
      break;
    }
  }
  if (c.pending !== 0) return false;
  if (moveSi) {
    if (a32) c.regs[6] = (si + step) & mask;
    else c.r16[12] = si + step;
  }
  if (moveDi) {
    if (a32) c.regs[7] = (di + step) & mask;
    else c.r16[14] = di + step;
  }
  return true;
}

/** Handler for every string instruction: sub = StrOp, opsize = element size in bits. */
export function stringOp(c: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const a32 = i.adsize === 32;
  const step = (c.flags & Eflags.DF) !== 0 ? -size : size;
  const op = i.sub;
  if (i.rep === 0) {
    iterate(c, i, op, size, a32, step);
    return;
  }
  const compares = op === StrOp.CMPS || op === StrOp.SCAS;
  let count = a32 ? c.regs[1]! >>> 0 : c.r16[2]!;
  const perIteration = c.costs.stringIteration;
  while (count !== 0) {
    if (!iterate(c, i, op, size, a32, step)) return;
    count--;
    if (a32) c.regs[1] = count;
    else c.r16[2] = count;
    c.cycles += perIteration;
    // REPE stops when ZF = 0, REPNE when ZF = 1 (F3 = rep 1, F2 = rep 2).
    if (compares && cond(c, i.rep === 1 ? 5 : 4)) return;
    if (count !== 0 && (c.cycles >= c.deadline || (c.irq && (c.flags & Eflags.IF) !== 0) || (c.stop & Stop.REQUEST) !== 0)) {
      // Resume later at this same instruction, after the interrupt or timer event.
      c.eip = (c.eip - i.len) | 0;
      c.stop |= Stop.STATE;
      return;
    }
  }
}
