/**
 * VMM paging, seen through the backward map.
 *   node --import tsx docs/examples/vmm-paging.ts
 *
 * Runs the teaching kernel's forkwait workload in a VM with 16 MiB of guest RAM of which at
 * most 8 MiB may be resident, with the invariant checker after every exit. Half way through,
 * the example itself asks the VMM to page out the guest frame that the most shadow entries
 * map, and prints its story: the entries the backward map lists under its HPA, the same entries
 * parked (not present) under its GPA, and — as soon as the guest touches the frame again — the
 * new HPA they all point to. At the end: the paging statistics, and the guest's output compared
 * with a native run.
 */
import { readFileSync } from 'node:fs';
import { MemoryBackingStore, NO_INPUT, TrapVm, parseMultibootKernel, runMachine } from '../../src/api/index.ts';

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;
const kernel = new Uint8Array(readFileSync(new URL('../../guest/kernel/kernel.elf', import.meta.url)));
const cmdline = 'workload=forkwait irq=cli n=10';

let output = '';
const vm = new TrapVm({
  ramBytes: 16 << 20,
  guestMemoryLimit: 8 << 20,
  backingStore: new MemoryBackingStore(),
  input: NO_INPUT,
  serial: { write: (b) => (output += String.fromCharCode(b)) },
});
vm.boot(parseMultibootKernel(kernel, 'kernel.elf'), 'kernel.elf', cmdline, []);
const { mmu, pmap, pager } = vm;

/** The resident guest frame with the longest backward-map list. */
function mostMapped(): number {
  let best = -1;
  let most = 0;
  for (let gfn = 0; gfn < pmap.guestFrames; gfn++) {
    const hfn = pmap.hostFrame[gfn]!;
    if (hfn >= 0 && mmu.rmap.of(hfn).length > most) {
      most = mmu.rmap.of(hfn).length;
      best = gfn;
    }
  }
  return best;
}

let exits = 0;
let findings: string[] = [];
let followed: { gfn: number; entries: readonly number[] } | null = null;
vm.engine.afterExit = () => {
  exits++;
  if (findings.length === 0) findings = vm.checkShadows();
  if (exits === 6000) {
    const gfn = mostMapped();
    const hfn = pmap.hostFrame[gfn]!;
    const entries = [...mmu.rmap.of(hfn)];
    console.log(`exit ${exits}: GPA ${hex(gfn * 4096)} is at HPA ${hex(hfn * 4096)}; its backward map lists ${entries.length} shadow entries: ${entries.map(hex).join(', ')}`);
    pager.pageOut(gfn);
    console.log(`  paged out: the backward map of HPA ${hex(hfn * 4096)} lists ${mmu.rmap.of(hfn).length}; parked under GPA ${hex(gfn * 4096)}: ${mmu.parked.of(gfn).length} entries, not present`);
    followed = { gfn, entries };
  } else if (followed !== null && pmap.hostFrame[followed.gfn]! >= 0) {
    const hfn = pmap.hostFrame[followed.gfn]!;
    const back = mmu.rmap.of(hfn);
    console.log(`exit ${exits} (${vm.engine.lastExit.category}): GPA ${hex(followed.gfn * 4096)} is back, at HPA ${hex(hfn * 4096)}`);
    console.log(`  every entry that was parked now maps HPA ${hex(hfn * 4096)}: ${followed.entries.every((a) => back.includes(a)) ? 'yes' : 'no'}`);
    followed = null;
  }
};
const exit = vm.run(2e9);
const p = pager.stats;
console.log(`run: ${exit.kind}; ${exits} exits, each followed by the invariant checker: ${findings.length} findings`);
console.log(`paging: ${p.pageOuts} page-outs, ${p.pageIns} page-ins, ${p.zeroFills} frames zero-filled on first use, resident ${pager.resident} of at most ${pager.budget}`);
let native = '';
runMachine({ kernel, kernelName: 'kernel.elf', cmdline, ramBytes: 16 << 20, serial: { write: (b) => (native += String.fromCharCode(b)) } });
const noTimes = (s: string) => s.split('\n').filter((l) => !l.startsWith('time:')).join('\n');
console.log(`guest output equal to native (clock lines aside): ${noTimes(output) === noTimes(native) ? 'yes' : 'no'}`);
