/**
 * One ATA channel (by default the primary: command block 0x1F0-0x1F7, control block 0x3F6,
 * IRQ 14) with up to two hard disks, PIO only, after ATA/ATAPI-6 (T13/1410D) and QEMU's
 * hw/ide/core.c. Commands complete at once, so BSY is never seen (QEMU behaves the same).
 * Not modelled: DMA and bus mastering, LBA48 (the EXT commands abort), ATAPI, SMART, security,
 * power states (their commands are accepted as no-ops), 8-bit data transfer mode, per-device INTRQ.
 */
import type { BlockBackend, IrqLine, PortHandler } from './device.ts';
import { SECTOR_SIZE } from './device.ts';

export const IDE_PRIMARY_COMMAND = 0x1f0;
export const IDE_PRIMARY_CONTROL = 0x3f6;
export const IDE_PRIMARY_IRQ = 14;

/** Command block registers, as offsets from the block's base (ATA/ATAPI-6, 7.1). */
export const AtaReg = {
  DATA: 0,
  ERROR: 1, // write: FEATURES
  SECTOR_COUNT: 2,
  LBA_LOW: 3, // CHS: sector number
  LBA_MID: 4, // CHS: cylinder low
  LBA_HIGH: 5, // CHS: cylinder high
  DEVICE: 6, // CHS: drive/head
  STATUS: 7, // write: COMMAND
} as const;

/** Status register (ATA/ATAPI-6, 7.15): BSY DRDY DF DSC DRQ - - ERR. */
export const AtaStatus = { ERR: 0x01, DRQ: 0x08, DSC: 0x10, DF: 0x20, DRDY: 0x40, BSY: 0x80 } as const;
/** Error register bits we report (ATA/ATAPI-6, 7.9). */
export const AtaError = { ABRT: 0x04, IDNF: 0x10 } as const;
/** Device control register (ATA/ATAPI-6, 7.8). */
export const AtaControl = { NIEN: 0x02, SRST: 0x04, HOB: 0x80 } as const;
/**
 * Device register (ATA/ATAPI-6, 7.10):
 *
 *    7   6   5   4   3       0
 *  +---+---+---+---+---------+
 *  | 1 |LBA| 1 |DEV| head /  |   bits 7 and 5 obsolete, read back as 1 (QEMU)
 *  |   |   |   |   | LBA27:24|
 *  +---+---+---+---+---------+
 */
export const AtaDevice = { DEV: 0x10, LBA: 0x40, ALWAYS_ON: 0xa0 } as const;

/** The commands implemented; everything else aborts. */
export const AtaCommand = {
  READ_SECTORS: 0x20,
  READ_SECTORS_NO_RETRY: 0x21,
  WRITE_SECTORS: 0x30,
  WRITE_SECTORS_NO_RETRY: 0x31,
  READ_VERIFY_SECTORS: 0x40,
  READ_VERIFY_SECTORS_NO_RETRY: 0x41,
  EXECUTE_DEVICE_DIAGNOSTIC: 0x90,
  INITIALIZE_DEVICE_PARAMETERS: 0x91,
  READ_MULTIPLE: 0xc4,
  WRITE_MULTIPLE: 0xc5,
  SET_MULTIPLE_MODE: 0xc6,
  STANDBY_IMMEDIATE: 0xe0,
  IDLE_IMMEDIATE: 0xe1,
  STANDBY: 0xe2,
  IDLE: 0xe3,
  CHECK_POWER_MODE: 0xe5,
  FLUSH_CACHE: 0xe7,
  IDENTIFY_DEVICE: 0xec,
  SET_FEATURES: 0xef,
} as const;

/** Status of a device with no command in progress: DRDY and DSC (QEMU's READY_STAT | SEEK_STAT). */
const IDLE = AtaStatus.DRDY | AtaStatus.DSC;
/** Largest DRQ block of READ/WRITE MULTIPLE (IDENTIFY word 47), as in QEMU. */
export const MAX_MULTIPLE = 16;
/** Sectors addressable with 28-bit LBA. */
export const LBA28_SECTORS = 0x0fffffff;
/** Default CHS translation (IDENTIFY words 1, 3, 6): 16 heads, 63 sectors per track. */
const DEFAULT_HEADS = 16;
const DEFAULT_SECTORS_PER_TRACK = 63;
/** Diagnostic code "device 0 passed, device 1 passed or not present" (ATA/ATAPI-6, table 26). */
const DIAGNOSTIC_PASSED = 0x01;

