/**
 * A guest's physical address space as the VMM presents it: GPA -> HPA through the pmap for
 * RAM, the VM's own device windows for MMIO, read-only firmware, and unbacked holes (all ones,
 * writes ignored, as on a PC). The vCPU and the VM's devices and loader see only this; it has
 * no direct RAM array (every access translates), so a CPU over it caches nothing.
 *
 * Paged-out frames: an access to a guest frame the VMM has paged out (or never backed) brings
 * it in through the pager first; every access marks the frame referenced for the pager's clock.
 *
 * Traced frames: a write that lands in a guest frame the VMM traces (a guest page table or
 * descriptor table it shadows) is reported to the tracer with the value before and after, so
 * the shadows can follow. Writes by the real CPU never come here: those fault on the shadows'
 * write protection first and are emulated through this view.
 */
import { PHYSICAL_PAGES, PhysicalAddressSpace, PageKind, type PhysicalMemory, type PlatformMemory, isMemoryBacked } from '../../hw/memory/physical-memory.ts';
import type { GuestPager } from './pager.ts';
import type { Pmap } from './pmap.ts';

/** Told about every write to a traced guest frame: `old` and `value` are the bytes before and after (little-endian). */
export type TraceHook = (gpa: number, size: 1 | 2 | 4, old: number, value: number) => void;

export class GuestPhysicalMemory extends PhysicalAddressSpace implements PlatformMemory {
  readonly direct = null;
  /**
   * Guest frames holding code an interpreting vCPU has decoded (CpuOptions.cacheTranslated):
   * their writes are reported to it. A vCPU that only emulates single instructions for the real
   * CPU caches nothing, since the real CPU writes guest RAM without passing here.
   */
  readonly watched = new Uint8Array(PHYSICAL_PAGES);
  private watcher: (page: number) => void = () => {};
  /** Nonzero for guest frames whose writes go to the trace hook. */
  readonly traced = new Uint8Array(PHYSICAL_PAGES);
  traceHook: TraceHook = () => {};
  private readonly host: PhysicalMemory;
  private readonly pmap: Pmap;
  private readonly pager: GuestPager;
  /** The pager's per-frame "used by the VMM" bits, marked on every access (hoisted: the vCPU's path). */
  private readonly referenced: Uint8Array;
  /** Side-effect-free reads (see peek32), shaped like a physical memory for the page walker. */
  readonly peekView: { read32(pa: number): number; read8(pa: number): number };

  constructor(host: PhysicalMemory, pmap: Pmap, pager: GuestPager, ramSize: number) {
    super(ramSize);
    this.host = host;
    this.pmap = pmap;
    this.pager = pager;
    this.referenced = pager.referenced;
    this.peekView = { read32: (pa) => this.peek32(pa & ~3) ?? -1, read8: (pa) => this.peek8(pa) };
  }

  watch(page: number): void {
    this.watched[page] = 1;
  }

  setWatcher(watcher: (page: number) => void): void {
    this.watcher = (page) => {
      this.watched[page] = 0;
      watcher(page);
    };
  }

  /** The HPA backing a memory-backed GPA, paging its frame in if it is out. */
  private hpa(gpa: number): number {
    const gfn = gpa >>> 12;
    let hfn = this.pmap.hostFrame[gfn]!;
    if (hfn < 0) {
      this.pager.stats.vmmFetches++;
      hfn = this.pager.pageIn(gfn, -1);
    }
    this.referenced[gfn] = 1;
    return hfn * 4096 + (gpa & 0xfff);
  }

  /** Dword of guest RAM or ROM at `gpa` (dword aligned) without side effects: nothing paged in, no device read; null elsewhere. */
  peek32(gpa: number): number | null {
    return isMemoryBacked(this.pageKind[gpa >>> 12]!) ? this.pager.peek32(gpa) : null;
  }

  /**
   * The HPA of guest RAM or ROM at `gpa` when its frame is resident, else -1 (a device window, a
   * hole, a frame paged out or never backed). No side effects: for the VMM reading guest code.
   */
  residentHpa(gpa: number): number {
    if (!isMemoryBacked(this.pageKind[gpa >>> 12]!)) return -1;
    const hfn = this.pmap.hostFrame[gpa >>> 12]!;
    return hfn < 0 ? -1 : hfn * 4096 + (gpa & 0xfff);
  }

  /** The host's RAM, which residentHpa() indexes. */
  get hostRam(): Uint8Array {
    return this.host.u8;
  }

