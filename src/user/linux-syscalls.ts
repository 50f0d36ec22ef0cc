/**
 * The Linux i386 system calls a statically linked program needs (arch/x86/entry/syscalls/
 * syscall_32.tbl): arguments in EBX ECX EDX ESI EDI EBP, result in EAX, errors as -errno.
 * Files are read-only views of the host's files; time comes from simulated cycles so runs are
 * reproducible. Every other call returns -ENOSYS, as a kernel without it would.
 */
import { SegAttr, Seg } from '../hw/x86/descriptors.ts';
import { loadSegment } from '../hw/cpu/segments.ts';
import { PAGE, PROT, TASK_SIZE, pageDown, pageUp } from './address-space.ts';
import type { LinuxProcess } from './linux-process.ts';
import { encodeUtf8 } from './utf8.ts';
import { GDT_TLS_MAX, GDT_TLS_MIN, Signal } from './linux-process.ts';

export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EBADF: 9,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  ENOTTY: 25,
  ESPIPE: 29,
  EROFS: 30,
  ERANGE: 34,
  ENOSYS: 38,
} as const;

/** Syscall numbers used here (i386). */
export const Sys = {
  exit: 1,
  read: 3,
  write: 4,
  open: 5,
  close: 6,
  time: 13,
  lseek: 19,
  getpid: 20,
  getuid: 24,
  access: 33,
  kill: 37,
  brk: 45,
  getgid: 47,
  geteuid: 49,
  getegid: 50,
  ioctl: 54,
  getppid: 64,
  gettimeofday: 78,
  readlink: 85,
  munmap: 91,
  stat: 106,
  fstat: 108,
  uname: 122,
  mprotect: 125,
  llseek: 140,
  readv: 145,
  writev: 146,
  nanosleep: 162,
  mmap2: 192,
  stat64: 195,
  lstat64: 196,
  fstat64: 197,
  getuid32: 199,
  getgid32: 200,
  geteuid32: 201,
  getegid32: 202,
  gettid: 224,
  tkill: 238,
  set_thread_area: 243,
  exit_group: 252,
  set_tid_address: 258,
  clock_gettime: 265,
  tgkill: 270,
  openat: 295,
  fstatat64: 300,
  clock_gettime64: 403,
} as const;

export const SYSCALL_NAMES = new Map<number, string>(Object.entries(Sys).map(([name, nr]) => [nr, name]));
const ERRNO_NAMES = new Map<number, string>(Object.entries(Errno).map(([name, nr]) => [nr, name]));
/** Arguments shown by the trace for calls that take fewer than three. */
const ARITY = new Map<number, number>([
  [Sys.exit, 1], [Sys.exit_group, 1], [Sys.close, 1], [Sys.brk, 1], [Sys.time, 1], [Sys.uname, 1],
  [Sys.set_thread_area, 1], [Sys.set_tid_address, 1], [Sys.getpid, 0], [Sys.gettid, 0],
  [Sys.munmap, 2], [Sys.fstat64, 2], [Sys.clock_gettime, 2], [Sys.clock_gettime64, 2], [Sys.gettimeofday, 2],
  [Sys.mmap2, 6], [Sys.llseek, 5], [Sys.fstatat64, 4],
]);

/** Simulated time: the CPU's clock rate and the wall-clock instant cycle 0 stands for. */
export const SIMULATED_HZ = 1_000_000_000;
/** 2026-01-01T00:00:00Z: runs report the same date every time. */
export const EPOCH_SECONDS = 1767225600;

const PID = 1000;
const O_ACCMODE = 3;
const O_DIRECTORY = 0o200000;
const AT_FDCWD = -100;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MMAP_TOP = 0xb7fff000;

interface OpenFile {
  readonly path: string;
  readonly data: Uint8Array;
  offset: number;
}

type Descriptor = { readonly kind: 'stdin' } | { readonly kind: 'stdout' } | { readonly kind: 'stderr' } | { readonly kind: 'file'; readonly file: OpenFile };

