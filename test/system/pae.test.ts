/**
 * PAE paging, NX, SMEP and SMAP as the hardware does them (Intel SDM vol. 3): the PAE access-rights
 * matrix (4.6.1, the same rules as 32-bit paging over 64-bit entries), execute-disable with
 * IA32_EFER.NXE and the I/D bit (4.6.2, 4.7), reserved bits and RSVD faults (4.4.2, 4.7), 2 MiB
 * pages, physical addresses above 4 GiB, the PDPTE registers and the #GP of a MOV to CR3/CR0 with
 * a bad PDPTE (4.4.1), and the SMEP/SMAP matrix at CPL 0 and 3 with EFLAGS.AC 0 and 1 in both
 * paging modes, implicit supervisor accesses, STAC and CLAC.
 * Every expected value below comes from those sections, never from the emulator.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cr0, Cr4, Efer } from '../../src/hw/x86/control-registers.ts';
import { SegAttr, SysType, encodeDescriptor } from '../../src/hw/x86/descriptors.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { PfError, Pte } from '../../src/hw/x86/paging.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { CODE, Machine, PAGE_DIR, PAE_PD, PT_TARGET, Sel, TARGET_LIN, TARGET_PHYS, TARGET_PHYS2, symbol } from './machine.ts';
import { findCpuModel } from '../../src/hw/cpu/cpu-model.ts';

/** SMEP, SMAP and NX are the max model's. */
const MAX = findCpuModel('max')!;

type AccessKind = 'read' | 'write' | 'fetch';

const DATA_VALUE = 0xcafe1234;
const WRITE_VALUE = 0x600df00d;
const FETCH_MARK = 0xf00d;
const DATA_LIN = TARGET_LIN + 0x200;
const FETCH_LIN = TARGET_LIN + 0x100;
const ALL = Pte.P | Pte.RW | Pte.US;
const XD = 1 << 31;

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

const TARGET_CODE = `
    mov $${FETCH_MARK}, %ebx
    out %al, $DONE_PORT`;

const bit = (on: boolean, b: number) => (on ? b : 0);

/** User pages of the identity map at CPL 3 (code, run stack, data); everything else supervisor. */
function cpl3UserPage(page: number): boolean {
  return (page >= CODE >>> 12 && page < (CODE >>> 12) + 16) || page === 0xa || page === 0xb;
}

interface Setup {
  cpl: number;
  pae: boolean;
  cr0?: number;
  cr4?: number;
  efer?: number;
  eflags?: number;
  /** Identity map U/S: 'all' user (the default machine), or 'exact' (supervisor except what CPL 3 code needs). */
  map?: 'all' | 'exact';
}

function machine(s: Setup): Machine {
  const m = new Machine({ cpuModel: MAX,
    cpl: s.cpl,
    paging: true,
    pae: s.pae,
    cr0: s.cr0 ?? 0,
    cr4: (s.cr4 ?? 0) | (s.pae ? Cr4.PAE : 0),
    efer: s.efer ?? 0,
    eflags: s.eflags ?? 0,
    ...(s.map === 'exact' ? { userPage: s.cpl === 3 ? cpl3UserPage : () => false } : {}),
  });
  m.load(TARGET_CODE, FETCH_LIN, TARGET_PHYS + 0x100);
  m.w32(TARGET_PHYS + 0x200, DATA_VALUE);
  return m;
}

function assertCompleted(m: Machine, access: AccessKind, what: string): void {
  if (access === 'read') assert.equal(m.eax, DATA_VALUE, `${what}: read value`);
  else if (access === 'write') assert.equal(m.r32(TARGET_PHYS + 0x200), WRITE_VALUE, `${what}: written value`);
  else assert.equal(m.reg(3), FETCH_MARK, `${what}: fetched code ran`);
}

