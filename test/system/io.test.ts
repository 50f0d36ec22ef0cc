/**
 * I/O permission (Intel SDM vol. 1, 19.5 "Protected-mode I/O"): IN/OUT/INS/OUTS are allowed
 * when CPL <= IOPL; otherwise the processor consults the I/O permission bitmap in the TSS — every
 * bit of every port byte accessed must be 0 — and a bitmap byte beyond the TSS limit counts as
 * set. A refused access is #GP(0) before any bus cycle; the port bus records what reached it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Vector } from '../../src/hw/x86/vectors.ts';
import { Machine, type PortAccess, symbol } from './machine.ts';

/** Runs `insn` at `cpl`/`iopl` with DX = `port`; returns the #GP frame or null and the bus accesses. */
function io(cpl: number, iopl: number, insn: string, port: number, setup: (m: Machine) => void = () => {}) {
  const m = new Machine({ cpl, iopl });
  setup(m);
  const a = m.load(`
    mov $${port}, %edx
    mov $0x12345678, %eax
    mov $DATA, %esi
    mov $DATA, %edi
    movl $0xa1b2c3d4, DATA
  insn:
    ${insn}
    out %al, $DONE_PORT`);
  const exit = m.run();
  assert.equal(exit.kind, 'request');
  const gp = exit.kind === 'request' && exit.reason === 'event' ? m.frame() : null;
  if (gp !== null) {
    assert.equal(gp.vector, Vector.GP, insn);
    assert.equal(gp.errorCode, 0, insn);
    assert.equal(gp.eip, symbol(a, 'insn'), `${insn}: a fault on the I/O instruction`);
  }
  return { m, gp, accesses: m.ports.accesses as readonly PortAccess[] };
}

describe('IN/OUT with CPL <= IOPL: no bitmap check (SDM vol. 1, 19.5.1)', () => {
  it('CPL 3 with IOPL 3 may use any port, even with its bitmap bit set', () => {
    const r = io(3, 3, 'outb %al, %dx', 0x3f8, (m) => m.denyPorts(0x3f8));
    assert.equal(r.gp, null);
    assert.deepEqual(r.accesses, [{ dir: 'out', port: 0x3f8, size: 1, value: 0x78 }]);
  });

  it('CPL 0 ignores IOPL and the bitmap; so does CPL 1 with IOPL 1', () => {
    for (const [cpl, iopl] of [
      [0, 0],
      [1, 1],
      [2, 3],
    ]) {
      const r = io(cpl!, iopl!, 'inl %dx, %eax', 0x60, (m) => m.denyPorts(0x60));
      assert.equal(r.gp, null, `CPL ${cpl} IOPL ${iopl}`);
      assert.deepEqual(r.accesses, [{ dir: 'in', port: 0x60, size: 4, value: 0x5a5a5a5a }]);
      assert.equal(r.m.eax, 0x5a5a5a5a);
    }
  });
});

