/**
 * The PC board: RAM with the legacy memory map, the port and MMIO buses, the devices, the
 * interrupt wiring and the simulated clock, around one CPU — the machine QEMU's `pc` board
 * presents to a kernel booted with `-kernel`:
 *
 *   ISA IRQ n ──┬──> 8259 pair ── INTR ──> LAPIC LINT0 (ExtINT) ──┐
 *               └──> I/O APIC pin (n, IRQ 0 on pin 2) ──> LAPIC ──┴──> CPU INTR / INTA
 *
 * Physical memory: RAM from 0; 0xA0000-0xB7FFF unbacked; CGA text at 0xB8000-0xBFFFF;
 * 0xC0000-0xFFFFF read-only (BIOS area: MP tables); RAM from 1 MiB; I/O APIC at 0xFEC00000,
 * local APIC at 0xFEE00000. Unclaimed ports read all ones.
 * The board knows nothing of hypervisors: it runs the CPU natively (the VMM builds its own
 * loop over cpu.run in monitor mode).
 */
import { Cpu, type CpuExit } from '../cpu/cpu.ts';
import { Eflags } from '../x86/eflags.ts';
import type { BlockBackend, ByteSink, ByteSource, IrqLine } from '../devices/device.ts';
import { CgaText } from '../devices/cga.ts';
import { CmosRtc } from '../devices/cmos-rtc.ts';
import { DebugExit } from '../devices/debug-exit.ts';
import { IdeChannel } from '../devices/ide.ts';
import { IoApic } from '../devices/io-apic.ts';
import { ApicReg, LocalApic } from '../devices/local-apic.ts';
import { PicPair } from '../devices/pic-8259.ts';
import { Pit8254 } from '../devices/pit-8254.ts';
import { SystemControlPortB } from '../devices/port-61.ts';
import { Ps2Controller } from '../devices/ps2-controller.ts';
import { Uart16550 } from '../devices/uart-16550.ts';
import { PhysicalMemory } from '../memory/physical-memory.ts';
import { SimulatedClock } from './clock.ts';
import { IO_APIC_BASE, IO_APIC_ID, LOCAL_APIC_BASE, isaIrqToIoApicPin, writeFirmware } from './firmware.ts';
import { IoPortBus } from './port-bus.ts';

export const DEFAULT_RAM = 128 << 20;
export const MAX_RAM = 1 << 30;
/** The simulated wall clock starts here: 2026-01-01T00:00:00Z. */
export const BOARD_EPOCH_SECONDS = 1767225600;

export interface BoardOptions {
  /** RAM in bytes: a multiple of 1 MiB, from 2 MiB to 1 GiB (default 128 MiB). */
  readonly ramBytes?: number;
  /** Up to two disks: the primary channel's master and slave. */
  readonly disks?: readonly BlockBackend[];
  /** What the guest reads from the serial port and the keyboard (one shared stream). */
  readonly input: ByteSource;
  /** Where the serial port's output goes. */
  readonly serial: ByteSink;
  /** Called with each CGA text row that changed, once the cursor has left it (optional). */
  readonly cgaMirror?: (row: number, text: string) => void;
  /**
   * Called when the guest halts with interrupts enabled and nothing scheduled could wake it:
   * block until input may have arrived (a terminal) and return true, or return false when no
   * input can ever come. Without it such a guest ends the run ('idle-forever').
   */
  readonly waitForInput?: () => boolean;
}

/** Why Board.run() stopped. */
export type MachineExit =
  /** The guest wrote to the debug-exit port: status = (value << 1) | 1. */
  | { readonly kind: 'exit'; readonly status: number }
  /** HLT with interrupts disabled: the machine can never continue (status 0). */
  | { readonly kind: 'halted' }
  /** HLT with interrupts enabled but no timer or device left that could wake it. */
  | { readonly kind: 'idle-forever' }
  | { readonly kind: 'triple-fault'; readonly vector: number }
  /** The keyboard controller's reset line was pulsed (a reboot request). */
  | { readonly kind: 'reset-requested' }
  | { readonly kind: 'unsupported'; readonly feature: string; readonly eip: number }
  | { readonly kind: 'limit'; readonly instructions: number };

/** An interrupt line that counts its rising edges (the statistics' "interrupts by source"). */
class CountedLine implements IrqLine {
  level = false;
  edges = 0;
  private readonly targets: readonly IrqLine[];
  constructor(targets: readonly IrqLine[]) {
    this.targets = targets;
  }
  set(level: boolean): void {
    if (level && !this.level) this.edges++;
    this.level = level;
    for (const t of this.targets) t.set(level);
  }
}

