/**
 * The PC's chipset: the devices of QEMU's `pc` board that shadowvisor models, the interrupt
 * wiring, the legacy memory map, the firmware tables and the devices as SeaBIOS's POST leaves
 * them (post.ts), QEMU's fw_cfg, around whatever memory and CPU input it is given:
 *
 *   ISA IRQ n ──┬──> 8259 pair ── INTR ──> LAPIC LINT0 (ExtINT) ──┐
 *               └──> I/O APIC pin (n, IRQ 0 on pin 2) ──> LAPIC ──┴──> CPU INTR / INTA
 *   CPU FERR# ──> IRQ 13 (port 0xF0 clears it and drives the CPU's IGNNE#)
 *   external NMI (QEMU's monitor `nmi`) ──> LAPIC LINT1 (NMI) ──────────> CPU NMI
 *
 * The chipset's own NMI sources — parity and channel-check errors, reported in port 0x61 bits 7
 * and 6 and gated by port 0x70 bit 7 — never fire here (no such errors are modelled, nor in QEMU,
 * whose pc board reads those bits as 0 and ignores the gate), so that gate changes nothing.
 *
 * Physical memory: RAM from 0; 0xA0000-0xB7FFF unbacked; CGA text at 0xB8000-0xBFFFF;
 * 0xC0000-0xFFFFF read-only (option ROM area: the multiboot ROM's GDT; BIOS area: MP tables);
 * RAM from 1 MiB; I/O APIC at 0xFEC00000,
 * local APIC at 0xFEE00000. Unclaimed ports read all ones.
 * The board wires it to a CPU running natively; a hypervisor wires it to a virtual CPU and a
 * guest-physical address space (that is how each VM gets devices of its own).
 */
import type { BlockBackend, ByteSink, ByteSource, IrqLine } from '../devices/device.ts';

/** Instructions between looks at host input (about a millisecond of guest time). */
export const POLL_INSTRUCTIONS = 1_000_000;

/** Console input with nothing behind it. */
const NO_INPUT: ByteSource = { read: () => -1, ready: () => false };
import { CgaText } from '../devices/cga.ts';
import { CmosRtc } from '../devices/cmos-rtc.ts';
import { DebugExit } from '../devices/debug-exit.ts';
import { FPU_ERROR_IRQ, FPU_ERROR_PORT, FpuErrorLatch } from '../devices/fpu-error.ts';
import { FW_CFG_DMA_PORT, FW_CFG_PORT, FwCfg } from '../devices/fw-cfg.ts';
import { IdeChannel } from '../devices/ide.ts';
import { IoApic } from '../devices/io-apic.ts';
import { ApicReg, DeliveryMode, LocalApic, Lvt } from '../devices/local-apic.ts';
import { PicPair } from '../devices/pic-8259.ts';
import { Pit8254 } from '../devices/pit-8254.ts';
import { SystemControlPortB } from '../devices/port-61.ts';
import { SystemControlPortA } from '../devices/port-92.ts';
import { Ps2Controller } from '../devices/ps2-controller.ts';
import { Uart16550 } from '../devices/uart-16550.ts';
import type { PlatformMemory } from '../memory/physical-memory.ts';
import type { CpuModel } from '../cpu/cpu-model.ts';
import { Redir } from '../devices/io-apic.ts';
import { SimulatedClock } from './clock.ts';
import { IO_APIC_BASE, IO_APIC_ID, LOCAL_APIC_BASE, isaIrqToIoApicPin, writeFirmware } from './firmware.ts';
import { boardFwCfgItems, multibootFwCfgItems } from './fw-cfg-items.ts';
import type { MultibootLoad } from './multiboot.ts';
import { postDevices } from './post.ts';
import { IoPortBus } from './port-bus.ts';

export const DEFAULT_RAM = 128 << 20;
export const MAX_RAM = 1 << 30;
/** The simulated wall clock starts here: 2026-01-01T00:00:00Z. */
export const BOARD_EPOCH_SECONDS = 1767225600;

/** Throws unless `ram` is a RAM size the PC supports: whole MiB from 2 MiB to 1 GiB. */
export function checkRamSize(ram: number): void {
  if (ram % (1 << 20) !== 0 || ram < 2 << 20 || ram > MAX_RAM) {
    throw new RangeError(`RAM must be a whole number of MiB from 2 MiB to 1 GiB, got ${ram} bytes`);
  }
}

/** Why a machine stopped (the board's run, or a VM's). */
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
  | { readonly kind: 'limit'; readonly instructions: number }
  /** The host stopped the machine (a person quitting at the console, a test's watchdog). */
  | { readonly kind: 'stopped'; readonly reason: string };

/** Where console input goes: the serial port (QEMU's -nographic) or the PS/2 keyboard (its window). */
export type InputDevice = 'serial' | 'keyboard';

