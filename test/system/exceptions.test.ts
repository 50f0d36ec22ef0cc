/**
 * Exception delivery through the IDT (Intel SDM vol. 3, chapter 6): vectors, error codes and the
 * frames the handlers find — fault vs trap return addresses (6.5), EFLAGS handling by interrupt and
 * trap gates (6.12.1.3), the stack switch through the TSS on a privilege change (6.12.1, figure
 * 6-4), error codes (6.13), double faults (6.15, tables 6-4 and 6-5) and the triple-fault shutdown.
 * Handlers are the harness stubs: they stop the run with the frame on their stack.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cr0 } from '../../src/hw/x86/control-registers.ts';
import { SegAttr, SysType } from '../../src/hw/x86/descriptors.ts';
import { Eflags } from '../../src/hw/x86/eflags.ts';
import { PfError, Pte } from '../../src/hw/x86/paging.ts';
import { Vector } from '../../src/hw/x86/vectors.ts';
import {
  CODE,
  type EventFrame,
  Machine,
  RUN_STACK_TOP,
  SCRATCH,
  STACK0_TOP,
  STACK1_TOP,
  Sel,
  TARGET_LIN,
  TSS_BASE,
  symbol,
} from './machine.ts';

const CODE_SEL = [Sel.CODE0, Sel.CODE1, Sel.CODE2, Sel.CODE3];
const DATA_SEL = [Sel.DATA0, Sel.DATA1, Sel.DATA2, Sel.DATA3];

/** Asserts the listed fields of a frame. */
function expectFrame(f: EventFrame, want: Partial<EventFrame>, what = ''): void {
  const got: Record<string, unknown> = {};
  for (const k of Object.keys(want)) got[k] = f[k as keyof EventFrame];
  assert.deepEqual(got, want, what);
}

/** Runs `source` at `cpl` and returns the first event with the labels of the snippet. */
function fault(cpl: number, source: string, options: ConstructorParameters<typeof Machine>[0] = {}) {
  const m = new Machine({ cpl, ...options });
  const a = m.load(source);
  const f = m.runToEvent();
  return { m, a, f, at: (label: string) => symbol(a, label) };
}

