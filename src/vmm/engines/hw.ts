/**
 * Hardware-assisted virtualization, first generation (AMD-V / VT-x before nested paging): the
 * VMM's run loop over VMRUN (hw/cpu/virtualization.ts). The guest kernel runs at ring 0 in guest
 * mode with its own EFLAGS in the VMCB — the lecture's "shadow EFLAGS": CLI, STI, PUSHF and POPF
 * touch only the guest's IF and never exit, so the popf problem is gone. Its system calls,
 * exceptions and IRETs go through its own IDT without the VMM. Memory is still virtualized by
 * shadow page tables (there is no MMU virtualization yet), so the VMM intercepts:
 *
 *   CR0, CR3, CR4 reads and writes  the guest sees its own values (the vCPU's); the hardware runs
 *                                   on the shadow in the VMCB's CR3, with paging and WP on — in
 *                                   real mode too ("paged real mode": CR0.PE=0, PG=1)
 *   #PF                             hidden, true, trace and MMIO faults, as under trap
 *   INVLPG                          the shadow entry goes with the guest's TLB entry
 *   port I/O (every port)           the VM's devices are the VMM's
 *   RDMSR, WRMSR (every MSR)        through the MSR permission map, all ones: emulated on the vCPU
 *                                   against the guest's own MSRs (EFER and the SYSENTER MSRs travel
 *                                   in the VMCB's save area, the TSC offset in TSC_OFFSET)
 *   HLT                             idle until the VM's next interrupt or NMI
 *   CPUID                           the guest sees its own model, without the extension
 *   task switches                   the vCPU switches (JMP, CALL, IRET, a task gate in the IDT):
 *                                   the new task's CR3 must go through the shadow MMU, which the
 *                                   hardware's own switch would bypass (it loads the VMCB's CR3)
 *   VMRUN and its family            #UD: no nested virtualization on offer
 *   INTR, NMI, VINTR, shutdown      host interrupts and NMIs; the interrupt window; a triple fault
 *
 * Virtual interrupts: the VM's interrupt line is the VMM's to deliver. When it is up and the
 * guest's IF (in the VMCB) allows it, the VMM acknowledges the VM's local APIC and puts the vector
 * in EVENTINJ; otherwise it sets V_IRQ, and the CPU exits (VINTR) as soon as the guest opens the
 * window — by STI, by POPF, by IRET. A fault while the CPU delivered an event comes back in
 * EXITINTINFO: once the VMM has fixed the shadow it delivers the event again; if the fault was the
 * guest's own, it applies the double-fault rules (SDM vol. 3, table 6-5) as the CPU would have.
 * NMIs: the VMCB runs with V_NMI_ENABLE, so the guest's NMI blocking lives in V_NMI_BLOCKING and
 * the CPU keeps it (set on delivery, cleared by the guest's IRET). The VM's NMI goes in EVENTINJ
 * (type NMI) when the guest can take it at entry, else in V_NMI_PENDING for the CPU to deliver
 * when the guest's IRET unblocks NMIs; before any interrupt (SDM vol. 3, 6.9).
 *
 * An instruction the VMM must carry out is emulated on the vCPU (the same model as the real CPU)
 * between copies of the guest's state out of and back into the VMCB. Every exit costs the
 * profile's VMM round trip plus the VMM's work, added to the guest's time.
 *
 * The x87: VMRUN and #VMEXIT do not switch the FPU (APM vol. 2, 15.5.1: its state is not in the
 * VMCB), so the guest's FPU lives on the real CPU while the VM has it; the VMM copies it to the
 * vCPU and back around an emulated instruction, and to and from the vCPU when another VM takes
 * the real CPU (suspend, resume). The guest runs with CR0.NE=1; a guest with NE=0 gets #MF
 * intercepted, and the VMM emulates the waiting instruction, whose FERR# is the VM's IRQ 13.
 */
