/**
 * A bare test machine for system-level CPU tests: RAM, the CPU, a recording port bus and an
 * interrupt controller stub, plus the structures a protected-mode kernel sets up — a GDT with
 * segments for every ring and the odd kinds tests need, an IDT whose every vector leads to a
 * small handler stub, a 32-bit TSS with inner-ring stacks and an I/O bitmap, and optional
 * identity-mapping page tables. A boot prologue (real instructions: LGDT, LIDT, a far jump,
 * segment loads, LTR, MOV CRn, IRET) brings the CPU to the test code at the requested CPL.
 *
 * Handler stubs: stub v (at STUBS + 16*v) does `push $v; out %al, $EVENT_PORT`, which makes
 * cpu.run() return a 'request' exit with reason 'event' while the exception frame is on the
 * stack; running again pops the vector (and error code) and IRETs. Test code ends with
 * `out %al, $DONE_PORT` ('done'). STOP_PORT stops the run ('stop'), NMI_PORT pulses the NMI input,
 * IRQ_PORT raises INTR. The ports are clear in the I/O bitmap, so they work at any CPL.
 */
import { type Assembled, assemble, symbol } from './assemble.ts';
import { type CpuExit, Cpu, type PortBus } from '../../src/hw/cpu/cpu.ts';
import type { CpuModel } from '../../src/hw/cpu/cpu-model.ts';
import { readEflags } from '../../src/hw/cpu/flags.ts';
import { PhysicalMemory } from '../../src/hw/memory/physical-memory.ts';
import { WalkRecord, walk } from '../../src/hw/mmu/walk.ts';
import { Cr0, Cr4 } from '../../src/hw/x86/control-registers.ts';
import { SegAttr, SysType, encodeDescriptor } from '../../src/hw/x86/descriptors.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { Pte } from '../../src/hw/x86/paging.ts';
import { pushesErrorCode } from '../../src/hw/x86/vectors.ts';

// ---------------------------------------------------------------- physical memory map

export const RAM_BYTES = 4 << 20;
export const IDT_BASE = 0x0000;
export const GDT_BASE = 0x0800;
export const GDT_ENTRIES = 64;
export const TSS_BASE = 0x1000;
/** Offset of the I/O bitmap in the TSS (TSS+102 holds it). */
export const IOMAP_OFFSET = 0x68;
/** A second 32-bit TSS (for LTR tests). */
export const TSS2_BASE = 0x3100;
export const STUBS = 0x4000;
export const BOOT = 0x5000;
const PARAMS = 0x5e00;
/** Supervisor scratch memory tests may use. */
export const SCRATCH = 0x6000;
export const STACK0_TOP = 0x8000;
export const STACK1_TOP = 0x9000;
export const STACK2_TOP = 0xa000;
/** The stack the test code starts on (at its own CPL). */
export const RUN_STACK_TOP = 0xb000;
/** A data page any ring may use. */
export const DATA = 0xb000;
export const CODE = 0x10000;
export const PAGE_DIR = 0x20000;
export const PT0 = 0x21000;
export const PT_TARGET = 0x22000;
/** A linear page in its own page directory entry (index 2), for paging tests. */
export const TARGET_LIN = 0x00800000;
export const TARGET_PHYS = 0x00300000;
/** A second frame, for remapping tests. */
export const TARGET_PHYS2 = 0x00301000;

export const EVENT_PORT = 0xf4;
export const DONE_PORT = 0xf5;
/** A write raises the INTR line (the interrupt controller stub then hands over irqVector). */
export const IRQ_PORT = 0xf6;
/** A write stops the run after it ('stop'): tests then drive the CPU an instruction at a time. */
export const STOP_PORT = 0xf7;
/** A write is an edge on the CPU's NMI input. */
export const NMI_PORT = 0xf8;

// ---------------------------------------------------------------- selectors

