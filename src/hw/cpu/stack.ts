/**
 * Stack instructions: PUSH, POP, PUSHA, POPA, ENTER, LEAVE (SDM vol. 2). Each one either
 * completes or, on a fault, leaves ESP and the registers as they were (memory written before
 * the fault may have changed, as on hardware).
 */
import { Seg } from '../x86/descriptors.ts';
import type { Cpu } from './cpu.ts';
import type { Insn } from './insn.ts';
import { ea } from './operands.ts';

/** push r16/r32 (50+r); reg holds the register in the operand size's view. */
export function pushRw(c: Cpu, i: Insn): void {
  c.push16(c.r16[i.reg]!);
}
export function pushRd(c: Cpu, i: Insn): void {
  c.push32(c.regs[i.reg]!);
}

/** pop r16/r32 (58+r): ESP moves before the register is written, so pop esp loads the value. */
export function popRw(c: Cpu, i: Insn): void {
  const v = c.pop(16);
  if (c.pending === 0) c.r16[i.reg] = v;
}
export function popRd(c: Cpu, i: Insn): void {
  const v = c.pop(32);
  if (c.pending === 0) c.regs[i.reg] = v;
}

/** push imm (68, 6A) */
export function pushI(c: Cpu, i: Insn): void {
  c.push(i.imm, i.opsize);
}

/** push Ev (FF /6) */
export function pushEw(c: Cpu, i: Insn): void {
  const v = i.mem === 0 ? c.r16[i.rm]! : c.ld16(i.seg, ea(c, i));
  if (c.pending === 0) c.push16(v);
}
export function pushEd(c: Cpu, i: Insn): void {
  const v = i.mem === 0 ? c.regs[i.rm]! : c.ld32(i.seg, ea(c, i));
  if (c.pending === 0) c.push32(v);
}

/**
 * pop Ev (8F /0). SDM: when ESP is the base of the destination, the address is computed after
 * ESP is incremented.
 */
export function popEv(c: Cpu, i: Insn): void {
  const size = i.opsize;
  const v = size === 32 ? c.peek32(0) : c.peek16(0);
  if (c.pending !== 0) return;
  const oldEsp = c.regs[4]!;
  c.setSp(c.sp() + (size >> 3));
  if (i.mem === 0) {
    if (size === 32) c.regs[i.rm] = v;
    else c.r16[i.rm] = v;
    return;
  }
  const off = ea(c, i);
  if (size === 32) c.st32(i.seg, off, v);
  else c.st16(i.seg, off, v);
  if (c.pending !== 0) c.regs[4] = oldEsp;
}

/** pusha / pushad (60): EAX ECX EDX EBX original-ESP EBP ESI EDI. */
export function pusha(c: Cpu, i: Insn): void {
  const size = i.opsize;
  const bytes = size >> 3;
  const mask = c.ss32 ? -1 : 0xffff;
  const sp = c.sp();
  for (let r = 0; r < 8; r++) {
    const off = (sp - (r + 1) * bytes) & mask;
    if (size === 32) c.st32(Seg.SS, off, c.regs[r]!);
    else c.st16(Seg.SS, off, c.r16[r * 2]!);
    if (c.pending !== 0) return;
  }
  c.setSp(sp - 8 * bytes);
}

/** popa / popad (61): the saved ESP is skipped. */
export function popa(c: Cpu, i: Insn): void {
  const size = i.opsize;
  const bytes = size >> 3;
  const mask = c.ss32 ? -1 : 0xffff;
  const sp = c.sp();
  const values = popaScratch;
  for (let k = 0; k < 8; k++) {
    const off = (sp + k * bytes) & mask;
    values[7 - k] = size === 32 ? c.ld32(Seg.SS, off) : c.ld16(Seg.SS, off);
    if (c.pending !== 0) return;
  }
  for (let r = 0; r < 8; r++) {
    if (r === 4) continue;
    if (size === 32) c.regs[r] = values[r]!;
    else c.r16[r * 2] = values[r]!;
  }
  c.setSp(sp + 8 * bytes);
}
const popaScratch = new Int32Array(8);

/**
 * enter imm16, imm8 (C8): push EBP, copy nesting-level - 1 frame pointers, push the new frame
 * pointer, then allocate imm16 bytes. Nesting level is taken modulo 32 (SDM vol. 2, ENTER).
 */
export function enter(c: Cpu, i: Insn): void {
  const size = i.opsize;
  const bytes = size >> 3;
  const mask = c.ss32 ? -1 : 0xffff;
  const level = i.imm2 & 31;
  let sp = c.sp();
  let bp = c.ss32 ? c.regs[5]! : c.r16[10]!;
  const write = (v: number): boolean => {
    sp = (sp - bytes) & mask;
    if (size === 32) c.st32(Seg.SS, sp, v);
    else c.st16(Seg.SS, sp, v);
    return c.pending === 0;
  };
  if (!write(size === 32 ? c.regs[5]! : c.r16[10]!)) return;
  const frame = sp;
  for (let k = 1; k < level; k++) {
    bp = (bp - bytes) & mask;
    const v = size === 32 ? c.ld32(Seg.SS, bp) : c.ld16(Seg.SS, bp);
    if (c.pending !== 0 || !write(v)) return;
  }
  if (level > 0 && !write(frame)) return;
  const newSp = (sp - (i.imm & 0xffff)) & mask;
  if (size === 32) c.regs[5] = frame;
  else c.r16[10] = frame;
  c.setSp(newSp);
}

/** leave (C9): ESP = EBP, then pop EBP. */
export function leave(c: Cpu, i: Insn): void {
  const bp = c.ss32 ? c.regs[5]! : c.r16[10]!;
  const v = i.opsize === 32 ? c.ld32(Seg.SS, bp) : c.ld16(Seg.SS, bp);
  if (c.pending !== 0) return;
  c.setSp(bp + (i.opsize >> 3));
  if (i.opsize === 32) c.regs[5] = v;
  else c.r16[10] = v;
}
