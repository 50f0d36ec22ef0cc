/**
 * Runs test cases on the emulated CPU in the same layout as the native harness: code at
 * CODE_BASE followed by HLT, the scratch area at SCRATCH_BASE, protected mode with flat
 * segments and paging off, exceptions returned as exits (monitor mode). As under Linux: the
 * user-mode selectors (CS 0x23, data 0x2B; the x87 records them), CR0.MP and CR0.NE (an unmasked
 * x87 exception is #MF, SIGFPE), and a fresh FPU for every case.
 */
import { Cpu } from '../../src/hw/cpu/cpu.ts';
import { Cr0 } from '../../src/hw/x86/control-registers.ts';
import { Seg } from '../../src/hw/x86/descriptors.ts';
import { readEflags } from '../../src/hw/cpu/flags.ts';
import { PhysicalMemory } from '../../src/hw/memory/physical-memory.ts';
import { type TestCase, initialScratch } from './generate.ts';
import { type Outcome, newOutcome } from './harness.ts';
import { CODE_BASE, EFLAGS_ALWAYS, EFLAGS_CASE_MASK, SCRATCH_BASE, SCRATCH_SIZE } from './layout.ts';

const HLT = 0xf4;
const RAM = 4 << 20;

/** The host signal Linux delivers for an exception vector in user mode. */
export function signalOf(vector: number): number {
  switch (vector) {
    case 0:
    case 16:
      return 8; // #DE, #MF: SIGFPE
    case 6:
      return 4; // #UD: SIGILL
    case 1:
    case 3:
      return 5; // #DB, #BP: SIGTRAP
    case 17:
      return 7; // #AC: SIGBUS
    default:
      return 11; // #BR, #NP, #SS, #GP, #PF: SIGSEGV
  }
}

export class Emulator {
  private readonly mem = new PhysicalMemory(RAM);
  private readonly cpu: Cpu;
  private readonly initial = new Uint8Array(SCRATCH_SIZE);
  private readonly initialWords = new Int32Array(this.initial.buffer);
  private readonly scratchWords: Int32Array;

  /** compileThreshold 0 interprets every block; 1 compiles a block after its first run. */
  constructor(compileThreshold: number) {
    this.cpu = new Cpu(this.mem, { read: () => 0xff, write: () => {} }, { monitor: true, compileThreshold });
    const cpu = this.cpu;
    cpu.cr0 |= Cr0.MP | Cr0.NE;
    for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, s === Seg.CS ? 0x23 : 0x2b, 0, 0xffffffff, cpu.segAttr[s]!);
    this.scratchWords = new Int32Array(this.mem.u8.buffer, SCRATCH_BASE, SCRATCH_SIZE >>> 2);
  }

  /** Loads the case's code (invalidating cached blocks of the previous one). */
  load(tc: TestCase): void {
    const code = new Uint8Array(tc.code.length + 1);
    code.set(tc.code);
    code[tc.code.length] = HLT;
    this.mem.writeBytes(CODE_BASE, code);
    initialScratch(tc, this.initial);
  }

  /** Runs the loaded case from its initial state. */
  run(tc: TestCase): Outcome {
    const cpu = this.cpu;
    this.mem.u8.set(this.initial, SCRATCH_BASE);
    cpu.regs.set(tc.regs);
    cpu.regs[8] = 0;
    cpu.flags = (tc.eflags & EFLAGS_CASE_MASK) | EFLAGS_ALWAYS;
    cpu.lzKind = 0;
    cpu.eip = CODE_BASE;
    cpu.halted = false;
    cpu.fpu.init();
    const exit = cpu.run(100_000);
    const o = newOutcome();
    if (exit.kind === 'trap') {
      o.status = signalOf(exit.vector);
      o.faultEip = exit.eip;
    } else if (exit.kind !== 'halt') {
      throw new Error(`case ${tc.index}: unexpected emulator exit ${JSON.stringify(exit)}`);
    }
    o.regs.set(cpu.regs.subarray(0, 8));
    o.eflags = readEflags(cpu);
    const now = this.scratchWords;
    const before = this.initialWords;
    for (let w = 0; w < now.length; w++) {
      if (now[w] === before[w]) continue;
      for (let b = w * 4; b < w * 4 + 4; b++) {
        const v = this.mem.u8[SCRATCH_BASE + b]!;
        if (v !== this.initial[b]) {
          o.diffOffsets.push(b);
          o.diffValues.push(v);
        }
      }
    }
    return o;
  }
}
