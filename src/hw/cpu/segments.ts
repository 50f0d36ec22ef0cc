/**
 * Protected-mode segmentation (SDM vol. 3, chapter 5 and vol. 2, MOV/POP/LDS/JMP/CALL/RET):
 * descriptor fetches from the GDT/LDT, the checks every segment-register load makes (type,
 * DPL, RPL, CPL, present), far transfers through code segments and call gates, and the stack
 * switch of an inter-privilege call. Errors carry the selector as their error code. Far JMP and
 * CALL to a TSS or a task gate switch tasks (task-switch.ts); in real-address and virtual-8086
 * mode loads and far transfers take paragraph numbers instead (real-mode.ts).
 */
import {
  SegAttr,
  Seg,
  SysType,
  attrDpl,
  descriptorAttr,
  descriptorBase,
  descriptorLimit,
} from '../x86/descriptors.ts';
import { Vector } from '../x86/vectors.ts';
import { type Cpu, Stop } from './cpu.ts';
import type { Insn } from './insn.ts';
import { ea } from './operands.ts';
import { callFarReal, jmpFarReal, loadRealSegment, realSegments, retFarReal } from './real-mode.ts';
import { TaskSource, isTaskTarget, jumpToTask } from './task-switch.ts';

/** The descriptor most recently read by readDescriptor (module scratch: no allocation). */
export const desc = { lo: 0, hi: 0, addr: 0, attr: 0, base: 0, limit: 0 };
export type Descriptor = typeof desc;

/**
 * A second descriptor slot: transfers that read a code segment and then a stack segment keep
 * the code segment's descriptor here while `desc` is reused (keepCode), and bring it back
 * before loading CS (restoreCode).
 */
const codeDesc: Descriptor = { lo: 0, hi: 0, addr: 0, attr: 0, base: 0, limit: 0 };
export function keepCode(): void {
  Object.assign(codeDesc, desc);
}
export function restoreCode(): void {
  Object.assign(desc, codeDesc);
}

/**
 * Reads the descriptor `sel` selects into `desc`. Raises `vector`(selector | ext) and returns
 * false when the selector is beyond its table's limit or names the LDT while none is loaded.
 */
export function readDescriptor(c: Cpu, sel: number, vector: number, ext: number): boolean {
  const ldt = (sel & 4) !== 0;
  const base = ldt ? c.ldtBase : c.gdtBase;
  const limit = ldt ? c.ldtLimit : c.gdtLimit;
  if ((ldt && (c.ldtAttr & SegAttr.P) === 0) || (sel | 7) >>> 0 > limit >>> 0) {
    c.fault(vector, (sel & 0xfffc) | ext);
    return false;
  }
  desc.addr = (base + (sel & 0xfff8)) | 0;
  desc.lo = c.ldSys(desc.addr, 4);
  desc.hi = c.ldSys((desc.addr + 4) | 0, 4);
  if (c.pending !== 0) return false;
  desc.attr = descriptorAttr(desc.hi);
  desc.base = descriptorBase(desc.lo, desc.hi);
  desc.limit = descriptorLimit(desc.lo, desc.hi);
  return true;
}

/** Sets the accessed bit of the descriptor just read, as a segment load does (SDM vol. 3, 3.4.5.1). */
export function markAccessed(c: Cpu): void {
  if ((desc.attr & SegAttr.ACCESSED) === 0) {
    desc.hi |= 1 << 8;
    desc.attr |= SegAttr.ACCESSED;
    c.stSys((desc.addr + 4) | 0, 4, desc.hi);
  }
}

function isCode(attr: number): boolean {
  return (attr & (SegAttr.S | SegAttr.CODE)) === (SegAttr.S | SegAttr.CODE);
}
function isConforming(attr: number): boolean {
  return (attr & SegAttr.DC) !== 0;
}
function isWritableData(attr: number): boolean {
  return (attr & (SegAttr.S | SegAttr.CODE | SegAttr.WR)) === (SegAttr.S | SegAttr.WR);
}

/**
 * MOV/POP/LDS to DS, ES, FS or GS (SDM vol. 2, MOV "protected mode"): a null selector makes
 * the register unusable; otherwise the descriptor must be data or readable code, and for data
 * or nonconforming code both RPL and CPL must be <= DPL. Returns false after a fault.
 */
