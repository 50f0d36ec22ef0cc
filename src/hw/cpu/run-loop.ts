/**
 * The CPU's run loop: finds the block at CS:EIP, executes it (compiled or one handler at a
 * time), and between blocks — at instruction boundaries — handles what stopped it: a fault or
 * trap to deliver, an external interrupt, HLT, a device request, the budget or the deadline.
 *
 * External interrupts are recognised at every instruction boundary: a rising INTR line ends the
 * current block after the current instruction (cpu.setIrq), so does any instruction that may
 * enable interrupts (STI, POPF, IRET), and a block that would run past the next timer deadline
 * runs one instruction at a time. After STI and MOV/POP SS exactly one instruction runs before
 * interrupts are looked at (SDM vol. 3, 6.8.3). With EFLAGS.TF each instruction is followed by
 * a single-step #DB (6.8.3, 17.3.1.4).
 *
 * NMIs are looked at first, on the same boundaries (SDM vol. 3, 6.9: an NMI outranks INTR): one is
 * taken whatever EFLAGS.IF says unless an NMI handler is still running (blocked until its IRET,
 * 6.7.1) or the instruction before was STI or MOV/POP SS — the SDM's MOV SS shadow holds "all
 * events" (6.8.3), and STI's "may" hold NMIs (vol. 2, STI): here it does, one flag for both.
 */
import { Eflags } from '../x86/eflags.ts';
import { Vector, isContributory } from '../x86/vectors.ts';
import type { Block } from './block-cache.ts';
import { type Cpu, type CpuExit, type EventSource, Pending, Stop } from './cpu.ts';
import { Counter } from './counters.ts';
import { deliverThroughIdt } from './interrupts.ts';
import { VMEXIT, VMEXIT_VECTOR, guestInterrupts, interceptException, recordInterruptedEvent } from './virtualization.ts';

const BUDGET: CpuExit = { kind: 'budget' };
const DEADLINE: CpuExit = { kind: 'deadline' };
const HALT: CpuExit = { kind: 'halt' };
const INTERRUPT: CpuExit = { kind: 'interrupt' };
const NMI: CpuExit = { kind: 'nmi' };

/**
 * Delivers an event through the IDT, applying the double-fault rules when delivery itself
 * faults (SDM vol. 3, 6.15 table 6-5). Returns a reset exit on a triple fault, else null.
 */
export function deliverEvent(c: Cpu, vector: number, errorCode: number, source: EventSource, trapLength: number): CpuExit | null {
  let v = vector;
  let err = errorCode;
  let software = source === 'software';
  // Only exceptions have a double-fault class: INT n, INTR and NMI are benign (SDM vol. 3, table
  // 6-4), so a fault while delivering `int $14` or an external interrupt is simply delivered next.
  let exception = source === 'exception';
  let kind: EventSource = source;
  let eip = c.eip;
  for (;;) {
    c.halted = false;
    c.pending = Pending.NONE;
    if (deliverThroughIdt(c, v, err, software, eip)) {
      if (c.pending === Pending.NONE) return null;
      // A task gate switched tasks and the new task faulted (or its TSS's T flag asks for #DB):
      // a new event at the new task's first instruction, not a fault of this delivery (SDM vol. 3, 7.3).
      v = c.excVector;
      err = c.excError;
      c.pending = Pending.NONE;
      c.ctr[Counter.EXCEPTION]!++;
      c.counters.byVector[v & 0xff]!++;
      if (c.guestMode && interceptException(c, v, err)) return VMEXIT;
      eip = c.eip;
      trapLength = 0;
      software = false;
      exception = true;
      continue;
    }
    const second = c.excVector;
    const secondError = c.excError;
    c.pending = Pending.NONE;
    c.stop = 0;
    const after = eip;
    // A fault while delivering INT n is reported at the INT instruction itself.
    if (trapLength > 0) {
      eip = (eip - trapLength) | 0;
      c.eip = eip;
      trapLength = 0;
    }
    // Guest mode: the delivery reached an intercepted task switch; the event goes to EXITINTINFO.
    if (second === VMEXIT_VECTOR) {
      recordInterruptedEvent(c, v, err, software ? 'software' : exception ? 'exception' : 'external', after);
      return VMEXIT;
    }
    c.ctr[Counter.EXCEPTION]!++;
    c.counters.byVector[second & 0xff]!++;
    // Guest mode: an intercepted fault exits with the event it interrupted in EXITINTINFO
    // (APM vol. 2, 15.7.2); the double-fault rules are then the VMM's to apply.
    if (c.guestMode && interceptException(c, second, secondError)) {
      recordInterruptedEvent(c, v, err, kind, after);
      return VMEXIT;
    }
    if (exception && v === Vector.DF) return { kind: 'reset', reason: 'triple fault', vector: second };
    if (exception && ((isContributory(v) && isContributory(second)) || (v === Vector.PF && (second === Vector.PF || isContributory(second))))) {
      v = Vector.DF;
      err = 0;
    } else {
      v = second;
      err = secondError;
    }
    software = false;
    exception = true;
    kind = 'exception';
  }
}

