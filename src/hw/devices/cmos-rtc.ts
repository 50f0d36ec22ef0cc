/**
 * Motorola MC146818 real-time clock and its 128 bytes of CMOS RAM at ports 0x70 (index; bit 7
 * masks NMI) and 0x71 (data). The time is derived from simulated time: epochSeconds at power-on
 * plus clock.now() / 1e9, offset by whatever the guest sets. Follows the MC146818 datasheet
 * ("Address Map", "Register A-D", "Update Cycle", "Interrupts"); the bytes a PC BIOS leaves
 * (memory sizes, century at 0x32) are as QEMU (hw/rtc/mc146818rtc.c, hw/i386/pc.c) fills them.
 * Not modelled: divider reset/test modes (DV2-0 are stored; the divider always runs), the square
 * wave output, daylight-saving (DSE is stored), a written day-of-week that disagrees with the
 * date (it is recomputed from the date).
 */
import { BytePortDevice, type DeviceClock, type IrqLine, type TimerHandle } from './device.ts';

/** Register numbers of the clock (datasheet "Address Map"). */
export const RtcReg = {
  SECONDS: 0x00,
  SECONDS_ALARM: 0x01,
  MINUTES: 0x02,
  MINUTES_ALARM: 0x03,
  HOURS: 0x04,
  HOURS_ALARM: 0x05,
  DAY_OF_WEEK: 0x06,
  DAY_OF_MONTH: 0x07,
  MONTH: 0x08,
  YEAR: 0x09,
  A: 0x0a,
  B: 0x0b,
  C: 0x0c,
  D: 0x0d,
  /** PC convention (IBM AT BIOS, QEMU): the century, in the clock's BCD/binary format. */
  CENTURY: 0x32,
} as const;

/** Register A: UIP in bit 7, divider DV2-0 in bits 6-4, periodic rate RS3-0 in bits 3-0. */
export const RegA = { UIP: 0x80 } as const;
/** Register B bits. */
export const RegB = { SET: 0x80, PIE: 0x40, AIE: 0x20, UIE: 0x10, SQWE: 0x08, DM: 0x04, H24: 0x02, DSE: 0x01 } as const;
/** Register C bits (the flags line up with the enables in register B). */
export const RegC = { IRQF: 0x80, PF: 0x40, AF: 0x20, UF: 0x10 } as const;
/** Register D: valid RAM and time. */
export const RegD = { VRT: 0x80 } as const;

/** The timebase crystal: 32.768 kHz. */
const RTC_HZ = 32_768;
const NS_PER_S = 1_000_000_000;
/** UIP rises this long before each update (datasheet "Update Cycle", 32.768 kHz timebase). */
export const UIP_LEAD_NS = 244_000;
const SECONDS_PER_DAY = 86_400;
/** Bytes the clock computes rather than stores while it runs (SET clear). */
const TIME_REGS = [0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, RtcReg.CENTURY];

export interface CmosRtcState {
  version: 1;
  /** The 128 bytes of CMOS; 0x00-0x09 and 0x32 hold the time only while SET is 1. */
  ram: number[];
  /** The index port's register number (bits 6-0). */
  index: number;
  /** Port 0x70 bit 7: NMI disabled. */
  nmiDisabled: boolean;
  /** Register A without UIP. */
  regA: number;
  regB: number;
  /** Register C's PF, AF, UF (IRQF is derived). */
  flags: number;
  /** The clock read `baseSeconds` (seconds since 1970, UTC) at simulated instant baseNs. */
  baseSeconds: number;
  baseNs: number;
  /** Simulated instant up to which periodic/alarm/update events have been folded into flags. */
  checkedNs: number;
}

/** Memory sizes a BIOS records in CMOS (QEMU pc_cmos_init). */
export interface CmosMemorySizes {
  /** Conventional memory, KiB (normally 640). */
  baseKiB: number;
  /** Memory above 1 MiB, KiB (capped at 0xFFFF in CMOS). */
  extendedKiB: number;
  /** Memory above 16 MiB, in 64 KiB units (capped at 0xFFFF). */
  above16MiB64KiB: number;
}

interface CivilTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 1 = Sunday ... 7 = Saturday (datasheet "Time, Calendar and Alarm Data Modes"). */
  dayOfWeek: number;
}

/** Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days). */
function civilFromSeconds(t: number): CivilTime {
  const days = Math.floor(t / SECONDS_PER_DAY);
  const secs = t - days * SECONDS_PER_DAY;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return {
    year,
    month,
    day,
    hour: Math.floor(secs / 3600),
    minute: Math.floor(secs / 60) % 60,
    second: secs % 60,
    dayOfWeek: ((((days + 4) % 7) + 7) % 7) + 1, // 1970-01-01 was a Thursday
  };
}

/** Seconds since 1970 of a date and time; out-of-range days, hours and minutes roll over. */
function secondsFromCivil(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const y = year - (month <= 2 ? 1 : 0);
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146_097 + doe - 719_468;
  return days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
}

/** 32.768 kHz ticks elapsed at `ns`, exact in doubles. */
function rtcTicksAt(ns: number): number {
  const s = Math.floor(ns / NS_PER_S);
  return s * RTC_HZ + Math.floor(((ns - s * NS_PER_S) * RTC_HZ) / NS_PER_S);
}

/** The first nanosecond at which 32.768 kHz tick `k` has happened. */
function rtcTickInstant(k: number): number {
  const s = Math.floor(k / RTC_HZ);
  return s * NS_PER_S + Math.ceil(((k - s * RTC_HZ) * NS_PER_S) / RTC_HZ);
}

/**
 * Periodic interrupt period in 32.768 kHz ticks for rate select RS3-0 (datasheet table
 * "Periodic Interrupt Rate"): 0 none; 1 and 2 are 256 and 128 Hz; n >= 3 is 65536 >> n Hz.
 */
export function periodicTicks(rs: number): number {
  if (rs === 0) return 0;
  return rs <= 2 ? 1 << (rs + 6) : 1 << (rs - 1);
}

export class CmosRtc extends BytePortDevice {
  readonly state: CmosRtcState;
  private readonly clock: DeviceClock;
  private readonly irq8: IrqLine;
  private irqLevel = false;
  private timer: TimerHandle | null = null;

  /**
   * clock: simulated time; irq8: the RTC's interrupt line; epochSeconds: the wall-clock time
   * (seconds since 1970, UTC) at simulated time 0; memory: sizes recorded for the BIOS.
   */
  constructor(clock: DeviceClock, irq8: IrqLine, epochSeconds: number, memory: CmosMemorySizes) {
    super();
    this.clock = clock;
    this.irq8 = irq8;
    const ram = new Array<number>(128).fill(0);
    const base = Math.min(Math.max(memory.baseKiB, 0), 0xffff);
    const ext = Math.min(Math.max(memory.extendedKiB, 0), 0xffff);
    const high = Math.min(Math.max(memory.above16MiB64KiB, 0), 0xffff);
    ram[0x15] = base & 0xff;
    ram[0x16] = base >> 8;
    ram[0x17] = ram[0x30] = ext & 0xff;
    ram[0x18] = ram[0x31] = ext >> 8;
    ram[0x34] = high & 0xff;
    ram[0x35] = high >> 8;
    this.state = {
      version: 1,
      ram,
      index: 0,
      nmiDisabled: false,
      regA: 0x26, // 32.768 kHz timebase, 1024 Hz periodic rate: what a PC BIOS leaves
      regB: RegB.H24, // 24-hour, BCD
      flags: 0,
      baseSeconds: Math.floor(epochSeconds),
      baseNs: 0,
      checkedNs: clock.now(),
    };
  }

  /** Whether port 0x70 bit 7 masks NMI (for the board's NMI logic). */
  get nmiMasked(): boolean {
    return this.state.nmiDisabled;
  }

  protected readByte(port: number): number {
    if (port !== 0x71) return 0xff; // the index register is write-only
    const s = this.state;
    const i = s.index;
    switch (i) {
      case RtcReg.A:
        return s.regA | (this.updateInProgress() ? RegA.UIP : 0);
      case RtcReg.B:
        return s.regB;
      case RtcReg.C:
        return this.readC();
      case RtcReg.D:
        return RegD.VRT;
    }
    if (this.running() && TIME_REGS.includes(i)) return this.timeBytes(this.seconds())[i]!;
    return s.ram[i]!;
  }

