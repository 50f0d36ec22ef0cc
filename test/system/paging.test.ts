/**
 * Paging as the hardware does it (Intel SDM vol. 3, chapter 4, 32-bit paging): the access-rights
 * matrix of U/S and R/W over both levels, CPL and CR0.WP (4.6); page-fault error codes and CR2
 * (4.7); restarting the faulting instruction; accessed and dirty bits (4.8); 4 MiB pages
 * (CR4.PSE, 4.3); and TLB behaviour — stale translations until INVLPG or a CR3 load, global
 * pages (CR4.PGE) surviving CR3 loads but not INVLPG (4.10.4).
 * Every expected value below comes from those sections, never from the emulator.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cr0, Cr4 } from '../../src/hw/x86/control-registers.ts';
import { PfError, Pte } from '../../src/hw/x86/paging.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { Machine, PT_TARGET, STACK0_TOP, Sel, TARGET_LIN, TARGET_PHYS, TARGET_PHYS2, symbol } from './machine.ts';

type AccessKind = 'read' | 'write' | 'fetch';

const DATA_VALUE = 0xcafe1234;
const WRITE_VALUE = 0x600df00d;
const FETCH_MARK = 0xf00d;
const DATA_LIN = TARGET_LIN + 0x200;
const FETCH_LIN = TARGET_LIN + 0x100;

/** The access under test is the instruction at label `access`. */
const PROGRAMS: Record<AccessKind, string> = {
  read: `
    xor %eax, %eax
access:
    mov TARGET_LIN + 0x200, %eax
    out %al, $DONE_PORT`,
  write: `
access:
    movl $${WRITE_VALUE}, TARGET_LIN + 0x200
    out %al, $DONE_PORT`,
  fetch: `
    mov $TARGET_LIN + 0x100, %ecx
access:
    jmp *%ecx`,
};

/** Code in the target page: proves the fetch happened and ends the test. */
const TARGET_CODE = `
    mov $${FETCH_MARK}, %ebx
    out %al, $DONE_PORT`;

const ALL = Pte.P | Pte.RW | Pte.US;

function bit(on: boolean, b: number): number {
  return on ? b : 0;
}

/** A machine at `cpl` with paging on and the target page holding data and code. */
function pagingMachine(cpl: number, cr0 = 0, cr4 = 0): Machine {
  const m = new Machine({ cpl, paging: true, cr0, cr4 });
  m.load(TARGET_CODE, FETCH_LIN, TARGET_PHYS + 0x100);
  m.w32(TARGET_PHYS + 0x200, DATA_VALUE);
  m.w32(TARGET_PHYS2 + 0x200, 0xbbbb0002);
  return m;
}

/** Asserts the access completed with its architectural effect. */
function assertCompleted(m: Machine, access: AccessKind, what: string): void {
  if (access === 'read') assert.equal(m.eax, DATA_VALUE, `${what}: read value`);
  else if (access === 'write') assert.equal(m.r32(TARGET_PHYS + 0x200), WRITE_VALUE, `${what}: written value`);
  else assert.equal(m.reg(3), FETCH_MARK, `${what}: fetched code ran`);
}

/**
 * SDM vol. 3, 4.8: A is set in every entry used for the translation; D only in the entry that
 * maps the page (the PTE here), only on a write. Nothing else in the entries changes.
 */
function assertAccessedDirty(m: Machine, pde: number, pte: number, write: boolean, what: string): void {
  assert.equal(m.pde(TARGET_LIN) >>> 0, (pde | Pte.A) >>> 0, `${what}: PDE gets A only (bit 6 of a non-leaf PDE is not D)`);
  assert.equal(m.pte(TARGET_LIN) >>> 0, (pte | Pte.A | bit(write, Pte.D)) >>> 0, `${what}: PTE gets A${write ? ' and D' : ''}`);
}

/**
 * The access rights of SDM vol. 3, 4.6.1 (32-bit paging, no SMEP/SMAP/NX): CPL 3 is a user-mode
 * access, CPL 0-2 supervisor. User accesses need U/S=1 at both levels, writes also R/W=1 at both;
 * supervisor reads and fetches are always allowed; supervisor writes need R/W=1 at both levels
 * only when CR0.WP=1. Returns the #PF error code (4.7: P=1 protection, W/R, U/S) or null.
 */
function expectedError(cpl: number, wp: boolean, access: AccessKind, pdeUs: boolean, pdeRw: boolean, pteUs: boolean, pteRw: boolean): number | null {
  const user = cpl === 3;
  const us = pdeUs && pteUs;
  const rw = pdeRw && pteRw;
  const write = access === 'write';
  const allowed = user ? us && (!write || rw) : !write || rw || !wp;
  if (allowed) return null;
  return PfError.P | bit(write, PfError.W) | bit(user, PfError.U);
}

