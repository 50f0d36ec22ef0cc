/**
 * Booting a kernel the way `qemu-system-i386 -kernel` does (Multiboot specification 0.6.96;
 * QEMU 7.2's hw/i386/multiboot.c and its multiboot option ROM, pc-bios/optionrom/multiboot.S,
 * run by SeaBIOS): find the multiboot header in the first 8 KiB, load the ELF segments at their
 * physical addresses (or the a.out-kludge ranges of the header), put the module list, the
 * command lines and the loader name in the page after the kernel image and the modules page-
 * aligned after that, the memory map (SeaBIOS's E820) at 0x9000 and the information structure at
 * 0x9500, and leave the CPU as the option ROM does: protected mode through its five-entry GDT,
 * paging and interrupts off, EAX = 0x2BADB002, EBX = the information, ESP on SeaBIOS's stack
 * below 0x7C00. guest/entry-probe checks every register and structure against QEMU.
 * Every problem is a MultibootError with a one-line message.
 */
import { type Cpu, Reg } from '../cpu/cpu.ts';
import type { PhysicalAccess } from '../memory/physical-memory.ts';
import { Cr0 } from '../x86/control-registers.ts';
import { Seg, SegAttr } from '../x86/descriptors.ts';
import { BASE_MEMORY_KIB, memoryMap } from './firmware.ts';

export class MultibootError extends Error {
  override readonly name = 'MultibootError';
}

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** Where QEMU's option ROM puts the memory map and, 0x500 bytes on, the information structure. */
export const MMAP_ADDRESS = 0x9000;
export const MBI_ADDRESS = 0x9500;
export const MBI_SIZE = 88;
/** The loader's name in the information structure. */
export const BOOT_LOADER_NAME = 'shadowvisor';
/**
 * The option ROM's GDT, where it is under QEMU 7.2 (in the option-ROM area, after SeaBIOS's VGA
 * BIOS and iPXE's ROM): null, flat 32-bit code 0x08, flat data 0x10, 16-bit code 0x18 and data
 * 0x20. Its data descriptor is marked accessed (the ROM loaded SS and DS from it), the code
 * descriptor is not (QEMU's far jump does not set the bit).
 */
export const BOOT_GDT = 0xcb2b8;
export const BOOT_GDT_ENTRIES: readonly (readonly [number, number])[] = [
  [0, 0],
  [0x0000ffff, 0x00cf9a00],
  [0x0000ffff, 0x00cf9300],
  [0x0000ffff, 0x00009e00],
  [0x0000ffff, 0x00009200],
];
export const BOOT_CS = 0x08;
export const BOOT_DS = 0x10;
/**
 * ESP at entry: SeaBIOS calls the option ROM on its boot stack, and the ROM reserves 0x30 bytes
 * below it (multiboot.S). Kernels that push before setting up a stack of their own rely on it.
 */
export const BOOT_ESP = 0x6f08;
/**
 * The rest of the register file as the option ROM's last instructions leave it: ECX the entry
 * point (its jump register), EDX the fw_cfg data port in the low half and mem_upper's high half
 * above it (the ROM computes mem_upper in EDX, then loads DX), EDI 0x1000, ESI and EBP 0, and the
 * flags of its last arithmetic (PF set). Nothing should depend on them; they are replicated so
 * that a kernel sees exactly what it sees under QEMU.
 */
export const BOOT_EDI = 0x1000;
export const BOOT_EDX_LOW = 0x0511;
export const BOOT_EFLAGS = 0x00000006;
/** The real-mode IDTR SeaBIOS leaves (the interrupt vector table). */
export const BOOT_IDT_LIMIT = 0x3ff;
/** boot_device as QEMU fills it for every -kernel boot: BIOS drive 0x80, partition fields 0x00 0xFF 0xFF. */
export const BOOT_DEVICE = 0x8000ffff;

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
  // QEMU's checks (hw/i386/multiboot.c), one message each.
  if (loadEnd !== 0 && loadEnd < loadAddr) throw new MultibootError(`${name} has an invalid multiboot a.out header: load_end_addr is below load_addr`);
  const size = loadEnd === 0 ? file.length - offset : loadEnd - loadAddr;
  if (offset < 0 || offset + size > file.length || headerAddr < loadAddr) {
    throw new MultibootError(`${name} has an inconsistent multiboot a.out header (load addresses outside the file)`);
  }
  if (loadAddr + size > 2 ** 32) throw new MultibootError(`${name} does not fit in the 4 GiB address space (a.out load_addr + size)`);
  if (bssEnd !== 0 && bssEnd < loadAddr + size) throw new MultibootError(`${name} has an invalid multiboot a.out header: bss_end_addr is below the end of the loaded bytes`);
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

