/**
 * QEMU's isa-debug-exit device (hw/misc/debugexit.c), as configured by
 * `-device isa-debug-exit,iobase=0xf4,iosize=0x04`: any write to one of its four ports ends the
 * run with status (value << 1) | 1, so a guest test can report its own verdict and a status of
 * 1 can never mean "the guest wrote 0". Reads float high, as an ISA port nobody drives.
 */
import type { PortHandler } from './device.ts';

/** How many ports the device decodes from its base. */
export const DEBUG_EXIT_PORTS = 4;

export interface DebugExitState {
  version: 1;
  /** The status of the last exit request, or -1 if the guest never wrote. */
  lastStatus: number;
}

export class DebugExit implements PortHandler {
  readonly state: DebugExitState = { version: 1, lastStatus: -1 };
  private readonly base: number;
  private readonly onExit: (status: number) => void;

  /** base: the first port (QEMU's PC tests use 0xF4); onExit receives (value << 1) | 1. */
  constructor(base: number, onExit: (status: number) => void) {
    this.base = base;
    this.onExit = onExit;
  }

  read(_port: number, size: 1 | 2 | 4): number {
    return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  }

  /** A write of any size at base..base+3 requests the exit; the value is taken at its access width. */
  write(port: number, size: 1 | 2 | 4, value: number): void {
    if (port < this.base || port >= this.base + DEBUG_EXIT_PORTS) return;
    const v = size === 1 ? value & 0xff : size === 2 ? value & 0xffff : value >>> 0;
    // Computed in doubles, not 32-bit ints, so a 32-bit value keeps its top bit (QEMU uses 64 bits).
    const status = v * 2 + 1;
    this.state.lastStatus = status;
    this.onExit(status);
  }
}
