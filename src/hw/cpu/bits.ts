/**
 * Bit instructions: BT BTS BTR BTC, BSF BSR, BSWAP, SETcc, CMOVcc (SDM vol. 2).
 * BT* with a register offset and a memory operand address the whole bit string: the offset is
 * signed and selects the dword (word) at ea + (offset >> 5) * 4. BSF/BSR with a zero source
 * leave the destination unchanged (what P6-and-later hardware does; the SDM says undefined).
 */
import { Eflags } from '../x86/eflags.ts';
import type { Cpu } from './cpu.ts';
import { cond, materializeFlags } from './flags.ts';
import type { Insn } from './insn.ts';
import { ea, readRm16, readRm32, writeRm8 } from './operands.ts';

export const BitOp = { BT: 0, BTS: 1, BTR: 2, BTC: 3 } as const;

function setCarry(c: Cpu, bit: number): void {
  materializeFlags(c);
  c.flags = (c.flags & ~Eflags.CF) | bit;
}

function apply(op: number, v: number, mask: number): number {
  return op === BitOp.BTS ? v | mask : op === BitOp.BTR ? v & ~mask : v ^ mask;
}

/**
 * bt* Ev, Gv (0F A3/AB/B3/BB) when imm2 = 0, bt* Ev, Ib (0F BA /4-7) when imm2 = 1.
 * sub = BitOp. 16- and 32-bit forms share the code through `size`.
 */
function bitTest(c: Cpu, i: Insn, size: number): void {
  const op = i.sub;
  let offset = i.imm2 === 1 ? i.imm : size === 32 ? c.regs[i.reg]! : (c.r16[i.reg]! << 16) >> 16;
  if (i.mem === 0) {
    const bit = offset & (size - 1);
    const v = size === 32 ? c.regs[i.rm]! : c.r16[i.rm]!;
    setCarry(c, (v >>> bit) & 1);
    if (op !== BitOp.BT) {
      const r = apply(op, v, 1 << bit);
      if (size === 32) c.regs[i.rm] = r;
      else c.r16[i.rm] = r;
    }
    return;
  }
  let off = ea(c, i);
  if (i.imm2 === 1) offset &= size - 1;
  else off = (off + (offset >> (size === 32 ? 5 : 4)) * (size >> 3)) & i.eaMask;
  const bit = offset & (size - 1);
  if (op === BitOp.BT) {
    const v = size === 32 ? c.ld32(i.seg, off) : c.ld16(i.seg, off);
    if (c.pending === 0) setCarry(c, (v >>> bit) & 1);
    return;
  }
  const v = size === 32 ? c.rmw32(i.seg, off) : c.rmw16(i.seg, off);
  if (c.pending !== 0) return;
  setCarry(c, (v >>> bit) & 1);
  const r = apply(op, v, 1 << bit);
  if (size === 32) c.commit32(r);
  else c.commit16(r);
}

export function btEw(c: Cpu, i: Insn): void {
  bitTest(c, i, 16);
}
export function btEd(c: Cpu, i: Insn): void {
  bitTest(c, i, 32);
}

function setZf(c: Cpu, zero: boolean): void {
  materializeFlags(c);
  c.flags = zero ? c.flags | Eflags.ZF : c.flags & ~Eflags.ZF;
}

/** bsf/bsr Gv, Ev: sub = 0 for BSF, 1 for BSR. */
export function bsfBsrGw(c: Cpu, i: Insn): void {
  const v = readRm16(c, i);
  if (c.pending !== 0) return;
  setZf(c, v === 0);
  if (v !== 0) c.r16[i.reg] = i.sub === 0 ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
}

export function bsfBsrGd(c: Cpu, i: Insn): void {
  const v = readRm32(c, i);
  if (c.pending !== 0) return;
  setZf(c, v === 0);
  if (v !== 0) c.regs[i.reg] = i.sub === 0 ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
}

/** bswap r32 (0F C8+r). With a 16-bit operand the result is undefined; P6 cores clear the word. */
export function bswap(c: Cpu, i: Insn): void {
  if (i.opsize === 16) {
    c.r16[i.reg * 2] = 0;
    return;
  }
  const v = c.regs[i.reg]!;
  c.regs[i.reg] = (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** setcc Eb (0F 90+cc): sub = condition code. */
export function setcc(c: Cpu, i: Insn): void {
  writeRm8(c, i, cond(c, i.sub) ? 1 : 0);
}

/** cmovcc Gv, Ev (0F 40+cc): the source is read (and may fault) whatever the condition. */
export function cmovGw(c: Cpu, i: Insn): void {
  const v = readRm16(c, i);
  if (c.pending === 0 && cond(c, i.sub)) c.r16[i.reg] = v;
}

export function cmovGd(c: Cpu, i: Insn): void {
  const v = readRm32(c, i);
  if (c.pending === 0 && cond(c, i.sub)) c.regs[i.reg] = v;
}