import type { Cpu, CpuExit } from '../../hw/cpu/cpu.ts';
import { loadState, storeState } from '../../hw/cpu/virtualization.ts';
import { add64, sub64 } from '../../hw/cpu/tsc.ts';
import type { PhysicalMemory } from '../../hw/memory/physical-memory.ts';
import type { Tlb } from '../../hw/mmu/tlb.ts';
import type { PcChipset } from '../../hw/platform/chipset.ts';
import { Cr0, Cr4, Efer } from '../../hw/x86/control-registers.ts';
import { Eflags } from '../../hw/x86/eflags.ts';
import { PfError } from '../../hw/x86/paging.ts';
import { Vector } from '../../hw/x86/vectors.ts';
import {
  EventInfo,
  IOPM_BYTES,
  InterceptMisc1,
  InterceptMisc2,
  MSRPM_BYTES,
  SvmExit,
  TLB_FLUSH_ALL,
  V_INTR_MASKING,
  V_IRQ,
  V_NMI_BLOCKING,
  V_NMI_ENABLE,
  V_NMI_PENDING,
  VmcbControl as C,
  VmcbState as S,
  svmExitName,
} from '../../hw/x86/vmcb.ts';
import { ExitCategory, type ExitCategoryName, type ExitStats, emulationExit } from '../exits.ts';
import { peekInstruction, specOf } from '../guest-view.ts';
import type { Profile } from '../profiles.ts';
import { FaultKind, type RealPaging, type ShadowMmu } from '../shadow/shadow-mmu.ts';
import type { VmmWork } from '../work.ts';
import { type LastExit, type VmEngine, type VmExit, followPaging } from './engine.ts';
import { ExitMeter } from './exit-meter.ts';

/** Instructions the guest runs between the VMM's looks at host input. */
const SLICE = 1_000_000;

/** Scratch for 64-bit TSC offsets. */
const scratch64 = new Int32Array(2);

/** CR0 bits of the guest the hardware carries (they change what instructions do); the rest are the VMM's. */
const MIRRORED_CR0 = Cr0.MP | Cr0.EM | Cr0.TS | Cr0.AM;
/** The CR0 the guest runs with: protected mode, paging on the shadows, WP so that traces fault, NE (x87 errors as #MF). */
const REAL_CR0 = Cr0.PE | Cr0.ET | Cr0.NE | Cr0.WP | Cr0.PG;

/** CR4 bits of the guest the hardware carries: TSD, and SMEP/SMAP (checked on the shadows). */
const GUEST_CR4 = Cr4.TSD | Cr4.SMEP | Cr4.SMAP;

const SVM_FAMILY = new Set<number>([SvmExit.VMRUN, SvmExit.VMMCALL, SvmExit.VMLOAD, SvmExit.VMSAVE, SvmExit.STGI, SvmExit.CLGI, SvmExit.SKINIT, SvmExit.INVLPGA]);

/**
 * The shadow MMU's view of the hardware: the shadow root goes into the VMCB's CR3, its format
 * into the VMCB's CR4.PAE and EFER.NXE (VMRUN loads the PDPTE registers from a PAE root).
 */
export class VmcbPaging implements RealPaging {
  /** The shadow root the guest runs on. */
  root = 0;
  /** The root is a PAE PDPT. */
  pae = false;
  readonly tlb: Tlb;
  private readonly real: Cpu;
  private readonly mem: PhysicalMemory;
  private readonly vmcb: number;

  constructor(real: Cpu, mem: PhysicalMemory, vmcb: number) {
    this.real = real;
    this.tlb = real.tlb;
    this.mem = mem;
    this.vmcb = vmcb;
  }

  /** A new address space: the guest's TLB entries go (the TLB is this guest's while the VMM runs). */
  loadRoot(root: number, pae: boolean): void {
    this.root = root & ~0xfff;
    this.pae = pae;
    this.mem.write32(this.vmcb + S.CR3, this.root);
    const cr4 = this.mem.read32(this.vmcb + S.CR4);
    this.mem.write32(this.vmcb + S.CR4, pae ? cr4 | Cr4.PAE : cr4 & ~Cr4.PAE);
    this.mem.write32(this.vmcb + S.EFER, pae ? Efer.NXE : 0);
    this.real.flushTlb();
  }
}