export const IDE_MODEL = 'SHADOWVISOR HARDDISK';
export const IDE_FIRMWARE = '1.0';

export interface IdeDriveState {
  status: number;
  error: number;
  /** Current CHS translation (INITIALIZE DEVICE PARAMETERS). */
  heads: number;
  sectorsPerTrack: number;
  /** Sectors per DRQ block for READ/WRITE MULTIPLE; 0 = multiple mode disabled. */
  multiple: number;
  /** SET FEATURES 02h/82h; reported in IDENTIFY word 85 only: every write reaches the backend at once. */
  writeCache: boolean;
}

export interface IdeChannelState {
  version: 1;
  /** Command block registers, shared by both devices (ATA/ATAPI-6, 5.2.1: writes go to both). */
  features: number;
  sectorCount: number;
  lbaLow: number;
  lbaMid: number;
  lbaHigh: number;
  device: number;
  control: number;
  /** INTRQ requested; the line is asserted when this is set and nIEN is clear. */
  irqPending: boolean;
  drives: IdeDriveState[];
  /** The PIO data transfer in progress. */
  transfer: 'none' | 'in' | 'out';
  /** Device (0 master, 1 slave) and opcode of the transfer. */
  unit: number;
  command: number;
  /** Whether the command addressed sectors by LBA (else CHS): how address registers are updated. */
  lbaMode: boolean;
  /** First sector of the current DRQ block, and sectors left including it. */
  lba: number;
  remaining: number;
  blockSectors: number;
  /** The current DRQ block's bytes, the next byte to move and the block's length. */
  buffer: number[];
  position: number;
  length: number;
}

function freshDrive(): IdeDriveState {
  return { status: IDLE, error: DIAGNOSTIC_PASSED, heads: DEFAULT_HEADS, sectorsPerTrack: DEFAULT_SECTORS_PER_TRACK, multiple: 0, writeCache: false };
}

/** Puts an ATA string (ATA/ATAPI-6, 3.2.9): space padded, two characters a word, the first in the high byte. */
function putAtaString(words: number[], first: number, bytes: number, text: string): void {
  const padded = text.padEnd(bytes, ' ');
  for (let i = 0; i < bytes / 2; i++) words[first + i] = ((padded.charCodeAt(2 * i) & 0xff) << 8) | (padded.charCodeAt(2 * i + 1) & 0xff);
}

export class IdeChannel implements PortHandler {
  readonly state: IdeChannelState;
  private readonly irq: IrqLine;
  private readonly disks: readonly (BlockBackend | null)[];
  private readonly commandBase: number;
  private readonly controlPort: number;
  private irqOut = false;
  private readonly scratch = new Uint8Array(MAX_MULTIPLE * SECTOR_SIZE);

  /** `master` and `slave` are the disks (null: absent); the ports default to the primary channel's. */
  constructor(irq: IrqLine, master: BlockBackend | null, slave: BlockBackend | null, commandBase = IDE_PRIMARY_COMMAND, controlPort = IDE_PRIMARY_CONTROL) {
    this.irq = irq;
    this.disks = [master, slave];
    this.commandBase = commandBase;
    this.controlPort = controlPort;
    this.state = {
      version: 1,
      features: 0,
      sectorCount: 0,
      lbaLow: 0,
      lbaMid: 0,
      lbaHigh: 0,
      device: AtaDevice.ALWAYS_ON,
      control: 0,
      irqPending: false,
      drives: [freshDrive(), freshDrive()],
      transfer: 'none',
      unit: 0,
      command: 0,
      lbaMode: false,
      lba: 0,
      remaining: 0,
      blockSectors: 1,
      buffer: new Array<number>(MAX_MULTIPLE * SECTOR_SIZE).fill(0),
      position: 0,
      length: 0,
    };
    this.reset();
  }

  /** Power-on/hardware reset: default translation, multiple mode off, signature, no interrupt. */
  reset(): void {
    const s = this.state;
    s.drives = [freshDrive(), freshDrive()];
    s.control = 0;
    s.features = 0;
    s.transfer = 'none';
    s.irqPending = false;
    this.setSignature();
    this.updateIrq();
  }

