/**
 * System instructions (SDM vol. 2 and vol. 3, 2.8): LGDT LIDT SGDT SIDT LLDT LTR SLDT STR,
 * MOV to/from control and debug registers (with the PDPTE loads of PAE paging), LMSW SMSW CLTS
 * INVLPG STAC CLAC WBINVD INVD, LAR LSL VERR VERW ARPL, RDTSC, RDTSCP, UD2 (CPUID: cpuid.ts; MSRs:
 * msr.ts; the x87: fpu/). Privileged ones raise #GP(0) above CPL 0.
 * Debug registers hold their values, but breakpoints (DR7 enables, DR7.GD) are not modelled,
 * and CPUID does not advertise DE.
 */
import { CR0_WRITABLE, CR4_SUPPORTED, Cr0, Cr4 } from '../x86/control-registers.ts';
import { InterceptMisc1, SvmExit } from '../x86/vmcb.ts';
import { interceptCrRead, interceptCrWrite, interceptMisc1 } from './virtualization.ts';
import { SegAttr, SysType, attrDpl } from '../x86/descriptors.ts';
import { Eflags } from '../x86/eflags.ts';
import { Vector } from '../x86/vectors.ts';
import { TlbBit } from '../mmu/tlb.ts';
import { type Cpu, Stop } from './cpu.ts';
import { Counter } from './counters.ts';
import { materializeFlags } from './flags.ts';
import type { Insn } from './insn.ts';
import { ea, readRm16 } from './operands.ts';
import { desc, readDescriptor } from './segments.ts';
import { Feature, type FeatureFlag, hasFeature } from './cpu-model.ts';
import { readTsc } from './tsc.ts';
import { realSegments } from './real-mode.ts';

/** LLDT, LTR, SLDT, STR, LAR, LSL, VERR, VERW, ARPL are not recognized in real-address and virtual-8086 mode: #UD. */
function protectedOnly(c: Cpu): boolean {
  if (!realSegments(c)) return true;
  c.fault(Vector.UD, -1);
  return false;
}

function privileged(c: Cpu): boolean {
  if (c.cpl === 0) return true;
  c.fault(Vector.GP, 0);
  return false;
}

function setZf(c: Cpu, on: boolean): void {
  materializeFlags(c);
  c.flags = on ? c.flags | Eflags.ZF : c.flags & ~Eflags.ZF;
}

// ------------------------------------------------------------------ descriptor-table registers

/** lgdt / lidt m16&32 (0F 01 /2 /3): sub = 2 or 3. A 16-bit operand size loads 24 bits of base. */
export function lgdtLidt(c: Cpu, i: Insn): void {
  if (!privileged(c)) return;
  const off = ea(c, i);
  const limit = c.ld16(i.seg, off);
  let base = c.ld32(i.seg, (off + 2) & i.eaMask);
  if (c.pending !== 0) return;
  if (i.opsize === 16) base &= 0xffffff;
  if (i.sub === 2) {
    c.gdtBase = base;
    c.gdtLimit = limit;
  } else {
    c.idtBase = base;
    c.idtLimit = limit;
  }
}

/** sgdt / sidt m (0F 01 /0 /1): any CPL (the "sensitive but unprivileged" pair of Popek-Goldberg fame). */
export function sgdtSidt(c: Cpu, i: Insn): void {
  const off = ea(c, i);
  const gdt = i.sub === 0;
  c.st16(i.seg, off, gdt ? c.gdtLimit : c.idtLimit);
  if (c.pending !== 0) return;
  const base = gdt ? c.gdtBase : c.idtBase;
  c.st32(i.seg, (off + 2) & i.eaMask, i.opsize === 16 ? base & 0xffffff : base);
}

/** sldt / str Ew (0F 00 /0 /1): to a register with a 32-bit operand size, zero-extended. */
export function sldtStr(c: Cpu, i: Insn): void {
  if (!protectedOnly(c)) return;
  const sel = i.sub === 0 ? c.ldtSel : c.trSel;
  if (i.mem === 0) {
    if (i.opsize === 32) c.regs[i.rm] = sel;
    else c.r16[i.rm] = sel;
  } else c.st16(i.seg, ea(c, i), sel);
}

