/**
 * CPUID (Intel SDM vol. 2, CPUID) for each CPU model, against what QEMU 7.2's own models report
 * (measured with a guest under qemu-system-i386: qemu32 gives vendor GenuineIntel, signature
 * 0x663, leaf 1 EDX 0x0781ABFD, ECX 0x80000001, highest extended leaf 0x80000004), less the
 * features this CPU does not implement; and every feature a model advertises exercised by an
 * instruction that needs it. Then RDTSC: the time-stamp counter derived from simulated cycles,
 * monotonic, with CR4.TSD making RDTSC privileged (#GP(0) above CPL 0).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cr4, Efer } from '../../src/hw/x86/control-registers.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { ALL_SPECS } from '../../src/hw/cpu/opcodes.ts';
import { CPU_MODELS, type CpuModel, DEFAULT_CPU_MODEL, type FeatureName, FeatureWord, featureNames, findCpuModel } from '../../src/hw/cpu/cpu-model.ts';
import { Cpu } from '../../src/hw/cpu/cpu.ts';
import { cpuidLeaf } from '../../src/hw/cpu/cpuid.ts';
import { readMsr, writeMsr } from '../../src/hw/cpu/msr.ts';
import { PhysicalMemory } from '../../src/hw/memory/physical-memory.ts';
import { Machine, SCRATCH, symbol } from './machine.ts';

const QEMU32 = findCpuModel('qemu32')!;
const MAX = findCpuModel('max')!;

function cpuid(leaf: number, model: CpuModel = DEFAULT_CPU_MODEL, cpl = 3, subleaf = 0): { eax: number; ebx: number; ecx: number; edx: number } {
  const m = new Machine({ cpl, cpuModel: model });
  m.load(`
    mov $${leaf >>> 0}, %eax
    mov $${subleaf}, %ecx
    cpuid
    out %al, $DONE_PORT`);
  m.runToDone();
  return { eax: m.eax, ebx: m.ebx, ecx: m.ecx, edx: m.edx };
}

function text(...words: number[]): string {
  return words.map((w) => String.fromCharCode(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24)).join('');
}

const bit = (n: number) => 2 ** n;
/** CPUID.1:EDX bits (SDM vol. 2, table 3-11). */
const EDX = { FPU: bit(0), DE: bit(2), PAE: bit(6), APIC: bit(9), SEP: bit(11), MTRR: bit(12), MCA: bit(14), MMX: bit(23), FXSR: bit(24), SSE: bit(25), SSE2: bit(26) };
/** QEMU 7.2's qemu32 (target/i386/cpu.c: PPRO_FEATURES), as its CPUID reported it. */
const QEMU_QEMU32_EDX = 0x0781abfd;
/** What this CPU does not implement of it (README, "Not modelled"), and SEP, left out of qemu32 by choice. */
const NOT_IN_QEMU32 = EDX.DE | EDX.SEP | EDX.MMX | EDX.FXSR | EDX.SSE | EDX.SSE2;
/** The highest basic leaf: 7 once a model has a leaf-7 feature (max: SMEP, SMAP), else 1. */
const highestLeaf = (model: CpuModel): number => (model.name === 'max' ? 7 : 1);

