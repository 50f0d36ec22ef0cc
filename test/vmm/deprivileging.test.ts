/**
 * Deprivileging the guest kernel: ring compression of descriptor privilege levels, the shadow
 * descriptor table's copy rules, host-frame ownership, and the popf problem caught by its
 * symptom (interrupts that never get in) when no PUSHF; CLI pattern gave it away.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type TrapVm, hw } from '../../src/api/index.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { FrameOwner, HostFrames } from '../../src/vmm/memory/host-frames.ts';
import { compressAttr, expandAttr, guestCpl, realCpl } from '../../src/vmm/ring-compression.ts';
import { shadowDescriptorHigh } from '../../src/vmm/shadow/descriptor-tables.ts';
import { idtGate, kernelFile, picInit } from '../machine/fixtures.ts';
import { runGuest } from '../machine/boot.ts';

const { SegAttr, SysType, encodeDescriptor } = hw;
const PRESENT = SegAttr.P | SegAttr.S;
const dpl = (n: number) => n << SegAttr.DPL_SHIFT;
/** DPL and present bit of a descriptor's high dword. */
const dplOf = (hi: number) => (hi >>> 13) & 3;
const presentOf = (hi: number) => (hi & (1 << 15)) !== 0;

describe('ring compression', () => {
  it('the guest kernel\u2019s ring 0 is ring 1 on the real CPU; rings 1-3 are unchanged', () => {
    assert.deepEqual([0, 1, 2, 3].map(realCpl), [1, 1, 2, 3]);
    assert.deepEqual([1, 2, 3].map(guestCpl), [0, 2, 3]);
    assert.equal(compressAttr(PRESENT | dpl(0)), PRESENT | dpl(1));
    assert.equal(compressAttr(PRESENT | dpl(3)), PRESENT | dpl(3));
    assert.equal(expandAttr(compressAttr(PRESENT | dpl(0))), PRESENT | dpl(0));
  });
});

describe('the shadow descriptor table', () => {
  const code0 = encodeDescriptor(0, 0xffffffff, PRESENT | SegAttr.CODE | SegAttr.WR | SegAttr.DB | dpl(0))[1];
  const data0 = encodeDescriptor(0, 0xffffffff, PRESENT | SegAttr.WR | SegAttr.DB | dpl(0))[1];
  const code3 = encodeDescriptor(0, 0xffffffff, PRESENT | SegAttr.CODE | SegAttr.WR | SegAttr.DB | dpl(3))[1];
  const data3 = encodeDescriptor(0, 0xffffffff, PRESENT | SegAttr.WR | SegAttr.DB | dpl(3))[1];
  const tss = encodeDescriptor(0x1000, 103, SegAttr.P | SysType.TSS32_AVAIL)[1];

  it('kernel code and data load natively at ring 1 (DPL 0 becomes 1), user data unchanged', () => {
    assert.equal(dplOf(shadowDescriptorHigh(code0)), 1);
    assert.equal(dplOf(shadowDescriptorHigh(data0)), 1);
    assert.equal(shadowDescriptorHigh(data3), data3);
    assert.ok(presentOf(shadowDescriptorHigh(code0)));
  });

  it('user code and system descriptors are not present, so that using them traps to the VMM', () => {
    assert.equal(presentOf(shadowDescriptorHigh(code3)), false);
    assert.equal(presentOf(shadowDescriptorHigh(tss)), false);
    assert.equal(shadowDescriptorHigh(code3) | (1 << 15), code3, 'nothing else changes');
  });
});

describe('host frames', () => {
  it('are owned by the VMM or a guest, handed out lowest first (runs highest first), and cannot be released twice', () => {
    const frames = new HostFrames(64);
    assert.equal(frames.allocRun(16, FrameOwner.VMM), 48);
    assert.equal(frames.alloc(FrameOwner.GUEST), 0);
    assert.equal(frames.free, 47);
    frames.release(0);
    assert.equal(frames.alloc(FrameOwner.VMM), 0);
    assert.equal(frames.owner[0], FrameOwner.VMM);
    assert.throws(() => {
      frames.release(20);
    }, /released twice/);
    assert.equal(frames.allocRun(64, FrameOwner.VMM), -1);
  });
});

