/**
 * One virtual machine, whatever the technique that runs it (trap-vm.ts, hw-vm.ts,
 * interpret-vm.ts): its guest-physical address space (a pmap onto host frames, the pager that may
 * move frames to a backing store), its own PC chipset, a vCPU holding what the guest believes is
 * the processor, and the technique's engine.
 *
 * Host-physical layout (HPA): every frame comes from the host's pool (host.ts) and has an owner
 * (host-frames.ts): the technique's own structures (trap: the shadow GDT and LDT, 16 consecutive
 * frames each, and the real CPU's TSS, read by the real CPU by physical address; hw: the VMCB, the
 * I/O permission map and the MSR permission map), allocated first, from the top; its guest RAM frame by frame, scattered over the host's free frames in a
 * fixed pseudo-random order (GPA -> HPA in the pmap: neighbours in the guest are not neighbours
 * in the host), and its shadow page tables as they are built. With a guest memory limit below
 * its RAM the VM starts with no frames at all: each is backed on first use and the pager keeps
 * at most the limit resident. The audit (shadow/audit.ts) uses the owners to prove that no guest
 * mapping reaches the VMM or another VM.
 */
import type { ChipsetOptions } from '../hw/platform/chipset.ts';
import { PcChipset, checkRamSize } from '../hw/platform/chipset.ts';
import { Counters } from '../hw/cpu/counters.ts';
import { type BootModule, type MultibootImage, bootMultiboot } from '../hw/platform/multiboot.ts';
import { Cpu, type CpuOptions } from '../hw/cpu/cpu.ts';
import { DEFAULT_CPU_MODEL } from '../hw/cpu/cpu-model.ts';
import type { VmEngine, VmExit } from './engines/engine.ts';
import { Host, type RealCpuTenant, hostBytesFor } from './host.ts';
import { type BackingStore, BackingStoreError, MemoryBackingStore } from './memory/backing-store.ts';
import { GuestPhysicalMemory } from './memory/guest-memory.ts';
import { FrameOwner } from './memory/host-frames.ts';
import { GuestPager } from './memory/pager.ts';
import { Pmap } from './memory/pmap.ts';
import { DEFAULT_PROFILE, type Profile } from './profiles.ts';
import type { ShadowAuditFinding } from './shadow/audit.ts';
import type { ShadowRoleKind } from './shadow/shadow-page.ts';
import { type RealPaging, ShadowMmu } from './shadow/shadow-mmu.ts';
import { Tracer } from './shadow/tracer.ts';
import { VmmWork } from './work.ts';

/** How a VM's CPU is virtualized (ARCHITECTURE.md, the modes). */
export type Technique = 'interpret' | 'trap' | 'hw';

/** Default budget of host frames for shadow page tables (16 MiB). */
export const DEFAULT_SHADOW_PAGES = 4096;

/** Fewest guest frames the pager may keep resident (an instruction and its tables must fit, many times over). */
export const MIN_RESIDENT_FRAMES = 64;

/** The smallest shadow page budget for `ramBytes` of guest RAM: the physical-mode table, or a directory and a few tables. */
export function minimumShadowPages(ramBytes: number): number {
  return Math.max(Math.ceil((ramBytes >>> 12) / 1024) + 1, 8);
}

/** Fixed placement of a VM's frames (the lecture replay puts them at the lecture's HPAs). */
export interface VmLayout {
  /** Host frames kept free until the layout hands them out (reserved before anything is placed). */
  readonly reserved: readonly number[];
  /** Host frame for guest frame `gfn` (initially and on page-in), or -1 for any. */
  readonly guestFrame: (gfn: number) => number;
  /** Host frame for a new shadow page, or -1 for any. */
  readonly shadowFrame: (role: ShadowRoleKind, gfn: number) => number;
}

export interface VmOptions extends ChipsetOptions {
  /** Guest RAM in bytes (the PC's rules: whole MiB, 2 MiB to 1 GiB). */
  readonly ramBytes: number;
  /** The VM's name in messages and consoles. */
  readonly name?: string;
  readonly profile?: Profile;
  /** Most host frames the shadow page tables may hold at once (default DEFAULT_SHADOW_PAGES). */
  readonly shadowPages?: number;
  /** Most bytes of guest RAM resident in host memory at once (default: all of it). */
  readonly guestMemoryLimit?: number;
  /** Where the pager puts guest frames (default: in memory). */
  readonly backingStore?: BackingStore;
  /** The machine to run on (default: one of its own, just big enough). */
  readonly host?: Host;
  readonly layout?: VmLayout;
}

