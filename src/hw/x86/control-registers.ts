/** CR0 and CR4 bits this CPU implements (Intel SDM vol. 3, 2.5). */
export const Cr0 = {
  PE: 1 << 0,
  MP: 1 << 1,
  EM: 1 << 2,
  TS: 1 << 3,
  ET: 1 << 4,
  NE: 1 << 5,
  WP: 1 << 16,
  AM: 1 << 18,
  NW: 1 << 29,
  CD: 1 << 30,
  PG: 1 << 31,
} as const;

/** CR4: only PSE (4 MiB pages), PGE (global pages), TSD, DE and MCE are implemented. */
export const Cr4 = {
  VME: 1 << 0,
  PVI: 1 << 1,
  TSD: 1 << 2,
  DE: 1 << 3,
  PSE: 1 << 4,
  PAE: 1 << 5,
  MCE: 1 << 6,
  PGE: 1 << 7,
} as const;

/**
 * CR4 bits a MOV to CR4 may set; setting any other bit raises #GP(0) (SDM vol. 3, 2.5). MCE only
 * enables a machine-check exception that this CPU never raises (no hardware error is modelled).
 */
export const CR4_SUPPORTED = Cr4.TSD | Cr4.DE | Cr4.PSE | Cr4.PGE | Cr4.MCE;

/** CR0 bits that are architecturally fixed or reserved are kept as the i686 keeps them: ET reads 1. */
export const CR0_WRITABLE =
  Cr0.PE | Cr0.MP | Cr0.EM | Cr0.TS | Cr0.NE | Cr0.WP | Cr0.AM | Cr0.NW | Cr0.CD | Cr0.PG;

/** IA32_EFER (SDM vol. 3, 2.2.1; AMD APM vol. 2, 3.1.7): only NXE exists on a 32-bit CPU with NX. */
export const Efer = { NXE: 1 << 11 } as const;
