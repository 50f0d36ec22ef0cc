import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ByteSource } from './device.ts';
import { Ps2Controller } from './ps2-controller.ts';

class Input implements ByteSource {
  bytes: number[] = [];
  taken = 0;
  type(text: string): void {
    for (const ch of text) this.bytes.push(ch.charCodeAt(0));
  }
  read(): number {
    if (this.bytes.length === 0) return -1;
    this.taken++;
    return this.bytes.shift()!;
  }
  ready(): boolean {
    return this.bytes.length > 0;
  }
}

function setup() {
  const input = new Input();
  let level = false;
  let rises = 0;
  let resets = 0;
  const kbc = new Ps2Controller(
    {
      set: (l) => {
        if (l && !level) rises++;
        level = l;
      },
    },
    input,
    () => resets++,
  );
  const status = () => kbc.read(0x64, 1);
  /** Reads every byte the controller has, the way a polling driver does (status, then data). */
  const drain = () => {
    const out: number[] = [];
    while ((status() & 0x01) !== 0) out.push(kbc.read(0x60, 1));
    return out;
  };
  return {
    kbc,
    input,
    status,
    drain,
    cmd: (v: number) => kbc.write(0x64, 1, v),
    data: (v: number) => kbc.write(0x60, 1, v),
    irq: () => level,
    rises: () => rises,
    resets: () => resets,
  };
}

