/**
 * RDMSR and WRMSR (SDM vol. 2; 0F 32 / 0F 30) and the model-specific registers the CPU's model has
 * (SDM vol. 4, table 2-2; vol. 3, chapters 10, 11, 17). #GP(0) above CPL 0, and for every index
 * the model does not have, every write of a reserved bit and every write of a read-only register.
 *
 *   0x10        IA32_TIME_STAMP_COUNTER   TSC     cycles + offset (tsc.ts); a write moves the offset
 *   0x17        IA32_PLATFORM_ID          always  0, read only
 *   0x1B        IA32_APIC_BASE            APIC    BSP (read only), EN wired to the local APIC
 *   0x8B        IA32_BIOS_SIGN_ID         always  microcode revision in the high dword; writes ignored
 *   0xFE        IA32_MTRRCAP              MTRR    8 variable ranges, fixed ranges, WC; read only
 *   0x174-176   IA32_SYSENTER_CS/ESP/EIP  SEP     32 bits each (high dword ignored, reads 0)
 *   0x1A0       IA32_MISC_ENABLE          always  fast strings; LIMIT_CPUID_MAXVAL if the highest basic
 *                                                 leaf is above 2, XD_DISABLE if NX; the rest reserved
 *   0x200-20F   IA32_MTRR_PHYSBASE/MASKn  MTRR    with the reserved-bit rules of SDM vol. 3, 11.11
 *   0x250-26F   the fixed-range MTRRs     MTRR    eight valid memory types each
 *   0x277       IA32_PAT                  PAT     eight valid PAT types
 *   0x2FF       IA32_MTRR_DEF_TYPE        MTRR    type, FE, E
 *   0xC0000080  IA32_EFER                 NX      NXE (the SDM: EFER exists with NX or long mode)
 *   0xC0000103  IA32_TSC_AUX              RDTSCP  bits 31:0
 *
 * MTRRs and PAT are kept and checked but change nothing: this machine has no caches. The MTRRs'
 * physical addresses are 36 bits wide, as on every P6-family processor with MTRRs and as Linux
 * assumes without CPUID 0x80000008 (the SDM's MAXPHYADDR would be 32 without PAE).
 * No machine-check architecture (MCA) in any model: MCG_CAP/MCG_STATUS (0x179, 0x17A) raise #GP,
 * which Linux's rdmsr_safe expects (it reads 0x179 and 0x277 under an exception fixup).
 * Where this differs from QEMU's TCG (target/i386/tcg/sysemu/misc_helper.c): QEMU reads 0 and
 * ignores writes for every index it does not know, checks no reserved bit (PAT, MTRRs, EFER),
 * answers MSRs of features its model lacks, reads the TSC MSR as 0 and ignores writes to it, and
 * never re-enables a local APIC once IA32_APIC_BASE disabled it. No kernel run here relies on
 * those tolerances (Linux probes every optional MSR with rdmsr_safe/wrmsr_safe), so this CPU
 * follows the SDM; the one write it tolerates as QEMU does is IA32_BIOS_SIGN_ID's (Linux writes 0
 * there before CPUID to read the microcode revision, an architectural use).
 */
import { Efer } from '../x86/control-registers.ts';
import { ApicBase, MiscEnable, Msr, MtrrCap, MtrrDefType, validMtrrType, validPatType } from '../x86/msr.ts';
import { Vector } from '../x86/vectors.ts';
import { type Cpu, Stop } from './cpu.ts';
import { Feature, hasFeature } from './cpu-model.ts';
import { reportsFeature } from './cpuid.ts';
import type { Insn } from './insn.ts';
import { APIC_BASE_RESET } from './model-specific-registers.ts';
import { readTsc, writeTsc } from './tsc.ts';
import { interceptMsr } from './virtualization.ts';

/** IA32_MTRRCAP: VCNT 8, fixed ranges, write combining (what QEMU reports too). */
const MTRRCAP_VALUE = 8 | MtrrCap.FIX | MtrrCap.WC;
/** High-dword bits of a physical address in PHYSBASE/PHYSMASK: 35:32 (36-bit physical addresses). */
const PHYS_HI_MASK = 0xf;

/** Every byte of (lo, hi) is a valid memory type by `valid`. */
function allTypes(lo: number, hi: number, valid: (type: number) => boolean): boolean {
  for (let k = 0; k < 4; k++) if (!valid((lo >>> (8 * k)) & 0xff) || !valid((hi >>> (8 * k)) & 0xff)) return false;
  return true;
}

/** Index of a fixed-range MTRR in ModelSpecificRegisters.mtrrFixed (pairs), or -1. */
function fixedMtrr(index: number): number {
  if (index === Msr.MTRR_FIX64K_00000) return 0;
  if (index === Msr.MTRR_FIX16K_80000) return 1;
  if (index === Msr.MTRR_FIX16K_A0000) return 2;
  if (index >= Msr.MTRR_FIX4K_C0000 && index < Msr.MTRR_FIX4K_C0000 + 8) return 3 + index - Msr.MTRR_FIX4K_C0000;
  return -1;
}

