/**
 * The VMM looking at its guest: reading guest-linear memory and decoding the instruction at the
 * guest's CS:EIP without side effects — no accessed bits set, no fault raised, no device register
 * read, no frame paged in — through the guest's own page tables (the vCPU's CR0/CR3/CR4) and the
 * guest-physical view.
 */
import type { Cpu } from '../hw/cpu/cpu.ts';
import { decode } from '../hw/cpu/decoder.ts';
import type { Insn } from '../hw/cpu/insn.ts';
import { ALL_SPECS, type OpSpec } from '../hw/cpu/opcodes.ts';
import { isMemoryBacked } from '../hw/memory/physical-memory.ts';
import { WalkRecord, walk } from '../hw/mmu/walk.ts';
import { Cr0, Cr4 } from '../hw/x86/control-registers.ts';
import { Seg } from '../hw/x86/descriptors.ts';
import { GuestPhysicalMemory } from './memory/guest-memory.ts';

const rec = new WalkRecord();

/** Reads guest-physical memory without side effects where the vCPU's memory allows it. */
export function readerOf(v: Cpu): { read32(pa: number): number; read8(pa: number): number } {
  const mem = v.mem;
  return mem instanceof GuestPhysicalMemory ? mem.peekView : mem;
}

/** Guest-physical address of guest-linear `lin` under the vCPU's paging, or -1 when unmapped. */
export function guestPhysical(v: Cpu, lin: number): number {
  if ((v.cr0 & Cr0.PG) === 0) return lin >>> 0;
  walk(readerOf(v), v.cr3, (v.cr4 & Cr4.PSE) !== 0, lin, rec);
  return rec.present ? rec.physical : -1;
}

/** Byte at guest-linear `lin`, or -1 when unmapped or not memory (a device window is never read). */
export function peekByte(v: Cpu, lin: number): number {
  const pa = guestPhysical(v, lin);
  return pa < 0 || !isMemoryBacked(v.mem.pageKind[pa >>> 12]!) ? -1 : readerOf(v).read8(pa);
}

/** Dword at guest-linear `lin`, or null when any byte is unmapped. */
export function peekDword(v: Cpu, lin: number): number | null {
  let value = 0;
  for (let k = 0; k < 4; k++) {
    const b = peekByte(v, (lin + k) | 0);
    if (b < 0) return null;
    value |= b << (8 * k);
  }
  return value;
}

/** The instruction at the vCPU's CS:EIP, or null when its bytes are not mapped. */
export function peekInstruction(v: Cpu): Insn | null {
  const lin = (v.segBase[Seg.CS]! + v.eip) | 0;
  return decode((k) => (k < 15 ? peekByte(v, (lin + k) | 0) : -1), v.cs32);
}

export function specOf(insn: Insn): OpSpec {
  return ALL_SPECS[insn.spec]!;
}