  // ------------------------------------------------------------------ ports

  read(port: number, size: 1 | 2 | 4): number {
    if (port === this.controlPort) {
      // Alternate status: the status without clearing the interrupt; the bytes above are not ours.
      const v = this.statusOf(this.selected);
      return size === 1 ? v : (v | (size === 2 ? 0xff00 : 0xffffff00)) >>> 0;
    }
    const reg = port - this.commandBase;
    if (reg === AtaReg.DATA) return this.readData(size);
    if (size === 1) return this.readRegister(reg);
    // A wider access to a byte register reaches successive ports, as on the ISA bus.
    let v = 0;
    for (let i = 0; i < size; i++) v |= (reg + i <= AtaReg.STATUS ? this.readRegister(reg + i) : 0xff) << (8 * i);
    return v >>> 0;
  }

  write(port: number, size: 1 | 2 | 4, value: number): void {
    if (port === this.controlPort) {
      this.writeControl(value & 0xff);
      return;
    }
    const reg = port - this.commandBase;
    if (reg === AtaReg.DATA) {
      this.writeData(size, value);
      return;
    }
    for (let i = 0; i < size && reg + i <= AtaReg.STATUS; i++) this.writeRegister(reg + i, (value >>> (8 * i)) & 0xff);
  }

  private get selected(): number {
    return (this.state.device & AtaDevice.DEV) !== 0 ? 1 : 0;
  }

  private present(unit: number): boolean {
    return this.disks[unit] !== null;
  }

  /**
   * Whether the selected position answers register reads. As in QEMU (hw/ide/core.c,
   * ide_ioport_read and ide_status_read), an absent slave reads 0, and so does everything when
   * neither device is there; an absent master beside a present slave answers with its idle
   * registers (ready), which is how a driver waiting on the master before it selects the slave
   * (xv6's ideinit) gets past.
   */
  private answers(unit: number): boolean {
    return this.present(unit) || (unit === 0 && this.present(1));
  }

  /** An absent device's registers read 0, so drivers see no device there (QEMU's ide_ioport_read). */
  private statusOf(unit: number): number {
    return this.answers(unit) ? this.state.drives[unit]!.status : 0;
  }

  private readRegister(reg: number): number {
    const s = this.state;
    const unit = this.selected;
    if (reg === AtaReg.DEVICE) return this.present(0) || this.present(1) ? s.device : 0;
    if (reg === AtaReg.STATUS) {
      // Reading the status register acknowledges the interrupt (ATA/ATAPI-6, 5.2.13).
      s.irqPending = false;
      this.updateIrq();
      return this.statusOf(unit);
    }
    if (!this.answers(unit)) return 0;
    switch (reg) {
      case AtaReg.ERROR:
        return s.drives[unit]!.error;
      case AtaReg.SECTOR_COUNT:
        return s.sectorCount;
      case AtaReg.LBA_LOW:
        return s.lbaLow;
      case AtaReg.LBA_MID:
        return s.lbaMid;
      case AtaReg.LBA_HIGH:
        return s.lbaHigh;
      default:
        return 0xff;
    }
  }

  private writeRegister(reg: number, value: number): void {
    const s = this.state;
    switch (reg) {
      case AtaReg.ERROR:
        s.features = value;
        return;
      case AtaReg.SECTOR_COUNT:
        s.sectorCount = value;
        return;
      case AtaReg.LBA_LOW:
        s.lbaLow = value;
        return;
      case AtaReg.LBA_MID:
        s.lbaMid = value;
        return;
      case AtaReg.LBA_HIGH:
        s.lbaHigh = value;
        return;
      case AtaReg.DEVICE:
        s.device = value | AtaDevice.ALWAYS_ON;
        return;
      case AtaReg.STATUS:
        this.execute(value);
        return;
    }
  }

  /**
   * Device control (ATA/ATAPI-6, 7.8 and 9.2): SRST set makes both devices busy and ends any
   * command; SRST cleared completes the reset with the signature. nIEN masks INTRQ.
   */
  private writeControl(value: number): void {
    const s = this.state;
    const wasReset = (s.control & AtaControl.SRST) !== 0;
    s.control = value & (AtaControl.NIEN | AtaControl.SRST | AtaControl.HOB);
    const reset = (s.control & AtaControl.SRST) !== 0;
    if (reset && !wasReset) {
      for (const d of s.drives) {
        d.status = AtaStatus.BSY | AtaStatus.DSC;
        d.error = DIAGNOSTIC_PASSED;
      }
      s.transfer = 'none';
      s.irqPending = false;
    } else if (!reset && wasReset) {
      for (const d of s.drives) d.status = IDLE;
      this.setSignature();
    }
    this.updateIrq();
  }

