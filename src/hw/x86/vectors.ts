/** Exception vectors (Intel SDM vol. 3, 6.3.1). */
export const Vector = {
  DE: 0,
  DB: 1,
  NMI: 2,
  BP: 3,
  OF: 4,
  BR: 5,
  UD: 6,
  NM: 7,
  DF: 8,
  TS: 10,
  NP: 11,
  SS: 12,
  GP: 13,
  PF: 14,
  MF: 16,
  AC: 17,
} as const;

export const VECTOR_NAMES: readonly string[] = [
  '#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', 'CSO', '#TS', '#NP', '#SS', '#GP', '#PF', 'rsvd',
  '#MF', '#AC', '#MC', '#XM',
];

/** Name of a vector for messages: "#PF" for exceptions, "int 0x80" for the rest. */
export function vectorName(vector: number): string {
  return vector < VECTOR_NAMES.length ? VECTOR_NAMES[vector]! : `int 0x${vector.toString(16)}`;
}

/** Exceptions that push an error code (SDM vol. 3, table 6-1). */
export function pushesErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}

/**
 * Double-fault classes (SDM vol. 3, table 6-4/6-5): a contributory exception during delivery of a
 * contributory one, or anything but a benign one during a page fault, becomes #DF.
 */
export function isContributory(vector: number): boolean {
  return vector === 0 || (vector >= 10 && vector <= 13);
}
