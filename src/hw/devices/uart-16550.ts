/**
 * National/TI PC16550D UART at a base port (COM1 = 0x3F8): registers per the datasheet's
 * "Register Summary" table, interrupt priorities per its "Interrupt Control Functions" table,
 * loopback per section 8.6 (MCR bit 4). Transmission is instantaneous: a THR write goes straight
 * to the host sink, so THRE and TEMT are always set. Reception takes a character time at the
 * programmed baud rate: a byte from the host source arrives in the receiver (RBR, or the 16-byte
 * FIFO when enabled) one character after the receiver had room, so data-ready drops when the
 * guest has read everything that arrived and rises again with the next byte — the edge an
 * edge-triggered interrupt controller needs, as on a real line. The interrupt output is asserted
 * while an enabled interrupt is pending, regardless of MCR.OUT2, as QEMU (hw/char/serial.c) does
 * and kernels written for QEMU rely on. Not modelled: transmit timing, parity/framing/break
 * errors, the receive FIFO trigger level and character timeout (see pendingInterrupt), DMA mode.
 */
import { BytePortDevice, type ByteSink, type ByteSource, type DeviceClock, type IrqLine, type TimerHandle } from './device.ts';

/** Interrupt enable register (IER) bits. */
export const Ier = { ERBFI: 0x01, ETBEI: 0x02, ELSI: 0x04, EDSSI: 0x08 } as const;

/** Interrupt identification (IIR bits 3-0); bits 7-6 are set while the FIFOs are enabled. */
export const Iir = { NONE: 0x01, RLS: 0x06, RDA: 0x04, CTI: 0x0c, THRE: 0x02, MSR: 0x00, FIFO: 0xc0 } as const;

/** Line status register (LSR) bits. */
export const Lsr = { DR: 0x01, OE: 0x02, PE: 0x04, FE: 0x08, BI: 0x10, THRE: 0x20, TEMT: 0x40, FIFOERR: 0x80 } as const;

/** Modem control register (MCR) bits. */
export const Mcr = { DTR: 0x01, RTS: 0x02, OUT1: 0x04, OUT2: 0x08, LOOP: 0x10 } as const;

/** Modem status register (MSR): deltas in bits 3-0, line states in bits 7-4. */
export const Msr = { DCTS: 0x01, DDSR: 0x02, TERI: 0x04, DDCD: 0x08, CTS: 0x10, DSR: 0x20, RI: 0x40, DCD: 0x80 } as const;

/** FCR bits: FIFO enable, clear receive FIFO, clear transmit FIFO. */
const FCR_FE = 0x01;
const FCR_RFR = 0x02;
/** The FCR bits that stick: FIFO enable, DMA mode, receiver trigger level. */
const FCR_STICKY = 0xc9;
const LCR_DLAB = 0x80;
const FIFO_SIZE = 16;
/** One character on the line, 10 bit times (start, 8 data, stop), per unit of the divisor, in ns: 10 / 115200 baud. */
const CHAR_NS_PER_DIVISOR = 1e10 / 115200;
/** The modem inputs with nothing attached: carrier, data set ready and clear to send (as QEMU). */
const MSR_EXTERNAL = Msr.DCD | Msr.DSR | Msr.CTS;

export interface UartState {
  version: 2;
  /** The last byte received (what RBR reads when nothing new has arrived). */
  rbr: number;
  ier: number;
  lcr: number;
  mcr: number;
  /** FCR bits that stick (FCR_STICKY). */
  fcr: number;
  scr: number;
  /** Divisor latch (DLL low byte, DLM high byte). */
  divisor: number;
  /** LSR.OE: a byte arrived with the receiver full (only possible in loopback). */
  overrun: boolean;
  /** MSR delta bits 3-0 not yet read. */
  msrDelta: number;
  /** A THRE interrupt is pending (see writeIer / readIir for when it is raised and cleared). */
  thrPending: boolean;
  /** Bytes in the receiver (FIFO: up to 16, else 1): from the host, or transmitted in loopback mode. */
  received: number[];
}

export class Uart16550 extends BytePortDevice {
  readonly state: UartState = {
    version: 2,
    rbr: 0,
    ier: 0,
    lcr: 0,
    mcr: Mcr.OUT2,
    fcr: 0,
    scr: 0,
    divisor: 0x000c, // 9600 baud from the 1.8432 MHz clock: QEMU's reset value
    overrun: false,
    msrDelta: 0,
    thrPending: false,
    received: [],
  };
  private readonly base: number;
  private readonly irq: IrqLine;
  private readonly clock: DeviceClock;
  private readonly input: ByteSource;
  private readonly output: ByteSink;
  private irqLevel = false;
  /** The next host byte on its way into the receiver. */
  private arrival: TimerHandle | null = null;

