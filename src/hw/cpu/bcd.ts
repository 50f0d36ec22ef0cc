/**
 * Decimal-arithmetic adjusts DAA DAS AAA AAS AAM AAD, following the SDM vol. 2 pseudo-code.
 * Flags the SDM leaves undefined are computed deterministically here and masked by the tests.
 */
import { Eflags } from '../x86/eflags.ts';
import { Vector } from '../x86/vectors.ts';
import type { Cpu } from './cpu.ts';
import { af, cf, materializeFlags, setLogicFlags } from './flags.ts';
import type { Insn } from './insn.ts';

/** Sets SF ZF PF from AL and the given CF and AF (OF cleared). */
function setDecimalFlags(c: Cpu, al: number, carry: number, aux: boolean): void {
  setLogicFlags(c, al << 24, 24);
  materializeFlags(c);
  c.flags = (c.flags & ~(Eflags.CF | Eflags.AF)) | carry | (aux ? Eflags.AF : 0);
}

/** daa (27) */
export function daa(c: Cpu, _i: Insn): void {
  const old = c.r8[0]!;
  const oldCf = cf(c);
  let al = old;
  let carry = 0;
  let aux = false;
  if ((al & 0xf) > 9 || af(c)) {
    carry = oldCf | (al > 0xf9 ? 1 : 0);
    al = (al + 6) & 0xff;
    aux = true;
  }
  if (old > 0x99 || oldCf !== 0) {
    al = (al + 0x60) & 0xff;
    carry = 1;
  }
  c.r8[0] = al;
  setDecimalFlags(c, al, carry, aux);
}

/** das (2F) */
export function das(c: Cpu, _i: Insn): void {
  const old = c.r8[0]!;
  const oldCf = cf(c);
  let al = old;
  let carry = 0;
  let aux = false;
  if ((al & 0xf) > 9 || af(c)) {
    carry = oldCf | (al < 6 ? 1 : 0);
    al = (al - 6) & 0xff;
    aux = true;
  }
  if (old > 0x99 || oldCf !== 0) {
    al = (al - 0x60) & 0xff;
    carry = 1;
  }
  c.r8[0] = al;
  setDecimalFlags(c, al, carry, aux);
}

/** aaa (37): AX += 0x106 when the low nibble overflowed, then AL &= 0x0F. */
export function aaa(c: Cpu, _i: Insn): void {
  const adjust = (c.r8[0]! & 0xf) > 9 || af(c);
  if (adjust) c.r16[0] = c.r16[0]! + 0x106;
  c.r8[0] = c.r8[0]! & 0xf;
  setDecimalFlags(c, c.r8[0]!, adjust ? 1 : 0, adjust);
}

/** aas (3F): AX -= 6, AH -= 1 when the low nibble borrowed, then AL &= 0x0F. */
export function aas(c: Cpu, _i: Insn): void {
  const adjust = (c.r8[0]! & 0xf) > 9 || af(c);
  if (adjust) {
    c.r16[0] = c.r16[0]! - 6;
    c.r8[1] = c.r8[1]! - 1;
  }
  c.r8[0] = c.r8[0]! & 0xf;
  setDecimalFlags(c, c.r8[0]!, adjust ? 1 : 0, adjust);
}

/** aam imm8 (D4): AH = AL / imm, AL = AL % imm; #DE when imm = 0. */
export function aam(c: Cpu, i: Insn): void {
  const base = i.imm & 0xff;
  if (base === 0) return void c.fault(Vector.DE, -1);
  const al = c.r8[0]!;
  c.r8[1] = Math.floor(al / base);
  c.r8[0] = al % base;
  setLogicFlags(c, c.r8[0]! << 24, 24);
}

/** aad imm8 (D5): AL = AL + AH * imm, AH = 0. */
export function aad(c: Cpu, i: Insn): void {
  const al = (c.r8[0]! + c.r8[1]! * (i.imm & 0xff)) & 0xff;
  c.r16[0] = al;
  setLogicFlags(c, al << 24, 24);
}
