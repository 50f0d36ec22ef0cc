import { vectorName } from '../x86/vectors.ts';

/**
 * Named event counters of the CPU. Kept in a Float64Array so that incrementing one on a hot
 * path is a single typed-array store (no boxing, no hidden-class change).
 */
export const Counter = {
  TLB_HIT: 0,
  TLB_MISS: 1,
  PAGE_WALK: 2,
  WALK_READ: 3,
  AD_WRITE: 4,
  TLB_FLUSH: 5,
  INVLPG: 6,
  EXCEPTION: 7,
  INTERRUPT: 8,
  SOFTWARE_INT: 9,
  BLOCK_DECODED: 10,
  BLOCK_COMPILED: 11,
  BLOCK_INVALIDATED: 12,
  PORT_IO: 13,
  MMIO: 14,
  CR3_LOAD: 15,
  HALT: 16,
  /** Guest-mode entries and exits of the virtualization extension. */
  VMRUN: 17,
  VMEXIT: 18,
  /** Hardware task switches (task-switch.ts). */
  TASK_SWITCH: 19,
} as const;

export type CounterName = keyof typeof Counter;

export const COUNTER_NAMES = Object.keys(Counter) as CounterName[];

export class Counters {
  readonly values = new Float64Array(COUNTER_NAMES.length);
  /** Exceptions and interrupts delivered (or trapped to the monitor), by vector. */
  readonly byVector = new Float64Array(256);

  get(name: CounterName): number {
    return this.values[Counter[name]]!;
  }

  /** Plain object of every counter, for reports and JSON. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of COUNTER_NAMES) out[name.toLowerCase()] = this.values[Counter[name]]!;
    return out;
  }

  /** Exceptions and interrupts by vector name ("#PF", "int 0x80"), only those that occurred. */
  vectors(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let v = 0; v < 256; v++) if (this.byVector[v]! > 0) out[vectorName(v)] = this.byVector[v]!;
    return out;
  }

  reset(): void {
    this.values.fill(0);
    this.byVector.fill(0);
  }
}