describe('CPUID (SDM vol. 2, CPUID), at any CPL', () => {
  for (const model of CPU_MODELS) {
    it(`${model.name}: leaf 0: highest basic leaf ${highestLeaf(model)} (no leaf 2/4 cache data; 7 with a leaf-7 feature), GenuineIntel`, () => {
      const r = cpuid(0, model);
      assert.equal(r.eax, highestLeaf(model));
      assert.equal(text(r.ebx, r.edx, r.ecx), 'GenuineIntel');
    });

    it(`${model.name}: leaf 1: QEMU's signature (family 6, model 6, stepping 3), initial APIC ID 0, no CLFLUSH size`, () => {
      const r = cpuid(1, model);
      assert.equal(r.eax, 0x663);
      assert.equal(r.ebx, 0);
    });

    it(`${model.name}: leaves above the highest return the highest basic leaf's data, as Intel's (and QEMU's) do`, () => {
      const top = cpuid(highestLeaf(model), model);
      for (const leaf of [8, 0x40000000, 0x80000005, 0x8000ffff]) assert.deepEqual(cpuid(leaf, model), top, `leaf 0x${leaf.toString(16)}`);
      if (highestLeaf(model) === 1) for (const leaf of [2, 4, 7]) assert.deepEqual(cpuid(leaf, model), top, `leaf ${leaf}`);
    });

    it(`${model.name}: the brand string leaves 0x80000000-0x80000004`, () => {
      assert.equal(cpuid(0x80000000, model).eax, 0x80000004);
      let brand = '';
      for (let leaf = 0x80000002; leaf <= 0x80000004; leaf++) {
        const r = cpuid(leaf, model);
        brand += text(r.eax, r.ebx, r.ecx, r.edx);
      }
      assert.equal(brand.replace(/\0+$/, ''), model.brand);
      assert.match(brand, /^shadowvisor /);
    });
  }

  it("qemu32: leaf 1 EDX is QEMU's qemu32 (with its FPU) less DE, SEP, MMX, FXSR, SSE, SSE2; no ECX feature (no SSE3, no hypervisor bit)", () => {
    // The bare test machine has no local APIC: CPUID's APIC flag reads 0 (a board's CPU has it).
    const r = cpuid(1, QEMU32);
    assert.equal(r.edx, (QEMU_QEMU32_EDX & ~NOT_IN_QEMU32 & ~EDX.APIC) >>> 0);
    assert.equal(r.ecx, 0);
    assert.deepEqual(cpuid(0x80000001, QEMU32), { eax: 0, ebx: 0, ecx: 0, edx: 0 });
  });

  it('max: qemu32 plus SEP and MTRR in leaf 1, NX (bit 20) and RDTSCP (bit 27) in 0x80000001 EDX, SMEP and SMAP in leaf 7; no MCA', () => {
    const r = cpuid(1, MAX);
    assert.equal(r.edx, ((QEMU_QEMU32_EDX & ~NOT_IN_QEMU32 & ~EDX.APIC) | EDX.SEP | EDX.MTRR) >>> 0);
    assert.equal(r.edx & EDX.MCA, 0);
    assert.equal(cpuid(0x80000001, MAX).edx, (bit(20) | bit(27)) >>> 0);
    const l7 = cpuid(7, MAX, 3, 0);
    assert.deepEqual(l7, { eax: 0, ebx: (bit(7) | bit(20)) >>> 0, ecx: 0, edx: 0 }, 'leaf 7 subleaf 0: SMEP, SMAP; highest subleaf 0');
    assert.deepEqual(cpuid(7, MAX, 3, 1), { eax: 0, ebx: 0, ecx: 0, edx: 0 }, 'an invalid subleaf of leaf 7 returns zeros');
    for (const leaf of [2, 4, 5, 6]) assert.equal(cpuid(leaf, MAX).eax & 0xfe, 0, `leaf ${leaf} reports no cache or power feature`);
  });

  it('every model is named in the table once; qemu32 is the default', () => {
    assert.equal(DEFAULT_CPU_MODEL.name, 'qemu32');
    assert.deepEqual(
      CPU_MODELS.map((m) => m.name),
      ['qemu32', 'max'],
    );
  });
});

/**
 * One instruction (or a few) per feature flag, needing that feature to do what it does: the
 * snippet runs at CPL 0 and ends at DONE_PORT with EAX = 1 when the feature worked.
 */
