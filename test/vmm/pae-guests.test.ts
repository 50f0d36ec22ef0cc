/**
 * PAE, NX, SMEP and SMAP guests under the hypervisor with the invariant checker after every exit:
 * the conformance guests pae.c, pae-os.c (a small kernel's demand paging, copy-on-write, fork,
 * exit and CR3 switches over PAE tables) and smap.c (test/conformance) under --mode trap and hw, at the
 * smallest shadow budget (evictions) and with their most-mapped frames paged out (VMM paging), and under
 * interpret, on the max CPU model (NX, SMEP, SMAP; pae.c sets IA32_EFER.NXE with WRMSR, which the
 * VMM emulates). Every guest check must pass, the audit
 * must find nothing, and SMEP/SMAP violations must reach the guest as true faults.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';
import { minimumShadowPages } from '../../src/api/index.ts';
import { MemoryBackingStore } from '../../src/vmm/memory/backing-store.ts';
import type { ShadowMmu } from '../../src/vmm/shadow/shadow-mmu.ts';
import { findCpuModel } from '../../src/hw/cpu/cpu-model.ts';
import { type BootResult, runGuest } from '../machine/boot.ts';

const MAX = findCpuModel('max')!;

const OUT = mkdtempSync(join(tmpdir(), 'shadowvisor-pae-guests-'));
const RAM = 8 << 20;

before(() => {
  const make = spawnSync('make', ['-s', '-C', join(ROOT, 'test/conformance'), `OUT=${OUT}`], { encoding: 'utf8' });
  assert.equal(make.status, 0, `building the conformance guests failed:\n${make.stderr}`);
});

interface Audited {
  run: BootResult;
  audits: number;
  findings: string[];
  trueFaults: number;
}

/**
 * Runs `guest` with the audit after every exit. `pageOutEvery`: every that many exits the VMM
 * pages out the resident frame with the most shadow entries mapping it (the guests touch too
 * little memory for a limit to make the pager work on its own), so the next access parks and
 * unparks entries of PAE shadows.
 */
function audited(guest: string, mode: 'trap' | 'hw' | 'interpret', options: { shadowPages?: number } = {}, pageOutEvery = 0): Audited {
  let audits = 0;
  let findings: string[] = [];
  let trueFaults = 0;
  const run = runGuest(join(OUT, `${guest}.elf`), {
    mode,
    cmdline: 'sdm',
    ramBytes: RAM,
    cpuModel: MAX,
    ...options,
    ...(pageOutEvery > 0 ? { backingStore: new MemoryBackingStore() } : {}),
    onVm: (vm) => {
      const mmu = (vm as Partial<{ mmu: ShadowMmu }>).mmu;
      vm.engine.afterExit = () => {
        audits++;
        if (mmu !== undefined && pageOutEvery > 0 && audits % pageOutEvery === 0) {
          let best = -1;
          let most = 0;
          for (let gfn = 0; gfn < vm.pmap.guestFrames; gfn++) {
            const hfn = vm.pmap.hostFrame[gfn]!;
            const n = hfn < 0 ? 0 : mmu.rmap.of(hfn).length;
            if (n > most) {
              most = n;
              best = gfn;
            }
          }
          if (best >= 0) vm.pager.pageOut(best);
        }
        trueFaults = vm.engine.faults.true;
        if (findings.length === 0) findings = vm.checkShadows().map((f) => `after exit ${audits} (${vm.engine.lastExit.category} ${vm.engine.lastExit.detail}): ${f}`);
      };
    },
  });
  return { run, audits, findings, trueFaults };
}

function assertPassed(r: Audited, what: string): void {
  const out = r.run.output;
  assert.deepEqual(
    out.split('\n').filter((l) => l.startsWith('FAIL')),
    [],
    `${what}: failed checks`,
  );
  assert.match(out, /^SUMMARY: \d+ tests, 0 failures$/m, `${what}: the guest finished`);
  assert.doesNotMatch(out, /checks skipped/, `${what}: every check ran`);
  assert.deepEqual(r.run.exit, { kind: 'exit', status: 1 }, what);
}

describe('PAE and SMEP/SMAP guests under the hypervisor, audited after every exit', () => {
  for (const guest of ['pae', 'pae-os', 'smap']) {
    for (const mode of ['trap', 'hw'] as const) {
      it(`${guest}.c under ${mode}: the smallest shadow budget, then frames paged out under it`, () => {
        const small = audited(guest, mode, { shadowPages: minimumShadowPages(RAM) });
        assert.deepEqual(small.findings, []);
        assert.ok(small.audits > 100, `${small.audits} exits audited`);
        assertPassed(small, `${guest} ${mode}, smallest budget`);
        assert.ok(small.run.vmm!.shadow!.evictions > 0, 'shadows were evicted');
        if (guest !== 'smap') assert.ok(small.run.vmm!.shadow!.rebuilds > 0, `evicted PAE shadows were rebuilt: ${small.run.vmm!.shadow!.rebuilds}`);
        if (guest === 'smap') assert.ok(small.trueFaults >= 8, `SMEP/SMAP violations reflected as true faults: ${small.trueFaults}`);
        const paged = audited(guest, mode, {}, 20);
        assert.deepEqual(paged.findings, []);
        assertPassed(paged, `${guest} ${mode}, paged`);
        assert.ok(paged.run.vmm!.paging.pageOuts > 0 && paged.run.vmm!.paging.pageIns > 0, `${paged.run.vmm!.paging.pageOuts} page-outs, ${paged.run.vmm!.paging.pageIns} page-ins`);
      });
    }
    it(`${guest}.c under interpret`, () => {
      assertPassed(audited(guest, 'interpret'), `${guest} interpret`);
    });
  }
});