describe('paging permission matrix (SDM vol. 3, 4.6 and 4.7)', () => {
  for (const cpl of [0, 1, 2, 3]) {
    for (const wp of [false, true]) {
      for (const access of ['read', 'write', 'fetch'] as const) {
        it(`CPL ${cpl}, CR0.WP=${wp ? 1 : 0}, ${access}: all 16 U/S and R/W combinations`, () => {
          for (let combo = 0; combo < 16; combo++) {
            const pdeUs = (combo & 1) !== 0;
            const pdeRw = (combo & 2) !== 0;
            const pteUs = (combo & 4) !== 0;
            const pteRw = (combo & 8) !== 0;
            const what = `PDE U/S=${+pdeUs} R/W=${+pdeRw}, PTE U/S=${+pteUs} R/W=${+pteRw}`;
            const m = pagingMachine(cpl, wp ? Cr0.WP : 0);
            const a = m.load(PROGRAMS[access]);
            const pde = PT_TARGET | Pte.P | bit(pdeRw, Pte.RW) | bit(pdeUs, Pte.US);
            const pte = TARGET_PHYS | Pte.P | bit(pteRw, Pte.RW) | bit(pteUs, Pte.US);
            m.setPde(TARGET_LIN, pde);
            m.setPte(TARGET_LIN, pte);
            const lin = access === 'fetch' ? FETCH_LIN : DATA_LIN;
            const err = expectedError(cpl, wp, access, pdeUs, pdeRw, pteUs, pteRw);
            if (err === null) {
              m.runToDone();
              assertCompleted(m, access, what);
              assertAccessedDirty(m, pde, pte, access === 'write', what);
              continue;
            }
            const f = m.runToEvent();
            assert.equal(f.vector, Vector.PF, `${what}: #PF`);
            assert.equal(f.errorCode, err, `${what}: error code`);
            assert.equal(m.cpu.cr2 >>> 0, lin, `${what}: CR2 is the faulting linear address`);
            // A fault: EIP of the instruction that faulted (for a fetch, the target instruction).
            assert.equal(f.eip, access === 'fetch' ? FETCH_LIN : symbol(a, 'access'), `${what}: pushed EIP`);
            assert.equal(f.cs, [Sel.CODE0, Sel.CODE1, Sel.CODE2, Sel.CODE3][cpl], `${what}: pushed CS`);
            assert.equal(m.pte(TARGET_LIN) & Pte.D, 0, `${what}: a faulting write does not set D`);
            if (access === 'read') assert.equal(m.eax, 0, `${what}: destination untouched`);
            if (access === 'write') assert.equal(m.r32(TARGET_PHYS + 0x200), DATA_VALUE, `${what}: memory untouched`);
            // The handler grants the access and IRETs: the instruction restarts and completes.
            m.setPde(TARGET_LIN, m.pde(TARGET_LIN) | ALL);
            m.setPte(TARGET_LIN, m.pte(TARGET_LIN) | ALL);
            m.runToDone();
            assertCompleted(m, access, `${what}, restarted`);
            assertAccessedDirty(m, pde | ALL, pte | ALL, access === 'write', `${what}, restarted`);
          }
        });
      }
    }
  }
});

describe('not-present entries (SDM vol. 3, 4.7: P=0 in the error code)', () => {
  for (const level of ['PDE', 'PTE'] as const) {
    for (const cpl of [0, 3]) {
      for (const access of ['read', 'write', 'fetch'] as const) {
        it(`${level} not present, CPL ${cpl}, ${access}`, () => {
          const m = pagingMachine(cpl);
          const a = m.load(PROGRAMS[access]);
          const pde = PT_TARGET | ALL;
          const pte = TARGET_PHYS | ALL;
          m.setPde(TARGET_LIN, level === 'PDE' ? pde & ~Pte.P : pde);
          m.setPte(TARGET_LIN, level === 'PTE' ? pte & ~Pte.P : pte);
          const f = m.runToEvent();
          assert.equal(f.vector, Vector.PF);
          assert.equal(f.errorCode, bit(access === 'write', PfError.W) | bit(cpl === 3, PfError.U));
          assert.equal(m.cpu.cr2 >>> 0, access === 'fetch' ? FETCH_LIN : DATA_LIN);
          assert.equal(f.eip, access === 'fetch' ? FETCH_LIN : symbol(a, 'access'));
          // A PTE behind a not-present PDE is never read, so never marked accessed.
          if (level === 'PDE') assert.equal(m.pte(TARGET_LIN) >>> 0, pte >>> 0);
          // Make it present (a demand-paging handler) and return: the access completes.
          if (level === 'PDE') m.setPde(TARGET_LIN, pde);
          else m.setPte(TARGET_LIN, pte);
          m.runToDone();
          assertCompleted(m, access, 'after the handler made it present');
          assertAccessedDirty(m, pde, pte, access === 'write', 'after the handler made it present');
        });
      }
    }
  }
});

