/**
 * Builds and drives the native harness (native-harness.c): encodes a batch of test cases in its
 * input format, runs it once for the whole batch, and decodes the results.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestCase } from './generate.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
export const HARNESS_SOURCE = join(HERE, 'native-harness.c');
export const HARNESS_BINARY = join(ROOT, 'out', 'differential', 'native-harness');

/** Final state of one case, natively or emulated. */
export interface Outcome {
  /** 0: ran to the end; else the signal (SIGFPE 8, SIGILL 4, SIGSEGV 11, SIGBUS 7, SIGTRAP 5). */
  status: number;
  /** Address of the faulting instruction (status != 0). */
  faultEip: number;
  readonly regs: Int32Array;
  eflags: number;
  /** Scratch bytes that differ from their initial value: offsets ascending, and the values. */
  diffOffsets: number[];
  diffValues: number[];
}

export function newOutcome(): Outcome {
  return { status: 0, faultEip: 0, regs: new Int32Array(8), eflags: 0, diffOffsets: [], diffValues: [] };
}

/**
 * Compiles the harness into out/differential when the binary is missing or older than the
 * source. Throws with a clear message when gcc cannot build 32-bit static binaries.
 */
export function buildHarness(): string {
  const fresh = existsSync(HARNESS_BINARY) && statSync(HARNESS_BINARY).mtimeMs >= statSync(HARNESS_SOURCE).mtimeMs;
  if (fresh) return HARNESS_BINARY;
  mkdirSync(dirname(HARNESS_BINARY), { recursive: true });
  try {
    execFileSync('gcc', ['-m32', '-O1', '-static', '-Wall', '-o', HARNESS_BINARY, HARNESS_SOURCE], { stdio: 'pipe' });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(
      'cannot build the native differential-test harness with `gcc -m32 -O1 -static` ' +
        '(install gcc and gcc-multilib, which provide 32-bit libc for static linking):\n' +
        (err.stderr?.toString() ?? err.message),
    );
  }
  return HARNESS_BINARY;
}

/** Encodes cases in the harness's input format (see native-harness.c). */
export function encodeBatch(cases: readonly TestCase[]): Buffer {
  let size = 4;
  for (const tc of cases) {
    size += 44 + tc.code.length;
    for (const p of tc.patches) size += 4 + p.bytes.length;
  }
  const buf = Buffer.alloc(size);
  let pos = 0;
  for (const tc of cases) {
    let patchBytes = 0;
    for (const p of tc.patches) patchBytes += 4 + p.bytes.length;
    if (patchBytes > 0xffff || tc.code.length >= 0xffff) throw new Error(`case ${tc.index} too large`);
    buf.writeUInt16LE(tc.code.length, pos);
    buf.writeUInt16LE(patchBytes, pos + 2);
    for (let r = 0; r < 8; r++) buf.writeInt32LE(tc.regs[r]!, pos + 4 + 4 * r);
    buf.writeUInt32LE(tc.eflags >>> 0, pos + 36);
    buf.writeUInt32LE(tc.memSeed >>> 0, pos + 40);
    pos += 44;
    for (const p of tc.patches) {
      buf.writeUInt16LE(p.offset, pos);
      buf.writeUInt16LE(p.bytes.length, pos + 2);
      buf.set(p.bytes, pos + 4);
      pos += 4 + p.bytes.length;
    }
    buf.set(tc.code, pos);
    pos += tc.code.length;
  }
  buf.writeUInt16LE(0xffff, pos);
  return buf;
}

/** Runs a batch natively: one process for all the cases. */
export function runNative(binary: string, cases: readonly TestCase[]): Outcome[] {
  const input = encodeBatch(cases);
  const r = spawnSync(binary, [], { input, maxBuffer: 1 << 30, timeout: 120_000 });
  if (r.error !== undefined) throw r.error;
  if (r.status !== 0) throw new Error(`native harness failed (status ${r.status}, signal ${r.signal}): ${r.stderr.toString()}`);
  return decodeResults(r.stdout, cases.length);
}

function decodeResults(out: Buffer, count: number): Outcome[] {
  const results: Outcome[] = [];
  let pos = 0;
  for (let k = 0; k < count; k++) {
    if (pos + 48 > out.length) throw new Error(`native harness output ends after ${k} of ${count} cases`);
    const o = newOutcome();
    o.status = out.readUInt32LE(pos);
    o.faultEip = out.readUInt32LE(pos + 4);
    for (let r = 0; r < 8; r++) o.regs[r] = out.readInt32LE(pos + 8 + 4 * r);
    o.eflags = out.readUInt32LE(pos + 40);
    const n = out.readUInt16LE(pos + 44);
    pos += 48;
    for (let d = 0; d < n; d++) {
      o.diffOffsets.push(out.readUInt16LE(pos));
      o.diffValues.push(out[pos + 2]!);
      pos += 4;
    }
    results.push(o);
  }
  if (pos !== out.length) throw new Error('native harness wrote more results than cases');
  return results;
}