/** lldt Ew (0F 00 /2): a GDT selector of an LDT descriptor, or null to disable the LDT. */
export function lldt(c: Cpu, i: Insn): void {
  if (!protectedOnly(c) || !privileged(c)) return;
  const sel = i.mem === 0 ? c.r16[i.rm]! : readRm16(c, i);
  if (c.pending !== 0) return;
  if ((sel & 0xfffc) === 0) {
    c.ldtSel = sel;
    c.ldtBase = c.ldtLimit = c.ldtAttr = 0;
    return;
  }
  if ((sel & 4) !== 0) return void c.fault(Vector.GP, sel & 0xfffc);
  if (!readDescriptor(c, sel, Vector.GP, 0)) return;
  if ((desc.attr & (SegAttr.S | SegAttr.TYPE_MASK)) !== SysType.LDT) return void c.fault(Vector.GP, sel & 0xfffc);
  if ((desc.attr & SegAttr.P) === 0) return void c.fault(Vector.NP, sel & 0xfffc);
  c.ldtSel = sel;
  c.ldtBase = desc.base;
  c.ldtLimit = desc.limit;
  c.ldtAttr = desc.attr;
}

/** ltr Ew (0F 00 /3): loads an available TSS and marks its descriptor busy (SDM vol. 3, 7.2.4). */
export function ltr(c: Cpu, i: Insn): void {
  if (!protectedOnly(c) || !privileged(c)) return;
  const sel = i.mem === 0 ? c.r16[i.rm]! : readRm16(c, i);
  if (c.pending !== 0) return;
  if ((sel & 0xfffc) === 0) return void c.fault(Vector.GP, 0);
  if ((sel & 4) !== 0) return void c.fault(Vector.GP, sel & 0xfffc);
  if (!readDescriptor(c, sel, Vector.GP, 0)) return;
  const type = desc.attr & (SegAttr.S | SegAttr.TYPE_MASK);
  if (type !== SysType.TSS32_AVAIL && type !== SysType.TSS16_AVAIL) return void c.fault(Vector.GP, sel & 0xfffc);
  if ((desc.attr & SegAttr.P) === 0) return void c.fault(Vector.NP, sel & 0xfffc);
  c.stSys((desc.addr + 4) | 0, 4, desc.hi | (2 << 8));
  if (c.pending !== 0) return;
  c.trSel = sel;
  c.trBase = desc.base;
  c.trLimit = desc.limit;
  c.trAttr = desc.attr | 2;
}

// ------------------------------------------------------------------ control and debug registers

/** Writes CR0 (MOV or LMSW). Returns false after a fault. */
export function writeCr0(c: Cpu, value: number): boolean {
  const v = (value & CR0_WRITABLE) | Cr0.ET;
  if ((v & Cr0.PG) !== 0 && (v & Cr0.PE) === 0) return !!c.fault(Vector.GP, 0);
  if ((v & Cr0.NW) !== 0 && (v & Cr0.CD) === 0) return !!c.fault(Vector.GP, 0);
  // PE: real-address mode when clear; the segment registers keep their hidden parts either way
  // (SDM vol. 3, 9.9), so the code that follows runs on until a far jump reloads CS.
  const changed = c.cr0 ^ v;
  // PAE paging after the write, and CD, NW or PG changes: the PDPTEs are loaded from CR3 (SDM vol. 3, 4.4.1).
  if ((v & Cr0.PG) !== 0 && (c.cr4 & Cr4.PAE) !== 0 && (changed & (Cr0.CD | Cr0.NW | Cr0.PG)) !== 0 && !c.loadPdptes(c.cr3)) {
    return !!c.fault(Vector.GP, 0);
  }
  c.cr0 = v | 0;
  c.refreshAccessChecks();
  if ((changed & (Cr0.PG | Cr0.WP | Cr0.PE)) !== 0) c.flushTlb();
  c.stop |= Stop.STATE;
  return true;
}

