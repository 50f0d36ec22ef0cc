/**
 * Runs a statically linked 32-bit Linux program at ring 3 on the emulated CPU, with this module
 * playing the kernel: it builds the page tables and GDT, lays out the initial stack the i386
 * ELF ABI specifies (argc, argv, envp, auxiliary vector), and services every event the CPU
 * returns in monitor mode — system calls (int 0x80), demand-zero page faults, and faults that
 * become signals. Signals are never delivered to handlers: a fatal one ends the program with
 * the shell's status 128 + signal number, as an unhandled one would.
 */
import { Cpu, type CpuExit, type PortBus } from '../hw/cpu/cpu.ts';
import { cpuidLeaf } from '../hw/cpu/cpuid.ts';
import { Cr0 } from '../hw/x86/control-registers.ts';
import { SegAttr, Seg, encodeDescriptor } from '../hw/x86/descriptors.ts';
import { Eflags } from '../hw/x86/eflags.ts';
import { PfError } from '../hw/x86/paging.ts';
import { Vector, vectorName } from '../hw/x86/vectors.ts';
import { PhysicalMemory } from '../hw/memory/physical-memory.ts';
import { AddressSpace, FrameAllocator, OutOfMemory, PAGE, PROT, TASK_SIZE, pageDown, pageUp } from './address-space.ts';
import { ET, type ElfImage, PF, PT, programHeaderAddress } from './elf.ts';
import type { UserHost } from './host.ts';
import { LinuxSyscalls } from './linux-syscalls.ts';
import { decodeUtf8, encodeUtf8 } from './utf8.ts';

export interface UserRunOptions {
  /** argv[0] first. */
  readonly argv: readonly string[];
  readonly env: readonly string[];
  /** Guest RAM in bytes (default 256 MiB). */
  readonly memoryBytes?: number;
  /** Stop a runaway program after this many instructions (default 20 billion). */
  readonly maxInstructions?: number;
  /** Block compilation threshold passed to the CPU (0 = interpret only). */
  readonly compileThreshold?: number;
}

