/**
 * Specialized handlers for the hottest instruction forms (measured on the benchmark programs:
 * 32-bit register ALU operations, loads and stores, INC/DEC, Jcc). Each does exactly what the
 * generic handler does for that form, without the generic one's run-time choices (register or
 * memory operand, which ALU operation, which condition), so that a compiled block inlines more
 * of them. The decoder asks specialize() for one after choosing the generic handler; the
 * differential tests run both kinds of code against the host CPU.
 */
import type { Cpu } from './cpu.ts';
import { AluOp } from './alu.ts';
import { Lazy, cf, cond, setArithFlags, setLogicFlags } from './flags.ts';
import type { Handler, Insn } from './insn.ts';
import { ea } from './operands.ts';
import { jumpNear } from './control.ts';
import * as alu from './alu.ts';
import * as mv from './move.ts';
import * as ctl from './control.ts';

// ---------------------------------------------------------------- 32-bit ADD/SUB/CMP and logic cores

function add32(c: Cpu, a: number, b: number): number {
  const r = (a + b) | 0;
  setArithFlags(c, Lazy.ADD, a, b, r, 0);
  return r;
}
function sub32(c: Cpu, a: number, b: number): number {
  const r = (a - b) | 0;
  setArithFlags(c, Lazy.SUB, a, b, r, 0);
  return r;
}
function logic32(c: Cpu, r: number): number {
  setLogicFlags(c, r, 0);
  return r;
}

// ---------------------------------------------------------------- ALU r32, r32 (rm is the destination)

function addRR(c: Cpu, i: Insn): void {
  c.regs[i.rm] = add32(c, c.regs[i.rm]!, c.regs[i.reg]!);
}
function subRR(c: Cpu, i: Insn): void {
  c.regs[i.rm] = sub32(c, c.regs[i.rm]!, c.regs[i.reg]!);
}
function cmpRR(c: Cpu, i: Insn): void {
  sub32(c, c.regs[i.rm]!, c.regs[i.reg]!);
}
function andRR(c: Cpu, i: Insn): void {
  c.regs[i.rm] = logic32(c, c.regs[i.rm]! & c.regs[i.reg]!);
}
function orRR(c: Cpu, i: Insn): void {
  c.regs[i.rm] = logic32(c, c.regs[i.rm]! | c.regs[i.reg]!);
}
function xorRR(c: Cpu, i: Insn): void {
  c.regs[i.rm] = logic32(c, c.regs[i.rm]! ^ c.regs[i.reg]!);
}
function testRR(c: Cpu, i: Insn): void {
  logic32(c, c.regs[i.rm]! & c.regs[i.reg]!);
}

// ---------------------------------------------------------------- ALU r32, imm

function addRI(c: Cpu, i: Insn): void {
  c.regs[i.rm] = add32(c, c.regs[i.rm]!, i.imm);
}
function subRI(c: Cpu, i: Insn): void {
  c.regs[i.rm] = sub32(c, c.regs[i.rm]!, i.imm);
}
function cmpRI(c: Cpu, i: Insn): void {
  sub32(c, c.regs[i.rm]!, i.imm);
}
function andRI(c: Cpu, i: Insn): void {
  c.regs[i.rm] = logic32(c, c.regs[i.rm]! & i.imm);
}
function orRI(c: Cpu, i: Insn): void {
  c.regs[i.rm] = logic32(c, c.regs[i.rm]! | i.imm);
}
function xorRI(c: Cpu, i: Insn): void {
  c.regs[i.rm] = logic32(c, c.regs[i.rm]! ^ i.imm);
}

// ---------------------------------------------------------------- ALU r32, [mem] and [mem] compare

function addRM(c: Cpu, i: Insn): void {
  const b = c.ld32(i.seg, ea(c, i));
  if (c.pending === 0) c.regs[i.reg] = add32(c, c.regs[i.reg]!, b);
}
function cmpRM(c: Cpu, i: Insn): void {
  const b = c.ld32(i.seg, ea(c, i));
  if (c.pending === 0) sub32(c, c.regs[i.reg]!, b);
}
function cmpMI(c: Cpu, i: Insn): void {
  const a = c.ld32(i.seg, ea(c, i));
  if (c.pending === 0) sub32(c, a, i.imm);
}

