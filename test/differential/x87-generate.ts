/**
 * Random x87 cases for the differential test, driven by the opcode table (ONE_BYTE D8-DF, memory
 * forms by ModRM.reg and register forms by ModRM.rm). A case is a run of the native harness's
 * ordinary kind (native-harness.c): its code starts with FRSTOR of a random machine state (control
 * word with every precision and rounding control and random masks, status word, tags, pointers,
 * eight registers full of special values), executes 1-8 random x87 instructions, each followed by
 * FNSTSW to a log in the scratch area (and, when an exception may be unmasked, usually FNCLEX so
 * that the next instruction runs: without it the next waiting instruction raises #MF, SIGFPE), and
 * ends with FNSAVE: every register, the status, control and tag words, the pointers, the status
 * after each instruction and every memory result are compared byte for byte.
 *
 * Not generated: FISTTP (SSE3, #UD here, executed by the host). Transcendentals (F2XM1 FYL2X
 * FYL2XP1 FPTAN FPATAN FSIN FCOS FSINCOS) are generated only in their own cases (`transcendental`),
 * one per case, compared within one ulp (x87-run.ts).
 */
import { ONE_BYTE, type OpSpec } from '../../src/hw/cpu/opcodes.ts';
import type { GenInsn, Patch, TestCase } from './generate.ts';
import { ARITH_MASK, Rng, SCRATCH_BASE } from './layout.ts';

/** Scratch offsets: the initial state image, the final FNSAVE, per-instruction operand slots and areas, the status log. */
export const X87_LAYOUT = {
  INITIAL: 0x000,
  FINAL: 0x080,
  SLOTS: 0x100,
  SLOT_SIZE: 0x10,
  LOG: 0x300,
  AREAS: 0x400,
  AREA_SIZE: 0x80,
} as const;

/** The format of a form's memory operand. */
export type MemFormat = 'f32' | 'f64' | 'f80' | 'i16' | 'i32' | 'i64' | 'bcd' | 'cw' | 'sw' | 'env' | 'save';

export interface X87Form {
  readonly spec: OpSpec;
  readonly esc: number;
  readonly reg: number;
  /** ModRM.rm of a register form (mod = 3), or -1 for a memory form. */
  readonly rm: number;
  readonly fmt: MemFormat | null;
  /** Writes its memory operand. */
  readonly store: boolean;
}

export const TRANSCENDENTAL = new Set(['f2xm1', 'fyl2x', 'fyl2xp1', 'fptan', 'fpatan', 'fsin', 'fcos', 'fsincos']);

function formatOf(spec: OpSpec): { fmt: MemFormat; store: boolean } {
  const n = spec.name;
  const op = spec.operands;
  const store = /^(fst|fstp|fist|fistp|fbstp|fnstenv|fnsave|fnstcw|fnstsw)$/.test(n);
  if (n === 'fldenv' || n === 'fnstenv') return { fmt: 'env', store };
  if (n === 'frstor' || n === 'fnsave') return { fmt: 'save', store };
  if (n === 'fldcw' || n === 'fnstcw') return { fmt: 'cw', store };
  if (n === 'fnstsw') return { fmt: 'sw', store };
  if (n === 'fbld' || n === 'fbstp') return { fmt: 'bcd', store };
  const integer = n.startsWith('fi');
  if (op === 'Md') return { fmt: integer ? 'i32' : 'f32', store };
  if (op === 'Mq') return { fmt: integer ? 'i64' : 'f64', store };
  if (op === 'Mw') return { fmt: 'i16', store };
  if (op === 'Mt') return { fmt: 'f80', store };
  throw new Error(`x87 generator: no memory format for ${n} ${op}`);
}

function buildForms(): X87Form[] {
  const forms: X87Form[] = [];
  for (let esc = 0xd8; esc <= 0xdf; esc++) {
    const group = ONE_BYTE[esc]!.group!;
    for (let reg = 0; reg < 8; reg++) {
      const m = group[reg];
      if (m === null || m === undefined) continue;
      if (m.name !== '(bad)') forms.push({ spec: m, esc, reg, rm: -1, ...formatOf(m) });
      const regs = m.registerForms;
      if (regs === null) continue;
      for (let rm = 0; rm < 8; rm++) {
        const r = regs[rm];
        if (r !== null && r !== undefined) forms.push({ spec: r, esc, reg, rm, fmt: null, store: false });
      }
    }
  }
  return forms;
}