function isVariableMtrr(index: number): boolean {
  return index >= Msr.MTRR_PHYSBASE0 && index < Msr.MTRR_PHYSBASE0 + 16;
}

/** The local APIC's MSR exists: the model has an APIC and the board one to enable. */
function hasApicBase(c: Cpu): boolean {
  return c.hasApic && hasFeature(c.model, Feature.APIC);
}

/**
 * Reads MSR `index` into out[0] (low half) and out[2] (high half) — EAX and EDX when `out` is the
 * register file. Returns false when the MSR does not exist on this CPU (RDMSR raises #GP(0)).
 */
export function readMsr(c: Cpu, index: number, out: Int32Array): boolean {
  const m = c.msr;
  const model = c.model;
  let lo = 0;
  let hi = 0;
  switch (index) {
    case Msr.TSC:
      if (!hasFeature(model, Feature.TSC)) return false;
      readTsc(c, out, 0, 2);
      return true;
    case Msr.PLATFORM_ID:
    case Msr.BIOS_SIGN_ID:
      hi = index === Msr.BIOS_SIGN_ID ? model.microcodeRevision : 0;
      break;
    case Msr.APIC_BASE:
      if (!hasApicBase(c)) return false;
      lo = m.apicBase;
      break;
    case Msr.SYSENTER_CS:
    case Msr.SYSENTER_ESP:
    case Msr.SYSENTER_EIP:
      if (!hasFeature(model, Feature.SEP)) return false;
      lo = index === Msr.SYSENTER_CS ? m.sysenterCs : index === Msr.SYSENTER_ESP ? m.sysenterEsp : m.sysenterEip;
      break;
    case Msr.MISC_ENABLE:
      lo = m.miscEnableLo;
      hi = m.miscEnableHi;
      break;
    case Msr.PAT:
      if (!hasFeature(model, Feature.PAT)) return false;
      lo = m.patLo;
      hi = m.patHi;
      break;
    case Msr.MTRRCAP:
    case Msr.MTRR_DEF_TYPE:
      if (!hasFeature(model, Feature.MTRR)) return false;
      lo = index === Msr.MTRRCAP ? MTRRCAP_VALUE : m.mtrrDefType;
      break;
    case Msr.EFER:
      if (!reportsFeature(c, Feature.NX)) return false;
      lo = c.efer;
      break;
    case Msr.TSC_AUX:
      if (!hasFeature(model, Feature.RDTSCP)) return false;
      lo = m.tscAux;
      break;
    default: {
      if (!hasFeature(model, Feature.MTRR)) return false;
      const fixed = fixedMtrr(index);
      if (fixed >= 0) {
        lo = m.mtrrFixed[2 * fixed]!;
        hi = m.mtrrFixed[2 * fixed + 1]!;
      } else if (isVariableMtrr(index)) {
        const at = 2 * (index - Msr.MTRR_PHYSBASE0);
        lo = m.mtrrVariable[at]!;
        hi = m.mtrrVariable[at + 1]!;
      } else return false;
    }
  }
  out[0] = lo;
  out[2] = hi;
  return true;
}

/**
 * Writes (hi, lo) to MSR `index`. Returns false when WRMSR must raise #GP(0): no such MSR, a
 * read-only one, or a reserved bit set.
 */
export function writeMsr(c: Cpu, index: number, lo: number, hi: number): boolean {
  const m = c.msr;
  const model = c.model;
  switch (index) {
    case Msr.TSC:
      if (!hasFeature(model, Feature.TSC)) return false;
      writeTsc(c, lo, hi);
      return true;
    case Msr.BIOS_SIGN_ID:
      // Linux writes 0 here, then runs CPUID(1), to read the revision; the value always reads current.
      return true;
    case Msr.APIC_BASE:
      return hasApicBase(c) && writeApicBase(c, lo, hi);
    case Msr.SYSENTER_CS:
    case Msr.SYSENTER_ESP:
    case Msr.SYSENTER_EIP:
      if (!hasFeature(model, Feature.SEP)) return false;
      if (index === Msr.SYSENTER_CS) m.sysenterCs = lo;
      else if (index === Msr.SYSENTER_ESP) m.sysenterEsp = lo;
      else m.sysenterEip = lo;
      return true;
    case Msr.MISC_ENABLE: {
      const loWritable = MiscEnable.FAST_STRINGS | (model.maxBasicLeaf > 2 ? MiscEnable.LIMIT_CPUID_MAXVAL : 0);
      const hiWritable = hasFeature(model, Feature.NX) ? MiscEnable.XD_DISABLE_HI : 0;
      if ((lo & ~loWritable) !== 0 || (hi & ~hiWritable) !== 0) return false;
      m.miscEnableLo = lo;
      m.miscEnableHi = hi;
      // With NX disabled EFER does not exist (CPUID hides NX): NXE goes with it.
      if ((hi & MiscEnable.XD_DISABLE_HI) !== 0) setEfer(c, 0);
      return true;
    }
    case Msr.PAT:
      if (!hasFeature(model, Feature.PAT) || !allTypes(lo, hi, validPatType)) return false;
      m.patLo = lo;
      m.patHi = hi;
      return true;
    case Msr.MTRR_DEF_TYPE:
      if (!hasFeature(model, Feature.MTRR)) return false;
      if (hi !== 0 || (lo & ~(MtrrDefType.TYPE_MASK | MtrrDefType.FE | MtrrDefType.E)) !== 0) return false;
      if (!validMtrrType(lo & MtrrDefType.TYPE_MASK)) return false;
      m.mtrrDefType = lo;
      return true;
    case Msr.EFER:
      if (!reportsFeature(c, Feature.NX) || hi !== 0 || (lo & ~Efer.NXE) !== 0) return false;
      setEfer(c, lo);
      return true;
    case Msr.TSC_AUX:
      if (!hasFeature(model, Feature.RDTSCP) || hi !== 0) return false;
      m.tscAux = lo;
      return true;
    default:
      if (!hasFeature(model, Feature.MTRR)) return false;
      return writeMtrr(c, index, lo, hi);
  }
}

