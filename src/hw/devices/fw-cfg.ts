/**
 * QEMU's firmware configuration device (docs/specs/fw_cfg.rst; hw/nvram/fw_cfg.c) on the PC's
 * I/O ports, with the port behaviour measured under QEMU 7.2 (guest/entry-probe):
 *   0x510-0x511  a 16-bit write to 0x510 selects an item and rewinds its offset; a byte read at
 *                either port returns the item's next byte (0 past its end or for an absent item);
 *                byte and dword writes, 16-bit writes to 0x511 and wider reads are ignored (the
 *                reads return 0 and consume nothing)
 *   0x514-0x51B  the DMA address register, big-endian: a 32-bit write of the high half at 0x514,
 *                then of the low half at 0x518, starts a transfer described by a FWCfgDmaAccess
 *                in guest memory; reads return the bytes of "QEMU CFG"
 * Items are byte arrays under 16-bit keys (bit 15: architecture-specific; bit 14, the write
 * channel, is ignored), files (keys 0x20 up) are listed in the directory at key 0x19 sorted by
 * name, as QEMU numbers them. Not modelled: writable items (no item is: a DMA write reports an
 * error, as QEMU does for read-only items), DMA above 4 GiB (the transfer is ignored).
 */
import { type PhysicalAccess, PageKind, isMemoryBacked } from '../memory/physical-memory.ts';
import type { PortHandler } from './device.ts';

export const FW_CFG_PORT = 0x510;
export const FW_CFG_DMA_PORT = 0x514;

/** Selector keys (QEMU's include/standard-headers/linux/qemu_fw_cfg.h and hw/i386/fw_cfg.h). */
export const FwCfgKey = {
  SIGNATURE: 0x0000,
  ID: 0x0001,
  UUID: 0x0002,
  RAM_SIZE: 0x0003,
  NOGRAPHIC: 0x0004,
  NB_CPUS: 0x0005,
  MACHINE_ID: 0x0006,
  KERNEL_ADDR: 0x0007,
  KERNEL_SIZE: 0x0008,
  KERNEL_CMDLINE: 0x0009,
  INITRD_ADDR: 0x000a,
  INITRD_SIZE: 0x000b,
  BOOT_DEVICE: 0x000c,
  NUMA: 0x000d,
  BOOT_MENU: 0x000e,
  MAX_CPUS: 0x000f,
  KERNEL_ENTRY: 0x0010,
  KERNEL_DATA: 0x0011,
  INITRD_DATA: 0x0012,
  CMDLINE_ADDR: 0x0013,
  CMDLINE_SIZE: 0x0014,
  CMDLINE_DATA: 0x0015,
  SETUP_ADDR: 0x0016,
  SETUP_SIZE: 0x0017,
  SETUP_DATA: 0x0018,
  FILE_DIR: 0x0019,
  FILE_FIRST: 0x0020,
  /** x86: ACPI tables (legacy), SMBIOS entries, IRQ 0 routed to I/O APIC pin 2, the legacy E820 table, the HPET. */
  ACPI_TABLES: 0x8000,
  SMBIOS_ENTRIES: 0x8001,
  IRQ0_OVERRIDE: 0x8002,
  E820_TABLE: 0x8003,
  HPET: 0x8004,
} as const;

/** FW_CFG_ID bits: the traditional interface, and the DMA interface. */
export const FwCfgId = { TRADITIONAL: 0x1, DMA: 0x2 } as const;

/** FWCfgDmaAccess.control bits. */
export const FwCfgDma = { ERROR: 0x01, READ: 0x02, SKIP: 0x04, SELECT: 0x08, WRITE: 0x10 } as const;

/** "QEMU CFG", what the DMA address register reads as (big-endian, byte 0 first). */
const DMA_SIGNATURE = [0x51, 0x45, 0x4d, 0x55, 0x20, 0x43, 0x46, 0x47];
const ARCH_LOCAL = 0x8000;
const ENTRY_MASK = 0x3fff;
/** Directory entry: size (4, BE), select (2, BE), reserved (2), name (56, NUL-terminated). */
const FILE_NAME_BYTES = 56;

