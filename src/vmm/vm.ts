/**
 * One virtual machine under trap-and-emulate: its guest-physical address space (a pmap onto host
 * frames, the pager that may move frames to a backing store), its own PC chipset, a vCPU holding
 * what the guest believes is the processor, joined to the host's real CPU by the shadow MMU, the
 * shadow descriptor tables and the trap engine.
 *
 * Host-physical layout (HPA): every frame comes from the host's pool (host.ts) and has an owner
 * (host-frames.ts): the VM's shadow GDT and LDT (16 consecutive frames each, read by the real CPU
 * by physical address), its guest RAM frame by frame, scattered over the host's free frames in a
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
import { Cpu } from '../hw/cpu/cpu.ts';
import { TrapEngine, type VmExit } from './engines/trap.ts';
import { Host, type RealCpuTenant, hostBytesFor } from './host.ts';
import { type BackingStore, BackingStoreError, MemoryBackingStore } from './memory/backing-store.ts';
import { GuestPhysicalMemory } from './memory/guest-memory.ts';
import { FrameOwner } from './memory/host-frames.ts';
import { GuestPager } from './memory/pager.ts';
import { Pmap } from './memory/pmap.ts';
import { DEFAULT_PROFILE, type Profile } from './profiles.ts';
import { type ShadowAuditFinding, auditShadows } from './shadow/audit.ts';
import { TABLE_FRAMES, ShadowDescriptorTable } from './shadow/descriptor-tables.ts';
import { ShadowMmu } from './shadow/shadow-mmu.ts';
import type { ShadowRoleKind } from './shadow/shadow-page.ts';
import { Tracer } from './shadow/tracer.ts';
import { VmmWork } from './work.ts';

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

export interface TrapVmOptions extends ChipsetOptions {
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

function vmSizes(options: TrapVmOptions): VmSizes {
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

/** Host frames a VM with these options needs at most (for sizing a host shared by several VMs). */
export function hostFramesFor(options: TrapVmOptions): number {
  const s = vmSizes(options);
  return s.residentFrames + s.shadowPages + 2 * TABLE_FRAMES;
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

export class TrapVm implements RealCpuTenant {
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
  readonly tracer: Tracer;
  readonly mmu: ShadowMmu;
  readonly gdt: ShadowDescriptorTable;
  readonly ldt: ShadowDescriptorTable;
  readonly engine: TrapEngine;
  /** Why the VM ended when the VMM could not go on (a backing-store failure), or null. */
  failure: string | null = null;
  /** The guest's own time and counters while another VM has the real CPU. */
  private readonly saved = { cycles: 0, instructions: 0, counters: new Counters() };

  constructor(options: TrapVmOptions) {
    const sizes = vmSizes(options);
    const host = options.host ?? new Host(hostBytesFor(hostFramesFor(options)), options.profile ?? DEFAULT_PROFILE);
    this.host = host;
    host.vmsCreated++;
    this.name = options.name ?? `vm${host.vmsCreated}`;
    this.profile = options.profile ?? host.profile;
    this.hostMem = host.hostMem;
    this.frames = host.frames;
    this.real = host.real;
    const real = host.real;
    const layout = options.layout;
    // Set aside until the layout hands them out (only allocAt takes a reserved frame).
    for (const f of layout?.reserved ?? []) {
      if (!this.frames.allocAt(f, FrameOwner.RESERVED)) throw new RangeError(`layout: host frame 0x${f.toString(16)} is not free`);
    }
    const gdtFrame = this.frames.allocRun(TABLE_FRAMES, FrameOwner.VMM);
    const ldtFrame = this.frames.allocRun(TABLE_FRAMES, FrameOwner.VMM);
    if (gdtFrame < 0 || ldtFrame < 0) throw new RangeError(`host memory is too small for VM ${this.name}`);
    const { guestFrames } = sizes;
    this.pmap = new Pmap(guestFrames, this.frames.total);
    const store = options.backingStore ?? (sizes.residentFrames < guestFrames ? new MemoryBackingStore() : null);
    this.pager = new GuestPager({ hostMem: this.hostMem, frames: this.frames, pmap: this.pmap, work: this.work, budget: sizes.residentFrames, store });
    if (layout !== undefined) this.pager.placement = layout.guestFrame;
    if (sizes.residentFrames === guestFrames) this.placeAll(guestFrames, sizes.shadowPages, layout, host.vmsCreated);

    this.guestMem = new GuestPhysicalMemory(this.hostMem, this.pmap, this.pager, options.ramBytes);
    // The VM's devices run on the VM's own time and talk to the trap engine (which needs the
    // chipset, so it comes last: until then the INTR level is only remembered).
    let engine: TrapEngine | null = null;
    let intr = false;
    this.chipset = new PcChipset(
      this.guestMem,
      {
        cycles: () => real.cycles,
        intr: {
          set: (level) => {
            intr = level;
            engine?.setIntr(level);
          },
        },
        requestStop: () => engine?.requestStop(),
        setDeadline: (cycles) => {
          real.deadline = cycles;
        },
      },
      options,
    );
    const vcpu = new Cpu(this.guestMem, this.chipset.ports, { costs: this.profile.hardware });
    vcpu.hasApic = true;
    vcpu.intAck = this.chipset.lapic;
    this.vcpu = vcpu;

    this.tracer = new Tracer(this.guestMem, guestFrames);
    this.mmu = new ShadowMmu({
      hostMem: this.hostMem,
      guestMem: this.guestMem,
      pmap: this.pmap,
      frames: this.frames,
      pager: this.pager,
      tracer: this.tracer,
      real,
      guest: vcpu,
      work: this.work,
      capacity: sizes.shadowPages,
    });
    if (layout !== undefined) this.mmu.placement = layout.shadowFrame;
    const tableParts = { hostMem: this.hostMem, guestMem: this.guestMem, tracer: this.tracer, guest: vcpu, work: this.work };
    this.gdt = new ShadowDescriptorTable(tableParts, gdtFrame);
    this.ldt = new ShadowDescriptorTable(tableParts, ldtFrame);
    this.guestMem.traceHook = (gpa, size, old, value) => {
      this.mmu.onTracedWrite(gpa, size, old, value);
      this.gdt.onTracedWrite(gpa, size);
      this.ldt.onTracedWrite(gpa, size);
    };
    engine = new TrapEngine({ real, vcpu, chipset: this.chipset, mmu: this.mmu, gdt: this.gdt, ldt: this.ldt, work: this.work, profile: this.profile });
    this.engine = engine;
    // The new VM's state is what the real CPU holds from now on: its saved time and counters
    // are still zero, and an engine not yet started puts no registers there.
    host.switchTo(this);
    engine.setIntr(intr);
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
  boot(image: MultibootImage, name: string, cmdline: string, modules: readonly BootModule[]): void {
    this.host.switchTo(this);
    bootMultiboot(this.vcpu, this.guestMem, image, name, cmdline, modules);
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
    const real = this.real;
    this.engine.suspend();
    this.saved.cycles = real.cycles;
    this.saved.instructions = real.instructions;
    this.saved.counters.values.set(real.counters.values);
    this.saved.counters.byVector.set(real.counters.byVector);
  }

  /** Puts the guest's state back on the real CPU: registers, shadows, its own time and counters. */
  switchIn(): void {
    const real = this.real;
    real.cycles = this.saved.cycles;
    real.instructions = this.saved.instructions;
    real.counters.values.set(this.saved.counters.values);
    real.counters.byVector.set(this.saved.counters.byVector);
    this.engine.resume();
  }

  /** Guest instructions the real CPU ran for this VM (and those the VMM emulated). */
  get instructionsRun(): number {
    return this.host.current === this ? this.real.instructions : this.saved.instructions;
  }

  /** Simulated cycles of this VM's own time. */
  get cyclesRun(): number {
    return this.host.current === this ? this.real.cycles : this.saved.cycles;
  }

  /** Real-CPU counters of this VM (the host's, while it runs; its saved ones otherwise). */
  get realCounters(): Counters {
    return this.host.current === this ? this.real.counters : this.saved.counters;
  }

  /** Checks every shadow structure against the guest's tables and the pmap (shadow/audit.ts). */
  checkShadows(): ShadowAuditFinding[] {
    return auditShadows(this);
  }
}
