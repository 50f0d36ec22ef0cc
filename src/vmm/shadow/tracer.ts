/**
 * Memory tracing: which guest frames the VMM watches for writes. A frame is traced while some
 * shadow is derived from it (a guest page directory or page table, a descriptor table); every
 * shadow entry mapping a traced frame is read-only, so the guest's writes to it fault (trace
 * faults) and are emulated, and the emulated write is reported through the guest memory's
 * trace hook. A frame may be traced for several reasons at once: it is counted.
 */
import type { GuestPhysicalMemory } from '../memory/guest-memory.ts';

export class Tracer {
  /** Reasons each guest frame is traced. */
  readonly count: Int32Array;
  private readonly guestMem: GuestPhysicalMemory;
  /** Called when a frame becomes traced: its writable mappings must go. */
  onTraceStart: (gfn: number) => void = () => {};

  constructor(guestMem: GuestPhysicalMemory, guestFrames: number) {
    this.guestMem = guestMem;
    this.count = new Int32Array(guestFrames);
  }

  isTraced(gfn: number): boolean {
    return gfn < this.count.length && this.count[gfn]! > 0;
  }

  trace(gfn: number): void {
    if (gfn >= this.count.length) return;
    if (this.count[gfn]!++ === 0) {
      this.guestMem.traced[gfn] = 1;
      this.onTraceStart(gfn);
    }
  }

  untrace(gfn: number): void {
    if (gfn >= this.count.length) return;
    if (--this.count[gfn]! === 0) this.guestMem.traced[gfn] = 0;
  }

  /** Frames traced now. */
  tracedFrames(): number {
    let n = 0;
    for (let f = 0; f < this.count.length; f++) if (this.count[f]! > 0) n++;
    return n;
  }
}