export interface HwEngineParts {
  readonly real: Cpu;
  readonly vcpu: Cpu;
  readonly chipset: PcChipset;
  readonly mmu: ShadowMmu;
  readonly paging: VmcbPaging;
  readonly work: VmmWork;
  readonly profile: Profile;
  readonly hostMem: PhysicalMemory;
  /** Host-physical addresses of the VMCB and of the I/O and MSR permission maps. */
  readonly vmcb: number;
  readonly iopm: number;
  readonly msrpm: number;
  /** The guest's address-space identifier (unique on its host). */
  readonly asid: number;
}

export class HwEngine implements VmEngine {
  readonly exits: ExitStats;
  readonly faults = { hidden: 0, true: 0, trace: 0 };
  injections = 0;
  afterExit: (() => void) | null = null;
  readonly lastExit: LastExit;
  private readonly p: HwEngineParts;
  private readonly meter: ExitMeter;
  private intr = false;
  /** The VM's NMI, not yet handed to the CPU (EVENTINJ or V_NMI_PENDING). */
  private nmi = false;
  private halted = false;
  private stopRequested = false;
  /** An event to deliver at the next VMRUN (EventInfo and error code), or 0. */
  private pendingEvent = 0;
  private pendingError = 0;
  /** The guest has been started (its FPU state lives on the real CPU while it has it). */
  private started = false;

  constructor(parts: HwEngineParts) {
    this.p = parts;
    this.meter = new ExitMeter(parts.real, parts.work, parts.profile);
    this.exits = this.meter.exits;
    this.lastExit = this.meter.last;
  }

  setIntr(level: boolean): void {
    this.intr = level;
  }

  raiseNmi(): void {
    this.nmi = true;
  }

  requestStop(): void {
    this.stopRequested = true;
  }

  /** Writes the control area (what to intercept) and the guest's first state into the VMCB. */
  start(): void {
    const { hostMem: m, vmcb, iopm, mmu } = this.p;
    m.fill(vmcb, 4096, 0);
    m.write16(vmcb + C.CR_READ, (1 << 0) | (1 << 3) | (1 << 4));
    m.write16(vmcb + C.CR_WRITE, (1 << 0) | (1 << 3) | (1 << 4));
    m.write32(vmcb + C.EXCEPTIONS, 1 << Vector.PF);
    const misc1 = InterceptMisc1.INTR | InterceptMisc1.NMI | InterceptMisc1.VINTR | InterceptMisc1.CPUID | InterceptMisc1.HLT | InterceptMisc1.INVLPG | InterceptMisc1.TASK_SWITCH;
    m.write32(vmcb + C.MISC1, misc1 | InterceptMisc1.INVLPGA | InterceptMisc1.IOIO | InterceptMisc1.MSR_PROT | InterceptMisc1.SHUTDOWN);
    m.write32(vmcb + C.MISC2, Object.values(InterceptMisc2).reduce((a, b) => a | b, 0));
    // Every port is the VM's own device, emulated by the VMM.
    m.fill(iopm, IOPM_BYTES, 0xff);
    m.write32(vmcb + C.IOPM_BASE, iopm);
    // Every MSR is the guest's own, in its vCPU: reads and writes exit.
    m.fill(this.p.msrpm, MSRPM_BYTES, 0xff);
    m.write32(vmcb + C.MSRPM_BASE, this.p.msrpm);
    m.write32(vmcb + C.ASID, this.p.asid);
    m.write32(vmcb + C.VINTR, V_INTR_MASKING | V_NMI_ENABLE);
    m.write8(vmcb + C.TLB_CONTROL, TLB_FLUSH_ALL);
    this.syncOut();
    this.p.real.fpu.copyFrom(this.p.vcpu.fpu);
    mmu.activate();
    this.started = true;
  }