describe('4 MiB pages (CR4.PSE, SDM vol. 3, 4.3 and 4.8)', () => {
  const BIG = 0x00c00000;

  it('a PDE with PS=1 maps 4 MiB directly; A and D are set in that PDE', () => {
    const m = pagingMachine(3, 0, Cr4.PSE);
    const pde = 0x00000000 | ALL | Pte.PS;
    m.setPde(BIG, pde);
    m.load(`
      mov ${BIG + TARGET_PHYS + 0x200}, %eax
      mov %eax, %esi
      movl $${WRITE_VALUE}, ${BIG + TARGET_PHYS + 0x204}
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.esi, DATA_VALUE, 'linear 0xc00000 + x is physical x');
    assert.equal(m.r32(TARGET_PHYS + 0x204), WRITE_VALUE);
    // The PDE is the leaf: it gets both A and D (4.8).
    assert.equal(m.pde(BIG) >>> 0, (pde | Pte.A | Pte.D) >>> 0);
  });

  it('a read through a 4 MiB page sets A but not D', () => {
    const m = pagingMachine(0, 0, Cr4.PSE);
    const pde = ALL | Pte.PS;
    m.setPde(BIG, pde);
    m.load(`
      mov ${BIG + TARGET_PHYS + 0x200}, %eax
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.eax, DATA_VALUE);
    assert.equal(m.pde(BIG) >>> 0, (pde | Pte.A) >>> 0);
  });

  it('U/S of a 4 MiB PDE protects it from CPL 3: #PF(P|U), CR2', () => {
    const m = pagingMachine(3, 0, Cr4.PSE);
    m.setPde(BIG, Pte.P | Pte.RW | Pte.PS);
    const a = m.load(`
    access:
      mov ${BIG + 0x123456}, %eax
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.PF);
    assert.equal(f.errorCode, PfError.P | PfError.U);
    assert.equal(m.cpu.cr2 >>> 0, BIG + 0x123456);
    assert.equal(f.eip, symbol(a, 'access'));
  });

  it('PS is ignored while CR4.PSE=0: the PDE points to a page table (SDM 4.3)', () => {
    for (const pse of [false, true]) {
      const m = pagingMachine(0, 0, pse ? Cr4.PSE : 0);
      m.setPde(TARGET_LIN, PT_TARGET | ALL | Pte.PS);
      m.load(`
        mov TARGET_LIN + 0x200, %eax
        out %al, $DONE_PORT`);
      m.runToDone();
      // With PSE the same PDE maps the 4 MiB frame at PT_TARGET & ~0x3fffff = 0.
      assert.equal(m.eax, pse ? m.r32(0x200) : DATA_VALUE, `PSE=${pse}`);
    }
  });

  it('INVLPG of any address in a 4 MiB page drops the translation for the whole page (4.10.4.1)', () => {
    const m = pagingMachine(0, 0, Cr4.PSE);
    m.setPde(BIG, ALL | Pte.PS);
    const a = m.load(`
      mov ${BIG + 0x1000}, %eax
      mov ${BIG + 0x2000}, %eax
      andl $~1, PAGE_DIR + ${(BIG >>> 22) * 4}
      invlpg ${BIG + 0x1000}
    access:
      mov ${BIG + 0x2000}, %eax
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.PF, 'the other 4 KiB of the same 4 MiB page is no longer cached');
    assert.equal(f.errorCode, 0);
    assert.equal(m.cpu.cr2 >>> 0, BIG + 0x2000);
    assert.equal(f.eip, symbol(a, 'access'));
  });
});