const EXERCISE: Partial<Record<FeatureName, { readonly source: string; readonly paging?: boolean }>> = {
  // 1 + 1 on the x87, stored as an integer.
  FPU: { source: 'fninit\n fld1\n fadd %st(0), %st\n fistpl SCRATCH\n xor %eax, %eax\n cmpl $2, SCRATCH\n sete %al' },
  // A 4 MiB page: linear 0x00C00000 maps physical 0, so SCRATCH reads through it.
  PSE: {
    paging: true,
    source: `
      mov %cr4, %eax
      or $${Cr4.PSE}, %eax
      mov %eax, %cr4
      movl $0x00000087, PAGE_DIR + 3 * 4
      movl $0x5a5aa5a5, SCRATCH
      xor %eax, %eax
      cmpl $0x5a5aa5a5, 0x00c00000 + SCRATCH
      sete %al`,
  },
  TSC: { source: 'rdtsc\n mov %eax, %ebx\n nop\n rdtsc\n sub %ebx, %eax\n setnz %al\n movzx %al, %eax' },
  MSR: { source: 'mov $0x277, %ecx\n rdmsr\n cmp $0x00070406, %eax\n sete %al\n movzx %al, %eax' },
  MCE: { source: `mov %cr4, %eax\n or $${Cr4.MCE}, %eax\n mov %eax, %cr4\n mov %cr4, %eax\n shr $6, %eax\n and $1, %eax` },
  CX8: {
    source: `
      movl $1, SCRATCH
      movl $2, SCRATCH + 4
      mov $1, %eax
      mov $2, %edx
      mov $3, %ebx
      mov $4, %ecx
      cmpxchg8b SCRATCH
      setz %al
      movzx %al, %eax`,
  },
  // The bare machine has no local APIC to look at: IA32_APIC_BASE (which exists with APIC) answers.
  APIC: { source: 'mov $0x1b, %ecx\n rdmsr\n shr $11, %eax\n and $1, %eax' },
  SEP: {
    source: `
      mov $0x174, %ecx
      mov $SEL_CODE0, %eax
      xor %edx, %edx
      wrmsr
      mov $0x176, %ecx
      mov $1f, %eax
      wrmsr
      mov $0x175, %ecx
      mov %esp, %eax
      wrmsr
      xor %eax, %eax
      sysenter
      ud2
    1:
      mov $1, %eax`,
  },
  MTRR: { source: 'mov $0xfe, %ecx\n rdmsr\n cmp $0x508, %eax\n sete %al\n movzx %al, %eax' },
  PGE: { source: `mov %cr4, %eax\n or $${Cr4.PGE}, %eax\n mov %eax, %cr4\n mov %cr4, %eax\n shr $7, %eax\n and $1, %eax` },
  CMOV: { source: 'xor %eax, %eax\n mov $1, %ebx\n stc\n cmovc %ebx, %eax' },
  // CR4.PAE, SMEP: MOV to CR4 accepts the bit (#GP(0) on a model without it: system.ts).
  PAE: { source: `mov %cr4, %eax\n or $${Cr4.PAE}, %eax\n mov %eax, %cr4\n mov %cr4, %eax\n shr $5, %eax\n and $1, %eax` },
  SMEP: { source: `mov %cr4, %eax\n or $${Cr4.SMEP}, %eax\n mov %eax, %cr4\n mov %cr4, %eax\n shr $20, %eax\n and $1, %eax` },
  // STAC sets EFLAGS.AC (bit 18).
  SMAP: { source: 'stac\n pushf\n pop %eax\n shr $18, %eax\n and $1, %eax' },
  // IA32_EFER exists with NX, and its NXE bit (11) sticks.
  NX: { source: 'mov $0xc0000080, %ecx\n rdmsr\n or $0x800, %eax\n wrmsr\n rdmsr\n shr $11, %eax\n and $1, %eax' },
  PAT: { source: 'mov $0x277, %ecx\n rdmsr\n cmp $0x00070406, %edx\n sete %al\n movzx %al, %eax' },
  RDTSCP: {
    source: `
      mov $0xc0000103, %ecx
      mov $0x77, %eax
      xor %edx, %edx
      wrmsr
      xor %ecx, %ecx
      rdtscp
      cmp $0x77, %ecx
      sete %al
      movzx %al, %eax`,
  },
};