export class LinuxSyscalls {
  private brk: number;
  private readonly brkStart: number;
  private readonly fds = new Map<number, Descriptor>([
    [0, { kind: 'stdin' }],
    [1, { kind: 'stdout' }],
    [2, { kind: 'stderr' }],
  ]);
  /** Calls by number, for statistics. */
  readonly counts = new Map<number, number>();
  private readonly p: LinuxProcess;

  constructor(p: LinuxProcess, heapStart: number) {
    this.p = p;
    this.brk = heapStart;
    this.brkStart = heapStart;
  }

  /** When set, each call is reported (like strace) through this function. */
  trace: ((line: string) => void) | null = null;

  /** Services the system call in EAX; writes the result to EAX. */
  dispatch(): void {
    const r = this.p.cpu.regs;
    const nr = r[0]! >>> 0;
    this.counts.set(nr, (this.counts.get(nr) ?? 0) + 1);
    const args = [r[3]!, r[1]!, r[2]!, r[6]!, r[7]!, r[5]!] as const;
    const result = this.call(nr, ...args);
    r[0] = result;
    if (this.trace !== null) {
      const name = SYSCALL_NAMES.get(nr) ?? `syscall_${nr}`;
      const shown = args.slice(0, ARITY.get(nr) ?? 3).map((a) => `0x${(a >>> 0).toString(16)}`);
      const errno = result < 0 && result > -4096 ? ` (${ERRNO_NAMES.get(-result) ?? `errno ${-result}`})` : '';
      this.trace(`${name}(${shown.join(', ')}) = ${result < 0 && result > -4096 ? result : `0x${(result >>> 0).toString(16)}`}${errno}`);
    }
  }

  private call(nr: number, a: number, b: number, c: number, d: number, e: number, f: number): number {
    switch (nr) {
      case Sys.exit:
      case Sys.exit_group:
        this.p.terminate({ kind: 'exited', status: a & 0xff });
        return 0;
      case Sys.read:
        return this.read(a, b >>> 0, c >>> 0);
      case Sys.write:
        return this.write(a, b >>> 0, c >>> 0);
      case Sys.readv:
      case Sys.writev:
        return this.vector(nr === Sys.writev, a, b >>> 0, c);
      case Sys.open:
        return this.open(b, a >>> 0);
      case Sys.openat:
        return a === AT_FDCWD || this.isAbsolute(b >>> 0) ? this.open(c, b >>> 0) : -Errno.ENOSYS;
      case Sys.close:
        return this.fds.delete(a) ? 0 : -Errno.EBADF;
      case Sys.lseek:
        return this.seek(a, b, c);
      case Sys.llseek:
        return this.llseek(a, b, c, d >>> 0, e);
      case Sys.brk:
        return this.setBrk(a >>> 0);
      case Sys.mmap2:
        return this.mmap(a >>> 0, b >>> 0, c, d, e, f >>> 0);
      case Sys.munmap:
        return this.munmap(a >>> 0, b >>> 0);
      case Sys.mprotect:
        return this.mprotect(a >>> 0, b >>> 0, c);
      case Sys.set_thread_area:
        return this.setThreadArea(a >>> 0);
      case Sys.uname:
        return this.uname(a >>> 0);
      case Sys.fstat64:
        return this.fstat64(a, b >>> 0);
      case Sys.stat64:
      case Sys.lstat64:
        return this.stat64(a >>> 0, b >>> 0);
      case Sys.fstatat64:
        return this.fstatat64(a, b >>> 0, c >>> 0, d);
      case Sys.ioctl:
        // TCGETS and every other request: no descriptor here is a terminal.
        return this.fds.has(a) ? -Errno.ENOTTY : -Errno.EBADF;
      case Sys.time: {
        const t = this.seconds();
        if (a !== 0 && !this.put32(a >>> 0, [t])) return -Errno.EFAULT;
        return t;
      }
      case Sys.gettimeofday: {
        if (a === 0) return 0;
        const ns = this.nanoseconds();
        return this.put32(a >>> 0, [EPOCH_SECONDS + Math.floor(ns / 1e9), Math.floor((ns % 1e9) / 1000)]) ? 0 : -Errno.EFAULT;
      }
      case Sys.clock_gettime:
        return this.clockGettime(a, b >>> 0, false);
      case Sys.clock_gettime64:
        return this.clockGettime(a, b >>> 0, true);
      case Sys.getpid:
      case Sys.gettid:
        return PID;
      case Sys.getppid:
        return 1;
      case Sys.getuid:
      case Sys.getuid32:
      case Sys.geteuid:
      case Sys.geteuid32:
      case Sys.getgid:
      case Sys.getgid32:
      case Sys.getegid:
      case Sys.getegid32:
        return 1000;
      case Sys.set_tid_address:
        return PID;
      case Sys.kill:
      case Sys.tkill:
      case Sys.tgkill: {
        const target = nr === Sys.tgkill ? b : a;
        const sig = nr === Sys.tgkill ? c : b;
        if (target !== PID) return -Errno.ESRCH;
        if (sig === 0) return 0;
        // No handlers: every signal the program sends itself is fatal.
        this.p.terminate({ kind: 'signaled', signal: sig, name: sig === Signal.SIGABRT ? 'SIGABRT' : `signal ${sig}`, reason: 'the program signalled itself' });
        return 0;
      }
      default:
        return -Errno.ENOSYS;
    }
  }