export function loadDataSegment(c: Cpu, seg: number, sel: number): boolean {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) {
    c.loadNullSegment(seg, sel);
    return true;
  }
  if (!readDescriptor(c, sel, Vector.GP, 0)) return false;
  const attr = desc.attr;
  const dpl = attrDpl(attr);
  if ((attr & SegAttr.S) === 0 || (isCode(attr) && (attr & SegAttr.WR) === 0)) return !!c.fault(Vector.GP, sel & 0xfffc);
  if ((!isCode(attr) || !isConforming(attr)) && ((sel & 3) > dpl || c.cpl > dpl)) return !!c.fault(Vector.GP, sel & 0xfffc);
  if ((attr & SegAttr.P) === 0) return !!c.fault(Vector.NP, sel & 0xfffc);
  markAccessed(c);
  if (c.pending !== 0) return false;
  c.loadSegmentCache(seg, sel, desc.base, desc.limit, desc.attr);
  return true;
}

/**
 * Loads SS for privilege level `cpl` (SDM vol. 2, MOV "SS"): null is #GP(0) (or `vector` for
 * TSS-supplied stacks); RPL and DPL must equal the CPL; it must be a writable data segment;
 * not present is #SS(selector).
 */
export function checkStackSegment(c: Cpu, sel: number, cpl: number, vector: number, ext: number): boolean {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) return !!c.fault(vector, ext);
  if (!readDescriptor(c, sel, vector, ext)) return false;
  const attr = desc.attr;
  if ((sel & 3) !== cpl || attrDpl(attr) !== cpl || !isWritableData(attr)) return !!c.fault(vector, (sel & 0xfffc) | ext);
  if ((attr & SegAttr.P) === 0) return !!c.fault(Vector.SS, (sel & 0xfffc) | ext);
  return true;
}

export function loadStackSegment(c: Cpu, sel: number): boolean {
  if (!checkStackSegment(c, sel, c.cpl, Vector.GP, 0)) return false;
  markAccessed(c);
  if (c.pending !== 0) return false;
  c.loadSegmentCache(Seg.SS, sel, desc.base, desc.limit, desc.attr);
  return true;
}

/** Loads any segment register but CS with its checks (real and virtual-8086 mode: none). */
export function loadSegment(c: Cpu, seg: number, sel: number): boolean {
  if (realSegments(c)) {
    loadRealSegment(c, seg, sel);
    return true;
  }
  return seg === Seg.SS ? loadStackSegment(c, sel) : loadDataSegment(c, seg, sel);
}

/**
 * Loads CS from the descriptor in `desc` at privilege `cpl` (RPL becomes the CPL) and jumps.
 * Ends the block: the code segment's size and the CPL shape decoding and access checks.
 */
export function enterCodeSegment(c: Cpu, sel: number, cpl: number, eip: number): void {
  c.loadSegmentCache(Seg.CS, (sel & 0xfffc) | cpl, desc.base, desc.limit, desc.attr);
  c.setCpl(cpl);
  c.eip = eip | 0;
  c.stop |= Stop.STATE;
}

/**
 * After a return to an outer privilege level, DS, ES, FS and GS that the new CPL may not use
 * (data or nonconforming code with DPL < CPL) become unusable (SDM vol. 2, RET and IRET).
 */
export function dropInaccessibleSegments(c: Cpu): void {
  for (const seg of [Seg.ES, Seg.DS, Seg.FS, Seg.GS]) {
    const attr = c.segAttr[seg]!;
    if ((attr & SegAttr.P) === 0) continue;
    const conformingCode = isCode(attr) && isConforming(attr);
    if (!conformingCode && attrDpl(attr) < c.cpl) c.loadNullSegment(seg, 0);
  }
}

// ------------------------------------------------------------------ segment register instructions

