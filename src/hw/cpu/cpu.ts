/**
 * The i386 CPU: architectural state, the memory access paths (segmentation, TLB, page walk),
 * fault recording and the run loop. Models a P6-class integer core in real-address mode,
 * protected mode with rings 0-3, virtual-8086 mode, hardware task switching, 32-bit and PAE
 * paging with NX, SMEP and SMAP (SDM vol. 3, chapters 2-7, 9 and 20). Instruction semantics live
 * in the handler modules; decoding and block caching in decoder.ts and blocks.ts.
 * Which optional features it has (CPUID, MSRs, SYSENTER, RDTSCP, PAE, NX, SMEP, SMAP) is its
 * model's (cpu-model.ts).
 * NMI: an edge-latched input taken before INTR and blocked from delivery until the next IRET.
 * The x87 FPU's state is `fpu` (fpu/fpu.ts; its instructions are in fpu/).
 * Not modelled: MMX/SSE, SMM, VME (virtual-8086 mode extensions).
 */
import { PageKind, type PhysicalAccess, isMemoryBacked } from '../memory/physical-memory.ts';
import { Access, WalkRecord, accessFault, leafDirty, pagingRules, setAccessedDirty, walk, walkPae } from '../mmu/walk.ts';
import { Tlb, TlbBit } from '../mmu/tlb.ts';
import { Cr0, Cr4, Efer } from '../x86/control-registers.ts';
import { Pae, Pte } from '../x86/paging.ts';
import { Seg, SegAttr, SysType } from '../x86/descriptors.ts';
import { Eflags } from '../x86/eflags.ts';
import { Vector } from '../x86/vectors.ts';
import { type BlockCache, createBlockCache } from './block-cache.ts';
import { DEFAULT_HARDWARE_COSTS, type HardwareCosts } from './costs.ts';
import { Counter, Counters } from './counters.ts';
import { Lazy } from './flags.ts';
import { Fpu } from './fpu/fpu.ts';
import { ZERO_REG } from './insn.ts';
import { type CpuModel, DEFAULT_CPU_MODEL } from './cpu-model.ts';
import { ModelSpecificRegisters } from './model-specific-registers.ts';
import { deliverEvent, runBlocks, stepInstruction } from './run-loop.ts';
import { vmrun } from './virtualization.ts';

/** CPUID leaf 1 EAX (family 6, model 1, stepping 0): EDX holds it after RESET (SDM vol. 3, 9.1.4). */
export const CPUID_SIGNATURE = 0x610;

/** Port I/O space as the CPU sees it (the board's bus). */
export interface PortBus {
  read(port: number, size: 1 | 2 | 4): number;
  write(port: number, size: 1 | 2 | 4, value: number): void;
}

/** The INTA cycle: the interrupt controller hands over the vector of the interrupt it raised. */
export interface InterruptAcknowledge {
  acknowledge(): number;
}

/** How an event reached the CPU: an exception, an INT n/INT3/INTO, an external interrupt or an NMI. */
export type EventSource = 'exception' | 'software' | 'external' | 'nmi';

/** Why cpu.run() returned. A closed union: callers switch exhaustively. */
export type CpuExit =
  /** The instruction budget passed to run() is spent. */
  | { readonly kind: 'budget' }
  /** Simulated time reached cpu.deadline (a device timer is due). */
  | { readonly kind: 'deadline' }
  /** HLT: the CPU waits for an interrupt. */
  | { readonly kind: 'halt' }
  /** A device asked the run loop to stop (for example the debug-exit port). */
  | { readonly kind: 'request'; readonly reason: string }
  /** Monitor mode: an exception or software interrupt that the monitor must handle. */
  | {
      readonly kind: 'trap';
      readonly vector: number;
      /** Error code, or -1 when the event has none. */
      readonly errorCode: number;
      readonly cr2: number;
      /** EIP the event would push: the faulting instruction for faults, the next one for traps. */
      readonly eip: number;
      readonly source: EventSource;
      /** Length of the INT n/INT3/INTO that raised a software trap (0 for other events). */
      readonly length: number;
    }
  /** Monitor mode: the interrupt line is asserted and EFLAGS.IF=1. Not yet acknowledged. */
  | { readonly kind: 'interrupt' }
  /** Monitor mode: an NMI arrived and NMIs are not blocked; the CPU has taken it (it is no longer pending). */
  | { readonly kind: 'nmi' }
  /** The guest used a feature this CPU does not model; `eip` is the instruction that did. */
  | { readonly kind: 'unsupported'; readonly feature: string; readonly eip: number }
  /** Triple fault: the processor shuts down (a PC resets). */
  | { readonly kind: 'reset'; readonly reason: string; readonly vector: number }
  /** Guest mode (vmrun): an intercepted event ended it; the VMCB holds the exit code (SvmExit) and information. */
  | { readonly kind: 'vmexit'; readonly code: number };

export interface CpuOptions {
  /** Return every exception and interrupt to the caller as an exit instead of using the IDT. */
  monitor?: boolean;
  costs?: HardwareCosts;
  /** Executions of a block before it is compiled to JavaScript; 0 disables compilation. */
  compileThreshold?: number;
  /** Offer the hardware virtualization extension (vmrun, guest mode; virtualization.ts). */
  virtualization?: boolean;
  /**
   * Over a translating memory (a hypervisor's view of guest-physical memory), cache anyway: the
   * TLB keeps linear -> guest-physical translations, used by the slow paths, and decoded blocks
   * are kept by guest-physical address. Only for a CPU through whose memory every write passes
   * (an interpreter): the memory's watches then see every write to cached code.
   */
  cacheTranslated?: boolean;
  /** Simulated cycles added to every instruction's own cost (an interpreter's dispatch and decode). */
  instructionOverhead?: number;
  /** The CPU model (CPUID, optional instructions and MSRs); default qemu32. */
  model?: CpuModel;
}

/** Bits of cpu.stop: why the current block must end after this instruction. */
export const Stop = {
  FAULT: 1,
  REQUEST: 2,
  STATE: 4,
  IRQ: 8,
  CODE_WRITE: 16,
  HALT: 32,
} as const;

/** cpu.pending: what kind of event the last stop left to deliver. */
export const Pending = { NONE: 0, FAULT: 1, TRAP: 2 } as const;