/** EFER.NXE changes what the TLB's translations allow: they go. */
function setEfer(c: Cpu, value: number): void {
  if (((c.efer ^ value) & Efer.NXE) !== 0) {
    c.flushTlb();
    c.stop |= Stop.STATE;
  }
  c.efer = value;
}

/** The fixed and variable MTRRs (SDM vol. 3, 11.11.2.2-3). */
function writeMtrr(c: Cpu, index: number, lo: number, hi: number): boolean {
  const m = c.msr;
  const fixed = fixedMtrr(index);
  if (fixed >= 0) {
    if (!allTypes(lo, hi, validMtrrType)) return false;
    m.mtrrFixed[2 * fixed] = lo;
    m.mtrrFixed[2 * fixed + 1] = hi;
    return true;
  }
  if (!isVariableMtrr(index)) return false;
  if ((hi & ~PHYS_HI_MASK) !== 0) return false;
  const mask = (index & 1) === 1;
  // PHYSBASE: type in 7:0, 11:8 reserved. PHYSMASK: 10:0 reserved, 11 valid.
  if (mask ? (lo & 0x7ff) !== 0 : (lo & 0xf00) !== 0 || !validMtrrType(lo & 0xff)) return false;
  const at = 2 * (index - Msr.MTRR_PHYSBASE0);
  m.mtrrVariable[at] = lo;
  m.mtrrVariable[at + 1] = hi;
  return true;
}

/**
 * IA32_APIC_BASE (SDM vol. 3, 10.4.4): bits 7:0, 9 and 10 (no x2APIC) are reserved; BSP is read
 * only; EN enables or hides the local APIC (10.4.3), and CPUID's APIC flag follows it.
 * DEVIATION: relocating the APIC (a base other than 0xFEE00000) raises #GP(0) instead of moving
 * its window: the board maps it at one address (and QEMU's TCG does not move it either).
 */
function writeApicBase(c: Cpu, lo: number, hi: number): boolean {
  if (hi !== 0 || (lo & 0x6ff) !== 0 || (lo & ApicBase.BASE_MASK) !== APIC_BASE_RESET) return false;
  const old = c.msr.apicBase;
  const value = (lo & (ApicBase.BASE_MASK | ApicBase.EN)) | ApicBase.BSP;
  c.msr.apicBase = value;
  if (((old ^ value) & ApicBase.EN) !== 0) {
    c.onApicEnable?.((value & ApicBase.EN) !== 0);
    c.stop |= Stop.STATE;
  }
  return true;
}

/** Common checks: #UD without the MSR feature, #GP(0) above CPL 0 (before any intercept, APM vol. 2, 15.11). */
function allowed(c: Cpu): boolean {
  if (!hasFeature(c.model, Feature.MSR)) return !!c.fault(Vector.UD, -1);
  if (c.cpl !== 0) return !!c.fault(Vector.GP, 0);
  return true;
}

/** rdmsr (0F 32): EDX:EAX = MSR[ECX]. */
export function rdmsr(c: Cpu, _i: Insn): void {
  if (!allowed(c)) return;
  const index = c.regs[1]! >>> 0;
  if (c.guestMode && interceptMsr(c, index, false)) return;
  if (!readMsr(c, index, c.regs)) c.fault(Vector.GP, 0);
}

/** wrmsr (0F 30): MSR[ECX] = EDX:EAX. */
export function wrmsr(c: Cpu, _i: Insn): void {
  if (!allowed(c)) return;
  const index = c.regs[1]! >>> 0;
  if (c.guestMode && interceptMsr(c, index, true)) return;
  if (!writeMsr(c, index, c.regs[0]!, c.regs[2]!)) c.fault(Vector.GP, 0);
}