  protected writeByte(port: number, v: number): void {
    const s = this.state;
    if (port === 0x70) {
      s.index = v & 0x7f;
      s.nmiDisabled = (v & 0x80) !== 0;
      return;
    }
    if (port !== 0x71) return;
    const i = s.index;
    switch (i) {
      case RtcReg.A:
        this.accumulate();
        s.regA = v & 0x7f; // UIP is read-only
        this.updateIrq();
        return;
      case RtcReg.B:
        this.writeB(v);
        return;
      case RtcReg.C:
      case RtcReg.D:
        return; // read-only
    }
    if (TIME_REGS.includes(i)) {
      if (this.running()) {
        // A time write while the clock runs takes effect at once (QEMU does the same);
        // the sub-second phase of the divider chain is kept.
        this.accumulate();
        this.freezeInto(s.ram);
        s.ram[i] = v;
        this.restartFromRam();
        this.updateIrq();
      } else {
        s.ram[i] = v;
      }
      return;
    }
    if (i === RtcReg.SECONDS_ALARM || i === RtcReg.MINUTES_ALARM || i === RtcReg.HOURS_ALARM) this.accumulate();
    s.ram[i] = v;
    this.updateIrq();
  }

  /**
   * Register B. Setting SET stops updates, freezing the time in the registers for the guest to
   * rewrite, and clears UIE (datasheet "Register B"); clearing SET restarts the clock from them.
   */
  private writeB(v: number): void {
    const s = this.state;
    this.accumulate();
    const wasSet = (s.regB & RegB.SET) !== 0;
    const nowSet = (v & RegB.SET) !== 0;
    if (!wasSet && nowSet) this.freezeInto(s.ram);
    if (nowSet) v &= ~RegB.UIE;
    s.regB = v;
    // The registers are decoded in the format of the new register B value.
    if (wasSet && !nowSet) this.restartFromRam();
    this.updateIrq();
  }

  /** Reading register C returns and clears the flags, which releases IRQ 8. */
  private readC(): number {
    const s = this.state;
    this.accumulate();
    const v = s.flags | (this.irqf() ? RegC.IRQF : 0);
    s.flags = 0;
    this.updateIrq();
    return v;
  }

  private running(): boolean {
    return (this.state.regB & RegB.SET) === 0;
  }

  /** The clock's current time in seconds since 1970. */
  private seconds(): number {
    const s = this.state;
    return s.baseSeconds + Math.floor((this.clock.now() - s.baseNs) / NS_PER_S);
  }

  /** UIP: high for the 244 us before each update; always low while SET is 1. */
  private updateInProgress(): boolean {
    if (!this.running()) return false;
    const phase = (this.clock.now() - this.state.baseNs) % NS_PER_S;
    return phase >= NS_PER_S - UIP_LEAD_NS;
  }

  private encode(v: number): number {
    if ((this.state.regB & RegB.DM) !== 0) return v;
    return (Math.floor(v / 10) << 4) | v % 10;
  }

  private decode(b: number): number {
    if ((this.state.regB & RegB.DM) !== 0) return b;
    return (b >> 4) * 10 + (b & 0x0f);
  }

  private encodeHour(h: number): number {
    if ((this.state.regB & RegB.H24) !== 0) return this.encode(h);
    // 12-hour mode: 12, 1, ..., 11 with bit 7 set for PM (datasheet "Time, Calendar and Alarm Data Modes").
    return this.encode(h % 12 === 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0);
  }

  private decodeHour(b: number): number {
    if ((this.state.regB & RegB.H24) !== 0) return this.decode(b);
    return (this.decode(b & 0x7f) % 12) + ((b & 0x80) !== 0 ? 12 : 0);
  }

  /** The time registers (indices 0x00-0x09 and 0x32) for time `t`, in the current format. */
  private timeBytes(t: number): number[] {
    const c = civilFromSeconds(t);
    const out = new Array<number>(RtcReg.CENTURY + 1).fill(0);
    out[RtcReg.SECONDS] = this.encode(c.second);
    out[RtcReg.MINUTES] = this.encode(c.minute);
    out[RtcReg.HOURS] = this.encodeHour(c.hour);
    out[RtcReg.DAY_OF_WEEK] = this.encode(c.dayOfWeek);
    out[RtcReg.DAY_OF_MONTH] = this.encode(c.day);
    out[RtcReg.MONTH] = this.encode(c.month);
    out[RtcReg.YEAR] = this.encode(c.year % 100);
    out[RtcReg.CENTURY] = this.encode(Math.floor(c.year / 100) % 100);
    return out;
  }

  /** Copies the running time into the time registers of `ram`. */
  private freezeInto(ram: number[]): void {
    const bytes = this.timeBytes(this.seconds());
    for (const i of TIME_REGS) ram[i] = bytes[i]!;
  }

