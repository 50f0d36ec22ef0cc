import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tlb, TlbBit } from './tlb.ts';

describe('TLB', () => {
  it('a CR3 load drops non-global entries and keeps global ones (SDM vol. 3, 4.10.4.1)', () => {
    const t = new Tlb();
    t.fill(0x10, 0x5000 | TlbBit.RS);
    t.fill(0x20, 0x6000 | TlbBit.RS | TlbBit.G);
    t.flushNonGlobal();
    assert.equal(t.entries[0x10], 0);
    assert.equal(t.entries[0x20], 0x6000 | TlbBit.RS | TlbBit.G);
  });
  it('flushAll drops global entries too; invalidate drops one page', () => {
    const t = new Tlb();
    t.fill(0x20, 0x6000 | TlbBit.RS | TlbBit.G);
    t.fill(0x21, 0x7000 | TlbBit.RS);
    t.invalidate(0x21);
    assert.equal(t.entries[0x21], 0);
    t.flushAll();
    assert.equal(t.entries[0x20], 0);
  });
  it('stays correct when more pages were filled than it tracks', () => {
    const t = new Tlb();
    for (let p = 0; p < 40000; p++) t.fill(p, (p << 12) | TlbBit.RS);
    t.flushNonGlobal();
    assert.ok(t.entries.every((e) => e === 0));
  });
});

describe('TLB write revocation (code-cache watch)', () => {
  it('removes write permission from every entry mapping the frame and keeps the translation', () => {
    const t = new Tlb();
    t.fill(0x10, 0x5000 | TlbBit.RS | TlbBit.WS);
    t.fill(0x11, 0x5000 | TlbBit.RS | TlbBit.RU | TlbBit.WS | TlbBit.WU);
    t.fill(0x12, 0x6000 | TlbBit.RS | TlbBit.WS);
    t.revokeWrite(5);
    assert.equal(t.entries[0x10], 0x5000 | TlbBit.RS);
    assert.equal(t.entries[0x11], 0x5000 | TlbBit.RS | TlbBit.RU);
    assert.equal(t.entries[0x12], 0x6000 | TlbBit.RS | TlbBit.WS);
  });
});
