/** The Node implementation of UserHost: the process's own stdio and file system. */
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import type { HostFile, UserHost } from './host.ts';

function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) {
    try {
      at += writeSync(fd, bytes, at, bytes.length - at);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') return;
      throw e;
    }
  }
}

export class NodeHost implements UserHost {
  writeStdout(bytes: Uint8Array): void {
    writeAll(1, bytes);
  }

  writeStderr(bytes: Uint8Array): void {
    writeAll(2, bytes);
  }

  readStdin(max: number): Uint8Array {
    const buf = new Uint8Array(max);
    for (;;) {
      try {
        const n = readSync(0, buf, 0, max, null);
        return buf.subarray(0, n);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') continue;
        if (code === 'EOF') return buf.subarray(0, 0);
        throw e;
      }
    }
  }

  openFile(path: string): HostFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === 'EACCES' || code === 'EPERM' ? { kind: 'denied' } : { kind: 'missing' };
    }
    try {
      if (fstatSync(fd).isDirectory()) return { kind: 'directory' };
      return { kind: 'file', data: new Uint8Array(readFileSync(fd)) };
    } finally {
      closeSync(fd);
    }
  }
}