describe('every feature a model advertises is implemented', () => {
  it('each feature of each model has an exercise here (a new feature must bring one)', () => {
    for (const model of CPU_MODELS) for (const f of featureNames(model)) assert.ok(EXERCISE[f] !== undefined, `${model.name}: ${f}`);
  });

  for (const model of CPU_MODELS) {
    for (const f of featureNames(model)) {
      it(`${model.name}: ${f}`, () => {
        const x = EXERCISE[f]!;
        const m = new Machine({ cpl: 0, cpuModel: model, paging: x.paging ?? false });
        m.cpu.hasApic = true;
        m.load(`${x.source}\n out %al, $DONE_PORT`);
        m.runToDone();
        assert.equal(m.eax, 1);
      });
    }
  }

  it('qemu32 lacks what max adds: SYSENTER and RDTSCP are #UD, the MTRRs and IA32_TSC_AUX #GP(0)', () => {
    for (const [source, vector, error] of [
      ['sysenter', Vector.UD, null],
      ['sysexit', Vector.UD, null],
      ['rdtscp', Vector.UD, null],
      ['mov $0xfe, %ecx\n insn: rdmsr', Vector.GP, 0],
      ['mov $0xc0000103, %ecx\n insn: rdmsr', Vector.GP, 0],
      ['mov $0x174, %ecx\n insn: rdmsr', Vector.GP, 0],
    ] as const) {
      const m = new Machine({ cpl: 0, cpuModel: QEMU32 });
      const a = m.load(source.includes('insn:') ? `${source}\n out %al, $DONE_PORT` : `insn: ${source}\n out %al, $DONE_PORT`);
      const frame = m.runToEvent();
      assert.deepEqual([frame.vector, frame.errorCode, frame.eip], [vector, error, symbol(a, 'insn')], source);
    }
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

describe('a model with a leaf-7 feature and NX (as SMEP, SMAP and NX will make max)', () => {
  // A model like max with one leaf-7 flag (SMEP's bit) and NX, built as buildModel would build it.
  const features = [...MAX.features];
  features[FeatureWord.LEAF7_EBX] = bit(7);
  features[FeatureWord.EXT1_EDX] = features[FeatureWord.EXT1_EDX]! | bit(20);
  const LEAF7: CpuModel = { ...MAX, name: 'leaf7', features, maxBasicLeaf: 7 };
  const regs = (c: Cpu, leaf: number, subleaf = 0): number[] => {
    const r = new Int32Array(4);
    cpuidLeaf(c, leaf, subleaf, r);
    return [...r].map((v) => v >>> 0); // EAX ECX EDX EBX
  };

  it('highest basic leaf 7; leaf 7.0 has the flag; leaves 2-6 report nothing (leaf 2 AL = 1); other subleaves 0', () => {
    const c = new Cpu(new PhysicalMemory(2 << 20), { read: () => 0, write: () => {} }, { model: LEAF7 });
    assert.equal(regs(c, 0)[0], 7);
    assert.deepEqual(regs(c, 7), [0, 0, 0, bit(7)]);
    assert.deepEqual(regs(c, 7, 1), [0, 0, 0, 0]);
    assert.deepEqual(regs(c, 2), [1, 0, 0, 0]);
    for (const leaf of [3, 4, 5, 6]) assert.deepEqual(regs(c, leaf), [0, 0, 0, 0], `leaf ${leaf}`);
    assert.deepEqual(regs(c, 8), regs(c, 7), 'above the highest: leaf 7');
  });

  it('IA32_MISC_ENABLE.LIMIT_CPUID_MAXVAL becomes writable and caps leaf 0 at 2 (SDM vol. 4, table 2-2)', () => {
    const c = new Cpu(new PhysicalMemory(2 << 20), { read: () => 0, write: () => {} }, { model: LEAF7 });
    assert.ok(writeMsr(c, 0x1a0, 1 | (1 << 22), 0));
    assert.equal(regs(c, 0)[0], 2);
    assert.deepEqual(regs(c, 7), regs(c, 2), 'leaf 7 is above the highest now');
    assert.ok(writeMsr(c, 0x1a0, 1, 0));
    assert.equal(regs(c, 0)[0], 7);
  });

  it('NX brings IA32_EFER with NXE (other bits #GP); IA32_MISC_ENABLE.XD_DISABLE hides NX, EFER and NXE', () => {
    const c = new Cpu(new PhysicalMemory(2 << 20), { read: () => 0, write: () => {} }, { model: LEAF7 });
    const out = new Int32Array(3);
    assert.ok(readMsr(c, 0xc0000080, out));
    assert.ok(writeMsr(c, 0xc0000080, Efer.NXE, 0));
    assert.equal(c.efer, Efer.NXE);
    assert.equal(writeMsr(c, 0xc0000080, Efer.NXE | 1, 0), false, 'SCE: no SYSCALL here');
    assert.equal(writeMsr(c, 0xc0000080, 1 << 8, 0), false, 'LME: no long mode');
    assert.equal(regs(c, 0x80000001)[2]! & bit(20), bit(20));
    assert.ok(writeMsr(c, 0x1a0, 1, 1 << 2));
    assert.equal(regs(c, 0x80000001)[2]! & bit(20), 0, 'CPUID hides NX');
    assert.equal(readMsr(c, 0xc0000080, out), false, 'EFER gone');
    assert.equal(c.efer, 0, 'NXE cleared');
  });
});