  // ------------------------------------------------------------------ helpers

  private isAbsolute(pathAddr: number): boolean {
    return this.p.readString(pathAddr)?.startsWith('/') ?? false;
  }

  private put32(addr: number, values: readonly number[]): boolean {
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    for (const [k, v] of values.entries()) view.setUint32(k * 4, v >>> 0, true);
    return this.p.copyToUser(addr, bytes);
  }

  private nanoseconds(): number {
    return Math.floor((this.p.cpu.cycles * 1e9) / SIMULATED_HZ);
  }

  private seconds(): number {
    return EPOCH_SECONDS + Math.floor(this.nanoseconds() / 1e9);
  }

  // ------------------------------------------------------------------ files and streams

  private read(fd: number, buf: number, count: number): number {
    const d = this.fds.get(fd);
    if (d === undefined || d.kind === 'stdout' || d.kind === 'stderr') return -Errno.EBADF;
    let data: Uint8Array;
    if (d.kind === 'stdin') data = this.p.host.readStdin(Math.min(count, 1 << 16));
    else {
      data = d.file.data.subarray(d.file.offset, d.file.offset + count);
      d.file.offset += data.length;
    }
    return this.p.copyToUser(buf, data) ? data.length : -Errno.EFAULT;
  }

  private write(fd: number, buf: number, count: number): number {
    const d = this.fds.get(fd);
    if (d === undefined || d.kind === 'stdin') return -Errno.EBADF;
    if (d.kind === 'file') return -Errno.EBADF;
    const data = this.p.copyFromUser(buf, count);
    if (data === null) return -Errno.EFAULT;
    if (d.kind === 'stdout') this.p.host.writeStdout(data);
    else this.p.host.writeStderr(data);
    return count;
  }

  /** readv / writev: an array of { base, length } pairs. */
  private vector(write: boolean, fd: number, iov: number, count: number): number {
    if (count < 0 || count > 1024) return -Errno.EINVAL;
    const table = this.p.copyFromUser(iov, count * 8);
    if (table === null) return -Errno.EFAULT;
    const view = new DataView(table.buffer);
    let total = 0;
    for (let k = 0; k < count; k++) {
      const base = view.getUint32(k * 8, true);
      const len = view.getUint32(k * 8 + 4, true);
      if (len === 0) continue;
      const n = write ? this.write(fd, base, len) : this.read(fd, base, len);
      if (n < 0) return total > 0 ? total : n;
      total += n;
      if (n < len) break;
    }
    return total;
  }

