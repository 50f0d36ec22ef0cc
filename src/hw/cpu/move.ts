/**
 * Data movement: MOV (all integer forms), MOVZX, MOVSX, LEA, XCHG, XADD, CMPXCHG, CMPXCHG8B,
 * CBW/CWDE, CWD/CDQ, LAHF, SAHF, XLAT, SALC, the flag-bit instructions and NOP (SDM vol. 2).
 * LOCK has no further effect: this CPU is the only bus master, so every access is atomic.
 */
import { Eflags } from '../x86/eflags.ts';
import type { Cpu } from './cpu.ts';
import { AluOp, alu } from './alu.ts';
import { arithFlags, cf, materializeFlags } from './flags.ts';
import type { Insn } from './insn.ts';
import {
  commitRm16,
  commitRm32,
  commitRm8,
  ea,
  readRm16,
  readRm8,
  rmwRm16,
  rmwRm32,
  rmwRm8,
  writeRm16,
  writeRm32,
  writeRm8,
} from './operands.ts';

// mov Eb,Gb / Ev,Gv (88, 89)
export function movEbGb(c: Cpu, i: Insn): void {
  writeRm8(c, i, c.r8[i.reg]!);
}
export function movEwGw(c: Cpu, i: Insn): void {
  writeRm16(c, i, c.r16[i.reg]!);
}
export function movEdGd(c: Cpu, i: Insn): void {
  if (i.mem === 0) c.regs[i.rm] = c.regs[i.reg]!;
  else c.st32(i.seg, ea(c, i), c.regs[i.reg]!);
}

// mov Gb,Eb / Gv,Ev (8A, 8B)
export function movGbEb(c: Cpu, i: Insn): void {
  const v = readRm8(c, i);
  if (c.pending === 0) c.r8[i.reg] = v;
}
export function movGwEw(c: Cpu, i: Insn): void {
  const v = readRm16(c, i);
  if (c.pending === 0) c.r16[i.reg] = v;
}
export function movGdEd(c: Cpu, i: Insn): void {
  if (i.mem === 0) {
    c.regs[i.reg] = c.regs[i.rm]!;
    return;
  }
  const v = c.ld32(i.seg, ea(c, i));
  if (c.pending === 0) c.regs[i.reg] = v;
}

// mov Eb,Ib / Ev,Iz (C6 /0, C7 /0) and mov r,imm (B0+r, B8+r: decoded as register r/m)
export function movEbI(c: Cpu, i: Insn): void {
  writeRm8(c, i, i.imm);
}
export function movEwI(c: Cpu, i: Insn): void {
  writeRm16(c, i, i.imm);
}
export function movEdI(c: Cpu, i: Insn): void {
  writeRm32(c, i, i.imm);
}

// mov r, imm (B0+r, B8+r): the register is in Insn.reg
export function movRbI(c: Cpu, i: Insn): void {
  c.r8[i.reg] = i.imm;
}
export function movRwI(c: Cpu, i: Insn): void {
  c.r16[i.reg] = i.imm;
}
export function movRdI(c: Cpu, i: Insn): void {
  c.regs[i.reg] = i.imm;
}

// mov AL/eAX, moffs and back (A0-A3): the offset is in disp, base and index are ZERO_REG.
export function movALOb(c: Cpu, i: Insn): void {
  const v = c.ld8(i.seg, ea(c, i));
  if (c.pending === 0) c.r8[0] = v;
}
export function movAXOw(c: Cpu, i: Insn): void {
  const v = c.ld16(i.seg, ea(c, i));
  if (c.pending === 0) c.r16[0] = v;
}
export function movEAXOd(c: Cpu, i: Insn): void {
  const v = c.ld32(i.seg, ea(c, i));
  if (c.pending === 0) c.regs[0] = v;
}
export function movObAL(c: Cpu, i: Insn): void {
  c.st8(i.seg, ea(c, i), c.r8[0]!);
}
export function movOwAX(c: Cpu, i: Insn): void {
  c.st16(i.seg, ea(c, i), c.r16[0]!);
}
export function movOdEAX(c: Cpu, i: Insn): void {
  c.st32(i.seg, ea(c, i), c.regs[0]!);
}

