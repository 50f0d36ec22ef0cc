/**
 * CPUID (SDM vol. 2, CPUID): the CPU's model (cpu-model.ts) as the instruction reports it, with
 * the flags that change at run time — APIC clears while IA32_APIC_BASE disables the local APIC
 * (SDM vol. 3, 10.4.3), NX while IA32_MISC_ENABLE.XD_DISABLE is set, and leaf 0 reports at most 2
 * while IA32_MISC_ENABLE.LIMIT_CPUID_MAXVAL is set (SDM vol. 4, table 2-2).
 *
 *   leaf 0            highest basic leaf, vendor in EBX EDX ECX
 *   leaf 1            signature; EBX: initial APIC ID 0, no CLFLUSH size (no CLFSH), no HTT count
 *   leaves 2-6        (only when the highest basic leaf is 7) "nothing": leaf 2 AL=1 with null
 *                     descriptors, leaf 4 no caches, no PSN, MONITOR or power-management data
 *   leaf 7            subleaf 0: highest subleaf 0 and the leaf-7 features; other subleaves 0
 *   0x80000000        highest extended leaf (EBX, ECX, EDX reserved: 0)
 *   0x80000001        extended features (EAX 0: Intel reserves it; QEMU copies the signature)
 *   0x80000002-4      the brand string
 *   anything else     the highest basic leaf's data, as Intel processors answer (and QEMU)
 */
import { ApicBase, MiscEnable } from '../x86/msr.ts';
import { InterceptMisc1, SvmExit } from '../x86/vmcb.ts';
import type { Cpu } from './cpu.ts';
import { Feature, type FeatureFlag, FeatureWord, hasFeature, signature } from './cpu-model.ts';
import type { Insn } from './insn.ts';
import { interceptMisc1 } from './virtualization.ts';

/** Bytes [at, at+4) of `s` as a little-endian dword (NUL beyond the end). */
function dword(s: string, at: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) v |= (s.charCodeAt(at + k) || 0) << (8 * k);
  return v;
}

/** Whether CPUID reports the feature now (the model's flag, less what the CPU's state hides). */
export function reportsFeature(c: Cpu, f: FeatureFlag): boolean {
  if (!hasFeature(c.model, f)) return false;
  if (f === Feature.APIC) return c.hasApic && (c.msr.apicBase & ApicBase.EN) !== 0;
  if (f === Feature.NX) return (c.msr.miscEnableHi & MiscEnable.XD_DISABLE_HI) === 0;
  return true;
}

/** The highest basic leaf CPUID reports now. */
function maxBasicLeaf(c: Cpu): number {
  const max = c.model.maxBasicLeaf;
  return (c.msr.miscEnableLo & MiscEnable.LIMIT_CPUID_MAXVAL) !== 0 && max > 2 ? 2 : max;
}

/** A feature word as CPUID reports it now. */
function word(c: Cpu, w: number): number {
  let v = c.model.features[w]!;
  if (w === FeatureWord.LEAF1_EDX && !reportsFeature(c, Feature.APIC)) v &= ~(1 << Feature.APIC.bit);
  if (w === FeatureWord.EXT1_EDX && !reportsFeature(c, Feature.NX)) v &= ~(1 << Feature.NX.bit);
  return v | 0;
}

/**
 * Writes what CPUID returns for `leaf` (and `subleaf`, in ECX) into r, in the order of the
 * register file: r[0] EAX, r[1] ECX, r[2] EDX, r[3] EBX. Loaders use it too (AT_HWCAP, MP tables).
 */
export function cpuidLeaf(c: Cpu, leaf: number, subleaf: number, r: Int32Array): void {
  const model = c.model;
  const maxBasic = maxBasicLeaf(c);
  let l = leaf >>> 0;
  if (l >= 0x80000000 ? l > model.maxExtendedLeaf : l > maxBasic) l = maxBasic;
  r[0] = r[1] = r[2] = r[3] = 0;
  switch (l) {
    case 0:
      r[0] = maxBasic;
      r[3] = dword(model.vendor, 0);
      r[2] = dword(model.vendor, 4);
      r[1] = dword(model.vendor, 8);
      return;
    case 1:
      r[0] = signature(model);
      r[1] = word(c, FeatureWord.LEAF1_ECX);
      r[2] = word(c, FeatureWord.LEAF1_EDX);
      return;
    case 2:
      r[0] = 1;
      return;
    case 7:
      if ((subleaf | 0) !== 0) return;
      r[3] = word(c, FeatureWord.LEAF7_EBX);
      r[1] = word(c, FeatureWord.LEAF7_ECX);
      r[2] = word(c, FeatureWord.LEAF7_EDX);
      return;
    case 0x80000000:
      r[0] = model.maxExtendedLeaf | 0;
      return;
    case 0x80000001:
      r[1] = word(c, FeatureWord.EXT1_ECX);
      r[2] = word(c, FeatureWord.EXT1_EDX);
      return;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      const at = (l - 0x80000002) * 16;
      const brand = model.brand;
      r[0] = dword(brand, at);
      r[3] = dword(brand, at + 4);
      r[1] = dword(brand, at + 8);
      r[2] = dword(brand, at + 12);
      return;
    }
    default:
      // Leaves 3-6 below the highest basic leaf: nothing to report (all zero).
      return;
  }
}

/** cpuid (0F A2): any CPL. In guest mode it exits when intercepted. */
export function cpuid(c: Cpu, _i: Insn): void {
  if (c.guestMode && interceptMisc1(c, InterceptMisc1.CPUID, SvmExit.CPUID)) return;
  cpuidLeaf(c, c.regs[0]! >>> 0, c.regs[1]!, c.regs);
}
