/**
 * The CPU's hardware virtualization extension, modelled on AMD's SVM (AMD64 APM vol. 2, chapter
 * 15): VMRUN enters guest mode with the guest's state from a VMCB (vmcb.ts for the layout); the
 * guest then runs at its own privilege levels — its kernel at ring 0 — with its own EFLAGS, so
 * CLI, STI, PUSHF and POPF act on the guest's IF without any exit (the lecture's "shadow EFLAGS
 * register in the VMCB"). Events the VMCB's control area intercepts end guest mode (#VMEXIT):
 * the guest's state goes back to the VMCB with an exit code and exit information, and the
 * host's state, saved by VMRUN in the host save area, comes back.
 *
 * Implemented intercepts: CR0-CR4 reads and writes (SMSW counts as a CR0 read, LMSW and CLTS as
 * CR0 writes), exceptions by vector, physical interrupts (INTR) and NMIs, the virtual-interrupt
 * window (VINTR), CPUID, HLT, INVLPG, port I/O through a permission map (IOIO), RDMSR/WRMSR through
 * the MSR permission map (MSR_PROT), shutdown (a triple fault), VMRUN and VMMCALL, VMLOAD, VMSAVE,
 * STGI, CLGI, SKINIT, INVLPGA, task switches. Not implemented (guests never exit for them): DR
 * accesses, descriptor-table register accesses, RDTSC/RDTSCP (TSC_OFFSET is), PUSHF/POPF, IRET,
 * INT n, SMI/INIT. Task switches exit before they begin when intercepted; without the intercept
 * the CPU switches with the guest's tables and loads CR3 from the TSS. Virtual interrupts follow
 * V_INTR_MASKING = 1: the guest's IF masks only them, physical interrupts exit. NMIs: EVENTINJ
 * type NMI, and virtual NMIs (V_NMI_ENABLE) with the guest's NMI blocking kept in the VMCB's
 * V_NMI_BLOCKING across exits, set when an NMI is delivered to the guest and cleared by its IRET
 * (or by an exit during that delivery). Without V_NMI_ENABLE the guest's blocking starts clear at
 * VMRUN and is not kept (a VMM would intercept IRET to track it; not implemented). EFER and the
 * SYSENTER MSRs travel in the save area. The guest may be in real mode, with CR0.PG = 1 too
 * ("paged real mode", for shadow paging), or in virtual-8086 mode.
 *
 * The host's VMM is not software on this CPU: it calls vmrun() where an AMD VMM executes VMRUN.
 * The instructions of the SVM family, when a guest executes them, exit if intercepted (VMRUN's
 * intercept is required) and otherwise raise #UD, as on a CPU that does not offer SVM.
 */
import { CR4_SUPPORTED, Cr0, Efer } from '../x86/control-registers.ts';
import { Eflags } from '../x86/eflags.ts';
import { Vector } from '../x86/vectors.ts';
import {
  EventInfo,
  InterceptMisc1,
  InterceptMisc2,
  IoioInfo,
  SvmExit,
  TLB_FLUSH_ALL,
  TaskSwitchInfo,
  VMCB_SEGMENTS,
  V_IRQ,
  V_NMI_BLOCKING,
  V_NMI_ENABLE,
  V_NMI_PENDING,
  msrpmBit,
  VmcbControl as C,
  VmcbState as S,
  fromVmcbAttr,
  toVmcbAttr,
} from '../x86/vmcb.ts';
import type { PhysicalAccess } from '../memory/physical-memory.ts';
import { type Cpu, type CpuExit, type EventSource, Pending, Stop } from './cpu.ts';
import { Counter } from './counters.ts';
import { Lazy, readEflags } from './flags.ts';
import type { Insn } from './insn.ts';
import { runBlocks } from './run-loop.ts';

/** cpu.excVector while an intercept is leaving guest mode (the run loop returns VMEXIT). */
export const VMEXIT_VECTOR = -2;

export const VMEXIT: CpuExit = { kind: 'vmexit', code: 0 };

// ---------------------------------------------------------------- the VMCB in host memory

