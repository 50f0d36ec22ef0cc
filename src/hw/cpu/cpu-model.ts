/**
 * The CPU models: what CPUID says the processor is (SDM vol. 2, CPUID; vol. 3, 19.1), in one
 * table whose bits are exactly what this CPU implements. Each model is a named set of feature
 * flags with a vendor, a signature and a brand string; cpuid.ts answers CPUID from it and the
 * instructions and MSRs of optional features (SYSENTER, RDTSCP, MTRRs, PAT, ...) check it.
 *
 *   qemu32  QEMU's default i386 CPU (target/i386/cpu.c "qemu32": GenuineIntel, family 6 model 6
 *           stepping 3, PPRO_FEATURES) less what is not implemented here — no MMX/SSE/SSE2/SSE3/
 *           FXSR, no DE — and, as chosen for this lab, without SEP, so that one model shows
 *           SYSENTER's #UD.
 *   max     every feature implemented (QEMU's "max" idea; its vendor kept Intel, see below).
 *
 * Not modelled: caches and TLBs (leaves 2 and 4 report none), the hypervisor leaves 0x4000000x
 * (QEMU's "TCGTCGTCGTCG"; our CPU is not a hypervisor's), the CPUID faulting of later CPUs.
 */

/** Where a feature flag lives: CPUID leaf 1 ECX/EDX, leaf 7 subleaf 0 EBX/ECX/EDX, leaf 0x80000001 ECX/EDX. */
export const FeatureWord = { LEAF1_ECX: 0, LEAF1_EDX: 1, LEAF7_EBX: 2, LEAF7_ECX: 3, LEAF7_EDX: 4, EXT1_ECX: 5, EXT1_EDX: 6 } as const;
const FEATURE_WORDS = 7;

/** Model membership of a feature (a bit per model in MODEL_SPECS order). */
const QEMU32 = 1;
const MAX = 2;

/** A CPUID feature flag: its word and bit. */
export interface FeatureFlag {
  readonly name: string;
  readonly word: number;
  readonly bit: number;
}

const W = FeatureWord;

/**
 * Every feature flag this CPU knows, one line each: where CPUID reports it and which models
 * have it (0: known, implemented in none yet). Adding a feature to a model is changing its
 * models column; the flag's instructions and MSRs check the model, not this table.
 *
 *    name       word         bit  models        what it gives (SDM vol. 2, CPUID, tables 3-10, 3-11, 3-8)
 */
const FEATURE_TABLE = [
  ['FPU', W.LEAF1_EDX, 0, QEMU32 | MAX], //     x87 FPU (fpu/: 80-bit arithmetic exact, #MF, FERR#)
  ['PSE', W.LEAF1_EDX, 3, QEMU32 | MAX], //      4 MiB pages, CR4.PSE
  ['TSC', W.LEAF1_EDX, 4, QEMU32 | MAX], //      RDTSC, CR4.TSD, IA32_TIME_STAMP_COUNTER
  ['MSR', W.LEAF1_EDX, 5, QEMU32 | MAX], //      RDMSR, WRMSR
  ['PAE', W.LEAF1_EDX, 6, QEMU32 | MAX], //      PAE paging, CR4.PAE, 2 MiB pages
  ['MCE', W.LEAF1_EDX, 7, QEMU32 | MAX], //      CR4.MCE (no machine check is ever raised)
  ['CX8', W.LEAF1_EDX, 8, QEMU32 | MAX], //      CMPXCHG8B
  ['APIC', W.LEAF1_EDX, 9, QEMU32 | MAX], //     local APIC, IA32_APIC_BASE (reads 0 while it is disabled)
  ['SEP', W.LEAF1_EDX, 11, MAX], //              SYSENTER, SYSEXIT, IA32_SYSENTER_CS/ESP/EIP
  ['MTRR', W.LEAF1_EDX, 12, MAX], //             the MTRR MSRs (kept, no effect on caching)
  ['PGE', W.LEAF1_EDX, 13, QEMU32 | MAX], //     global pages, CR4.PGE
  ['CMOV', W.LEAF1_EDX, 15, QEMU32 | MAX], //    CMOVcc
  ['PAT', W.LEAF1_EDX, 16, QEMU32 | MAX], //     IA32_PAT (kept, no effect on caching)
  ['SMEP', W.LEAF7_EBX, 7, MAX], //              CR4.SMEP
  ['SMAP', W.LEAF7_EBX, 20, MAX], //             CR4.SMAP, STAC, CLAC
  ['NX', W.EXT1_EDX, 20, MAX], //                EFER.NXE, the XD bit
  ['RDTSCP', W.EXT1_EDX, 27, MAX], //            RDTSCP, IA32_TSC_AUX
] as const;