  private open(flags: number, pathAddr: number): number {
    const path = this.p.readString(pathAddr);
    if (path === null) return -Errno.EFAULT;
    if ((flags & O_ACCMODE) !== 0) return -Errno.EROFS;
    const found = this.p.host.openFile(path);
    switch (found.kind) {
      case 'missing':
        return -Errno.ENOENT;
      case 'denied':
        return -Errno.EACCES;
      case 'directory':
        return (flags & O_DIRECTORY) !== 0 ? -Errno.ENOSYS : -Errno.EISDIR;
    }
    let fd = 3;
    while (this.fds.has(fd)) fd++;
    if (fd >= 1024) return -Errno.EMFILE;
    this.fds.set(fd, { kind: 'file', file: { path, data: found.data, offset: 0 } });
    return fd;
  }

  private seek(fd: number, offset: number, whence: number): number {
    const d = this.fds.get(fd);
    if (d === undefined) return -Errno.EBADF;
    if (d.kind !== 'file') return -Errno.ESPIPE;
    const base = whence === 0 ? 0 : whence === 1 ? d.file.offset : whence === 2 ? d.file.data.length : -1;
    if (base < 0) return -Errno.EINVAL;
    const at = base + offset;
    if (at < 0) return -Errno.EINVAL;
    d.file.offset = at;
    return at;
  }

  /** _llseek(fd, offset_high, offset_low, loff_t *result, whence) */
  private llseek(fd: number, high: number, low: number, result: number, whence: number): number {
    const offset = high * 4294967296 + (low >>> 0);
    const at = this.seek(fd, offset, whence);
    if (at < 0) return at;
    return this.put32(result, [at % 4294967296, Math.floor(at / 4294967296)]) ? 0 : -Errno.EFAULT;
  }

  /** struct stat64 for i386 (arch/x86/include/uapi/asm/stat.h), 96 bytes. */
  private statBuffer(mode: number, size: number, ino: number): Uint8Array {
    const out = new Uint8Array(96);
    const v = new DataView(out.buffer);
    v.setUint32(0, 0x801, true);
    v.setUint32(12, ino, true);
    v.setUint32(16, mode, true);
    v.setUint32(20, 1, true);
    v.setUint32(24, 1000, true);
    v.setUint32(28, 1000, true);
    v.setUint32(44, size % 4294967296, true);
    v.setUint32(48, Math.floor(size / 4294967296), true);
    v.setUint32(52, 4096, true);
    v.setUint32(56, Math.ceil(size / 512), true);
    const t = EPOCH_SECONDS;
    v.setUint32(64, t, true);
    v.setUint32(72, t, true);
    v.setUint32(80, t, true);
    v.setUint32(88, ino, true);
    return out;
  }

  private fstat64(fd: number, buf: number): number {
    const d = this.fds.get(fd);
    if (d === undefined) return -Errno.EBADF;
    const stat = d.kind === 'file' ? this.statBuffer(S_IFREG | 0o644, d.file.data.length, 100 + fd) : this.statBuffer(S_IFCHR | 0o620, 0, 10 + fd);
    return this.p.copyToUser(buf, stat) ? 0 : -Errno.EFAULT;
  }

  private stat64(pathAddr: number, buf: number): number {
    const path = this.p.readString(pathAddr);
    if (path === null) return -Errno.EFAULT;
    const found = this.p.host.openFile(path);
    if (found.kind === 'missing') return -Errno.ENOENT;
    if (found.kind === 'denied') return -Errno.EACCES;
    const stat = found.kind === 'directory' ? this.statBuffer(S_IFDIR | 0o755, 4096, 2) : this.statBuffer(S_IFREG | 0o644, found.data.length, 3);
    return this.p.copyToUser(buf, stat) ? 0 : -Errno.EFAULT;
  }