describe('fault and trap frames (SDM vol. 3, 6.5, 6.12, 6.13)', () => {
  it('#DE: DIV by zero is a fault: EIP of the DIV, no error code', () => {
    const { f, at } = fault(0, `
      mov $5, %eax
      xor %edx, %edx
      xor %ecx, %ecx
    insn:
      div %ecx
      out %al, $DONE_PORT`);
    expectFrame(f, { vector: Vector.DE, errorCode: null, eip: at('insn'), cs: Sel.CODE0, esp: null, ss: null });
    assert.equal(f.frameAddress, RUN_STACK_TOP - 12, 'same-privilege frame: EFLAGS, CS, EIP on the current stack');
  });

  it('#DE: IDIV overflow (INT_MIN / -1) is a fault too', () => {
    const { f, at, m } = fault(0, `
      mov $0x80000000, %eax
      cdq
      mov $-1, %ecx
    insn:
      idiv %ecx
      out %al, $DONE_PORT`);
    expectFrame(f, { vector: Vector.DE, eip: at('insn') });
    assert.equal(m.eax, 0x80000000, 'EAX unchanged by the faulting IDIV');
  });

  it('#DE from CPL 3: the frame is on the TSS ring-0 stack with the user SS:ESP (6.12.1, figure 6-4)', () => {
    const { f, at, m } = fault(3, `
      push $0x11
      xor %ecx, %ecx
    insn:
      div %ecx`);
    expectFrame(f, {
      vector: Vector.DE,
      errorCode: null,
      eip: at('insn'),
      cs: Sel.CODE3,
      esp: RUN_STACK_TOP - 4,
      ss: Sel.DATA3,
      frameAddress: STACK0_TOP - 20,
      handlerCpl: 0,
      handlerSs: Sel.DATA0,
    });
    assert.equal(m.cpu.segSel[1], Sel.CODE0);
  });

  it('the ring-0 stack comes from TSS.SS0:ESP0, whatever they hold (7.2.1)', () => {
    const m = new Machine({ cpl: 3 });
    m.w32(TSS_BASE + 4, STACK0_TOP - 0x100);
    m.load('ud2');
    const f = m.runToEvent();
    assert.equal(f.frameAddress, STACK0_TOP - 0x100 - 20);
    assert.equal(m.esp, STACK0_TOP - 0x100 - 24, 'ESP in the handler (after the stub pushed the vector)');
  });

  it('#DB single-step: a trap after the instruction, TF cleared in the handler, DR6.BS set (17.3.1.4)', () => {
    const m = new Machine({ cpl: 0 });
    const a = m.load(`
      pushf
      orl $0x100, (%esp)
      popf
      mov $1, %eax
    second:
      mov $2, %ebx
    third:
      out %al, $DONE_PORT`);
    // POPF sets TF: the instruction after it is the first one stepped.
    const f = m.runToEvent();
    expectFrame(f, { vector: Vector.DB, errorCode: null, eip: symbol(a, 'second'), cs: Sel.CODE0 });
    assert.equal(m.eax, 1);
    assert.equal(m.ebx, 0, 'the next instruction has not run');
    assert.equal(f.eflags & Eflags.TF, Eflags.TF, 'pushed EFLAGS has TF');
    assert.equal(m.eflags() & Eflags.TF, 0, 'handler runs with TF clear');
    assert.equal(m.cpu.dr[6]! & 0x4000, 0x4000, 'DR6.BS');
    // IRET restores TF: the next instruction is stepped as well.
    const g = m.runToEvent();
    expectFrame(g, { vector: Vector.DB, eip: symbol(a, 'third') });
    assert.equal(m.ebx, 2);
  });

  it('#DB from INT1 (ICEBP, F1) is a trap: EIP after it', () => {
    const { f, at } = fault(0, `
      .byte 0xf1
    after:
      out %al, $DONE_PORT`);
    expectFrame(f, { vector: Vector.DB, errorCode: null, eip: at('after') });
  });

  it('#BP: INT3 from CPL 3 through a DPL-3 gate is a trap: EIP after it', () => {
    const { f, at } = fault(3, `
      int3
    after:
      out %al, $DONE_PORT`);
    expectFrame(f, { vector: Vector.BP, errorCode: null, eip: at('after'), cs: Sel.CODE3, ss: Sel.DATA3, esp: RUN_STACK_TOP });
  });

  it('#BP: INT $3 (two bytes) pushes the address after both bytes', () => {
    const { f, at } = fault(3, `
      int $3
    after:
      nop`);
    expectFrame(f, { vector: Vector.BP, eip: at('after') });
  });

  it('#OF: INTO traps only when OF=1, with EIP after it', () => {
    const { f, at, m } = fault(3, `
      xor %eax, %eax
      into
      mov $1, %ebx
      mov $0x7fffffff, %eax
      add $1, %eax
      into
    after:
      out %al, $DONE_PORT`);
    expectFrame(f, { vector: Vector.OF, errorCode: null, eip: at('after') });
    assert.equal(m.ebx, 1, 'INTO with OF=0 did nothing');
  });

  it('#BR: BOUND out of range is a fault; in range it is nothing', () => {
    const { f, at, m } = fault(0, `
      mov $15, %eax
      bound %eax, bounds
      mov $25, %eax
    insn:
      bound %eax, bounds
      out %al, $DONE_PORT
    bounds:
      .long 10, 20`);
    expectFrame(f, { vector: Vector.BR, errorCode: null, eip: at('insn') });
    assert.equal(m.eax, 25);
  });

  it('#UD: UD2 is a fault with no error code', () => {
    const { f, at } = fault(3, `
    insn:
      ud2`);
    expectFrame(f, { vector: Vector.UD, errorCode: null, eip: at('insn'), cs: Sel.CODE3 });
  });

  it('#UD: LOCK on a register destination (SDM vol. 2, LOCK), but not on a memory one', () => {
    const { f, at, m } = fault(0, `
      lock addl $1, DATA
      mov DATA, %esi
    insn:
      .byte 0xf0, 0x01, 0xc3   # lock add %eax, %ebx
      out %al, $DONE_PORT`);
    expectFrame(f, { vector: Vector.UD, errorCode: null, eip: at('insn') });
    assert.equal(m.esi, 1);
  });

  it('#NM: an x87 instruction with CR0.EM=1, or with CR0.TS=1 (SDM vol. 3, 2.5 table 2-2)', () => {
    for (const cr0 of [Cr0.EM, Cr0.TS, Cr0.MP | Cr0.TS, Cr0.EM | Cr0.TS]) {
      const { f, at } = fault(0, `
      insn:
        fld1
        out %al, $DONE_PORT`, { cr0 });
      expectFrame(f, { vector: Vector.NM, errorCode: null, eip: at('insn') }, `CR0=${cr0.toString(16)}`);
    }
  });

  it('#NM: WAIT with CR0.MP=1 and TS=1; without MP it does not fault', () => {
    const { f, at } = fault(0, `
    insn:
      fwait
      out %al, $DONE_PORT`, { cr0: Cr0.MP | Cr0.TS });
    expectFrame(f, { vector: Vector.NM, eip: at('insn') });
    const m = new Machine({ cr0: Cr0.TS });
    m.load('fwait\n out %al, $DONE_PORT');
    m.runToDone();
  });

  it('interrupt gates clear IF, trap gates leave it; both clear TF and NT (6.12.1.3)', () => {
    for (const type of [SysType.INT_GATE32, SysType.TRAP_GATE32]) {
      const m = new Machine({ cpl: 3, eflags: Eflags.IF });
      m.setGate(0x40, { type, dpl: 3 });
      const a = m.load(`
        int $0x40
      after:`);
      const f = m.runToEvent();
      expectFrame(f, { vector: 0x40, errorCode: null, eip: symbol(a, 'after'), esp: RUN_STACK_TOP, ss: Sel.DATA3 });
      assert.equal(f.eflags & Eflags.IF, Eflags.IF, 'pushed EFLAGS has IF=1');
      assert.equal(m.eflags() & Eflags.IF, type === SysType.TRAP_GATE32 ? Eflags.IF : 0);
      assert.equal(m.eflags() & (Eflags.TF | Eflags.NT), 0);
    }
  });
});

