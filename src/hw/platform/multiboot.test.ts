/**
 * The multiboot loader against the Multiboot 0.6.96 specification: header search, ELF and
 * a.out-kludge loading, the information structure, the machine state, and the errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cpu, Reg } from '../cpu/cpu.ts';
import { PhysicalMemory } from '../memory/physical-memory.ts';
import { Cr0 } from '../x86/control-registers.ts';
import { Seg } from '../x86/descriptors.ts';
import { Eflags } from '../x86/eflags.ts';
import { MultibootError, bootMultiboot, parseMultibootKernel } from './multiboot.ts';

const MAGIC = 0x1badb002;

function header(flags: number, extra: number[] = []): number[] {
  return [MAGIC, flags, (-(MAGIC + flags)) >>> 0, ...extra];
}

/** An ELF32 i386 file with one PT_LOAD segment at `paddr` holding `body` (+ `bss` zero bytes). */
function elf(paddr: number, body: Uint8Array, bss = 0, entry = paddr): Uint8Array {
  const offset = 0x100;
  const f = new Uint8Array(offset + body.length);
  const v = new DataView(f.buffer);
  f.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  v.setUint16(16, 2, true);
  v.setUint16(18, 3, true);
  v.setUint32(24, entry, true);
  v.setUint32(28, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, 1, true);
  const ph = 52;
  v.setUint32(ph, 1, true);
  v.setUint32(ph + 4, offset, true);
  v.setUint32(ph + 8, paddr, true);
  v.setUint32(ph + 12, paddr, true);
  v.setUint32(ph + 16, body.length, true);
  v.setUint32(ph + 20, body.length + bss, true);
  f.set(body, offset);
  return f;
}

function words(ws: number[]): Uint8Array {
  const b = new Uint8Array(ws.length * 4);
  const v = new DataView(b.buffer);
  for (const [k, w] of ws.entries()) v.setUint32(k * 4, w >>> 0, true);
  return b;
}

function cstring(mem: PhysicalMemory, at: number): string {
  let s = '';
  for (let c = mem.read8(at); c !== 0; c = mem.read8(++at)) s += String.fromCharCode(c);
  return s;
}

describe('multiboot header', () => {
  it('is found anywhere 4-aligned in the first 8 KiB; beyond that the file is not a multiboot kernel', () => {
    const body = new Uint8Array(0x2100);
    body.set(words(header(0)), 0x1000);
    assert.doesNotThrow(() => parseMultibootKernel(elf(0x100000, body), 'k'));
    const late = new Uint8Array(0x2100);
    late.set(words(header(0)), 0x2000);
    assert.throws(() => parseMultibootKernel(elf(0x100000, late), 'k'), (e: unknown) => e instanceof MultibootError && /no multiboot header in its first 8 KiB: it is not a multiboot kernel/.test(e.message));
  });

  it('needs a valid checksum', () => {
    const body = words([MAGIC, 0, 0]);
    assert.throws(() => parseMultibootKernel(elf(0x100000, body), 'k'), /no multiboot header/);
  });

  it('rejects files that are not kernels at all', () => {
    assert.throws(() => parseMultibootKernel(new TextEncoder().encode('hello'), 'notes.txt'), /not a kernel/);
  });

  it('accepts a video-mode request (bit 2) and stays in text mode, as QEMU does; rejects unknown required bits', () => {
    assert.doesNotThrow(() => parseMultibootKernel(elf(0x100000, words(header(4))), 'k'));
    assert.throws(() => parseMultibootKernel(elf(0x100000, words(header(8))), 'k'), /features .*\(flags 0x8\)/);
  });

  it('loads an a.out-kludge image from the header addresses (flags bit 16)', () => {
    // header at file offset 0; load_addr 0x200000; header_addr = load_addr; bss to 0x201000.
    const file = words(header(1 << 16, [0x200000, 0x200000, 0, 0x201000, 0x200020]));
    const img = parseMultibootKernel(file, 'k');
    assert.equal(img.entry, 0x200020);
    assert.equal(img.start, 0x200000);
    assert.equal(img.end, 0x201000);
  });
});

