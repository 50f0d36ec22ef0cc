/*
 * cmos.c -- the MC146818 RTC and CMOS memory (ports 0x70/0x71).
 */
#include "devtest.h"

static u8 cmos(u8 reg)
{
	outb(0x70, reg);	/* bit 7 (NMI mask) left clear */
	return inb(0x71);
}

static u32 from_bcd(u8 v)
{
	return (v >> 4) * 10u + (v & 0x0f);
}

struct rtc_time { u8 sec, min, hour, day, mon, year, century; };

static void read_once(struct rtc_time *t)
{
	for (u32 i = 0; i < 10000000 && (cmos(0x0a) & 0x80); i++)	/* A.UIP: update in progress */
		;
	t->sec = cmos(0x00);
	t->min = cmos(0x02);
	t->hour = cmos(0x04);
	t->day = cmos(0x07);
	t->mon = cmos(0x08);
	t->year = cmos(0x09);
	t->century = cmos(0x32);
}

static int same(const struct rtc_time *a, const struct rtc_time *b)
{
	return a->sec == b->sec && a->min == b->min && a->hour == b->hour && a->day == b->day &&
	       a->mon == b->mon && a->year == b->year && a->century == b->century;
}

void cmos_test(u32 mbi_mem_upper)
{
	u8 a = cmos(0x0a), b = cmos(0x0b), d = cmos(0x0d);
	int binary = b & 0x04, h24 = b & 0x02;
	print("cmos: status A 0x%02x (UIP masked), B 0x%02x (%s, %s), D 0x%02x (%s)\n",
	      a & 0x7f, b, binary ? "binary" : "BCD", h24 ? "24-hour" : "12-hour", d,
	      d & 0x80 ? "valid RAM and time" : "RAM/battery NOT valid");
	CHECK(d & 0x80, "cmos: status D says the RTC lost power\n");

	/* Read until two reads agree: an update may happen between the registers. */
	struct rtc_time t, u;
	read_once(&t);
	for (int tries = 0; tries < 10; tries++) {
		read_once(&u);
		if (same(&t, &u))
			break;
		t = u;
	}
	u32 pm = !h24 && (t.hour & 0x80);
	u32 sec = t.sec, min = t.min, hour = t.hour & 0x7f, day = t.day, mon = t.mon, year = t.year;
	u32 century = t.century;
	if (!binary) {
		sec = from_bcd((u8)sec);
		min = from_bcd((u8)min);
		hour = from_bcd((u8)hour);
		day = from_bcd((u8)day);
		mon = from_bcd((u8)mon);
		year = from_bcd((u8)year);
		century = from_bcd((u8)century);
	}
	if (!h24) {
		if (hour == 12)
			hour = 0;
		if (pm)
			hour += 12;
	}
	if (century < 19 || century > 99)
		century = 20;	/* no (sane) century register at 0x32 */
	print("rtc: %04u-%02u-%02u %02u:%02u:%02u\n", century * 100 + year, mon, day, hour, min, sec);
	CHECK(sec < 60 && min < 60 && hour < 24 && day >= 1 && day <= 31 && mon >= 1 && mon <= 12,
	      "rtc: date/time out of range\n");

	/* Memory size, as the BIOS recorded it. */
	u32 base = cmos(0x15) | (u32)cmos(0x16) << 8;		/* KiB below 1 MiB */
	u32 ext1 = cmos(0x17) | (u32)cmos(0x18) << 8;		/* KiB above 1 MiB (max 65535) */
	u32 ext2 = cmos(0x30) | (u32)cmos(0x31) << 8;		/* the same, second copy */
	u32 above16 = cmos(0x34) | (u32)cmos(0x35) << 8;	/* 64 KiB units above 16 MiB */
	print("cmos: base memory %u KiB (0x15/0x16), extended %u KiB (0x17/0x18), %u KiB (0x30/0x31)\n",
	      base, ext1, ext2);
	print("cmos: above 16 MiB: %u x 64 KiB = %u MiB (0x34/0x35)\n", above16, above16 / 16);
	CHECK(base == 640, "cmos: base memory %u KiB, want 640\n", base);
	CHECK(ext1 == ext2, "cmos: the two extended memory copies differ\n");
	if (above16) {
		u32 total = above16 * 64 + 15 * 1024;	/* KiB above 1 MiB */
		CHECK(ext1 == (total > 65535 ? 65535 : total),
		      "cmos: extended memory %u KiB disagrees with %u x 64 KiB above 16 MiB\n", ext1, above16);
		/* multiboot's mem_upper is what the firmware's memory map leaves usable */
		CHECK(mbi_mem_upper <= total, "cmos: multiboot's mem_upper %u KiB is more than CMOS's %u KiB\n",
		      mbi_mem_upper, total);
	}
}