/** Hands the pending event to the monitor or the IDT. Returns an exit or null to continue. */
function takePending(c: Cpu): CpuExit | null {
  const vector = c.excVector;
  const err = c.excError;
  const software = c.softwareInt;
  const trapLength = c.pending === Pending.TRAP ? c.trapLength : 0;
  c.pending = Pending.NONE;
  c.softwareInt = 0;
  c.trapLength = 0;
  if (vector < 0) {
    if (vector === VMEXIT_VECTOR) return VMEXIT;
    return { kind: 'unsupported', feature: c.unsupportedFeature, eip: c.eip >>> 0 };
  }
  c.ctr[Counter.EXCEPTION]!++;
  c.counters.byVector[vector]!++;
  const source: EventSource = software === 1 ? 'software' : 'exception';
  // Guest mode: exceptions (not INT n) whose vector the VMCB intercepts exit to the VMM.
  if (c.guestMode && source === 'exception' && interceptException(c, vector, err)) return VMEXIT;
  if (c.monitor) {
    return { kind: 'trap', vector, errorCode: err, cr2: c.cr2 >>> 0, eip: c.eip >>> 0, source, length: trapLength };
  }
  return deliverEvent(c, vector, err, source, trapLength);
}

/** Executes up to `limit` instructions of blk one handler at a time. Returns handlers run. */
function interpret(c: Cpu, blk: Block, limit: number): number {
  const insns = blk.insns;
  const e = c.eip;
  const cum = blk.cum;
  const deadline = c.deadline;
  for (let k = 0; k < limit; k++) {
    const i = insns[k]!;
    const next = (e + i.next) | 0;
    c.eip = next;
    i.fn(c, i);
    if (c.stop !== 0 || c.eip !== next) return k + 1;
    if (c.cycles + cum[k + 1]! >= deadline) return k + 1;
  }
  return limit;
}

/**
 * Runs compiled blocks back to back while nothing needs the outer loop's attention: the next
 * block is a known, valid, compiled successor at the new EIP's physical address, and it fits
 * within the budget and before the deadline. Returns the last block run (the outer loop's
 * "previous", for successor caching), or null when a block stopped.
 * A block that jumps back to its own start (a loop) skips the successor search: nothing can
 * have changed its translation or its code without setting cpu.stop.
 */
function runChain(c: Cpu, first: Block, end: number): Block | null {
  let blk = first;
  const csBase = c.segBase[1]!;
  for (;;) {
    const start = c.eip;
    c.blockEip = start;
    const ran = blk.compiled!(c);
    if (c.stop !== 0) {
      finishBlock(c, blk, ran);
      return null;
    }
    c.instructions += ran;
    c.cycles += blk.cum[ran]!;
    let next: Block | null;
    if (c.eip === start) {
      next = blk;
    } else {
      // The successor: the same physical code, reached through a valid TLB entry for this CPL.
      const lin = (csBase + c.eip) | 0;
      const e = c.tlbE[lin >>> 12]!;
      if ((e & c.tlbRmask) === 0) return blk;
      const phys = (e & -4096) | (lin & 0xfff);
      next = blk.succ0;
      if (next === null || next.phys !== phys) {
        next = blk.succ1;
        if (next === null || next.phys !== phys) return blk;
      }
      if (!next.valid || next.compiled === null || next.cs32 !== c.cs32) return blk;
    }
    const m = next.insns.length;
    if (c.instructions + m > end || c.cycles + next.cum[m]! >= c.deadline) return blk;
    blk = next;
  }
}