  /** Another VM used the real CPU: its TLB holds nothing of ours any more, and the FPU is the other's. */
  resume(): void {
    this.p.hostMem.write8(this.p.vmcb + C.TLB_CONTROL, TLB_FLUSH_ALL);
    if (this.started) this.p.real.fpu.copyFrom(this.p.vcpu.fpu);
  }

  /** The guest's state is in its VMCB whenever the VMM runs, but for the FPU, which stays on the real CPU. */
  suspend(): void {
    if (this.started) this.p.vcpu.fpu.copyFrom(this.p.real.fpu);
  }

  run(maxInstructions: number): VmExit {
    const { real, chipset, vmcb } = this.p;
    real.deadline = chipset.clock.next();
    for (;;) {
      if (this.stopRequested) {
        this.stopRequested = false;
        const stop = chipset.stopExit();
        if (stop !== null) return stop;
      }
      const left = maxInstructions - real.instructions;
      if (left <= 0) return { kind: 'limit', instructions: real.instructions };
      if (this.halted) {
        const exit = this.idle();
        if (exit !== null) return exit;
        continue;
      }
      chipset.pollInputEvery(real.instructions);
      this.prepareEntry();
      // RDTSCP runs natively in guest mode and the VMCB has no IA32_TSC_AUX: the VMM loads the
      // guest's around VMRUN and puts the host's back, as KVM does.
      const hostTscAux = real.msr.tscAux;
      real.msr.tscAux = this.p.vcpu.msr.tscAux;
      const exit = real.vmrun(vmcb, Math.min(left, SLICE));
      real.msr.tscAux = hostTscAux;
      this.p.hostMem.write8(vmcb + C.TLB_CONTROL, 0);
      const end = this.dispatch(exit);
      if (end !== null) return end;
    }
  }

  // ---------------------------------------------------------------- entry: events for the guest

  /**
   * Puts the event to deliver in EVENTINJ — an event to deliver again, else the VM's NMI if the
   * guest can take it now, else an interrupt if its IF allows — or asks for the NMI (V_NMI_PENDING)
   * or the interrupt window (V_IRQ with VINTR intercepted).
   */
  private prepareEntry(): void {
    const { hostMem: m, vmcb, chipset } = this.p;
    let injected = false;
    if (this.pendingEvent !== 0) {
      m.write32(vmcb + C.EVENTINJ, this.pendingEvent);
      m.write32(vmcb + C.EVENTINJ + 4, this.pendingError);
      this.pendingEvent = 0;
      injected = true;
    }
    if (this.nmi) {
      this.nmi = false;
      const vintr = m.read32(vmcb + C.VINTR);
      if (!injected && (vintr & V_NMI_BLOCKING) === 0 && (m.read32(vmcb + C.INTERRUPT_SHADOW) & 1) === 0) {
        m.write32(vmcb + C.EVENTINJ, Vector.NMI | (EventInfo.TYPE_NMI << EventInfo.TYPE_SHIFT) | EventInfo.VALID);
        this.injections++;
        injected = true;
      } else m.write32(vmcb + C.VINTR, vintr | V_NMI_PENDING);
    }
    if (!injected && this.intr && this.canInject()) {
      const vector = chipset.lapic.acknowledge() & 0xff;
      m.write32(vmcb + C.EVENTINJ, vector | (EventInfo.TYPE_INTR << EventInfo.TYPE_SHIFT) | EventInfo.VALID);
      this.injections++;
    }
    const vintr = m.read32(vmcb + C.VINTR);
    m.write32(vmcb + C.VINTR, this.intr ? vintr | V_IRQ : vintr & ~V_IRQ);
  }

  /** The guest's IF is on and it is not in an interrupt shadow. */
  private canInject(): boolean {
    const { hostMem: m, vmcb } = this.p;
    return (m.read32(vmcb + S.RFLAGS) & Eflags.IF) !== 0 && (m.read32(vmcb + C.INTERRUPT_SHADOW) & 1) === 0;
  }