export class Board {
  readonly mem: PhysicalMemory;
  readonly cpu: Cpu;
  readonly clock: SimulatedClock;
  readonly ports = new IoPortBus();
  readonly pic: PicPair;
  readonly pit: Pit8254;
  readonly uart: Uart16550;
  readonly cmos: CmosRtc;
  readonly ps2: Ps2Controller;
  readonly cga: CgaText;
  readonly lapic: LocalApic;
  readonly ioapic: IoApic;
  readonly ide: IdeChannel;
  /** Interrupt requests by source, counted on the device side (rising edges). */
  private readonly sources = new Map<string, CountedLine>();
  private exitStatus = -1;
  private resetRequested = false;
  private readonly waitForInput: () => boolean;

  constructor(options: BoardOptions) {
    this.waitForInput = options.waitForInput ?? (() => false);
    const ram = options.ramBytes ?? DEFAULT_RAM;
    if (ram % (1 << 20) !== 0 || ram < 2 << 20 || ram > MAX_RAM) {
      throw new RangeError(`RAM must be a whole number of MiB from 2 MiB to 1 GiB, got ${ram} bytes`);
    }
    const mem = new PhysicalMemory(ram);
    this.mem = mem;
    const cpu = new Cpu(mem, this.ports);
    this.cpu = cpu;
    cpu.hasApic = true;
    const clock = new SimulatedClock(() => cpu.cycles);
    this.clock = clock;
    clock.onReschedule = () => {
      cpu.deadline = clock.next();
    };

    // Interrupt controllers: the local APIC fronts the CPU; the PIC reaches it on LINT0.
    this.lapic = new LocalApic(clock, { set: (level) => cpu.setIrq(level) }, () => this.pic.acknowledge());
    cpu.intAck = this.lapic;
    this.pic = new PicPair({ set: (level) => this.lapic.setLint0(level) });
    this.ioapic = new IoApic(
      (vector, mode, trigger) => this.lapic.deliver(vector, mode, trigger),
      (destination, logical) => this.lapic.accepts(destination, logical),
    );
    this.ioapic.state.id = IO_APIC_ID;
    this.lapic.onEoi = (vector) => this.ioapic.eoi(vector);
    // What SeaBIOS leaves before it starts a -kernel image under QEMU: the local APIC software-
    // enabled (spurious vector 0xFF), LINT0 in ExtINT mode (level, unmasked: the 8259 reaches
    // the CPU) and LINT1 as NMI.
    this.lapic.write(ApicReg.SVR, 4, 0x1ff);
    this.lapic.write(ApicReg.LVT_LINT0, 4, 0x8700);
    this.lapic.write(ApicReg.LVT_LINT1, 4, 0x8400);

    // Memory map.
    mem.unmap(0xa0000, 0x18000);
    this.cga = new CgaText(clock, options.cgaMirror);
    mem.mapMmio(0xb8000, 0x8000, this.cga);
    writeFirmware(mem);
    mem.setReadOnly(0xc0000, 0x40000);
    mem.mapMmio(IO_APIC_BASE, 0x1000, this.ioapic);
    mem.mapMmio(LOCAL_APIC_BASE, 0x1000, this.lapic);

    // Devices.
    this.pit = new Pit8254(clock, this.isaIrq(0, 'timer (PIT, IRQ 0)'));
    this.ports.claim(0x40, 4, 'PIT', this.pit);
    this.ports.claim(0x61, 1, 'system control port B', new SystemControlPortB(clock, this.pit));
    this.ports.claim(0x20, 2, 'PIC (master)', this.pic);
    this.ports.claim(0xa0, 2, 'PIC (slave)', this.pic);
    this.ports.claim(0x4d0, 2, 'PIC ELCR', this.pic);
    this.uart = new Uart16550(0x3f8, this.isaIrq(4, 'serial (COM1, IRQ 4)'), options.input, options.serial);
    this.ports.claim(0x3f8, 8, 'COM1', this.uart);
    this.ps2 = new Ps2Controller(this.isaIrq(1, 'keyboard (IRQ 1)'), options.input, () => {
      this.resetRequested = true;
      cpu.requestExit('keyboard controller reset');
    });
    this.ports.claim(0x60, 1, 'keyboard controller', this.ps2);
    this.ports.claim(0x64, 1, 'keyboard controller', this.ps2);
    const kib = ram >> 10;
    this.cmos = new CmosRtc(clock, this.isaIrq(8, 'RTC (IRQ 8)'), BOARD_EPOCH_SECONDS, {
      baseKiB: 640,
      extendedKiB: Math.min(0xffff, Math.max(0, kib - 1024)),
      above16MiB64KiB: Math.min(0xffff, Math.max(0, (ram - (16 << 20)) >> 16)),
    });
    this.ports.claim(0x70, 2, 'CMOS/RTC', this.cmos);
    this.ports.claim(0x3d4, 2, 'CGA CRT controller', this.cga.ports);
    this.ports.claim(0x3da, 1, 'CGA status', this.cga.ports);
    this.ports.claim(0x3c2, 1, 'VGA misc output', this.cga.ports);
    this.ports.claim(0x3cc, 1, 'VGA misc output', this.cga.ports);
    const disks = options.disks ?? [];
    this.ide = new IdeChannel(this.isaIrq(14, 'disk (IDE, IRQ 14)'), disks[0] ?? null, disks[1] ?? null);
    this.ports.claim(0x1f0, 8, 'IDE primary', this.ide);
    this.ports.claim(0x3f6, 1, 'IDE primary control', this.ide);
    this.ports.claim(
      0xf4,
      4,
      'debug exit',
      new DebugExit(0xf4, (status) => {
        this.exitStatus = status;
        cpu.requestExit('debug-exit');
      }),
    );
    // POST diagnostic port: QEMU accepts and ignores writes (kernels use it for I/O delays).
    this.ports.claim(0x80, 1, 'POST port', { read: () => 0xff, write: () => {} });
  }