/** Runs `access` on a machine set up by the caller; asserts the #PF error code `err`, or completion when null. */
function expectOutcome(m: Machine, access: AccessKind, err: number | null, what: string): void {
  const a = m.load(PROGRAMS[access]);
  if (err === null) {
    m.runToDone();
    assertCompleted(m, access, what);
    return;
  }
  const f = m.runToEvent();
  assert.equal(f.vector, Vector.PF, `${what}: #PF`);
  assert.equal(f.errorCode, err, `${what}: error code`);
  assert.equal(m.cpu.cr2 >>> 0, access === 'fetch' ? FETCH_LIN : DATA_LIN, `${what}: CR2`);
  assert.equal(f.eip, access === 'fetch' ? FETCH_LIN : symbol(a, 'access'), `${what}: pushed EIP`);
  if (access === 'write') assert.equal(m.r32(TARGET_PHYS + 0x200), DATA_VALUE, `${what}: memory untouched`);
}

describe('PAE paging: the access-rights matrix over 64-bit entries (SDM vol. 3, 4.4.2, 4.6.1)', () => {
  for (const cpl of [0, 3]) {
    for (const wp of [false, true]) {
      for (const access of ['read', 'write', 'fetch'] as const) {
        it(`CPL ${cpl}, CR0.WP=${+wp}, ${access}: all 16 U/S and R/W combinations of PDE and PTE`, () => {
          for (let combo = 0; combo < 16; combo++) {
            const pdeUs = (combo & 1) !== 0;
            const pdeRw = (combo & 2) !== 0;
            const pteUs = (combo & 4) !== 0;
            const pteRw = (combo & 8) !== 0;
            const what = `PDE U/S=${+pdeUs} R/W=${+pdeRw}, PTE U/S=${+pteUs} R/W=${+pteRw}`;
            const m = machine({ cpl, pae: true, cr0: wp ? Cr0.WP : 0 });
            m.setPde(TARGET_LIN, PT_TARGET | Pte.P | bit(pdeRw, Pte.RW) | bit(pdeUs, Pte.US));
            m.setPte(TARGET_LIN, TARGET_PHYS | Pte.P | bit(pteRw, Pte.RW) | bit(pteUs, Pte.US));
            const user = cpl === 3;
            const write = access === 'write';
            const us = pdeUs && pteUs;
            const rw = pdeRw && pteRw;
            const allowed = user ? us && (!write || rw) : !write || rw || !wp;
            expectOutcome(m, access, allowed ? null : PfError.P | bit(write, PfError.W) | bit(user, PfError.U), what);
            if (allowed) {
              // SDM 4.8: A in both entries' low halves, D in the PTE on a write; the high halves untouched.
              assert.equal(m.pde(TARGET_LIN) & Pte.A, Pte.A, `${what}: PDE accessed`);
              assert.equal(m.pte(TARGET_LIN) & (Pte.A | Pte.D), Pte.A | bit(write, Pte.D), `${what}: PTE A/D`);
              assert.equal(m.r32(m.pteAddress(TARGET_LIN) + 4), 0, `${what}: PTE high half`);
            }
          }
        });
      }
    }
  }
});

