import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PicPair } from './pic-8259.ts';

/** A PIC pair with INTR observed, initialised as Linux and most kernels do (vectors 0x20/0x28). */
function setup(options: { icw4: number } = { icw4: 0x01 }): { pic: PicPair; intr: () => boolean } {
  let level = false;
  const pic = new PicPair({ set: (l) => (level = l) });
  const out = (port: number, v: number) => pic.write(port, 1, v);
  // ICW1: edge triggered, cascade mode, ICW4 needed (8259A datasheet, "Initialization Command Words").
  out(0x20, 0x11);
  out(0x21, 0x20); // ICW2: IR0 -> vector 0x20
  out(0x21, 0x04); // ICW3: a slave on IR2
  out(0x21, options.icw4); // ICW4: 8086 mode (bit 1: auto EOI)
  out(0xa0, 0x11);
  out(0xa1, 0x28);
  out(0xa1, 0x02); // ICW3: slave ID 2
  out(0xa1, options.icw4);
  return { pic, intr: () => level };
}

const readIrr = (pic: PicPair, port: number) => {
  pic.write(port, 1, 0x0a); // OCW3: read IRR
  return pic.read(port, 1);
};
const readIsr = (pic: PicPair, port: number) => {
  pic.write(port, 1, 0x0b); // OCW3: read ISR
  return pic.read(port, 1);
};

