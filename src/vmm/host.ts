/**
 * The host: the physical machine the VMM owns — host-physical memory, who owns each frame, and
 * the one real CPU, in monitor mode. Every VM built on a host takes its frames from the same
 * pool (its guest RAM through its own pmap, its shadows, its descriptor-table shadows), so the
 * frames of different VMs and of the VMM are disjoint by construction and auditable
 * (host-frames.ts). The VMs take turns on the real CPU (scheduler.ts); `current` is the one
 * whose state it holds.
 */
import { Cpu, type PortBus } from '../hw/cpu/cpu.ts';
import { type CpuModel, DEFAULT_CPU_MODEL } from '../hw/cpu/cpu-model.ts';
import { PhysicalMemory } from '../hw/memory/physical-memory.ts';
import { FrameOwner, HostFrames } from './memory/host-frames.ts';
import { DEFAULT_PROFILE, type Profile } from './profiles.ts';

/** The real CPU never does port I/O itself: at ring 1 with IOPL 0 and no TSS every IN/OUT traps. */
const NO_HOST_PORTS: PortBus = {
  read: (port) => {
    throw new Error(`VMM: the real CPU read port 0x${port.toString(16)} (port I/O must trap)`);
  },
  write: (port) => {
    throw new Error(`VMM: the real CPU wrote port 0x${port.toString(16)} (port I/O must trap)`);
  },
};

/** Something whose state can be put on and taken off the real CPU. */
export interface RealCpuTenant {
  switchOut(): void;
  switchIn(): void;
}

export class Host {
  readonly profile: Profile;
  readonly hostMem: PhysicalMemory;
  readonly frames: HostFrames;
  /** The real CPU, in monitor mode: runs guest code at rings 1 and 3 on the shadows. */
  readonly real: Cpu;
  /** The VM whose state the real CPU holds. */
  current: RealCpuTenant | null = null;
  /** Times the real CPU changed from one VM to another. */
  switches = 0;
  /** VMs built on this host so far. */
  vmsCreated = 0;

  /**
   * A host with `bytes` of RAM (whole MiB) and a real CPU of `model` — every trap or hw VM on it
   * has that model, since parts of the guest run natively (vm.ts).
   */
  constructor(bytes: number, profile: Profile = DEFAULT_PROFILE, model: CpuModel = DEFAULT_CPU_MODEL) {
    this.profile = profile;
    this.hostMem = new PhysicalMemory(bytes);
    this.frames = new HostFrames(bytes >>> 12);
    // The real CPU offers the virtualization extension (hw mode); its host save area is a VMM frame.
    this.real = new Cpu(this.hostMem, NO_HOST_PORTS, { monitor: true, costs: profile.hardware, virtualization: true, model });
    // It has a local APIC, enabled and unused by the VMM (its time is simulated): CPUID at ring 1
    // reports it under trap, whatever the guest did to its own (vcpu.ts).
    this.real.hasApic = true;
    this.real.hostSaveArea = this.frames.allocRun(1, FrameOwner.VMM) * 4096;
  }

  /** Puts `tenant`'s state on the real CPU (saving the current one's). */
  switchTo(tenant: RealCpuTenant): void {
    if (this.current === tenant) return;
    if (this.current !== null) {
      this.current.switchOut();
      this.switches++;
    }
    this.current = tenant;
    tenant.switchIn();
  }
}

/** Frames the host itself takes (the real CPU's host save area). */
const HOST_FRAMES = 1;

/** Bytes of host RAM for `frames` frames of VMs, rounded up to whole MiB. */
export function hostBytesFor(frames: number): number {
  return Math.ceil(((frames + HOST_FRAMES) * 4096) / (1 << 20)) * (1 << 20);
}
