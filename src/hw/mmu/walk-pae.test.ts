/**
 * The PAE walker against hand-built tables. Expected values come from the SDM (vol. 3, 4.4.2
 * tables 4-8 to 4-11 for the entry formats and reserved bits, 4.6 access rights, 4.7 error codes,
 * 4.8 accessed and dirty bits), spelled out here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cr4, Efer } from '../x86/control-registers.ts';
import { PfError, Pte } from '../x86/paging.ts';
import { Access, Rule, WalkRecord, accessFault, setAccessedDirty, walkPae, walkPaging } from './walk.ts';

class Words {
  readonly w = new Map<number, number>();
  read32(pa: number): number {
    return this.w.get(pa) ?? 0;
  }
  write32(pa: number, v: number): void {
    this.w.set(pa, v | 0);
  }
}

const PD = 0x3000;
const PT = 0x4000;
const XD = 1 << 31;
/** Linear 0x40603abc: PDPTE 1, PDE 3, PTE 3. */
const LIN = 0x40603abc;

/** PDPTE 1 -> PD; PDE 3 -> PT; PTE 3 -> frame 0x7000 (plus high halves). */
function tables(pde: number, pte: number, pdeHi = 0, pteHi = 0): { mem: Words; pdpte: Int32Array } {
  const mem = new Words();
  mem.write32(PD + 3 * 8, PT | pde);
  mem.write32(PD + 3 * 8 + 4, pdeHi);
  mem.write32(PT + 3 * 8, 0x7000 | pte);
  mem.write32(PT + 3 * 8 + 4, pteHi);
  const pdpte = new Int32Array(8);
  pdpte[2] = PD | Pte.P;
  return { mem, pdpte };
}

const ALL = Pte.P | Pte.RW | Pte.US;

describe('PAE page walk', () => {
  it('translates through the PDPTE register, the PDE and the PTE (8-byte entries, 9-bit indexes)', () => {
    const { mem, pdpte } = tables(ALL, ALL);
    const rec = new WalkRecord();
    assert.equal(walkPae(mem, pdpte, false, LIN, rec), true);
    assert.equal(rec.pae, true);
    assert.equal(rec.pdeAddr, PD + 24);
    assert.equal(rec.pteAddr, PT + 24);
    assert.equal(rec.physical, 0x7abc);
    assert.equal(rec.reads, 2, 'the PDPTE comes from a register: no read');
    assert.equal(rec.executable, true);
  });

  it('a not-present PDPTE register faults with no read and P=0', () => {
    const { mem, pdpte } = tables(ALL, ALL);
    pdpte[2] = 0;
    const rec = new WalkRecord();
    assert.equal(walkPae(mem, pdpte, false, LIN, rec), false);
    assert.equal(rec.reads, 0);
    assert.equal(accessFault(rec, Access.WRITE | Access.USER, true), PfError.W | PfError.U);
  });

  it('physical-address bits 35:32 come from the high halves (a frame above 4 GiB)', () => {
    const { mem, pdpte } = tables(ALL, ALL, 0, 0x9);
    const rec = new WalkRecord();
    walkPae(mem, pdpte, false, LIN, rec);
    assert.equal(rec.physical, 9 * 2 ** 32 + 0x7abc);
  });

  it('bits 62:36 of a PDE or PTE are reserved: RSVD fault with P=1; the walk stops there', () => {
    for (const b of [4, 20, 30]) {
      const rec = new WalkRecord();
      const t = tables(ALL, ALL, 0, 1 << b);
      assert.equal(walkPae(t.mem, t.pdpte, true, LIN, rec), false);
      assert.equal(rec.rsvd, true, `PTE bit ${32 + b}`);
      assert.equal(accessFault(rec, Access.READ, true), PfError.P | PfError.RSVD);
      const d = tables(ALL, ALL, 1 << b, 0);
      assert.equal(walkPae(d.mem, d.pdpte, true, LIN, rec), false);
      assert.equal(rec.reads, 1, 'a reserved bit in the PDE stops before the PTE');
      assert.equal(accessFault(rec, Access.WRITE | Access.USER, true), PfError.P | PfError.RSVD | PfError.W | PfError.U);
    }
  });

  it('bit 63 is XD with NXE=1 and reserved with NXE=0', () => {
    const rec = new WalkRecord();
    const t = tables(ALL, ALL, 0, XD);
    assert.equal(walkPae(t.mem, t.pdpte, true, LIN, rec), true);
    assert.equal(rec.executable, false);
    assert.equal(walkPae(t.mem, t.pdpte, false, LIN, rec), false);
    assert.equal(rec.rsvd, true);
  });

  it('XD at either level forbids fetches at any CPL (I/D=1); data accesses stay allowed', () => {
    for (const [pdeHi, pteHi] of [
      [XD, 0],
      [0, XD],
    ]) {
      const rec = new WalkRecord();
      const t = tables(ALL, ALL, pdeHi, pteHi);
      walkPae(t.mem, t.pdpte, true, LIN, rec);
      assert.equal(accessFault(rec, Access.FETCH | Access.USER, true, Rule.NXE), PfError.P | PfError.U | PfError.I);
      assert.equal(accessFault(rec, Access.FETCH, true, Rule.NXE), PfError.P | PfError.I);
      assert.equal(accessFault(rec, Access.READ | Access.USER, true, Rule.NXE), -1);
      assert.equal(accessFault(rec, Access.WRITE, true, Rule.NXE), -1);
    }
  });

  it('a 2 MiB page: PS=1 in the PDE (bit 12 PAT, bits 20:13 reserved)', () => {
    const mem = new Words();
    mem.write32(PD + 3 * 8, 0x00e00000 | ALL | Pte.PS | (1 << 12));
    const pdpte = new Int32Array(8);
    pdpte[2] = PD | Pte.P;
    const rec = new WalkRecord();
    assert.equal(walkPae(mem, pdpte, false, LIN, rec), true);
    assert.equal(rec.large, true);
    assert.equal(rec.reads, 1);
    assert.equal(rec.physical, 0x00e00000 + (LIN & 0x1fffff));
    mem.write32(PD + 3 * 8, 0x00e00000 | ALL | Pte.PS | (1 << 13));
    assert.equal(walkPae(mem, pdpte, false, LIN, rec), false);
    assert.equal(rec.rsvd, true);
  });

  it('accessed and dirty bits go to the low halves only; a 2 MiB leaf gets D in its PDE', () => {
    const t = tables(ALL, ALL, 0, XD);
    const rec = new WalkRecord();
    walkPae(t.mem, t.pdpte, true, LIN, rec);
    assert.equal(setAccessedDirty(t.mem, rec, true), 2);
    assert.equal(t.mem.read32(PD + 24), PT | ALL | Pte.A);
    assert.equal(t.mem.read32(PT + 24), 0x7000 | ALL | Pte.A | Pte.D);
    assert.equal(t.mem.read32(PT + 28), XD, 'high half untouched');
    const big = new Words();
    big.write32(PD + 24, 0x00e00000 | ALL | Pte.PS);
    walkPae(big, t.pdpte, false, LIN, rec);
    assert.equal(setAccessedDirty(big, rec, true), 1);
    assert.equal(big.read32(PD + 24), 0x00e00000 | ALL | Pte.PS | Pte.A | Pte.D);
  });

  it('a table above 4 GiB reads as all ones: a present entry with reserved bits', () => {
    const { mem, pdpte } = tables(ALL, ALL);
    pdpte[3] = 1; // PDPTE 1's PD at 4 GiB + PD
    const rec = new WalkRecord();
    assert.equal(walkPae(mem, pdpte, true, LIN, rec), false);
    assert.equal(rec.rsvd, true);
  });

  it('walkPaging picks PAE by CR4.PAE and passes NXE', () => {
    const { mem, pdpte } = tables(ALL, ALL, 0, XD);
    const rec = new WalkRecord();
    assert.equal(walkPaging(mem, { cr3: 0, cr4: Cr4.PAE, efer: Efer.NXE, pdpte }, LIN, rec), true);
    assert.equal(rec.executable, false);
    assert.equal(walkPaging(mem, { cr3: 0, cr4: Cr4.PAE, efer: 0, pdpte }, LIN, rec), false);
  });
});

