/**
 * Isolated VMs: several guests on one host, sharing its memory pool and its one real CPU (round
 * robin, a small quantum so that they interleave thousands of times). Each must print exactly
 * what it prints alone; the probe guest, scanning all of its physical and virtual address space
 * while the holder guest fills its RAM with a marker, must find nothing and disturb nothing; one
 * VM dying (triple fault, runaway, a failing backing store) must not stop the others.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { type MachineRun, MemoryBackingStore, type TrapVm, type Vm, type VmOptions, runMachines } from '../../src/api/index.ts';
import { FrameOwner } from '../../src/vmm/memory/host-frames.ts';
import { runGuest } from '../machine/boot.ts';
import { fpuLoopGuest, tableWriterGuest, unmappedJumpGuest } from './guests.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KERNEL = 'guest/kernel/kernel.elf';
const PROBE = 'guest/probe/probe.elf';

interface VmRun {
  run: MachineRun;
  output: string;
}

function vm(kernel: string, cmdline: string, extra: Partial<VmOptions> = {}): { options: VmOptions; output: () => string } {
  const bytes: number[] = [];
  const path = kernel.startsWith('/') ? kernel : join(ROOT, kernel);
  return {
    options: { kernel: new Uint8Array(readFileSync(path)), kernelName: kernel, cmdline, ramBytes: 16 << 20, serial: { write: (b) => bytes.push(b) }, ...extra },
    output: () => Buffer.from(bytes).toString('latin1'),
  };
}

function together(specs: ReturnType<typeof vm>[], onVm?: (vm: Vm) => void): VmRun[] {
  const runs = runMachines({ vms: specs.map((s) => s.options), quantum: 20_000, ...(onVm ? { onVm } : {}) });
  return runs.map((run, k) => ({ run, output: specs[k]!.output() }));
}

/** The same guest alone, under trap with the same options. */
function alone(kernel: string, cmdline: string, extra: Partial<VmOptions> = {}): ReturnType<typeof runGuest> {
  return runGuest(kernel, { mode: 'trap', cmdline, ramBytes: 16 << 20, ...extra });
}

describe('several VMs on one host', () => {
  it('two teaching kernels with different workloads each print what they print alone (audited after every exit)', () => {
    const a = 'workload=forkwait irq=cli n=30';
    const b = 'workload=ptemod n=10 pages=8';
    const vms: TrapVm[] = [];
    const findings: string[] = [];
    const runs = together([vm(KERNEL, a), vm(KERNEL, b, { guestMemoryLimit: 8 << 20 })], (v) => {
      vms.push(v as TrapVm);
      v.engine.afterExit = () => {
        if (findings.length === 0) findings.push(...v.checkShadows().map((f) => `${v.name}: ${f}`));
      };
    });
    assert.deepEqual(findings, []);
    const [ra, rb] = runs as [VmRun, VmRun];
    // Each VM's clock counts only its own cycles, plus the TLB refills each switch costs it.
    const soloA = alone(KERNEL, a);
    const soloB = alone(KERNEL, b, { guestMemoryLimit: 8 << 20 });
    assert.equal(ra.output, soloA.output);
    assert.equal(rb.output, soloB.output);
    for (const [shared, solo] of [[ra.run, soloA], [rb.run, soloB]] as const) {
      assert.ok(shared.cycles >= solo.cycles && shared.cycles < solo.cycles * 1.01, `${shared.cycles} cycles shared, ${solo.cycles} alone`);
    }
    assert.match(ra.output, /status=0/);
    assert.match(rb.output, /status=0/);
    // They really interleaved, and their memory never overlapped.
    const [va, vb] = vms as [TrapVm, TrapVm];
    assert.equal(va.host, vb.host);
    assert.ok(va.host.switches > 20, `${va.host.switches} switches`);
    for (let hfn = 0; hfn < va.host.frames.total; hfn++) {
      assert.ok(va.pmap.guestFrame[hfn] < 0 || vb.pmap.guestFrame[hfn] < 0, `HPA 0x${(hfn * 4096).toString(16)} in both VMs`);
      if (va.pmap.guestFrame[hfn]! >= 0 || vb.pmap.guestFrame[hfn]! >= 0) assert.equal(va.host.frames.owner[hfn], FrameOwner.GUEST);
    }
  });

  it('two x87 computations interleaved thousands of times each get what they get alone, under trap and hw', () => {
    const a = fpuLoopGuest('3ff0000010c6f7a1', 60_000);
    const b = fpuLoopGuest('4000000a7c5ac472', 60_000);
    const native = [runGuest(a).output, runGuest(b).output];
    assert.notEqual(native[0], native[1]);
    for (const mode of ['trap', 'hw'] as const) {
      const specs = [vm(a, ''), vm(b, '')];
      const runs = runMachines({ vms: specs.map((s) => s.options), quantum: 2_000, mode });
      const outputs = specs.map((s) => s.output());
      assert.deepEqual(outputs, native, `${mode}: each VM's result`);
      assert.ok(runs.every((r) => r.exit.kind === 'exit'), `${mode}: both exited`);
    }
  });

  it('the probe finds nothing of the holder or the VMM, and the holder finds its memory intact', () => {
    const probe = vm(PROBE, 'role=probe marker=5ec2e7ed', { ramBytes: 32 << 20 });
    const holder = vm(PROBE, 'role=holder marker=5ec2e7ed', { ramBytes: 32 << 20 });
    const [p, h] = together([probe, holder]) as [VmRun, VmRun];
    const native = runGuest(PROBE, { cmdline: 'role=probe marker=5ec2e7ed', ramBytes: 32 << 20 });
    assert.equal(p.output, native.output);
    assert.match(p.output, /marker search in RAM: 0 hits/);
    assert.match(p.output, /nothing of the host or another VM found/);
    assert.deepEqual(p.run.exit, { kind: 'exit', status: 1 });
    assert.match(h.output, /holder: pattern intact/);
    assert.deepEqual(h.run.exit, { kind: 'exit', status: 1 });
  });

  it('a VM that triple-faults and one that runs away end; the other runs to completion', () => {
    const cmdline = 'workload=syscall irq=cli n=3000';
    const runs = together([vm(unmappedJumpGuest(), ''), vm(KERNEL, cmdline), vm(tableWriterGuest(), '', { maxInstructions: 300_000 })]);
    const [crash, survivor, runaway] = runs as [VmRun, VmRun, VmRun];
    assert.equal(crash.run.exit.kind, 'triple-fault');
    assert.deepEqual(runaway.run.exit, { kind: 'limit', instructions: runaway.run.instructions });
    assert.equal(survivor.output, alone(KERNEL, cmdline).output);
    assert.deepEqual(survivor.run.exit, { kind: 'exit', status: 1 });
  });

  it('a full backing store ends its VM with a clear error; the other VM loses nothing', () => {
    const cmdline = 'workload=forkwait irq=cli n=20';
    const full = new MemoryBackingStore({ capacityPages: 8, name: 'test-disk' });
    const runs = together([vm(KERNEL, cmdline, { guestMemoryLimit: 4 << 20, backingStore: full }), vm(KERNEL, cmdline, { guestMemoryLimit: 8 << 20 })]);
    const [failed, survivor] = runs as [VmRun, VmRun];
    assert.equal(failed.run.exit.kind, 'vmm-failure');
    assert.equal(failed.run.status, 130);
    assert.match(JSON.stringify(failed.run.exit), /backing store test-disk is full \(8 pages\)/);
    assert.equal(full.size, 8);
    assert.equal(survivor.output, alone(KERNEL, cmdline, { guestMemoryLimit: 8 << 20 }).output);
  });
});
