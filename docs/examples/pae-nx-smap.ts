/**
 * PAE paging, execute-disable and SMAP on shadowvisor's CPU: a PDPT, a PAE directory and table
 * built by hand (64-bit entries), a 4 KiB page with XD in its PTE's high half and a 2 MiB page;
 * data reads through both, a fetch from the XD page that faults with the I/D bit, then SMAP
 * refusing the kernel's read of a user page until EFLAGS.AC is set.
 *   node --import tsx docs/examples/pae-nx-smap.ts
 */
import { hw } from '../../src/api/index.ts';

const { Cpu, PhysicalMemory, Cr0, Cr4, Efer, Eflags, Pte, Pae, WalkRecord, walkPae } = hw;

const mem = new PhysicalMemory(4 << 20);
const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} }, { monitor: true });

const PDPT = 0x1000; // 32 bytes: four PDPTEs
const DIR = 0x2000; // the PAE directory of the first gigabyte: 512 8-byte entries
const TABLE = 0x3000; // the table for linear 0-2 MiB
const CODE = 0x4000;
const DATA = 0x9000; // the frame behind linear 0x5000
const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

mem.write32(PDPT, DIR | Pte.P);
mem.write32(DIR + 0 * 8, TABLE | Pte.P | Pte.RW | Pte.US);
mem.write32(DIR + 1 * 8, 0x200000 | Pte.P | Pte.RW | Pte.US | Pte.PS); // linear 2-4 MiB: one 2 MiB user page
for (let p = 0; p < 512; p++) mem.write32(TABLE + p * 8, (p << 12) | Pte.P | Pte.RW); // identity, supervisor
mem.write32(TABLE + 5 * 8, DATA | Pte.P | Pte.RW | Pte.US); // linear 0x5000: a user page...
mem.write32(TABLE + 5 * 8 + 4, Pae.XD_HI); // ...with XD (bit 63)
mem.write32(DATA, 0x600dcafe);
mem.write32(0x200010, 0x2000beef);

// PAE paging with NXE: the PDPTEs are loaded into the CPU's PDPTE registers by the CR3 load.
cpu.efer = Efer.NXE;
cpu.cr4 = Cr4.PAE;
cpu.cr0 |= Cr0.PG;
cpu.loadCr3(PDPT);
// mov eax, [0x5000]; mov ebx, [0x200010]; call 0x5000; hlt
const call = CODE + 11;
const rel = 0x5000 - (call + 5);
mem.writeBytes(CODE, Uint8Array.from([0xa1, 0x00, 0x50, 0x00, 0x00, 0x8b, 0x1d, 0x10, 0x00, 0x20, 0x00, 0xe8, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >>> 24) & 0xff, 0xf4]));
cpu.eip = CODE;
cpu.regs[4] = 0x8000; // a stack for the call

const rec = new WalkRecord();
walkPae(mem, cpu.pdpte, true, 0x5000, rec);
console.log(`walk(0x5000): PDPTE 0 = ${hex(rec.pdpte)}, PDE at ${hex(rec.pdeAddr)} = ${hex(rec.pde)}, PTE at ${hex(rec.pteAddr)} = ${hex(rec.pteHi)}:${hex(rec.pte)} -> physical ${hex(rec.physical)}, executable: ${rec.executable}`);
walkPae(mem, cpu.pdpte, true, 0x200010, rec);
console.log(`walk(0x200010): a 2 MiB page (PDE ${hex(rec.pde)}, ${rec.reads} read) -> physical ${hex(rec.physical)}`);

cpu.run(2);
console.log(`loads: eax = ${hex(cpu.reg(0))} (through the XD page: data is fine), ebx = ${hex(cpu.reg(3))} (through the 2 MiB page)`);
let exit = cpu.run(2);
if (exit.kind === 'trap') console.log(`call 0x5000: #PF (vector ${exit.vector}), error code ${hex(exit.errorCode)} (P, I/D: a fetch from an XD page), CR2 = ${hex(exit.cr2)}`);

// SMAP: the supervisor may not read user pages unless EFLAGS.AC = 1 (STAC).
cpu.cr4 |= Cr4.SMAP;
cpu.refreshAccessChecks();
cpu.eip = CODE;
cpu.regs[0] = 0;
exit = cpu.run(1);
if (exit.kind === 'trap') console.log(`with CR4.SMAP: mov eax, [0x5000] at CPL 0: #PF, error code ${hex(exit.errorCode)} (P: a protection fault on a user page)`);
cpu.flags |= Eflags.AC;
cpu.refreshAccessChecks();
cpu.run(1);
console.log(`with EFLAGS.AC = 1 (what STAC sets): eax = ${hex(cpu.reg(0))}`);