/** Every x87 form of the opcode table. */
export const X87_FORMS: readonly X87Form[] = buildForms();
/**
 * Forms whose behaviour differs between processor makers, not generated: D9 D8-DF is an alias of
 * FSTP ST(i) on the P6 (what the emulator follows), but AMD processors execute it as FSTPNCE:
 * no stack fault for an empty ST(0), whose tag is copied.
 */
function vendorSpecific(f: X87Form): boolean {
  return f.esc === 0xd9 && f.rm >= 0 && f.reg === 3;
}
const EXACT_FORMS = X87_FORMS.filter((f) => !TRANSCENDENTAL.has(f.spec.name) && !vendorSpecific(f));
const TRANS_FORMS = X87_FORMS.filter((f) => TRANSCENDENTAL.has(f.spec.name));

/** Relative weights by name (default 1): arithmetic and loads and stores most. */
const WEIGHT: Readonly<Record<string, number>> = {
  '(bad)': 0.01,
  fninit: 0.2,
  fnsave: 0.3,
  frstor: 0.3,
  fldenv: 0.3,
  fnstenv: 0.3,
  fneni: 0.1,
  fndisi: 0.1,
  fnsetpm: 0.1,
  fdecstp: 0.3,
  fincstp: 0.3,
  ffree: 0.4,
  ffreep: 0.4,
  fnop: 0.2,
};

// ------------------------------------------------------------------ values

const BIAS = 16383;

/** An extended value: [sign|exponent, significand high, low]. */
type F80 = [number, number, number];

function rand32(rng: Rng): number {
  return rng.u32() >>> 0;
}

/** A significand with a pattern near a rounding boundary at 64, 53 or 24 bits, or random. */
function significand(rng: Rng): [number, number] {
  let hi = (rand32(rng) | 0x80000000) >>> 0;
  let lo = rand32(rng);
  switch (rng.int(8)) {
    case 0: {
      // Near half an ulp at 53 bits (bits 10..0) or 24 bits (bits 39..0).
      const t = rng.pick([0x400, 0x3ff, 0x401, 0x000, 0x7ff, 0xc00]);
      lo = ((lo & ~0x7ff) | t) >>> 0;
      break;
    }
    case 1: {
      const t = rng.pick([0x80, 0x7f, 0x81, 0x00, 0xff]);
      hi = ((hi & ~0xff) | t) >>> 0;
      lo = rng.pick([0, 0, 1, 0xffffffff, rand32(rng)]);
      break;
    }
    case 2:
      lo = rng.pick([0, 1, 0x80000000, 0xffffffff, 0x7fffffff]);
      break;
    case 3:
      hi = rng.pick([0x80000000, 0xffffffff, 0xc0000000, 0x80000001]);
      lo = rng.pick([0, 0xffffffff, 1, rand32(rng)]);
      break;
    default:
      break;
  }
  return [hi, lo];
}

/** An extended value: special encodings, boundaries, integers, halves, or random normals. */
export function randomF80(rng: Rng): F80 {
  const sign = rng.chance(0.5) ? 0x8000 : 0;
  const [hi, lo] = significand(rng);
  switch (rng.int(24)) {
    case 0:
      return [sign, 0, 0];
    case 1:
      return [sign | 0x7fff, 0x80000000, 0];
    case 2:
      return [sign | 0x7fff, (0xc0000000 | (rand32(rng) & rng.pick([0, 0x3fffffff]))) >>> 0, rng.pick([0, rand32(rng)])];
    case 3: {
      const h = (0x80000000 | (rand32(rng) & 0x3fffffff)) >>> 0;
      return [sign | 0x7fff, h, h === 0x80000000 ? rand32(rng) | 1 : rng.pick([0, rand32(rng)])];
    }
    case 4:
      return [0xffff, 0xc0000000, 0];
    case 5:
      // Denormal.
      return [sign, hi >>> rng.range(1, 40), lo];
    case 6:
      // Pseudo-denormal.
      return [sign, hi, lo];
    case 7:
      // Unnormal.
      return [sign | rng.range(1, 0x7ffe), hi >>> rng.range(1, 63), lo];
    case 8:
      // Pseudo-infinity or pseudo-NaN.
      return [sign | 0x7fff, rng.chance(0.5) ? 0 : hi & 0x7fffffff, rng.chance(0.5) ? 0 : lo];
    case 9:
      return [sign | rng.pick([1, 2, 3, 0x7ffe, 0x7ffd, 0x7ffc]), hi, lo];
    case 10: {
      // Small integers and halves: exact values that FRNDINT, FIST, FBSTP and FPREM care about.
      const e = rng.range(0, 12);
      const h = (0x80000000 | ((rand32(rng) >>> (e + 1)) << 0)) >>> 0;
      return [sign | (BIAS + e), h & ~((1 << Math.max(0, 30 - e)) - 1) >>> 0, 0];
    }
    case 11:
      // Integers near the int16, int32, int64 and BCD limits.
      return [sign | (BIAS + rng.pick([14, 15, 16, 30, 31, 32, 59, 60, 62, 63, 64])), hi, rng.chance(0.5) ? 0 : lo];
    case 12:
      return [sign | (BIAS + rng.range(-2, 2)), hi, lo];
    case 13:
      // Near the single and double limits (FST m32fp/m64fp overflow and underflow).
      return [sign | (BIAS + rng.pick([127, 128, -126, -127, -149, -150, 1023, 1024, -1022, -1023, -1074, -1075]) + rng.range(-1, 1)), hi, lo];
    case 14:
      return [sign | (BIAS + rng.range(-16382, 16383)), hi, lo];
    case 15:
      return [sign | (BIAS + rng.range(-80, 80)), 0x80000000, 0];
    default:
      return [sign | (BIAS + rng.range(-40, 40)), hi, lo];
  }
}

