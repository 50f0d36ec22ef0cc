/**
 * PC/AT system control port B (port 0x61), after the IBM PC AT Technical Reference (8042/port
 * 61h description) and QEMU hw/audio/pcspk.c:
 *
 *   bit 7 parity check (0)   bit 6 channel check (0)   bit 5 PIT channel 2 OUT (read only)
 *   bit 4 refresh request toggle (read only)   bits 3-2 check enables (stored)
 *   bit 1 speaker data enable (stored)   bit 0 PIT channel 2 GATE
 *
 * The refresh bit toggles every 15 us of simulated time (the DRAM refresh period; delay loops in
 * some kernels and BIOSes count its toggles). Not modelled: the speaker itself, NMI sources.
 */
import type { DeviceClock, PortHandler } from './device.ts';

/** What port B needs of the PIT: channel 2's gate input and OUT level (Pit8254 provides both). */
export interface Channel2 {
  setGate2(level: boolean): void;
  out2(): boolean;
}

/** Half-period of the refresh-request toggle. */
export const REFRESH_TOGGLE_NS = 15_000;

export interface SystemControlPortBState {
  version: 1;
  /** Bits 3-0 as last written. */
  control: number;
}

export class SystemControlPortB implements PortHandler {
  readonly state: SystemControlPortBState = { version: 1, control: 0 };
  private readonly pit: Channel2;
  private readonly clock: DeviceClock;

  /** clock: simulated time (the refresh toggle); pit: channel 2's gate and OUT. */
  constructor(clock: DeviceClock, pit: Channel2) {
    this.clock = clock;
    this.pit = pit;
  }

  read(port: number, size: 1 | 2 | 4): number {
    if (port !== 0x61) return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
    const refresh = Math.floor(this.clock.now() / REFRESH_TOGGLE_NS) & 1;
    const v = (this.pit.out2() ? 0x20 : 0) | (refresh << 4) | this.state.control;
    // Wider reads see the unclaimed bus above the port.
    return size === 1 ? v : size === 2 ? v | 0xff00 : v | ~0xff;
  }

  write(port: number, _size: 1 | 2 | 4, value: number): void {
    if (port !== 0x61) return;
    this.state.control = value & 0x0f;
    this.pit.setGate2((value & 1) !== 0);
  }

  /** Whether the speaker is enabled (bit 1) and gated by channel 2 (bit 0): for a sound front-end. */
  get speakerOn(): boolean {
    return (this.state.control & 3) === 3;
  }
}
