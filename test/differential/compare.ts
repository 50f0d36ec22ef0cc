/**
 * Compares a case's native and emulated outcomes under its flag masks, and formats a report
 * (disassembly, initial state, both final states, each difference) when they disagree.
 */
import { Decoder, DecoderOptions, Formatter, FormatterSyntax } from 'iced-x86';
import { type TestCase, insnIndexAt } from './generate.ts';
import type { Outcome } from './harness.ts';
import { ARITH_MASK, CODE_BASE, SCRATCH_BASE } from './layout.ts';

const REG_NAMES = ['EAX', 'ECX', 'EDX', 'EBX', 'ESP', 'EBP', 'ESI', 'EDI'];
const FLAG_NAMES: readonly [number, string][] = [
  [0x1, 'CF'],
  [0x4, 'PF'],
  [0x10, 'AF'],
  [0x40, 'ZF'],
  [0x80, 'SF'],
  [0x100, 'TF'],
  [0x200, 'IF'],
  [0x400, 'DF'],
  [0x800, 'OF'],
  [0x3000, 'IOPL'],
  [0x4000, 'NT'],
];
/** EFLAGS bits compared: everything in the low 15 bits (RF and above differ by design). */
const EFLAGS_COMPARED = 0x7fff;

const SIGNALS: Readonly<Record<number, string>> = { 0: 'completed', 4: 'SIGILL (#UD)', 5: 'SIGTRAP', 7: 'SIGBUS', 8: 'SIGFPE (#DE)', 11: 'SIGSEGV (#GP/#PF/#BR)' };

function hex(v: number, digits = 8): string {
  return `0x${(v >>> 0).toString(16).padStart(digits, '0')}`;
}

/** Defined arithmetic flags at the end of the case (or at the faulting instruction). */
export function definedFlags(tc: TestCase, native: Outcome): number {
  if (native.status !== 0) {
    const k = insnIndexAt(tc, native.faultEip);
    if (k >= 0) return tc.flagMasks[k]!;
  }
  return tc.flagMasks[tc.flagMasks.length - 1]!;
}

/** Differences between the outcomes, as readable lines; empty when they agree. */
export function compareOutcomes(tc: TestCase, native: Outcome, emulated: Outcome): string[] {
  const diffs: string[] = [];
  if (native.status !== emulated.status) {
    diffs.push(`outcome: native ${SIGNALS[native.status] ?? native.status}, emulated ${SIGNALS[emulated.status] ?? emulated.status}`);
  } else if (native.status !== 0 && native.faultEip !== emulated.faultEip) {
    diffs.push(`faulting EIP: native ${hex(native.faultEip)}, emulated ${hex(emulated.faultEip)}`);
  }
  for (let r = 0; r < 8; r++) {
    if (native.regs[r] !== emulated.regs[r]) diffs.push(`${REG_NAMES[r]}: native ${hex(native.regs[r]!)}, emulated ${hex(emulated.regs[r]!)}`);
  }
  const defined = definedFlags(tc, native);
  const compared = EFLAGS_COMPARED & ~(ARITH_MASK & ~defined);
  const flagDiff = (native.eflags ^ emulated.eflags) & compared;
  for (const [bit, name] of FLAG_NAMES) {
    if ((flagDiff & bit) !== 0) diffs.push(`EFLAGS.${name}: native ${(native.eflags & bit) !== 0 ? 1 : 0}, emulated ${(emulated.eflags & bit) !== 0 ? 1 : 0}`);
  }
  if ((flagDiff & ~FLAG_NAMES.reduce((m, [b]) => m | b, 0)) !== 0) diffs.push(`EFLAGS: native ${hex(native.eflags)}, emulated ${hex(emulated.eflags)}`);
  // Memory: both lists are sorted by offset.
  let a = 0;
  let b = 0;
  const na = native.diffOffsets;
  const nb = emulated.diffOffsets;
  const mem: string[] = [];
  while (a < na.length || b < nb.length) {
    const oa = a < na.length ? na[a]! : Number.POSITIVE_INFINITY;
    const ob = b < nb.length ? nb[b]! : Number.POSITIVE_INFINITY;
    if (oa === ob) {
      if (native.diffValues[a] !== emulated.diffValues[b]) mem.push(`mem[${hex(SCRATCH_BASE + oa)}]: native ${hex(native.diffValues[a]!, 2)}, emulated ${hex(emulated.diffValues[b]!, 2)}`);
      a++;
      b++;
    } else if (oa < ob) {
      mem.push(`mem[${hex(SCRATCH_BASE + oa)}]: native wrote ${hex(native.diffValues[a]!, 2)}, emulated left it unchanged`);
      a++;
    } else {
      mem.push(`mem[${hex(SCRATCH_BASE + ob)}]: emulated wrote ${hex(emulated.diffValues[b]!, 2)}, native left it unchanged`);
      b++;
    }
  }
  if (mem.length > 24) diffs.push(...mem.slice(0, 24), `... and ${mem.length - 24} more memory bytes`);
  else diffs.push(...mem);
  return diffs;
}