/** mov r32, CRn (0F 20): reg = n. CR1 and CR5-7 are #UD. */
export function movRdCd(c: Cpu, i: Insn): void {
  const n = i.reg;
  if (n === 1 || n > 4) return void c.fault(Vector.UD, -1);
  if (!privileged(c)) return;
  if (c.guestMode && interceptCrRead(c, n, i.rm)) return;
  c.regs[i.rm] = n === 0 ? c.cr0 : n === 2 ? c.cr2 : n === 3 ? c.cr3 : c.cr4;
}

/** mov CRn, r32 (0F 22) */
export function movCdRd(c: Cpu, i: Insn): void {
  const n = i.reg;
  if (n === 1 || n > 4) return void c.fault(Vector.UD, -1);
  if (!privileged(c)) return;
  if (c.guestMode && interceptCrWrite(c, n, i.rm)) return;
  const v = c.regs[i.rm]!;
  switch (n) {
    case 0:
      writeCr0(c, v);
      return;
    case 2:
      c.cr2 = v;
      return;
    case 3:
      // Under PAE paging a present PDPTE with a reserved bit set: #GP(0), CR3 unchanged (SDM vol. 3, 4.4.1).
      if (!c.loadCr3(v)) return void c.fault(Vector.GP, 0);
      c.stop |= Stop.STATE;
      return;
    default: {
      if ((v & ~CR4_SUPPORTED) !== 0 || (v & ~modelCr4(c)) !== 0) return void c.fault(Vector.GP, 0);
      const changed = c.cr4 ^ v;
      // PAE paging after the write, and PAE, PGE, PSE or SMEP changes: the PDPTEs are loaded (SDM vol. 3, 4.4.1).
      const reload = Cr4.PAE | Cr4.PGE | Cr4.PSE | Cr4.SMEP;
      if ((c.cr0 & Cr0.PG) !== 0 && (v & Cr4.PAE) !== 0 && (changed & reload) !== 0 && !c.loadPdptes(c.cr3)) {
        return void c.fault(Vector.GP, 0);
      }
      c.cr4 = v;
      // The TLB's rights bake in PSE, PGE, PAE and SMEP (SDM vol. 3, 4.10.4.1 lists these); SMAP only changes the masks.
      if ((changed & reload) !== 0) c.flushTlb();
      c.refreshAccessChecks();
      c.stop |= Stop.STATE;
    }
  }
}

/** CR4 bits of optional features, and whether the CPU model has each (a MOV to CR4 setting another is #GP(0)). */
const MODEL_CR4: readonly (readonly [number, FeatureFlag])[] = [
  [Cr4.PAE, Feature.PAE],
  [Cr4.SMEP, Feature.SMEP],
  [Cr4.SMAP, Feature.SMAP],
];

/** The CR4 bits this CPU's model allows (the features it lacks are reserved bits to it: SDM vol. 3, 2.5). */
export function modelCr4(c: Cpu): number {
  let allowed = CR4_SUPPORTED;
  for (const [bit, f] of MODEL_CR4) if (!hasFeature(c.model, f)) allowed &= ~bit;
  return allowed;
}

/** mov r32, DRn (0F 21) and mov DRn, r32 (0F 23): sub = 0 read, 1 write. DR4/5 alias DR6/7 unless CR4.DE. */
export function movDebug(c: Cpu, i: Insn): void {
  let n = i.reg;
  if (n === 4 || n === 5) {
    if ((c.cr4 & Cr4.DE) !== 0) return void c.fault(Vector.UD, -1);
    n += 2;
  }
  if (!privileged(c)) return;
  if (i.sub === 0) {
    c.regs[i.rm] = c.dr[n]!;
    return;
  }
  let v = c.regs[i.rm]!;
  if (n === 6) v = (v & 0xe00f) | 0xffff0ff0;
  else if (n === 7) v = (v & ~0xd800) | 0x400;
  c.dr[n] = v;
}

