/**
 * What a device sees of the machine (STYLE principle 8): the offsets it decodes, an interrupt
 * line, simulated time, and host-side streams or storage handed in by whoever builds the
 * board. Devices never see the CPU, the board or each other (interrupt controllers excepted,
 * which are wired to the lines they receive). Each device keeps its architectural state in a
 * plain `state` object (numbers, strings, arrays of numbers) with a `version`, so that it can be
 * inspected, serialized and compared.
 */

/** A device's window into the port space; `port` is the absolute port number. */
export interface PortHandler {
  read(port: number, size: 1 | 2 | 4): number;
  write(port: number, size: 1 | 2 | 4, value: number): void;
}

/**
 * A device whose registers are bytes at consecutive ports: a wider access is split into byte
 * accesses at successive ports, low byte first, as the ISA bus does for an 8-bit device.
 */
export abstract class BytePortDevice implements PortHandler {
  read(port: number, size: 1 | 2 | 4): number {
    if (size === 1) return this.readByte(port);
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(port + i) << (8 * i);
    return v;
  }

  write(port: number, size: 1 | 2 | 4, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte(port + i, (value >>> (8 * i)) & 0xff);
  }

  protected abstract readByte(port: number): number;
  protected abstract writeByte(port: number, value: number): void;
}

/** An interrupt request line driven by one device: level true = asserted. */
export interface IrqLine {
  set(level: boolean): void;
}

/** A line that goes nowhere (a device whose interrupt is not wired). */
export const UNWIRED: IrqLine = { set: () => {} };

/** Handle of a scheduled timer callback. */
export type TimerHandle = number;

/**
 * Simulated time, in nanoseconds since power-on. The board runs its CPU at a nominal 1 GHz, so
 * one simulated cycle is one nanosecond; every device clock (PIT, RTC, APIC timer) derives from
 * this, which makes every run reproducible.
 */
export interface DeviceClock {
  now(): number;
  /** Calls `fn` once when simulated time reaches `at` (ns). */
  schedule(at: number, fn: () => void): TimerHandle;
  /** Cancels a pending callback; harmless if it already ran or was cancelled. */
  cancel(handle: TimerHandle): void;
}

/** A byte stream from the host into the machine (a terminal, a pipe, a test's canned input). */
export interface ByteSource {
  /** The next byte, or -1 when none is available now. */
  read(): number;
  /** True when a byte is available without waiting. */
  ready(): boolean;
}

/** A byte stream from the machine to the host. */
export interface ByteSink {
  write(byte: number): void;
}

/** Storage behind a disk: whole 512-byte sectors. */
export interface BlockBackend {
  /** Number of 512-byte sectors. */
  readonly sectors: number;
  /** Copies `count` sectors starting at `lba` into `into` (count * 512 bytes). */
  read(lba: number, count: number, into: Uint8Array): void;
  /** Stores data (a multiple of 512 bytes) starting at sector `lba`. */
  write(lba: number, data: Uint8Array): void;
}

export const SECTOR_SIZE = 512;
