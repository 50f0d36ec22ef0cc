/**
 * The shadow MMU with PAE guests, one mechanism at a time, on a VM whose guest tables are written
 * by hand: the shadow PDPT following the guest's PDPTE registers (not its PDPT in memory), hidden
 * faults with accessed and dirty bits in 64-bit entries, NX carried into the shadows, RSVD and
 * SMEP/SMAP true faults with the SDM's error codes, 2 MiB pages, 64-bit entries written in two
 * halves, the NXE key, eviction at the smallest budget and VMM paging of PAE-mapped frames — each
 * followed by the audit, which must also catch corruption of a PAE shadow.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { WalkRecord, walkPae } from '../../src/hw/mmu/walk.ts';
import { Cr0, Cr4, Efer } from '../../src/hw/x86/control-registers.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { PfError, Pte } from '../../src/hw/x86/paging.ts';
import { NO_INPUT } from '../../src/api/index.ts';
import { MemoryBackingStore } from '../../src/vmm/memory/backing-store.ts';
import { FaultKind } from '../../src/vmm/shadow/shadow-mmu.ts';
import { ShadowRole } from '../../src/vmm/shadow/shadow-page.ts';
import { TrapVm } from '../../src/vmm/trap-vm.ts';

const P = Pte.P;
const RW = Pte.RW;
const US = Pte.US;
const XD = 1 << 31;

const PDPT = 0x10000;
const PD = 0x11000;
const PT = 0x12000;
const PT2 = 0x13000;
const PD2 = 0x14000;

/** GVAs: 0x200000 + k * 0x1000 through PT entry k; 0x400000: a 2 MiB page; 0x600000: PT2 under an XD PDE. */
const USER_RW = 0x200000;
const USER_RO = 0x201000;
const USER_XD = 0x202000;
const PT_SELF = 0x203000;
const RSVD = 0x204000;
const SUPER = 0x205000;
const BIG = 0x400000;
const XD_DIR = 0x600000;

function w64(vm: TrapVm, gpa: number, lo: number, hi = 0): void {
  vm.guestMem.write32(gpa, lo);
  vm.guestMem.write32(gpa + 4, hi);
}

/** A 4 MiB guest with PAE paging on and NXE=1. */
function guest(shadowPages?: number): TrapVm {
  const vm = new TrapVm({ ramBytes: 4 << 20, input: NO_INPUT, serial: { write: () => {} }, backingStore: new MemoryBackingStore(), ...(shadowPages ? { shadowPages } : {}) });
  w64(vm, PDPT, PD | P);
  w64(vm, PD + 1 * 8, PT | P | RW | US);
  w64(vm, PD + 2 * 8, 0x200000 | P | RW | US | Pte.PS);
  w64(vm, PD + 3 * 8, PT2 | P | RW | US, XD);
  w64(vm, PT + 0 * 8, 0x100000 | P | RW | US);
  w64(vm, PT + 1 * 8, 0x101000 | P | US);
  w64(vm, PT + 2 * 8, 0x102000 | P | RW | US, XD);
  w64(vm, PT + 3 * 8, PT | P | RW);
  w64(vm, PT + 4 * 8, 0x103000 | P | RW | US, 1 << 8); // bit 40: reserved (MAXPHYADDR 36)
  w64(vm, PT + 5 * 8, 0x104000 | P | RW);
  w64(vm, PT2, 0x105000 | P | RW | US);
  const v = vm.vcpu;
  v.cr3 = PDPT;
  v.cr4 |= Cr4.PAE;
  v.efer |= Efer.NXE;
  v.cr0 |= Cr0.PE | Cr0.PG | Cr0.WP;
  assert.equal(v.loadPdptes(PDPT), true);
  // What syncOut gives the real CPU before the first activation (paging on the shadows).
  vm.real.cr0 |= Cr0.PG | Cr0.WP;
  vm.mmu.activate();
  return vm;
}

