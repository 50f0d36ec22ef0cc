/**
 * The VMM's backing store: where guest frames go when the VMM pages them out behind the guest's
 * back (the lecture's "move the 0xE000 page to disk"). One 4 KiB slot per guest frame. The core
 * has an in-memory store; the Node front end supplies a file (src/host/file-backing-store.ts).
 * A store that cannot take a page throws BackingStoreError; the VM that needed it ends with that
 * message and keeps every byte it had (the page stays resident).
 */

export const PAGE_BYTES = 4096;

export interface BackingStore {
  /** What the store is, for messages ("memory", a file's path). */
  readonly name: string;
  /** Saves one page under `slot`. Throws BackingStoreError when it cannot. */
  write(slot: number, page: Uint8Array): void;
  /** Reads back the page last written under `slot` into `into`. */
  read(slot: number, into: Uint8Array): void;
  /** Releases the store (a file store deletes its temporary file). */
  close(): void;
}

export class BackingStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackingStoreError';
  }
}

/** Pages kept in host (JavaScript) memory; `capacityPages` simulates a full disk. */
export class MemoryBackingStore implements BackingStore {
  readonly name: string;
  private readonly pages = new Map<number, Uint8Array>();
  private readonly capacityPages: number;

  constructor(options: { readonly capacityPages?: number; readonly name?: string } = {}) {
    this.capacityPages = options.capacityPages ?? Number.POSITIVE_INFINITY;
    this.name = options.name ?? 'memory';
  }

  /** Pages stored now. */
  get size(): number {
    return this.pages.size;
  }

  write(slot: number, page: Uint8Array): void {
    if (!this.pages.has(slot) && this.pages.size >= this.capacityPages) {
      throw new BackingStoreError(`backing store ${this.name} is full (${this.capacityPages} pages): cannot page out guest frame 0x${slot.toString(16)}`);
    }
    this.pages.set(slot, page.slice(0, PAGE_BYTES));
  }

  read(slot: number, into: Uint8Array): void {
    const page = this.pages.get(slot);
    if (page === undefined) throw new BackingStoreError(`backing store ${this.name} has no page for guest frame 0x${slot.toString(16)}`);
    into.set(page);
  }

  close(): void {
    this.pages.clear();
  }
}