/** mov Sw, Ew (8E): reg = segment register. CS is #UD; loading SS inhibits interrupts once. */
export function movSwEw(c: Cpu, i: Insn): void {
  const seg = i.reg;
  if (seg === Seg.CS || seg > 5) return void c.fault(Vector.UD, -1);
  const sel = i.mem === 0 ? c.r16[i.rm]! : c.ld16(i.seg, ea(c, i));
  if (c.pending !== 0) return;
  if (loadSegment(c, seg, sel) && seg === Seg.SS) {
    c.inhibit = true;
    c.holdSingleStep = true;
    c.stop |= Stop.STATE;
  }
}

/** mov Ew, Sw (8C): to a register the selector is zero-extended with a 32-bit operand size. */
export function movEwSw(c: Cpu, i: Insn): void {
  if (i.reg > 5) return void c.fault(Vector.UD, -1);
  const sel = c.segSel[i.reg]!;
  if (i.mem === 0) {
    if (i.opsize === 32) c.regs[i.rm] = sel;
    else c.r16[i.rm] = sel;
  } else c.st16(i.seg, ea(c, i), sel);
}

/** push sreg (06 0E 16 1E 0F A0 0F A8): sub = segment; pushed zero-extended with a 32-bit size. */
export function pushSeg(c: Cpu, i: Insn): void {
  c.push(c.segSel[i.sub]!, i.opsize);
}

/** pop sreg (07 17 1F 0F A1 0F A9): the selector is loaded before ESP moves. */
export function popSeg(c: Cpu, i: Insn): void {
  const sel = i.opsize === 32 ? c.peek32(0) : c.peek16(0);
  if (c.pending !== 0) return;
  if (!loadSegment(c, i.sub, sel & 0xffff)) return;
  c.setSp(c.sp() + (i.opsize >> 3));
  if (i.sub === Seg.SS) {
    c.inhibit = true;
    c.holdSingleStep = true;
    c.stop |= Stop.STATE;
  }
}

/** lds/les/lfs/lgs/lss Gv, Mp (C5 C4 0F B4 0F B5 0F B2): sub = segment. */
export function loadFarPointer(c: Cpu, i: Insn): void {
  const off = ea(c, i);
  const offset = i.opsize === 32 ? c.ld32(i.seg, off) : c.ld16(i.seg, off);
  const sel = c.ld16(i.seg, (off + (i.opsize >> 3)) & i.eaMask);
  if (c.pending !== 0) return;
  if (!loadSegment(c, i.sub, sel)) return;
  if (i.opsize === 32) c.regs[i.reg] = offset;
  else c.r16[i.reg] = offset;
  // LSS loads SS:ESP at once, so unlike MOV SS and POP SS it opens no interrupt shadow
  // (SDM vol. 3, 6.8.3: "If the LSS instruction is used ... this problem does not occur").
  if (i.sub === Seg.SS) c.stop |= Stop.STATE;
}

// ------------------------------------------------------------------ far transfers

/** Reads a far pointer operand (Mp) into farSel/farOff, or takes it from the Ap immediate (sub = 1). */
let farSel = 0;
let farOff = 0;
function readFarOperand(c: Cpu, i: Insn): boolean {
  if (i.sub === 1) {
    // Ap immediate: offset in imm, selector in imm2.
    farOff = i.opsize === 32 ? i.imm : i.imm & 0xffff;
    farSel = i.imm2 & 0xffff;
    return true;
  }
  if (i.mem === 0) {
    c.fault(Vector.UD, -1);
    return false;
  }
  const off = ea(c, i);
  farOff = i.opsize === 32 ? c.ld32(i.seg, off) : c.ld16(i.seg, off);
  farSel = c.ld16(i.seg, (off + (i.opsize >> 3)) & i.eaMask);
  return c.pending === 0;
}

/** Checks a code-segment target of a far JMP/CALL in `desc` (no privilege change). */
function checkDirectCodeTarget(c: Cpu, sel: number): boolean {
  const attr = desc.attr;
  const dpl = attrDpl(attr);
  if (isConforming(attr) ? dpl > c.cpl : (sel & 3) > c.cpl || dpl !== c.cpl) return !!c.fault(Vector.GP, sel & 0xfffc);
  if ((attr & SegAttr.P) === 0) return !!c.fault(Vector.NP, sel & 0xfffc);
  return true;
}

function beyondLimit(offset: number): boolean {
  return offset >>> 0 > desc.limit >>> 0;
}

