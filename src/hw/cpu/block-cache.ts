/**
 * The decoded-instruction cache. Code is decoded once into blocks: runs of instructions that
 * start at a physical address, stay inside one 4 KiB page and end at a control transfer or a
 * system-state change. Blocks are keyed by physical address (so aliases share them and a CR3
 * switch does not discard them) and dropped when their page is written — every page holding
 * a block is watched by physical memory (self-modifying code, DMA, a loader writing a program).
 * A block executed often is compiled into a JavaScript function that calls the same handlers
 * in a straight line, so V8 can inline them; semantics stay in one place.
 */
import { isMemoryBacked } from '../memory/physical-memory.ts';
import { Access } from '../mmu/walk.ts';
import { Seg } from '../x86/descriptors.ts';
import { Vector } from '../x86/vectors.ts';
import { type Cpu, SEG_FAST_R, Stop } from './cpu.ts';
import { Counter } from './counters.ts';
import { decode } from './decoder.ts';
import type { Insn } from './insn.ts';

/** Longest block, in instructions. */
const MAX_BLOCK = 64;

export type CompiledBlock = (c: Cpu) => number;

export class Block {
  /** Physical address of the first instruction. */
  readonly phys: number;
  readonly cs32: boolean;
  readonly insns: Insn[];
  /** cum[k]: simulated cycles of the first k instructions. */
  readonly cum: Float64Array;
  /** Cached in the maps (false for one-off blocks: page-crossing or non-RAM code). */
  readonly cached: boolean;
  valid = true;
  runs = 0;
  compiled: CompiledBlock | null = null;
  /** Two most recent successors, validated by physical address (block chaining). */
  succ0: Block | null = null;
  succ1: Block | null = null;

  constructor(phys: number, cs32: boolean, insns: Insn[], cached: boolean, overhead: number) {
    this.phys = phys;
    this.cs32 = cs32;
    this.insns = insns;
    this.cached = cached;
    this.cum = new Float64Array(insns.length + 1);
    for (let k = 0; k < insns.length; k++) this.cum[k + 1] = this.cum[k]! + insns[k]!.cost + overhead;
  }

  /** Offset from the block start of instruction k. */
  startOf(k: number): number {
    return this.insns[k]!.start;
  }
}

export interface BlockCache {
  /** The block at the current CS:EIP, decoding it if needed; null after recording a fetch fault. */
  lookup(previous: Block | null): Block | null;
  /** Counts an execution of blk; compiles it when it becomes hot. */
  executed(blk: Block): void;
  /** Drops every block in physical page `page` (its memory was written). */
  invalidatePage(page: number): void;
  /** Drops everything (tests, and a reset). */
  clear(): void;
  readonly size: number;
}