/** 'finite' for normal, denormal and unsupported-but-finite encodings; 'special' for zeros, infinities, NaNs. */
function kindOf80(v: F80): 'finite' | 'special' {
  const e = v[0] & 0x7fff;
  if (e === 0x7fff || (e === 0 && (v[1] | v[2]) === 0)) return 'special';
  return 'finite';
}

/** A value related to `v`: equal, negated, a few ulps away, or a close exponent (cancellation, ties, equal compares). */
function related(rng: Rng, v: F80): F80 {
  const [se, hi, lo] = v;
  switch (rng.int(5)) {
    case 0:
      return [se, hi, lo];
    case 1:
      return [se ^ 0x8000, hi, lo];
    case 2:
      return [se, hi, (lo + rng.range(-3, 3)) >>> 0];
    case 3:
      return [(se & 0x8000) | Math.max(1, Math.min(0x7ffe, (se & 0x7fff) + rng.range(-70, 70))), hi, lo];
    default:
      return [(se & 0x8000) | Math.max(1, Math.min(0x7ffe, (se & 0x7fff) + rng.range(-2, 2))), (hi ^ (rand32(rng) & 0xff)) >>> 0 | 0x80000000, rand32(rng)];
  }
}

function writeF80(out: number[], v: F80): void {
  const [se, hi, lo] = v;
  for (let k = 0; k < 4; k++) out.push((lo >>> (8 * k)) & 0xff);
  for (let k = 0; k < 4; k++) out.push((hi >>> (8 * k)) & 0xff);
  out.push(se & 0xff, (se >>> 8) & 0xff);
}

function le(out: number[], v: number, bytes: number): void {
  for (let k = 0; k < bytes; k++) out.push(Math.floor(v / 2 ** (8 * k)) & 0xff);
}

function randomF32(rng: Rng): number {
  const s = rng.chance(0.5) ? 0x80000000 : 0;
  const frac = rng.pick([0, 1, 0x400000, 0x3fffff, 0x7fffff, rand32(rng) & 0x7fffff]);
  switch (rng.int(10)) {
    case 0:
      return s;
    case 1:
      return (s | 0x7f800000) >>> 0;
    case 2:
      return (s | 0x7fc00000 | (rand32(rng) & 0x3fffff)) >>> 0;
    case 3:
      return (s | 0x7f800000 | ((rand32(rng) & 0x3fffff) || 1)) >>> 0;
    case 4:
      return (s | (frac || 1)) >>> 0;
    case 5:
      return (s | (rng.pick([1, 2, 0xfe, 0xfd]) << 23) | frac) >>> 0;
    default:
      return (s | (rng.range(100, 154) << 23) | (rand32(rng) & 0x7fffff)) >>> 0;
  }
}