/** The call gate readCallGate validated last: target selector and offset, parameter count, size. */
const gate = { target: 0, offset: 0, params: 0, is32: false };

/**
 * Checks the call gate `sel` whose descriptor is in `desc` (SDM vol. 3, 5.8.4): a call-gate type
 * (#GP otherwise; task gates and TSS descriptors were sent to jumpToTask before), gate DPL at
 * least CPL and RPL, present; then reads its target code segment into `desc`, which must be a
 * present code segment with DPL <= CPL. Fills `gate`; false after a fault.
 */
function readCallGate(c: Cpu, sel: number): boolean {
  const type = desc.attr & SegAttr.TYPE_MASK;
  if ((desc.attr & SegAttr.S) !== 0 || (type !== SysType.CALL_GATE32 && type !== SysType.CALL_GATE16)) {
    return !!c.fault(Vector.GP, sel & 0xfffc);
  }
  const gateDpl = attrDpl(desc.attr);
  if (gateDpl < c.cpl || gateDpl < (sel & 3)) return !!c.fault(Vector.GP, sel & 0xfffc);
  if ((desc.attr & SegAttr.P) === 0) return !!c.fault(Vector.NP, sel & 0xfffc);
  gate.is32 = type === SysType.CALL_GATE32;
  gate.params = desc.hi & 0x1f;
  gate.target = (desc.lo >>> 16) & 0xffff;
  gate.offset = gate.is32 ? (desc.lo & 0xffff) | (desc.hi & 0xffff0000) : desc.lo & 0xffff;
  if ((gate.target & 0xfffc) === 0) return !!c.fault(Vector.GP, 0);
  if (!readDescriptor(c, gate.target, Vector.GP, 0)) return false;
  if (!isCode(desc.attr) || attrDpl(desc.attr) > c.cpl) return !!c.fault(Vector.GP, gate.target & 0xfffc);
  if ((desc.attr & SegAttr.P) === 0) return !!c.fault(Vector.NP, gate.target & 0xfffc);
  return true;
}

/** jmp ptr16:16/32 (EA, sub = 1) and jmp m16:16/32 (FF /5). */
export function jmpFar(c: Cpu, i: Insn): void {
  if (!readFarOperand(c, i)) return;
  const sel = farSel;
  const offset = farOff;
  if (realSegments(c)) return void jmpFarReal(c, sel, offset);
  if ((sel & 0xfffc) === 0) return void c.fault(Vector.GP, 0);
  if (!readDescriptor(c, sel, Vector.GP, 0)) return;
  if (isCode(desc.attr)) {
    if (!checkDirectCodeTarget(c, sel)) return;
    if (beyondLimit(offset)) return void c.fault(Vector.GP, 0);
    markAccessed(c);
    if (c.pending === 0) enterCodeSegment(c, sel, c.cpl, offset);
    return;
  }
  if (isTaskTarget(desc.attr)) return void jumpToTask(c, sel, TaskSource.JMP);
  if (!readCallGate(c, sel)) return;
  // A jump never changes privilege: nonconforming targets must be at the CPL exactly.
  if (!isConforming(desc.attr) && attrDpl(desc.attr) !== c.cpl) return void c.fault(Vector.GP, gate.target & 0xfffc);
  if (beyondLimit(gate.offset)) return void c.fault(Vector.GP, 0);
  markAccessed(c);
  if (c.pending === 0) enterCodeSegment(c, gate.target, c.cpl, gate.offset);
}

/**
 * Pushes onto a stack described by base/limit/attr at privilege `user` without changing ESP:
 * returns the new stack pointer, or -1 after a #SS fault (error code `ssError`).
 */
export function pushOn(
  c: Cpu,
  sp: number,
  size: number,
  v: number,
  base: number,
  limit: number,
  attr: number,
  user: boolean,
  ssError: number,
): number {
  const big = (attr & SegAttr.DB) !== 0;
  const nsp = (sp - size) & (big ? -1 : 0xffff);
  const o = nsp >>> 0;
  const lim = limit >>> 0;
  const expandDown = (attr & SegAttr.DC) !== 0;
  const bad = expandDown ? o <= lim || o + size - 1 > (big ? 0xffffffff : 0xffff) : o + size - 1 > lim;
  if (bad) {
    c.fault(Vector.SS, ssError);
    return -1;
  }
  c.stLin((base + nsp) | 0, size, v, user);
  // Unsigned, so that a stack in the upper half of the address space is not taken for failure.
  return c.pending !== 0 ? -1 : o;
}

