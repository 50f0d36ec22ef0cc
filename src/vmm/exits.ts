/**
 * Exits: every transfer from the guest to the VMM, with its reason and what it cost. Reasons
 * fall in categories (the lecture's list): an emulated instruction (by mnemonic), I/O, MMIO,
 * halt, hidden fault, paging fault (a hidden fault whose frame the VMM had paged out), true
 * fault, trace fault, a reflected exception or software interrupt, and external interrupts (the
 * host timer that drives the VM's devices, device input).
 */
import type { Insn } from '../hw/cpu/insn.ts';
import { specOf } from './guest-view.ts';

export const ExitCategory = {
  INSTRUCTION: 'instruction',
  IO: 'I/O',
  MMIO: 'MMIO',
  HALT: 'halt',
  HIDDEN_FAULT: 'hidden fault',
  PAGING_FAULT: 'paging fault',
  TRUE_FAULT: 'true fault',
  TRACE_FAULT: 'trace fault',
  EXCEPTION: 'exception',
  SOFTWARE_INTERRUPT: 'software interrupt',
  EXTERNAL_INTERRUPT: 'external interrupt',
} as const;
export type ExitCategoryName = (typeof ExitCategory)[keyof typeof ExitCategory];

export interface ExitRecord {
  readonly category: ExitCategoryName;
  /** What within the category: the mnemonic, the vector, the device... ('' when nothing more). */
  readonly detail: string;
  count: number;
  /** Simulated cycles charged: round trips plus the VMM's work. */
  cycles: number;
}

export class ExitStats {
  private readonly records = new Map<string, ExitRecord>();
  count = 0;
  cycles = 0;

  add(category: ExitCategoryName, detail: string, cycles: number): void {
    const key = `${category}\u0000${detail}`;
    let r = this.records.get(key);
    if (r === undefined) {
      r = { category, detail, count: 0, cycles: 0 };
      this.records.set(key, r);
    }
    r.count++;
    r.cycles += cycles;
    this.count++;
    this.cycles += cycles;
  }

  /** Every reason, most expensive first. */
  list(): ExitRecord[] {
    return [...this.records.values()].map((r) => ({ ...r })).sort((a, b) => b.cycles - a.cycles || b.count - a.count);
  }

  /** Totals per category. */
  byCategory(): Map<ExitCategoryName, { count: number; cycles: number }> {
    const out = new Map<ExitCategoryName, { count: number; cycles: number }>();
    for (const r of this.records.values()) {
      const t = out.get(r.category) ?? { count: 0, cycles: 0 };
      t.count += r.count;
      t.cycles += r.cycles;
      out.set(r.category, t);
    }
    return out;
  }
}

const IO_MNEMONICS = new Set(['in', 'out', 'ins', 'insb', 'outs', 'outsb']);

/** Category and detail of an exit taken to emulate `insn` (null: the bytes could not be read). */
export function instructionExit(insn: Insn | null): { category: ExitCategoryName; detail: string } {
  if (insn === null) return { category: ExitCategory.INSTRUCTION, detail: '(unreadable)' };
  const spec = specOf(insn);
  const name = spec.name;
  if (IO_MNEMONICS.has(name)) return { category: ExitCategory.IO, detail: name.replace(/b$/, '') };
  if (name === 'hlt') return { category: ExitCategory.HALT, detail: '' };
  return { category: ExitCategory.INSTRUCTION, detail: mnemonic(insn) };
}

/** The name of an exit taken to emulate `insn`: `category` with the instruction's detail, or (null) by the instruction alone. */
export function emulationExit(category: ExitCategoryName | null, insn: Insn | null): { category: ExitCategoryName; detail: string } {
  const byInstruction = instructionExit(insn);
  return category === null ? byInstruction : { category, detail: insn === null ? '' : byInstruction.detail };
}

/** A readable mnemonic: "mov to cr3", "mov from cr0", "mov to ss", "pop ss", "lgdt", ... */
export function mnemonic(insn: Insn): string {
  const spec = specOf(insn);
  const prefix = insn.rep === 1 ? 'rep ' : insn.rep === 2 ? 'repne ' : '';
  switch (spec.operands) {
    case 'Cd,Rd':
      return `mov to cr${insn.reg}`;
    case 'Rd,Cd':
      return `mov from cr${insn.reg}`;
    case 'Dd,Rd':
      return `mov to dr${insn.reg}`;
    case 'Rd,Dd':
      return `mov from dr${insn.reg}`;
    case 'Sw,Ew':
      return `mov to ${['es', 'cs', 'ss', 'ds', 'fs', 'gs'][insn.reg] ?? 'sreg'}`;
    case 'ES':
    case 'CS':
    case 'SS':
    case 'DS':
    case 'FS':
    case 'GS':
      return `${spec.name} ${spec.operands.toLowerCase()}`;
    default:
      return prefix + spec.name;
  }
}