/** Validated sizes of a VM, in frames. */
interface VmSizes {
  readonly guestFrames: number;
  readonly shadowPages: number;
  readonly residentFrames: number;
}

function vmSizes(options: VmOptions): VmSizes {
  const ram = options.ramBytes;
  checkRamSize(ram);
  const guestFrames = ram >>> 12;
  const shadowPages = options.shadowPages ?? DEFAULT_SHADOW_PAGES;
  const minimum = minimumShadowPages(ram);
  if (!Number.isInteger(shadowPages) || shadowPages < minimum) {
    throw new RangeError(`the shadow page budget must be at least ${minimum} pages for ${ram >>> 20} MiB of guest RAM, got ${shadowPages}`);
  }
  const limit = options.guestMemoryLimit ?? ram;
  if (!Number.isInteger(limit) || limit % 4096 !== 0 || limit < MIN_RESIDENT_FRAMES * 4096) {
    throw new RangeError(`the guest memory limit must be a whole number of 4 KiB pages, at least ${MIN_RESIDENT_FRAMES * 4} KiB, got ${limit} bytes`);
  }
  return { guestFrames, shadowPages, residentFrames: Math.min(guestFrames, limit >>> 12) };
}

/** Runs of consecutive host frames each technique's own structures take (trap: shadow GDT and LDT, the real TSS; hw: VMCB, I/O and MSR permission maps). */
export const VMM_RUNS: Readonly<Record<Technique, readonly number[]>> = { interpret: [], trap: [16, 16, 1], hw: [1, 3, 2] };

/** Host frames a VM with these options needs at most (for sizing a host shared by several VMs). */
export function hostFramesFor(options: VmOptions, technique: Technique): number {
  const s = vmSizes(options);
  const shadows = technique === 'interpret' ? 0 : s.shadowPages;
  return s.residentFrames + shadows + VMM_RUNS[technique].reduce((a, b) => a + b, 0);
}

/** A deterministic shuffle (xorshift32), so that GPA -> HPA is visibly not contiguous. */
function scatter(frames: number[], seed: number): number[] {
  let x = seed | 1;
  for (let i = frames.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [frames[i], frames[j]] = [frames[j]!, frames[i]!];
  }
  return frames;
}

/**
 * What every technique's VM has. A subclass builds its engine and hands it to attach(); until
 * then the guest's interrupt line is only remembered.
 */
export abstract class Vm implements RealCpuTenant {
  readonly technique: Technique;
  readonly name: string;
  readonly host: Host;
  readonly profile: Profile;
  readonly hostMem: Host['hostMem'];
  readonly frames: Host['frames'];
  /** The host's real CPU (shared with the host's other VMs). */
  readonly real: Cpu;
  readonly pmap: Pmap;
  readonly pager: GuestPager;
  readonly guestMem: GuestPhysicalMemory;
  readonly chipset: PcChipset;
  /** The guest's processor as the guest sees it. */
  readonly vcpu: Cpu;
  readonly work = new VmmWork();
  /** First host frame of each of the technique's runs (VMM_RUNS). */
  protected readonly vmmFrames: readonly number[];
  /** Why the VM ended when the VMM could not go on (a backing-store failure), or null. */
  failure: string | null = null;
  abstract readonly engine: VmEngine;
  /** The CPU whose time and counts are the guest's (the real CPU, or the interpreter's vCPU). */
  protected readonly clock: Cpu;
  /** Checks the VMM's shadow structures against the guest's tables and the pmap (shadow/audit.ts); none to check without shadow paging. */
  checkShadows(): ShadowAuditFinding[] {
    return [];
  }

  /** Host frames the technique's own structures take (VMM_RUNS). */
  get vmmFrameCount(): number {
    return VMM_RUNS[this.technique].reduce((a, b) => a + b, 0);
  }

  /** The guest's own time and counters while another VM has the real CPU. */
  private readonly saved = { cycles: 0, instructions: 0, counters: new Counters() };
  private intrLevel = false;
  /** An NMI raised before the engine was attached. */
  private nmiEarly = false;
  private attached: VmEngine | null = null;

