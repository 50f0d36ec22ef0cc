/**
 * The lecture's "problem with popf", on shadowvisor's CPU.
 *   node --import tsx docs/examples/popf-problem.ts
 *
 * A guest kernel deprivileged to ring 1 (IOPL 0) runs under a monitor: CLI and STI are
 * privileged there and trap (#GP) so the monitor can emulate them — but POPF is not: at
 * CPL > IOPL it silently leaves IF unchanged (Intel SDM vol. 2, POPF). A kernel that
 * re-enables interrupts with popf never gets them back, and the monitor never hears of it.
 */
import { hw } from '../../src/api/index.ts';

const { Cpu, PhysicalMemory, Seg, SegAttr, Eflags, Vector, readEflags } = hw;

const mem = new PhysicalMemory(1 << 20);
const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} }, { monitor: true });

// Ring 1: code and stack segments with DPL 1, selectors with RPL 1 (no GDT needed: nothing loads a segment).
const ring1 = 1 << 5;
cpu.loadSegmentCache(Seg.CS, 0x08 | 1, 0, 0xffffffff, SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR | SegAttr.DB | ring1);
cpu.loadSegmentCache(Seg.SS, 0x10 | 1, 0, 0xffffffff, SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.DB | ring1);
cpu.loadSegmentCache(Seg.DS, 0x10 | 1, 0, 0xffffffff, SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.DB | ring1);
cpu.setCpl(1);
cpu.regs[4] = 0x8000; // ESP

// 0x1000: cli                      (fa)
// 0x1001: push 0x202 ; popf        (68 02 02 00 00 9d)  -- IF=1 in the popped value
// 0x1007: hlt                      (f4)
mem.writeBytes(0x1000, Uint8Array.from([0xfa, 0x68, 0x02, 0x02, 0x00, 0x00, 0x9d, 0xf4]));
cpu.eip = 0x1000;

const ifOf = () => ((readEflags(cpu) & Eflags.IF) !== 0 ? 1 : 0);
console.log(`CPL ${cpu.cpl}, IOPL 0, EFLAGS.IF = ${ifOf()}`);

let exit = cpu.run(100);
console.log(`cli  -> ${exit.kind === 'trap' ? `trap to the monitor: vector ${exit.vector === Vector.GP ? '#GP' : exit.vector}, error code ${exit.errorCode}, at eip 0x${exit.eip.toString(16)}` : exit.kind}`);

// The monitor would emulate CLI on the guest's virtual IF; here it just skips the instruction.
cpu.eip = 0x1001;
exit = cpu.run(100);
console.log(`push 0x202; popf -> no trap; the next exit is ${exit.kind === 'trap' ? `#GP at eip 0x${exit.eip.toString(16)} (the hlt)` : exit.kind}`);
console.log(`EFLAGS.IF = ${ifOf()}: popf asked for IF=1, the CPU silently kept IF=0, and the monitor never saw it.`);
