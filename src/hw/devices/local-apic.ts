/**
 * The local APIC of the single CPU (xAPIC, 4 KiB of MMIO at 0xFEE00000) and the CPU's interrupt
 * front end: registers, task and processor priority, EOI, the timer, LINT0 pass-through of the
 * 8259, the LINT1 input and IPIs to self, after Intel SDM vol. 3, chapter 10, and QEMU's
 * hw/intc/apic.c. NMIs (an NMI message or IPI, LINT0/LINT1 in NMI mode) go to the CPU's NMI input
 * (onNmi). IA32_APIC_BASE's global enable (setGlobalEnable) hides the APIC: it returns to its
 * power-up state, its window reads all ones and ignores writes, messages are dropped, and LINT0
 * and LINT1 become the CPU's INTR and NMI pins (SDM vol. 3, 10.4.3 and 10.5.1).
 * Not modelled: x2APIC, the TSC-deadline timer mode, relocating the APIC (msr.ts refuses it),
 * other processors (IPIs to them are dropped), SMI, INIT and STARTUP to self, thermal and
 * performance-counter interrupt sources, EOI-broadcast suppression, focus checking.
 */
import type { MmioHandler } from '../memory/physical-memory.ts';
import type { DeviceClock, IrqLine, TimerHandle } from './device.ts';

/** How an interrupt message is delivered (SDM vol. 3, 10.6.1, ICR bits 10:8). */
export type ApicDeliveryMode = 'fixed' | 'lowest' | 'smi' | 'nmi' | 'init' | 'startup' | 'extint';
/** Trigger mode of an interrupt message: level-triggered vectors are EOIed back to the I/O APIC. */
export type ApicTrigger = 'edge' | 'level';

/** The board's window base for the local APIC (SDM vol. 3, 10.4.1). */
export const LOCAL_APIC_BASE = 0xfee00000;

/** Register offsets in the 4 KiB window (SDM vol. 3, table 10-1). */
export const ApicReg = {
  ID: 0x20,
  VERSION: 0x30,
  TPR: 0x80,
  APR: 0x90,
  PPR: 0xa0,
  EOI: 0xb0,
  RRD: 0xc0,
  LDR: 0xd0,
  DFR: 0xe0,
  SVR: 0xf0,
  ISR: 0x100,
  TMR: 0x180,
  IRR: 0x200,
  ESR: 0x280,
  ICR_LOW: 0x300,
  ICR_HIGH: 0x310,
  LVT_TIMER: 0x320,
  LVT_THERMAL: 0x330,
  LVT_PERFMON: 0x340,
  LVT_LINT0: 0x350,
  LVT_LINT1: 0x360,
  LVT_ERROR: 0x370,
  TIMER_INITIAL: 0x380,
  TIMER_CURRENT: 0x390,
  TIMER_DIVIDE: 0x3e0,
} as const;

/** Index of each local vector table entry in `state.lvt`, in register order. */
export const Lvt = { TIMER: 0, THERMAL: 1, PERFMON: 2, LINT0: 3, LINT1: 4, ERROR: 5 } as const;

/**
 * Local vector table entry (SDM vol. 3, figure 10-8):
 *
 *   31       19 18  17 16 15 14 13 12 11 10   8 7        0
 *  +-----------+------+--+--+--+--+--+--+------+----------+
 *  | reserved  | mode |M |TM|RI|PO|DS|  |  DM  |  vector  |
 *  +-----------+------+--+--+--+--+--+--+------+----------+
 *  mode: timer only (bit 17 periodic; bit 18 TSC-deadline, absent here); M: masked;
 *  TM: level trigger, RI: remote IRR, PO: active low (LINT0/1 only); DS: delivery status;
 *  DM: delivery mode (not on timer and error).
 */
export const LvtBit = {
  DELIVERY_STATUS: 1 << 12,
  ACTIVE_LOW: 1 << 13,
  REMOTE_IRR: 1 << 14,
  LEVEL: 1 << 15,
  MASKED: 1 << 16,
  PERIODIC: 1 << 17,
} as const;

