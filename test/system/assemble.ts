/**
 * Assembles 32-bit x86 test snippets with GNU binutils (`as --32`, `ld -m elf_i386`, `nm`,
 * `objcopy`) into flat binaries linked at a given address, and reports the address of every
 * label. Results are cached by content hash under out/asm-cache/, so a suite run after the
 * first spawns no process at all. Snippets are AT&T syntax unless they say `.intel_syntax`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE_DIR = join(ROOT, 'out', 'asm-cache');
/** Bump when the way snippets are built changes, so stale cache entries are ignored. */
const FORMAT = 'v1';

/** A flat binary linked at `org`, and the address of each label it defines. */
export interface Assembled {
  readonly org: number;
  readonly code: Uint8Array;
  readonly symbols: ReadonlyMap<string, number>;
}

interface CacheEntry {
  org: number;
  code: string;
  symbols: [string, number][];
}

const memo = new Map<string, Assembled>();

/**
 * Assembles `source` (prefixed with `.code32`) linked at `org`. Throws with the assembler's
 * message when the snippet does not assemble. Synchronous: tests call it at top level.
 */
export function assemble(source: string, org: number): Assembled {
  const text = `.code32\n.text\n${source}\n`;
  const key = createHash('sha256').update(`${FORMAT}\0${org >>> 0}\0${text}`).digest('hex');
  const known = memo.get(key);
  if (known !== undefined) return known;
  const file = join(CACHE_DIR, `${key}.json`);
  let entry: CacheEntry | null = null;
  try {
    entry = JSON.parse(readFileSync(file, 'utf8')) as CacheEntry;
  } catch {
    entry = build(text, org);
    mkdirSync(CACHE_DIR, { recursive: true });
    // Write then rename: concurrent test processes never read a half-written entry.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, file);
  }
  const result: Assembled = {
    org: entry.org,
    code: new Uint8Array(Buffer.from(entry.code, 'base64')),
    symbols: new Map(entry.symbols),
  };
  memo.set(key, result);
  return result;
}

/** The address of `name` in `a`; throws if the snippet does not define it. */
export function symbol(a: Assembled, name: string): number {
  const v = a.symbols.get(name);
  if (v === undefined) throw new Error(`assembled snippet has no label ${name}`);
  return v;
}

function build(text: string, org: number): CacheEntry {
  const dir = mkdtempSync(join(tmpdir(), 'sv-asm-'));
  try {
    writeFileSync(join(dir, 'in.s'), text);
    const script = [
      'set -e',
      'as --32 -o in.o in.s',
      `ld -m elf_i386 -N -e 0 -Ttext=0x${(org >>> 0).toString(16)} -o out.elf in.o`,
      'objcopy -O binary -j .text out.elf out.bin',
      'nm out.elf > syms.txt',
    ].join('\n');
    const r = spawnSync('sh', ['-c', script], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) {
      throw new Error(`assembly failed:\n${r.stderr.split('\n').slice(0, 20).join('\n')}\n--- source ---\n${numbered(text)}`);
    }
    const code = readFileSync(join(dir, 'out.bin'));
    const symbols: [string, number][] = [];
    for (const line of readFileSync(join(dir, 'syms.txt'), 'utf8').split('\n')) {
      const m = /^([0-9a-f]+) [tTdDbBaA] (\S+)$/.exec(line.trim());
      if (m !== null) symbols.push([m[2]!, Number.parseInt(m[1]!, 16)]);
    }
    return { org: org >>> 0, code: code.toString('base64'), symbols };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function numbered(text: string): string {
  return text
    .split('\n')
    .map((l, k) => `${String(k + 1).padStart(4)}  ${l}`)
    .join('\n');
}