export const Sel = {
  CODE0: 0x08,
  DATA0: 0x10,
  CODE1: 0x19,
  DATA1: 0x21,
  CODE2: 0x2a,
  DATA2: 0x32,
  CODE3: 0x3b,
  DATA3: 0x43,
  TSS: 0x48,
  TSS2: 0x50,
  /** 32-bit call gate, DPL 3, to CODE0:(set by the test), copying 2 dwords of parameters. */
  CALL_GATE: 0x58,
  /** Conforming readable code, DPL 0, flat. */
  CONFORMING0: 0x60,
  /** Expand-down writable data, DPL 3, 32-bit (B=1), limit 0xfff: offsets 0x1000-0xffffffff. */
  EXPAND_DOWN: 0x6b,
  /** Data DPL 3, base DATA, byte-granular limit 0xfff. */
  SMALL: 0x73,
  /** Data DPL 3, not present. */
  NOT_PRESENT: 0x7b,
  /** Read-only data DPL 3, flat. */
  READ_ONLY: 0x83,
  /** Execute-only code DPL 3, flat. */
  EXEC_ONLY: 0x8b,
  /** 16-bit code DPL 0, base 0, limit 0xffff. */
  CODE16: 0x90,
  /** 16-bit expand-down writable data DPL 0 (B=0), limit 0x7fff: offsets 0x8000-0xffff. */
  STACK16_DOWN: 0x98,
  /** Data DPL 0, flat (for RPL/DPL checks from outer rings). */
  DATA0_ALIAS: 0xa0,
  /** Conforming code DPL 3 (readable). */
  CONFORMING3: 0xab,
} as const;

/** Gate and descriptor attribute helpers. */
const CODE_ATTR = SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR | SegAttr.DB;
const DATA_ATTR = SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.DB;
export function dplBits(dpl: number): number {
  return dpl << SegAttr.DPL_SHIFT;
}

// ---------------------------------------------------------------- constants for snippets

/** `.set` lines giving snippets the names above. */
const PRELUDE = [
  ['CODE', CODE],
  ['DATA', DATA],
  ['SCRATCH', SCRATCH],
  ['STUBS', STUBS],
  ['RUN_STACK_TOP', RUN_STACK_TOP],
  ['STACK0_TOP', STACK0_TOP],
  ['STACK1_TOP', STACK1_TOP],
  ['STACK2_TOP', STACK2_TOP],
  ['TSS_BASE', TSS_BASE],
  ['TSS2_BASE', TSS2_BASE],
  ['GDT_BASE', GDT_BASE],
  ['IDT_BASE', IDT_BASE],
  ['PAGE_DIR', PAGE_DIR],
  ['PT0', PT0],
  ['PT_TARGET', PT_TARGET],
  ['TARGET_LIN', TARGET_LIN],
  ['TARGET_PHYS', TARGET_PHYS],
  ['EVENT_PORT', EVENT_PORT],
  ['DONE_PORT', DONE_PORT],
  ['IRQ_PORT', IRQ_PORT],
  ['STOP_PORT', STOP_PORT],
  ['NMI_PORT', NMI_PORT],
  ...Object.entries(Sel).map(([k, v]) => [`SEL_${k}`, v] as const),
]
  .map(([k, v]) => `.set ${k}, 0x${(v as number).toString(16)}`)
  .join('\n');

/** Assembles a snippet with the machine's constants in scope. */
export function asm(source: string, org: number = CODE): Assembled {
  return assemble(`${PRELUDE}\n${source}`, org);
}

/** Handler stubs: push the vector, report through EVENT_PORT, then drop it (and the error code) and IRET. */
const STUB_SOURCE = Array.from({ length: 256 }, (_, v) =>
  [
    '  .balign 16',
    `  pushl $${v}`,
    '  out %al, $EVENT_PORT',
    `  add $${v < 32 && pushesErrorCode(v) ? 8 : 4}, %esp`,
    '  iret',
  ].join('\n'),
).join('\n');

const P = {
  GDTR: PARAMS,
  IDTR: PARAMS + 8,
  CR4: PARAMS + 16,
  CR3: PARAMS + 20,
  CR0: PARAMS + 24,
  CPL: PARAMS + 28,
  EIP: PARAMS + 32,
  CS: PARAMS + 36,
  EFLAGS: PARAMS + 40,
  ESP: PARAMS + 44,
  SS: PARAMS + 48,
  DS: PARAMS + 52,
};

