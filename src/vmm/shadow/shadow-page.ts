/**
 * One shadow page table: a host frame of entries the real CPU walks, and what the VMM knows
 * about it — which guest table it shadows, and how the shadows link to each other. 32-bit
 * shadows have 1024 4-byte entries; PAE shadows 512 8-byte entries (a PDPT 4).
 *
 *   role            shadows                                    entries map
 *   directory       a guest page directory (keyed by its GPA)  shadow tables
 *   table           a guest page table (keyed by its GPA)      GVA -> HPA, 4 KiB each
 *   large           one guest 4 MiB page (owned by the         the 4 MiB page's frames, 4 KiB each
 *                   directory entry that maps it)
 *   phys-directory  the physical-mode table (guest paging off) phys tables
 *   phys-table      4 MiB of guest-physical space              GPA -> HPA (GVA = GPA)
 *   pdpt            the guest's four PDPTE registers (PAE)     PAE directories, 1 GiB each
 *   pae-directory   a PAE page directory (GPA, NXE)            PAE tables, 2 MiB each
 *   pae-table       a PAE page table (GPA, NXE)                GVA -> HPA, 4 KiB each
 *   pae-large       one guest 2 MiB page (owned by the         the 2 MiB page's frames, 4 KiB each
 *                   PAE directory entry that maps it)
 */
export const ShadowRole = { DIRECTORY: 0, TABLE: 1, LARGE: 2, PHYS_DIRECTORY: 3, PHYS_TABLE: 4, PDPT: 5, PAE_DIRECTORY: 6, PAE_TABLE: 7, PAE_LARGE: 8 } as const;
export type ShadowRoleKind = (typeof ShadowRole)[keyof typeof ShadowRole];

export const ROLE_NAMES: readonly string[] = ['directory', 'table', 'large', 'phys-directory', 'phys-table', 'pdpt', 'pae-directory', 'pae-table', 'pae-large'];

/** Roles whose entries point at other shadows. */
function hasChildren(role: ShadowRoleKind): boolean {
  return role === ShadowRole.DIRECTORY || role === ShadowRole.PHYS_DIRECTORY || role === ShadowRole.PDPT || role === ShadowRole.PAE_DIRECTORY;
}

/** Roles in the PAE format (8-byte entries). */
export function isPaeRole(role: ShadowRoleKind): boolean {
  return role >= ShadowRole.PDPT;
}

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
  /** Directories (and PDPTs): the shadow each entry points to (null where the entry is empty). */
  readonly children: (ShadowPage | null)[] | null;
  /** Tables (and PAE directories): the entries that point to this page. */
  readonly parents: ParentLink[] = [];
  /** Directories: built for CR4.PSE=1 (a directory entry's PS bit means a 4 MiB page). */
  readonly pse: boolean;
  /** PAE format: 8-byte entries (the low half at entryAddress, the high half after it). */
  readonly pae: boolean;
  /** Entries in the page: 1024, 512 (PAE), 4 (PDPT). */
  readonly size: number;
  /** PAE directories and tables: built for IA32_EFER.NXE=1 (bit 63 is XD, not reserved). */
  readonly nxe: boolean;
  /** Trace writes to the guest table since a hidden fault last used this shadow (flood detection). */
  writes = 0;
  /** When the shadow was last used (activated, or filled from), for least-recently-used eviction. */
  lastUse = 0;

  constructor(frame: number, role: ShadowRoleKind, gfn: number, pse = false, nxe = false) {
    this.frame = frame;
    this.role = role;
    this.gfn = gfn;
    this.pse = pse;
    this.nxe = nxe;
    this.pae = isPaeRole(role);
    this.size = role === ShadowRole.PDPT ? 4 : this.pae ? 512 : 1024;
    this.children = hasChildren(role) ? new Array<ShadowPage | null>(this.size).fill(null) : null;
  }

  get isDirectory(): boolean {
    return this.children !== null;
  }

  /** HPA of entry `index` (of its low half under PAE). */
  entryAddress(index: number): number {
    return this.frame * 4096 + index * (this.pae ? 8 : 4);
  }

  unlinkParent(directory: ShadowPage, index: number): void {
    const k = this.parents.findIndex((p) => p.directory === directory && p.index === index);
    if (k >= 0) this.parents.splice(k, 1);
  }
}
