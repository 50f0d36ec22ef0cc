/**
 * The lecture's alternatives on real guests: interpretive execution and hardware assist (guest
 * mode under a VMCB) must give the guest exactly what bare hardware gives it — every teaching-
 * kernel workload under both interrupt disciplines (popf included: the shadow EFLAGS of guest
 * mode, and the interpreter, see every POPF), the lecture guest, the fault and misbehaving
 * guests — and the comparison must show what the lecture claims, checked as relations between
 * the produced numbers, never as fixed totals.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type Comparison, PROFILES, compareModes, findProfile } from '../../src/api/index.ts';
import { runGuest, withoutTimes } from '../machine/boot.ts';
import { FAULTS_EXPECTED, beyondRamGuest, faultsGuest, tableWriterGuest, unmappedJumpGuest } from './guests.ts';

const KERNEL = 'guest/kernel/kernel.elf';
const MODES = ['interpret', 'hw'] as const;


const WORKLOADS = ['cpu n=1', 'forkwait n=20', 'syscall n=2000', 'pagefault n=64', 'ctxsw n=100', 'ptemod n=20', 'popf n=100', 'mix'];

describe('interpret and hw: guest output identical to native', () => {
  for (const w of WORKLOADS) {
    for (const irq of ['cli', 'popf']) {
      const [name, ...knobs] = w.split(' ');
      const cmdline = [`workload=${name}`, `irq=${irq}`, ...knobs].join(' ');
      it(`teaching kernel ${cmdline}`, () => {
        const native = runGuest(KERNEL, { cmdline });
        assert.deepEqual(native.exit, { kind: 'exit', status: 1 });
        for (const mode of MODES) {
          const run = runGuest(KERNEL, { cmdline, mode });
          assert.deepEqual(run.exit, native.exit, mode);
          assert.match(run.output, /status=0/);
          assert.equal(withoutTimes(run.output), withoutTimes(native.output), mode);
        }
      });
    }
  }

  it('the lecture guest, byte for byte', () => {
    const native = runGuest('guest/lecture/lecture.elf');
    for (const mode of MODES) {
      const run = runGuest('guest/lecture/lecture.elf', { mode });
      assert.equal(run.output, native.output, mode);
      assert.deepEqual(run.exit, native.exit, mode);
    }
  });

  it('faults, error codes, CR2 and accessed/dirty bits as the SDM specifies', () => {
    const kernel = faultsGuest();
    for (const mode of MODES) {
      const run = runGuest(kernel, { mode });
      assert.equal(run.output, FAULTS_EXPECTED, mode);
      assert.deepEqual(run.exit, { kind: 'exit', status: 1 }, mode);
    }
  });

  const misbehaving: [string, () => string, string][] = [
    ['writes its own page table for ever', tableWriterGuest, 'limit'],
    ['jumps to an unmapped address with no handlers (a triple fault)', unmappedJumpGuest, 'triple-fault'],
    ['reads and writes beyond RAM', beyondRamGuest, 'exit'],
  ];
  for (const [what, build, kind] of misbehaving) {
    it(`a guest that ${what} ends as it does natively`, () => {
      const kernel = build();
      const native = runGuest(kernel, { maxInstructions: 300_000 });
      assert.equal(native.exit.kind, kind);
      for (const mode of MODES) {
        const run = runGuest(kernel, { mode, maxInstructions: 300_000 });
        assert.deepEqual(run.exit, native.exit, mode);
        assert.equal(run.output, native.output, mode);
      }
    });
  }
});

describe('hw: the shadow audit after every exit, and what exits', () => {
  it('forkwait: the shadows, backward map and traces stay exact; CR3, #PF, I/O exit; INT n and IRET do not', () => {
    let audits = 0;
    let findings: string[] = [];
    const run = runGuest(KERNEL, {
      mode: 'hw',
      cmdline: 'workload=forkwait irq=popf n=5',
      ramBytes: 32 << 20,
      onVm: (vm) => {
        vm.engine.afterExit = () => {
          audits++;
          if (findings.length === 0) findings = vm.checkShadows().map((f) => `after exit ${audits}: ${f}`);
        };
      },
    });
    assert.match(run.output, /status=0/);
    assert.deepEqual(findings, []);
    assert.equal(audits, run.vmm!.exits.count);
    const reasons = new Set(run.vmm!.exits.reasons.map((r) => `${r.category}: ${r.detail}`));
    for (const r of ['instruction: mov to cr3', 'instruction: mov from cr0', 'I/O: out', 'I/O: in']) assert.ok(reasons.has(r), `${r} exits (${[...reasons].join(', ')})`);
    const categories = new Set(run.vmm!.exits.categories.map((c) => c.category));
    assert.ok(!categories.has('software interrupt'), 'system calls go through the guest IDT without an exit');
    assert.ok(run.vmm!.faults.hidden > 0 && run.vmm!.faults.true > 0);
    assert.ok(run.counters.vmrun! > 0 && run.counters.vmexit === run.counters.vmrun, 'every VMRUN ended in one #VMEXIT');
  });
});

describe('compare: the lecture claims, as relations between the numbers', () => {
  const kernel = new Uint8Array(readFileSync(KERNEL));
  const nehalem = findProfile('nehalem')!;
  const cmp: Comparison = compareModes({
    kernel,
    kernelName: 'kernel.elf',
    workloads: ['workload=cpu n=25', 'workload=syscall n=20000', 'workload=forkwait n=20', 'workload=pagefault n=64', 'workload=ptemod n=20'],
    modes: ['native', 'interpret', 'trap', 'hw'],
    profiles: [nehalem],
  });
  const result = (workload: string, mode: string) => {
    const w = cmp.results.find((r) => r.workload.startsWith(`workload=${workload}`))!;
    return w.runs.find((r) => r.mode === mode)!;
  };

  it('every workload: every mode prints what native prints (the guest clock apart)', () => {
    for (const w of cmp.results) assert.notEqual(w.verdict, 'different', `${w.workload}: ${JSON.stringify(w.differences)}`);
  });

  it('cpu: trap and hw within 0-9 % of native, interpretation far slower', () => {
    for (const mode of ['trap', 'hw']) {
      const s = result('cpu', mode).slowdown!;
      assert.ok(s >= 0 && s <= 0.09, `${mode}: ${(s * 100).toFixed(1)} %`);
    }
    assert.ok(result('cpu', 'interpret').slowdown! > 10, `interpret: ${result('cpu', 'interpret').slowdown}`);
  });

  it('syscall: trap pays a trap per call, hw runs them natively', () => {
    const trap = result('syscall', 'trap');
    const hw = result('syscall', 'hw');
    const trapInts = trap.exits.categories.find((c) => c.category === 'software interrupt')?.count ?? 0;
    assert.ok(trapInts >= 20000, `trap: ${trapInts} software-interrupt exits for 20000 calls`);
    assert.equal(hw.exits.categories.find((c) => c.category === 'software interrupt'), undefined);
    assert.ok(hw.exits.count < 20000 / 10, `hw: ${hw.exits.count} exits in all`);
    assert.ok(hw.slowdown! < trap.slowdown! / 10, `hw ${hw.slowdown} vs trap ${trap.slowdown}`);
  });

  it('forkwait, pagefault, ptemod: hw pays a VMM round trip per hidden fault and per trace write', () => {
    for (const workload of ['forkwait', 'pagefault', 'ptemod']) {
      const hw = result(workload, 'hw');
      for (const [category, faults] of [
        ['hidden fault', hw.faults.hidden],
        ['trace fault', hw.faults.trace],
      ] as const) {
        const c = hw.exits.categories.find((x) => x.category === category);
        assert.ok(faults > 0 && c !== undefined, `${workload}: ${category}s happen under hw`);
        assert.equal(c.count, faults, `${workload}: one exit per ${category}`);
        assert.ok(c.cycles >= c.count * nehalem.vmmRoundTrip, `${workload}: each ${category} costs at least a round trip`);
      }
      assert.ok(hw.slowdown! > 0, `${workload}: hw is slower than native`);
    }
  });

  it('profiles: a cheaper round trip (sandybridge) makes the same exits cheaper', () => {
    const sandy = findProfile('sandybridge')!;
    const one = compareModes({ kernel, kernelName: 'kernel.elf', workloads: ['workload=ptemod n=20'], modes: ['native', 'hw'], profiles: PROFILES });
    const hw = (p: string) => one.results.find((r) => r.profile === p)!.runs.find((r) => r.mode === 'hw')!;
    assert.equal(hw('nehalem').exits.count, hw(sandy.name).exits.count);
    assert.ok(hw(sandy.name).exits.cycles < hw('nehalem').exits.cycles);
  });
});