/** Delivery-mode field values, for LVT entries and the ICR (SDM vol. 3, 10.5.1 and 10.6.1). */
export const DeliveryMode = { FIXED: 0, LOWEST: 1, SMI: 2, NMI: 4, INIT: 5, STARTUP: 6, EXTINT: 7 } as const;

/** Spurious-interrupt vector register: bit 8 is the APIC software enable (SDM vol. 3, 10.9). */
export const Svr = { ENABLE: 1 << 8 } as const;

/** Error status register bits (SDM vol. 3, 10.5.3). */
export const Esr = { SEND_ILLEGAL_VECTOR: 1 << 5, RECEIVE_ILLEGAL_VECTOR: 1 << 6, ILLEGAL_REGISTER: 1 << 7 } as const;

/**
 * Version register: version 0x14 (integrated xAPIC) and max LVT entry 5 (six entries), what QEMU's
 * apic_mem_read returns; bit 24 (EOI-broadcast suppression) clear (SDM vol. 3, 10.4.8).
 */
export const LOCAL_APIC_VERSION = 0x00050014;

/** Writable bits of each LVT entry; the timer has no delivery mode, the error entry only a vector. */
const LVT_WRITABLE = [0x300ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff] as const;
/** ICR low writable bits: vector, delivery mode, destination mode, level, trigger, shorthand. */
const ICR_LOW_WRITABLE = 0x000ccfff;
const ICR_LOGICAL = 1 << 11;

/** Architectural state (plain, versioned, serializable). Words of ISR/TMR/IRR are unsigned 32-bit. */
export interface LocalApicState {
  version: 1;
  /** APIC ID (ID register bits 31:24). */
  id: number;
  tpr: number;
  /** Logical APIC ID (LDR bits 31:24). */
  ldr: number;
  /** Destination format model (DFR bits 31:28): 0xF flat, 0x0 cluster. */
  dfr: number;
  svr: number;
  isr: number[];
  tmr: number[];
  irr: number[];
  /** The ESR as latched by the last write to it. */
  esr: number;
  /** Errors detected since the last write to the ESR. */
  esrPending: number;
  icrLow: number;
  icrHigh: number;
  /** Timer, thermal, perfmon, LINT0, LINT1, error (see Lvt). */
  lvt: number[];
  timerInitial: number;
  timerDivide: number;
  /** Simulated time (ns) from which the timer counts (the initial-count write, rebased on a divide change). */
  timerLoadedAt: number;
  /** The 8259's INTR output as last reported through setLint0. */
  lint0: boolean;
  /** The level on LINT1 as last reported through setLint1. */
  lint1: boolean;
  /** IA32_APIC_BASE.EN: false while the processor has hidden its APIC (SDM vol. 3, 10.4.3). */
  globalEnable: boolean;
  /** An ExtINT message from the I/O APIC waits for the CPU's INTA cycle. */
  extIntPending: boolean;
}

