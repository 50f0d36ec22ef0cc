/**
 * Who owns each host-physical frame: nobody, the VMM (shadow tables, descriptor-table shadows,
 * its own data), a guest (a frame backing some GPA), or nobody yet but set aside for a fixed
 * placement (the lecture replay's HPAs). The VMM takes every frame it uses from here, so that
 * ownership can be audited: no shadow entry may ever map a VMM-owned frame.
 */
export const FrameOwner = { FREE: 0, VMM: 1, GUEST: 2, RESERVED: 3 } as const;
export type FrameOwnerKind = (typeof FrameOwner)[keyof typeof FrameOwner];

export class HostFrames {
  /** FrameOwner per host frame. */
  readonly owner: Uint8Array;
  private freeCount: number;
  /** Lowest frame that may be free (allocation scans upward from it). */
  private cursor = 0;

  constructor(frames: number) {
    this.owner = new Uint8Array(frames);
    this.freeCount = frames;
  }

  get total(): number {
    return this.owner.length;
  }

  get free(): number {
    return this.freeCount;
  }

  /** Takes the lowest free frame for `owner`; -1 when none is left. */
  alloc(owner: FrameOwnerKind): number {
    const n = this.owner.length;
    while (this.cursor < n && this.owner[this.cursor] !== FrameOwner.FREE) this.cursor++;
    if (this.cursor >= n) return -1;
    this.owner[this.cursor] = owner;
    this.freeCount--;
    return this.cursor;
  }

  /**
   * Takes `count` consecutive free frames (descriptor tables the CPU reads by physical address),
   * the highest such run: frames placed one by one fill memory from the bottom, so the top stays
   * contiguous for the runs of the VMs built later.
   */
  allocRun(count: number, owner: FrameOwnerKind): number {
    let end = this.owner.length - 1;
    for (let f = this.owner.length - 1; f >= 0; f--) {
      if (this.owner[f] !== FrameOwner.FREE) {
        end = f - 1;
        continue;
      }
      if (end - f + 1 === count) {
        for (let k = f; k <= end; k++) this.owner[k] = owner;
        this.freeCount -= count;
        return f;
      }
    }
    return -1;
  }

  /** Takes `frame` itself for `owner` (fixed placement); false when it is neither free nor reserved. */
  allocAt(frame: number, owner: FrameOwnerKind): boolean {
    if (frame < 0 || frame >= this.owner.length) return false;
    const was = this.owner[frame];
    if (was !== FrameOwner.FREE && was !== FrameOwner.RESERVED) return false;
    this.owner[frame] = owner;
    if (was === FrameOwner.FREE) this.freeCount--;
    return true;
  }

  /** The free frames, lowest first. */
  freeFrames(): number[] {
    const out: number[] = [];
    for (let f = 0; f < this.owner.length; f++) if (this.owner[f] === FrameOwner.FREE) out.push(f);
    return out;
  }

  release(frame: number): void {
    if (this.owner[frame] === FrameOwner.FREE) throw new Error(`host frame 0x${frame.toString(16)} released twice`);
    this.owner[frame] = FrameOwner.FREE;
    this.freeCount++;
    if (frame < this.cursor) this.cursor = frame;
  }
}