/** smsw Ew (0F 01 /4): to a register with a 32-bit operand size, all of CR0. */
export function smsw(c: Cpu, i: Insn): void {
  if (c.guestMode && interceptCrRead(c, 0, -1)) return;
  if (i.mem === 0) {
    if (i.opsize === 32) c.regs[i.rm] = c.cr0;
    else c.r16[i.rm] = c.cr0 & 0xffff;
  } else c.st16(i.seg, ea(c, i), c.cr0 & 0xffff);
}

/** lmsw Ew (0F 01 /6): loads PE MP EM TS; cannot clear PE. */
export function lmsw(c: Cpu, i: Insn): void {
  if (!privileged(c)) return;
  if (c.guestMode && interceptCrWrite(c, 0, -1)) return;
  const v = i.mem === 0 ? c.r16[i.rm]! : readRm16(c, i);
  if (c.pending !== 0) return;
  writeCr0(c, (c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & Cr0.PE));
}

/** clts (0F 06) */
export function clts(c: Cpu, _i: Insn): void {
  if (!privileged(c)) return;
  if (c.guestMode && interceptCrWrite(c, 0, -1)) return;
  c.cr0 &= ~Cr0.TS;
}

/**
 * invlpg m (0F 01 /7): drops the TLB entry for the page holding the operand's linear address;
 * for a 4 MiB page the whole page (this TLB holds 4 MiB pages as 4 KiB pieces).
 */
export function invlpg(c: Cpu, i: Insn): void {
  if (!privileged(c)) return;
  const lin = (c.segBase[i.seg]! + ea(c, i)) | 0;
  if (c.guestMode && interceptMisc1(c, InterceptMisc1.INVLPG, SvmExit.INVLPG, lin)) return;
  c.ctr[Counter.INVLPG]!++;
  const vpn = lin >>> 12;
  if ((c.tlbE[vpn]! & TlbBit.LARGE) !== 0) {
    const first = vpn & ~0x3ff;
    for (let p = first; p < first + 1024; p++) if ((c.tlbE[p]! & TlbBit.LARGE) !== 0) c.tlb.invalidate(p);
  }
  c.tlb.invalidate(vpn);
  c.stop |= Stop.STATE;
}

/**
 * clac / stac (0F 01 CA / CB): clear or set EFLAGS.AC, which lifts SMAP for explicit supervisor
 * accesses (SDM vol. 2, STAC). #UD at CPL > 0, and where CPUID does not report SMAP. sub: 0 CLAC, 1 STAC.
 */
export function clacStac(c: Cpu, i: Insn): void {
  if (!hasFeature(c.model, Feature.SMAP) || c.cpl !== 0) return void c.fault(Vector.UD, -1);
  c.flags = i.sub === 1 ? c.flags | Eflags.AC : c.flags & ~Eflags.AC;
  c.refreshAccessChecks();
}

/** wbinvd / invd (0F 09 / 0F 08): privileged; there are no caches to write back. */
export function cacheControl(c: Cpu, _i: Insn): void {
  privileged(c);
}

// ------------------------------------------------------------------ descriptor inspection (any CPL)

/**
 * The descriptor for `sel` if LAR/LSL/VERR/VERW may see it from the current CPL: loads `desc`
 * and returns true; returns false (ZF will be cleared) for null, out-of-table or too-privileged
 * selectors. Never faults on the selector itself.
 */
function visible(c: Cpu, sel: number): boolean {
  if ((sel & 0xfffc) === 0) return false;
  const ldt = (sel & 4) !== 0;
  const limit = ldt ? c.ldtLimit : c.gdtLimit;
  if ((ldt && (c.ldtAttr & SegAttr.P) === 0) || (sel | 7) >>> 0 > limit >>> 0) return false;
  if (!readDescriptor(c, sel, Vector.GP, 0)) return false;
  const attr = desc.attr;
  const conformingCode = (attr & (SegAttr.S | SegAttr.CODE | SegAttr.DC)) === (SegAttr.S | SegAttr.CODE | SegAttr.DC);
  const dpl = attrDpl(attr);
  return conformingCode || (dpl >= c.cpl && dpl >= (sel & 3));
}

