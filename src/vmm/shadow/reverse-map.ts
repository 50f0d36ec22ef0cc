/**
 * A backward map: for every frame, every shadow entry that points at it (by the entry's HPA).
 * The shadow MMU keeps two: the pmap's backward map, keyed by host frame — every present shadow
 * entry (physical-mode entries included) is listed under the HPA it maps, so the VMM can
 * write-protect a frame that becomes a traced guest page table, or take a frame away from every
 * shadow at once when it pages it out — and the parked map, keyed by guest frame, listing the
 * entries made not-present because their frame went to the backing store, so that all of them
 * can be pointed at the frame's new HPA when it comes back (the lecture: "update ALL shadow
 * page tables pointing to 0xE000").
 */
export class ReverseMap {
  private readonly lists: (number[] | undefined)[];
  private entries = 0;

  constructor(frames: number) {
    this.lists = new Array<number[] | undefined>(frames);
  }

  get size(): number {
    return this.entries;
  }

  add(frame: number, entryHpa: number): void {
    let list = this.lists[frame];
    if (list === undefined) {
      list = [];
      this.lists[frame] = list;
    }
    list.push(entryHpa);
    this.entries++;
  }

  remove(frame: number, entryHpa: number): void {
    const list = this.lists[frame];
    if (list === undefined) return;
    const k = list.indexOf(entryHpa);
    if (k < 0) return;
    list[k] = list[list.length - 1]!;
    list.pop();
    this.entries--;
  }

  /** Takes every entry listed under `frame` out of the map and returns them. */
  take(frame: number): number[] {
    const list = this.lists[frame];
    if (list === undefined) return [];
    this.lists[frame] = undefined;
    this.entries -= list.length;
    return list;
  }

  /** Calls `f` for every entry, by frame. */
  forEachEntry(f: (frame: number, entryHpa: number) => void): void {
    this.lists.forEach((list, frame) => {
      if (list !== undefined) for (const addr of list) f(frame, addr);
    });
  }

  /** The entries pointing at `frame` (a live view: copy it before changing the map). */
  of(frame: number): readonly number[] {
    return this.lists[frame] ?? [];
  }
}
