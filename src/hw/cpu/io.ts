/**
 * Port I/O: IN, OUT (SDM vol. 2) and the I/O permission check (SDM vol. 1, 19.5): allowed when
 * CPL <= IOPL; otherwise every bit for the accessed ports in the TSS I/O bitmap must be 0, and a
 * bitmap byte beyond the TSS limit (or no 32-bit TSS) means #GP(0). In virtual-8086 mode the
 * bitmap alone decides, whatever IOPL is (SDM vol. 3, 20.2.8.1).
 */
import { SegAttr, SysType } from '../x86/descriptors.ts';
import { Eflags } from '../x86/eflags.ts';
import { Vector } from '../x86/vectors.ts';
import { type Cpu, Stop } from './cpu.ts';
import { Counter } from './counters.ts';
import { iopl } from './eflags-ops.ts';
import type { Insn } from './insn.ts';
import { interceptIo } from './virtualization.ts';

/** True when the current privilege may access `size` bytes at `port`; raises #GP(0) if not. */
export function ioPermitted(c: Cpu, port: number, size: number): boolean {
  if (c.cpl <= iopl(c) && (c.flags & Eflags.VM) === 0) return true;
  const type = c.trAttr & SegAttr.TYPE_MASK;
  const limit = c.trLimit >>> 0;
  if ((c.trAttr & SegAttr.P) === 0 || (type !== SysType.TSS32_AVAIL && type !== SysType.TSS32_BUSY) || limit < 103) {
    return !!c.fault(Vector.GP, 0);
  }
  const bitmap = c.ldSys((c.trBase + 102) | 0, 2);
  if (c.pending !== 0) return false;
  const at = bitmap + (port >>> 3);
  // The processor reads two bitmap bytes, so both must be inside the TSS.
  if (at + 1 > limit) return !!c.fault(Vector.GP, 0);
  const bits = c.ldSys((c.trBase + at) | 0, 2);
  if (c.pending !== 0) return false;
  if ((bits >>> (port & 7)) & ((1 << size) - 1)) return !!c.fault(Vector.GP, 0);
  return true;
}

/** One port read through the board's bus, charged and counted. */
export function portRead(c: Cpu, port: number, size: 1 | 2 | 4): number {
  c.ctr[Counter.PORT_IO]!++;
  c.cycles += c.costs.portIo;
  c.stop |= Stop.STATE;
  return c.io.read(port, size);
}

export function portWrite(c: Cpu, port: number, size: 1 | 2 | 4, v: number): void {
  c.ctr[Counter.PORT_IO]!++;
  c.cycles += c.costs.portIo;
  // A device may raise an interrupt or ask to stop: end the block so the run loop sees it.
  c.stop |= Stop.STATE;
  c.io.write(port, size, v);
}

function portOf(c: Cpu, i: Insn): number {
  return i.imm2 === 1 ? c.r16[4]! : i.imm & 0xff;
}

function ioSize(i: Insn): 1 | 2 | 4 {
  return i.opsize === 8 ? 1 : i.opsize === 16 ? 2 : 4;
}

/** in AL/AX/EAX, imm8 (E4 E5) or DX (EC ED, imm2 = 1). */
export function inAcc(c: Cpu, i: Insn): void {
  const port = portOf(c, i);
  const size = ioSize(i);
  if (!ioPermitted(c, port, size)) return;
  if (c.guestMode && interceptIo(c, i, port, size, true, false)) return;
  const v = portRead(c, port, size);
  if (size === 1) c.r8[0] = v;
  else if (size === 2) c.r16[0] = v;
  else c.regs[0] = v;
}

/** out imm8/DX, AL/AX/EAX (E6 E7 EE EF). */
export function outAcc(c: Cpu, i: Insn): void {
  const port = portOf(c, i);
  const size = ioSize(i);
  if (!ioPermitted(c, port, size)) return;
  if (c.guestMode && interceptIo(c, i, port, size, false, false)) return;
  portWrite(c, port, size, size === 1 ? c.r8[0]! : size === 2 ? c.r16[0]! : c.regs[0]!);
}
