/**
 * The PC board: the chipset (devices, interrupt wiring, memory map, firmware tables) around one
 * CPU running natively on the machine's RAM, as QEMU's `pc` board presents it to a kernel
 * booted with `-kernel`. Time advances with the CPU's cycles; the board's run loop stops the
 * CPU at device deadlines and skips idle time after HLT.
 * The board knows nothing of hypervisors (a VMM wires its own chipset per VM to a virtual CPU).
 */
import { Cpu, type CpuExit } from '../cpu/cpu.ts';
import type { HardwareCosts } from '../cpu/costs.ts';
import { Eflags } from '../x86/eflags.ts';
import { PhysicalMemory } from '../memory/physical-memory.ts';
import { type ChipsetOptions, DEFAULT_RAM, PcChipset, checkRamSize } from './chipset.ts';

export { BOARD_EPOCH_SECONDS, DEFAULT_RAM, MAX_RAM } from './chipset.ts';

export interface BoardOptions extends ChipsetOptions {
  /** RAM in bytes: a multiple of 1 MiB, from 2 MiB to 1 GiB (default 128 MiB). */
  readonly ramBytes?: number;
  /** What the CPU charges for its work (a microarchitecture profile's hardware part). */
  readonly costs?: HardwareCosts;
}

/** Why Board.run() stopped. */
export type MachineExit =
  /** The guest wrote to the debug-exit port: status = (value << 1) | 1. */
  | { readonly kind: 'exit'; readonly status: number }
  /** HLT with interrupts disabled: the machine can never continue (status 0). */
  | { readonly kind: 'halted' }
  /** HLT with interrupts enabled but no timer or device left that could wake it. */
  | { readonly kind: 'idle-forever' }
  | { readonly kind: 'triple-fault'; readonly vector: number }
  /** The keyboard controller's reset line was pulsed (a reboot request). */
  | { readonly kind: 'reset-requested' }
  | { readonly kind: 'unsupported'; readonly feature: string; readonly eip: number }
  | { readonly kind: 'limit'; readonly instructions: number };

export class Board {
  readonly mem: PhysicalMemory;
  readonly cpu: Cpu;
  readonly chipset: PcChipset;

  constructor(options: BoardOptions) {
    const ram = options.ramBytes ?? DEFAULT_RAM;
    checkRamSize(ram);
    const mem = new PhysicalMemory(ram);
    this.mem = mem;
    const cpu = new Cpu(mem, { read: () => 0, write: () => {} }, options.costs !== undefined ? { costs: options.costs } : {});
    this.cpu = cpu;
    cpu.hasApic = true;
    this.chipset = new PcChipset(
      mem,
      {
        cycles: () => cpu.cycles,
        intr: { set: (level) => cpu.setIrq(level) },
        requestStop: (reason) => cpu.requestExit(reason),
        setDeadline: (cycles) => {
          cpu.deadline = cycles;
        },
        ignne: {
          set: (level) => {
            cpu.fpu.ignne = level;
          },
        },
      },
      options,
    );
    cpu.io = this.chipset.ports;
    cpu.intAck = this.chipset.lapic;
    cpu.fpu.ferr = this.chipset.fpuError.ferr;
  }

  /** Interrupt requests raised by each source so far. */
  interruptsBySource(): Record<string, number> {
    return this.chipset.interruptsBySource();
  }

  /**
   * Runs the machine until it stops or `maxInstructions` have run. Time advances with the
   * CPU's cycles; HLT with interrupts enabled skips straight to the next timer event.
   */
  run(maxInstructions: number): MachineExit {
    const exit = runPc(this.cpu, this.chipset, maxInstructions);
    this.chipset.finish();
    return exit;
  }
}

/**
 * A PC's run loop: runs `cpu` on `chipset` until the machine stops or `maxInstructions` have run
 * (the board natively; an interpreting VMM over a guest's chipset). Time advances with the CPU's
 * cycles; HLT with interrupts enabled skips straight to the next timer event.
 */
export function runPc(cpu: Cpu, chipset: PcChipset, maxInstructions: number): MachineExit {
  cpu.deadline = chipset.clock.next();
  for (;;) {
    const left = maxInstructions - cpu.instructions;
    if (left <= 0) return { kind: 'limit', instructions: cpu.instructions };
    const exit: CpuExit = cpu.run(Math.min(left, 1_000_000));
    switch (exit.kind) {
      case 'deadline':
        chipset.clock.runDue();
        break;
      case 'budget':
        chipset.pollInput();
        break;
      case 'halt': {
        if ((cpu.flags & Eflags.IF) === 0) return { kind: 'halted' };
        const wakeup = chipset.waitForWakeup(() => cpu.irq, cpu);
        if (wakeup === 'idle-forever') return { kind: 'idle-forever' };
        break;
      }
      case 'request':
        if (chipset.exitStatus >= 0) return { kind: 'exit', status: chipset.exitStatus };
        if (chipset.resetRequested) return { kind: 'reset-requested' };
        break;
      case 'reset':
        return { kind: 'triple-fault', vector: exit.vector };
      case 'unsupported':
        return { kind: 'unsupported', feature: exit.feature, eip: exit.eip };
      case 'trap':
      case 'interrupt':
      case 'vmexit':
        throw new Error(`board: a native CPU returned a monitor-mode exit (${exit.kind})`);
      default: {
        const never: never = exit;
        throw new Error(`board: unknown CPU exit ${JSON.stringify(never)}`);
      }
    }
  }
}
