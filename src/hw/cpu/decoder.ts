/**
 * The instruction decoder: prefixes, one- and two-byte opcodes, ModRM, SIB, displacement and
 * immediates (SDM vol. 2, chapter 2), driven entirely by the opcode table. It produces an Insn
 * with every operand resolved, so execution never looks at instruction bytes again.
 * An instruction longer than 15 bytes raises #GP(0); undefined opcodes and misplaced LOCK
 * prefixes decode to an instruction that raises #UD when executed, as hardware does.
 */
import { Seg } from '../x86/descriptors.ts';
import { Vector } from '../x86/vectors.ts';
import type { Cpu } from './cpu.ts';
import { Insn, ZERO_REG } from './insn.ts';
import { Imm, ONE_BYTE, type OpSpec, RegKind, TWO_BYTE } from './opcodes.ts';
import { specialize, specializeByte } from './specialized.ts';
import { undefinedOpcode } from './system.ts';

/** Reads code byte k of the instruction stream, or -1 where the bytes run out (page end, CS limit). */
export type ByteSource = (k: number) => number;

/** Why decode() returned no instruction: the bytes ran out before the instruction ended. */
export const INCOMPLETE = null;

const MAX_LENGTH = 15;

function tooLong(c: Cpu, _i: Insn): void {
  c.fault(Vector.GP, 0);
}

/** Index into the register views for register number r of the given kind (see operands.ts). */
function regIndex(kind: number, r: number, opsize: number): number {
  switch (kind) {
    case RegKind.BYTE:
      return r < 4 ? r * 4 : (r - 4) * 4 + 1;
    case RegKind.WORD:
      return r * 2;
    case RegKind.V:
      return opsize === 16 ? r * 2 : r;
    default:
      return r;
  }
}

/** 16-bit ModRM addressing forms (SDM vol. 2, table 2-1): base, index, default segment. */
const EA16_BASE = [3, 3, 5, 5, 6, 7, 5, 3];
const EA16_INDEX = [6, 7, 6, 7, ZERO_REG, ZERO_REG, ZERO_REG, ZERO_REG];
const EA16_SS = [false, false, true, true, false, false, true, false];

let specOfLast: OpSpec | null = null;

/** The table entry of the instruction decode() returned last (for disassembly and tests). */
export function lastSpec(): OpSpec | null {
  return specOfLast;
}

/**
 * Decodes one instruction. `code32` is the code segment's default size (CS.D).
 * Returns null when `read` runs out of bytes before the instruction is complete.
 */
