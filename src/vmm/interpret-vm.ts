/**
 * A VM under interpretive execution (engines/interpret.ts): the vCPU interprets the guest; the
 * real CPU is never used for it. Software walks of the guest's tables cost the profile's
 * guestWalkRead each, and every instruction its interpretation cost on top of its own.
 */
import { InterpretEngine } from './engines/interpret.ts';
import { DEFAULT_PROFILE } from './profiles.ts';
import { Vm, type VmOptions } from './vm.ts';

export class InterpretVm extends Vm {
  readonly engine: InterpretEngine;

  constructor(options: VmOptions) {
    const profile = options.profile ?? options.host?.profile ?? DEFAULT_PROFILE;
    super({ ...options, profile }, 'interpret', {
      cacheTranslated: true,
      costs: { ...profile.hardware, walkRead: profile.vmm.guestWalkRead },
      instructionOverhead: profile.vmm.interpretation,
    });
    this.engine = new InterpretEngine(this.vcpu, this.chipset);
    this.attach(this.engine);
  }
}
