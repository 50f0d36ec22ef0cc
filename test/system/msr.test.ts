/**
 * RDMSR and WRMSR (SDM vol. 2) and every MSR of the CPU models (SDM vol. 4, table 2-2; vol. 3,
 * 10.4.4, 11.11, 11.12, 17.17): which exist on which model, their power-up values, read-only
 * registers and reserved bits (#GP(0)), the TSC as cycles plus an offset, IA32_APIC_BASE's enable
 * bit and CPUID's APIC flag, and the instructions' own rules (#GP(0) above CPL 0, EDX:EAX).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cpu } from '../../src/hw/cpu/cpu.ts';
import { type CpuModel, findCpuModel } from '../../src/hw/cpu/cpu-model.ts';
import { cpuidLeaf } from '../../src/hw/cpu/cpuid.ts';
import { readMsr, writeMsr } from '../../src/hw/cpu/msr.ts';
import { PhysicalMemory } from '../../src/hw/memory/physical-memory.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { Machine, symbol } from './machine.ts';

const QEMU32 = findCpuModel('qemu32')!;
const MAX = findCpuModel('max')!;

function cpu(model: CpuModel = MAX): Cpu {
  const c = new Cpu(new PhysicalMemory(2 << 20), { read: () => 0, write: () => {} }, { model });
  c.hasApic = true;
  return c;
}

const out = new Int32Array(3);
/** RDMSR as a 64-bit BigInt, or null for #GP. */
function rd(c: Cpu, index: number): bigint | null {
  if (!readMsr(c, index, out)) return null;
  return (BigInt(out[2]! >>> 0) << 32n) | BigInt(out[0]! >>> 0);
}
/** WRMSR of a 64-bit value: true, or false for #GP. */
function wr(c: Cpu, index: number, v: bigint): boolean {
  return writeMsr(c, index, Number(v & 0xffffffffn) | 0, Number((v >> 32n) & 0xffffffffn) | 0);
}

describe('which MSRs exist (#GP(0) for the others)', () => {
  const common = [0x10, 0x17, 0x1b, 0x8b, 0x1a0, 0x277];
  const maxOnly = [0xfe, 0x174, 0x175, 0x176, 0x200, 0x20f, 0x250, 0x258, 0x259, 0x268, 0x26f, 0x2ff, 0xc0000103];
  const none = [0x0, 0x1, 0x11, 0x3a, 0x79, 0x179, 0x17a, 0x17b, 0x186, 0x1d9, 0x210, 0x251, 0x257, 0x25a, 0x267, 0x270, 0x400, 0xc0000080, 0xc0000081, 0xc0000100, 0xc0010015, 0x40000000, 0xffffffff];
  it('qemu32: TSC, PLATFORM_ID, APIC_BASE, BIOS_SIGN_ID, MISC_ENABLE, PAT; no MTRRs, SYSENTER MSRs or TSC_AUX', () => {
    const c = cpu(QEMU32);
    for (const i of common) assert.notEqual(rd(c, i), null, `0x${i.toString(16)}`);
    for (const i of [...maxOnly, ...none]) assert.equal(rd(c, i), null, `0x${i.toString(16)}`);
    for (const i of [...maxOnly, ...none]) assert.equal(wr(c, i, 0n), false, `write 0x${i.toString(16)}`);
  });
  it('max: those and the MTRRs, SYSENTER MSRs, TSC_AUX; no MCA, no EFER (neither NX nor long mode)', () => {
    const c = cpu(MAX);
    for (const i of [...common, ...maxOnly]) assert.notEqual(rd(c, i), null, `0x${i.toString(16)}`);
    for (const i of none) assert.equal(rd(c, i), null, `0x${i.toString(16)}`);
    for (const i of none) assert.equal(wr(c, i, 0n), false, `write 0x${i.toString(16)}`);
  });
  it('IA32_APIC_BASE needs a local APIC on the board', () => {
    const c = cpu(MAX);
    c.hasApic = false;
    assert.equal(rd(c, 0x1b), null);
    assert.equal(wr(c, 0x1b, 0xfee00900n), false);
  });
});