// ---------------------------------------------------------------- INC/DEC r32 (CF is preserved)

function incR(c: Cpu, i: Insn): void {
  const carry = cf(c);
  const a = c.regs[i.reg]!;
  const r = (a + 1) | 0;
  c.regs[i.reg] = r;
  setArithFlags(c, Lazy.INC, a, carry, r, 0);
}
function decR(c: Cpu, i: Insn): void {
  const carry = cf(c);
  const a = c.regs[i.reg]!;
  const r = (a - 1) | 0;
  c.regs[i.reg] = r;
  setArithFlags(c, Lazy.DEC, a, carry, r, 0);
}

// ---------------------------------------------------------------- moves

function movRR(c: Cpu, i: Insn): void {
  c.regs[i.rm] = c.regs[i.reg]!;
}
function loadRM(c: Cpu, i: Insn): void {
  const v = c.ld32(i.seg, ea(c, i));
  if (c.pending === 0) c.regs[i.reg] = v;
}
function storeMR(c: Cpu, i: Insn): void {
  c.st32(i.seg, ea(c, i), c.regs[i.reg]!);
}
function loadZxByte(c: Cpu, i: Insn): void {
  const v = c.ld8(i.seg, ea(c, i));
  if (c.pending === 0) c.regs[i.reg] = v;
}
function storeByte(c: Cpu, i: Insn): void {
  c.st8(i.seg, ea(c, i), c.r8[i.reg]!);
}
function leaR(c: Cpu, i: Insn): void {
  c.regs[i.reg] = (c.regs[i.base]! + (c.regs[i.index]! << i.scale) + i.disp) & i.eaMask;
}

// ---------------------------------------------------------------- Jcc after CMP (the common pairing)

function je(c: Cpu, i: Insn): void {
  if (c.lzKind === Lazy.SUB ? c.lzA === c.lzB : cond(c, 4)) jumpNear(c, c.eip + i.imm, i.opsize);
}
function jne(c: Cpu, i: Insn): void {
  if (c.lzKind === Lazy.SUB ? c.lzA !== c.lzB : cond(c, 5)) jumpNear(c, c.eip + i.imm, i.opsize);
}

const ALU_RR: (Handler | null)[] = [addRR, orRR, null, null, andRR, subRR, xorRR, cmpRR];
const ALU_RI: (Handler | null)[] = [addRI, orRI, null, null, andRI, subRI, xorRI, cmpRI];

/**
 * A specialized handler for `insn` (already decoded with its generic handler), or null.
 * Only 32-bit operand forms are specialized.
 */
export function specialize(insn: Insn): Handler | null {
  const fn = insn.fn;
  const reg = insn.mem === 0;
  if (insn.opsize !== 32) return null;
  switch (fn) {
    case alu.aluEdGd:
      return reg ? ALU_RR[insn.sub]! : null;
    case alu.aluEdI:
      return reg ? ALU_RI[insn.sub]! : insn.sub === AluOp.CMP ? cmpMI : null;
    case alu.aluGdEd:
      return reg ? null : insn.sub === AluOp.ADD ? addRM : insn.sub === AluOp.CMP ? cmpRM : null;
    case alu.testEdGd:
      return reg ? testRR : null;
    case alu.incDecRd:
      return insn.sub === 0 ? incR : decR;
    case mv.movEdGd:
      return reg ? movRR : storeMR;
    case mv.movGdEd:
      return reg ? null : loadRM;
    case mv.movzxGdEb:
      return reg ? null : loadZxByte;
    case mv.leaGd:
      return leaR;
    case ctl.jccRel:
      return insn.sub === 4 ? je : insn.sub === 5 ? jne : null;
    default:
      return null;
  }
}

/** Byte stores are hot too (string building); their operand size is 8. */
export function specializeByte(insn: Insn): Handler | null {
  return insn.fn === mv.movEbGb && insn.mem !== 0 ? storeByte : null;
}