/** ECX, EDX, EBX, EBP, ESI, EDI: the registers besides EAX and ESP, kept at GUEST_GPRS. */
const OTHER_GPRS: readonly number[] = [1, 2, 3, 5, 6, 7];

function read64lo(m: PhysicalAccess, at: number): number {
  return m.read32(at) | 0;
}

function write64(m: PhysicalAccess, at: number, lo: number, hi = 0): void {
  m.write32(at, lo);
  m.write32(at + 4, hi);
}

/**
 * Writes a CPU's state into the save area at host-physical `at` of `m` (a VMCB's, or the host
 * save area). A VMM uses it too, to move a guest's state between its VMCB and a vCPU.
 */
export function storeState(c: Cpu, m: PhysicalAccess, at: number): void {
  for (let s = 0; s < 6; s++) {
    const o = at + VMCB_SEGMENTS[s]!;
    m.write16(o, c.segSel[s]!);
    m.write16(o + 2, toVmcbAttr(c.segAttr[s]!));
    m.write32(o + 4, c.segLimit[s]!);
    write64(m, o + 8, c.segBase[s]!);
  }
  m.write32(at + S.GDTR + 4, c.gdtLimit);
  write64(m, at + S.GDTR + 8, c.gdtBase);
  m.write32(at + S.IDTR + 4, c.idtLimit);
  write64(m, at + S.IDTR + 8, c.idtBase);
  m.write16(at + S.LDTR, c.ldtSel);
  m.write16(at + S.LDTR + 2, toVmcbAttr(c.ldtAttr));
  m.write32(at + S.LDTR + 4, c.ldtLimit);
  write64(m, at + S.LDTR + 8, c.ldtBase);
  m.write16(at + S.TR, c.trSel);
  m.write16(at + S.TR + 2, toVmcbAttr(c.trAttr));
  m.write32(at + S.TR + 4, c.trLimit);
  write64(m, at + S.TR + 8, c.trBase);
  m.write8(at + S.CPL, c.cpl);
  write64(m, at + S.CR0, c.cr0);
  write64(m, at + S.CR2, c.cr2);
  write64(m, at + S.CR3, c.cr3);
  write64(m, at + S.CR4, c.cr4);
  write64(m, at + S.EFER, c.efer);
  write64(m, at + S.SYSENTER_CS, c.msr.sysenterCs);
  write64(m, at + S.SYSENTER_ESP, c.msr.sysenterEsp);
  write64(m, at + S.SYSENTER_EIP, c.msr.sysenterEip);
  write64(m, at + S.DR6, c.dr[6]!);
  write64(m, at + S.DR7, c.dr[7]!);
  for (let k = 0; k < 4; k++) write64(m, at + S.GUEST_DR0 + 8 * k, c.dr[k]!);
  write64(m, at + S.RFLAGS, readEflags(c));
  write64(m, at + S.RIP, c.eip);
  write64(m, at + S.RSP, c.regs[4]!);
  write64(m, at + S.RAX, c.regs[0]!);
  for (let k = 0; k < OTHER_GPRS.length; k++) write64(m, at + S.GUEST_GPRS + 8 * k, c.regs[OTHER_GPRS[k]!]!);
}

