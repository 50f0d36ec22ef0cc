/**
 * Trap-and-emulate on real guests: the teaching kernel's workloads (irq=cli), the lecture guest
 * and the device test kernel must print exactly what they print natively (the `time:` lines
 * excepted: they read the guest's clock, which the VMM's overhead advances, as it would on real
 * hardware); the shadow audit must pass after every exit; the simulated costs must show what
 * the lecture says; and the popf problem must end the run with its explanation.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FileDisk } from '../../src/api/node.ts';
import { type MachineRun, PROFILES, type TrapVm, minimumShadowPages, slowdown } from '../../src/api/index.ts';
import { type BootResult, runGuest, tempImage, withoutTimes } from '../machine/boot.ts';
import { FAULTS_EXPECTED, beyondRamGuest, faultsGuest, tableWriterGuest, unmappedJumpGuest } from './guests.ts';

const KERNEL = 'guest/kernel/kernel.elf';


/** Runs in trap mode with the shadow audit after every exit; returns the run and the audit's record. */
function audited(kernel: string, cmdline: string, shadowPages?: number): { run: BootResult; audits: number; findings: string[] } {
  let audits = 0;
  let findings: string[] = [];
  const run = runGuest(kernel, {
    mode: 'trap',
    cmdline,
    ramBytes: 32 << 20,
    ...(shadowPages !== undefined ? { shadowPages } : {}),
    onVm: (vm) => {
      vm.engine.afterExit = () => {
        audits++;
        if (findings.length === 0) findings = vm.checkShadows().map((f) => `after exit ${audits}: ${f}`);
      };
    },
  });
  return { run, audits, findings };
}

/** Cycles of exits in `categories`, from a trap run's report. */
function exitCycles(run: MachineRun, ...categories: string[]): number {
  return run.vmm!.exits.categories.filter((c) => categories.includes(c.category)).reduce((s, c) => s + c.cycles, 0);
}

const WORKLOADS = ['cpu n=1', 'forkwait n=20', 'syscall n=2000', 'pagefault n=64', 'ctxsw n=100', 'ptemod n=20', 'popf n=100', 'mix'];

describe('trap mode: guest output identical to native', () => {
  for (const w of WORKLOADS) {
    const cmdline = `workload=${w.split(' ')[0]} irq=cli ${w.split(' ').slice(1).join(' ')}`.trim();
    it(`teaching kernel ${cmdline}`, () => {
      const native = runGuest(KERNEL, { cmdline });
      const trap = runGuest(KERNEL, { cmdline, mode: 'trap' });
      assert.deepEqual(native.exit, { kind: 'exit', status: 1 });
      assert.deepEqual(trap.exit, native.exit);
      assert.match(trap.output, /status=0/);
      assert.equal(withoutTimes(trap.output), withoutTimes(native.output));
    });
  }

  it('the lecture guest, byte for byte', () => {
    const native = runGuest('guest/lecture/lecture.elf');
    const trap = runGuest('guest/lecture/lecture.elf', { mode: 'trap' });
    assert.match(native.output, /all values as expected/);
    assert.equal(trap.output, native.output);
    assert.deepEqual(trap.exit, native.exit);
  });

  it('the device test kernel (its LAPIC timer reading excepted) and the same disk contents', () => {
    const results = (['native', 'trap'] as const).map((mode) => {
      const image = tempImage(1 << 20);
      const disk = FileDisk.open(image);
      const run = runGuest('guest/devtest/devtest.elf', { mode, disks: [disk] });
      disk.close();
      return { run, disk: readFileSync(image) };
    });
    const [native, trap] = results as [(typeof results)[0], (typeof results)[0]];
    assert.match(native.run.output, /devtest: all checks passed/);
    assert.equal(withoutTimes(trap.run.output), withoutTimes(native.run.output));
    assert.deepEqual(trap.run.exit, native.run.exit);
    assert.ok(trap.disk.equals(native.disk), 'the disk images are identical');
  });

  it('faults, error codes, CR2 and accessed/dirty bits as the SDM specifies, in both modes', () => {
    const kernel = faultsGuest();
    for (const mode of ['native', 'trap'] as const) {
      const run = runGuest(kernel, { mode });
      assert.equal(run.output, FAULTS_EXPECTED, mode);
      assert.deepEqual(run.exit, { kind: 'exit', status: 1 });
    }
  });
});

describe('trap mode: misbehaving guests end as they do natively', () => {
  const cases: [string, () => string, string][] = [
    ['writes its own page table for ever', tableWriterGuest, 'limit'],
    ['jumps to an unmapped address with no handlers', unmappedJumpGuest, 'triple-fault'],
    ['reads and writes beyond RAM', beyondRamGuest, 'exit'],
  ];
  for (const [what, build, kind] of cases) {
    it(`a guest that ${what}`, () => {
      const kernel = build();
      const native = runGuest(kernel, { maxInstructions: 300_000 });
      const trap = runGuest(kernel, { mode: 'trap', maxInstructions: 300_000 });
      assert.equal(native.exit.kind, kind);
      assert.deepEqual(trap.exit, native.exit);
      assert.equal(trap.status, native.status);
      assert.equal(trap.output, native.output);
    });
  }
});

