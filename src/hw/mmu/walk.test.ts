/**
 * The pure walker against hand-built tables. Expected values come from the rules of the SDM
 * (vol. 3, 4.3 table 4-5, 4.6 access rights, 4.7 error codes, 4.8 A/D bits), spelled out here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pte } from '../x86/paging.ts';
import { Access, WalkRecord, accessFault, leafDirty, setAccessedDirty, walk } from './walk.ts';

/** A sparse physical memory: 32-bit words by address. */
class Words {
  readonly w = new Map<number, number>();
  read32(pa: number): number {
    return this.w.get(pa) ?? 0;
  }
  write32(pa: number, v: number): void {
    this.w.set(pa, v | 0);
  }
}

const CR3 = 0x1000;
const TABLE = 0x2000;

/** Maps linear 0x00403000 (dir 1, table 3) to frame 0x7000 with the given bits. */
function tables(pde: number, pte: number): Words {
  const m = new Words();
  m.write32(CR3 + 1 * 4, TABLE | pde);
  m.write32(TABLE + 3 * 4, 0x7000 | pte);
  return m;
}

describe('page walk (4 KiB pages)', () => {
  it('translates through the directory and the table, recording both entries', () => {
    const rec = new WalkRecord();
    const mem = tables(Pte.P | Pte.RW | Pte.US, Pte.P | Pte.RW | Pte.US);
    assert.equal(walk(mem, CR3, false, 0x00403abc, rec), true);
    assert.equal(rec.physical, 0x7abc);
    assert.equal(rec.pdeAddr, CR3 + 4);
    assert.equal(rec.pteAddr, TABLE + 12);
    assert.equal(rec.reads, 2);
    assert.equal(rec.large, false);
  });

  it('stops at a not-present PDE after one read', () => {
    const rec = new WalkRecord();
    assert.equal(walk(tables(0, Pte.P), CR3, false, 0x00403000, rec), false);
    assert.equal(rec.reads, 1);
    assert.equal(accessFault(rec, Access.WRITE | Access.USER, true), 0b110, 'not present: P=0, W=1, U=1');
  });

  it('stops at a not-present PTE after two reads', () => {
    const rec = new WalkRecord();
    assert.equal(walk(tables(Pte.P, 0), CR3, false, 0x00403000, rec), false);
    assert.equal(rec.reads, 2);
    assert.equal(accessFault(rec, Access.READ, false), 0, 'supervisor read of a missing page: error code 0');
  });

  it('combines U/S and R/W over both levels (the AND of the two)', () => {
    for (const pde of [0, Pte.RW, Pte.US, Pte.RW | Pte.US]) {
      for (const pte of [0, Pte.RW, Pte.US, Pte.RW | Pte.US]) {
        const rec = new WalkRecord();
        walk(tables(Pte.P | pde, Pte.P | pte), CR3, false, 0x00403000, rec);
        assert.equal(rec.user, (pde & pte & Pte.US) !== 0);
        assert.equal(rec.writable, (pde & pte & Pte.RW) !== 0);
      }
    }
  });
});

describe('access rights (SDM vol. 3, 4.6)', () => {
  const rec = (user: boolean, writable: boolean): WalkRecord => {
    const r = new WalkRecord();
    walk(tables(Pte.P | Pte.RW | Pte.US, Pte.P | (user ? Pte.US : 0) | (writable ? Pte.RW : 0)), CR3, false, 0x00403000, r);
    return r;
  };
  it('user code may not touch supervisor pages: protection fault with P=1, U=1', () => {
    assert.equal(accessFault(rec(false, true), Access.USER, false), 0b101);
    assert.equal(accessFault(rec(false, true), Access.USER | Access.WRITE, false), 0b111);
  });
  it('user writes to read-only pages fault; reads do not', () => {
    assert.equal(accessFault(rec(true, false), Access.USER, true), -1);
    assert.equal(accessFault(rec(true, false), Access.USER | Access.WRITE, true), 0b111);
  });
  it('supervisor writes to read-only pages fault only when CR0.WP=1', () => {
    assert.equal(accessFault(rec(true, false), Access.WRITE, false), -1);
    assert.equal(accessFault(rec(true, false), Access.WRITE, true), 0b011);
    assert.equal(accessFault(rec(false, false), Access.WRITE, true), 0b011);
  });
  it('instruction fetches are checked as reads (no NX without PAE)', () => {
    assert.equal(accessFault(rec(false, false), Access.FETCH, true), -1);
    assert.equal(accessFault(rec(false, false), Access.FETCH | Access.USER, true), 0b101);
  });
});

describe('accessed and dirty bits (SDM vol. 3, 4.8)', () => {
  it('a read sets A in the PDE and the PTE, not D', () => {
    const mem = tables(Pte.P | Pte.RW, Pte.P | Pte.RW);
    const r = new WalkRecord();
    walk(mem, CR3, false, 0x00403000, r);
    assert.equal(setAccessedDirty(mem, r, false), 2);
    assert.equal(mem.read32(CR3 + 4), TABLE | Pte.P | Pte.RW | Pte.A);
    assert.equal(mem.read32(TABLE + 12), 0x7000 | Pte.P | Pte.RW | Pte.A);
    assert.equal(leafDirty(r), false);
  });
  it('a write also sets D, in the leaf only; nothing is rewritten once set', () => {
    const mem = tables(Pte.P | Pte.RW, Pte.P | Pte.RW);
    const r = new WalkRecord();
    walk(mem, CR3, false, 0x00403000, r);
    setAccessedDirty(mem, r, true);
    assert.equal(mem.read32(CR3 + 4) & Pte.D, 0);
    assert.equal(mem.read32(TABLE + 12), 0x7000 | Pte.P | Pte.RW | Pte.A | Pte.D);
    walk(mem, CR3, false, 0x00403000, r);
    assert.equal(setAccessedDirty(mem, r, true), 0);
  });
});

describe('4 MiB pages (CR4.PSE)', () => {
  const mem = new Words();
  mem.write32(CR3 + 2 * 4, 0x00c00000 | Pte.P | Pte.RW | Pte.PS | Pte.G);
  it('with PSE a PDE with PS maps 4 MiB in one read', () => {
    const r = new WalkRecord();
    assert.equal(walk(mem, CR3, true, 0x00812345, r), true);
    assert.equal(r.large, true);
    assert.equal(r.physical, 0x00c12345);
    assert.equal(r.reads, 1);
    assert.equal(r.global, true);
  });
  it('A and D of a large page are set in the PDE', () => {
    const r = new WalkRecord();
    walk(mem, CR3, true, 0x00812345, r);
    setAccessedDirty(mem, r, true);
    assert.equal(mem.read32(CR3 + 8) & (Pte.A | Pte.D), Pte.A | Pte.D);
  });
  it('without PSE the same PDE points to a page table', () => {
    const r = new WalkRecord();
    walk(mem, CR3, false, 0x00812345, r);
    assert.equal(r.large, false);
    assert.equal(r.pteAddr, 0x00c00000 + 0x12 * 4);
  });
});