describe('#GP (SDM vol. 3, 6.15 interrupt 13)', () => {
  const PRIVILEGED: [string, string][] = [
    ['hlt', 'hlt'],
    ['mov from CR0', 'mov %cr0, %eax'],
    ['mov to CR3', 'mov %eax, %cr3'],
    ['mov from DR7', 'mov %dr7, %eax'],
    ['lgdt', 'lgdt SCRATCH'],
    ['lidt', 'lidt SCRATCH'],
    ['lldt', 'lldt %ax'],
    ['ltr', 'ltr %ax'],
    ['lmsw', 'lmsw %ax'],
    ['clts', 'clts'],
    ['invlpg', 'invlpg DATA'],
    ['wbinvd', 'wbinvd'],
    ['invd', 'invd'],
    ['cli (IOPL 0)', 'cli'],
    ['sti (IOPL 0)', 'sti'],
  ];
  for (const cpl of [1, 2, 3]) {
    it(`privileged instructions at CPL ${cpl}: #GP(0), EIP of the instruction`, () => {
      for (const [name, insn] of PRIVILEGED) {
        const { f, at } = fault(cpl, `
        insn:
          ${insn}
          out %al, $DONE_PORT`);
        expectFrame(f, { vector: Vector.GP, errorCode: 0, eip: at('insn'), cs: CODE_SEL[cpl], ss: DATA_SEL[cpl] }, name);
      }
    });
  }

  it('a data segment limit: an access that does not fit below the limit (5.3)', () => {
    const { f, at, m } = fault(3, `
      mov $SEL_SMALL, %ax
      mov %ax, %ds
      mov 0xffc, %esi
    insn:
      mov 0xffe, %eax
      out %al, $DONE_PORT`);
    expectFrame(f, { vector: Vector.GP, errorCode: 0, eip: at('insn') });
    assert.equal(m.cpu.segSel[3], Sel.SMALL);
  });

  it('a null DS/ES/FS/GS may be loaded, but a memory access through it is #GP(0) (3.4.2)', () => {
    for (const seg of ['ds', 'es', 'fs', 'gs']) {
      const { f, at } = fault(3, `
        xor %eax, %eax
        mov %ax, %${seg}
        mov $3, %eax
        mov %ax, %${seg}
      insn:
        mov %${seg}:DATA, %ecx
        out %al, $DONE_PORT`);
      expectFrame(f, { vector: Vector.GP, errorCode: 0, eip: at('insn') }, seg);
    }
  });

  it('writing a read-only data segment or through CS is #GP(0)', () => {
    for (const insn of ['movl $1, %ds:DATA', 'movl $1, %cs:DATA']) {
      const { f, at } = fault(3, `
        mov $SEL_READ_ONLY, %ax
        mov %ax, %ds
        mov DATA, %eax
      insn:
        ${insn}
        out %al, $DONE_PORT`);
      expectFrame(f, { vector: Vector.GP, errorCode: 0, eip: at('insn') }, insn);
    }
  });

  it('INT n through a gate with DPL < CPL: #GP(vector*8+2), EIP of the INT (6.12.1.1, 6.13)', () => {
    for (const cpl of [1, 2, 3]) {
      const { f, at } = fault(cpl, `
      insn:
        int $0x50
        out %al, $DONE_PORT`);
      expectFrame(f, { vector: Vector.GP, errorCode: 0x50 * 8 + 2, eip: at('insn'), cs: CODE_SEL[cpl] }, `CPL ${cpl}`);
    }
  });

  it('INT n of an exception vector from CPL 3 is #GP(n*8+2), not a double fault (INT n is benign, table 6-4)', () => {
    for (const vector of [Vector.DE, Vector.DF, Vector.TS, Vector.NP, Vector.SS, Vector.GP, Vector.PF]) {
      const { f, at } = fault(3, `
      insn:
        int $${vector}
        out %al, $DONE_PORT`);
      expectFrame(f, { vector: Vector.GP, errorCode: vector * 8 + 2, eip: at('insn') }, `int ${vector}`);
    }
  });

  it('a vector beyond the IDT limit: #GP(vector*8+2)', () => {
    const { f, at } = fault(0, `
      lidt idtr
    insn:
      int $0x41
      out %al, $DONE_PORT
    idtr:
      .word 0x41 * 8 - 1
      .long IDT_BASE`);
    expectFrame(f, { vector: Vector.GP, errorCode: 0x41 * 8 + 2, eip: at('insn') });
  });

  it('an INT n gate to DPL 3 code from CPL 0: #GP(selector) — the handler may not be less privileged', () => {
    const m = new Machine({ cpl: 0 });
    m.setGate(0x40, { selector: Sel.CODE3, dpl: 3 });
    const a = m.load(`
    insn:
      int $0x40`);
    const f = m.runToEvent();
    expectFrame(f, { vector: Vector.GP, errorCode: Sel.CODE3 & 0xfffc, eip: symbol(a, 'insn') });
  });
});

