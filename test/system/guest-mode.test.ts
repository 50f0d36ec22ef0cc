/**
 * The virtualization extension and the new modes (AMD APM vol. 2, chapter 15): task switches in
 * guest mode — intercepted before they begin, with the new TSS selector in EXITINFO1 and in
 * EXITINFO2 bit 36 for IRET, bit 38 for JMP, bit 44 when an error code (in the low half) comes with
 * an exception through a task gate, whose event is in EXITINTINFO (15.14, 15.7.2); or, without the
 * intercept, performed by the CPU with the guest's own tables — and "paged real mode": VMRUN takes
 * a guest with CR0.PE=0 and PG=1 (15.5.1 forbids PG without PE only with EFER.LME), whose
 * real-mode addresses then go through the page tables.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storeState } from '../../src/hw/cpu/virtualization.ts';
import { Cr0 } from '../../src/hw/x86/control-registers.ts';
import { Seg, SegAttr, SysType } from '../../src/hw/x86/descriptors.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { Pte } from '../../src/hw/x86/paging.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { EventInfo, InterceptMisc1, InterceptMisc2, SvmExit, VmcbControl as C, VmcbState as S } from '../../src/hw/x86/vmcb.ts';
import { CODE, Machine, PAGE_DIR, Sel, TARGET_PHYS, TSS_BASE, asm, symbol } from './machine.ts';

const VMCB = 0x30000;
const HOST_SAVE = 0x31000;
const TSS_B = 0x140;
const B_BASE = 0x40000;
/** EXITINFO2's high dword: bit 36 IRET, bit 38 JMP, bit 44 error code valid. */
const IRET_BIT = 1 << 4;
const JMP_BIT = 1 << 6;
const ERROR_BIT = 1 << 12;

/**
 * Runs the machine's boot up to the test code's first instruction (an OUT to the event port), makes
 * that state the guest's in a VMCB intercepting `misc1` (and HLT, and VMRUN as required), and runs
 * the guest. Returns the exit code.
 */
function runGuest(m: Machine, misc1: number): number {
  m.runUntil('event');
  storeState(m.cpu, m.mem, VMCB);
  m.mem.fill(VMCB, 0x100, 0);
  m.w32(VMCB + C.MISC1, misc1 | InterceptMisc1.HLT);
  m.w32(VMCB + C.MISC2, InterceptMisc2.VMRUN);
  m.w32(VMCB + C.ASID, 1);
  m.cpu.hostSaveArea = HOST_SAVE;
  const exit = m.cpu.vmrun(VMCB, 10_000);
  assert.equal(exit.kind, 'vmexit', `the guest ended with ${exit.kind}`);
  return m.r32(VMCB + C.EXITCODE);
}

function machine(paging = false): Machine {
  const m = new Machine({ virtualization: true, paging });
  m.setDescriptor(TSS_B >> 3, B_BASE, 0x67, SegAttr.P | SysType.TSS32_AVAIL);
  return m;
}

/** A minimal 32-bit TSS for B: EIP, flat ring-0 segments, a stack. */
function writeTssB(m: Machine, eip: number, cr3 = PAGE_DIR): void {
  for (let k = 0; k < 0x68; k += 4) m.w32(B_BASE + k, 0);
  m.w32(B_BASE + 0x1c, cr3);
  m.w32(B_BASE + 0x20, eip);
  m.w32(B_BASE + 0x24, Eflags.FIXED1);
  m.w32(B_BASE + 0x38, 0x50000);
  for (const [s, sel] of [[0, Sel.DATA0], [1, Sel.CODE0], [2, Sel.DATA0], [3, Sel.DATA0]] as const) m.w32(B_BASE + 0x48 + 4 * s, sel);
}