/** Loads a CPU's state from the save area at `at` of `m`. */
export function loadState(c: Cpu, m: PhysicalAccess, at: number): void {
  for (let s = 0; s < 6; s++) {
    const o = at + VMCB_SEGMENTS[s]!;
    c.loadSegmentCache(s, m.read16(o), read64lo(m, o + 8), m.read32(o + 4), fromVmcbAttr(m.read16(o + 2)));
  }
  c.gdtLimit = m.read32(at + S.GDTR + 4) & 0xffff;
  c.gdtBase = read64lo(m, at + S.GDTR + 8);
  c.idtLimit = m.read32(at + S.IDTR + 4) & 0xffff;
  c.idtBase = read64lo(m, at + S.IDTR + 8);
  c.ldtSel = m.read16(at + S.LDTR);
  c.ldtAttr = fromVmcbAttr(m.read16(at + S.LDTR + 2));
  c.ldtLimit = m.read32(at + S.LDTR + 4);
  c.ldtBase = read64lo(m, at + S.LDTR + 8);
  c.trSel = m.read16(at + S.TR);
  c.trAttr = fromVmcbAttr(m.read16(at + S.TR + 2));
  c.trLimit = m.read32(at + S.TR + 4);
  c.trBase = read64lo(m, at + S.TR + 8);
  c.cr0 = read64lo(m, at + S.CR0);
  c.cr2 = read64lo(m, at + S.CR2);
  c.cr3 = read64lo(m, at + S.CR3);
  c.cr4 = read64lo(m, at + S.CR4);
  c.efer = read64lo(m, at + S.EFER);
  c.msr.sysenterCs = read64lo(m, at + S.SYSENTER_CS);
  c.msr.sysenterEsp = read64lo(m, at + S.SYSENTER_ESP);
  c.msr.sysenterEip = read64lo(m, at + S.SYSENTER_EIP);
  c.dr[6] = read64lo(m, at + S.DR6);
  c.dr[7] = read64lo(m, at + S.DR7);
  for (let k = 0; k < 4; k++) c.dr[k] = read64lo(m, at + S.GUEST_DR0 + 8 * k);
  c.flags = read64lo(m, at + S.RFLAGS) | Eflags.FIXED1;
  c.lzKind = Lazy.NONE;
  c.eip = read64lo(m, at + S.RIP);
  c.regs[4] = read64lo(m, at + S.RSP);
  c.regs[0] = read64lo(m, at + S.RAX);
  for (let k = 0; k < OTHER_GPRS.length; k++) c.regs[OTHER_GPRS[k]!] = read64lo(m, at + S.GUEST_GPRS + 8 * k);
  c.setCpl(m.read8(at + S.CPL) & 3);
  c.halted = false;
  c.holdSingleStep = false;
}

/** Why VMRUN refuses a VMCB (APM vol. 2, 15.5.1 "Canonicalization and consistency checks"), or ''. */
function inconsistency(c: Cpu, vmcb: number): string {
  const m = c.mem;
  if ((m.read32(vmcb + C.MISC2) & InterceptMisc2.VMRUN) === 0) return 'the VMRUN intercept is clear';
  if (m.read32(vmcb + C.ASID) === 0) return 'ASID 0 is the host';
  // CR0.PG without CR0.PE is allowed: "paged real mode", for a VMM that shadows a real-mode
  // guest's memory (APM vol. 2, 15.5.1 lists it as illegal only with EFER.LME).
  const cr0 = m.read32(vmcb + S.CR0);
  if ((cr0 & Cr0.NW) !== 0 && (cr0 & Cr0.CD) === 0) return 'CR0.NW without CR0.CD';
  if ((m.read32(vmcb + S.CR4) & ~CR4_SUPPORTED) !== 0) return 'reserved CR4 bits';
  if ((m.read32(vmcb + S.EFER) & ~Efer.NXE) !== 0 || m.read32(vmcb + S.EFER + 4) !== 0) return 'reserved EFER bits';
  return '';
}

// ---------------------------------------------------------------- VMRUN and #VMEXIT

/**
 * VMRUN: saves the host's state in the host save area (cpu.hostSaveArea), loads the guest's
 * from the VMCB at host-physical `vmcb`, delivers the event in EVENTINJ, and runs the guest
 * until an intercepted event, or until `budget` instructions or the deadline (the host's timer,
 * which exits as a physical interrupt, code INTR). Returns {kind: 'vmexit'} for an intercept, or
 * the run loop's own kind ('budget', 'deadline', 'halt', 'request', 'unsupported') after an
 * INTR exit; either way the VMCB holds the guest's state and the exit code and information.
 */