/** What the devices are given by whoever builds the machine. */
export interface ChipsetOptions {
  /** Up to two disks: the primary channel's master and slave (null: none there; a slave alone is allowed, as in QEMU). */
  readonly disks?: readonly (BlockBackend | null)[];
  /** What the guest reads from its console: bytes to COM1, or keystrokes typed on the keyboard. */
  readonly input: ByteSource;
  /** Which device `input` reaches (default 'serial', as with QEMU's -nographic); the other gets nothing. */
  readonly inputDevice?: InputDevice;
  /**
   * Polled whenever host input is looked at (about every million instructions, and while idle),
   * with the processor's instruction count at the last look: a reason stops the machine after the
   * current instruction (a 'stopped' exit).
   */
  readonly hostStop?: (instructions: number) => string | null;
  /** Where the serial port's output goes. */
  readonly serial: ByteSink;
  /** Called with each CGA text row that changed, once the cursor has left it (optional). */
  readonly cgaMirror?: (row: number, text: string) => void;
  /**
   * Called when the guest halts with interrupts enabled and nothing scheduled could wake it:
   * block until input may have arrived (a terminal) and return true, or return false when no
   * input can ever come.
   */
  readonly waitForInput?: () => boolean;
  /** The processor the firmware tables describe (default qemu32). */
  readonly cpuModel?: CpuModel;
}

/** The processor side of the chipset: time, the INTR line, and a way to stop the run loop. */
export interface ChipsetCpu {
  /** Simulated time: the cycles of the processor the devices belong to. */
  readonly cycles: () => number;
  /** The processor's INTR input (driven by the local APIC). */
  readonly intr: IrqLine;
  /** An edge on the processor's NMI input (from the local APIC). */
  readonly nmi: () => void;
  /** Stop running after the current instruction (the debug-exit port, a keyboard-controller reset). */
  readonly requestStop: (reason: string) => void;
  /** The earliest device timer moved: the run loop must stop at `cycles` to run it. */
  readonly setDeadline: (cycles: number) => void;
  /** The processor's IGNNE# input (driven by the coprocessor-error logic; none: not wired). */
  readonly ignne?: IrqLine;
}

/** How waitForWakeup found a halted processor. */
export type Wakeup = 'wake' | 'idle-forever';

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

export class PcChipset {
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
  /** The coprocessor-error logic: the processor's FERR# goes to `fpuError.ferr`. */
  readonly fpuError: FpuErrorLatch;
  /** QEMU's firmware configuration device (ports 0x510-0x511, DMA at 0x514). */
  readonly fwCfg: FwCfg;
  /** The status the guest wrote to the debug-exit port ((value << 1) | 1), or -1. */
  exitStatus = -1;
  /** The keyboard controller's reset line was pulsed. */
  resetRequested = false;
  /** Why the host stopped the machine ('' while it runs). */
  hostStopReason = '';
  /** The processor's instruction count at the last look at host input. */
  private polledAt = 0;
  /** Interrupt requests by source, counted on the device side (rising edges). */
  private readonly sources = new Map<string, CountedLine>();
  private readonly waitForInput: () => boolean;
  private readonly hostStop: (instructions: number) => string | null;
  private readonly requestStop: (reason: string) => void;
  private readonly mem: PlatformMemory;

