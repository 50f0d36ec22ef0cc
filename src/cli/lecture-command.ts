/**
 * `shadowvisor lecture`: the lecture's shadow-page-table example, replayed on the lecture guest
 * under the VMM with the lecture's own addresses (src/vmm/lecture-replay.ts). Each step: what
 * happened, why, and the guest, shadow, pmap and backward-map entries it changed, before -> after.
 * `--json` writes the same steps as data.
 */
import { fileURLToPath } from 'node:url';
import { describeExit, runLecture } from '../api/index.ts';
import { readProgram } from './user-command.ts';
import { wrap } from './format.ts';

export const LECTURE_GUEST = fileURLToPath(new URL('../../guest/lecture/lecture.elf', import.meta.url));

export function lectureCommand(opts: { json?: boolean; kernel?: string }): number {
  const path = opts.kernel ?? LECTURE_GUEST;
  const replay = runLecture(readProgram(path), 'lecture.elf');
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ steps: replay.steps, exit: replay.exit, status: replay.status }, null, 2)}\n`);
    return replay.status === 1 ? 0 : replay.status;
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  replay.steps.forEach((step, k) => {
    for (const line of step.guestLines) out(`  guest| ${line}`);
    out(`\n[${k + 1}] ${step.title}`);
    if (step.exit !== '') out(`    exit: ${step.exit}`);
    out(wrap(`why: ${step.why}`, 92).replace(/^/gm, '    '));
    const width = Math.max(0, ...step.changes.map((c) => c.name.length));
    for (const c of step.changes) out(`    ${c.name.padEnd(width)}  ${c.before} -> ${c.after}`);
  });
  // The guest ends with debug-exit 0 (status 1) when every value was as expected: that is success.
  if (replay.status !== 1) process.stderr.write(`shadowvisor: ${describeExit(replay.exit)}\n`);
  return replay.status === 1 ? 0 : replay.status;
}
