/**
 * The opcode table: every integer instruction this CPU implements, with its operand shape,
 * handlers, cost and flag behaviour (SDM vol. 2, appendix A, the opcode map). The decoder is
 * driven by it, and so are the random differential tests (which instructions exist, how to
 * encode them, which flags each leaves undefined). Operand notation follows appendix A.2:
 *   E  ModRM r/m (register or memory)      G  ModRM.reg general register
 *   M  ModRM memory only                    R  ModRM r/m register only (mod ignored)
 *   S  ModRM.reg segment register           C/D ModRM.reg control / debug register
 *   Z  register in the low 3 opcode bits    I  immediate   J  relative offset
 *   A  far pointer immediate                O  memory offset (moffs)
 * and sizes b (byte), w (word), d (dword), v (word or dword by operand size), z (immediate of
 * operand size, at most 32 bits), p (far pointer), a (bound pair), q (qword).
 */
import * as alu from './alu.ts';
import * as bcd from './bcd.ts';
import * as bits from './bits.ts';
import * as ctl from './control.ts';
import { cpuid } from './cpuid.ts';
import { sysenter, sysexit } from './fast-system-call.ts';
import { rdmsr, wrmsr } from './msr.ts';
import * as ef from './eflags-ops.ts';
import * as fc from './fpu/x87-control.ts';
import * as ft from './fpu/x87-transcendental.ts';
import * as fp from './fpu/x87.ts';
import type { Handler } from './insn.ts';
import { iret } from './interrupts.ts';
import * as io from './io.ts';
import * as md from './muldiv.ts';
import * as mv from './move.ts';
import * as seg from './segments.ts';
import * as sh from './shift.ts';
import * as st from './stack.ts';
import { StrOp, stringOp } from './string.ts';
import { svmInstruction } from './virtualization.ts';
import * as sys from './system.ts';

/** Immediate kinds the decoder reads after ModRM/SIB/displacement. */
export const Imm = {
  NONE: 0,
  /** 8 bits, zero-extended */
  B: 1,
  /** 8 bits, sign-extended to the operand size */
  BS: 2,
  /** 16 bits */
  W: 3,
  /** operand size (16 or 32 bits), sign-extended when 16 for relative jumps */
  Z: 4,
  /** far pointer: offset of operand size, then a 16-bit selector (imm2) */
  AP: 5,
  /** ENTER: 16 bits then 8 bits (imm2) */
  ENTER: 6,
  /** memory offset of the address size (becomes disp) */
  MOFFS: 7,
  /** relative 8-bit displacement, sign-extended */
  JB: 8,
  /** relative displacement of operand size */
  JZ: 9,
} as const;

/** How a register operand's number is turned into an index into the register views. */
export const RegKind = {
  /** no register operand */
  NONE: 0,
  BYTE: 1,
  WORD: 2,
  DWORD: 3,
  /** word or dword by operand size */
  V: 4,
  /** a segment, control or debug register number: left as is */
  RAW: 5,
} as const;

/** Flag effects, for the tests: letters o s z a p c (and d i t) written, left undefined, read. */
export interface FlagEffect {
  readonly w: string;
  readonly u: string;
  readonly r: string;
  /** Count-dependent rules (shifts, rotates, double shifts) the test generator must apply. */
  readonly special?: 'shift' | 'rotate' | 'rotate-carry' | 'double-shift';
}

export interface OpSpec {
  readonly id: number;
  readonly name: string;
  readonly operands: string;
  /** Handlers for operand sizes 8, 16, 32. */
  readonly handlers: readonly [Handler, Handler, Handler];
  readonly sub: number;
  readonly modrm: boolean;
  readonly imm: number;
  readonly regKind: number;
  readonly rmKind: number;
  /** Register encoded in the opcode's low 3 bits (Z operand), put in Insn.reg. */
  readonly opcodeReg: number;
  /** An accumulator operand (AL/eAX) stands in for r/m (mem = 0, rm = 0). */
  readonly accumulator: boolean;
  readonly byteOp: boolean;
  readonly memOnly: boolean;
  /** mod is ignored: the r/m field always names a register (MOV to/from CR/DR). */
  readonly regOnly: boolean;
  /** The block of decoded instructions ends after this one (control transfer or state change). */
  readonly ends: boolean;
  /** A conditional branch: a block continues past it on the not-taken path. */
  readonly branch: boolean;
  /**
   * Reads simulated time or lets a device see it (RDTSC, port I/O): it always starts a block,
   * because cycles are accounted per block, so cpu.cycles is exact when it runs.
   */
  readonly clock: boolean;
  readonly lockable: boolean;
  readonly imm2: number;
  /** An immediate implied by the opcode (the "1" of shift-by-one, INT3's 3), or -1. */
  readonly fixedImm: number;
  /** With register operands it can neither fault nor change system state (no stop check needed). */
  readonly pure: boolean;
  readonly cost: number;
  readonly flags: FlagEffect;
  /** Group: the instruction is chosen by ModRM.reg. */
  readonly group: readonly (OpSpec | null)[] | null;
  /** A memory-only group member whose register forms (ModRM.mod = 3) are other instructions, chosen by ModRM.rm. */
  readonly registerForms: readonly (OpSpec | null)[] | null;
}

interface Options {
  sub?: number;
  ends?: boolean;
  lock?: boolean;
  cost?: number;
  imm2?: number;
  flags?: FlagEffect;
  memOnly?: boolean;
  fixedImm?: number;
  branch?: boolean;
  clock?: boolean;
  registerForms?: readonly (OpSpec | null)[];
}

/**
 * Handlers whose register forms never fault and never change system state: the compiled
 * block needs no stop check after them.
 */
const PURE = new Set<Handler>([
  alu.aluEbGb, alu.aluEdGd, alu.aluEwGw, alu.aluGbEb, alu.aluGwEw, alu.aluGdEd, alu.aluEbI, alu.aluEwI, alu.aluEdI,
  alu.testEbGb, alu.testEwGw, alu.testEdGd, alu.testEbI, alu.testEwI, alu.testEdI, alu.incDecEb, alu.incDecEw,
  alu.incDecEd, alu.incDecRw, alu.incDecRd, alu.notEb, alu.notEw, alu.notEd, alu.negEb, alu.negEw, alu.negEd,
  mv.movEbGb, mv.movEwGw, mv.movEdGd, mv.movGbEb, mv.movGwEw, mv.movGdEd, mv.movEbI, mv.movEwI, mv.movEdI,
  mv.movRbI, mv.movRwI, mv.movRdI, mv.movzxGwEb, mv.movzxGdEb, mv.movzxGdEw, mv.movsxGwEb, mv.movsxGdEb,
  mv.movsxGdEw, mv.leaGw, mv.leaGd, mv.xchgEbGb, mv.xchgEwGw, mv.xchgEdGd, mv.xaddEbGb, mv.xaddEwGw, mv.xaddEdGd,
  mv.cmpxchgEbGb, mv.cmpxchgEwGw, mv.cmpxchgEdGd, mv.cbw, mv.cwd, mv.lahf, mv.sahf, mv.salc, mv.flagOp, mv.nop,
  sh.shiftEb, sh.shiftEw, sh.shiftEd, sh.shldEw, sh.shldEd, bits.btEw, bits.btEd, bits.bsfBsrGw, bits.bsfBsrGd,
  bits.bswap, bits.setcc, bits.cmovGw, bits.cmovGd, md.mulEb, md.imulEb, md.mulEw, md.imulEw, md.mulEd, md.imulEd,
  md.imulGwEw, md.imulGdEd,
]);

