/**
 * Shadow caching and VMM paging on the teaching kernel: every workload under the smallest shadow
 * budget the guest allows (evictions on nearly every address-space switch) and under a guest
 * memory limit of half its RAM (constant paging to the backing store), with the invariant checker
 * after every exit, must print what it prints natively. Then the cache's effect in simulated
 * cycles, and backing-store failures.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { minimumShadowPages } from '../../src/api/index.ts';
import { type BootResult, runGuest, withoutTimes } from '../machine/boot.ts';

const KERNEL = 'guest/kernel/kernel.elf';
const RAM = 8 << 20;


interface Audited {
  run: BootResult;
  audits: number;
  findings: string[];
}

/** Runs under trap with the invariant checker after every `every`-th exit (1: every exit). */
function audited(cmdline: string, options: { shadowPages?: number; guestMemoryLimit?: number }, every = 1): Audited {
  let audits = 0;
  let findings: string[] = [];
  const run = runGuest(KERNEL, {
    mode: 'trap',
    cmdline,
    ramBytes: RAM,
    ...options,
    onVm: (vm) => {
      vm.engine.afterExit = () => {
        audits++;
        if (findings.length === 0 && audits % every === 0) findings = vm.checkShadows().map((f) => `after exit ${audits}: ${f}`);
      };
    },
  });
  return { run, audits, findings };
}

// mix runs all of these one after the other: it is checked after every 50th exit (after every exit it takes a minute).
const WORKLOADS: [string, number][] = [
  ['cpu n=1', 1],
  ['forkwait n=6', 1],
  ['syscall n=200', 1],
  ['pagefault n=16', 1],
  ['ctxsw n=20', 1],
  ['ptemod n=6 pages=4', 1],
  ['popf n=20', 1],
  ['mix', 50],
];
const cmdlineOf = (w: string) => `workload=${w.split(' ')[0]} irq=cli ${w.split(' ').slice(1).join(' ')}`.trim();

describe('every workload, audited after every exit, prints what it prints natively', () => {
  for (const [w, every] of WORKLOADS) {
    const cmdline = cmdlineOf(w);
    it(`${cmdline}: the smallest shadow budget, then half the RAM resident`, () => {
      const native = runGuest(KERNEL, { cmdline, ramBytes: RAM });
      assert.deepEqual(native.exit, { kind: 'exit', status: 1 });
      const budget = minimumShadowPages(RAM);
      const small = audited(cmdline, { shadowPages: budget }, every);
      assert.deepEqual(small.findings, []);
      assert.equal(small.audits, small.run.vmm!.exits.count);
      assert.equal(withoutTimes(small.run.output), withoutTimes(native.output));
      assert.ok(small.run.vmm!.shadow!.peakPages <= budget);
      assert.ok(small.run.vmm!.shadow!.evictions > 0, 'shadows were evicted');

      const paged = audited(cmdline, { guestMemoryLimit: RAM / 2 }, every);
      assert.deepEqual(paged.findings, []);
      assert.equal(withoutTimes(paged.run.output), withoutTimes(native.output));
      const p = paged.run.vmm!.paging;
      assert.ok(p.pageOuts > 100 && p.pageIns > 0, `${p.pageOuts} page-outs, ${p.pageIns} page-ins`);
      assert.ok(p.residentPages <= RAM / 2 / 4096);
    });
  }
});

describe('the shadow cache', () => {
  it('ctxsw: a tiny cache rebuilds shadows on every switch and costs more simulated cycles than a large one', () => {
    const cmdline = 'workload=ctxsw irq=cli n=100';
    const large = runGuest(KERNEL, { mode: 'trap', cmdline, ramBytes: 16 << 20 });
    const tiny = runGuest(KERNEL, { mode: 'trap', cmdline, ramBytes: 16 << 20, shadowPages: minimumShadowPages(16 << 20) });
    assert.equal(withoutTimes(tiny.output), withoutTimes(large.output));
    assert.equal(large.vmm!.shadow!.rebuilds, 0);
    assert.ok(large.vmm!.shadow!.hits > 100, `${large.vmm!.shadow!.hits} hits`);
    assert.ok(tiny.vmm!.shadow!.rebuilds > 100, `${tiny.vmm!.shadow!.rebuilds} rebuilds`);
    assert.ok(tiny.cycles > large.cycles * 1.1, `${tiny.cycles} cycles with the tiny cache, ${large.cycles} with the large one`);
  });
});