describe('#NP, #SS and #TS (SDM vol. 3, 6.15 interrupts 10-12)', () => {
  it('#NP(selector): loading a not-present data segment; the register keeps its old value', () => {
    const { f, at, m } = fault(3, `
      mov $SEL_NOT_PRESENT, %ax
    insn:
      mov %ax, %ds
      out %al, $DONE_PORT`);
    expectFrame(f, { vector: Vector.NP, errorCode: Sel.NOT_PRESENT & 0xfffc, eip: at('insn') });
    assert.equal(m.cpu.segSel[3], Sel.DATA3, 'DS still holds the old selector');
  });

  it('#NP for a not-present IDT gate reached by INT n: error code vector*8+2 (IDT=1, EXT=0)', () => {
    const m = new Machine({ cpl: 3 });
    m.setGate(0x41, { dpl: 3, present: false });
    const a = m.load(`
    insn:
      int $0x41`);
    const f = m.runToEvent();
    expectFrame(f, { vector: Vector.NP, errorCode: 0x41 * 8 + 2, eip: symbol(a, 'insn') });
  });

  it('#NP for a not-present gate of an exception: IDT=1 and EXT=1, EIP of the faulting instruction', () => {
    const m = new Machine({ cpl: 3 });
    m.setGate(Vector.UD, { present: false });
    const a = m.load(`
    insn:
      ud2`);
    const f = m.runToEvent();
    expectFrame(f, { vector: Vector.NP, errorCode: Vector.UD * 8 + 3, eip: symbol(a, 'insn') });
  });

  it('#SS(0): a push below an expand-down stack segment limit; ESP unchanged (5.3)', () => {
    const { f, at, m } = fault(3, `
      mov $SEL_EXPAND_DOWN, %ax
      mov %ax, %ss
      mov $0x1004, %esp
      push %eax
    insn:
      push %eax
      out %al, $DONE_PORT`);
    expectFrame(f, { vector: Vector.SS, errorCode: 0, eip: at('insn'), ss: Sel.EXPAND_DOWN, esp: 0x1000 });
    assert.equal(m.cpu.segSel[2], Sel.DATA0);
  });

  it('#SS(0): push and pop beyond an expand-up stack segment limit', () => {
    for (const [setup, insn] of [
      ['mov $0x1002, %esp', 'push %eax'],
      ['mov $0xffe, %esp', 'pop %eax'],
    ]) {
      const { f, at } = fault(3, `
        mov $SEL_SMALL, %ax
        mov %ax, %ss
        ${setup}
      insn:
        ${insn}
        out %al, $DONE_PORT`);
      expectFrame(f, { vector: Vector.SS, errorCode: 0, eip: at('insn'), ss: Sel.SMALL }, insn);
    }
  });

  it('#SS(selector): loading SS with a not-present segment (SDM vol. 2, MOV)', () => {
    const { f, at } = fault(3, `
      mov $SEL_NOT_PRESENT, %ax
    insn:
      mov %ax, %ss`);
    expectFrame(f, { vector: Vector.SS, errorCode: Sel.NOT_PRESENT & 0xfffc, eip: at('insn') });
  });

  /** A machine whose TSS.SS0 is bad; #TS, #DF and #PF are handled at ring 1 (stack from SS1:ESP1). */
  function badSs0(ss0: number, cpl = 3): Machine {
    const m = new Machine({ cpl, paging: true });
    m.w32(TSS_BASE + 8, ss0);
    for (const v of [Vector.TS, Vector.DF, Vector.PF, Vector.SS]) m.setGate(v, { selector: Sel.CODE1 });
    return m;
  }

  it('#TS(SS0 selector): INT n from CPL 3 with an SS0 whose RPL is not 0 (6.12.1, 7.2.1)', () => {
    const m = badSs0(Sel.DATA3);
    const a = m.load(`
    insn:
      int $0x40`);
    const f = m.runToEvent();
    expectFrame(f, {
      vector: Vector.TS,
      errorCode: Sel.DATA3 & 0xfffc,
      eip: symbol(a, 'insn'),
      cs: Sel.CODE3,
      esp: RUN_STACK_TOP,
      ss: Sel.DATA3,
      frameAddress: STACK1_TOP - 24,
      handlerCpl: 1,
      handlerSs: Sel.DATA1,
    });
  });

  it('#TS(EXT): a null SS0; error code 0 for INT n, 1 for an exception', () => {
    const m = badSs0(0);
    const a = m.load(`
    insn:
      int $0x40`);
    expectFrame(m.runToEvent(), { vector: Vector.TS, errorCode: 0, eip: symbol(a, 'insn') });
    const n = badSs0(0);
    const b = n.load(`
    insn:
      ud2`);
    // #UD is benign: the #TS raised while delivering it is handled serially (table 6-5), EXT=1.
    expectFrame(n.runToEvent(), { vector: Vector.TS, errorCode: 1, eip: symbol(b, 'insn') });
  });

  it('#TS(SS0 selector + EXT) while delivering #UD (benign then contributory: serial)', () => {
    const m = badSs0(Sel.DATA0_ALIAS | 3);
    const a = m.load(`
    insn:
      ud2`);
    expectFrame(m.runToEvent(), { vector: Vector.TS, errorCode: Sel.DATA0_ALIAS | 1, eip: symbol(a, 'insn') });
  });
});

