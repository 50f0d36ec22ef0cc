/**
 * What a PC BIOS leaves in memory for the operating system, as SeaBIOS 1.16 does under QEMU 7.2's
 * `pc` board (measured with guest/entry-probe, whose QEMU transcript is the reference): the BIOS
 * data area (serial port, EBDA segment, equipment, base memory, keyboard buffer, video fields,
 * the time-of-day tick count), a one-KiB extended BIOS data area below 640 KiB, the E820 memory
 * map SeaBIOS reports (which QEMU's multiboot loader copies), and the Intel MultiProcessor
 * Specification 1.4 tables (floating pointer + configuration table) for one processor, the ISA
 * bus, one I/O APIC and SeaBIOS's ISA interrupt assignments — ISA IRQ 0 arrives on I/O APIC
 * pin 2, every other IRQ n on pin n.
 * There is no BIOS code: the machine starts in protected mode (multiboot), so the real-mode
 * interrupt vector table stays empty and no BIOS services exist. Not modelled: ACPI tables,
 * SMBIOS, the PCI IRQ routing table ($PIR) and the BIOS32 directory (there is no PCI bus).
 */
import type { PhysicalAccess } from '../memory/physical-memory.ts';
import { type CpuModel, DEFAULT_CPU_MODEL, FeatureWord, signature } from '../cpu/cpu-model.ts';
import { IO_APIC_VERSION } from '../devices/io-apic.ts';

export const BDA = 0x400;
/** Extended BIOS data area: the last KiB below 640 KiB (segment 0x9FC0). */
export const EBDA = 0x9fc00;
/** INT 12h's answer and BDA 0x413: the KiB of RAM below the EBDA. */
export const BASE_MEMORY_KIB = 639;
/** Where the MP floating pointer and configuration table live (the BIOS F-segment). */
export const MP_FLOATING_POINTER = 0xf5a00;
export const MP_CONFIG_TABLE = 0xf5a10;
export const LOCAL_APIC_BASE = 0xfee00000;
export const IO_APIC_BASE = 0xfec00000;
export const IO_APIC_ID = 0;
/** The BIOS ROM region (read-only): 0xF0000-0xFFFFF. */
export const BIOS_ROM = 0xf0000;
/**
 * SeaBIOS keeps its high tables (ACPI, SMBIOS, its own allocations) in the top 128 KiB of RAM and
 * reports them reserved in E820, whatever the RAM size (the probe's transcripts at 32 MiB,
 * 128 MiB and 1 GiB agree). shadowvisor reserves the same range and leaves it empty.
 */
export const HIGH_TABLES_BYTES = 0x20000;
/** QEMU maps the 256 KiB BIOS image just below 4 GiB; SeaBIOS reports it reserved. */
export const BIOS_HIGH_ALIAS = 0xfffc0000;
/** BDA timer ticks per day: 0x1800B0, at the PIT's 1.193182 MHz / 65536 = 18.2065 Hz. */
const TICKS_PER_DAY = 0x1800b0;
/** CPUID.1:EDX bit 0: an x87 FPU on chip. */
const CPUID_FPU = 1 << 0;
/** The ISA IRQs SeaBIOS assigns in the MP table: all but the cascade (2) and the PCI IRQs 5, 9, 10, 11. */
const MP_ISA_IRQS = [0, 1, 3, 4, 6, 7, 8, 12, 13, 14, 15];

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

/**
 * The MP configuration table (MP spec 1.4, chapter 4) of a board whose processor is `model`: its
 * processor entry carries the model's CPUID signature and leaf-1 EDX flags, as SeaBIOS copies them.
 */