/** Segment cache fast-path bits: flat 4 GiB expand-up segment usable for reads / writes. */
export const SEG_FAST_R = 1;
export const SEG_FAST_W = 2;

const NO_EXIT_REASON = '';
/** Physical addresses from here up (PAE, up to MAXPHYADDR) decode to nothing on this PC. */
const TWO32 = 4294967296;
/** Every TLB write bit (paging off: everything is allowed). */
const TLB_WRITE_ALL = TlbBit.WS | TlbBit.WU | TlbBit.WSU;
const NO_DIRECT_RAM = { u8: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)) };

export class Cpu {
  // ---- general registers: EAX ECX EDX EBX ESP EBP ESI EDI, then a slot that stays 0
  readonly regs = new Int32Array(9);
  /** Byte view: AL=0 AH=1 CL=4 CH=5 DL=8 DH=9 BL=12 BH=13. */
  readonly r8 = new Uint8Array(this.regs.buffer);
  /** Word view: AX=0 CX=2 DX=4 BX=6 SP=8 BP=10 SI=12 DI=14. */
  readonly r16 = new Uint16Array(this.regs.buffer);
  eip = 0;

  // ---- EFLAGS: `flags` holds every bit except the arithmetic ones while lzKind != NONE
  flags = Eflags.FIXED1;
  lzKind: number = Lazy.NONE;
  lzA = 0;
  lzB = 0;
  lzRes = 0;
  lzShift = 0;

  // ---- segment registers (selector and hidden descriptor cache), indexed by Seg
  readonly segSel = new Int32Array(6);
  readonly segBase = new Int32Array(6);
  readonly segLimit = new Int32Array(6);
  readonly segAttr = new Int32Array(6);
  readonly segFast = new Uint8Array(6);
  cpl = 0;
  /** CS.D: default operand and address size 32. SS.B: 32-bit stack pointer. */
  cs32 = true;
  ss32 = true;

  // ---- system registers
  cr0 = Cr0.ET;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  /** IA32_EFER: exists only on a model with NX (msr.ts); only NXE is implemented (Efer). */
  efer = 0;
  /**
   * The PDPTE registers of PAE paging (SDM vol. 3, 4.4.1), entry k's low half at 2k and high half
   * at 2k+1: loaded from the PDPT at CR3 by MOV to CR3 under PAE paging and by MOV to CR0/CR4
   * that enables or changes it; walks use them, never the PDPT in memory.
   */
  readonly pdpte = new Int32Array(8);
  readonly dr = new Int32Array(8);
  /** The x87 FPU: registers, control, status and tag words, last-instruction pointers. */
  readonly fpu = new Fpu();
  gdtBase = 0;
  gdtLimit = 0xffff;
  idtBase = 0;
  idtLimit = 0xffff;
  ldtSel = 0;
  ldtBase = 0;
  ldtLimit = 0;
  ldtAttr = 0;
  trSel = 0;
  trBase = 0;
  trLimit = 0;
  trAttr = 0;
  halted = false;

  // ---- machine
  readonly mem: PhysicalAccess;
  /**
   * True when mem.direct is the RAM array: the TLB then caches translations and the fast
   * paths index RAM on a hit. Over a translating view (a hypervisor's vCPU over guest-physical
   * memory) nothing is cached: every access walks and goes through mem, and no block is kept.
   */
  readonly direct: boolean;
  readonly view: DataView;
  readonly u8: Uint8Array;
  readonly tlb = new Tlb();
  readonly tlbE: Int32Array;
  /** TLB bits that allow a data read / write / instruction fetch at the current CPL (0: take the slow path). */
  tlbRmask: number = TlbBit.RS | TlbBit.RU;
  tlbWmask: number = TlbBit.WS | TlbBit.WSU;
  tlbXmask: number = TlbBit.XS;
  /** TLB bits that allow an explicit supervisor read / write now (CR4.SMAP and EFLAGS.AC applied). */
  supRmask: number = TlbBit.RS | TlbBit.RU;
  supWmask: number = TlbBit.WS | TlbBit.WSU;
  /** Misaligned user-mode data accesses raise #AC (then the fast paths are off). */
  alignmentCheck = false;
  io: PortBus;
  intAck: InterruptAcknowledge | null = null;
  /** Monitor mode (see CpuOptions); off in guest mode, and restored with the host's state. */
  monitor: boolean;
  readonly costs: HardwareCosts;
  readonly counters = new Counters();
  /** counters.values, hoisted for the hot paths. */
  readonly ctr = this.counters.values;
  readonly blocks: BlockCache;
  private readonly walkRec = new WalkRecord();
  private readonly pdptScratch = new Int32Array(8);

  // ---- execution control
  /** Nonzero: end the current block after this instruction (Stop bits). */
  stop = 0;
  /** Event left by the last stop: Pending.FAULT (restart the instruction) or TRAP (after it). */
  pending: number = Pending.NONE;
  excVector = 0;
  excError = -1;
  /** Fault raised while delivering another event (for #DF classification). */
  delivering = false;
  /** Interrupt line from the interrupt controller. */
  irq = false;
  /** Interrupts are inhibited until after the next instruction (STI, MOV SS, POP SS). */
  inhibit = false;
  /**
   * Set by MOV SS and POP SS: a single-step trap after this instruction is held back too
   * (SDM vol. 3, 6.8.3), so a handler never runs on a half-switched stack. STI does not do this.
   */
  holdSingleStep = false;
  /** Simulated cycles since power-on, and instructions retired. */
  cycles = 0;
  instructions = 0;
  /** run() returns a 'deadline' exit once cycles reach this (the board's next timer event). */
  deadline = Number.POSITIVE_INFINITY;
  /** EIP at the start of the block being executed (faults restart at blockEip + offset). */
  blockEip = 0;
  requestReason = NO_EXIT_REASON;
  /** Set with Stop.REQUEST when the guest used something this CPU does not model. */
  unsupportedFeature = NO_EXIT_REASON;
  /** Nonzero while a pending trap came from INT n/INT3/INTO (1) or INT1 (2). */
  softwareInt = 0;
  /** Length of the INT n instruction whose trap is pending (a delivery fault restarts it). */
  trapLength = 0;
  /** The board has a local APIC (reported by CPUID while IA32_APIC_BASE enables it). */
  hasApic = false;
  /** The local APIC's global enable changed through IA32_APIC_BASE (the board hides or shows its APIC). */
  onApicEnable: ((enabled: boolean) => void) | null = null;
  /** What this processor is: CPUID's answers, and which optional instructions and MSRs exist. */
  readonly model: CpuModel;
  /** The model-specific registers' state (msr.ts for their rules). */
  readonly msr = new ModelSpecificRegisters();
  /** An NMI arrived (edge-latched: at most one waits) and has not been taken (SDM vol. 3, 6.7.1). */
  nmiPending = false;
  /** An NMI handler is running: NMIs are not delivered until the next IRET (SDM vol. 3, 6.7.1). */
  nmiBlocked = false;
  /** See CpuOptions.cacheTranslated and instructionOverhead. */
  readonly cacheTranslated: boolean;
  readonly instructionOverhead: number;