  /** Byte of guest RAM or ROM at `gpa` without side effects, or -1. */
  peek8(gpa: number): number {
    const d = this.peek32(gpa & ~3);
    return d === null ? -1 : (d >>> (8 * (gpa & 3))) & 0xff;
  }

  read8(gpa: number): number {
    gpa >>>= 0;
    const kind = this.pageKind[gpa >>> 12]!;
    if (isMemoryBacked(kind)) return this.host.u8[this.hpa(gpa)]!;
    return kind === PageKind.MMIO ? this.mmioRead(gpa, 1) & 0xff : 0xff;
  }

  read16(gpa: number): number {
    gpa >>>= 0;
    if ((gpa & 0xfff) > 0xffe) return this.read8(gpa) | (this.read8(gpa + 1) << 8);
    const kind = this.pageKind[gpa >>> 12]!;
    if (isMemoryBacked(kind)) return this.host.view.getUint16(this.hpa(gpa), true);
    return kind === PageKind.MMIO ? this.mmioRead(gpa, 2) & 0xffff : 0xffff;
  }

  read32(gpa: number): number {
    gpa >>>= 0;
    if ((gpa & 0xfff) > 0xffc) {
      return this.read8(gpa) | (this.read8(gpa + 1) << 8) | (this.read8(gpa + 2) << 16) | (this.read8(gpa + 3) << 24);
    }
    const kind = this.pageKind[gpa >>> 12]!;
    if (isMemoryBacked(kind)) return this.host.view.getInt32(this.hpa(gpa), true);
    return kind === PageKind.MMIO ? this.mmioRead(gpa, 4) | 0 : -1;
  }

  write8(gpa: number, v: number): void {
    this.write(gpa >>> 0, 1, v & 0xff);
  }

  write16(gpa: number, v: number): void {
    gpa >>>= 0;
    if ((gpa & 0xfff) > 0xffe) {
      this.write8(gpa, v);
      this.write8(gpa + 1, v >> 8);
    } else this.write(gpa, 2, v & 0xffff);
  }

  write32(gpa: number, v: number): void {
    gpa >>>= 0;
    if ((gpa & 0xfff) > 0xffc) {
      for (let k = 0; k < 4; k++) this.write8(gpa + k, v >> (8 * k));
    } else this.write(gpa, 4, v | 0);
  }

  /** One write inside a page. */
  private write(gpa: number, size: 1 | 2 | 4, v: number): void {
    const gfn = gpa >>> 12;
    const kind = this.pageKind[gfn];
    if (kind === PageKind.RAM) {
      if (this.watched[gfn] !== 0) this.watcher(gfn);
      const hpa = this.hpa(gpa);
      if (this.traced[gfn] === 0) this.hostWrite(hpa, size, v);
      else {
        const old = size === 1 ? this.host.u8[hpa]! : size === 2 ? this.host.view.getUint16(hpa, true) : this.host.view.getInt32(hpa, true);
        this.hostWrite(hpa, size, v);
        this.traceHook(gpa, size, old, v);
      }
    } else if (kind === PageKind.MMIO) this.mmioWrite(gpa, size, v);
  }

  private hostWrite(hpa: number, size: 1 | 2 | 4, v: number): void {
    if (size === 1) this.host.write8(hpa, v);
    else if (size === 2) this.host.write16(hpa, v);
    else this.host.write32(hpa, v);
  }

  readBytes(gpa: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.read8(gpa + i);
    return out;
  }

  /** Management (loaders, firmware): writes RAM and ROM alike, a page at a time. */
  writeBytes(gpa: number, data: Uint8Array): void {
    let at = 0;
    while (at < data.length) {
      const a = (gpa + at) >>> 0;
      const chunk = Math.min(data.length - at, 0x1000 - (a & 0xfff));
      const kind = this.pageKind[a >>> 12]!;
      if (this.watched[a >>> 12] !== 0) this.watcher(a >>> 12);
      if (isMemoryBacked(kind) && this.traced[a >>> 12] === 0) this.host.writeBytes(this.hpa(a), data.subarray(at, at + chunk));
      else for (let k = 0; k < chunk; k++) this.write8(a + k, data[at + k]!);
      at += chunk;
    }
  }

  fill(gpa: number, length: number, value: number): void {
    gpa >>>= 0;
    if (length <= 0) return;
    if (gpa + length > this.ramSize) throw new RangeError(`fill beyond guest RAM at 0x${gpa.toString(16)}`);
    this.writeBytes(gpa, new Uint8Array(length).fill(value));
  }
}
