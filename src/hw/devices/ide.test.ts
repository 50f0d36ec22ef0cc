import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BlockBackend } from './device.ts';
import { AtaCommand, AtaError, AtaStatus, IdeChannel } from './ide.ts';
import { MemoryDisk } from './memory-disk.ts';

const DATA = 0x1f0;
const ERROR = 0x1f1;
const FEATURES = 0x1f1;
const COUNT = 0x1f2;
const LBA_LOW = 0x1f3;
const LBA_MID = 0x1f4;
const LBA_HIGH = 0x1f5;
const DEVICE = 0x1f6;
const STATUS = 0x1f7;
const COMMAND = 0x1f7;
const CONTROL = 0x3f6;

const IDLE = AtaStatus.DRDY | AtaStatus.DSC; // 0x50
const READY_DRQ = IDLE | AtaStatus.DRQ; // 0x58
const FAILED = IDLE | AtaStatus.ERR; // 0x51

/** 1 MiB: 2 cylinders of 16 heads × 63 sectors. */
const SECTORS = 2 * 16 * 63;

/** A recognisable byte for every position of the disk. */
function patternByte(offset: number): number {
  return (offset * 7 + (offset >>> 9) * 13) & 0xff;
}

/** A memory disk with a pattern that logs each write (sector, length). */
class LoggedDisk extends MemoryDisk {
  readonly writes: [number, number][] = [];
  constructor(sectors: number) {
    super(sectors);
    for (let i = 0; i < this.data.length; i++) this.data[i] = patternByte(i);
  }
  override write(lba: number, data: Uint8Array): void {
    this.writes.push([lba, data.length]);
    super.write(lba, data);
  }
}

function rig(options: { sectors?: number; slave?: BlockBackend | null; master?: boolean } = {}) {
  const disk = new LoggedDisk(options.sectors ?? SECTORS);
  const line = {
    level: false,
    raised: 0,
    set(level: boolean) {
      if (level && !line.level) line.raised++;
      line.level = level;
    },
  };
  const ide = new IdeChannel(line, options.master === false ? null : disk, options.slave ?? null);
  const inb = (port: number) => ide.read(port, 1);
  const outb = (port: number, v: number) => ide.write(port, 1, v);
  /** Reads one 512-byte block with 16-bit (or 32-bit) data port reads. */
  const readBlock = (dword = false) => {
    const out = new Uint8Array(512);
    const view = new DataView(out.buffer);
    if (dword) for (let i = 0; i < 512; i += 4) view.setUint32(i, ide.read(DATA, 4) >>> 0, true);
    else for (let i = 0; i < 512; i += 2) view.setUint16(i, ide.read(DATA, 2), true);
    return out;
  };
  const writeBlock = (bytes: Uint8Array, dword = false) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, 512);
    if (dword) for (let i = 0; i < 512; i += 4) ide.write(DATA, 4, view.getUint32(i, true));
    else for (let i = 0; i < 512; i += 2) ide.write(DATA, 2, view.getUint16(i, true));
  };
  /** Sets up an LBA28 command: device 0, count, address, then the opcode. */
  const lbaCommand = (command: number, lba: number, count: number, device = 0) => {
    outb(DEVICE, 0xe0 | (device << 4) | ((lba >>> 24) & 0xf));
    outb(COUNT, count);
    outb(LBA_LOW, lba & 0xff);
    outb(LBA_MID, (lba >>> 8) & 0xff);
    outb(LBA_HIGH, (lba >>> 16) & 0xff);
    outb(COMMAND, command);
  };
  const expected = (lba: number) => disk.data.slice(lba * 512, lba * 512 + 512);
  return { ide, disk, line, inb, outb, readBlock, writeBlock, lbaCommand, expected };
}

/** The words of an IDENTIFY block, and the ATA string of words [first, first + n). */
function words(block: Uint8Array): number[] {
  return Array.from({ length: 256 }, (_, i) => block[2 * i]! | (block[2 * i + 1]! << 8));
}
function ataString(w: number[], first: number, n: number): string {
  let s = '';
  for (let i = first; i < first + n; i++) s += String.fromCharCode(w[i]! >>> 8, w[i]! & 0xff);
  return s;
}