export function vmrun(c: Cpu, vmcb: number, budget: number): CpuExit {
  if (!c.virtualization) throw new Error('vmrun: this CPU was built without the virtualization extension');
  const m = c.mem;
  const why = inconsistency(c, vmcb);
  if (why !== '') {
    c.vmrunRefusal = why;
    write64(m, vmcb + C.EXITCODE, SvmExit.INVALID, -1);
    return { kind: 'vmexit', code: SvmExit.INVALID };
  }
  c.vmrunRefusal = '';
  storeState(c, m, c.hostSaveArea);
  c.hostMonitor = c.monitor;
  c.monitor = false;
  loadState(c, m, vmcb);
  c.inhibit = (m.read32(vmcb + C.INTERRUPT_SHADOW) & 1) !== 0;
  c.vmcbAddress = vmcb;
  c.icptCrRead = m.read16(vmcb + C.CR_READ);
  c.icptCrWrite = m.read16(vmcb + C.CR_WRITE);
  c.icptExceptions = m.read32(vmcb + C.EXCEPTIONS);
  c.icptMisc1 = m.read32(vmcb + C.MISC1);
  c.icptMisc2 = m.read32(vmcb + C.MISC2);
  c.iopmBase = m.read32(vmcb + C.IOPM_BASE);
  c.msrpmBase = m.read32(vmcb + C.MSRPM_BASE);
  c.vmTscOffsetLo = m.read32(vmcb + C.TSC_OFFSET);
  c.vmTscOffsetHi = m.read32(vmcb + C.TSC_OFFSET + 4);
  const vintr = m.read32(vmcb + C.VINTR);
  c.vIrq = (vintr & V_IRQ) !== 0;
  c.hostNmiBlocked = c.nmiBlocked;
  c.vNmiEnabled = (vintr & V_NMI_ENABLE) !== 0;
  c.vNmiPending = c.vNmiEnabled && (vintr & V_NMI_PENDING) !== 0;
  c.nmiBlocked = c.vNmiEnabled && (vintr & V_NMI_BLOCKING) !== 0;
  c.vIntrVector = m.read8(vmcb + C.VINTR_VECTOR);
  c.exitIntInfo = 0;
  c.exitIntError = 0;
  c.guestMode = true;
  c.ctr[Counter.VMRUN]!++;
  // The TLB is tagged with the ASID (APM vol. 2, 15.16): a different guest, or a request, flushes it.
  const asid = m.read32(vmcb + C.ASID);
  if (asid !== c.tlbAsid || (m.read8(vmcb + C.TLB_CONTROL) & TLB_FLUSH_ALL) !== 0) {
    c.flushTlb();
    c.tlbAsid = asid;
  }
  let exit: CpuExit | null = null;
  const inject = m.read32(vmcb + C.EVENTINJ);
  if ((inject & EventInfo.VALID) !== 0) {
    const injectError = m.read32(vmcb + C.EVENTINJ + 4);
    write64(m, vmcb + C.EVENTINJ, 0);
    exit = injectEvent(c, inject, injectError);
  }
  if (exit === null) exit = runBlocks(c, budget);
  return leaveGuest(c, exit);
}

/** Delivers an EVENTINJ event through the guest's IDT (APM vol. 2, 15.20). */
function injectEvent(c: Cpu, info: number, errorCode: number): CpuExit | null {
  const vector = info & EventInfo.VECTOR_MASK;
  const type = (info >>> EventInfo.TYPE_SHIFT) & 7;
  const error = (info & EventInfo.ERROR_VALID) !== 0 ? errorCode : -1;
  const source: EventSource =
    type === EventInfo.TYPE_SOFT_INT ? 'software' : type === EventInfo.TYPE_EXCEPTION ? 'exception' : type === EventInfo.TYPE_NMI ? 'nmi' : 'external';
  c.inhibit = false;
  // An injected event is delivered (and counted) as if it had happened in the guest.
  return c.deliver(vector, error, source, 0);
}

/**
 * #VMEXIT: the guest's state into the VMCB with the exit code and information, the host's state
 * back. `exit` is what ended the run loop: an intercept (VMEXIT), a triple fault (SHUTDOWN), or
 * a host event (INTR).
 */
