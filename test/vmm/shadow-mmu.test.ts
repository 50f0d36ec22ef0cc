/**
 * The shadow MMU, one mechanism at a time, on a VM whose guest page tables are written by hand:
 * the physical-mode table, hidden faults with the guest's accessed and dirty bits, true faults
 * with the SDM's error codes, tracing, invalidation, the shadow cache across CR3 switches, 4 MiB
 * pages, the frame budget — each followed by the audit, which must also catch corruption.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { FrameOwner } from '../../src/vmm/memory/host-frames.ts';
import { FaultKind } from '../../src/vmm/shadow/shadow-mmu.ts';
import { ShadowRole } from '../../src/vmm/shadow/shadow-page.ts';
import { TrapVm } from '../../src/vmm/trap-vm.ts';
import { NO_INPUT, TrapVm as PublicTrapVm, hw } from '../../src/api/index.ts';

const { Cr0, Cr4, PfError, Pte, WalkRecord, walk } = hw;
const P = Pte.P;
const RW = Pte.RW;
const US = Pte.US;

const PD = 0x10000;
const PT = 0x11000;

/** A 4 MiB guest with paging on: PD at 0x10000, one table at 0x11000 for GVA 0-4 MiB. */
function guest(shadowPages?: number): TrapVm {
  const vm = new TrapVm({ ramBytes: 4 << 20, input: NO_INPUT, serial: { write: () => {} }, ...(shadowPages ? { shadowPages } : {}) });
  const g = vm.guestMem;
  g.write32(PD, PT | P | RW | US);
  g.write32(PT + 0x100 * 4, 0x100000 | P | RW | US); // user read/write
  g.write32(PT + 0x101 * 4, 0x200000 | P | US); // user read-only
  g.write32(PT + 0x102 * 4, 0x201000 | P | RW); // supervisor read/write
  g.write32(PT + 0x103 * 4, PT | P | RW); // the page table itself
  vm.vcpu.cr3 = PD;
  vm.vcpu.cr0 |= Cr0.PE | Cr0.PG | Cr0.WP;
  vm.mmu.activate();
  return vm;
}

/** What the real CPU would translate `gva` to through the active shadow (null: not present). */
function shadowOf(vm: TrapVm, gva: number): { hpa: number; writable: boolean; user: boolean } | null {
  const rec = new WalkRecord();
  walk(vm.hostMem, vm.real.cr3, false, gva, rec);
  return rec.present ? { hpa: rec.physical, writable: rec.writable, user: rec.user } : null;
}

function assertSound(vm: TrapVm): void {
  assert.deepEqual(vm.checkShadows(), []);
}