describe('the TLB (SDM vol. 3, 4.10): cached translations until INVLPG or a CR3 load', () => {
  /**
   * Reads the target (filling the TLB), points its PTE at TARGET_PHYS2 with a guest store, then
   * runs `flush` between two more reads. DATA_VALUE is the old frame's word, 0xbbbb0002 the new.
   */
  function remap(options: { pte?: number; cr4?: number; flush: string }): { before: number; after: number } {
    const m = pagingMachine(0, 0, options.cr4 ?? 0);
    const pte = options.pte ?? TARGET_PHYS | ALL;
    m.setPte(TARGET_LIN, pte);
    m.load(`
      mov TARGET_LIN + 0x200, %eax
      movl $${(TARGET_PHYS2 | (pte & 0xfff)) >>> 0}, PT_TARGET
      mov TARGET_LIN + 0x200, %ebx
      ${options.flush}
      mov TARGET_LIN + 0x200, %edx
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.eax, DATA_VALUE);
    return { before: m.ebx, after: m.edx };
  }

  it('a changed PTE is not seen until INVLPG (the old translation stays cached)', () => {
    const r = remap({ flush: 'invlpg TARGET_LIN' });
    assert.equal(r.before, DATA_VALUE, 'stale translation before INVLPG');
    assert.equal(r.after, 0xbbbb0002, 'new translation after INVLPG');
  });

  it('a CR3 load drops non-global translations', () => {
    const r = remap({ flush: 'mov %cr3, %ecx; mov %ecx, %cr3' });
    assert.equal(r.before, DATA_VALUE);
    assert.equal(r.after, 0xbbbb0002);
  });

  it('with CR4.PGE=1 a global page survives a CR3 load (4.10.4.1)', () => {
    const r = remap({ pte: TARGET_PHYS | ALL | Pte.G, cr4: Cr4.PGE, flush: 'mov %cr3, %ecx; mov %ecx, %cr3' });
    assert.equal(r.before, DATA_VALUE);
    assert.equal(r.after, DATA_VALUE, 'global translation kept across MOV to CR3');
  });

  it('with CR4.PGE=1 a global page is still dropped by INVLPG', () => {
    const r = remap({ pte: TARGET_PHYS | ALL | Pte.G, cr4: Cr4.PGE, flush: 'invlpg TARGET_LIN' });
    assert.equal(r.after, 0xbbbb0002);
  });

  it('G is ignored while CR4.PGE=0: a CR3 load drops the translation', () => {
    const r = remap({ pte: TARGET_PHYS | ALL | Pte.G, flush: 'mov %cr3, %ecx; mov %ecx, %cr3' });
    assert.equal(r.after, 0xbbbb0002);
  });

  it('clearing CR4.PGE drops global translations too (4.10.4.1)', () => {
    const r = remap({ pte: TARGET_PHYS | ALL | Pte.G, cr4: Cr4.PGE, flush: 'mov %cr4, %ecx; and $~0x80, %ecx; mov %ecx, %cr4' });
    assert.equal(r.after, 0xbbbb0002);
  });

  it('a cached writable, dirty translation lets writes through a newly read-only PTE until INVLPG', () => {
    const m = pagingMachine(0, Cr0.WP);
    const a = m.load(`
      movl $1, TARGET_LIN + 0x200
      andl $~2, PT_TARGET
      movl $2, TARGET_LIN + 0x200
      mov TARGET_LIN + 0x200, %esi
      invlpg TARGET_LIN
    access:
      movl $3, TARGET_LIN + 0x200
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(m.esi, 2, 'the second write went through the cached writable translation');
    assert.equal(f.vector, Vector.PF, 'after INVLPG the read-only PTE is seen (CR0.WP=1)');
    assert.equal(f.errorCode, PfError.P | PfError.W);
    assert.equal(f.eip, symbol(a, 'access'));
    assert.equal(m.r32(TARGET_PHYS + 0x200), 2);
  });
});

