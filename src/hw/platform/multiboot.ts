/**
 * Booting a kernel the way QEMU's `-kernel` does (Multiboot specification 0.6.96): find the
 * multiboot header in the first 8 KiB, load the ELF segments at their physical addresses (or
 * the a.out-kludge ranges of the header), load boot modules page-aligned after the kernel,
 * build the multiboot information (memory sizes and map, command line, modules, loader name),
 * and leave the CPU in 32-bit protected mode with flat segments, paging off, interrupts off,
 * EAX = 0x2BADB002 and EBX = the information structure. Every problem is a MultibootError
 * with a one-line message.
 */
import { type Cpu, Reg } from '../cpu/cpu.ts';
import type { PhysicalAccess } from '../memory/physical-memory.ts';
import { Cr0 } from '../x86/control-registers.ts';
import { Seg, SegAttr, encodeDescriptor } from '../x86/descriptors.ts';
import { Eflags } from '../x86/eflags.ts';
import { memoryMap } from './firmware.ts';

export class MultibootError extends Error {
  override readonly name = 'MultibootError';
}

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** Where the memory map goes (as QEMU's loader puts it). */
export const MMAP_ADDRESS = 0x9000;
/** A three-entry GDT for the boot state (null, flat code 0x08, flat data 0x10). */
export const BOOT_GDT = 0x500;
export const BOOT_CS = 0x08;
export const BOOT_DS = 0x10;

export interface BootModule {
  readonly name: string;
  readonly data: Uint8Array;
  /** The module's string in the information structure (QEMU passes the file name and arguments). */
  readonly cmdline: string;
}

export interface MultibootImage {
  readonly entry: number;
  /** Physical [start, end) the kernel occupies once loaded. */
  readonly start: number;
  readonly end: number;
  /** Each loadable piece: where, its bytes, and how many zero bytes follow (bss). */
  readonly pieces: readonly { readonly at: number; readonly data: Uint8Array; readonly zeros: number }[];
}

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

/** Reads the kernel file: validates the multiboot header and collects what to load where. */
export function parseMultibootKernel(file: Uint8Array, name: string): MultibootImage {
  let at = -1;
  for (let k = 0; k + 12 <= Math.min(file.length, 8192); k += 4) {
    if (u32(file, k) === MULTIBOOT_HEADER_MAGIC && ((u32(file, k) + u32(file, k + 4) + u32(file, k + 8)) | 0) === 0) {
      at = k;
      break;
    }
  }
  if (at < 0) {
    const elf = file.length >= 4 && file[0] === 0x7f && file[1] === 0x45 && file[2] === 0x4c && file[3] === 0x46;
    throw new MultibootError(
      elf
        ? `${name} has no multiboot header in its first 8 KiB: it is not a multiboot kernel`
        : `${name} is not a kernel: no multiboot header in its first 8 KiB (and not an ELF file)`,
    );
  }
  const flags = u32(file, at + 4);
  // Bits 0-15 are requirements (page alignment, memory information, video mode); a loader must
  // refuse ones it does not know. A video-mode request is accepted and left in text mode (QEMU).
  if ((flags & 0xffff & ~0x7) !== 0) {
    throw new MultibootError(`${name} asks for multiboot features this loader does not provide (flags 0x${flags.toString(16)})`);
  }
  if ((flags & (1 << 16)) !== 0) return parseAoutKludge(file, name, at);
  return parseElfSegments(file, name);
}

/** Flags bit 16: the header gives the load addresses (for non-ELF images). */
function parseAoutKludge(file: Uint8Array, name: string, at: number): MultibootImage {
  if (at + 32 > file.length) throw new MultibootError(`${name} is truncated inside its multiboot header`);
  const headerAddr = u32(file, at + 12);
  const loadAddr = u32(file, at + 16);
  const loadEnd = u32(file, at + 20);
  const bssEnd = u32(file, at + 24);
  const entry = u32(file, at + 28);
  const offset = at - (headerAddr - loadAddr);
  const size = loadEnd === 0 ? file.length - offset : loadEnd - loadAddr;
  if (offset < 0 || offset + size > file.length || headerAddr < loadAddr) {
    throw new MultibootError(`${name} has an inconsistent multiboot a.out header (load addresses outside the file)`);
  }
  const end = Math.max(loadAddr + size, bssEnd);
  return { entry, start: loadAddr, end, pieces: [{ at: loadAddr, data: file.subarray(offset, offset + size), zeros: end - (loadAddr + size) }] };
}

/** An ELF32 i386 kernel: PT_LOAD segments at their physical addresses. */
function parseElfSegments(file: Uint8Array, name: string): MultibootImage {
  if (file.length < 52 || file[0] !== 0x7f || file[1] !== 0x45 || file[2] !== 0x4c || file[3] !== 0x46) {
    throw new MultibootError(`${name} has a multiboot header but is not an ELF file (and does not set the a.out load addresses)`);
  }
  if (file[4] !== 1) throw new MultibootError(`${name} is a 64-bit ELF file; multiboot kernels for this PC are 32-bit (gcc -m32)`);
  if (u16(file, 18) !== 3) throw new MultibootError(`${name} is not an i386 ELF file (machine ${u16(file, 18)})`);
  const entry = u32(file, 24);
  const phoff = u32(file, 28);
  const phentsize = u16(file, 42);
  const phnum = u16(file, 44);
  if (phoff + phnum * phentsize > file.length) throw new MultibootError(`${name} is truncated: its program headers run past the end of the file`);
  const pieces: { at: number; data: Uint8Array; zeros: number }[] = [];
  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  for (let k = 0; k < phnum; k++) {
    const p = phoff + k * phentsize;
    if (u32(file, p) !== 1) continue;
    const offset = u32(file, p + 4);
    const paddr = u32(file, p + 12);
    const filesz = u32(file, p + 16);
    const memsz = u32(file, p + 20);
    if (memsz === 0) continue;
    if (offset + filesz > file.length) throw new MultibootError(`${name} is truncated: a segment needs bytes up to ${offset + filesz} of a ${file.length}-byte file`);
    pieces.push({ at: paddr, data: file.subarray(offset, offset + filesz), zeros: memsz - filesz });
    start = Math.min(start, paddr);
    end = Math.max(end, paddr + memsz);
  }
  if (pieces.length === 0) throw new MultibootError(`${name} has no loadable segment`);
  return { entry, start, end, pieces };
}

class Writer {
  private readonly mem: PhysicalAccess;
  at: number;
  constructor(mem: PhysicalAccess, at: number) {
    this.mem = mem;
    this.at = at;
  }
  bytes(data: Uint8Array): number {
    const where = this.at;
    this.mem.writeBytes(where, data);
    this.at += data.length;
    return where;
  }
  string(s: string): number {
    const data = new Uint8Array(s.length + 1);
    for (let k = 0; k < s.length; k++) data[k] = s.charCodeAt(k) & 0xff;
    return this.bytes(data);
  }
  align(n: number): void {
    this.at = Math.ceil(this.at / n) * n;
  }
}

function words(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = new DataView(out.buffer);
  for (const [k, x] of values.entries()) v.setUint32(k * 4, x >>> 0, true);
  return out;
}

const PAGE = 4096;
const pageUp = (a: number): number => Math.ceil(a / PAGE) * PAGE;

/**
 * Loads the kernel and modules into RAM, writes the multiboot information and puts the CPU in
 * the multiboot machine state. Returns the information structure's address.
 */
export function bootMultiboot(cpu: Cpu, mem: PhysicalAccess, kernel: MultibootImage, name: string, cmdline: string, modules: readonly BootModule[]): number {
  const ram = mem.ramSize;
  if (kernel.start < 0x100000 && kernel.end > 0xa0000) {
    throw new MultibootError(`${name} wants to load at 0x${kernel.start.toString(16)}-0x${kernel.end.toString(16)}, over the 640 KiB-1 MiB hole`);
  }
  const modulesSize = modules.reduce((s, m) => s + pageUp(m.data.length), 0);
  const needed = pageUp(kernel.end) + modulesSize + 3 * PAGE;
  if (needed > ram) {
    throw new MultibootError(
      `${name} needs ${Math.ceil(needed / (1 << 20))} MiB of RAM (kernel${modules.length > 0 ? ' and modules' : ''} up to 0x${needed.toString(16)}), more than --mem ${ram >> 20} MiB`,
    );
  }
  for (const piece of kernel.pieces) {
    mem.writeBytes(piece.at, piece.data);
    if (piece.zeros > 0) mem.fill(piece.at + piece.data.length, piece.zeros, 0);
  }
  // Modules, page aligned after the kernel, then the information structure and its strings.
  const w = new Writer(mem, pageUp(kernel.end));
  const moduleEntries: number[] = [];
  const placed: { start: number; end: number }[] = [];
  for (const m of modules) {
    w.align(PAGE);
    const start = w.bytes(m.data);
    placed.push({ start, end: start + m.data.length });
  }
  w.align(PAGE);
  const mbi = w.at;
  w.at += 88;
  const cmdlineAt = w.string(cmdline);
  const loaderAt = w.string('shadowvisor');
  for (const [k, m] of modules.entries()) {
    const s = w.string(m.cmdline);
    moduleEntries.push(placed[k]!.start, placed[k]!.end, s, 0);
  }
  w.align(4);
  const modsAt = w.bytes(words(moduleEntries));
  // The memory map: entries of { size = 20, base (64), length (64), type }.
  const map = memoryMap(ram);
  const mmap = new Uint8Array(map.length * 24);
  const mv = new DataView(mmap.buffer);
  for (const [k, e] of map.entries()) {
    mv.setUint32(k * 24, 20, true);
    mv.setUint32(k * 24 + 4, e.base, true);
    mv.setUint32(k * 24 + 12, e.length, true);
    mv.setUint32(k * 24 + 20, e.type, true);
  }
  mem.writeBytes(MMAP_ADDRESS, mmap);
  // flags: mem (0), cmdline (2), mods (3), mmap (6), boot_loader_name (9).
  const flags = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9);
  const info = new Array<number>(22).fill(0);
  info[0] = flags;
  info[1] = 639;
  info[2] = Math.max(0, (ram - 0x100000) >> 10);
  info[4] = cmdlineAt;
  info[5] = modules.length;
  info[6] = modsAt;
  info[11] = mmap.length;
  info[12] = MMAP_ADDRESS;
  info[16] = loaderAt;
  mem.writeBytes(mbi, words(info));
  setBootState(cpu, mem, kernel.entry, mbi);
  return mbi;
}

