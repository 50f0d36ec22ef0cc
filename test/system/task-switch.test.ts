/**
 * Hardware task switching (Intel SDM vol. 3, chapter 7; vol. 2, JMP, CALL, IRET, INT n): the
 * state saved into the old TSS and loaded from the new one (7.2.1, 7.3), busy bits, NT and the
 * back link by what started the switch (table 7-2), task gates in the GDT and the IDT (7.2.5),
 * the error code of an exception pushed on the new task's stack (6.11.1), a double fault through
 * a task gate after a kernel stack overflow, the #GP/#TS/#NP checks in the old task's context and
 * the segment checks of table 7-1 in the new task's (7.3 step 12), CR3 and LDTR loads, CR0.TS,
 * the T flag (17.3.1.5), 16-bit TSSes and a switch into a virtual-8086 task.
 * Every expectation is the SDM's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cr0 } from '../../src/hw/x86/control-registers.ts';
import { SegAttr, SysType } from '../../src/hw/x86/descriptors.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { Pte } from '../../src/hw/x86/paging.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { CODE, GDT_BASE, Machine, PAGE_DIR, Sel, TARGET_LIN, TARGET_PHYS, TARGET_PHYS2, TSS_BASE, dplBits, symbol } from './machine.ts';

/** Test TSSes and their descriptors (free GDT slots 40 and up). */
const TSS_B = 0x140;
const TSS_C = 0x148;
const GATE_B = 0x150;
const TSS_16 = 0x158;
const LDT_SEL = 0x160;
const B_BASE = 0x40000;
const C_BASE = 0x40100;
const T16_BASE = 0x40200;
const LDT_BASE = 0x41000;
const B_STACK = 0x50000;
/** The ring-0 stack of the test TSSes (for events at CPL 3). */
const RING0_STACK = 0x58000;
/** A second page directory (for CR3 loads) and its table for TARGET_LIN. */
const DIR2 = 0x23000;
const PT2 = 0x24000;

const TSS32_ATTR = SegAttr.P | SysType.TSS32_AVAIL;

interface TaskInit {
  eip: number;
  esp?: number;
  eflags?: number;
  cs?: number;
  ss?: number;
  ds?: number;
  fs?: number;
  ldt?: number;
  cr3?: number;
  regs?: readonly number[];
  trap?: boolean;
  ss0?: number;
  esp0?: number;
}

/** Fills a 32-bit TSS at `base` (SDM vol. 3, figure 7-2) with the task's initial state. */
function writeTss32(m: Machine, base: number, t: TaskInit): void {
  for (let k = 0; k < 0x68; k += 4) m.w32(base + k, 0);
  m.w32(base + 0x04, t.esp0 ?? RING0_STACK);
  m.w32(base + 0x08, t.ss0 ?? Sel.DATA0);
  m.w32(base + 0x1c, t.cr3 ?? PAGE_DIR);
  m.w32(base + 0x20, t.eip);
  m.w32(base + 0x24, t.eflags ?? Eflags.FIXED1);
  const regs = t.regs ?? [0xa0a0a0a0, 0xc1c1c1c1, 0xd2d2d2d2, 0xb3b3b3b3, t.esp ?? B_STACK, 0x5b5b5b5b, 0x51515151, 0xd1d1d1d1];
  for (let r = 0; r < 8; r++) m.w32(base + 0x28 + 4 * r, r === 4 ? (t.esp ?? B_STACK) : regs[r]!);
  const ds = t.ds ?? Sel.DATA0;
  const segs = [ds, t.cs ?? Sel.CODE0, t.ss ?? Sel.DATA0, ds, t.fs ?? 0, 0];
  for (let s = 0; s < 6; s++) m.w32(base + 0x48 + 4 * s, segs[s]!);
  m.w32(base + 0x60, t.ldt ?? 0);
  m.w32(base + 0x64, (t.trap ? 1 : 0) | (0x68 << 16));
}

function gdtIndex(sel: number): number {
  return sel >> 3;
}