  /** base: first of the eight ports; irq: the COM line (IRQ 4 for COM1); input/output: the host side. */
  constructor(base: number, irq: IrqLine, clock: DeviceClock, input: ByteSource, output: ByteSink) {
    super();
    this.base = base;
    this.irq = irq;
    this.clock = clock;
    this.input = input;
    this.output = output;
  }

  /**
   * Host input may have become ready without any guest access (a person typing): the board calls
   * this periodically, and the next byte starts its way down the line.
   */
  poll(): void {
    this.startArrival();
  }

  /** The receiver's capacity: the FIFO, or RBR alone. */
  private get capacity(): number {
    return (this.state.fcr & FCR_FE) !== 0 ? FIFO_SIZE : 1;
  }

  /**
   * When the receiver has room and the host has a byte, it arrives one character time from now
   * (the host waits while the receiver is full, as QEMU's serial port does with its back end).
   */
  private startArrival(): void {
    const s = this.state;
    if (this.arrival !== null || this.loopbackMode || s.received.length >= this.capacity || !this.input.ready()) return;
    const ns = Math.max(1, s.divisor) * CHAR_NS_PER_DIVISOR;
    this.arrival = this.clock.schedule(this.clock.now() + ns, () => this.arrive());
  }

  private arrive(): void {
    this.arrival = null;
    if (this.loopbackMode || this.state.received.length >= this.capacity) return;
    const b = this.input.read();
    if (b >= 0) this.state.received.push(b & 0xff);
    this.updateIrq();
    this.startArrival();
  }

  protected readByte(port: number): number {
    const s = this.state;
    switch (port - this.base) {
      case 0:
        return (s.lcr & LCR_DLAB) !== 0 ? s.divisor & 0xff : this.readRbr();
      case 1:
        return (s.lcr & LCR_DLAB) !== 0 ? s.divisor >> 8 : s.ier;
      case 2:
        return this.readIir();
      case 3:
        return s.lcr;
      case 4:
        return s.mcr;
      case 5: {
        const v = (this.dataReady() ? Lsr.DR : 0) | (s.overrun ? Lsr.OE : 0) | Lsr.THRE | Lsr.TEMT;
        // Reading LSR clears the error bits (datasheet LSR bits 1-4).
        if (s.overrun) {
          s.overrun = false;
          this.updateIrq();
        }
        return v;
      }
      case 6: {
        const v = this.modemLines() | s.msrDelta;
        if (s.msrDelta !== 0) {
          s.msrDelta = 0;
          this.updateIrq();
        }
        return v;
      }
      case 7:
        return s.scr;
      default:
        return 0xff;
    }
  }

  protected writeByte(port: number, v: number): void {
    const s = this.state;
    switch (port - this.base) {
      case 0:
        if ((s.lcr & LCR_DLAB) !== 0) s.divisor = (s.divisor & 0xff00) | v;
        else this.writeThr(v);
        break;
      case 1:
        if ((s.lcr & LCR_DLAB) !== 0) s.divisor = (s.divisor & 0x00ff) | (v << 8);
        else this.writeIer(v);
        break;
      case 2:
        this.writeFcr(v);
        break;
      case 3:
        s.lcr = v;
        break;
      case 4:
        this.writeMcr(v);
        break;
      case 7:
        s.scr = v;
        break;
      // 5 (LSR) and 6 (MSR) are read-only here: factory-test writes are ignored.
    }
  }

  private get loopbackMode(): boolean {
    return (this.state.mcr & Mcr.LOOP) !== 0;
  }

  /** Data ready: a byte waits in the receiver. */
  private dataReady(): boolean {
    return this.state.received.length > 0;
  }

  private readRbr(): number {
    const s = this.state;
    if (s.received.length > 0) s.rbr = s.received.shift()!;
    this.updateIrq();
    this.startArrival();
    return s.rbr;
  }

  /** A THR write: the byte leaves at once (or loops back), so the THRE interrupt is re-raised at once. */
  private writeThr(v: number): void {
    const s = this.state;
    s.thrPending = false;
    this.updateIrq();
    if (this.loopbackMode) this.receiveLoopback(v);
    else this.output.write(v);
    s.thrPending = true;
    this.updateIrq();
  }