describe('double fault and shutdown (SDM vol. 3, 6.15 interrupt 8, tables 6-4/6-5)', () => {
  function ring1Handlers(m: Machine): void {
    for (const v of [Vector.TS, Vector.DF, Vector.PF]) m.setGate(v, { selector: Sel.CODE1 });
  }

  it('#GP while its delivery raises #TS (contributory, contributory): #DF with error code 0', () => {
    const m = new Machine({ cpl: 3 });
    m.w32(TSS_BASE + 8, Sel.DATA3);
    ring1Handlers(m);
    m.load('cli');
    const f = m.runToEvent();
    expectFrame(f, { vector: Vector.DF, errorCode: 0, handlerCpl: 1, frameAddress: STACK1_TOP - 24, ss: Sel.DATA3, esp: RUN_STACK_TOP });
  });

  it('#PF while delivering #PF: #DF with error code 0; CR2 holds the second fault address', () => {
    const m = new Machine({ cpl: 3, paging: true });
    // #PF is delivered at ring 0 (and fails); #DF at ring 1.
    m.setGate(Vector.DF, { selector: Sel.CODE1 });
    // The ring-0 stack is in a not-present page; the user touches another not-present page.
    const stackPage = TARGET_LIN + 0x1000;
    m.w32(TSS_BASE + 4, stackPage + 0x1000);
    m.load(`mov ${TARGET_LIN + 0x3000}, %eax`);
    const f = m.runToEvent();
    expectFrame(f, { vector: Vector.DF, errorCode: 0, handlerCpl: 1, ss: Sel.DATA3, esp: RUN_STACK_TOP });
    assert.equal(m.cpu.cr2 >>> 12, stackPage >>> 12, 'CR2 is in the page the delivery tried to push to');
  });

  it('#PF while delivering #GP (contributory, then page fault): handled serially as #PF', () => {
    const m = new Machine({ cpl: 3, paging: true });
    ring1Handlers(m);
    const stackPage = TARGET_LIN + 0x1000;
    m.w32(TSS_BASE + 4, stackPage + 0x1000);
    const a = m.load(`
    insn:
      cli`);
    const f = m.runToEvent();
    // A supervisor write (the push) to a not-present page: W=1, U/S=0 (implicit supervisor access).
    expectFrame(f, { vector: Vector.PF, errorCode: PfError.W, eip: symbol(a, 'insn'), handlerCpl: 1 });
    assert.equal(m.cpu.cr2 >>> 12, stackPage >>> 12);
  });

  it('#PF raised by the ring-0 stack push is a supervisor write even from CPL 3 (U/S=0, 4.7)', () => {
    const m = new Machine({ cpl: 3, paging: true, cr0: Cr0.WP });
    ring1Handlers(m);
    // The ring-0 stack for events from CPL 3 is a read-only (user-accessible) page; CR0.WP=1.
    m.w32(TSS_BASE + 4, SCRATCH + 0x1000);
    m.setPte(SCRATCH, SCRATCH | Pte.P | Pte.US);
    const a = m.load(`
    insn:
      int $0x40`);
    const f = m.runToEvent();
    expectFrame(f, { vector: Vector.PF, errorCode: PfError.P | PfError.W, eip: symbol(a, 'insn'), handlerCpl: 1 });
    assert.equal(m.cpu.cr2 >>> 12, SCRATCH >>> 12);
  });

  it('a fault while delivering #DF shuts the processor down: a reset exit', () => {
    const m = new Machine({ cpl: 0 });
    m.load(`
      lidt idtr
      ud2
    idtr:
      .word 0
      .long IDT_BASE`);
    const exit = m.run();
    assert.equal(exit.kind, 'reset');
  });

  it('#DF whose own delivery needs the same bad stack: triple fault', () => {
    const m = new Machine({ cpl: 3 });
    m.w32(TSS_BASE + 8, 0);
    m.load('cli');
    assert.equal(m.run().kind, 'reset');
  });
});