  // ---- the virtualization extension (virtualization.ts); the cached VMCB fields are valid in guest mode
  readonly virtualization: boolean;
  /** Between VMRUN and #VMEXIT. */
  guestMode = false;
  /** Host-physical address of the host save area (AMD's VM_HSAVE_PA MSR), set by the VMM. */
  hostSaveArea = 0;
  hostMonitor = false;
  vmcbAddress = 0;
  /** Why the last VMRUN refused its VMCB ('' when it ran). */
  vmrunRefusal = '';
  icptCrRead = 0;
  icptCrWrite = 0;
  icptExceptions = 0;
  icptMisc1 = 0;
  icptMisc2 = 0;
  iopmBase = 0;
  /** Host-physical address of the MSR permission map (MSRPM_BASE). */
  msrpmBase = 0;
  /** The VMCB's TSC_OFFSET, added to the TSC in guest mode (0 outside it). */
  vmTscOffsetLo = 0;
  vmTscOffsetHi = 0;
  /** V_NMI_ENABLE: the guest's NMI blocking is nmiBlocked, kept in the VMCB's V_NMI_BLOCKING across exits. */
  vNmiEnabled = false;
  /** V_NMI_PENDING: a virtual NMI waits for the guest's NMI window. */
  vNmiPending = false;
  /** The host's NMI blocking while the guest's is in nmiBlocked. */
  hostNmiBlocked = false;
  /** A virtual interrupt is pending (V_IRQ), with this vector. */
  vIrq = false;
  vIntrVector = 0;
  /** The ASID whose translations the TLB holds (0: the host's). */
  tlbAsid = 0;
  /** The exit being taken: code, information, the next instruction, the event that was being delivered. */
  exitCode = 0;
  exitInfo1 = 0;
  exitInfo1Hi = 0;
  exitInfo2 = 0;
  exitInfo2Hi = 0;
  exitNrip = 0;
  exitIntInfo = 0;
  exitIntError = 0;
  /** Linear address of the last page fault (CR2's value, even when CR2 is not written). */
  faultAddress = 0;
  /** Scratch for read-modify-write: physical address of the operand, or -1 for the slow path. */
  rmwPa = -1;
  rmwLin = 0;
  rmwUser = false;

  constructor(mem: PhysicalAccess, io: PortBus, options: CpuOptions = {}) {
    this.mem = mem;
    this.direct = mem.direct !== null;
    const ram = mem.direct ?? NO_DIRECT_RAM;
    this.view = ram.view;
    this.u8 = ram.u8;
    this.io = io;
    this.tlbE = this.tlb.entries;
    this.monitor = options.monitor ?? false;
    this.virtualization = options.virtualization ?? false;
    this.cacheTranslated = !this.direct && (options.cacheTranslated ?? false);
    this.instructionOverhead = options.instructionOverhead ?? 0;
    this.model = options.model ?? DEFAULT_CPU_MODEL;
    this.costs = options.costs ?? DEFAULT_HARDWARE_COSTS;
    this.blocks = createBlockCache(this, options.compileThreshold ?? 8);
    mem.setWatcher((page) => this.blocks.invalidatePage(page));
    this.reset();
  }

  /**
   * Puts the CPU in the state a multiboot loader leaves it in (Multiboot 0.6.96, 3.2): protected
   * mode, paging off, flat 4 GiB ring-0 segments, interrupts disabled (powerOn() gives RESET).
   */
  reset(): void {
    this.regs.fill(0);
    this.eip = 0;
    this.flags = Eflags.FIXED1;
    this.lzKind = Lazy.NONE;
    this.cr0 = Cr0.PE | Cr0.ET;
    this.cr2 = 0;
    this.cr3 = 0;
    this.cr4 = 0;
    this.efer = 0;
    this.msr.reset();
    this.nmiPending = false;
    this.nmiBlocked = false;
    this.pdpte.fill(0);
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0 | 0;
    this.dr[7] = 0x400;
    this.fpu.reset();
    const code = SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR | SegAttr.ACCESSED | SegAttr.DB | SegAttr.G;
    const data = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.ACCESSED | SegAttr.DB | SegAttr.G;
    for (let s = 0; s < 6; s++) this.loadSegmentCache(s, s === Seg.CS ? 0x08 : 0x10, 0, 0xffffffff, s === Seg.CS ? code : data);
    this.setCpl(0);
    this.gdtBase = 0;
    this.gdtLimit = 0xffff;
    this.idtBase = 0;
    this.idtLimit = 0xffff;
    this.ldtSel = this.ldtBase = this.ldtLimit = this.ldtAttr = 0;
    this.trSel = this.trBase = this.trLimit = this.trAttr = 0;
    this.halted = false;
    this.inhibit = false;
    this.holdSingleStep = false;
    this.stop = 0;
    this.pending = Pending.NONE;
    this.delivering = false;
    this.tlb.flushAll();
  }

  /**
   * The state after RESET (SDM vol. 3, 9.1.1, table 9-1): real-address mode, CS = F000H with base
   * FFFF0000H and EIP = FFF0H (the first instruction is fetched at FFFFFFF0H), every other segment
   * at 0 with a 64 KiB limit, GDTR/IDTR/LDTR/TR base 0 and limit FFFFH, EDX = the CPUID signature,
   * CR0 = 60000010H (caches disabled, ET), interrupts off. Firmware starts here; a multiboot loader
   * uses reset() instead.
   */
  powerOn(): void {
    this.reset();
    this.cr0 = Cr0.CD | Cr0.NW | Cr0.ET;
    const data = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.ACCESSED;
    for (let s = 0; s < 6; s++) this.loadSegmentCache(s, 0, 0, 0xffff, data);
    this.loadSegmentCache(Seg.CS, 0xf000, 0xffff0000 | 0, 0xffff, data | SegAttr.CODE);
    this.eip = 0xfff0;
    this.regs[2] = CPUID_SIGNATURE;
    this.ldtLimit = this.trLimit = 0xffff;
    this.ldtAttr = SegAttr.P | SysType.LDT;
    this.trAttr = SegAttr.P | SysType.TSS32_BUSY;
    this.refreshAccessChecks();
  }