function randomF64(rng: Rng): [number, number] {
  const s = rng.chance(0.5) ? 0x80000000 : 0;
  const fh = rng.pick([0, 0x80000, 0x7ffff, 0xfffff, rand32(rng) & 0xfffff]);
  const fl = rng.pick([0, 1, 0xffffffff, rand32(rng)]);
  switch (rng.int(10)) {
    case 0:
      return [s, 0];
    case 1:
      return [(s | 0x7ff00000) >>> 0, 0];
    case 2:
      return [(s | 0x7ff80000 | (rand32(rng) & 0x7ffff)) >>> 0, rand32(rng)];
    case 3:
      return [(s | 0x7ff00000 | (rand32(rng) & 0x7ffff)) >>> 0, rand32(rng) | 1];
    case 4:
      return [(s | fh) >>> 0, fl | (fh === 0 ? 1 : 0)];
    case 5:
      return [(s | (rng.pick([1, 2, 0x7fe, 0x7fd]) << 20) | fh) >>> 0, fl];
    default:
      return [(s | (rng.range(980, 1070) << 20) | (rand32(rng) & 0xfffff)) >>> 0, rand32(rng)];
  }
}

function randomInt(rng: Rng, bits: number): number[] {
  const out: number[] = [];
  const bytes = bits / 8;
  switch (rng.int(4)) {
    case 0: {
      const v = rng.pick([0, 1, -1, 2, -2, 10, -10]);
      for (let k = 0; k < bytes; k++) out.push(k < 4 ? (v >>> (8 * k)) & 0xff : v < 0 ? 0xff : 0);
      return out;
    }
    case 1: {
      // The most negative and largest values, and their neighbours.
      const top = rng.pick([0x80, 0x7f]);
      const fill = top === 0x80 ? 0 : 0xff;
      for (let k = 0; k < bytes - 1; k++) out.push(fill);
      out.push(top);
      out[0] = (out[0]! + rng.range(0, 1)) & 0xff;
      return out;
    }
    default:
      for (let k = 0; k < bytes; k++) out.push(rng.int(256));
      return out;
  }
}

function randomBcd(rng: Rng): number[] {
  const out: number[] = [];
  const digits = rng.pick([1, 2, 5, 9, 17, 18, 18, 18]);
  for (let k = 0; k < 9; k++) {
    const d0 = 2 * k < digits ? rng.int(10) : 0;
    const d1 = 2 * k + 1 < digits ? rng.int(10) : 0;
    out.push(d0 | (d1 << 4));
  }
  out.push(rng.chance(0.5) ? 0x80 : 0);
  return out;
}

/** A control word: every precision and rounding control, usually all exceptions masked. */
function randomCw(rng: Rng): number {
  const masks = rng.chance(0.65) ? 0x3f : rng.chance(0.5) ? rand32(rng) & 0x3f : 0x3f & ~(1 << rng.int(6));
  const pc = rng.pick([0, 2, 3, 3, 1]);
  const rc = rng.int(4);
  return masks | (pc << 8) | (rc << 10) | (rand32(rng) & 0xe0c0);
}

/** An environment image (28 bytes, or 14 with a 16-bit operand size) of a plausible state. */
function randomEnv(rng: Rng, cw: number, wide: boolean, allowPending: boolean): number[] {
  const masks = cw & 0x3f;
  let flags = rand32(rng) & 0x7f;
  if (!allowPending) flags &= masks | 0x40;
  const sw = flags | (rand32(rng) & 0x4700) | (rng.int(8) << 11) | (rand32(rng) & 0x8080);
  let tw = 0;
  for (let r = 0; r < 8; r++) tw |= (rng.chance(0.4) ? 3 : rng.int(3)) << (2 * r);
  const out: number[] = [];
  const words = [cw, sw, tw, rand32(rng), (rand32(rng) & 0x07ffffff) >>> 0, rand32(rng), rand32(rng)];
  if (wide) for (const w of words) le(out, w >>> 0, 4);
  else for (const w of words) le(out, w & 0xffff, 2);
  return out;
}

/**
 * An operand in the domain the SDM defines a transcendental instruction for (ST(0) is r = 0,
 * ST(1) r = 1): F2XM1 |x| <= 1, FYL2XP1 |x| < 1 - sqrt(2)/2, FYL2X x > 0; the trigonometric ones
 * any size below 2^63, near multiples of pi/2, and now and then beyond (C2).
 */
