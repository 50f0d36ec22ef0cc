/**
 * Hardware task switching (SDM vol. 3, chapter 7): far JMP and CALL to a TSS descriptor or a task
 * gate, interrupts and exceptions through a task gate in the IDT, and IRET with EFLAGS.NT = 1 back
 * to the previous task. The switch follows 7.3: the checks that fault in the old task's context
 * (descriptor type, busy bit, limit, the pages it will touch), the save of the current state into
 * the old TSS, the busy bits, NT and the back link as table 7-2 has them, CR0.TS, TR, CR3 (with
 * paging on: a TLB flush like MOV CR3), LDTR, then the segment registers with table 7-1's checks —
 * their faults, and the error code push of an exception, belong to the new task (step 12). The
 * T flag of a 32-bit TSS raises a debug trap (DR6.BT) before the new task's first instruction.
 * 16-bit TSSes are switched too: only the low words of EIP, EFLAGS and the general registers are
 * saved and loaded (the upper halves keep their values, as QEMU does), FS and GS become null.
 */
import { Access } from '../mmu/walk.ts';
import { Cr0 } from '../x86/control-registers.ts';
import { SegAttr, Seg, SysType, attrDpl } from '../x86/descriptors.ts';
import { EFLAGS_WRITABLE, Eflags } from '../x86/eflags.ts';
import { Vector } from '../x86/vectors.ts';
import { type Cpu, Pending, Stop } from './cpu.ts';
import { Counter } from './counters.ts';
import { readEflags } from './flags.ts';
import { writeEflags } from './eflags-ops.ts';
import { loadV86Segment } from './real-mode.ts';
import { desc, markAccessed, pushOn, readDescriptor } from './segments.ts';
import { interceptTaskSwitch } from './virtualization.ts';

/** What started a task switch (table 7-2 sets the busy bits, NT and the back link by it). */
export const TaskSource = { JMP: 0, CALL: 1, IRET: 2, INT: 3 } as const;
export type TaskSourceValue = (typeof TaskSource)[keyof typeof TaskSource];

/** 32-bit TSS fields (SDM vol. 3, figure 7-2). */
const TSS32 = { LINK: 0x00, CR3: 0x1c, EIP: 0x20, EFLAGS: 0x24, EAX: 0x28, ES: 0x48, LDT: 0x60, T: 0x64, MIN_LIMIT: 0x67 } as const;
/** 16-bit TSS fields (SDM vol. 3, figure 7-11). */
const TSS16 = { LINK: 0x00, IP: 0x0e, FLAGS: 0x10, AX: 0x12, ES: 0x22, LDT: 0x2a, MIN_LIMIT: 0x2b } as const;

/** The busy bit of a TSS descriptor's type (type 1/9 available, 3/11 busy). */
const BUSY = 2;
/** DR6.BT: the debug exception came from a TSS's T flag (SDM vol. 3, 17.2.3). */
const DR6_BT = 0x8000;

/** The new task's state, read before anything changes (no allocation per switch). */
const incoming = { cr3: 0, eip: 0, eflags: 0, ldt: 0, trap: false };
const newRegs = new Int32Array(8);
const newSegs = new Int32Array(6);

function isAvailableTss(attr: number): boolean {
  const type = attr & (SegAttr.S | SegAttr.TYPE_MASK);
  return type === SysType.TSS32_AVAIL || type === SysType.TSS16_AVAIL;
}

function isBusyTss(attr: number): boolean {
  const type = attr & (SegAttr.S | SegAttr.TYPE_MASK);
  return type === SysType.TSS32_BUSY || type === SysType.TSS16_BUSY;
}

/** True for a system descriptor that a far JMP or CALL turns into a task switch. */
export function isTaskTarget(attr: number): boolean {
  const type = attr & (SegAttr.S | SegAttr.TYPE_MASK);
  return type === SysType.TASK_GATE || type === SysType.TSS32_AVAIL || type === SysType.TSS16_AVAIL || type === SysType.TSS32_BUSY || type === SysType.TSS16_BUSY;
}

/**
 * Reads the TSS descriptor a task gate names into `desc` and checks it (SDM vol. 2, JMP/CALL and
 * INT n "TASK-GATE"): GDT only and within its limit, an available TSS (#GP(TSS selector)), present
 * (#NP). Returns the TSS selector, or -1 after a fault.
 */
