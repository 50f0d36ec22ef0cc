/**
 * Intel 8254 programmable interval timer at 0x40-0x43, clocked at 1.193182 MHz derived from
 * simulated nanoseconds. Channel 0 drives IRQ 0; channel 2's gate and OUT belong to port 0x61
 * (setGate2/out2); channel 1 (DRAM refresh) only counts. Follows the 8254 datasheet ("Modes",
 * "Read Operations", "Read-Back Command", "Gate pin operations summary"); the reset state is
 * QEMU's (hw/timer/i8254.c: every channel in mode 3 with count 65536, channel 2's gate low).
 * Not modelled: BCD counting (the BCD bit is stored and reported, counting stays binary); the
 * one-clock delay between writing a count and loading it (counting starts at the next input
 * clock edge).
 */
import { BytePortDevice, type DeviceClock, type IrqLine, type TimerHandle } from './device.ts';

/** The PC's PIT input clock (14.31818 MHz / 12). */
export const PIT_HZ = 1_193_182;
const NS_PER_S = 1_000_000_000;

/** Read/write flip-flop and latch states (RW1 RW0 of the control word). */
const Access = { LATCH: 0, LSB: 1, MSB: 2, WORD: 3 } as const;

export interface PitChannelState {
  /** Counter mode 0-5 (control words with modes 6 and 7 select 2 and 3, datasheet "Mode" table). */
  mode: number;
  /** M2-M0 as written, for the read-back status byte. */
  modeBits: number;
  /** RW1 RW0: 1 LSB only, 2 MSB only, 3 LSB then MSB. */
  access: number;
  bcd: boolean;
  /** Initial count, 1..65536 (a written 0 means 65536). */
  count: number;
  /** A count was written since the last control word. */
  armed: boolean;
  /** Modes 1 and 5: a gate trigger has started counting since the count was written. */
  triggered: boolean;
  /** Absolute input-clock tick at which the current count (or period train) started. */
  loadTick: number;
  /** Elapsed ticks while counting is stopped (gate low, or waiting for a trigger); -1 while counting. */
  frozen: number;
  gate: boolean;
  /** Which byte the next read (readState) / write (writeState) of the live count transfers. */
  readState: number;
  writeState: number;
  /** The LSB of a two-byte count, held until the MSB arrives. */
  writeLatch: number;
  /** Counter latch: 0 none, else the access state of the bytes still to be read (Access). */
  countLatched: number;
  latchedCount: number;
  statusLatched: boolean;
  status: number;
  /** NULL COUNT of the status byte: set by a control word or count write until the count is loaded. */
  nullCount: boolean;
}

export interface PitState {
  version: 1;
  channels: PitChannelState[];
}

/** Input-clock ticks elapsed at simulated time `ns`: floor(ns * PIT_HZ / 1e9), exact in doubles. */
export function pitTicksAt(ns: number): number {
  const s = Math.floor(ns / NS_PER_S);
  const r = ns - s * NS_PER_S;
  return s * PIT_HZ + Math.floor((r * PIT_HZ) / NS_PER_S);
}

/** The first nanosecond at which tick `k` has happened: ceil(k * 1e9 / PIT_HZ), exact in doubles. */
export function pitTickInstant(k: number): number {
  const s = Math.floor(k / PIT_HZ);
  const r = k - s * PIT_HZ;
  return s * NS_PER_S + Math.ceil((r * NS_PER_S) / PIT_HZ);
}

function newChannel(gate: boolean): PitChannelState {
  return {
    mode: 3,
    modeBits: 3,
    access: Access.WORD,
    bcd: false,
    count: 0x10000,
    armed: true,
    triggered: false,
    loadTick: 0,
    frozen: gate ? -1 : 0,
    gate,
    readState: Access.LSB,
    writeState: Access.LSB,
    writeLatch: 0,
    countLatched: 0,
    latchedCount: 0,
    statusLatched: false,
    status: 0,
    nullCount: false,
  };
}