describe('task switches in guest mode (APM vol. 2, 15.14)', () => {
  it('JMP to a TSS, intercepted: exit before the switch, EXITINFO1 the selector, EXITINFO2 bit 38', () => {
    const m = machine();
    const a = m.load(`
      out %al, $EVENT_PORT
    insn:
      ljmp $${TSS_B}, $0`);
    assert.equal(runGuest(m, InterceptMisc1.TASK_SWITCH), SvmExit.TASK_SWITCH);
    assert.equal(m.r32(VMCB + C.EXITINFO1), TSS_B);
    assert.deepEqual([m.r32(VMCB + C.EXITINFO2), m.r32(VMCB + C.EXITINFO2 + 4)], [0, JMP_BIT]);
    assert.equal(m.r32(VMCB + S.RIP), symbol(a, 'insn'), 'the JMP has not executed');
    assert.equal(m.r32(VMCB + S.TR) & 0xffff, Sel.TSS, 'TR unchanged');
    assert.equal((m.descriptorHigh(TSS_B) >>> 8) & 0xf, SysType.TSS32_AVAIL, 'no busy bit written');
  });

  it('not intercepted, the CPU switches with the guest\'s tables and loads the guest\'s CR3 from the TSS as it is', () => {
    const m = machine(true);
    const dir2 = 0x23000;
    for (let k = 0; k < 1024; k++) m.w32(dir2 + 4 * k, m.r32(PAGE_DIR + 4 * k));
    const a = m.load(`
      out %al, $EVENT_PORT
      ljmp $${TSS_B}, $0
    task_b:
      hlt`);
    writeTssB(m, symbol(a, 'task_b'), dir2);
    assert.equal(runGuest(m, 0), SvmExit.HLT);
    assert.equal(m.r32(VMCB + S.TR) & 0xffff, TSS_B);
    assert.equal(m.r32(VMCB + S.CR0) & Cr0.TS, Cr0.TS);
    assert.equal(m.r32(VMCB + S.CR3), dir2, 'a VMM shadowing the guest\'s page tables must intercept (its CR3 intercept does not see this load)');
  });

  it('IRET with NT=1, intercepted: EXITINFO2 bit 36, the back link in EXITINFO1', () => {
    const m = machine();
    m.setDescriptor(TSS_B >> 3, B_BASE, 0x67, SegAttr.P | SysType.TSS32_BUSY);
    m.w32(TSS_BASE, TSS_B);
    m.load(`
      out %al, $EVENT_PORT
      pushf
      orl $${Eflags.NT}, (%esp)
      popf
      iret`);
    assert.equal(runGuest(m, InterceptMisc1.TASK_SWITCH), SvmExit.TASK_SWITCH);
    assert.equal(m.r32(VMCB + C.EXITINFO1), TSS_B);
    assert.deepEqual([m.r32(VMCB + C.EXITINFO2), m.r32(VMCB + C.EXITINFO2 + 4)], [0, IRET_BIT]);
  });

  it('#GP through a task gate, intercepted: the error code in EXITINFO2 with bit 44, the #GP in EXITINTINFO', () => {
    const m = machine();
    m.w32(Vector.GP * 8, TSS_B << 16);
    m.w32(Vector.GP * 8 + 4, (SegAttr.P | SysType.TASK_GATE) << 8);
    const a = m.load(`
      out %al, $EVENT_PORT
      mov $0x200, %ax
    insn:
      mov %ax, %ds`);
    assert.equal(runGuest(m, InterceptMisc1.TASK_SWITCH), SvmExit.TASK_SWITCH);
    assert.equal(m.r32(VMCB + C.EXITINFO1), TSS_B);
    assert.deepEqual([m.r32(VMCB + C.EXITINFO2), m.r32(VMCB + C.EXITINFO2 + 4)], [0x200, ERROR_BIT]);
    const info = Vector.GP | (EventInfo.TYPE_EXCEPTION << EventInfo.TYPE_SHIFT) | EventInfo.ERROR_VALID | EventInfo.VALID;
    assert.deepEqual([m.r32(VMCB + C.EXITINTINFO), m.r32(VMCB + C.EXITINTINFO + 4)], [info >>> 0, 0x200]);
    assert.equal(m.r32(VMCB + S.RIP), symbol(a, 'insn'));
  });
});

describe('paged real mode (APM vol. 2, 15.5.1)', () => {
  it('VMRUN takes CR0.PE=0 with PG=1; the guest computes real-mode addresses and the page tables translate them', () => {
    const m = machine();
    // Linear 70000H (DS 7000H) maps to TARGET_PHYS.
    m.setPte(0x70000, TARGET_PHYS | Pte.P | Pte.RW);
    m.mem.writeBytes(CODE, asm('.code16\n mov $0x7000, %ax\n mov %ax, %ds\n movw $0x1234, 0x10\n hlt', CODE).code);
    m.load(`out %al, $EVENT_PORT`, CODE + 0x100);
    m.setEntry(CODE + 0x100);
    m.runUntil('event');
    const c = m.cpu;
    // The guest: real mode at 1000:0000 with paging on.
    c.cr0 = Cr0.PG | Cr0.ET;
    c.cr3 = PAGE_DIR;
    const data = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.ACCESSED;
    for (let s = 0; s < 6; s++) c.loadSegmentCache(s, 0, 0, 0xffff, data);
    c.loadSegmentCache(Seg.CS, 0x1000, CODE, 0xffff, data | SegAttr.CODE);
    c.eip = 0;
    c.setCpl(0);
    storeState(c, m.mem, VMCB);
    m.mem.fill(VMCB, 0x100, 0);
    m.w32(VMCB + C.MISC1, InterceptMisc1.HLT);
    m.w32(VMCB + C.MISC2, InterceptMisc2.VMRUN);
    m.w32(VMCB + C.ASID, 1);
    c.hostSaveArea = HOST_SAVE;
    const exit = c.vmrun(VMCB, 1000);
    assert.deepEqual(exit, { kind: 'vmexit', code: SvmExit.HLT }, `VMRUN refused: ${c.vmrunRefusal}`);
    assert.equal(m.mem.read16(TARGET_PHYS + 0x10), 0x1234, '7000:0010 went through the page tables');
    assert.equal(m.r32(VMCB + S.CR0) & Cr0.PE, 0);
  });
});
