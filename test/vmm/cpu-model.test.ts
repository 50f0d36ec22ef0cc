/**
 * The CPU model under the hypervisor: MSRs are the guest's own — its writes of the TSC,
 * IA32_TSC_AUX, the SYSENTER MSRs and IA32_APIC_BASE take effect for it in every mode and never
 * reach the real CPU's MSRs (trap: RDMSR/WRMSR trap and the vCPU executes them; RDTSC and RDTSCP
 * trap once the guest's TSC is its own; hw: the MSR permission map, TSC_OFFSET, the SYSENTER MSRs
 * in the VMCB, IA32_TSC_AUX loaded around VMRUN). And what trap-and-emulate cannot hide: CPUID
 * runs natively at ring 1, so a guest that disables its local APIC still sees CPUID's APIC flag.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PROFILE, HwVm, InterpretVm, MODES, type Mode, NO_INPUT, TrapVm, type Vm, findCpuModel } from '../../src/api/index.ts';
import { Host } from '../../src/vmm/host.ts';
import { runGuest } from '../machine/boot.ts';
import { kernelFile } from '../machine/fixtures.ts';

const MAX = findCpuModel('max')!;

/** Disables the local APIC through IA32_APIC_BASE, looks, enables it again, looks; the findings are the exit code. */
const APIC_GUEST = kernelFile(
  'apic-base.elf',
  `
    mov $0x1b, %ecx
    rdmsr
    and $~0x800, %eax
    wrmsr
    xor %esi, %esi
    mov $1, %eax
    cpuid
    shr $9, %edx
    and $1, %edx
    or %edx, %esi               # bit 0: CPUID.1:EDX.APIC while disabled
    cmpl $0xffffffff, 0xfee00030
    jne 1f
    or $2, %esi                 # bit 1: the APIC's window reads all ones
1:  mov $0x1b, %ecx
    rdmsr
    or $0x800, %eax
    wrmsr
    mov $1, %eax
    cpuid
    shr $9, %edx
    and $1, %edx
    shl $2, %edx
    or %edx, %esi               # bit 2: CPUID.1:EDX.APIC enabled again
    mov 0xfee00030, %eax
    cmp $0x14, %al
    jne 2f
    or $8, %esi                 # bit 3: the version register answers again
2:  mov %esi, %eax
    out %al, $0xf4
    hlt`,
);

/** Writes the TSC, IA32_TSC_AUX and the SYSENTER MSRs, then reads them back through RDTSC, RDTSCP and RDMSR. */
const MSR_GUEST = kernelFile(
  'own-msrs.elf',
  `
    mov $0x10, %ecx
    xor %eax, %eax
    mov $0x1234, %edx
    wrmsr
    mov $0xc0000103, %ecx
    mov $5, %eax
    xor %edx, %edx
    wrmsr
    mov $0x174, %ecx
    mov $0x08, %eax
    wrmsr
    mov $0x175, %ecx
    mov $0x7000, %eax
    wrmsr
    mov $0x176, %ecx
    mov $entered, %eax
    wrmsr
    xor %esi, %esi
    rdtsc
    cmp $0x1234, %edx
    jne 1f
    or $1, %esi                 # bit 0: RDTSC counts from the value written
1:  rdtscp
    cmp $5, %ecx
    jne 2f
    or $2, %esi                 # bit 1: RDTSCP reads IA32_TSC_AUX
2:  mov $0x176, %ecx
    rdmsr
    cmp $entered, %eax
    jne 3f
    or $4, %esi                 # bit 2: RDMSR reads IA32_SYSENTER_EIP back
3:  sysenter
    hlt
entered:
    cmp $0x7000, %esp
    jne 4f
    or $8, %esi                 # bit 3: SYSENTER used the guest's MSRs
4:  mov %esi, %eax
    out %al, $0xf4
    hlt`,
);

describe('the guest owns its MSRs, in every mode', () => {
  for (const mode of MODES) {
    it(`${mode}: TSC, TSC_AUX, SYSENTER MSRs take effect for the guest${mode === 'trap' || mode === 'hw' ? ', never in the real CPU' : ''}`, () => {
      let vm: Vm | null = null;
      const run = runGuest(MSR_GUEST, { mode, cpuModel: MAX, onVm: (v) => (vm = v) });
      assert.deepEqual(run.exit, { kind: 'exit', status: (15 << 1) | 1 });
      if (mode === 'trap' || mode === 'hw') {
        const real = (vm as Vm | null)!.real;
        assert.deepEqual(
          [real.msr.tscOffsetLo, real.msr.tscOffsetHi, real.msr.tscAux, real.msr.sysenterCs, real.msr.sysenterEsp, real.msr.sysenterEip, real.msr.apicBase >>> 0],
          [0, 0, 0, 0, 0, 0, 0xfee00900],
        );
        const reasons = run.vmm!.exits.reasons.map((r) => r.detail);
        assert.ok(reasons.includes('wrmsr') && reasons.includes('rdmsr'), 'RDMSR and WRMSR exit');
        if (mode === 'trap') {
          assert.ok(reasons.includes('rdtsc') && reasons.includes('rdtscp'), 'RDTSC and RDTSCP trap once the guest has its own TSC');
          assert.ok(reasons.includes('sysenter'), 'SYSENTER traps (the real IA32_SYSENTER_CS is 0)');
        } else assert.ok(!reasons.includes('rdtsc') && !reasons.includes('sysenter'), 'hw: they run in guest mode');
      }
    });
  }
});

describe("IA32_APIC_BASE.EN and CPUID's APIC flag", () => {
  const expected: Record<Mode, number> = { native: 0b1110, interpret: 0b1110, hw: 0b1110, trap: 0b1111 };
  for (const mode of MODES) {
    it(`${mode}: the APIC disappears and comes back${mode === 'trap' ? "; CPUID, answered by the real CPU, keeps the flag (a known leak)" : ', and CPUID says so'}`, () => {
      const run = runGuest(APIC_GUEST, { mode });
      assert.deepEqual(run.exit, { kind: 'exit', status: (expected[mode] << 1) | 1 });
    });
  }
});

describe('a host runs VMs of its own CPU model', () => {
  it('a trap or hw VM of another model than the host CPU is refused (parts of the guest run natively)', () => {
    const host = new Host(64 << 20, DEFAULT_PROFILE, findCpuModel('qemu32')!);
    const options = { ramBytes: 4 << 20, input: NO_INPUT, serial: { write: () => {} }, host, cpuModel: MAX };
    assert.throws(() => new TrapVm(options), /a trap VM of CPU model max needs a host CPU of that model; this host's is qemu32/);
    assert.throws(() => new HwVm(options), /a hw VM of CPU model max/);
    assert.doesNotThrow(() => new InterpretVm(options), 'an interpreter does not run the guest on the real CPU');
  });
});
