/**
 * The popf problem, caught in the act. At ring 1 with IOPL 0, POPF loads every flag but IF and
 * does not trap (SDM vol. 2, POPF: "the interrupt flag is unaffected" when CPL > IOPL): a
 * kernel that disables interrupts with `pushf; cli` and re-enables them with `popf` leaves the
 * VMM's virtual IF at 0 for ever, and the VMM never hears of it. POPF is sensitive but not
 * privileged, so x86 fails Popek and Goldberg's condition for a trap-and-emulate VMM.
 *
 * The VMM cannot see a POPF, but it can see the CLI that starts such a section (it traps): when
 * the guest kernel executes CLI with interrupts enabled right after PUSHF (Linux's
 * local_irq_save: `pushf; cli` or `pushf; pop %reg; cli`), the watch arms, and the VMM then
 * runs the guest one instruction at a time, looking at each before it executes. A POPF at
 * ring 1 that pops IF=1 while the virtual IF is 0 is the failure: the run ends with an
 * explanation instead of a guest that silently never takes another interrupt. STI or IRET
 * (which trap, and set the virtual IF) disarm the watch; so does a long stretch without POPF.
 * As a second net, the watch also arms when a device interrupt has waited STUCK_CYCLES with the
 * virtual IF off, whatever instructions came before (the symptom itself: interrupts that never
 * get in). PUSHF cannot leak the real IF here, because the VMM keeps the real IF equal to the
 * virtual one (the real CPU takes no interrupts while the guest has them off).
 * Stepping changes nothing the guest can observe: simulated time and results are the same.
 */
import type { Cpu } from '../hw/cpu/cpu.ts';
import type { Insn } from '../hw/cpu/insn.ts';
import { Seg } from '../hw/x86/descriptors.ts';
import { Eflags } from '../hw/x86/eflags.ts';
import { peekByte, peekDword, peekInstruction, specOf } from './guest-view.ts';

/** Instructions stepped without a POPF before the watch gives up. */
export const WATCH_LIMIT = 100_000;

/** Simulated cycles an interrupt may wait with the virtual IF off before the watch arms (0.1 s). */
export const STUCK_CYCLES = 100_000_000;

const PUSHF = 0x9c;

export interface PopfFailure {
  readonly instruction: string;
  readonly eip: number;
  readonly explanation: string;
}

export class PopfWatch {
  armed = false;
  /** Times armed, and POPFs seen that restored IF correctly (IF=0 inside a nested section). */
  arms = 0;
  private steps = 0;

  /**
   * The guest kernel executed CLI at `eip` (a guest linear address) with the virtual IF set
   * (vCPU state from before the CLI). Arms the watch when PUSHF comes just before it.
   */
  onCli(v: Cpu, eip: number): void {
    const at = (v.segBase[Seg.CS]! + eip) | 0;
    const before1 = peekByte(v, (at - 1) | 0);
    const before2 = peekByte(v, (at - 2) | 0);
    const popReg = before1 >= 0x58 && before1 <= 0x5f;
    if (before1 === PUSHF || (popReg && before2 === PUSHF)) {
      this.armed = true;
      this.arms++;
      this.steps = 0;
    }
  }

  /**
   * An interrupt has waited a long time while the virtual IF stayed 0 — the symptom of a POPF
   * that failed to set IF in a pattern onCli did not recognize. Watch for a while.
   */
  armStuck(): void {
    this.armed = true;
    this.arms++;
    this.steps = 0;
  }

  /** The virtual IF was set by the VMM (STI, IRET, an event): the section ended properly. */
  disarm(): void {
    this.armed = false;
  }

  /**
   * Looks at the next instruction of the guest (the vCPU carries the guest's state, synced
   * from the real CPU), before it runs natively. Returns the failure if it is a POPF that
   * will silently fail to set IF.
   */
  check(v: Cpu, guestKernel: boolean): PopfFailure | null {
    if (++this.steps > WATCH_LIMIT) {
      this.armed = false;
      return null;
    }
    if (!guestKernel) return null;
    const insn: Insn | null = peekInstruction(v);
    if (insn === null || specOf(insn).name !== 'popf') return null;
    const top = peekDword(v, (v.segBase[Seg.SS]! + v.regs[4]!) | 0);
    if (top === null || (top & Eflags.IF) === 0 || (v.flags & Eflags.IF) !== 0) return null;
    const eip = v.eip >>> 0;
    const hex = `0x${eip.toString(16).padStart(8, '0')}`;
    return {
      instruction: 'popf',
      eip,
      explanation:
        `the guest kernel executed popf at ${hex} to re-enable interrupts (it pops EFLAGS with IF=1), ` +
        'but it runs at ring 1 with IOPL 0, where POPF silently leaves IF unchanged instead of trapping ' +
        '(Intel SDM vol. 2, POPF). POPF is sensitive (it changes the interrupt state) but not privileged ' +
        "(it does not trap), so x86 violates Popek and Goldberg's condition that the sensitive " +
        'instructions be a subset of the privileged ones, and trap-and-emulate cannot virtualize this ' +
        'guest: from here on it would believe interrupts are on while the VMM keeps them off. ' +
        'A kernel that masks interrupts only with CLI and STI (the teaching kernel with irq=cli) runs correctly.',
    };
  }
}