/** The machine state multiboot promises (section 3.2), with a valid flat GDT as QEMU leaves one. */
function setBootState(cpu: Cpu, mem: PhysicalAccess, entry: number, mbi: number): void {
  const code = SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR | SegAttr.ACCESSED | SegAttr.DB | SegAttr.G;
  const data = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.ACCESSED | SegAttr.DB | SegAttr.G;
  const gdt = [0, 0, ...encodeDescriptor(0, 0xffffffff, code), ...encodeDescriptor(0, 0xffffffff, data)];
  mem.writeBytes(BOOT_GDT, words(gdt));
  cpu.reset();
  cpu.gdtBase = BOOT_GDT;
  cpu.gdtLimit = gdt.length * 4 - 1;
  cpu.loadSegmentCache(Seg.CS, BOOT_CS, 0, 0xffffffff, code);
  for (const s of [Seg.DS, Seg.ES, Seg.FS, Seg.GS, Seg.SS]) cpu.loadSegmentCache(s, BOOT_DS, 0, 0xffffffff, data);
  cpu.cr0 = Cr0.PE | Cr0.ET;
  cpu.flags = Eflags.FIXED1;
  cpu.regs[Reg.EAX] = MULTIBOOT_BOOTLOADER_MAGIC | 0;
  cpu.regs[Reg.EBX] = mbi;
  cpu.eip = entry | 0;
}