describe('IDE registers and signature (ATA/ATAPI-6, 7 and 9.12)', () => {
  it('powers on ready, with the ATA signature and diagnostic code 01h', () => {
    const { inb, line } = rig();
    assert.equal(inb(STATUS), IDLE);
    assert.equal(inb(ERROR), 0x01);
    assert.equal(inb(COUNT), 1);
    assert.equal(inb(LBA_LOW), 1);
    assert.equal(inb(LBA_MID), 0);
    assert.equal(inb(LBA_HIGH), 0);
    assert.equal(inb(DEVICE), 0xa0);
    assert.equal(line.level, false);
  });

  it('reads the task file back; the device register keeps its obsolete bits set', () => {
    const { inb, outb } = rig();
    outb(COUNT, 0x55);
    outb(LBA_LOW, 0xaa);
    outb(DEVICE, 0x0e);
    assert.equal(inb(COUNT), 0x55);
    assert.equal(inb(LBA_LOW), 0xaa);
    assert.equal(inb(DEVICE), 0xae);
  });

  it('software reset: BSY while SRST is set, then ready with the signature', () => {
    const { inb, outb, ide, lbaCommand } = rig();
    lbaCommand(AtaCommand.READ_SECTORS, 7, 2);
    assert.equal(inb(STATUS), READY_DRQ);
    outb(CONTROL, 0x04);
    assert.equal(inb(STATUS), AtaStatus.BSY | AtaStatus.DSC);
    outb(COMMAND, AtaCommand.IDENTIFY_DEVICE); // ignored while in reset
    outb(CONTROL, 0x00);
    assert.equal(inb(STATUS), IDLE);
    assert.equal(inb(ERROR), 0x01);
    assert.deepEqual([inb(COUNT), inb(LBA_LOW), inb(LBA_MID), inb(LBA_HIGH)], [1, 1, 0, 0]);
    assert.equal(ide.read(DATA, 2), 0); // the transfer was abandoned
  });
});

describe('IDE IDENTIFY DEVICE (ATA/ATAPI-6, 8.15)', () => {
  it('returns a 512-byte identify block with geometry, strings, capabilities and checksum', () => {
    const { inb, outb, line, readBlock } = rig();
    outb(DEVICE, 0xa0);
    outb(COMMAND, AtaCommand.IDENTIFY_DEVICE);
    assert.equal(line.level, true);
    assert.equal(inb(STATUS), READY_DRQ);
    assert.equal(line.level, false);
    const block = readBlock();
    assert.equal(inb(STATUS), IDLE);
    const w = words(block);
    assert.equal(w[0], 0x0040);
    assert.deepEqual([w[1], w[3], w[6]], [2, 16, 63]);
    assert.equal(ataString(w, 10, 10), 'SV-ATA-0            ');
    assert.equal(ataString(w, 23, 4), '1.0     ');
    assert.equal(ataString(w, 27, 20), 'SHADOWVISOR HARDDISK'.padEnd(40, ' '));
    assert.equal(w[47], 0x8010);
    assert.equal(w[49]! & (1 << 9), 1 << 9); // LBA
    assert.equal(w[49]! & (1 << 8), 0); // no DMA
    assert.equal(w[53]! & 1, 1);
    assert.deepEqual([w[54], w[55], w[56], w[57]! | (w[58]! << 16)], [2, 16, 63, SECTORS]);
    assert.equal(w[59], 0);
    assert.equal(w[60]! | (w[61]! << 16), SECTORS);
    assert.equal(w[83]! & (1 << 10), 0); // no LBA48
    assert.equal(w[83]! & (1 << 12), 1 << 12); // FLUSH CACHE
    assert.equal(block[510], 0xa5);
    assert.equal(block.reduce((a, b) => a + b, 0) & 0xff, 0);
  });

  it('byte-swaps model strings as ATA strings are: "SH" is the word 0x5348', () => {
    const { ide } = rig();
    const block = ide.identifyBlock(0);
    assert.equal(block[54], 'H'.charCodeAt(0));
    assert.equal(block[55], 'S'.charCodeAt(0));
  });

  it('reports the whole disk in words 60-61 up to the LBA28 limit; tiny disks get one cylinder', () => {
    const { ide } = rig({ sectors: 100 });
    const w = words(ide.identifyBlock(0));
    assert.equal(w[60]! | (w[61]! << 16), 100);
    assert.equal(w[1], 1);
  });
});

