/** The host terminal as the emulated machine's console (Node only). */
import { constants, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import type { ByteSink, ByteSource } from '../hw/devices/device.ts';

/** Console input with what the host can do while an idle guest waits for it. */
export interface HostInput extends ByteSource {
  /** Blocks briefly until input may be available; false when none can ever come. */
  wait(): boolean;
}

/**
 * Standard input as a byte source. When stdin is a file or a pipe its whole content is read at
 * start (so runs with piped input are deterministic). When it is a terminal, typed lines reach
 * the guest as they are entered (the terminal stays in its normal line mode, so Ctrl-C still
 * stops shadowvisor), read without blocking through a second, non-blocking descriptor of it.
 */
export function stdinSource(): HostInput {
  let data = new Uint8Array(0);
  try {
    const st = fstatSync(0);
    if (st.isFile() || st.isFIFO() || st.isSocket()) data = new Uint8Array(readFileSync(0));
    else if (isatty(0)) return terminalSource();
  } catch {
    // No usable stdin (closed): no input.
  }
  let at = 0;
  return {
    read: () => (at < data.length ? data[at++]! : -1),
    ready: () => at < data.length,
    // Piped input is all here already: an idle guest can wait for nothing more.
    wait: () => false,
  };
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Polls the controlling terminal without blocking; no input if it cannot be opened so. */
function terminalSource(): HostInput {
  let fd = -1;
  try {
    fd = openSync('/dev/tty', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return { read: () => -1, ready: () => false, wait: () => false };
  }
  const chunk = new Uint8Array(256);
  let buffered = new Uint8Array(0);
  let at = 0;
  const fill = (): boolean => {
    if (at < buffered.length) return true;
    try {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      buffered = chunk.slice(0, n);
      at = 0;
    } catch {
      // EAGAIN: nothing typed yet.
    }
    return at < buffered.length;
  };
  return {
    read: () => (fill() ? buffered[at++]! : -1),
    ready: fill,
    wait: () => {
      // A person may type: sleep 20 ms at a time (the guest is idle, so time may stand still).
      if (!fill()) Atomics.wait(sleeper, 0, 0, 20);
      return true;
    },
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
