/**
 * The firmware tables against what SeaBIOS leaves under QEMU 7.2 (guest/entry-probe/expected-qemu.txt):
 * the BIOS data area, the E820 map, and the MP tables read back the way a kernel does (MP spec
 * 1.4, 4.1 and 4.2): found by the signature search, checksummed, and walked entry by entry.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PhysicalMemory } from '../memory/physical-memory.ts';
import { EBDA, IO_APIC_BASE, IO_APIC_ID, LOCAL_APIC_BASE, memoryMap, writeFirmware } from './firmware.ts';

const BOARD = { hardDisks: 0, secondsOfDay: 0 };

function sum(mem: PhysicalMemory, at: number, length: number): number {
  let s = 0;
  for (let k = 0; k < length; k++) s += mem.read8(at + k);
  return s & 0xff;
}

/** The MP spec's search order: EBDA's first KiB, the last KiB of base memory, then 0xF0000-0xFFFFF. */
function findFloatingPointer(mem: PhysicalMemory): number {
  const ebda = mem.read16(0x40e) << 4;
  const base = mem.read16(0x413) * 1024;
  for (const [from, length] of [
    [ebda, 1024],
    [base - 1024, 1024],
    [0xf0000, 0x10000],
  ] as const) {
    for (let a = from; a < from + length; a += 16) {
      if (mem.read32(a) === 0x5f504d5f && sum(mem, a, 16) === 0) return a;
    }
  }
  return -1;
}

it('leaves the BIOS data area fields kernels read, as SeaBIOS does', () => {
  const mem = new PhysicalMemory(16 << 20);
  writeFirmware(mem, { hardDisks: 2, secondsOfDay: 3600 });
  assert.equal(mem.read16(0x400), 0x3f8, 'COM1 base');
  assert.equal(mem.read16(0x402), 0, 'no COM2');
  assert.equal(mem.read16(0x40e) << 4, EBDA, 'EBDA segment');
  assert.equal(mem.read16(0x410) & 0x0e31, 0x0220, 'equipment: one serial port, 80x25 colour, no diskette');
  assert.equal(mem.read16(0x413), 639, 'base memory KiB');
  assert.deepEqual([mem.read16(0x41a), mem.read16(0x41c), mem.read16(0x480), mem.read16(0x482)], [0x1e, 0x1e, 0x1e, 0x3e], 'empty keyboard buffer');
  assert.deepEqual([mem.read8(0x449), mem.read16(0x44a), mem.read16(0x44c), mem.read16(0x463), mem.read8(0x484), mem.read16(0x485)], [3, 80, 0x1000, 0x3d4, 24, 16], 'video mode 3');
  assert.equal(mem.read32(0x46c), 65543, 'ticks at 01:00:00: 3600 s x 0x1800B0 / 86400');
  assert.equal(mem.read8(0x475), 2, 'hard disks');
  assert.equal(mem.read8(0x47c), 0x0a, 'COM1 timeout');
  assert.equal(mem.read8(EBDA), 1, 'EBDA size in KiB');
});

it('the MP floating pointer and configuration table are found and valid', () => {
  const mem = new PhysicalMemory(16 << 20);
  writeFirmware(mem, BOARD);
  const fp = findFloatingPointer(mem);
  assert.ok(fp >= 0xf0000, 'found in the BIOS area');
  assert.equal(mem.read8(fp + 9), 4, 'spec revision 1.4');
  assert.equal(mem.read8(fp + 11), 0, 'a configuration table is present (no default configuration)');
  const table = mem.read32(fp + 4);
  assert.equal(mem.read32(table), 0x504d4350, '"PCMP"');
  const length = mem.read16(table + 4);
  assert.equal(sum(mem, table, length), 0, 'table checksum');
  assert.equal(mem.read32(table + 36) >>> 0, LOCAL_APIC_BASE);
  const count = mem.read16(table + 34);
  const cpus: number[] = [];
  const ioApics: number[] = [];
  const irqToPin = new Map<number, number>();
  let at = table + 44;
  for (let k = 0; k < count; k++) {
    const type = mem.read8(at);
    if (type === 0) {
      cpus.push(mem.read8(at + 1));
      assert.equal(mem.read8(at + 3) & 3, 3, 'enabled bootstrap processor');
      at += 20;
    } else {
      if (type === 2) {
        ioApics.push(mem.read8(at + 1));
        assert.equal(mem.read32(at + 4) >>> 0, IO_APIC_BASE);
      }
      if (type === 3 && mem.read8(at + 1) === 0) irqToPin.set(mem.read8(at + 5), mem.read8(at + 7));
      at += 8;
    }
  }
  assert.equal(at, table + length, 'entries fill the table exactly');
  assert.deepEqual(cpus, [0]);
  assert.deepEqual(ioApics, [IO_APIC_ID]);
  assert.equal(irqToPin.get(0), 2, 'the PIT (IRQ 0) arrives on I/O APIC pin 2');
  assert.deepEqual([...irqToPin.keys()], [0, 1, 3, 4, 6, 7, 8, 12, 13, 14, 15], "SeaBIOS's ISA assignments");
  for (const irq of [1, 3, 4, 6, 7, 8, 12, 13, 14, 15]) assert.equal(irqToPin.get(irq), irq);
});

it("reports SeaBIOS's E820: usable below the EBDA and from 1 MiB to its high tables", () => {
  assert.deepEqual(memoryMap(64 << 20), [
    { base: 0, length: EBDA, type: 1 },
    { base: EBDA, length: 0x400, type: 2 },
    { base: 0xf0000, length: 0x10000, type: 2 },
    { base: 0x100000, length: (64 << 20) - 0x100000 - 0x20000, type: 1 },
    { base: (64 << 20) - 0x20000, length: 0x20000, type: 2 },
    { base: 0xfffc0000, length: 0x40000, type: 2 },
  ]);
});