  // ------------------------------------------------------------------ segments and privilege

  /** Loads a segment register's selector and hidden part without checks (loaders, monitors). */
  loadSegmentCache(seg: number, sel: number, base: number, limit: number, attr: number): void {
    this.segSel[seg] = sel & 0xffff;
    this.segBase[seg] = base | 0;
    this.segLimit[seg] = limit | 0;
    this.segAttr[seg] = attr;
    let fast = 0;
    const expandUpData = (attr & (SegAttr.CODE | SegAttr.DC)) !== SegAttr.DC;
    if ((attr & SegAttr.P) !== 0 && limit >>> 0 === 0xffffffff && expandUpData) {
      const code = (attr & SegAttr.CODE) !== 0;
      if (!code || (attr & SegAttr.WR) !== 0) fast |= SEG_FAST_R;
      if (!code && (attr & SegAttr.WR) !== 0) fast |= SEG_FAST_W;
    }
    this.segFast[seg] = fast;
    if (seg === Seg.CS) this.cs32 = (attr & SegAttr.DB) !== 0;
    else if (seg === Seg.SS) this.ss32 = (attr & SegAttr.DB) !== 0;
  }

  /** Marks a segment register unusable (a null selector in DS, ES, FS or GS). */
  loadNullSegment(seg: number, sel: number): void {
    this.loadSegmentCache(seg, sel, 0, 0, 0);
  }

  setCpl(cpl: number): void {
    this.cpl = cpl;
    this.refreshAccessChecks();
  }

  /**
   * Recomputes what the fast paths may assume after CPL, CR0.AM, CR4.SMAP or EFLAGS.AC changed.
   * Alignment checking (SDM vol. 3, 6.15 #AC: CR0.AM=1, EFLAGS.AC=1, CPL 3) sends every data
   * access to the slow path, which checks alignment; otherwise the TLB bits for the CPL apply.
   * SMAP (SDM vol. 3, 4.6.1): with CR4.SMAP=1 and EFLAGS.AC=0 a supervisor data access may use
   * only entries of supervisor-mode pages (RS, WS); otherwise user-mode pages too (RU, WSU).
   */
  refreshAccessChecks(): void {
    const user = this.cpl === 3;
    this.alignmentCheck = user && (this.cr0 & Cr0.AM) !== 0 && (this.flags & Eflags.AC) !== 0;
    const smap = (this.cr4 & Cr4.SMAP) !== 0 && (this.flags & Eflags.AC) === 0;
    this.supRmask = smap ? TlbBit.RS : TlbBit.RS | TlbBit.RU;
    this.supWmask = smap ? TlbBit.WS : TlbBit.WS | TlbBit.WSU;
    this.tlbRmask = this.alignmentCheck ? 0 : user ? TlbBit.RU : this.supRmask;
    this.tlbWmask = this.alignmentCheck ? 0 : user ? TlbBit.WU : this.supWmask;
    this.tlbXmask = user ? TlbBit.XU : TlbBit.XS;
    // Without direct RAM the fast paths cannot index memory: every access takes the slow path.
    if (!this.direct) this.tlbRmask = this.tlbWmask = this.tlbXmask = 0;
  }

  /**
   * Offset check for a data access through a segment that is not flat (SDM vol. 3, 5.3, 5.4):
   * unusable segment, wrong type, or limit violation raise #GP(0), or #SS(0) through SS.
   * Returns the linear address; on a violation the caller sees cpu.stop set.
   */
  segLinear(seg: number, off: number, size: number, write: boolean): number {
    const attr = this.segAttr[seg]!;
    const vector = seg === Seg.SS ? Vector.SS : Vector.GP;
    if ((attr & SegAttr.P) === 0) return this.fault(vector, 0);
    const code = (attr & SegAttr.CODE) !== 0;
    // Real mode checks limits but not types: a CS: override may write (SDM vol. 3, 20.1.1).
    const typed = (this.cr0 & Cr0.PE) !== 0;
    if (typed && (write ? code || (attr & SegAttr.WR) === 0 : code && (attr & SegAttr.WR) === 0)) return this.fault(Vector.GP, 0);
    const o = off >>> 0;
    const end = o + size - 1;
    const limit = this.segLimit[seg]! >>> 0;
    if (!code && (attr & SegAttr.DC) !== 0) {
      const upper = (attr & SegAttr.DB) !== 0 ? 0xffffffff : 0xffff;
      if (o <= limit || end > upper) return this.fault(vector, 0);
    } else if (end > limit) {
      return this.fault(vector, 0);
    }
    return (this.segBase[seg]! + off) | 0;
  }

  // ------------------------------------------------------------------ faults

  /** Records a fault (the instruction will be restarted after the handler). Returns 0. */
  fault(vector: number, errorCode: number): number {
    if (this.pending === Pending.NONE) {
      this.pending = Pending.FAULT;
      this.excVector = vector;
      this.excError = errorCode;
    }
    this.stop |= Stop.FAULT;
    return 0;
  }

  /** Records a trap-class event (INT n, INT3, INTO, single-step): EIP already points past it. */
  trap(vector: number): void {
    this.pending = Pending.TRAP;
    this.excVector = vector;
    this.excError = -1;
    this.stop |= Stop.FAULT;
  }

  /** A page fault: CR2 gets the linear address (SDM vol. 3, 4.7). */
  pageFault(lin: number, errorCode: number): number {
    if (this.pending === Pending.NONE) {
      this.faultAddress = lin | 0;
      // Guest mode with #PF intercepted: the fault exits with its address and leaves the guest's CR2 (APM vol. 2, 15.12).
      if (!this.guestMode || (this.icptExceptions & (1 << Vector.PF)) === 0) this.cr2 = lin | 0;
    }
    return this.fault(Vector.PF, errorCode);
  }

