/**
 * Host-physical memory of the emulated PC: RAM as typed arrays, MMIO regions, and unbacked holes.
 * Access (read/write by physical address, raw views for the CPU's fast path) is handed out through
 * the `PhysicalAccess` interface; mapping MMIO belongs to whoever builds the machine.
 * Unbacked physical addresses read all ones and ignore writes, as on a PC bus with no device.
 */

/** A device window in the physical address space. Offsets are relative to the window's base. */
export interface MmioHandler {
  read(offset: number, size: 1 | 2 | 4): number;
  write(offset: number, size: 1 | 2 | 4, value: number): void;
}

/**
 * What a physical page is backed by. ROM reads like RAM and ignores writes (the PC's BIOS area);
 * only the machine's builder can change it, through writeBytes.
 */
export const PageKind = { RAM: 0, MMIO: 1, NONE: 2, ROM: 3 } as const;

/** True for pages whose bytes live in the RAM array (RAM and ROM). */
export function isMemoryBacked(kind: number): boolean {
  return kind === PageKind.RAM || kind === PageKind.ROM;
}

/** 4 KiB pages in the 32-bit physical address space. */
export const PHYSICAL_PAGES = 1 << 20;
const PAGES = PHYSICAL_PAGES;

/** RAM as one array indexed by physical address: the CPU's fast paths index it on a TLB hit. */
export interface DirectRam {
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly view: DataView;
}

/** Access-only view of physical memory: what the CPU and devices get. */
export interface PhysicalAccess {
  /** Bytes of RAM from physical address 0 (holes and device windows inside it are not RAM). */
  readonly ramSize: number;
  /**
   * The RAM array when a physical address indexes it directly (the machine's own memory);
   * null for a view that translates every address (a guest's physical memory seen through a
   * hypervisor's GPA -> HPA map), which the CPU then reaches only through read/write.
   */
  readonly direct: DirectRam | null;
  /** PageKind per 4 KiB physical page. */
  readonly pageKind: Uint8Array;
  /** Nonzero for pages whose writes must be reported through onWatchedWrite (code caches). */
  readonly watched: Uint8Array;
  read8(pa: number): number;
  read16(pa: number): number;
  read32(pa: number): number;
  write8(pa: number, v: number): void;
  write16(pa: number, v: number): void;
  write32(pa: number, v: number): void;
  readBytes(pa: number, length: number): Uint8Array;
  writeBytes(pa: number, data: Uint8Array): void;
  /** Fills RAM [pa, pa+length) with a byte value (reporting watched pages like any write). */
  fill(pa: number, length: number, value: number): void;
  /** Marks a page so that every write to it calls the watcher (set by the CPU's code cache). */
  watch(page: number): void;
  setWatcher(watcher: (page: number) => void): void;
}

/** What whoever builds a machine may also do: place device windows, ROM and holes (see PhysicalAddressSpace). */
export interface PlatformMemory extends PhysicalAccess {
  /** Places a device window over [base, base+size). Both must be page aligned. */
  mapMmio(base: number, size: number, handler: MmioHandler): void;
  /** Makes a RAM range read-only (firmware). Its contents stay writable through writeBytes. */
  setReadOnly(base: number, size: number): void;
  /** Makes a range unbacked (a hole such as 640 KiB-1 MiB without a device). */
  unmap(base: number, size: number): void;
}

/**
 * The layout of a physical address space, shared by the machine's memory and a hypervisor's view
 * of a guest's memory: what backs each 4 KiB page (RAM from 0 up to the RAM size, nothing above it
 * until the builder says otherwise), the device windows, and the dispatch of an access to the
 * handler that owns its window, at its offset in the window.
 */
export abstract class PhysicalAddressSpace {
  readonly ramSize: number;
  /** PageKind per page. */
  readonly pageKind = new Uint8Array(PAGES);
  private readonly handlers: MmioHandler[] = [];
  private readonly bases: number[] = [];
  /** Window index per page, valid where the page kind is MMIO. */
  private readonly index = new Uint16Array(PAGES);

  constructor(ramSize: number) {
    this.ramSize = ramSize;
    this.pageKind.fill(PageKind.NONE);
    this.pageKind.fill(PageKind.RAM, 0, ramSize >>> 12);
  }

  /** Management: places a device window over [base, base+size). Both must be page aligned. */
  mapMmio(base: number, size: number, handler: MmioHandler): void {
    if ((base & 0xfff) !== 0 || (size & 0xfff) !== 0) throw new RangeError('MMIO windows must be page aligned');
    const index = this.handlers.length;
    this.handlers.push(handler);
    this.bases.push(base >>> 0);
    for (let p = base >>> 12; p < (base + size) >>> 12 || (base + size === 2 ** 32 && p < PAGES); p++) {
      this.pageKind[p] = PageKind.MMIO;
      this.index[p] = index;
    }
  }

  /** Management: makes a RAM range read-only (firmware). Its contents stay writable through writeBytes. */
  setReadOnly(base: number, size: number): void {
    for (let p = base >>> 12; p < (base + size) >>> 12; p++) if (this.pageKind[p] === PageKind.RAM) this.pageKind[p] = PageKind.ROM;
  }

  /** Management: makes a range unbacked (a hole such as 640 KiB-1 MiB without a device). */
  unmap(base: number, size: number): void {
    for (let p = base >>> 12; p < (base + size) >>> 12; p++) this.pageKind[p] = PageKind.NONE;
  }

