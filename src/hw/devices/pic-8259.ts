/**
 * The PC/AT's two cascaded Intel 8259A programmable interrupt controllers: master at 0x20/0x21
 * (IRQ 0-7), slave at 0xA0/0xA1 (IRQ 8-15) on the master's IR2, plus the PIIX edge/level control
 * registers (ELCR) at 0x4D0/0x4D1 that QEMU's PC has. Follows the 8259A datasheet ("Programming
 * the 8259A": ICW1-4, OCW1-3, priority rotation, special mask and fully nested modes, poll) and
 * QEMU hw/intc/i8259.c where PC practice differs. Not modelled: MCS-80/85 call-address mode,
 * buffered mode pins (ICW4 BUF/M/S are stored only).
 */
import { BytePortDevice, type IrqLine } from './device.ts';

/**
 * One 8259A. Bit n of irr/imr/isr/lines/elcr is IRn.
 *
 *   ICW1 (A0=0, D4=1):  D3 LTIM  D1 SNGL  D0 IC4
 *   OCW2 (A0=0, D4=0, D3=0): D7-D5 R SL EOI, D2-D0 level
 *   OCW3 (A0=0, D4=0, D3=1): D6 ESMM D5 SMM  D2 P (poll)  D1 RR  D0 RIS
 */
export interface PicChipState {
  /** Interrupt request register. */
  irr: number;
  /** Interrupt mask register (OCW1). */
  imr: number;
  /** In-service register. */
  isr: number;
  /** Current level of each IR input (for edge detection). */
  lines: number;
  /** ELCR: 1 = level triggered for that IR (PIIX extension; masked by which IRs may be level). */
  elcr: number;
  /** Priority rotation: IR `lowestPlusOne` has the highest priority, IR (lowestPlusOne - 1) the lowest. */
  lowestPlusOne: number;
  /** Vector of IR0 (ICW2 with the low three bits cleared). */
  vectorBase: number;
  /** Which initialisation word the next data-port write is: 0 none (operational), 2, 3 or 4. */
  initStep: number;
  /** ICW1 IC4: an ICW4 follows. */
  icw4Needed: boolean;
  /** ICW1 SNGL: no ICW3. */
  single: boolean;
  /** ICW1 LTIM: every IR is level triggered. */
  ltim: boolean;
  /** ICW3 as written (master: which IRs have slaves; slave: its ID). */
  icw3: number;
  /** ICW4 as written. */
  icw4: number;
  autoEoi: boolean;
  rotateOnAutoEoi: boolean;
  specialFullyNested: boolean;
  specialMask: boolean;
  /** OCW3 RR/RIS: reads of the command port return ISR (true) or IRR (false). */
  readIsr: boolean;
  /** OCW3 P: the next read is a poll. */
  poll: boolean;
}

export interface PicPairState {
  version: 1;
  master: PicChipState;
  slave: PicChipState;
}

/** The IRs whose ELCR bit can be set on the PIIX: not IRQ 0, 1, 2 (master), 8, 13 (slave). */
const ELCR_MASK_MASTER = 0xf8;
const ELCR_MASK_SLAVE = 0xde;
const CASCADE_IR = 2;

function newChip(): PicChipState {
  return {
    irr: 0,
    imr: 0,
    isr: 0,
    lines: 0,
    elcr: 0,
    lowestPlusOne: 0,
    vectorBase: 0,
    initStep: 0,
    icw4Needed: false,
    single: false,
    ltim: false,
    icw3: 0,
    icw4: 0,
    autoEoi: false,
    rotateOnAutoEoi: false,
    specialFullyNested: false,
    specialMask: false,
    readIsr: false,
    poll: false,
  };
}

/** Priority (0 = highest) of the highest-priority bit of `mask` under the chip's rotation; 8 if none. */
function highestPriority(c: PicChipState, mask: number): number {
  if (mask === 0) return 8;
  let p = 0;
  while ((mask & (1 << ((p + c.lowestPlusOne) & 7))) === 0) p++;
  return p;
}

function isLevel(c: PicChipState, ir: number): boolean {
  return c.ltim || ((c.elcr >> ir) & 1) !== 0;
}

/**
 * The IR the chip would interrupt for now, or -1: the highest-priority unmasked request whose
 * priority is above every in-service level (datasheet "Fully nested mode"). In special mask mode
 * masked in-service levels do not block; in special fully nested mode the master ignores its own
 * in-service cascade bit so a higher slave request can nest (both as QEMU does).
 */
function pendingIr(c: PicChipState, isMaster: boolean): number {
  const request = highestPriority(c, c.irr & ~c.imr);
  if (request === 8) return -1;
  let inService = c.isr;
  if (c.specialMask) inService &= ~c.imr;
  if (c.specialFullyNested && isMaster) inService &= ~(1 << CASCADE_IR);
  return request < highestPriority(c, inService) ? (request + c.lowestPlusOne) & 7 : -1;
}