  // ---------------------------------------------------------------- exits

  private dispatch(exit: CpuExit): VmExit | null {
    const { chipset, real } = this.p;
    switch (exit.kind) {
      case 'vmexit':
        this.begin();
        return this.onVmexit(exit.code);
      case 'budget':
        // Not an exit of the guest's: the loop's own slice ended.
        return null;
      case 'deadline':
        this.begin();
        chipset.clock.runDue();
        return this.finish(ExitCategory.EXTERNAL_INTERRUPT, 'timer');
      case 'request':
      case 'halt':
        return null;
      case 'unsupported':
        return { kind: 'unsupported', feature: exit.feature, eip: exit.eip };
      case 'reset':
      case 'trap':
      case 'interrupt':
      case 'nmi':
        throw new Error(`hw engine: VMRUN returned '${exit.kind}' at eip 0x${(real.eip >>> 0).toString(16)}`);
      default: {
        const never: never = exit;
        throw new Error(`hw engine: unknown CPU exit ${JSON.stringify(never)}`);
      }
    }
  }

  private onVmexit(code: number): VmExit | null {
    const { hostMem: m, vmcb, real } = this.p;
    const info1 = m.read32(vmcb + C.EXITINFO1);
    if (code === SvmExit.INVALID) return { kind: 'vmm-failure', message: `the CPU refused the VMCB: ${real.vmrunRefusal}` };
    if (code === SvmExit.EXCEPTION + Vector.PF) return this.onPageFault(m.read32(vmcb + C.EXITINFO2), info1);
    // Intercepted only while the guest's CR0.NE is 0: the vCPU freezes on FERR# (the VM's IRQ 13).
    if (code === SvmExit.EXCEPTION + Vector.MF) return this.emulate(ExitCategory.EXCEPTION);
    if (code === SvmExit.SHUTDOWN) return { kind: 'triple-fault', vector: info1 };
    if (code === SvmExit.VINTR) return this.finish(ExitCategory.EXTERNAL_INTERRUPT, 'interrupt window');
    if (code === SvmExit.INTR) return this.finish(ExitCategory.EXTERNAL_INTERRUPT, 'host interrupt');
    if (code === SvmExit.NMI) {
      // The host's own NMI (the host has no NMI sources; handled, it is gone).
      real.nmiPending = false;
      return this.finish(ExitCategory.EXTERNAL_INTERRUPT, 'host NMI');
    }
    if (SVM_FAMILY.has(code)) {
      // No nested virtualization: the guest gets what a CPU without SVM gives it.
      this.queueEvent(Vector.UD, EventInfo.TYPE_EXCEPTION, -1);
      return this.finish(ExitCategory.INSTRUCTION, svmExitName(code).toLowerCase());
    }
    if (code === SvmExit.IOIO || code === SvmExit.HLT || code === SvmExit.CPUID || code === SvmExit.INVLPG || code === SvmExit.MSR) return this.emulate(null);
    if (code === SvmExit.TASK_SWITCH) return this.onTaskSwitch();
    if (code >= SvmExit.CR0_READ && code < SvmExit.CR0_WRITE + 16) return this.emulate(null);
    throw new Error(`hw engine: exit ${svmExitName(code)}, which the VMM does not intercept`);
  }