describe('8042 keyboard controller', () => {
  it('reports the system flag, a command write last and an unlocked keyboard at power-on', () => {
    const { status, cmd, drain } = setup();
    assert.equal(status(), 0x1c);
    cmd(0x20); // read command byte
    assert.equal(status() & 0x01, 0x01);
    assert.deepEqual(drain(), [0x61], 'translation, aux disabled, keyboard IRQ: what SeaBIOS leaves (guest/entry-probe)');
  });

  it('passes the controller and interface self-tests', () => {
    const { cmd, drain } = setup();
    cmd(0xaa);
    assert.deepEqual(drain(), [0x55]);
    cmd(0xab);
    assert.deepEqual(drain(), [0x00]);
    cmd(0xa9);
    assert.deepEqual(drain(), [0x00]);
  });

  it('writes the command byte and controller RAM through port 0x60', () => {
    const { cmd, data, drain, status } = setup();
    cmd(0x60);
    data(0x20); // IRQ off, translation off, system flag clear
    assert.equal(status() & 0x0c, 0x04, 'SYS stays as the self-test left it (QEMU pckbd.c); A2 = 0 after a data write');
    cmd(0x20);
    assert.deepEqual(drain(), [0x20]);
    cmd(0x65);
    data(0x99);
    cmd(0x25);
    assert.deepEqual(drain(), [0x99]);
    cmd(0xa8);
    cmd(0x20);
    assert.deepEqual(drain(), [0x00], 'A8 enabled the auxiliary port (bit 5 clear)');
  });

  it('answers the keyboard commands of a reset sequence', () => {
    const { data, drain, cmd } = setup();
    data(0xff);
    assert.deepEqual(drain(), [0xfa, 0xaa]);
    data(0xee);
    assert.deepEqual(drain(), [0xee]);
    data(0xf5);
    data(0xed);
    data(0x07);
    assert.deepEqual(drain(), [0xfa, 0xfa, 0xfa]);
    data(0xf2);
    assert.deepEqual(drain(), [0xfa, 0xab, 0x41], 'MF2 ID 0x83 comes through the translator as 0x41');
    data(0xf0);
    data(0x00);
    assert.deepEqual(drain(), [0xfa, 0xfa, 0x41], 'set 2, translated');
    cmd(0x60);
    data(0x05); // translation off
    data(0xf2);
    assert.deepEqual(drain(), [0xfa, 0xab, 0x83]);
    data(0xf0);
    data(0x00);
    assert.deepEqual(drain(), [0xfa, 0xfa, 0x02]);
    data(0xf0);
    data(0x09);
    assert.deepEqual(drain(), [0xfa, 0xfe], 'no scan code set 9');
    data(0x99);
    assert.deepEqual(drain(), [0xfe], 'unknown command: resend');
    data(0xf4);
    assert.deepEqual(drain(), [0xfa]);
  });

  it('types ASCII as set 1 make/break codes, shifted keys wrapped in Left Shift', () => {
    const { input, drain } = setup();
    input.type('aB1!\n\x08\t \x1b\x03');
    assert.deepEqual(drain(), [
      0x1e, 0x9e, // a
      0x2a, 0x30, 0xb0, 0xaa, // Shift + b
      0x02, 0x82, // 1
      0x2a, 0x02, 0x82, 0xaa, // Shift + 1
      0x1c, 0x9c, // Enter
      0x0e, 0x8e, // Backspace
      0x0f, 0x8f, // Tab
      0x39, 0xb9, // Space
      0x01, 0x81, // Escape
      0x1d, 0x2e, 0xae, 0x9d, // Ctrl + c
    ]);
  });

  it('types set 2 codes when the guest turns translation off', () => {
    const { input, drain, cmd, data } = setup();
    cmd(0x60);
    data(0x05);
    input.type('aZ');
    assert.deepEqual(drain(), [0x1c, 0xf0, 0x1c, 0x12, 0x1a, 0xf0, 0x1a, 0xf0, 0x12]);
  });

  it('takes keystrokes only when the guest looks, one at a time', () => {
    const { kbc, input, status } = setup();
    input.type('xy');
    assert.equal(input.taken, 0);
    assert.equal(status() & 0x01, 0x01);
    assert.equal(input.taken, 1);
    assert.equal(kbc.read(0x60, 1), 0x2d); // x make
    assert.equal(kbc.read(0x60, 1), 0xad); // x break, already queued
    assert.equal(input.taken, 1, 'y waits until x has been read');
  });

  it('raises IRQ 1 from poll() and gives each byte its own edge', () => {
    const { kbc, input, irq, rises, cmd, data } = setup();
    input.type('q');
    assert.equal(irq(), false);
    kbc.poll();
    assert.equal(irq(), true);
    assert.equal(kbc.read(0x60, 1), 0x10);
    assert.equal(irq(), true, 'the break code follows');
    assert.equal(rises(), 2);
    assert.equal(kbc.read(0x60, 1), 0x90);
    assert.equal(irq(), false);
    cmd(0x60);
    data(0x64); // keyboard IRQ disabled
    input.type('w');
    kbc.poll();
    assert.equal(input.taken, 1, 'poll does not pull with the IRQ disabled');
  });

  it('holds keystrokes while the keyboard interface is disabled', () => {
    const { input, cmd, status, drain } = setup();
    cmd(0xad);
    input.type('e');
    assert.equal(status() & 0x01, 0);
    assert.equal(input.taken, 0);
    cmd(0xae);
    assert.deepEqual(drain(), [0x12, 0x92]);
  });

  it('pulses reset with 0xFE and with output port bit 0 cleared; stores A20', () => {
    const { kbc, cmd, data, drain, resets } = setup();
    cmd(0xd0);
    assert.deepEqual(drain(), [0xcf]);
    cmd(0xdd);
    assert.equal(kbc.a20, false);
    cmd(0xd1);
    data(0xcf);
    assert.equal(kbc.a20, true);
    assert.equal(resets(), 0);
    cmd(0xff); // pulse nothing
    assert.equal(resets(), 0);
    cmd(0xfe);
    assert.equal(resets(), 1);
    cmd(0xd1);
    data(0xce);
    assert.equal(resets(), 2);
  });

  it('loops a byte back as auxiliary data without IRQ 1', () => {
    const { kbc, cmd, data, status, irq } = setup();
    cmd(0xd3);
    data(0x5a);
    assert.equal(status() & 0x21, 0x21, 'OBF | AUXB');
    assert.equal(irq(), false);
    assert.equal(kbc.read(0x60, 1), 0x5a);
    cmd(0xd2);
    data(0x41);
    assert.equal(status() & 0x21, 0x01);
    assert.equal(irq(), true);
  });
});
