import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../platform/clock.ts';
import type { ByteSource } from './device.ts';
import { Uart16550 } from './uart-16550.ts';

const COM1 = 0x3f8;
const RBR = COM1;
const THR = COM1;
const IER = COM1 + 1;
const IIR = COM1 + 2;
const FCR = COM1 + 2;
const LCR = COM1 + 3;
const MCR = COM1 + 4;
const LSR = COM1 + 5;
const MSR = COM1 + 6;
const SCR = COM1 + 7;

/** A host input whose bytes can be added later; counts the bytes taken. */
class Input implements ByteSource {
  bytes: number[] = [];
  taken = 0;
  read(): number {
    if (this.bytes.length === 0) return -1;
    this.taken++;
    return this.bytes.shift()!;
  }
  ready(): boolean {
    return this.bytes.length > 0;
  }
}

/** One character at 9600 baud (QEMU's reset divisor, 12): 10 bits, in ns. */
const CHAR_9600 = (10 * 1e9) / 9600;

function setup() {
  const clock = new ManualClock();
  const input = new Input();
  const sent: number[] = [];
  let level = false;
  let rises = 0;
  const uart = new Uart16550(
    COM1,
    {
      set: (l) => {
        if (l && !level) rises++;
        level = l;
      },
    },
    clock,
    input,
    { write: (b) => sent.push(b) },
  );
  return {
    uart,
    clock,
    /** Lets `n` characters' time pass at 9600 baud (arrivals run). */
    wait: (n: number) => clock.advance(clock.t + Math.ceil(n * CHAR_9600)),
    input,
    sent,
    irq: () => level,
    rises: () => rises,
    out: (port: number, v: number) => uart.write(port, 1, v),
    inb: (port: number) => uart.read(port, 1),
  };
}