describe('IDE PIO transfers', () => {
  it('reads several LBA28 sectors, one interrupt per sector, status read acknowledging it', () => {
    const { inb, line, readBlock, lbaCommand, expected } = rig();
    lbaCommand(AtaCommand.READ_SECTORS, 0x234, 3);
    for (let k = 0; k < 3; k++) {
      assert.equal(line.level, true, `interrupt for sector ${k}`);
      assert.equal(inb(CONTROL), READY_DRQ); // alternate status: no acknowledge
      assert.equal(line.level, true);
      assert.equal(inb(STATUS), READY_DRQ);
      assert.equal(line.level, false);
      assert.deepEqual(readBlock(k === 1), expected(0x234 + k));
    }
    assert.equal(line.level, false);
    assert.equal(line.raised, 3);
    assert.equal(inb(STATUS), IDLE);
    assert.equal(inb(COUNT), 0);
    assert.equal(inb(LBA_LOW) | (inb(LBA_MID) << 8), 0x237);
  });

  it('treats a sector count of 0 as 256 sectors', () => {
    const { inb, readBlock, lbaCommand, expected } = rig();
    lbaCommand(AtaCommand.READ_SECTORS_NO_RETRY, 1000, 0);
    for (let k = 0; k < 256; k++) {
      assert.equal(inb(STATUS), READY_DRQ);
      const got = readBlock(true);
      if (k === 0 || k === 255) assert.deepEqual(got, expected(1000 + k));
    }
    assert.equal(inb(STATUS), IDLE);
  });

  it('addresses by CHS: (cylinder × heads + head) × sectors + sector − 1', () => {
    const { inb, outb, readBlock, expected } = rig();
    outb(DEVICE, 0xa0 | 2); // CHS, head 2
    outb(COUNT, 1);
    outb(LBA_LOW, 4); // sector 4
    outb(LBA_MID, 1); // cylinder 1
    outb(LBA_HIGH, 0);
    outb(COMMAND, AtaCommand.READ_SECTORS);
    assert.equal(inb(STATUS), READY_DRQ);
    assert.deepEqual(readBlock(), expected((1 * 16 + 2) * 63 + 3));
    // The registers now hold the next sector, in CHS: sector 5.
    assert.deepEqual([inb(LBA_LOW), inb(LBA_MID), inb(DEVICE) & 0xf], [5, 1, 2]);
  });

  it('writes sectors, each reaching the disk as it completes, and reads them back', () => {
    const { disk, inb, line, readBlock, writeBlock, lbaCommand } = rig();
    const data = Uint8Array.from({ length: 1024 }, (_, i) => (i * 31 + 5) & 0xff);
    lbaCommand(AtaCommand.WRITE_SECTORS, 100, 2);
    assert.equal(line.level, false); // no interrupt before the first block
    assert.equal(inb(STATUS), READY_DRQ);
    writeBlock(data.subarray(0, 512), true);
    assert.deepEqual(disk.writes, [[100, 512]]);
    assert.equal(line.level, true);
    assert.equal(inb(STATUS), READY_DRQ);
    writeBlock(data.subarray(512));
    assert.deepEqual(disk.writes, [
      [100, 512],
      [101, 512],
    ]);
    assert.equal(line.level, true);
    assert.equal(inb(STATUS), IDLE);
    assert.deepEqual(disk.data.subarray(100 * 512, 102 * 512), data);
    lbaCommand(AtaCommand.READ_SECTORS, 100, 2);
    inb(STATUS);
    assert.deepEqual(readBlock(), data.subarray(0, 512));
    inb(STATUS);
    assert.deepEqual(readBlock(true), data.subarray(512));
  });

  it('moves multiple-mode blocks with one interrupt per block (SET MULTIPLE, READ/WRITE MULTIPLE)', () => {
    const { disk, inb, outb, line, readBlock, writeBlock, lbaCommand, expected, ide } = rig();
    lbaCommand(AtaCommand.READ_MULTIPLE, 0, 1);
    assert.equal(inb(STATUS), FAILED); // multiple mode is off
    outb(COUNT, 3);
    outb(COMMAND, AtaCommand.SET_MULTIPLE_MODE);
    assert.equal(inb(STATUS), FAILED); // not a power of two
    outb(COUNT, 4);
    outb(COMMAND, AtaCommand.SET_MULTIPLE_MODE);
    assert.equal(inb(STATUS), IDLE);
    assert.equal(words(ide.identifyBlock(0))[59], 0x0104);
    const raised = line.raised;
    lbaCommand(AtaCommand.READ_MULTIPLE, 50, 6);
    for (let k = 0; k < 6; k++) {
      if (k === 0 || k === 4) assert.equal(inb(STATUS), READY_DRQ);
      assert.deepEqual(readBlock(), expected(50 + k));
    }
    assert.equal(line.raised - raised, 2);
    assert.equal(inb(STATUS), IDLE);
    lbaCommand(AtaCommand.WRITE_MULTIPLE, 60, 5);
    const before = line.raised;
    for (let k = 0; k < 5; k++) {
      writeBlock(new Uint8Array(512).fill(k + 1));
      if (k === 3) assert.equal(inb(STATUS), READY_DRQ); // the interrupt for the first block
    }
    assert.equal(line.raised - before, 2);
    assert.equal(inb(STATUS), IDLE);
    assert.deepEqual(
      disk.writes.map(([lba]) => lba),
      [60, 61, 62, 63, 64],
    );
    assert.equal(disk.data[64 * 512], 5);
  });

  it('ignores data port accesses without DRQ, and data reads during a write', () => {
    const { disk, ide, lbaCommand } = rig();
    assert.equal(ide.read(DATA, 2), 0);
    ide.write(DATA, 2, 0x234);
    lbaCommand(AtaCommand.WRITE_SECTORS, 3, 1);
    assert.equal(ide.read(DATA, 2), 0);
    assert.equal(disk.writes.length, 0);
  });
});