  /**
   * Restarts the clock from the time registers in RAM, keeping the divider's sub-second phase.
   * An implausible century byte is replaced by the one the 2-digit year implies (1970-2069).
   */
  private restartFromRam(): void {
    const s = this.state;
    const r = s.ram;
    const yy = this.decode(r[RtcReg.YEAR]!) % 100;
    let century = this.decode(r[RtcReg.CENTURY]!);
    if (century < 19 || century > 29) century = yy < 70 ? 20 : 19;
    const month = Math.min(Math.max(this.decode(r[RtcReg.MONTH]!), 1), 12);
    const day = Math.min(Math.max(this.decode(r[RtcReg.DAY_OF_MONTH]!), 1), 31);
    const t = secondsFromCivil(
      century * 100 + yy,
      month,
      day,
      this.decodeHour(r[RtcReg.HOURS]!),
      this.decode(r[RtcReg.MINUTES]!),
      this.decode(r[RtcReg.SECONDS]!),
    );
    const now = this.clock.now();
    s.baseNs = now - ((now - s.baseNs) % NS_PER_S);
    s.baseSeconds = t;
    s.checkedNs = now;
  }

  /** Whether time `t` matches the alarm registers (0xC0-0xFF in an alarm byte is "don't care"). */
  private alarmMatches(t: number): boolean {
    const bytes = this.timeBytes(t);
    const r = this.state.ram;
    const pairs: [number, number][] = [
      [RtcReg.SECONDS_ALARM, RtcReg.SECONDS],
      [RtcReg.MINUTES_ALARM, RtcReg.MINUTES],
      [RtcReg.HOURS_ALARM, RtcReg.HOURS],
    ];
    for (const [alarm, time] of pairs) {
      const a = r[alarm]!;
      if ((a & 0xc0) !== 0xc0 && a !== bytes[time]) return false;
    }
    return true;
  }

  /**
   * Folds the periodic, alarm and update-ended events of (checkedNs, now] into PF, AF and UF.
   * The flags are set whether or not their interrupts are enabled (datasheet "Register C").
   */
  private accumulate(): void {
    const s = this.state;
    const a = s.checkedNs;
    const b = this.clock.now();
    if (b <= a) return;
    const period = periodicTicks(s.regA & 0x0f);
    if (period !== 0 && Math.floor(rtcTicksAt(b) / period) > Math.floor(rtcTicksAt(a) / period)) s.flags |= RegC.PF;
    if (this.running()) {
      const first = Math.floor((a - s.baseNs) / NS_PER_S);
      const last = Math.floor((b - s.baseNs) / NS_PER_S);
      if (last > first) {
        s.flags |= RegC.UF;
        // The alarm repeats at most daily, so one day of updates covers every match.
        const end = Math.min(last, first + SECONDS_PER_DAY);
        for (let k = first + 1; k <= end && (s.flags & RegC.AF) === 0; k++) {
          if (this.alarmMatches(s.baseSeconds + k)) s.flags |= RegC.AF;
        }
      }
    }
    s.checkedNs = b;
  }

  private irqf(): boolean {
    return (this.state.flags & this.state.regB & (RegC.PF | RegC.AF | RegC.UF)) !== 0;
  }

  /** IRQ 8 follows IRQF; while it is low, a timer waits for the next enabled event. */
  private updateIrq(): void {
    const level = this.irqf();
    if (this.timer !== null) {
      this.clock.cancel(this.timer);
      this.timer = null;
    }
    // While IRQF is set nothing new can happen on the line until register C is read.
    const next = level ? Number.POSITIVE_INFINITY : this.nextEvent();
    if (next !== Number.POSITIVE_INFINITY) {
      this.timer = this.clock.schedule(next, () => {
        this.timer = null;
        this.accumulate();
        this.updateIrq();
      });
    }
    // The line is driven last, so a handler that reads register C at once sees a consistent device.
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq8.set(level);
    }
  }

  /** The instant of the next periodic tick or update whose interrupt is enabled, or +Infinity. */
  private nextEvent(): number {
    const s = this.state;
    const now = this.clock.now();
    let next = Number.POSITIVE_INFINITY;
    const period = periodicTicks(s.regA & 0x0f);
    if ((s.regB & RegB.PIE) !== 0 && period !== 0) {
      next = rtcTickInstant((Math.floor(rtcTicksAt(now) / period) + 1) * period);
    }
    if (this.running() && (s.regB & (RegB.UIE | RegB.AIE)) !== 0) {
      next = Math.min(next, s.baseNs + (Math.floor((now - s.baseNs) / NS_PER_S) + 1) * NS_PER_S);
    }
    return next;
  }
}