describe('16550 UART', () => {
  it('has the reset values of the datasheet/QEMU (IIR none, MCR OUT2, MSR CTS|DSR|DCD, LSR THRE|TEMT)', () => {
    const { inb } = setup();
    assert.equal(inb(IIR), 0x01);
    assert.equal(inb(LCR), 0x00);
    assert.equal(inb(MCR), 0x08);
    assert.equal(inb(MSR), 0xb0);
    assert.equal(inb(LSR), 0x60);
  });

  it('programs the divisor through DLAB and transmits at once', () => {
    const { out, inb, sent } = setup();
    out(LCR, 0x80); // DLAB
    out(COM1, 0x01); // 115200 baud
    out(COM1 + 1, 0x00);
    assert.equal(inb(COM1), 0x01);
    assert.equal(inb(COM1 + 1), 0x00);
    out(LCR, 0x03); // 8N1, DLAB off
    assert.equal(inb(IER), 0x00, 'offset 1 is IER again');
    for (const ch of 'Hi\n') out(THR, ch.charCodeAt(0));
    assert.deepEqual(sent, [0x48, 0x69, 0x0a]);
    assert.equal(inb(LSR), 0x60, 'THRE and TEMT stay set');
  });

  it('receives from the host a character time after the receiver has room; RBR consumes one byte', () => {
    const { uart, input, inb, wait } = setup();
    input.bytes.push(0x41, 0x42);
    uart.poll();
    assert.equal(inb(LSR), 0x60, 'nothing yet: the first byte is on the line');
    wait(0.9);
    assert.equal(inb(LSR), 0x60, 'still on the line after 0.9 character times');
    wait(0.1);
    assert.equal(inb(LSR), 0x61, 'arrived after one character time (10 bits at 9600 baud)');
    assert.equal(input.taken, 1, 'the second byte waits in the host: RBR is full');
    assert.equal(inb(RBR), 0x41);
    assert.equal(inb(LSR), 0x60, 'data ready drops once the receiver is read empty');
    wait(1);
    assert.equal(inb(RBR), 0x42);
    assert.equal(inb(LSR), 0x60);
    assert.equal(inb(RBR), 0x42, 'RBR holds the last byte when nothing new arrived');
  });

  it('fills the 16-byte FIFO when enabled, one character time per byte', () => {
    const { uart, input, out, inb, wait } = setup();
    out(FCR, 0x01);
    for (let i = 0; i < 20; i++) input.bytes.push(0x30 + i);
    uart.poll();
    wait(20);
    assert.equal(input.taken, 16, 'the FIFO holds 16; the rest wait in the host');
    for (let i = 0; i < 16; i++) assert.equal(inb(RBR), 0x30 + i);
    assert.equal(inb(LSR) & 0x01, 0);
    wait(4);
    assert.equal(input.taken, 20);
  });

  it('identifies interrupts in priority order: data available, then THR empty', () => {
    const { uart, out, inb, input, irq, wait } = setup();
    input.bytes.push(0x61);
    out(FCR, 0x07); // enable and clear FIFOs
    out(IER, 0x03); // ERBFI | ETBEI
    uart.poll();
    wait(1);
    assert.equal(irq(), true);
    assert.equal(inb(IIR), 0xc4, 'received data, FIFO bits 7-6 set');
    assert.equal(inb(RBR), 0x61);
    assert.equal(inb(IIR), 0xc2, 'then THR empty');
    assert.equal(irq(), false, 'reading IIR with THRE reported clears it');
    assert.equal(inb(IIR), 0xc1);
    out(FCR, 0x00);
    assert.equal(inb(IIR), 0x01, 'FIFO bits clear with the FIFOs off');
  });

  it('raises THRE when ETBEI goes 0->1 and again after each THR write', () => {
    const { out, inb, irq, rises } = setup();
    out(MCR, 0x00); // OUT2 low: QEMU asserts the line anyway
    out(IER, 0x02);
    assert.equal(irq(), true);
    assert.equal(rises(), 1);
    assert.equal(inb(IIR), 0x02);
    assert.equal(irq(), false);
    out(THR, 0x2e);
    assert.equal(irq(), true, 'the THR emptied again at once');
    assert.equal(rises(), 2, 'a fresh edge for an edge-triggered PIC');
    out(IER, 0x00);
    assert.equal(irq(), false);
  });

  it('gives an edge per received byte when the guest empties the receiver each time (edge-triggered controllers)', () => {
    const { uart, out, input, irq, inb, rises, wait } = setup();
    out(IER, 0x01);
    input.bytes.push(0x7a, 0x7b, 0x7c);
    assert.equal(irq(), false);
    uart.poll();
    for (const b of [0x7a, 0x7b, 0x7c]) {
      wait(1);
      assert.equal(irq(), true);
      assert.equal(inb(IIR), 0x04);
      assert.equal(inb(RBR), b);
      assert.equal(irq(), false, 'the line drops until the next byte arrives');
    }
    assert.equal(rises(), 3);
  });

  it('loops back in MCR loop mode: Linux autoconfig sees CTS|DCD for RTS|OUT2', () => {
    const { uart, out, inb, sent, input, wait } = setup();
    input.bytes.push(0x55);
    out(MCR, 0x1a); // LOOP | OUT2 | RTS
    uart.poll();
    wait(2);
    assert.equal(inb(MSR) & 0xf0, 0x90);
    assert.equal(inb(LSR) & 0x01, 0, 'the serial input is disconnected');
    out(THR, 0x5a);
    assert.deepEqual(sent, [], 'nothing leaves in loopback');
    assert.equal(inb(LSR), 0x61);
    assert.equal(inb(RBR), 0x5a);
    assert.equal(input.taken, 0);
  });

  it('reports a loopback overrun as the highest-priority line status interrupt', () => {
    const { out, inb, irq } = setup();
    out(MCR, 0x10);
    out(IER, 0x07); // RLS | THRE | RDA
    out(THR, 0x01);
    out(THR, 0x02); // no FIFO: overwrites the unread byte
    assert.equal(inb(IIR), 0x06);
    assert.equal(inb(LSR), 0x63, 'OE | DR | THRE | TEMT');
    assert.equal(inb(LSR), 0x61, 'reading LSR cleared OE');
    assert.equal(inb(IIR), 0x04);
    assert.equal(inb(RBR), 0x02);
    assert.equal(inb(IIR), 0x02);
    assert.equal(inb(IIR), 0x01);
    assert.equal(irq(), false);
  });

  it('keeps 16 bytes in the receive FIFO in loopback and clears it with FCR bit 1', () => {
    const { out, inb } = setup();
    out(FCR, 0x01);
    out(MCR, 0x10);
    for (let i = 0; i < 17; i++) out(THR, i);
    assert.equal(inb(LSR) & 0x02, 0x02, 'the 17th byte overran');
    assert.equal(inb(RBR), 0);
    out(FCR, 0x03);
    assert.equal(inb(LSR) & 0x01, 0);
  });

  it('sets modem status deltas from MCR changes in loopback, with the lowest-priority interrupt', () => {
    const { out, inb, irq } = setup();
    out(MCR, 0x10);
    out(IER, 0x08);
    out(MCR, 0x10 | 0x02 | 0x04); // RTS -> CTS, OUT1 -> RI
    assert.equal(inb(IIR), 0x00);
    assert.equal(inb(MSR), 0x10 | 0x40 | 0x01, 'CTS, RI, delta CTS');
    assert.equal(irq(), false, 'reading MSR cleared the deltas');
    out(MCR, 0x10 | 0x02); // RI falls: trailing edge
    assert.equal(inb(MSR), 0x10 | 0x04);
  });

  it('stores the scratch register and ignores writes to LSR/MSR', () => {
    const { out, inb } = setup();
    out(SCR, 0xa5);
    assert.equal(inb(SCR), 0xa5);
    out(LSR, 0x00);
    out(MSR, 0x00);
    assert.equal(inb(LSR), 0x60);
    assert.equal(inb(MSR), 0xb0);
  });
});