function domainValue(rng: Rng, name: string, r: number): F80 {
  const sign = rng.chance(0.5) ? 0x8000 : 0;
  const [hi, lo] = significand(rng);
  const e = (lo2: number, hi2: number): number => BIAS + rng.range(lo2, hi2);
  if (r === 1) return name === 'fpatan' ? [sign | e(-40, 40), hi, lo] : [sign | e(-30, 30), hi, lo];
  switch (name) {
    case 'f2xm1':
      return rng.chance(0.05) ? [sign | BIAS, 0x80000000, 0] : [sign | e(-70, -1), hi, lo];
    case 'fyl2xp1':
      return [sign | e(-70, -3), hi, lo];
    case 'fyl2x':
      return rng.chance(0.2) ? [e(-1, 0), hi, lo] : rng.chance(0.1) ? [e(-2000, 2000), 0x80000000, 0] : [e(-2000, 2000), hi, lo];
    case 'fpatan':
      return [sign | e(-40, 40), hi, lo];
    default: {
      // Near k * pi/2 for the trigonometric instructions, at every scale up to 2^63.
      if (rng.chance(0.3)) {
        const k = rng.range(1, 2 ** rng.range(1, 52));
        const v = (k * Math.PI) / 2;
        const bits = new DataView(new ArrayBuffer(8));
        bits.setFloat64(0, v);
        const h = bits.getUint32(0);
        const l = bits.getUint32(4);
        const ex = ((h >>> 20) & 0x7ff) - 1023;
        const sh = (((h & 0xfffff) << 11) | (l >>> 21) | 0x80000000) >>> 0;
        const sl = ((l << 11) >>> 0) ^ (rand32(rng) & rng.pick([0, 0x7ff, 0xffffffff]));
        return [sign | (BIAS + ex), sh, sl >>> 0];
      }
      if (rng.chance(0.05)) return [sign | e(63, 70), hi, lo];
      return [sign | e(-70, 62), hi, lo];
    }
  }
}

// ------------------------------------------------------------------ cases

interface Built {
  bytes: number[];
  name: string;
}

/** ModRM and displacement for a memory operand at scratch offset `off`: [ebx + disp32] or [disp32] (EBX = SCRATCH_BASE). */
function memoryOperand(rng: Rng, reg: number, off: number): number[] {
  const out: number[] = [];
  if (rng.chance(0.5)) {
    out.push((2 << 6) | (reg << 3) | 3);
    le(out, off, 4);
  } else {
    out.push((reg << 3) | 5);
    le(out, SCRATCH_BASE + off, 4);
  }
  return out;
}

export interface X87Case extends TestCase {
  /** The drawn instructions' forms (helpers excluded), in order. */
  readonly forms: readonly X87Form[];
  readonly transcendental: boolean;
}

const FNSTSW_LOG = (k: number): number[] => [0xdd, (2 << 6) | (7 << 3) | 3, ...[0, 1, 2, 3].map((b) => ((X87_LAYOUT.LOG + 2 * k) >>> (8 * b)) & 0xff)];
const FNCLEX = [0xdb, 0xe2];
const FRSTOR_INITIAL = [0xdd, (4 << 3) | 3];
const FNSAVE_FINAL = [0xdd, (2 << 6) | (6 << 3) | 3, X87_LAYOUT.FINAL, 0, 0, 0];

