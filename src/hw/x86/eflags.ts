/**
 * EFLAGS bits (Intel SDM vol. 1, 3.4.3). Bit 1 always reads as 1; bits 3, 5, 15 and 22-31
 * always read as 0. VM (virtual-8086 mode) is set only by IRET at CPL 0 and by task switches;
 * VIF and VIP (VME) are never set.
 */
export const Eflags = {
  CF: 1 << 0,
  FIXED1: 1 << 1,
  PF: 1 << 2,
  AF: 1 << 4,
  ZF: 1 << 6,
  SF: 1 << 7,
  TF: 1 << 8,
  IF: 1 << 9,
  DF: 1 << 10,
  OF: 1 << 11,
  IOPL: 3 << 12,
  NT: 1 << 14,
  RF: 1 << 16,
  VM: 1 << 17,
  AC: 1 << 18,
  VIF: 1 << 19,
  VIP: 1 << 20,
  ID: 1 << 21,
} as const;

/** The six status flags written by arithmetic instructions. */
export const ARITH_FLAGS = Eflags.CF | Eflags.PF | Eflags.AF | Eflags.ZF | Eflags.SF | Eflags.OF;

/** Bits this CPU lets software change at all (an i686 without VME: no VIF/VIP). */
export const EFLAGS_WRITABLE =
  ARITH_FLAGS | Eflags.TF | Eflags.IF | Eflags.DF | Eflags.IOPL | Eflags.NT | Eflags.RF | Eflags.AC | Eflags.ID;

export const IOPL_SHIFT = 12;
