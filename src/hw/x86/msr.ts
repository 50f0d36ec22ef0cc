/**
 * Model-specific register indices and bit fields (Intel SDM vol. 4, table 2-2 "IA-32 Architectural
 * MSRs"; AMD APM vol. 2, appendix A). Only the registers some CPU model here implements, or that
 * software commonly probes, are named; which model has which is decided in cpu/msr.ts.
 */

/** MSR indices (the ECX of RDMSR/WRMSR). */
export const Msr = {
  TSC: 0x10,
  PLATFORM_ID: 0x17,
  APIC_BASE: 0x1b,
  BIOS_SIGN_ID: 0x8b,
  MTRRCAP: 0xfe,
  SYSENTER_CS: 0x174,
  SYSENTER_ESP: 0x175,
  SYSENTER_EIP: 0x176,
  MCG_CAP: 0x179,
  MCG_STATUS: 0x17a,
  MISC_ENABLE: 0x1a0,
  /** IA32_MTRR_PHYSBASE0; PHYSMASKn is PHYSBASEn + 1, up to PHYSMASK7 at 0x20F. */
  MTRR_PHYSBASE0: 0x200,
  MTRR_FIX64K_00000: 0x250,
  MTRR_FIX16K_80000: 0x258,
  MTRR_FIX16K_A0000: 0x259,
  /** IA32_MTRR_FIX4K_C0000 ... _F8000 are 0x268-0x26F. */
  MTRR_FIX4K_C0000: 0x268,
  PAT: 0x277,
  MTRR_DEF_TYPE: 0x2ff,
  EFER: 0xc0000080,
  TSC_AUX: 0xc0000103,
} as const;

/** IA32_APIC_BASE (SDM vol. 3, 10.4.4, figure 10-5). */
export const ApicBase = {
  /** The processor is the bootstrap processor (read only here). */
  BSP: 1 << 8,
  /** x2APIC mode (reserved without x2APIC). */
  EXTD: 1 << 10,
  /** APIC global enable: clearing it hides the local APIC (10.4.3). */
  EN: 1 << 11,
  /** Bits 31:12 of the APIC's physical base address. */
  BASE_MASK: 0xfffff000 | 0,
} as const;

/** IA32_MISC_ENABLE bits (SDM vol. 4, table 2-2). */
export const MiscEnable = {
  FAST_STRINGS: 1 << 0,
  /** Branch trace storage unavailable (read only). */
  BTS_UNAVAILABLE: 1 << 11,
  /** Precise event-based sampling unavailable (read only). */
  PEBS_UNAVAILABLE: 1 << 12,
  /** CPUID leaf 0 reports at most 2 as the highest basic leaf (only where the maximum is above 2). */
  LIMIT_CPUID_MAXVAL: 1 << 22,
  /** Bit 34 (bit 2 of the high dword): NX disabled (only on processors with NX). */
  XD_DISABLE_HI: 1 << 2,
} as const;

/** IA32_MTRRCAP (SDM vol. 3, 11.11.1): variable-range count, fixed ranges, write combining. */
export const MtrrCap = {
  VCNT_MASK: 0xff,
  FIX: 1 << 8,
  WC: 1 << 10,
} as const;

/** IA32_MTRR_DEF_TYPE (SDM vol. 3, 11.11.2.1): default type in bits 7:0, fixed-range enable, MTRR enable. */
export const MtrrDefType = {
  TYPE_MASK: 0xff,
  FE: 1 << 10,
  E: 1 << 11,
} as const;

/** Memory types an MTRR may hold (SDM vol. 3, table 11-8): UC, WC, WT, WP, WB. 2, 3 and 7+ are reserved. */
export function validMtrrType(type: number): boolean {
  return type === 0 || type === 1 || type === 4 || type === 5 || type === 6;
}

/** Memory types a PAT entry may hold (SDM vol. 3, table 11-10): UC, WC, WT, WP, WB, UC-. */
export function validPatType(type: number): boolean {
  return type === 0 || type === 1 || type === 4 || type === 5 || type === 6 || type === 7;
}

/** IA32_PAT's power-up value (SDM vol. 3, table 11-12): WB WT UC- UC in both halves. */
export const PAT_RESET = 0x00070406;