/** Generates case `index` of a run with this seed; `transcendental` cases hold one transcendental instruction. */
export function generateX87Case(seed: number, index: number, transcendental: boolean): X87Case {
  const rng = new Rng(seed ^ 0x87, index);
  const regs = new Int32Array(8);
  for (let r = 0; r < 8; r++) regs[r] = rand32(rng) | 0;
  regs[3] = SCRATCH_BASE;
  regs[4] = SCRATCH_BASE + 0x1c00;
  const eflags = rand32(rng) & 0x08d5;
  const memSeed = rand32(rng);
  const patches: Patch[] = [];
  const insns: GenInsn[] = [];
  const forms: X87Form[] = [];
  let offset = 0;
  const emit = (bytes: readonly number[], name: string, helper: boolean): void => {
    insns.push({ offset, bytes, name, helper });
    offset += bytes.length;
  };

  // The initial state: FRSTOR image.
  const cw = randomCw(rng);
  const allowPending = rng.chance(0.03);
  const image = randomEnv(rng, cw, true, allowPending);
  const values: F80[] = [];
  const transForm = transcendental ? pickForm(rng, true) : null;
  for (let r = 0; r < 8; r++) {
    let v = r > 0 && rng.chance(0.35) ? related(rng, values[rng.int(r)]!) : randomF80(rng);
    if (transForm !== null && r < 2) {
      // Inside the SDM's domain (F2XM1, FYL2XP1: undefined outside), or a special value.
      const name = transForm.spec.name;
      const domainOnly = r === 0 && (name === 'f2xm1' || name === 'fyl2xp1');
      if (rng.chance(0.85)) v = domainValue(rng, name, r);
      else if (domainOnly && kindOf80(v) === 'finite') v = domainValue(rng, name, r);
    }
    values.push(v);
    writeF80(image, v);
  }
  patches.push({ offset: X87_LAYOUT.INITIAL, bytes: Uint8Array.from(image) });
  emit(FRSTOR_INITIAL, 'frstor (helper)', true);
  const unmaskedPossible = (cw & 0x3f) !== 0x3f;

  const count = transcendental ? 1 : rng.range(1, 8);
  for (let k = 0; k < count; k++) {
    const form = transForm ?? pickForm(rng, false);
    const built = encode(rng, form, k, patches);
    emit(built.bytes, built.name, false);
    forms.push(form);
    emit(FNSTSW_LOG(k), 'fnstsw (helper)', true);
    if (unmaskedPossible && rng.chance(0.85)) emit(FNCLEX, 'fnclex (helper)', true);
    if (form.spec.name === 'fldcw' || form.spec.name === 'fldenv' || form.spec.name === 'frstor') {
      // A loaded control word may unmask an exception already flagged: clear it usually.
      if (rng.chance(0.85)) emit(FNCLEX, 'fnclex (helper)', true);
    }
  }
  emit(FNSAVE_FINAL, 'fnsave (helper)', true);
  const code = new Uint8Array(offset);
  for (const i of insns) code.set(i.bytes, i.offset);
  const flagMasks = new Array<number>(insns.length + 1).fill(ARITH_MASK);
  return { seed, index, regs, eflags, memSeed, patches, code, insns, flagMasks, forms, transcendental };
}

function pickForm(rng: Rng, transcendental: boolean): X87Form {
  const list = transcendental ? TRANS_FORMS : EXACT_FORMS;
  for (;;) {
    const f = rng.pick(list);
    const w = WEIGHT[f.spec.name] ?? 1;
    if (w >= 1 || rng.chance(w)) return f;
  }
}

function encode(rng: Rng, form: X87Form, k: number, patches: Patch[]): Built {
  const bytes: number[] = [];
  const name = `${form.spec.name} ${form.spec.operands}`.trim();
  if (rng.chance(0.04)) bytes.push(0x66);
  if (form.rm >= 0) {
    bytes.push(form.esc, 0xc0 | (form.reg << 3) | form.rm);
    return { bytes, name };
  }
  const fmt = form.fmt!;
  const big = fmt === 'env' || fmt === 'save';
  if (big && rng.chance(0.3) && bytes[0] !== 0x66) bytes.push(0x66);
  const wide = bytes[0] !== 0x66;
  const off = big ? X87_LAYOUT.AREAS + X87_LAYOUT.AREA_SIZE * k : X87_LAYOUT.SLOTS + X87_LAYOUT.SLOT_SIZE * k;
  // Segment overrides that are flat natively (reads may also go through CS).
  if (rng.chance(0.15)) bytes.push(rng.pick(form.store ? [0x26, 0x36, 0x3e] : [0x26, 0x2e, 0x36, 0x3e]));
  bytes.push(form.esc, ...memoryOperand(rng, form.reg, off));
  if (!form.store) {
    const data: number[] = [];
    switch (fmt) {
      case 'f32':
        le(data, randomF32(rng), 4);
        break;
      case 'f64': {
        const [h, l] = randomF64(rng);
        le(data, l, 4);
        le(data, h, 4);
        break;
      }
      case 'f80':
        writeF80(data, randomF80(rng));
        break;
      case 'i16':
        data.push(...randomInt(rng, 16));
        break;
      case 'i32':
        data.push(...randomInt(rng, 32));
        break;
      case 'i64':
        data.push(...randomInt(rng, 64));
        break;
      case 'bcd':
        data.push(...randomBcd(rng));
        break;
      case 'cw':
        le(data, randomCw(rng), 2);
        break;
      case 'env':
      case 'save': {
        const cw = randomCw(rng);
        data.push(...randomEnv(rng, cw, wide, rng.chance(0.05)));
        if (fmt === 'save') for (let r = 0; r < 8; r++) writeF80(data, randomF80(rng));
        break;
      }
      case 'sw':
        break;
    }
    if (data.length > 0) patches.push({ offset: off, bytes: Uint8Array.from(data) });
  }
  return { bytes, name };
}