export interface FwCfgState {
  version: 1;
  /** The selected key (write-channel bit cleared). */
  selector: number;
  /** The next byte of the selected item the data port returns. */
  offset: number;
  /** The DMA address register: its high half as last written (the low half starts a transfer). */
  dmaHigh: number;
}

/** A little-endian integer of `bytes` bytes, as QEMU's fw_cfg_add_i16/i32/i64 store them. */
export function le(value: number, bytes: 2 | 4 | 8): Uint8Array {
  const b = new Uint8Array(bytes);
  let v = value;
  for (let k = 0; k < bytes; k++) {
    b[k] = v % 256;
    v = Math.floor(v / 256);
  }
  return b;
}

export class FwCfg implements PortHandler {
  readonly state: FwCfgState = { version: 1, selector: 0, offset: 0, dmaHigh: 0 };
  private readonly items = new Map<number, Uint8Array>();
  private readonly files: { name: string; data: Uint8Array }[] = [];
  private readonly mem: PhysicalAccess;
  private readonly dma: boolean;

  /** mem: what DMA transfers read and write; dma: offer the DMA interface (FW_CFG_ID bit 1). */
  constructor(mem: PhysicalAccess, options: { dma: boolean }) {
    this.mem = mem;
    this.dma = options.dma;
    this.set(FwCfgKey.SIGNATURE, Uint8Array.of(0x51, 0x45, 0x4d, 0x55)); // "QEMU"
    this.set(FwCfgKey.ID, le(FwCfgId.TRADITIONAL | (options.dma ? FwCfgId.DMA : 0), 4));
    this.rebuildDirectory();
  }

  /** Sets (or replaces) the item under `key` (0x0000-0x001F or 0x8000-0xBFFF; files go through addFile). */
  set(key: number, data: Uint8Array): void {
    const k = normalize(key);
    if ((k & ENTRY_MASK) >= FwCfgKey.FILE_FIRST && (k & ARCH_LOCAL) === 0) throw new RangeError(`fw_cfg: key 0x${key.toString(16)} is a file's: use addFile`);
    this.items.set(k, data);
  }

  /** The item under `key`, or undefined. */
  get(key: number): Uint8Array | undefined {
    return this.items.get(normalize(key));
  }

  /** Adds a named file; files get keys from 0x20 in name order, as QEMU numbers them. */
  addFile(name: string, data: Uint8Array): void {
    if (name.length === 0 || name.length >= FILE_NAME_BYTES) throw new RangeError(`fw_cfg: file name '${name}' must have 1-55 characters`);
    if (this.files.some((f) => f.name === name)) throw new RangeError(`fw_cfg: file '${name}' added twice`);
    this.files.push({ name, data });
    this.files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.rebuildDirectory();
  }

  /** Byte reads at 0x510/0x511 return data; DMA register reads return "QEMU CFG". */
  read(port: number, size: 1 | 2 | 4): number {
    if (port >= FW_CFG_DMA_PORT) {
      if (!this.dma) return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
      let v = 0;
      for (let k = 0; k < size; k++) v |= (DMA_SIGNATURE[port - FW_CFG_DMA_PORT + k] ?? 0) << (8 * k);
      return v;
    }
    return size === 1 ? this.nextByte() : 0;
  }

  write(port: number, size: 1 | 2 | 4, value: number): void {
    if (port >= FW_CFG_DMA_PORT) {
      // The register is big-endian: a little-endian OUT of bswap(x) stores x.
      if (!this.dma || size !== 4) return;
      const v = bswap32(value);
      if (port === FW_CFG_DMA_PORT) this.state.dmaHigh = v;
      else if (port === FW_CFG_DMA_PORT + 4) this.transfer(v);
      return;
    }
    if (port === FW_CFG_PORT && size === 2) this.select(value & 0xffff);
  }

  private select(key: number): void {
    this.state.selector = normalize(key);
    this.state.offset = 0;
  }

  private current(): Uint8Array | undefined {
    return this.items.get(this.state.selector);
  }

  private nextByte(): number {
    const item = this.current();
    if (item === undefined || this.state.offset >= item.length) return 0;
    return item[this.state.offset++]!;
  }

