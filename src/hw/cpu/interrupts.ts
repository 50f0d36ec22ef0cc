/**
 * Delivering exceptions and interrupts through the IDT, and IRET (SDM vol. 3, 6.10-6.14; vol. 2,
 * INT n and IRET "protected mode"). Interrupt and trap gates, 16- and 32-bit, with the stack
 * switch to an inner ring through the TSS; from virtual-8086 mode to ring 0 with GS, FS, DS and ES
 * pushed and nulled (20.3.1.1); task gates switch tasks (task-switch.ts), as IRET with NT = 1
 * returns; real-address mode uses the vector table (real-mode.ts). A fault during delivery is
 * left in cpu.pending for the run loop, which applies the double-fault rules (6.15, table 6-5).
 * IRET also ends the blocking of NMIs that began with an NMI's delivery (6.7.1).
 */
import { Cr0 } from '../x86/control-registers.ts';
import { SegAttr, Seg, SysType, attrDpl } from '../x86/descriptors.ts';
import { Eflags, IOPL_SHIFT } from '../x86/eflags.ts';
import { Vector } from '../x86/vectors.ts';
import { type Cpu, Stop } from './cpu.ts';
import { readEflags } from './flags.ts';
import { writeEflags } from './eflags-ops.ts';
import type { Insn } from './insn.ts';
import {
  checkStackSegment,
  desc,
  dropInaccessibleSegments,
  enterCodeSegment,
  markAccessed,
  keepCode,
  pushOn,
  readDescriptor,
  restoreCode,
  readTssStack,
  tssStack,
} from './segments.ts';
import { deliverThroughIvt, iretReal, returnToV86 } from './real-mode.ts';
import { interruptToTask, returnFromTask } from './task-switch.ts';

/** Values pushed in order, gathered before any is written so a fault leaves registers intact. */
const frame = new Int32Array(10);
/** The data segment registers an interrupt from virtual-8086 mode pushes (in this order) and nulls. */
const V86_PUSHED: readonly number[] = [Seg.GS, Seg.FS, Seg.DS, Seg.ES];

/**
 * Delivers `vector` through the IDT. `errorCode` is -1 when the event pushes none; `software`
 * marks INT n/INT3/INTO (gate DPL is checked against CPL, and EXT is 0). `eip` is the return
 * address to push. Returns true when the handler is entered; false leaves a fault pending.
 */
