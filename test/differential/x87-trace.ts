/**
 * A debugging aid for the x87 differential test: runs one generated case on the emulator an
 * instruction at a time and prints the FPU after each drawn instruction (status and control
 * words, TOP, tags, the stack), to find where a reported mismatch starts:
 *   node --import tsx test/differential/x87-trace.ts CASE      (SEED=... for another seed, TRANS=1 for a transcendental case)
 */
import { Cpu } from '../../src/hw/cpu/cpu.ts';
import { PhysicalMemory } from '../../src/hw/memory/physical-memory.ts';
import { Cr0 } from '../../src/hw/x86/control-registers.ts';
import { Seg } from '../../src/hw/x86/descriptors.ts';
import { initialScratch } from './generate.ts';
import { CODE_BASE, SCRATCH_BASE, SCRATCH_SIZE } from './layout.ts';
import { generateX87Case } from './x87-generate.ts';
const seed = Number(process.env.SEED ?? 0x87f00d);
const index = Number(process.argv[2]);
const tc = generateX87Case(seed, index, process.env.TRANS !== undefined);
const mem = new PhysicalMemory(4 << 20);
const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} }, { monitor: true, compileThreshold: 0 });
cpu.cr0 |= Cr0.MP | Cr0.NE;
for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, s === Seg.CS ? 0x23 : 0x2b, 0, 0xffffffff, cpu.segAttr[s]!);
const code = new Uint8Array(tc.code.length + 1); code.set(tc.code); code[tc.code.length] = 0xf4;
mem.writeBytes(CODE_BASE, code);
const scratch = new Uint8Array(SCRATCH_SIZE); initialScratch(tc, scratch); mem.u8.set(scratch, SCRATCH_BASE);
cpu.regs.set(tc.regs); cpu.eip = CODE_BASE; cpu.flags = tc.eflags | 0x202;
const f = cpu.fpu;
const h = (v: number, d: number) => (v >>> 0).toString(16).padStart(d, '0');
for (let n = 0; n < 100; n++) {
  const k = tc.insns.findIndex((i) => CODE_BASE + i.offset === cpu.eip);
  const ins = tc.insns[k];
  const exit = cpu.step();
  if (ins && !ins.helper) {
    console.log(`${ins.name} [${ins.bytes.map((b) => h(b, 2)).join(' ')}] -> sw ${h(f.statusWord(), 4)} cw ${h(f.cw, 4)} top ${f.top} full ${h(f.full, 2)} eflags ${h(cpu.flags, 3)}`);
    for (let i = 0; i < 8; i++) { const r = (f.top + i) & 7; console.log(`   st${i}${(f.full >> r) & 1 ? ' ' : 'e'} ${h(f.se[r]!, 4)} ${h(f.hi[r]!, 8)}${h(f.lo[r]!, 8)}`); }
  }
  if (exit.kind !== 'budget') { console.log(JSON.stringify(exit)); break; }
}
