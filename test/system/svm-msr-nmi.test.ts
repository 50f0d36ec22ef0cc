/**
 * The virtualization extension's MSR and NMI parts (AMD APM vol. 2, chapter 15: "MSR Intercepts",
 * "NMI Virtualization", "TSC Offset"; appendix B): RDMSR/WRMSR exits selected by the MSR
 * permission map (read and write bits apart, MSRs outside its ranges always), after the CPL check;
 * physical NMIs exiting or reaching the guest; EVENTINJ of an NMI and the guest's NMI blocking kept
 * in V_NMI_BLOCKING; a pending virtual NMI held until the guest's IRET; TSC_OFFSET; the SYSENTER
 * MSRs and EFER travelling in the save area. The guest is the test machine's own code, run by
 * cpu.vmrun() from a VMCB holding the machine's state.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCpuModel } from '../../src/hw/cpu/cpu-model.ts';
import { readMsr } from '../../src/hw/cpu/msr.ts';
import { storeState } from '../../src/hw/cpu/virtualization.ts';
import { SegAttr } from '../../src/hw/x86/descriptors.ts';
import {
  EventInfo,
  InterceptMisc1,
  InterceptMisc2,
  SvmExit,
  V_NMI_BLOCKING,
  V_NMI_ENABLE,
  V_NMI_PENDING,
  VmcbControl as C,
  VmcbState as S,
  toVmcbAttr,
} from '../../src/hw/x86/vmcb.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { Machine, Sel, STACK0_TOP, symbol } from './machine.ts';

const VMCB = 0x30000;
const HOST_SAVE = 0x31000;
const MSRPM = 0x32000;

/** A machine whose CPU, stopped at CPL 0, is about to run `guest` (labels allowed) in guest mode; HLT exits. */
function setup(guest: string) {
  const m = new Machine({ cpl: 0, virtualization: true, cpuModel: findCpuModel('max')! });
  const a = m.load(`out %al, $STOP_PORT\n ud2\n guest:\n ${guest}`);
  m.runUntil('stop');
  const c = m.cpu;
  c.hostSaveArea = HOST_SAVE;
  storeState(c, m.mem, VMCB);
  m.w32(VMCB + S.RIP, symbol(a, 'guest'));
  m.w32(VMCB + C.MISC1, InterceptMisc1.HLT);
  m.w32(VMCB + C.MISC2, InterceptMisc2.VMRUN);
  m.w32(VMCB + C.ASID, 1);
  m.w32(VMCB + C.MSRPM_BASE, MSRPM);
  const run = () => c.vmrun(VMCB, 100_000);
  const exitCode = () => m.r32(VMCB + C.EXITCODE) | 0;
  const rip = () => m.r32(VMCB + S.RIP);
  /** The frame a handler stub found on the guest's stack: [vector] EIP CS EFLAGS. */
  const guestFrame = () => {
    const esp = m.r32(VMCB + S.RSP);
    return { vector: m.r32(esp), eip: m.r32(esp + 4) };
  };
  return { m, a, c, run, exitCode, rip, guestFrame };
}

/** Sets the MSR permission map's read (or write) bit for `index` (APM vol. 2, 15.11). */
function intercept(m: Machine, index: number, write: boolean): void {
  const base = index >= 0xc0000000 ? 0x800 * 8 + 2 * (index - 0xc0000000) : 2 * index;
  const bit = base + (write ? 1 : 0);
  m.mem.write8(MSRPM + (bit >>> 3), m.r8(MSRPM + (bit >>> 3)) | (1 << (bit & 7)));
}