  /** True when the current instruction has faulted and must not change more state. */
  get faulted(): boolean {
    return this.pending !== Pending.NONE;
  }

  /** A device asks the run loop to return a 'request' exit after the current instruction. */
  requestExit(reason: string): void {
    this.requestReason = reason;
    this.stop |= Stop.REQUEST;
  }

  /**
   * The guest did something architecturally valid that this CPU does not model: the run loop
   * returns an 'unsupported' exit naming it. Returns 0.
   */
  unsupported(feature: string): number {
    this.unsupportedFeature = feature;
    this.stop |= Stop.REQUEST;
    this.pending = Pending.FAULT;
    this.excVector = -1;
    return 0;
  }

  /** The interrupt controller drives the INTR line. Raising it ends the current block. */
  setIrq(level: boolean): void {
    this.irq = level;
    if (level) this.stop |= Stop.IRQ;
  }

  /**
   * An edge on the NMI input (the local APIC's NMI delivery, or LINT1 with the APIC disabled).
   * It is latched — a second NMI while one waits is lost, as on hardware — and ends the block.
   */
  raiseNmi(): void {
    this.nmiPending = true;
    this.stop |= Stop.IRQ;
  }

  // ------------------------------------------------------------------ translation

  /**
   * Translates a linear address for an access of the given kind (Access bits), walking the page
   * tables on a miss and filling the TLB. Returns the physical address, or -1 after recording
   * a page fault.
   */
  translate(lin: number, access: number): number {
    const vpn = lin >>> 12;
    if ((this.cr0 & Cr0.PG) === 0) {
      const page = vpn;
      const kind = this.mem.pageKind[page]!;
      if (this.direct && isMemoryBacked(kind)) {
        const w = kind === PageKind.RAM && this.mem.watched[page] === 0 ? TLB_WRITE_ALL : 0;
        this.tlb.fill(vpn, (lin & ~0xfff) | TlbBit.RS | TlbBit.RU | TlbBit.XS | TlbBit.XU | w);
      }
      return lin >>> 0;
    }
    const ctr = this.ctr;
    if (this.cacheTranslated) {
      // The slow paths' TLB (an interpreter's GVA -> GPA cache).
      const e = this.tlbE[vpn]!;
      if ((e & this.tlbAllow(access)) !== 0) {
        ctr[Counter.TLB_HIT]!++;
        return (e & -4096) | (lin & 0xfff);
      }
    }
    const rec = this.walkRec;
    ctr[Counter.TLB_MISS]!++;
    ctr[Counter.PAGE_WALK]!++;
    if ((this.cr4 & Cr4.PAE) !== 0) walkPae(this.mem, this.pdpte, (this.efer & Efer.NXE) !== 0, lin, rec);
    else walk(this.mem, this.cr3, (this.cr4 & Cr4.PSE) !== 0, lin, rec);
    ctr[Counter.WALK_READ]! += rec.reads;
    this.cycles += rec.reads * this.costs.walkRead;
    const error = accessFault(rec, access, (this.cr0 & Cr0.WP) !== 0, pagingRules(this, this.flags));
    if (error >= 0) return this.pageFault(lin, error) - 1;
    const write = (access & Access.WRITE) !== 0;
    ctr[Counter.AD_WRITE]! += setAccessedDirty(this.mem, rec, write);
    // Nothing decodes physical addresses at or above 4 GiB: never cached (ldLin/stLin read all ones there).
    if (rec.physical >= TWO32) return rec.physical;
    const frame = rec.physical >>> 12;
    const kind = this.mem.pageKind[frame]!;
    if ((this.direct || this.cacheTranslated) && isMemoryBacked(kind)) {
      const user = rec.user;
      let e = (frame << 12) | (user ? TlbBit.RU : TlbBit.RS);
      if (rec.executable) e |= !user ? TlbBit.XS : (this.cr4 & Cr4.SMEP) !== 0 ? TlbBit.XU : TlbBit.XU | TlbBit.XS;
      // ROM is never writable through the TLB: writes take the slow path and are dropped.
      if (kind === PageKind.RAM && leafDirty(rec) && (this.mem.watched[frame] === 0 || !this.direct)) {
        if (rec.writable || (this.cr0 & Cr0.WP) === 0) e |= user ? TlbBit.WSU : TlbBit.WS;
        if (rec.writable && user) e |= TlbBit.WU;
      }
      if (rec.global && (this.cr4 & Cr4.PGE) !== 0) e |= TlbBit.G;
      if (rec.large) e |= TlbBit.LARGE;
      this.tlb.fill(vpn, e);
    }
    return rec.physical;
  }

  // ------------------------------------------------------------------ data access (segment:offset)

  ld8(seg: number, off: number): number {
    let lin: number;
    if ((this.segFast[seg]! & SEG_FAST_R) !== 0) lin = (this.segBase[seg]! + off) | 0;
    else {
      lin = this.segLinear(seg, off, 1, false);
      if (this.pending !== Pending.NONE) return 0;
    }
    const e = this.tlbE[lin >>> 12]!;
    if ((e & this.tlbRmask) !== 0) {
      this.ctr[Counter.TLB_HIT]!++;
      return this.u8[(e & -4096) | (lin & 0xfff)]!;
    }
    return this.ldLin(lin, 1, this.cpl === 3);
  }

  ld16(seg: number, off: number): number {
    let lin: number;
    if ((this.segFast[seg]! & SEG_FAST_R) !== 0) lin = (this.segBase[seg]! + off) | 0;
    else {
      lin = this.segLinear(seg, off, 2, false);
      if (this.pending !== Pending.NONE) return 0;
    }
    const e = this.tlbE[lin >>> 12]!;
    if ((e & this.tlbRmask) !== 0 && (lin & 0xfff) !== 0xfff) {
      this.ctr[Counter.TLB_HIT]!++;
      return this.view.getUint16((e & -4096) | (lin & 0xfff), true);
    }
    return this.ldLin(lin, 2, this.cpl === 3);
  }

  ld32(seg: number, off: number): number {
    let lin: number;
    if ((this.segFast[seg]! & SEG_FAST_R) !== 0) lin = (this.segBase[seg]! + off) | 0;
    else {
      lin = this.segLinear(seg, off, 4, false);
      if (this.pending !== Pending.NONE) return 0;
    }
    const e = this.tlbE[lin >>> 12]!;
    if ((e & this.tlbRmask) !== 0 && (lin & 0xfff) <= 0xffc) {
      this.ctr[Counter.TLB_HIT]!++;
      return this.view.getInt32((e & -4096) | (lin & 0xfff), true);
    }
    return this.ldLin(lin, 4, this.cpl === 3);
  }

