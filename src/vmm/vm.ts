/**
 * One virtual machine under trap-and-emulate: the host (a real CPU in monitor mode over host-
 * physical memory the VMM owns) and the guest (its physical address space, its own PC chipset,
 * a vCPU holding what the guest believes is the processor), joined by the shadow MMU, the
 * shadow descriptor tables and the trap engine.
 *
 * Host-physical layout (HPA): first the VMM's shadow GDT and LDT (16 frames each, read by the
 * real CPU by physical address), then the guest's RAM frame by frame (GPA -> HPA in the pmap),
 * then free frames for shadow page tables. Every frame has an owner (host-frames.ts), which the
 * audit (shadow/audit.ts) uses to prove that no guest mapping reaches the VMM.
 */
import { Cpu } from '../hw/cpu/cpu.ts';
import type { PortBus } from '../hw/cpu/cpu.ts';
import { PhysicalMemory } from '../hw/memory/physical-memory.ts';
import { type ChipsetOptions, PcChipset, checkRamSize } from '../hw/platform/chipset.ts';
import { type BootModule, type MultibootImage, bootMultiboot } from '../hw/platform/multiboot.ts';
import { TrapEngine, type VmExit } from './engines/trap.ts';
import { GuestPhysicalMemory } from './memory/guest-memory.ts';
import { FrameOwner, HostFrames } from './memory/host-frames.ts';
import { Pmap } from './memory/pmap.ts';
import { DEFAULT_PROFILE, type Profile } from './profiles.ts';
import { type ShadowAuditFinding, auditShadows } from './shadow/audit.ts';
import { TABLE_FRAMES, ShadowDescriptorTable } from './shadow/descriptor-tables.ts';
import { ShadowMmu } from './shadow/shadow-mmu.ts';
import { Tracer } from './shadow/tracer.ts';
import { VmmWork } from './work.ts';

/** Default budget of host frames for shadow page tables (16 MiB). */
export const DEFAULT_SHADOW_PAGES = 4096;

export interface TrapVmOptions extends ChipsetOptions {
  /** Guest RAM in bytes (the PC's rules: whole MiB, 2 MiB to 1 GiB). */
  readonly ramBytes: number;
  readonly profile?: Profile;
  /** Most host frames the shadow page tables may hold at once (default DEFAULT_SHADOW_PAGES). */
  readonly shadowPages?: number;
}

/** The real CPU never does port I/O itself: at ring 1 with IOPL 0 and no TSS every IN/OUT traps. */
const NO_HOST_PORTS: PortBus = {
  read: (port) => {
    throw new Error(`VMM: the real CPU read port 0x${port.toString(16)} (port I/O must trap)`);
  },
  write: (port) => {
    throw new Error(`VMM: the real CPU wrote port 0x${port.toString(16)} (port I/O must trap)`);
  },
};

export class TrapVm {
  readonly profile: Profile;
  readonly hostMem: PhysicalMemory;
  readonly frames: HostFrames;
  /** The real CPU, in monitor mode: runs guest code at rings 1 and 3 on the shadows. */
  readonly real: Cpu;
  readonly pmap: Pmap;
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

  constructor(options: TrapVmOptions) {
    const ram = options.ramBytes;
    checkRamSize(ram);
    this.profile = options.profile ?? DEFAULT_PROFILE;
    const guestFrames = ram >>> 12;
    const physTables = Math.ceil(guestFrames / 1024) + 1;
    const shadowPages = options.shadowPages ?? DEFAULT_SHADOW_PAGES;
    if (!Number.isInteger(shadowPages) || shadowPages < physTables + 8) {
      throw new RangeError(`the shadow page budget must be at least ${physTables + 8} pages for ${ram >>> 20} MiB of guest RAM, got ${shadowPages}`);
    }
    const vmmFrames = 2 * TABLE_FRAMES;
    const hostBytes = Math.ceil(((guestFrames + shadowPages + vmmFrames) * 4096) / (1 << 20)) * (1 << 20);
    this.hostMem = new PhysicalMemory(hostBytes);
    this.frames = new HostFrames(hostBytes >>> 12);
    const gdtFrame = this.frames.allocRun(TABLE_FRAMES, FrameOwner.VMM);
    const ldtFrame = this.frames.allocRun(TABLE_FRAMES, FrameOwner.VMM);
    this.pmap = new Pmap(guestFrames, this.frames.total);
    for (let gfn = 0; gfn < guestFrames; gfn++) this.pmap.map(gfn, this.frames.alloc(FrameOwner.GUEST));

    const real = new Cpu(this.hostMem, NO_HOST_PORTS, { monitor: true, costs: this.profile.hardware });
    real.hasApic = true;
    this.real = real;
    this.guestMem = new GuestPhysicalMemory(this.hostMem, this.pmap, ram);
    // The VM's devices run on the host's simulated time and talk to the trap engine (which
    // needs the chipset, so it comes last: until then the INTR level is only remembered).
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
      tracer: this.tracer,
      real,
      guest: vcpu,
      work: this.work,
      capacity: shadowPages,
    });
    const tableParts = { hostMem: this.hostMem, guestMem: this.guestMem, tracer: this.tracer, guest: vcpu, work: this.work };
    this.gdt = new ShadowDescriptorTable(tableParts, gdtFrame);
    this.ldt = new ShadowDescriptorTable(tableParts, ldtFrame);
    this.guestMem.traceHook = (gpa, size, old, value) => {
      this.mmu.onTracedWrite(gpa, size, old, value);
      this.gdt.onTracedWrite(gpa, size);
      this.ldt.onTracedWrite(gpa, size);
    };
    engine = new TrapEngine({ real, vcpu, chipset: this.chipset, mmu: this.mmu, gdt: this.gdt, ldt: this.ldt, work: this.work, profile: this.profile });
    engine.setIntr(intr);
    this.engine = engine;
  }

  /** Loads a multiboot kernel into guest memory as QEMU's -kernel does, and readies the guest to run. */
  boot(image: MultibootImage, name: string, cmdline: string, modules: readonly BootModule[]): void {
    bootMultiboot(this.vcpu, this.guestMem, image, name, cmdline, modules);
    this.engine.start();
    // Building the first shadows (the physical-mode table, the boot GDT's copy) is part of
    // creating the VM, before the guest's time starts, like loading its kernel: not charged.
    this.work.reset();
  }

  /** Runs the guest until it stops or the real CPU has run `maxInstructions` instructions. */
  run(maxInstructions: number): VmExit {
    const exit = this.engine.run(maxInstructions);
    this.chipset.finish();
    return exit;
  }

  /** Checks every shadow structure against the guest's tables and the pmap (shadow/audit.ts). */
  checkShadows(): ShadowAuditFinding[] {
    return auditShadows(this);
  }
}