  /** The ATA device signature (ATA/ATAPI-6, 9.12), device 0 selected. */
  private setSignature(): void {
    const s = this.state;
    s.sectorCount = 1;
    s.lbaLow = 1;
    s.lbaMid = 0;
    s.lbaHigh = 0;
    s.device = AtaDevice.ALWAYS_ON;
  }

  // ------------------------------------------------------------------ interrupt

  private raiseIrq(): void {
    this.state.irqPending = true;
    this.updateIrq();
  }

  private updateIrq(): void {
    const level = this.state.irqPending && (this.state.control & AtaControl.NIEN) === 0;
    if (level !== this.irqOut) {
      this.irqOut = level;
      this.irq.set(level);
    }
  }

  // ------------------------------------------------------------------ commands

  /** A command to the absent master (the slave is there): aborted, with an interrupt. */
  private abortAbsent(unit: number): void {
    this.state.unit = unit;
    this.fail(AtaError.ABRT);
  }

  /**
   * A write to the command register. Commands to an absent device are ignored, as in QEMU.
   * DEVIATION: an absent master beside a present slave aborts every command (QEMU runs them on a
   * device without a medium); no driver here depends on which.
   */
  private execute(command: number): void {
    const s = this.state;
    const unit = this.selected;
    if (!this.answers(unit) || (s.control & AtaControl.SRST) !== 0) return;
    if (!this.present(unit)) return void this.abortAbsent(unit);
    const d = s.drives[unit]!;
    // Writing the command register clears a pending interrupt (ATA/ATAPI-6, 5.2.13).
    s.irqPending = false;
    this.updateIrq();
    // A new command ends a transfer left unfinished (on either device).
    if (s.transfer !== 'none') s.drives[s.unit]!.status &= ~AtaStatus.DRQ;
    s.transfer = 'none';
    s.unit = unit;
    s.command = command;
    s.lbaMode = (s.device & AtaDevice.LBA) !== 0;
    d.status = IDLE;
    d.error = 0;
    switch (command) {
      case AtaCommand.IDENTIFY_DEVICE:
        this.identify(unit);
        return;
      case AtaCommand.READ_SECTORS:
      case AtaCommand.READ_SECTORS_NO_RETRY:
        this.startTransfer('in', 1);
        return;
      case AtaCommand.WRITE_SECTORS:
      case AtaCommand.WRITE_SECTORS_NO_RETRY:
        this.startTransfer('out', 1);
        return;
      case AtaCommand.READ_MULTIPLE:
      case AtaCommand.WRITE_MULTIPLE:
        if (d.multiple === 0) this.fail(AtaError.ABRT);
        else this.startTransfer(command === AtaCommand.READ_MULTIPLE ? 'in' : 'out', d.multiple);
        return;
      case AtaCommand.READ_VERIFY_SECTORS:
      case AtaCommand.READ_VERIFY_SECTORS_NO_RETRY:
        this.verify();
        return;
      case AtaCommand.EXECUTE_DEVICE_DIAGNOSTIC:
        for (const drive of s.drives) {
          drive.status = IDLE;
          drive.error = DIAGNOSTIC_PASSED;
        }
        this.setSignature();
        this.raiseIrq();
        return;
      case AtaCommand.INITIALIZE_DEVICE_PARAMETERS:
        // ATA/ATAPI-6, 8.16: heads from the device register, sectors per track from the count.
        if (s.sectorCount === 0) {
          this.fail(AtaError.ABRT);
          return;
        }
        d.heads = (s.device & 0xf) + 1;
        d.sectorsPerTrack = s.sectorCount;
        this.raiseIrq();
        return;
      case AtaCommand.SET_MULTIPLE_MODE: {
        const n = s.sectorCount;
        if (n !== 0 && (n > MAX_MULTIPLE || (n & (n - 1)) !== 0)) this.fail(AtaError.ABRT);
        else {
          d.multiple = n; // 0 disables multiple mode (QEMU)
          this.raiseIrq();
        }
        return;
      }
      case AtaCommand.SET_FEATURES:
        if (s.features === 0x02) d.writeCache = true;
        else if (s.features === 0x82) d.writeCache = false;
        this.raiseIrq(); // every subcommand (transfer mode, read look-ahead...) is accepted
        return;
      case AtaCommand.CHECK_POWER_MODE:
        s.sectorCount = 0xff; // active or idle
        this.raiseIrq();
        return;
      case AtaCommand.FLUSH_CACHE: // writes already reached the backend
      case AtaCommand.STANDBY_IMMEDIATE:
      case AtaCommand.IDLE_IMMEDIATE:
      case AtaCommand.STANDBY:
      case AtaCommand.IDLE:
        this.raiseIrq();
        return;
      default:
        this.fail(AtaError.ABRT);
    }
  }