let formatter: Formatter | null = null;

/** Intel-syntax disassembly of one instruction (iced-x86, 32-bit mode). */
export function disassemble(bytes: readonly number[], address: number): string {
  formatter ??= new Formatter(FormatterSyntax.Intel);
  const decoder = new Decoder(32, Uint8Array.from(bytes), DecoderOptions.None);
  decoder.ip = BigInt(address);
  const insn = decoder.decode();
  const text = insn.isInvalid ? '(invalid)' : formatter.format(insn);
  const extra = insn.length !== bytes.length ? ` [iced length ${insn.length}]` : '';
  insn.free();
  decoder.free();
  return text + extra;
}

function stateLine(o: Outcome): string {
  const regs = REG_NAMES.map((n, r) => `${n.toLowerCase()}=${hex(o.regs[r]!)}`).join(' ');
  const status = SIGNALS[o.status] ?? `signal ${o.status}`;
  const at = o.status !== 0 ? ` at ${hex(o.faultEip)}` : '';
  return `${status}${at}\n    ${regs}\n    eflags=${hex(o.eflags)} memory written: ${o.diffOffsets.length} bytes`;
}

/** A full report of a mismatching case. */
export function formatReport(tc: TestCase, native: Outcome, emulated: Outcome, diffs: readonly string[], label = ''): string {
  const lines: string[] = [];
  lines.push(`MISMATCH${label} seed=${tc.seed} case=${tc.index}  (rerun: SHADOWVISOR_DIFF_SEED=${tc.seed} SHADOWVISOR_DIFF_CASE=${tc.index})`);
  lines.push('  code:');
  const faultIndex = native.status !== 0 ? insnIndexAt(tc, native.faultEip) : -1;
  tc.insns.forEach((i, k) => {
    const address = CODE_BASE + i.offset;
    const bytes = i.bytes.map((x) => x.toString(16).padStart(2, '0')).join(' ');
    const mark = k === faultIndex ? '>>' : '  ';
    lines.push(`  ${mark}${hex(address)}  ${bytes.padEnd(36)} ${disassemble(i.bytes, address).padEnd(36)} ; ${i.name}${i.helper ? ' (helper)' : ''}`);
  });
  lines.push(`  initial: ${REG_NAMES.map((n, r) => `${n.toLowerCase()}=${hex(tc.regs[r]!)}`).join(' ')}`);
  lines.push(`           eflags=${hex(tc.eflags | 0x202)} memSeed=${hex(tc.memSeed)} patches=${tc.patches.map((p) => `${hex(SCRATCH_BASE + p.offset)}:${Buffer.from(p.bytes).toString('hex')}`).join(',') || 'none'}`);
  const defined = definedFlags(tc, native);
  const undefinedNames = FLAG_NAMES.filter(([b]) => (ARITH_MASK & b & ~defined) !== 0).map(([, n]) => n);
  lines.push(`  undefined (masked) flags: ${undefinedNames.join(' ') || 'none'}`);
  lines.push(`  native:   ${stateLine(native)}`);
  lines.push(`  emulated: ${stateLine(emulated)}`);
  lines.push('  differences:');
  for (const d of diffs) lines.push(`    ${d}`);
  return lines.join('\n');
}