describe('the shadow audit after every exit', () => {
  const runs: [string, string][] = [
    ['guest/lecture/lecture.elf', ''],
    [KERNEL, 'workload=forkwait irq=cli n=5'],
    [KERNEL, 'workload=pagefault irq=cli n=16'],
    [KERNEL, 'workload=ptemod irq=cli n=5 pages=4'],
    [KERNEL, 'workload=ctxsw irq=cli n=20'],
    [KERNEL, 'workload=syscall irq=cli n=100'],
  ];
  for (const [kernel, cmdline] of runs) {
    it(`${kernel} ${cmdline}: no finding`, () => {
      const { run, audits, findings } = audited(kernel, cmdline);
      assert.deepEqual(findings, []);
      assert.deepEqual(run.exit, { kind: 'exit', status: 1 });
      assert.equal(audits, run.vmm!.exits.count, 'the audit ran after every exit');
      assert.ok(audits > 500, `${audits} exits audited`);
    });
  }

  it('with the smallest shadow budget (evictions on nearly every switch): no finding, the native output', () => {
    const cmdline = 'workload=forkwait irq=cli n=10';
    // 32 MiB of guest RAM: the physical-mode table takes 9 pages, the minimum budget.
    const budget = minimumShadowPages(32 << 20);
    assert.equal(budget, 9);
    const { run, findings } = audited(KERNEL, cmdline, budget);
    assert.deepEqual(findings, []);
    assert.ok(run.vmm!.shadow!.evictions > 10, `${run.vmm!.shadow!.evictions} evictions`);
    assert.ok(run.vmm!.shadow!.peakPages <= budget);
    assert.equal(withoutTimes(run.output), withoutTimes(runGuest(KERNEL, { cmdline, ramBytes: 32 << 20 }).output));
  });

  it('the faults guest (user pages, read-only pages, CR0.WP=0): no finding', () => {
    const { run, findings, audits } = audited(faultsGuest(), '');
    assert.deepEqual(findings, []);
    assert.equal(run.output, FAULTS_EXPECTED);
    assert.ok(audits > 50);
  });
});

describe('what trap-and-emulate costs (simulated cycles)', () => {
  for (const profile of PROFILES) {
    it(`cpu-bound work runs within the lecture's 0-9 % of native (${profile.name})`, () => {
      // Large enough that booting (serial output, building the kernel's tables) is amortized.
      const cmdline = 'workload=cpu irq=cli n=20';
      const native = runGuest(KERNEL, { cmdline, profile });
      const trap = runGuest(KERNEL, { cmdline, profile, mode: 'trap' });
      const s = slowdown(trap, native);
      assert.ok(s >= 0 && s <= 0.09, `slowdown ${(s * 100).toFixed(2)} %`);
      assert.equal(trap.vmm!.profile.vmmRoundTrip, profile.vmmRoundTrip);
    });
  }

  const heavy: [string, string[]][] = [
    ['workload=forkwait irq=cli n=20', ['trace fault', 'hidden fault', 'true fault']],
    ['workload=pagefault irq=cli n=64', ['hidden fault', 'true fault', 'trace fault']],
    ['workload=ptemod irq=cli n=20', ['trace fault', 'hidden fault']],
  ];
  for (const [cmdline, causes] of heavy) {
    it(`${cmdline}: a large overhead, mostly from ${causes.join(', ')}`, () => {
      const native = runGuest(KERNEL, { cmdline });
      const trap = runGuest(KERNEL, { cmdline, mode: 'trap' });
      const s = slowdown(trap, native);
      assert.ok(s > 1, `slowdown ${(s * 100).toFixed(0)} % (the cpu workload's is under 9 %)`);
      const extra = trap.cycles - native.cycles;
      const memory = exitCycles(trap, ...causes);
      assert.ok(memory > 0.4 * extra, `memory-virtualization exits cost ${memory} of ${extra} extra cycles`);
      assert.ok(trap.vmm!.exits.categories[0]!.cycles > 0);
    });
  }

  it('a faster VMM round trip makes the same run cheaper (sandybridge < nehalem)', () => {
    const cmdline = 'workload=forkwait irq=cli n=20';
    const [nehalem, sandybridge] = PROFILES.map((profile) => runGuest(KERNEL, { cmdline, profile, mode: 'trap' }));
    assert.equal(nehalem!.vmm!.exits.count, sandybridge!.vmm!.exits.count, 'the same exits');
    assert.ok(sandybridge!.cycles < nehalem!.cycles);
  });
});

describe('the popf problem', () => {
  it('irq=popf under trap ends with status 129 at the first PUSHF or POPF that differs, naming Popek and Goldberg, the instruction and its address', () => {
    let vm: TrapVm | null = null;
    const run = runGuest(KERNEL, { mode: 'trap', cmdline: 'workload=popf irq=popf n=100', onVm: (v) => (vm = v as TrapVm) });
    assert.equal(run.exit.kind, 'not-virtualizable');
    assert.equal(run.status, 129);
    if (run.exit.kind !== 'not-virtualizable') return;
    // irq_save() is `pushfl; cli; popl`: its first PUSHF with interrupts already off (boot runs so)
    // would read IF=1 — the real one — where the kernel expects 0 (irq.h, assert_irqs_off).
    assert.equal(run.exit.instruction, 'pushf');
    assert.match(run.exit.explanation, /Popek and Goldberg/);
    assert.match(run.exit.explanation, new RegExp(`pushf at 0x${run.exit.eip.toString(16).padStart(8, '0')}`));
    // The kernel maps itself 1:1: the byte at that address is PUSHF's opcode.
    assert.equal(vm!.guestMem.read8(run.exit.eip), 0x9c);
    assert.doesNotMatch(run.output, /done:/, 'the guest did not get to finish');
  });

  it('the same kernel with irq=popf runs natively, and with irq=cli under trap', () => {
    assert.deepEqual(runGuest(KERNEL, { cmdline: 'workload=popf irq=popf n=100' }).exit, { kind: 'exit', status: 1 });
    assert.deepEqual(runGuest(KERNEL, { mode: 'trap', cmdline: 'workload=popf irq=cli n=100' }).exit, { kind: 'exit', status: 1 });
  });
});