  /** Ends the command with an error: DRDY, DSC and ERR set, the error register, an interrupt. */
  private fail(error: number): void {
    const s = this.state;
    const d = s.drives[s.unit]!;
    s.transfer = 'none';
    d.status = IDLE | AtaStatus.ERR;
    d.error = error;
    this.raiseIrq();
  }

  /**
   * IDNF (ATA/ATAPI-6, 8.27): the sector at `lba` (or an invalid CHS address, lba < 0) is not on
   * the disk; the address registers point at it. ABRT is set with it (QEMU reports ABRT alone).
   */
  private failAddress(lba: number): void {
    if (lba >= 0) this.putAddress(lba);
    this.fail(AtaError.ABRT | AtaError.IDNF);
  }

  private capacity(unit: number): number {
    return Math.min(this.disks[unit]?.sectors ?? 0, LBA28_SECTORS);
  }

  /** Cylinders of the current translation; the default one is limited to 16383 (ATA/ATAPI-6, annex B). */
  private cylinders(unit: number): number {
    const d = this.state.drives[unit]!;
    const isDefault = d.heads === DEFAULT_HEADS && d.sectorsPerTrack === DEFAULT_SECTORS_PER_TRACK;
    const c = Math.floor(this.capacity(unit) / (d.heads * d.sectorsPerTrack));
    return Math.max(1, Math.min(c, isDefault ? 16383 : 65535));
  }

  /** The command's first sector from the address registers, or -1 for a CHS address off the translation. */
  private startAddress(): number {
    const s = this.state;
    if (s.lbaMode) return (((s.device & 0xf) << 24) | (s.lbaHigh << 16) | (s.lbaMid << 8) | s.lbaLow) >>> 0;
    const d = s.drives[s.unit]!;
    const cylinder = s.lbaMid | (s.lbaHigh << 8);
    const head = s.device & 0xf;
    const sector = s.lbaLow;
    if (sector === 0 || sector > d.sectorsPerTrack || head >= d.heads || cylinder >= this.cylinders(s.unit)) return -1;
    return (cylinder * d.heads + head) * d.sectorsPerTrack + sector - 1;
  }

  /** Writes a sector address back to the address registers, in the command's addressing mode. */
  private putAddress(lba: number): void {
    const s = this.state;
    if (s.lbaMode) {
      s.lbaLow = lba & 0xff;
      s.lbaMid = (lba >>> 8) & 0xff;
      s.lbaHigh = (lba >>> 16) & 0xff;
      s.device = (s.device & 0xf0) | ((lba >>> 24) & 0xf);
      return;
    }
    const d = s.drives[s.unit]!;
    const perCylinder = d.heads * d.sectorsPerTrack;
    const cylinder = Math.floor(lba / perCylinder);
    const rest = lba % perCylinder;
    s.lbaLow = (rest % d.sectorsPerTrack) + 1;
    s.lbaMid = cylinder & 0xff;
    s.lbaHigh = (cylinder >>> 8) & 0xff;
    s.device = (s.device & 0xf0) | Math.floor(rest / d.sectorsPerTrack);
  }

  /** The first sector of [lba, lba + count) beyond the disk, or -1 if all are on it. */
  private firstMissing(lba: number, count: number): number {
    const cap = this.capacity(this.state.unit);
    if (lba + count <= cap) return -1;
    return Math.max(lba, cap);
  }