/**
 * Reads the inner-level stack pointer for privilege `dpl` from the current TSS
 * (SDM vol. 3, 7.2.1): into tssSs/tssEsp. #TS(TR selector) if the TSS is too short.
 */
export const tssStack = { ss: 0, esp: 0 };
export function readTssStack(c: Cpu, dpl: number, ext: number): boolean {
  const type = c.trAttr & SegAttr.TYPE_MASK;
  const is32 = type === SysType.TSS32_BUSY || type === SysType.TSS32_AVAIL;
  const at = is32 ? 4 + dpl * 8 : 2 + dpl * 4;
  const size = is32 ? 8 : 4;
  if ((c.trAttr & SegAttr.P) === 0 || at + size - 1 > c.trLimit >>> 0) {
    c.fault(Vector.TS, (c.trSel & 0xfffc) | ext);
    return false;
  }
  if (is32) {
    tssStack.esp = c.ldSys((c.trBase + at) | 0, 4);
    tssStack.ss = c.ldSys((c.trBase + at + 4) | 0, 2);
  } else {
    tssStack.esp = c.ldSys((c.trBase + at) | 0, 2);
    tssStack.ss = c.ldSys((c.trBase + at + 2) | 0, 2);
  }
  return c.pending === 0;
}

/** call ptr16:16/32 (9A, sub = 1) and call m16:16/32 (FF /3), with call gates. */
export function callFar(c: Cpu, i: Insn): void {
  if (!readFarOperand(c, i)) return;
  const sel = farSel;
  const offset = farOff;
  const size = i.opsize >> 3;
  if (realSegments(c)) return void callFarReal(c, sel, offset, i.opsize);
  if ((sel & 0xfffc) === 0) return void c.fault(Vector.GP, 0);
  if (!readDescriptor(c, sel, Vector.GP, 0)) return;
  const user = c.cpl === 3;
  const ssBase = c.segBase[Seg.SS]!;
  const ssLimit = c.segLimit[Seg.SS]!;
  const ssAttr = c.segAttr[Seg.SS]!;
  if (isCode(desc.attr)) {
    if (!checkDirectCodeTarget(c, sel)) return;
    if (beyondLimit(offset)) return void c.fault(Vector.GP, 0);
    let sp = pushOn(c, c.regs[4]!, size, c.segSel[Seg.CS]!, ssBase, ssLimit, ssAttr, user, 0);
    if (sp < 0) return;
    sp = pushOn(c, sp, size, c.eip, ssBase, ssLimit, ssAttr, user, 0);
    if (sp < 0) return;
    markAccessed(c);
    if (c.pending !== 0) return;
    c.setSp(sp);
    enterCodeSegment(c, sel, c.cpl, offset);
    return;
  }
  if (isTaskTarget(desc.attr)) return void jumpToTask(c, sel, TaskSource.CALL);
  if (!readCallGate(c, sel)) return;
  if (beyondLimit(gate.offset)) return void c.fault(Vector.GP, 0);
  const { target, offset: entry, params } = gate;
  const dpl = attrDpl(desc.attr);
  const gsize = gate.is32 ? 4 : 2;
  if (!isConforming(desc.attr) && dpl < c.cpl) {
    keepCode();
    // Inter-privilege call: new stack from the TSS, then old SS:ESP, the parameters, CS:EIP.
    if (!readTssStack(c, dpl, 0)) return;
    const newSs = tssStack.ss;
    const newEsp = tssStack.esp;
    if (!checkStackSegment(c, newSs, dpl, Vector.TS, 0)) return;
    const sBase = desc.base;
    const sLimit = desc.limit;
    const sAttr = desc.attr;
    const inner = dpl === 3;
    let sp = pushOn(c, newEsp, gsize, c.segSel[Seg.SS]!, sBase, sLimit, sAttr, inner, newSs & 0xfffc);
    if (sp < 0) return;
    sp = pushOn(c, sp, gsize, c.regs[4]!, sBase, sLimit, sAttr, inner, newSs & 0xfffc);
    if (sp < 0) return;
    for (let k = params - 1; k >= 0; k--) {
      const from = (c.sp() + k * gsize) & (c.ss32 ? -1 : 0xffff);
      const v = gsize === 4 ? c.ld32(Seg.SS, from) : c.ld16(Seg.SS, from);
      if (c.pending !== 0) return;
      sp = pushOn(c, sp, gsize, v, sBase, sLimit, sAttr, inner, newSs & 0xfffc);
      if (sp < 0) return;
    }
    sp = pushOn(c, sp, gsize, c.segSel[Seg.CS]!, sBase, sLimit, sAttr, inner, newSs & 0xfffc);
    if (sp < 0) return;
    sp = pushOn(c, sp, gsize, c.eip, sBase, sLimit, sAttr, inner, newSs & 0xfffc);
    if (sp < 0) return;
    c.loadSegmentCache(Seg.SS, (newSs & 0xfffc) | dpl, sBase, sLimit, sAttr);
    c.setSp(sp);
    restoreCode();
    markAccessed(c);
    enterCodeSegment(c, target, dpl, entry);
    return;
  }
  let sp = pushOn(c, c.regs[4]!, gsize, c.segSel[Seg.CS]!, ssBase, ssLimit, ssAttr, user, 0);
  if (sp < 0) return;
  sp = pushOn(c, sp, gsize, c.eip, ssBase, ssLimit, ssAttr, user, 0);
  if (sp < 0) return;
  markAccessed(c);
  if (c.pending !== 0) return;
  c.setSp(sp);
  enterCodeSegment(c, target, c.cpl, entry);
}

