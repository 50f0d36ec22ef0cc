/**
 * A disk held in memory (tests, or images the host supplies as bytes). Whole 512-byte sectors,
 * as BlockBackend requires; an access beyond the disk is the caller's bug and throws.
 */
import type { BlockBackend } from './device.ts';
import { SECTOR_SIZE } from './device.ts';

export class MemoryDisk implements BlockBackend {
  readonly sectors: number;
  /** The disk's bytes, sector after sector. */
  readonly data: Uint8Array;

  /** A zero-filled disk of `sectors` sectors, or a disk over `image` (a multiple of 512 bytes; not copied). */
  constructor(sectorsOrImage: number | Uint8Array) {
    if (typeof sectorsOrImage === 'number') {
      if (!Number.isInteger(sectorsOrImage) || sectorsOrImage <= 0) throw new RangeError(`a disk needs a positive number of sectors, got ${sectorsOrImage}`);
      this.data = new Uint8Array(sectorsOrImage * SECTOR_SIZE);
    } else {
      if (sectorsOrImage.length === 0 || sectorsOrImage.length % SECTOR_SIZE !== 0) {
        throw new RangeError(`a disk image must be a non-zero multiple of ${SECTOR_SIZE} bytes, got ${sectorsOrImage.length}`);
      }
      this.data = sectorsOrImage;
    }
    this.sectors = this.data.length / SECTOR_SIZE;
  }

  read(lba: number, count: number, into: Uint8Array): void {
    this.check(lba, count);
    into.set(this.data.subarray(lba * SECTOR_SIZE, (lba + count) * SECTOR_SIZE));
  }

  write(lba: number, data: Uint8Array): void {
    if (data.length % SECTOR_SIZE !== 0) throw new RangeError(`disk write of ${data.length} bytes, not whole sectors`);
    this.check(lba, data.length / SECTOR_SIZE);
    this.data.set(data, lba * SECTOR_SIZE);
  }

  private check(lba: number, count: number): void {
    if (!Number.isInteger(lba) || !Number.isInteger(count) || lba < 0 || count < 0 || lba + count > this.sectors) {
      throw new RangeError(`disk access to sectors [${lba}, ${lba + count}) of a ${this.sectors}-sector disk`);
    }
  }
}
