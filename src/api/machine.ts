/**
 * Public API: booting a kernel on the emulated PC, as QEMU's `-kernel` does, and running it to
 * the end — natively (the guest owns the machine) or under the hypervisor (`trap`: trap-and-
 * emulate with shadow page tables). Platform-neutral: disks, input and output are handed in.
 */
import type { BlockBackend, ByteSink, ByteSource } from '../hw/devices/device.ts';
import type { InputDevice } from '../hw/platform/chipset.ts';
import { Board, type MachineExit } from '../hw/platform/board.ts';
import { type BootModule, MultibootError, bootMultiboot, parseMultibootKernel } from '../hw/platform/multiboot.ts';
import type { VmExit } from '../vmm/engines/engine.ts';
import { DEFAULT_PROFILE, type Profile } from '../vmm/profiles.ts';
import { type VmmReport, vmmReport } from '../vmm/report.ts';
import { DEFAULT_RAM } from '../hw/platform/chipset.ts';
import { type Technique, type Vm, type VmOptions as VmParams, hostFramesFor } from '../vmm/vm.ts';
import { TrapVm } from '../vmm/trap-vm.ts';
import { HwVm } from '../vmm/hw-vm.ts';
import { InterpretVm } from '../vmm/interpret-vm.ts';
import { type LectureStep, replayLecture } from '../vmm/lecture-replay.ts';
import { Host, hostBytesFor } from '../vmm/host.ts';
import { QUANTUM, type ScheduledVm, runRoundRobin } from '../vmm/scheduler.ts';
import type { BackingStore } from '../vmm/memory/backing-store.ts';
import { type CpuModel, DEFAULT_CPU_MODEL } from '../hw/cpu/cpu-model.ts';

export { MultibootError, parseMultibootKernel, type BootModule, type MachineExit, type VmExit, type VmmReport, type Vm, TrapVm, HwVm, InterpretVm };
export type { BlockBackend, ByteSink, ByteSource, InputDevice };
export { DEFAULT_RAM, MAX_RAM } from '../hw/platform/board.ts';
export { MemoryDisk } from '../hw/devices/memory-disk.ts';
export { DEFAULT_PROFILE, PROFILES, type Profile, findProfile } from '../vmm/profiles.ts';
export { CPU_MODELS, type CpuModel, DEFAULT_CPU_MODEL, featureNames, findCpuModel } from '../hw/cpu/cpu-model.ts';
export { DEFAULT_SHADOW_PAGES, MIN_RESIDENT_FRAMES, minimumShadowPages } from '../vmm/vm.ts';
export type { ShadowAuditFinding } from '../vmm/shadow/audit.ts';
export { type BackingStore, BackingStoreError, MemoryBackingStore } from '../vmm/memory/backing-store.ts';

/**
 * How the guest is run: on the bare machine, or under the hypervisor — interpreted, deprivileged
 * by trap-and-emulate, or in the CPU's guest mode (hardware assist); the last two with shadow
 * page tables.
 */
export type Mode = 'native' | Technique;
export const MODES: readonly Mode[] = ['native', 'interpret', 'trap', 'hw'];

/** A VM of the given technique. */
function createVm(mode: Technique, params: VmParams): Vm {
  switch (mode) {
    case 'interpret':
      return new InterpretVm(params);
    case 'trap':
      return new TrapVm(params);
    case 'hw':
      return new HwVm(params);
  }
}

/** What booting a kernel needs in every mode. */
export interface BootOptions {
  readonly kernel: Uint8Array;
  /** The kernel's name for messages. */
  readonly kernelName: string;
  /**
   * The kernel's file name as the boot loader puts it before the command line (QEMU passes
   * "<-kernel argument> <-append>"); default kernelName.
   */
  readonly kernelPath?: string;
  readonly cmdline?: string;
  readonly modules?: readonly BootModule[];
  readonly ramBytes?: number;
  /** The primary IDE channel's master and slave (null: none; a slave alone is allowed, as with QEMU's -drive index=1). */
  readonly disks?: readonly (BlockBackend | null)[];
  readonly input?: ByteSource;
  /** Where `input` goes: COM1 (default, as QEMU's -nographic) or the PS/2 keyboard. */
  readonly inputDevice?: InputDevice;
  readonly serial: ByteSink;
  readonly cgaMirror?: (row: number, text: string) => void;
  /** See BoardOptions.waitForInput: lets an idle guest wait for a person at a terminal. */
  readonly waitForInput?: () => boolean;
  /** Stop after this many instructions (default 10 billion). */
  readonly maxInstructions?: number;
  /**
   * Asked about every million guest instructions (and while the guest idles), with the count of
   * instructions run: return a reason to stop the machine there (a 'stopped' exit) — a person
   * quitting, a test's watchdog (ConsoleScript) — or null.
   */
  readonly hostStop?: (instructions: number) => string | null;
  /**
   * The processor (CPUID, MSRs, SYSENTER, RDTSCP; default qemu32) — in every mode: natively the
   * board's CPU, under the hypervisor the vCPU and the real CPU both (parts of the guest run
   * natively on it, so it must be the guest's model).
   */
  readonly cpuModel?: CpuModel;
}

