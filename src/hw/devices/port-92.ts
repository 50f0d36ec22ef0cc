/**
 * PS/2 system control port A (port 0x92), as QEMU's PC has it (hw/i386/pc.c, "port92"; IBM PS/2
 * Hardware Interface Technical Reference, "System Control Port A"):
 *
 *   bit 1 alternate gate A20   bit 0 alternate hot reset (a 0 -> 1 write resets the machine)
 *
 * Reads return the last value written. DEVIATION: the A20 gate is stored, not applied (as for the
 * keyboard controller's output port): memory never wraps at 1 MiB. Nothing a protected-mode
 * kernel does depends on the wrap.
 */
import type { PortHandler } from './device.ts';

export interface SystemControlPortAState {
  version: 1;
  /** The byte last written. */
  value: number;
}

export const PortA = { RESET: 0x01, A20: 0x02 } as const;

export class SystemControlPortA implements PortHandler {
  readonly state: SystemControlPortAState = { version: 1, value: 0 };
  private readonly onReset: () => void;

  /** onReset: the hot-reset bit rose (the board treats it as a reboot request). */
  constructor(onReset: () => void) {
    this.onReset = onReset;
  }

  /** Whether the gate says A20 is on (for the board; memory does not wrap either way). */
  get a20(): boolean {
    return (this.state.value & PortA.A20) !== 0;
  }

  read(_port: number, size: 1 | 2 | 4): number {
    // One 8-bit register: the bytes above it float high.
    return size === 1 ? this.state.value : size === 2 ? 0xff00 | this.state.value : (0xffffff00 | this.state.value) | 0;
  }

  write(_port: number, _size: 1 | 2 | 4, value: number): void {
    const old = this.state.value;
    this.state.value = value & 0xff;
    if ((value & PortA.RESET) !== 0 && (old & PortA.RESET) === 0) this.onReset();
  }
}