/** The INTA cycle on one chip: sets ISR (unless auto-EOI) and clears an edge request from IRR. */
function intack(c: PicChipState, ir: number): void {
  if (c.autoEoi) {
    if (c.rotateOnAutoEoi) c.lowestPlusOne = (ir + 1) & 7;
  } else {
    c.isr |= 1 << ir;
  }
  // A level-triggered request stays in IRR while its line is high (it is the line itself).
  if (!isLevel(c, ir)) c.irr &= ~(1 << ir);
}

/**
 * Records the level of one IR input. Edge mode: a rising edge latches IRR. DEVIATION: the 8259A
 * datasheet requires the input to stay high until the first INTA; like QEMU the latched request
 * survives the input going low, so devices that pulse their line are not lost. Level mode: IRR
 * follows the input.
 */
function setLine(c: PicChipState, ir: number, level: boolean): void {
  const bit = 1 << ir;
  const was = (c.lines & bit) !== 0;
  if (level) {
    c.lines |= bit;
    if (isLevel(c, ir) || !was) c.irr |= bit;
  } else {
    c.lines &= ~bit;
    if (isLevel(c, ir)) c.irr &= ~bit;
  }
}

export class PicPair extends BytePortDevice {
  readonly state: PicPairState = { version: 1, master: newChip(), slave: newChip() };
  private readonly intr: IrqLine;
  private intrLevel = false;

  /** intr: the master's INT output, wired to the CPU's INTR pin. */
  constructor(intr: IrqLine) {
    super();
    this.intr = intr;
  }

  /**
   * Drives IRQ input `irq` (0-15) to `level`. IRQ 2 is the cascade input and is not available
   * to devices; on the PC/AT the ISA bus's IRQ 2 pin is wired to IRQ 9, and so is it here.
   */
  setIrq(irq: number, level: boolean): void {
    if (irq === CASCADE_IR) irq = 9;
    if (irq < 0 || irq > 15) return;
    if (irq < 8) setLine(this.state.master, irq, level);
    else setLine(this.state.slave, irq - 8, level);
    this.update();
  }

  /** An IrqLine for one input, for devices that take a line. */
  line(irq: number): IrqLine {
    return { set: (level: boolean) => this.setIrq(irq, level) };
  }

  /**
   * The INTA cycle: returns the vector of the highest-priority request and puts it in service.
   * If the request went away since INTR rose (masked, or a level line dropped) the chip answers
   * with IR7 without setting ISR (datasheet: "default IR7", a spurious interrupt); a spurious
   * request on the slave yields the slave's IR7 vector (IRQ 15) while the master still puts its
   * cascade IR2 in service, so the handler must EOI the master only.
   */
  acknowledge(): number {
    const { master, slave } = this.state;
    const ir = pendingIr(master, true);
    let vector: number;
    if (ir < 0) {
      vector = master.vectorBase + 7;
    } else {
      if (ir === CASCADE_IR) {
        const ir2 = pendingIr(slave, false);
        if (ir2 >= 0) {
          intack(slave, ir2);
          vector = slave.vectorBase + ir2;
        } else {
          vector = slave.vectorBase + 7;
        }
        this.syncCascade();
      } else {
        vector = master.vectorBase + ir;
      }
      intack(master, ir);
    }
    this.update();
    return vector;
  }

  /** Whether INTR is asserted now. */
  get intrAsserted(): boolean {
    return this.intrLevel;
  }

  protected readByte(port: number): number {
    switch (port) {
      case 0x20:
      case 0x21:
        return this.readChip(this.state.master, port & 1, true);
      case 0xa0:
      case 0xa1:
        return this.readChip(this.state.slave, port & 1, false);
      case 0x4d0:
        return this.state.master.elcr;
      case 0x4d1:
        return this.state.slave.elcr;
      default:
        return 0xff;
    }
  }

  protected writeByte(port: number, v: number): void {
    switch (port) {
      case 0x20:
      case 0x21:
        this.writeChip(this.state.master, port & 1, v);
        break;
      case 0xa0:
      case 0xa1:
        this.writeChip(this.state.slave, port & 1, v);
        break;
      case 0x4d0:
        this.writeElcr(this.state.master, v & ELCR_MASK_MASTER);
        break;
      case 0x4d1:
        this.writeElcr(this.state.slave, v & ELCR_MASK_SLAVE);
        break;
    }
    this.update();
  }

  private readChip(c: PicChipState, a0: number, isMaster: boolean): number {
    if (c.poll) {
      // Poll command (OCW3 P): this read is the acknowledge; I bit 7 and the level in bits 2-0.
      c.poll = false;
      const ir = pendingIr(c, isMaster);
      if (ir < 0) return 0;
      intack(c, ir);
      if (!isMaster) this.syncCascade();
      this.update();
      return 0x80 | ir;
    }
    if (a0 === 1) return c.imr;
    return c.readIsr ? c.isr : c.irr;
  }