export function createBlockCache(c: Cpu, compileThreshold: number): BlockCache {
  const maps = [new Map<number, Block>(), new Map<number, Block>()];
  const byPage = new Map<number, Block[]>();

  function register(blk: Block): void {
    maps[blk.cs32 ? 1 : 0]!.set(blk.phys, blk);
    const page = blk.phys >>> 12;
    let list = byPage.get(page);
    if (list === undefined) {
      list = [];
      byPage.set(page, list);
      if (c.mem.watched[page] === 0) {
        c.mem.watch(page);
        // TLB entries made before the watch may allow direct writes to this frame.
        c.tlb.revokeWrite(page);
      }
    }
    list.push(blk);
  }

  /** Decodes one instruction that may cross into the next page, through linear fetches. */
  function decodeLinear(lin: number, phys: number): Block | null {
    const user = c.cpl === 3;
    let failed = false;
    const insn = decode((k) => {
      if (failed || k >= 15) return -1;
      const a = (lin + k) | 0;
      const pa = (a ^ lin) >>> 12 === 0 ? phys + k : c.translate(a, Access.FETCH | (user ? Access.USER : 0));
      if (pa < 0) {
        failed = true;
        return -1;
      }
      // Nothing decodes physical addresses at or above 4 GiB (PAE): they read as all ones.
      return pa < 4294967296 ? c.mem.read8(pa) : 0xff;
    }, c.cs32);
    if (insn === null || failed) {
      if (!failed && c.pending === 0) c.fault(Vector.GP, 0);
      return null;
    }
    insn.next = insn.len;
    return new Block(phys, c.cs32, [insn], false, c.instructionOverhead);
  }

  function decodeBlock(lin: number, phys: number): Block | null {
    const page = phys >>> 12;
    // Without direct RAM (a vCPU over translated memory) nothing is cached, unless the CPU is told
    // that every write passes through that memory (CpuOptions.cacheTranslated): decode afresh.
    if (!(c.direct || c.cacheTranslated) || phys >= 4294967296 || !isMemoryBacked(c.mem.pageKind[page]!)) return decodeLinear(lin, phys);
    const u8 = c.u8;
    const mem = c.mem;
    const byteAt = c.direct ? (a: number) => u8[a]! : (a: number) => mem.read8(a);
    const pageEnd = (page + 1) * 4096;
    // Bytes beyond the CS limit cannot be fetched.
    let end = pageEnd;
    if ((c.segFast[Seg.CS]! & SEG_FAST_R) === 0) {
      const room = (c.segLimit[Seg.CS]! >>> 0) - (c.eip >>> 0) + 1;
      if (room < end - phys) end = phys + room;
    }
    const insns: Insn[] = [];
    let at = phys;
    while (insns.length < MAX_BLOCK) {
      const start = at;
      const limit = end;
      const insn = decode((k) => (start + k < limit ? byteAt(start + k) : -1), c.cs32);
      if (insn === null) break;
      // An instruction that reads the clock starts a block of its own (cycles are exact there).
      if (insn.clock !== 0 && insns.length > 0) break;
      insn.start = at - phys;
      at += insn.len;
      insn.next = at - phys;
      insns.push(insn);
      if (insn.ends !== 0) break;
      // Keep 16-bit code from running across the 64 KiB wrap inside one block.
      if (!c.cs32 && ((c.eip + insn.next) & 0xffff) < (c.eip & 0xffff)) break;
    }
    if (insns.length === 0) {
      if (end < pageEnd) {
        // The instruction would run past the CS limit (SDM vol. 3, 5.3).
        c.fault(Vector.GP, 0);
        return null;
      }
      return decodeLinear(lin, phys);
    }
    const blk = new Block(phys, c.cs32, insns, true, c.instructionOverhead);
    register(blk);
    c.ctr[Counter.BLOCK_DECODED]!++;
    return blk;
  }

  return {
    lookup(previous: Block | null): Block | null {
      const eip = c.eip;
      if ((c.segFast[Seg.CS]! & SEG_FAST_R) === 0 && eip >>> 0 > c.segLimit[Seg.CS]! >>> 0) {
        c.fault(Vector.GP, 0);
        return null;
      }
      const lin = (c.segBase[Seg.CS]! + eip) | 0;
      const e = c.tlbE[lin >>> 12]!;
      let phys: number;
      if ((e & c.tlbXmask) !== 0) phys = (e & -4096) | (lin & 0xfff);
      else {
        phys = c.translate(lin, Access.FETCH | (c.cpl === 3 ? Access.USER : 0));
        if (phys < 0) return null;
      }
      if (previous !== null) {
        const s0 = previous.succ0;
        if (s0 !== null && s0.phys === phys && s0.valid && s0.cs32 === c.cs32) return s0;
        const s1 = previous.succ1;
        if (s1 !== null && s1.phys === phys && s1.valid && s1.cs32 === c.cs32) {
          previous.succ1 = s0;
          previous.succ0 = s1;
          return s1;
        }
      }
      let blk = maps[c.cs32 ? 1 : 0]!.get(phys) ?? null;
      if (blk === null) {
        blk = decodeBlock(lin, phys);
        if (blk === null) return null;
      }
      if (previous !== null && blk.cached) {
        previous.succ1 = previous.succ0;
        previous.succ0 = blk;
      }
      return blk;
    },

    executed(blk: Block): void {
      if (++blk.runs === compileThreshold && blk.cached) {
        blk.compiled = compile(blk);
        c.ctr[Counter.BLOCK_COMPILED]!++;
      }
    },

    invalidatePage(page: number): void {
      const list = byPage.get(page);
      if (list === undefined) return;
      byPage.delete(page);
      for (const blk of list) {
        blk.valid = false;
        maps[blk.cs32 ? 1 : 0]!.delete(blk.phys);
        c.ctr[Counter.BLOCK_INVALIDATED]!++;
      }
      // The block running now may be one of them: end it after the current instruction.
      c.stop |= Stop.CODE_WRITE;
    },

    clear(): void {
      for (const page of [...byPage.keys()]) this.invalidatePage(page);
    },

    get size(): number {
      return maps[0]!.size + maps[1]!.size;
    },
  };
}

/**
 * Compiles a block into a straight-line function: for each instruction, set EIP to the next
 * instruction's address and call its handler with its Insn; after an instruction that may
 * stop, return how many handlers ran. The semantics are the handlers' own.
 */
function compile(blk: Block): CompiledBlock {
  const names: string[] = [];
  const values: unknown[] = [];
  const n = blk.insns.length;
  let body = 'return function block(c) {\n  const e = c.eip;\n';
  for (let k = 0; k < n; k++) {
    const insn = blk.insns[k]!;
    const last = k === n - 1;
    names.push(`h${k}`, `i${k}`);
    values.push(insn.fn, insn);
    // EIP is only needed by instructions that may stop or branch (faults recompute it).
    if (insn.mayStop !== 0 || insn.branch !== 0 || insn.ends !== 0 || last) body += `  c.eip = (e + ${insn.next}) | 0;`;
    body += ` h${k}(c, i${k});`;
    if (!last) {
      if (insn.mayStop !== 0) body += ` if (c.stop !== 0) return ${k + 1};`;
      if (insn.branch !== 0) body += ` if (c.eip !== ((e + ${insn.next}) | 0)) return ${k + 1};`;
    }
    body += '\n';
  }
  body += `  return ${n};\n};`;
  const factory = new Function(...names, body) as (...args: unknown[]) => CompiledBlock;
  return factory(...values);
}