  st8(seg: number, off: number, v: number): void {
    let lin: number;
    if ((this.segFast[seg]! & SEG_FAST_W) !== 0) lin = (this.segBase[seg]! + off) | 0;
    else {
      lin = this.segLinear(seg, off, 1, true);
      if (this.pending !== Pending.NONE) return;
    }
    const e = this.tlbE[lin >>> 12]!;
    if ((e & this.tlbWmask) !== 0) {
      this.ctr[Counter.TLB_HIT]!++;
      this.u8[(e & -4096) | (lin & 0xfff)] = v;
    } else this.stLin(lin, 1, v, this.cpl === 3);
  }

  st16(seg: number, off: number, v: number): void {
    let lin: number;
    if ((this.segFast[seg]! & SEG_FAST_W) !== 0) lin = (this.segBase[seg]! + off) | 0;
    else {
      lin = this.segLinear(seg, off, 2, true);
      if (this.pending !== Pending.NONE) return;
    }
    const e = this.tlbE[lin >>> 12]!;
    if ((e & this.tlbWmask) !== 0 && (lin & 0xfff) !== 0xfff) {
      this.ctr[Counter.TLB_HIT]!++;
      this.view.setUint16((e & -4096) | (lin & 0xfff), v, true);
    } else this.stLin(lin, 2, v, this.cpl === 3);
  }

  st32(seg: number, off: number, v: number): void {
    let lin: number;
    if ((this.segFast[seg]! & SEG_FAST_W) !== 0) lin = (this.segBase[seg]! + off) | 0;
    else {
      lin = this.segLinear(seg, off, 4, true);
      if (this.pending !== Pending.NONE) return;
    }
    const e = this.tlbE[lin >>> 12]!;
    if ((e & this.tlbWmask) !== 0 && (lin & 0xfff) <= 0xffc) {
      this.ctr[Counter.TLB_HIT]!++;
      this.view.setInt32((e & -4096) | (lin & 0xfff), v, true);
    } else this.stLin(lin, 4, v, this.cpl === 3);
  }

  /**
   * Read half of a read-modify-write: checks write permission once and remembers where the
   * operand is, so that commitN() cannot fault and needs no second translation.
   */
  rmw8(seg: number, off: number): number {
    let lin: number;
    if ((this.segFast[seg]! & SEG_FAST_W) !== 0) lin = (this.segBase[seg]! + off) | 0;
    else {
      lin = this.segLinear(seg, off, 1, true);
      if (this.pending !== Pending.NONE) return 0;
    }
    const e = this.tlbE[lin >>> 12]!;
    if ((e & this.tlbWmask) !== 0) {
      const pa = (e & -4096) | (lin & 0xfff);
      this.rmwPa = pa;
      this.ctr[Counter.TLB_HIT]!++;
      return this.u8[pa]!;
    }
    return this.rmwSlow(lin, 1);
  }

  rmw16(seg: number, off: number): number {
    let lin: number;
    if ((this.segFast[seg]! & SEG_FAST_W) !== 0) lin = (this.segBase[seg]! + off) | 0;
    else {
      lin = this.segLinear(seg, off, 2, true);
      if (this.pending !== Pending.NONE) return 0;
    }
    const e = this.tlbE[lin >>> 12]!;
    if ((e & this.tlbWmask) !== 0 && (lin & 0xfff) !== 0xfff) {
      const pa = (e & -4096) | (lin & 0xfff);
      this.rmwPa = pa;
      this.ctr[Counter.TLB_HIT]!++;
      return this.view.getUint16(pa, true);
    }
    return this.rmwSlow(lin, 2);
  }

  rmw32(seg: number, off: number): number {
    let lin: number;
    if ((this.segFast[seg]! & SEG_FAST_W) !== 0) lin = (this.segBase[seg]! + off) | 0;
    else {
      lin = this.segLinear(seg, off, 4, true);
      if (this.pending !== Pending.NONE) return 0;
    }
    const e = this.tlbE[lin >>> 12]!;
    if ((e & this.tlbWmask) !== 0 && (lin & 0xfff) <= 0xffc) {
      const pa = (e & -4096) | (lin & 0xfff);
      this.rmwPa = pa;
      this.ctr[Counter.TLB_HIT]!++;
      return this.view.getInt32(pa, true);
    }
    return this.rmwSlow(lin, 4);
  }

  commit8(v: number): void {
    if (this.rmwPa >= 0) this.u8[this.rmwPa] = v;
    else this.stLin(this.rmwLin, 1, v, this.rmwUser);
  }

  commit16(v: number): void {
    if (this.rmwPa >= 0) this.view.setUint16(this.rmwPa, v, true);
    else this.stLin(this.rmwLin, 2, v, this.rmwUser);
  }

  commit32(v: number): void {
    if (this.rmwPa >= 0) this.view.setInt32(this.rmwPa, v, true);
    else this.stLin(this.rmwLin, 4, v, this.rmwUser);
  }

  private rmwSlow(lin: number, size: number): number {
    const user = this.cpl === 3;
    // Probe write permission on every page the operand touches before reading anything.
    if (!this.probeWrite(lin, size, user)) return 0;
    this.rmwPa = -1;
    this.rmwLin = lin;
    this.rmwUser = user;
    return this.ldLin(lin, size, user);
  }

  /** Checks (and prepares the TLB for) a write of `size` bytes at lin. False after a fault. */
  probeWrite(lin: number, size: number, user: boolean): boolean {
    const access = Access.WRITE | (user ? Access.USER : 0);
    if (this.translate(lin, access) < 0) return false;
    const last = (lin + size - 1) | 0;
    if ((last ^ lin) >>> 12 !== 0 && this.translate(last, access) < 0) return false;
    return true;
  }

  // ------------------------------------------------------------------ data access (linear)

  /**
   * Reads by linear address with the given privilege (user = CPL 3 access). Handles TLB misses,
   * accesses that cross a page and MMIO. Returns 0 after recording a fault. Sizes 1, 2, 4.
   */
  ldLin(lin: number, size: number, user: boolean): number {
    return user ? this.ldAccess(lin, size, Access.USER, TlbBit.RU) : this.ldAccess(lin, size, 0, this.supRmask);
  }