describe('IA32_TIME_STAMP_COUNTER (SDM vol. 3, 17.17): cycles plus an offset', () => {
  it('reads the cycle count after reset; a write sets the value RDTSC continues from', () => {
    const c = cpu();
    c.cycles = 12345;
    assert.equal(rd(c, 0x10), 12345n);
    assert.ok(wr(c, 0x10, 0x0000123456789abcn));
    c.cycles += 1000;
    assert.equal(rd(c, 0x10), 0x0000123456789abcn + 1000n);
    assert.equal(c.cycles, 13345, 'the clock itself does not move');
  });
  it('carries from the low dword into the high one, and wraps at 2^64', () => {
    const c = cpu();
    c.cycles = 5_000_000_000;
    wr(c, 0x10, 0xfffffff0n);
    c.cycles += 0x20;
    assert.equal(rd(c, 0x10), 0x100000010n);
    wr(c, 0x10, 0xfffffffffffffff0n);
    c.cycles += 0x20;
    assert.equal(rd(c, 0x10), 0x10n);
  });
  it('RDTSC reads the same counter', () => {
    const m = new Machine({ cpl: 0 });
    m.load(`
      mov $0x10, %ecx
      mov $0x9abcdef0, %eax
      mov $0x12345678, %edx
      wrmsr
      rdtsc
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.edx, 0x12345678);
    const d = (m.eax - 0x9abcdef0) >>> 0;
    assert.ok(d > 0 && d < 1000, `counted on from the value written: +${d}`);
  });
});

describe('identification and control MSRs', () => {
  it('IA32_PLATFORM_ID reads 0 and is read-only', () => {
    const c = cpu();
    assert.equal(rd(c, 0x17), 0n);
    assert.equal(wr(c, 0x17, 0n), false);
  });
  it("IA32_BIOS_SIGN_ID: microcode revision 1 in the high dword (QEMU's for an Intel CPU); writes are taken and change nothing", () => {
    const c = cpu();
    assert.equal(rd(c, 0x8b), 0x100000000n);
    assert.ok(wr(c, 0x8b, 0n));
    assert.equal(rd(c, 0x8b), 0x100000000n);
  });
  it('IA32_MISC_ENABLE: fast strings (1) after reset; only it is writable on these models (no leaf above 2, no NX)', () => {
    const c = cpu();
    assert.equal(rd(c, 0x1a0), 1n);
    assert.ok(wr(c, 0x1a0, 0n));
    assert.equal(rd(c, 0x1a0), 0n);
    for (let b = 1n; b < 64n; b++) assert.equal(wr(c, 0x1a0, 1n << b), false, `bit ${b}`);
    assert.equal(rd(c, 0x1a0), 0n);
  });
  it('IA32_SYSENTER_CS/ESP/EIP hold 32 bits; the high dword is ignored and reads 0', () => {
    const c = cpu();
    for (const i of [0x174, 0x175, 0x176]) {
      assert.equal(rd(c, i), 0n);
      assert.ok(wr(c, i, 0xdeadbeef_89abcdefn));
      assert.equal(rd(c, i), 0x89abcdefn);
    }
    assert.equal(c.msr.sysenterCs >>> 0, 0x89abcdef);
  });
  it('IA32_TSC_AUX: bits 31:0; the high dword is reserved', () => {
    const c = cpu();
    assert.ok(wr(c, 0xc0000103, 0xfedcba98n));
    assert.equal(rd(c, 0xc0000103), 0xfedcba98n);
    assert.equal(wr(c, 0xc0000103, 0x100000000n), false);
    assert.equal(rd(c, 0xc0000103), 0xfedcba98n);
  });
});

describe('IA32_PAT (SDM vol. 3, 11.12)', () => {
  it('powers up WB WT UC- UC in both halves; valid types read back', () => {
    const c = cpu();
    assert.equal(rd(c, 0x277), 0x0007040600070406n);
    assert.ok(wr(c, 0x277, 0x0706050401000607n));
    assert.equal(rd(c, 0x277), 0x0706050401000607n);
  });
  it('types 2 and 3, and bits 7:3 of any entry, are reserved: #GP(0), value kept', () => {
    const c = cpu();
    for (let entry = 0n; entry < 8n; entry++) {
      for (const bad of [2n, 3n, 8n, 0x80n]) assert.equal(wr(c, 0x277, bad << (8n * entry)), false, `entry ${entry} = 0x${bad.toString(16)}`);
    }
    assert.equal(rd(c, 0x277), 0x0007040600070406n);
  });
});

describe('the MTRRs (SDM vol. 3, 11.11): storage with the reserved-bit rules', () => {
  it('IA32_MTRRCAP: 8 variable ranges, fixed ranges, write combining; read-only', () => {
    const c = cpu();
    assert.equal(rd(c, 0xfe), 0x508n);
    assert.equal(wr(c, 0xfe, 0x508n), false);
  });
  it('IA32_MTRR_DEF_TYPE: type, FE, E; reserved types and bits #GP(0)', () => {
    const c = cpu();
    assert.equal(rd(c, 0x2ff), 0n);
    for (const ok of [0xc06n, 0x800n, 0x401n, 0xc04n, 0xc05n]) {
      assert.ok(wr(c, 0x2ff, ok), `0x${ok.toString(16)}`);
      assert.equal(rd(c, 0x2ff), ok);
    }
    for (const bad of [0xc02n, 0xc03n, 0xc07n, 0x200n, 0x1000n, 0x100000000n]) assert.equal(wr(c, 0x2ff, bad), false, `0x${bad.toString(16)}`);
    assert.equal(rd(c, 0x2ff), 0xc05n);
  });
  it('the 11 fixed-range MTRRs: eight valid types each', () => {
    const c = cpu();
    for (const i of [0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f]) {
      const value = 0x0005040100060504n;
      assert.ok(wr(c, i, value), `0x${i.toString(16)}`);
      assert.equal(rd(c, i), value);
      assert.equal(wr(c, i, value | 0x0200000000000000n), false, `0x${i.toString(16)}: type 2 in the top byte`);
      assert.equal(rd(c, i), value);
    }
  });
  it('PHYSBASEn/PHYSMASKn: 36-bit addresses; base bits 11:8, mask bits 10:0 and bits 63:36 reserved', () => {
    const c = cpu();
    for (let n = 0; n < 8; n++) {
      const base = 0x200 + 2 * n;
      const mask = base + 1;
      assert.ok(wr(c, base, 0x0000000f_00000006n));
      assert.ok(wr(c, mask, 0x0000000f_fff00800n));
      assert.equal(rd(c, base), 0xf00000006n);
      assert.equal(rd(c, mask), 0xffff00800n);
      assert.equal(wr(c, base, 0x100n), false);
      assert.equal(wr(c, base, 0x2n), false, 'type 2');
      assert.equal(wr(c, base, 0x1000000000n), false, 'bit 36');
      assert.equal(wr(c, mask, 0x1n), false);
      assert.equal(wr(c, mask, 0x400n), false);
      assert.equal(wr(c, mask, 0x1000000800n), false, 'bit 36');
    }
  });
});

describe('IA32_APIC_BASE (SDM vol. 3, 10.4.4) and CPUID.1:EDX.APIC', () => {
  const apicFlag = (c: Cpu): boolean => {
    const r = new Int32Array(4);
    cpuidLeaf(c, 1, 0, r);
    return ((r[2]! >>> 9) & 1) === 1;
  };
  it('reads base 0xFEE00000, BSP and EN after reset', () => {
    assert.equal(rd(cpu(), 0x1b), 0xfee00900n);
  });
  it('clearing EN hides the APIC: the board is told, CPUID clears its flag; setting it shows it again', () => {
    const c = cpu();
    const calls: boolean[] = [];
    c.onApicEnable = (on) => calls.push(on);
    assert.equal(apicFlag(c), true);
    assert.ok(wr(c, 0x1b, 0xfee00100n));
    assert.equal(rd(c, 0x1b), 0xfee00100n);
    assert.equal(apicFlag(c), false);
    assert.ok(wr(c, 0x1b, 0xfee00100n));
    assert.ok(wr(c, 0x1b, 0xfee00900n));
    assert.equal(apicFlag(c), true);
    assert.deepEqual(calls, [false, true], 'once per change');
  });
  it('BSP is read only; bits 7:0, 9 and 10 (no x2APIC) and the high dword are reserved; relocation #GP(0) (DEVIATION)', () => {
    const c = cpu();
    assert.ok(wr(c, 0x1b, 0xfee00800n));
    assert.equal(rd(c, 0x1b), 0xfee00900n, 'BSP kept');
    for (const bad of [0xfee00901n, 0xfee00980n, 0xfee00b00n, 0xfee00d00n, 0x1fee00900n, 0xfec00900n, 0xfee01900n]) {
      assert.equal(wr(c, 0x1b, bad), false, `0x${bad.toString(16)}`);
    }
    assert.equal(rd(c, 0x1b), 0xfee00900n);
  });
});

describe('RDMSR and WRMSR as instructions', () => {
  it('EDX:EAX = MSR[ECX]; WRMSR takes EDX:EAX', () => {
    const m = new Machine({ cpl: 0, cpuModel: MAX });
    m.load(`
      mov $0x175, %ecx
      mov $0x13579bdf, %eax
      xor %edx, %edx
      wrmsr
      xor %eax, %eax
      mov $-1, %edx
      rdmsr
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.eax, 0x13579bdf);
    assert.equal(m.edx, 0);
  });
  for (const cpl of [1, 2, 3]) {
    it(`#GP(0) at CPL ${cpl}, even for an MSR that exists, before anything is read or written`, () => {
      for (const insn of ['rdmsr', 'wrmsr']) {
        const m = new Machine({ cpl });
        const a = m.load(`
          mov $0x10, %ecx
          mov $7, %eax
          mov $8, %edx
        insn:
          ${insn}
          out %al, $DONE_PORT`);
        const f = m.runToEvent();
        assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, 0, symbol(a, 'insn')], insn);
        assert.deepEqual([m.eax, m.edx], [7, 8], `${insn}: registers untouched`);
      }
    });
  }
  it('#GP(0) at CPL 0 for a missing MSR, registers untouched', () => {
    const m = new Machine({ cpl: 0 });
    const a = m.load(`
      mov $0x179, %ecx
      mov $7, %eax
      mov $8, %edx
    insn:
      rdmsr
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.deepEqual([f.vector, f.errorCode, f.eip, m.eax, m.edx], [Vector.GP, 0, symbol(a, 'insn'), 7, 8]);
  });
});
