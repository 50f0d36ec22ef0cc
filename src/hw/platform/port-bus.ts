/**
 * The PC's I/O port space: 64 Ki ports, each claimed by at most one device. An access goes to
 * the device claiming its first port, with its full size (devices decide what a word access
 * means); unclaimed ports read as all ones and ignore writes, as an ISA bus with nothing
 * driving it does.
 */
import type { PortBus } from '../cpu/cpu.ts';
import type { PortHandler } from '../devices/device.ts';

export class IoPortBus implements PortBus {
  private readonly handlers: (PortHandler | null)[] = new Array<PortHandler | null>(65536).fill(null);
  private readonly names: string[] = [];
  private readonly owner = new Uint16Array(65536);
  /** Accesses per device name, for statistics. */
  readonly accesses = new Map<string, number>();

  /** Claims ports [first, first + count) for `handler`, named for statistics and errors. */
  claim(first: number, count: number, name: string, handler: PortHandler): void {
    const id = this.names.length + 1;
    this.names.push(name);
    for (let p = first; p < first + count; p++) {
      if (this.handlers[p] !== null) throw new Error(`port 0x${p.toString(16)} claimed twice (${this.names[this.owner[p]! - 1]} and ${name})`);
      this.handlers[p] = handler;
      this.owner[p] = id;
    }
  }

  read(port: number, size: 1 | 2 | 4): number {
    const h = this.handlers[port & 0xffff]!;
    if (h === null) return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
    this.count(port);
    return h.read(port & 0xffff, size);
  }

  write(port: number, size: 1 | 2 | 4, value: number): void {
    const h = this.handlers[port & 0xffff]!;
    if (h === null) return;
    this.count(port);
    h.write(port & 0xffff, size, value);
  }

  private count(port: number): void {
    const name = this.names[this.owner[port & 0xffff]! - 1]!;
    this.accesses.set(name, (this.accesses.get(name) ?? 0) + 1);
  }
}