describe('execute-disable (SDM vol. 3, 4.6.2; 4.7 I/D)', () => {
  for (const cpl of [0, 3]) {
    it(`CPL ${cpl}: XD in the PDE or the PTE forbids fetches only; #PF has I/D=1 and P=1`, () => {
      for (const where of ['PDE', 'PTE'] as const) {
        const m = machine({ cpl, pae: true, efer: Efer.NXE });
        if (where === 'PDE') m.setPdeHi(TARGET_LIN, XD);
        else m.setPteHi(TARGET_LIN, XD);
        expectOutcome(m, 'fetch', PfError.P | PfError.I | bit(cpl === 3, PfError.U), `XD in the ${where}`);
        const r = machine({ cpl, pae: true, efer: Efer.NXE });
        if (where === 'PDE') r.setPdeHi(TARGET_LIN, XD);
        else r.setPteHi(TARGET_LIN, XD);
        expectOutcome(r, 'read', null, `read of an XD page (${where})`);
      }
    });
  }

  it('with NXE=1 a fetch from a not-present page has I/D=1 (PAE paging)', () => {
    const m = machine({ cpl: 3, pae: true, efer: Efer.NXE });
    m.setPte(TARGET_LIN, 0);
    expectOutcome(m, 'fetch', PfError.I | PfError.U, 'not present');
  });

  it('with NXE=0 bit 63 is reserved: RSVD fault, and a fetch has I/D=0', () => {
    for (const access of ['read', 'fetch'] as const) {
      const m = machine({ cpl: 3, pae: true });
      m.setPteHi(TARGET_LIN, XD);
      expectOutcome(m, access, PfError.P | PfError.RSVD | PfError.U, `${access}, NXE=0`);
    }
  });

  it('32-bit paging has no XD: with NXE=1 a fetch fault still has I/D=0', () => {
    const m = machine({ cpl: 3, pae: false, efer: Efer.NXE });
    m.setPte(TARGET_LIN, 0);
    expectOutcome(m, 'fetch', PfError.U, 'not present, 32-bit paging');
  });
});