/**
 * Takes PIT interrupts (IRQ 0, vector 0x20) and waits for three of them with interrupts masked,
 * opening the window only with POPF of a constant EFLAGS (IF=1) — no PUSHF; CLI anywhere.
 */
const POPF_WAITER = `
    cli
    mov $0x90000, %esp
    # 8259s at vectors 0x20/0x28, only IRQ 0 (the PIT) unmasked${picInit(0xfe)}
    mov $0x34, %al              # PIT channel 0, rate generator, 100 Hz
    out %al, $0x43
    mov $0x9c, %al
    out %al, $0x40
    mov $0x2e, %al
    out %al, $0x40
    # IDT entry 0x20 (IRQ 0): a 32-bit interrupt gate to tick${idtGate(0x20, 'tick')}
    lidt idtr
wait:
    pushl $0x202                # EFLAGS with IF=1
    popfl
    nop
    pushl $0x2                  # and IF=0 again
    popfl
    cmpl $3, ticks
    jb wait
    xor %al, %al
    out %al, $0xf4
    hlt
tick:
    incl ticks
    push %eax
    mov $0x20, %al
    out %al, $0x20
    pop %eax
    iret
.align 4
ticks:
    .long 0
.align 8
idt:
    .fill 0x21 * 8, 1, 0
idtr:
    .word 0x21 * 8 - 1
    .long idt
`;

describe('the popf problem, caught at the POPF', () => {
  it('natively the guest takes its interrupts; under trap its first POPF of IF=1 with interrupts off ends the run, explained', () => {
    const kernel = kernelFile('popf-waiter.elf', POPF_WAITER);
    const native = runGuest(kernel);
    assert.deepEqual(native.exit, { kind: 'exit', status: 1 });
    assert.equal(native.vectors['int 0x20'], 3, 'three timer interrupts, each let in by a POPF of IF=1');
    let vm: TrapVm | null = null;
    const run = runGuest(kernel, { mode: 'trap', maxInstructions: 200_000_000, onVm: (v) => (vm = v as TrapVm) });
    assert.equal(run.exit.kind, 'not-virtualizable');
    assert.equal(run.status, 129);
    if (run.exit.kind !== 'not-virtualizable') return;
    assert.equal(run.exit.instruction, 'popf');
    assert.match(run.exit.explanation, /Popek and Goldberg/);
    // The fixture runs where it is loaded, with paging off: the byte at EIP is POPF's opcode.
    assert.equal(vm!.guestMem.read8(run.exit.eip), 0x9d);
    assert.equal(run.vectors['int 0x20'] ?? 0, 0, 'no interrupt got in');
  });
});

describe('the VMM keeps control of the processor (Popek and Goldberg: resource control)', () => {
  it('a guest that runs `cli; jmp .` never runs with the real IF clear: the host timer still gets in, and the run ends at its limit', () => {
    const kernel = kernelFile('spin.elf', `
    mov $0x34, %al              # PIT channel 0, rate generator, 100 Hz: the VM's own timer
    out %al, $0x43
    mov $0x9c, %al
    out %al, $0x40
    mov $0x2e, %al
    out %al, $0x40
    cli
spin:
    jmp spin`);
    let vm: TrapVm | null = null;
    const run = runGuest(kernel, { mode: 'trap', maxInstructions: 50_000_000, onVm: (v) => (vm = v as TrapVm) });
    assert.equal(run.exit.kind, 'limit');
    assert.equal(vm!.vcpu.flags & Eflags.IF, 0, "the guest's (virtual) IF is clear");
    assert.equal(vm!.real.flags & Eflags.IF, Eflags.IF, 'the real IF is set while the guest runs');
    const timer = run.vmm!.exits.reasons.find((r) => r.category === 'external interrupt' && r.detail === 'timer');
    assert.ok(timer !== undefined && timer.count >= 10, 'the host timer kept bringing the VMM back while the guest spun with its IF clear');
  });
});