export function deliverThroughIdt(c: Cpu, vector: number, errorCode: number, software: boolean, eip: number): boolean {
  if ((c.cr0 & Cr0.PE) === 0) return deliverThroughIvt(c, vector, eip);
  const ext = software ? 0 : 1;
  const gateError = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > c.idtLimit >>> 0) return !!c.fault(Vector.GP, gateError);
  const at = (c.idtBase + vector * 8) | 0;
  const lo = c.ldSys(at, 4);
  const hi = c.ldSys((at + 4) | 0, 4);
  if (c.pending !== 0) return false;
  const gateAttr = (hi >>> 8) & 0xff;
  const type = gateAttr & 0xf;
  const gate32 = type === SysType.INT_GATE32 || type === SysType.TRAP_GATE32;
  const gate16 = type === SysType.INT_GATE16 || type === SysType.TRAP_GATE16;
  const taskGate = type === SysType.TASK_GATE;
  if ((gateAttr & SegAttr.S) !== 0 || !(gate32 || gate16 || taskGate)) return !!c.fault(Vector.GP, gateError);
  if (software && attrDpl(gateAttr) < c.cpl) return !!c.fault(Vector.GP, vector * 8 + 2);
  if ((gateAttr & SegAttr.P) === 0) return !!c.fault(Vector.NP, gateError);
  if (taskGate) return interruptToTask(c, lo, errorCode, ext, eip);
  const sel = (lo >>> 16) & 0xffff;
  const offset = gate32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
  if ((sel & 0xfffc) === 0) return !!c.fault(Vector.GP, ext);
  if (!readDescriptor(c, sel, Vector.GP, ext)) return false;
  const codeAttr = desc.attr;
  const dpl = attrDpl(codeAttr);
  if ((codeAttr & (SegAttr.S | SegAttr.CODE)) !== (SegAttr.S | SegAttr.CODE) || dpl > c.cpl) {
    return !!c.fault(Vector.GP, (sel & 0xfffc) | ext);
  }
  if ((codeAttr & SegAttr.P) === 0) return !!c.fault(Vector.NP, (sel & 0xfffc) | ext);
  if (offset >>> 0 > desc.limit >>> 0) return !!c.fault(Vector.GP, ext);
  keepCode();
  const size = gate32 ? 4 : 2;
  const eflags = readEflags(c);
  const conforming = (codeAttr & SegAttr.DC) !== 0;
  // From virtual-8086 mode only a nonconforming ring-0 handler will do (SDM vol. 2, INT n).
  const v86 = (c.flags & Eflags.VM) !== 0;
  if (v86 && (conforming || dpl !== 0)) return !!c.fault(Vector.GP, (sel & 0xfffc) | ext);
  let n = 0;
  let newCpl = c.cpl;
  let sp: number;
  let ssSel = c.segSel[Seg.SS]!;
  let ssBase = c.segBase[Seg.SS]!;
  let ssLimit = c.segLimit[Seg.SS]!;
  let ssAttr = c.segAttr[Seg.SS]!;
  let ssError = ext;
  if (!conforming && dpl < c.cpl) {
    newCpl = dpl;
    if (!readTssStack(c, dpl, ext)) return false;
    const newSs = tssStack.ss;
    if (!checkStackSegment(c, newSs, dpl, Vector.TS, ext)) return false;
    if (v86) for (const s of V86_PUSHED) frame[n++] = c.segSel[s]!;
    frame[n++] = c.segSel[Seg.SS]!;
    frame[n++] = c.regs[4]!;
    ssSel = (newSs & 0xfffc) | dpl;
    ssBase = desc.base;
    ssLimit = desc.limit;
    ssAttr = desc.attr;
    ssError = (newSs & 0xfffc) | ext;
    sp = (ssAttr & SegAttr.DB) !== 0 ? tssStack.esp : tssStack.esp & 0xffff;
  } else {
    sp = c.regs[4]!;
    if ((ssAttr & SegAttr.DB) === 0) sp &= 0xffff;
  }
  frame[n++] = eflags;
  frame[n++] = c.segSel[Seg.CS]!;
  frame[n++] = eip;
  if (errorCode >= 0) frame[n++] = errorCode;
  const user = newCpl === 3;
  for (let k = 0; k < n; k++) {
    sp = pushOn(c, sp, size, size === 4 ? frame[k]! : frame[k]! & 0xffff, ssBase, ssLimit, ssAttr, user, ssError);
    if (sp < 0) return false;
  }
  // Committed: from here on nothing can fault.
  if (newCpl !== c.cpl) c.loadSegmentCache(Seg.SS, ssSel, ssBase, ssLimit, ssAttr);
  if (v86) for (const s of V86_PUSHED) c.loadNullSegment(s, 0);
  if ((ssAttr & SegAttr.DB) !== 0) c.regs[4] = sp;
  else c.r16[8] = sp;
  let flags = c.flags & ~(Eflags.TF | Eflags.NT | Eflags.RF | Eflags.VM);
  if (type === SysType.INT_GATE32 || type === SysType.INT_GATE16) flags &= ~Eflags.IF;
  c.flags = flags;
  restoreCode();
  markAccessed(c);
  c.pending = 0;
  enterCodeSegment(c, sel, newCpl, offset);
  c.cycles += c.costs.eventDelivery;
  return true;
}