  /** fstatat64(dirfd, path, buf, flags): AT_EMPTY_PATH with "" is fstat of dirfd (how glibc's fstat arrives). */
  private fstatat64(dirfd: number, pathAddr: number, buf: number, flags: number): number {
    const AT_EMPTY_PATH = 0x1000;
    const path = this.p.readString(pathAddr);
    if (path === null) return -Errno.EFAULT;
    if (path === '' && (flags & AT_EMPTY_PATH) !== 0) return this.fstat64(dirfd, buf);
    if (dirfd !== AT_FDCWD && !path.startsWith('/')) return -Errno.ENOSYS;
    return this.stat64(pathAddr, buf);
  }

  private uname(buf: number): number {
    const fields = ['Linux', 'shadowvisor', '6.1.0-shadowvisor', '#1 SMP', 'i686', '(none)'];
    const out = new Uint8Array(65 * 6);
    for (const [k, s] of fields.entries()) out.set(encodeUtf8(s), k * 65);
    return this.p.copyToUser(buf, out) ? 0 : -Errno.EFAULT;
  }

  private clockGettime(clock: number, buf: number, wide: boolean): number {
    // CLOCK_REALTIME (0) counts from the fixed epoch; the monotonic clocks from power-on.
    if (clock < 0 || clock > 11) return -Errno.EINVAL;
    const ns = this.nanoseconds();
    const sec = (clock === 0 || clock === 8 ? EPOCH_SECONDS : 0) + Math.floor(ns / 1e9);
    const nsec = ns % 1e9;
    const values = wide ? [sec, 0, nsec, 0] : [sec, nsec];
    return this.put32(buf, values) ? 0 : -Errno.EFAULT;
  }

  // ------------------------------------------------------------------ memory

  private setBrk(want: number): number {
    const heap = this.p.space.vmas.find((v) => v.kind === 'heap');
    if (heap === undefined || want === 0 || want < this.brkStart) return this.brk;
    const end = pageUp(want);
    if (end > heap.end) {
      if (!this.p.space.isFree(heap.end, end) || end >= TASK_SIZE) return this.brk;
    } else if (end < heap.end) {
      // Shrinking: the pages above the new break are unmapped (and the heap VMA shortened).
      const oldEnd = heap.end;
      for (let a = end; a < oldEnd; a += PAGE) this.p.space.unmap(a >>> 12);
    }
    heap.end = end;
    this.brk = want;
    return this.brk;
  }

  private findFree(length: number): number {
    for (let top = MMAP_TOP; top - length >= 0x10000000; ) {
      const start = top - length;
      const clash = this.p.space.vmas.find((v) => start < v.end && top > v.start);
      if (clash === undefined) return start;
      top = pageDown(clash.start);
    }
    return -1;
  }

  private mmap(addr: number, length: number, prot: number, flags: number, fd: number, pgoff: number): number {
    if (length === 0 || (addr & (PAGE - 1)) !== 0) return -Errno.EINVAL;
    if ((flags & (MAP_SHARED | MAP_PRIVATE)) === 0) return -Errno.EINVAL;
    const size = pageUp(length);
    const anonymous = (flags & MAP_ANONYMOUS) !== 0;
    let data: Uint8Array | null = null;
    if (!anonymous) {
      // A file mapping gets a private copy of the file's bytes (no write-back to the file).
      const d = this.fds.get(fd);
      if (d === undefined || d.kind !== 'file') return -Errno.EBADF;
      data = d.file.data.subarray(pgoff * PAGE, pgoff * PAGE + length);
    }
    let start: number;
    if ((flags & MAP_FIXED) !== 0) {
      if (addr + size > TASK_SIZE) return -Errno.EINVAL;
      start = addr;
      this.p.space.removeRange(start, start + size);
    } else {
      start = addr !== 0 && addr + size <= TASK_SIZE && this.p.space.isFree(addr, addr + size) ? addr : this.findFree(size);
      if (start < 0) return -Errno.ENOMEM;
    }
    this.p.space.addVma({ start, end: start + size, prot: prot & 7, kind: 'mmap' });
    if (data !== null && data.length > 0) {
      // Fill the copy with the kernel's rights, then apply the program's protection.
      const space = this.p.space;
      space.protectRange(start, start + size, PROT.READ | PROT.WRITE);
      this.p.copyToUser(start, data);
      space.protectRange(start, start + size, prot & 7);
    }
    return start;
  }

