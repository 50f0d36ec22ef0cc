/**
 * The x87 environment layouts (SDM vol. 1, figures 8-9 to 8-12) of FNSTENV and FLDENV: the
 * protected-mode ones are compared with the host's in the differential test; the real-address
 * mode ones, which hold 20-bit linear pointers, are checked here against the figures (the CPU is
 * put in real mode directly; test/system/x87.test.ts gets there by clearing CR0.PE).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PhysicalMemory } from '../../memory/physical-memory.ts';
import { Cr0 } from '../../x86/control-registers.ts';
import { SegAttr } from '../../x86/descriptors.ts';
import { Cpu } from '../cpu.ts';

const CODE = 0x2000;
const ENV = 0x3000;

/** A CPU in real-address mode with CS = DS = 0x100 (base 0x1000), the FPU's pointers set. */
function realModeCpu(code: number[]): { cpu: Cpu; mem: PhysicalMemory } {
  const mem = new PhysicalMemory(1 << 20);
  const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} });
  cpu.cr0 &= ~Cr0.PE;
  const attr = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.ACCESSED;
  for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, 0x100, 0x1000, 0xffff, s === 1 ? attr | SegAttr.CODE : attr);
  cpu.eip = CODE - 0x1000;
  mem.writeBytes(CODE, Uint8Array.from(code));
  const f = cpu.fpu;
  f.cw = 0x037f;
  f.fip = 0x1234;
  f.fcs = 0xabcd;
  f.fop = 0x5d9;
  f.fdp = 0x5678;
  f.fds = 0xef01;
  return { cpu, mem };
}

describe('x87 environment in real-address mode (SDM vol. 1, figures 8-11 and 8-12)', () => {
  it('16-bit layout: IP and operand pointer as 20-bit linear addresses, FOP beside IP 19-16', () => {
    // fnstenv [0x2000] (DS base 0x1000: linear 0x3000), 16-bit operand size in real mode.
    const { cpu, mem } = realModeCpu([0xd9, 0x36, 0x00, 0x20]);
    cpu.step();
    const ip = (0xabcd << 4) + 0x1234;
    const dp = (0xef01 << 4) + 0x5678;
    assert.equal(mem.read16(ENV), 0x037f);
    assert.equal(mem.read16(ENV + 6), ip & 0xffff);
    assert.equal(mem.read16(ENV + 8), ((ip >>> 16) << 12) | 0x5d9);
    assert.equal(mem.read16(ENV + 10), dp & 0xffff);
    assert.equal(mem.read16(ENV + 12), (dp >>> 16) << 12);
  });

  it('32-bit layout: the same pointers, IP 31-16 and DP 31-16 in bits 27-12', () => {
    const { cpu, mem } = realModeCpu([0x66, 0xd9, 0x36, 0x00, 0x20]);
    cpu.step();
    const ip = (0xabcd << 4) + 0x1234;
    const dp = (0xef01 << 4) + 0x5678;
    assert.equal(mem.read16(ENV + 12), ip & 0xffff);
    assert.equal(mem.read32(ENV + 16), (((ip >>> 16) << 12) | 0x5d9) >>> 0);
    assert.equal(mem.read16(ENV + 20), dp & 0xffff);
    assert.equal(mem.read32(ENV + 24), (dp >>> 16) << 12);
  });

  it('FLDENV reads the linear pointers back: FNSTENV of the loaded environment stores the same bytes', () => {
    // fnstenv [0x2000]; fldenv [0x2000]; fnstenv [0x2100]
    const { cpu, mem } = realModeCpu([0xd9, 0x36, 0x00, 0x20, 0xd9, 0x26, 0x00, 0x20, 0xd9, 0x36, 0x00, 0x21]);
    cpu.step();
    cpu.step();
    cpu.step();
    for (let k = 0; k < 14; k++) assert.equal(mem.read8(ENV + 0x100 + k), mem.read8(ENV + k), `byte ${k}`);
  });
});
