/**
 * A software TLB: one entry per linear page number (direct-mapped over all 2^20 pages), so a
 * lookup is a single typed-array load. Each entry caches the frame and what the current paging
 * structures permit, so that the fast path needs no walk:
 *
 *  31                     12 11  9   8    7    6    5    4    3    2    1    0
 * +-------------------------+-----+-----+----+----+----+----+----+----+----+----+
 * | physical frame          |  0  | WSU | XU | XS | L  | G  | WU | WS | RU | RS |
 * +-------------------------+-----+-----+----+----+----+----+----+----+----+----+
 *  RS: a supervisor-mode page (U/S=0 at some level): supervisor reads allowed.
 *  RU: a user-mode page: user reads allowed, and supervisor reads unless SMAP forbids them.
 *  WS/WU/WSU: writes allowed without a walk — supervisor to a supervisor-mode page, user, and
 *  supervisor to a user-mode page (SMAP permitting) — the leaf is already dirty and the frame is
 *  plain RAM that no code cache watches.
 *  XS/XU: supervisor/user instruction fetches allowed (no XD; SMEP applied when filled).
 *  G: global page, kept across CR3 loads when CR4.PGE=1 (SDM vol. 3, 4.10.4.1).
 *  L: a piece of a large page (INVLPG must then drop the whole 4 MiB or 2 MiB).
 * The bits do not depend on EFLAGS.AC or CR4.SMAP: the CPU's masks choose which bits allow an
 * access (Cpu.refreshAccessChecks), so STAC, CLAC and POPF flush nothing. CR0.WP, CR4.SMEP and
 * IA32_EFER.NXE are baked in: changing them flushes the TLB.
 * An entry of 0 is empty. Translations of MMIO or unbacked frames are never cached.
 */
export const TlbBit = { RS: 1, RU: 2, WS: 4, WU: 8, G: 16, LARGE: 32, XS: 64, XU: 128, WSU: 256 } as const;

const TOUCHED_CAPACITY = 1 << 15;

export class Tlb {
  readonly entries = new Int32Array(1 << 20);
  /** Pages filled since the last flush, so a flush clears only those. */
  private readonly touched = new Int32Array(TOUCHED_CAPACITY);
  private touchedCount = 0;
  private overflowed = false;
  flushes = 0;

  fill(vpn: number, entry: number): void {
    if (this.entries[vpn] === 0) {
      if (this.touchedCount < TOUCHED_CAPACITY) this.touched[this.touchedCount++] = vpn;
      else this.overflowed = true;
    }
    this.entries[vpn] = entry;
  }

  /** INVLPG: drops one page, global or not (SDM vol. 3, 4.10.4.1). */
  invalidate(vpn: number): void {
    this.entries[vpn] = 0;
  }

  /**
   * Takes the write bits away from every entry that maps physical frame `frame`, so that
   * writes to it take the slow path (used when the frame starts holding decoded code).
   * Not an architectural flush: translations stay cached.
   */
  revokeWrite(frame: number): void {
    const mask = ~(TlbBit.WS | TlbBit.WU | TlbBit.WSU);
    if (this.overflowed) {
      for (let vpn = 0; vpn < this.entries.length; vpn++) {
        const e = this.entries[vpn]!;
        if (e !== 0 && e >>> 12 === frame) this.entries[vpn] = e & mask;
      }
      return;
    }
    for (let i = 0; i < this.touchedCount; i++) {
      const vpn = this.touched[i]!;
      const e = this.entries[vpn]!;
      if (e !== 0 && e >>> 12 === frame) this.entries[vpn] = e & mask;
    }
  }

  /** Calls `f` for every non-empty entry (audits; an entry may be visited twice). */
  forEachEntry(f: (vpn: number, entry: number) => void): void {
    if (this.overflowed) {
      for (let vpn = 0; vpn < this.entries.length; vpn++) if (this.entries[vpn] !== 0) f(vpn, this.entries[vpn]!);
      return;
    }
    for (let i = 0; i < this.touchedCount; i++) {
      const vpn = this.touched[i]!;
      if (this.entries[vpn] !== 0) f(vpn, this.entries[vpn]!);
    }
  }

  /** Drops everything (CR4.PGE toggled, CR0.PG changed, paging structures replaced wholesale). */
  flushAll(): void {
    this.flushes++;
    if (this.overflowed) {
      this.entries.fill(0);
      this.overflowed = false;
    } else {
      for (let i = 0; i < this.touchedCount; i++) this.entries[this.touched[i]!] = 0;
    }
    this.touchedCount = 0;
  }

  /** A CR3 load: drops all but global entries. */
  flushNonGlobal(): void {
    this.flushes++;
    if (this.overflowed) {
      // Rare: keep correctness, lose the globals.
      this.entries.fill(0);
      this.overflowed = false;
      this.touchedCount = 0;
      return;
    }
    let kept = 0;
    for (let i = 0; i < this.touchedCount; i++) {
      const vpn = this.touched[i]!;
      const e = this.entries[vpn]!;
      if ((e & TlbBit.G) !== 0) this.touched[kept++] = vpn;
      else this.entries[vpn] = 0;
    }
    this.touchedCount = kept;
  }
}