  /** The TLB bits that allow an access of kind `access` (Access bits) now: CPL, SMAP, EFLAGS.AC applied. */
  private tlbAllow(access: number): number {
    const user = (access & Access.USER) !== 0;
    if ((access & Access.FETCH) !== 0) return user ? TlbBit.XU : TlbBit.XS;
    const write = (access & Access.WRITE) !== 0;
    if (user) return write ? TlbBit.WU : TlbBit.RU;
    if ((access & Access.IMPLICIT) === 0) return write ? this.supWmask : this.supRmask;
    // Implicit supervisor accesses: SMAP applies whatever EFLAGS.AC says (SDM vol. 3, 4.6.1).
    const smap = (this.cr4 & Cr4.SMAP) !== 0;
    return write ? (smap ? TlbBit.WS : TlbBit.WS | TlbBit.WSU) : smap ? TlbBit.RS : TlbBit.RS | TlbBit.RU;
  }

  /** A physical read; nothing decodes addresses at or above 4 GiB (PAE): they read as all ones. */
  private readPhys(pa: number, size: number): number {
    if (pa >= TWO32) return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
    return size === 1 ? this.mem.read8(pa) : size === 2 ? this.mem.read16(pa) : this.mem.read32(pa);
  }

  /** ldLin for an access of kind `access`, which the TLB bits `allow` permit without a walk. */
  private ldAccess(lin: number, size: number, access: number, allow: number): number {
    const user = (access & Access.USER) !== 0;
    if ((lin & 0xfff) + size > 0x1000) {
      const last = (lin + size - 1) | 0;
      const pa0 = this.translate(lin, access);
      if (pa0 < 0) return 0;
      const pa1 = this.translate(last & ~0xfff, access);
      if (pa1 < 0) return 0;
      if (user && this.alignmentCheck) return this.fault(Vector.AC, 0);
      let v = 0;
      for (let k = 0; k < size; k++) {
        const l = (lin + k) | 0;
        const pa = (l ^ lin) >>> 12 === 0 ? pa0 + k : pa1 + (l & 0xfff);
        v |= this.readPhys(pa, 1) << (8 * k);
      }
      return size === 2 ? v & 0xffff : v;
    }
    const e = this.tlbE[lin >>> 12]!;
    let pa: number;
    if ((e & allow) !== 0) {
      pa = (e & -4096) | (lin & 0xfff);
      this.ctr[Counter.TLB_HIT]!++;
    } else {
      pa = this.translate(lin, access);
      if (pa < 0) return 0;
      if (pa < TWO32 && this.mem.pageKind[pa >>> 12] === PageKind.MMIO) this.ctr[Counter.MMIO]!++;
    }
    if (user && this.alignmentCheck && (lin & (size - 1)) !== 0) return this.fault(Vector.AC, 0);
    return this.readPhys(pa, size);
  }

  /** Writes by linear address with the given privilege. Records a fault and writes nothing if denied. */
  stLin(lin: number, size: number, v: number, user: boolean): void {
    if (user) this.stAccess(lin, size, v, Access.WRITE | Access.USER, TlbBit.WU);
    else this.stAccess(lin, size, v, Access.WRITE, this.supWmask);
  }

  /** stLin for an access of kind `access`, which the TLB bits `allow` permit without a walk. */
  private stAccess(lin: number, size: number, v: number, access: number, allow: number): void {
    const user = (access & Access.USER) !== 0;
    if ((lin & 0xfff) + size > 0x1000) {
      const last = (lin + size - 1) | 0;
      const pa0 = this.translate(lin, access);
      if (pa0 < 0) return;
      const pa1 = this.translate(last & ~0xfff, access);
      if (pa1 < 0) return;
      if (user && this.alignmentCheck) return void this.fault(Vector.AC, 0);
      for (let k = 0; k < size; k++) {
        const l = (lin + k) | 0;
        const pa = (l ^ lin) >>> 12 === 0 ? pa0 + k : pa1 + (l & 0xfff);
        if (pa < TWO32) this.mem.write8(pa, v >> (8 * k));
      }
      return;
    }
    // A TLB entry that allows the write needs no walk (implicit stack pushes come this way).
    const e = this.tlbE[lin >>> 12]!;
    let pa: number;
    if ((e & allow) !== 0) {
      pa = (e & -4096) | (lin & 0xfff);
      this.ctr[Counter.TLB_HIT]!++;
    } else {
      pa = this.translate(lin, access);
      if (pa < 0) return;
    }
    if (user && this.alignmentCheck && (lin & (size - 1)) !== 0) return void this.fault(Vector.AC, 0);
    // Nothing decodes addresses at or above 4 GiB: the write goes nowhere.
    if (pa >= TWO32) return;
    if (this.mem.pageKind[pa >>> 12] === PageKind.MMIO) {
      this.ctr[Counter.MMIO]!++;
      this.stop |= Stop.STATE;
    }
    if (size === 1) this.mem.write8(pa, v);
    else if (size === 2) this.mem.write16(pa, v);
    else this.mem.write32(pa, v);
  }

  /**
   * Implicit supervisor-mode accesses: descriptor tables, the TSS, the IDT (SDM vol. 3, 4.6).
   * In monitor mode the tables the CPU itself reads (GDT, LDT, TSS) belong to the monitor, which
   * lives in its own protection domain outside every guest address space (ARCHITECTURE.md):
   * their registers then hold physical addresses and these accesses bypass paging.
   */
  ldSys(addr: number, size: number): number {
    if (this.monitor) return size === 4 ? this.mem.read32(addr) : size === 2 ? this.mem.read16(addr) : this.mem.read8(addr);
    return this.ldAccess(addr, size, Access.IMPLICIT, this.tlbAllow(Access.IMPLICIT));
  }

  stSys(addr: number, size: number, v: number): void {
    if (!this.monitor) this.stAccess(addr, size, v, Access.WRITE | Access.IMPLICIT, this.tlbAllow(Access.WRITE | Access.IMPLICIT));
    else if (size === 4) this.mem.write32(addr, v);
    else if (size === 2) this.mem.write16(addr, v);
    else this.mem.write8(addr, v);
  }

