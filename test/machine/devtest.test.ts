/**
 * The device test kernel (guest/devtest, written for QEMU's PC) on shadowvisor's board: it finds
 * the MP tables, programs the I/O APIC and the local APIC timer, takes UART and IDE interrupts,
 * writes and reads back disk sectors and reads the CMOS clock; its own checks must all pass,
 * and the disk image must hold exactly what it wrote, at its original size.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FileDisk } from '../../src/api/node.ts';
import { boot, tempImage } from './boot.ts';

/** What devtest writes (guest/devtest/ide.c): 32 rows "lba NNNN row RR\n" per sector. */
function expectedImage(): Uint8Array {
  const img = new Uint8Array(1 << 20);
  for (const lba of [1, 2, 3, 4, 2046, 2047]) {
    let text = '';
    for (let row = 0; row < 32; row++) text += `lba ${String(lba).padStart(4, '0')} row ${String(row).padStart(2, '0')}\n`;
    img.set(new TextEncoder().encode(text), lba * 512);
  }
  return img;
}

describe('device test kernel', () => {
  const image = tempImage(1 << 20);
  const disk = FileDisk.open(image);
  const run = boot('guest/devtest/devtest.elf', '', [disk]);
  disk.close();

  it('passes all its checks and exits through the debug-exit port with code 0', () => {
    assert.match(run.output, /devtest: all checks passed/);
    assert.deepEqual(run.exit, { kind: 'exit', status: 1 });
  });

  it('found the firmware tables a PC BIOS leaves', () => {
    assert.match(run.output, /bda: COM1 at 0x3f8, EBDA segment 0x9fc0/);
    assert.match(run.output, /mp: .*spec 1\.4, checksum ok/);
    assert.match(run.output, /mp: ISA IRQ 0 arrives on IOAPIC pin 2/);
  });

  it('took the interrupts of every device it drove', () => {
    assert.match(run.output, /lapic: timer periodic, divide by 16, .*: 10 interrupts/);
    assert.match(run.output, /uart: 3 THRE interrupts/);
    assert.match(run.output, /ide: 15 interrupts on ISA IRQ 14 \(vector 0x5e\), 15 expected/);
    assert.equal(run.interrupts['disk (IDE, IRQ 14)'], 15);
  });

  it('read the CMOS clock at the simulated epoch', () => {
    assert.match(run.output, /rtc: 2026-01-01 00:00:0\d/);
  });

  it('left the disk image intact: the same size, holding exactly what the guest wrote', () => {
    assert.equal(statSync(image).size, 1 << 20);
    assert.ok(Buffer.from(readFileSync(image)).equals(Buffer.from(expectedImage())));
  });

  it('runs deterministically: the same output and counters twice', () => {
    const again = tempImage(1 << 20);
    const d = FileDisk.open(again);
    const second = boot('guest/devtest/devtest.elf', '', [d]);
    d.close();
    assert.equal(second.output, run.output);
    assert.equal(second.instructions, run.instructions);
    assert.equal(second.cycles, run.cycles);
    assert.deepEqual(second.counters, run.counters);
    assert.deepEqual(second.interrupts, run.interrupts);
  });
});
