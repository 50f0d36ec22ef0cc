/**
 * QEMU's fw_cfg device against docs/specs/fw_cfg.rst and what QEMU 7.2 answers on the PC's ports
 * (the fw_cfg.port.* and fw_cfg.dma.* lines of guest/entry-probe/expected-qemu.txt).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PhysicalMemory } from '../memory/physical-memory.ts';
import { FwCfg, FwCfgDma, FwCfgKey, le } from './fw-cfg.ts';

function rig(dma = true) {
  const mem = new PhysicalMemory(2 << 20);
  const fw = new FwCfg(mem, { dma });
  const select = (key: number) => fw.write(0x510, 2, key);
  const bytes = (n: number) => Array.from({ length: n }, () => fw.read(0x511, 1));
  /** Starts a DMA transfer of the FWCfgDmaAccess at `at` as a guest does: big-endian halves, high first. */
  const kick = (at: number) => {
    fw.write(0x514, 4, 0);
    fw.write(0x518, 4, bswap(at));
  };
  const access = (at: number, control: number, length: number, address: number) => {
    const v = new DataView(new ArrayBuffer(16));
    v.setUint32(0, control, false);
    v.setUint32(4, length, false);
    v.setUint32(8, 0, false);
    v.setUint32(12, address, false);
    mem.writeBytes(at, new Uint8Array(v.buffer));
  };
  const control = (at: number) => bswap(mem.read32(at) >>> 0);
  return { mem, fw, select, bytes, kick, access, control };
}