/** The boot prologue: every step through the instructions a kernel would use. */
const BOOT_SOURCE = `
boot:
  lgdt 0x${P.GDTR.toString(16)}
  lidt 0x${P.IDTR.toString(16)}
  ljmp $SEL_CODE0, $1f
1:
  mov $SEL_DATA0, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %fs
  mov %ax, %gs
  mov %ax, %ss
  mov $STACK0_TOP, %esp
  mov $SEL_TSS, %ax
  ltr %ax
  mov 0x${P.CR4.toString(16)}, %eax
  mov %eax, %cr4
  mov 0x${P.CR3.toString(16)}, %eax
  mov %eax, %cr3
  mov 0x${P.CR0.toString(16)}, %eax
  mov %eax, %cr0
  mov 0x${P.ESP.toString(16)}, %ebx
  cmpl $0, 0x${P.CPL.toString(16)}
  jne 2f
  mov %ebx, %esp
  jmp 3f
2:
  pushl 0x${P.SS.toString(16)}
  pushl %ebx
3:
  pushl 0x${P.EFLAGS.toString(16)}
  pushl 0x${P.CS.toString(16)}
  pushl 0x${P.EIP.toString(16)}
  mov 0x${P.DS.toString(16)}, %eax
  mov %ax, %es
  mov %ax, %fs
  mov %ax, %gs
  mov %ax, %ds
  xor %eax, %eax
  xor %ebx, %ebx
  xor %ecx, %ecx
  xor %edx, %edx
  xor %esi, %esi
  xor %edi, %edi
  xor %ebp, %ebp
  iret
`;

// ---------------------------------------------------------------- devices

export interface PortAccess {
  readonly dir: 'in' | 'out';
  readonly port: number;
  readonly size: 1 | 2 | 4;
  readonly value: number;
}

/** Records every port access except the harness ports; reads return `inValue`. */
export class RecordingPorts implements PortBus {
  readonly accesses: PortAccess[] = [];
  inValue = 0x5a5a5a5a;
  cpu: Cpu | null = null;

  read(port: number, size: 1 | 2 | 4): number {
    const value = size === 4 ? this.inValue : this.inValue & ((1 << (8 * size)) - 1);
    this.accesses.push({ dir: 'in', port, size, value });
    return value;
  }

  write(port: number, size: 1 | 2 | 4, value: number): void {
    if (port === EVENT_PORT) this.cpu!.requestExit('event');
    else if (port === DONE_PORT) this.cpu!.requestExit('done');
    else if (port === IRQ_PORT) this.cpu!.setIrq(true);
    else if (port === STOP_PORT) this.cpu!.requestExit('stop');
    else if (port === NMI_PORT) this.cpu!.raiseNmi();
    else this.accesses.push({ dir: 'out', port, size, value: size === 4 ? value >>> 0 : value & ((1 << (8 * size)) - 1) });
  }
}

// ---------------------------------------------------------------- the machine

export interface MachineOptions {
  /** Privilege level the test code starts at (default 0). */
  cpl?: number;
  /** EFLAGS.IOPL at the start of the test code (default 0). */
  iopl?: number;
  /** Other EFLAGS bits to start with (e.g. Eflags.IF). */
  eflags?: number;
  /** Enable paging with the identity map (default false). */
  paging?: boolean;
  /** Extra CR0 bits (WP, EM, TS, MP). */
  cr0?: number;
  /** CR4 value (PSE, PGE, TSD). */
  cr4?: number;
  monitor?: boolean;
  compileThreshold?: number;
  /** Bytes of I/O bitmap inside the TSS limit (default 8192: all 65536 ports). */
  ioBitmapBytes?: number;
  /** The CPU model (default qemu32). */
  cpuModel?: CpuModel;
  /** Offer the virtualization extension (VMRUN, guest mode). */
  virtualization?: boolean;
}