describe('reserved bits and physical addresses above 4 GiB (MAXPHYADDR = 36; SDM vol. 3, 4.4.2)', () => {
  it('PTE bits 62:36 are reserved: P=1 RSVD=1, nothing written, no A bit', () => {
    for (const b of [36 - 32, 51 - 32, 62 - 32]) {
      const m = machine({ cpl: 0, pae: true });
      m.setPteHi(TARGET_LIN, 1 << b);
      expectOutcome(m, 'write', PfError.P | PfError.RSVD | PfError.W, `bit ${b + 32}`);
      assert.equal(m.pte(TARGET_LIN) & Pte.A, 0, 'a faulting walk sets no accessed bit');
    }
  });

  it('a reserved bit in the PDE faults before the PTE is read', () => {
    const m = machine({ cpl: 3, pae: true });
    m.setPdeHi(TARGET_LIN, 1 << 10);
    expectOutcome(m, 'read', PfError.P | PfError.RSVD | PfError.U, 'PDE bit 42');
  });

  it('a frame at 4 GiB (PTE bit 32) is a legal address where nothing decodes: reads all ones, writes vanish', () => {
    const m = machine({ cpl: 0, pae: true });
    m.setPteHi(TARGET_LIN, 1);
    m.load(`
      movl $0x12345678, TARGET_LIN + 0x200
      mov TARGET_LIN + 0x200, %eax
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.eax, 0xffffffff);
    assert.equal(m.r32(TARGET_PHYS + 0x200), DATA_VALUE, 'no aliasing onto the low 4 GiB');
    assert.equal(m.pte(TARGET_LIN) & (Pte.A | Pte.D), Pte.A | Pte.D);
  });
});

describe('2 MiB pages (PAE PDE.PS; SDM vol. 3, 4.4.2 and 4.8)', () => {
  const BIG = 0x00c00000;

  it('a PDE with PS=1 maps 2 MiB whatever CR4.PSE; A and D are set in that PDE', () => {
    const m = machine({ cpl: 3, pae: true });
    const pde = 0x00200000 | ALL | Pte.PS;
    m.setPde(BIG, pde);
    m.load(`
      mov ${BIG + TARGET_PHYS - 0x200000 + 0x200}, %eax
      mov %eax, %esi
      movl $${WRITE_VALUE}, ${BIG + TARGET_PHYS - 0x200000 + 0x204}
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.esi, DATA_VALUE);
    assert.equal(m.r32(TARGET_PHYS + 0x204), WRITE_VALUE);
    assert.equal(m.pde(BIG) >>> 0, (pde | Pte.A | Pte.D) >>> 0);
  });

  it('bits 20:13 of a 2 MiB PDE are reserved (bit 12 is PAT)', () => {
    const m = machine({ cpl: 0, pae: true });
    m.setPde(BIG, 0x00200000 | ALL | Pte.PS | (1 << 13));
    m.load(`
    access:
      mov ${BIG}, %eax
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.errorCode, PfError.P | PfError.RSVD);
    const ok = machine({ cpl: 0, pae: true });
    ok.setPde(BIG, 0x00200000 | ALL | Pte.PS | (1 << 12));
    ok.load(`
      mov ${BIG + 0x100200}, %eax
      out %al, $DONE_PORT`);
    ok.runToDone();
    assert.equal(ok.eax, DATA_VALUE, 'PAT set: same frame');
  });
});

describe('the PDPTE registers (SDM vol. 3, 4.4.1)', () => {
  it('MOV to CR3 with a reserved bit in a present PDPTE is #GP(0) and changes nothing', () => {
    for (const [lo, hi] of [
      [0x2000 | Pte.P | Pte.RW, 0],
      [0x2000 | Pte.P | Pte.US, 0],
      [0x2000 | Pte.P | (1 << 5), 0],
      [0x2000 | Pte.P, 1 << 4],
      [0x2000 | Pte.P, XD],
    ] as const) {
      const m = machine({ cpl: 0, pae: true });
      m.w32(0x6000 + 8, lo);
      m.w32(0x6000 + 12, hi);
      m.w32(0x6000, PAE_PD | Pte.P);
      const a = m.load(`
        mov $0x6000, %eax
      insn:
        mov %eax, %cr3
        out %al, $DONE_PORT`);
      const f = m.runToEvent();
      assert.equal(f.vector, Vector.GP, `PDPTE ${hi.toString(16)}:${lo.toString(16)}`);
      assert.equal(f.errorCode, 0);
      assert.equal(f.eip, symbol(a, 'insn'));
      assert.equal(m.cpu.cr3, PAGE_DIR, 'CR3 unchanged');
    }
  });

  it('a not-present PDPTE may hold anything; its gigabyte faults with P=0', () => {
    const m = machine({ cpl: 0, pae: true });
    m.w32(0x6000, PAE_PD | Pte.P);
    m.w32(0x6000 + 8, 0xfffffffe);
    m.w32(0x6000 + 12, -1);
    const a = m.load(`
      mov $0x6000, %eax
      mov %eax, %cr3
    access:
      mov 0x40000000, %eax
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.PF);
    assert.equal(f.errorCode, 0);
    assert.equal(f.eip, symbol(a, 'access'));
  });

  it('enabling paging with a bad PDPTE is #GP(0) and leaves paging off', () => {
    const m = new Machine({ cpuModel: MAX, cpl: 0, pae: true, cr4: Cr4.PAE });
    m.w32(PAGE_DIR + 8, 0x2000 | Pte.P | Pte.RW);
    m.load(`
      mov %cr0, %eax
      or $0x80000000, %eax
    insn:
      mov %eax, %cr0
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.GP);
    assert.equal(m.cpu.cr0 & Cr0.PG, 0);
  });

  it('setting CR4.PAE with paging on loads the PDPTEs: a bad one is #GP(0) and CR4 stays', () => {
    const m = new Machine({ cpuModel: MAX, cpl: 0, paging: true });
    // CR3 (PAGE_DIR, a 32-bit directory) read as a PDPT: entry 0 is PDE 0 (P|RW|US: bits 2:1 reserved).
    m.load(`
      mov %cr4, %eax
      or $0x20, %eax
    insn:
      mov %eax, %cr4
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.GP);
    assert.equal(f.errorCode, 0);
    assert.equal(m.cpu.cr4 & Cr4.PAE, 0);
  });

  it('a global PAE page (PTE.G with CR4.PGE) survives a CR3 load; INVLPG drops it', () => {
    const m = machine({ cpl: 0, pae: true, cr4: Cr4.PGE });
    m.setPte(TARGET_LIN, TARGET_PHYS | ALL | Pte.G);
    m.w32(TARGET_PHYS2 + 0x200, 0xbbbb0002);
    m.load(`
      mov TARGET_LIN + 0x200, %esi
      movl $${TARGET_PHYS2 | ALL | Pte.G}, ${PT_TARGET}
      mov %cr3, %eax
      mov %eax, %cr3
      mov TARGET_LIN + 0x200, %edi
      invlpg TARGET_LIN
      mov TARGET_LIN + 0x200, %ebx
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.esi, DATA_VALUE);
    assert.equal(m.edi, DATA_VALUE, 'the global translation survived the CR3 load');
    assert.equal(m.ebx, 0xbbbb0002, 'INVLPG dropped it');
  });

  it('the walk uses the registers: a PDPT changed in memory counts only after CR3 is reloaded', () => {
    const m = machine({ cpl: 0, pae: true });
    // A second directory mapping TARGET_LIN to TARGET_PHYS2.
    const PD2 = 0x26000;
    for (let a = PD2; a < PD2 + 0x1000; a += 4) m.w32(a, 0);
    m.w32(PD2, m.r32(PAE_PD));
    m.w32(PD2 + 8, m.r32(PAE_PD + 8));
    m.w32(PD2 + ((TARGET_LIN >>> 21) & 0x1ff) * 8, 0x27000 | ALL);
    for (let a = 0x27000; a < 0x28000; a += 4) m.w32(a, 0);
    m.w32(0x27000, TARGET_PHYS2 | ALL);
    m.w32(TARGET_PHYS2 + 0x200, 0xbbbb0002);
    m.load(`
      mov TARGET_LIN + 0x200, %esi
      movl $${PD2 | Pte.P}, PAGE_DIR
      invlpg TARGET_LIN
      mov TARGET_LIN + 0x200, %edi
      mov %cr3, %eax
      mov %eax, %cr3
      mov TARGET_LIN + 0x200, %ebx
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.esi, DATA_VALUE);
    assert.equal(m.edi, DATA_VALUE, 'still the old PDPTE register after INVLPG');
    assert.equal(m.ebx, 0xbbbb0002, 'MOV to CR3 reloaded the PDPTEs');
  });
});

