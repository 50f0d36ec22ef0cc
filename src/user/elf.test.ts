import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ElfError, PT, parseElf, programHeaderAddress } from './elf.ts';

/** A minimal i386 ET_EXEC image with the given program headers (built byte by byte). */
function image(opts: { cls?: number; data?: number; machine?: number; type?: number; phdrs?: number[][]; length?: number }): Uint8Array {
  const phdrs = opts.phdrs ?? [[PT.LOAD, 0, 0x08048000, 0x08048000, 0x100, 0x100, 5, 0x1000]];
  const size = opts.length ?? 52 + phdrs.length * 32 + 0x100;
  const b = new Uint8Array(Math.max(size, 52 + phdrs.length * 32));
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, opts.cls ?? 1, opts.data ?? 1, 1], 0);
  v.setUint16(16, opts.type ?? 2, true);
  v.setUint16(18, opts.machine ?? 3, true);
  v.setUint32(24, 0x08048054, true);
  v.setUint32(28, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, phdrs.length, true);
  for (const [k, p] of phdrs.entries()) for (const [j, w] of p.entries()) v.setUint32(52 + k * 32 + j * 4, w, true);
  return opts.length !== undefined ? b.subarray(0, opts.length) : b;
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => parseElf(bytes, 'prog'), (e: unknown) => e instanceof ElfError && pattern.test(e.message));
}

describe('ELF reader', () => {
  it('reads the header and program headers of an i386 executable', () => {
    const elf = parseElf(image({}), 'prog');
    assert.equal(elf.entry, 0x08048054);
    assert.equal(elf.programHeaders.length, 1);
    assert.equal(elf.programHeaders[0]!.vaddr, 0x08048000);
    // The headers are inside the first loadable segment, so AT_PHDR is its address + 52.
    assert.equal(programHeaderAddress(elf, 0), 0x08048034);
  });

  it('rejects a file that is not ELF', () => rejects(new TextEncoder().encode('#!/bin/sh\necho hi\n'), /not an ELF file/));
  it('rejects an empty file', () => rejects(new Uint8Array(0), /not an ELF file/));
  it('rejects a 64-bit ELF with a hint to build with -m32', () => rejects(image({ cls: 2 }), /64-bit.*-m32/));
  it('rejects big-endian ELF', () => rejects(image({ data: 2 }), /big-endian/));
  it('rejects other machines', () => rejects(image({ machine: 62 }), /machine type 62/));
  it('rejects relocatable objects', () => rejects(image({ type: 1 }), /relocatable object/));
  it('rejects a file cut inside the ELF header', () => rejects(image({ length: 30 }), /truncated.*52-byte/));
  it('rejects a file cut inside the program headers', () => rejects(image({ length: 60 }), /truncated: its program headers/));
  it('rejects a segment that runs past the end of the file', () =>
    rejects(image({ phdrs: [[PT.LOAD, 0, 0x08048000, 0x08048000, 0x10000, 0x10000, 5, 0x1000]] }), /truncated: a segment/));
  it('rejects dynamically linked programs with a hint to link statically', () =>
    rejects(image({ phdrs: [[PT.INTERP, 0, 0, 0, 0, 0, 4, 1], [PT.LOAD, 0, 0x08048000, 0x08048000, 0x100, 0x100, 5, 0x1000]] }), /dynamically linked.*-static/));
  it('rejects a program with nothing to load', () => rejects(image({ phdrs: [[PT.NOTE, 0, 0, 0, 0, 0, 4, 4]] }), /no loadable/));
  it('rejects segments in the kernel half of the address space', () =>
    rejects(image({ phdrs: [[PT.LOAD, 0, 0xc0001000, 0, 0x100, 0x100, 5, 0x1000]] }), /beyond the 3 GiB/));
});
