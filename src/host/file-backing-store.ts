/**
 * The VMM's backing store as a file on the host (Node): guest frame n lives at offset n * 4096.
 * By default a fresh temporary file that is deleted when the VM is done; a path the user names is
 * created (or truncated) and kept. Every failure of the file system — the directory does not
 * exist, the file is not writable, the disk is full — becomes a BackingStoreError naming the
 * file and the cause, so the VM ends with a clear message instead of a stack trace.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type BackingStore, BackingStoreError, PAGE_BYTES } from '../vmm/memory/backing-store.ts';

function cause(e: unknown): string {
  if (e instanceof Error && 'code' in e && typeof e.code === 'string') {
    if (e.code === 'ENOSPC') return 'no space left on the device';
    if (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS') return 'not writable';
    if (e.code === 'ENOENT') return 'the directory does not exist';
    return e.code;
  }
  return String(e);
}

export class FileBackingStore implements BackingStore {
  readonly name: string;
  private fd: number | null;
  private readonly temporary: boolean;

  private constructor(file: string, fd: number, temporary: boolean) {
    this.name = file;
    this.fd = fd;
    this.temporary = temporary;
  }

  /** Creates (or truncates) `file`; with no file, a temporary one removed on close. */
  static create(file?: string): FileBackingStore {
    const temporary = file === undefined;
    let target = file;
    try {
      if (target === undefined) target = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shadowvisor-')), 'backing-store');
      return new FileBackingStore(target, fs.openSync(target, 'w+'), temporary);
    } catch (e) {
      throw new BackingStoreError(`backing store ${target ?? os.tmpdir()}: cannot create it (${cause(e)})`);
    }
  }

  write(slot: number, page: Uint8Array): void {
    const fd = this.open();
    try {
      const n = fs.writeSync(fd, page, 0, PAGE_BYTES, slot * PAGE_BYTES);
      if (n !== PAGE_BYTES) throw new Error('ENOSPC');
    } catch (e) {
      throw new BackingStoreError(`backing store ${this.name}: cannot page out guest frame 0x${slot.toString(16)} (${cause(e)})`);
    }
  }

  read(slot: number, into: Uint8Array): void {
    const fd = this.open();
    let n: number;
    try {
      n = fs.readSync(fd, into, 0, PAGE_BYTES, slot * PAGE_BYTES);
    } catch (e) {
      throw new BackingStoreError(`backing store ${this.name}: cannot page in guest frame 0x${slot.toString(16)} (${cause(e)})`);
    }
    if (n !== PAGE_BYTES) throw new BackingStoreError(`backing store ${this.name}: guest frame 0x${slot.toString(16)} is cut short (${n} bytes): was the file changed?`);
  }

  close(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
    if (this.temporary) fs.rmSync(path.dirname(this.name), { recursive: true, force: true });
  }

  private open(): number {
    if (this.fd === null) throw new BackingStoreError(`backing store ${this.name} is closed`);
    return this.fd;
  }
}