describe('MSR intercepts through the permission map', () => {
  it('exits for the selected accesses only: EXITINFO1 0 for RDMSR, 1 for WRMSR, RIP at the instruction', () => {
    const { m, a, run, exitCode, rip } = setup(`
      mov $0x10, %ecx
    read_tsc:
      rdmsr
      xor %eax, %eax
      xor %edx, %edx
      mov $0x277, %ecx
      rdmsr
    write_pat:
      wrmsr
      mov $0x12345678, %ecx
    read_far:
      rdmsr
      hlt`);
    m.w32(VMCB + C.MISC1, InterceptMisc1.HLT | InterceptMisc1.MSR_PROT);
    intercept(m, 0x10, false);
    intercept(m, 0x277, true);
    assert.equal(run().kind, 'vmexit');
    assert.deepEqual([exitCode(), m.r32(VMCB + C.EXITINFO1), rip()], [SvmExit.MSR, 0, symbol(a, 'read_tsc')], 'RDMSR of the TSC: read bit set');
    m.w32(VMCB + S.RIP, symbol(a, 'read_tsc') + 2);
    run();
    assert.deepEqual([exitCode(), m.r32(VMCB + C.EXITINFO1), rip()], [SvmExit.MSR, 1, symbol(a, 'write_pat')], 'RDMSR of PAT ran, WRMSR of PAT exits');
    assert.equal(m.r32(VMCB + S.RAX), 0x00070406, "the PAT read went to the guest's EAX");
    m.w32(VMCB + S.RIP, symbol(a, 'write_pat') + 2);
    run();
    assert.deepEqual([exitCode(), rip()], [SvmExit.MSR, symbol(a, 'read_far')], 'an MSR outside the map always exits');
    m.w32(VMCB + S.RIP, symbol(a, 'read_far') + 2);
    run();
    assert.equal(exitCode(), SvmExit.HLT);
  });

  it('the CPL check comes first: RDMSR at guest CPL 3 raises #GP(0) in the guest, no exit', () => {
    const { m, a, run, guestFrame } = setup(`
    user:
      rdmsr
      hlt`);
    m.w32(VMCB + C.MISC1, InterceptMisc1.HLT | InterceptMisc1.MSR_PROT);
    m.mem.fill(MSRPM, 0x2000, 0xff);
    const code3 = SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR | SegAttr.DB | SegAttr.G | (3 << SegAttr.DPL_SHIFT);
    const data3 = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.DB | SegAttr.G | (3 << SegAttr.DPL_SHIFT);
    m.mem.write16(VMCB + S.CS, Sel.CODE3);
    m.mem.write16(VMCB + S.CS + 2, toVmcbAttr(code3));
    m.mem.write16(VMCB + S.SS, Sel.DATA3);
    m.mem.write16(VMCB + S.SS + 2, toVmcbAttr(data3));
    m.mem.write8(VMCB + S.CPL, 3);
    const exit = run();
    assert.deepEqual(exit, { kind: 'request', reason: 'event' }, 'the guest took #GP through its IDT');
    const esp = m.r32(VMCB + S.RSP);
    assert.deepEqual([m.r32(esp), m.r32(esp + 4), m.r32(esp + 8)], [Vector.GP, 0, symbol(a, 'user')]);
    assert.ok(esp < STACK0_TOP, 'on its ring-0 stack');
    assert.equal(guestFrame().vector, Vector.GP);
  });
});

