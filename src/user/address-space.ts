/**
 * The user runner's memory: physical frames, a two-level i386 page table per process and the
 * process's virtual memory areas (VMAs). The runner plays the Linux kernel, so it writes page
 * tables the CPU's MMU walks for real; anonymous memory (stack, heap, mmap) is demand-zero:
 * mapped on the first page fault inside its area, as Linux does.
 */
import type { PhysicalAccess } from '../hw/memory/physical-memory.ts';
import { Pte } from '../hw/x86/paging.ts';

export const PROT = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;

/** Linux i386 user space ends at 3 GiB (TASK_SIZE); above it the runner keeps its own tables. */
export const TASK_SIZE = 0xc0000000;
export const PAGE = 4096;

/** The page boundary at or below address a, as an unsigned number (addresses reach 4 GiB). */
export function pageDown(a: number): number {
  return (a - (a % PAGE)) >>> 0;
}

/** The page boundary at or above address a (unsigned; at most 2^32). */
export function pageUp(a: number): number {
  const r = a % PAGE;
  return r === 0 ? a : a - r + PAGE;
}

export class OutOfMemory extends Error {
  override readonly name = 'OutOfMemory';
}

/** Hands out zeroed 4 KiB frames from a range of physical memory. */
export class FrameAllocator {
  private readonly free: number[] = [];
  private readonly mem: PhysicalAccess;
  private next: number;
  private readonly end: number;
  used = 0;

  constructor(mem: PhysicalAccess, firstFrame: number, endFrame: number) {
    this.mem = mem;
    this.next = firstFrame;
    this.end = endFrame;
  }

  alloc(): number {
    let frame: number;
    if (this.free.length > 0) frame = this.free.pop()!;
    else if (this.next < this.end) frame = this.next++;
    else throw new OutOfMemory('out of guest physical memory');
    this.mem.fill(frame * PAGE, PAGE, 0);
    this.used++;
    return frame;
  }

  release(frame: number): void {
    this.free.push(frame);
    this.used--;
  }

  get total(): number {
    return this.end;
  }
}

/** A virtual memory area: [start, end) with protection; pages are created on first touch. */
export interface Vma {
  start: number;
  end: number;
  prot: number;
  readonly kind: 'program' | 'heap' | 'stack' | 'mmap';
}

export class AddressSpace {
  /** Physical address of the page directory (what CR3 holds). */
  readonly directory: number;
  readonly vmas: Vma[] = [];
  private readonly mem: PhysicalAccess;
  private readonly frames: FrameAllocator;
  /** Called with the linear page number whenever a mapping changes (the kernel's INVLPG). */
  private readonly invalidate: (vpn: number) => void;

  constructor(mem: PhysicalAccess, frames: FrameAllocator, invalidate: (vpn: number) => void) {
    this.mem = mem;
    this.frames = frames;
    this.invalidate = invalidate;
    this.directory = frames.alloc() * PAGE;
  }

  /** The PTE for linear page vpn, or 0 when its page table does not exist. */
  pte(vpn: number): number {
    const pde = this.mem.read32(this.directory + (vpn >>> 10) * 4);
    if ((pde & Pte.P) === 0) return 0;
    return this.mem.read32((pde & ~0xfff) + (vpn & 0x3ff) * 4);
  }

  private pteAddress(vpn: number): number {
    const pdeAddr = this.directory + (vpn >>> 10) * 4;
    let pde = this.mem.read32(pdeAddr);
    if ((pde & Pte.P) === 0) {
      // Page tables are writable and user-accessible; the PTEs decide (SDM vol. 3, 4.6.1).
      pde = this.frames.alloc() * PAGE | Pte.P | Pte.RW | Pte.US;
      this.mem.write32(pdeAddr, pde);
    }
    return (pde & ~0xfff) + (vpn & 0x3ff) * 4;
  }

  /** Maps linear page vpn to `frame` with the protection bits (user pages unless supervisor). */
  map(vpn: number, frame: number, prot: number, supervisor = false): void {
    const flags = Pte.P | ((prot & PROT.WRITE) !== 0 ? Pte.RW : 0) | (supervisor ? 0 : Pte.US);
    this.mem.write32(this.pteAddress(vpn), (frame * PAGE) | flags);
    this.invalidate(vpn);
  }