function highestBit(words: number[]): number {
  for (let i = 7; i >= 0; i--) {
    const w = words[i]!;
    if (w !== 0) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}

function setBit(words: number[], n: number): void {
  words[n >>> 5] = (words[n >>> 5]! | (1 << (n & 31))) >>> 0;
}

function clearBit(words: number[], n: number): void {
  words[n >>> 5] = (words[n >>> 5]! & ~(1 << (n & 31))) >>> 0;
}

function testBit(words: number[], n: number): boolean {
  return ((words[n >>> 5]! >>> (n & 31)) & 1) !== 0;
}

function resetState(id: number, lint0: boolean, lint1: boolean, globalEnable: boolean): LocalApicState {
  const lvt = [LvtBit.MASKED, LvtBit.MASKED, LvtBit.MASKED, LvtBit.MASKED, LvtBit.MASKED, LvtBit.MASKED];
  // QEMU's apic_reset_common: the BSP's LINT0 is ExtINT and unmasked ("typically set by BIOS"),
  // so the 8259 reaches the CPU from power-on; every other entry, LINT1 included, is masked.
  lvt[Lvt.LINT0] = DeliveryMode.EXTINT << 8;
  return {
    version: 1,
    id,
    tpr: 0,
    ldr: 0,
    dfr: 0xf,
    svr: 0xff,
    isr: [0, 0, 0, 0, 0, 0, 0, 0],
    tmr: [0, 0, 0, 0, 0, 0, 0, 0],
    irr: [0, 0, 0, 0, 0, 0, 0, 0],
    esr: 0,
    esrPending: 0,
    icrLow: 0,
    icrHigh: 0,
    lvt,
    timerInitial: 0,
    timerDivide: 0,
    timerLoadedAt: 0,
    lint0,
    lint1,
    globalEnable,
    extIntPending: false,
  };
}

export class LocalApic implements MmioHandler {
  readonly state: LocalApicState;
  /** Called with the vector on EOI of a level-triggered interrupt (the board forwards it to the I/O APIC). */
  onEoi: ((vector: number) => void) | null = null;
  /** Statistics, not state: timer expiries delivered through an unmasked LVT timer entry. */
  timerInterrupts = 0;
  /** The CPU's NMI input (an edge): wired by the board. */
  onNmi: (() => void) | null = null;
  private readonly clock: DeviceClock;
  private readonly intr: IrqLine;
  private readonly extInt: () => number;
  private intrOut = false;
  private timer: TimerHandle | null = null;
  /** The instant the scheduled timer callback stands for. */
  private timerDeadline = 0;

  /**
   * `intr` is the CPU's INTR input; `extInt` runs the 8259's INTA cycle and returns its vector;
   * `id` is the APIC ID (0 for the bootstrap processor).
   */
  constructor(clock: DeviceClock, intr: IrqLine, extInt: () => number, id = 0) {
    this.clock = clock;
    this.intr = intr;
    this.extInt = extInt;
    this.state = resetState(id & 0xff, false, false, true);
  }

  /** Power-on/RESET state (QEMU's apic_reset_common for the BSP). The input levels and the global enable are kept. */
  reset(): void {
    this.cancelTimer();
    const s = this.state;
    Object.assign(s, resetState(s.id, s.lint0, s.lint1, s.globalEnable));
    this.updateIntr();
  }

  /**
   * IA32_APIC_BASE.EN (SDM vol. 3, 10.4.3). Clearing it makes the processor one without an APIC:
   * the APIC goes back to its power-up state (10.4.7.1: "prior initialization ... may be lost"),
   * and stays hidden until the bit is set again, when it reappears in that state — the rule of
   * processors with front-side-bus APICs. QEMU's TCG never re-enables it; the SDM's P6 rule for
   * the 3-wire APIC bus would not either.
   */
  setGlobalEnable(enabled: boolean): void {
    const s = this.state;
    if (enabled === s.globalEnable) return;
    s.globalEnable = enabled;
    this.reset();
  }

  // ------------------------------------------------------------------ MMIO

  /** Register read; sub-dword reads return bytes of the register, the 12 bytes after each register read 0. */
  read(offset: number, size: 1 | 2 | 4): number {
    // Globally disabled: nothing answers at this address (the unclaimed bus reads all ones).
    if (!this.state.globalEnable) return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
    const within = offset & 0xf;
    if (within >= 4) return 0;
    const value = this.readRegister(offset & 0xff0);
    if (size === 4 && within === 0) return value;
    const shifted = value >>> (within * 8);
    return size === 4 ? shifted : shifted & (size === 1 ? 0xff : 0xffff);
  }

  /** Register write; only aligned 32-bit writes have an effect (SDM vol. 3, 10.4.1; QEMU ignores the rest too). */
  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (size !== 4 || (offset & 0xf) !== 0 || !this.state.globalEnable) return;
    this.writeRegister(offset & 0xff0, value >>> 0);
  }

  private readRegister(reg: number): number {
    const s = this.state;
    if (reg >= ApicReg.ISR && reg < ApicReg.ISR + 0x80) return s.isr[(reg - ApicReg.ISR) >>> 4]!;
    if (reg >= ApicReg.TMR && reg < ApicReg.TMR + 0x80) return s.tmr[(reg - ApicReg.TMR) >>> 4]!;
    if (reg >= ApicReg.IRR && reg < ApicReg.IRR + 0x80) return s.irr[(reg - ApicReg.IRR) >>> 4]!;
    if (reg >= ApicReg.LVT_TIMER && reg <= ApicReg.LVT_ERROR) return s.lvt[(reg - ApicReg.LVT_TIMER) >>> 4]!;
    switch (reg) {
      case ApicReg.ID:
        return (s.id << 24) >>> 0;
      case ApicReg.VERSION:
        return LOCAL_APIC_VERSION;
      case ApicReg.TPR:
        return s.tpr;
      case ApicReg.APR:
        return this.arbitrationPriority();
      case ApicReg.PPR:
        return this.processorPriority();
      case ApicReg.EOI:
      case ApicReg.RRD:
        return 0;
      case ApicReg.LDR:
        return (s.ldr << 24) >>> 0;
      case ApicReg.DFR:
        return ((s.dfr << 28) | 0x0fffffff) >>> 0;
      case ApicReg.SVR:
        return s.svr;
      case ApicReg.ESR:
        return s.esr;
      case ApicReg.ICR_LOW:
        return s.icrLow; // delivery status (bit 12) always idle: IPIs are sent at once
      case ApicReg.ICR_HIGH:
        return s.icrHigh;
      case ApicReg.TIMER_INITIAL:
        return s.timerInitial;
      case ApicReg.TIMER_CURRENT:
        return this.currentCount();
      case ApicReg.TIMER_DIVIDE:
        return s.timerDivide;
      default:
        this.signalError(Esr.ILLEGAL_REGISTER);
        return 0;
    }
  }

  private writeRegister(reg: number, value: number): void {
    const s = this.state;
    if (reg >= ApicReg.LVT_TIMER && reg <= ApicReg.LVT_ERROR) {
      this.writeLvt((reg - ApicReg.LVT_TIMER) >>> 4, value);
      return;
    }
    // ISR, TMR and IRR are read-only.
    if (reg >= ApicReg.ISR && reg < ApicReg.IRR + 0x80) return;
    switch (reg) {
      case ApicReg.ID:
        s.id = value >>> 24;
        return;
      case ApicReg.TPR:
        s.tpr = value & 0xff;
        this.updateIntr();
        return;
      case ApicReg.EOI:
        this.eoi();
        return;
      case ApicReg.LDR:
        s.ldr = value >>> 24;
        return;
      case ApicReg.DFR:
        s.dfr = value >>> 28;
        return;
      case ApicReg.SVR:
        this.writeSvr(value);
        return;
      case ApicReg.ESR:
        // SDM vol. 3, 10.5.3: a write latches the errors detected since the previous write.
        s.esr = s.esrPending;
        s.esrPending = 0;
        return;
      case ApicReg.ICR_LOW:
        s.icrLow = value & ICR_LOW_WRITABLE;
        this.sendIpi();
        return;
      case ApicReg.ICR_HIGH:
        s.icrHigh = (value & 0xff000000) >>> 0;
        return;
      case ApicReg.TIMER_INITIAL:
        // SDM vol. 3, 10.5.4: the write (re)starts the count; 0 stops the timer.
        s.timerInitial = value;
        s.timerLoadedAt = this.clock.now();
        this.armTimer();
        return;
      case ApicReg.TIMER_DIVIDE:
        this.writeDivide(value & 0xb);
        return;
      case ApicReg.VERSION:
      case ApicReg.APR:
      case ApicReg.PPR:
      case ApicReg.RRD:
      case ApicReg.TIMER_CURRENT:
        return;
      default:
        this.signalError(Esr.ILLEGAL_REGISTER);
    }
  }

  private get softwareEnabled(): boolean {
    return (this.state.svr & Svr.ENABLE) !== 0;
  }

  /**
   * SDM vol. 3, 10.4.7.2: software-disabling the APIC sets every LVT mask bit. DEVIATION: only on
   * the enabled-to-disabled transition, so the power-on state (disabled, LINT0 unmasked ExtINT, as
   * QEMU resets it) keeps passing the 8259 through until the guest enables and reprograms the APIC.
   */
  private writeSvr(value: number): void {
    const s = this.state;
    const wasEnabled = this.softwareEnabled;
    s.svr = value & 0x1ff;
    if (wasEnabled && !this.softwareEnabled) {
      for (let i = 0; i < s.lvt.length; i++) s.lvt[i] = (s.lvt[i]! | LvtBit.MASKED) >>> 0;
      this.armTimer();
    }
    this.updateIntr();
  }

  /** While the APIC is software-disabled the mask bit cannot be cleared (SDM vol. 3, 10.4.7.2). */
  private writeLvt(index: number, value: number): void {
    let v = value & LVT_WRITABLE[index]!;
    if (!this.softwareEnabled) v |= LvtBit.MASKED;
    this.state.lvt[index] = v >>> 0;
    if (index === Lvt.TIMER) this.armTimer();
    this.updateIntr();
  }

  // ------------------------------------------------------------------ priorities and delivery

  /** PPR (SDM vol. 3, 10.8.3.1): the TPR, or the class of the highest in-service vector if higher. */
  private processorPriority(): number {
    const tpr = this.state.tpr;
    const isrv = Math.max(highestBit(this.state.isr), 0);
    return tpr >>> 4 >= isrv >>> 4 ? tpr : isrv & 0xf0;
  }

  /** APR (SDM vol. 3, 10.8.3.1, arbitration priority). */
  private arbitrationPriority(): number {
    const tpr = this.state.tpr;
    const isrv = Math.max(highestBit(this.state.isr), 0);
    const irrv = Math.max(highestBit(this.state.irr), 0);
    if (tpr >>> 4 >= irrv >>> 4 && tpr >>> 4 > isrv >>> 4) return tpr;
    return Math.max(tpr & 0xf0, isrv & 0xf0, irrv & 0xf0);
  }

  /** The vector the APIC would hand the CPU now, or -1 (SDM vol. 3, 10.8.3.1; QEMU apic_irq_pending). */
  private deliverableVector(): number {
    if (!this.softwareEnabled) return -1;
    const irrv = highestBit(this.state.irr);
    if (irrv < 0 || (irrv & 0xf0) <= (this.processorPriority() & 0xf0)) return -1;
    return irrv;
  }

  /** QEMU's apic_accept_pic_intr: the 8259's INTR reaches the CPU whenever LINT0 is unmasked. */
  private picAccepted(): boolean {
    return (this.state.lvt[Lvt.LINT0]! & LvtBit.MASKED) === 0;
  }

  /** Recomputes the CPU's INTR input; called after every change of state that can affect it. */
  private updateIntr(): void {
    const s = this.state;
    // Globally disabled, LINT0 is the processor's INTR pin (SDM vol. 3, 10.4.3).
    const level = s.globalEnable ? s.extIntPending || (s.lint0 && this.picAccepted()) || this.deliverableVector() >= 0 : s.lint0;
    if (level !== this.intrOut) {
      this.intrOut = level;
      this.intr.set(level);
    }
  }

  /**
   * A fixed or lowest-priority interrupt accepted into the IRR (SDM vol. 3, 10.8.1). Vectors 0-15
   * are illegal and only logged in the ESR. As in QEMU, a software-disabled APIC still collects
   * them (it only stops handing them to the CPU), so an I/O APIC level entry never waits forever
   * for an EOI of a message that was dropped.
   */
  private acceptFixed(vector: number, level: boolean): void {
    const s = this.state;
    vector &= 0xff;
    if (vector < 16) {
      this.signalError(Esr.RECEIVE_ILLEGAL_VECTOR);
      return;
    }
    setBit(s.irr, vector);
    if (level) setBit(s.tmr, vector);
    else clearBit(s.tmr, vector);
    this.updateIntr();
  }

  /** Logs an error and raises the LVT error interrupt (SDM vol. 3, 10.5.3). */
  private signalError(bits: number): void {
    const s = this.state;
    s.esrPending |= bits;
    const lvt = s.lvt[Lvt.ERROR]!;
    // An illegal error vector would log another error: log it without recursing.
    if ((lvt & LvtBit.MASKED) !== 0) return;
    if ((lvt & 0xff) < 16) s.esrPending |= Esr.RECEIVE_ILLEGAL_VECTOR;
    else this.acceptFixed(lvt & 0xff, false);
  }

  /** An interrupt from a local source through its LVT entry (QEMU's apic_local_deliver). */
  private deliverLocal(index: number): void {
    const lvt = this.state.lvt[index]!;
    if ((lvt & LvtBit.MASKED) !== 0) return;
    const mode = index === Lvt.TIMER || index === Lvt.ERROR ? DeliveryMode.FIXED : (lvt >>> 8) & 7;
    if (mode === DeliveryMode.FIXED) {
      const level = (index === Lvt.LINT0 || index === Lvt.LINT1) && (lvt & LvtBit.LEVEL) !== 0;
      this.acceptFixed(lvt & 0xff, level);
    } else if (mode === DeliveryMode.NMI) {
      this.onNmi?.();
    }
    // ExtINT needs nothing here (updateIntr looks at LINT0); SMI and INIT are not modelled.
  }

  /**
   * The 8259's INTR output, wired to LINT0. With LINT0 in ExtINT mode (the reset state) the
   * level reaches the CPU's INTR; a Fixed or NMI LINT0 delivers on the rising edge, as in QEMU.
   */
  setLint0(level: boolean): void {
    const s = this.state;
    const rising = level && !s.lint0;
    const falling = !level && s.lint0;
    s.lint0 = level;
    const lvt = s.lvt[Lvt.LINT0]!;
    if (rising && s.globalEnable) this.deliverLocal(Lvt.LINT0);
    else if (falling && (lvt & LvtBit.MASKED) === 0 && ((lvt >>> 8) & 7) === DeliveryMode.FIXED && (lvt & LvtBit.LEVEL) !== 0) {
      clearBit(s.irr, lvt & 0xff); // QEMU's apic_deliver_pic_intr: a level LINT0 drops its request
    }
    this.updateIntr();
  }

  /**
   * The CPU's INTA cycle, when it takes an external interrupt. In QEMU's order
   * (apic_get_interrupt): an ExtINT (message or LINT0 pass-through) goes first, as it bypasses
   * the IRR and priorities (SDM vol. 3, 10.8.1); then the highest IRR vector above the processor
   * priority moves to the ISR; otherwise the spurious vector (SDM vol. 3, 10.9).
   */
  acknowledge(): number {
    const s = this.state;
    // Globally disabled: the 8259 answers the INTA cycle itself.
    if (!s.globalEnable) return this.extInt() & 0xff;
    if (s.extIntPending) {
      s.extIntPending = false;
      const vector = this.extInt() & 0xff;
      this.updateIntr();
      return vector;
    }
    if (s.lint0 && this.picAccepted()) {
      const vector = this.extInt() & 0xff;
      this.updateIntr();
      return vector;
    }
    const vector = this.deliverableVector();
    if (vector >= 0) {
      clearBit(s.irr, vector);
      setBit(s.isr, vector);
      this.updateIntr();
      return vector;
    }
    this.updateIntr();
    return s.svr & 0xff;
  }

  /**
   * An interrupt message for this APIC (from the I/O APIC, or an IPI). The sender has already
   * matched the destination (see `accepts`).
   */
  deliver(vector: number, mode: ApicDeliveryMode, trigger: ApicTrigger): void {
    if (!this.state.globalEnable) return;
    switch (mode) {
      case 'fixed':
      case 'lowest':
        this.acceptFixed(vector, trigger === 'level');
        return;
      case 'nmi':
        this.onNmi?.();
        return;
      case 'extint':
        this.state.extIntPending = true;
        this.updateIntr();
        return;
      case 'smi':
      case 'init':
      case 'startup':
        return; // not modelled: no SMM, and a self INIT/STARTUP would reset the only CPU
      default: {
        const never: never = mode;
        throw new Error(`local APIC: unknown delivery mode ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * True when an interrupt message for `destination` reaches this APIC (SDM vol. 3, 10.6.2):
   * physical mode matches the APIC ID, logical mode the LDR in the flat or cluster model; 0xFF is
   * a broadcast in both.
   */
  accepts(destination: number, logical: boolean): boolean {
    const s = this.state;
    destination &= 0xff;
    if (destination === 0xff) return true;
    if (!logical) return destination === s.id;
    if (s.dfr === 0) return destination >>> 4 === s.ldr >>> 4 && (destination & s.ldr & 0xf) !== 0;
    return (destination & s.ldr) !== 0;
  }

  /**
   * LINT1 (on a PC, the chipset's NMI line; QEMU's monitor command `nmi` pulses it): a rising edge
   * delivers through LVT LINT1 — NMI in the state SeaBIOS leaves — or, with the APIC globally
   * disabled, is an NMI on the processor's pin. A level-triggered Fixed LINT1 drops its request on
   * the falling edge, as LINT0 does.
   */
  setLint1(level: boolean): void {
    const s = this.state;
    const rising = level && !s.lint1;
    const falling = !level && s.lint1;
    s.lint1 = level;
    if (!s.globalEnable) {
      if (rising) this.onNmi?.();
      return;
    }
    const lvt = s.lvt[Lvt.LINT1]!;
    if (rising) this.deliverLocal(Lvt.LINT1);
    else if (falling && (lvt & LvtBit.MASKED) === 0 && ((lvt >>> 8) & 7) === DeliveryMode.FIXED && (lvt & LvtBit.LEVEL) !== 0) {
      clearBit(s.irr, lvt & 0xff);
      this.updateIntr();
    }
  }

  /** EOI (SDM vol. 3, 10.8.5): retire the highest in-service vector; level-triggered ones go to onEoi. */
  private eoi(): void {
    const s = this.state;
    const vector = highestBit(s.isr);
    if (vector < 0) return;
    clearBit(s.isr, vector);
    this.updateIntr();
    if (testBit(s.tmr, vector)) this.onEoi?.(vector);
  }

  /**
   * An IPI written to the ICR (SDM vol. 3, 10.6.1). Only this processor exists: fixed, lowest
   * priority and NMI IPIs addressed to it are delivered; INIT, STARTUP, SMI and anything aimed at
   * other processors are accepted and dropped, with the delivery status reading idle.
   */
  private sendIpi(): void {
    const s = this.state;
    const vector = s.icrLow & 0xff;
    const mode = (s.icrLow >>> 8) & 7;
    const shorthand = (s.icrLow >>> 18) & 3;
    const toSelf = shorthand === 0 ? this.accepts(s.icrHigh >>> 24, (s.icrLow & ICR_LOGICAL) !== 0) : shorthand !== 3;
    switch (mode) {
      case DeliveryMode.FIXED:
      case DeliveryMode.LOWEST:
        if (vector < 16) {
          this.signalError(Esr.SEND_ILLEGAL_VECTOR);
          return;
        }
        // SDM vol. 3, 10.6.1: the trigger-mode bit only matters for INIT level de-assert; IPIs are edge.
        if (toSelf) this.acceptFixed(vector, false);
        return;
      case DeliveryMode.NMI:
        if (toSelf) this.onNmi?.();
        return;
      default:
        return;
    }
  }

  // ------------------------------------------------------------------ timer

  /** Divide configuration (bits 3, 1:0) to divisor: 000 → 2, 001 → 4, ..., 110 → 128, 111 → 1 (SDM vol. 3, figure 10-10). */
  private divisor(): number {
    const d = this.state.timerDivide;
    const v = (d & 3) | ((d >>> 1) & 4);
    return 1 << ((v + 1) & 7);
  }

  private get periodic(): boolean {
    return (this.state.lvt[Lvt.TIMER]! & LvtBit.PERIODIC) !== 0;
  }

  /** Ticks of the divided 1 GHz bus clock since the count was loaded. */
  private ticksSinceLoad(now: number): number {
    return Math.floor((now - this.state.timerLoadedAt) / this.divisor());
  }

  /**
   * The current-count register (SDM vol. 3, 10.5.4). One-shot: counts down to 0 and stays there;
   * periodic: reloads the initial count when it reaches 0. DEVIATION from QEMU, whose period is
   * initial count + 1 ticks: the period here is the initial count, as the SDM describes.
   */
  private currentCount(): number {
    const s = this.state;
    if (s.timerInitial === 0) return 0;
    const ticks = this.ticksSinceLoad(this.clock.now());
    if (this.periodic) return s.timerInitial - (ticks % s.timerInitial);
    return ticks >= s.timerInitial ? 0 : s.timerInitial - ticks;
  }

  /** A new divide configuration takes effect from now, keeping the current count where it is. */
  private writeDivide(value: number): void {
    const s = this.state;
    if (s.timerInitial !== 0) {
      const now = this.clock.now();
      let ticks = this.ticksSinceLoad(now);
      if (this.periodic) ticks %= s.timerInitial;
      else ticks = Math.min(ticks, s.timerInitial);
      s.timerDivide = value;
      s.timerLoadedAt = now - ticks * this.divisor();
    } else {
      s.timerDivide = value;
    }
    this.armTimer();
  }

  private cancelTimer(): void {
    if (this.timer !== null) {
      this.clock.cancel(this.timer);
      this.timer = null;
    }
  }

  /**
   * Schedules the next expiry, if the timer runs and is unmasked. Expiries sit on the grid
   * timerLoadedAt + k × period, so periodic mode does not drift however late callbacks run.
   */
  private armTimer(): void {
    this.cancelTimer();
    const s = this.state;
    if (s.timerInitial === 0 || (s.lvt[Lvt.TIMER]! & LvtBit.MASKED) !== 0) return;
    const period = s.timerInitial * this.divisor();
    const now = this.clock.now();
    let at: number;
    if (this.periodic) at = s.timerLoadedAt + (Math.floor((now - s.timerLoadedAt) / period) + 1) * period;
    else {
      at = s.timerLoadedAt + period;
      if (at <= now) return; // a one-shot count that already ran out while masked stays at 0
    }
    this.scheduleAt(at);
  }

  private scheduleAt(at: number): void {
    this.timerDeadline = at;
    this.timer = this.clock.schedule(at, () => this.expire());
  }

  /** The count reached 0: interrupt through LVT timer; periodic mode goes on from the same grid. */
  private expire(): void {
    this.timer = null;
    const s = this.state;
    if ((s.lvt[Lvt.TIMER]! & LvtBit.MASKED) === 0) this.timerInterrupts++;
    this.deliverLocal(Lvt.TIMER);
    if (!this.periodic || s.timerInitial === 0) return;
    const period = s.timerInitial * this.divisor();
    let at = this.timerDeadline + period;
    const now = this.clock.now();
    if (at <= now) at = s.timerLoadedAt + (Math.floor((now - s.timerLoadedAt) / period) + 1) * period;
    this.scheduleAt(at);
  }
}