/** What the loader leaves for the firmware configuration device (QEMU's fw_cfg keys for -kernel). */
export interface MultibootLoad {
  /** Where the information structure is (EBX). */
  readonly mbi: number;
  readonly entry: number;
  /** The image the option ROM copies: the kernel, the module list and strings, the modules. */
  readonly imageAddress: number;
  readonly imageSize: number;
  /** The information structure as QEMU hands it to the option ROM (memory fields still 0). */
  readonly info: Uint8Array;
}

const PAGE = 4096;
const pageUp = (a: number): number => Math.ceil(a / PAGE) * PAGE;

function latin1(s: string): Uint8Array {
  const data = new Uint8Array(s.length + 1);
  for (let k = 0; k < s.length; k++) data[k] = s.charCodeAt(k) & 0xff;
  return data;
}

function words(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = new DataView(out.buffer);
  for (const [k, x] of values.entries()) v.setUint32(k * 4, x >>> 0, true);
  return out;
}

const overlaps = (a: number, aEnd: number, b: number, bEnd: number): boolean => a < bEnd && b < aEnd;

/**
 * mem_upper as the option ROM computes it: KiB of usable RAM contiguous from 1 MiB in the map.
 */
function memUpperKiB(map: readonly { base: number; length: number; type: number }[]): number {
  let end = 0x100000;
  for (let grew = true; grew; ) {
    grew = false;
    for (const e of map) {
      if (e.type === 1 && e.base <= end && end < e.base + e.length) {
        end = e.base + e.length;
        grew = true;
      }
    }
  }
  return (end - 0x100000) >>> 10;
}

/**
 * Loads the kernel and modules into RAM, writes the multiboot information and puts the CPU in
 * the state QEMU's multiboot option ROM leaves. `path` is the kernel's file name as the loader
 * puts it before the command line (QEMU: the -kernel argument); `name` names it in messages.
 *
 * The layout is QEMU's (hw/i386/multiboot.c): the image starts at the kernel's lowest address;
 * after the kernel, page-aligned, come the module list (16 bytes a module), the module strings
 * and "path cmdline", and the loader name at the offset QEMU reserves for it (after room for
 * every string, the modules' as one comma-separated -initrd string); the modules follow, each
 * page-aligned. The memory map is at 0x9000 and the information structure at 0x9500.
 * DEVIATION: when the kernel image or a module covers 0x9000-0x9557, QEMU writes its structures
 * there anyway and the kernel's bytes overwrite them; here they move to the page after the
 * strings instead, so that no loader structure overlaps what was loaded.
 */
