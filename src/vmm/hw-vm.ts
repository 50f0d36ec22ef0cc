/**
 * A VM under hardware assistance (engines/hw.ts): the guest runs in the real CPU's guest mode
 * under a VMCB in a host frame of the VMM's, with I/O and MSR permission maps; its memory is
 * virtualized by shadow page tables, as first-generation AMD-V and VT-x required. No shadow
 * descriptor tables: in guest mode the CPU reads the guest's own GDT, LDT, IDT and TSS through
 * the shadows, at the guest's own privilege levels.
 */
import { HwEngine, VmcbPaging } from './engines/hw.ts';
import { type ShadowAuditFinding, auditShadows } from './shadow/audit.ts';
import type { ShadowDescriptorTable } from './shadow/descriptor-tables.ts';
import type { ShadowMmu } from './shadow/shadow-mmu.ts';
import type { Tracer } from './shadow/tracer.ts';
import { Vm, type VmOptions, shadowPaging } from './vm.ts';

export class HwVm extends Vm {
  readonly tracer: Tracer;
  readonly mmu: ShadowMmu;
  readonly engine: HwEngine;
  /** Host-physical addresses of the VMCB and the I/O and MSR permission maps. */
  readonly vmcbAddress: number;
  readonly iopmAddress: number;
  readonly msrpmAddress: number;
  private readonly paging: VmcbPaging;
  readonly descriptorTables: readonly ShadowDescriptorTable[] = [];

  constructor(options: VmOptions) {
    super(options, 'hw');
    const [vmcbFrame, iopmFrame, msrpmFrame] = this.vmmFrames as [number, number, number];
    this.vmcbAddress = vmcbFrame * 4096;
    this.iopmAddress = iopmFrame * 4096;
    this.msrpmAddress = msrpmFrame * 4096;
    this.paging = new VmcbPaging(this.real, this.hostMem, this.vmcbAddress);
    const { tracer, mmu } = shadowPaging(this, options.shadowPages, this.paging);
    this.tracer = tracer;
    this.mmu = mmu;
    if (options.layout !== undefined) mmu.placement = options.layout.shadowFrame;
    this.guestMem.traceHook = (gpa, size, old, value) => mmu.onTracedWrite(gpa, size, old, value);
    this.engine = new HwEngine({
      real: this.real,
      vcpu: this.vcpu,
      chipset: this.chipset,
      mmu,
      paging: this.paging,
      work: this.work,
      profile: this.profile,
      hostMem: this.hostMem,
      vmcb: this.vmcbAddress,
      iopm: this.iopmAddress,
      msrpm: this.msrpmAddress,
      asid: this.host.vmsCreated,
    });
    this.attach(this.engine);
  }

  /** The CR3 the guest runs on (the VMCB's). */
  get realCr3(): number {
    return this.paging.root;
  }

  /** Checks every shadow structure against the guest's tables and the pmap (shadow/audit.ts). */
  override checkShadows(): ShadowAuditFinding[] {
    return auditShadows(this);
  }
}
