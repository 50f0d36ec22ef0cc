/**
 * What a PC BIOS leaves in memory for the operating system, as SeaBIOS does under QEMU:
 * the BIOS data area (COM1 base, EBDA segment, base-memory size, video fields), a one-KiB
 * extended BIOS data area below 640 KiB, and the Intel MultiProcessor Specification 1.4 tables
 * (floating pointer + configuration table) for one processor, the ISA bus, one I/O APIC and the
 * ISA interrupt assignments — ISA IRQ 0 arrives on I/O APIC pin 2, every other IRQ n on pin n.
 * There is no BIOS code: the machine starts in protected mode (multiboot), so no interrupt
 * vectors or services are provided. Not modelled: ACPI tables, SMBIOS, E820 services.
 */
import type { PhysicalAccess } from '../memory/physical-memory.ts';
import { CPUID_FEATURES, CPUID_APIC } from '../cpu/system.ts';

export const BDA = 0x400;
/** Extended BIOS data area: the last KiB below 640 KiB (segment 0x9FC0). */
export const EBDA = 0x9fc00;
export const BASE_MEMORY_KIB = 639;
/** Where the MP floating pointer and configuration table live (the BIOS F-segment). */
export const MP_FLOATING_POINTER = 0xf5a00;
export const MP_CONFIG_TABLE = 0xf5a10;
export const LOCAL_APIC_BASE = 0xfee00000;
export const IO_APIC_BASE = 0xfec00000;
export const IO_APIC_ID = 0;
/** The BIOS ROM region (read-only): 0xF0000-0xFFFFF. */
export const BIOS_ROM = 0xf0000;
/** The I/O APIC pin an ISA IRQ arrives on (the usual PC override of IRQ 0 to pin 2). */
export function isaIrqToIoApicPin(irq: number): number {
  return irq === 0 ? 2 : irq;
}

class Bytes {
  readonly b: number[] = [];
  u8(v: number): this {
    this.b.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v).u16(v >>> 16);
  }
  text(s: string, length: number): this {
    for (let k = 0; k < length; k++) this.u8(k < s.length ? s.charCodeAt(k) : 0x20);
    return this;
  }
  zeros(n: number): this {
    for (let k = 0; k < n; k++) this.u8(0);
    return this;
  }
  /** Sets byte `at` so that all bytes sum to zero (the MP spec's checksums). */
  checksum(at: number): this {
    this.b[at] = 0;
    const sum = this.b.reduce((s, x) => s + x, 0);
    this.b[at] = (256 - (sum & 0xff)) & 0xff;
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.b);
  }
}

/** The MP configuration table (MP spec 1.4, chapter 4). */
export function mpConfigurationTable(): Uint8Array {
  const entries = new Bytes();
  let count = 0;
  // Processor entry: the bootstrap processor, local APIC ID 0, version 0x14.
  entries.u8(0).u8(0).u8(0x14).u8(0x03).u32(0x610).u32(CPUID_FEATURES | CPUID_APIC).zeros(8);
  count++;
  // Bus entry: bus 0 is ISA.
  entries.u8(1).u8(0).text('ISA', 6);
  count++;
  // I/O APIC entry.
  entries.u8(2).u8(IO_APIC_ID).u8(0x11).u8(0x01).u32(IO_APIC_BASE);
  count++;
  // I/O interrupt assignments: ExtINT on pin 0 (the 8259 cascade), then every ISA IRQ but 2.
  entries.u8(3).u8(3).u16(0).u8(0).u8(0).u8(IO_APIC_ID).u8(0);
  count++;
  for (let irq = 0; irq < 16; irq++) {
    if (irq === 2) continue;
    entries.u8(3).u8(0).u16(0).u8(0).u8(irq).u8(IO_APIC_ID).u8(isaIrqToIoApicPin(irq));
    count++;
  }
  // Local interrupt assignments: ExtINT on LINT0, NMI on LINT1, for every local APIC.
  entries.u8(4).u8(3).u16(0).u8(0).u8(0).u8(0xff).u8(0);
  entries.u8(4).u8(1).u16(0).u8(0).u8(0).u8(0xff).u8(1);
  count += 2;
  const body = entries.bytes();
  const header = new Bytes()
    .text('PCMP', 4)
    .u16(44 + body.length)
    .u8(4)
    .u8(0)
    .text('SHADOWVI', 8)
    .text('PC', 12)
    .u32(0)
    .u16(0)
    .u16(count)
    .u32(LOCAL_APIC_BASE)
    .u16(0)
    .u8(0)
    .u8(0);
  for (const x of body) header.u8(x);
  return header.checksum(7).bytes();
}

/** The MP floating pointer structure (MP spec 1.4, 4.1): virtual-wire mode, table present. */
export function mpFloatingPointer(): Uint8Array {
  return new Bytes().text('_MP_', 4).u32(MP_CONFIG_TABLE).u8(1).u8(4).u8(0).u8(0).u8(0).zeros(3).checksum(10).bytes();
}

/** The BIOS data area fields kernels read (IBM PC/AT technical reference; Ralf Brown's list). */
export function writeFirmware(mem: PhysicalAccess): void {
  const bda = new Bytes().u16(0x3f8).u16(0).u16(0).u16(0).u16(0).u16(0).u16(0).u16(EBDA >>> 4);
  mem.writeBytes(BDA, bda.bytes());
  // Equipment word: 80x25 colour video, one serial port, a math coprocessor (bit 1, as SeaBIOS's
  // mathcp_setup sets it), no floppy.
  mem.writeBytes(BDA + 0x10, new Bytes().u16(0x0222).bytes());
  mem.writeBytes(BDA + 0x13, new Bytes().u16(BASE_MEMORY_KIB).bytes());
  // Video: mode 3, 80 columns, CRTC at 0x3D4, 25 rows.
  mem.writeBytes(BDA + 0x49, new Bytes().u8(3).u16(80).bytes());
  mem.writeBytes(BDA + 0x63, new Bytes().u16(0x3d4).bytes());
  mem.writeBytes(BDA + 0x84, new Bytes().u8(24).bytes());
  // EBDA: its first word is its size in KiB.
  mem.writeBytes(EBDA, new Bytes().u16(1).bytes());
  mem.writeBytes(MP_FLOATING_POINTER, mpFloatingPointer());
  mem.writeBytes(MP_CONFIG_TABLE, mpConfigurationTable());
}

/** The multiboot memory map of a board with `ramBytes` of RAM (type 1 usable, 2 reserved). */
export function memoryMap(ramBytes: number): { base: number; length: number; type: number }[] {
  const map = [
    { base: 0, length: EBDA, type: 1 },
    { base: EBDA, length: 0xa0000 - EBDA, type: 2 },
    { base: BIOS_ROM, length: 0x100000 - BIOS_ROM, type: 2 },
  ];
  if (ramBytes > 0x100000) map.push({ base: 0x100000, length: ramBytes - 0x100000, type: 1 });
  return map;
}
