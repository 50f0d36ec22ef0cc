/** `shadowvisor compare` and `shadowvisor nanobench` from the command line: tables, verdicts, files. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';

function shadowvisor(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [`${ROOT}bin/shadowvisor.mjs`, ...args], { cwd: ROOT, encoding: 'utf8', input: '' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

it('compare writes the verdict, the tables, compare.json and the plots', () => {
  const out = mkdtempSync(join(tmpdir(), 'sv-compare-'));
  const r = shadowvisor('compare', 'guest/kernel/kernel.elf', '--append', 'workload=syscall n=300', '--modes', 'native,trap,hw', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /guest output: identical in native, trap, hw/);
  assert.match(r.stdout, /│ hw +│ +1 │/);
  assert.match(r.stdout, /exits by category/);
  const json = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8')) as { results: { runs: { mode: string; cycles: number }[] }[] };
  assert.deepEqual(
    json.results[0]!.runs.map((x) => x.mode),
    ['native', 'trap', 'hw'],
  );
  for (const f of ['slowdown-nehalem.svg', 'breakdown-nehalem.svg']) assert.match(readFileSync(join(out, f), 'utf8'), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  if (existsSync('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf')) assert.ok(existsSync(join(out, 'slowdown-nehalem.png')));
});

it('compare exits 1 and says why when a mode cannot run the guest (the popf problem under trap)', () => {
  const out = mkdtempSync(join(tmpdir(), 'sv-compare-'));
  const r = shadowvisor('compare', 'guest/kernel/kernel.elf', '--append', 'workload=popf irq=popf n=20', '--modes', 'native,trap,hw', '--out', out);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /trap: ended differently from native: this guest cannot be virtualized by trap-and-emulate/);
});

it('nanobench prints cycles per operation in each mode beside the 2006 figures', () => {
  const r = shadowvisor('nanobench', '--modes', 'native,hw', '--n', '50');
  assert.equal(r.status, 0, r.stderr);
  for (const op of ['syscall', 'in', 'callret', 'pgfault', 'divzero', 'ptemod', 'cr3']) assert.match(r.stdout, new RegExp(`│ ${op} `));
  assert.match(r.stdout, /242 \/ 2,308 \/ 246/);
  assert.match(r.stdout, /Adams and Ole Agesen/);
});