/** retf / retf imm16 (CB, CA): to the same or an outer privilege level. */
export function retFar(c: Cpu, i: Insn): void {
  if (realSegments(c)) return void retFarReal(c, i);
  const size = i.opsize >> 3;
  const mask = c.ss32 ? -1 : 0xffff;
  const sp = c.sp();
  const offset = size === 4 ? c.ld32(Seg.SS, sp) : c.ld16(Seg.SS, sp);
  const sel = c.ld16(Seg.SS, (sp + size) & mask);
  if (c.pending !== 0) return;
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0) return void c.fault(Vector.GP, 0);
  if (!readDescriptor(c, sel, Vector.GP, 0)) return;
  const attr = desc.attr;
  const dpl = attrDpl(attr);
  if (!isCode(attr) || rpl < c.cpl) return void c.fault(Vector.GP, sel & 0xfffc);
  if (isConforming(attr) ? dpl > rpl : dpl !== rpl) return void c.fault(Vector.GP, sel & 0xfffc);
  if ((attr & SegAttr.P) === 0) return void c.fault(Vector.NP, sel & 0xfffc);
  if (beyondLimit(offset)) return void c.fault(Vector.GP, 0);
  if (rpl === c.cpl) {
    markAccessed(c);
    if (c.pending !== 0) return;
    c.setSp(sp + 2 * size + i.imm);
    enterCodeSegment(c, sel, c.cpl, offset);
    return;
  }
  // Return to an outer level: the caller's SS:ESP follows the parameters.
  const at = (sp + 2 * size + i.imm) & mask;
  const newEsp = size === 4 ? c.ld32(Seg.SS, at) : c.ld16(Seg.SS, at);
  const newSs = c.ld16(Seg.SS, (at + size) & mask);
  if (c.pending !== 0) return;
  keepCode();
  if (!checkStackSegment(c, newSs, rpl, Vector.GP, 0)) return;
  c.loadSegmentCache(Seg.SS, newSs, desc.base, desc.limit, desc.attr);
  if ((desc.attr & SegAttr.DB) !== 0) c.regs[4] = (newEsp + i.imm) | 0;
  else c.r16[8] = newEsp + i.imm;
  restoreCode();
  enterCodeSegment(c, sel, rpl, offset);
  dropInaccessibleSegments(c);
}