export function mpConfigurationTable(model: CpuModel = DEFAULT_CPU_MODEL): Uint8Array {
  const entries = new Bytes();
  let count = 0;
  // Processor entry: the bootstrap processor, local APIC ID 0, version 0x14, enabled and BSP.
  entries.u8(0).u8(0).u8(0x14).u8(0x03).u32(signature(model)).u32(model.features[FeatureWord.LEAF1_EDX]!).zeros(8);
  count++;
  // Bus entry: bus 0 is ISA.
  entries.u8(1).u8(0).text('ISA', 6);
  count++;
  // I/O APIC entry.
  entries.u8(2).u8(IO_APIC_ID).u8(IO_APIC_VERSION & 0xff).u8(0x01).u32(IO_APIC_BASE);
  count++;
  // I/O interrupt assignments, as SeaBIOS makes them: the ISA IRQs (conforming polarity and
  // trigger), IRQ 0 on pin 2; no entry for the 8259 cascade on pin 0.
  for (const irq of MP_ISA_IRQS) {
    entries.u8(3).u8(0).u16(0).u8(0).u8(irq).u8(IO_APIC_ID).u8(isaIrqToIoApicPin(irq));
    count++;
  }
  // Local interrupt assignments: ExtINT on LINT0 of the local APIC 0, NMI on LINT1 of every one.
  entries.u8(4).u8(3).u16(0).u8(0).u8(0).u8(0x00).u8(0);
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

/** What the firmware tables depend on: the board around the BIOS. */
export interface FirmwareOptions {
  /** Hard disks on the primary IDE channel (BDA 0x475). */
  readonly hardDisks: number;
  /** Seconds since midnight on the RTC at power-on: the BDA tick count starts there. */
  readonly secondsOfDay: number;
  /** The processor (the equipment word's x87 bit, the MP table's processor entry); default qemu32. */
  readonly cpuModel?: CpuModel;
}

/**
 * The BIOS data area as SeaBIOS leaves it for a -kernel boot (IBM PC/AT technical reference;
 * Ralf Brown's list; SeaBIOS's struct bios_data_area_s). Only what shadowvisor's board has is
 * reported: COM1 but no parallel port, no diskette drive, no PS/2 mouse (QEMU has all three).
 */
export function biosDataArea(options: FirmwareOptions): Uint8Array {
  const b = new Uint8Array(0x100);
  const v = new DataView(b.buffer);
  v.setUint16(0x00, 0x3f8, true); // COM1; COM2-4 and LPT1-3 absent (0)
  v.setUint16(0x0e, EBDA >>> 4, true);
  // Equipment word: bits 9-11 one serial port, bits 4-5 80x25 colour video; bit 1 an x87 when
  // the CPU has one (CPUID.1:EDX.FPU); no diskette drive (bit 0), no pointing device (bit 2).
  v.setUint16(0x10, 0x0200 | 0x0020 | (((options.cpuModel ?? DEFAULT_CPU_MODEL).features[FeatureWord.LEAF1_EDX]! & CPUID_FPU) !== 0 ? 0x0002 : 0), true);
  v.setUint16(0x13, BASE_MEMORY_KIB, true);
  // Keyboard: an empty 16-key buffer at 0x41E-0x43D (head = tail); an enhanced 101/102-key keyboard.
  v.setUint16(0x1a, 0x1e, true);
  v.setUint16(0x1c, 0x1e, true);
  v.setUint16(0x80, 0x1e, true);
  v.setUint16(0x82, 0x3e, true);
  b[0x96] = 0x10;
  // Video as SeaBIOS's VGA BIOS leaves mode 3: 80x25 colour text, 4 KiB pages, CRTC at 0x3D4,
  // an underline cursor (lines 6-7), 16-line characters, its EGA/VGA control and switch bytes.
  b[0x49] = 3;
  v.setUint16(0x4a, 80, true);
  v.setUint16(0x4c, 0x1000, true);
  v.setUint16(0x60, 0x0607, true);
  v.setUint16(0x63, 0x3d4, true);
  b[0x84] = 24;
  v.setUint16(0x85, 16, true);
  b[0x87] = 0x60;
  b[0x88] = 0xf9;
  b[0x89] = 0x51;
  b[0x8a] = 0x08;
  // Timer ticks since midnight, from the RTC (SeaBIOS's clock_setup). IRQ 0 would advance them
  // through the BIOS's handler, which does not exist here: they stay as booted.
  v.setUint32(0x6c, Math.floor((options.secondsOfDay * TICKS_PER_DAY) / 86400), true);
  b[0x75] = options.hardDisks;
  b[0x76] = 0xc0; // fixed-disk control byte, as SeaBIOS sets it for the ATA controller
  b[0x7c] = 0x0a; // COM1's timeout (SeaBIOS's default for each serial port it finds)
  return b;
}

/** Writes the BIOS data area, the EBDA and the MP tables (see the file header). */
export function writeFirmware(mem: PhysicalAccess, options: FirmwareOptions): void {
  const model = options.cpuModel ?? DEFAULT_CPU_MODEL;
  mem.writeBytes(BDA, biosDataArea(options));
  // EBDA: its first byte is its size in KiB.
  mem.writeBytes(EBDA, new Bytes().u16(1).bytes());
  mem.writeBytes(MP_FLOATING_POINTER, mpFloatingPointer());
  mem.writeBytes(MP_CONFIG_TABLE, mpConfigurationTable(model));
}

/**
 * The E820 map SeaBIOS reports for a board with `ramBytes` of RAM (type 1 usable, 2 reserved):
 * the EBDA, the BIOS segment, SeaBIOS's high tables and the BIOS alias below 4 GiB reserved.
 */
export function memoryMap(ramBytes: number): { base: number; length: number; type: number }[] {
  return [
    { base: 0, length: EBDA, type: 1 },
    { base: EBDA, length: 0xa0000 - EBDA, type: 2 },
    { base: BIOS_ROM, length: 0x100000 - BIOS_ROM, type: 2 },
    { base: 0x100000, length: ramBytes - HIGH_TABLES_BYTES - 0x100000, type: 1 },
    { base: ramBytes - HIGH_TABLES_BYTES, length: HIGH_TABLES_BYTES, type: 2 },
    { base: BIOS_HIGH_ALIAS, length: 2 ** 32 - BIOS_HIGH_ALIAS, type: 2 },
  ];
}