/** A machine with TSS_B (and the other test descriptors) in the GDT. */
function machine(options: ConstructorParameters<typeof Machine>[0] = {}): Machine {
  const m = new Machine(options);
  m.setDescriptor(gdtIndex(TSS_B), B_BASE, 0x67, TSS32_ATTR);
  m.setDescriptor(gdtIndex(TSS_C), C_BASE, 0x67, TSS32_ATTR);
  m.setDescriptor(gdtIndex(TSS_16), T16_BASE, 0x2b, SegAttr.P | SysType.TSS16_AVAIL);
  m.setDescriptor(gdtIndex(LDT_SEL), LDT_BASE, 0x0f, SegAttr.P | SysType.LDT);
  return m;
}

/** Points the GDT's task gate GATE_B at `tss` with privilege `dpl`. */
function taskGate(m: Machine, address: number, tss: number, dpl: number, present = true): void {
  m.w32(address, (tss & 0xffff) << 16);
  m.w32(address + 4, ((present ? SegAttr.P : 0) | dplBits(dpl) | SysType.TASK_GATE) << 8);
}

function typeOf(m: Machine, sel: number): number {
  return (m.descriptorHigh(sel) >>> 8) & 0xf;
}

const BUSY32 = SysType.TSS32_BUSY;
const AVAIL32 = SysType.TSS32_AVAIL;

