/**
 * Real-address mode (CR0.PE = 0) and virtual-8086 mode (EFLAGS.VM = 1): segment-register loads,
 * far JMP/CALL/RET, IRET, and interrupt delivery through the real-mode interrupt vector table
 * (SDM vol. 3, 20.1 and 20.2; vol. 2, MOV, JMP, CALL, RET, INT n and IRET "real-address mode" and
 * "virtual-8086 mode"). A selector is a paragraph number: base = selector << 4.
 *
 * Hidden parts: in real mode a load changes only the selector and the base, keeping the limit and
 * attributes the register already had (SDM vol. 3, 9.9.2), so that "unreal mode" works as on real
 * processors and QEMU: limits set in protected mode stay in force after PE is cleared. A register
 * a protected-mode null selector left unusable gets the power-on limit and attributes instead
 * (our choice; the SDM tells software to load 64 KiB segments before leaving protected mode).
 * In virtual-8086 mode every load gives a 64 KiB, present, writable, DPL 3 segment (20.1.1).
 * Not modelled: VME (CR4.VME, the interrupt redirection bitmap, VIF/VIP) — CPUID does not offer it.
 */
import { SegAttr, Seg } from '../x86/descriptors.ts';
import { Cr0 } from '../x86/control-registers.ts';
import { EFLAGS_WRITABLE, Eflags, IOPL_SHIFT } from '../x86/eflags.ts';
import { Vector } from '../x86/vectors.ts';
import { type Cpu, Stop } from './cpu.ts';
import { readEflags } from './flags.ts';
import { writeEflags } from './eflags-ops.ts';
import type { Insn } from './insn.ts';
import { pushOn } from './segments.ts';

/** A real-mode segment as power-on leaves it (SDM vol. 3, table 9-1): present, writable data, accessed. */
export const REAL_MODE_ATTR = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.ACCESSED;
/** Every segment in virtual-8086 mode: 64 KiB of present, writable data at DPL 3 (SDM vol. 3, 20.1.1). */
export const V86_ATTR = REAL_MODE_ATTR | (3 << SegAttr.DPL_SHIFT);

/** True when segment registers hold paragraph numbers: real-address or virtual-8086 mode. */
export function realSegments(c: Cpu): boolean {
  return (c.cr0 & Cr0.PE) === 0 || (c.flags & Eflags.VM) !== 0;
}

/** True in virtual-8086 mode. */
export function inV86(c: Cpu): boolean {
  return (c.flags & Eflags.VM) !== 0;
}

/** Loads a segment register in virtual-8086 mode (also used by IRET and task switches entering it). */
export function loadV86Segment(c: Cpu, seg: number, sel: number): void {
  c.loadSegmentCache(seg, sel & 0xffff, (sel & 0xffff) << 4, 0xffff, V86_ATTR);
}

/** MOV/POP/LxS to a segment register, far transfers' CS: selector and base only (see the header). */
export function loadRealSegment(c: Cpu, seg: number, sel: number): void {
  if ((c.flags & Eflags.VM) !== 0) return void loadV86Segment(c, seg, sel);
  const usable = (c.segAttr[seg]! & SegAttr.P) !== 0;
  const limit = usable ? c.segLimit[seg]! : 0xffff;
  const attr = usable ? c.segAttr[seg]! : REAL_MODE_ATTR;
  c.loadSegmentCache(seg, sel & 0xffff, (sel & 0xffff) << 4, limit, attr);
}

/** Loads CS and EIP for a far transfer; ends the block (CS.D and the base shape decoding). */
function enterRealCode(c: Cpu, sel: number, eip: number): void {
  loadRealSegment(c, Seg.CS, sel);
  c.eip = eip | 0;
  c.stop |= Stop.STATE;
}

/** #GP(0) unless `eip` is within the CS limit the far transfer will run with. Returns true when it is. */
function withinCodeLimit(c: Cpu, eip: number): boolean {
  const limit = inV86(c) ? 0xffff : c.segLimit[Seg.CS]! >>> 0;
  if (eip >>> 0 <= limit) return true;
  c.fault(Vector.GP, 0);
  return false;
}

/** JMP ptr16:16/32 and JMP m16:16/32 in real-address and virtual-8086 mode (SDM vol. 2, JMP). */
export function jmpFarReal(c: Cpu, sel: number, offset: number): void {
  if (withinCodeLimit(c, offset)) enterRealCode(c, sel, offset);
}

/** CALL far in real-address and virtual-8086 mode: pushes CS, then (E)IP, with the operand size. */
export function callFarReal(c: Cpu, sel: number, offset: number, opsize: number): void {
  if (!withinCodeLimit(c, offset)) return;
  const size = opsize >> 3;
  const user = c.cpl === 3;
  const base = c.segBase[Seg.SS]!;
  const limit = c.segLimit[Seg.SS]!;
  const attr = c.segAttr[Seg.SS]!;
  let sp = pushOn(c, c.regs[4]!, size, c.segSel[Seg.CS]!, base, limit, attr, user, 0);
  if (sp < 0) return;
  sp = pushOn(c, sp, size, c.eip, base, limit, attr, user, 0);
  if (sp < 0) return;
  c.setSp(sp);
  enterRealCode(c, sel, offset);
}