describe('IDE interrupts (ATA/ATAPI-6, 5.2.13)', () => {
  it('nIEN keeps the line low; the request shows once it is cleared', () => {
    const { inb, outb, line } = rig();
    outb(CONTROL, 0x02);
    outb(COMMAND, AtaCommand.IDENTIFY_DEVICE);
    assert.equal(line.level, false);
    assert.equal(inb(CONTROL), READY_DRQ);
    outb(CONTROL, 0x00);
    assert.equal(line.level, true);
    inb(STATUS);
    assert.equal(line.level, false);
  });

  it('a new command clears a pending interrupt', () => {
    const { outb, line } = rig();
    outb(COMMAND, AtaCommand.FLUSH_CACHE);
    assert.equal(line.level, true);
    outb(COMMAND, AtaCommand.IDENTIFY_DEVICE);
    assert.equal(line.raised, 2);
  });
});

describe('IDE devices and errors', () => {
  it('an absent slave reads status 0 and registers 0, and ignores commands', () => {
    const { inb, outb, line } = rig();
    outb(DEVICE, 0xb0);
    assert.equal(inb(STATUS), 0);
    assert.equal(inb(CONTROL), 0);
    outb(COUNT, 0x55);
    assert.equal(inb(COUNT), 0);
    outb(COMMAND, AtaCommand.IDENTIFY_DEVICE);
    assert.equal(line.level, false);
    assert.equal(inb(STATUS), 0);
    outb(DEVICE, 0xa0);
    assert.equal(inb(STATUS), IDLE);
    assert.equal(inb(COUNT), 0x55); // the master saw the write
  });

  it("a slave alone (QEMU's -drive index=1): the absent master reads ready (QEMU's rule), aborts commands, and the slave works", () => {
    const slave = new MemoryDisk(64);
    slave.data.fill(0x33);
    const { inb, outb, readBlock, lbaCommand, line } = rig({ master: false, slave });
    assert.equal(inb(STATUS), IDLE, 'the master position answers with its idle registers');
    outb(COUNT, 0x12);
    assert.equal(inb(COUNT), 0x12);
    outb(COMMAND, AtaCommand.IDENTIFY_DEVICE);
    assert.equal(inb(STATUS), FAILED, 'aborted');
    assert.equal(inb(ERROR), AtaError.ABRT);
    assert.equal(line.raised, 1, 'with an interrupt');
    lbaCommand(AtaCommand.READ_SECTORS, 5, 1, 1);
    assert.equal(inb(STATUS), READY_DRQ);
    assert.deepEqual(readBlock(), new Uint8Array(512).fill(0x33));
  });

  it('no disk at all: both positions read 0', () => {
    const { inb, outb } = rig({ master: false });
    assert.equal(inb(STATUS), 0);
    outb(DEVICE, 0xb0);
    assert.equal(inb(STATUS), 0);
  });

  it('a present slave answers with its own disk', () => {
    const slave = new MemoryDisk(64);
    slave.data.fill(0x77);
    const { inb, outb, readBlock, ide, lbaCommand } = rig({ slave });
    assert.equal(ataString(words(ide.identifyBlock(1)), 10, 4), 'SV-ATA-1');
    lbaCommand(AtaCommand.READ_SECTORS, 3, 1, 1);
    assert.equal(inb(STATUS), READY_DRQ);
    assert.deepEqual(readBlock(), new Uint8Array(512).fill(0x77));
    outb(DEVICE, 0xa0);
    assert.equal(inb(STATUS), IDLE);
    // A command to one device ends a transfer left unfinished on the other.
    lbaCommand(AtaCommand.READ_SECTORS, 0, 2);
    assert.equal(inb(STATUS), READY_DRQ);
    outb(DEVICE, 0xb0);
    outb(COMMAND, AtaCommand.FLUSH_CACHE);
    outb(DEVICE, 0xa0);
    assert.equal(inb(STATUS), IDLE);
    assert.equal(ide.read(DATA, 2), 0);
  });

  it('a channel without disks reads 0 everywhere', () => {
    const { inb } = rig({ master: false });
    assert.deepEqual([inb(STATUS), inb(ERROR), inb(COUNT), inb(DEVICE)], [0, 0, 0, 0]);
  });

  it('aborts unknown commands, LBA48 ones included', () => {
    const { inb, outb, line } = rig();
    outb(COMMAND, 0x24); // READ SECTORS EXT
    assert.equal(line.level, true);
    assert.equal(inb(STATUS), FAILED);
    assert.equal(inb(ERROR), AtaError.ABRT);
    outb(COMMAND, 0xa1); // IDENTIFY PACKET DEVICE: not an ATAPI device
    assert.equal(inb(ERROR), AtaError.ABRT);
  });

  it('reports IDNF with the address of the first sector off the disk', () => {
    const { inb, readBlock, lbaCommand, expected, disk } = rig({ sectors: 64 });
    lbaCommand(AtaCommand.READ_SECTORS, 64, 1);
    assert.equal(inb(STATUS), FAILED);
    assert.equal(inb(ERROR), AtaError.IDNF | AtaError.ABRT);
    lbaCommand(AtaCommand.READ_SECTORS, 63, 2);
    assert.equal(inb(STATUS), READY_DRQ);
    assert.deepEqual(readBlock(), expected(63));
    assert.equal(inb(STATUS), FAILED);
    assert.equal(inb(ERROR), AtaError.IDNF | AtaError.ABRT);
    assert.equal(inb(LBA_LOW), 64);
    lbaCommand(AtaCommand.WRITE_SECTORS, 0x0fffffff, 1);
    assert.equal(inb(STATUS), FAILED);
    assert.equal(disk.writes.length, 0);
    lbaCommand(AtaCommand.READ_VERIFY_SECTORS, 60, 10);
    assert.equal(inb(STATUS), FAILED);
    assert.equal(inb(LBA_LOW), 64);
  });

  it('reports IDNF for a CHS address outside the translation', () => {
    const { inb, outb } = rig();
    outb(DEVICE, 0xa0);
    outb(LBA_LOW, 0); // sector numbers start at 1
    outb(COMMAND, AtaCommand.READ_SECTORS);
    assert.equal(inb(ERROR), AtaError.IDNF | AtaError.ABRT);
    outb(LBA_LOW, 64); // 63 sectors per track
    outb(COMMAND, AtaCommand.READ_SECTORS);
    assert.equal(inb(ERROR), AtaError.IDNF | AtaError.ABRT);
  });
});