describe('JMP, CALL and IRET to other tasks (SDM vol. 3, 7.3, table 7-2)', () => {
  it('JMP to a TSS: the old state saved, the new loaded, the old task not busy, no back link, NT untouched', () => {
    const m = machine();
    const a = m.load(`
      push $0x8d7
      popf
      mov $0x11111111, %eax
      mov $0x22222222, %ecx
      mov $0x33333333, %edx
      mov $0x44444444, %ebx
      mov $0x55555555, %ebp
      mov $0x66666666, %esi
      mov $0x77777777, %edi
    jump:
      ljmp $${TSS_B}, $0
    after:
      hlt
    task_b:
      out %al, $DONE_PORT`);
    m.w32(B_BASE, 0xbeef);
    writeTss32(m, B_BASE, { eip: symbol(a, 'task_b'), eflags: Eflags.FIXED1 | Eflags.DF, fs: Sel.DATA3 });
    m.w32(B_BASE, 0xbeef);
    m.runToDone();
    const c = m.cpu;
    // The new task's registers.
    assert.deepEqual([m.eax, m.ecx, m.edx, m.ebx, m.esp, c.regs[5]! >>> 0, m.esi, m.edi], [0xa0a0a0a0, 0xc1c1c1c1, 0xd2d2d2d2, 0xb3b3b3b3, B_STACK, 0x5b5b5b5b, 0x51515151, 0xd1d1d1d1]);
    assert.equal(m.eflags() & (Eflags.DF | Eflags.NT | Eflags.ZF), Eflags.DF, 'EFLAGS from the TSS; NT not set by JMP');
    assert.deepEqual([...c.segSel], [Sel.DATA0, Sel.CODE0, Sel.DATA0, Sel.DATA0, Sel.DATA3, 0]);
    assert.equal(c.trSel, TSS_B, 'TR holds the new TSS');
    assert.equal(c.trBase, B_BASE);
    assert.equal(c.cr0 & Cr0.TS, Cr0.TS, 'CR0.TS is set by every task switch (7.3 step 11)');
    // The old TSS (7.2.1: EIP of the next instruction, EFLAGS, general and segment registers).
    assert.equal(m.r32(TSS_BASE + 0x20), symbol(a, 'after'));
    assert.equal(m.r32(TSS_BASE + 0x24), 0x8d7);
    assert.deepEqual([0, 1, 2, 3, 5, 6, 7].map((r) => m.r32(TSS_BASE + 0x28 + 4 * r)), [0x11111111, 0x22222222, 0x33333333, 0x44444444, 0x55555555, 0x66666666, 0x77777777]);
    assert.equal(m.r32(TSS_BASE + 0x28 + 16), 0xb000, 'ESP saved');
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((s) => m.r32(TSS_BASE + 0x48 + 4 * s) & 0xffff), [Sel.DATA0, Sel.CODE0, Sel.DATA0, Sel.DATA0, Sel.DATA0, Sel.DATA0]);
    // Busy bits and the back link (table 7-2: JMP clears the old busy bit, sets the new).
    assert.equal(typeOf(m, Sel.TSS), AVAIL32);
    assert.equal(typeOf(m, TSS_B), BUSY32);
    assert.equal(m.r32(B_BASE) & 0xffff, 0xbeef, 'JMP writes no back link');
  });

  it('CALL nests: old task stays busy, back link and NT=1 in the new one; its IRET returns, clearing its busy bit and the NT in its saved EFLAGS', () => {
    const m = machine();
    const a = m.load(`
      mov $0x12345678, %ecx
      lcall $${TSS_B}, $0
    after_call:
      mov %ecx, %edx
      pushf
      pop %ebx
      out %al, $DONE_PORT
    task_b:
      pushf
      popl 0x60000
      movl $0, 0x60004
      str 0x60004
      mov $0x77, %ecx
      iret
    after_iret:
      hlt`);
    writeTss32(m, B_BASE, { eip: symbol(a, 'task_b') });
    m.runToDone();
    const c = m.cpu;
    assert.equal(m.r32(0x60000) & Eflags.NT, Eflags.NT, 'the called task runs with NT=1');
    assert.equal(m.r32(0x60004), TSS_B, 'STR in the called task');
    assert.equal(m.r32(B_BASE) & 0xffff, Sel.TSS, 'back link to the caller');
    assert.equal(c.trSel, Sel.TSS, 'IRET went back to the calling task');
    assert.equal(m.edx, 0x12345678, "the caller's ECX came back from its TSS");
    assert.equal(m.ebx & Eflags.NT, 0, 'the caller has NT=0 again');
    assert.equal(typeOf(m, TSS_B), AVAIL32, 'IRET leaves the called task not busy');
    assert.equal(typeOf(m, Sel.TSS), BUSY32, 'the caller stayed busy throughout');
    assert.equal(m.r32(B_BASE + 0x20), symbol(a, 'after_iret'), "the called task's EIP saved after its IRET");
    assert.equal(m.r32(B_BASE + 0x24) & Eflags.NT, 0, 'IRET clears NT in the saved EFLAGS image');
    assert.equal(m.r32(B_BASE + 0x28 + 4), 0x77, "the called task's ECX saved");
    assert.equal(c.counters.get('TASK_SWITCH'), 2);
  });

  it('a task gate in the GDT: JMP and CALL through it; the gate DPL is checked, not the TSS DPL', () => {
    const m = machine({ cpl: 3 });
    // The TSS descriptor is DPL 0 (no CPL 3 access), the gate DPL 3.
    taskGate(m, GDT_BASE + gdtIndex(GATE_B) * 8, TSS_B, 3);
    const a = m.load(`
      lcall $${GATE_B | 3}, $0
      out %al, $DONE_PORT
    task_b:
      iret`);
    writeTss32(m, B_BASE, { eip: symbol(a, 'task_b') });
    m.runToDone();
    assert.equal(m.r32(B_BASE) & 0xffff, Sel.TSS);
    assert.equal(m.cpu.cpl, 3);
  });

  it('IRET with NT=1 at CPL 3 returns to the previous task too', () => {
    const m = machine();
    const a = m.load(`
      lcall $${TSS_B}, $0
      out %al, $DONE_PORT
    task_b:
      iret`);
    writeTss32(m, B_BASE, { eip: symbol(a, 'task_b'), cs: Sel.CODE3, ss: Sel.DATA3, ds: Sel.DATA3 });
    m.runToDone();
    assert.equal(m.cpu.trSel, Sel.TSS);
    assert.equal(m.cpu.cpl, 0);
  });
});