/**
 * SDM vol. 3, 4.6.1, for a target page with R/W=1 everywhere and CR0.WP=1. `userAddr`: U/S=1 at
 * both levels. Returns the #PF error code, or null when allowed.
 */
function smapSmepError(cpl: number, ac: boolean, smep: boolean, smap: boolean, userAddr: boolean, access: AccessKind, pae: boolean, nxe: boolean): number | null {
  const user = cpl === 3;
  const write = access === 'write';
  const fetch = access === 'fetch';
  let allowed: boolean;
  if (user) allowed = userAddr;
  else if (fetch) allowed = !(userAddr && smep);
  else allowed = !(userAddr && smap && !ac);
  if (allowed) return null;
  const id = fetch && (smep || (pae && nxe)) ? PfError.I : 0;
  return PfError.P | bit(write, PfError.W) | bit(user, PfError.U) | id;
}

describe('SMEP and SMAP (SDM vol. 3, 4.6.1): CPL 0 and 3, EFLAGS.AC 0 and 1, 32-bit and PAE paging', () => {
  for (const pae of [false, true]) {
    for (const cpl of [0, 3]) {
      for (const ac of [false, true]) {
        it(`${pae ? 'PAE' : '32-bit'} paging, CPL ${cpl}, AC=${+ac}: SMEP x SMAP x page mode x read/write/fetch`, () => {
          for (let combo = 0; combo < 4; combo++) {
            const smep = (combo & 1) !== 0;
            const smap = (combo & 2) !== 0;
            for (const [pdeUs, pteUs] of [
              [true, true],
              [true, false],
              [false, true],
            ] as const) {
              for (const access of ['read', 'write', 'fetch'] as const) {
                const userAddr = pdeUs && pteUs;
                const what = `SMEP=${+smep} SMAP=${+smap} PDE U/S=${+pdeUs} PTE U/S=${+pteUs} ${access}`;
                const m = machine({ cpl, pae, cr0: Cr0.WP, cr4: bit(smep, Cr4.SMEP) | bit(smap, Cr4.SMAP), eflags: bit(ac, Eflags.AC), map: 'exact' });
                m.setPde(TARGET_LIN, PT_TARGET | Pte.P | Pte.RW | bit(pdeUs, Pte.US));
                m.setPte(TARGET_LIN, TARGET_PHYS | Pte.P | Pte.RW | bit(pteUs, Pte.US));
                expectOutcome(m, access, smapSmepError(cpl, ac, smep, smap, userAddr, access, pae, false), what);
              }
            }
          }
        });
      }
    }
  }

  it('SMAP does not apply to supervisor writes with CR0.WP=0 and AC=1; with AC=0 it does', () => {
    for (const ac of [false, true]) {
      const m = machine({ cpl: 0, pae: true, cr4: Cr4.SMAP, eflags: bit(ac, Eflags.AC), map: 'exact' });
      m.setPte(TARGET_LIN, TARGET_PHYS | Pte.P | Pte.US); // read-only user page
      expectOutcome(m, 'write', ac ? null : PfError.P | PfError.W, `AC=${+ac}`);
    }
  });

  it('STAC and CLAC switch SMAP off and on at CPL 0; #UD at CPL 3', () => {
    const m = machine({ cpl: 0, pae: false, cr4: Cr4.SMAP, map: 'exact' });
    m.setPte(TARGET_LIN, TARGET_PHYS | ALL);
    const a = m.load(`
      stac
      mov TARGET_LIN + 0x200, %esi
      pushf
      pop %edi
      clac
    access:
      mov TARGET_LIN + 0x200, %eax
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(m.esi, DATA_VALUE, 'after STAC the user page reads');
    assert.equal(m.edi & Eflags.AC, Eflags.AC, 'STAC set EFLAGS.AC');
    assert.equal(f.vector, Vector.PF);
    assert.equal(f.errorCode, PfError.P);
    assert.equal(f.eip, symbol(a, 'access'));
    for (const insn of ['stac', 'clac']) {
      const u = machine({ cpl: 3, pae: false });
      const b = u.load(`
      insn:
        ${insn}
        out %al, $DONE_PORT`);
      const g = u.runToEvent();
      assert.equal(g.vector, Vector.UD, `${insn} at CPL 3`);
      assert.equal(g.eip, symbol(b, 'insn'));
    }
  });

  it('implicit supervisor accesses (an LDT on a user page) fault under SMAP even with AC=1; not without SMAP', () => {
    for (const smap of [false, true]) {
      const m = machine({ cpl: 0, pae: true, cr4: bit(smap, Cr4.SMAP), eflags: Eflags.AC, map: 'exact' });
      m.setPte(TARGET_LIN, TARGET_PHYS | ALL);
      // GDT entry 30: an LDT at TARGET_LIN; its descriptor 1: flat data, DPL 0.
      m.setDescriptor(30, TARGET_LIN, 0xf, SegAttr.P | SysType.LDT);
      const [lo, hi] = encodeDescriptor(0, 0xffffffff, SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.DB | SegAttr.G);
      m.w32(TARGET_PHYS + 8, lo);
      m.w32(TARGET_PHYS + 12, hi);
      const a = m.load(`
        mov $0xf0, %ax
        lldt %ax
        mov $0x0c, %ax
      access:
        mov %ax, %es
        mov TARGET_LIN + 0x200, %ebx
        out %al, $DONE_PORT`);
      if (!smap) {
        m.runToDone();
        assert.equal(m.cpu.segSel[0], 0x0c);
        continue;
      }
      const f = m.runToEvent();
      assert.equal(f.vector, Vector.PF, 'the descriptor read is an implicit supervisor access');
      assert.equal(f.errorCode, PfError.P, 'P=1, a read, U/S=0');
      assert.equal(m.cpu.cr2 >>> 0, TARGET_LIN + 8);
      assert.equal(f.eip, symbol(a, 'access'));
      assert.equal(f.cs, Sel.CODE0);
    }
  });
});