  constructor(mem: PlatformMemory, cpu: ChipsetCpu, options: ChipsetOptions) {
    this.mem = mem;
    this.waitForInput = options.waitForInput ?? (() => false);
    this.hostStop = options.hostStop ?? (() => null);
    this.requestStop = cpu.requestStop;
    const keyboardInput = options.inputDevice === 'keyboard';
    const serialInput = keyboardInput ? NO_INPUT : options.input;
    const ram = mem.ramSize;
    const clock = new SimulatedClock(cpu.cycles);
    this.clock = clock;
    clock.onReschedule = () => cpu.setDeadline(clock.next());

    // Interrupt controllers: the local APIC fronts the CPU; the PIC reaches it on LINT0.
    this.lapic = new LocalApic(clock, cpu.intr, () => this.pic.acknowledge());
    this.lapic.onNmi = cpu.nmi;
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
    writeFirmware(mem, { hardDisks: (options.disks ?? []).filter((d) => d !== null).length, secondsOfDay: BOARD_EPOCH_SECONDS % 86400, ...(options.cpuModel !== undefined ? { cpuModel: options.cpuModel } : {}) });
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
    this.uart = new Uart16550(0x3f8, this.isaIrq(4, 'serial (COM1, IRQ 4)'), clock, serialInput, options.serial);
    this.ports.claim(0x3f8, 8, 'COM1', this.uart);
    this.ps2 = new Ps2Controller(this.isaIrq(1, 'keyboard (IRQ 1)'), keyboardInput ? options.input : NO_INPUT, () => {
      this.resetRequested = true;
      cpu.requestStop('keyboard controller reset');
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
        cpu.requestStop('debug-exit');
      }),
    );
    this.fpuError = new FpuErrorLatch(this.isaIrq(FPU_ERROR_IRQ, 'FPU error (FERR#, IRQ 13)'), cpu.ignne ?? { set: () => {} });
    this.ports.claim(FPU_ERROR_PORT, 1, 'FPU error (IGNNE#)', this.fpuError);
    // POST diagnostic port: QEMU accepts and ignores writes (kernels use it for I/O delays).
    this.ports.claim(0x80, 1, 'POST port', { read: () => 0xff, write: () => {} });
    const portA = new SystemControlPortA(() => {
      this.resetRequested = true;
      cpu.requestStop('system control port A reset');
    });
    this.ports.claim(0x92, 1, 'system control port A', portA);
    this.fwCfg = new FwCfg(mem, { dma: true });
    boardFwCfgItems(this.fwCfg, ram);
    this.ports.claim(FW_CFG_PORT, 2, 'fw_cfg', this.fwCfg);
    this.ports.claim(FW_CFG_DMA_PORT, 8, 'fw_cfg DMA', this.fwCfg);
    postDevices({ pic: this.pic, pit: this.pit, com1: this.uart, portA });
  }

  /** A kernel was loaded: the fw_cfg items QEMU sets for it (the image, its entry, the information). */
  multibootLoaded(load: MultibootLoad): void {
    multibootFwCfgItems(this.fwCfg, load, this.mem);
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
   * An NMI from outside the processor, as QEMU's monitor command `nmi` injects one: a pulse on
   * LINT1, which SeaBIOS leaves in NMI mode (with the APIC disabled, the processor's NMI pin).
   */
  externalNmi(): void {
    this.lapic.setLint1(true);
    this.lapic.setLint1(false);
  }

  /**
   * Whether a device can still raise an NMI by itself: LINT0 or an I/O APIC entry in NMI mode and
   * unmasked. A processor halted with IF=0 sleeps for ever only when this is false.
   */
  nmiArmed(): boolean {
    const apic = this.lapic.state;
    if (!apic.globalEnable) return false;
    // LVT and redirection entries share the layout of mask (bit 16) and delivery mode (10:8).
    const nmiMode = (low: number): boolean => (low & Redir.MASKED) === 0 && ((low >>> 8) & 7) === DeliveryMode.NMI;
    return nmiMode(apic.lvt[Lvt.LINT0]!) || this.ioapic.state.redirLow.some(nmiMode);
  }

  /**
   * Called by a run loop before each run of the processor with its instruction count: host input
   * is looked at once every POLL_INSTRUCTIONS, whatever made the processor stop in between
   * (device timers may stop it far more often than that).
   */
  pollInputEvery(instructions: number): void {
    if (instructions - this.polledAt < POLL_INSTRUCTIONS && instructions >= this.polledAt) return;
    this.polledAt = instructions;
    this.pollInput();
  }

  /** Input may have arrived from the host: let the receivers look (and the host stop the machine). */
  pollInput(): void {
    this.uart.poll();
    this.ps2.poll();
    if (this.hostStopReason === '') {
      const reason = this.hostStop(this.polledAt);
      if (reason !== null) {
        this.hostStopReason = reason;
        this.requestStop('host');
      }
    }
  }

  /**
   * After a device's or the host's stop request: how the machine ends (the debug-exit status, a
   * reset request, the host's stop), or null when nothing of the chipset's asks it to.
   */
  stopExit(): MachineExit | null {
    if (this.exitStatus >= 0) return { kind: 'exit', status: this.exitStatus };
    if (this.resetRequested) return { kind: 'reset-requested' };
    if (this.hostStopReason !== '') return { kind: 'stopped', reason: this.hostStopReason };
    return null;
  }

  /**
   * The processor halted with interrupts enabled. If an interrupt is already asserted
   * (`intrAsserted`) it wakes at once; otherwise the processor's time (`clock.cycles`) skips
   * to the next device timer, whose callbacks then run — or, with no timer left, only input
   * from outside can wake it: 'idle-forever' unless the host can wait for some.
   */
  waitForWakeup(intrAsserted: () => boolean, clock: { cycles: number }): Wakeup {
    // An interrupt already pending (STI; HLT with a request waiting) wakes it before any device is
    // polled: polling could take input the pending interrupt's handler is about to read.
    if (intrAsserted()) return 'wake';
    this.pollInput();
    if (intrAsserted()) return 'wake';
    const next = this.clock.next();
    if (next === Number.POSITIVE_INFINITY) return this.waitForInput() ? 'wake' : 'idle-forever';
    if (next > clock.cycles) clock.cycles = next;
    this.clock.runDue();
    return 'wake';
  }

  /** Ends a run: the line under the cursor has not been reported to the CGA mirror yet. */
  finish(): void {
    this.cga.syncMirror(true);
  }
}
