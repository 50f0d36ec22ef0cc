/** The committed guest image must be exactly what its source builds to (reproducible build). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';

it('guest/user/prebuilt/demo.elf is reproduced byte for byte by building guest/user/demo.c', () => {
  const out = mkdtempSync(join(tmpdir(), 'shadowvisor-build-'));
  execFileSync('make', ['-s', '-C', `${ROOT}guest/user`, `OUT=${out}`, `${out}/demo.elf`]);
  const built = readFileSync(join(out, 'demo.elf'));
  const committed = readFileSync(`${ROOT}guest/user/prebuilt/demo.elf`);
  assert.ok(built.equals(committed), 'rebuild differs from the committed image: run `make -C guest/user prebuilt` and commit it');
});
