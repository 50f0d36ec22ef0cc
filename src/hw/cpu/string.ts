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
import { type Cpu, SEG_FAST_R, SEG_FAST_W, Stop } from './cpu.ts';
import { Counter } from './counters.ts';
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
  // Forward REP STOS/MOVS go in page-sized blocks where they can (bulk); an iteration the loop does
  // fills the TLB for the next try, which stops after two misses in a row.
  let bulkTries = (op === StrOp.STOS || op === StrOp.MOVS) && a32 && step > 0 ? 2 : 0;
  while (count !== 0) {
    if (bulkTries > 0 && count > 1) {
      const done = bulk(c, i, op, size, count, perIteration);
      if (done === 0) bulkTries--;
      else {
        bulkTries = 2;
        count -= done;
        if (count === 0) break;
        if (c.cycles >= c.deadline) {
          c.eip = (c.eip - i.len) | 0;
          c.stop |= Stop.STATE;
          return;
        }
        continue;
      }
    }
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

/**
 * REP STOS and REP MOVS, forward with 32-bit addresses, over RAM the TLB already lets this CPL
 * write (and, for MOVS, read) through flat segments: as many iterations as stay in the current
 * page(s), end before an interrupt could be taken or the deadline reached, done as one block
 * copy or fill. Exactly what the iterations would do, one by one — registers, cycles, TLB
 * counters; a MOVS whose destination overlaps its source ahead of it (replicating bytes) is left
 * to the loop. Returns the iterations done (the loop does the rest and every unusual case).
 */
function bulk(c: Cpu, i: Insn, op: number, size: number, count: number, perIteration: number): number {
  if ((c.segFast[Seg.ES]! & SEG_FAST_W) === 0 || (c.irq && (c.flags & Eflags.IF) !== 0) || (c.stop & Stop.REQUEST) !== 0) return 0;
  const di = c.regs[7]!;
  const dLin = (c.segBase[Seg.ES]! + di) | 0;
  const dEntry = c.tlbE[dLin >>> 12]!;
  if ((dEntry & c.tlbWmask) === 0) return 0;
  // Iterations in the page: whole elements only (one that crosses the page end goes to the loop).
  let n = Math.min(count, Math.floor((0x1000 - (dLin & 0xfff)) / size));
  let sPa = 0;
  if (op === StrOp.MOVS) {
    if ((c.segFast[i.seg]! & SEG_FAST_R) === 0) return 0;
    const sLin = (c.segBase[i.seg]! + c.regs[6]!) | 0;
    const sEntry = c.tlbE[sLin >>> 12]!;
    if ((sEntry & c.tlbRmask) === 0) return 0;
    n = Math.min(n, Math.floor((0x1000 - (sLin & 0xfff)) / size));
    sPa = (sEntry & -4096) | (sLin & 0xfff);
  }
  // The loop stops after the iteration that reaches the deadline (SDM vol. 2, REP: interruptible between iterations).
  const toDeadline = Math.max(1, Math.ceil((c.deadline - c.cycles) / perIteration));
  n = Math.min(n, toDeadline);
  if (n <= 1) return 0;
  const dPa = (dEntry & -4096) | (dLin & 0xfff);
  const bytes = n * size;
  const u8 = c.u8;
  if (op === StrOp.STOS) {
    if (size === 1) u8.fill(c.r8[0]!, dPa, dPa + bytes);
    else if (size === 4 && (dPa & 3) === 0) new Int32Array(u8.buffer, u8.byteOffset + dPa, n).fill(c.regs[0]!);
    else {
      const v = c.regs[0]!;
      for (let k = 0; k < bytes; k += size) {
        if (size === 4) c.view.setInt32(dPa + k, v, true);
        else c.view.setUint16(dPa + k, v, true);
      }
    }
    c.ctr[Counter.TLB_HIT]! += n;
  } else {
    if (dPa > sPa && dPa < sPa + bytes) return 0;
    u8.copyWithin(dPa, sPa, sPa + bytes);
    c.regs[6] = (c.regs[6]! + bytes) | 0;
    c.ctr[Counter.TLB_HIT]! += 2 * n;
  }
  c.regs[7] = (di + bytes) | 0;
  c.regs[1] = (count - n) | 0;
  c.cycles += n * perIteration;
  return n;
}
