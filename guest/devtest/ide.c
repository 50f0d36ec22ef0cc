/*
 * ide.c -- the primary IDE channel: PIO with interrupts (nIEN clear), ISA IRQ 14.
 *
 * Protocol (ATA PIO):
 *   IDENTIFY / READ SECTORS: the device interrupts when each sector's data is ready (DRQ);
 *     the host reads 256 words from the data port.
 *   WRITE SECTORS: the first sector is written as soon as DRQ is set (no interrupt); the
 *     device interrupts after each sector it has taken, the last one included.
 *   FLUSH CACHE: one interrupt when done.
 * The interrupt handler reads the status register, which acknowledges the interrupt.
 *
 * What is written (checked afterwards on the disk image by check-disk.sh): every sector
 * is 32 rows of 16 ASCII bytes, "lba 0001 row 00\n" ... "lba 0001 row 31\n".
 */
#include "devtest.h"

#define IDE_DATA	0x1f0
#define IDE_ERROR	0x1f1
#define IDE_COUNT	0x1f2
#define IDE_LBA0	0x1f3
#define IDE_LBA1	0x1f4
#define IDE_LBA2	0x1f5
#define IDE_DEVICE	0x1f6	/* 0xa0 | 0x40 (LBA) | 0x10 (slave) | LBA bits 24-27 */
#define IDE_STATUS	0x1f7	/* read: status (acknowledges the interrupt); write: command */
#define IDE_ALTSTATUS	0x3f6	/* read: status without acknowledging; write: device control */

#define ST_ERR	0x01
#define ST_DRQ	0x08
#define ST_DF	0x20
#define ST_DRDY	0x40
#define ST_BSY	0x80

#define CMD_READ_SECTORS	0x20
#define CMD_WRITE_SECTORS	0x30
#define CMD_FLUSH_CACHE		0xe7
#define CMD_IDENTIFY		0xec

static volatile u32 ide_interrupts;
static volatile u8 irq_status;	/* the status the handler read */
static u32 expected_interrupts;

static void ide_handler(struct trap_frame *f)
{
	(void)f;
	irq_status = inb(IDE_STATUS);
	ide_interrupts++;
	lapic_eoi();
}

static void delay400ns(void)
{
	for (int i = 0; i < 4; i++)
		inb(IDE_ALTSTATUS);
}

/* Poll the alternate status until BSY is clear; returns the status (0xff on timeout). */
static u8 wait_not_busy(void)
{
	for (u32 i = 0; i < 10000000; i++) {
		u8 s = inb(IDE_ALTSTATUS);
		if (!(s & ST_BSY))
			return s;
	}
	return 0xff;
}

/* Wait for the next interrupt; returns the status the handler read, 0xff on timeout. */
static u8 wait_irq(const char *what)
{
	expected_interrupts++;
	if (!wait_with_watchdog(&ide_interrupts, expected_interrupts)) {
		print("FAIL: ide: no interrupt for %s\n", what);
		failures++;
		expected_interrupts = ide_interrupts;
		return 0xff;
	}
	return irq_status;
}

static void command(u32 lba, u32 count, u8 cmd)
{
	wait_not_busy();
	outb(IDE_DEVICE, (u8)(0xe0 | ((lba >> 24) & 0x0f)));	/* master, LBA */
	delay400ns();
	outb(IDE_COUNT, (u8)count);
	outb(IDE_LBA0, (u8)lba);
	outb(IDE_LBA1, (u8)(lba >> 8));
	outb(IDE_LBA2, (u8)(lba >> 16));
	outb(IDE_STATUS, cmd);
}

static void fill_sector(u16 *buf, u32 lba)
{
	char *p = (char *)buf;
	for (u32 row = 0; row < 32; row++, p += 16) {
		const char *t = "lba 0000 row 00\n";
		for (int i = 0; i < 16; i++)
			p[i] = t[i];
		p[4] = (char)('0' + lba / 1000 % 10);
		p[5] = (char)('0' + lba / 100 % 10);
		p[6] = (char)('0' + lba / 10 % 10);
		p[7] = (char)('0' + lba % 10);
		p[13] = (char)('0' + row / 10);
		p[14] = (char)('0' + row % 10);
	}
}

static int write_sectors(u32 lba, u32 count)
{
	u16 buf[256];
	command(lba, count, CMD_WRITE_SECTORS);
	u8 s = wait_not_busy();
	for (u32 i = 0; i < count; i++) {
		if ((s & (ST_ERR | ST_DF | ST_DRQ)) != ST_DRQ) {
			print("FAIL: ide: WRITE SECTORS LBA %u: status 0x%02x before sector %u\n", lba, s, i);
			failures++;
			return 0;
		}
		fill_sector(buf, lba + i);
		for (int w = 0; w < 256; w++)
			outw(IDE_DATA, buf[w]);
		s = wait_irq("WRITE SECTORS");
	}
	if (s & (ST_ERR | ST_DF | ST_DRQ | ST_BSY)) {
		print("FAIL: ide: WRITE SECTORS LBA %u: status 0x%02x at the end\n", lba, s);
		failures++;
		return 0;
	}
	print("ide: WRITE SECTORS LBA %u, count %u: ok, %u interrupt%s\n", lba, count, count,
	      count == 1 ? "" : "s");
	return 1;
}