  /** IDENTIFY DEVICE (ATA/ATAPI-6, 8.15): one 512-byte block to read, then an interrupt. */
  private identify(unit: number): void {
    const s = this.state;
    const bytes = this.identifyBlock(unit);
    for (let i = 0; i < SECTOR_SIZE; i++) s.buffer[i] = bytes[i]!;
    s.transfer = 'in';
    s.remaining = 1;
    s.blockSectors = 1;
    s.position = 0;
    s.length = SECTOR_SIZE;
    s.drives[unit]!.status = IDLE | AtaStatus.DRQ;
    this.raiseIrq();
  }

  /** The IDENTIFY DEVICE data (ATA/ATAPI-6, table 27), words little-endian. */
  identifyBlock(unit: number): Uint8Array {
    const d = this.state.drives[unit]!;
    const w = new Array<number>(256).fill(0);
    const cap = this.capacity(unit);
    const defaultCylinders = Math.max(1, Math.min(16383, Math.floor(cap / (DEFAULT_HEADS * DEFAULT_SECTORS_PER_TRACK))));
    w[0] = 0x0040; // ATA device, fixed
    w[1] = defaultCylinders;
    w[3] = DEFAULT_HEADS;
    w[6] = DEFAULT_SECTORS_PER_TRACK;
    putAtaString(w, 10, 20, `SV-ATA-${unit}`);
    putAtaString(w, 23, 8, IDE_FIRMWARE);
    putAtaString(w, 27, 40, IDE_MODEL);
    w[47] = 0x8000 | MAX_MULTIPLE;
    w[49] = (1 << 11) | (1 << 9); // IORDY supported, LBA supported; no DMA
    w[50] = 0x4000;
    w[51] = 0x0200; // PIO timing mode 2 (obsolete field, as QEMU)
    w[53] = 0x0003; // words 54-58 and 64-70 valid
    const cylinders = this.cylinders(unit);
    const chsCapacity = cylinders * d.heads * d.sectorsPerTrack;
    w[54] = cylinders;
    w[55] = d.heads;
    w[56] = d.sectorsPerTrack;
    w[57] = chsCapacity & 0xffff;
    w[58] = chsCapacity >>> 16;
    w[59] = d.multiple !== 0 ? 0x0100 | d.multiple : 0;
    w[60] = cap & 0xffff; // user-addressable sectors, 28-bit
    w[61] = cap >>> 16;
    w[64] = 0x0003; // PIO modes 3 and 4
    w[67] = 120; // minimum PIO cycle times, ns
    w[68] = 120;
    w[80] = 0x0070; // ATA-4 to ATA/ATAPI-6
    w[82] = 0x4020; // NOP, write cache
    w[83] = 0x5000; // FLUSH CACHE
    w[84] = 0x4000;
    w[85] = 0x4000 | (d.writeCache ? 0x0020 : 0);
    w[86] = 0x1000;
    w[87] = 0x4000;
    const bytes = new Uint8Array(SECTOR_SIZE);
    for (let i = 0; i < 255; i++) {
      bytes[2 * i] = w[i]! & 0xff;
      bytes[2 * i + 1] = w[i]! >>> 8;
    }
    // Word 255: signature A5h and a checksum making all 512 bytes sum to 0 (ATA/ATAPI-6, 8.15.61).
    bytes[510] = 0xa5;
    let sum = 0;
    for (let i = 0; i < 511; i++) sum += bytes[i]!;
    bytes[511] = -sum & 0xff;
    return bytes;
  }

  /** READ/WRITE SECTORS and MULTIPLE: count 0 means 256 sectors (ATA/ATAPI-6, 8.27 and 8.45). */
  private startTransfer(direction: 'in' | 'out', blockSectors: number): void {
    const s = this.state;
    const lba = this.startAddress();
    if (lba < 0) {
      this.failAddress(-1);
      return;
    }
    s.transfer = direction;
    s.lba = lba;
    s.remaining = s.sectorCount === 0 ? 256 : s.sectorCount;
    s.blockSectors = blockSectors;
    if (direction === 'in') this.loadBlock();
    else this.awaitBlock(); // PIO out: no interrupt before the first block (ATA/ATAPI-6, 9.8)
  }

  private blockSize(): number {
    return Math.min(this.state.blockSectors, this.state.remaining);
  }