/** Every spec, indexed by id (Insn.spec). */
export const ALL_SPECS: OpSpec[] = [];

const NO_FLAGS: FlagEffect = { w: '', u: '', r: '' };
const ARITH: FlagEffect = { w: 'oszapc', u: '', r: '' };
const ARITH_CARRY: FlagEffect = { w: 'oszapc', u: '', r: 'c' };
const LOGIC: FlagEffect = { w: 'oszpc', u: 'a', r: '' };
const INCDEC: FlagEffect = { w: 'oszap', u: '', r: '' };
const MUL: FlagEffect = { w: 'oc', u: 'szap', r: '' };
const DIV: FlagEffect = { w: '', u: 'oszapc', r: '' };
const SHIFT: FlagEffect = { w: 'oszapc', u: 'a', r: '', special: 'shift' };
const ROTATE: FlagEffect = { w: 'oc', u: '', r: '', special: 'rotate' };
const ROTATE_CARRY: FlagEffect = { w: 'oc', u: '', r: 'c', special: 'rotate-carry' };
const DOUBLE_SHIFT: FlagEffect = { w: 'oszapc', u: 'a', r: '', special: 'double-shift' };
const BT: FlagEffect = { w: 'c', u: 'osap', r: '' };
const BSF: FlagEffect = { w: 'z', u: 'osapc', r: '' };
const COND: FlagEffect = { w: '', u: '', r: 'oszapc' };

