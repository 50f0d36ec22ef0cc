/**
 * Real mode from power-on, and the same 16-bit code under a virtual-8086 monitor.
 *   node --import tsx docs/examples/real-mode-and-v86.ts
 *
 * Part 1: the CPU after RESET (Intel SDM vol. 3, 9.1) fetches its first instruction at FFFFFFF0H
 * (CS F000H with the hidden base FFFF0000H); a far jump gives CS a real-mode base (selector << 4);
 * INT 10H goes through the vector table at IDTR.base (0), pushing FLAGS, CS and IP.
 * Part 2: a monitor (the CPU's monitor mode) runs 16-bit code in virtual-8086 mode with IOPL 0
 * (SDM vol. 3, 20.2): CLI, PUSHF, POPF and INT n all trap with #GP(0) — unlike POPF at ring 1 in
 * protected mode (popf-problem.ts), which is why VMMs ran real-mode code in V86 mode.
 */
import { hw } from '../../src/api/index.ts';

const { Cpu, PhysicalMemory, Seg, SegAttr, Eflags, Vector, readEflags } = hw;

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

// ---------------------------------------------------------------- part 1: power-on
{
  const mem = new PhysicalMemory(1 << 20);
  // A 64 KiB "BIOS ROM" at the top of the 4 GiB space: at FFFFFFF0H, jmp far 0000:7C00.
  const rom = new Uint8Array(0x10000);
  rom.set([0xea, 0x00, 0x7c, 0x00, 0x00], 0xfff0);
  mem.mapMmio(0xffff0000, 0x10000, { read: (o, size) => (size === 1 ? rom[o]! : rom[o]! | (rom[o + 1]! << 8)), write: () => {} });
  // 0000:7C00  mov ax, 1234h ; mov ds, ax ; int 10h ; hlt
  mem.writeBytes(0x7c00, Uint8Array.from([0xb8, 0x34, 0x12, 0x8e, 0xd8, 0xcd, 0x10, 0xf4]));
  // IVT[10H] = 0000:0500;  0000:0500  mov word [0], 0BEEFh ; iret   (DS = 1234H: linear 12340H)
  mem.write16(0x10 * 4, 0x0500);
  mem.write16(0x10 * 4 + 2, 0x0000);
  mem.writeBytes(0x500, Uint8Array.from([0xc7, 0x06, 0x00, 0x00, 0xef, 0xbe, 0xcf]));
  const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} });
  cpu.powerOn();
  console.log(`after RESET: CR0 ${hex(cpu.cr0)}, CS:IP ${cpu.segSel[Seg.CS]!.toString(16)}:${cpu.eip.toString(16)}, CS base ${hex(cpu.segBase[Seg.CS]!)} -> first fetch at ${hex(cpu.segBase[Seg.CS]! + cpu.eip)}`);
  cpu.run(1);
  console.log(`jmp far 0000:7C00 -> CS base ${hex(cpu.segBase[Seg.CS]!)}, IP ${hex(cpu.eip)}`);
  cpu.run(2);
  console.log(`mov ds, 1234h -> DS base ${hex(cpu.segBase[Seg.DS]!)}`);
  cpu.run(1);
  const sp = cpu.regs[4]! & 0xffff;
  console.log(`int 10h -> CS:IP ${cpu.segSel[Seg.CS]!.toString(16)}:${cpu.eip.toString(16)}, pushed IP ${hex(mem.read16(sp))} CS ${hex(mem.read16(sp + 2))} FLAGS ${hex(mem.read16(sp + 4))}`);
  const exit = cpu.run(100);
  console.log(`the handler stored ${hex(mem.read16(0x12340))} at 1234:0000 (linear 12340H), returned with IRET, and the CPU stopped: ${exit.kind}`);
}

// ---------------------------------------------------------------- part 2: a V86 monitor
{
  const mem = new PhysicalMemory(1 << 20);
  const cpu = new Cpu(mem, { read: () => 0xff, write: () => {} }, { monitor: true });
  // The V86 task: CS 2000H, SS 3000H:1000H. Its code: cli ; pushf ; popf ; int 21h
  const v86 = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.ACCESSED | (3 << SegAttr.DPL_SHIFT);
  for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, 0x3000, 0x30000, 0xffff, v86);
  cpu.loadSegmentCache(Seg.CS, 0x2000, 0x20000, 0xffff, v86);
  cpu.regs[4] = 0x1000;
  cpu.flags = Eflags.FIXED1 | Eflags.VM; // IOPL 0
  cpu.setCpl(3);
  mem.writeBytes(0x20000, Uint8Array.from([0xfa, 0x9c, 0x9d, 0xcd, 0x21]));
  cpu.eip = 0;
  console.log(`V86 mode at CPL ${cpu.cpl}, IOPL ${(readEflags(cpu) >>> 12) & 3}:`);
  for (const name of ['cli', 'pushf', 'popf', 'int 21h']) {
    const exit = cpu.run(10);
    if (exit.kind !== 'trap') throw new Error(`expected a trap, got ${exit.kind}`);
    console.log(`  ${name.padEnd(8)} -> trap to the monitor: ${exit.vector === Vector.GP ? '#GP' : exit.vector}(${exit.errorCode}) at IP ${hex(exit.eip)}`);
    // The monitor would emulate the instruction on the task's virtual flags; here it skips it.
    cpu.eip = exit.eip + (name === 'int 21h' ? 2 : 1);
  }
}