  private writeChip(c: PicChipState, a0: number, v: number): void {
    if (a0 === 0) {
      if ((v & 0x10) !== 0) this.icw1(c, v);
      else if ((v & 0x08) !== 0) this.ocw3(c, v);
      else this.ocw2(c, v);
      return;
    }
    switch (c.initStep) {
      case 0: // OCW1
        c.imr = v;
        break;
      case 2: // ICW2: T7-T3 of the vectors (8086 mode)
        c.vectorBase = v & 0xf8;
        c.initStep = c.single ? (c.icw4Needed ? 4 : 0) : 3;
        break;
      case 3: // ICW3
        c.icw3 = v;
        c.initStep = c.icw4Needed ? 4 : 0;
        break;
      case 4: // ICW4: D4 SFNM, D1 AEOI, D0 uPM
        c.icw4 = v;
        c.specialFullyNested = (v & 0x10) !== 0;
        c.autoEoi = (v & 0x02) !== 0;
        c.initStep = 0;
        break;
    }
  }

  /**
   * ICW1 starts initialisation (datasheet "Initialization Command Words"): the edge sense
   * circuit is reset (an input already high must go low and high again), IMR is cleared, IR7
   * gets the lowest priority, special mask mode is cleared and status read is set to IRR; the
   * ICW4 functions are cleared (ICW4 sets them again if IC4).
   */
  private icw1(c: PicChipState, v: number): void {
    c.initStep = 2;
    c.icw4Needed = (v & 0x01) !== 0;
    c.single = (v & 0x02) !== 0;
    c.ltim = (v & 0x08) !== 0;
    c.imr = 0;
    c.isr = 0;
    c.irr = 0;
    for (let ir = 0; ir < 8; ir++) if (isLevel(c, ir) && ((c.lines >> ir) & 1) !== 0) c.irr |= 1 << ir;
    c.lowestPlusOne = 0;
    c.specialMask = false;
    c.readIsr = false;
    c.poll = false;
    c.icw4 = 0;
    c.autoEoi = false;
    c.rotateOnAutoEoi = false;
    c.specialFullyNested = false;
  }

  /** OCW2: R, SL, EOI in bits 7-5 (datasheet table "Operation Command Word 2"). */
  private ocw2(c: PicChipState, v: number): void {
    const level = v & 7;
    switch (v >> 5) {
      case 0: // rotate in automatic EOI mode (clear)
        c.rotateOnAutoEoi = false;
        break;
      case 4: // rotate in automatic EOI mode (set)
        c.rotateOnAutoEoi = true;
        break;
      case 1: // non-specific EOI
      case 5: {
        // rotate on non-specific EOI
        const p = highestPriority(c, c.isr);
        if (p === 8) break;
        const ir = (p + c.lowestPlusOne) & 7;
        c.isr &= ~(1 << ir);
        if (v >> 5 === 5) c.lowestPlusOne = (ir + 1) & 7;
        break;
      }
      case 3: // specific EOI
        c.isr &= ~(1 << level);
        break;
      case 7: // rotate on specific EOI
        c.isr &= ~(1 << level);
        c.lowestPlusOne = (level + 1) & 7;
        break;
      case 6: // set priority: `level` becomes the lowest
        c.lowestPlusOne = (level + 1) & 7;
        break;
      default: // 2: no operation
        break;
    }
  }

  /** OCW3: special mask mode (ESMM/SMM), poll, and which register the command port reads. */
  private ocw3(c: PicChipState, v: number): void {
    if ((v & 0x04) !== 0) c.poll = true;
    if ((v & 0x02) !== 0) c.readIsr = (v & 0x01) !== 0;
    if ((v & 0x40) !== 0) c.specialMask = (v & 0x20) !== 0;
  }

  private writeElcr(c: PicChipState, v: number): void {
    c.elcr = v;
    // Lines switched to level mode now request exactly while high.
    for (let ir = 0; ir < 8; ir++) {
      if (!isLevel(c, ir)) continue;
      if (((c.lines >> ir) & 1) !== 0) c.irr |= 1 << ir;
      else c.irr &= ~(1 << ir);
    }
  }

  /** Feeds the slave's INT output into the master's IR2. */
  private syncCascade(): void {
    const slaveOut = pendingIr(this.state.slave, false) >= 0;
    const master = this.state.master;
    if (slaveOut !== (((master.lines >> CASCADE_IR) & 1) !== 0)) setLine(master, CASCADE_IR, slaveOut);
  }

  /** Recomputes the cascade and INTR: asserted while an unmasked request outranks everything in service. */
  private update(): void {
    this.syncCascade();
    const level = pendingIr(this.state.master, true) >= 0;
    if (level !== this.intrLevel) {
      this.intrLevel = level;
      this.intr.set(level);
    }
  }
}