describe('IDE housekeeping commands', () => {
  it('INITIALIZE DEVICE PARAMETERS sets the CHS translation (words 54-58)', () => {
    const { inb, outb, ide, readBlock, expected } = rig();
    outb(DEVICE, 0xa0 | 3); // 4 heads
    outb(COUNT, 17);
    outb(COMMAND, AtaCommand.INITIALIZE_DEVICE_PARAMETERS);
    assert.equal(inb(STATUS), IDLE);
    const w = words(ide.identifyBlock(0));
    const cylinders = Math.floor(SECTORS / (4 * 17));
    assert.deepEqual([w[54], w[55], w[56], w[57]! | (w[58]! << 16)], [cylinders, 4, 17, cylinders * 4 * 17]);
    assert.deepEqual([w[1], w[3], w[6]], [2, 16, 63]); // the default translation is unchanged
    outb(DEVICE, 0xa0 | 3);
    outb(COUNT, 1);
    outb(LBA_LOW, 17);
    outb(LBA_MID, 2);
    outb(COMMAND, AtaCommand.READ_SECTORS);
    inb(STATUS);
    assert.deepEqual(readBlock(), expected((2 * 4 + 3) * 17 + 16));
    outb(COUNT, 0);
    outb(COMMAND, AtaCommand.INITIALIZE_DEVICE_PARAMETERS);
    assert.equal(inb(STATUS), FAILED);
  });

  it('accepts SET FEATURES, FLUSH CACHE, READ VERIFY and power commands with an interrupt', () => {
    const { inb, outb, line, ide, lbaCommand } = rig();
    outb(FEATURES, 0x02);
    outb(COMMAND, AtaCommand.SET_FEATURES);
    assert.equal(inb(STATUS), IDLE);
    assert.equal(words(ide.identifyBlock(0))[85]! & 0x20, 0x20);
    outb(FEATURES, 0x03);
    outb(COUNT, 0x0c); // PIO mode 4
    outb(COMMAND, AtaCommand.SET_FEATURES);
    assert.equal(inb(STATUS), IDLE);
    outb(COMMAND, AtaCommand.FLUSH_CACHE);
    assert.equal(inb(STATUS), IDLE);
    lbaCommand(AtaCommand.READ_VERIFY_SECTORS, 10, 5);
    assert.equal(inb(STATUS), IDLE);
    assert.equal(inb(LBA_LOW), 15);
    outb(COMMAND, AtaCommand.CHECK_POWER_MODE);
    assert.equal(inb(STATUS), IDLE);
    assert.equal(inb(COUNT), 0xff);
    assert.equal(line.raised, 5);
  });

  it('EXECUTE DEVICE DIAGNOSTIC sets the signature and code 01h, selecting device 0', () => {
    const { inb, outb } = rig({ slave: new MemoryDisk(8) });
    outb(DEVICE, 0xb0);
    outb(COUNT, 9);
    outb(COMMAND, AtaCommand.EXECUTE_DEVICE_DIAGNOSTIC);
    assert.equal(inb(DEVICE), 0xa0);
    assert.equal(inb(STATUS), IDLE);
    assert.equal(inb(ERROR), 0x01);
    assert.deepEqual([inb(COUNT), inb(LBA_LOW), inb(LBA_MID), inb(LBA_HIGH)], [1, 1, 0, 0]);
  });
});