/** Accounts for a block that ran `ran` handlers and stopped (fault, trap or state change). */
function finishBlock(c: Cpu, blk: Block, ran: number): void {
  let completed = ran;
  if (c.pending === Pending.FAULT) {
    // The faulting instruction did not complete: restart it after the handler.
    completed = ran - 1;
    c.eip = (c.blockEip + blk.startOf(completed)) | 0;
  }
  c.instructions += completed;
  c.cycles += blk.cum[completed]!;
}

/** Raises the single-step #DB after an instruction run with EFLAGS.TF=1 (DR6.BS; SDM vol. 3, 17.3.1.4). */
function singleStepTrap(c: Cpu, stepping: boolean): void {
  const held = c.holdSingleStep;
  c.holdSingleStep = false;
  if (stepping && c.pending === Pending.NONE && !held) {
    c.dr[6] = c.dr[6]! | 0x4000;
    c.trap(Vector.DB);
  }
}

/** Cpu.step(): one instruction, then whatever it left pending. */
export function stepInstruction(c: Cpu): CpuExit {
  const blk = c.blocks.lookup(null);
  if (blk !== null) {
    const stepping = (c.flags & Eflags.TF) !== 0;
    c.inhibit = false;
    c.blockEip = c.eip;
    finishBlock(c, blk, interpret(c, blk, 1));
    singleStepTrap(c, stepping);
  }
  if (c.stop !== 0) {
    const s = c.stop;
    c.stop = 0;
    if (c.pending !== Pending.NONE) {
      const exit = takePending(c);
      if (exit !== null) return exit;
    } else if ((s & Stop.REQUEST) !== 0) return { kind: 'request', reason: c.requestReason };
  }
  return c.halted ? HALT : BUDGET;
}

export function runBlocks(c: Cpu, budget: number): CpuExit {
  const end = c.instructions + budget;
  let previous: Block | null = null;
  for (;;) {
    if (c.stop !== 0) {
      const s = c.stop;
      c.stop = 0;
      previous = null;
      if (c.pending !== Pending.NONE) {
        const exit = takePending(c);
        if (exit !== null) return exit;
        continue;
      }
      if ((s & Stop.REQUEST) !== 0) return { kind: 'request', reason: c.requestReason };
    }
    if (c.guestMode) {
      const exit = guestInterrupts(c);
      if (exit !== undefined) {
        if (exit !== null) return exit;
        previous = null;
        continue;
      }
    } else if (c.nmiPending && !c.nmiBlocked && !c.inhibit) {
      c.nmiPending = false;
      if (c.monitor) return NMI;
      const exit = c.deliver(Vector.NMI, -1, 'nmi', 0);
      if (exit !== null) return exit;
      previous = null;
      continue;
    } else if (c.irq && !c.inhibit && (c.flags & Eflags.IF) !== 0) {
      if (c.monitor) return INTERRUPT;
      if (c.intAck !== null) {
        const vector = c.intAck.acknowledge() & 0xff;
        c.ctr[Counter.INTERRUPT]!++;
        c.counters.byVector[vector]!++;
        const exit = deliverEvent(c, vector, -1, 'external', 0);
        if (exit !== null) return exit;
        previous = null;
        continue;
      }
    }
    if (c.halted) return HALT;
    if (c.cycles >= c.deadline) return DEADLINE;
    if (c.instructions >= end) return BUDGET;

    const blk = c.blocks.lookup(previous);
    if (blk === null) continue; // a fetch fault is pending
    const stepping = (c.flags & Eflags.TF) !== 0;
    const single = c.inhibit || stepping;
    c.inhibit = false;
    const n = blk.insns.length;
    c.blockEip = c.eip;
    if (!single && blk.compiled !== null && c.instructions + n <= end && c.cycles + blk.cum[n]! < c.deadline) {
      previous = runChain(c, blk, end);
      continue;
    }
    let limit = single ? 1 : n;
    if (limit > end - c.instructions) limit = end - c.instructions;
    const ran = interpret(c, blk, limit);
    finishBlock(c, blk, ran);
    if (blk.compiled === null) c.blocks.executed(blk);
    previous = blk;
    singleStepTrap(c, stepping);
  }
}
