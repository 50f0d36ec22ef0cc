/**
 * Near control transfer: JMP, Jcc, CALL, RET, LOOP/LOOPE/LOOPNE, JCXZ/JECXZ, and the software
 * interrupts INT n, INT3, INTO, INT1, BOUND, and HLT (SDM vol. 2). When a handler runs, cpu.eip
 * already holds the address of the next instruction, which is what relative targets and
 * return addresses are based on. With a 16-bit operand size the target is truncated to 16 bits.
 */
import { Seg } from '../x86/descriptors.ts';
import { Eflags, IOPL_SHIFT } from '../x86/eflags.ts';
import { Vector } from '../x86/vectors.ts';
import { type Cpu, SEG_FAST_R, Stop } from './cpu.ts';
import { Counter } from './counters.ts';
import { cond, of } from './flags.ts';
import type { Insn } from './insn.ts';
import { ea } from './operands.ts';
import { InterceptMisc1, SvmExit } from '../x86/vmcb.ts';
import { interceptMisc1 } from './virtualization.ts';

/**
 * Sets EIP to a near target: #GP(0) if it is beyond the CS limit (SDM vol. 2, JMP). A flat
 * 4 GiB code segment needs no check.
 */
export function jumpNear(c: Cpu, target: number, opsize: number): void {
  const t = opsize === 16 ? target & 0xffff : target | 0;
  if ((c.segFast[Seg.CS]! & SEG_FAST_R) === 0 && t >>> 0 > c.segLimit[Seg.CS]! >>> 0) return void c.fault(Vector.GP, 0);
  c.eip = t;
}

/** jmp rel8/rel16/rel32 (EB, E9) */
export function jmpRel(c: Cpu, i: Insn): void {
  jumpNear(c, c.eip + i.imm, i.opsize);
}

/** jcc rel (70+cc, 0F 80+cc): sub = condition code. */
export function jccRel(c: Cpu, i: Insn): void {
  if (cond(c, i.sub)) jumpNear(c, c.eip + i.imm, i.opsize);
}

/** jmp Ev (FF /4) */
export function jmpEv(c: Cpu, i: Insn): void {
  const t = i.mem === 0 ? (i.opsize === 32 ? c.regs[i.rm]! : c.r16[i.rm]!) : i.opsize === 32 ? c.ld32(i.seg, ea(c, i)) : c.ld16(i.seg, ea(c, i));
  if (c.pending === 0) jumpNear(c, t, i.opsize);
}

/** call rel16/rel32 (E8): push the return address, then jump. */
export function callRel(c: Cpu, i: Insn): void {
  const target = i.opsize === 16 ? (c.eip + i.imm) & 0xffff : (c.eip + i.imm) | 0;
  if ((c.segFast[Seg.CS]! & SEG_FAST_R) === 0 && target >>> 0 > c.segLimit[Seg.CS]! >>> 0) return void c.fault(Vector.GP, 0);
  c.push(c.eip, i.opsize);
  if (c.pending === 0) c.eip = target;
}

/** call Ev (FF /2) */
export function callEv(c: Cpu, i: Insn): void {
  const t = i.mem === 0 ? (i.opsize === 32 ? c.regs[i.rm]! : c.r16[i.rm]!) : i.opsize === 32 ? c.ld32(i.seg, ea(c, i)) : c.ld16(i.seg, ea(c, i));
  if (c.pending !== 0) return;
  const target = i.opsize === 16 ? t & 0xffff : t;
  if ((c.segFast[Seg.CS]! & SEG_FAST_R) === 0 && target >>> 0 > c.segLimit[Seg.CS]! >>> 0) return void c.fault(Vector.GP, 0);
  c.push(c.eip, i.opsize);
  if (c.pending === 0) c.eip = target;
}

/** ret / ret imm16 (C3, C2): imm = bytes to release after popping. */
export function retNear(c: Cpu, i: Insn): void {
  const t = i.opsize === 32 ? c.peek32(0) : c.peek16(0);
  if (c.pending !== 0) return;
  const target = i.opsize === 16 ? t & 0xffff : t;
  if ((c.segFast[Seg.CS]! & SEG_FAST_R) === 0 && target >>> 0 > c.segLimit[Seg.CS]! >>> 0) return void c.fault(Vector.GP, 0);
  c.setSp(c.sp() + (i.opsize >> 3) + i.imm);
  c.eip = target;
}

/**
 * loop / loope / loopne (E2, E1, E0): sub = 0 loop, 1 loope, 2 loopne. The counter is CX or
 * ECX by address size; it is decremented without touching flags.
 */
export function loop(c: Cpu, i: Insn): void {
  let n: number;
  if (i.adsize === 32) n = c.regs[1] = c.regs[1]! - 1;
  else n = c.r16[2] = c.r16[2]! - 1;
  if (n === 0) return;
  if (i.sub === 1 && !cond(c, 4)) return;
  if (i.sub === 2 && !cond(c, 5)) return;
  jumpNear(c, c.eip + i.imm, i.opsize);
}

/** jcxz / jecxz (E3) */
export function jcxz(c: Cpu, i: Insn): void {
  const n = i.adsize === 32 ? c.regs[1]! : c.r16[2]!;
  if (n === 0) jumpNear(c, c.eip + i.imm, i.opsize);
}

/**
 * int imm8 (CD, imm2 = 1), int3 (CC, imm = 3), int1/icebp (F1, imm = 1): a trap-class event. In
 * virtual-8086 mode below IOPL 3, INT imm8 (not INT3 or INT1) is #GP(0), a fault at the INT
 * (SDM vol. 2, INT n: the V86 monitor emulates it).
 */
export function intN(c: Cpu, i: Insn): void {
  if (i.imm2 === 1 && (c.flags & Eflags.VM) !== 0 && ((c.flags >>> IOPL_SHIFT) & 3) < 3) return void c.fault(Vector.GP, 0);
  c.ctr[Counter.SOFTWARE_INT]!++;
  c.softwareInt = i.sub;
  c.trapLength = i.len;
  c.trap(i.imm);
}

/** into (CE): #OF as a trap when OF = 1. */
export function into(c: Cpu, _i: Insn): void {
  if (!of(c)) return;
  c.softwareInt = 1;
  c.trapLength = 1;
  c.trap(Vector.OF);
}

/** bound Gv, Ma (62): #BR (a fault) when the index is outside [lower, upper], signed. */
export function bound(c: Cpu, i: Insn): void {
  const off = ea(c, i);
  if (i.opsize === 32) {
    const lo = c.ld32(i.seg, off);
    const hi = c.ld32(i.seg, (off + 4) & i.eaMask);
    if (c.pending !== 0) return;
    const v = c.regs[i.reg]!;
    if (v < lo || v > hi) c.fault(Vector.BR, -1);
  } else {
    const lo = (c.ld16(i.seg, off) << 16) >> 16;
    const hi = (c.ld16(i.seg, (off + 2) & i.eaMask) << 16) >> 16;
    if (c.pending !== 0) return;
    const v = (c.r16[i.reg]! << 16) >> 16;
    if (v < lo || v > hi) c.fault(Vector.BR, -1);
  }
}

/** hlt (F4): privileged (#GP(0) unless CPL 0); the CPU waits for an interrupt. */
export function hlt(c: Cpu, _i: Insn): void {
  if (c.cpl !== 0) return void c.fault(Vector.GP, 0);
  if (c.guestMode && interceptMisc1(c, InterceptMisc1.HLT, SvmExit.HLT)) return;
  c.ctr[Counter.HALT]!++;
  c.halted = true;
  c.stop |= Stop.HALT;
}