describe('8259A PIC pair', () => {
  it('delivers a rising edge after initialisation and blocks lower priorities until EOI', () => {
    const { pic, intr } = setup();
    assert.equal(pic.read(0x21, 1), 0x00, 'ICW1 clears the mask');
    pic.setIrq(0, true);
    assert.equal(intr(), true);
    assert.equal(pic.acknowledge(), 0x20);
    assert.equal(intr(), false);
    assert.equal(readIsr(pic, 0x20), 0x01);
    assert.equal(readIrr(pic, 0x20), 0x00, 'the edge request left IRR at INTA');
    pic.setIrq(1, true); // lower priority than IR0 in service
    assert.equal(intr(), false);
    pic.write(0x20, 1, 0x20); // non-specific EOI
    assert.equal(intr(), true);
    assert.equal(pic.acknowledge(), 0x21);
  });

  it('latches edges: a line held high requests once; low then high requests again', () => {
    const { pic, intr } = setup();
    pic.setIrq(4, true);
    assert.equal(pic.acknowledge(), 0x24);
    pic.write(0x20, 1, 0x20);
    pic.setIrq(4, true); // still high: no new edge
    assert.equal(intr(), false);
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    assert.equal(intr(), true);
    assert.equal(pic.acknowledge(), 0x24);
  });

  it('masks with OCW1 while keeping the request in IRR', () => {
    const { pic, intr } = setup();
    pic.write(0x21, 1, 0xfb); // everything but the cascade masked
    assert.equal(pic.read(0x21, 1), 0xfb);
    pic.setIrq(3, true);
    assert.equal(intr(), false);
    assert.equal(readIrr(pic, 0x20), 0x08);
    pic.write(0x21, 1, 0xf3);
    assert.equal(intr(), true);
    assert.equal(pic.acknowledge(), 0x23);
  });

  it('takes the highest priority first and lets a higher one nest', () => {
    const { pic, intr } = setup();
    pic.setIrq(5, true);
    pic.setIrq(3, true);
    assert.equal(pic.acknowledge(), 0x23);
    pic.setIrq(1, true);
    assert.equal(intr(), true, 'IR1 outranks IR3 in service');
    assert.equal(pic.acknowledge(), 0x21);
    assert.equal(readIsr(pic, 0x20), 0x0a);
    pic.write(0x20, 1, 0x20); // EOI clears the highest in service: IR1
    assert.equal(readIsr(pic, 0x20), 0x08);
    pic.write(0x20, 1, 0x63); // specific EOI for IR3
    assert.equal(pic.acknowledge(), 0x25);
  });

  it('cascades the slave through master IR2', () => {
    const { pic, intr } = setup();
    pic.setIrq(10, true);
    assert.equal(intr(), true);
    assert.equal(pic.acknowledge(), 0x2a);
    assert.equal(readIsr(pic, 0x20), 0x04);
    assert.equal(readIsr(pic, 0xa0), 0x04);
    pic.setIrq(9, true); // the slave holds it: its IR2 is in service, and the master's IR2 too
    assert.equal(intr(), false);
    pic.write(0xa0, 1, 0x20);
    pic.write(0x20, 1, 0x20);
    assert.equal(intr(), true);
    assert.equal(pic.acknowledge(), 0x29);
  });

  it('answers a vanished request with spurious IR7 and no ISR bit', () => {
    const { pic, intr } = setup();
    pic.write(0x4d0, 1, 0x20); // IRQ 5 level triggered
    pic.setIrq(5, true);
    assert.equal(intr(), true);
    pic.setIrq(5, false); // the device withdrew it before INTA
    assert.equal(pic.acknowledge(), 0x27);
    assert.equal(readIsr(pic, 0x20), 0x00);
  });

  it('a spurious slave request yields IRQ 15 and puts the master cascade in service', () => {
    const { pic, intr } = setup();
    pic.write(0x4d1, 1, 0x04); // IRQ 10 level triggered
    pic.setIrq(10, true);
    assert.equal(intr(), true);
    pic.setIrq(10, false);
    assert.equal(pic.acknowledge(), 0x2f);
    assert.equal(readIsr(pic, 0xa0), 0x00);
    assert.equal(readIsr(pic, 0x20), 0x04, 'the handler must EOI the master');
  });

  it('keeps a level-triggered request in IRR until the line drops', () => {
    const { pic, intr } = setup();
    pic.write(0x4d1, 1, 0x08); // IRQ 11 level
    pic.setIrq(11, true);
    assert.equal(pic.acknowledge(), 0x2b);
    assert.equal(readIrr(pic, 0xa0), 0x08);
    pic.write(0xa0, 1, 0x20);
    pic.write(0x20, 1, 0x20);
    assert.equal(intr(), true, 'still requesting after EOI');
    pic.setIrq(11, false);
    assert.equal(readIrr(pic, 0xa0), 0x00);
    // The master latched the slave's INT edge on IR2 (as QEMU does), so the withdrawn request
    // ends as a spurious IRQ 15 that leaves only the master's cascade in service.
    assert.equal(intr(), true);
    assert.equal(pic.acknowledge(), 0x2f);
    assert.equal(readIsr(pic, 0x20), 0x04);
    assert.equal(readIsr(pic, 0xa0), 0x00);
  });

  it('masks the ELCR bits the PIIX cannot make level (IRQ 0, 1, 2, 8, 13)', () => {
    const { pic } = setup();
    pic.write(0x4d0, 1, 0xff);
    pic.write(0x4d1, 1, 0xff);
    assert.equal(pic.read(0x4d0, 1), 0xf8);
    assert.equal(pic.read(0x4d1, 1), 0xde);
    assert.equal(pic.read(0x4d0, 2), 0xdef8);
  });

  it('makes every input level triggered with ICW1 LTIM', () => {
    let level = false;
    const pic = new PicPair({ set: (l) => (level = l) });
    for (const v of [0x19, 0x20, 0x04, 0x01]) pic.write(v === 0x19 ? 0x20 : 0x21, 1, v);
    pic.setIrq(6, true);
    assert.equal(pic.acknowledge(), 0x26);
    pic.write(0x20, 1, 0x20);
    assert.equal(level, true);
  });

  it('does not set ISR in automatic EOI mode', () => {
    const { pic, intr } = setup({ icw4: 0x03 });
    pic.setIrq(0, true);
    assert.equal(pic.acknowledge(), 0x20);
    assert.equal(readIsr(pic, 0x20), 0x00);
    pic.setIrq(1, true);
    assert.equal(intr(), true);
  });

  it('answers the poll command with I and the level, acknowledging it', () => {
    const { pic } = setup();
    pic.write(0x20, 1, 0x0c); // OCW3: poll
    assert.equal(pic.read(0x20, 1), 0x00, 'nothing pending');
    pic.setIrq(6, true);
    pic.write(0x20, 1, 0x0c);
    assert.equal(pic.read(0x20, 1), 0x86);
    assert.equal(readIsr(pic, 0x20), 0x40);
  });

  it('rotates priorities on EOI and with set-priority', () => {
    const { pic } = setup();
    pic.setIrq(0, true);
    assert.equal(pic.acknowledge(), 0x20);
    pic.write(0x20, 1, 0xa0); // rotate on non-specific EOI: IR0 becomes the lowest
    pic.setIrq(0, false);
    pic.setIrq(0, true);
    pic.setIrq(7, true);
    assert.equal(pic.acknowledge(), 0x27, 'IR7 now outranks IR0');
    pic.write(0x20, 1, 0x67); // specific EOI IR7
    pic.write(0x20, 1, 0xc4); // set priority: IR4 lowest, IR5 highest
    pic.setIrq(5, true);
    assert.equal(pic.acknowledge(), 0x25);
  });

  it('lets masked in-service levels stop blocking in special mask mode', () => {
    const { pic, intr } = setup();
    pic.setIrq(1, true);
    assert.equal(pic.acknowledge(), 0x21);
    pic.setIrq(6, true);
    assert.equal(intr(), false);
    pic.write(0x21, 1, 0x02); // mask IR1, which is in service
    pic.write(0x20, 1, 0x68); // OCW3: set special mask mode
    assert.equal(intr(), true);
    assert.equal(pic.acknowledge(), 0x26);
  });

  it('answers a stray acknowledge with the master IR7 vector', () => {
    const { pic } = setup();
    assert.equal(pic.acknowledge(), 0x27);
  });
});