export type FeatureName = (typeof FEATURE_TABLE)[number][0];

/** The feature flags by name, for the code that checks them: Feature.SEP, Feature.RDTSCP, ... */
export const Feature = Object.fromEntries(FEATURE_TABLE.map(([name, word, bit]) => [name, { name, word, bit }])) as Record<FeatureName, FeatureFlag>;

/** A named CPU: identification and feature flags (what CPUID returns). */
export interface CpuModel {
  readonly name: string;
  /** One line for `--cpu help`. */
  readonly summary: string;
  /** CPUID leaf 0's 12-character vendor string. */
  readonly vendor: string;
  readonly family: number;
  readonly model: number;
  readonly stepping: number;
  /** The brand string of leaves 0x80000002-0x80000004 (at most 47 characters). */
  readonly brand: string;
  /** IA32_BIOS_SIGN_ID's high dword (the microcode revision; QEMU's default for Intel CPUs is 1). */
  readonly microcodeRevision: number;
  /** The feature words, in FeatureWord order. */
  readonly features: readonly number[];
  /** The highest basic leaf: 7 when a leaf-7 feature exists, else 1. */
  readonly maxBasicLeaf: number;
  /** The highest extended leaf (the brand string's last). */
  readonly maxExtendedLeaf: number;
}

interface ModelSpec {
  readonly name: string;
  readonly member: number;
  readonly summary: string;
  readonly brand: string;
}

/**
 * The models. Both keep QEMU's vendor GenuineIntel and signature (family 6, model 6, stepping 3):
 * QEMU's "max" says AuthenticAMD under TCG, but an AMD family-6 processor sends Linux down the K7
 * paths, which touch AMD-only MSRs without an exception fixup.
 */
const MODEL_SPECS: readonly ModelSpec[] = [
  {
    name: 'qemu32',
    member: QEMU32,
    summary: "QEMU's default i386 CPU (qemu32) less what is not implemented: no MMX/SSE, no SYSENTER",
    brand: 'shadowvisor qemu32 (QEMU Virtual CPU 2.5+)',
  },
  {
    name: 'max',
    member: MAX,
    summary: 'every feature implemented: qemu32 plus SYSENTER/SYSEXIT, MTRRs, RDTSCP, NX, SMEP and SMAP',
    brand: 'shadowvisor max: every feature it implements',
  },
];

function buildModel(spec: ModelSpec): CpuModel {
  const features = new Array<number>(FEATURE_WORDS).fill(0);
  for (const [, word, bit, models] of FEATURE_TABLE) if ((models & spec.member) !== 0) features[word] = (features[word]! | (1 << bit)) >>> 0;
  const leaf7 = features[W.LEAF7_EBX]! | features[W.LEAF7_ECX]! | features[W.LEAF7_EDX]!;
  if (spec.brand.length > 47) throw new Error(`cpu model ${spec.name}: brand string longer than 47 characters`);
  return {
    name: spec.name,
    summary: spec.summary,
    vendor: 'GenuineIntel',
    family: 6,
    model: 6,
    stepping: 3,
    brand: spec.brand,
    microcodeRevision: 1,
    features,
    maxBasicLeaf: leaf7 !== 0 ? 7 : 1,
    maxExtendedLeaf: 0x80000004,
  };
}

/** Every model, the default first. */
export const CPU_MODELS: readonly CpuModel[] = MODEL_SPECS.map(buildModel);

/** The model a machine has unless told otherwise: like QEMU's default, qemu32. */
export const DEFAULT_CPU_MODEL: CpuModel = CPU_MODELS[0]!;

/** The model called `name`, or undefined. */
export function findCpuModel(name: string): CpuModel | undefined {
  return CPU_MODELS.find((m) => m.name === name);
}

/** Whether the model has the feature (statically: CPUID may hide some at run time, see cpuid.ts). */
export function hasFeature(model: CpuModel, f: FeatureFlag): boolean {
  return ((model.features[f.word]! >>> f.bit) & 1) !== 0;
}

/** The names of the model's features, in table order (for people and tests). */
export function featureNames(model: CpuModel): FeatureName[] {
  return FEATURE_TABLE.filter(([name]) => hasFeature(model, Feature[name])).map(([name]) => name);
}

/** CPUID leaf 1 EAX: stepping, model, family (SDM vol. 2, figure 3-6); no extended family or model. */
export function signature(model: CpuModel): number {
  return (model.family << 8) | (model.model << 4) | model.stepping;
}
