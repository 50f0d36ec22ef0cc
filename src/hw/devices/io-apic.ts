/**
 * The I/O APIC (Intel 82093AA, 4 KiB of MMIO at 0xFEC00000): IOREGSEL/IOWIN indirect registers
 * and 24 redirection entries turning interrupt inputs into messages for the local APIC, with
 * QEMU's hw/intc/ioapic.c behaviour for edge and level pins, remote IRR and EOI.
 * Not modelled: the APIC bus (messages arrive at once, delivery status always idle), more than
 * one CPU (the board's `accepts` decides whether a destination reaches it), input polarity (see
 * setIrq). Like QEMU's (version 0x20, as on the ICH), it has the directed-EOI register at 0x40.
 */
import type { MmioHandler } from '../memory/physical-memory.ts';
import type { ApicDeliveryMode, ApicTrigger } from './local-apic.ts';

/** The board's window base for the I/O APIC. */
export const IO_APIC_BASE = 0xfec00000;
export const IO_APIC_PINS = 24;

/** Direct registers (82093AA datasheet, 3.0 "Register description"). */
export const IoApicPort = { IOREGSEL: 0x00, IOWIN: 0x10, EOI: 0x40 } as const;
/** Indirect registers selected through IOREGSEL. */
export const IoApicReg = { ID: 0x00, VERSION: 0x01, ARBITRATION: 0x02, REDIRECTION: 0x10 } as const;
/**
 * Version register: maximum redirection entry 23 (82093AA datasheet, 3.2.2) and version 0x20,
 * QEMU's: the version of the ICH's I/O APIC, which adds the EOI register (Intel ICH9 datasheet,
 * 13.5.5 "EOI Register").
 */
export const IO_APIC_VERSION = 0x00170020;

/**
 * Redirection table entry, low dword (82093AA datasheet, 3.2.4); the high dword holds the
 * destination in bits 63:56.
 *
 *   31        17 16 15 14 13 12 11 10   8 7        0
 *  +------------+--+--+--+--+--+--+------+----------+
 *  |  reserved  |M |TM|RI|PO|DS|DM|DELMOD|  vector  |
 *  +------------+--+--+--+--+--+--+------+----------+
 *  M: masked; TM: level trigger; RI: remote IRR (read-only); PO: active low; DS: delivery status
 *  (read-only); DM: logical destination mode; DELMOD: 000 fixed, 001 lowest priority, 010 SMI,
 *  100 NMI, 101 INIT, 111 ExtINT.
 */
export const Redir = {
  DELIVERY_STATUS: 1 << 12,
  ACTIVE_LOW: 1 << 13,
  REMOTE_IRR: 1 << 14,
  LEVEL: 1 << 15,
  MASKED: 1 << 16,
  LOGICAL: 1 << 11,
} as const;

/** Writable bits of the low dword: everything defined except delivery status and remote IRR. */
const REDIR_LOW_WRITABLE = 0x1afff;
const DELIVERY_MODES: readonly (ApicDeliveryMode | null)[] = ['fixed', 'lowest', 'smi', null, 'nmi', 'init', null, 'extint'];

export interface IoApicState {
  version: 1;
  /** I/O APIC ID (ID register bits 27:24). */
  id: number;
  ioregsel: number;
  /** Low and high dwords of the 24 redirection entries (unsigned). */
  redirLow: number[];
  redirHigh: number[];
  /** Input pins currently asserted, one bit per pin. */
  inputs: number;
}

/** Sends a message to the local APIC: (vector, delivery mode, trigger). */
export type ApicMessageSink = (vector: number, mode: ApicDeliveryMode, trigger: ApicTrigger) => void;

/**
 * Destination matching for one CPU when the board does not pass the local APIC's own `accepts`:
 * physical APIC ID 0, logical ID bit 0 (what Linux gives CPU 0), or the broadcast 0xFF.
 */
export function singleCpuAccepts(destination: number, logical: boolean): boolean {
  if (destination === 0xff) return true;
  return logical ? (destination & 1) !== 0 : destination === 0;
}

export class IoApic implements MmioHandler {
  readonly state: IoApicState;
  private readonly deliver: ApicMessageSink;
  private readonly accepts: (destination: number, logical: boolean) => boolean;

  /**
   * `deliver` hands a message to the local APIC; `accepts` says whether a destination (8 bits,
   * physical or logical) reaches it — the board should pass `(d, l) => lapic.accepts(d, l)`.
   */
  constructor(deliver: ApicMessageSink, accepts: (destination: number, logical: boolean) => boolean = singleCpuAccepts) {
    this.deliver = deliver;
    this.accepts = accepts;
    this.state = {
      version: 1,
      id: 0,
      ioregsel: 0,
      redirLow: new Array<number>(IO_APIC_PINS).fill(Redir.MASKED),
      redirHigh: new Array<number>(IO_APIC_PINS).fill(0),
      inputs: 0,
    };
  }

  /** RESET (82093AA datasheet, 3.2.4): every entry masked, ID 0. Input levels are kept. */
  reset(): void {
    const s = this.state;
    s.id = 0;
    s.ioregsel = 0;
    s.redirLow.fill(Redir.MASKED);
    s.redirHigh.fill(0);
  }

  // ------------------------------------------------------------------ MMIO