export interface MachineOptions extends BootOptions {
  /** Default 'native'. */
  readonly mode?: Mode;
  /** Cycle costs (hardware, and the VMM's); default nehalem. */
  readonly profile?: Profile;
  /** trap: most host frames the shadow page tables may hold (default DEFAULT_SHADOW_PAGES). */
  readonly shadowPages?: number;
  /** trap: most bytes of guest RAM resident at once; the VMM pages the rest to its backing store. */
  readonly guestMemoryLimit?: number;
  /** trap: where paged-out guest frames go (default: in memory). */
  readonly backingStore?: BackingStore;
  /** Under the hypervisor: called with the VM after it is built and booted, before it runs (e.g. to audit after every exit). */
  readonly onVm?: (vm: Vm) => void;
}

export interface MachineRun {
  readonly mode: Mode;
  /** The cost profile's name. */
  readonly profile: string;
  readonly exit: VmExit;
  /** The process exit status shadowvisor run reports (see exitStatus). */
  readonly status: number;
  /** Guest instructions executed (natively, or on the real CPU plus those the VMM emulated). */
  readonly instructions: number;
  /** Simulated cycles, the VMM's included. */
  readonly cycles: number;
  readonly counters: Record<string, number>;
  /** Exceptions and interrupts delivered to the guest, by vector name. */
  readonly vectors: Record<string, number>;
  /** Interrupt requests raised, by device. */
  readonly interrupts: Record<string, number>;
  /** The CGA text screen at the end (25 lines). */
  readonly screen: readonly string[];
  readonly seconds: number;
  readonly mips: number;
  /** trap: exits, faults, shadow pages and the VMM's work; null natively. */
  readonly vmm: VmmReport | null;
}

export const NO_INPUT: ByteSource = { read: () => -1, ready: () => false };

/** A serial sink that keeps what the guest printed as text, one character per byte (and passes each byte on to `next`). */
export class TextSink implements ByteSink {
  text = '';
  private readonly next: ByteSink | null;

  constructor(next: ByteSink | null = null) {
    this.next = next;
  }

  write(byte: number): void {
    this.text += String.fromCharCode(byte);
    this.next?.write(byte);
  }
}

/**
 * The status of a finished run: the debug-exit port's (value << 1) | 1; 0 after a halt with
 * interrupts off; 124 at the instruction limit; 125 triple fault; 126 halted with nothing left
 * to wake the CPU; 127 an unsupported CPU feature; 128 a reset request; 129 a guest the mode
 * cannot virtualize (the popf problem under trap); 130 the VMM could not go on for the VM (its
 * backing store failed); 0 when the host stopped it (a person quitting, as QEMU's Ctrl-A X).
 */
export function exitStatus(exit: VmExit): number {
  switch (exit.kind) {
    case 'exit':
      return exit.status;
    case 'halted':
      return 0;
    case 'limit':
      return 124;
    case 'triple-fault':
      return 125;
    case 'idle-forever':
      return 126;
    case 'unsupported':
      return 127;
    case 'reset-requested':
      return 128;
    case 'not-virtualizable':
      return 129;
    case 'vmm-failure':
      return 130;
    case 'stopped':
      return 0;
  }
}