function leaveGuest(c: Cpu, exit: CpuExit): CpuExit {
  const vmcb = c.vmcbAddress;
  let code: number;
  if (exit.kind === 'vmexit') code = c.exitCode;
  else if (exit.kind === 'reset') {
    code = SvmExit.SHUTDOWN;
    // Not AMD's: EXITINFO1 names the exception that could not be delivered.
    c.exitInfo1 = exit.vector;
    c.exitInfo2 = c.exitInfo1Hi = 0;
  } else {
    code = SvmExit.INTR;
    c.exitInfo1 = c.exitInfo2 = c.exitInfo1Hi = 0;
  }
  const m = c.mem;
  storeState(c, m, vmcb);
  m.write32(vmcb + C.INTERRUPT_SHADOW, c.inhibit ? 1 : 0);
  write64(m, vmcb + C.EXITCODE, code, code < 0 ? -1 : 0);
  write64(m, vmcb + C.EXITINFO1, c.exitInfo1, c.exitInfo1Hi);
  write64(m, vmcb + C.EXITINFO2, c.exitInfo2, c.exitInfo2Hi);
  c.exitInfo2Hi = 0;
  write64(m, vmcb + C.EXITINTINFO, c.exitIntInfo, c.exitIntError);
  write64(m, vmcb + C.NRIP, c.exitNrip);
  let vintr = m.read32(vmcb + C.VINTR);
  vintr = c.vIrq ? vintr | V_IRQ : vintr & ~V_IRQ;
  if (c.vNmiEnabled) {
    vintr = c.vNmiPending ? vintr | V_NMI_PENDING : vintr & ~V_NMI_PENDING;
    vintr = c.nmiBlocked ? vintr | V_NMI_BLOCKING : vintr & ~V_NMI_BLOCKING;
  }
  m.write32(vmcb + C.VINTR, vintr);
  write64(m, vmcb + C.TSC_OFFSET, c.vmTscOffsetLo, c.vmTscOffsetHi);
  c.vmTscOffsetLo = c.vmTscOffsetHi = 0;
  c.nmiBlocked = c.hostNmiBlocked;
  c.vNmiEnabled = c.vNmiPending = false;
  c.guestMode = false;
  c.vIrq = false;
  c.pending = Pending.NONE;
  c.stop &= Stop.REQUEST;
  c.ctr[Counter.VMEXIT]!++;
  loadState(c, m, c.hostSaveArea);
  c.monitor = c.hostMonitor;
  c.inhibit = false;
  c.exitCode = code;
  if (exit.kind === 'vmexit' || exit.kind === 'reset') return { kind: 'vmexit', code };
  return exit;
}

/** Leaves guest mode from inside an instruction, which does not execute (it restarts at the next VMRUN unless the VMM moves RIP). */
function exitFromInstruction(c: Cpu, code: number, info1: number, info1Hi: number, info2: number, info2Hi = 0): void {
  c.exitCode = code;
  c.exitInfo1 = info1;
  c.exitInfo1Hi = info1Hi;
  c.exitInfo2 = info2;
  c.exitInfo2Hi = info2Hi;
  c.exitNrip = c.eip;
  c.pending = Pending.FAULT;
  c.excVector = VMEXIT_VECTOR;
  c.stop |= Stop.FAULT;
}

// ---------------------------------------------------------------- intercept checks (guest mode only)

/** InterceptMisc1 `bit`: exits with `code` (true) or lets the instruction run (false). */
export function interceptMisc1(c: Cpu, bit: number, code: number, info1 = 0): boolean {
  if ((c.icptMisc1 & bit) === 0) return false;
  exitFromInstruction(c, code, info1, 0, 0);
  return true;
}

/**
 * A task switch about to begin (task-switch.ts), intercepted: exits with the new TSS selector in
 * EXITINFO1 and in EXITINFO2 what started it and the error code (APM vol. 2, 15.14; TaskSwitchInfo).
 * `source` is TaskSource (0 JMP, 1 CALL, 2 IRET, 3 a task gate in the IDT). Returns true when it exited.
 */
export function interceptTaskSwitch(c: Cpu, sel: number, source: number, errorCode: number): boolean {
  if ((c.icptMisc1 & InterceptMisc1.TASK_SWITCH) === 0) return false;
  let hi = source === 2 ? TaskSwitchInfo.IRET : source === 0 ? TaskSwitchInfo.JMP : 0;
  if (errorCode >= 0) hi |= TaskSwitchInfo.HAS_ERROR;
  exitFromInstruction(c, SvmExit.TASK_SWITCH, sel & 0xffff, 0, errorCode < 0 ? 0 : errorCode, hi);
  return true;
}