/** An exception/interrupt frame as a handler stub found it. */
export interface EventFrame {
  readonly vector: number;
  /** The error code, or null when the frame has none. */
  readonly errorCode: number | null;
  readonly eip: number;
  readonly cs: number;
  readonly eflags: number;
  /** Outer SS:ESP, pushed only on a privilege change. */
  readonly esp: number | null;
  readonly ss: number | null;
  /** Linear address of the lowest word the CPU pushed (the error code or EIP). */
  readonly frameAddress: number;
  /** CPL and SS of the handler. */
  readonly handlerCpl: number;
  readonly handlerSs: number;
}

export class Machine {
  readonly mem: PhysicalMemory;
  readonly cpu: Cpu;
  readonly ports = new RecordingPorts();
  /** Vector the interrupt controller stub hands over on INTA, and how many INTAs happened. */
  irqVector = 0x20;
  acks = 0;
  readonly options: MachineOptions;
  private readonly rec = new WalkRecord();

  constructor(options: MachineOptions = {}) {
    this.options = options;
    this.mem = new PhysicalMemory(RAM_BYTES);
    this.cpu = new Cpu(this.mem, this.ports, {
      monitor: options.monitor ?? false,
      virtualization: options.virtualization ?? false,
      ...(options.compileThreshold !== undefined ? { compileThreshold: options.compileThreshold } : {}),
      ...(options.cpuModel !== undefined ? { model: options.cpuModel } : {}),
      ...(options.virtualization !== undefined ? { virtualization: options.virtualization } : {}),
    });
    this.ports.cpu = this.cpu;
    this.cpu.intAck = {
      acknowledge: () => {
        this.acks++;
        this.cpu.setIrq(false);
        return this.irqVector;
      },
    };
    this.buildGdt();
    this.buildIdt();
    this.buildTss(TSS_BASE, options.ioBitmapBytes ?? 8192);
    this.buildTss(TSS2_BASE, 0);
    this.buildPageTables();
    this.writeCode(assemble(`${PRELUDE}\n${STUB_SOURCE}`, STUBS));
    this.writeCode(assemble(`${PRELUDE}\n${BOOT_SOURCE}`, BOOT));
    const cpl = options.cpl ?? 0;
    const cs = [Sel.CODE0, Sel.CODE1, Sel.CODE2, Sel.CODE3][cpl]!;
    const ds = [Sel.DATA0, Sel.DATA1, Sel.DATA2, Sel.DATA3][cpl]!;
    let cr0 = Cr0.PE | Cr0.ET | (options.cr0 ?? 0);
    if (options.paging) cr0 |= Cr0.PG;
    this.w16(P.GDTR, GDT_ENTRIES * 8 - 1);
    this.w32(P.GDTR + 2, GDT_BASE);
    this.w16(P.IDTR, 256 * 8 - 1);
    this.w32(P.IDTR + 2, IDT_BASE);
    this.w32(P.CR4, options.cr4 ?? 0);
    this.w32(P.CR3, PAGE_DIR);
    this.w32(P.CR0, cr0);
    this.w32(P.CPL, cpl);
    this.w32(P.EIP, CODE);
    this.w32(P.CS, cs);
    this.w32(P.EFLAGS, Eflags.FIXED1 | ((options.iopl ?? 0) << 12) | (options.eflags ?? 0));
    this.w32(P.ESP, RUN_STACK_TOP);
    this.w32(P.SS, ds);
    this.w32(P.DS, ds);
    this.cpu.eip = BOOT;
  }

  // ---------------------------------------------------------------- building

  /** Writes descriptor `index` of the GDT. */
  setDescriptor(index: number, base: number, limit: number, attr: number): void {
    const [lo, hi] = encodeDescriptor(base, limit, attr);
    this.w32(GDT_BASE + index * 8, lo);
    this.w32(GDT_BASE + index * 8 + 4, hi);
  }