  protected constructor(options: VmOptions, technique: Technique, vcpuOptions: CpuOptions = {}) {
    const sizes = vmSizes(options);
    this.technique = technique;
    const model = options.cpuModel ?? DEFAULT_CPU_MODEL;
    const host = options.host ?? new Host(hostBytesFor(hostFramesFor(options, technique)), options.profile ?? DEFAULT_PROFILE, model);
    // Trap: CPUID, RDTSCP and SYSENTER run natively at ring 1 and 3; hw: SYSENTER, SYSEXIT and
    // RDTSCP run natively in guest mode. The real CPU must be the guest's model.
    if (technique !== 'interpret' && host.real.model !== model) {
      throw new RangeError(`a ${technique} VM of CPU model ${model.name} needs a host CPU of that model; this host's is ${host.real.model.name}`);
    }
    this.host = host;
    host.vmsCreated++;
    this.name = options.name ?? `vm${host.vmsCreated}`;
    this.profile = options.profile ?? host.profile;
    this.hostMem = host.hostMem;
    this.frames = host.frames;
    this.real = host.real;
    const layout = options.layout;
    // Set aside until the layout hands them out (only allocAt takes a reserved frame).
    for (const f of layout?.reserved ?? []) {
      if (!this.frames.allocAt(f, FrameOwner.RESERVED)) throw new RangeError(`layout: host frame 0x${f.toString(16)} is not free`);
    }
    this.vmmFrames = VMM_RUNS[technique].map((n) => {
      const first = this.frames.allocRun(n, FrameOwner.VMM);
      if (first < 0) throw new RangeError(`host memory is too small for VM ${this.name}`);
      return first;
    });
    const { guestFrames } = sizes;
    this.pmap = new Pmap(guestFrames, this.frames.total);
    const store = options.backingStore ?? (sizes.residentFrames < guestFrames ? new MemoryBackingStore() : null);
    this.pager = new GuestPager({ hostMem: this.hostMem, frames: this.frames, pmap: this.pmap, work: this.work, budget: sizes.residentFrames, store });
    if (layout !== undefined) this.pager.placement = layout.guestFrame;
    const shadowPages = technique === 'interpret' ? 0 : sizes.shadowPages;
    if (sizes.residentFrames === guestFrames) this.placeAll(guestFrames, shadowPages, layout, host.vmsCreated);

    this.guestMem = new GuestPhysicalMemory(this.hostMem, this.pmap, this.pager, options.ramBytes);
    const vcpu = new Cpu(this.guestMem, { read: () => 0, write: () => {} }, { costs: this.profile.hardware, model, ...vcpuOptions });
    this.vcpu = vcpu;
    const clock = technique === 'interpret' ? vcpu : this.real;
    this.clock = clock;
    // The VM's devices run on the VM's own time and talk to the engine.
    this.chipset = new PcChipset(
      this.guestMem,
      {
        cycles: () => clock.cycles,
        intr: {
          set: (level) => {
            this.intrLevel = level;
            this.attached?.setIntr(level);
          },
        },
        nmi: () => {
          if (this.attached === null) this.nmiEarly = true;
          else this.attached.raiseNmi();
        },
        requestStop: () => this.attached?.requestStop(),
        setDeadline: (cycles) => {
          clock.deadline = cycles;
        },
        // The guest's x87 error signals are the VM's: the vCPU drives FERR# into the VM's chipset,
        // and the VMM emulates the instruction that raises it (trap, hw: the real CPU runs with CR0.NE=1).
        ignne: {
          set: (level) => {
            vcpu.fpu.ignne = level;
          },
        },
      },
      options,
    );
    vcpu.io = this.chipset.ports;
    vcpu.hasApic = true;
    vcpu.intAck = this.chipset.lapic;
    vcpu.fpu.ferr = this.chipset.fpuError.ferr;
    const lapic = this.chipset.lapic;
    // The guest's IA32_APIC_BASE (in its vCPU) hides or shows its own local APIC.
    vcpu.onApicEnable = (enabled) => lapic.setGlobalEnable(enabled);
  }

  /**
   * The subclass's engine is built: the new VM's state is what the real CPU holds from now on
   * (its saved time and counters are still zero, and an engine not yet started puts no
   * registers there).
   */
  protected attach(engine: VmEngine): void {
    this.attached = engine;
    this.host.switchTo(this);
    engine.setIntr(this.intrLevel);
    if (this.nmiEarly) engine.raiseNmi();
    this.nmiEarly = false;
  }