/** What the real CPU translates `gva` to through the active PAE shadow, from its own PDPTE registers. */
function shadowOf(vm: TrapVm, gva: number): { hpa: number; writable: boolean; user: boolean; executable: boolean } | null {
  const rec = new WalkRecord();
  walkPae(vm.hostMem, vm.real.pdpte, (vm.real.efer & Efer.NXE) !== 0, gva, rec);
  return rec.present ? { hpa: rec.physical, writable: rec.writable, user: rec.user, executable: rec.executable } : null;
}

function assertSound(vm: TrapVm): void {
  assert.deepEqual(vm.checkShadows(), []);
}

describe('shadow MMU, PAE guests', () => {
  let vm: TrapVm;
  beforeEach(() => {
    vm = guest();
  });

  it('activation: a shadow PDPT in the real CR3, the real CPU in PAE mode with NXE, its PDPTE registers loaded', () => {
    const root = vm.mmu.active!;
    assert.equal(root.role, ShadowRole.PDPT);
    assert.equal(vm.real.cr3 >>> 12, root.frame);
    assert.equal(vm.real.cr4 & Cr4.PAE, Cr4.PAE);
    assert.equal(vm.real.efer & Efer.NXE, Efer.NXE);
    assert.equal(vm.real.pdpte[0]! >>> 12, root.children![0]!.frame, 'PDPTE 0 names the shadow of the guest directory');
    assert.equal(vm.real.pdpte[0]! & 0xfff, P, 'P only: no reserved bit');
    assert.equal(vm.real.pdpte[2], 0, 'PDPTE 1 is not present, as the guest says');
    assertSound(vm);
  });

  it('a read fills read-only with A in the guest PTE; a write sets D and makes it writable; high halves untouched', () => {
    assert.equal(shadowOf(vm, USER_RW), null);
    assert.equal(vm.mmu.handlePageFault(USER_RW + 0x123, PfError.U), FaultKind.HIDDEN);
    let s = shadowOf(vm, USER_RW + 0x123)!;
    assert.equal(s.hpa, vm.pmap.hpa(0x100123));
    assert.equal(s.writable, false);
    assert.equal(vm.guestMem.read32(PT) & (Pte.A | Pte.D), Pte.A);
    assert.equal(vm.guestMem.read32(PD + 8) & Pte.A, Pte.A);
    assert.equal(vm.guestMem.read32(PT + 4), 0);
    assertSound(vm);
    assert.equal(vm.mmu.handlePageFault(USER_RW, PfError.P | PfError.W | PfError.U), FaultKind.HIDDEN);
    s = shadowOf(vm, USER_RW)!;
    assert.equal(s.writable, true);
    assert.equal(vm.guestMem.read32(PT) & (Pte.A | Pte.D), Pte.A | Pte.D);
    assertSound(vm);
  });

  it('NX: XD is carried into the shadow leaf and the shadow PDE; a fetch from an XD page is a true fault with I/D', () => {
    assert.equal(vm.mmu.handlePageFault(USER_XD, PfError.U), FaultKind.HIDDEN);
    assert.equal(shadowOf(vm, USER_XD)!.executable, false, 'the real CPU will refuse a fetch');
    assert.equal(vm.mmu.handlePageFault(USER_XD, PfError.P | PfError.U | PfError.I), FaultKind.TRUE);
    assert.equal(vm.mmu.trueFaultError, PfError.P | PfError.U | PfError.I);
    assert.equal(vm.mmu.handlePageFault(XD_DIR, PfError.U), FaultKind.HIDDEN);
    assert.equal(shadowOf(vm, XD_DIR)!.executable, false, 'XD from the guest PDE');
    assert.equal(shadowOf(vm, USER_RW), null);
    vm.mmu.handlePageFault(USER_RW, PfError.U | PfError.I);
    assert.equal(shadowOf(vm, USER_RW)!.executable, true);
    assertSound(vm);
  });

  it('true faults: reserved bits (P|RSVD), user access to a supervisor page, a user write to a read-only page', () => {
    assert.equal(vm.mmu.handlePageFault(RSVD, PfError.U), FaultKind.TRUE);
    assert.equal(vm.mmu.trueFaultError, PfError.P | PfError.RSVD | PfError.U);
    assert.equal(vm.mmu.handlePageFault(SUPER, PfError.U), FaultKind.TRUE);
    assert.equal(vm.mmu.trueFaultError, PfError.P | PfError.U);
    assert.equal(vm.mmu.handlePageFault(USER_RO, PfError.W | PfError.U), FaultKind.TRUE);
    assert.equal(vm.mmu.trueFaultError, PfError.P | PfError.W | PfError.U);
    assert.equal(vm.guestMem.read32(PT + 4 * 8) & Pte.A, 0, 'a faulting access sets no accessed bit');
    assertSound(vm);
  });

  it('SMAP: a supervisor read of a user page is a true fault with AC=0 and hidden with AC=1; SMEP: a supervisor fetch is true', () => {
    vm.vcpu.cr4 |= Cr4.SMAP | Cr4.SMEP;
    assert.equal(vm.mmu.handlePageFault(USER_RW, 0, 0), FaultKind.TRUE);
    assert.equal(vm.mmu.trueFaultError, PfError.P);
    assert.equal(vm.mmu.handlePageFault(USER_RW, 0, Eflags.AC), FaultKind.HIDDEN);
    assert.equal(vm.mmu.handlePageFault(USER_RW, 0, Eflags.AC, true), FaultKind.TRUE, 'implicit: AC does not help');
    // The shadow now allows the read: a P=1 refusal of it by the hardware can only be an implicit access.
    assert.equal(vm.mmu.handlePageFault(USER_RW, PfError.P, Eflags.AC), FaultKind.TRUE);
    assert.equal(vm.mmu.trueFaultError, PfError.P);
    assert.equal(vm.mmu.handlePageFault(USER_RW, PfError.I, Eflags.AC), FaultKind.TRUE);
    assert.equal(vm.mmu.trueFaultError, PfError.P | PfError.I);
    assertSound(vm);
  });

  it('a 2 MiB guest page is shadowed with 4 KiB entries, each mapping its own frame; A and D land in the guest PDE', () => {
    assert.equal(vm.mmu.handlePageFault(BIG + 0x1234, PfError.W | PfError.U), FaultKind.HIDDEN);
    assert.equal(shadowOf(vm, BIG + 0x1234)!.hpa, vm.pmap.hpa(0x201234));
    assert.equal(vm.mmu.handlePageFault(BIG + 0x1ff000, PfError.U), FaultKind.HIDDEN);
    assert.equal(shadowOf(vm, BIG + 0x1ff000)!.hpa, vm.pmap.hpa(0x3ff000));
    assert.equal(vm.mmu.pagesByRole()[ShadowRole.PAE_LARGE], 1);
    assert.equal(vm.guestMem.read32(PD + 2 * 8) & (Pte.A | Pte.D), Pte.A | Pte.D);
    assertSound(vm);
  });

  it('an entry written in two halves is followed half by half, the half-updated entry included', () => {
    vm.mmu.handlePageFault(USER_RW, PfError.U);
    assert.notEqual(shadowOf(vm, USER_RW), null);
    // High half first (a PAE kernel's set_pte): XD. The shadow entry goes.
    vm.guestMem.write32(PT + 4, XD);
    assert.equal(shadowOf(vm, USER_RW), null);
    assertSound(vm);
    // The access in between sees the half-updated entry: old frame, new XD.
    vm.mmu.handlePageFault(USER_RW, PfError.U);
    assert.equal(shadowOf(vm, USER_RW)!.hpa, vm.pmap.hpa(0x100000));
    assert.equal(shadowOf(vm, USER_RW)!.executable, false);
    assertSound(vm);
    // Low half: a new frame.
    vm.guestMem.write32(PT, 0x106000 | P | RW | US);
    assert.equal(shadowOf(vm, USER_RW), null);
    vm.mmu.handlePageFault(USER_RW, PfError.U);
    assert.equal(shadowOf(vm, USER_RW)!.hpa, vm.pmap.hpa(0x106000));
    assertSound(vm);
    // A write of the high half that only flips bits 5 and 6 (address bits 37-38, not A and D) still counts.
    vm.guestMem.write32(PT + 4, XD | (1 << 5));
    assert.equal(shadowOf(vm, USER_RW), null);
    assert.equal(vm.mmu.handlePageFault(USER_RW, PfError.U), FaultKind.TRUE, 'bit 37 is reserved');
    assert.equal(vm.mmu.trueFaultError, PfError.P | PfError.RSVD | PfError.U);
    assertSound(vm);
  });

  it('guest PAE tables are traced; their mappings are read-only, a write to one is a trace fault', () => {
    w64(vm, PT + 3 * 8, PT | P | RW | Pte.A | Pte.D);
    assert.equal(vm.mmu.handlePageFault(PT_SELF, 0), FaultKind.HIDDEN);
    assert.equal(shadowOf(vm, PT_SELF)!.writable, false);
    assert.equal(vm.mmu.handlePageFault(PT_SELF, PfError.P | PfError.W), FaultKind.TRACE);
    assert.ok(vm.tracer.isTraced(PT >>> 12) && vm.tracer.isTraced(PD >>> 12));
    assert.equal(vm.tracer.isTraced(PDPT >>> 12), false, 'the PDPT is read into registers, not traced');
    assertSound(vm);
  });

  it('the shadow PDPT follows the PDPTE registers, not the PDPT in memory', () => {
    vm.mmu.handlePageFault(USER_RW, PfError.U);
    w64(vm, PD2 + 8, PT2 | P | RW | US); // PD2 maps 0x200000 through PT2
    w64(vm, PDPT, PD2 | P);
    vm.mmu.activate(); // e.g. a CR0 write that loads nothing
    assert.equal(shadowOf(vm, USER_RW)!.hpa, vm.pmap.hpa(0x100000), 'still the old register');
    assertSound(vm);
    assert.equal(vm.vcpu.loadPdptes(PDPT), true); // MOV to CR3
    vm.mmu.activate();
    assert.equal(shadowOf(vm, USER_RW), null);
    vm.mmu.handlePageFault(USER_RW, PfError.U);
    assert.equal(shadowOf(vm, USER_RW)!.hpa, vm.pmap.hpa(0x105000));
    assertSound(vm);
    // Back: the old directory's shadow is a cache hit.
    w64(vm, PDPT, PD | P);
    vm.vcpu.loadPdptes(PDPT);
    const hits = vm.mmu.stats.hits;
    vm.mmu.activate();
    assert.equal(vm.mmu.stats.hits, hits + 1);
    assert.notEqual(shadowOf(vm, USER_RW), null, 'its entries survived');
    assertSound(vm);
  });

  it('NXE is part of the key: after the guest clears NXE, XD is a reserved bit again', () => {
    vm.mmu.handlePageFault(USER_XD, PfError.U);
    vm.vcpu.efer &= ~Efer.NXE;
    vm.mmu.activate();
    assert.equal(vm.mmu.handlePageFault(USER_XD, PfError.U), FaultKind.TRUE);
    assert.equal(vm.mmu.trueFaultError, PfError.P | PfError.RSVD | PfError.U);
    assert.equal(vm.mmu.handlePageFault(USER_RW, PfError.U), FaultKind.HIDDEN);
    assert.equal(vm.mmu.paeDirectories.size, 2, 'one shadow per (directory, NXE)');
    assertSound(vm);
  });

  it('a PDPTE naming a directory above 4 GiB gets no shadow: every access through it is a reserved-bit true fault', () => {
    w64(vm, PDPT + 8, PD | P, 1);
    assert.equal(vm.vcpu.loadPdptes(PDPT), true, 'bit 32 is an address bit (MAXPHYADDR 36)');
    vm.mmu.activate();
    assert.equal(vm.mmu.active!.children![1], null);
    assert.equal(vm.mmu.handlePageFault(0x40000000, PfError.U), FaultKind.TRUE);
    assert.equal(vm.mmu.trueFaultError, PfError.P | PfError.RSVD | PfError.U, 'the directory reads as all ones');
    assertSound(vm);
  });

  it('INVLPG drops the PAE shadow entry', () => {
    vm.mmu.handlePageFault(USER_RW, PfError.U);
    vm.mmu.invalidatePage(USER_RW);
    assert.equal(shadowOf(vm, USER_RW), null);
    assertSound(vm);
  });

  it('switching between PAE, 32-bit paging and paging off changes the real CPU mode with the shadows', () => {
    vm.mmu.handlePageFault(USER_RW, PfError.U);
    vm.vcpu.cr0 &= ~Cr0.PG;
    vm.mmu.activate();
    assert.equal(vm.real.cr4 & Cr4.PAE, 0);
    assert.equal(vm.mmu.active!.role, ShadowRole.PHYS_DIRECTORY);
    assertSound(vm);
    vm.vcpu.cr0 |= Cr0.PG;
    vm.vcpu.loadPdptes(PDPT);
    vm.mmu.activate();
    assert.equal(vm.real.cr4 & Cr4.PAE, Cr4.PAE);
    assert.notEqual(shadowOf(vm, USER_RW), null);
    assertSound(vm);
  });

  it('the smallest budget: PAE shadows are evicted (never the PDPT or its directories) and rebuilt', () => {
    const small = guest(8);
    for (let k = 0; k < 12; k++) {
      const t = 0x20000 + k * 0x1000;
      w64(small, t, (0x110000 + k * 0x1000) | P | RW | US);
      w64(small, PD + (8 + k) * 8, t | P | RW | US);
      assert.equal(small.mmu.handlePageFault((8 + k) * 0x200000, PfError.U), FaultKind.HIDDEN);
      assert.ok(small.mmu.pagesInUse <= 8);
      assertSound(small);
    }
    assert.ok(small.mmu.stats.evictions >= 4, `${small.mmu.stats.evictions} evictions`);
    assert.equal(small.mmu.active!.role, ShadowRole.PDPT);
    assert.equal(small.mmu.handlePageFault(8 * 0x200000, PfError.U), FaultKind.HIDDEN, 'the oldest again');
    assert.ok(small.mmu.stats.rebuilds >= 1);
    assertSound(small);
  });
});