function taskGateTss(c: Cpu, gateLo: number, ext: number): number {
  const sel = (gateLo >>> 16) & 0xffff;
  if ((sel & 4) !== 0) return c.fault(Vector.GP, (sel & 0xfffc) | ext) - 1;
  if (!readDescriptor(c, sel, Vector.GP, ext)) return -1;
  if (!isAvailableTss(desc.attr)) return c.fault(Vector.GP, (sel & 0xfffc) | ext) - 1;
  if ((desc.attr & SegAttr.P) === 0) return c.fault(Vector.NP, (sel & 0xfffc) | ext) - 1;
  return sel;
}

/**
 * Far JMP or CALL whose selector `sel` names a TSS descriptor or a task gate (now in `desc`; SDM
 * vol. 2, JMP and CALL "TASK-GATE" and "TASK-STATE-SEGMENT"): the descriptor's DPL must be at
 * least CPL and RPL, the TSS available and present. The return address is cpu.eip.
 */
export function jumpToTask(c: Cpu, sel: number, source: TaskSourceValue): void {
  const dpl = attrDpl(desc.attr);
  if (dpl < c.cpl || dpl < (sel & 3)) return void c.fault(Vector.GP, sel & 0xfffc);
  let tss = sel;
  if ((desc.attr & SegAttr.TYPE_MASK) === SysType.TASK_GATE) {
    if ((desc.attr & SegAttr.P) === 0) return void c.fault(Vector.NP, sel & 0xfffc);
    tss = taskGateTss(c, desc.lo, 0);
    if (tss < 0) return;
  } else {
    if (!isAvailableTss(desc.attr)) return void c.fault(Vector.GP, sel & 0xfffc);
    if ((desc.attr & SegAttr.P) === 0) return void c.fault(Vector.NP, sel & 0xfffc);
  }
  switchTask(c, tss, source, c.eip, -1, 0);
}

/**
 * An interrupt or exception through a task gate in the IDT (SDM vol. 3, 6.11.1 and 7.3): the gate's
 * own checks are done; `eip` is the return address saved in the old TSS, `errorCode` (or -1) is
 * pushed on the new task's stack. Returns true when the switch happened (a fault of the new task
 * may then be pending), false after a fault in the old task's context.
 */
export function interruptToTask(c: Cpu, gateLo: number, errorCode: number, ext: number, eip: number): boolean {
  const tss = taskGateTss(c, gateLo, ext);
  if (tss < 0) return false;
  return switchTask(c, tss, TaskSource.INT, eip, errorCode, ext);
}

/**
 * IRET with EFLAGS.NT = 1 (SDM vol. 2, IRET "TASK-RETURN"): back to the task in the current TSS's
 * back link, which must be a busy TSS in the GDT (#TS(selector)) and present (#NP).
 */
export function returnFromTask(c: Cpu): void {
  const sel = c.ldSys(c.trBase, 2);
  if (c.pending !== 0) return;
  if ((sel & 4) !== 0) return void c.fault(Vector.TS, sel & 0xfffc);
  if (!readDescriptor(c, sel, Vector.TS, 0)) return;
  if (!isBusyTss(desc.attr)) return void c.fault(Vector.TS, sel & 0xfffc);
  if ((desc.attr & SegAttr.P) === 0) return void c.fault(Vector.NP, sel & 0xfffc);
  switchTask(c, sel, TaskSource.IRET, c.eip, -1, 0);
}

/** Probes a supervisor write of the TSS or descriptor bytes [lin, lin+size) so that no page fault strikes halfway. */
function probeSystemWrite(c: Cpu, lin: number, size: number): boolean {
  if (c.monitor || (c.cr0 & Cr0.PG) === 0) return true;
  const last = (lin + size - 1) | 0;
  if (c.translate(lin, Access.WRITE) < 0) return false;
  return (last ^ lin) >>> 12 === 0 || c.translate(last, Access.WRITE) >= 0;
}

/** Sets or clears the busy bit of the GDT's TSS descriptor `sel`. */
function setBusy(c: Cpu, sel: number, busy: boolean): void {
  const at = (c.gdtBase + (sel & 0xfff8) + 4) | 0;
  const hi = c.ldSys(at, 4);
  c.stSys(at, 4, busy ? hi | (BUSY << 8) : hi & ~(BUSY << 8));
}

