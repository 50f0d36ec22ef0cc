/**
 * Random differential test of the integer instruction semantics: at least 100,000 random
 * sequences (seeded, reproducible) run natively on the host CPU through native-harness.c and
 * on the emulated CPU; final registers, EFLAGS (architecturally undefined flags masked) and
 * every written scratch byte must agree, and so must the outcome (completion, #DE, #UD ...).
 *
 *   SHADOWVISOR_DIFF_SEQUENCES=N  run N sequences (soak runs: millions)
 *   SHADOWVISOR_DIFF_SEED=S       another seed
 *   SHADOWVISOR_DIFF_CASE=K       only case K of the seed (reproduces a report)
 *
 * Needs gcc with 32-bit support (gcc-multilib); without it the test fails and says so.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COVERED_NAMES } from './generate.ts';
import { DEFAULT_SEED, DEFAULT_SEQUENCES, optionsFromEnv, runDifferential } from './run.ts';

test('random instruction sequences: the emulated CPU matches the host CPU', { timeout: 30 * 60_000 }, () => {
  const opts = optionsFromEnv();
  const seed = (opts.seed ?? DEFAULT_SEED) >>> 0;
  const sequences = opts.sequences ?? DEFAULT_SEQUENCES;
  console.log(`differential test: seed ${seed} (SHADOWVISOR_DIFF_SEED), ${opts.only !== undefined ? `case ${opts.only}` : `${sequences} sequences`}`);
  const started = performance.now();
  const r = runDifferential({ ...opts, seed, sequences, log: (line) => console.log(line) });
  const seconds = (performance.now() - started) / 1000;
  console.log(`  ${r.sequences} sequences in ${seconds.toFixed(1)} s: ${[...r.outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(
    `  generate ${(r.timings.generate / 1000).toFixed(1)} s, native ${(r.timings.native / 1000).toFixed(1)} s, emulate ${(r.timings.emulate / 1000).toFixed(1)} s`,
  );
  assert.equal(r.mismatches, 0, `${r.mismatches} of ${r.sequences} sequences differ (seed ${r.seed}); the first are reported above`);
  if (opts.only === undefined && r.sequences >= DEFAULT_SEQUENCES) {
    // Guards the generator: every family it knows about was actually executed.
    const missing = COVERED_NAMES.filter((n) => (r.names.get(n) ?? 0) === 0);
    assert.deepEqual(missing, [], `instruction families never generated: ${missing.join(' ')}`);
    const completed = r.outcomes.get('completed') ?? 0;
    assert.ok(completed > r.sequences * 0.6, `only ${completed} of ${r.sequences} sequences ran to the end`);
  }
});