export const Signal = { SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGSEGV: 11 } as const;
const SIGNAL_NAMES: Record<number, string> = { 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV' };

export type UserExit =
  | { readonly kind: 'exited'; readonly status: number }
  | { readonly kind: 'signaled'; readonly signal: number; readonly name: string; readonly reason: string }
  | { readonly kind: 'limit'; readonly instructions: number };

export interface UserRunResult {
  readonly exit: UserExit;
  /** The status a shell would report: the exit status, or 128 + signal. */
  readonly status: number;
  readonly instructions: number;
  readonly cycles: number;
  readonly counters: Record<string, number>;
  /** Exceptions and traps the CPU returned to the runner, by vector ("#PF", "int 0x80"). */
  readonly vectors: Record<string, number>;
}

/** GDT layout as Linux i386 has it (arch/x86/include/asm/segment.h). */
export const GDT_TLS_MIN = 6;
export const GDT_TLS_MAX = 8;
const GDT_USER_CS = 14;
const GDT_USER_DS = 15;
const GDT_ENTRIES = 32;
export const USER_CS = (GDT_USER_CS << 3) | 3;
export const USER_DS = (GDT_USER_DS << 3) | 3;
const STACK_SIZE = 8 << 20;
/** Load address of position-independent (static-pie) programs. */
const PIE_BASE = 0x56555000;
const AT = {
  NULL: 0,
  PHDR: 3,
  PHENT: 4,
  PHNUM: 5,
  PAGESZ: 6,
  BASE: 7,
  FLAGS: 8,
  ENTRY: 9,
  UID: 11,
  EUID: 12,
  GID: 13,
  EGID: 14,
  PLATFORM: 15,
  HWCAP: 16,
  CLKTCK: 17,
  SECURE: 23,
  RANDOM: 25,
  EXECFN: 31,
} as const;

/** The user runner has no devices: every port reads as an empty bus. */
const NO_PORTS: PortBus = { read: () => 0xffffffff, write: () => {} };

export class LinuxProcess {
  readonly mem: PhysicalMemory;
  readonly cpu: Cpu;
  readonly space: AddressSpace;
  readonly frames: FrameAllocator;
  readonly syscalls: LinuxSyscalls;
  /** Physical address of the GDT. */
  readonly gdt: number;
  private readonly maxInstructions: number;
  private exit: UserExit | null = null;
  readonly host: UserHost;

  constructor(elf: ElfImage, host: UserHost, options: UserRunOptions) {
    this.host = host;
    const memoryBytes = options.memoryBytes ?? 256 << 20;
    this.maxInstructions = options.maxInstructions ?? 20e9;
    this.mem = new PhysicalMemory(memoryBytes);
    this.cpu = new Cpu(this.mem, NO_PORTS, { monitor: true, compileThreshold: options.compileThreshold ?? 8 });
    this.frames = new FrameAllocator(this.mem, 1, memoryBytes / PAGE);
    this.space = new AddressSpace(this.mem, this.frames, (vpn) => this.cpu.tlb.invalidate(vpn));
    // In monitor mode the CPU reads descriptor tables by physical address: the GDT needs no mapping.
    this.gdt = this.frames.alloc() * PAGE;
    this.writeGdtEntry(GDT_USER_CS, 0, 0xffffffff, SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR | SegAttr.DB | (3 << 5));
    this.writeGdtEntry(GDT_USER_DS, 0, 0xffffffff, SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.DB | (3 << 5));
    const bias = elf.type === ET.DYN ? PIE_BASE : 0;
    const programEnd = this.loadSegments(elf, bias);
    const heapStart = pageUp(programEnd);
    this.space.addVma({ start: heapStart, end: heapStart, prot: PROT.READ | PROT.WRITE, kind: 'heap' });
    this.space.addVma({ start: TASK_SIZE - STACK_SIZE, end: TASK_SIZE, prot: PROT.READ | PROT.WRITE, kind: 'stack' });
    this.syscalls = new LinuxSyscalls(this, heapStart);
    const sp = this.buildStack(elf, bias, options.argv, options.env);
    this.enterUserMode((elf.entry + bias) | 0, sp);
  }

  /** Writes GDT entry `index` (a descriptor with base, byte limit and attribute word). */
  writeGdtEntry(index: number, base: number, limit: number, attr: number): void {
    const [lo, hi] = encodeDescriptor(base, limit, attr);
    this.mem.write32(this.gdt + index * 8, lo);
    this.mem.write32(this.gdt + index * 8 + 4, hi);
  }

  clearGdtEntry(index: number): void {
    this.mem.write32(this.gdt + index * 8, 0);
    this.mem.write32(this.gdt + index * 8 + 4, 0);
  }

  /** Copies each PT_LOAD segment into fresh frames; returns the highest end address. */
  private loadSegments(elf: ElfImage, bias: number): number {
    let end = 0;
    for (const p of elf.programHeaders) {
      if (p.type !== PT.LOAD || p.memsz === 0) continue;
      const start = (p.vaddr + bias) >>> 0;
      const first = pageDown(start);
      const last = pageUp(start + p.memsz);
      const prot = ((p.flags & PF.R) !== 0 ? PROT.READ : 0) | ((p.flags & PF.W) !== 0 ? PROT.WRITE : 0) | ((p.flags & PF.X) !== 0 ? PROT.EXEC : 0);
      for (let a = first; a < last; a += PAGE) {
        const vma = this.space.vmaAt(a);
        if (vma === undefined) this.space.map(a >>> 12, this.frames.alloc(), prot);
        else if ((prot & PROT.WRITE) !== 0) this.space.protect(a >>> 12, vma.prot | prot);
      }
      this.space.addVma({ start: first, end: last, prot, kind: 'program' });
      const data = elf.bytes.subarray(p.offset, p.offset + p.filesz);
      this.copyToUser(start, data, true);
      end = Math.max(end, start + p.memsz);
    }
    return end;
  }

  /**
   * Lays out the initial process stack (System V i386 ABI, 3-31): strings at the top, then the
   * auxiliary vector, envp, argv and argc at the returned stack pointer (16-byte aligned).
   */
  private buildStack(elf: ElfImage, bias: number, argv: readonly string[], env: readonly string[]): number {
    let top = TASK_SIZE - 16;
    const pushBytes = (bytes: Uint8Array): number => {
      top -= bytes.length;
      this.copyToUser(top, bytes, true);
      return top;
    };
    const pushString = (s: string): number => pushBytes(encodeUtf8(`${s}\0`));
    const execfn = pushString(argv[0] ?? 'program');
    const platform = pushString('i686');
    // AT_RANDOM: 16 bytes the C library uses for stack-protector and pointer-guard values.
    // Deterministic, so every run of the same program is the same run.
    const random = pushBytes(Uint8Array.from({ length: 16 }, (_, k) => (k * 37 + 11) & 0xff));
    const envPtrs = env.map(pushString);
    const argPtrs = argv.map(pushString);
    top &= ~15;
    const aux: number[] = [
      AT.PHDR, programHeaderAddress(elf, bias),
      AT.PHENT, elf.phentsize,
      AT.PHNUM, elf.phnum,
      AT.PAGESZ, PAGE,
      AT.BASE, 0,
      AT.FLAGS, 0,
      AT.ENTRY, (elf.entry + bias) >>> 0,
      AT.UID, 1000,
      AT.EUID, 1000,
      AT.GID, 1000,
      AT.EGID, 1000,
      AT.PLATFORM, platform,
      AT.HWCAP, this.cpuidFeatures(),
      AT.CLKTCK, 100,
      AT.SECURE, 0,
      AT.RANDOM, random,
      AT.EXECFN, execfn,
      AT.NULL, 0,
    ];
    const words = [argPtrs.length, ...argPtrs, 0, ...envPtrs, 0, ...aux];
    top -= words.length * 4;
    top &= ~15;
    const block = new Uint8Array(words.length * 4);
    const view = new DataView(block.buffer);
    for (const [k, w] of words.entries()) view.setUint32(k * 4, w >>> 0, true);
    this.copyToUser(top, block, true);
    return top;
  }

  /** CPUID leaf 1 EDX, asked of the CPU itself so that AT_HWCAP matches what CPUID reports. */
  private cpuidFeatures(): number {
    const r = new Int32Array(4);
    cpuidLeaf(this.cpu, 1, 0, r);
    return r[2]! >>> 0;
  }

  private enterUserMode(entry: number, sp: number): void {
    const c = this.cpu;
    c.gdtBase = this.gdt;
    c.gdtLimit = GDT_ENTRIES * 8 - 1;
    c.loadCr3(this.space.directory);
    // As Linux runs a process with an FPU: MP and NE (unmasked x87 exceptions are #MF), and a
    // fresh FPU (FNINIT's state, as a new process's FPU context is).
    c.cr0 = Cr0.PE | Cr0.MP | Cr0.ET | Cr0.NE | Cr0.PG | Cr0.WP;
    c.fpu.init();
    c.flushTlb();
    const code = SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR | SegAttr.ACCESSED | SegAttr.DB | SegAttr.G | (3 << 5);
    const data = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.ACCESSED | SegAttr.DB | SegAttr.G | (3 << 5);
    c.loadSegmentCache(Seg.CS, USER_CS, 0, 0xffffffff, code);
    for (const s of [Seg.DS, Seg.ES, Seg.SS]) c.loadSegmentCache(s, USER_DS, 0, 0xffffffff, data);
    c.loadNullSegment(Seg.FS, 0);
    c.loadNullSegment(Seg.GS, 0);
    c.setCpl(3);
    c.regs.fill(0);
    c.regs[4] = sp;
    c.eip = entry;
    c.flags = Eflags.FIXED1 | Eflags.IF;
    c.lzKind = 0;
  }

  // ------------------------------------------------------------------ user memory (copy_*_user)

  /** Copies bytes into user memory; false if any page is not writable by the program. */
  copyToUser(addr: number, data: Uint8Array, loading = false): boolean {
    let at = 0;
    while (at < data.length) {
      const a = (addr + at) >>> 0;
      const pa = loading ? this.physicalForLoad(a) : this.space.physical(a, true);
      if (pa < 0) return false;
      const n = Math.min(data.length - at, PAGE - (a & (PAGE - 1)));
      this.mem.writeBytes(pa, data.subarray(at, at + n));
      at += n;
    }
    return true;
  }

  /** During loading the kernel may write read-only pages of the image. */
  private physicalForLoad(a: number): number {
    if (this.space.physical(a, false) < 0) return -1;
    const pte = this.space.pte(a >>> 12);
    return (pte & ~0xfff) + (a & 0xfff);
  }

  /** Reads user memory; null if any byte is not readable by the program. */
  copyFromUser(addr: number, length: number): Uint8Array | null {
    const out = new Uint8Array(length);
    let at = 0;
    while (at < length) {
      const a = (addr + at) >>> 0;
      const pa = this.space.physical(a, false);
      if (pa < 0) return null;
      const n = Math.min(length - at, PAGE - (a & (PAGE - 1)));
      out.set(this.mem.u8.subarray(pa, pa + n), at);
      at += n;
    }
    return out;
  }

  /** A NUL-terminated string from user memory (at most max bytes), or null. */
  readString(addr: number, max = 4096): string | null {
    const bytes: number[] = [];
    for (let k = 0; k < max; k++) {
      const pa = this.space.physical((addr + k) >>> 0, false);
      if (pa < 0) return null;
      const b = this.mem.u8[pa]!;
      if (b === 0) return decodeUtf8(new Uint8Array(bytes));
      bytes.push(b);
    }
    return null;
  }

  // ------------------------------------------------------------------ running

  /** Ends the program (exit, exit_group, or a fatal signal). */
  terminate(exit: UserExit): void {
    this.exit = exit;
    this.cpu.requestExit('terminated');
  }

  run(): UserRunResult {
    const c = this.cpu;
    while (this.exit === null) {
      const exit = c.run(Math.min(50_000_000, this.maxInstructions - c.instructions));
      this.handle(exit);
      if (this.exit === null && c.instructions >= this.maxInstructions) {
        this.exit = { kind: 'limit', instructions: c.instructions };
      }
    }
    const exit = this.exit;
    const status = exit.kind === 'exited' ? exit.status & 0xff : exit.kind === 'signaled' ? 128 + exit.signal : 137;
    return { exit, status, instructions: c.instructions, cycles: c.cycles, counters: c.counters.snapshot(), vectors: c.counters.vectors() };
  }

  private kill(signal: number, reason: string): void {
    this.terminate({ kind: 'signaled', signal, name: SIGNAL_NAMES[signal] ?? `signal ${signal}`, reason });
  }

  private handle(exit: CpuExit): void {
    const c = this.cpu;
    switch (exit.kind) {
      case 'trap':
        this.handleTrap(exit.vector, exit.errorCode, exit.cr2, exit.eip, exit.source === 'software');
        return;
      case 'budget':
      case 'deadline':
      case 'request':
        return;
      case 'unsupported':
        this.kill(Signal.SIGILL, `the program used ${exit.feature}, which shadowvisor's CPU does not model (eip 0x${hex(exit.eip)})`);
        return;
      case 'halt':
      case 'interrupt':
      case 'nmi':
      case 'reset':
      case 'vmexit':
        throw new Error(`user runner: unexpected CPU exit '${exit.kind}' at eip 0x${hex(c.eip)}`);
      default: {
        const never: never = exit;
        throw new Error(`unknown exit ${JSON.stringify(never)}`);
      }
    }
  }

  private handleTrap(vector: number, errorCode: number, cr2: number, eip: number, software: boolean): void {
    if (software && vector === 0x80) {
      try {
        this.syscalls.dispatch();
      } catch (e) {
        if (e instanceof OutOfMemory) this.kill(Signal.SIGKILL, `out of memory: the program needs more than --memory ${this.mem.ramSize >> 20} MiB`);
        else throw e;
      }
      return;
    }
    const at = ` at eip 0x${hex(eip)}`;
    switch (vector) {
      case Vector.PF: {
        const write = (errorCode & PfError.W) !== 0;
        if ((errorCode & PfError.P) === 0) {
          try {
            if (this.space.demandPage(cr2, write)) return;
          } catch (e) {
            if (e instanceof OutOfMemory) {
              this.kill(Signal.SIGKILL, `out of memory: the program needs more than --memory ${this.mem.ramSize >> 20} MiB`);
              return;
            }
            throw e;
          }
        }
        const what = (errorCode & PfError.P) === 0 ? 'unmapped address' : write ? 'read-only page' : 'protected page';
        this.kill(Signal.SIGSEGV, `page fault: ${write ? 'write to' : 'read of'} ${what} 0x${hex(cr2)}${at}`);
        return;
      }
      case Vector.DE:
        this.kill(Signal.SIGFPE, `divide error${at}`);
        return;
      case Vector.UD:
        this.kill(Signal.SIGILL, `invalid or unsupported instruction${this.bytesAt(eip)}${at}`);
        return;
      case Vector.MF:
        this.kill(Signal.SIGFPE, `x87 floating-point exception (status word 0x${hex(this.cpu.fpu.statusWord())})${at}`);
        return;
      case Vector.BP:
      case Vector.DB:
        this.kill(Signal.SIGTRAP, `${vectorName(vector)}${at}`);
        return;
      case Vector.SS:
      case Vector.NP:
      case Vector.AC:
        this.kill(Signal.SIGBUS, `${vectorName(vector)}${at}`);
        return;
      default:
        this.kill(Signal.SIGSEGV, `${software ? `int 0x${vector.toString(16)}` : `${vectorName(vector)} (error code 0x${hex(errorCode)})`}${at}`);
    }
  }

  private bytesAt(eip: number): string {
    const bytes = this.copyFromUser(eip, 4);
    if (bytes === null) return '';
    return ` (bytes ${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`;
  }
}

function hex(v: number): string {
  return (v >>> 0).toString(16);
}