describe('CPL > IOPL: the TSS I/O permission bitmap (SDM vol. 1, 19.5.2)', () => {
  it('a clear bit allows the access', () => {
    const r = io(3, 0, 'outw %ax, %dx', 0x1f0, (m) => m.denyPorts(0x1ef, 0x1f2));
    assert.equal(r.gp, null);
    assert.deepEqual(r.accesses, [{ dir: 'out', port: 0x1f0, size: 2, value: 0x5678 }]);
  });

  it('a set bit is #GP(0), and the access never reaches the bus', () => {
    for (const insn of ['outb %al, %dx', 'inb %dx, %al', 'outl %eax, %dx', 'inw %dx, %ax']) {
      const r = io(3, 0, insn, 0x80, (m) => m.denyPorts(0x80));
      assert.notEqual(r.gp, null, insn);
      assert.deepEqual(r.accesses, [], insn);
      assert.equal(r.m.eax, 0x12345678, `${insn}: EAX untouched`);
    }
  });

  it('the immediate-port forms are checked the same way', () => {
    const r = io(2, 1, 'outb %al, $0x70', 0, (m) => m.denyPorts(0x70));
    assert.notEqual(r.gp, null);
    const ok = io(2, 1, 'inb $0x71, %al', 0, (m) => m.denyPorts(0x70));
    assert.equal(ok.gp, null);
    assert.deepEqual(ok.accesses, [{ dir: 'in', port: 0x71, size: 1, value: 0x5a }]);
  });

  it('a multi-byte access needs every byte port clear: straddling a set bit is #GP(0)', () => {
    // Word at 0x3ff covers 0x3ff and 0x400 (a bitmap byte boundary); dword at 0x3fd covers 0x3fd-0x400.
    for (const [insn, port] of [
      ['outw %ax, %dx', 0x3ff],
      ['outl %eax, %dx', 0x3fd],
      ['inl %dx, %eax', 0x3fe],
    ] as const) {
      const r = io(3, 0, insn, port, (m) => m.denyPorts(0x400));
      assert.notEqual(r.gp, null, `${insn} at ${port.toString(16)}`);
      assert.deepEqual(r.accesses, []);
    }
    // The bits just below are clear: a dword ending at 0x3ff is fine.
    const ok = io(3, 0, 'outl %eax, %dx', 0x3fc, (m) => m.denyPorts(0x400));
    assert.equal(ok.gp, null);
  });

  it('INS and OUTS are checked too', () => {
    const outs = io(3, 0, 'outsb', 0x2f8, (m) => m.denyPorts(0x2f8));
    assert.notEqual(outs.gp, null);
    assert.equal(outs.m.esi, 0xb000, 'ESI not advanced');
    const ins = io(3, 0, 'insl', 0x2f8, (m) => m.denyPorts(0x2fb));
    assert.notEqual(ins.gp, null);
    const ok = io(3, 0, 'outsw', 0x2f8);
    assert.equal(ok.gp, null);
    assert.deepEqual(ok.accesses, [{ dir: 'out', port: 0x2f8, size: 2, value: 0xc3d4 }]);
  });

  it('a port whose bitmap byte lies beyond the TSS limit is #GP(0), even if memory there is zero', () => {
    // Bitmap of 0x80 bytes (ports 0-0x3ff) and the 0xff byte after it; the TSS ends there. The
    // memory after it is zero, as a full bitmap allowing these ports would be.
    for (const port of [0x800, 0x1000, 0xffff]) {
      assert.equal(io(3, 0, 'inb %dx, %al', port).gp, null, 'sanity: with the full bitmap these ports are allowed');
    }
    for (const port of [0x800, 0x1000, 0xffff]) {
      const m = new Machine({ cpl: 3, ioBitmapBytes: 0x80 });
      assert.equal(m.r32(0x1000 + 0x68 + ((port >>> 3) & ~3)), 0);
      const a = m.load(`
        mov $${port}, %edx
      insn:
        inb %dx, %al
        out %al, $DONE_PORT`);
      const f = m.runToEvent();
      assert.equal(f.vector, Vector.GP, `port ${port.toString(16)}`);
      assert.equal(f.errorCode, 0);
      assert.equal(f.eip, symbol(a, 'insn'));
      assert.deepEqual(m.ports.accesses, []);
    }
  });

  it('inside a short bitmap: the last covered port works; a word reaching the 0xff byte does not', () => {
    const m = new Machine({ cpl: 3, ioBitmapBytes: 0x80 });
    const a = m.load(`
      mov $0x3ff, %edx
      inb %dx, %al
    insn:
      inw %dx, %ax
      out %al, $DONE_PORT`);
    const f = m.runToEvent();
    assert.equal(f.vector, Vector.GP);
    assert.equal(f.eip, symbol(a, 'insn'));
    assert.deepEqual(m.ports.accesses, [{ dir: 'in', port: 0x3ff, size: 1, value: 0x5a }]);
  });
});