/** One line (or, for the popf problem, one paragraph) saying why a run ended, for people. */
export function describeExit(exit: VmExit): string {
  switch (exit.kind) {
    case 'exit':
      return `the guest wrote ${(exit.status - 1) >> 1} to the debug-exit port (status ${exit.status})`;
    case 'halted':
      return 'the guest halted with interrupts disabled';
    case 'limit':
      return `the guest ran ${exit.instructions.toLocaleString('en-US')} instructions without stopping (a runaway guest?); raise --max-instructions to let it run longer`;
    case 'triple-fault':
      return `triple fault (an exception while delivering a double fault; last vector ${exit.vector}): the machine reset`;
    case 'idle-forever':
      return 'the guest halted with interrupts enabled, but no timer or device is left to wake it';
    case 'unsupported':
      return `the guest used ${exit.feature}, which shadowvisor's CPU does not model (eip 0x${exit.eip.toString(16)})`;
    case 'reset-requested':
      return 'the guest asked the keyboard controller to reset the machine';
    case 'not-virtualizable':
      return `this guest cannot be virtualized by trap-and-emulate: ${exit.explanation}`;
    case 'vmm-failure':
      return `the hypervisor stopped the VM: ${exit.message}`;
    case 'stopped':
      return `stopped: ${exit.reason}`;
  }
}

/**
 * Boots `kernel` in the chosen mode and runs it until it stops. Throws MultibootError for bad
 * kernels and RangeError for bad sizes (RAM, shadow page budget).
 */
export function runMachine(options: MachineOptions): MachineRun {
  const image = parseMultibootKernel(options.kernel, options.kernelName);
  const profile = options.profile ?? DEFAULT_PROFILE;
  const chipsetOptions = {
    disks: options.disks ?? [],
    input: options.input ?? NO_INPUT,
    ...(options.inputDevice !== undefined ? { inputDevice: options.inputDevice } : {}),
    serial: options.serial,
    ...(options.cgaMirror !== undefined ? { cgaMirror: options.cgaMirror } : {}),
    ...(options.waitForInput !== undefined ? { waitForInput: options.waitForInput } : {}),
    ...(options.hostStop !== undefined ? { hostStop: options.hostStop } : {}),
    ...(options.cpuModel !== undefined ? { cpuModel: options.cpuModel } : {}),
  };
  const cmdline = options.cmdline ?? '';
  const modules = options.modules ?? [];
  const maxInstructions = options.maxInstructions ?? 10e9;
  const start = Date.now();
  const timed = () => (Date.now() - start) / 1000;
  const mode = options.mode ?? 'native';
  if (mode === 'native') {
    const board = new Board({ ...chipsetOptions, ramBytes: options.ramBytes ?? DEFAULT_RAM, costs: profile.hardware });
    board.chipset.multibootLoaded(bootMultiboot(board.cpu, board.mem, image, options.kernelName, cmdline, modules, options.kernelPath));
    const exit = board.run(maxInstructions);
    const cpu = board.cpu;
    const seconds = timed();
    return {
      mode: 'native',
      profile: profile.name,
      exit,
      status: exitStatus(exit),
      instructions: cpu.instructions,
      cycles: cpu.cycles,
      counters: cpu.counters.snapshot(),
      vectors: cpu.counters.vectors(),
      interrupts: board.interruptsBySource(),
      screen: board.chipset.cga.screen(),
      seconds,
      mips: seconds > 0 ? cpu.instructions / seconds / 1e6 : 0,
      vmm: null,
    };
  }
  const vm = createVm(mode, {
    ...chipsetOptions,
    ramBytes: options.ramBytes ?? DEFAULT_RAM,
    profile,
    ...trapOptions(options),
  });
  vm.boot(image, options.kernelName, cmdline, modules, options.kernelPath);
  options.onVm?.(vm);
  const exit = vm.run(maxInstructions);
  return vmRun(vm, exit, timed());
}

/** The VM options MachineOptions carries for trap mode. */
function trapOptions(options: MachineOptions): { shadowPages?: number; guestMemoryLimit?: number; backingStore?: BackingStore } {
  return {
    ...(options.shadowPages !== undefined ? { shadowPages: options.shadowPages } : {}),
    ...(options.guestMemoryLimit !== undefined ? { guestMemoryLimit: options.guestMemoryLimit } : {}),
    ...(options.backingStore !== undefined ? { backingStore: options.backingStore } : {}),
  };
}

