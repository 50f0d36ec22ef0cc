/**
 * SYSENTER and SYSEXIT (SDM vol. 2, "SYSENTER", "SYSEXIT"; vol. 3, 5.8.7): the fast system call
 * pair of models with SEP (CPUID.1:EDX[11]; #UD without it). SYSENTER enters CPL 0 with flat
 * 4 GiB segments derived from IA32_SYSENTER_CS — CS = the MSR with RPL 0, SS = CS + 8 — and ESP,
 * EIP from IA32_SYSENTER_ESP/EIP, clearing VM, IF and RF; SYSEXIT returns to CPL 3 with CS =
 * MSR + 16 and SS = MSR + 24 (RPL 3), ESP = ECX, EIP = EDX. Neither reads the GDT: the segment
 * registers' hidden parts get fixed values, whatever the descriptors say (the operating system's
 * job to match them). Both raise #GP(0) when IA32_SYSENTER_CS[15:2] is 0; SYSEXIT also above CPL 0.
 * Not modelled: the 64-bit forms (REX.W SYSEXIT), virtual-8086 mode.
 */
import { Seg, SegAttr } from '../x86/descriptors.ts';
import { Eflags } from '../x86/eflags.ts';
import { Vector } from '../x86/vectors.ts';
import { type Cpu, Stop } from './cpu.ts';
import { Feature, hasFeature } from './cpu-model.ts';
import type { Insn } from './insn.ts';

/** Flat code (execute/read, accessed) and data (read/write, accessed), 32-bit, 4 KiB granular, present. */
const FLAT_CODE = SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR | SegAttr.ACCESSED | SegAttr.DB | SegAttr.G;
const FLAT_DATA = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.ACCESSED | SegAttr.DB | SegAttr.G;
const DPL3 = 3 << SegAttr.DPL_SHIFT;
const FLAT_LIMIT = 0xffffffff | 0;

/** The checks both share; returns the CS selector from IA32_SYSENTER_CS, or -1 after a fault. */
function sysenterCs(c: Cpu): number {
  if (!hasFeature(c.model, Feature.SEP)) return c.fault(Vector.UD, -1) - 1;
  const cs = c.msr.sysenterCs & 0xffff;
  if ((cs & 0xfffc) === 0) return c.fault(Vector.GP, 0) - 1;
  return cs;
}

/** sysenter (0F 34): any CPL. */
export function sysenter(c: Cpu, _i: Insn): void {
  const msr = sysenterCs(c);
  if (msr < 0) return;
  const cs = msr & 0xfffc;
  c.flags &= ~(Eflags.VM | Eflags.IF | Eflags.RF);
  c.loadSegmentCache(Seg.CS, cs, 0, FLAT_LIMIT, FLAT_CODE);
  c.loadSegmentCache(Seg.SS, cs + 8, 0, FLAT_LIMIT, FLAT_DATA);
  c.setCpl(0);
  c.regs[4] = c.msr.sysenterEsp;
  c.eip = c.msr.sysenterEip;
  c.stop |= Stop.STATE;
}

/** sysexit (0F 35): CPL 0 only. */
export function sysexit(c: Cpu, _i: Insn): void {
  const msr = sysenterCs(c);
  if (msr < 0) return;
  if (c.cpl !== 0) return void c.fault(Vector.GP, 0);
  c.loadSegmentCache(Seg.CS, ((msr + 16) | 3) & 0xffff, 0, FLAT_LIMIT, FLAT_CODE | DPL3);
  c.loadSegmentCache(Seg.SS, ((msr + 24) | 3) & 0xffff, 0, FLAT_LIMIT, FLAT_DATA | DPL3);
  c.setCpl(3);
  c.regs[4] = c.regs[1]!;
  c.eip = c.regs[2]!;
  c.stop |= Stop.STATE;
}