  /** Writes a gate descriptor (call, interrupt or trap gate) at `address`. */
  writeGate(address: number, selector: number, offset: number, type: number, dpl: number, present = true, params = 0): void {
    const attr = (present ? SegAttr.P : 0) | dplBits(dpl) | type;
    this.w32(address, ((selector & 0xffff) << 16) | (offset & 0xffff));
    this.w32(address + 4, (offset & 0xffff0000) | (attr << 8) | (params & 0x1f));
  }

  /** Sets IDT entry `vector`; unspecified fields keep the defaults (stub, CODE0, 32-bit interrupt gate, DPL 0). */
  setGate(vector: number, g: { selector?: number; offset?: number; type?: number; dpl?: number; present?: boolean } = {}): void {
    this.writeGate(
      IDT_BASE + vector * 8,
      g.selector ?? Sel.CODE0,
      g.offset ?? stubAddress(vector),
      g.type ?? SysType.INT_GATE32,
      g.dpl ?? defaultGateDpl(vector),
      g.present ?? true,
    );
  }

  /** Points the call gate at CODE0:offset (or another selector), with `params` dwords copied. */
  setCallGate(offset: number, selector: number = Sel.CODE0, params = 2, dpl = 3): void {
    this.writeGate(GDT_BASE + (Sel.CALL_GATE >> 3) * 8, selector, offset, SysType.CALL_GATE32, dpl, true, params);
  }

  private buildGdt(): void {
    const flat = 0xffffffff;
    for (let ring = 0; ring < 4; ring++) {
      this.setDescriptor(1 + 2 * ring, 0, flat, CODE_ATTR | dplBits(ring));
      this.setDescriptor(2 + 2 * ring, 0, flat, DATA_ATTR | dplBits(ring));
    }
    this.setDescriptor(Sel.TSS >> 3, TSS_BASE, IOMAP_OFFSET + (this.options.ioBitmapBytes ?? 8192), SegAttr.P | SysType.TSS32_AVAIL);
    this.setDescriptor(Sel.TSS2 >> 3, TSS2_BASE, IOMAP_OFFSET - 1, SegAttr.P | SysType.TSS32_AVAIL);
    this.setCallGate(CODE);
    this.setDescriptor(Sel.CONFORMING0 >> 3, 0, flat, CODE_ATTR | SegAttr.DC);
    this.setDescriptor(Sel.EXPAND_DOWN >> 3, 0, 0xfff, DATA_ATTR | SegAttr.DC | dplBits(3));
    this.setDescriptor(Sel.SMALL >> 3, DATA, 0xfff, DATA_ATTR | dplBits(3));
    this.setDescriptor(Sel.NOT_PRESENT >> 3, 0, flat, (DATA_ATTR & ~SegAttr.P) | dplBits(3));
    this.setDescriptor(Sel.READ_ONLY >> 3, 0, flat, (DATA_ATTR & ~SegAttr.WR) | dplBits(3));
    this.setDescriptor(Sel.EXEC_ONLY >> 3, 0, flat, (CODE_ATTR & ~SegAttr.WR) | dplBits(3));
    this.setDescriptor(Sel.CODE16 >> 3, 0, 0xffff, CODE_ATTR & ~SegAttr.DB);
    this.setDescriptor(Sel.STACK16_DOWN >> 3, 0, 0x7fff, (DATA_ATTR & ~SegAttr.DB) | SegAttr.DC);
    this.setDescriptor(Sel.DATA0_ALIAS >> 3, 0, flat, DATA_ATTR);
    this.setDescriptor(Sel.CONFORMING3 >> 3, 0, flat, CODE_ATTR | SegAttr.DC | dplBits(3));
  }

  private buildIdt(): void {
    for (let v = 0; v < 256; v++) this.setGate(v);
  }

  private buildTss(base: number, bitmapBytes: number): void {
    this.w32(base + 4, STACK0_TOP);
    this.w32(base + 8, Sel.DATA0);
    this.w32(base + 12, STACK1_TOP);
    this.w32(base + 16, Sel.DATA1);
    this.w32(base + 20, STACK2_TOP);
    this.w32(base + 24, Sel.DATA2);
    this.w16(base + 102, IOMAP_OFFSET);
    for (let k = 0; k < bitmapBytes; k++) this.mem.write8(base + IOMAP_OFFSET + k, 0);
    // The byte after the bitmap (SDM vol. 1, 19.5.2): all ones.
    if (bitmapBytes > 0) this.mem.write8(base + IOMAP_OFFSET + bitmapBytes, 0xff);
  }