// movzx / movsx Gv, Eb / Ew (0F B6, B7, BE, BF)
export function movzxGwEb(c: Cpu, i: Insn): void {
  const v = readRm8(c, i);
  if (c.pending === 0) c.r16[i.reg] = v;
}
export function movzxGdEb(c: Cpu, i: Insn): void {
  const v = readRm8(c, i);
  if (c.pending === 0) c.regs[i.reg] = v;
}
export function movzxGdEw(c: Cpu, i: Insn): void {
  const v = readRm16(c, i);
  if (c.pending === 0) c.regs[i.reg] = v;
}
export function movsxGwEb(c: Cpu, i: Insn): void {
  const v = readRm8(c, i);
  if (c.pending === 0) c.r16[i.reg] = (v << 24) >> 24;
}
export function movsxGdEb(c: Cpu, i: Insn): void {
  const v = readRm8(c, i);
  if (c.pending === 0) c.regs[i.reg] = (v << 24) >> 24;
}
export function movsxGdEw(c: Cpu, i: Insn): void {
  const v = readRm16(c, i);
  if (c.pending === 0) c.regs[i.reg] = (v << 16) >> 16;
}

/** lea Gv, M (8D): the offset only, no segment, no memory access. */
export function leaGw(c: Cpu, i: Insn): void {
  c.r16[i.reg] = ea(c, i);
}
export function leaGd(c: Cpu, i: Insn): void {
  c.regs[i.reg] = ea(c, i);
}

// xchg Eb,Gb / Ev,Gv (86, 87) and xchg eAX, r (91-97, decoded as r/m = eAX)
export function xchgEbGb(c: Cpu, i: Insn): void {
  const v = rmwRm8(c, i);
  if (c.pending !== 0) return;
  commitRm8(c, i, c.r8[i.reg]!);
  c.r8[i.reg] = v;
}
export function xchgEwGw(c: Cpu, i: Insn): void {
  const v = rmwRm16(c, i);
  if (c.pending !== 0) return;
  commitRm16(c, i, c.r16[i.reg]!);
  c.r16[i.reg] = v;
}
export function xchgEdGd(c: Cpu, i: Insn): void {
  const v = rmwRm32(c, i);
  if (c.pending !== 0) return;
  commitRm32(c, i, c.regs[i.reg]!);
  c.regs[i.reg] = v;
}

// xadd Eb,Gb / Ev,Gv (0F C0, C1): temp = dst + src; src = dst; dst = temp
export function xaddEbGb(c: Cpu, i: Insn): void {
  const d = rmwRm8(c, i);
  if (c.pending !== 0) return;
  const r = alu(c, AluOp.ADD, d << 24, c.r8[i.reg]! << 24, 24) >>> 24;
  c.r8[i.reg] = d;
  commitRm8(c, i, r);
}
export function xaddEwGw(c: Cpu, i: Insn): void {
  const d = rmwRm16(c, i);
  if (c.pending !== 0) return;
  const r = alu(c, AluOp.ADD, d << 16, c.r16[i.reg]! << 16, 16) >>> 16;
  c.r16[i.reg] = d;
  commitRm16(c, i, r);
}
export function xaddEdGd(c: Cpu, i: Insn): void {
  const d = rmwRm32(c, i);
  if (c.pending !== 0) return;
  const r = alu(c, AluOp.ADD, d, c.regs[i.reg]!, 0);
  c.regs[i.reg] = d;
  commitRm32(c, i, r);
}

/**
 * cmpxchg Eb,Gb / Ev,Gv (0F B0, B1): compare the accumulator with the destination; equal:
 * dst = src; otherwise the accumulator gets dst. The destination is always written (the
 * processor writes back the old value on a mismatch), so a read-only page faults either way.
 */