  private receiveLoopback(v: number): void {
    const s = this.state;
    const capacity = this.capacity;
    if (s.received.length < capacity) {
      s.received.push(v);
      return;
    }
    // Overrun (datasheet LSR bit 1): without FIFOs the new character overwrites RBR; with FIFOs
    // the FIFO keeps its contents and the character in the shift register is lost.
    s.overrun = true;
    if (capacity === 1) s.received[0] = v;
  }

  /**
   * IER. A THRE interrupt is raised when ETBEI goes from 0 to 1 while THR is empty (it always is
   * here) and dropped when ETBEI is cleared; QEMU does the same (Windows relies on the former).
   */
  private writeIer(v: number): void {
    const s = this.state;
    const changed = (s.ier ^ v) & 0x0f;
    s.ier = v & 0x0f;
    if ((changed & Ier.ETBEI) !== 0) s.thrPending = (s.ier & Ier.ETBEI) !== 0;
    this.updateIrq();
  }

  /** FCR: bit 0 enables the FIFOs (changing it clears both), bits 1-2 clear them; others need bit 0. */
  private writeFcr(v: number): void {
    const s = this.state;
    if (((v ^ s.fcr) & FCR_FE) !== 0 || (v & FCR_RFR) !== 0) s.received = [];
    // The transmit FIFO is always empty: transmission is immediate.
    s.fcr = (v & FCR_FE) !== 0 ? v & FCR_STICKY : 0;
    this.updateIrq();
    this.startArrival();
  }

  /**
   * MCR. In loopback the modem inputs are wired to the outputs (datasheet 8.6.4: CTS=RTS,
   * DSR=DTR, RI=OUT1, DCD=OUT2), and modem-status interrupts come from MCR changes.
   */
  private writeMcr(v: number): void {
    const s = this.state;
    const wasLoop = this.loopbackMode;
    const before = this.modemLines();
    s.mcr = v & 0x1f;
    // In loopback the receiver is disconnected from the serial input (datasheet 8.6.4).
    if (wasLoop !== this.loopbackMode) this.startArrival();
    if (wasLoop && this.loopbackMode) {
      const after = this.modemLines();
      const changed = before ^ after;
      if ((changed & Msr.CTS) !== 0) s.msrDelta |= Msr.DCTS;
      if ((changed & Msr.DSR) !== 0) s.msrDelta |= Msr.DDSR;
      if ((before & Msr.RI) !== 0 && (after & Msr.RI) === 0) s.msrDelta |= Msr.TERI; // trailing edge
      if ((changed & Msr.DCD) !== 0) s.msrDelta |= Msr.DDCD;
    }
    this.updateIrq();
  }

  private modemLines(): number {
    if (!this.loopbackMode) return MSR_EXTERNAL;
    const m = this.state.mcr;
    return (
      ((m & Mcr.RTS) !== 0 ? Msr.CTS : 0) |
      ((m & Mcr.DTR) !== 0 ? Msr.DSR : 0) |
      ((m & Mcr.OUT1) !== 0 ? Msr.RI : 0) |
      ((m & Mcr.OUT2) !== 0 ? Msr.DCD : 0)
    );
  }

  /**
   * The highest-priority enabled pending interrupt (datasheet "Interrupt Control Functions"):
   * 1 receiver line status, 2 received data available, 3 THR empty, 4 modem status. DEVIATION:
   * received data is reported as soon as one byte is ready whatever the FIFO trigger level, so
   * the character-timeout identification (0x0C) never occurs.
   */
  private pendingInterrupt(): number {
    const s = this.state;
    if ((s.ier & Ier.ELSI) !== 0 && s.overrun) return Iir.RLS;
    if ((s.ier & Ier.ERBFI) !== 0 && this.dataReady()) return Iir.RDA;
    if ((s.ier & Ier.ETBEI) !== 0 && s.thrPending) return Iir.THRE;
    if ((s.ier & Ier.EDSSI) !== 0 && s.msrDelta !== 0) return Iir.MSR;
    return Iir.NONE;
  }

  /** IIR: reading it while THRE is the reported source clears that interrupt. */
  private readIir(): number {
    const id = this.pendingInterrupt();
    if (id === Iir.THRE) {
      this.state.thrPending = false;
      this.updateIrq();
    }
    return id | ((this.state.fcr & FCR_FE) !== 0 ? Iir.FIFO : 0);
  }

  private updateIrq(): void {
    const level = this.pendingInterrupt() !== Iir.NONE;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }
}