export function decode(read: ByteSource, code32: boolean): Insn | null {
  let pos = 0;
  let opsize = code32 ? 32 : 16;
  let adsize = code32 ? 32 : 16;
  let segOverride = -1;
  let rep = 0;
  let lock = false;
  let b: number;
  // Prefixes: any number, in any order, within the 15-byte limit.
  for (;;) {
    b = read(pos);
    if (b < 0) return INCOMPLETE;
    if (pos >= MAX_LENGTH) return special(tooLong, pos, code32);
    let isPrefix = true;
    switch (b) {
      case 0x66:
        opsize = code32 ? 16 : 32;
        break;
      case 0x67:
        adsize = code32 ? 16 : 32;
        break;
      case 0x26:
        segOverride = Seg.ES;
        break;
      case 0x2e:
        segOverride = Seg.CS;
        break;
      case 0x36:
        segOverride = Seg.SS;
        break;
      case 0x3e:
        segOverride = Seg.DS;
        break;
      case 0x64:
        segOverride = Seg.FS;
        break;
      case 0x65:
        segOverride = Seg.GS;
        break;
      case 0xf0:
        lock = true;
        break;
      case 0xf2:
        rep = 2;
        break;
      case 0xf3:
        rep = 1;
        break;
      default:
        isPrefix = false;
    }
    if (!isPrefix) break;
    pos++;
  }
  pos++;
  let spec: OpSpec | null;
  if (b === 0x0f) {
    const b2 = read(pos);
    if (b2 < 0) return INCOMPLETE;
    pos++;
    spec = TWO_BYTE[b2]!;
    // The register of a Z operand sits in the last opcode byte (0F C8+r for BSWAP).
    b = b2;
  } else {
    spec = ONE_BYTE[b]!;
  }
  if (spec === null) return special(undefinedOpcode, pos, code32);

  const insn = new Insn(undefinedOpcode);
  insn.opsize = opsize;
  insn.adsize = adsize;
  insn.eaMask = adsize === 32 ? -1 : 0xffff;
  insn.rep = rep;
  insn.seg = segOverride >= 0 ? segOverride : Seg.DS;

  let mod = 3;
  let regField = 0;
  let rmField = 0;
  if (spec.modrm) {
    const m = read(pos);
    if (m < 0) return INCOMPLETE;
    pos++;
    if (b >= 0xd8 && b <= 0xdf) insn.fop = ((b & 7) << 8) | m;
    mod = m >>> 6;
    regField = (m >>> 3) & 7;
    rmField = m & 7;
    if (spec.group !== null) {
      spec = spec.group[regField] ?? null;
    }
    if (spec !== null && mod === 3 && spec.registerForms !== null) spec = spec.registerForms[rmField] ?? null;
  }
  // The rest of the instruction must still be consumed to know its length, even for #UD.
  const undefinedHere = spec === null || (spec.memOnly && mod === 3);
  if (spec !== null && spec.regOnly) mod = 3;

  if (mod !== 3) {
    insn.mem = 1;
    if (adsize === 32) {
      // SDM vol. 2, table 2-2/2-3: rm = 4 brings a SIB byte; base 5 with mod 0 means no base
      // register and a 32-bit displacement; ESP or EBP as base selects SS by default.
      let base = rmField;
      if (rmField === 4) {
        const sib = read(pos);
        if (sib < 0) return INCOMPLETE;
        pos++;
        const index = (sib >>> 3) & 7;
        base = sib & 7;
        insn.scale = sib >>> 6;
        insn.index = index === 4 ? ZERO_REG : index;
      }
      if (base === 5 && mod === 0) {
        insn.base = ZERO_REG;
        const d = readN(read, pos, 4);
        if (d === null) return INCOMPLETE;
        insn.disp = d;
        pos += 4;
      } else {
        insn.base = base;
        if (segOverride < 0 && (base === 4 || base === 5)) insn.seg = Seg.SS;
      }
    } else if (mod === 0 && rmField === 6) {
      insn.base = ZERO_REG;
      const d = readN(read, pos, 2);
      if (d === null) return INCOMPLETE;
      insn.disp = d & 0xffff;
      pos += 2;
    } else {
      insn.base = EA16_BASE[rmField]!;
      insn.index = EA16_INDEX[rmField]!;
      if (segOverride < 0 && EA16_SS[rmField]) insn.seg = Seg.SS;
    }
    if (mod === 1) {
      const d = read(pos);
      if (d < 0) return INCOMPLETE;
      pos++;
      insn.disp = (d << 24) >> 24;
    } else if (mod === 2) {
      const n = adsize === 32 ? 4 : 2;
      const d = readN(read, pos, n);
      if (d === null) return INCOMPLETE;
      insn.disp = n === 2 ? (d << 16) >> 16 : d;
      pos += n;
    }
  }

  if (spec === null || undefinedHere) {
    if (pos > MAX_LENGTH) return special(tooLong, pos, code32);
    return special(undefinedOpcode, pos, code32);
  }

  const byteOp = spec.byteOp;
  const size = byteOp ? 8 : opsize;
  // Immediates.
  switch (spec.imm) {
    case Imm.B: {
      const v = read(pos);
      if (v < 0) return INCOMPLETE;
      insn.imm = v;
      pos++;
      break;
    }
    case Imm.BS:
    case Imm.JB: {
      const v = read(pos);
      if (v < 0) return INCOMPLETE;
      insn.imm = (v << 24) >> 24;
      pos++;
      break;
    }
    case Imm.W: {
      const v = readN(read, pos, 2);
      if (v === null) return INCOMPLETE;
      insn.imm = v & 0xffff;
      pos += 2;
      break;
    }
    case Imm.Z:
    case Imm.JZ: {
      const n = size === 16 ? 2 : size === 8 ? 1 : 4;
      const v = readN(read, pos, n);
      if (v === null) return INCOMPLETE;
      insn.imm = n === 1 ? v & 0xff : n === 2 ? (spec.imm === Imm.JZ ? (v << 16) >> 16 : v & 0xffff) : v;
      pos += n;
      break;
    }
    case Imm.AP: {
      const n = opsize === 16 ? 2 : 4;
      const off = readN(read, pos, n);
      const sel = readN(read, pos + n, 2);
      if (off === null || sel === null) return INCOMPLETE;
      insn.imm = n === 2 ? off & 0xffff : off;
      insn.imm2 = sel & 0xffff;
      pos += n + 2;
      break;
    }
    case Imm.ENTER: {
      const a = readN(read, pos, 2);
      const l = read(pos + 2);
      if (a === null || l < 0) return INCOMPLETE;
      insn.imm = a & 0xffff;
      insn.imm2 = l;
      pos += 3;
      break;
    }
    case Imm.MOFFS: {
      const n = adsize === 32 ? 4 : 2;
      const v = readN(read, pos, n);
      if (v === null) return INCOMPLETE;
      insn.mem = 1;
      insn.base = ZERO_REG;
      insn.index = ZERO_REG;
      insn.disp = n === 2 ? v & 0xffff : v;
      pos += n;
      break;
    }
  }
  if (pos > MAX_LENGTH) return special(tooLong, pos, code32);

  if (spec.imm !== Imm.AP && spec.imm !== Imm.ENTER) insn.imm2 = spec.imm2;
  if (spec.fixedImm >= 0) insn.imm = spec.fixedImm;
  insn.spec = spec.id;
  insn.sub = spec.sub;
  insn.len = pos;
  insn.cost = spec.cost;
  if (byteOp) insn.opsize = 8;
  insn.fn = spec.handlers[byteOp ? 0 : opsize === 16 ? 1 : 2];
  if (spec.modrm) {
    insn.reg = regIndex(spec.regKind, regField, opsize);
    if (mod === 3) insn.rm = regIndex(spec.rmKind, rmField, opsize);
  }
  if (spec.opcodeReg !== RegKind.NONE) insn.reg = regIndex(spec.opcodeReg, b & 7, opsize);
  if (spec.accumulator && spec.imm !== Imm.MOFFS) {
    insn.mem = 0;
    insn.rm = 0;
  }
  if (lock && (!spec.lockable || insn.mem === 0)) insn.fn = undefinedOpcode;
  else {
    const fast = byteOp ? specializeByte(insn) : specialize(insn);
    if (fast !== null) insn.fn = fast;
  }
  insn.mayStop = spec.ends || insn.mem !== 0 || !spec.pure || insn.fn === undefinedOpcode ? 1 : 0;
  insn.ends = spec.ends || insn.fn === undefinedOpcode ? 1 : 0;
  insn.branch = spec.branch ? 1 : 0;
  insn.clock = spec.clock ? 1 : 0;
  specOfLast = spec;
  return insn;
}

/** An instruction whose only effect is a fault (#UD, #GP for overlong encodings). */
function special(fn: (c: Cpu, i: Insn) => void, len: number, _code32: boolean): Insn {
  const insn = new Insn(fn);
  insn.len = Math.min(len, MAX_LENGTH);
  insn.mayStop = 1;
  insn.ends = 1;
  specOfLast = null;
  return insn;
}

/** Little-endian n-byte value at pos (as int32), or null if the bytes run out. */
function readN(read: ByteSource, pos: number, n: number): number | null {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const b = read(pos + k);
    if (b < 0) return null;
    v |= b << (8 * k);
  }
  return v;
}