/** MOV from CRn, SMSW (`gpr` -1: no decode information). */
export function interceptCrRead(c: Cpu, n: number, gpr: number): boolean {
  if (((c.icptCrRead >>> n) & 1) === 0) return false;
  exitFromInstruction(c, SvmExit.CR0_READ + n, gpr < 0 ? 0 : gpr, gpr < 0 ? 0 : 0x80000000 | 0, 0);
  return true;
}

/** MOV to CRn, LMSW, CLTS. */
export function interceptCrWrite(c: Cpu, n: number, gpr: number): boolean {
  if (((c.icptCrWrite >>> n) & 1) === 0) return false;
  exitFromInstruction(c, SvmExit.CR0_WRITE + n, gpr < 0 ? 0 : gpr, gpr < 0 ? 0 : 0x80000000 | 0, 0);
  return true;
}

/**
 * RDMSR/WRMSR (after the CPL check, which comes first: APM vol. 2, 15.11): exits when MSR_PROT is
 * intercepted and the permission map selects the access — always for an MSR outside its ranges.
 * EXITINFO1 is 0 for RDMSR, 1 for WRMSR; the VMM finds the index in the guest's ECX.
 */
export function interceptMsr(c: Cpu, index: number, write: boolean): boolean {
  if ((c.icptMisc1 & InterceptMisc1.MSR_PROT) === 0) return false;
  const bit = msrpmBit(index);
  if (bit >= 0) {
    const at = bit + (write ? 1 : 0);
    if (((c.mem.read8(c.msrpmBase + (at >>> 3)) >>> (at & 7)) & 1) === 0) return false;
  }
  exitFromInstruction(c, SvmExit.MSR, write ? 1 : 0, 0, 0);
  return true;
}

/**
 * Port I/O (after the instruction's own permission checks, which come first: APM vol. 2,
 * 15.10.2): exits when any port the access touches has its bit set in the I/O permission map.
 */
export function interceptIo(c: Cpu, i: Insn, port: number, size: number, input: boolean, string: boolean): boolean {
  if ((c.icptMisc1 & InterceptMisc1.IOIO) === 0) return false;
  const bits = c.mem.read16(c.iopmBase + (port >>> 3));
  if (((bits >>> (port & 7)) & ((1 << size) - 1)) === 0) return false;
  let info = (port << IoioInfo.PORT_SHIFT) | (size === 1 ? IoioInfo.SIZE8 : size === 2 ? IoioInfo.SIZE16 : IoioInfo.SIZE32);
  if (input) info |= IoioInfo.IN;
  if (string) info |= IoioInfo.STRING | (i.adsize === 32 ? IoioInfo.ADDR32 : IoioInfo.ADDR16);
  if (string && i.rep !== 0) info |= IoioInfo.REP;
  exitFromInstruction(c, SvmExit.IOIO, info, 0, c.eip);
  return true;
}

const SVM_INSTRUCTIONS: readonly (readonly [number, number])[] = [
  [InterceptMisc2.VMRUN, SvmExit.VMRUN],
  [InterceptMisc2.VMMCALL, SvmExit.VMMCALL],
  [InterceptMisc2.VMLOAD, SvmExit.VMLOAD],
  [InterceptMisc2.VMSAVE, SvmExit.VMSAVE],
  [InterceptMisc2.STGI, SvmExit.STGI],
  [InterceptMisc2.CLGI, SvmExit.CLGI],
  [InterceptMisc2.SKINIT, SvmExit.SKINIT],
];

/**
 * VMRUN, VMMCALL, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA (0F 01 D8-DF; sub = ModRM.rm):
 * in guest mode they exit when intercepted; anywhere else they raise #UD (see the header).
 */
export function svmInstruction(c: Cpu, i: Insn): void {
  if (c.guestMode) {
    if (i.sub === 7) {
      if (interceptMisc1(c, InterceptMisc1.INVLPGA, SvmExit.INVLPGA)) return;
    } else {
      const [bit, code] = SVM_INSTRUCTIONS[i.sub]!;
      if ((c.icptMisc2 & bit) !== 0) return void exitFromInstruction(c, code, 0, 0, 0);
    }
  }
  c.fault(Vector.UD, -1);
}

