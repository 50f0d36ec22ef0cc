/**
 * Trap-and-emulate: the VMM's run loop over the real CPU in monitor mode (ARCHITECTURE.md, "the
 * run loop"). The guest kernel runs at ring 1 and its user code at ring 3, natively, on the
 * shadow page tables; every exception and interrupt comes back here as an exit:
 *
 *   #GP, #NP, #SS   a privileged or sensitive instruction (CLI, STI, HLT, MOV CRn, LGDT, IN,
 *                   OUT, IRET to ring 0 or 3, a segment load the shadow GDT refuses, ...):
 *                   emulated — the vCPU executes that one instruction with the hardware's own
 *                   semantics, which may also mean raising the guest's own exception;
 *   #PF             the shadow MMU decides: hidden fault (filled), true fault (reflected),
 *                   trace fault or MMIO (emulated);
 *   anything else   the guest's own exception or INT n: reflected through its IDT;
 *   halt            the real CPU froze at a waiting x87 instruction with an exception pending
 *                   and the guest's CR0.NE=0 (its FERR# goes nowhere): emulated, so that the vCPU
 *                   freezes on its own FERR#, the VM's IRQ 13, as the guest's PC would;
 *   deadline        the host timer: the VM's devices run, and may raise an interrupt;
 *   interrupt       the VM's interrupt line while the guest's IF is on;
 *   nmi             the VM's NMI line (wired to the real CPU's NMI input) while the guest's NMIs
 *                   are not blocked — the real CPU's blocking is the guest's (vcpu.ts).
 * Before the guest runs again, a pending NMI is injected if the guest's NMIs are not blocked,
 * else a pending interrupt if the virtual IF allows it (SDM vol. 3, 6.9: NMI before INTR).
 * Every exit costs the profile's round trip plus the VMM's work (work.ts), added to simulated
 * time, so the guest's clocks see the VMM's overhead as they would on real hardware.
 *
 * Real mode and tasks: a guest in real mode runs in virtual-8086 mode on the real CPU
 * (real-mode-v86.ts), its IOPL-sensitive and privileged instructions trapping (#GP) and emulated
 * in real mode on the vCPU; what V86 cannot express (segment caches kept from protected mode,
 * unreal mode) the VMM interprets on the vCPU until it can (the guest's state then lives on the
 * vCPU). A guest task switch — a far JMP or CALL to a TSS or task gate (system descriptors are
 * absent from the shadow GDT), IRET with NT=1 (the real TSS's null back link, #TS), an event
 * through a task gate — is done by the vCPU with the guest's own TSSes and tables; the shadow
 * MMU follows its CR3 and the shadow LDT its LDTR. The guest's virtual-8086 tasks run in V86 mode
 * on the real CPU.
 */
import type { Cpu, CpuExit, EventSource } from '../../hw/cpu/cpu.ts';
import type { Insn } from '../../hw/cpu/insn.ts';
import { ea } from '../../hw/cpu/operands.ts';
import type { PcChipset } from '../../hw/platform/chipset.ts';
import type { GuestPhysicalMemory } from '../memory/guest-memory.ts';
import { type LastExit, type VmEngine, type VmExit, followPaging } from './engine.ts';
import { ExitMeter } from './exit-meter.ts';
import { Eflags } from '../../hw/x86/eflags.ts';
import { Vector, vectorName } from '../../hw/x86/vectors.ts';
import { ExitCategory, type ExitCategoryName, type ExitStats, emulationExit } from '../exits.ts';
import { peekInstruction, specOf } from '../guest-view.ts';
import { guestCpl } from '../ring-compression.ts';
import { type SensitiveFailure, SensitiveWatch } from '../sensitive-watch.ts';
import type { Profile } from '../profiles.ts';
import type { ShadowDescriptorTable } from '../shadow/descriptor-tables.ts';
import { FaultKind, type ShadowMmu } from '../shadow/shadow-mmu.ts';
import { fitsV86, inRealMode } from '../real-mode-v86.ts';
import { type RealTables, syncIn, syncOut } from '../vcpu.ts';
import type { VmmWork } from '../work.ts';