describe('#PF frames (SDM vol. 3, 6.15 interrupt 14)', () => {
  it('a user read of a supervisor page: #PF(P|U), CR2, ring-0 frame with user SS:ESP', () => {
    const m = new Machine({ cpl: 3, paging: true });
    m.setPte(TARGET_LIN, m.pte(TARGET_LIN) & ~Pte.US);
    const a = m.load(`
      push $1
    insn:
      mov TARGET_LIN + 8, %eax`);
    const f = m.runToEvent();
    expectFrame(f, {
      vector: Vector.PF,
      errorCode: PfError.P | PfError.U,
      eip: symbol(a, 'insn'),
      cs: Sel.CODE3,
      ss: Sel.DATA3,
      esp: RUN_STACK_TOP - 4,
      frameAddress: STACK0_TOP - 24,
    });
    assert.equal(m.cpu.cr2 >>> 0, TARGET_LIN + 8);
  });
});

describe('IDT gates and handler code segments (SDM vol. 3, 6.11, 6.12; vol. 2, INT n)', () => {
  it('a gate to a conforming code segment: no stack switch, the handler runs at the caller\'s CPL', () => {
    const m = new Machine({ cpl: 3 });
    m.setGate(0x42, { selector: Sel.CONFORMING0, dpl: 3 });
    const a = m.load(`
      int $0x42
    after:`);
    const f = m.runToEvent();
    expectFrame(f, {
      vector: 0x42,
      eip: symbol(a, 'after'),
      cs: Sel.CODE3,
      esp: null,
      ss: null,
      frameAddress: RUN_STACK_TOP - 12,
      handlerCpl: 3,
      handlerSs: Sel.DATA3,
    });
    assert.equal(m.cpu.segSel[1], Sel.CONFORMING0 | 3, 'CS.RPL = CPL');
  });

  it('a 16-bit interrupt gate pushes FLAGS, CS, IP as words (6.12.1, figure 6-4)', () => {
    const m = new Machine({ cpl: 0 });
    m.setGate(0x42, { type: 6, dpl: 3 });
    m.load(`
      mov $0x1234, %eax
      int $0x42
    after:`);
    m.runUntil('event');
    const top = m.esp + 4;
    assert.equal(top, RUN_STACK_TOP - 6, 'three words');
    assert.equal(m.r32(top) & 0xffff, (CODE + 7) & 0xffff, 'IP');
    assert.equal(m.r32(top + 2) & 0xffff, Sel.CODE0, 'CS');
    // The boot IRET loaded EFLAGS = 0x2 and MOV changes no flags.
    assert.equal(m.r32(top + 4) & 0xffff, Eflags.FIXED1, 'FLAGS');
  });

  it('an IDT entry that is not an interrupt or trap gate: #GP(vector*8 + IDT + EXT)', () => {
    for (const [what, type] of [
      ['a call gate', SysType.CALL_GATE32],
      ['an LDT descriptor', SysType.LDT],
    ] as const) {
      const m = new Machine({ cpl: 0 });
      m.setGate(0x42, { type, dpl: 3 });
      m.setGate(Vector.UD, { type });
      const a = m.load(`
      insn:
        int $0x42`);
      expectFrame(m.runToEvent(), { vector: Vector.GP, errorCode: 0x42 * 8 + 2, eip: symbol(a, 'insn') }, `${what}, INT n`);
      const n = new Machine({ cpl: 0 });
      n.setGate(Vector.UD, { type });
      const b = n.load(`
      insn:
        ud2`);
      expectFrame(n.runToEvent(), { vector: Vector.GP, errorCode: Vector.UD * 8 + 3, eip: symbol(b, 'insn') }, `${what}, #UD`);
    }
  });

  it('a gate whose code segment is not present: #NP(selector + EXT); not code: #GP(selector + EXT)', () => {
    const m = new Machine({ cpl: 0 });
    m.setDescriptor(30, 0, 0xffffffff, SegAttr.S | SegAttr.CODE | SegAttr.WR | SegAttr.DB);
    m.setGate(0x42, { selector: 30 * 8, dpl: 3 });
    const a = m.load(`
    insn:
      int $0x42`);
    expectFrame(m.runToEvent(), { vector: Vector.NP, errorCode: 30 * 8, eip: symbol(a, 'insn') });
    const n = new Machine({ cpl: 0 });
    n.setGate(Vector.UD, { selector: Sel.DATA0 });
    const b = n.load(`
    insn:
      ud2`);
    expectFrame(n.runToEvent(), { vector: Vector.GP, errorCode: Sel.DATA0 | 1, eip: symbol(b, 'insn') });
  });

  it('a call gate to ring 1 with a bad TSS.SS1: #TS(SS1 selector), EIP of the CALL', () => {
    const m = new Machine({ cpl: 3 });
    m.w32(TSS_BASE + 16, Sel.DATA0);
    const a = m.load(`
    insn:
      lcall $SEL_CALL_GATE, $0`);
    m.setCallGate(CODE + 0x100, Sel.CODE1, 0);
    expectFrame(m.runToEvent(), { vector: Vector.TS, errorCode: Sel.DATA0, eip: symbol(a, 'insn'), handlerCpl: 0 });
  });
});

