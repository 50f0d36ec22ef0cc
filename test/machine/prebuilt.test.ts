/** Each committed guest kernel image is exactly what its sources build to. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';

for (const [dir, image, variable] of [
  ['guest/kernel', 'kernel.elf', 'BUILD'],
  ['guest/lecture', 'lecture.elf', 'OUT'],
  ['guest/devtest', 'devtest.elf', 'OUT'],
  ['guest/probe', 'probe.elf', 'OUT'],
  ['guest/nanobench', 'nanobench.elf', 'OUT'],
  ['guest/escape', 'escape.elf', 'OUT'],
  ['guest/entry-probe', 'entry-probe.elf', 'OUT'],
] as const) {
  it(`${dir}/${image} is reproduced byte for byte by its Makefile`, () => {
    const out = mkdtempSync(join(tmpdir(), 'shadowvisor-kbuild-'));
    execFileSync('make', ['-s', '-C', `${ROOT}${dir}`, `${variable}=${out}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    const built = readFileSync(join(out, image));
    const committed = readFileSync(`${ROOT}${dir}/${image}`);
    assert.ok(built.equals(committed), `rebuild differs from ${dir}/${image}: run \`make -C ${dir} prebuilt\` and commit it`);
  });
}