/** The EFLAGS bits IRET may restore at the current CPL and IOPL (SDM vol. 2, IRET). */
function iretMask(c: Cpu, opsize: number): number {
  let mask =
    Eflags.CF | Eflags.PF | Eflags.AF | Eflags.ZF | Eflags.SF | Eflags.OF | Eflags.TF | Eflags.DF | Eflags.NT | Eflags.RF | Eflags.AC | Eflags.ID | Eflags.IF | Eflags.IOPL;
  if (c.cpl > 0) mask &= ~Eflags.IOPL;
  if (c.cpl > ((c.flags >>> IOPL_SHIFT) & 3)) mask &= ~Eflags.IF;
  return opsize === 16 ? mask & 0xffff : mask;
}

/** iret / iretd (CF): return to the same or an outer privilege level. */
export function iret(c: Cpu, i: Insn): void {
  c.cycles += c.costs.iret;
  // SDM vol. 3, 6.7.1: IRET ends NMI blocking, even when it faults.
  c.nmiBlocked = false;
  if ((c.cr0 & Cr0.PE) === 0 || (c.flags & Eflags.VM) !== 0) return void iretReal(c, i);
  if ((c.flags & Eflags.NT) !== 0) return void returnFromTask(c);
  const size = i.opsize >> 3;
  const mask = c.ss32 ? -1 : 0xffff;
  const sp = c.sp();
  const eip = size === 4 ? c.ld32(Seg.SS, sp) : c.ld16(Seg.SS, sp);
  const sel = c.ld16(Seg.SS, (sp + size) & mask);
  const eflags = size === 4 ? c.ld32(Seg.SS, (sp + 2 * size) & mask) : c.ld16(Seg.SS, (sp + 2 * size) & mask);
  if (c.pending !== 0) return;
  if (size === 4 && (eflags & Eflags.VM) !== 0 && c.cpl === 0) return void returnToV86(c, sp, eip, sel, eflags);
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0) return void c.fault(Vector.GP, 0);
  if (!readDescriptor(c, sel, Vector.GP, 0)) return;
  const attr = desc.attr;
  const dpl = attrDpl(attr);
  if ((attr & (SegAttr.S | SegAttr.CODE)) !== (SegAttr.S | SegAttr.CODE) || rpl < c.cpl) return void c.fault(Vector.GP, sel & 0xfffc);
  if ((attr & SegAttr.DC) !== 0 ? dpl > rpl : dpl !== rpl) return void c.fault(Vector.GP, sel & 0xfffc);
  if ((attr & SegAttr.P) === 0) return void c.fault(Vector.NP, sel & 0xfffc);
  const target = size === 4 ? eip : eip & 0xffff;
  if (target >>> 0 > desc.limit >>> 0) return void c.fault(Vector.GP, 0);
  const flagMask = iretMask(c, i.opsize);
  if (rpl === c.cpl) {
    markAccessed(c);
    if (c.pending !== 0) return;
    c.setSp(sp + 3 * size);
    writeEflags(c, eflags, flagMask);
    enterCodeSegment(c, sel, rpl, target);
    return;
  }
  const newEsp = size === 4 ? c.ld32(Seg.SS, (sp + 3 * size) & mask) : c.ld16(Seg.SS, (sp + 3 * size) & mask);
  const newSs = c.ld16(Seg.SS, (sp + 4 * size) & mask);
  if (c.pending !== 0) return;
  keepCode();
  if (!checkStackSegment(c, newSs, rpl, Vector.GP, 0)) return;
  c.loadSegmentCache(Seg.SS, newSs, desc.base, desc.limit, desc.attr);
  if ((desc.attr & SegAttr.DB) !== 0) c.regs[4] = newEsp;
  else c.r16[8] = newEsp;
  writeEflags(c, eflags, flagMask);
  restoreCode();
  enterCodeSegment(c, sel, rpl, target);
  dropInaccessibleSegments(c);
  c.stop |= Stop.STATE;
}
