/**
 * A reader for 32-bit little-endian i386 ELF executables (System V ABI, i386 supplement):
 * the file header and program headers, validated so that a bad file gives one clear error.
 * Only what loading needs: no sections, no symbols, no relocation.
 */

export class ElfError extends Error {
  override readonly name = 'ElfError';
}

export const PT = { LOAD: 1, DYNAMIC: 2, INTERP: 3, NOTE: 4, PHDR: 6, TLS: 7 } as const;
export const PF = { X: 1, W: 2, R: 4 } as const;
export const ET = { EXEC: 2, DYN: 3 } as const;

export interface ProgramHeader {
  readonly type: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly flags: number;
  readonly align: number;
}

export interface ElfImage {
  readonly type: number;
  readonly entry: number;
  readonly phoff: number;
  readonly phentsize: number;
  readonly phnum: number;
  readonly programHeaders: readonly ProgramHeader[];
  /** The file, for copying segment contents. */
  readonly bytes: Uint8Array;
}

const EM_386 = 3;

/**
 * Parses and validates an i386 executable. `what` names the file in error messages.
 * Rejects: not ELF, 64-bit, big-endian, not i386, not an executable, truncated headers or
 * segments, no loadable segment, and dynamically linked programs (PT_INTERP).
 */
export function parseElf(bytes: Uint8Array, what: string): ElfImage {
  if (bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError(`${what} is not an ELF file (no \\x7fELF magic number)`);
  }
  if (bytes.length < 16) throw new ElfError(`${what} is a truncated ELF file (${bytes.length} bytes, shorter than its identification)`);
  if (bytes[4] === 2) throw new ElfError(`${what} is a 64-bit ELF file; shadowvisor runs 32-bit i386 programs (build with gcc -m32)`);
  if (bytes[4] !== 1) throw new ElfError(`${what} has an unknown ELF class ${bytes[4]}`);
  if (bytes[5] !== 1) throw new ElfError(`${what} is a big-endian ELF file; shadowvisor runs little-endian i386 programs`);
  if (bytes.length < 52) throw new ElfError(`${what} is a truncated ELF file (${bytes.length} bytes, shorter than the 52-byte ELF header)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(16, true);
  const machine = view.getUint16(18, true);
  if (machine !== EM_386) throw new ElfError(`${what} is for machine type ${machine}, not Intel 80386 (3)`);
  if (type !== ET.EXEC && type !== ET.DYN) {
    throw new ElfError(`${what} is not an executable (ELF type ${type}${type === 1 ? ': a relocatable object; link it first' : ''})`);
  }
  const entry = view.getUint32(24, true);
  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  if (phnum === 0) throw new ElfError(`${what} has no program headers, so there is nothing to load`);
  if (phentsize < 32) throw new ElfError(`${what} has a malformed program header size ${phentsize}`);
  if (phoff + phnum * phentsize > bytes.length) {
    throw new ElfError(`${what} is truncated: its program headers end at byte ${phoff + phnum * phentsize} of a ${bytes.length}-byte file`);
  }
  const programHeaders: ProgramHeader[] = [];
  for (let k = 0; k < phnum; k++) {
    const at = phoff + k * phentsize;
    programHeaders.push({
      type: view.getUint32(at, true),
      offset: view.getUint32(at + 4, true),
      vaddr: view.getUint32(at + 8, true),
      filesz: view.getUint32(at + 16, true),
      memsz: view.getUint32(at + 20, true),
      flags: view.getUint32(at + 24, true),
      align: view.getUint32(at + 28, true),
    });
  }
  if (programHeaders.some((p) => p.type === PT.INTERP)) {
    throw new ElfError(`${what} is dynamically linked; shadowvisor runs statically linked programs (build with gcc -m32 -static)`);
  }
  const loads = programHeaders.filter((p) => p.type === PT.LOAD);
  if (loads.length === 0) throw new ElfError(`${what} has no loadable (PT_LOAD) segment`);
  for (const p of loads) {
    if (p.offset + p.filesz > bytes.length) {
      throw new ElfError(`${what} is truncated: a segment needs bytes up to ${p.offset + p.filesz} of a ${bytes.length}-byte file`);
    }
    if (p.filesz > p.memsz) throw new ElfError(`${what} has a malformed segment (file size larger than memory size)`);
    if (p.vaddr + p.memsz > 0xc0000000) {
      throw new ElfError(`${what} has a segment at 0x${p.vaddr.toString(16)} beyond the 3 GiB user address space`);
    }
  }
  return { type, entry, phoff, phentsize, phnum, programHeaders, bytes };
}

/** The virtual address the program headers are loaded at (for AT_PHDR), or 0. */
export function programHeaderAddress(elf: ElfImage, bias: number): number {
  const phdr = elf.programHeaders.find((p) => p.type === PT.PHDR);
  if (phdr !== undefined) return (phdr.vaddr + bias) >>> 0;
  for (const p of elf.programHeaders) {
    if (p.type === PT.LOAD && elf.phoff >= p.offset && elf.phoff < p.offset + p.filesz) {
      return (p.vaddr + bias + elf.phoff - p.offset) >>> 0;
    }
  }
  return 0;
}