type Fault = { vector: number; errorCode: number | null };

/** Runs `insn` (one instruction at label insn) and returns the fault taken there, checking that nothing switched. */
function faultOf(m: Machine, insn: string): Fault {
  const a = m.load(`
  insn:
    ${insn}
    out %al, $DONE_PORT`);
  writeTss32(m, B_BASE, { eip: CODE + 0x800 });
  const f = m.runToEvent();
  assert.equal(f.eip, symbol(a, 'insn'), 'a fault on the instruction, in the old task');
  assert.equal(m.cpu.trSel, Sel.TSS, 'TR unchanged');
  return { vector: f.vector, errorCode: f.errorCode };
}

describe('checks before the switch: faults in the old task (SDM vol. 3, table 7-1; vol. 2, JMP, CALL, IRET)', () => {
  it('JMP to a busy TSS, or to the current task: #GP(selector)', () => {
    const m = machine();
    m.setDescriptor(gdtIndex(TSS_B), B_BASE, 0x67, SegAttr.P | SysType.TSS32_BUSY);
    assert.deepEqual(faultOf(m, `ljmp $${TSS_B}, $0`), { vector: Vector.GP, errorCode: TSS_B });
    assert.deepEqual(faultOf(machine(), `lcall $${Sel.TSS}, $0`), { vector: Vector.GP, errorCode: Sel.TSS });
  });

  it('a TSS limit below 67H: #TS(selector)', () => {
    const m = machine();
    m.setDescriptor(gdtIndex(TSS_B), B_BASE, 0x66, TSS32_ATTR);
    assert.deepEqual(faultOf(m, `ljmp $${TSS_B}, $0`), { vector: Vector.TS, errorCode: TSS_B });
  });

  it('a TSS not present: #NP(selector)', () => {
    const m = machine();
    m.setDescriptor(gdtIndex(TSS_B), B_BASE, 0x67, SysType.TSS32_AVAIL);
    assert.deepEqual(faultOf(m, `ljmp $${TSS_B}, $0`), { vector: Vector.NP, errorCode: TSS_B });
  });

  it('TSS DPL below CPL or RPL: #GP(selector)', () => {
    assert.deepEqual(faultOf(machine({ cpl: 3 }), `ljmp $${TSS_B | 3}, $0`), { vector: Vector.GP, errorCode: TSS_B });
    assert.deepEqual(faultOf(machine(), `ljmp $${TSS_B | 1}, $0`), { vector: Vector.GP, errorCode: TSS_B });
  });

  it('task gates: DPL below CPL is #GP(gate), not present #NP(gate), a busy or LDT TSS #GP(TSS)', () => {
    let m = machine({ cpl: 3 });
    taskGate(m, GDT_BASE + gdtIndex(GATE_B) * 8, TSS_B, 0);
    assert.deepEqual(faultOf(m, `ljmp $${GATE_B | 3}, $0`), { vector: Vector.GP, errorCode: GATE_B });
    m = machine();
    taskGate(m, GDT_BASE + gdtIndex(GATE_B) * 8, TSS_B, 0, false);
    assert.deepEqual(faultOf(m, `ljmp $${GATE_B}, $0`), { vector: Vector.NP, errorCode: GATE_B });
    m = machine();
    taskGate(m, GDT_BASE + gdtIndex(GATE_B) * 8, Sel.TSS, 0);
    assert.deepEqual(faultOf(m, `ljmp $${GATE_B}, $0`), { vector: Vector.GP, errorCode: Sel.TSS }, 'the current task is busy');
    m = machine();
    taskGate(m, GDT_BASE + gdtIndex(GATE_B) * 8, TSS_B | 4, 0);
    assert.deepEqual(faultOf(m, `ljmp $${GATE_B}, $0`), { vector: Vector.GP, errorCode: TSS_B | 4 });
  });

  it('IRET with NT=1: a back link to a TSS that is not busy, or in the LDT, is #TS(link)', () => {
    const nt = `pushf; orl $${Eflags.NT}, (%esp); popf; iret`;
    let m = machine();
    m.w32(TSS_BASE, TSS_B);
    const a = m.load(`
      ${nt.replace('iret', 'insn: iret')}`);
    let f = m.runToEvent();
    assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.TS, TSS_B, symbol(a, 'insn')]);
    m = machine();
    m.w32(TSS_BASE, TSS_B | 4);
    m.load(nt);
    f = m.runToEvent();
    assert.deepEqual([f.vector, f.errorCode], [Vector.TS, TSS_B | 4]);
  });
});