function bswap(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

const ascii = (xs: number[]) => String.fromCharCode(...xs);

describe('fw_cfg: the traditional interface (selector 0x510, data 0x511)', () => {
  it('reads the signature "QEMU" and the feature bits (traditional, DMA) little-endian', () => {
    const { select, bytes } = rig();
    select(FwCfgKey.SIGNATURE);
    assert.equal(ascii(bytes(4)), 'QEMU');
    assert.deepEqual(bytes(2), [0, 0], 'past the end: zeros');
    select(FwCfgKey.ID);
    assert.deepEqual(bytes(4), [3, 0, 0, 0]);
    const { select: s2, bytes: b2 } = rig(false);
    s2(FwCfgKey.ID);
    assert.deepEqual(b2(4), [1, 0, 0, 0], 'without DMA: bit 0 only');
  });

  it('rewinds on every select; bit 14 (the write channel) selects the same item', () => {
    const { select, bytes } = rig();
    select(0);
    bytes(3);
    select(0);
    assert.equal(ascii(bytes(1)), 'Q');
    select(0x4000);
    assert.equal(ascii(bytes(4)), 'QEMU');
  });

  it('answers as QEMU does to other widths: byte reads at 0x510 are data, wider reads 0, only word writes at 0x510 select', () => {
    const { fw, select } = rig();
    select(0);
    assert.equal(fw.read(0x510, 1), 0x51); // 'Q'
    assert.equal(fw.read(0x511, 2), 0);
    assert.equal(fw.read(0x510, 4), 0);
    assert.equal(fw.read(0x511, 1), 0x45, 'the wide reads consumed nothing');
    fw.write(0x510, 1, 0x01); // a byte write: ignored (QEMU dropped data writes in 2.4)
    assert.equal(fw.read(0x511, 1), 0x4d);
    fw.write(0x511, 2, 0x0001); // a word write at the data port: ignored
    assert.equal(fw.read(0x511, 1), 0x55);
    fw.write(0x510, 4, 0); // a dword write: ignored
    assert.equal(fw.read(0x511, 1), 0);
  });

  it('reads absent items as zeros, and set/little-endian integers as QEMU stores them', () => {
    const { fw, select, bytes } = rig();
    select(FwCfgKey.KERNEL_ENTRY);
    assert.deepEqual(bytes(4), [0, 0, 0, 0]);
    fw.set(FwCfgKey.RAM_SIZE, le(128 << 20, 8));
    select(FwCfgKey.RAM_SIZE);
    assert.deepEqual(bytes(8), [0, 0, 0, 8, 0, 0, 0, 0]);
    fw.set(FwCfgKey.IRQ0_OVERRIDE, le(1, 4));
    select(FwCfgKey.IRQ0_OVERRIDE);
    assert.deepEqual(bytes(4), [1, 0, 0, 0]);
    assert.throws(() => fw.set(0x0020, new Uint8Array(1)), /addFile/);
  });
});

describe('fw_cfg: the file directory (key 0x19)', () => {
  it('lists files sorted by name with big-endian count, size and selector, names NUL-terminated in 56 bytes', () => {
    const { fw, select, bytes } = rig();
    fw.addFile('etc/e820', new Uint8Array(20).fill(7));
    fw.addFile('bootorder', new Uint8Array(3));
    select(FwCfgKey.FILE_DIR);
    assert.deepEqual(bytes(4), [0, 0, 0, 2]);
    const entry = () => {
      const e = bytes(64);
      const name = e.slice(8);
      return { size: (e[0]! << 24) | (e[1]! << 16) | (e[2]! << 8) | e[3]!, select: (e[4]! << 8) | e[5]!, name: ascii(name.slice(0, name.indexOf(0))) };
    };
    assert.deepEqual(entry(), { size: 3, select: 0x20, name: 'bootorder' });
    assert.deepEqual(entry(), { size: 20, select: 0x21, name: 'etc/e820' });
    select(0x21);
    assert.deepEqual(bytes(2), [7, 7]);
    assert.throws(() => fw.addFile('etc/e820', new Uint8Array(1)), /twice/);
    assert.throws(() => fw.addFile('x'.repeat(56), new Uint8Array(1)), /1-55 characters/);
  });
});

describe('fw_cfg: the DMA interface (0x514, big-endian)', () => {
  it('reads "QEMU CFG" from the address register, byte 0 first', () => {
    const { fw } = rig();
    assert.equal(fw.read(0x514, 4) >>> 0, 0x554d4551);
    assert.equal(fw.read(0x518, 4) >>> 0, 0x47464320);
    assert.equal(fw.read(0x517, 1), 0x55);
    const { fw: none } = rig(false);
    assert.equal(none.read(0x514, 1), 0xff, 'absent without DMA');
  });

  it('selects and reads into RAM, then clears the control word', () => {
    const { mem, access, kick, control } = rig();
    mem.fill(0x2000, 16, 0xaa);
    access(0x1000, (FwCfgKey.SIGNATURE << 16) | FwCfgDma.SELECT | FwCfgDma.READ, 6, 0x2000);
    kick(0x1000);
    assert.equal(control(0x1000), 0);
    assert.deepEqual([...mem.readBytes(0x2000, 7)], [0x51, 0x45, 0x4d, 0x55, 0, 0, 0xaa], 'past the end: zeros; nothing beyond the length');
  });

  it('skips, reads on at the offset the traditional interface shares, and fails writes to read-only items', () => {
    const { mem, fw, access, kick, control } = rig();
    access(0x1000, (FwCfgKey.SIGNATURE << 16) | FwCfgDma.SELECT | FwCfgDma.SKIP, 1, 0);
    kick(0x1000);
    assert.equal(control(0x1000), 0);
    assert.equal(fw.read(0x511, 1), 0x45, 'the data port goes on after the skipped byte');
    access(0x1000, FwCfgDma.READ, 3, 0x2000);
    kick(0x1000);
    assert.deepEqual([...mem.readBytes(0x2000, 3)], [0x4d, 0x55, 0]);
    access(0x1000, (FwCfgKey.SIGNATURE << 16) | FwCfgDma.SELECT | FwCfgDma.WRITE, 4, 0x2000);
    kick(0x1000);
    assert.equal(control(0x1000), FwCfgDma.ERROR);
  });

  it('reports an error for a read into addresses with no memory, and ignores a transfer started by the high half alone', () => {
    const { mem, fw, access, kick, control } = rig();
    access(0x1000, (FwCfgKey.SIGNATURE << 16) | FwCfgDma.SELECT | FwCfgDma.READ, 4, 0x00300000);
    kick(0x1000);
    assert.equal(control(0x1000), FwCfgDma.ERROR);
    access(0x1000, (FwCfgKey.SIGNATURE << 16) | FwCfgDma.SELECT | FwCfgDma.READ, 4, 0x2000);
    fw.write(0x514, 4, bswap(0x1000));
    assert.equal(control(0x1000), (FwCfgKey.SIGNATURE << 16) | FwCfgDma.SELECT | FwCfgDma.READ, 'nothing ran');
    assert.equal(mem.read8(0x2000), 0);
  });
});