  private onPageFault(gva: number, errorCode: number): VmExit | null {
    const { hostMem: m, vmcb, mmu } = this.p;
    this.lastExit.gva = gva >>> 0;
    const interrupted = m.read32(vmcb + C.EXITINTINFO);
    const interruptedError = m.read32(vmcb + C.EXITINTINFO + 4);
    // EFLAGS.AC of the guest (SMAP); a supervisor access (U/S=0) at CPL 3 is the CPU's own, implicit.
    const implicit = (errorCode & PfError.U) === 0 && (m.read8(vmcb + S.CPL) & 3) === 3;
    const kind = mmu.handlePageFault(gva, errorCode, m.read32(vmcb + S.RFLAGS), implicit);
    switch (kind) {
      case FaultKind.HIDDEN:
        this.faults.hidden++;
        this.redeliver(interrupted, interruptedError);
        return this.finish(mmu.lastFaultPagedIn ? ExitCategory.PAGING_FAULT : ExitCategory.HIDDEN_FAULT, '');
      case FaultKind.TRUE:
        this.faults.true++;
        return this.trueFault(gva, mmu.trueFaultError, interrupted);
      default: {
        const category = kind === FaultKind.TRACE ? ExitCategory.TRACE_FAULT : kind === FaultKind.MMIO ? ExitCategory.MMIO : null;
        if (kind === FaultKind.TRACE) this.faults.trace++;
        // The access was the CPU's own, delivering an event: the VMM delivers it in software.
        if ((interrupted & EventInfo.VALID) !== 0) return this.deliverInSoftware(interrupted, interruptedError, category ?? ExitCategory.HIDDEN_FAULT);
        return this.emulate(category);
      }
    }
  }

  /**
   * A task switch, intercepted before it began (APM vol. 2, 15.14): by an event through a task gate
   * in the IDT (in EXITINTINFO), delivered again on the vCPU; or by JMP, CALL or IRET, emulated.
   * Either way the vCPU switches with the guest's tables, and its new CR3 goes to the shadow MMU.
   */
  private onTaskSwitch(): VmExit | null {
    const { hostMem: m, vmcb } = this.p;
    const interrupted = m.read32(vmcb + C.EXITINTINFO);
    if ((interrupted & EventInfo.VALID) === 0) return this.emulate(null);
    const type = (interrupted >>> EventInfo.TYPE_SHIFT) & 7;
    const category = type === EventInfo.TYPE_SOFT_INT ? ExitCategory.SOFTWARE_INTERRUPT : type === EventInfo.TYPE_EXCEPTION ? ExitCategory.EXCEPTION : ExitCategory.EXTERNAL_INTERRUPT;
    return this.deliverInSoftware(interrupted, m.read32(vmcb + C.EXITINTINFO + 4), category);
  }

  /** After a hidden fault: the event the CPU was delivering is delivered again (INT n re-executes by itself). */
  private redeliver(info: number, errorCode: number): void {
    if ((info & EventInfo.VALID) === 0) return;
    if (((info >>> EventInfo.TYPE_SHIFT) & 7) === EventInfo.TYPE_SOFT_INT) return;
    this.pendingEvent = info;
    this.pendingError = errorCode;
  }

  /**
   * The guest's own page fault: #PF with its CR2 — or, when it struck while the CPU delivered a
   * #PF, a double fault, and while delivering a double fault, a triple fault (SDM vol. 3,
   * table 6-5: a #PF after a contributory exception is delivered as is).
   */
  private trueFault(gva: number, errorCode: number, interrupted: number): VmExit | null {
    const { hostMem: m, vmcb } = this.p;
    m.write32(vmcb + S.CR2, gva);
    const first = (interrupted & EventInfo.VALID) !== 0 && ((interrupted >>> EventInfo.TYPE_SHIFT) & 7) === EventInfo.TYPE_EXCEPTION ? interrupted & 0xff : -1;
    if (first === Vector.DF) return { kind: 'triple-fault', vector: Vector.PF };
    if (first === Vector.PF) this.queueEvent(Vector.DF, EventInfo.TYPE_EXCEPTION, 0);
    else this.queueEvent(Vector.PF, EventInfo.TYPE_EXCEPTION, errorCode);
    return this.finish(ExitCategory.TRUE_FAULT, '');
  }

  private queueEvent(vector: number, type: number, errorCode: number): void {
    let info = vector | (type << EventInfo.TYPE_SHIFT) | EventInfo.VALID;
    if (errorCode >= 0) info |= EventInfo.ERROR_VALID;
    this.pendingEvent = info;
    this.pendingError = errorCode < 0 ? 0 : errorCode;
  }