describe('code segment limits and types (SDM vol. 3, 5.3, 5.4)', () => {
  /** A 32-bit DPL-0 code segment at base 0 whose limit ends inside the test code. */
  function smallCode(m: Machine, limit: number): number {
    m.setDescriptor(30, 0, limit, SegAttr.P | SegAttr.S | SegAttr.CODE | SegAttr.WR | SegAttr.DB);
    return 30 * 8;
  }

  it('a near jump beyond the CS limit: #GP(0) on the jump', () => {
    const m = new Machine({ cpl: 0 });
    const sel = smallCode(m, CODE + 0x3f);
    const a = m.load(`
      ljmp $${sel}, $small
    small:
    insn:
      jmp far
      .org 0x80
    far:
      out %al, $DONE_PORT`);
    expectFrame(m.runToEvent(), { vector: Vector.GP, errorCode: 0, eip: symbol(a, 'insn'), cs: sel });
  });

  it('running into the CS limit: #GP(0) on the instruction that does not fit', () => {
    const m = new Machine({ cpl: 0 });
    const sel = smallCode(m, CODE + 0x1f);
    const a = m.load(`
      ljmp $${sel}, $small
    small:
      .org 0x1e, 0x90
    insn:
      mov $0x12345678, %eax`);
    assert.equal(symbol(a, 'insn'), CODE + 0x1e);
    expectFrame(m.runToEvent(), { vector: Vector.GP, errorCode: 0, eip: symbol(a, 'insn'), cs: sel });
  });

  it('reading through an execute-only CS is #GP(0); a readable one is fine', () => {
    const m = new Machine({ cpl: 3 });
    const a = m.load(`
      mov %cs:DATA, %ebx
      ljmp $SEL_EXEC_ONLY, $there
    there:
    insn:
      mov %cs:DATA, %eax
      out %al, $DONE_PORT`);
    expectFrame(m.runToEvent(), { vector: Vector.GP, errorCode: 0, eip: symbol(a, 'insn'), cs: Sel.EXEC_ONLY });
  });
});