describe('shadow MMU', () => {
  let vm: TrapVm;
  beforeEach(() => {
    vm = guest();
  });

  it('is the VMM type the public API exports', () => {
    assert.equal(PublicTrapVm, TrapVm);
  });

  it('paging off: the physical-mode table maps guest RAM to its host frames, ROM read-only, devices absent', () => {
    vm.vcpu.cr0 &= ~Cr0.PG;
    vm.mmu.activate();
    assert.equal(vm.mmu.active!.role, ShadowRole.PHYS_DIRECTORY);
    for (const gpa of [0, 0x1234, 0x100000, 0x3ff000]) {
      const s = shadowOf(vm, gpa)!;
      assert.equal(s.hpa, vm.pmap.hpa(gpa));
      assert.notEqual(s.hpa, gpa, 'GPA and HPA differ: the VMM holds the first host frames');
      assert.equal(vm.frames.owner[s.hpa >>> 12], FrameOwner.GUEST);
    }
    assert.equal(shadowOf(vm, 0xf0000)!.writable, false, 'firmware ROM');
    assert.equal(shadowOf(vm, 0xb8000), null, 'the CGA window is a device: every access exits');
    assertSound(vm);
  });

  it('a read fills the entry read-only and sets only the accessed bit; a write then sets dirty and makes it writable', () => {
    assert.equal(shadowOf(vm, 0x100123), null, 'filled lazily');
    assert.equal(vm.mmu.handlePageFault(0x100123, PfError.U), FaultKind.HIDDEN);
    let s = shadowOf(vm, 0x100123)!;
    assert.equal(s.hpa, vm.pmap.hpa(0x100123));
    assert.equal(s.writable, false, 'read-only until the guest entry is dirty');
    assert.equal(vm.guestMem.read32(PT + 0x100 * 4) & (Pte.A | Pte.D), Pte.A);
    assert.equal(vm.guestMem.read32(PD) & Pte.A, Pte.A);
    assertSound(vm);
    assert.equal(vm.mmu.handlePageFault(0x100123, PfError.P | PfError.W | PfError.U), FaultKind.HIDDEN);
    s = shadowOf(vm, 0x100123)!;
    assert.equal(s.writable, true);
    assert.equal(vm.guestMem.read32(PT + 0x100 * 4) & (Pte.A | Pte.D), Pte.A | Pte.D);
    assertSound(vm);
  });

  it('true faults carry the error code the guest would get natively (SDM vol. 3, 4.7)', () => {
    const cases: [number, number, number][] = [
      [0x104000, PfError.U, PfError.U], // not present, user read
      [0x104000, PfError.W, PfError.W], // not present, supervisor write
      [0x101000, PfError.W | PfError.U, PfError.P | PfError.W | PfError.U], // user write to read-only
      [0x101000, PfError.W, PfError.P | PfError.W], // supervisor write to read-only, CR0.WP=1
      [0x102000, PfError.U, PfError.P | PfError.U], // user read of a supervisor page
    ];
    for (const [gva, realError, guestError] of cases) {
      assert.equal(vm.mmu.handlePageFault(gva, realError), FaultKind.TRUE, `gva 0x${gva.toString(16)}`);
      assert.equal(vm.mmu.trueFaultError, guestError, `gva 0x${gva.toString(16)}`);
    }
    assert.equal(vm.guestMem.read32(PT + 0x101 * 4) & Pte.A, 0, 'a faulting access sets no accessed bit');
    assertSound(vm);
  });

  it('with the guest CR0.WP=0 a supervisor write to a read-only page is allowed: the VMM emulates it', () => {
    vm.vcpu.cr0 &= ~Cr0.WP;
    assert.equal(vm.mmu.handlePageFault(0x101000, PfError.W), FaultKind.EMULATE);
    assert.equal(vm.mmu.handlePageFault(0x101000, PfError.W | PfError.U), FaultKind.TRUE, 'user code is still refused');
  });

  it('guest page tables are traced: mapped read-only even when dirty, and a write to one is a trace fault', () => {
    vm.guestMem.write32(PT + 0x103 * 4, PT | P | RW | Pte.A | Pte.D);
    assert.equal(vm.mmu.handlePageFault(0x103000, 0), FaultKind.HIDDEN);
    assert.equal(shadowOf(vm, 0x103000)!.writable, false);
    assert.equal(vm.mmu.handlePageFault(0x103000, PfError.P | PfError.W), FaultKind.TRACE);
    assert.ok(vm.tracer.isTraced(PT >>> 12) && vm.tracer.isTraced(PD >>> 12));
    assertSound(vm);
  });

  it('an emulated write to a guest PTE drops the shadow entry; the next access refills it from the new entry', () => {
    vm.mmu.handlePageFault(0x100000, 0);
    assert.equal(shadowOf(vm, 0x100000)!.hpa, vm.pmap.hpa(0x100000));
    vm.guestMem.write32(PT + 0x100 * 4, 0x300000 | P | RW | US); // what the VMM does for a trace fault
    assert.equal(shadowOf(vm, 0x100000), null);
    assertSound(vm);
    assert.equal(vm.mmu.handlePageFault(0x100000, 0), FaultKind.HIDDEN);
    assert.equal(shadowOf(vm, 0x100000)!.hpa, vm.pmap.hpa(0x300000));
    assertSound(vm);
  });

  it('a write that only sets accessed or dirty bits keeps the shadow entry', () => {
    vm.mmu.handlePageFault(0x100000, 0);
    const before = vm.guestMem.read32(PT + 0x100 * 4);
    vm.guestMem.write32(PT + 0x100 * 4, before | Pte.A);
    assert.notEqual(shadowOf(vm, 0x100000), null);
  });

  it('INVLPG drops the entry, as it drops a TLB entry', () => {
    vm.mmu.handlePageFault(0x100000, 0);
    vm.mmu.invalidatePage(0x100000);
    assert.equal(shadowOf(vm, 0x100000), null);
    assertSound(vm);
  });

  it('shadows are cached per guest directory: switching CR3 back costs no rebuild', () => {
    const PD2 = 0x12000;
    vm.guestMem.write32(PD2, PT | P | RW | US);
    vm.mmu.handlePageFault(0x100000, 0);
    const first = vm.mmu.active;
    vm.vcpu.cr3 = PD2;
    vm.mmu.activate();
    assert.notEqual(vm.mmu.active, first);
    vm.vcpu.cr3 = PD;
    vm.mmu.activate();
    assert.equal(vm.mmu.active, first);
    assert.equal(vm.mmu.stats.built[ShadowRole.DIRECTORY], 2);
    assert.notEqual(shadowOf(vm, 0x100000), null, 'its entries survived the switch');
    assertSound(vm);
  });

  it('a guest 4 MiB page is shadowed with 4 KiB entries', () => {
    vm.vcpu.cr4 |= Cr4.PSE;
    vm.mmu.activate();
    vm.guestMem.write32(PD + 4, 0 | P | RW | US | Pte.PS); // GVA 4-8 MiB -> GPA 0-4 MiB
    assert.equal(vm.mmu.handlePageFault(0x401234, PfError.U), FaultKind.HIDDEN);
    assert.equal(shadowOf(vm, 0x401234)!.hpa, vm.pmap.hpa(0x1234));
    assert.equal(vm.mmu.pagesByRole()[ShadowRole.LARGE], 1);
    assert.equal(vm.guestMem.read32(PD + 4) & Pte.A, Pte.A);
    assertSound(vm);
  });

  it('when the page budget runs out the least recently used shadow is evicted and rebuilt on demand', () => {
    const small = guest(8);
    const switchTo = (k: number) => {
      const pd = 0x20000 + k * 0x1000;
      small.guestMem.write32(pd, PT | P | RW | US);
      small.vcpu.cr3 = pd;
      small.mmu.activate();
      assert.equal(small.mmu.handlePageFault(0x100000, 0), FaultKind.HIDDEN);
      assert.ok(small.mmu.pagesInUse <= 8);
      assertSound(small);
    };
    // Paging is on: the physical-mode table (2 pages) goes first, then the oldest directories.
    for (let k = 0; k < 16; k++) switchTo(k);
    assert.equal(small.mmu.physDirectory, null);
    assert.ok(small.mmu.stats.evictions >= 10, `${small.mmu.stats.evictions} evictions`);
    // The table every directory shares was used on every switch: it was never evicted.
    assert.equal(small.mmu.stats.built[ShadowRole.TABLE], 1);
    const rebuildsBefore = small.mmu.stats.rebuilds;
    switchTo(15); // the newest: still cached
    assert.equal(small.mmu.stats.rebuilds, rebuildsBefore);
    switchTo(0); // the oldest: evicted long ago, rebuilt
    assert.equal(small.mmu.stats.rebuilds, rebuildsBefore + 1);
    assert.throws(() => guest(4), /at least 8 pages/);
  });
});

