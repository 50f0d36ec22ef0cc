/**
 * What a user-mode program may reach outside the emulated machine: standard streams and
 * reading existing files. The core stays platform-neutral; host-node.ts implements this for
 * Node, and tests implement it in memory.
 */
import { decodeUtf8 } from './utf8.ts';

export type HostFile =
  | { readonly kind: 'file'; readonly data: Uint8Array }
  | { readonly kind: 'directory' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'denied' };

export interface UserHost {
  writeStdout(bytes: Uint8Array): void;
  writeStderr(bytes: Uint8Array): void;
  /** Up to `max` bytes of standard input; an empty array at end of input. */
  readStdin(max: number): Uint8Array;
  /** Opens an existing file for reading (paths as the program gave them, relative to the cwd). */
  openFile(path: string): HostFile;
}

/** A host with in-memory streams and files, for tests and embedding. */
export class MemoryHost implements UserHost {
  readonly stdout: number[] = [];
  readonly stderr: number[] = [];
  private stdinAt = 0;
  private readonly stdin: Uint8Array;
  private readonly files: ReadonlyMap<string, Uint8Array>;

  constructor(stdin: Uint8Array = new Uint8Array(0), files: ReadonlyMap<string, Uint8Array> = new Map()) {
    this.stdin = stdin;
    this.files = files;
  }

  writeStdout(bytes: Uint8Array): void {
    for (const b of bytes) this.stdout.push(b);
  }

  writeStderr(bytes: Uint8Array): void {
    for (const b of bytes) this.stderr.push(b);
  }

  readStdin(max: number): Uint8Array {
    const out = this.stdin.subarray(this.stdinAt, this.stdinAt + max);
    this.stdinAt += out.length;
    return out;
  }

  openFile(path: string): HostFile {
    const data = this.files.get(path);
    return data === undefined ? { kind: 'missing' } : { kind: 'file', data };
  }

  stdoutText(): string {
    return decodeUtf8(new Uint8Array(this.stdout));
  }

  stderrText(): string {
    return decodeUtf8(new Uint8Array(this.stderr));
  }
}