  /** The line of ISA IRQ `irq`: to the PIC input and the I/O APIC pin, counted under `name`. */
  private isaIrq(irq: number, name: string): IrqLine {
    const line = new CountedLine([{ set: (level) => this.pic.setIrq(irq, level) }, { set: (level) => this.ioapic.setIrq(isaIrqToIoApicPin(irq), level) }]);
    this.sources.set(name, line);
    return line;
  }

  /** Interrupt requests raised by each source so far. */
  interruptsBySource(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, line] of this.sources) out[name] = line.edges;
    out['local APIC timer'] = this.lapic.timerInterrupts;
    return out;
  }

  /**
   * Runs the machine until it stops or `maxInstructions` have run. Time advances with the
   * CPU's cycles; HLT with interrupts enabled skips straight to the next timer event.
   */
  run(maxInstructions: number): MachineExit {
    const exit = this.runUntilStop(maxInstructions);
    // The line under the cursor has not been reported to the mirror yet.
    this.cga.syncMirror(true);
    return exit;
  }

  private runUntilStop(maxInstructions: number): MachineExit {
    const cpu = this.cpu;
    cpu.deadline = this.clock.next();
    for (;;) {
      const left = maxInstructions - cpu.instructions;
      if (left <= 0) return { kind: 'limit', instructions: cpu.instructions };
      const exit: CpuExit = cpu.run(Math.min(left, 1_000_000));
      switch (exit.kind) {
        case 'deadline':
          this.clock.runDue();
          break;
        case 'budget':
          // Input may have arrived from the host: let the receivers look.
          this.uart.poll();
          this.ps2.poll();
          break;
        case 'halt': {
          if ((cpu.flags & Eflags.IF) === 0) return { kind: 'halted' };
          this.uart.poll();
          this.ps2.poll();
          if (cpu.irq) break;
          const next = this.clock.next();
          if (next === Number.POSITIVE_INFINITY) {
            // Only input from outside can wake the guest now: wait for it if the host can.
            if (!this.waitForInput()) return { kind: 'idle-forever' };
            break;
          }
          // Nothing happens until the next timer: skip the idle time.
          if (next > cpu.cycles) cpu.cycles = next;
          this.clock.runDue();
          break;
        }
        case 'request':
          if (this.exitStatus >= 0) return { kind: 'exit', status: this.exitStatus };
          if (this.resetRequested) return { kind: 'reset-requested' };
          break;
        case 'reset':
          return { kind: 'triple-fault', vector: exit.vector };
        case 'unsupported':
          return { kind: 'unsupported', feature: exit.feature, eip: exit.eip };
        case 'trap':
        case 'interrupt':
          throw new Error(`board: a native CPU returned a monitor-mode exit (${exit.kind})`);
        default: {
          const never: never = exit;
          throw new Error(`board: unknown CPU exit ${JSON.stringify(never)}`);
        }
      }
    }
  }
}