  /** Unmaps a page and frees its frame. */
  unmap(vpn: number): void {
    const pte = this.pte(vpn);
    if ((pte & Pte.P) === 0) return;
    this.mem.write32(this.pteAddress(vpn), 0);
    this.frames.release(pte >>> 12);
    this.invalidate(vpn);
  }

  /** Changes the protection of a mapped page. */
  protect(vpn: number, prot: number): void {
    const pte = this.pte(vpn);
    if ((pte & Pte.P) === 0) return;
    const rw = (prot & PROT.WRITE) !== 0 ? Pte.RW : 0;
    this.mem.write32(this.pteAddress(vpn), (pte & ~Pte.RW) | rw);
    this.invalidate(vpn);
  }

  /** The VMA containing linear address a, if any. */
  vmaAt(a: number): Vma | undefined {
    const x = a >>> 0;
    return this.vmas.find((v) => x >= v.start && x < v.end);
  }

  addVma(v: Vma): void {
    this.vmas.push(v);
    this.vmas.sort((a, b) => a.start - b.start);
  }

  /** True when [start, end) overlaps no VMA. */
  isFree(start: number, end: number): boolean {
    return !this.vmas.some((v) => start < v.end && end > v.start);
  }

  /**
   * Rebuilds the VMA list with [start, end) cut out of every area it overlaps; `inside` says
   * what becomes of the overlapped part (null: removed).
   */
  private splitVmas(start: number, end: number, inside: (v: Vma) => Vma | null): void {
    const next: Vma[] = [];
    for (const v of this.vmas) {
      if (end <= v.start || start >= v.end) {
        next.push(v);
        continue;
      }
      if (v.start < start) next.push({ ...v, end: start });
      const middle = inside({ ...v, start: Math.max(v.start, start), end: Math.min(v.end, end) });
      if (middle !== null) next.push(middle);
      if (v.end > end) next.push({ ...v, start: end });
    }
    this.vmas.length = 0;
    this.vmas.push(...next.sort((a, b) => a.start - b.start));
  }

  /** munmap, and MAP_FIXED over an existing mapping: the range leaves the VMAs and is unmapped. */
  removeRange(start: number, end: number): void {
    this.splitVmas(start, end, () => null);
    for (let a = start; a < end; a += PAGE) this.unmap(a >>> 12);
  }

  /** mprotect: sets the protection of [start, end), which must be wholly mapped. */
  protectRange(start: number, end: number, prot: number): boolean {
    for (let a = start; a < end; a += PAGE) if (this.vmaAt(a) === undefined) return false;
    this.splitVmas(start, end, (v) => ({ ...v, prot }));
    for (let a = start; a < end; a += PAGE) this.protect(a >>> 12, prot);
    return true;
  }

  /**
   * A page fault at linear address `a`: if it lies in a VMA that allows the access, a zero page
   * is mapped there (demand-zero) and true is returned; otherwise the fault is the program's.
   */
  demandPage(a: number, write: boolean): boolean {
    const v = this.vmaAt(a);
    if (v === undefined) return false;
    if (write ? (v.prot & PROT.WRITE) === 0 : v.prot === PROT.NONE) return false;
    const vpn = a >>> 12;
    if ((this.pte(vpn) & Pte.P) !== 0) return false;
    this.map(vpn, this.frames.alloc(), v.prot);
    return true;
  }

  /**
   * The physical address of linear address a for a kernel access to user memory, mapping a
   * demand-zero page if needed (copy_from_user / copy_to_user). -1 when a is not accessible.
   */
  physical(a: number, write: boolean): number {
    const vpn = a >>> 12;
    let pte = this.pte(vpn);
    if ((pte & Pte.P) === 0) {
      if (!this.demandPage(a, write)) return -1;
      pte = this.pte(vpn);
    }
    if ((pte & Pte.US) === 0 || (write && (pte & Pte.RW) === 0)) return -1;
    return (pte & ~0xfff) + (a & 0xfff);
  }
}