describe('SMEP and SMAP in accessFault (SDM vol. 3, 4.6.1)', () => {
  const rec = new WalkRecord();
  const t = tables(ALL, ALL);
  walkPae(t.mem, t.pdpte, true, LIN, rec);

  it('SMEP: supervisor fetches from user-mode pages fault (P, I/D); user fetches do not care', () => {
    assert.equal(accessFault(rec, Access.FETCH, true, Rule.SMEP), PfError.P | PfError.I);
    assert.equal(accessFault(rec, Access.FETCH | Access.USER, true, Rule.SMEP), -1);
    assert.equal(accessFault(rec, Access.READ, true, Rule.SMEP), -1);
  });

  it('SMAP: explicit supervisor data accesses to user pages fault unless AC=1; implicit ones always', () => {
    assert.equal(accessFault(rec, Access.READ, true, Rule.SMAP), PfError.P);
    assert.equal(accessFault(rec, Access.WRITE, true, Rule.SMAP), PfError.P | PfError.W);
    assert.equal(accessFault(rec, Access.READ, true, Rule.SMAP | Rule.AC), -1);
    assert.equal(accessFault(rec, Access.WRITE, false, Rule.SMAP | Rule.AC), -1);
    assert.equal(accessFault(rec, Access.READ | Access.IMPLICIT, true, Rule.SMAP | Rule.AC), PfError.P);
    assert.equal(accessFault(rec, Access.READ | Access.USER, true, Rule.SMAP), -1, 'user accesses are not SMAP-checked');
    assert.equal(accessFault(rec, Access.FETCH, true, Rule.SMAP), -1, 'fetches are not SMAP-checked');
  });

  it('supervisor-mode pages (U/S=0 at some level) are never SMEP or SMAP-checked', () => {
    const s = new WalkRecord();
    const u = tables(Pte.P | Pte.RW, ALL);
    walkPae(u.mem, u.pdpte, true, LIN, s);
    assert.equal(accessFault(s, Access.FETCH, true, Rule.SMEP | Rule.SMAP), -1);
    assert.equal(accessFault(s, Access.WRITE | Access.IMPLICIT, true, Rule.SMEP | Rule.SMAP), -1);
  });
});
