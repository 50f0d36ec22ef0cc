/**
 * The vCPU: the guest's view of its processor. It is a CPU of the same model as the real one,
 * running natively (ring 0 is ring 0 to it) over the guest's physical memory (the pmap and the
 * VM's devices), and it holds the state the guest owns but may not touch on the real CPU: CR0,
 * CR2, CR3, CR4, the debug registers, GDTR/IDTR/LDTR/TR, EFLAGS.IF and EFLAGS.IOPL.
 *
 * The real CPU holds the guest's registers while the guest runs. To emulate one instruction or
 * to reflect an event, the VMM copies them into the vCPU (syncIn), lets the vCPU execute with
 * the hardware's own semantics — operands fetched through the guest's page tables, faults
 * delivered through the guest's IDT and TSS — and copies the result back (syncOut), translating
 * rings on the way (ring-compression.ts). The real IF is always 1 while the guest runs: the VMM
 * keeps control of the processor through its own interrupts (Popek and Goldberg's resource
 * control — a guest that runs `cli; jmp .` must not own the machine), so the guest's IF is
 * virtual, kept in the vCPU, and device interrupts are injected only when it is set. Real IOPL is
 * 0, so CLI, STI, IN and OUT trap — but PUSHF at ring 1 shows the real IF, not the guest's
 * (sensitive-watch.ts catches that).
 * The x87 state travels both ways too (an emulated FST must see the guest's registers).
 * NMIs are not masked by IF: the real CPU's NMI blocking is the guest's, so the real CPU exits for
 * the VM's NMI exactly when the guest may take it, and a guest IRET that runs natively at ring 1
 * ends the blocking on the real CPU as it would natively.
 *
 * MSRs: RDMSR and WRMSR trap at ring 1 and act on the vCPU's MSRs; no guest value ever reaches a
 * real MSR. Instructions that read MSR state without trapping are made to trap when the guest's
 * state differs from the real CPU's: once the guest has moved its TSC or set IA32_TSC_AUX, the
 * real CR4.TSD is set, so RDTSC and RDTSCP raise #GP at ring 1 and 3 and are emulated with the
 * guest's TSC (as VMware virtualized the TSC); the real IA32_SYSENTER_CS stays 0, so SYSENTER and
 * SYSEXIT raise #GP(0) and are emulated with the guest's SYSENTER MSRs — natively, SYSENTER would
 * enter the real ring 0 at an address of the guest's choosing. CPUID cannot be made to trap: the
 * real CPU answers it, so the real CPU is the guest's model (vm.ts), and a guest that disables its
 * local APIC through IA32_APIC_BASE still sees CPUID's APIC flag (a known leak, like SGDT's).
 */
import type { Cpu } from '../hw/cpu/cpu.ts';
import { Lazy, readEflags } from '../hw/cpu/flags.ts';
import { Cr0, Cr4 } from '../hw/x86/control-registers.ts';
import { Seg } from '../hw/x86/descriptors.ts';
import { Eflags } from '../hw/x86/eflags.ts';
import { compressAttr, expandAttr, guestCpl, realCpl } from './ring-compression.ts';
import type { ShadowDescriptorTable } from './shadow/descriptor-tables.ts';

/** EFLAGS bits only the vCPU holds. */
const VIRTUAL_FLAGS = Eflags.IF | Eflags.IOPL;
/** CR0 bits of the guest the real CPU carries: they change what instructions do at any CPL. */
const MIRRORED_CR0 = Cr0.MP | Cr0.EM | Cr0.TS | Cr0.NE | Cr0.AM;
/** The real CR0 while a guest runs: protected mode, paging on the shadows, WP so traces fault. */
const REAL_CR0 = Cr0.PE | Cr0.ET | Cr0.WP | Cr0.PG;

function setEflags(c: Cpu, value: number): void {
  c.flags = value | Eflags.FIXED1;
  c.lzKind = Lazy.NONE;
}

/** Copies the guest's general state from the real CPU into the vCPU (real ring 1 is ring 0). */
export function syncIn(real: Cpu, v: Cpu): void {
  v.regs.set(real.regs);
  v.eip = real.eip;
  setEflags(v, (readEflags(real) & ~VIRTUAL_FLAGS) | (v.flags & VIRTUAL_FLAGS));
  const kernel = real.cpl === 1;
  for (let s = 0; s < 6; s++) {
    let sel = real.segSel[s]!;
    if (kernel && (s === Seg.CS || s === Seg.SS) && (sel & 3) === 1) sel &= ~3;
    v.loadSegmentCache(s, sel, real.segBase[s]!, real.segLimit[s]!, expandAttr(real.segAttr[s]!));
  }
  v.setCpl(guestCpl(real.cpl));
  v.inhibit = real.inhibit;
  v.nmiBlocked = real.nmiBlocked;
  v.holdSingleStep = false;
  v.halted = false;
  v.cycles = real.cycles;
  v.fpu.copyFrom(real.fpu);
}

/** The tables the real CPU uses for the guest. */
export interface RealTables {
  readonly gdt: ShadowDescriptorTable;
  readonly ldt: ShadowDescriptorTable;
}

/**
 * Copies the guest's state back to the real CPU (ring 0 runs at ring 1), and gives the real CPU
 * the guest's system state in the form it can run with: the shadow GDT and LDT, the guest's
 * selectors and IDT register (so SLDT, STR and SIDT read what the guest expects), the CR0 and
 * CR4 bits that act at every CPL. The real CR3 belongs to the shadow MMU.
 */
export function syncOut(v: Cpu, real: Cpu, tables: RealTables): void {
  real.regs.set(v.regs);
  real.eip = v.eip;
  setEflags(real, (readEflags(v) & ~Eflags.IOPL) | Eflags.IF);
  const cpl = realCpl(v.cpl);
  for (let s = 0; s < 6; s++) {
    let sel = v.segSel[s]!;
    if (cpl === 1 && (s === Seg.CS || s === Seg.SS)) sel = (sel & ~3) | 1;
    real.loadSegmentCache(s, sel, v.segBase[s]!, v.segLimit[s]!, compressAttr(v.segAttr[s]!));
  }
  real.inhibit = v.inhibit;
  real.nmiBlocked = v.nmiBlocked;
  real.holdSingleStep = v.holdSingleStep;
  real.halted = false;
  real.fpu.copyFrom(v.fpu);
  const cr0 = REAL_CR0 | (v.cr0 & MIRRORED_CR0);
  real.cr0 = cr0;
  real.cr4 = (v.cr4 & Cr4.TSD) | (ownTsc(v) ? Cr4.TSD : 0);
  real.gdtBase = tables.gdt.base;
  real.gdtLimit = v.gdtLimit;
  real.idtBase = v.idtBase;
  real.idtLimit = v.idtLimit;
  real.ldtSel = v.ldtSel;
  real.ldtBase = tables.ldt.base;
  real.ldtLimit = v.ldtLimit;
  real.ldtAttr = v.ldtAttr;
  real.trSel = v.trSel;
  // No TSS on the real CPU: any I/O permission check fails, so IN/OUT at ring 1 and 3 trap.
  real.trBase = 0;
  real.trLimit = 0;
  real.trAttr = 0;
  real.setCpl(cpl);
}

/** The guest's TSC or IA32_TSC_AUX is not the real CPU's (which stay at their reset values): RDTSC and RDTSCP must trap. */
function ownTsc(v: Cpu): boolean {
  const m = v.msr;
  return (m.tscOffsetLo | m.tscOffsetHi | m.tscAux) !== 0;
}