  private buildPageTables(): void {
    const all = Pte.P | Pte.RW | Pte.US;
    for (let k = 0; k < 1024; k++) {
      this.w32(PAGE_DIR + 4 * k, 0);
      this.w32(PT0 + 4 * k, (k << 12) | all);
      this.w32(PT_TARGET + 4 * k, 0);
    }
    this.w32(PAGE_DIR, PT0 | all);
    this.setPde(TARGET_LIN, PT_TARGET | all);
    this.setPte(TARGET_LIN, TARGET_PHYS | all);
  }

  // ---------------------------------------------------------------- code

  /**
   * Assembles `source` linked at linear address `org` (default CODE, where the test starts)
   * and writes it to physical `physical` (default: the identity-mapped `org`).
   */
  load(source: string, org: number = CODE, physical: number = org): Assembled {
    const a = asm(source, org);
    this.mem.writeBytes(physical, a.code);
    return a;
  }

  private writeCode(a: Assembled): void {
    this.mem.writeBytes(a.org, a.code);
  }

  /** Changes where the test code starts (default: CODE). */
  setEntry(eip: number): void {
    this.w32(P.EIP, eip);
  }

  // ---------------------------------------------------------------- running

  run(budget = 1_000_000): CpuExit {
    return this.cpu.run(budget);
  }

  /** Runs and asserts that the run ends with the given 'request' reason (or exit kind). */
  runUntil(what: 'event' | 'done' | 'stop' | 'halt' | 'reset' | 'nmi', budget = 1_000_000): CpuExit {
    const exit = this.run(budget);
    const ok = exit.kind === 'request' ? exit.reason === what : exit.kind === what;
    if (!ok) throw new Error(`expected ${what}, got ${describeExit(exit)} at EIP 0x${this.cpu.eip.toString(16)} CPL ${this.cpu.cpl}${this.describeLastEvent()}`);
    return exit;
  }

  /** Runs to the next handler stub and decodes the frame it found. */
  runToEvent(budget?: number, errorCode?: boolean): EventFrame {
    this.runUntil('event', budget);
    return this.frame(errorCode);
  }

  /** Runs to the end of the test code (DONE_PORT). */
  runToDone(budget?: number): void {
    this.runUntil('done', budget);
  }

  /**
   * The frame at the handler stub's stack: [vector] [error code] EIP CS EFLAGS [ESP SS].
   * `errorCode` says whether the event pushed one (default: whether the vector is an
   * exception that does, SDM vol. 3 table 6-1).
   */
  frame(errorCode?: boolean): EventFrame {
    const c = this.cpu;
    const esp = (c.segBase[2]! + c.regs[4]!) >>> 0;
    const vector = this.read32(esp);
    const hasError = errorCode ?? (vector < 32 && pushesErrorCode(vector));
    let at = esp + 4;
    const err = hasError ? this.read32(at) : null;
    if (hasError) at += 4;
    const eip = this.read32(at);
    const cs = this.read32(at + 4) & 0xffff;
    const eflags = this.read32(at + 8);
    const outer = (cs & 3) !== c.cpl;
    return {
      vector,
      errorCode: err,
      eip,
      cs,
      eflags,
      esp: outer ? this.read32(at + 12) : null,
      ss: outer ? this.read32(at + 16) & 0xffff : null,
      frameAddress: esp + 4,
      handlerCpl: c.cpl,
      handlerSs: c.segSel[2]!,
    };
  }

  private describeLastEvent(): string {
    try {
      const f = this.frame();
      if (f.vector > 255) return '';
      return ` (stack top: vector ${f.vector} err ${f.errorCode} eip 0x${f.eip.toString(16)})`;
    } catch {
      return '';
    }
  }

