/**
 * The lecture's guest under trap-and-emulate, exit by exit.
 *   node --import tsx docs/examples/lecture-under-trap.ts
 *
 * Boots guest/lecture/lecture.elf in a TrapVm and, after every exit that concerns memory (a
 * CR0 or CR3 load, a hidden, true or trace fault), prints what happened: where the guest was,
 * the guest-virtual address, the guest's own entry for it (GVA -> GPA) and the shadow entry the
 * real CPU now uses (GVA -> HPA). Watch LD 0x2123: a hidden fault that turns out true (the
 * guest has no mapping: lazy allocation), the guest's page-fault handler writing its table at
 * GPA 0x7000 (a trace fault), then the retried load filling the shadow (a hidden fault).
 */
import { readFileSync } from 'node:fs';
import { NO_INPUT, TrapVm, hw, parseMultibootKernel } from '../../src/api/index.ts';

const { Cr0, WalkRecord, walk } = hw;
const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

let console_ = '';
const vm = new TrapVm({ ramBytes: 16 << 20, input: NO_INPUT, serial: { write: (b) => (console_ += String.fromCharCode(b)) } });
const path = new URL('../../guest/lecture/lecture.elf', import.meta.url);
vm.boot(parseMultibootKernel(new Uint8Array(readFileSync(path)), 'lecture.elf'), 'lecture.elf', '', []);

/** "GVA -> GPA" through the guest's tables and "GVA -> HPA" through the active shadow. */
function translations(gva: number): string {
  const rec = new WalkRecord();
  let guest = 'paging off';
  if ((vm.vcpu.cr0 & Cr0.PG) !== 0) {
    walk(vm.guestMem, vm.vcpu.cr3, false, gva, rec);
    guest = rec.present ? `guest: GVA ${hex(gva)} -> GPA ${hex(rec.physical)}` : `guest: GVA ${hex(gva)} not mapped`;
  }
  walk(vm.hostMem, vm.real.cr3, false, gva, rec);
  const shadow = rec.present ? `shadow: -> HPA ${hex(rec.physical)}${rec.writable ? ' (writable)' : ' (read-only)'}` : 'shadow: no entry';
  return `${guest}; ${shadow}`;
}

const WATCHED = new Set(['hidden fault', 'true fault', 'trace fault']);
let n = 0;
vm.engine.afterExit = () => {
  n++;
  const e = vm.engine.lastExit;
  const cr = e.category === 'instruction' && /^mov to cr[03]$/.test(e.detail);
  if (!WATCHED.has(e.category) && !cr) return;
  const what = e.detail === '' ? e.category : `${e.category} (${e.detail})`;
  const where = `exit ${String(n).padStart(4)}: ${what.padEnd(22)} eip ${hex(e.eip).padEnd(9)} ring ${e.cpl}`;
  if (cr) console.log(`${where}  CR0 ${hex(vm.vcpu.cr0)} CR3 ${hex(vm.vcpu.cr3)} -> real CR3 ${hex(vm.real.cr3)} (${vm.mmu.active === vm.mmu.physDirectory ? 'physical-mode table' : 'shadow of the guest directory'})`);
  else console.log(`${where}  GVA ${hex(e.gva).padEnd(9)} ${translations(e.gva)}`);
};
const exit = vm.run(1e8);
console.log(`\nthe guest stopped: ${exit.kind}; it printed ${console_.split('\n').length - 1} lines, the last: "${console_.trim().split('\n').pop()}"`);
console.log(`faults: ${vm.engine.faults.hidden} hidden, ${vm.engine.faults.true} true, ${vm.engine.faults.trace} trace; shadow audit: ${vm.checkShadows().length} findings`);
