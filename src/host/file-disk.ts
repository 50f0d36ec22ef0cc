/**
 * A disk image file on the host (Node). The file is opened read-write once and accessed with
 * positioned reads and writes of whole sectors: it is never truncated or resized, and each
 * sector the guest writes is one write(2) of complete data, so a killed run leaves every sector
 * either old or new, never cut short.
 */
import * as fs from 'node:fs';
import type { BlockBackend } from '../hw/devices/device.ts';
import { SECTOR_SIZE } from '../hw/devices/device.ts';

/** Sectors addressable with 28-bit LBA, the most our ATA disk offers. */
export const MAX_DISK_SECTORS = 2 ** 28;

/** A disk image the user named cannot be used; the message says why, in the user's terms. */
export class DiskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiskError';
  }
}

function errorCode(e: unknown): string | undefined {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

export class FileDisk implements BlockBackend {
  readonly path: string;
  readonly sectors: number;
  private fd: number | null;

  private constructor(path: string, fd: number, sectors: number) {
    this.path = path;
    this.fd = fd;
    this.sectors = sectors;
  }

  /**
   * Opens an existing image for reading and writing. Throws DiskError if it is missing, not a
   * regular file, read-only, not a whole non-zero number of sectors, or beyond LBA28.
   */
  static open(path: string): FileDisk {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(path, { throwIfNoEntry: false });
    } catch (e) {
      throw new DiskError(`${path}: cannot examine the disk image (${errorCode(e) ?? String(e)})`);
    }
    if (st === undefined) throw new DiskError(`${path}: no such file`);
    if (!st.isFile()) throw new DiskError(`${path} is not a regular file`);
    const readOnly = `${path} is read-only; shadowvisor disks are read-write (copy it or chmod u+w)`;
    // The owner's write bit is checked as well as access(2), which always succeeds for root.
    if ((st.mode & 0o200) === 0) throw new DiskError(readOnly);
    try {
      fs.accessSync(path, fs.constants.R_OK | fs.constants.W_OK);
    } catch {
      throw new DiskError(readOnly);
    }
    if (st.size === 0) throw new DiskError(`${path} is empty (0 bytes); a disk needs at least one 512-byte sector`);
    if (st.size % SECTOR_SIZE !== 0) throw new DiskError(`${path} is ${st.size} bytes, not a whole number of ${SECTOR_SIZE}-byte sectors`);
    const sectors = st.size / SECTOR_SIZE;
    if (sectors > MAX_DISK_SECTORS) {
      throw new DiskError(`${path} is ${st.size} bytes (${sectors} sectors), more than the ${MAX_DISK_SECTORS} sectors (128 GiB) LBA28 addresses`);
    }
    let fd: number;
    try {
      fd = fs.openSync(path, 'r+');
    } catch (e) {
      const code = errorCode(e);
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new DiskError(readOnly);
      throw new DiskError(`${path}: cannot open the disk image (${code ?? String(e)})`);
    }
    return new FileDisk(path, fd, sectors);
  }

  read(lba: number, count: number, into: Uint8Array): void {
    const fd = this.check(lba, count);
    const length = count * SECTOR_SIZE;
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, into, done, length - done, lba * SECTOR_SIZE + done);
      if (n === 0) throw new DiskError(`${this.path} shrank while in use (read at sector ${lba + done / SECTOR_SIZE})`);
      done += n;
    }
  }

  write(lba: number, data: Uint8Array): void {
    if (data.length % SECTOR_SIZE !== 0) throw new RangeError(`disk write of ${data.length} bytes, not whole sectors`);
    const fd = this.check(lba, data.length / SECTOR_SIZE);
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, lba * SECTOR_SIZE + done);
  }

  /** Closes the file; harmless if already closed. */
  close(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
  }

  private check(lba: number, count: number): number {
    if (this.fd === null) throw new Error(`${this.path}: disk used after close`);
    if (!Number.isInteger(lba) || !Number.isInteger(count) || lba < 0 || count < 0 || lba + count > this.sectors) {
      throw new RangeError(`disk access to sectors [${lba}, ${lba + count}) of the ${this.sectors}-sector ${this.path}`);
    }
    return this.fd;
  }
}