/**
 * An exception in guest mode: exits when its vector is intercepted. `info2` is the faulting
 * linear address for #PF (the guest's CR2 is left as it was: APM vol. 2, 15.12). Returns true
 * when it exited.
 */
export function interceptException(c: Cpu, vector: number, errorCode: number): boolean {
  if (((c.icptExceptions >>> vector) & 1) === 0) return false;
  c.exitCode = SvmExit.EXCEPTION + vector;
  c.exitInfo1 = errorCode < 0 ? 0 : errorCode;
  c.exitInfo1Hi = 0;
  c.exitInfo2 = vector === Vector.PF ? c.faultAddress : 0;
  c.exitNrip = c.eip;
  return true;
}

/**
 * A fault while delivering an event in guest mode, intercepted: the event being delivered goes
 * to EXITINTINFO, so that the VMM can deliver it again (APM vol. 2, 15.7.2).
 */
export function recordInterruptedEvent(c: Cpu, vector: number, errorCode: number, source: EventSource, nextEip: number): void {
  const type =
    source === 'software' ? EventInfo.TYPE_SOFT_INT : source === 'exception' ? EventInfo.TYPE_EXCEPTION : source === 'nmi' ? EventInfo.TYPE_NMI : EventInfo.TYPE_INTR;
  // An exit while an NMI was being delivered leaves the guest's NMIs unblocked ("NMI Virtualization"):
  // the VMM delivers it again.
  if (source === 'nmi') c.nmiBlocked = false;
  let info = (vector & 0xff) | (type << EventInfo.TYPE_SHIFT) | EventInfo.VALID;
  if (errorCode >= 0) info |= EventInfo.ERROR_VALID;
  c.exitIntInfo = info;
  c.exitIntError = errorCode < 0 ? 0 : errorCode;
  c.exitNrip = nextEip;
}

/**
 * Between instructions in guest mode: a physical NMI exits (NMI intercept) or, not intercepted,
 * goes to the guest when its NMIs are not blocked; a pending virtual NMI is delivered when they are
 * not; a physical interrupt exits (INTR intercept); a pending virtual interrupt is taken when the
 * guest's IF allows it — exiting for the interrupt window (VINTR intercept) or delivering
 * V_INTR_VECTOR through the guest's IDT. An interrupt shadow holds NMIs too (run-loop.ts). Returns
 * an exit, the `continue` marker null when an event was delivered, or undefined when nothing happened.
 */
export function guestInterrupts(c: Cpu): CpuExit | null | undefined {
  if (c.nmiPending) {
    if ((c.icptMisc1 & InterceptMisc1.NMI) !== 0) {
      c.exitCode = SvmExit.NMI;
      c.exitInfo1 = c.exitInfo1Hi = c.exitInfo2 = 0;
      c.exitNrip = c.eip;
      return VMEXIT;
    }
    if (!c.nmiBlocked && !c.inhibit) {
      c.nmiPending = false;
      return c.deliver(Vector.NMI, -1, 'nmi', 0);
    }
  }
  if (c.vNmiPending && !c.nmiBlocked && !c.inhibit) {
    c.vNmiPending = false;
    return c.deliver(Vector.NMI, -1, 'nmi', 0);
  }
  if (c.irq && (c.icptMisc1 & InterceptMisc1.INTR) !== 0) {
    c.exitCode = SvmExit.INTR;
    c.exitInfo1 = c.exitInfo1Hi = c.exitInfo2 = 0;
    c.exitNrip = c.eip;
    return VMEXIT;
  }
  if (!c.vIrq || c.inhibit || (c.flags & Eflags.IF) === 0) return undefined;
  if ((c.icptMisc1 & InterceptMisc1.VINTR) !== 0) {
    c.exitCode = SvmExit.VINTR;
    c.exitInfo1 = c.exitInfo1Hi = c.exitInfo2 = 0;
    c.exitNrip = c.eip;
    return VMEXIT;
  }
  c.vIrq = false;
  return c.deliver(c.vIntrVector, -1, 'external', 0);
}