export type { VmExit } from './engine.ts';

export interface TrapEngineParts {
  readonly real: Cpu;
  readonly vcpu: Cpu;
  /** The guest-physical view the vCPU runs over. */
  readonly guestMem: GuestPhysicalMemory;
  readonly chipset: PcChipset;
  readonly mmu: ShadowMmu;
  readonly gdt: ShadowDescriptorTable;
  readonly ldt: ShadowDescriptorTable;
  /** Host-physical address of the real CPU's TSS (vcpu.ts, realTssInit). */
  readonly tss: number;
  readonly work: VmmWork;
  readonly profile: Profile;
}

/** The guest's system-table and paging registers before the vCPU ran for it (what resync compares). */
interface SystemState {
  cr0: number;
  cr3: number;
  cr4: number;
  efer: number;
  gdtBase: number;
  gdtLimit: number;
  ldtSel: number;
  ldtBase: number;
  ldtLimit: number;
}

/** Instructions of real-mode code the VMM interprets in one go before it looks at time and interrupts. */
const INTERPRET_SLICE = 256;

/** DR6 after reset (SDM vol. 3, 17.2.3): reserved bits set, no status. */
const DR6_RESET = 0xffff0ff0 | 0;

/** Instructions the real CPU runs between looks at host input. */
const SLICE = 1_000_000;

export class TrapEngine implements VmEngine {
  readonly exits: ExitStats;
  readonly faults = { hidden: 0, true: 0, trace: 0 };
  /** Interrupts injected into the guest. */
  injections = 0;
  readonly watch: SensitiveWatch;
  /** Called after every exit (tests: the shadow audit; examples: tracing exits). */
  afterExit: (() => void) | null = null;
  /** The exit just handled, for afterExit: its reason, cost, where the guest was, the faulting GVA. */
  readonly lastExit: LastExit;
  private readonly p: TrapEngineParts;
  private readonly meter: ExitMeter;
  private readonly tables: RealTables;
  /** The VM's INTR line (from its local APIC). */
  private intr = false;
  /** The VM's NMI, latched until the guest takes it (on the real CPU's NMI input while the VM runs there). */
  private nmi = false;
  /** The guest executed HLT and waits for an interrupt. */
  private halted = false;
  private stopRequested = false;
  private failure: SensitiveFailure | null = null;
  /** The guest has been started (its state lives on the real CPU while it runs). */
  private started = false;
  /** The guest's state lives on the vCPU: real-mode code the VMM interprets (interpretSlice). */
  private onVcpu = false;
  private readonly before: SystemState = { cr0: 0, cr3: 0, cr4: 0, efer: 0, gdtBase: 0, gdtLimit: 0, ldtSel: 0, ldtBase: 0, ldtLimit: 0 };

  constructor(parts: TrapEngineParts) {
    this.p = parts;
    this.watch = new SensitiveWatch(parts.guestMem);
    this.tables = { gdt: parts.gdt, ldt: parts.ldt, tss: parts.tss };
    this.meter = new ExitMeter(parts.real, parts.work, parts.profile);
    this.exits = this.meter.exits;
    this.lastExit = this.meter.last;
  }

  /** The chipset's INTR output. */
  setIntr(level: boolean): void {
    this.intr = level;
    this.updateRealIrq();
  }

  /**
   * The VM's interrupt reaches the real CPU (as an 'interrupt' exit) only while the guest's
   * virtual IF is set: with it clear, the VMM holds the interrupt until an STI or IRET (which
   * trap) sets it. The real IF itself is always 1 (vcpu.ts).
   */
  private updateRealIrq(): void {
    this.p.real.setIrq(this.intr && (this.p.vcpu.flags & Eflags.IF) !== 0);
  }

  /** The chipset's NMI output: latched on the real CPU's NMI input, which exits when the guest can take it. */
  raiseNmi(): void {
    this.nmi = true;
    this.p.real.raiseNmi();
  }

  /** A device asked the run to stop (debug exit, keyboard-controller reset). */
  requestStop(): void {
    this.stopRequested = true;
    this.p.real.requestExit('device');
  }

