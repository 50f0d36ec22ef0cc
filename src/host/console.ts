/** The host terminal as the emulated machine's console (Node only). */
import { constants, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import type { ByteSink, ByteSource } from '../hw/devices/device.ts';

/** Console input with what the host can do while an idle guest waits for it. */
export interface HostInput extends ByteSource {
  /** Blocks briefly until input may be available; false when none can ever come. */
  wait(): boolean;
  /** Why the person at the terminal asked to stop (Ctrl-A X), or null. */
  quitRequested(): string | null;
  /** Gives the terminal back as it was (raw mode off). */
  close(): void;
}

/**
 * Standard input as a byte source. When stdin is a file or a pipe its whole content is read at
 * start (so runs with piped input are deterministic). When it is a terminal it is put in raw mode,
 * as QEMU's -nographic does: every key reaches the guest as typed (Ctrl-C and Ctrl-P included),
 * and Ctrl-A starts a command for shadowvisor itself (Ctrl-A X quits, Ctrl-A H lists them).
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
    quitRequested: () => null,
    close: () => {},
  };
}

/** Looks at the console (about a million guest instructions each) Ctrl-A X waits for the guest to read what came before it. */
const QUIT_GRACE = 200;

/** Ctrl-A: the escape key of the console, as in QEMU. */
const ESCAPE = 0x01;
export const ESCAPE_HELP = 'C-a h    print this help\r\nC-a x    exit shadowvisor\r\nC-a C-a  send C-a to the guest\r\n';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Polls the controlling terminal without blocking, in raw mode; no input if it cannot be opened
 * so. Ctrl-A commands are taken out of the stream here.
 */
function terminalSource(): HostInput {
  let fd = -1;
  try {
    fd = openSync('/dev/tty', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return { read: () => -1, ready: () => false, wait: () => false, quitRequested: () => null, close: () => {} };
  }
  const raw = setRaw(true);
  const restore = () => {
    if (raw) setRaw(false);
  };
  process.on('exit', restore);
  const chunk = new Uint8Array(256);
  const queue: number[] = [];
  let at = 0;
  let escaped = false;
  let quit: string | null = null;
  // Ctrl-A X takes effect once the guest has read the keys typed before it (or, if it reads none,
  // after QUIT_GRACE looks), as QEMU handles its console's bytes in order.
  let queued = 0;
  let taken = 0;
  let quitAfter = 0;
  let quitLooks = 0;
  const take = (b: number): void => {
    if (!escaped) {
      if (b === ESCAPE && raw) escaped = true;
      else {
        queue.push(b);
        queued++;
      }
      return;
    }
    escaped = false;
    if (b === ESCAPE) {
      queue.push(b);
      queued++;
    } else if ((b === 0x78 || b === 0x58) && quit === null) {
      quit = 'the person at the console quit (Ctrl-A X)';
      quitAfter = queued;
    }
    else if (b === 0x68 || b === 0x48) writeSync(2, ESCAPE_HELP);
  };
  const fill = (): boolean => {
    if (at < queue.length) return true;
    queue.length = 0;
    at = 0;
    try {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      for (let k = 0; k < n; k++) take(chunk[k]!);
    } catch {
      // EAGAIN: nothing typed yet.
    }
    return at < queue.length;
  };
  return {
    read: () => {
      if (!fill()) return -1;
      taken++;
      return queue[at++]!;
    },
    ready: fill,
    wait: () => {
      // A person may type: sleep 20 ms at a time (the guest is idle, so time may stand still).
      if (!fill() && quit === null) Atomics.wait(sleeper, 0, 0, 20);
      return true;
    },
    quitRequested: () => {
      fill();
      if (quit === null) return null;
      return taken >= quitAfter || ++quitLooks > QUIT_GRACE ? quit : null;
    },
    close: () => {
      restore();
      process.off('exit', restore);
    },
  };
}

/** Raw mode on the terminal on stdin (QEMU's -nographic); false when it cannot be set. */
function setRaw(on: boolean): boolean {
  try {
    if (!process.stdin.isTTY) return false;
    process.stdin.setRawMode(on);
    return true;
  } catch {
    return false;
  }
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
