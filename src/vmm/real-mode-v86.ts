/**
 * A real-mode guest on the real CPU in virtual-8086 mode — how the classic x86 VMMs ran guest
 * BIOS and boot code (the lecture's world: V86 mode exists to run real-mode code under a
 * protected-mode monitor, SDM vol. 3, 20.2). V86 computes addresses exactly as real mode does
 * (base = selector << 4, 64 KiB limits) and runs at CPL 3 with IOPL 0, so every instruction a
 * real-mode guest may use that touches the machine traps: CLI, STI, PUSHF, POPF, INT n and IRET
 * (IOPL-sensitive, 20.2.7), IN and OUT (the real TSS has no I/O bitmap), MOV CRn, LGDT, LIDT, HLT
 * (privileged). The VMM emulates each on the vCPU, which is in real mode: its INT n goes through
 * the guest's vector table, its CLI changes the virtual IF, its MOV CR0 may leave real mode.
 *
 * What V86 cannot express is interpreted instead (engines/trap.ts): segment caches real mode keeps
 * from protected mode — a base other than selector << 4 until the register is reloaded, a limit
 * other than 64 KiB ("unreal mode"), a 32-bit CS or SS, an expand-down segment.
 * Split of the state: the real CPU holds the selectors and bases V86 loads; the vCPU keeps the
 * hidden limits and attributes (a real-mode load keeps them, so they only change on the vCPU);
 * EFLAGS.VM (the real CPU's), IOPL (the VMM's: 0) and AC (at the real CPL 3 it would check
 * alignment, which real mode never does) are not the guest's.
 */
import type { Cpu } from '../hw/cpu/cpu.ts';
import { V86_ATTR } from '../hw/cpu/real-mode.ts';
import { Cr0 } from '../hw/x86/control-registers.ts';
import { SegAttr } from '../hw/x86/descriptors.ts';
import { Eflags } from '../hw/x86/eflags.ts';

/** EFLAGS bits of a real-mode guest that the real CPU's V86 mode must not take from it. */
export const REAL_MODE_HELD = Eflags.VM | Eflags.AC;

/** The guest is in real-address mode (its vCPU's CR0.PE is clear). */
export function inRealMode(v: Cpu): boolean {
  return (v.cr0 & Cr0.PE) === 0;
}

/**
 * True when the real-mode guest's state is what virtual-8086 mode computes: every segment's base
 * is its selector << 4 with a 64 KiB limit, present, 16-bit, not expand-down, and EIP is a 16-bit
 * offset. Otherwise the VMM interprets until it is.
 */
export function fitsV86(v: Cpu): boolean {
  if (v.eip >>> 0 > 0xffff) return false;
  for (let s = 0; s < 6; s++) {
    const attr = v.segAttr[s]!;
    if (v.segBase[s] !== v.segSel[s]! << 4 || v.segLimit[s] !== 0xffff) return false;
    if ((attr & SegAttr.P) === 0 || (attr & SegAttr.DB) !== 0) return false;
    if ((attr & (SegAttr.CODE | SegAttr.DC)) === SegAttr.DC) return false;
  }
  return true;
}

/** The real CPU's EFLAGS for a real-mode guest: VM on, IOPL 0, AC off; the rest is the guest's. */
export function v86FlagsOut(guestFlags: number): number {
  return (guestFlags & ~(Eflags.IOPL | Eflags.AC)) | Eflags.VM;
}

/** The guest's selectors onto the real CPU as V86 segments (fitsV86 holds: the bases agree). */
export function v86SegmentsOut(v: Cpu, real: Cpu): void {
  for (let s = 0; s < 6; s++) {
    const sel = v.segSel[s]!;
    real.loadSegmentCache(s, sel, sel << 4, 0xffff, V86_ATTR);
  }
}

/** Back from the real CPU: selectors and bases (V86 loads change only those), the vCPU's own limits and attributes. */
export function v86SegmentsIn(real: Cpu, v: Cpu): void {
  for (let s = 0; s < 6; s++) v.loadSegmentCache(s, real.segSel[s]!, real.segBase[s]!, v.segLimit[s]!, v.segAttr[s]!);
}