/** RETF / RETF imm16 in real-address and virtual-8086 mode. */
export function retFarReal(c: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const mask = c.ss32 ? -1 : 0xffff;
  const sp = c.sp();
  const eip = size === 4 ? c.ld32(Seg.SS, sp) : c.ld16(Seg.SS, sp);
  const sel = c.ld16(Seg.SS, (sp + size) & mask);
  if (c.pending !== 0 || !withinCodeLimit(c, eip)) return;
  c.setSp(sp + 2 * size + i.imm);
  enterRealCode(c, sel, eip);
}

/**
 * Delivers `vector` in real-address mode (SDM vol. 2, INT n "REAL-ADDRESS-MODE"; vol. 3, 20.1.4):
 * the vector table at IDTR.base holds 4-byte IP:CS pointers; FLAGS, CS and IP are pushed as words
 * (no error code in real mode), IF, TF, AC and RF are cleared. #GP when the entry is beyond the
 * IDTR limit, #SS when the pushes leave the stack segment. `eip` is the return address.
 */
export function deliverThroughIvt(c: Cpu, vector: number, eip: number): boolean {
  if (vector * 4 + 3 > c.idtLimit >>> 0) return !!c.fault(Vector.GP, 0);
  const at = (c.idtBase + vector * 4) | 0;
  const offset = c.ldSys(at, 2);
  const sel = c.ldSys((at + 2) | 0, 2);
  if (c.pending !== 0) return false;
  const base = c.segBase[Seg.SS]!;
  const limit = c.segLimit[Seg.SS]!;
  const attr = c.segAttr[Seg.SS]!;
  let sp = pushOn(c, c.regs[4]!, 2, readEflags(c) & 0xffff, base, limit, attr, false, 0);
  if (sp >= 0) sp = pushOn(c, sp, 2, c.segSel[Seg.CS]!, base, limit, attr, false, 0);
  if (sp >= 0) sp = pushOn(c, sp, 2, eip, base, limit, attr, false, 0);
  if (sp < 0) return false;
  c.setSp(sp);
  c.flags &= ~(Eflags.IF | Eflags.TF | Eflags.AC | Eflags.RF);
  c.refreshAccessChecks();
  c.pending = 0;
  enterRealCode(c, sel, offset);
  c.cycles += c.costs.eventDelivery;
  return true;
}

/** The EFLAGS bits a real-mode IRETD loads (SDM vol. 2, IRET: tempEFLAGS AND 257FD5H; VM, VIF, VIP kept). */
const REAL_IRETD_MASK = 0x257fd5;

/**
 * IRET in real-address mode (PE = 0), and in virtual-8086 mode at IOPL 3, where IOPL (and VM)
 * stay as they are; at IOPL < 3 it is #GP(0), the trap to the virtual-8086 monitor (SDM vol. 2,
 * IRET "REAL-ADDRESS-MODE" and "RETURN-FROM-VIRTUAL-8086-MODE").
 */
export function iretReal(c: Cpu, i: Insn): void {
  const v86 = inV86(c);
  if (v86 && ((c.flags >>> IOPL_SHIFT) & 3) < 3) return void c.fault(Vector.GP, 0);
  const size = i.opsize >> 3;
  const mask = c.ss32 ? -1 : 0xffff;
  const sp = c.sp();
  const eip = size === 4 ? c.ld32(Seg.SS, sp) : c.ld16(Seg.SS, sp);
  const sel = c.ld16(Seg.SS, (sp + size) & mask);
  const flags = size === 4 ? c.ld32(Seg.SS, (sp + 2 * size) & mask) : c.ld16(Seg.SS, (sp + 2 * size) & mask);
  if (c.pending !== 0 || !withinCodeLimit(c, eip)) return;
  let flagMask = size === 4 ? REAL_IRETD_MASK : 0xffff;
  if (v86) flagMask &= ~Eflags.IOPL;
  c.setSp(sp + 3 * size);
  writeEflags(c, flags, flagMask);
  enterRealCode(c, sel, eip);
}

/**
 * IRET at CPL 0 to an EFLAGS image with VM = 1 (SDM vol. 2, IRET "RETURN-TO-VIRTUAL-8086-MODE"):
 * after EIP, CS and EFLAGS, pops ESP, SS, ES, DS, FS and GS (dwords), loads every segment
 * register the virtual-8086 way and continues at CPL 3. `sp` is the stack pointer before IRET.
 */
export function returnToV86(c: Cpu, sp: number, eip: number, cs: number, eflags: number): void {
  const mask = c.ss32 ? -1 : 0xffff;
  const esp = c.ld32(Seg.SS, (sp + 12) & mask);
  const ss = c.ld16(Seg.SS, (sp + 16) & mask);
  const es = c.ld16(Seg.SS, (sp + 20) & mask);
  const ds = c.ld16(Seg.SS, (sp + 24) & mask);
  const fs = c.ld16(Seg.SS, (sp + 28) & mask);
  const gs = c.ld16(Seg.SS, (sp + 32) & mask);
  if (c.pending !== 0) return;
  if (eip >>> 0 > 0xffff) return void c.fault(Vector.GP, 0);
  writeEflags(c, eflags, EFLAGS_WRITABLE | Eflags.VM);
  loadV86Segment(c, Seg.ES, es);
  loadV86Segment(c, Seg.DS, ds);
  loadV86Segment(c, Seg.FS, fs);
  loadV86Segment(c, Seg.GS, gs);
  loadV86Segment(c, Seg.SS, ss);
  c.regs[4] = esp;
  c.setCpl(3);
  enterRealCode(c, cs, eip);
}