/** Reads the new task's state from the TSS at `base` into `incoming`, newRegs, newSegs. */
function readIncoming(c: Cpu, base: number, is32: boolean): void {
  if (is32) {
    incoming.cr3 = c.ldSys((base + TSS32.CR3) | 0, 4);
    incoming.eip = c.ldSys((base + TSS32.EIP) | 0, 4);
    incoming.eflags = c.ldSys((base + TSS32.EFLAGS) | 0, 4);
    for (let r = 0; r < 8; r++) newRegs[r] = c.ldSys((base + TSS32.EAX + 4 * r) | 0, 4);
    for (let s = 0; s < 6; s++) newSegs[s] = c.ldSys((base + TSS32.ES + 4 * s) | 0, 2);
    incoming.ldt = c.ldSys((base + TSS32.LDT) | 0, 2);
    incoming.trap = (c.ldSys((base + TSS32.T) | 0, 2) & 1) !== 0;
  } else {
    incoming.cr3 = 0;
    incoming.eip = c.ldSys((base + TSS16.IP) | 0, 2);
    incoming.eflags = c.ldSys((base + TSS16.FLAGS) | 0, 2);
    for (let r = 0; r < 8; r++) newRegs[r] = c.ldSys((base + TSS16.AX + 2 * r) | 0, 2);
    for (let s = 0; s < 4; s++) newSegs[s] = c.ldSys((base + TSS16.ES + 2 * s) | 0, 2);
    newSegs[Seg.FS] = newSegs[Seg.GS] = 0;
    incoming.ldt = c.ldSys((base + TSS16.LDT) | 0, 2);
    incoming.trap = false;
  }
}

/** Saves the current task's dynamic state into its TSS (SDM vol. 3, 7.2.1). */
function saveOutgoing(c: Cpu, eip: number, eflags: number): void {
  const base = c.trBase;
  if ((c.trAttr & 8) !== 0) {
    c.stSys((base + TSS32.EIP) | 0, 4, eip);
    c.stSys((base + TSS32.EFLAGS) | 0, 4, eflags);
    for (let r = 0; r < 8; r++) c.stSys((base + TSS32.EAX + 4 * r) | 0, 4, c.regs[r]!);
    for (let s = 0; s < 6; s++) c.stSys((base + TSS32.ES + 4 * s) | 0, 2, c.segSel[s]!);
  } else {
    c.stSys((base + TSS16.IP) | 0, 2, eip);
    c.stSys((base + TSS16.FLAGS) | 0, 2, eflags);
    for (let r = 0; r < 8; r++) c.stSys((base + TSS16.AX + 2 * r) | 0, 2, c.regs[r]!);
    for (let s = 0; s < 4; s++) c.stSys((base + TSS16.ES + 2 * s) | 0, 2, c.segSel[s]!);
  }
}

/**
 * Switches to the task whose TSS descriptor (GDT selector `sel`) is in `desc`, already checked
 * for type, busy bit and presence by the caller. `nextEip` is the EIP saved in the old TSS.
 * Returns false after a fault in the old task's context (nothing changed); true once the new task
 * is loaded — a fault of the new task is then pending as an event at its first instruction.
 */