/** A finished VM as a MachineRun. */
function vmRun(vm: Vm, exit: VmExit, seconds: number): MachineRun {
  // The real CPU counted the hardware's events; the vCPU those of the instructions it emulated.
  const counters = vm.realCounters.snapshot();
  if (vm.technique !== 'interpret') for (const [k, n] of Object.entries(vm.vcpu.counters.snapshot())) counters[k] = (counters[k] ?? 0) + n;
  const instructions = vm.instructionsRun;
  return {
    mode: vm.technique,
    profile: vm.profile.name,
    exit,
    status: exitStatus(exit),
    instructions,
    cycles: vm.cyclesRun,
    counters,
    vectors: vm.vcpu.counters.vectors(),
    interrupts: vm.chipset.interruptsBySource(),
    screen: vm.chipset.cga.screen(),
    seconds,
    mips: seconds > 0 ? instructions / seconds / 1e6 : 0,
    vmm: vmmReport(vm),
  };
}

/** One VM of several on one host (runMachines). */
export interface VmOptions extends Omit<MachineOptions, 'mode' | 'profile' | 'waitForInput' | 'onVm' | 'cpuModel'> {
  /** The VM's name (default vm1, vm2, ...). */
  readonly name?: string;
}

export interface MultiMachineOptions {
  /** The VMs, each with the host's processor (cpuModel below). */
  readonly vms: readonly VmOptions[];
  /** The host's processor, and so every VM's (default qemu32). */
  readonly cpuModel?: CpuModel;
  /** The technique every VM runs under (default trap). */
  readonly mode?: Technique;
  readonly profile?: Profile;
  /** Called with each VM after it is built and booted, before any runs. */
  readonly onVm?: (vm: Vm) => void;
  /** Guest instructions a VM runs before the next one's turn (default QUANTUM). */
  readonly quantum?: number;
}

/**
 * Runs several guests at once under the trap-and-emulate VMM, on one host: one pool of host
 * memory, one real CPU shared round robin (vmm/scheduler.ts), each VM with its own pmap, shadows,
 * devices and console. Returns one run per VM, in order; `seconds` is the whole run's wall time.
 */
export function runMachines(options: MultiMachineOptions): MachineRun[] {
  const profile = options.profile ?? DEFAULT_PROFILE;
  const specs = options.vms.map((o, k) => {
    const image = parseMultibootKernel(o.kernel, o.kernelName);
    const vmOptions = {
      disks: o.disks ?? [],
      input: o.input ?? NO_INPUT,
      serial: o.serial,
      ...(o.cgaMirror !== undefined ? { cgaMirror: o.cgaMirror } : {}),
      ramBytes: o.ramBytes ?? DEFAULT_RAM,
      profile,
      cpuModel: options.cpuModel ?? DEFAULT_CPU_MODEL,
      name: o.name ?? `vm${k + 1}`,
      ...trapOptions(o),
    };
    return { o, image, vmOptions };
  });
  const mode = options.mode ?? 'trap';
  const host = new Host(hostBytesFor(specs.reduce((n, s) => n + hostFramesFor(s.vmOptions, mode), 0)), profile, options.cpuModel ?? DEFAULT_CPU_MODEL);
  const start = Date.now();
  const entries: ScheduledVm[] = specs.map(({ o, image, vmOptions }) => {
    const vm = createVm(mode, { ...vmOptions, host });
    vm.boot(image, o.kernelName, o.cmdline ?? '', o.modules ?? [], o.kernelPath);
    options.onVm?.(vm);
    return { vm, maxInstructions: o.maxInstructions ?? 10e9, exit: null };
  });
  runRoundRobin(entries, options.quantum ?? QUANTUM);
  const seconds = (Date.now() - start) / 1000;
  return entries.map((e) => vmRun(e.vm, e.exit!, seconds));
}

/** The slowdown of `run` against `native` (same guest, same profile): 0.05 means 5 % slower. */
export function slowdown(run: MachineRun, native: MachineRun): number {
  return run.cycles / native.cycles - 1;
}

export { LECTURE_HPA, type LectureChange, type LectureStep } from '../vmm/lecture-replay.ts';

/** The lecture replayed (vmm/lecture-replay.ts) on the lecture guest's image, as data. */
export function runLecture(
  kernel: Uint8Array,
  kernelName: string,
  afterEveryExit?: (vm: TrapVm) => void,
): { steps: readonly LectureStep[]; exit: VmExit; status: number; guestOutput: string; vm: TrapVm } {
  const replay = replayLecture(parseMultibootKernel(kernel, kernelName), kernelName, afterEveryExit);
  return { ...replay, status: exitStatus(replay.exit) };
}