  /** PIO in: reads the next block from the disk, sets DRQ and interrupts. */
  private loadBlock(): void {
    const s = this.state;
    const n = this.blockSize();
    const missing = this.firstMissing(s.lba, n);
    if (missing >= 0) {
      this.failAddress(missing);
      return;
    }
    const data = this.scratch.subarray(0, n * SECTOR_SIZE);
    this.disks[s.unit]!.read(s.lba, n, data);
    for (let i = 0; i < data.length; i++) s.buffer[i] = data[i]!;
    s.position = 0;
    s.length = data.length;
    s.drives[s.unit]!.status = IDLE | AtaStatus.DRQ;
    this.raiseIrq();
  }

  /** PIO out: asks for the next block (DRQ), after checking it is on the disk. */
  private awaitBlock(): boolean {
    const s = this.state;
    const n = this.blockSize();
    const missing = this.firstMissing(s.lba, n);
    if (missing >= 0) {
      this.failAddress(missing);
      return false;
    }
    s.position = 0;
    s.length = n * SECTOR_SIZE;
    s.drives[s.unit]!.status = IDLE | AtaStatus.DRQ;
    return true;
  }

  /** The block is done: the address registers move past it and the count goes down. */
  private advance(): void {
    const s = this.state;
    const n = this.blockSize();
    s.lba += n;
    s.remaining -= n;
    s.sectorCount = s.remaining & 0xff;
    this.putAddress(s.lba);
  }

  private finish(): void {
    const s = this.state;
    s.transfer = 'none';
    s.drives[s.unit]!.status = IDLE;
  }

  private transferring(direction: 'in' | 'out'): boolean {
    const s = this.state;
    return s.transfer === direction && s.unit === this.selected && (s.drives[s.unit]!.status & AtaStatus.DRQ) !== 0;
  }

  /** Data port read: 2 bytes (or 4 for insl, 1 for a byte access) of the DRQ block; 0 without DRQ (QEMU). */
  private readData(size: 1 | 2 | 4): number {
    const s = this.state;
    if (!this.transferring('in')) return 0;
    let v = 0;
    for (let i = 0; i < size; i++) {
      v |= s.buffer[s.position++]! << (8 * i);
      if (s.position >= s.length) {
        this.blockRead();
        break;
      }
    }
    return v >>> 0;
  }

  /** The host has read the whole block: the next one, or the end of the command (no interrupt). */
  private blockRead(): void {
    const s = this.state;
    if (s.command === AtaCommand.IDENTIFY_DEVICE) {
      this.finish();
      return;
    }
    this.advance();
    if (s.remaining > 0) this.loadBlock();
    else this.finish();
  }

  /** Data port write; each sector goes to the disk as soon as its last byte arrives. */
  private writeData(size: 1 | 2 | 4, value: number): void {
    const s = this.state;
    if (!this.transferring('out')) return;
    for (let i = 0; i < size; i++) {
      s.buffer[s.position++] = (value >>> (8 * i)) & 0xff;
      if (s.position % SECTOR_SIZE === 0) this.storeSector(s.position / SECTOR_SIZE - 1);
      if (s.position >= s.length) {
        this.blockWritten();
        break;
      }
    }
  }

  private storeSector(index: number): void {
    const s = this.state;
    const data = this.scratch.subarray(0, SECTOR_SIZE);
    for (let i = 0; i < SECTOR_SIZE; i++) data[i] = s.buffer[index * SECTOR_SIZE + i]!;
    this.disks[s.unit]!.write(s.lba + index, data);
  }

  /** The block is on the disk: interrupt, asking for the next block or ending the command. */
  private blockWritten(): void {
    const s = this.state;
    this.advance();
    if (s.remaining > 0) {
      if (this.awaitBlock()) this.raiseIrq();
    } else {
      this.finish();
      this.raiseIrq();
    }
  }

  /** READ VERIFY SECTORS (ATA/ATAPI-6, 8.28): checks the sectors exist; no data moves. */
  private verify(): void {
    const s = this.state;
    const lba = this.startAddress();
    const count = s.sectorCount === 0 ? 256 : s.sectorCount;
    if (lba < 0) {
      this.failAddress(-1);
      return;
    }
    const missing = this.firstMissing(lba, count);
    if (missing >= 0) {
      this.failAddress(missing);
      return;
    }
    s.sectorCount = 0;
    this.putAddress(lba + count);
    this.raiseIrq();
  }
}
