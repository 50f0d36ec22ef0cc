/**
 * One shadow page table: a host frame of 1024 entries the real CPU walks, and what the VMM
 * knows about it — which guest table it shadows, and how the shadows link to each other.
 *
 *   role            shadows                                    entries map
 *   directory       a guest page directory (keyed by its GPA)  shadow tables
 *   table           a guest page table (keyed by its GPA)      GVA -> HPA, 4 KiB each
 *   large           one guest 4 MiB page (owned by the         the 4 MiB page's frames, 4 KiB each
 *                   directory entry that maps it)
 *   phys-directory  the physical-mode table (guest paging off) phys tables
 *   phys-table      4 MiB of guest-physical space              GPA -> HPA (GVA = GPA)
 */
export const ShadowRole = { DIRECTORY: 0, TABLE: 1, LARGE: 2, PHYS_DIRECTORY: 3, PHYS_TABLE: 4 } as const;
export type ShadowRoleKind = (typeof ShadowRole)[keyof typeof ShadowRole];

export const ROLE_NAMES: readonly string[] = ['directory', 'table', 'large', 'phys-directory', 'phys-table'];

/** A directory entry that points at a shadow table. */
export interface ParentLink {
  readonly directory: ShadowPage;
  readonly index: number;
}

export class ShadowPage {
  /** Host frame holding the entries. */
  readonly frame: number;
  readonly role: ShadowRoleKind;
  /**
   * The guest frame it stands for: the guest directory's or table's frame; for a large page,
   * the first guest frame of the 4 MiB page; for a phys table, the first guest frame it maps;
   * -1 for the phys directory.
   */
  readonly gfn: number;
  /** Directories: the shadow table each entry points to (null where the entry is empty). */
  readonly children: (ShadowPage | null)[] | null;
  /** Tables: the directory entries that point to this table. */
  readonly parents: ParentLink[] = [];
  /** Directories: built for CR4.PSE=1 (a directory entry's PS bit means a 4 MiB page). */
  readonly pse: boolean;
  /** Trace writes to the guest table since a hidden fault last used this shadow (flood detection). */
  writes = 0;
  /** When the shadow was last used (activated, or filled from), for least-recently-used eviction. */
  lastUse = 0;

  constructor(frame: number, role: ShadowRoleKind, gfn: number, pse = false) {
    this.frame = frame;
    this.role = role;
    this.gfn = gfn;
    this.pse = pse;
    this.children = role === ShadowRole.DIRECTORY || role === ShadowRole.PHYS_DIRECTORY ? new Array<ShadowPage | null>(1024).fill(null) : null;
  }

  get isDirectory(): boolean {
    return this.children !== null;
  }

  /** HPA of entry `index`. */
  entryAddress(index: number): number {
    return this.frame * 4096 + index * 4;
  }

  unlinkParent(directory: ShadowPage, index: number): void {
    const k = this.parents.findIndex((p) => p.directory === directory && p.index === index);
    if (k >= 0) this.parents.splice(k, 1);
  }
}