describe('task gates in the IDT (SDM vol. 3, 6.11.1, 7.3)', () => {
  it('INT n through a task gate nests like CALL: back link, NT; IRET returns after the INT', () => {
    const m = machine();
    taskGate(m, 0x41 * 8, TSS_B, 3);
    const a = m.load(`
      int $0x41
    after:
      out %al, $DONE_PORT
    task_b:
      pushf
      popl 0x60000
      iret`);
    writeTss32(m, B_BASE, { eip: symbol(a, 'task_b') });
    m.runToDone();
    assert.equal(m.r32(TSS_BASE + 0x20), symbol(a, 'after'), 'the EIP after INT saved in the old TSS');
    assert.equal(m.r32(0x60000) & Eflags.NT, Eflags.NT);
    assert.equal(m.r32(B_BASE) & 0xffff, Sel.TSS);
    assert.equal(m.cpu.trSel, Sel.TSS);
  });

  it('an exception with an error code: the faulting EIP saved, the error code pushed on the new task\'s stack', () => {
    const m = machine();
    taskGate(m, Vector.GP * 8, TSS_B, 0);
    const a = m.load(`
      mov $0x200, %ax
    insn:
      mov %ax, %ds
      hlt
    task_b:
      out %al, $DONE_PORT`);
    writeTss32(m, B_BASE, { eip: symbol(a, 'task_b') });
    m.runToDone();
    assert.equal(m.r32(TSS_BASE + 0x20), symbol(a, 'insn'), 'a fault saves the EIP of the faulting instruction');
    assert.equal(m.esp, B_STACK - 4, 'one dword pushed (32-bit TSS)');
    assert.equal(m.r32(B_STACK - 4), 0x200, '#GP(0x200): beyond the GDT limit');
    assert.equal(m.eflags() & Eflags.NT, Eflags.NT);
  });

  it('an external interrupt through a task gate: no error code, EXT-caused switch nests', () => {
    const m = machine({ eflags: Eflags.IF });
    taskGate(m, 0x20 * 8, TSS_B, 0);
    const a = m.load(`
      out %al, $IRQ_PORT
    after:
      out %al, $DONE_PORT
    task_b:
      iret`);
    writeTss32(m, B_BASE, { eip: symbol(a, 'task_b') });
    m.runToDone();
    assert.equal(m.r32(TSS_BASE + 0x20), symbol(a, 'after'));
    assert.equal(m.r32(B_BASE + 0x28 + 16), B_STACK, 'no error code was pushed');
    assert.equal(m.acks, 1);
  });

  it('a double fault through a task gate survives a kernel stack overflow (what Linux relies on)', () => {
    const m = machine({ paging: true });
    // The kernel stack ran into a not-present page: pushing the #PF frame faults again: #DF.
    const guard = TARGET_LIN - 0x1000;
    assert.equal(m.pde(guard) & Pte.P, 0, 'the page below the stack is not mapped');
    taskGate(m, Vector.DF * 8, TSS_B, 0);
    const a = m.load(`
      mov $${TARGET_LIN + 8}, %esp
      push $1
      push $2
    overflow:
      push $3
      hlt
    df_task:
      mov (%esp), %eax
      out %al, $DONE_PORT`);
    writeTss32(m, B_BASE, { eip: symbol(a, 'df_task'), cr3: PAGE_DIR });
    m.runToDone();
    assert.equal(m.cpu.trSel, TSS_B, 'the double-fault task runs');
    assert.equal(m.eax, 0, '#DF pushes error code 0 on the new task\'s stack');
    assert.equal(m.esp, B_STACK - 4);
    assert.equal(m.r32(TSS_BASE + 0x28 + 16), TARGET_LIN, 'the overflowing ESP is saved in the old TSS');
    assert.equal(m.cpu.cr2 >>> 12, guard >>> 12, 'CR2: the page the pushes hit');
    assert.equal(m.r32(B_BASE) & 0xffff, Sel.TSS, 'back link: the task that overflowed');
    assert.ok(symbol(a, 'overflow') > 0);
  });
});