  /** Asserts the INTR line (edge: the INTA stub lowers it and hands over `vector`). */
  raiseIrq(vector = this.irqVector): void {
    this.irqVector = vector;
    this.cpu.setIrq(true);
  }

  // ---------------------------------------------------------------- state

  eflags(): number {
    return readEflags(this.cpu) >>> 0;
  }

  reg(index: number): number {
    return this.cpu.regs[index]! >>> 0;
  }

  get eax(): number {
    return this.reg(0);
  }
  get ecx(): number {
    return this.reg(1);
  }
  get edx(): number {
    return this.reg(2);
  }
  get ebx(): number {
    return this.reg(3);
  }
  get esp(): number {
    return this.reg(4);
  }
  get esi(): number {
    return this.reg(6);
  }
  get edi(): number {
    return this.reg(7);
  }

  /** Reads by linear address (through the current page tables when paging is on). */
  read32(lin: number): number {
    return this.mem.read32(this.physical(lin)) >>> 0;
  }

  write32Lin(lin: number, v: number): void {
    this.mem.write32(this.physical(lin), v);
  }

  physical(lin: number): number {
    if ((this.cpu.cr0 & Cr0.PG) === 0) return lin >>> 0;
    if (!walk(this.mem, this.cpu.cr3, (this.cpu.cr4 & Cr4.PSE) !== 0, lin, this.rec)) {
      throw new Error(`linear 0x${(lin >>> 0).toString(16)} is not mapped`);
    }
    return this.rec.physical;
  }

  r32(pa: number): number {
    return this.mem.read32(pa) >>> 0;
  }
  w32(pa: number, v: number): void {
    this.mem.write32(pa, v);
  }
  w16(pa: number, v: number): void {
    this.mem.write16(pa, v);
  }
  r8(pa: number): number {
    return this.mem.read8(pa);
  }

  /** Physical address of the PDE for `lin` (the page directory is at PAGE_DIR). */
  pdeAddress(lin: number): number {
    return PAGE_DIR + ((lin >>> 22) << 2);
  }
  /** Physical address of the PTE for `lin` through its PDE. */
  pteAddress(lin: number): number {
    return (this.r32(this.pdeAddress(lin)) & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2);
  }
  pde(lin: number): number {
    return this.r32(this.pdeAddress(lin));
  }
  pte(lin: number): number {
    return this.r32(this.pteAddress(lin));
  }
  setPde(lin: number, v: number): void {
    this.w32(this.pdeAddress(lin), v);
  }
  setPte(lin: number, v: number): void {
    this.w32(this.pteAddress(lin), v);
  }

  /** The descriptor's high dword in the GDT (type, DPL, P, accessed and busy bits). */
  descriptorHigh(sel: number): number {
    return this.r32(GDT_BASE + (sel & ~7) + 4);
  }

  /** Sets bits of the I/O permission bitmap (ports whose access from CPL > IOPL faults). */
  denyPorts(...ports: number[]): void {
    for (const p of ports) {
      const at = TSS_BASE + IOMAP_OFFSET + (p >>> 3);
      this.mem.write8(at, this.mem.read8(at) | (1 << (p & 7)));
    }
  }
}

/** Address of the handler stub for `vector`. */
export function stubAddress(vector: number): number {
  return STUBS + 16 * vector;
}

/** IDT gates are DPL 0 except #BP, #OF and the "software" vectors 0x40-0x4f (SDM vol. 3, 6.12.1.1). */
function defaultGateDpl(vector: number): number {
  return vector === 3 || vector === 4 || (vector >= 0x40 && vector < 0x50) ? 3 : 0;
}

export function describeExit(exit: CpuExit): string {
  switch (exit.kind) {
    case 'request':
      return `request(${exit.reason})`;
    case 'trap':
      return `trap(vector ${exit.vector} err ${exit.errorCode} eip 0x${exit.eip.toString(16)})`;
    case 'unsupported':
      return `unsupported(${exit.feature})`;
    case 'reset':
      return `reset(${exit.reason})`;
    default:
      return exit.kind;
  }
}

export { symbol };