/* Read count sectors and compare with the pattern (or with zeros). */
static int read_sectors(u32 lba, u32 count, int zeros)
{
	u16 buf[256], want[256];
	u32 bad = 0;
	command(lba, count, CMD_READ_SECTORS);
	for (u32 i = 0; i < count; i++) {
		u8 s = wait_irq("READ SECTORS");
		if ((s & (ST_ERR | ST_DF | ST_DRQ | ST_BSY)) != ST_DRQ) {
			print("FAIL: ide: READ SECTORS LBA %u: status 0x%02x for sector %u\n", lba, s, i);
			failures++;
			return 0;
		}
		for (int w = 0; w < 256; w++)
			buf[w] = inw(IDE_DATA);
		if (zeros)
			for (int w = 0; w < 256; w++)
				want[w] = 0;
		else
			fill_sector(want, lba + i);
		for (int w = 0; w < 256; w++)
			bad += buf[w] != want[w];
	}
	u8 s = inb(IDE_ALTSTATUS);
	print("ide: READ SECTORS LBA %u, count %u: %u interrupt%s, data %s\n", lba, count, count,
	      count == 1 ? "" : "s", bad ? "WRONG" : zeros ? "all zero, ok" : "matches the pattern, ok");
	CHECK(!bad, "ide: %u words differ\n", bad);
	CHECK(!(s & (ST_DRQ | ST_BSY | ST_ERR)), "ide: status 0x%02x after reading\n", s);
	return !bad;
}

/* IDENTIFY strings: byte-swapped words, padded with spaces. */
static void print_ata_string(const u16 *id, int first, int words)
{
	char s[64];
	int n = 0;
	for (int w = first; w < first + words; w++) {
		s[n++] = (char)(id[w] >> 8);
		s[n++] = (char)id[w];
	}
	while (n && s[n - 1] == ' ')
		n--;
	for (int i = 0; i < n; i++)
		print("%c", s[i]);
}

void ide_test(void)
{
	set_handler(ISA_VECTOR_BASE + 14, ide_handler);
	outb(IDE_ALTSTATUS, 0x00);	/* device control: nIEN clear, interrupts on */

	/* The slave: select it, try IDENTIFY. Absent, it neither answers nor interrupts. */
	outb(IDE_DEVICE, 0xb0);
	delay400ns();
	u8 before = inb(IDE_STATUS);
	outb(IDE_STATUS, CMD_IDENTIFY);
	delay400ns();
	u8 after = inb(IDE_STATUS);
	__asm__ volatile("sti; nop; nop; cli" : : : "memory");
	int absent = (after == 0x00 || after == 0xff) && ide_interrupts == 0;
	print("ide: slave %s (status 0x%02x, after IDENTIFY 0x%02x, %u interrupts)\n",
	      absent ? "absent" : "PRESENT", before, after, ide_interrupts);
	CHECK(absent, "ide: a slave answered on the primary channel\n");
	expected_interrupts = ide_interrupts;

	/* The master: IDENTIFY. */
	outb(IDE_DEVICE, 0xa0);
	delay400ns();
	u8 s0 = wait_not_busy();
	CHECK(s0 & ST_DRDY, "ide: master not ready (status 0x%02x)\n", s0);
	outb(IDE_STATUS, CMD_IDENTIFY);
	u8 s = wait_irq("IDENTIFY");
	if ((s & (ST_ERR | ST_DRQ)) != ST_DRQ) {
		print("FAIL: ide: IDENTIFY: status 0x%02x\n", s);
		failures++;
		return;
	}
	u16 id[256];
	for (int w = 0; w < 256; w++)
		id[w] = inw(IDE_DATA);
	u32 sectors = id[60] | (u32)id[61] << 16;
	print("ide: master: model \"");
	print_ata_string(id, 27, 20);
	print("\", serial \"");
	print_ata_string(id, 10, 10);
	print("\"\n");
	print("ide: master: %u sectors (%u KiB) LBA28, LBA %s, 1 interrupt for IDENTIFY\n",
	      sectors, sectors / 2, id[49] & 0x200 ? "supported" : "NOT supported");
	CHECK(id[49] & 0x200, "ide: no LBA\n");
	if (sectors < 16) {
		print("FAIL: ide: disk too small\n");
		failures++;
		return;
	}

	/* Write: 4 sectors at LBA 1, 2 at the end of the disk. Flush. Read back. */
	write_sectors(1, 4);
	write_sectors(sectors - 2, 2);
	command(0, 0, CMD_FLUSH_CACHE);
	s = wait_irq("FLUSH CACHE");
	print("ide: FLUSH CACHE: %s\n", s & (ST_ERR | ST_DF | ST_BSY) ? "FAILED" : "ok, 1 interrupt");
	CHECK(!(s & (ST_ERR | ST_DF | ST_BSY)), "ide: FLUSH CACHE status 0x%02x\n", s);
	read_sectors(1, 4, 0);
	read_sectors(sectors - 2, 2, 0);
	read_sectors(0, 1, 1);

	/* IDENTIFY 1, WRITE 4 + 2, FLUSH 1, READ 4 + 2 + 1 */
	__asm__ volatile("sti; nop; nop; cli" : : : "memory");
	print("ide: %u interrupts on ISA IRQ 14 (vector 0x%x), 15 expected\n", ide_interrupts,
	      ISA_VECTOR_BASE + 14);
	CHECK(ide_interrupts == 15, "ide: wrong number of interrupts\n");
}