  private munmap(addr: number, length: number): number {
    if ((addr & (PAGE - 1)) !== 0 || length === 0) return -Errno.EINVAL;
    const size = pageUp(length);
    this.p.space.removeRange(addr, addr + size);
    return 0;
  }

  private mprotect(addr: number, length: number, prot: number): number {
    if ((addr & (PAGE - 1)) !== 0) return -Errno.EINVAL;
    const size = pageUp(length);
    if (size === 0) return 0;
    return this.p.space.protectRange(addr, addr + size, prot & 7) ? 0 : -Errno.ENOMEM;
  }

  /**
   * set_thread_area(struct user_desc *): installs a TLS descriptor in GDT entries 6-8
   * (arch/x86/kernel/tls.c). entry_number -1 asks for a free one, written back.
   *   struct user_desc { u32 entry_number, base_addr, limit;
   *     u32 seg_32bit:1, contents:2, read_exec_only:1, limit_in_pages:1, seg_not_present:1, useable:1; }
   */
  private setThreadArea(uinfo: number): number {
    const raw = this.p.copyFromUser(uinfo, 16);
    if (raw === null) return -Errno.EFAULT;
    const v = new DataView(raw.buffer);
    let entry = v.getInt32(0, true);
    const base = v.getUint32(4, true);
    const limit = v.getUint32(8, true);
    const bits = v.getUint32(12, true);
    const seg32 = bits & 1;
    const contents = (bits >>> 1) & 3;
    const readExecOnly = (bits >>> 3) & 1;
    const limitInPages = (bits >>> 4) & 1;
    const notPresent = (bits >>> 5) & 1;
    const useable = (bits >>> 6) & 1;
    if (entry === -1) {
      entry = GDT_TLS_MIN;
      while (entry <= GDT_TLS_MAX && this.tlsUsed(entry)) entry++;
      if (entry > GDT_TLS_MAX) return -Errno.ESRCH;
      if (!this.put32(uinfo, [entry])) return -Errno.EFAULT;
    }
    if (entry < GDT_TLS_MIN || entry > GDT_TLS_MAX) return -Errno.EINVAL;
    const empty = base === 0 && limit === 0 && readExecOnly === 1 && notPresent === 1;
    if (empty) this.p.clearGdtEntry(entry);
    else {
      if (contents === 3) return -Errno.EINVAL;
      const type = contents === 2 ? SegAttr.CODE | (readExecOnly ? 0 : SegAttr.WR) : (readExecOnly ? 0 : SegAttr.WR) | (contents === 1 ? SegAttr.DC : 0);
      const attr = type | SegAttr.S | (3 << 5) | (notPresent ? 0 : SegAttr.P) | (seg32 ? SegAttr.DB : 0) | (useable ? SegAttr.AVL : 0) | SegAttr.ACCESSED;
      const byteLimit = limitInPages ? ((limit << 12) | 0xfff) >>> 0 : limit;
      this.p.writeGdtEntry(entry, base, byteLimit, attr);
    }
    // A segment register holding this selector is reloaded, as Linux does on return to user.
    const c = this.p.cpu;
    for (const s of [Seg.FS, Seg.GS]) {
      if ((c.segSel[s]! >>> 3) === entry && (c.segSel[s]! & 4) === 0) {
        c.setCpl(0);
        loadSegment(c, s, c.segSel[s]!);
        c.setCpl(3);
      }
    }
    return 0;
  }

  private tlsUsed(entry: number): boolean {
    return this.p.mem.read32(this.p.gdt + entry * 8 + 4) !== 0;
  }
}