export function bootMultiboot(cpu: Cpu, mem: PhysicalAccess, kernel: MultibootImage, name: string, cmdline: string, modules: readonly BootModule[], path = name): MultibootLoad {
  const ram = mem.ramSize;
  if (kernel.start < 0x100000 && kernel.end > 0xa0000) {
    throw new MultibootError(`${name} wants to load at 0x${kernel.start.toString(16)}-0x${kernel.end.toString(16)}, over the 640 KiB-1 MiB hole`);
  }
  const map = memoryMap(ram);
  const mmapLength = map.length * 24;
  const base = kernel.start;
  const listOffset = pageUp(kernel.end - kernel.start);
  const kernelCmdline = `${path} ${cmdline}`;
  const initrd = modules.map((m) => m.cmdline.replaceAll(',', ',,')).join(',');
  const stringsLength = path.length + 1 + cmdline.length + 1 + (modules.length > 0 ? initrd.length + 1 : 0);
  const stringsOffset = listOffset + 16 * modules.length;
  const loaderOffset = stringsOffset + stringsLength;
  let size = pageUp(loaderOffset + BOOT_LOADER_NAME.length + 1);
  // Where each module goes, then whether QEMU's fixed places for the map and information are free.
  const placed: number[] = [];
  for (const m of modules) {
    placed.push(base + size);
    size = pageUp(size + m.data.length);
  }
  // The image (kernel, list, strings, modules) is contiguous from `base`.
  const fixedFree = !overlaps(base, base + size, MMAP_ADDRESS, MMAP_ADDRESS + mmapLength) && !overlaps(base, base + size, MBI_ADDRESS, MBI_ADDRESS + MBI_SIZE);
  const imageSize = size;
  let mmapAt = MMAP_ADDRESS;
  let mbi = MBI_ADDRESS;
  if (!fixedFree) {
    mmapAt = base + size;
    mbi = mmapAt + pageUp(mmapLength);
    size += pageUp(mmapLength) + PAGE;
  }
  if (base + size > ram) {
    throw new MultibootError(
      `${name} needs ${Math.ceil((base + size) / (1 << 20))} MiB of RAM (kernel${modules.length > 0 ? ' and modules' : ''} up to 0x${(base + size).toString(16)}), more than --mem ${ram >> 20} MiB`,
    );
  }

  for (const piece of kernel.pieces) {
    mem.writeBytes(piece.at, piece.data);
    if (piece.zeros > 0) mem.fill(piece.at + piece.data.length, piece.zeros, 0);
  }
  // The module list, then the strings: each module's, the kernel's "path cmdline", the loader name.
  let stringAt = base + stringsOffset;
  const list: number[] = [];
  for (const [k, m] of modules.entries()) {
    const bytes = latin1(m.cmdline);
    mem.writeBytes(stringAt, bytes);
    list.push(placed[k]!, placed[k]! + m.data.length, stringAt, 0);
    stringAt += bytes.length;
    mem.writeBytes(placed[k]!, m.data);
  }
  if (list.length > 0) mem.writeBytes(base + listOffset, words(list));
  const cmdlineAt = stringAt;
  mem.writeBytes(cmdlineAt, latin1(kernelCmdline));
  mem.writeBytes(base + loaderOffset, latin1(BOOT_LOADER_NAME));

  // The memory map as the option ROM copies it from E820: entries of { size = 20, base, length, type }.
  const mmap = new Uint8Array(mmapLength);
  const mv = new DataView(mmap.buffer);
  for (const [k, e] of map.entries()) {
    mv.setUint32(k * 24, 20, true);
    mv.setUint32(k * 24 + 4, e.base % 2 ** 32, true);
    mv.setUint32(k * 24 + 8, Math.floor(e.base / 2 ** 32), true);
    mv.setUint32(k * 24 + 12, e.length % 2 ** 32, true);
    mv.setUint32(k * 24 + 16, Math.floor(e.length / 2 ** 32), true);
    mv.setUint32(k * 24 + 20, e.type, true);
  }
  mem.writeBytes(mmapAt, mmap);
  // flags: mem (0), boot_device (1), cmdline (2), mods (3), mmap (6), boot_loader_name (9).
  const info = new Array<number>(MBI_SIZE / 4).fill(0);
  info[0] = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9);
  info[3] = BOOT_DEVICE;
  info[4] = cmdlineAt;
  info[5] = modules.length;
  info[6] = base + listOffset;
  info[12] = mmapAt;
  info[16] = base + loaderOffset;
  // What QEMU hands the option ROM; the ROM then fills in the memory sizes and the map's length.
  const handedOver = words(info);
  const memUpper = memUpperKiB(map);
  info[1] = BASE_MEMORY_KIB;
  info[2] = memUpper;
  info[11] = mmapLength;
  mem.writeBytes(mbi, words(info));
  setBootState(cpu, mem, kernel.entry, mbi, memUpper);
  return { mbi, entry: kernel.entry, imageAddress: base, imageSize, info: handedOver };
}

/** The machine state the option ROM leaves (multiboot 3.2, and multiboot.S's last instructions). */
function setBootState(cpu: Cpu, mem: PhysicalAccess, entry: number, mbi: number, memUpper: number): void {
  const gdt: number[] = [];
  for (const [low, high] of BOOT_GDT_ENTRIES) gdt.push(low, high);
  mem.writeBytes(BOOT_GDT, words(gdt));
  cpu.reset();
  cpu.gdtBase = BOOT_GDT;
  cpu.gdtLimit = BOOT_GDT_ENTRIES.length * 8 - 1;
  cpu.idtBase = 0;
  cpu.idtLimit = BOOT_IDT_LIMIT;
  // The hidden parts as the descriptors say (the code descriptor is not marked accessed).
  const code = SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR | SegAttr.DB | SegAttr.G;
  const data = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.ACCESSED | SegAttr.DB | SegAttr.G;
  cpu.loadSegmentCache(Seg.CS, BOOT_CS, 0, 0xffffffff, code);
  for (const s of [Seg.DS, Seg.ES, Seg.FS, Seg.GS, Seg.SS]) cpu.loadSegmentCache(s, BOOT_DS, 0, 0xffffffff, data);
  cpu.cr0 = Cr0.PE | Cr0.ET;
  cpu.flags = BOOT_EFLAGS;
  cpu.regs[Reg.EAX] = MULTIBOOT_BOOTLOADER_MAGIC | 0;
  cpu.regs[Reg.EBX] = mbi;
  cpu.regs[Reg.ECX] = entry | 0;
  cpu.regs[Reg.EDX] = ((memUpper & 0xffff0000) | BOOT_EDX_LOW) | 0;
  cpu.regs[Reg.ESI] = 0;
  cpu.regs[Reg.EDI] = BOOT_EDI;
  cpu.regs[Reg.EBP] = 0;
  cpu.regs[Reg.ESP] = BOOT_ESP;
  cpu.eip = entry | 0;
}
