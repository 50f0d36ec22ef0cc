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
 *
 * A guest in real mode runs on the real CPU in virtual-8086 mode when its segments are what V86
 * can express (real-mode-v86.ts): the real CPU holds its selectors and bases, the vCPU the hidden
 * limits and attributes real mode keeps, and EFLAGS.VM, IOPL and AC are the VMM's. A guest's own
 * virtual-8086 tasks run in virtual-8086 mode on the real CPU as they are.
 *
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
import type { PhysicalAccess } from '../hw/memory/physical-memory.ts';
import { Cr0, Cr4 } from '../hw/x86/control-registers.ts';
import { Seg, SegAttr, SysType } from '../hw/x86/descriptors.ts';
import { Eflags } from '../hw/x86/eflags.ts';
import { compressAttr, expandAttr, guestCpl, realCpl } from './ring-compression.ts';
import { REAL_MODE_HELD, inRealMode, v86FlagsOut, v86SegmentsIn, v86SegmentsOut } from './real-mode-v86.ts';
import type { ShadowDescriptorTable } from './shadow/descriptor-tables.ts';

/** EFLAGS bits only the vCPU holds. */
const VIRTUAL_FLAGS = Eflags.IF | Eflags.IOPL;
/** CR0 bits of the guest the real CPU carries: they change what instructions do at any CPL. */
const MIRRORED_CR0 = Cr0.MP | Cr0.EM | Cr0.TS | Cr0.NE | Cr0.AM;
/** CR4 bits of the guest the real CPU carries: TSD, SMEP, SMAP. */
const MIRRORED_CR4 = Cr4.TSD | Cr4.SMEP | Cr4.SMAP;
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
  const realMode = inRealMode(v);
  const held = realMode ? VIRTUAL_FLAGS | REAL_MODE_HELD : VIRTUAL_FLAGS;
  setEflags(v, (readEflags(real) & ~held) | (v.flags & held));
  v.inhibit = real.inhibit;
  v.nmiBlocked = real.nmiBlocked;
  v.holdSingleStep = false;
  v.halted = false;
  v.cycles = real.cycles;
  v.fpu.copyFrom(real.fpu);
  if (realMode) return void v86SegmentsIn(real, v);
  const kernel = real.cpl === 1;
  for (let s = 0; s < 6; s++) {
    let sel = real.segSel[s]!;
    if (kernel && (s === Seg.CS || s === Seg.SS) && (sel & 3) === 1) sel &= ~3;
    v.loadSegmentCache(s, sel, real.segBase[s]!, real.segLimit[s]!, expandAttr(real.segAttr[s]!));
  }
  v.setCpl(guestCpl(real.cpl));
}

/** The tables the real CPU uses for the guest. */
export interface RealTables {
  readonly gdt: ShadowDescriptorTable;
  readonly ldt: ShadowDescriptorTable;
  /** Host-physical address of the real CPU's own TSS (realTssInit): no I/O bitmap, a null back link. */
  readonly tss: number;
}

/** The real TSS's limit: a 32-bit TSS without an I/O permission bitmap. */
const REAL_TSS_LIMIT = 0x67;

/**
 * Prepares the VMM's TSS for the real CPU at `at` in `mem`: every I/O permission check fails (the
 * bitmap offset is beyond the limit), so IN and OUT at ring 1 and 3 and in virtual-8086 mode trap;
 * and a guest IRET with NT=1 finds a null back link (#TS), so it traps and the vCPU returns to the
 * guest's previous task. The real CPU never switches tasks with it (monitor mode delivers nothing).
 */
export function realTssInit(mem: Pick<PhysicalAccess, 'fill' | 'write16'>, at: number): void {
  mem.fill(at, REAL_TSS_LIMIT + 1, 0);
  mem.write16(at + 102, REAL_TSS_LIMIT + 1);
}

/**
 * Copies the guest's state back to the real CPU (ring 0 runs at ring 1; real mode in virtual-8086
 * mode, which the caller has checked it fits: real-mode-v86.ts), and gives the real CPU
 * the guest's system state in the form it can run with: the shadow GDT and LDT, the guest's
 * selectors and IDT register (so SLDT, STR and SIDT read what the guest expects), the CR0 and
 * CR4 bits that act at every CPL. The real CR3 belongs to the shadow MMU.
 */
export function syncOut(v: Cpu, real: Cpu, tables: RealTables): void {
  real.regs.set(v.regs);
  real.eip = v.eip;
  const realMode = inRealMode(v);
  const cpl = realMode ? 3 : realCpl(v.cpl);
  if (realMode) {
    setEflags(real, v86FlagsOut(readEflags(v)) | Eflags.IF);
    v86SegmentsOut(v, real);
  } else {
    setEflags(real, (readEflags(v) & ~Eflags.IOPL) | Eflags.IF);
    for (let s = 0; s < 6; s++) {
      let sel = v.segSel[s]!;
      if (cpl === 1 && (s === Seg.CS || s === Seg.SS)) sel = (sel & ~3) | 1;
      real.loadSegmentCache(s, sel, v.segBase[s]!, v.segLimit[s]!, compressAttr(v.segAttr[s]!));
    }
  }
  real.inhibit = v.inhibit;
  real.nmiBlocked = v.nmiBlocked;
  real.holdSingleStep = v.holdSingleStep;
  real.halted = false;
  real.fpu.copyFrom(v.fpu);
  const cr0 = REAL_CR0 | (v.cr0 & MIRRORED_CR0);
  real.cr0 = cr0;
  // The guest's SMEP and SMAP act on the real CPU's walk of the shadows as on its own tables (its
  // kernel runs at ring 1, a supervisor ring; real EFLAGS.AC is the guest's); CR4.PAE is the
  // shadows' format, owned by the shadow MMU (CpuPaging), and kept.
  // Once the guest owns its TSC, RDTSC and RDTSCP trap (CR4.TSD; see the header).
  real.cr4 = (v.cr4 & MIRRORED_CR4) | (real.cr4 & Cr4.PAE) | (ownTsc(v) ? Cr4.TSD : 0);
  real.gdtBase = tables.gdt.base;
  real.gdtLimit = v.gdtLimit;
  real.idtBase = v.idtBase;
  real.idtLimit = v.idtLimit;
  real.ldtSel = v.ldtSel;
  real.ldtBase = tables.ldt.base;
  real.ldtLimit = v.ldtLimit;
  real.ldtAttr = v.ldtAttr;
  real.trSel = v.trSel;
  real.trBase = tables.tss;
  real.trLimit = REAL_TSS_LIMIT;
  real.trAttr = SegAttr.P | SysType.TSS32_BUSY;
  real.setCpl(cpl);
}

/** The guest's TSC or IA32_TSC_AUX is not the real CPU's (which stay at their reset values): RDTSC and RDTSCP must trap. */
function ownTsc(v: Cpu): boolean {
  const m = v.msr;
  return (m.tscOffsetLo | m.tscOffsetHi | m.tscAux) !== 0;
}