describe('the new task\'s state and its faults (SDM vol. 3, 7.3 steps 11-13, table 7-1)', () => {
  /** JMPs to TSS_B set up by `init` and returns the first event in the new task. */
  function newTaskFault(init: Partial<TaskInit>): { f: ReturnType<Machine['frame']>; m: Machine; at: number } {
    const m = machine();
    const a = m.load(`
      ljmp $${TSS_B}, $0
      hlt
    task_b:
      out %al, $DONE_PORT`);
    writeTss32(m, B_BASE, { eip: symbol(a, 'task_b'), ...init });
    const f = m.runToEvent();
    return { f, m, at: symbol(a, 'task_b') };
  }

  it('a data segment not present: #NP(selector) delivered in the new task, at its first instruction', () => {
    const { f, m, at } = newTaskFault({ ds: Sel.NOT_PRESENT & ~3 });
    assert.deepEqual([f.vector, f.errorCode, f.eip, f.cs], [Vector.NP, Sel.NOT_PRESENT & 0xfffc, at, Sel.CODE0]);
    assert.equal(m.cpu.trSel, TSS_B, 'the switch is complete');
    assert.equal(typeOf(m, TSS_B), BUSY32);
    assert.equal(typeOf(m, Sel.TSS), AVAIL32);
  });

  /**
   * JMPs to TSS_B set up by `init`; the new task's fault `vector` goes through a task gate to TSS_C
   * (as the SDM asks of #TS handlers: the faulting task's segment registers may be unusable), which
   * stores its error code. Returns [error code, TSS_C's back link, TSS_B's saved EIP, B's EIP].
   */
  function faultToHandlerTask(init: Partial<TaskInit>, vector: number, setup?: (m: Machine) => void): number[] {
    const m = machine();
    setup?.(m);
    taskGate(m, vector * 8, TSS_C, 0);
    const a = m.load(`
      ljmp $${TSS_B}, $0
      hlt
    task_b:
      hlt
    handler:
      pop %eax
      out %al, $DONE_PORT`);
    writeTss32(m, B_BASE, { eip: symbol(a, 'task_b'), ...init });
    writeTss32(m, C_BASE, { eip: symbol(a, 'handler'), esp: 0x5c000 });
    m.runToDone();
    assert.equal(m.cpu.trSel, TSS_C);
    return [m.eax, m.r32(C_BASE) & 0xffff, m.r32(B_BASE + 0x20), symbol(a, 'task_b')];
  }

  it('CS not a code segment: #TS(CS); SS not writable: #TS(SS); SS not present: #SS(SS); DS a DPL-0 segment at CPL 3: #TS(DS)', () => {
    const [err, link, saved, at] = faultToHandlerTask({ cs: Sel.DATA0 }, Vector.TS);
    assert.deepEqual([err, link, saved], [Sel.DATA0, TSS_B, at], 'the fault belongs to the new task: it is the one interrupted, at its first instruction');
    assert.equal(faultToHandlerTask({ ss: Sel.READ_ONLY & ~3 }, Vector.TS)[0], Sel.READ_ONLY & 0xfffc);
    assert.equal(faultToHandlerTask({ ss: 0x1b0 }, Vector.TS)[0], 0x1b0, 'a descriptor of zeros is not a writable data segment');
    const notPresent = (m: Machine) => m.setDescriptor(0x1b0 >> 3, 0, 0xffffffff, SegAttr.S | SegAttr.WR | SegAttr.DB);
    assert.equal(faultToHandlerTask({ ss: 0x1b0 }, Vector.SS, notPresent)[0], 0x1b0, '#SS(selector) for a stack segment not present');
    assert.deepEqual(pick(newTaskFault({ cs: Sel.CODE3, ss: Sel.DATA3, ds: Sel.DATA0 }).f), [Vector.TS, Sel.DATA0], 'CS and SS loaded: an interrupt gate will do');
  });

  it('LDTR: an LDT selector that is not an LDT descriptor is #TS(LDT); a good one is loaded and used', () => {
    assert.equal(faultToHandlerTask({ ldt: Sel.DATA0 }, Vector.TS)[0], Sel.DATA0);
    const m = machine();
    // LDT entry 1: flat DPL 0 data; the new task's DS is selector 0x0c (LDT, index 1).
    m.w32(LDT_BASE + 8, 0x0000ffff);
    m.w32(LDT_BASE + 12, 0x00cf9200);
    const a = m.load(`
      ljmp $${TSS_B}, $0
    task_b:
      mov %ds, %eax
      out %al, $DONE_PORT`);
    writeTss32(m, B_BASE, { eip: symbol(a, 'task_b'), ldt: LDT_SEL, ds: 0x0c });
    m.runToDone();
    assert.equal(m.cpu.ldtSel, LDT_SEL);
    assert.equal(m.cpu.ldtBase, LDT_BASE);
    assert.equal(m.eax & 0xffff, 0x0c);
  });

  it('CR3 comes from the new TSS (with paging on): the TLB is flushed, the other address space is seen', () => {
    const m = machine({ paging: true });
    for (let k = 0; k < 1024; k++) m.w32(DIR2 + 4 * k, m.r32(PAGE_DIR + 4 * k));
    for (let k = 0; k < 1024; k++) m.w32(PT2 + 4 * k, 0);
    m.w32(DIR2 + ((TARGET_LIN >>> 22) << 2), PT2 | Pte.P | Pte.RW);
    m.w32(PT2 + (((TARGET_LIN >>> 12) & 0x3ff) << 2), TARGET_PHYS2 | Pte.P | Pte.RW);
    m.w32(TSS_BASE + 0x1c, PAGE_DIR);
    m.w32(TARGET_PHYS, 0xaaaa);
    m.w32(TARGET_PHYS2, 0xbbbb);
    const a = m.load(`
      mov ${TARGET_LIN}, %ebx
      ljmp $${TSS_B}, $0
    back:
      mov ${TARGET_LIN}, %edx
      out %al, $DONE_PORT
    task_b:
      mov ${TARGET_LIN}, %ecx
      mov %ecx, 0x60000
      mov %cr3, %eax
      mov %eax, 0x60004
      ljmp $${Sel.TSS}, $0`);
    writeTss32(m, B_BASE, { eip: symbol(a, 'task_b'), cr3: DIR2 });
    m.runToDone();
    assert.equal(m.ebx, 0xaaaa);
    assert.equal(m.r32(0x60000), 0xbbbb, 'task B sees its own mapping');
    assert.equal(m.r32(0x60004), DIR2);
    assert.equal(m.edx, 0xaaaa, 'back in the first task, its CR3 (from its TSS) again');
    assert.equal(m.cpu.cr3, PAGE_DIR);
  });

  it('the T flag of the new TSS: #DB after the switch, before its first instruction, with DR6.BT', () => {
    const { f, m, at } = newTaskFault({ trap: true });
    assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.DB, null, at]);
    assert.equal(m.cpu.dr[6]! & 0x8000, 0x8000);
  });

  it('CR0.TS is set by the switch even after CLTS', () => {
    const m = machine();
    const a = m.load(`
      clts
      ljmp $${TSS_B}, $0
    task_b:
      out %al, $DONE_PORT`);
    writeTss32(m, B_BASE, { eip: symbol(a, 'task_b') });
    m.runToDone();
    assert.equal(m.cpu.cr0 & Cr0.TS, Cr0.TS);
  });

  it('a 16-bit TSS: low words saved and loaded, the upper halves kept, FS and GS null', () => {
    const m = machine();
    // Below 64 KiB: a 16-bit TSS holds only IP.
    m.setEntry(0xc000);
    const a = m.load(`
      mov $0x12340000, %eax
      mov $0x56780000, %ebx
      lcall $${TSS_16}, $0
      out %al, $DONE_PORT
    task16:
      mov %eax, 0x60000
      mov %fs, %ecx
      mov %ecx, 0x60004
      mov $0x4242, %ebx
      iret
    after16:
      hlt`, 0xc000);
    for (let k = 0; k < 0x2c; k += 2) m.w16(T16_BASE + k, 0);
    m.w16(T16_BASE + 0x0e, symbol(a, 'task16'));
    m.w16(T16_BASE + 0x10, Eflags.FIXED1);
    m.w16(T16_BASE + 0x12, 0x00aa);
    m.w16(T16_BASE + 0x1a, 0x7000);
    m.w16(T16_BASE + 0x22, Sel.DATA0);
    m.w16(T16_BASE + 0x24, Sel.CODE0);
    m.w16(T16_BASE + 0x26, Sel.DATA0);
    m.w16(T16_BASE + 0x28, Sel.DATA0);
    m.runToDone();
    assert.equal(m.r32(0x60000), 0x123400aa, 'AX from the TSS, the upper half kept');
    assert.equal(m.r32(0x60004) & 0xffff, 0, 'FS is null in a 16-bit task');
    assert.equal(m.r32(T16_BASE) & 0xffff, Sel.TSS, 'the back link in the 16-bit TSS');
    assert.equal(m.cpu.trSel, Sel.TSS);
    assert.equal(m.ebx, 0x56780000, "the caller's EBX restored");
    assert.equal(m.r32(T16_BASE + 0x0e) & 0xffff, symbol(a, 'after16') & 0xffff, 'IP saved in the 16-bit TSS');
    assert.equal(m.r32(T16_BASE + 0x18) & 0xffff, 0x4242, 'BX saved in the 16-bit TSS');
  });

  it('a TSS with EFLAGS.VM=1 starts a virtual-8086 task at CPL 3 with paragraph segments', () => {
    const m = machine();
    m.mem.writeBytes(0x70000, new Uint8Array([0xcc])); // int3
    const v86 = { eip: 0, cs: 0x7000, ss: 0x7100, ds: 0x7200, esp: 0x100, eflags: Eflags.FIXED1 | Eflags.VM | (3 << 12) };
    writeTss32(m, B_BASE, v86);
    m.w32(B_BASE + 0x48 + 16, 0x7300);
    m.w32(B_BASE + 0x48 + 20, 0x7400);
    m.load(`ljmp $${TSS_B}, $0`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.BP);
    assert.equal(f.eip, 1, 'INT3 at 7000:0000 traps with IP 1');
    assert.equal(f.cs, 0x7000);
    assert.equal(f.eflags & Eflags.VM, Eflags.VM, 'the frame holds the virtual-8086 EFLAGS');
    // Above EIP, CS, EFLAGS: ESP, SS, ES, DS, FS, GS of the virtual-8086 task (20.3.1.1).
    const at = f.frameAddress + 12;
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((k) => m.read32(at + 4 * k) & 0xffff), [0x100, 0x7100, 0x7200, 0x7200, 0x7300, 0x7400]);
    assert.equal(f.frameAddress, RING0_STACK - 36, 'nine dwords on the ring-0 stack of the new TSS');
  });
});

function pick(f: { vector: number; errorCode: number | null }): [number, number | null] {
  return [f.vector, f.errorCode];
}