export function switchTask(c: Cpu, sel: number, source: TaskSourceValue, nextEip: number, errorCode: number, ext: number): boolean {
  const is32 = (desc.attr & 8) !== 0;
  const base = desc.base;
  const limit = desc.limit;
  const attr = desc.attr;
  if (limit >>> 0 < (is32 ? TSS32.MIN_LIMIT : TSS16.MIN_LIMIT)) return !!c.fault(Vector.TS, (sel & 0xfffc) | ext);
  // Guest mode: the VMM may intercept the switch before it begins (APM vol. 2, 15.14).
  if (c.guestMode && interceptTaskSwitch(c, sel, source, errorCode)) return false;
  readIncoming(c, base, is32);
  // Step 5: everything the switch writes must be reachable before anything is written.
  const oldSize = (c.trAttr & 8) !== 0 ? TSS32.LDT : TSS16.LDT;
  const nested = source === TaskSource.CALL || source === TaskSource.INT;
  if (
    c.pending !== 0 ||
    !probeSystemWrite(c, c.trBase, oldSize) ||
    (nested && !probeSystemWrite(c, base, 2)) ||
    (source !== TaskSource.CALL && source !== TaskSource.INT && !probeSystemWrite(c, (c.gdtBase + (c.trSel & 0xfff8) + 4) | 0, 4)) ||
    (source !== TaskSource.IRET && !probeSystemWrite(c, (desc.addr + 4) | 0, 4))
  ) {
    return false;
  }
  // Table 7-2: JMP and IRET leave the old task not busy; IRET clears NT in its saved EFLAGS.
  if (source === TaskSource.JMP || source === TaskSource.IRET) setBusy(c, c.trSel, false);
  let oldFlags = readEflags(c);
  if (source === TaskSource.IRET) oldFlags &= ~Eflags.NT;
  saveOutgoing(c, nextEip, oldFlags);
  // CALL and interrupts nest: the new task links back to the old one and runs with NT = 1.
  let eflags = incoming.eflags;
  if (nested) {
    c.stSys(base, 2, c.trSel);
    eflags |= Eflags.NT;
  }
  if (source !== TaskSource.IRET) setBusy(c, sel, true);
  if (c.pending !== 0) return false;

  // Committed: from here on the new task runs, and what faults is its own (7.3 step 12).
  c.ctr[Counter.TASK_SWITCH]!++;
  c.cycles += c.costs.taskSwitch;
  c.cr0 |= Cr0.TS;
  c.trSel = sel & 0xffff;
  c.trBase = base;
  c.trLimit = limit;
  c.trAttr = attr | BUSY;
  if (is32 && (c.cr0 & Cr0.PG) !== 0) c.loadCr3(incoming.cr3);
  c.eip = incoming.eip;
  if (is32) {
    writeEflags(c, eflags, EFLAGS_WRITABLE | Eflags.VM);
    c.regs.set(newRegs);
  } else {
    writeEflags(c, eflags, EFLAGS_WRITABLE & 0xffff);
    for (let r = 0; r < 8; r++) c.r16[r * 2] = newRegs[r]!;
  }
  c.stop |= Stop.STATE;
  loadTaskSegments(c, ext);
  if (c.pending === Pending.NONE && incoming.eip >>> 0 > c.segLimit[Seg.CS]! >>> 0) c.fault(Vector.GP, 0);
  if (c.pending === Pending.NONE && errorCode >= 0) {
    const size = is32 ? 4 : 2;
    const sp = pushOn(c, c.regs[4]!, size, errorCode, c.segBase[Seg.SS]!, c.segLimit[Seg.SS]!, c.segAttr[Seg.SS]!, c.cpl === 3, ext);
    if (sp >= 0) c.setSp(sp);
  }
  if (c.pending === Pending.NONE && incoming.trap) {
    c.dr[6] = c.dr[6]! | DR6_BT;
    c.fault(Vector.DB, -1);
  }
  if (c.pending !== Pending.NONE) {
    // The new task's own event: delivered at its first instruction, never restarting the old one.
    c.pending = Pending.TRAP;
    c.softwareInt = 0;
    c.trapLength = 0;
  }
  return true;
}

/**
 * Step 12: LDTR, then CS, SS, ES, DS, FS, GS from the selectors in newSegs, at the CPL of the new
 * CS's RPL (3 in virtual-8086 mode), with table 7-1's checks. The selectors are all in place
 * before the first check (an exception handler of the new task sees them); a register not yet
 * loaded when a check fails stays unusable.
 */
