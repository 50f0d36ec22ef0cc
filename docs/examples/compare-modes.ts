/**
 * The lecture's alternatives through the API: the teaching kernel's syscall workload under
 * every mode (exits decide: trap exits on every system call, hw does not), then its popf
 * workload with irq=popf (trap cannot virtualize it; hw's shadow EFLAGS and the interpreter can).
 *   node --import tsx docs/examples/compare-modes.ts
 */
import { readFileSync } from 'node:fs';
import { compareModes, findProfile } from '../../src/api/index.ts';

const kernel = new Uint8Array(readFileSync(new URL('../../guest/kernel/kernel.elf', import.meta.url)));
const nehalem = findProfile('nehalem')!;
const cmp = compareModes({
  kernel,
  kernelName: 'kernel.elf',
  workloads: ['workload=syscall n=5000', 'workload=popf irq=popf n=100'],
  modes: ['native', 'interpret', 'trap', 'hw'],
  profiles: [nehalem],
});
for (const w of cmp.results) {
  console.log(`${w.workload}: guest output ${w.verdict}`);
  for (const r of w.runs) {
    const ints = r.exits.categories.find((c) => c.category === 'software interrupt')?.count ?? 0;
    const slowdown = r.slowdown === null ? `ended differently: ${r.exitDescription.slice(0, 60)}...` : `slowdown ${(r.slowdown * 100).toFixed(1)} %`;
    console.log(`  ${r.mode.padEnd(9)} status ${r.status}, ${r.exits.count} exits (${ints} for INT n), ${slowdown}`);
  }
}
