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
import { type ChipsetOptions, DEFAULT_RAM, type MachineExit, POLL_INSTRUCTIONS, PcChipset, checkRamSize } from './chipset.ts';

export { BOARD_EPOCH_SECONDS, DEFAULT_RAM, type MachineExit, MAX_RAM } from './chipset.ts';

export interface BoardOptions extends ChipsetOptions {
  /** RAM in bytes: a multiple of 1 MiB, from 2 MiB to 1 GiB (default 128 MiB). */
  readonly ramBytes?: number;
  /** What the CPU charges for its work (a microarchitecture profile's hardware part). */
  readonly costs?: HardwareCosts;
}

export class Board {
  readonly mem: PhysicalMemory;
  readonly cpu: Cpu;
  readonly chipset: PcChipset;

  constructor(options: BoardOptions) {
    const ram = options.ramBytes ?? DEFAULT_RAM;
    checkRamSize(ram);
    const mem = new PhysicalMemory(ram);
    this.mem = mem;
    const cpu = new Cpu(mem, { read: () => 0, write: () => {} }, {
      ...(options.costs !== undefined ? { costs: options.costs } : {}),
      ...(options.cpuModel !== undefined ? { model: options.cpuModel } : {}),
    });
    this.cpu = cpu;
    cpu.hasApic = true;
    this.chipset = new PcChipset(
      mem,
      {
        cycles: () => cpu.cycles,
        intr: { set: (level) => cpu.setIrq(level) },
        nmi: () => cpu.raiseNmi(),
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
    const lapic = this.chipset.lapic;
    cpu.onApicEnable = (enabled) => lapic.setGlobalEnable(enabled);
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
    chipset.pollInputEvery(cpu.instructions);
    const exit: CpuExit = cpu.run(Math.min(left, POLL_INSTRUCTIONS));
    switch (exit.kind) {
      case 'deadline':
        chipset.clock.runDue();
        break;
      case 'budget':
        break;
      case 'halt': {
        const wakeup = waitWhileHalted(cpu, chipset);
        if (wakeup !== null) return wakeup;
        break;
      }
      case 'request': {
        const stop = chipset.stopExit();
        if (stop !== null) return stop;
        break;
      }
      case 'reset':
        return { kind: 'triple-fault', vector: exit.vector };
      case 'unsupported':
        return { kind: 'unsupported', feature: exit.feature, eip: exit.eip };
      case 'trap':
      case 'interrupt':
      case 'nmi':
      case 'vmexit':
        throw new Error(`board: a native CPU returned a monitor-mode exit (${exit.kind})`);
      default: {
        const never: never = exit;
        throw new Error(`board: unknown CPU exit ${JSON.stringify(never)}`);
      }
    }
  }
}

/**
 * The CPU halted. With IF=1 it sleeps until an interrupt or an NMI; with IF=0 only an NMI can wake
 * it (SDM vol. 3, 6.7: NMIs are not masked by IF), so it stops for good ('halted') unless an NMI
 * is pending or a device can still raise one — and then sleeps until it does. Returns the exit
 * that ends the run, or null to go on.
 */
export function waitWhileHalted(cpu: Cpu, chipset: PcChipset): MachineExit | null {
  const nmi = (): boolean => cpu.nmiPending && !cpu.nmiBlocked;
  if ((cpu.flags & Eflags.IF) === 0) {
    if (!nmi() && (cpu.nmiBlocked || !chipset.nmiArmed())) return { kind: 'halted' };
    return chipset.waitForWakeup(nmi, cpu) === 'idle-forever' ? { kind: 'halted' } : null;
  }
  return chipset.waitForWakeup(() => cpu.irq || nmi(), cpu) === 'idle-forever' ? { kind: 'idle-forever' } : null;
}