  /** Puts the booted vCPU's state on the real CPU: shadows for its tables and paging. */
  start(): void {
    const { vcpu, gdt, ldt, mmu } = this.p;
    gdt.load(vcpu.gdtBase, vcpu.gdtLimit);
    ldt.load(vcpu.ldtBase, vcpu.ldtSel & 0xfffc ? vcpu.ldtLimit : -1);
    this.putState();
    mmu.activate();
    this.started = true;
  }

  /**
   * Puts the guest back on the real CPU after another VM ran there (the vCPU holds its state):
   * registers, its shadow in CR3 (the TLB starts empty), its INTR line and its next timer event.
   */
  resume(): void {
    if (!this.started) return;
    const { real, mmu, chipset } = this.p;
    this.putState();
    mmu.reload();
    this.updateRealIrq();
    real.nmiPending = this.nmi;
    real.deadline = chipset.clock.next();
  }

  /** Takes the guest's state off the real CPU into the vCPU. */
  suspend(): void {
    if (this.started) this.takeState();
    this.p.real.nmiPending = false;
  }

  /** The guest's state onto the vCPU (from the real CPU, unless the VMM is interpreting it). */
  private takeState(): void {
    if (!this.onVcpu) syncIn(this.p.real, this.p.vcpu);
  }

  /**
   * The guest's state onto the real CPU, in the form it runs natively in: ring-compressed protected
   * mode, or virtual-8086 mode for real-mode code that fits it; real-mode code that does not stays
   * on the vCPU and is interpreted.
   */
  private putState(): void {
    const v = this.p.vcpu;
    this.onVcpu = inRealMode(v) && !fitsV86(v);
    if (!this.onVcpu) syncOut(v, this.p.real, this.tables);
    this.updateRealIrq();
  }

  run(maxInstructions: number): VmExit {
    const { real, chipset } = this.p;
    real.deadline = chipset.clock.next();
    for (;;) {
      if (this.stopRequested) {
        this.stopRequested = false;
        const stop = chipset.stopExit();
        if (stop !== null) return stop;
      }
      if (this.failure !== null) return { kind: 'not-virtualizable', ...this.failure };
      const left = maxInstructions - real.instructions;
      if (left <= 0) return { kind: 'limit', instructions: real.instructions };
      if (this.halted) {
        const exit = this.idle();
        if (exit !== null) return exit;
        continue;
      }
      chipset.pollInputEvery(real.instructions);
      if (this.onVcpu) {
        const end = this.interpretSlice(left);
        if (end !== null) return end;
        continue;
      }
      // With the guest's virtual IF clear, PUSHF and POPF would differ from the bare machine:
      // run only as far as the VMM has looked (sensitive-watch.ts).
      let budget = Math.min(left, SLICE);
      if ((this.p.vcpu.flags & Eflags.IF) === 0 && real.cpl === 1) {
        const look = this.watch.inspect(real, this.p.vcpu);
        if (typeof look !== 'number') {
          this.failure = look;
          continue;
        }
        budget = Math.min(budget, look);
      }
      const exit = real.run(budget);
      const end = this.dispatch(exit);
      if (end !== null) return end;
    }
  }

  // ---------------------------------------------------------------- exits

