/**
 * The time-stamp counter (SDM vol. 3, 17.17): simulated cycles since power-on plus an offset that
 * a write to IA32_TIME_STAMP_COUNTER moves (so the machine's clocks, which read cycles, never jump),
 * plus in guest mode the VMCB's TSC_OFFSET (AMD APM vol. 2, "TSC Offset"). 64-bit arithmetic in 32-bit
 * halves: the offsets may be anything, and cycles stay below 2^53.
 */
import type { Cpu } from './cpu.ts';

const TWO32 = 4294967296;

/** Writes the TSC's low half into r[lo] and its high half into r[hi] (RDTSC: EAX and EDX). */
export function readTsc(c: Cpu, r: Int32Array, lo: number, hi: number): void {
  const t = c.cycles;
  const sumLo = (t % TWO32) + (c.msr.tscOffsetLo >>> 0) + (c.vmTscOffsetLo >>> 0);
  const sumHi = Math.floor(t / TWO32) + (c.msr.tscOffsetHi >>> 0) + (c.vmTscOffsetHi >>> 0) + Math.floor(sumLo / TWO32);
  r[lo] = sumLo % TWO32;
  r[hi] = sumHi % TWO32;
}

/** (aLo, aHi) - (bLo, bHi) mod 2^64, into out[0] (low) and out[1] (high). */
export function sub64(aLo: number, aHi: number, bLo: number, bHi: number, out: Int32Array): void {
  const lo = (aLo >>> 0) - (bLo >>> 0);
  const borrow = lo < 0 ? 1 : 0;
  out[0] = lo;
  out[1] = (aHi >>> 0) - (bHi >>> 0) - borrow;
}

/** (aLo, aHi) + (bLo, bHi) mod 2^64, into out[0] (low) and out[1] (high). */
export function add64(aLo: number, aHi: number, bLo: number, bHi: number, out: Int32Array): void {
  const lo = (aLo >>> 0) + (bLo >>> 0);
  out[0] = lo;
  out[1] = (aHi >>> 0) + (bHi >>> 0) + (lo >= TWO32 ? 1 : 0);
}

const scratch = new Int32Array(2);

/**
 * WRMSR to the TSC: from now on it reads (hi, lo) plus the cycles that pass. Outside guest mode the
 * CPU's own offset moves; in guest mode the VMCB's (the guest's view), leaving the host's TSC alone.
 */
export function writeTsc(c: Cpu, lo: number, hi: number): void {
  const t = c.cycles;
  sub64(lo, hi, t % TWO32, Math.floor(t / TWO32), scratch);
  if (c.guestMode) {
    sub64(scratch[0]!, scratch[1]!, c.msr.tscOffsetLo, c.msr.tscOffsetHi, scratch);
    c.vmTscOffsetLo = scratch[0]!;
    c.vmTscOffsetHi = scratch[1]!;
  } else {
    c.msr.tscOffsetLo = scratch[0]!;
    c.msr.tscOffsetHi = scratch[1]!;
  }
}