  protected mmioRead(pa: number, size: 1 | 2 | 4): number {
    const k = this.index[pa >>> 12]!;
    return this.handlers[k]!.read(pa - this.bases[k]!, size);
  }

  protected mmioWrite(pa: number, size: 1 | 2 | 4, v: number): void {
    const k = this.index[pa >>> 12]!;
    this.handlers[k]!.write(pa - this.bases[k]!, size, v);
  }
}

/** Largest RAM: frames must fit in a TLB entry's 19 frame bits below bit 31 (see tlb.ts). */
export const MAX_PHYSICAL_RAM = 2 ** 31;

export class PhysicalMemory extends PhysicalAddressSpace implements PlatformMemory {
  readonly direct: DirectRam;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly view: DataView;
  readonly watched = new Uint8Array(PAGES);
  private watcher: (page: number) => void = () => {};

  /** ramSize: bytes of RAM starting at physical 0, a multiple of 4 KiB, at most 2 GiB. */
  constructor(ramSize: number) {
    if (ramSize <= 0 || ramSize % 4096 !== 0 || ramSize > MAX_PHYSICAL_RAM) {
      throw new RangeError(`RAM size must be a positive multiple of 4 KiB up to 2 GiB, got ${ramSize}`);
    }
    super(ramSize);
    const buffer = new ArrayBuffer(ramSize);
    this.u8 = new Uint8Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.view = new DataView(buffer);
    this.direct = { u8: this.u8, i32: this.i32, view: this.view };
  }

  watch(page: number): void {
    this.watched[page] = 1;
  }

  setWatcher(watcher: (page: number) => void): void {
    this.watcher = watcher;
  }

  private notify(pa: number): void {
    const page = pa >>> 12;
    if (this.watched[page] !== 0) {
      this.watched[page] = 0;
      this.watcher(page);
    }
  }

  read8(pa: number): number {
    pa >>>= 0;
    const kind = this.pageKind[pa >>> 12]!;
    if (isMemoryBacked(kind)) return this.u8[pa]!;
    return kind === PageKind.MMIO ? this.mmioRead(pa, 1) & 0xff : 0xff;
  }

  read16(pa: number): number {
    pa >>>= 0;
    if ((pa & 0xfff) > 0xffe) return this.read8(pa) | (this.read8(pa + 1) << 8);
    const kind = this.pageKind[pa >>> 12]!;
    if (isMemoryBacked(kind)) return this.view.getUint16(pa, true);
    return kind === PageKind.MMIO ? this.mmioRead(pa, 2) & 0xffff : 0xffff;
  }

  read32(pa: number): number {
    pa >>>= 0;
    if ((pa & 0xfff) > 0xffc) {
      return this.read8(pa) | (this.read8(pa + 1) << 8) | (this.read8(pa + 2) << 16) | (this.read8(pa + 3) << 24);
    }
    const kind = this.pageKind[pa >>> 12]!;
    if (isMemoryBacked(kind)) return this.view.getInt32(pa, true);
    return kind === PageKind.MMIO ? this.mmioRead(pa, 4) | 0 : -1;
  }

  write8(pa: number, v: number): void {
    pa >>>= 0;
    const kind = this.pageKind[pa >>> 12];
    if (kind === PageKind.RAM) {
      this.notify(pa);
      this.u8[pa] = v;
    } else if (kind === PageKind.MMIO) this.mmioWrite(pa, 1, v & 0xff);
  }

  write16(pa: number, v: number): void {
    pa >>>= 0;
    if ((pa & 0xfff) > 0xffe) {
      this.write8(pa, v);
      this.write8(pa + 1, v >> 8);
      return;
    }
    const kind = this.pageKind[pa >>> 12];
    if (kind === PageKind.RAM) {
      this.notify(pa);
      this.view.setUint16(pa, v, true);
    } else if (kind === PageKind.MMIO) this.mmioWrite(pa, 2, v & 0xffff);
  }

  write32(pa: number, v: number): void {
    pa >>>= 0;
    if ((pa & 0xfff) > 0xffc) {
      this.write8(pa, v);
      this.write8(pa + 1, v >> 8);
      this.write8(pa + 2, v >> 16);
      this.write8(pa + 3, v >> 24);
      return;
    }
    const kind = this.pageKind[pa >>> 12];
    if (kind === PageKind.RAM) {
      this.notify(pa);
      this.view.setInt32(pa, v, true);
    } else if (kind === PageKind.MMIO) this.mmioWrite(pa, 4, v | 0);
  }

  readBytes(pa: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.read8(pa + i);
    return out;
  }

  writeBytes(pa: number, data: Uint8Array): void {
    pa >>>= 0;
    if (pa + data.length <= this.ramSize) {
      for (let p = pa >>> 12; p <= (pa + data.length - 1) >>> 12; p++) this.notify(p << 12);
      this.u8.set(data, pa);
      return;
    }
    for (let i = 0; i < data.length; i++) this.write8(pa + i, data[i]!);
  }

  fill(pa: number, length: number, value: number): void {
    pa >>>= 0;
    if (length <= 0) return;
    if (pa + length > this.ramSize) throw new RangeError(`fill beyond RAM at 0x${pa.toString(16)}`);
    for (let p = pa >>> 12; p <= (pa + length - 1) >>> 12; p++) this.notify(p << 12);
    this.u8.fill(value, pa, pa + length);
  }

}
