/**
 * The multiboot loader against the Multiboot 0.6.96 specification and QEMU 7.2's loader (what
 * guest/entry-probe/expected-qemu.txt shows QEMU + SeaBIOS leave): header search, ELF and
 * a.out-kludge loading, the information structure and where each part of it goes, the machine
 * state, and the errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cpu, Reg } from '../cpu/cpu.ts';
import { PhysicalMemory } from '../memory/physical-memory.ts';
import { Cr0 } from '../x86/control-registers.ts';
import { Seg } from '../x86/descriptors.ts';
import { Eflags } from '../x86/eflags.ts';
import { BOOT_GDT, MBI_ADDRESS, MMAP_ADDRESS, MultibootError, bootMultiboot, parseMultibootKernel } from './multiboot.ts';

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

  it("refuses a.out headers QEMU refuses: load_end below load_addr, bss_end below the loaded bytes", () => {
    assert.throws(() => parseMultibootKernel(words(header(1 << 16, [0x200000, 0x200000, 0x1ff000, 0, 0x200020])), 'k'), /load_end_addr is below load_addr/);
    const file = words(header(1 << 16, [0x200000, 0x200000, 0x200020, 0x200010, 0x200020]));
    assert.throws(() => parseMultibootKernel(file, 'k'), /bss_end_addr is below/);
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

  it("leaves the option ROM's machine state: magic, MBI, flat protected mode through its GDT, paging and interrupts off, a stack", () => {
    const mem = new PhysicalMemory(32 << 20);
    const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} });
    const { mbi } = bootMultiboot(cpu, mem, parseMultibootKernel(kernel, 'k'), 'k', 'console=ttyS0 debug', []);
    assert.equal(cpu.regs[Reg.EAX]! >>> 0, 0x2badb002);
    assert.equal(cpu.regs[Reg.EBX], mbi);
    assert.equal(cpu.eip, 0x10000c);
    assert.equal(cpu.cr0 & (Cr0.PE | Cr0.PG), Cr0.PE);
    assert.equal(cpu.flags & (Eflags.IF | Eflags.DF), 0);
    assert.equal(cpu.segBase[Seg.CS], 0);
    assert.equal(cpu.segLimit[Seg.DS]! >>> 0, 0xffffffff);
    // QEMU's values (guest/entry-probe/expected-qemu.txt): ESP on SeaBIOS's stack below 0x7C00,
    // ECX the entry point, EDI 0x1000, the five-entry GDT in the option ROM, the real-mode IDTR.
    assert.equal(cpu.regs[Reg.ESP], 0x6f08);
    assert.equal(cpu.regs[Reg.ECX], 0x10000c);
    assert.equal(cpu.regs[Reg.EDI], 0x1000);
    assert.equal(cpu.regs[Reg.EDX], 0x0511); // mem_upper (31616 KiB) < 64 Ki: nothing above DX
    assert.equal(cpu.flags, 0x00000006);
    assert.equal(cpu.gdtBase, BOOT_GDT);
    assert.equal(cpu.gdtLimit, 0x27);
    assert.equal(mem.read32(BOOT_GDT + 12) >>> 0, 0x00cf9a00, 'flat code, as the ROM left it (not accessed)');
    assert.equal(mem.read32(BOOT_GDT + 20) >>> 0, 0x00cf9300, 'flat data, accessed');
    assert.equal(cpu.idtBase, 0);
    assert.equal(cpu.idtLimit, 0x3ff);
    // The bss after the loaded bytes is zeroed.
    assert.equal(mem.read32(0x100010), 0);
  });

  it("fills the information structure where QEMU does: map at 0x9000, structure at 0x9500, strings after the kernel, modules after them", () => {
    const mem = new PhysicalMemory(32 << 20);
    mem.fill(0x104000, 0x10000, 0xaa);
    const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} });
    const mod = new Uint8Array([1, 2, 3, 4, 5]);
    const load = bootMultiboot(cpu, mem, parseMultibootKernel(kernel, 'k'), 'k', 'workload=mix', [{ name: 'init', data: mod, cmdline: 'init arg' }], 'dir/k.elf');
    const mbi = load.mbi;
    assert.equal(mbi, MBI_ADDRESS);
    assert.equal(mem.read32(mbi) >>> 0, 0x24f, 'flags: mem, boot_device, cmdline, mods, mmap, loader name');
    assert.equal(mem.read32(mbi + 4), 639, 'mem_lower');
    assert.equal(mem.read32(mbi + 8), (32 << 10) - 1024 - 128, 'mem_upper: KiB above 1 MiB up to SeaBIOS\'s tables');
    assert.equal(mem.read32(mbi + 12) >>> 0, 0x8000ffff, 'boot_device');
    // The kernel occupies 0x100000-0x103010: its page-rounded size puts the module list at 0x104000.
    assert.equal(mem.read32(mbi + 20), 1, 'mods_count');
    const mods = mem.read32(mbi + 24);
    assert.equal(mods, 0x104000);
    assert.equal(mem.read32(mods + 8), 0x104010, 'the module string follows the list');
    assert.equal(cstring(mem, mem.read32(mods + 8)), 'init arg');
    assert.equal(mem.read32(mbi + 16), 0x104010 + 'init arg'.length + 1, 'then the kernel command line');
    assert.equal(cstring(mem, mem.read32(mbi + 16)), 'dir/k.elf workload=mix', 'the kernel path first, as QEMU passes it');
    // The loader name sits after the room QEMU reserves for every string (path, cmdline, -initrd).
    assert.equal(mem.read32(mbi + 64), 0x104010 + ('dir/k.elf'.length + 1) + ('workload=mix'.length + 1) + ('init arg'.length + 1));
    assert.equal(cstring(mem, mem.read32(mbi + 64)), 'shadowvisor');
    const start = mem.read32(mods);
    assert.equal(start, 0x105000, 'the module in the page after the strings');
    assert.equal(mem.read32(mods + 4) - start, 5);
    assert.deepEqual([...mem.readBytes(start, 5)], [1, 2, 3, 4, 5]);
    assert.deepEqual(load, { ...load, imageAddress: 0x100000, imageSize: 0x6000, entry: 0x10000c });
    // mmap: SeaBIOS's E820, entries of size 20.
    assert.equal(mem.read32(mbi + 48), MMAP_ADDRESS);
    const mmapLength = mem.read32(mbi + 44);
    assert.equal(mmapLength, 6 * 24);
    const usable: string[] = [];
    for (let at = MMAP_ADDRESS; at < MMAP_ADDRESS + mmapLength; at += mem.read32(at) + 4) {
      if (mem.read32(at + 20) === 1) usable.push(`${mem.read32(at + 4).toString(16)}+${mem.read32(at + 12).toString(16)}`);
    }
    assert.deepEqual(usable, ['0+9fc00', `100000+${((32 << 20) - 0x100000 - 0x20000).toString(16)}`]);
    // What QEMU hands its option ROM: the same structure before the ROM fills the memory fields.
    const handed = new DataView(load.info.buffer);
    assert.equal(handed.getUint32(4, true), 0, 'mem_lower not yet');
    assert.equal(handed.getUint32(44, true), 0, 'mmap_length not yet');
    assert.equal(handed.getUint32(16, true), mem.read32(mbi + 16));
  });

  it('puts the map and the structure after the strings when the kernel covers 0x9000-0x9557 (where QEMU would overwrite them)', () => {
    const low = elf(0x8000, words([...header(3), 0x90909090]), 0x2000, 0x800c);
    const mem = new PhysicalMemory(32 << 20);
    const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} });
    const { mbi } = bootMultiboot(cpu, mem, parseMultibootKernel(low, 'low'), 'low', '', []);
    assert.ok(mbi >= 0xb000, `the structure (0x${mbi.toString(16)}) is beyond the kernel and its strings`);
    const mmap = mem.read32(mbi + 48);
    assert.ok(mmap >= 0xb000 && mmap + mem.read32(mbi + 44) <= mbi);
    assert.equal(mem.read32(0x8000) >>> 0, 0x1badb002, 'the kernel is intact');
    assert.equal(mem.read32(0x9000), 0, 'its bss too');
  });

  it('refuses a kernel that does not fit in RAM, naming the size needed', () => {
    const big = elf(0x100000, words(header(3)), 40 << 20);
    const mem = new PhysicalMemory(32 << 20);
    const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} });
    assert.throws(() => bootMultiboot(cpu, mem, parseMultibootKernel(big, 'big'), 'big', '', []), /big needs 42 MiB of RAM .* more than --mem 32 MiB/);
  });
});