  /** One DMA operation (fw_cfg.rst "Guest-side DMA Interface"; QEMU's fw_cfg_dma_transfer). */
  private transfer(low: number): void {
    const high = this.state.dmaHigh;
    this.state.dmaHigh = 0;
    if (high !== 0) return; // DEVIATION: no memory above 4 GiB to hold a FWCfgDmaAccess
    const at = low >>> 0;
    const mem = this.mem;
    if (!this.isMemory(at, 16)) return; // DEVIATION: QEMU reports the failed read in `control`; there is no memory to report it in
    let control = readBe32(mem, at);
    let length = readBe32(mem, at + 4);
    const addressHigh = readBe32(mem, at + 8);
    let address = readBe32(mem, at + 12);
    if ((control & FwCfgDma.SELECT) !== 0) this.select(control >>> 16);
    const read = (control & FwCfgDma.READ) !== 0;
    const write = !read && (control & FwCfgDma.WRITE) !== 0;
    if (!read && !write && (control & FwCfgDma.SKIP) === 0) length = 0;
    control = 0;
    while (length > 0 && (control & FwCfgDma.ERROR) === 0) {
      const item = this.current();
      const left = item === undefined ? 0 : item.length - this.state.offset;
      let n: number;
      if (item === undefined || left <= 0) {
        // Past the end (or nothing selected): a read fills zeros, a write fails.
        n = length;
        if (read && (addressHigh !== 0 || !this.fillRam(address, n, null))) control |= FwCfgDma.ERROR;
        if (write) control |= FwCfgDma.ERROR;
      } else {
        n = Math.min(length, left);
        if (read && (addressHigh !== 0 || !this.fillRam(address, n, item.subarray(this.state.offset, this.state.offset + n)))) control |= FwCfgDma.ERROR;
        if (write) control |= FwCfgDma.ERROR; // no item is writable
        this.state.offset += n;
      }
      address = (address + n) >>> 0;
      length -= n;
    }
    writeBe32(mem, at, control);
  }

  /** Whether [at, at + length) is all RAM or ROM (what a bus master can read). */
  private isMemory(at: number, length: number): boolean {
    if (at + length > 2 ** 32) return false;
    for (let p = at >>> 12; p <= (at + length - 1) >>> 12; p++) if (!isMemoryBacked(this.mem.pageKind[p]!)) return false;
    return true;
  }

  /**
   * Writes `data` (or zeros) at `address` as a bus master: RAM takes it, ROM ignores it; false
   * (an error) if any of it is neither.
   */
  private fillRam(address: number, n: number, data: Uint8Array | null): boolean {
    if (!this.isMemory(address, n)) return false;
    const bytes = data ?? new Uint8Array(n);
    for (let at = 0; at < n; ) {
      const page = (address + at) >>> 12;
      const chunk = Math.min(n - at, (page + 1) * 4096 - (address + at));
      if (this.mem.pageKind[page] === PageKind.RAM) this.mem.writeBytes(address + at, bytes.subarray(at, at + chunk));
      at += chunk;
    }
    return true;
  }

  private rebuildDirectory(): void {
    const dir = new Uint8Array(4 + 64 * this.files.length);
    const v = new DataView(dir.buffer);
    v.setUint32(0, this.files.length, false);
    for (const [k, f] of this.files.entries()) {
      const e = 4 + 64 * k;
      v.setUint32(e, f.data.length, false);
      v.setUint16(e + 4, FwCfgKey.FILE_FIRST + k, false);
      for (let c = 0; c < f.name.length; c++) dir[e + 8 + c] = f.name.charCodeAt(c) & 0xff;
      this.items.set(FwCfgKey.FILE_FIRST + k, f.data);
    }
    this.items.set(FwCfgKey.FILE_DIR, dir);
  }
}

/** The item a key reads: the write-channel bit (14) is ignored (fw_cfg.rst "Selector Register"). */
function normalize(key: number): number {
  return (key & ARCH_LOCAL) | (key & ENTRY_MASK);
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;
}

function readBe32(mem: PhysicalAccess, at: number): number {
  return bswap32(mem.read32(at));
}

function writeBe32(mem: PhysicalAccess, at: number, v: number): void {
  mem.write32(at, bswap32(v) | 0);
}
