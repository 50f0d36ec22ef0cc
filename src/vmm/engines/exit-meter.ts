/**
 * What an exit costs, as every engine that exits counts it (trap, hw): the profile's VMM round
 * trip, plus the VMM's work done during the exit (work.ts), plus the cycles of whatever guest
 * work the VMM did for the guest on the vCPU — an instruction it emulated, an event it delivered
 * in software. The sum goes into the guest's own time (the CPU whose cycles are its clock), so
 * its timers see the VMM's overhead as they would on real hardware.
 */
import type { Cpu, CpuExit, EventSource } from '../../hw/cpu/cpu.ts';
import { type ExitCategoryName, ExitStats } from '../exits.ts';
import type { Profile } from '../profiles.ts';
import type { VmmWork } from '../work.ts';
import { type LastExit, noExit } from './engine.ts';

export class ExitMeter {
  readonly exits = new ExitStats();
  readonly last: LastExit = noExit();
  private readonly clock: Cpu;
  private readonly work: VmmWork;
  private readonly profile: Profile;
  private workAtStart = 0;
  private vcpuCycles = 0;

  constructor(clock: Cpu, work: VmmWork, profile: Profile) {
    this.clock = clock;
    this.work = work;
    this.profile = profile;
  }

  /** An exit starts: the guest was at `eip` (linear) with privilege `cpl` (the guest's own). */
  begin(eip: number, cpl: number): void {
    this.last.eip = eip >>> 0;
    this.last.cpl = cpl;
    this.last.gva = 0;
    this.workAtStart = this.work.cycles(this.profile.vmm);
    this.vcpuCycles = 0;
  }

  /** Emulates the guest's next instruction on the vCPU: one instruction more in the guest's count. */
  step(v: Cpu): CpuExit {
    const instructions = v.instructions;
    const cycles = v.cycles;
    const exit = v.step();
    this.work.emulations++;
    this.clock.instructions += v.instructions - instructions;
    this.vcpuCycles += v.cycles - cycles;
    return exit;
  }

  /** Delivers an event through the guest's IDT on the vCPU (a reflected exception, an injected interrupt). */
  deliver(v: Cpu, vector: number, errorCode: number, source: EventSource, length: number): CpuExit | null {
    const cycles = v.cycles;
    const exit = v.deliver(vector, errorCode, source, length);
    this.work.reflections++;
    this.vcpuCycles += v.cycles - cycles;
    return exit;
  }

  /** Ends the exit: charges its cycles to the guest's time and counts it under its reason. */
  record(category: ExitCategoryName, detail: string): void {
    const vmm = this.profile.vmm;
    const cycles = vmm.exitRoundTrip + (this.work.cycles(vmm) - this.workAtStart) + this.vcpuCycles;
    this.clock.cycles += cycles;
    this.exits.add(category, detail, cycles);
    this.last.category = category;
    this.last.detail = detail;
    this.last.cycles = cycles;
  }
}