/** lar Gv, Ew / lsl Gv, Ew (0F 02 / 0F 03): sub = 0 LAR, 1 LSL. */
export function larLsl(c: Cpu, i: Insn): void {
  if (!protectedOnly(c)) return;
  const sel = readRm16(c, i);
  if (c.pending !== 0) return;
  let ok = visible(c, sel);
  if (c.pending !== 0) return;
  if (ok && (desc.attr & SegAttr.S) === 0) {
    const type = desc.attr & SegAttr.TYPE_MASK;
    ok = i.sub === 0 ? [1, 2, 3, 4, 5, 9, 11, 12].includes(type) : [1, 2, 3, 9, 11].includes(type);
  }
  setZf(c, ok);
  if (!ok) return;
  const v = i.sub === 0 ? desc.hi & 0x00f0ff00 : desc.limit;
  if (i.opsize === 32) c.regs[i.reg] = v;
  else c.r16[i.reg] = v;
}

/** verr / verw Ew (0F 00 /4 /5): sub = 4 or 5. */
export function verrVerw(c: Cpu, i: Insn): void {
  if (!protectedOnly(c)) return;
  const sel = readRm16(c, i);
  if (c.pending !== 0) return;
  let ok = visible(c, sel);
  if (c.pending !== 0) return;
  if (ok) {
    const attr = desc.attr;
    const code = (attr & SegAttr.CODE) !== 0;
    if ((attr & SegAttr.S) === 0) ok = false;
    else if (i.sub === 4) ok = !code || (attr & SegAttr.WR) !== 0;
    else ok = !code && (attr & SegAttr.WR) !== 0;
  }
  setZf(c, ok);
}

/** arpl Ew, Gw (63): raise the destination selector's RPL to the source's. */
export function arpl(c: Cpu, i: Insn): void {
  if (!protectedOnly(c)) return;
  const dst = i.mem === 0 ? c.r16[i.rm]! : c.rmw16(i.seg, ea(c, i));
  if (c.pending !== 0) return;
  const src = c.r16[i.reg]!;
  if ((dst & 3) < (src & 3)) {
    const v = (dst & ~3) | (src & 3);
    if (i.mem === 0) c.r16[i.rm] = v;
    else c.commit16(v);
    setZf(c, true);
  } else setZf(c, false);
}

// ------------------------------------------------------------------ identification and time

/**
 * rdtsc (0F 31): EDX:EAX = the TSC (simulated cycles + offset: tsc.ts); #GP(0) above CPL 0 when
 * CR4.TSD = 1. It always
 * starts a block of its own (OpSpec.clock) and ends it, so the count it reads includes every
 * instruction before it and a later RDTSC sees this one's cycles (SDM vol. 3, 17.17).
 */
export function rdtsc(c: Cpu, _i: Insn): void {
  if ((c.cr4 & Cr4.TSD) !== 0 && c.cpl !== 0) return void c.fault(Vector.GP, 0);
  readTsc(c, c.regs, 0, 2);
  c.stop |= Stop.STATE;
}

/**
 * rdtscp (0F 01 F9): EDX:EAX = TSC and ECX = IA32_TSC_AUX[31:0] (SDM vol. 2, RDTSCP); #UD when
 * the model lacks RDTSCP (CPUID 0x80000001 EDX bit 27), #GP(0) above CPL 0 with CR4.TSD. Timed
 * like RDTSC (a block of its own).
 */
export function rdtscp(c: Cpu, _i: Insn): void {
  if (!hasFeature(c.model, Feature.RDTSCP)) return void c.fault(Vector.UD, -1);
  if ((c.cr4 & Cr4.TSD) !== 0 && c.cpl !== 0) return void c.fault(Vector.GP, 0);
  readTsc(c, c.regs, 0, 2);
  c.regs[1] = c.msr.tscAux;
  c.stop |= Stop.STATE;
}

// ------------------------------------------------------------------ absent hardware

/** ud2 (0F 0B), ud0/ud1 and every opcode this CPU does not implement: #UD. */
export function undefinedOpcode(c: Cpu, _i: Insn): void {
  c.fault(Vector.UD, -1);
}
