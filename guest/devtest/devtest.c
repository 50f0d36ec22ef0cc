/*
 * devtest.c -- a multiboot kernel that tests the devices of a PC board: the BIOS data
 * area, CMOS/RTC, the MP tables, the 8259 PICs, the local APIC and its timer, the IOAPIC,
 * a UART interrupt, and the IDE disk with interrupts. See README.md.
 *
 * Everything printed is deterministic on a given board, except the line starting "rtc:"
 * and lines starting "time:". Ends with "devtest: all checks passed" and exit code 0, or
 * with the failures ("FAIL: ...") and exit code 1.
 */
#include "devtest.h"

static u32 multiboot(u32 magic, u32 mbi)
{
	u32 mem_upper = 0;
	if (magic != 0x2badb002) {
		print("FAIL: multiboot: magic 0x%x\n", magic);
		failures++;
		return 0;
	}
	u32 flags = peek32(mbi);
	if (flags & 1) {
		mem_upper = peek32(mbi + 8);
		print("multiboot: magic ok, mem_lower %u KiB, mem_upper %u KiB\n", peek32(mbi + 4), mem_upper);
	} else {
		print("multiboot: magic ok, no memory information\n");
	}
	return mem_upper;
}

/* The BIOS data area at 0x400. */
static void bda(void)
{
	u32 com1 = peek16(0x400), ebda = peek16(0x40e), base_kib = peek16(0x413);
	print("bda: COM1 at 0x%x, EBDA segment 0x%x (0x%x), base memory %u KiB\n", com1, ebda,
	      ebda << 4, base_kib);
	CHECK(com1 == 0x3f8, "bda: COM1 at 0x%x\n", com1);
	CHECK(base_kib >= 512 && base_kib <= 640, "bda: base memory %u KiB\n", base_kib);
	CHECK(!ebda || (ebda << 4) >= base_kib * 1024, "bda: EBDA below the end of base memory\n");
}

void kmain(u32 magic, u32 mbi)
{
	struct mp_info mp = { 0 };

	serial_init();
	cpu_tables_init();
	print("devtest: PC board device test\n");

	u32 mem_upper = multiboot(magic, mbi);
	bda();
	cmos_test(mem_upper);
	mp_find(&mp);

	pic_remap_and_mask();
	lapic_init(&mp);
	lapic_timer_tests();

	ioapic_init(&mp);
	ioapic_route_isa_irq(&mp, 4);	/* COM1 */
	ioapic_route_isa_irq(&mp, 14);	/* primary IDE */
	uart_interrupt_test();
	ide_test();

	u32 stray = stray_interrupts();
	print("interrupts: %u unexpected\n", stray);
	if (stray)
		failures++;
	if (failures) {
		print("devtest: %u check(s) FAILED\n", failures);
		exit_qemu(1);
	}
	print("devtest: all checks passed\n");
	exit_qemu(0);
}
