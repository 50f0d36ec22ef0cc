/**
 * Operand access shared by the handlers: effective addresses and r/m operands of each size.
 * Register operand indices were converted by the decoder to the view each size uses:
 * 8-bit operands index cpu.r8 (byte view), 16-bit ones cpu.r16 (word view), 32-bit ones cpu.regs.
 */
import type { Cpu } from './cpu.ts';
import type { Insn } from './insn.ts';

/** Offset of the memory operand within its segment (SDM vol. 2, 2.1.5), masked to the address size. */
export function ea(c: Cpu, i: Insn): number {
  return (c.regs[i.base]! + (c.regs[i.index]! << i.scale) + i.disp) & i.eaMask;
}

/** Reads the r/m operand. After a fault the result is 0 and cpu.pending is set. */
export function readRm8(c: Cpu, i: Insn): number {
  return i.mem === 0 ? c.r8[i.rm]! : c.ld8(i.seg, ea(c, i));
}
export function readRm16(c: Cpu, i: Insn): number {
  return i.mem === 0 ? c.r16[i.rm]! : c.ld16(i.seg, ea(c, i));
}
export function readRm32(c: Cpu, i: Insn): number {
  return i.mem === 0 ? c.regs[i.rm]! : c.ld32(i.seg, ea(c, i));
}

/** Writes the r/m operand (no read). */
export function writeRm8(c: Cpu, i: Insn, v: number): void {
  if (i.mem === 0) c.r8[i.rm] = v;
  else c.st8(i.seg, ea(c, i), v);
}
export function writeRm16(c: Cpu, i: Insn, v: number): void {
  if (i.mem === 0) c.r16[i.rm] = v;
  else c.st16(i.seg, ea(c, i), v);
}
export function writeRm32(c: Cpu, i: Insn, v: number): void {
  if (i.mem === 0) c.regs[i.rm] = v;
  else c.st32(i.seg, ea(c, i), v);
}

/**
 * Read half of a read-modify-write of the r/m operand. For memory the write permission is
 * checked now; commitRmN then stores without faulting.
 */
export function rmwRm8(c: Cpu, i: Insn): number {
  return i.mem === 0 ? c.r8[i.rm]! : c.rmw8(i.seg, ea(c, i));
}
export function rmwRm16(c: Cpu, i: Insn): number {
  return i.mem === 0 ? c.r16[i.rm]! : c.rmw16(i.seg, ea(c, i));
}
export function rmwRm32(c: Cpu, i: Insn): number {
  return i.mem === 0 ? c.regs[i.rm]! : c.rmw32(i.seg, ea(c, i));
}
export function commitRm8(c: Cpu, i: Insn, v: number): void {
  if (i.mem === 0) c.r8[i.rm] = v;
  else c.commit8(v);
}
export function commitRm16(c: Cpu, i: Insn, v: number): void {
  if (i.mem === 0) c.r16[i.rm] = v;
  else c.commit16(v);
}
export function commitRm32(c: Cpu, i: Insn, v: number): void {
  if (i.mem === 0) c.regs[i.rm] = v;
  else c.commit32(v);
}
