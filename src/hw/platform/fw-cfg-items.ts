/**
 * The items QEMU 7.2's `pc` board puts in its fw_cfg device (hw/nvram/fw_cfg.c fw_cfg_common_init,
 * hw/i386/fw_cfg.c fw_cfg_arch_create, hw/i386/multiboot.c), as guest/entry-probe reads them under
 * `-nographic -m 128`, for what shadowvisor's board has: the signature and feature bits, a zero
 * UUID, RAM size, one CPU, no boot menu, no NUMA nodes, IRQ 0 on I/O APIC pin 2, no legacy E820
 * entries, and the file "etc/e820" (QEMU's own RAM map, which SeaBIOS turns into its E820).
 * For a multiboot kernel QEMU sets the kernel keys (entry, image address and size, the image) and
 * the initrd keys (the information structure's address, size and contents) for its option ROM,
 * and no command-line keys: the command line is in the information structure.
 * Absent (QEMU has them): the HPET key, the ACPI and SMBIOS tables and their table loader,
 * "bootorder", "bios-geometry", "etc/boot-fail-wait", "etc/system-states", "etc/tpm/log" and the
 * option ROMs under "genroms/" — firmware's business, for devices shadowvisor does not have.
 */
import { type FwCfg, FwCfgKey, le } from '../devices/fw-cfg.ts';
import type { PhysicalAccess } from '../memory/physical-memory.ts';
import type { MultibootLoad } from './multiboot.ts';

/** The board's items: everything but the kernel's. */
export function boardFwCfgItems(fw: FwCfg, ramBytes: number): void {
  fw.set(FwCfgKey.UUID, new Uint8Array(16));
  fw.set(FwCfgKey.RAM_SIZE, le(ramBytes, 8));
  fw.set(FwCfgKey.NOGRAPHIC, le(1, 2)); // no display window (QEMU's -nographic)
  fw.set(FwCfgKey.NB_CPUS, le(1, 2));
  fw.set(FwCfgKey.MAX_CPUS, le(1, 2));
  fw.set(FwCfgKey.BOOT_MENU, le(0, 2));
  // NUMA: the node count (0), then one 64-bit node number per CPU and per node.
  fw.set(FwCfgKey.NUMA, new Uint8Array(8 * 2));
  fw.set(FwCfgKey.IRQ0_OVERRIDE, le(1, 4));
  // The legacy E820 table holds only reserved entries QEMU adds for KVM: a count of 0.
  fw.set(FwCfgKey.E820_TABLE, le(0, 4));
  // etc/e820: { u64 address, u64 length, u32 type } per entry, little-endian: RAM below 4 GiB.
  const e820 = new Uint8Array(20);
  e820.set(le(ramBytes, 8), 8);
  e820.set(le(1, 4), 16);
  fw.addFile('etc/e820', e820);
}

/** The keys QEMU's multiboot loader sets for its option ROM (hw/i386/multiboot.c). */
export function multibootFwCfgItems(fw: FwCfg, load: MultibootLoad, mem: PhysicalAccess): void {
  fw.set(FwCfgKey.KERNEL_ENTRY, le(load.entry, 4));
  fw.set(FwCfgKey.KERNEL_ADDR, le(load.imageAddress, 4));
  fw.set(FwCfgKey.KERNEL_SIZE, le(load.imageSize, 4));
  fw.set(FwCfgKey.KERNEL_DATA, mem.readBytes(load.imageAddress, load.imageSize));
  fw.set(FwCfgKey.INITRD_ADDR, le(load.mbi, 4));
  fw.set(FwCfgKey.INITRD_SIZE, le(load.info.length, 4));
  fw.set(FwCfgKey.INITRD_DATA, load.info);
}