describe('control registers (SDM vol. 3, 2.5; vol. 2, MOV CRn)', () => {
  it('invalid CR0/CR4 values are #GP(0); CR1 and CR5-7 are #UD', () => {
    const cases: [string, string, string, number][] = [
      ['PG without PE', 'mov $0x80000000, %eax', 'mov %eax, %cr0', Vector.GP],
      ['NW without CD', 'mov %cr0, %eax\n or $0x20000000, %eax\n and $~0x40000000, %eax', 'mov %eax, %cr0', Vector.GP],
      ['CR4.PKE (not advertised by CPUID)', 'mov $0x400000, %eax', 'mov %eax, %cr4', Vector.GP],
      ['read CR1', '', '.byte 0x0f, 0x20, 0xc8', Vector.UD],
      ['write CR5', '', '.byte 0x0f, 0x22, 0xe8', Vector.UD],
    ];
    for (const [what, setup, insn, vector] of cases) {
      const m = new Machine({ cpl: 0 });
      const a = m.load(`
        ${setup}
      insn:
        ${insn}
        out %al, $DONE_PORT`);
      expectFrame(m.runToEvent(), { vector, errorCode: vector === Vector.GP ? 0 : null, eip: symbol(a, 'insn') }, what);
    }
  });

  it('CR0.ET reads 1; CR3 keeps PWT and PCD; CLTS clears TS', () => {
    const m = new Machine({ cpl: 0, cr0: Cr0.TS });
    m.load(`
      mov %cr0, %ebx
      clts
      mov %cr0, %ecx
      mov $${0x20000 | 0x18 | 0x7}, %eax
      mov %eax, %cr3
      mov %cr3, %edx
      out %al, $DONE_PORT`);
    m.runToDone();
    assert.equal(m.ebx & (Cr0.ET | Cr0.TS | Cr0.PE), Cr0.ET | Cr0.TS | Cr0.PE);
    assert.equal(m.ecx & Cr0.TS, 0);
    assert.equal(m.edx, 0x20000 | 0x18);
  });
});

describe('#AC (SDM vol. 3, 6.15 interrupt 17; vol. 1, 4.1.1)', () => {
  // SDM vol. 3, 6.15 (#AC): CR0.AM=1, EFLAGS.AC=1 and CPL 3; the aligned load passes.
  it(
    '#AC(0): a misaligned data access at CPL 3 with CR0.AM=1 and EFLAGS.AC=1 (an aligned one is fine)',
    () => {
      const m = new Machine({ cpl: 3, cr0: Cr0.AM });
      const a = m.load(`
        pushf
        orl $${Eflags.AC}, (%esp)
        popf
        mov DATA + 4, %ebx
      insn:
        mov DATA + 1, %eax
        out %al, $DONE_PORT`);
      expectFrame(m.runToEvent(), { vector: Vector.AC, errorCode: 0, eip: symbol(a, 'insn'), cs: Sel.CODE3 });
    },
  );
});