  /**
   * Backs every guest frame at once, scattered over this VM's share of the host's free frames
   * (the lowest ones, as many as its guest frames and shadow budget), or where the layout says.
   */
  private placeAll(guestFrames: number, shadowPages: number, layout: VmLayout | undefined, seed: number): void {
    const fixed = new Set<number>();
    if (layout !== undefined) {
      for (let gfn = 0; gfn < guestFrames; gfn++) {
        const hfn = layout.guestFrame(gfn);
        if (hfn < 0) continue;
        if (!this.frames.allocAt(hfn, FrameOwner.GUEST)) throw new RangeError(`layout: host frame 0x${hfn.toString(16)} is taken`);
        this.pager.place(gfn, hfn);
        fixed.add(gfn);
      }
    }
    const free = scatter(this.frames.freeFrames().slice(0, guestFrames + shadowPages), 0x5eed + seed);
    let k = 0;
    for (let gfn = 0; gfn < guestFrames; gfn++) {
      if (fixed.has(gfn)) continue;
      const hfn = free[k++];
      if (hfn === undefined || !this.frames.allocAt(hfn, FrameOwner.GUEST)) throw new RangeError(`host memory is too small for VM ${this.name}`);
      this.pager.place(gfn, hfn);
    }
  }

  /** Loads a multiboot kernel into guest memory as QEMU's -kernel does, and readies the guest to run. */
  boot(image: MultibootImage, name: string, cmdline: string, modules: readonly BootModule[], path = name): void {
    this.host.switchTo(this);
    this.chipset.multibootLoaded(bootMultiboot(this.vcpu, this.guestMem, image, name, cmdline, modules, path));
    this.engine.start();
    // Building the first shadows (the physical-mode table, the boot GDT's copy) is part of
    // creating the VM, before the guest's time starts, like loading its kernel: not charged.
    this.work.reset();
  }

  /**
   * Runs the guest until it stops or has run `maxInstructions` instructions in all (its own
   * count). A backing-store failure ends the VM with its message; its memory stays as it was.
   */
  run(maxInstructions: number): VmExit {
    if (this.failure !== null) return { kind: 'vmm-failure', message: this.failure };
    this.host.switchTo(this);
    let exit: VmExit;
    try {
      exit = this.engine.run(maxInstructions);
    } catch (e) {
      if (!(e instanceof BackingStoreError)) throw e;
      this.failure = `VM ${this.name}: ${e.message}`;
      exit = { kind: 'vmm-failure', message: this.failure };
    }
    this.chipset.finish();
    return exit;
  }

  /** Takes the guest's state off the real CPU (another VM is about to run). */
  switchOut(): void {
    if (this.clock !== this.real) return;
    const real = this.real;
    this.engine.suspend();
    this.saved.cycles = real.cycles;
    this.saved.instructions = real.instructions;
    this.saved.counters.values.set(real.counters.values);
    this.saved.counters.byVector.set(real.counters.byVector);
  }

  /** Puts the guest's state back on the real CPU: registers, shadows, its own time and counters. */
  switchIn(): void {
    if (this.clock !== this.real) return;
    const real = this.real;
    real.cycles = this.saved.cycles;
    real.instructions = this.saved.instructions;
    real.counters.values.set(this.saved.counters.values);
    real.counters.byVector.set(this.saved.counters.byVector);
    this.engine.resume();
  }

  private get onClock(): boolean {
    return this.clock !== this.real || this.host.current === this;
  }

  /** Guest instructions run for this VM (by the real CPU, emulated or interpreted by the VMM). */
  get instructionsRun(): number {
    return this.onClock ? this.clock.instructions : this.saved.instructions;
  }

  /** Simulated cycles of this VM's own time. */
  get cyclesRun(): number {
    return this.onClock ? this.clock.cycles : this.saved.cycles;
  }

  /** Counters of the CPU that ran the guest (the real CPU's for this VM, or the interpreter's). */
  get realCounters(): Counters {
    return this.onClock ? this.clock.counters : this.saved.counters;
  }
}

/** The shadow MMU and tracer of a VM whose memory is virtualized by shadow paging (trap, hw). */
export function shadowPaging(vm: Vm, capacity: number | undefined, real: RealPaging): { tracer: Tracer; mmu: ShadowMmu } {
  const tracer = new Tracer(vm.guestMem, vm.pmap.guestFrames);
  const mmu = new ShadowMmu({
    hostMem: vm.hostMem,
    guestMem: vm.guestMem,
    pmap: vm.pmap,
    frames: vm.frames,
    pager: vm.pager,
    tracer,
    real,
    guest: vm.vcpu,
    work: vm.work,
    capacity: capacity ?? DEFAULT_SHADOW_PAGES,
  });
  return { tracer, mmu };
}
