/**
 * The board's simulated clock and timer queue. Time is the CPU's cycle count (1 cycle = 1 ns at
 * the nominal 1 GHz); devices schedule callbacks at future instants, and the board's run loop
 * stops the CPU at the earliest one (cpu.deadline) to run them. Callbacks due at the same
 * instant run in the order they were scheduled, so runs are deterministic.
 */
import type { DeviceClock, TimerHandle } from '../devices/device.ts';

/** The nominal clock rate: simulated cycles per second. */
export const SIMULATED_HZ = 1_000_000_000;

interface Timer {
  at: number;
  seq: number;
  fn: (() => void) | null;
}

export class SimulatedClock implements DeviceClock {
  private readonly timers: Timer[] = [];
  private readonly byHandle = new Map<TimerHandle, Timer>();
  private seq = 0;
  private readonly source: () => number;
  /** Called whenever the earliest pending instant may have changed (the board moves the CPU's deadline). */
  onReschedule: () => void = () => {};

  /** `source` reads the current simulated time (the CPU's cycle counter). */
  constructor(source: () => number) {
    this.source = source;
  }

  now(): number {
    return this.source();
  }

  schedule(at: number, fn: () => void): TimerHandle {
    const t: Timer = { at, seq: ++this.seq, fn };
    // Keep the queue sorted by (at, seq); timers are few (one or two per device).
    let k = this.timers.length;
    while (k > 0 && (this.timers[k - 1]!.at > at || (this.timers[k - 1]!.at === at && this.timers[k - 1]!.seq > t.seq))) k--;
    this.timers.splice(k, 0, t);
    this.byHandle.set(t.seq, t);
    if (k === 0) this.onReschedule();
    return t.seq;
  }

  cancel(handle: TimerHandle): void {
    const t = this.byHandle.get(handle);
    if (t === undefined) return;
    this.byHandle.delete(handle);
    t.fn = null;
    const k = this.timers.indexOf(t);
    if (k >= 0) this.timers.splice(k, 1);
    if (k === 0) this.onReschedule();
  }

  /** The instant of the earliest pending callback, or +Infinity. */
  next(): number {
    return this.timers.length > 0 ? this.timers[0]!.at : Number.POSITIVE_INFINITY;
  }

  /** Runs every callback due at or before now(); returns how many ran. */
  runDue(): number {
    let ran = 0;
    const now = this.now();
    while (this.timers.length > 0 && this.timers[0]!.at <= now) {
      const t = this.timers.shift()!;
      this.byHandle.delete(t.seq);
      if (t.fn !== null) {
        ran++;
        t.fn();
      }
    }
    this.onReschedule();
    return ran;
  }
}

/**
 * A clock whose time is set by hand (tests, and front-ends that step a device alone): advance()
 * runs each callback at its own instant, in order, as the board's run loop would.
 */
export class ManualClock extends SimulatedClock {
  private readonly time: { t: number };

  constructor(start = 0) {
    const time = { t: start };
    super(() => time.t);
    this.time = time;
  }

  /** Simulated time in ns; setting it runs nothing (use advance for that). */
  get t(): number {
    return this.time.t;
  }

  set t(value: number) {
    this.time.t = value;
  }

  /**
   * Moves time to `to`, running due callbacks at their instants — or, with `granularity`, at the
   * next multiple of it, the way a callback that runs late would.
   */
  advance(to: number, granularity = 0): void {
    for (;;) {
      const at = this.next();
      if (at > to) break;
      const when = granularity === 0 ? at : Math.min(to, Math.ceil(at / granularity) * granularity);
      this.time.t = Math.max(this.time.t, when);
      this.runDue();
    }
    this.time.t = to;
  }
}