  /** Delivers an event through the guest's IDT on the vCPU (its writes go through the traces). */
  private deliverInSoftware(info: number, errorCode: number, category: ExitCategoryName): VmExit | null {
    const v = this.p.vcpu;
    this.syncIn();
    const before = { cr0: v.cr0, cr3: v.cr3, cr4: v.cr4, efer: v.efer };
    const type = (info >>> EventInfo.TYPE_SHIFT) & 7;
    const source = type === EventInfo.TYPE_SOFT_INT ? 'software' : type === EventInfo.TYPE_EXCEPTION ? 'exception' : type === EventInfo.TYPE_NMI ? 'nmi' : 'external';
    const nrip = this.p.hostMem.read32(this.p.vmcb + C.NRIP);
    const length = source === 'software' ? (nrip - v.eip) | 0 : 0;
    if (source === 'software') v.eip = nrip;
    const exit = this.meter.deliver(v, info & 0xff, (info & EventInfo.ERROR_VALID) !== 0 ? errorCode : -1, source, length);
    if (exit !== null && exit.kind === 'reset') return { kind: 'triple-fault', vector: exit.vector };
    this.syncOut();
    // Through a task gate the delivery switched tasks: the new task's CR3 (APM vol. 2, 15.14).
    followPaging(this.p.mmu, v, before, null);
    return this.finish(category, 'event delivery');
  }

  /**
   * Emulates the guest instruction at CS:EIP on the vCPU. `category` names the exit, or null to
   * name it by the instruction (a control-register access, I/O, HLT, CPUID, INVLPG).
   */
  private emulate(category: ExitCategoryName | null): VmExit | null {
    const { vcpu: v, mmu } = this.p;
    this.syncIn();
    const insn = peekInstruction(v);
    const name = insn === null ? '' : specOf(insn).name;
    const before = { cr0: v.cr0, cr3: v.cr3, cr4: v.cr4, efer: v.efer };
    const invlpgAt = name === 'invlpg' ? this.p.hostMem.read32(this.p.vmcb + C.EXITINFO1) : 0;
    const exit = this.meter.step(v);
    if (exit.kind === 'reset') return { kind: 'triple-fault', vector: exit.vector };
    if (exit.kind === 'unsupported') return { kind: 'unsupported', feature: exit.feature, eip: exit.eip };
    if (exit.kind === 'halt') this.halted = true;
    this.syncOut();
    followPaging(mmu, v, before, insn);
    if (name === 'invlpg') mmu.invalidatePage(invlpgAt);
    const exitName = emulationExit(category, insn);
    return this.finish(exitName.category, exitName.detail);
  }

  // ---------------------------------------------------------------- the guest's state: VMCB <-> vCPU

  /**
   * The guest's registers from the VMCB into the vCPU, which keeps the guest's own CR0, CR3, CR4
   * and EFER (the VMCB's are the shadows' format) and its MSRs but the SYSENTER ones the save area
   * holds; its NMI blocking and TSC
   * offset (the host's plus TSC_OFFSET) from the VMCB's control area.
   */
  private syncIn(): void {
    const { vcpu: v, hostMem: m, vmcb, real } = this.p;
    const cr0 = v.cr0;
    const cr3 = v.cr3;
    const cr4 = v.cr4;
    const efer = v.efer;
    loadState(v, m, vmcb);
    v.fpu.copyFrom(real.fpu);
    v.cr0 = cr0;
    v.cr3 = cr3;
    v.cr4 = cr4;
    v.efer = efer;
    v.refreshAccessChecks();
    v.inhibit = (m.read32(vmcb + C.INTERRUPT_SHADOW) & 1) !== 0;
    v.nmiBlocked = (m.read32(vmcb + C.VINTR) & V_NMI_BLOCKING) !== 0;
    v.cycles = real.cycles;
    add64(real.msr.tscOffsetLo, real.msr.tscOffsetHi, m.read32(vmcb + C.TSC_OFFSET), m.read32(vmcb + C.TSC_OFFSET + 4), scratch64);
    v.msr.tscOffsetLo = scratch64[0]!;
    v.msr.tscOffsetHi = scratch64[1]!;
  }