  // ------------------------------------------------------------------ stack

  /** ESP, masked to SP when SS is a 16-bit stack segment. */
  sp(): number {
    return this.ss32 ? this.regs[4]! : this.regs[4]! & 0xffff;
  }

  /** Sets ESP (or only SP for a 16-bit stack). */
  setSp(v: number): void {
    if (this.ss32) this.regs[4] = v;
    else this.r16[8] = v;
  }

  push32(v: number): void {
    const sp = (this.sp() - 4) & (this.ss32 ? -1 : 0xffff);
    this.st32(Seg.SS, sp, v);
    if (this.pending === Pending.NONE) this.setSp(sp);
  }

  push16(v: number): void {
    const sp = (this.sp() - 2) & (this.ss32 ? -1 : 0xffff);
    this.st16(Seg.SS, sp, v);
    if (this.pending === Pending.NONE) this.setSp(sp);
  }

  /** Pushes with the instruction's operand size. */
  push(v: number, opsize: number): void {
    if (opsize === 32) this.push32(v);
    else this.push16(v);
  }

  /** Reads the stack top (+ offset) without popping. */
  peek32(offset: number): number {
    return this.ld32(Seg.SS, (this.sp() + offset) & (this.ss32 ? -1 : 0xffff));
  }

  peek16(offset: number): number {
    return this.ld16(Seg.SS, (this.sp() + offset) & (this.ss32 ? -1 : 0xffff));
  }

  /** Pops a value of opsize bits: read first, move ESP only if the read did not fault. */
  pop(opsize: number): number {
    const v = opsize === 32 ? this.peek32(0) : this.peek16(0);
    if (this.pending === Pending.NONE) this.setSp(this.sp() + (opsize >> 3));
    return v;
  }

  // ------------------------------------------------------------------ TLB and code cache control

  /** Everything cached from the paging structures is dropped (CR0.PG/WP/CR4 changes). */
  flushTlb(): void {
    this.ctr[Counter.TLB_FLUSH]!++;
    this.tlb.flushAll();
  }

  /**
   * MOV to CR3: a new address space (global pages survive when CR4.PGE=1). Under PAE paging the
   * PDPTE registers are loaded from the new PDPT first (SDM vol. 3, 4.4.1); if a present PDPTE
   * has a reserved bit set nothing changes and the result is false: the caller raises #GP(0).
   * CR3 keeps bits 31:3 (31:5 address the PDPT under PAE; 4:3 are PCD and PWT).
   */
  loadCr3(value: number): boolean {
    if (this.paePaging && !this.loadPdptes(value)) return false;
    this.cr3 = value & ~0x7;
    this.ctr[Counter.CR3_LOAD]!++;
    this.ctr[Counter.TLB_FLUSH]!++;
    if ((this.cr4 & Cr4.PGE) !== 0) this.tlb.flushNonGlobal();
    else this.tlb.flushAll();
    return true;
  }

  /** PAE paging is in use: CR0.PG=1 and CR4.PAE=1 (IA32_EFER.LME does not exist here). */
  get paePaging(): boolean {
    return (this.cr0 & Cr0.PG) !== 0 && (this.cr4 & Cr4.PAE) !== 0;
  }

  /**
   * Loads the PDPTE registers from the 32-byte-aligned PDPT at `cr3` (SDM vol. 3, 4.4.1). Returns
   * false, leaving them unchanged, when a present PDPTE has a reserved bit set (bits 2:1, 8:5,
   * 63:MAXPHYADDR): the MOV to CR that loads them raises #GP(0).
   */
  loadPdptes(cr3: number): boolean {
    const base = (cr3 & ~0x1f) >>> 0;
    const t = this.pdptScratch;
    for (let k = 0; k < 8; k++) t[k] = this.mem.read32(base + 4 * k);
    this.ctr[Counter.WALK_READ]! += 4;
    this.cycles += 4 * this.costs.walkRead;
    for (let k = 0; k < 8; k += 2) {
      if ((t[k]! & Pte.P) !== 0 && ((t[k]! & Pae.PDPTE_RSVD_LO) !== 0 || (t[k + 1]! & ~Pae.ADDR_HI) !== 0)) return false;
    }
    this.pdpte.set(t);
    return true;
  }

  // ------------------------------------------------------------------ running

  /**
   * Runs until something the caller must handle. `budget` is a number of instructions.
   * Deterministic: the same state and inputs give the same exits at the same instruction.
   */
  run(budget: number): CpuExit {
    return runBlocks(this, budget);
  }

  /**
   * The virtualization extension's VMRUN (virtualization.ts): runs the guest whose VMCB is at
   * host-physical `vmcb` until an intercepted event, `budget` instructions or the deadline.
   */
  vmrun(vmcb: number, budget: number): CpuExit {
    return vmrun(this, vmcb, budget);
  }

  /**
   * Delivers an event through the IDT now, as the run loop does (applying the double-fault
   * rules), and counts it. Monitors use it to reflect exceptions and inject interrupts into the
   * guest they emulate. `length` is an INT n's length for software interrupts. Returns a reset
   * exit on a triple fault, else null.
   */
  deliver(vector: number, errorCode: number, source: EventSource, length: number): CpuExit | null {
    if (source === 'external' || source === 'nmi') this.ctr[Counter.INTERRUPT]!++;
    else this.ctr[Counter.EXCEPTION]!++;
    // SDM vol. 3, 6.7.1: from the start of an NMI's delivery, NMIs wait for the next IRET.
    if (source === 'nmi') this.nmiBlocked = true;
    this.counters.byVector[vector & 0xff]!++;
    return deliverEvent(this, vector, errorCode, source, length);
  }

  /**
   * Executes exactly one instruction at CS:EIP, recognising no interrupt before it, and handles
   * an exception it raises as run() would. Returns 'budget' when the instruction is done (or
   * its exception delivered). Monitors use it to emulate one guest instruction.
   */
  step(): CpuExit {
    return stepInstruction(this);
  }

  /** General register by index (0 = EAX ... 7 = EDI), unsigned. */
  reg(index: number): number {
    return this.regs[index]! >>> 0;
  }
}

/** Index constants for the general registers. */
export const Reg = { EAX: 0, ECX: 1, EDX: 2, EBX: 3, ESP: 4, EBP: 5, ESI: 6, EDI: 7, ZERO: ZERO_REG } as const;
