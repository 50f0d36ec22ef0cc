/**
 * The pmap: the VMM's GPA -> HPA map, frame by frame, and its inverse HPA -> GPA. A guest frame
 * has no host frame while it is paged out (or before the guest first touches it, when the VMM
 * backs guest memory on demand). (The backward map from a host frame to every shadow entry that
 * maps it lives with the shadows: shadow/reverse-map.ts.)
 */
export class Pmap {
  /** Host frame backing each guest frame, or -1. */
  readonly hostFrame: Int32Array;
  /** Guest frame each host frame backs, or -1. */
  readonly guestFrame: Int32Array;

  constructor(guestFrames: number, hostFrames: number) {
    this.hostFrame = new Int32Array(guestFrames).fill(-1);
    this.guestFrame = new Int32Array(hostFrames).fill(-1);
  }

  get guestFrames(): number {
    return this.hostFrame.length;
  }

  map(gfn: number, hfn: number): void {
    const old = this.hostFrame[gfn]!;
    if (old >= 0) this.guestFrame[old] = -1;
    this.hostFrame[gfn] = hfn;
    this.guestFrame[hfn] = gfn;
  }

  /** Takes the host frame away from `gfn` (paged out). */
  unmap(gfn: number): void {
    const old = this.hostFrame[gfn]!;
    if (old >= 0) this.guestFrame[old] = -1;
    this.hostFrame[gfn] = -1;
  }

  /** The HPA of a GPA, or -1 when its frame is not backed. */
  hpa(gpa: number): number {
    const gfn = gpa >>> 12;
    const hfn = gfn < this.hostFrame.length ? this.hostFrame[gfn]! : -1;
    return hfn < 0 ? -1 : hfn * 4096 + (gpa & 0xfff);
  }
}
