/**
 * Two-level paging on shadowvisor's CPU: a page directory and a page table built by hand,
 * a load that misses the TLB and walks the tables (setting the accessed bit), the same load
 * hitting the TLB, a store that sets the dirty bit, and a load from an unmapped page that
 * faults with CR2 and an error code.
 *   node --import tsx docs/examples/paging.ts
 */
import { hw } from '../../src/api/index.ts';

const { Cpu, PhysicalMemory, Cr0, Pte, WalkRecord, walk } = hw;

const mem = new PhysicalMemory(4 << 20);
const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} }, { monitor: true });

const DIR = 0x1000; // page directory
const TABLE = 0x2000; // one page table, for linear 0x00400000-0x007fffff (directory entry 1)
const CODE = 0x3000; // the code, identity-mapped below
const DATA = 0x9000; // the frame behind linear 0x00401000
// Identity-map the first 4 MiB (for the code) and map linear 0x00401000 -> physical 0x9000.
const low = 0x4000;
mem.write32(DIR + 0 * 4, low | Pte.P | Pte.RW);
for (let p = 0; p < 1024; p++) mem.write32(low + p * 4, (p << 12) | Pte.P | Pte.RW);
mem.write32(DIR + 1 * 4, TABLE | Pte.P | Pte.RW);
mem.write32(TABLE + 1 * 4, DATA | Pte.P | Pte.RW);
mem.write32(DATA + 0x234, 0x12345678);

cpu.loadCr3(DIR);
cpu.cr0 |= Cr0.PG;
// mov eax, [0x00401234]; mov eax, [0x00401234]; mov [0x00401238], eax; mov eax, [0x00801000]
mem.writeBytes(CODE, Uint8Array.from([0xa1, 0x34, 0x12, 0x40, 0x00, 0xa1, 0x34, 0x12, 0x40, 0x00, 0xa3, 0x38, 0x12, 0x40, 0x00, 0xa1, 0x00, 0x10, 0x80, 0x00, 0xf4]));
cpu.eip = CODE;

const rec = new WalkRecord();
walk(mem, cpu.cr3, false, 0x00401234, rec);
console.log(`walk(0x00401234): PDE at 0x${rec.pdeAddr.toString(16)} = 0x${(rec.pde >>> 0).toString(16)}, PTE at 0x${rec.pteAddr.toString(16)} = 0x${(rec.pte >>> 0).toString(16)} -> physical 0x${rec.physical.toString(16)}`);

const snapshot = () => ({ hits: cpu.counters.get('TLB_HIT'), misses: cpu.counters.get('TLB_MISS') });
let before = snapshot();
cpu.run(1);
let after = snapshot();
console.log(`1st load: eax = 0x${cpu.reg(0).toString(16)}; TLB misses +${after.misses - before.misses} (instruction fetch and data: two walks), PTE now 0x${(mem.read32(TABLE + 4) >>> 0).toString(16)} (accessed bit 0x20 set)`);
before = after;
cpu.run(1);
after = snapshot();
console.log(`2nd load: TLB hits +${after.hits - before.hits}, misses +${after.misses - before.misses}`);
cpu.run(1);
console.log(`store:    PTE now 0x${(mem.read32(TABLE + 4) >>> 0).toString(16)} (dirty bit 0x40 set by the write)`);
const exit = cpu.run(10);
if (exit.kind === 'trap') {
  console.log(`load from 0x00801000: #PF (vector ${exit.vector}), error code ${exit.errorCode} (not present, read, supervisor), CR2 = 0x${exit.cr2.toString(16)}, eip = 0x${exit.eip.toString(16)}`);
}
