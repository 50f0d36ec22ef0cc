/**
 * A VM under trap-and-emulate (engines/trap.ts): the guest kernel runs deprivileged at ring 1 on
 * the host's real CPU in monitor mode, over the shadow page tables (shadow/shadow-mmu.ts) and
 * shadow copies of its GDT and LDT (shadow/descriptor-tables.ts), which the real CPU reads by
 * host-physical address, with a TSS of the VMM's own (vcpu.ts, realTssInit).
 */
import { TrapEngine } from './engines/trap.ts';
import { type ShadowAuditFinding, auditShadows } from './shadow/audit.ts';
import { ShadowDescriptorTable } from './shadow/descriptor-tables.ts';
import type { ShadowMmu } from './shadow/shadow-mmu.ts';
import type { Tracer } from './shadow/tracer.ts';
import { realTssInit } from './vcpu.ts';
import { Vm, type VmOptions, shadowPaging } from './vm.ts';

export class TrapVm extends Vm {
  readonly tracer: Tracer;
  readonly mmu: ShadowMmu;
  readonly gdt: ShadowDescriptorTable;
  readonly ldt: ShadowDescriptorTable;
  readonly engine: TrapEngine;

  constructor(options: VmOptions) {
    super(options, 'trap');
    const { tracer, mmu } = shadowPaging(this, options.shadowPages, this.real);
    this.tracer = tracer;
    this.mmu = mmu;
    if (options.layout !== undefined) mmu.placement = options.layout.shadowFrame;
    const [gdtFrame, ldtFrame, tssFrame] = this.vmmFrames as [number, number, number];
    realTssInit(this.hostMem, tssFrame * 4096);
    const tableParts = { hostMem: this.hostMem, guestMem: this.guestMem, tracer, guest: this.vcpu, work: this.work };
    this.gdt = new ShadowDescriptorTable(tableParts, gdtFrame);
    this.ldt = new ShadowDescriptorTable(tableParts, ldtFrame);
    this.guestMem.traceHook = (gpa, size, old, value) => {
      mmu.onTracedWrite(gpa, size, old, value);
      this.gdt.onTracedWrite(gpa, size);
      this.ldt.onTracedWrite(gpa, size);
    };
    this.engine = new TrapEngine({ real: this.real, vcpu: this.vcpu, guestMem: this.guestMem, chipset: this.chipset, mmu, gdt: this.gdt, ldt: this.ldt, tss: tssFrame * 4096, work: this.work, profile: this.profile });
    this.attach(this.engine);
  }

  get realCr3(): number {
    return this.real.cr3;
  }

  get descriptorTables(): readonly ShadowDescriptorTable[] {
    return [this.gdt, this.ldt];
  }

  /** Checks every shadow structure against the guest's tables and the pmap (shadow/audit.ts). */
  override checkShadows(): ShadowAuditFinding[] {
    return auditShadows(this);
  }
}
