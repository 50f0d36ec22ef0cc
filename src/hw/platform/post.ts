/**
 * What SeaBIOS's power-on self test leaves in the devices before it boots a -kernel image under
 * QEMU 7.2 (measured with guest/entry-probe; the values are SeaBIOS's pic_setup, timer_setup,
 * serial and keyboard setup): done through the devices' own ports, as the BIOS does, so the
 * devices' state is what that programming gives.
 *   8259s   ICW1-4: edge-triggered, cascaded on IR2, vectors 0x08 (master) and 0x70 (slave),
 *           8086 mode; masks 0xB8 / 0x8E (IRQs 0, 1, 2, 6 and 8, 12, 13, 14 open); ELCR: IRQs
 *           10 and 11 level-triggered (SeaBIOS routes PCI interrupts there; nothing drives them here)
 *   8254    channel 0 in mode 2, LSB then MSB, count 0 (65536): IRQ 0 at 18.2 Hz
 *   COM1    8N1 at 9600 baud (divisor 12), FIFOs on, OUT2 (the UART's reset values otherwise)
 *   port 92 A20 on
 * The keyboard controller's state (self-test passed, command byte 0x61) is the PS/2 model's
 * initial state. Not done: anything for devices the board does not have (floppy, PCI, VGA BIOS).
 */
import type { PortHandler } from '../devices/device.ts';

/** The devices POST programs, each answering its own ports. */
export interface PostDevices {
  readonly pic: PortHandler;
  readonly pit: PortHandler;
  readonly com1: PortHandler;
  readonly portA: PortHandler;
}

/** The 8259s' vector bases and masks SeaBIOS leaves. */
export const SEABIOS_PIC = { masterBase: 0x08, slaveBase: 0x70, masterMask: 0xb8, slaveMask: 0x8e, elcrMaster: 0x00, elcrSlave: 0x0c } as const;

export function postDevices(d: PostDevices): void {
  const out = (dev: PortHandler, port: number, v: number) => dev.write(port, 1, v);
  // 8259 pair (8259A datasheet, "Initialization Command Words").
  out(d.pic, 0x20, 0x11);
  out(d.pic, 0x21, SEABIOS_PIC.masterBase);
  out(d.pic, 0x21, 0x04); // a slave on IR2
  out(d.pic, 0x21, 0x01); // 8086 mode
  out(d.pic, 0xa0, 0x11);
  out(d.pic, 0xa1, SEABIOS_PIC.slaveBase);
  out(d.pic, 0xa1, 0x02); // slave ID 2
  out(d.pic, 0xa1, 0x01);
  out(d.pic, 0x21, SEABIOS_PIC.masterMask);
  out(d.pic, 0xa1, SEABIOS_PIC.slaveMask);
  out(d.pic, 0x4d0, SEABIOS_PIC.elcrMaster);
  out(d.pic, 0x4d1, SEABIOS_PIC.elcrSlave);
  // 8254 channel 0: mode 2, 16-bit count 0 = 65536 (8254 datasheet, "Control Word Format").
  out(d.pit, 0x43, 0x34);
  out(d.pit, 0x40, 0x00);
  out(d.pit, 0x40, 0x00);
  // COM1: 8 data bits, no parity, one stop bit; FIFOs enabled (the divisor stays 12).
  out(d.com1, 0x3fb, 0x03);
  out(d.com1, 0x3fa, 0x01);
  // System control port A: A20 on.
  out(d.portA, 0x92, 0x02);
}