  /** IOREGSEL reads back; IOWIN answers 32-bit reads only (as QEMU); anything else reads 0. */
  read(offset: number, size: 1 | 2 | 4): number {
    switch (offset & 0xff) {
      case IoApicPort.IOREGSEL:
        return this.state.ioregsel;
      case IoApicPort.IOWIN:
        return size === 4 ? this.readIndirect(this.state.ioregsel) : 0;
      default:
        return 0;
    }
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    switch (offset & 0xff) {
      case IoApicPort.IOREGSEL:
        this.state.ioregsel = value & 0xff;
        return;
      case IoApicPort.IOWIN:
        if (size === 4) this.writeIndirect(this.state.ioregsel, value >>> 0);
        return;
      case IoApicPort.EOI:
        // A directed EOI: the same as the local APIC's broadcast for that vector (ICH9 13.5.5).
        this.eoi(value & 0xff);
        return;
      default:
        return;
    }
  }

  private readIndirect(reg: number): number {
    const s = this.state;
    switch (reg) {
      case IoApicReg.ID:
      case IoApicReg.ARBITRATION: // the arbitration ID is loaded from the ID (QEMU returns the ID)
        return (s.id << 24) >>> 0;
      case IoApicReg.VERSION:
        return IO_APIC_VERSION;
    }
    const pin = (reg - IoApicReg.REDIRECTION) >> 1;
    if (pin < 0 || pin >= IO_APIC_PINS) return 0xffffffff;
    return (reg & 1) !== 0 ? s.redirHigh[pin]! : s.redirLow[pin]!;
  }

  private writeIndirect(reg: number, value: number): void {
    const s = this.state;
    if (reg === IoApicReg.ID) {
      s.id = (value >>> 24) & 0xf;
      return;
    }
    const pin = (reg - IoApicReg.REDIRECTION) >> 1;
    if (pin < 0 || pin >= IO_APIC_PINS) return; // version, arbitration: read-only
    if ((reg & 1) !== 0) {
      s.redirHigh[pin] = (value & 0xff000000) >>> 0;
      return;
    }
    const readOnly = s.redirLow[pin]! & (Redir.DELIVERY_STATUS | Redir.REMOTE_IRR);
    let low = (value & REDIR_LOW_WRITABLE) | readOnly;
    // QEMU's ioapic_fix_edge_remote_irr: remote IRR is undefined for edge-triggered entries.
    if (!this.levelTriggered(low)) low &= ~Redir.REMOTE_IRR;
    s.redirLow[pin] = low >>> 0;
    // Unmasking (or turning level-triggered) a pin whose input is asserted delivers it.
    this.serviceLevel(pin);
  }

  // ------------------------------------------------------------------ interrupt inputs

  /**
   * Level-triggered only for fixed and lowest-priority entries: the datasheet requires edge
   * triggering for SMI, NMI, INIT and ExtINT, and they are never EOIed.
   */
  private levelTriggered(low: number): boolean {
    const mode = (low >>> 8) & 7;
    return (low & Redir.LEVEL) !== 0 && mode <= 1;
  }

  /**
   * Input `pin` changed (level true = asserted). Edge-triggered entries deliver on the rising
   * edge if unmasked (an edge while masked is lost, 82093AA datasheet 3.2.4); level-triggered
   * ones deliver while asserted and unmasked, once until the EOI clears remote IRR.
   * DEVIATION: the polarity bit is stored but not applied: an IrqLine's level is already
   * "asserted", whatever the electrical polarity of the wire.
   */
  setIrq(pin: number, level: boolean): void {
    if (!Number.isInteger(pin) || pin < 0 || pin >= IO_APIC_PINS) throw new RangeError(`I/O APIC has no pin ${pin}`);
    const s = this.state;
    const bit = 1 << pin;
    const was = (s.inputs & bit) !== 0;
    s.inputs = (level ? s.inputs | bit : s.inputs & ~bit) >>> 0;
    const low = s.redirLow[pin]!;
    if (this.levelTriggered(low)) this.serviceLevel(pin);
    else if (level && !was && (low & Redir.MASKED) === 0) {
      const mode = this.route(pin);
      if (mode !== null) this.deliver(low & 0xff, mode, 'edge');
    }
  }

  /**
   * The local APIC's EOI of a level-triggered vector: clears remote IRR of every level entry
   * with that vector, and delivers again those whose input is still asserted (QEMU's
   * ioapic_eoi_broadcast).
   */
  eoi(vector: number): void {
    const s = this.state;
    for (let pin = 0; pin < IO_APIC_PINS; pin++) {
      const low = s.redirLow[pin]!;
      if ((low & 0xff) !== vector || !this.levelTriggered(low) || (low & Redir.REMOTE_IRR) === 0) continue;
      s.redirLow[pin] = (low & ~Redir.REMOTE_IRR) >>> 0;
      this.serviceLevel(pin);
    }
  }

  /** Delivers a level-triggered pin if asserted, unmasked and not awaiting its EOI. */
  private serviceLevel(pin: number): void {
    const s = this.state;
    const low = s.redirLow[pin]!;
    if (!this.levelTriggered(low) || (low & (Redir.MASKED | Redir.REMOTE_IRR)) !== 0) return;
    if ((s.inputs & (1 << pin)) === 0) return;
    const mode = this.route(pin);
    if (mode === null) return;
    // Remote IRR is set before the message goes out, so that a re-entrant EOI finds it.
    s.redirLow[pin] = (low | Redir.REMOTE_IRR) >>> 0;
    this.deliver(low & 0xff, mode, 'level');
  }

  /**
   * The delivery mode of the pin's message, or null if the mode is reserved or the destination
   * does not reach the CPU (the message is then dropped, and a level entry does not wait for an EOI).
   */
  private route(pin: number): ApicDeliveryMode | null {
    const low = this.state.redirLow[pin]!;
    const mode = DELIVERY_MODES[(low >>> 8) & 7] ?? null;
    if (mode === null) return null;
    return this.accepts(this.state.redirHigh[pin]! >>> 24, (low & Redir.LOGICAL) !== 0) ? mode : null;
  }
}
