/**
 * Instructions that read or write EFLAGS as a whole or its system bits: PUSHF, POPF, CLI, STI
 * (SDM vol. 2, and vol. 3, 20.2 for the protected-mode rules without VME/PVI).
 *
 * POPF by privilege (SDM vol. 2, POPF, "protected mode"):
 *   CPL 0          IOPL and IF change
 *   0 < CPL <= IOPL  IF changes, IOPL does not
 *   CPL > IOPL     neither changes and there is NO fault — the lecture's "problem with popf":
 *                  a deprivileged kernel's popf silently fails to re-enable interrupts.
 * CLI/STI at CPL > IOPL raise #GP(0), which is why they trap while popf does not.
 */
import { EFLAGS_WRITABLE, Eflags, IOPL_SHIFT } from '../x86/eflags.ts';
import { Vector } from '../x86/vectors.ts';
import { type Cpu, Stop } from './cpu.ts';
import { Lazy, readEflags } from './flags.ts';
import type { Insn } from './insn.ts';

export function iopl(c: Cpu): number {
  return (c.flags >>> IOPL_SHIFT) & 3;
}

/**
 * Loads EFLAGS bits from `value`: only bits in `mask` change. RF and VM are never set by
 * POPF; IRET passes its own mask. Ends the block so a newly enabled interrupt is noticed
 * at the next instruction boundary and TF takes effect.
 */
export function writeEflags(c: Cpu, value: number, mask: number): void {
  const old = readEflags(c);
  c.flags = ((old & ~mask) | (value & mask) | Eflags.FIXED1) & ~0x8028;
  c.lzKind = Lazy.NONE;
  c.refreshAccessChecks();
  c.stop |= Stop.STATE;
}

/** The EFLAGS bits POPF may change at the current CPL and IOPL (table above). */
export function popfMask(c: Cpu, opsize: number): number {
  let mask = EFLAGS_WRITABLE & ~(Eflags.RF | Eflags.VM);
  if (c.cpl > 0) mask &= ~Eflags.IOPL;
  if (c.cpl > iopl(c)) mask &= ~Eflags.IF;
  return opsize === 16 ? mask & 0xffff : mask;
}

/** In virtual-8086 mode PUSHF, POPF, CLI, STI, INT n and IRET are IOPL-sensitive: #GP(0) below IOPL 3 (SDM vol. 3, 20.2.7). */
function v86Sensitive(c: Cpu): boolean {
  if ((c.flags & Eflags.VM) === 0 || iopl(c) === 3) return false;
  c.fault(Vector.GP, 0);
  return true;
}

/** pushf (9C): pushes EFLAGS with RF and VM read as 0. */
export function pushf(c: Cpu, i: Insn): void {
  if (v86Sensitive(c)) return;
  const v = readEflags(c) & ~(Eflags.RF | Eflags.VM);
  c.push(v, i.opsize);
}

/** popf (9D) */
export function popf(c: Cpu, i: Insn): void {
  if (v86Sensitive(c)) return;
  const v = c.pop(i.opsize);
  if (c.pending !== 0) return;
  writeEflags(c, v, popfMask(c, i.opsize));
}

/** cli (FA): #GP(0) when CPL > IOPL. */
export function cli(c: Cpu, _i: Insn): void {
  if (c.cpl > iopl(c)) return void c.fault(Vector.GP, 0);
  c.flags &= ~Eflags.IF;
}

/**
 * sti (FB): #GP(0) when CPL > IOPL. When it sets IF, interrupts stay inhibited until the end
 * of the next instruction (SDM vol. 2, STI), so "sti; hlt" cannot lose a wake-up.
 */
export function sti(c: Cpu, _i: Insn): void {
  if (c.cpl > iopl(c)) return void c.fault(Vector.GP, 0);
  if ((c.flags & Eflags.IF) === 0) {
    c.flags |= Eflags.IF;
    c.inhibit = true;
    c.stop |= Stop.STATE;
  }
}