  private dispatch(exit: CpuExit): VmExit | null {
    switch (exit.kind) {
      case 'budget':
        // Not an exit of the guest's: the loop's own slice ended (or the sensitive-instruction
        // watch let only a block run).
        return null;
      case 'deadline':
        this.begin();
        this.p.chipset.clock.runDue();
        return this.finish(ExitCategory.EXTERNAL_INTERRUPT, 'timer');
      case 'interrupt':
        this.begin();
        return this.finish(ExitCategory.EXTERNAL_INTERRUPT, 'device');
      case 'nmi':
        // The real CPU took the NMI off its input: it is the guest's, now deliverable.
        this.begin();
        this.p.real.nmiPending = true;
        return this.finish(ExitCategory.EXTERNAL_INTERRUPT, 'NMI');
      case 'trap':
        this.begin();
        return this.onTrap(exit.vector, exit.errorCode, exit.cr2, exit.source, exit.length);
      case 'request':
        return null;
      case 'unsupported':
        return { kind: 'unsupported', feature: exit.feature, eip: exit.eip };
      case 'halt':
        // HLT traps at ring 1 and 3: only an x87 freeze (CR0.NE=0, an exception pending) halts it.
        this.begin();
        this.p.real.halted = false;
        return this.emulate(ExitCategory.EXCEPTION);
      case 'reset':
      case 'vmexit':
        throw new Error(`trap engine: the real CPU cannot ${exit.kind} in monitor mode`);
      default: {
        const never: never = exit;
        throw new Error(`trap engine: unknown CPU exit ${JSON.stringify(never)}`);
      }
    }
  }

  private onTrap(vector: number, errorCode: number, cr2: number, source: EventSource, length: number): VmExit | null {
    // STAC and CLAC are #UD above CPL 0: the guest kernel's (at ring 1) are emulated.
    if (vector === Vector.UD && this.p.real.cpl === 1 && this.isStacClac()) return this.emulate(null);
    switch (vector) {
      case Vector.GP:
      case Vector.NP:
      case Vector.SS:
      // Only a guest IRET with NT=1 raises #TS on the real CPU (its TSS's back link is null).
      case Vector.TS:
        return this.emulate(null);
      case Vector.PF:
        return this.onPageFault(cr2, errorCode);
      default: {
        // A debug exception's status is in the real DR6 (SDM vol. 3, 17.2.3): it is the guest's, and
        // the guest reads DR6 from its vCPU. The real DR6 returns to its reset state for the next.
        if (vector === Vector.DB && source === 'exception') {
          this.p.vcpu.dr[6] = this.p.real.dr[6]!;
          this.p.real.dr[6] = DR6_RESET;
        }
        const end = this.reflect(vector, errorCode, source, length, 0);
        if (end !== null) return end;
        if (source === 'software') return this.finish(ExitCategory.SOFTWARE_INTERRUPT, vectorName(vector));
        return this.finish(ExitCategory.EXCEPTION, vectorName(vector));
      }
    }
  }

  /** The instruction at the guest's CS:EIP is STAC or CLAC. */
  private isStacClac(): boolean {
    syncIn(this.p.real, this.p.vcpu);
    const insn = peekInstruction(this.p.vcpu);
    const name = insn === null ? '' : specOf(insn).name;
    return name === 'stac' || name === 'clac';
  }

  private onPageFault(gva: number, errorCode: number): VmExit | null {
    this.lastExit.gva = gva >>> 0;
    // The real EFLAGS.AC is the guest's (SMAP); the real CPU makes no implicit linear accesses in monitor mode.
    const kind = this.p.mmu.handlePageFault(gva, errorCode, this.p.real.flags);
    switch (kind) {
      case FaultKind.HIDDEN:
        this.faults.hidden++;
        return this.finish(this.p.mmu.lastFaultPagedIn ? ExitCategory.PAGING_FAULT : ExitCategory.HIDDEN_FAULT, '');
      case FaultKind.TRUE: {
        this.faults.true++;
        const end = this.reflect(Vector.PF, this.p.mmu.trueFaultError, 'exception', 0, gva);
        return end ?? this.finish(ExitCategory.TRUE_FAULT, '');
      }
      case FaultKind.TRACE:
        this.faults.trace++;
        return this.emulate(ExitCategory.TRACE_FAULT);
      case FaultKind.MMIO:
        return this.emulate(ExitCategory.MMIO);
      default:
        return this.emulate(null);
    }
  }