describe('implicit supervisor accesses (SDM vol. 3, 4.6: descriptor tables, TSS, ring-0 stack)', () => {
  it('CPL 3 code works with the GDT, IDT, TSS, handlers and ring-0 stack on supervisor pages', () => {
    const m = pagingMachine(3);
    for (const page of [0, 1, 2, 3, 4, 7]) m.setPte(page << 12, (page << 12) | Pte.P | Pte.RW);
    const a = m.load(`
      mov $SEL_DATA3, %ax
      mov %ax, %ds
      int $0x40
      mov %ds, %ebx
    access:
      mov GDT_BASE, %eax
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, 0x40, 'INT from CPL 3 read the IDT and GDT and pushed on the ring-0 stack');
    assert.equal(f.frameAddress, STACK0_TOP - 20);
    // The same pages are not accessible to CPL 3 code itself.
    const g = m.runToEvent();
    assert.equal(g.vector, Vector.PF);
    assert.equal(g.errorCode, PfError.P | PfError.U);
    assert.equal(g.eip, symbol(a, 'access'));
  });
});

describe('accesses that cross a page boundary (SDM vol. 3, 4.7: CR2 is the faulting address)', () => {
  it('a dword read whose second page is not present: CR2 is the first byte of that page', () => {
    const m = pagingMachine(3);
    m.setPte(TARGET_LIN + 0x1000, 0);
    const a = m.load(`
      xor %eax, %eax
    access:
      mov TARGET_LIN + 0xffe, %eax
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.PF);
    assert.equal(f.errorCode, PfError.U);
    assert.equal(m.cpu.cr2 >>> 0, TARGET_LIN + 0x1000);
    assert.equal(f.eip, symbol(a, 'access'));
    assert.equal(m.eax, 0);
    m.w32(TARGET_PHYS + 0xffc, 0x2211ffff);
    m.w32(TARGET_PHYS2, 0x66554433);
    m.setPte(TARGET_LIN + 0x1000, TARGET_PHYS2 | ALL);
    m.runToDone();
    assert.equal(m.eax, 0x44332211, 'the restarted read joins both pages');
  });

  it('a dword write into a read-only second page: #PF(P|W|U) and neither page is written', () => {
    const m = pagingMachine(3);
    m.setPte(TARGET_LIN + 0x1000, TARGET_PHYS2 | Pte.P | Pte.US);
    m.w32(TARGET_PHYS + 0xffc, 0x11111111);
    m.w32(TARGET_PHYS2, 0x22222222);
    const a = m.load(`
    access:
      movl $0xaabbccdd, TARGET_LIN + 0xffe
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.PF);
    assert.equal(f.errorCode, PfError.P | PfError.W | PfError.U);
    assert.equal(m.cpu.cr2 >>> 0, TARGET_LIN + 0x1000);
    assert.equal(f.eip, symbol(a, 'access'));
    assert.equal(m.r32(TARGET_PHYS + 0xffc), 0x11111111);
    assert.equal(m.r32(TARGET_PHYS2), 0x22222222);
  });
});

describe('restartable faults in the middle of things (SDM vol. 3, 6.5; vol. 2, REP)', () => {
  it('an instruction fetch running into a not-present page: CR2 = that page, EIP = the instruction', () => {
    const m = pagingMachine(3);
    m.setPte(TARGET_LIN + 0x1000, 0);
    // mov $0x12345678, %eax (5 bytes) starting 2 bytes before the page end, then DONE; its tail
    // lands in TARGET_PHYS2, the frame after TARGET_PHYS, where the handler will map the page.
    m.load(`
      mov $0x12345678, %eax
      out %al, $DONE_PORT`, TARGET_LIN + 0xffe, TARGET_PHYS + 0xffe);
    assert.equal(TARGET_PHYS2, TARGET_PHYS + 0x1000);
    m.load(`
      mov $${TARGET_LIN + 0xffe}, %ecx
      jmp *%ecx`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.PF);
    assert.equal(f.errorCode, PfError.U);
    assert.equal(m.cpu.cr2 >>> 0, TARGET_LIN + 0x1000);
    assert.equal(f.eip, TARGET_LIN + 0xffe);
    m.setPte(TARGET_LIN + 0x1000, TARGET_PHYS2 | ALL);
    m.runToDone();
    assert.equal(m.eax, 0x12345678);
  });

  it('REP MOVSB faulting on its destination: ECX/ESI/EDI show the progress, EIP is the REP MOVSB', () => {
    const m = pagingMachine(3);
    m.setPte(TARGET_LIN + 0x1000, 0);
    for (let k = 0; k < 0x2000; k += 4) m.w32(0x100000 + k, 0x01010101 * ((k >>> 12) + 1));
    const a = m.load(`
      cld
      mov $0x100000, %esi
      mov $TARGET_LIN, %edi
      mov $0x2000, %ecx
    access:
      rep movsb
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.PF);
    assert.equal(f.errorCode, PfError.W | PfError.U);
    assert.equal(m.cpu.cr2 >>> 0, TARGET_LIN + 0x1000);
    assert.equal(f.eip, symbol(a, 'access'));
    assert.deepEqual([m.ecx, m.esi, m.edi], [0x1000, 0x101000, TARGET_LIN + 0x1000]);
    assert.equal(m.r32(TARGET_PHYS + 0xffc), 0x01010101, 'the first page was copied');
    m.setPte(TARGET_LIN + 0x1000, TARGET_PHYS2 | ALL);
    m.runToDone();
    assert.deepEqual([m.ecx, m.esi, m.edi], [0, 0x102000, TARGET_LIN + 0x2000]);
    assert.equal(m.r32(TARGET_PHYS2 + 0xffc), 0x02020202);
  });
});