  /** The vCPU's registers into the VMCB, with the control registers the hardware must run the guest with. */
  private syncOut(): void {
    const { vcpu: v, hostMem: m, vmcb, paging, real } = this.p;
    storeState(v, m, vmcb);
    if (this.started) real.fpu.copyFrom(v.fpu);
    // A real-mode guest runs in "paged real mode" (APM vol. 2, 15.19): PE clear, paging on the
    // physical-mode shadow, which VMRUN allows.
    m.write32(vmcb + S.CR0, (REAL_CR0 & ~(Cr0.PE & ~v.cr0)) | (v.cr0 & MIRRORED_CR0));
    // #MF comes to the VMM only for a guest with CR0.NE=0 (see REAL_CR0).
    m.write32(vmcb + C.EXCEPTIONS, (1 << Vector.PF) | ((v.cr0 & Cr0.NE) === 0 ? 1 << Vector.MF : 0));
    m.write32(vmcb + S.CR3, paging.root);
    // The guest's SMEP and SMAP act on the hardware's walk of the shadows as on its own tables
    // (its kernel runs at ring 0: supervisor); PAE and NXE are the shadows' format.
    m.write32(vmcb + S.CR4, (v.cr4 & GUEST_CR4) | (paging.pae ? Cr4.PAE : 0));
    m.write32(vmcb + S.EFER, paging.pae ? Efer.NXE : 0);
    m.write32(vmcb + C.INTERRUPT_SHADOW, v.inhibit ? 1 : 0);
    const vintr = m.read32(vmcb + C.VINTR);
    m.write32(vmcb + C.VINTR, v.nmiBlocked ? vintr | V_NMI_BLOCKING : vintr & ~V_NMI_BLOCKING);
    sub64(v.msr.tscOffsetLo, v.msr.tscOffsetHi, real.msr.tscOffsetLo, real.msr.tscOffsetHi, scratch64);
    m.write32(vmcb + C.TSC_OFFSET, scratch64[0]!);
    m.write32(vmcb + C.TSC_OFFSET + 4, scratch64[1]!);
  }

  // ---------------------------------------------------------------- idling

  /**
   * The guest halted: as a PC would, wait for an interrupt or an NMI (skipping idle time); with
   * its IF off only an NMI can wake it (board.ts, waitWhileHalted).
   */
  private idle(): VmExit | null {
    const { real, chipset, hostMem: m, vmcb } = this.p;
    const blocked = (): boolean => (m.read32(vmcb + C.VINTR) & V_NMI_BLOCKING) !== 0;
    const nmi = (): boolean => (this.nmi || (m.read32(vmcb + C.VINTR) & V_NMI_PENDING) !== 0) && !blocked();
    if ((m.read32(vmcb + S.RFLAGS) & Eflags.IF) === 0) {
      if (!nmi() && (blocked() || !chipset.nmiArmed())) return { kind: 'halted' };
      if (chipset.waitForWakeup(nmi, real) === 'idle-forever') return { kind: 'halted' };
    } else if (chipset.waitForWakeup(() => this.intr || nmi(), real) === 'idle-forever') return { kind: 'idle-forever' };
    this.halted = false;
    this.begin();
    this.record(ExitCategory.EXTERNAL_INTERRUPT, 'wake-up from halt');
    return null;
  }

  // ---------------------------------------------------------------- cost accounting

  private begin(): void {
    const { hostMem: m, vmcb } = this.p;
    this.meter.begin(m.read32(vmcb + S.RIP), m.read8(vmcb + S.CPL) & 3);
  }

  private finish(category: ExitCategoryName, detail: string): VmExit | null {
    this.record(category, detail);
    return null;
  }

  /** Charges the exit's cycles to simulated time and counts it under its reason. */
  private record(category: ExitCategoryName, detail: string): void {
    this.meter.record(category, detail);
    this.afterExit?.();
  }
}
