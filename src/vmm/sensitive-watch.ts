/**
 * The popf problem, caught in the act — and its sibling, PUSHF. A trap-and-emulate VMM keeps the
 * real EFLAGS.IF at 1 while a guest runs (it must keep control of the processor: vcpu.ts) and
 * runs the guest kernel at ring 1 with IOPL 0, so CLI and STI trap and change only the guest's
 * virtual IF. Two instructions touch IF without trapping (SDM vol. 2, POPF, PUSHF): POPF at
 * CPL > IOPL silently leaves IF unchanged, and PUSHF pushes the real IF. They are sensitive but
 * not privileged, so x86 fails Popek and Goldberg's condition for a trap-and-emulate VMM:
 *   - POPF popping IF=1 while the virtual IF is 0: the guest believes interrupts are back on,
 *     the VMM never hears of it, and the guest takes no interrupt again;
 *   - PUSHF while the virtual IF is 0: the guest reads IF=1 where it cleared it (xv6's
 *     pushcli/popcli and mycpu check exactly that, and panic).
 * (IRET would be a third, but every IRET of a trap-mode guest traps: the frames the VMM builds
 * carry the guest's RPL 0, and returns to ring 3 meet the shadow GDT.)
 *
 * The VMM cannot trap these instructions, but it can read the code it is about to run. While the
 * guest kernel has its virtual IF clear — the only time the two differ from the bare machine —
 * the VMM decodes ahead from the guest's EIP and lets the real CPU run only up to the end of the
 * basic block or the next PUSHF or POPF; one at EIP that would show or lose the difference ends
 * the run with an explanation. Nothing else changes: simulated time and results are the same as
 * running freely, only the wall clock pays (decoding, and a return to the VMM per block).
 */
import type { Cpu } from '../hw/cpu/cpu.ts';
import { decode } from '../hw/cpu/decoder.ts';
import { Seg } from '../hw/x86/descriptors.ts';
import { Eflags } from '../hw/x86/eflags.ts';
import { guestPhysical, peekDword, specOf } from './guest-view.ts';
import type { GuestPhysicalMemory } from './memory/guest-memory.ts';

/** Most instructions inspected ahead at once (a long straight run of code). */
export const INSPECT_LIMIT = 64;

const PUSHF = 0x9c;

export interface SensitiveFailure {
  readonly instruction: 'popf' | 'pushf';
  readonly eip: number;
  readonly explanation: string;
}

/** Why x86 is not virtualizable by trap-and-emulate, in the lecture's words (a paragraph's end). */
const POPEK_GOLDBERG =
  "so x86 violates Popek and Goldberg's condition that the sensitive instructions be a subset of the privileged ones, " +
  'and trap-and-emulate cannot virtualize this guest.';

/** A block the watch has decoded: how many instructions may run (0: PUSHF or POPF at its start), and its code bytes. */
interface Inspected {
  readonly count: number;
  readonly bytes: Uint8Array;
}

/** Blocks remembered before the cache starts over. */
const CACHE_LIMIT = 1 << 16;

export class SensitiveWatch {
  /** Basic blocks inspected, and how many of them had to be decoded (the rest came from the cache). */
  blocks = 0;
  decodedBlocks = 0;
  /** Inspected blocks by guest-physical address of their first byte (times 2, plus 1 for 32-bit code). */
  private readonly cache = new Map<number, Inspected>();
  private readonly guestMem: GuestPhysicalMemory;
  private readonly ram: Uint8Array;
  /** The guest-linear page last translated, and the HPA of its first byte (-1: not resident RAM). */
  private page = -1;
  private pageHpa = -1;

  constructor(guestMem: GuestPhysicalMemory) {
    this.guestMem = guestMem;
    this.ram = guestMem.hostRam;
  }