describe('VMM paging of frames mapped by PAE shadows', () => {
  it('a page-out parks the PAE entries (keeping XD), a page-in points them at the new frame', () => {
    const vm = guest();
    vm.mmu.handlePageFault(USER_XD, PfError.U);
    vm.mmu.handlePageFault(USER_RW, PfError.U);
    vm.pager.pageOut(0x102);
    assert.equal(shadowOf(vm, USER_XD), null);
    assert.equal(vm.mmu.parked.of(0x102).length, 1);
    assertSound(vm);
    assert.equal(vm.mmu.handlePageFault(USER_XD, PfError.U), FaultKind.HIDDEN);
    assert.equal(vm.mmu.lastFaultPagedIn, true);
    const s = shadowOf(vm, USER_XD)!;
    assert.equal(s.hpa, vm.pmap.hpa(0x102000));
    assert.equal(s.executable, false);
    assertSound(vm);
  });
});

describe('the audit finds what is wrong in PAE shadows', () => {
  function leafAddress(vm: TrapVm, gva: number): number {
    const rec = new WalkRecord();
    walkPae(vm.hostMem, vm.real.pdpte, true, gva, rec);
    return rec.pteAddr;
  }

  it('a shadow entry that lost its XD', () => {
    const vm = guest();
    vm.mmu.handlePageFault(USER_XD, PfError.U);
    vm.hostMem.write32(leafAddress(vm, USER_XD) + 4, 0);
    assert.match(vm.checkShadows().join('\n'), /high half 0x0, expected 0x80000000/);
  });

  it('a shadow PDPTE that does not follow the guest PDPTE register', () => {
    const vm = guest();
    vm.vcpu.pdpte[2] = PD2 | P;
    assert.match(vm.checkShadows().join('\n'), /shadow PDPTE 1/);
  });

  it('a guest entry with a reserved bit behind a present shadow (a missed trace)', () => {
    const vm = guest();
    vm.mmu.handlePageFault(USER_RW, PfError.U);
    vm.guestMem.traced[PT >>> 12] = 0;
    vm.guestMem.write32(PT + 4, 1 << 12);
    assert.match(vm.checkShadows().join('\n'), /reserved bits/);
  });
});