describe('NMIs in guest mode', () => {
  it('a physical NMI exits when intercepted (code NMI) and stays pending for the host', () => {
    const { m, a, c, run, exitCode, rip } = setup('nop\n hlt');
    m.w32(VMCB + C.MISC1, InterceptMisc1.HLT | InterceptMisc1.NMI);
    c.raiseNmi();
    assert.equal(run().kind, 'vmexit');
    assert.deepEqual([exitCode(), rip()], [SvmExit.NMI, symbol(a, 'guest')]);
    assert.equal(c.nmiPending, true);
  });

  it('not intercepted, it goes to the guest through vector 2', () => {
    const { a, c, run, guestFrame } = setup('nop\n hlt');
    c.raiseNmi();
    assert.equal(run().kind, 'request');
    assert.deepEqual(guestFrame(), { vector: Vector.NMI, eip: symbol(a, 'guest') });
    assert.equal(c.nmiPending, false);
  });

  it('EVENTINJ type NMI: delivered through vector 2; with V_NMI_ENABLE the guest is then NMI-blocked in the VMCB', () => {
    const { m, a, run, guestFrame } = setup('nop\n hlt');
    m.w32(VMCB + C.VINTR, V_NMI_ENABLE);
    m.w32(VMCB + C.EVENTINJ, Vector.NMI | (EventInfo.TYPE_NMI << EventInfo.TYPE_SHIFT) | EventInfo.VALID);
    run();
    assert.deepEqual(guestFrame(), { vector: Vector.NMI, eip: symbol(a, 'guest') });
    assert.equal(m.r32(VMCB + C.VINTR) & V_NMI_BLOCKING, V_NMI_BLOCKING);
  });

  it('a pending virtual NMI waits while V_NMI_BLOCKING is set, is taken once clear; the guest IRET ends the blocking', () => {
    const { m, a, run, exitCode, guestFrame } = setup('nop\n hlt\n nop\n hlt');
    m.w32(VMCB + C.VINTR, V_NMI_ENABLE | V_NMI_PENDING | V_NMI_BLOCKING);
    run();
    assert.equal(exitCode(), SvmExit.HLT, 'blocked: the guest ran to its HLT');
    assert.equal(m.r32(VMCB + C.VINTR) & (V_NMI_PENDING | V_NMI_BLOCKING), V_NMI_PENDING | V_NMI_BLOCKING, 'both kept');
    m.w32(VMCB + S.RIP, symbol(a, 'guest') + 2);
    m.w32(VMCB + C.VINTR, V_NMI_ENABLE | V_NMI_PENDING);
    run();
    assert.deepEqual(guestFrame(), { vector: Vector.NMI, eip: symbol(a, 'guest') + 2 });
    assert.equal(m.r32(VMCB + C.VINTR) & (V_NMI_PENDING | V_NMI_BLOCKING), V_NMI_BLOCKING, 'taken: pending clear, blocked');
    run();
    assert.equal(exitCode(), SvmExit.HLT, "the handler's IRET, then the guest's HLT");
    assert.equal(m.r32(VMCB + C.VINTR) & V_NMI_BLOCKING, 0, 'IRET cleared the blocking');
  });
});

describe('TSC_OFFSET and MSRs in the save area', () => {
  it("the guest's RDTSC and RDMSR of the TSC add TSC_OFFSET; the host's TSC does not move", () => {
    const { m, c, run } = setup('rdtsc\n mov %edx, %ebx\n mov $0x10, %ecx\n rdmsr\n hlt');
    m.w32(VMCB + C.TSC_OFFSET + 4, 0x100);
    run();
    assert.equal(m.r32(VMCB + S.GUEST_GPRS + 16), 0x100, 'RDTSC: EDX (in EBX)');
    assert.equal(m.r32(VMCB + S.GUEST_GPRS + 8), 0x100, 'RDMSR: EDX');
    const r = new Int32Array(3);
    assert.ok(readMsr(c, 0x10, r));
    assert.equal(r[2], 0, "the host's TSC has no offset after #VMEXIT");
    assert.equal(m.r32(VMCB + C.TSC_OFFSET + 4), 0x100, 'TSC_OFFSET kept in the VMCB');
  });

  it('SYSENTER in guest mode uses the VMCB\'s SYSENTER MSRs; the host\'s come back at #VMEXIT', () => {
    const { m, a, c, run, exitCode, rip } = setup('sysenter\n ud2\n entry:\n hlt');
    c.msr.sysenterCs = 0x1234;
    c.msr.sysenterEip = 0x5678;
    m.w32(VMCB + S.SYSENTER_CS, Sel.CODE0);
    m.w32(VMCB + S.SYSENTER_ESP, 0x7400);
    m.w32(VMCB + S.SYSENTER_EIP, symbol(a, 'entry'));
    run();
    assert.deepEqual([exitCode(), rip(), m.r32(VMCB + S.RSP)], [SvmExit.HLT, symbol(a, 'entry'), 0x7400]);
    assert.deepEqual([c.msr.sysenterCs, c.msr.sysenterEip], [0x1234, 0x5678]);
  });

  it('VMRUN refuses an EFER with bits this CPU does not have', () => {
    const { m, run, exitCode } = setup('hlt');
    m.w32(VMCB + S.EFER, 1 << 8);
    assert.deepEqual(run(), { kind: 'vmexit', code: SvmExit.INVALID });
    assert.equal(exitCode(), SvmExit.INVALID);
  });
});
