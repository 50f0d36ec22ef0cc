/**
 * Public API: booting a kernel natively on the emulated PC, as QEMU's `-kernel` does, and
 * running it to the end. Platform-neutral: disks, input and output are handed in.
 */
import type { BlockBackend, ByteSink, ByteSource } from '../hw/devices/device.ts';
import { Board, type MachineExit } from '../hw/platform/board.ts';
import { type BootModule, MultibootError, bootMultiboot, parseMultibootKernel } from '../hw/platform/multiboot.ts';

export { MultibootError, type BootModule, type MachineExit };
export type { BlockBackend, ByteSink, ByteSource };
export { DEFAULT_RAM, MAX_RAM } from '../hw/platform/board.ts';

export interface NativeBootOptions {
  readonly kernel: Uint8Array;
  /** The kernel's name for messages. */
  readonly kernelName: string;
  readonly cmdline?: string;
  readonly modules?: readonly BootModule[];
  readonly ramBytes?: number;
  readonly disks?: readonly BlockBackend[];
  readonly input?: ByteSource;
  readonly serial: ByteSink;
  readonly cgaMirror?: (row: number, text: string) => void;
  /** See BoardOptions.waitForInput: lets an idle guest wait for a person at a terminal. */
  readonly waitForInput?: () => boolean;
  /** Stop after this many instructions (default 10 billion). */
  readonly maxInstructions?: number;
}

export interface NativeRun {
  readonly exit: MachineExit;
  /** The process exit status shadowvisor run reports (see exitStatus). */
  readonly status: number;
  readonly instructions: number;
  readonly cycles: number;
  readonly counters: Record<string, number>;
  /** Exceptions and interrupts the CPU delivered, by vector name. */
  readonly vectors: Record<string, number>;
  /** Interrupt requests raised, by device. */
  readonly interrupts: Record<string, number>;
  /** The CGA text screen at the end (25 lines). */
  readonly screen: readonly string[];
  readonly seconds: number;
  readonly mips: number;
}

export const NO_INPUT: ByteSource = { read: () => -1, ready: () => false };

/**
 * The status of a finished run: the debug-exit port's (value << 1) | 1; 0 after a halt with
 * interrupts off; 124 at the instruction limit; 125 triple fault; 126 halted with nothing left
 * to wake the CPU; 127 an unsupported CPU feature; 128 a reset request.
 */
export function exitStatus(exit: MachineExit): number {
  switch (exit.kind) {
    case 'exit':
      return exit.status;
    case 'halted':
      return 0;
    case 'limit':
      return 124;
    case 'triple-fault':
      return 125;
    case 'idle-forever':
      return 126;
    case 'unsupported':
      return 127;
    case 'reset-requested':
      return 128;
  }
}

/** One line saying why a run ended, for people. */
export function describeExit(exit: MachineExit): string {
  switch (exit.kind) {
    case 'exit':
      return `the guest wrote ${(exit.status - 1) >> 1} to the debug-exit port (status ${exit.status})`;
    case 'halted':
      return 'the guest halted with interrupts disabled';
    case 'limit':
      return `the guest ran ${exit.instructions.toLocaleString('en-US')} instructions without stopping (a runaway guest?); raise --max-instructions to let it run longer`;
    case 'triple-fault':
      return `triple fault (an exception while delivering a double fault; last vector ${exit.vector}): the machine reset`;
    case 'idle-forever':
      return 'the guest halted with interrupts enabled, but no timer or device is left to wake it';
    case 'unsupported':
      return `the guest used ${exit.feature}, which shadowvisor's CPU does not model (eip 0x${exit.eip.toString(16)})`;
    case 'reset-requested':
      return 'the guest asked the keyboard controller to reset the machine';
  }
}

/** Boots `kernel` natively and runs it until it stops. Throws MultibootError for bad kernels. */
export function bootNative(options: NativeBootOptions): NativeRun {
  const image = parseMultibootKernel(options.kernel, options.kernelName);
  const board = new Board({
    ...(options.ramBytes !== undefined ? { ramBytes: options.ramBytes } : {}),
    disks: options.disks ?? [],
    input: options.input ?? NO_INPUT,
    serial: options.serial,
    ...(options.cgaMirror !== undefined ? { cgaMirror: options.cgaMirror } : {}),
    ...(options.waitForInput !== undefined ? { waitForInput: options.waitForInput } : {}),
  });
  bootMultiboot(board.cpu, board.mem, image, options.kernelName, options.cmdline ?? '', options.modules ?? []);
  const start = Date.now();
  const exit = board.run(options.maxInstructions ?? 10e9);
  const seconds = (Date.now() - start) / 1000;
  const cpu = board.cpu;
  return {
    exit,
    status: exitStatus(exit),
    instructions: cpu.instructions,
    cycles: cpu.cycles,
    counters: cpu.counters.snapshot(),
    vectors: cpu.counters.vectors(),
    interrupts: board.interruptsBySource(),
    screen: board.chipset.cga.screen(),
    seconds,
    mips: seconds > 0 ? cpu.instructions / seconds / 1e6 : 0,
  };
}