describe('booting', () => {
  const kernel = elf(0x100000, words([...header(3), 0x90909090]), 0x3000, 0x10000c);

  it('leaves the multiboot machine state: magic, MBI, flat protected mode, paging and interrupts off', () => {
    const mem = new PhysicalMemory(32 << 20);
    const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} });
    const mbi = bootMultiboot(cpu, mem, parseMultibootKernel(kernel, 'k'), 'k', 'console=ttyS0 debug', []);
    assert.equal(cpu.regs[Reg.EAX]! >>> 0, 0x2badb002);
    assert.equal(cpu.regs[Reg.EBX], mbi);
    assert.equal(cpu.eip, 0x10000c);
    assert.equal(cpu.cr0 & (Cr0.PE | Cr0.PG), Cr0.PE);
    assert.equal(cpu.flags & Eflags.IF, 0);
    assert.equal(cpu.segBase[Seg.CS], 0);
    assert.equal(cpu.segLimit[Seg.DS]! >>> 0, 0xffffffff);
    // The bss after the loaded bytes is zeroed.
    assert.equal(mem.read32(0x100010), 0);
  });

  it('fills the information structure: memory sizes and map, command line, modules, loader name', () => {
    const mem = new PhysicalMemory(32 << 20);
    mem.fill(0x104000, 0x10000, 0xaa);
    const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} });
    const mod = new Uint8Array([1, 2, 3, 4, 5]);
    const mbi = bootMultiboot(cpu, mem, parseMultibootKernel(kernel, 'k'), 'k', 'workload=mix', [{ name: 'init', data: mod, cmdline: 'init arg' }]);
    const flags = mem.read32(mbi);
    for (const bit of [0, 2, 3, 6, 9]) assert.ok(flags & (1 << bit), `flag bit ${bit}`);
    assert.equal(mem.read32(mbi + 4), 639, 'mem_lower');
    assert.equal(mem.read32(mbi + 8), (32 << 10) - 1024, 'mem_upper: KiB above 1 MiB');
    assert.equal(cstring(mem, mem.read32(mbi + 16)), 'workload=mix');
    assert.equal(mem.read32(mbi + 20), 1, 'mods_count');
    const mods = mem.read32(mbi + 24);
    const start = mem.read32(mods);
    assert.equal(start % 4096, 0, 'modules are page aligned');
    assert.ok(start >= 0x104000, 'after the kernel and its bss');
    assert.equal(mem.read32(mods + 4) - start, 5);
    assert.deepEqual([...mem.readBytes(start, 5)], [1, 2, 3, 4, 5]);
    assert.equal(cstring(mem, mem.read32(mods + 8)), 'init arg');
    assert.equal(cstring(mem, mem.read32(mbi + 64)), 'shadowvisor');
    // mmap: entries of size 20 covering usable RAM above 1 MiB.
    const mmapLength = mem.read32(mbi + 44);
    const mmap = mem.read32(mbi + 48);
    const usable: string[] = [];
    for (let at = mmap; at < mmap + mmapLength; at += mem.read32(at) + 4) {
      if (mem.read32(at + 20) === 1) usable.push(`${mem.read32(at + 4).toString(16)}+${mem.read32(at + 12).toString(16)}`);
    }
    assert.deepEqual(usable, ['0+9fc00', `100000+${((32 << 20) - 0x100000).toString(16)}`]);
  });

  it('refuses a kernel that does not fit in RAM, naming the size needed', () => {
    const big = elf(0x100000, words(header(3)), 40 << 20);
    const mem = new PhysicalMemory(32 << 20);
    const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} });
    assert.throws(() => bootMultiboot(cpu, mem, parseMultibootKernel(big, 'big'), 'big', '', []), /big needs 42 MiB of RAM .* more than --mem 32 MiB/);
  });
});
