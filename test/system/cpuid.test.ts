/**
 * CPUID and RDTSC (Intel SDM vol. 2): identification as system.ts documents it — vendor
 * "ShadowVisor ", a family-6 integer core with PSE, TSC, CX8, PGE and CMOV and without FPU, MMX or
 * SSE — and the time-stamp counter derived from simulated cycles, monotonic, with CR4.TSD making
 * RDTSC privileged (#GP(0) above CPL 0).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cr4 } from '../../src/hw/x86/control-registers.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { ALL_SPECS } from '../../src/hw/cpu/opcodes.ts';
import { Machine, SCRATCH, symbol } from './machine.ts';

function cpuid(leaf: number, cpl = 3): { eax: number; ebx: number; ecx: number; edx: number } {
  const m = new Machine({ cpl });
  m.load(`
    mov $${leaf}, %eax
    mov $0x55, %ecx
    cpuid
    out %al, $DONE_PORT`);
  m.runToDone();
  return { eax: m.eax, ebx: m.ebx, ecx: m.ecx, edx: m.edx };
}

function text(...words: number[]): string {
  return words.map((w) => String.fromCharCode(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24)).join('');
}

describe('CPUID (SDM vol. 2, CPUID), at any CPL', () => {
  it('leaf 0: highest basic leaf 1, vendor string in EBX, EDX, ECX', () => {
    const r = cpuid(0);
    assert.equal(r.eax, 1);
    assert.equal(text(r.ebx, r.edx, r.ecx), 'ShadowVisor ');
  });

  it('leaf 1: family 6; EDX has FPU, PSE, TSC, CX8, PGE, CMOV and no MMX, FXSR, SSE, SSE2 or APIC', () => {
    const r = cpuid(1);
    assert.equal((r.eax >>> 8) & 0xf, 6, 'family');
    const bits = { FPU: 0, PSE: 3, TSC: 4, MSR: 5, CX8: 8, APIC: 9, PGE: 13, CMOV: 15, MMX: 23, FXSR: 24, SSE: 25, SSE2: 26 };
    const want = new Set(['FPU', 'PSE', 'TSC', 'CX8', 'PGE', 'CMOV']);
    for (const [name, b] of Object.entries(bits)) assert.equal(((r.edx >>> b) & 1) === 1, want.has(name), name);
    assert.equal(r.ecx, 0, 'no SSE3 and later features');
  });

  it('the brand string leaves 0x80000000-0x80000004', () => {
    assert.equal(cpuid(0x80000000).eax, 0x80000004);
    let brand = '';
    for (let leaf = 0x80000002; leaf <= 0x80000004; leaf++) {
      const r = cpuid(leaf);
      brand += text(r.eax, r.ebx, r.ecx, r.edx);
    }
    assert.match(brand, /^shadowvisor/);
  });
});

describe('RDTSC (SDM vol. 2, RDTSC; vol. 3, 17.17)', () => {
  it('counts simulated cycles: increases across instructions, back to back too', () => {
    const m = new Machine({ cpl: 3 });
    m.load(`
      rdtsc
      mov %eax, SCRATCH
      mov %edx, SCRATCH + 4
      rdtsc
      mov %eax, SCRATCH + 8
      mov %edx, SCRATCH + 12
      mov $1000, %ecx
    1:
      dec %ecx
      jnz 1b
      rdtsc
      out %al, $DONE_PORT`);
    m.runToDone();
    const t0 = m.r32(SCRATCH) + m.r32(SCRATCH + 4) * 2 ** 32;
    const t1 = m.r32(SCRATCH + 8) + m.r32(SCRATCH + 12) * 2 ** 32;
    const t2 = m.eax + m.edx * 2 ** 32;
    assert.ok(t1 > t0, `back-to-back RDTSC: ${t0} then ${t1}`);
    assert.ok(t2 - t1 >= 2000, `2000 instructions took at least 2000 cycles: ${t2 - t1}`);
    assert.ok(t2 <= m.cpu.cycles, 'never ahead of the simulated clock');
  });

  it('is exact inside a block: the difference is the cost of exactly the instructions between', () => {
    // Straight-line code is one block; cycles are accounted per block, so RDTSC must begin its
    // own block to see the instructions before it (OpSpec.clock).
    const m = new Machine({ cpl: 0 });
    m.load(`
      rdtsc
      mov %eax, %esi
      mov %edx, %edi
      nop
      nop
      nop
      nop
      nop
      rdtsc
      out %al, $DONE_PORT`);
    m.runToDone();
    const cost = (name: string, operands: string): number => ALL_SPECS.find((s) => s.name === name && s.operands === operands)!.cost;
    const expected = cost('rdtsc', '') + 2 * cost('mov', 'Ev,Gv') + 5 * cost('nop', '');
    assert.equal((m.eax - m.esi) >>> 0, expected);
  });

  it('with CR4.TSD=1 RDTSC is #GP(0) above CPL 0 and allowed at CPL 0', () => {
    for (const cpl of [1, 2, 3]) {
      const m = new Machine({ cpl, cr4: Cr4.TSD });
      const a = m.load(`
      insn:
        rdtsc
        out %al, $DONE_PORT`);
      const f = m.runToEvent();
      assert.deepEqual([f.vector, f.errorCode, f.eip], [Vector.GP, 0, symbol(a, 'insn')], `CPL ${cpl}`);
    }
    const m = new Machine({ cpl: 0, cr4: Cr4.TSD });
    m.load('rdtsc\n out %al, $DONE_PORT');
    m.runToDone();
    assert.ok(m.eax > 0);
  });
});