export class Pit8254 extends BytePortDevice {
  readonly state: PitState;
  private readonly clock: DeviceClock;
  private readonly irq0: IrqLine;
  private irqLevel = false;
  /** Tick of the last evaluation of channel 0's OUT (for edges a late callback would miss). */
  private lastTick = 0;
  private timer: TimerHandle | null = null;

  /** clock: simulated time and timers; irq0: channel 0's OUT, wired to IRQ 0. */
  constructor(clock: DeviceClock, irq0: IrqLine) {
    super();
    this.clock = clock;
    this.irq0 = irq0;
    const t = pitTicksAt(clock.now());
    const channels = [newChannel(true), newChannel(true), newChannel(false)];
    for (const c of channels) c.loadTick = t;
    this.state = { version: 1, channels };
    this.updateChannel0();
  }

  /** Drives channel 2's GATE input (port 0x61 bit 0). */
  setGate2(level: boolean): void {
    this.setGate(this.state.channels[2]!, level);
  }

  /** Channel 2's OUT now (port 0x61 bit 5). */
  out2(): boolean {
    return this.out(this.state.channels[2]!, pitTicksAt(this.clock.now()));
  }

  protected readByte(port: number): number {
    if (port < 0x40 || port > 0x42) return 0xff; // the control word register is write-only
    const c = this.state.channels[port - 0x40]!;
    // Datasheet "Read-Back Command": latched status is read before a latched count.
    if (c.statusLatched) {
      c.statusLatched = false;
      return c.status;
    }
    if (c.countLatched !== 0) {
      const v = c.countLatched === Access.MSB ? c.latchedCount >> 8 : c.latchedCount & 0xff;
      c.countLatched = c.countLatched === Access.WORD ? Access.MSB : 0;
      return v;
    }
    const value = this.value(c, pitTicksAt(this.clock.now()));
    switch (c.readState) {
      case Access.MSB:
        if (c.access === Access.WORD) c.readState = Access.LSB;
        return value >> 8;
      default:
        if (c.access === Access.WORD) c.readState = Access.MSB;
        return c.access === Access.MSB ? value >> 8 : value & 0xff;
    }
  }

  protected writeByte(port: number, v: number): void {
    if (port === 0x43) {
      this.controlWord(v);
      return;
    }
    if (port < 0x40 || port > 0x42) return;
    const index = port - 0x40;
    const c = this.state.channels[index]!;
    const now = pitTicksAt(this.clock.now());
    switch (c.access) {
      case Access.LSB:
        this.load(c, v, now);
        break;
      case Access.MSB:
        this.load(c, v << 8, now);
        break;
      default:
        if (c.writeState === Access.LSB) {
          c.writeLatch = v;
          c.writeState = Access.MSB;
          // Mode 0: writing the first byte stops the count and sets OUT low (datasheet "Mode 0").
          if (c.mode === 0) {
            c.armed = false;
            c.nullCount = true;
          }
        } else {
          c.writeState = Access.LSB;
          this.load(c, c.writeLatch | (v << 8), now);
        }
    }
    if (index === 0) this.updateChannel0();
  }

