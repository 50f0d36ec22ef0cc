/** The host terminal as the emulated machine's console (Node only). */
import { fstatSync, readFileSync, writeSync } from 'node:fs';
import type { ByteSink, ByteSource } from '../hw/devices/device.ts';

/**
 * Standard input as a byte source. When stdin is a file or a pipe its whole content is read at
 * start (so runs with piped input are deterministic); a terminal gives no input.
 */
export function stdinSource(): ByteSource {
  let data = new Uint8Array(0);
  try {
    const st = fstatSync(0);
    if (st.isFile() || st.isFIFO() || st.isSocket()) data = new Uint8Array(readFileSync(0));
  } catch {
    // No usable stdin (closed): no input.
  }
  let at = 0;
  return {
    read: () => (at < data.length ? data[at++]! : -1),
    ready: () => at < data.length,
  };
}

/** Standard output as a byte sink, buffered and flushed at each newline and by flush(). */
export class StdoutSink implements ByteSink {
  private readonly buffer = new Uint8Array(4096);
  private length = 0;
  private readonly fd: number;

  constructor(fd = 1) {
    this.fd = fd;
  }

  write(byte: number): void {
    this.buffer[this.length++] = byte;
    if (byte === 10 || this.length === this.buffer.length) this.flush();
  }

  flush(): void {
    let at = 0;
    while (at < this.length) {
      try {
        at += writeSync(this.fd, this.buffer, at, this.length - at);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') break;
        throw e;
      }
    }
    this.length = 0;
  }
}