export function cmpxchgEbGb(c: Cpu, i: Insn): void {
  const d = rmwRm8(c, i);
  if (c.pending !== 0) return;
  alu(c, AluOp.CMP, c.r8[0]! << 24, d << 24, 24);
  if (c.r8[0] === d) commitRm8(c, i, c.r8[i.reg]!);
  else {
    commitRm8(c, i, d);
    c.r8[0] = d;
  }
}
export function cmpxchgEwGw(c: Cpu, i: Insn): void {
  const d = rmwRm16(c, i);
  if (c.pending !== 0) return;
  alu(c, AluOp.CMP, c.r16[0]! << 16, d << 16, 16);
  if (c.r16[0] === d) commitRm16(c, i, c.r16[i.reg]!);
  else {
    commitRm16(c, i, d);
    c.r16[0] = d;
  }
}
export function cmpxchgEdGd(c: Cpu, i: Insn): void {
  const d = rmwRm32(c, i);
  if (c.pending !== 0) return;
  alu(c, AluOp.CMP, c.regs[0]!, d, 0);
  if (c.regs[0] === d) commitRm32(c, i, c.regs[i.reg]!);
  else {
    commitRm32(c, i, d);
    c.regs[0] = d;
  }
}

/** cmpxchg8b m64 (0F C7 /1): EDX:EAX vs m64; equal: m64 = ECX:EBX, ZF=1; else EDX:EAX = m64, ZF=0. */
export function cmpxchg8b(c: Cpu, i: Insn): void {
  const off = ea(c, i);
  const lo = c.rmw32(i.seg, off);
  if (c.pending !== 0) return;
  const hi = c.rmw32(i.seg, (off + 4) & i.eaMask);
  if (c.pending !== 0) return;
  const equal = lo === c.regs[0] && hi === c.regs[2];
  const newLo = equal ? c.regs[3]! : lo;
  const newHi = equal ? c.regs[1]! : hi;
  c.commit32(newHi);
  c.st32(i.seg, off, newLo);
  if (c.pending !== 0) return;
  if (!equal) {
    c.regs[0] = lo;
    c.regs[2] = hi;
  }
  materializeFlags(c);
  c.flags = equal ? c.flags | Eflags.ZF : c.flags & ~Eflags.ZF;
}

/** cbw / cwde (98) */
export function cbw(c: Cpu, i: Insn): void {
  if (i.opsize === 16) c.r16[0] = (c.r8[0]! << 24) >> 24;
  else c.regs[0] = (c.r16[0]! << 16) >> 16;
}

/** cwd / cdq (99) */
export function cwd(c: Cpu, i: Insn): void {
  if (i.opsize === 16) c.r16[4] = (c.r16[0]! << 16) >> 31;
  else c.regs[2] = c.regs[0]! >> 31;
}

/** lahf (9F): AH = SF:ZF:0:AF:0:PF:1:CF */
export function lahf(c: Cpu, _i: Insn): void {
  c.r8[1] = (arithFlags(c) & 0xd5) | 2;
}

/** sahf (9E): SF ZF AF PF CF from AH; OF unchanged. */
export function sahf(c: Cpu, _i: Insn): void {
  materializeFlags(c);
  c.flags = (c.flags & ~0xd5) | (c.r8[1]! & 0xd5);
}

/** xlat (D7): AL = [seg:(E)BX + unsigned AL] */
export function xlat(c: Cpu, i: Insn): void {
  const v = c.ld8(i.seg, (c.regs[3]! + c.r8[0]!) & i.eaMask);
  if (c.pending === 0) c.r8[0] = v;
}

/** salc (D6, undocumented but present on every x86): AL = CF ? 0xFF : 0. */
export function salc(c: Cpu, _i: Insn): void {
  c.r8[0] = cf(c) !== 0 ? 0xff : 0;
}

/** clc stc cmc cld std (F8 F9 F5 FC FD): sub selects. */
export function flagOp(c: Cpu, i: Insn): void {
  materializeFlags(c);
  switch (i.sub) {
    case 0:
      c.flags &= ~Eflags.CF;
      break;
    case 1:
      c.flags |= Eflags.CF;
      break;
    case 2:
      c.flags ^= Eflags.CF;
      break;
    case 3:
      c.flags &= ~Eflags.DF;
      break;
    default:
      c.flags |= Eflags.DF;
      break;
  }
}

/** nop, pause, and the multi-byte NOP Ev (0F 1F) and hint NOPs (0F 18-1E). */
export function nop(_c: Cpu, _i: Insn): void {}
