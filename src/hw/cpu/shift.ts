/**
 * Group 2 shifts and rotates (ROL ROR RCL RCR SHL SHR SAL SAR) and SHLD/SHRD, following the
 * SDM vol. 2 pseudo-code: the count is masked to 5 bits; a masked count of 0 changes nothing,
 * not even flags; OF is defined only for a count of 1; rotates touch only CF and OF.
 * Undefined results (SHL/SHR CF for counts >= the operand size, SHLD/SHRD of 16-bit operands by
 * more than 16) are computed deterministically; the differential tests mask them.
 */
import { Eflags } from '../x86/eflags.ts';
import type { Cpu } from './cpu.ts';
import { cf, materializeFlags, setCoFlags } from './flags.ts';
import type { Insn } from './insn.ts';
import { commitRm16, commitRm32, commitRm8, rmwRm16, rmwRm32, rmwRm8 } from './operands.ts';

export const ShiftOp = { ROL: 0, ROR: 1, RCL: 2, RCR: 3, SHL: 4, SHR: 5, SAL: 6, SAR: 7 } as const;

/** Sets CF and OF, leaving SF, ZF, AF, PF alone (rotates). */
function setCfOf(c: Cpu, carry: number, overflow: number): void {
  materializeFlags(c);
  c.flags = (c.flags & ~(Eflags.CF | Eflags.OF)) | (carry & 1) | ((overflow & 1) << 11);
}

/**
 * Applies shift `op` to the unsigned `size`-bit value v by count (already masked to 5 bits,
 * nonzero). Returns the unsigned result (int32 for size 32) and records the flags.
 */
export function shift(c: Cpu, op: number, v: number, count: number, size: number): number {
  const mask = size === 32 ? -1 : (1 << size) - 1;
  const top = size - 1;
  switch (op) {
    case ShiftOp.ROL: {
      const n = count % size;
      const r = n === 0 ? v : ((v << n) | (v >>> (size - n))) & mask;
      const carry = r & 1;
      setCfOf(c, carry, ((r >>> top) & 1) ^ carry);
      return r;
    }
    case ShiftOp.ROR: {
      const n = count % size;
      const r = n === 0 ? v : ((v >>> n) | (v << (size - n))) & mask;
      setCfOf(c, (r >>> top) & 1, ((r >>> top) ^ (r >>> (top - 1))) & 1);
      return r;
    }
    case ShiftOp.RCL: {
      // Rotate through CF: a (size+1)-bit rotation, done one step at a time (count <= 31).
      const n = size === 32 ? count : count % (size + 1);
      let carry = cf(c);
      let r = v;
      for (let k = 0; k < n; k++) {
        const out = (r >>> top) & 1;
        r = ((r << 1) | carry) & mask;
        carry = out;
      }
      setCfOf(c, carry, ((r >>> top) & 1) ^ carry);
      return r;
    }
    case ShiftOp.RCR: {
      const n = size === 32 ? count : count % (size + 1);
      let carry = cf(c);
      const overflow = ((v >>> top) & 1) ^ carry;
      let r = v;
      for (let k = 0; k < n; k++) {
        const out = r & 1;
        r = ((r >>> 1) | (carry << top)) & mask;
        carry = out;
      }
      setCfOf(c, carry, overflow);
      return r;
    }
    case ShiftOp.SHL:
    case ShiftOp.SAL: {
      const r = count >= size ? 0 : (v << count) & mask;
      const carry = count > size ? 0 : (v >>> (size - count)) & 1;
      setCoFlags(c, r << (32 - size), 32 - size, carry, ((r >>> top) & 1) ^ carry);
      return r;
    }
    case ShiftOp.SHR: {
      const r = count >= size ? 0 : v >>> count;
      const carry = count > size ? 0 : (v >>> (count - 1)) & 1;
      setCoFlags(c, r << (32 - size), 32 - size, carry, (v >>> top) & 1);
      return size === 32 ? r | 0 : r;
    }
    default: {
      // SAR: sign fill; counts beyond the size leave all sign bits.
      const s = (v << (32 - size)) >> (32 - size);
      const n = count >= size ? size - 1 : count;
      const r = (s >> n) & mask;
      const carry = count >= size ? (s >>> 31) & 1 : (s >> (count - 1)) & 1;
      setCoFlags(c, r << (32 - size), 32 - size, carry, 0);
      return r;
    }
  }
}

/** Count source: i.imm2 = 0 count in imm (1 or imm8), 1 count in CL. */
function countOf(c: Cpu, i: Insn): number {
  return (i.imm2 === 0 ? i.imm : c.r8[4]!) & 0x1f;
}

export function shiftEb(c: Cpu, i: Insn): void {
  const n = countOf(c, i);
  const v = rmwRm8(c, i);
  if (c.pending !== 0 || n === 0) return;
  commitRm8(c, i, shift(c, i.sub, v, n, 8));
}

export function shiftEw(c: Cpu, i: Insn): void {
  const n = countOf(c, i);
  const v = rmwRm16(c, i);
  if (c.pending !== 0 || n === 0) return;
  commitRm16(c, i, shift(c, i.sub, v, n, 16));
}

export function shiftEd(c: Cpu, i: Insn): void {
  const n = countOf(c, i);
  const v = rmwRm32(c, i);
  if (c.pending !== 0 || n === 0) return;
  commitRm32(c, i, shift(c, i.sub, v, n, 32));
}

/**
 * SHLD/SHRD Ev, Gv, count (0F A4/A5/AC/AD): sub = 0 for SHLD, 1 for SHRD.
 * The destination is shifted and the vacated bits are filled from the register operand.
 */
function doubleShift(c: Cpu, left: boolean, dst: number, src: number, n: number, size: number): number {
  const top = size - 1;
  let r: number;
  let carry: number;
  if (size === 32) {
    r = left ? (dst << n) | (src >>> (32 - n)) : (dst >>> n) | (src << (32 - n));
    carry = left ? (dst >>> (32 - n)) & 1 : (dst >>> (n - 1)) & 1;
  } else {
    // 16-bit: shift the 32-bit concatenation; counts above 16 give an undefined result.
    if (left) {
      const cat = ((dst << 16) | src) >>> 0;
      const wide = n <= 16 ? cat : ((cat << 16) | dst) >>> 0;
      const m = n <= 16 ? n : n - 16;
      r = ((wide << m) >>> 16) & 0xffff;
      carry = ((wide >>> (32 - m)) & 1) >>> 0;
    } else {
      const cat = ((src << 16) | dst) >>> 0;
      const wide = n <= 16 ? cat : ((dst << 16) | src) >>> 0;
      const m = n <= 16 ? n : n - 16;
      r = (wide >>> m) & 0xffff;
      carry = (wide >>> (m - 1)) & 1;
    }
  }
  const rs = (r << (32 - size)) | 0;
  setCoFlags(c, rs, 32 - size, carry, ((r ^ dst) >>> top) & 1);
  return size === 32 ? r | 0 : r;
}

export function shldEw(c: Cpu, i: Insn): void {
  const n = countOf(c, i);
  const v = rmwRm16(c, i);
  if (c.pending !== 0 || n === 0) return;
  commitRm16(c, i, doubleShift(c, i.sub === 0, v, c.r16[i.reg]!, n, 16));
}

export function shldEd(c: Cpu, i: Insn): void {
  const n = countOf(c, i);
  const v = rmwRm32(c, i);
  if (c.pending !== 0 || n === 0) return;
  commitRm32(c, i, doubleShift(c, i.sub === 0, v, c.regs[i.reg]!, n, 32));
}
