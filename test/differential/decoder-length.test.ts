/**
 * Decoder length cross-check: the emulator's decoder (decode() in src/hw/cpu/decoder.ts) and
 * iced-x86 in 32-bit mode must agree on the length of
 *   1. every instruction of random sequences from the differential-test generator, and
 *   2. random encodings of every form of the opcode table: random prefixes, ModRM (with the
 *      group's reg field, and mod != 3 for memory-only forms), SIB, displacement, immediate.
 * Only opcodes the table defines are used; prefix combinations that turn an opcode into a
 * different instruction outside the table (F2/F3 with 0F xx: POPCNT, TZCNT, LZCNT, SSE) are not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Decoder, DecoderOptions } from 'iced-x86';
import { decode } from '../../src/hw/cpu/decoder.ts';
import { CATALOG, type Form, generateCase } from './generate.ts';
import { Rng } from './layout.ts';

const SEED = 0x1e9c7a;
const STRIDE = 32;

interface Sample {
  readonly bytes: readonly number[];
  readonly what: string;
}

/** Lengths by iced-x86 for each sample (laid out at a fixed stride in one buffer). */
function icedLengths(samples: readonly Sample[]): number[] {
  const buf = new Uint8Array(samples.length * STRIDE);
  for (let k = 0; k < samples.length; k++) buf.set(samples[k]!.bytes, k * STRIDE);
  const decoder = new Decoder(32, buf, DecoderOptions.NoInvalidCheck);
  const lengths: number[] = [];
  for (let k = 0; k < samples.length; k++) {
    decoder.position = k * STRIDE;
    const insn = decoder.decode();
    lengths.push(insn.isInvalid ? -1 : insn.length);
    insn.free();
  }
  decoder.free();
  return lengths;
}

function emulatorLength(bytes: readonly number[]): number {
  const insn = decode((k) => (k < bytes.length ? bytes[k]! : -1), true);
  return insn === null ? -1 : insn.len;
}

function hexBytes(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Checks every sample iced-x86 considers a valid instruction (even with NoInvalidCheck it
 * rejects, e.g., LEA with a register operand or MOV Sreg 6/7: lengths of #UD encodings are not
 * compared). `exact`: the sample is exactly one instruction. Returns the number checked.
 */
function check(samples: readonly Sample[], exact: boolean): number {
  const iced = icedLengths(samples);
  const bad: string[] = [];
  let checked = 0;
  samples.forEach((s, k) => {
    const ours = emulatorLength(s.bytes);
    const theirs = iced[k]!;
    if (theirs < 0) return;
    checked++;
    const expected = exact ? s.bytes.length : theirs;
    if (ours !== theirs || ours !== expected) {
      bad.push(`${hexBytes(exact ? s.bytes : s.bytes.slice(0, Math.max(ours, theirs, 1)))}  (${s.what}): decode() ${ours}, iced-x86 ${theirs}${exact ? `, generated ${s.bytes.length}` : ''}`);
    }
  });
  assert.equal(bad.length, 0, `${bad.length} of ${checked} lengths disagree:\n${bad.slice(0, 30).join('\n')}`);
  return checked;
}

test('decoder length agrees with iced-x86 on generated instruction sequences', () => {
  const samples: Sample[] = [];
  for (let k = 0; k < 20_000; k++) {
    const tc = generateCase(SEED, k);
    for (const i of tc.insns) samples.push({ bytes: i.bytes, what: i.name });
  }
  const checked = check(samples, true);
  console.log(`  ${checked} of ${samples.length} generated instructions checked (the rest are #UD encodings)`);
  assert.ok(checked > samples.length * 0.95);
});

const SEG_PREFIXES = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

/** A random encoding of a table form, followed by random bytes (the decoders find the end). */
function randomEncoding(rng: Rng, form: Form): number[] {
  const prefixes: number[] = [];
  const twoByte = form.opcode.length === 2;
  const n = rng.pick([0, 0, 0, 1, 1, 2, 3, 4]);
  for (let k = 0; k < n; k++) {
    const choices = twoByte ? [0x66, 0x67, 0xf0, ...SEG_PREFIXES] : [0x66, 0x67, 0xf0, 0xf2, 0xf3, ...SEG_PREFIXES];
    prefixes.push(rng.pick(choices));
  }
  const bytes = [...prefixes, ...form.opcode];
  const spec = form.spec;
  if (spec.modrm || form.groupReg >= 0) {
    const memOnly = spec.memOnly;
    const mod = memOnly ? rng.int(3) : rng.int(4);
    const reg = form.groupReg >= 0 ? form.groupReg : rng.int(8);
    bytes.push((mod << 6) | (reg << 3) | rng.int(8));
  }
  for (let k = 0; k < 14; k++) bytes.push(rng.int(256));
  return bytes;
}

test('decoder length agrees with iced-x86 on random encodings of every table form', () => {
  const rng = new Rng(SEED, 1);
  const samples: Sample[] = [];
  for (const form of CATALOG) {
    for (let k = 0; k < 400; k++) samples.push({ bytes: randomEncoding(rng, form), what: `${form.spec.name} ${form.spec.operands}` });
  }
  const checked = check(samples, false);
  console.log(`  ${CATALOG.length} forms, ${checked} of ${samples.length} encodings checked (the rest are #UD encodings)`);
  assert.ok(checked > samples.length * 0.9);
});
