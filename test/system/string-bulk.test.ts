/**
 * REP STOS and REP MOVS done in page-sized blocks (string.ts, bulk) must be exactly the
 * iterations the SDM describes (vol. 2, REP; MOVS, STOS): every byte written as the element-by-
 * element loop would write it — a MOVS whose destination overlaps its source one element ahead
 * replicates the first element, as the byte-at-a-time definition does — ECX, ESI and EDI at the
 * end, across page boundaries and from unaligned starts, and one simulated cycle-cost per
 * iteration; and interrupted at the deadline between exactly the iterations the rule gives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SegAttr } from '../../src/hw/x86/descriptors.ts';
import { Machine } from './machine.ts';

/** A data segment over the first 4 MiB only (not flat): string instructions through it go element by element. */
const LIMITED = 0x180;

const SRC = 0x100000;
const DST = 0x120000;
const AREA = 0x40000;

/** The reference: the string instruction one element at a time, on a copy of memory. */
function model(mem: Uint8Array, op: 'stos' | 'movs', size: 1 | 2 | 4, src: number, dst: number, count: number, value: number): void {
  for (let k = 0; k < count; k++) {
    for (let b = 0; b < size; b++) {
      const byte = op === 'stos' ? (value >>> (8 * b)) & 0xff : mem[src + k * size + b]!;
      mem[dst + k * size + b] = byte;
    }
  }
}

const SUFFIX = { 1: 'b', 2: 'w', 4: 'l' } as const;

function run(op: 'stos' | 'movs', size: 1 | 2 | 4, src: number, dst: number, count: number, paging: boolean, deadlineAfter = 0, limited = false) {
  const m = new Machine({ cpl: 0, paging });
  m.setDescriptor(LIMITED >> 3, 0, 0x3fffff, SegAttr.P | SegAttr.S | SegAttr.WR | SegAttr.DB);
  for (let a = SRC; a < SRC + AREA; a++) m.mem.write8(a, (a * 7 + 3) & 0xff);
  for (let a = DST; a < DST + AREA; a++) m.mem.write8(a, 0x5a);
  const expected = new Uint8Array(0x200000);
  for (let a = SRC; a < DST + AREA; a++) expected[a] = m.mem.read8(a);
  const value = 0x81c3e5a7;
  model(expected, op, size, src, dst, count, value);
  m.load(`
    mov $${limited ? LIMITED : 0x10}, %bx
    mov %bx, %ds
    mov %bx, %es
    mov $${src}, %esi
    mov $${dst}, %edi
    mov $${count}, %ecx
    mov $${value}, %eax
    cld
    out %al, $STOP_PORT
    rep ${op}${SUFFIX[size]}
    out %al, $DONE_PORT`);
  m.runUntil('stop');
  const start = m.cpu.cycles;
  let resumed = 0;
  if (deadlineAfter > 0) {
    m.cpu.deadline = start + deadlineAfter;
    const exit = m.run();
    assert.equal(exit.kind, 'deadline');
    resumed = count - (m.cpu.regs[1]! >>> 0);
    m.cpu.deadline = Number.POSITIVE_INFINITY;
  }
  m.runToDone();
  for (let a = SRC; a < DST + AREA; a++) if (m.mem.read8(a) !== expected[a]) assert.fail(`byte at 0x${a.toString(16)}: 0x${m.mem.read8(a).toString(16)}, expected 0x${expected[a]!.toString(16)}`);
  assert.equal(m.cpu.regs[1], 0, 'ECX');
  assert.equal(m.cpu.regs[7]! >>> 0, dst + count * size, 'EDI');
  if (op === 'movs') assert.equal(m.cpu.regs[6]! >>> 0, src + count * size, 'ESI');
  return { m, start, resumed };
}

describe('REP STOS and REP MOVS in blocks are the element-by-element iterations', () => {
  for (const paging of [false, true]) {
    for (const size of [1, 2, 4] as const) {
      it(`rep stos${SUFFIX[size]} over several pages from an unaligned start (paging ${paging ? 'on' : 'off'})`, () => {
        run('stos', size, SRC, DST + 0x7fd, Math.floor(0x3321 / size), paging);
      });
      it(`rep movs${SUFFIX[size]} over several pages, source and destination at different page offsets (paging ${paging ? 'on' : 'off'})`, () => {
        run('movs', size, SRC + 0x123, DST + 0xabe, Math.floor(0x4567 / size), paging);
      });
    }
  }

  it('rep movsb with the destination one byte ahead of the source replicates the first byte (no memmove)', () => {
    run('movs', 1, SRC + 0x10, SRC + 0x11, 0x2500, true);
  });

  it('rep movsl with the destination behind the source (a forward copy that moves down) is exact', () => {
    run('movs', 4, SRC + 0x1008, SRC + 0x1000, 0x800, true);
  });

  it('a deadline stops it between the same iterations as the element-by-element loop, then it resumes', () => {
    for (const after of [1, 2, 3, 777, 4101, 9000]) {
      for (const [op, size] of [['stos', 1], ['stos', 4], ['movs', 1], ['movs', 4]] as const) {
        // The loop's own answer: through a segment that is not flat, nothing goes in blocks.
        const loop = run(op, size, SRC + 0x10, DST + 0x20, 0x3000, true, after, true).resumed;
        assert.equal(run(op, size, SRC + 0x10, DST + 0x20, 0x3000, true, after).resumed, loop, `rep ${op}, size ${size}, deadline ${after} cycles in`);
        assert.ok(loop >= 1 && loop <= after, 'at least one iteration, and at least one cycle each');
      }
    }
  });
});