describe('the shadow audit finds what is wrong', () => {
  function filled(): TrapVm {
    const vm = guest();
    vm.mmu.handlePageFault(0x100000, PfError.W);
    vm.mmu.handlePageFault(0x103000, 0);
    assertSound(vm);
    return vm;
  }
  /** HPA of the shadow PTE for `gva` in the active shadow. */
  function entryAddress(vm: TrapVm, gva: number): number {
    const rec = new WalkRecord();
    walk(vm.hostMem, vm.real.cr3, false, gva, rec);
    return rec.pteAddr;
  }

  it('a traced guest page table made writable', () => {
    const vm = filled();
    const at = entryAddress(vm, 0x103000);
    vm.hostMem.write32(at, vm.hostMem.read32(at) | RW);
    assert.match(vm.checkShadows().join('\n'), /makes traced GPA 0x11000 writable/);
  });

  it('a shadow entry that maps a VMM frame', () => {
    const vm = filled();
    const at = entryAddress(vm, 0x100000);
    vm.hostMem.write32(at, (vm.gdt.base & ~0xfff) | P | US);
    assert.match(vm.checkShadows().join('\n'), /not a guest frame/);
  });

  it('a shadow entry for another frame than the guest entry names', () => {
    const vm = filled();
    const at = entryAddress(vm, 0x100000);
    vm.hostMem.write32(at, vm.pmap.hpa(0x300000) | P | US);
    assert.match(vm.checkShadows().join('\n'), /the guest entry means GPA 0x100000/);
  });

  it('a guest entry that changed behind the shadow (a missed trace)', () => {
    const vm = filled();
    vm.guestMem.traced[PT >>> 12] = 0; // the write below is not seen
    vm.guestMem.write32(PT + 0x100 * 4, 0);
    assert.match(vm.checkShadows().join('\n'), /present but the guest entry is not/);
  });

  it('the real CR3 pointing elsewhere', () => {
    const vm = filled();
    vm.real.loadCr3((vm.mmu.active!.frame + 1) * 4096);
    assert.match(vm.checkShadows().join('\n'), /real CR3/);
  });
});
