/**
 * Spot checks of the extended-precision arithmetic against values that follow from the formats
 * and the SDM's rules alone (vol. 1, 4.7-4.9, 8.1.5): precision and rounding control, the signs
 * of zero, overflow and underflow responses, NaNs, conversions. The differential test against the
 * host's x87 covers the rest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { F80, Fx, Rc } from './float80.ts';
import { Wide, mul, setF80, setInt, toDouble } from './wide.ts';
import * as tr from './transcendental.ts';

function unit(rc: number = Rc.NEAREST, masks = 0x3f): F80 {
  const u = new F80();
  u.rc = rc;
  u.masks = masks;
  return u;
}

function result(u: F80): string {
  return `${u.se.toString(16).padStart(4, '0')} ${u.hi.toString(16).padStart(8, '0')}${u.lo.toString(16).padStart(8, '0')}`;
}

const ONE = [0x3fff, 0x80000000, 0] as const;
const THREE = [0x4000, 0xc0000000, 0] as const;

describe('F80: basic arithmetic', () => {
  it('1/3 under every precision and rounding control', () => {
    const cases: [number, number, string][] = [
      [64, Rc.NEAREST, '3ffd aaaaaaaaaaaaaaab'],
      [64, Rc.ZERO, '3ffd aaaaaaaaaaaaaaaa'],
      [64, Rc.DOWN, '3ffd aaaaaaaaaaaaaaaa'],
      [64, Rc.UP, '3ffd aaaaaaaaaaaaaaab'],
      [53, Rc.NEAREST, '3ffd aaaaaaaaaaaaa800'],
      [24, Rc.NEAREST, '3ffd aaaaab0000000000'],
      [24, Rc.ZERO, '3ffd aaaaaa0000000000'],
    ];
    for (const [prec, rc, want] of cases) {
      const u = unit(rc);
      assert.ok(u.div(...ONE, ...THREE, prec));
      assert.equal(result(u), want, `prec ${prec} rc ${rc}`);
      assert.equal(u.flags & Fx.PE, Fx.PE);
      assert.equal((u.flags & Fx.C1) !== 0, want.endsWith('b') || want.endsWith('b0000000000'), 'C1: rounded up');
    }
  });

  it('sqrt(2) rounded to nearest; x - x is +0, or -0 rounding down', () => {
    const u = unit();
    assert.ok(u.sqrt(0x4000, 0x80000000, 0, 64));
    assert.equal(result(u), '3fff b504f333f9de6484');
    u.add(...THREE, ...THREE, true, 64);
    assert.equal(result(u), '0000 0000000000000000');
    const d = unit(Rc.DOWN);
    d.add(...THREE, ...THREE, true, 64);
    assert.equal(result(d), '8000 0000000000000000');
  });

  it('masked overflow gives infinity (C1) or the largest value by the rounding control', () => {
    const u = unit();
    u.mul(0x7ffe, 0xffffffff, 0xffffffff, 0x4000, 0x80000000, 0, 64);
    assert.equal(result(u), '7fff 8000000000000000');
    assert.equal(u.flags & (Fx.OE | Fx.PE | Fx.C1), Fx.OE | Fx.PE | Fx.C1);
    const z = unit(Rc.ZERO);
    z.mul(0x7ffe, 0xffffffff, 0xffffffff, 0x4000, 0x80000000, 0, 53);
    assert.equal(result(z), '7ffe fffffffffffff800', 'the largest value at 53 bits');
  });

  it('unmasked overflow stores the result with the exponent less 24576 (SDM vol. 1, 8.5.4)', () => {
    const u = unit(Rc.NEAREST, 0x3f & ~Fx.OE);
    u.mul(0x7ffe, 0x80000000, 0, 0x4000, 0x80000000, 0, 64);
    assert.equal(result(u), `${(0x7fff - 24576).toString(16).padStart(4, '0')} 8000000000000000`);
  });

  it('an exact tiny result is a denormal without UE; an inexact one raises UE and PE', () => {
    const u = unit();
    u.div(0x0001, 0x80000000, 0, 0x4000, 0x80000000, 0, 64);
    assert.equal(result(u), '0000 4000000000000000');
    assert.equal(u.flags & (Fx.UE | Fx.PE), 0);
    const v = unit();
    v.div(0x0001, 0x80000000, 1, 0x4000, 0x80000000, 0, 64);
    assert.equal(v.flags & (Fx.UE | Fx.PE), Fx.UE | Fx.PE);
  });

  it('an SNaN operand raises IE and comes back quiet; invalid operations give the real indefinite', () => {
    const u = unit();
    u.add(0x7fff, 0x80001234, 0, ...ONE, false, 64);
    assert.equal(result(u), '7fff c000123400000000');
    assert.equal(u.flags & Fx.IE, Fx.IE);
    const v = unit();
    v.add(0x7fff, 0x80000000, 0, 0xffff, 0x80000000, 0, false, 64);
    assert.equal(result(v), 'ffff c000000000000000', 'inf - inf');
  });

  it('conversions: 0.1 to single rounds to nearest; an integer out of range is the integer indefinite', () => {
    const u = unit();
    u.fromF64(0x3fb99999, 0x9999999a);
    assert.equal(result(u), '3ffb ccccccccccccd000');
    assert.ok(u.toFloat(u.se, u.hi, u.lo, false));
    assert.equal(u.iLo, 0x3dcccccd);
    const i = unit();
    assert.ok(i.toInteger(0x401e, 0x80000000, 0, 32), 'masked');
    assert.equal(i.iLo, 0x80000000);
    assert.equal(i.flags & Fx.IE, Fx.IE);
  });
});

describe('transcendentals', () => {
  it('FSIN of the extended pi is -2^-64: the reduction uses the 66-bit pi (SDM vol. 1, 8.3.10)', () => {
    const u = unit();
    assert.equal(tr.trigArgument(u, 0x4000, 0xc90fdaa2, 0x2168c235), 0);
    tr.trigResult(u, 0);
    assert.equal(result(u), 'bfbf 8000000000000000');
  });

  it('an argument of 2^63 or more is out of range (C2)', () => {
    assert.equal(tr.trigArgument(unit(), 0x403e, 0x80000000, 0), 2);
  });

  it('FYL2X: 1 * log2(8) = 3 exactly; F2XM1(0.5) = sqrt(2) - 1 rounded to nearest', () => {
    const u = unit();
    assert.ok(tr.fyl2x(u, ...ONE, 0x4002, 0x80000000, 0));
    assert.equal(result(u), '4000 c000000000000000');
    const v = unit();
    assert.ok(tr.f2xm1(v, 0x3ffe, 0x80000000, 0));
    assert.equal(result(v), '3ffd d413cccfe7799211');
  });

  it('the 128-bit arithmetic behind them: 3 * 7 = 21, and 1.5 * 1.5 = 2.25', () => {
    const a = new Wide();
    const b = new Wide();
    setInt(a, 3);
    setInt(b, 7);
    mul(a, a, b);
    assert.equal(toDouble(a), 21);
    setF80(a, 0x3fff, 0xc0000000, 0);
    mul(a, a, a);
    assert.equal(toDouble(a), 2.25);
  });
});