  /**
   * The guest kernel is about to run with its virtual IF clear. `real` holds its registers (the
   * real CPU runs it), `v` its paging (the vCPU's control registers). Returns the failure when
   * the instruction at EIP is a PUSHF, or a POPF that pops IF=1; otherwise how many instructions
   * may run natively before the VMM must look again (at least 1).
   */
  inspect(real: Cpu, v: Cpu): SensitiveFailure | number {
    this.blocks++;
    this.page = -1;
    const lin = (real.segBase[Seg.CS]! + real.eip) | 0;
    this.byteAt(v, lin);
    if (this.pageHpa < 0) return 1; // code not in resident RAM: let the real CPU fault or run it
    const key = (this.pageHpa + (lin & 0xfff)) * 2 + (real.cs32 ? 1 : 0);
    let block = this.cache.get(key);
    if (block === undefined || !this.matches(v, lin, block.bytes)) {
      block = this.decodeBlock(v, lin, real.cs32);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, block);
    }
    if (block.count > 0) return block.count;
    const first = this.byteAt(v, (lin + block.bytes.length - 1) | 0);
    return (first === PUSHF ? this.pushfFailure(real) : this.popfFailure(real, v)) ?? 1;
  }

  /** Decodes from `lin` to the end of the basic block, the next PUSHF or POPF, or INSPECT_LIMIT. */
  private decodeBlock(v: Cpu, lin: number, code32: boolean): Inspected {
    this.decodedBlocks++;
    let at = lin;
    let count = 0;
    for (; count < INSPECT_LIMIT; count++) {
      const insn = decode((k) => (k < 15 ? this.byteAt(v, (at + k) | 0) : -1), code32);
      if (insn === null) break; // unmapped: run up to it, and let the real CPU fault there
      const spec = specOf(insn);
      if (spec.name === 'pushf' || spec.name === 'popf') {
        // The block stops before it; at the start of a block it is the block (count 0), its last byte the opcode.
        if (count === 0) at = (at + insn.len) | 0;
        break;
      }
      at = (at + insn.len) | 0;
      if (spec.ends || spec.branch) {
        count++;
        break;
      }
    }
    const bytes = new Uint8Array((at - lin) >>> 0);
    for (let k = 0; k < bytes.length; k++) bytes[k] = this.byteAt(v, (lin + k) | 0);
    return { count: count === 0 && bytes.length === 0 ? 1 : count, bytes };
  }

  /** The guest's code at `lin` is still what was decoded (`lin`'s page is the one translated last). */
  private matches(v: Cpu, lin: number, bytes: Uint8Array): boolean {
    const n = bytes.length;
    const off = lin & 0xfff;
    if (off + n <= 0x1000) {
      const ram = this.ram;
      const at = this.pageHpa + off;
      for (let k = 0; k < n; k++) if (ram[at + k] !== bytes[k]) return false;
      return true;
    }
    for (let k = 0; k < n; k++) if (this.byteAt(v, (lin + k) | 0) !== bytes[k]) return false;
    return true;
  }

  /** A byte of guest code, through a one-page translation cache (reset per inspection); -1 when not resident RAM. */
  private byteAt(v: Cpu, lin: number): number {
    const page = lin >>> 12;
    if (page !== this.page) {
      const gpa = guestPhysical(v, lin);
      this.page = page;
      this.pageHpa = gpa < 0 ? -1 : this.guestMem.residentHpa(gpa & ~0xfff);
    }
    return this.pageHpa < 0 ? -1 : this.ram[this.pageHpa + (lin & 0xfff)]!;
  }

  private pushfFailure(real: Cpu): SensitiveFailure {
    const eip = real.eip >>> 0;
    return {
      instruction: 'pushf',
      eip,
      explanation:
        `the guest kernel executed pushf at ${hex(eip)} to read its interrupt flag while interrupts were off. ` +
        'A trap-and-emulate VMM must keep real interrupts enabled while a guest runs — that is how it keeps control of the ' +
        'processor (Popek and Goldberg\'s resource control: "take control of resources: disable interrupts -> trap") — so ' +
        "the guest's interrupt flag is only a virtual one, and pushf, which does not trap at ring 1, pushes the real EFLAGS with " +
        'IF=1 (Intel SDM vol. 2, PUSHF): the guest would read that interrupts are on where it turned them off (xv6, for one, ' +
        `panics: "mycpu called with interrupts enabled"). PUSHF is sensitive (it reveals the interrupt state) but not privileged (it does not trap), ${POPEK_GOLDBERG} ` +
        'Hardware assistance (--mode hw: the VMCB keeps the guest\'s own EFLAGS, the "shadow EFLAGS") and interpretation (--mode interpret) run it correctly.',
    };
  }

  private popfFailure(real: Cpu, v: Cpu): SensitiveFailure | null {
    const top = peekDword(v, (real.segBase[Seg.SS]! + real.regs[4]!) | 0);
    if (top === null || (top & Eflags.IF) === 0) return null;
    const eip = real.eip >>> 0;
    return {
      instruction: 'popf',
      eip,
      explanation:
        `the guest kernel executed popf at ${hex(eip)} to re-enable interrupts (it pops EFLAGS with IF=1), ` +
        'but it runs at ring 1 with IOPL 0, where POPF silently leaves IF unchanged instead of trapping ' +
        '(Intel SDM vol. 2, POPF): from here on it would believe interrupts are on while the VMM keeps them off. ' +
        `POPF is sensitive (it changes the interrupt state) but not privileged (it does not trap), ${POPEK_GOLDBERG} ` +
        'A kernel that masks interrupts only with CLI and STI (the teaching kernel with irq=cli) runs correctly.',
    };
  }
}

function hex(eip: number): string {
  return `0x${eip.toString(16).padStart(8, '0')}`;
}