  /**
   * Emulates the guest instruction at CS:EIP on the vCPU. `category` names the exit, or null to
   * name it by the instruction (a privileged instruction, I/O, HLT).
   */
  private emulate(category: ExitCategoryName | null): VmExit | null {
    const { vcpu: v, mmu } = this.p;
    this.takeState();
    const insn = peekInstruction(v);
    const name = insn === null ? '' : specOf(insn).name;
    this.noteSystemState();
    const invlpgAt = name === 'invlpg' && insn !== null ? this.linearOperand(insn) : 0;
    const exit = this.meter.step(v);
    if (exit.kind === 'reset') return { kind: 'triple-fault', vector: exit.vector };
    if (exit.kind === 'unsupported') return { kind: 'unsupported', feature: exit.feature, eip: exit.eip };
    if (exit.kind === 'halt') this.halted = true;
    this.resync(insn);
    if (name === 'invlpg') mmu.invalidatePage(invlpgAt);
    const exitName = emulationExit(category, insn);
    return this.finish(exitName.category, exitName.detail);
  }

  /** Remembers the guest's system registers before the vCPU runs for it (resync compares). */
  private noteSystemState(): void {
    const v = this.p.vcpu;
    const b = this.before;
    b.cr0 = v.cr0;
    b.cr3 = v.cr3;
    b.cr4 = v.cr4;
    b.efer = v.efer;
    b.gdtBase = v.gdtBase;
    b.gdtLimit = v.gdtLimit;
    b.ldtSel = v.ldtSel;
    b.ldtBase = v.ldtBase;
    b.ldtLimit = v.ldtLimit;
  }

  /**
   * After the vCPU ran for the guest (an emulated instruction, a reflected or injected event, which
   * may have switched tasks or left real mode): the guest's state back where it runs, and the
   * shadows after what changed of its system state — its GDT and LDT, its paging registers.
   */
  private resync(insn: Insn | null): void {
    const { vcpu: v, mmu, gdt, ldt } = this.p;
    const b = this.before;
    this.putState();
    if (v.gdtBase !== b.gdtBase || v.gdtLimit !== b.gdtLimit) gdt.load(v.gdtBase, v.gdtLimit);
    if (v.ldtSel !== b.ldtSel || v.ldtBase !== b.ldtBase || v.ldtLimit !== b.ldtLimit) ldt.load(v.ldtBase, v.ldtSel & 0xfffc ? v.ldtLimit : -1);
    if (followPaging(mmu, v, b, insn)) {
      gdt.refresh();
      ldt.refresh();
    }
  }

  /**
   * Real-mode code virtual-8086 mode cannot express (fitsV86): the VMM interprets it on the vCPU,
   * an instruction at a time — up to INTERPRET_SLICE of them, until it fits V86 again or leaves real
   * mode, halts, or an interrupt it can take is waiting — and counts the stretch as one exit.
   */
  private interpretSlice(left: number): VmExit | null {
    const { vcpu: v, real } = this.p;
    this.begin();
    v.cycles = real.cycles;
    for (let n = 0; n < INTERPRET_SLICE && n < left; n++) {
      this.noteSystemState();
      const exit = this.meter.step(v);
      if (exit.kind === 'reset') return { kind: 'triple-fault', vector: exit.vector };
      if (exit.kind === 'unsupported') return { kind: 'unsupported', feature: exit.feature, eip: exit.eip };
      this.resync(null);
      if (exit.kind === 'halt') {
        this.halted = true;
        break;
      }
      if (!this.onVcpu || this.stopRequested || this.canInject() || v.cycles >= real.deadline) break;
    }
    const end = this.finish(ExitCategory.INSTRUCTION, 'interpreted (real mode)');
    if (end !== null) return end;
    // The host timer came due while the VMM interpreted: as if the real CPU had returned for it.
    return real.cycles >= real.deadline ? this.dispatch({ kind: 'deadline' }) : null;
  }

  /** Guest-linear address of an instruction's memory operand (INVLPG's page). */
  private linearOperand(insn: Insn): number {
    const v = this.p.vcpu;
    return (v.segBase[insn.seg]! + ea(v, insn)) | 0;
  }