  /**
   * Port 0x43. SC1 SC0 = 11 is the read-back command; RW1 RW0 = 00 the counter latch command;
   * anything else programs a channel, which resets its control logic: OUT goes to its initial
   * state (low in mode 0, high otherwise) and the counter waits for a new count.
   *
   *   D7 D6 SC1 SC0 | D5 D4 RW1 RW0 | D3-D1 M2-M0 | D0 BCD
   *   read-back:  11 | D5 !COUNT D4 !STATUS | D3 CNT2 D2 CNT1 D1 CNT0
   */
  private controlWord(v: number): void {
    const select = v >> 6;
    const now = pitTicksAt(this.clock.now());
    if (select === 3) {
      for (let i = 0; i < 3; i++) {
        if ((v & (2 << i)) === 0) continue;
        const c = this.state.channels[i]!;
        if ((v & 0x20) === 0) this.latchCount(c, now);
        // A second status latch before the first is read is ignored, like a second count latch.
        if ((v & 0x10) === 0 && !c.statusLatched) {
          if (c.nullCount && this.loaded(c, now)) c.nullCount = false;
          c.status =
            (this.out(c, now) ? 0x80 : 0) | (c.nullCount ? 0x40 : 0) | (c.access << 4) | (c.modeBits << 1) | (c.bcd ? 1 : 0);
          c.statusLatched = true;
        }
      }
      return;
    }
    const c = this.state.channels[select]!;
    const access = (v >> 4) & 3;
    if (access === Access.LATCH) {
      this.latchCount(c, now);
      return;
    }
    c.access = access;
    c.modeBits = (v >> 1) & 7;
    c.mode = c.modeBits >= 6 ? c.modeBits - 4 : c.modeBits;
    c.bcd = (v & 1) !== 0;
    c.readState = Access.LSB;
    c.writeState = Access.LSB;
    c.countLatched = 0;
    c.statusLatched = false;
    c.armed = false;
    c.triggered = false;
    c.nullCount = true;
    if (select === 0) this.updateChannel0();
  }

  /** Counter latch: a second latch before the first is read is ignored (datasheet "Counter Latch Command"). */
  private latchCount(c: PitChannelState, now: number): void {
    if (c.countLatched !== 0) return;
    c.latchedCount = this.value(c, now);
    c.countLatched = c.access;
  }

  /**
   * A new initial count. DEVIATION: in modes 2 and 3 the datasheet lets the current period finish
   * before the new count takes effect; like QEMU the new count restarts the period at once.
   */
  private load(c: PitChannelState, value: number, now: number): void {
    c.count = value === 0 ? 0x10000 : value;
    c.armed = true;
    c.triggered = false;
    c.nullCount = true;
    c.loadTick = now;
    // Modes 1 and 5 wait for a gate trigger; the others count while the gate is high.
    c.frozen = c.mode === 1 || c.mode === 5 || !c.gate ? 0 : -1;
  }

  private loaded(c: PitChannelState, now: number): boolean {
    return c.armed && c.frozen < 0 && now > c.loadTick;
  }

  /** Datasheet "Gate pin operations summary". */
  private setGate(c: PitChannelState, level: boolean): void {
    if (level === c.gate) return;
    c.gate = level;
    const now = pitTicksAt(this.clock.now());
    if (!c.armed) return;
    switch (c.mode) {
      case 0:
      case 4: // low disables counting, high enables it
        if (!level) c.frozen = this.elapsed(c, now);
        else if (c.frozen >= 0) {
          c.loadTick = now - c.frozen;
          c.frozen = -1;
        }
        break;
      case 2:
      case 3: // low stops counting and forces OUT high; a rising edge reloads and restarts
        if (!level) c.frozen = 0;
        else {
          c.loadTick = now;
          c.frozen = -1;
        }
        break;
      default: // 1, 5: a rising edge (re)triggers the count
        if (level) {
          c.triggered = true;
          c.loadTick = now;
          c.frozen = -1;
        }
    }
  }

  private elapsed(c: PitChannelState, now: number): number {
    return c.frozen >= 0 ? c.frozen : now - c.loadTick;
  }

  /** The count a read would see `now` ticks after power-on (datasheet "Modes"). */
  private value(c: PitChannelState, now: number): number {
    const n = c.count;
    if (!c.armed) return n & 0xffff;
    const d = this.elapsed(c, now);
    switch (c.mode) {
      case 2:
        return (n - (d % n)) & 0xffff;
      case 3: {
        // Even N: N, N-2, ..., 2 in each half. Odd N: N-1 ... 0 for (N+1)/2 clocks with OUT
        // high, then N-1 ... 2 for (N-1)/2 clocks with OUT low.
        const p = d % n;
        if ((n & 1) === 0) return (n - 2 * (p % (n >> 1))) & 0xffff;
        const high = (n + 1) >> 1;
        return (n - 1 - 2 * (p < high ? p : p - high)) & 0xffff;
      }
      case 1:
      case 5:
        if (!c.triggered) return n & 0xffff;
        return (n - d) & 0xffff;
      default: // 0, 4: counts down through zero and wraps
        return (n - d) & 0xffff;
    }
  }