/** Operands named by a fixed register or constant: they add no encoding bytes. */
const FIXED_OPERANDS = new Set(['1', 'CL', 'DX', 'ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'ST', 'AX']);

function sizeOf(letter: string): number {
  switch (letter) {
    case 'b':
      return RegKind.BYTE;
    case 'w':
      return RegKind.WORD;
    case 'd':
      return RegKind.DWORD;
    default:
      return RegKind.V;
  }
}

function build(name: string, operands: string, h: Handler | readonly [Handler, Handler], o: Options): OpSpec {
  const ops = operands === '' ? [] : operands.split(',');
  let modrm = false;
  let imm: number = Imm.NONE;
  let regKind: number = RegKind.NONE;
  let rmKind: number = RegKind.NONE;
  let opcodeReg: number = RegKind.NONE;
  let accumulator = false;
  let memOnly = o.memOnly ?? false;
  let regOnly = false;
  for (const op of ops) {
    // Fixed operands first: their names would otherwise read as operand kinds (AL as A, CL as C).
    if (op === 'AL' || op === 'eAX') {
      accumulator = true;
      rmKind = op === 'AL' ? RegKind.BYTE : RegKind.V;
      continue;
    }
    if (FIXED_OPERANDS.has(op)) continue;
    // x87: ST(i) is named by ModRM.rm (register forms of D8-DF).
    if (op === 'STi') {
      modrm = true;
      rmKind = RegKind.RAW;
      continue;
    }
    const kind = op[0]!;
    const size = op.slice(1);
    switch (kind) {
      case 'E':
        modrm = true;
        rmKind = sizeOf(size);
        break;
      case 'M':
        modrm = true;
        memOnly = true;
        rmKind = sizeOf(size);
        break;
      case 'R':
        modrm = true;
        regOnly = true;
        rmKind = sizeOf(size);
        break;
      case 'G':
        modrm = true;
        regKind = sizeOf(size);
        break;
      case 'S':
      case 'C':
      case 'D':
        modrm = true;
        regKind = RegKind.RAW;
        break;
      case 'Z':
        opcodeReg = sizeOf(size);
        break;
      case 'I':
        imm = size === 'b' ? Imm.B : size === 'bs' ? Imm.BS : size === 'w' ? Imm.W : Imm.Z;
        break;
      case 'J':
        imm = size === 'b' ? Imm.JB : Imm.JZ;
        break;
      case 'A':
        imm = Imm.AP;
        break;
      case 'O':
        imm = Imm.MOFFS;
        break;
      default:
        throw new Error(`opcode table: unknown operand ${op} in ${name} ${operands}`);
    }
  }
  if (operands === 'Iw,Ib') imm = Imm.ENTER;
  const first = ops[0] ?? '';
  const byteOperand = (op: string): boolean => ['Eb', 'Gb', 'Zb', 'AL', 'Ob'].includes(op);
  const byteOp =
    byteOperand(first) || ((first === 'Ib' || first === 'DX') && ops[1] === 'AL') || /^(movs|cmps|stos|lods|scas|ins|outs)b$/.test(name);
  const handlers: [Handler, Handler, Handler] = typeof h === 'function' ? [h, h, h] : [h[0], h[0], h[1]];
  const fixedImm = ops.includes('1') ? 1 : (o.fixedImm ?? -1);
  const spec: OpSpec = {
    id: ALL_SPECS.length,
    name,
    operands,
    handlers,
    sub: o.sub ?? 0,
    modrm,
    imm,
    regKind,
    rmKind,
    opcodeReg,
    accumulator,
    byteOp,
    memOnly,
    regOnly,
    ends: o.ends ?? false,
    branch: o.branch ?? false,
    clock: o.clock ?? false,
    lockable: o.lock ?? false,
    imm2: o.imm2 ?? 0,
    fixedImm,
    pure: PURE.has(typeof h === 'function' ? h : h[1]),
    cost: o.cost ?? 1,
    flags: o.flags ?? NO_FLAGS,
    group: null,
    registerForms: o.registerForms ?? null,
  };
  ALL_SPECS.push(spec);
  return spec;
}

/** The one-byte opcode map and the two-byte (0F xx) map. null = #UD. */
export const ONE_BYTE: (OpSpec | null)[] = new Array<OpSpec | null>(256).fill(null);
export const TWO_BYTE: (OpSpec | null)[] = new Array<OpSpec | null>(256).fill(null);

function def(table: (OpSpec | null)[], code: number, name: string, operands: string, h: Handler | readonly [Handler, Handler], o: Options = {}): OpSpec {
  const spec = build(name, operands, h, o);
  table[code] = spec;
  return spec;
}

type GroupEntry = readonly [string, string, Handler | readonly [Handler, Handler], Options?] | null;

function group(table: (OpSpec | null)[], code: number, entries: readonly GroupEntry[], common: Options = {}): void {
  const members = entries.map((e, reg) => (e === null ? null : build(e[0], e[1], e[2], { sub: reg, ...common, ...e[3] })));
  const container: OpSpec = { ...build(`grp${code.toString(16)}`, '', sys.undefinedOpcode, {}), modrm: true, group: members };
  ALL_SPECS[container.id] = container;
  table[code] = container;
}

// ---------------------------------------------------------------- one-byte map

const ALU_NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const aluFlags = (op: number): FlagEffect => (op === 2 || op === 3 ? ARITH_CARRY : op === 1 || op === 4 || op === 6 ? LOGIC : ARITH);
for (let op = 0; op < 8; op++) {
  const base = op << 3;
  const name = ALU_NAMES[op]!;
  const o = { sub: op, flags: aluFlags(op), lock: op !== 7 };
  def(ONE_BYTE, base, name, 'Eb,Gb', alu.aluEbGb, o);
  def(ONE_BYTE, base + 1, name, 'Ev,Gv', [alu.aluEwGw, alu.aluEdGd], o);
  def(ONE_BYTE, base + 2, name, 'Gb,Eb', alu.aluGbEb, { ...o, lock: false });
  def(ONE_BYTE, base + 3, name, 'Gv,Ev', [alu.aluGwEw, alu.aluGdEd], { ...o, lock: false });
  def(ONE_BYTE, base + 4, name, 'AL,Ib', alu.aluEbI, { ...o, lock: false });
  def(ONE_BYTE, base + 5, name, 'eAX,Iz', [alu.aluEwI, alu.aluEdI], { ...o, lock: false });
}
def(ONE_BYTE, 0x06, 'push', 'ES', seg.pushSeg, { sub: 0 });
def(ONE_BYTE, 0x07, 'pop', 'ES', seg.popSeg, { sub: 0, ends: true, cost: 3 });
def(ONE_BYTE, 0x0e, 'push', 'CS', seg.pushSeg, { sub: 1 });
def(ONE_BYTE, 0x16, 'push', 'SS', seg.pushSeg, { sub: 2 });
def(ONE_BYTE, 0x17, 'pop', 'SS', seg.popSeg, { sub: 2, ends: true, cost: 3 });
def(ONE_BYTE, 0x1e, 'push', 'DS', seg.pushSeg, { sub: 3 });
def(ONE_BYTE, 0x1f, 'pop', 'DS', seg.popSeg, { sub: 3, ends: true, cost: 3 });
def(ONE_BYTE, 0x27, 'daa', '', bcd.daa, { flags: { w: 'szapc', u: 'o', r: 'ac' } });
def(ONE_BYTE, 0x2f, 'das', '', bcd.das, { flags: { w: 'szapc', u: 'o', r: 'ac' } });
def(ONE_BYTE, 0x37, 'aaa', '', bcd.aaa, { flags: { w: 'ac', u: 'oszp', r: 'a' } });
def(ONE_BYTE, 0x3f, 'aas', '', bcd.aas, { flags: { w: 'ac', u: 'oszp', r: 'a' } });
for (let r = 0; r < 8; r++) {
  def(ONE_BYTE, 0x40 + r, 'inc', 'Zv', [alu.incDecRw, alu.incDecRd], { sub: 0, flags: INCDEC });
  def(ONE_BYTE, 0x48 + r, 'dec', 'Zv', [alu.incDecRw, alu.incDecRd], { sub: 1, flags: INCDEC });
  def(ONE_BYTE, 0x50 + r, 'push', 'Zv', [st.pushRw, st.pushRd]);
  def(ONE_BYTE, 0x58 + r, 'pop', 'Zv', [st.popRw, st.popRd]);
}
def(ONE_BYTE, 0x60, 'pusha', '', st.pusha, { cost: 8 });
def(ONE_BYTE, 0x61, 'popa', '', st.popa, { cost: 8 });
def(ONE_BYTE, 0x62, 'bound', 'Gv,Ma', ctl.bound, { cost: 4 });
def(ONE_BYTE, 0x63, 'arpl', 'Ew,Gw', sys.arpl, { flags: { w: 'z', u: '', r: '' } });
def(ONE_BYTE, 0x68, 'push', 'Iz', st.pushI);
def(ONE_BYTE, 0x69, 'imul', 'Gv,Ev,Iz', [md.imulGwEw, md.imulGdEd], { imm2: 1, cost: 4, flags: MUL });
def(ONE_BYTE, 0x6a, 'push', 'Ibs', st.pushI);
def(ONE_BYTE, 0x6b, 'imul', 'Gv,Ev,Ibs', [md.imulGwEw, md.imulGdEd], { imm2: 1, cost: 4, flags: MUL });
def(ONE_BYTE, 0x6c, 'insb', '', stringOp, { sub: StrOp.INS, cost: 4, clock: true, flags: { w: '', u: '', r: 'd' } });
def(ONE_BYTE, 0x6d, 'ins', '', stringOp, { sub: StrOp.INS, cost: 4, clock: true, flags: { w: '', u: '', r: 'd' } });
def(ONE_BYTE, 0x6e, 'outsb', '', stringOp, { sub: StrOp.OUTS, cost: 4, clock: true, ends: true, flags: { w: '', u: '', r: 'd' } });
def(ONE_BYTE, 0x6f, 'outs', '', stringOp, { sub: StrOp.OUTS, cost: 4, clock: true, ends: true, flags: { w: '', u: '', r: 'd' } });
for (let cc = 0; cc < 16; cc++) def(ONE_BYTE, 0x70 + cc, 'jcc', 'Jb', ctl.jccRel, { sub: cc, branch: true, flags: COND });
const grp1: GroupEntry[] = ALU_NAMES.map((n, op) => [n, 'Eb,Ib', alu.aluEbI, { flags: aluFlags(op), lock: op !== 7 }] as const);
group(ONE_BYTE, 0x80, grp1);
group(ONE_BYTE, 0x81, ALU_NAMES.map((n, op) => [n, 'Ev,Iz', [alu.aluEwI, alu.aluEdI], { flags: aluFlags(op), lock: op !== 7 }] as const));
group(ONE_BYTE, 0x82, grp1);
group(ONE_BYTE, 0x83, ALU_NAMES.map((n, op) => [n, 'Ev,Ibs', [alu.aluEwI, alu.aluEdI], { flags: aluFlags(op), lock: op !== 7 }] as const));
def(ONE_BYTE, 0x84, 'test', 'Eb,Gb', alu.testEbGb, { flags: LOGIC });
def(ONE_BYTE, 0x85, 'test', 'Ev,Gv', [alu.testEwGw, alu.testEdGd], { flags: LOGIC });
def(ONE_BYTE, 0x86, 'xchg', 'Eb,Gb', mv.xchgEbGb, { lock: true });
def(ONE_BYTE, 0x87, 'xchg', 'Ev,Gv', [mv.xchgEwGw, mv.xchgEdGd], { lock: true });
def(ONE_BYTE, 0x88, 'mov', 'Eb,Gb', mv.movEbGb);
def(ONE_BYTE, 0x89, 'mov', 'Ev,Gv', [mv.movEwGw, mv.movEdGd]);
def(ONE_BYTE, 0x8a, 'mov', 'Gb,Eb', mv.movGbEb);
def(ONE_BYTE, 0x8b, 'mov', 'Gv,Ev', [mv.movGwEw, mv.movGdEd]);
def(ONE_BYTE, 0x8c, 'mov', 'Ev,Sw', seg.movEwSw);
def(ONE_BYTE, 0x8d, 'lea', 'Gv,M', [mv.leaGw, mv.leaGd]);
def(ONE_BYTE, 0x8e, 'mov', 'Sw,Ew', seg.movSwEw, { ends: true, cost: 3 });
group(ONE_BYTE, 0x8f, [['pop', 'Ev', st.popEv], null, null, null, null, null, null, null]);
def(ONE_BYTE, 0x90, 'nop', '', mv.nop);
for (let r = 1; r < 8; r++) def(ONE_BYTE, 0x90 + r, 'xchg', 'Zv,eAX', [mv.xchgEwGw, mv.xchgEdGd]);
def(ONE_BYTE, 0x98, 'cbw', '', mv.cbw);
def(ONE_BYTE, 0x99, 'cwd', '', mv.cwd);
def(ONE_BYTE, 0x9a, 'call', 'Ap', seg.callFar, { sub: 1, ends: true, cost: 20 });
def(ONE_BYTE, 0x9b, 'fwait', '', fc.fwait, { cost: 2 });
def(ONE_BYTE, 0x9c, 'pushf', '', ef.pushf, { flags: { w: '', u: '', r: 'oszapc' } });
def(ONE_BYTE, 0x9d, 'popf', '', ef.popf, { ends: true, cost: 6, flags: ARITH });
def(ONE_BYTE, 0x9e, 'sahf', '', mv.sahf, { flags: { w: 'szapc', u: '', r: '' } });
def(ONE_BYTE, 0x9f, 'lahf', '', mv.lahf, { flags: { w: '', u: '', r: 'szapc' } });
def(ONE_BYTE, 0xa0, 'mov', 'AL,Ob', mv.movALOb);
def(ONE_BYTE, 0xa1, 'mov', 'eAX,Ov', [mv.movAXOw, mv.movEAXOd]);
def(ONE_BYTE, 0xa2, 'mov', 'Ob,AL', mv.movObAL);
def(ONE_BYTE, 0xa3, 'mov', 'Ov,eAX', [mv.movOwAX, mv.movOdEAX]);
const STRING_FLAGS: FlagEffect = { w: '', u: '', r: 'd' };
const CMP_STRING_FLAGS: FlagEffect = { w: 'oszapc', u: '', r: 'd' };
def(ONE_BYTE, 0xa4, 'movsb', '', stringOp, { sub: StrOp.MOVS, cost: 2, flags: STRING_FLAGS });
def(ONE_BYTE, 0xa5, 'movs', '', stringOp, { sub: StrOp.MOVS, cost: 2, flags: STRING_FLAGS });
def(ONE_BYTE, 0xa6, 'cmpsb', '', stringOp, { sub: StrOp.CMPS, cost: 2, flags: CMP_STRING_FLAGS });
def(ONE_BYTE, 0xa7, 'cmps', '', stringOp, { sub: StrOp.CMPS, cost: 2, flags: CMP_STRING_FLAGS });
def(ONE_BYTE, 0xa8, 'test', 'AL,Ib', alu.testEbI, { flags: LOGIC });
def(ONE_BYTE, 0xa9, 'test', 'eAX,Iz', [alu.testEwI, alu.testEdI], { flags: LOGIC });
def(ONE_BYTE, 0xaa, 'stosb', '', stringOp, { sub: StrOp.STOS, cost: 2, flags: STRING_FLAGS });
def(ONE_BYTE, 0xab, 'stos', '', stringOp, { sub: StrOp.STOS, cost: 2, flags: STRING_FLAGS });
def(ONE_BYTE, 0xac, 'lodsb', '', stringOp, { sub: StrOp.LODS, cost: 2, flags: STRING_FLAGS });
def(ONE_BYTE, 0xad, 'lods', '', stringOp, { sub: StrOp.LODS, cost: 2, flags: STRING_FLAGS });
def(ONE_BYTE, 0xae, 'scasb', '', stringOp, { sub: StrOp.SCAS, cost: 2, flags: CMP_STRING_FLAGS });
def(ONE_BYTE, 0xaf, 'scas', '', stringOp, { sub: StrOp.SCAS, cost: 2, flags: CMP_STRING_FLAGS });
for (let r = 0; r < 8; r++) {
  def(ONE_BYTE, 0xb0 + r, 'mov', 'Zb,Ib', mv.movRbI);
  def(ONE_BYTE, 0xb8 + r, 'mov', 'Zv,Iz', [mv.movRwI, mv.movRdI]);
}
const SHIFT_NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
const shiftFlags = (op: number): FlagEffect => (op < 2 ? ROTATE : op < 4 ? ROTATE_CARRY : SHIFT);
const shiftGroup = (operands: string, imm2: number): GroupEntry[] =>
  SHIFT_NAMES.map((n, op) => [n, operands, operands.startsWith('Eb') ? sh.shiftEb : [sh.shiftEw, sh.shiftEd], { flags: shiftFlags(op), imm2, cost: op === 2 || op === 3 ? 4 : 1 }] as const);
group(ONE_BYTE, 0xc0, shiftGroup('Eb,Ib', 0));
group(ONE_BYTE, 0xc1, shiftGroup('Ev,Ib', 0));
def(ONE_BYTE, 0xc2, 'ret', 'Iw', ctl.retNear, { ends: true, cost: 2 });
def(ONE_BYTE, 0xc3, 'ret', '', ctl.retNear, { ends: true, cost: 2 });
def(ONE_BYTE, 0xc4, 'les', 'Gv,Mp', seg.loadFarPointer, { sub: 0, ends: true, cost: 4 });
def(ONE_BYTE, 0xc5, 'lds', 'Gv,Mp', seg.loadFarPointer, { sub: 3, ends: true, cost: 4 });
group(ONE_BYTE, 0xc6, [['mov', 'Eb,Ib', mv.movEbI], null, null, null, null, null, null, null]);
group(ONE_BYTE, 0xc7, [['mov', 'Ev,Iz', [mv.movEwI, mv.movEdI]], null, null, null, null, null, null, null]);
def(ONE_BYTE, 0xc8, 'enter', 'Iw,Ib', st.enter, { cost: 6 });
def(ONE_BYTE, 0xc9, 'leave', '', st.leave, { cost: 2 });
def(ONE_BYTE, 0xca, 'retf', 'Iw', seg.retFar, { ends: true, cost: 20 });
def(ONE_BYTE, 0xcb, 'retf', '', seg.retFar, { ends: true, cost: 20 });
def(ONE_BYTE, 0xcc, 'int3', '', ctl.intN, { sub: 1, ends: true, fixedImm: 3 });
def(ONE_BYTE, 0xcd, 'int', 'Ib', ctl.intN, { sub: 1, ends: true, imm2: 1 });
def(ONE_BYTE, 0xce, 'into', '', ctl.into, { ends: true, flags: { w: '', u: '', r: 'o' } });
def(ONE_BYTE, 0xcf, 'iret', '', iret, { ends: true, flags: ARITH });
group(ONE_BYTE, 0xd0, shiftGroup('Eb,1', 0));
group(ONE_BYTE, 0xd1, shiftGroup('Ev,1', 0));
group(ONE_BYTE, 0xd2, shiftGroup('Eb,CL', 1));
group(ONE_BYTE, 0xd3, shiftGroup('Ev,CL', 1));
def(ONE_BYTE, 0xd4, 'aam', 'Ib', bcd.aam, { cost: 15, flags: { w: 'szp', u: 'oac', r: '' } });
def(ONE_BYTE, 0xd5, 'aad', 'Ib', bcd.aad, { cost: 4, flags: { w: 'szp', u: 'oac', r: '' } });
def(ONE_BYTE, 0xd6, 'salc', '', mv.salc, { flags: { w: '', u: '', r: 'c' } });
def(ONE_BYTE, 0xd7, 'xlat', '', mv.xlat);
x87Map();
def(ONE_BYTE, 0xe0, 'loopne', 'Jb', ctl.loop, { sub: 2, branch: true, flags: { w: '', u: '', r: 'z' } });
def(ONE_BYTE, 0xe1, 'loope', 'Jb', ctl.loop, { sub: 1, branch: true, flags: { w: '', u: '', r: 'z' } });
def(ONE_BYTE, 0xe2, 'loop', 'Jb', ctl.loop, { sub: 0, branch: true });
def(ONE_BYTE, 0xe3, 'jcxz', 'Jb', ctl.jcxz, { branch: true });
def(ONE_BYTE, 0xe4, 'in', 'AL,Ib', io.inAcc, { ends: true, clock: true });
def(ONE_BYTE, 0xe5, 'in', 'eAX,Ib', io.inAcc, { ends: true, clock: true });
def(ONE_BYTE, 0xe6, 'out', 'Ib,AL', io.outAcc, { ends: true, clock: true });
def(ONE_BYTE, 0xe7, 'out', 'Ib,eAX', io.outAcc, { ends: true, clock: true });
def(ONE_BYTE, 0xe8, 'call', 'Jz', ctl.callRel, { ends: true, cost: 2 });
def(ONE_BYTE, 0xe9, 'jmp', 'Jz', ctl.jmpRel, { ends: true });
def(ONE_BYTE, 0xea, 'jmp', 'Ap', seg.jmpFar, { sub: 1, ends: true, cost: 20 });
def(ONE_BYTE, 0xeb, 'jmp', 'Jb', ctl.jmpRel, { ends: true });
def(ONE_BYTE, 0xec, 'in', 'AL,DX', io.inAcc, { ends: true, clock: true, imm2: 1 });
def(ONE_BYTE, 0xed, 'in', 'eAX,DX', io.inAcc, { ends: true, clock: true, imm2: 1 });
def(ONE_BYTE, 0xee, 'out', 'DX,AL', io.outAcc, { ends: true, clock: true, imm2: 1 });
def(ONE_BYTE, 0xef, 'out', 'DX,eAX', io.outAcc, { ends: true, clock: true, imm2: 1 });
def(ONE_BYTE, 0xf1, 'int1', '', ctl.intN, { sub: 2, ends: true, fixedImm: 1 });
def(ONE_BYTE, 0xf4, 'hlt', '', ctl.hlt, { ends: true });
def(ONE_BYTE, 0xf5, 'cmc', '', mv.flagOp, { sub: 2, flags: { w: 'c', u: '', r: 'c' } });
group(ONE_BYTE, 0xf6, [
  ['test', 'Eb,Ib', alu.testEbI, { flags: LOGIC }],
  ['test', 'Eb,Ib', alu.testEbI, { flags: LOGIC }],
  ['not', 'Eb', alu.notEb, { lock: true }],
  ['neg', 'Eb', alu.negEb, { lock: true, flags: ARITH }],
  ['mul', 'Eb', md.mulEb, { cost: 4, flags: MUL }],
  ['imul', 'Eb', md.imulEb, { cost: 4, flags: MUL }],
  ['div', 'Eb', md.divEb, { cost: 20, flags: DIV }],
  ['idiv', 'Eb', md.idivEb, { cost: 20, flags: DIV }],
]);
group(ONE_BYTE, 0xf7, [
  ['test', 'Ev,Iz', [alu.testEwI, alu.testEdI], { flags: LOGIC }],
  ['test', 'Ev,Iz', [alu.testEwI, alu.testEdI], { flags: LOGIC }],
  ['not', 'Ev', [alu.notEw, alu.notEd], { lock: true }],
  ['neg', 'Ev', [alu.negEw, alu.negEd], { lock: true, flags: ARITH }],
  ['mul', 'Ev', [md.mulEw, md.mulEd], { cost: 5, flags: MUL }],
  ['imul', 'Ev', [md.imulEw, md.imulEd], { cost: 5, flags: MUL }],
  ['div', 'Ev', [md.divEw, md.divEd], { cost: 40, flags: DIV }],
  ['idiv', 'Ev', [md.idivEw, md.idivEd], { cost: 40, flags: DIV }],
]);
def(ONE_BYTE, 0xf8, 'clc', '', mv.flagOp, { sub: 0, flags: { w: 'c', u: '', r: '' } });
def(ONE_BYTE, 0xf9, 'stc', '', mv.flagOp, { sub: 1, flags: { w: 'c', u: '', r: '' } });
def(ONE_BYTE, 0xfa, 'cli', '', ef.cli, { ends: true });
def(ONE_BYTE, 0xfb, 'sti', '', ef.sti, { ends: true });
def(ONE_BYTE, 0xfc, 'cld', '', mv.flagOp, { sub: 3, flags: { w: 'd', u: '', r: '' } });
def(ONE_BYTE, 0xfd, 'std', '', mv.flagOp, { sub: 4, flags: { w: 'd', u: '', r: '' } });
group(ONE_BYTE, 0xfe, [['inc', 'Eb', alu.incDecEb, { lock: true, flags: INCDEC }], ['dec', 'Eb', alu.incDecEb, { lock: true, flags: INCDEC }], null, null, null, null, null, null]);
group(ONE_BYTE, 0xff, [
  ['inc', 'Ev', [alu.incDecEw, alu.incDecEd], { lock: true, flags: INCDEC }],
  ['dec', 'Ev', [alu.incDecEw, alu.incDecEd], { lock: true, flags: INCDEC }],
  ['call', 'Ev', ctl.callEv, { ends: true, cost: 2 }],
  ['callf', 'Mp', seg.callFar, { ends: true, cost: 20 }],
  ['jmp', 'Ev', ctl.jmpEv, { ends: true }],
  ['jmpf', 'Mp', seg.jmpFar, { ends: true, cost: 20 }],
  ['push', 'Ev', [st.pushEw, st.pushEd]],
  null,
]);

// ---------------------------------------------------------------- two-byte map (0F xx)

group(TWO_BYTE, 0x00, [
  ['sldt', 'Ev', sys.sldtStr],
  ['str', 'Ev', sys.sldtStr],
  ['lldt', 'Ew', sys.lldt, { ends: true, cost: 20 }],
  ['ltr', 'Ew', sys.ltr, { ends: true, cost: 20 }],
  ['verr', 'Ew', sys.verrVerw, { cost: 10, flags: { w: 'z', u: '', r: '' } }],
  ['verw', 'Ew', sys.verrVerw, { cost: 10, flags: { w: 'z', u: '', r: '' } }],
  null,
  null,
]);
group(TWO_BYTE, 0x01, [
  ['sgdt', 'M', sys.sgdtSidt, { cost: 4 }],
  // 0F 01 CA / CB (mod = 3): CLAC and STAC.
  ['sidt', 'M', sys.sgdtSidt, { cost: 4, registerForms: [null, null, build('clac', '', sys.clacStac, { sub: 0 }), build('stac', '', sys.clacStac, { sub: 1 }), null, null, null, null] }],
  ['lgdt', 'M', sys.lgdtLidt, { ends: true, cost: 10 }],
  // 0F 01 D8-DF (mod = 3): the SVM instructions (virtualization.ts).
  ['lidt', 'M', sys.lgdtLidt, { ends: true, cost: 10, registerForms: ['vmrun', 'vmmcall', 'vmload', 'vmsave', 'stgi', 'clgi', 'skinit', 'invlpga'].map((n, k) => build(n, '', svmInstruction, { sub: k, ends: true, cost: 50 })) }],
  ['smsw', 'Ev', sys.smsw],
  null,
  ['lmsw', 'Ew', sys.lmsw, { ends: true, cost: 10 }],
  // 0F 01 F9 (mod = 3, rm = 1): RDTSCP; the other register forms of /7 are #UD here.
  ['invlpg', 'M', sys.invlpg, { ends: true, cost: 20, registerForms: [null, build('rdtscp', '', sys.rdtscp, { cost: 20, ends: true, clock: true })] }],
]);
def(TWO_BYTE, 0x02, 'lar', 'Gv,Ew', sys.larLsl, { sub: 0, cost: 10, flags: { w: 'z', u: '', r: '' } });
def(TWO_BYTE, 0x03, 'lsl', 'Gv,Ew', sys.larLsl, { sub: 1, cost: 10, flags: { w: 'z', u: '', r: '' } });
def(TWO_BYTE, 0x06, 'clts', '', sys.clts, { ends: true, cost: 10 });
def(TWO_BYTE, 0x08, 'invd', '', sys.cacheControl, { ends: true, cost: 100 });
def(TWO_BYTE, 0x09, 'wbinvd', '', sys.cacheControl, { ends: true, cost: 100 });
def(TWO_BYTE, 0x0b, 'ud2', '', sys.undefinedOpcode, { ends: true });
for (let k = 0x18; k <= 0x1f; k++) def(TWO_BYTE, k, 'nop', 'Ev', mv.nop);
def(TWO_BYTE, 0x20, 'mov', 'Rd,Cd', sys.movRdCd, { cost: 4 });
def(TWO_BYTE, 0x21, 'mov', 'Rd,Dd', sys.movDebug, { sub: 0, cost: 4 });
def(TWO_BYTE, 0x22, 'mov', 'Cd,Rd', sys.movCdRd, { ends: true, cost: 10 });
def(TWO_BYTE, 0x23, 'mov', 'Dd,Rd', sys.movDebug, { sub: 1, ends: true, cost: 10 });
def(TWO_BYTE, 0x30, 'wrmsr', '', wrmsr, { cost: 100, ends: true, clock: true });
def(TWO_BYTE, 0x31, 'rdtsc', '', sys.rdtsc, { cost: 20, ends: true, clock: true });
def(TWO_BYTE, 0x32, 'rdmsr', '', rdmsr, { cost: 100, ends: true, clock: true });
def(TWO_BYTE, 0x34, 'sysenter', '', sysenter, { cost: 20, ends: true });
def(TWO_BYTE, 0x35, 'sysexit', '', sysexit, { cost: 20, ends: true });
for (let cc = 0; cc < 16; cc++) {
  def(TWO_BYTE, 0x40 + cc, 'cmovcc', 'Gv,Ev', [bits.cmovGw, bits.cmovGd], { sub: cc, flags: COND });
  def(TWO_BYTE, 0x80 + cc, 'jcc', 'Jz', ctl.jccRel, { sub: cc, branch: true, flags: COND });
  def(TWO_BYTE, 0x90 + cc, 'setcc', 'Eb', bits.setcc, { sub: cc, flags: COND });
}
def(TWO_BYTE, 0xa0, 'push', 'FS', seg.pushSeg, { sub: 4 });
def(TWO_BYTE, 0xa1, 'pop', 'FS', seg.popSeg, { sub: 4, ends: true, cost: 3 });
def(TWO_BYTE, 0xa2, 'cpuid', '', cpuid, { cost: 100 });
def(TWO_BYTE, 0xa3, 'bt', 'Ev,Gv', [bits.btEw, bits.btEd], { sub: 0, flags: BT });
def(TWO_BYTE, 0xa4, 'shld', 'Ev,Gv,Ib', [sh.shldEw, sh.shldEd], { sub: 0, cost: 2, flags: DOUBLE_SHIFT });
def(TWO_BYTE, 0xa5, 'shld', 'Ev,Gv,CL', [sh.shldEw, sh.shldEd], { sub: 0, imm2: 1, cost: 2, flags: DOUBLE_SHIFT });
def(TWO_BYTE, 0xa8, 'push', 'GS', seg.pushSeg, { sub: 5 });
def(TWO_BYTE, 0xa9, 'pop', 'GS', seg.popSeg, { sub: 5, ends: true, cost: 3 });
def(TWO_BYTE, 0xab, 'bts', 'Ev,Gv', [bits.btEw, bits.btEd], { sub: 1, lock: true, flags: BT });
def(TWO_BYTE, 0xac, 'shrd', 'Ev,Gv,Ib', [sh.shldEw, sh.shldEd], { sub: 1, cost: 2, flags: DOUBLE_SHIFT });
def(TWO_BYTE, 0xad, 'shrd', 'Ev,Gv,CL', [sh.shldEw, sh.shldEd], { sub: 1, imm2: 1, cost: 2, flags: DOUBLE_SHIFT });
def(TWO_BYTE, 0xaf, 'imul', 'Gv,Ev', [md.imulGwEw, md.imulGdEd], { cost: 4, flags: MUL });
def(TWO_BYTE, 0xb0, 'cmpxchg', 'Eb,Gb', mv.cmpxchgEbGb, { lock: true, cost: 3, flags: ARITH });
def(TWO_BYTE, 0xb1, 'cmpxchg', 'Ev,Gv', [mv.cmpxchgEwGw, mv.cmpxchgEdGd], { lock: true, cost: 3, flags: ARITH });
def(TWO_BYTE, 0xb2, 'lss', 'Gv,Mp', seg.loadFarPointer, { sub: 2, ends: true, cost: 4 });
def(TWO_BYTE, 0xb3, 'btr', 'Ev,Gv', [bits.btEw, bits.btEd], { sub: 2, lock: true, flags: BT });
def(TWO_BYTE, 0xb4, 'lfs', 'Gv,Mp', seg.loadFarPointer, { sub: 4, ends: true, cost: 4 });
def(TWO_BYTE, 0xb5, 'lgs', 'Gv,Mp', seg.loadFarPointer, { sub: 5, ends: true, cost: 4 });
def(TWO_BYTE, 0xb6, 'movzx', 'Gv,Eb', [mv.movzxGwEb, mv.movzxGdEb]);
def(TWO_BYTE, 0xb7, 'movzx', 'Gv,Ew', [mv.movGwEw, mv.movzxGdEw]);
group(TWO_BYTE, 0xba, [null, null, null, null, ...(['bt', 'bts', 'btr', 'btc'] as const).map((n, k) => [n, 'Ev,Ib', [bits.btEw, bits.btEd], { sub: k, imm2: 1, lock: k !== 0, flags: BT }] as const)]);
def(TWO_BYTE, 0xbb, 'btc', 'Ev,Gv', [bits.btEw, bits.btEd], { sub: 3, lock: true, flags: BT });
def(TWO_BYTE, 0xbc, 'bsf', 'Gv,Ev', [bits.bsfBsrGw, bits.bsfBsrGd], { sub: 0, cost: 2, flags: BSF });
def(TWO_BYTE, 0xbd, 'bsr', 'Gv,Ev', [bits.bsfBsrGw, bits.bsfBsrGd], { sub: 1, cost: 2, flags: BSF });
def(TWO_BYTE, 0xbe, 'movsx', 'Gv,Eb', [mv.movsxGwEb, mv.movsxGdEb]);
def(TWO_BYTE, 0xbf, 'movsx', 'Gv,Ew', [mv.movGwEw, mv.movsxGdEw]);
def(TWO_BYTE, 0xc0, 'xadd', 'Eb,Gb', mv.xaddEbGb, { lock: true, flags: ARITH });
def(TWO_BYTE, 0xc1, 'xadd', 'Ev,Gv', [mv.xaddEwGw, mv.xaddEdGd], { lock: true, flags: ARITH });
group(TWO_BYTE, 0xc7, [null, ['cmpxchg8b', 'Mq', mv.cmpxchg8b, { lock: true, cost: 6, flags: { w: 'z', u: '', r: '' } }], null, null, null, null, null, null]);
for (let r = 0; r < 8; r++) def(TWO_BYTE, 0xc8 + r, 'bswap', 'Zd', bits.bswap);
def(TWO_BYTE, 0xb9, 'ud1', 'Gv,Ev', sys.undefinedOpcode, { ends: true });
def(TWO_BYTE, 0xff, 'ud0', 'Gv,Ev', sys.undefinedOpcode, { ends: true });

// ---------------------------------------------------------------- x87 (D8-DF)

/**
 * The x87 opcode map (SDM vol. 2, A.4 tables ): each ESC byte is a group by ModRM.reg
 * whose memory forms name the operand format (Md m32, Mq m64, Mw m16, Mt m80, M environment or
 * state), and whose register forms (mod = 3) are chosen by ModRM.rm. Undocumented aliases the
 * P6 executes are included (D9 D8-DF FSTP, DC D0-DF FCOM/FCOMP, DD C8-CF and DF C8-CF FXCH,
 * DE D0-D7 FCOMP, DF D0-DF FSTP, DF C0-C7 FFREEP); holes are #UD. FISTTP (DB/DD/DF /1) is SSE3
 * and stays #UD. Costs are P6 latencies in cycles (Intel's and Agner Fog's tables), rounded.
 */
function x87Map(): void {
  const ARITH_NAMES = ['add', 'mul', 'com', 'comp', 'sub', 'subr', 'div', 'divr'];
  const ARITH_COST = [3, 5, 1, 1, 3, 3, 38, 38];
  /** Eight register forms ST(i), i = ModRM.rm, of one spec. */
  const row = (name: string, operands: string, h: Handler, o: Options = {}): OpSpec[] => {
    const spec = build(name, operands, h, o);
    return [spec, spec, spec, spec, spec, spec, spec, spec];
  };
  /** A memory-only #UD slot that still leads to register forms. */
  const undefinedForm = build('(bad)', '', fp.undefinedEsc, { ends: true });
  /** Holes are #UD, after #NM for CR0.EM or TS as for every ESC opcode. */
  const holes = (forms: readonly (OpSpec | null)[]): OpSpec[] => forms.map((f) => f ?? undefinedForm);
  const none = (forms: readonly (OpSpec | null)[]): GroupEntry => ['(bad)', 'M', fp.undefinedEsc, { ends: true, registerForms: forms }];
  /** An ESC byte's group, its register-form holes filled. */
  const escGroup = (code: number, entries: readonly GroupEntry[]): void =>
    group(
      ONE_BYTE,
      code,
      entries.map((e) => (e === null || e[3]?.registerForms === undefined ? e : ([e[0], e[1], e[2], { ...e[3], registerForms: holes(e[3].registerForms) }] as const))),
    );
  const arithRows = (dest: 'st0' | 'sti', pop: boolean): OpSpec[][] =>
    ARITH_NAMES.map((_n, reg) => {
      if (reg === 2 || reg === 3) return row(`fcom${reg === 3 ? 'p' : ''}`, 'STi', fp.compareSti, { sub: reg - 2, cost: 1 });
      // DC and DE name the reversed operation by reg 4-7: SUBR SUB DIVR DIV (SDM vol. 2, A.4 table A-16).
      const op = dest === 'sti' ? [0, 1, 2, 3, 5, 4, 7, 6][reg]! : reg;
      const name = `f${ARITH_NAMES[op]}${pop ? 'p' : ''}`;
      return row(name, dest === 'st0' ? 'ST,STi' : 'STi,ST', dest === 'st0' ? fp.arithSt0 : fp.arithSti, { sub: op, imm2: pop ? 1 : 0, cost: ARITH_COST[op] });
    });
  const arithMem = (prefix: string, operand: string, h: Handler, rows: readonly (readonly (OpSpec | null)[])[] | null): GroupEntry[] =>
    ARITH_NAMES.map((n, reg) => [`f${prefix}${n}`, operand, h, { sub: reg, cost: ARITH_COST[reg]! + 1, registerForms: rows === null ? undefined : rows[reg] }] as const);

  // D8: m32fp arithmetic; ST(0) op ST(i).
  escGroup(0xd8, arithMem('', 'Md', fp.arithM32fp, arithRows('st0', false)));

  // D9: FLD/FST/FSTP m32fp, FLDENV, FLDCW, FNSTENV, FNSTCW; FLD ST(i), FXCH, FNOP, FSTP alias, D9 E0-FF.
  const d9e: (OpSpec | null)[][] = [
    [
      build('fchs', '', fp.fsign, { sub: 0 }),
      build('fabs', '', fp.fsign, { sub: 1 }),
      null,
      null,
      build('ftst', '', fp.ftst, { cost: 1 }),
      build('fxam', '', fp.fxam, { cost: 2 }),
      null,
      null,
    ],
    [...['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz'].map((n, k) => build(n, '', fp.fldConstant, { sub: k, cost: 2 })), null],
    [
      build('f2xm1', '', ft.f2xm1, { cost: 48 }),
      build('fyl2x', '', ft.fyl2x, { cost: 54 }),
      build('fptan', '', ft.fptanFsincos, { sub: 0, cost: 102 }),
      build('fpatan', '', ft.fpatan, { cost: 135 }),
      build('fxtract', '', fp.fxtract, { cost: 12 }),
      build('fprem1', '', fp.fprem, { sub: 1, cost: 33 }),
      build('fdecstp', '', fp.fstp, { sub: -1 }),
      build('fincstp', '', fp.fstp, { sub: 1 }),
    ],
    [
      build('fprem', '', fp.fprem, { sub: 0, cost: 23 }),
      build('fyl2xp1', '', ft.fyl2xp1, { cost: 54 }),
      build('fsqrt', '', fp.fsqrt, { cost: 69 }),
      build('fsincos', '', ft.fptanFsincos, { sub: 1, cost: 97 }),
      build('frndint', '', fp.frndint, { cost: 30 }),
      build('fscale', '', fp.fscale, { cost: 56 }),
      build('fsin', '', ft.fsinFcos, { sub: 0, cost: 97 }),
      build('fcos', '', ft.fsinFcos, { sub: 1, cost: 97 }),
    ],
  ];
  const fnopRow: (OpSpec | null)[] = [build('fnop', '', fp.fnop, {}), null, null, null, null, null, null, null];
  escGroup(0xd9, [
    ['fld', 'Md', fp.fldM32fp, { cost: 1, registerForms: row('fld', 'STi', fp.fldSti) }],
    none(row('fxch', 'STi', fp.fxch)),
    ['fst', 'Md', fp.fstM32fp, { sub: 0, cost: 2, registerForms: fnopRow }],
    ['fstp', 'Md', fp.fstM32fp, { sub: 1, cost: 2, registerForms: row('fstp', 'STi', fp.fstSti, { sub: 1 }) }],
    ['fldenv', 'M', fc.fldenv, { cost: 20, registerForms: d9e[0] }],
    ['fldcw', 'Mw', fc.fldcw, { cost: 8, registerForms: d9e[1] }],
    ['fnstenv', 'M', fc.fnstenv, { cost: 30, registerForms: d9e[2] }],
    ['fnstcw', 'Mw', fc.fnstcw, { cost: 2, registerForms: d9e[3] }],
  ]);

  // DA: m32int arithmetic; FCMOVB/E/BE/U, FUCOMPP.
  const fcmov = (name: string, cc: number): OpSpec[] => row(name, 'ST,STi', fp.fcmov, { sub: cc, cost: 2 });
  const daRows: (readonly (OpSpec | null)[])[] = [
    fcmov('fcmovb', 2),
    fcmov('fcmove', 4),
    fcmov('fcmovbe', 6),
    fcmov('fcmovu', 10),
    [null, null, null, null, null, null, null, null],
    [null, build('fucompp', '', fp.compareSt1Pop2, { imm2: 1, cost: 1 }), null, null, null, null, null, null],
    [null, null, null, null, null, null, null, null],
    [null, null, null, null, null, null, null, null],
  ];
  escGroup(
    0xda,
    arithMem('i', 'Md', fp.arithM32int, null).map((e, reg) => [e![0], e![1], e![2], { ...e![3], cost: ARITH_COST[reg]! + 4, registerForms: daRows[reg] }] as const),
  );

  // DB: FILD/FIST/FISTP m32int, FLD/FSTP m80fp; FCMOVNB/NE/NBE/NU, FNENI FNDISI FNCLEX FNINIT FNSETPM, FUCOMI, FCOMI.
  const dbControl: (OpSpec | null)[] = [
    build('fneni', '', fc.fnLegacy, {}),
    build('fndisi', '', fc.fnLegacy, {}),
    build('fnclex', '', fc.fnclex, { cost: 9 }),
    build('fninit', '', fc.fninit, { cost: 12 }),
    build('fnsetpm', '', fc.fnLegacy, {}),
    null,
    null,
    null,
  ];
  const noRegs: (OpSpec | null)[] = [null, null, null, null, null, null, null, null];
  escGroup(0xdb, [
    ['fild', 'Md', fp.fildM32, { cost: 5, registerForms: fcmov('fcmovnb', 3) }],
    none(fcmov('fcmovne', 5)),
    ['fist', 'Md', fp.fist, { sub: 0, imm2: 32, cost: 5, registerForms: fcmov('fcmovnbe', 7) }],
    ['fistp', 'Md', fp.fist, { sub: 1, imm2: 32, cost: 5, registerForms: fcmov('fcmovnu', 11) }],
    none(dbControl),
    ['fld', 'Mt', fp.fldM80, { cost: 3, registerForms: row('fucomi', 'ST,STi', fp.compareEflags, { sub: 0, imm2: 1, cost: 1 }) }],
    none(row('fcomi', 'ST,STi', fp.compareEflags, { sub: 0, imm2: 0, cost: 1 })),
    ['fstp', 'Mt', fp.fstpM80, { cost: 3, registerForms: noRegs }],
  ]);

  // DC: m64fp arithmetic; ST(i) op ST(0) (FCOM2/FCOMP3 aliases at D0-DF).
  escGroup(0xdc, arithMem('', 'Mq', fp.arithM64fp, arithRows('sti', false)));

  // DD: FLD/FST/FSTP m64fp, FRSTOR, FNSAVE, FNSTSW m16; FFREE, FXCH4, FST, FSTP, FUCOM, FUCOMP.
  escGroup(0xdd, [
    ['fld', 'Mq', fp.fldM64fp, { cost: 1, registerForms: row('ffree', 'STi', fp.ffree, { sub: 0 }) }],
    none(row('fxch', 'STi', fp.fxch)),
    ['fst', 'Mq', fp.fstM64fp, { sub: 0, cost: 2, registerForms: row('fst', 'STi', fp.fstSti, { sub: 0 }) }],
    ['fstp', 'Mq', fp.fstM64fp, { sub: 1, cost: 2, registerForms: row('fstp', 'STi', fp.fstSti, { sub: 1 }) }],
    ['frstor', 'M', fc.frstor, { cost: 80, registerForms: row('fucom', 'STi', fp.compareSti, { sub: 0, imm2: 1, cost: 1 }) }],
    none(row('fucomp', 'STi', fp.compareSti, { sub: 1, imm2: 1, cost: 1 })),
    ['fnsave', 'M', fc.fnsave, { cost: 100, registerForms: noRegs }],
    ['fnstsw', 'Mw', fc.fnstswM, { cost: 2, registerForms: noRegs }],
  ]);

  // DE: m16int arithmetic; ST(i) op ST(0) and pop (FCOMP5 alias at D0-D7, FCOMPP at D9).
  const deRows: (readonly (OpSpec | null)[])[] = arithRows('sti', true);
  deRows[2] = row('fcomp', 'STi', fp.compareSti, { sub: 1, cost: 1 });
  deRows[3] = [null, build('fcompp', '', fp.compareSt1Pop2, { imm2: 0, cost: 1 }), null, null, null, null, null, null];
  escGroup(
    0xde,
    arithMem('i', 'Mw', fp.arithM16int, deRows).map((e, reg) => [e![0], e![1], e![2], { ...e![3], cost: ARITH_COST[reg]! + 4 }] as const),
  );

  // DF: FILD/FIST/FISTP m16int, FBLD, FILD m64int, FBSTP, FISTP m64int; FFREEP, FXCH7, FSTP8/9, FNSTSW AX, FUCOMIP, FCOMIP.
  escGroup(0xdf, [
    ['fild', 'Mw', fp.fildM16, { cost: 5, registerForms: row('ffreep', 'STi', fp.ffree, { sub: 1 }) }],
    none(row('fxch', 'STi', fp.fxch)),
    ['fist', 'Mw', fp.fist, { sub: 0, imm2: 16, cost: 5, registerForms: row('fstp', 'STi', fp.fstSti, { sub: 1 }) }],
    ['fistp', 'Mw', fp.fist, { sub: 1, imm2: 16, cost: 5, registerForms: row('fstp', 'STi', fp.fstSti, { sub: 1 }) }],
    ['fbld', 'Mt', fp.fbld, { cost: 76, registerForms: [build('fnstsw', 'AX', fc.fnstswAx, { cost: 2 }), null, null, null, null, null, null, null] }],
    ['fild', 'Mq', fp.fildM64, { cost: 5, registerForms: row('fucomip', 'ST,STi', fp.compareEflags, { sub: 1, imm2: 1, cost: 1 }) }],
    ['fbstp', 'Mt', fp.fbstp, { cost: 165, registerForms: row('fcomip', 'ST,STi', fp.compareEflags, { sub: 1, imm2: 0, cost: 1 }) }],
    ['fistp', 'Mq', fp.fist, { sub: 1, imm2: 64, cost: 5, registerForms: noRegs }],
  ]);
}
