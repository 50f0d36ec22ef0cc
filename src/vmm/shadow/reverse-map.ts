/**
 * The backward map: for every guest frame, every shadow table entry that maps it (by the
 * entry's HPA). With it the VMM can write-protect a frame that becomes a traced guest page
 * table, or (issue 5) take a frame away from every shadow at once. Phys-table entries are not
 * listed: their place follows from the frame number.
 */
export class ReverseMap {
  private readonly lists: (number[] | undefined)[];
  private entries = 0;

  constructor(guestFrames: number) {
    this.lists = new Array<number[] | undefined>(guestFrames);
  }

  get size(): number {
    return this.entries;
  }

  add(gfn: number, entryHpa: number): void {
    let list = this.lists[gfn];
    if (list === undefined) {
      list = [];
      this.lists[gfn] = list;
    }
    list.push(entryHpa);
    this.entries++;
  }

  remove(gfn: number, entryHpa: number): void {
    const list = this.lists[gfn];
    if (list === undefined) return;
    const k = list.indexOf(entryHpa);
    if (k < 0) return;
    list[k] = list[list.length - 1]!;
    list.pop();
    this.entries--;
  }

  /** Calls `f` for every entry, by guest frame. */
  forEachEntry(f: (gfn: number, entryHpa: number) => void): void {
    this.lists.forEach((list, gfn) => {
      if (list !== undefined) for (const addr of list) f(gfn, addr);
    });
  }

  /** The entries mapping `gfn` (a live view: copy it before changing the map). */
  of(gfn: number): readonly number[] {
    return this.lists[gfn] ?? [];
  }
}