  /** The OUT pin `now` ticks after power-on. */
  private out(c: PitChannelState, now: number): boolean {
    if (!c.armed) return c.mode !== 0;
    const n = c.count;
    const d = this.elapsed(c, now);
    switch (c.mode) {
      case 0: // low until terminal count, then high
        return d >= n;
      case 1: // low from the trigger until terminal count
        return !c.triggered || d >= n;
      case 2: // low for the one clock when the count is 1 (n >= 2)
        return c.frozen >= 0 || n < 2 || d % n !== n - 1;
      case 3: // high for ceil(N/2) clocks, low for floor(N/2)
        return c.frozen >= 0 || d % n < (n + 1) >> 1;
      case 4: // a one-clock low pulse at terminal count
        return d !== n;
      default: // 5
        return !c.triggered || d !== n;
    }
  }

  /** Elapsed-tick count of the next OUT transition after `d`, or -1 when OUT will not change. */
  private nextTransition(c: PitChannelState, d: number): number {
    if (!c.armed || c.frozen >= 0) return -1;
    const n = c.count;
    switch (c.mode) {
      case 0:
        return d < n ? n : -1;
      case 1:
        return c.triggered && d < n ? n : -1;
      case 2: {
        if (n < 2) return -1;
        const p = d % n;
        return p < n - 1 ? d + (n - 1 - p) : d + 1;
      }
      case 3: {
        if (n < 2) return -1;
        const p = d % n;
        const high = (n + 1) >> 1;
        return p < high ? d + (high - p) : d + (n - p);
      }
      case 4:
        return d < n ? n : d === n ? n + 1 : -1;
      default:
        if (!c.triggered) return -1;
        return d < n ? n : d === n ? n + 1 : -1;
    }
  }

  /** Whether OUT rose at some elapsed tick in (x, y] of the current count. */
  private roseBetween(c: PitChannelState, x: number, y: number): boolean {
    if (!c.armed || c.frozen >= 0 || y <= x) return false;
    const n = c.count;
    switch (c.mode) {
      case 0:
      case 1:
        return (c.mode === 0 || c.triggered) && x < n && n <= y;
      case 2:
      case 3:
        return n >= 2 && Math.floor(y / n) > Math.floor(x / n);
      default:
        return (c.mode === 4 || c.triggered) && x < n + 1 && n + 1 <= y;
    }
  }

  /**
   * Drives IRQ 0 from channel 0's OUT and schedules a callback at its next transition. If the
   * callback ran late enough to miss a whole low pulse (mode 2's is one input clock), the rising
   * edge is still delivered as a low-high pulse on the line.
   */
  private updateChannel0(): void {
    const c = this.state.channels[0]!;
    const now = pitTicksAt(this.clock.now());
    const d = this.elapsed(c, now);
    const level = this.out(c, now);
    const missedEdge = level && this.irqLevel && this.roseBetween(c, Math.max(this.lastTick - c.loadTick, 0), d);
    const changed = level !== this.irqLevel || missedEdge;
    this.lastTick = now;
    this.irqLevel = level;
    if (this.timer !== null) {
      this.clock.cancel(this.timer);
      this.timer = null;
    }
    const next = this.nextTransition(c, d);
    if (next >= 0) {
      // Computed from the load tick, so periods never accumulate rounding drift.
      this.timer = this.clock.schedule(pitTickInstant(c.loadTick + next), () => {
        this.timer = null;
        this.updateChannel0();
      });
    }
    // The line is driven last, so whatever reacts to it sees this channel's state complete.
    if (missedEdge) this.irq0.set(false);
    if (changed) this.irq0.set(level);
  }
}