function loadTaskSegments(c: Cpu, ext: number): void {
  const v86 = (c.flags & Eflags.VM) !== 0;
  const cpl = v86 ? 3 : newSegs[Seg.CS]! & 3;
  c.setCpl(cpl);
  for (let s = 0; s < 6; s++) {
    if (v86) loadV86Segment(c, s, newSegs[s]!);
    else c.loadSegmentCache(s, newSegs[s]!, 0, 0, 0);
  }
  const ldt = incoming.ldt;
  c.ldtSel = ldt & 0xffff;
  c.ldtBase = c.ldtLimit = c.ldtAttr = 0;
  if ((ldt & 0xfffc) !== 0) {
    if ((ldt & 4) !== 0) return void c.fault(Vector.TS, (ldt & 0xfffc) | ext);
    if (!readDescriptor(c, ldt, Vector.TS, ext)) return;
    if ((desc.attr & (SegAttr.S | SegAttr.TYPE_MASK)) !== SysType.LDT || (desc.attr & SegAttr.P) === 0) {
      return void c.fault(Vector.TS, (ldt & 0xfffc) | ext);
    }
    c.ldtBase = desc.base;
    c.ldtLimit = desc.limit;
    c.ldtAttr = desc.attr;
  }
  if (v86) return;
  if (!loadTaskCode(c, newSegs[Seg.CS]!, cpl, ext)) return;
  if (!loadTaskStack(c, newSegs[Seg.SS]!, cpl, ext)) return;
  for (const s of DATA_SEGMENTS) if (!loadTaskData(c, s, newSegs[s]!, cpl, ext)) return;
}

const DATA_SEGMENTS: readonly number[] = [Seg.ES, Seg.DS, Seg.FS, Seg.GS];

function taskFault(c: Cpu, vector: number, sel: number, ext: number): boolean {
  c.fault(vector, (sel & 0xfffc) | ext);
  return false;
}

/** CS: a present code segment, nonconforming with DPL = RPL, conforming with DPL <= RPL. */
function loadTaskCode(c: Cpu, sel: number, cpl: number, ext: number): boolean {
  if ((sel & 0xfffc) === 0) return taskFault(c, Vector.TS, sel, ext);
  if (!readDescriptor(c, sel, Vector.TS, ext)) return false;
  const a = desc.attr;
  const dpl = attrDpl(a);
  if ((a & (SegAttr.S | SegAttr.CODE)) !== (SegAttr.S | SegAttr.CODE)) return taskFault(c, Vector.TS, sel, ext);
  if ((a & SegAttr.DC) !== 0 ? dpl > cpl : dpl !== cpl) return taskFault(c, Vector.TS, sel, ext);
  if ((a & SegAttr.P) === 0) return taskFault(c, Vector.NP, sel, ext);
  markAccessed(c);
  c.loadSegmentCache(Seg.CS, sel, desc.base, desc.limit, desc.attr);
  return c.pending === Pending.NONE;
}

/** SS: a writable data segment with DPL = RPL = CPL; not present is #SS. */
function loadTaskStack(c: Cpu, sel: number, cpl: number, ext: number): boolean {
  if ((sel & 0xfffc) === 0) return taskFault(c, Vector.TS, sel, ext);
  if (!readDescriptor(c, sel, Vector.TS, ext)) return false;
  const a = desc.attr;
  if ((a & (SegAttr.S | SegAttr.CODE | SegAttr.WR)) !== (SegAttr.S | SegAttr.WR)) return taskFault(c, Vector.TS, sel, ext);
  if (attrDpl(a) !== cpl || (sel & 3) !== cpl) return taskFault(c, Vector.TS, sel, ext);
  if ((a & SegAttr.P) === 0) return taskFault(c, Vector.SS, sel, ext);
  markAccessed(c);
  c.loadSegmentCache(Seg.SS, sel, desc.base, desc.limit, desc.attr);
  return c.pending === Pending.NONE;
}

/** DS, ES, FS, GS: null, or data or readable code; data and nonconforming code need DPL >= CPL and RPL. */
function loadTaskData(c: Cpu, seg: number, sel: number, cpl: number, ext: number): boolean {
  if ((sel & 0xfffc) === 0) {
    c.loadNullSegment(seg, sel);
    return true;
  }
  if (!readDescriptor(c, sel, Vector.TS, ext)) return false;
  const a = desc.attr;
  const code = (a & SegAttr.CODE) !== 0;
  if ((a & SegAttr.S) === 0 || (code && (a & SegAttr.WR) === 0)) return taskFault(c, Vector.TS, sel, ext);
  const dpl = attrDpl(a);
  if ((!code || (a & SegAttr.DC) === 0) && (dpl < cpl || dpl < (sel & 3))) return taskFault(c, Vector.TS, sel, ext);
  if ((a & SegAttr.P) === 0) return taskFault(c, Vector.NP, sel, ext);
  markAccessed(c);
  c.loadSegmentCache(seg, sel, desc.base, desc.limit, desc.attr);
  return c.pending === Pending.NONE;
}