  /**
   * Reflects an event into the guest through its IDT, as the hardware would have delivered it
   * natively: the frame on the guest's stack (switching to its ring-0 stack from ring 3), the
   * error code, CR2 for a page fault. Returns an exit on a triple fault.
   */
  private reflect(vector: number, errorCode: number, source: EventSource, length: number, cr2: number): VmExit | null {
    const v = this.p.vcpu;
    this.takeState();
    this.noteSystemState();
    if (vector === Vector.PF) v.cr2 = cr2;
    const exit = this.meter.deliver(v, vector, errorCode, source, length);
    if (exit !== null && exit.kind === 'reset') return { kind: 'triple-fault', vector: exit.vector };
    this.resync(null);
    return null;
  }

  // ---------------------------------------------------------------- interrupts and idling

  private canInject(): boolean {
    const inhibit = this.onVcpu ? this.p.vcpu.inhibit : this.p.real.inhibit;
    return this.intr && (this.p.vcpu.flags & Eflags.IF) !== 0 && !inhibit;
  }

  /** The VM's NMI waits and the guest's NMIs are not blocked (the real CPU holds the guest's blocking). */
  private canInjectNmi(): boolean {
    const real = this.p.real;
    return this.nmi && !real.nmiBlocked && !real.inhibit;
  }

  /** Delivers the VM's NMI into the guest: vector 2 through its IDT, NMIs blocked until its IRET. */
  private injectNmi(): VmExit | null {
    const { real, vcpu: v } = this.p;
    syncIn(real, v);
    this.nmi = false;
    real.nmiPending = false;
    const exit = this.meter.deliver(v, Vector.NMI, -1, 'nmi', 0);
    this.injections++;
    this.halted = false;
    if (exit !== null && exit.kind === 'reset') return { kind: 'triple-fault', vector: exit.vector };
    syncOut(v, real, this.tables);
    return null;
  }

  /** Delivers the VM's pending interrupt into the guest (its IF allows it). */
  private inject(): VmExit | null {
    const { vcpu: v, chipset } = this.p;
    this.takeState();
    this.noteSystemState();
    const vector = chipset.lapic.acknowledge() & 0xff;
    const exit = this.meter.deliver(v, vector, -1, 'external', 0);
    this.injections++;
    this.halted = false;
    if (exit !== null && exit.kind === 'reset') return { kind: 'triple-fault', vector: exit.vector };
    this.resync(null);
    return null;
  }

  /**
   * The guest halted: as a PC would, wait for an interrupt or an NMI (skipping idle time). With
   * its IF off only an NMI can wake it (board.ts, waitWhileHalted).
   */
  private idle(): VmExit | null {
    const { real, vcpu: v, chipset } = this.p;
    const nmi = (): boolean => this.nmi && !real.nmiBlocked;
    if ((v.flags & Eflags.IF) === 0) {
      if (!nmi() && (real.nmiBlocked || !chipset.nmiArmed())) return { kind: 'halted' };
      if (chipset.waitForWakeup(nmi, real) === 'idle-forever') return { kind: 'halted' };
    } else if (chipset.waitForWakeup(() => this.intr || nmi(), real) === 'idle-forever') return { kind: 'idle-forever' };
    const wakeNmi = this.canInjectNmi();
    if (!wakeNmi && !this.canInject()) return null;
    this.begin();
    const end = wakeNmi ? this.injectNmi() : this.inject();
    this.record(ExitCategory.EXTERNAL_INTERRUPT, 'wake-up from halt');
    return end;
  }

  // ---------------------------------------------------------------- cost accounting

  private begin(): void {
    const { real, vcpu: v } = this.p;
    if (this.onVcpu || inRealMode(v)) this.meter.begin(this.onVcpu ? v.eip : real.eip, 0);
    else this.meter.begin(real.eip, guestCpl(real.cpl));
  }

  /** Ends an exit: injects a pending NMI, else interrupt, if it can, then charges and records the exit. */
  private finish(category: ExitCategoryName, detail: string): VmExit | null {
    const end = this.halted ? null : this.canInjectNmi() ? this.injectNmi() : this.canInject() ? this.inject() : null;
    this.record(category, detail);
    return end;
  }

  /** Charges the exit's cycles to simulated time and counts it under its reason. */
  private record(category: ExitCategoryName, detail: string): void {
    this.meter.record(category, detail);
    this.afterExit?.();
  }
}
