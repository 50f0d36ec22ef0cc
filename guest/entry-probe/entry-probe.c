/*
 * entry-probe.c -- what a multiboot kernel finds at its entry, one deterministic `name: value`
 * line each on COM1 (see README.md for every line and why it is printed the way it is):
 *   1. the registers boot.S saved before touching anything: general registers, EFLAGS, the
 *      segment selectors with the access rights and limits of their descriptors (LAR, LSL),
 *      GDTR (and the GDT's entries), IDTR, LDTR, TR, CR0/2/3/4, DR6/7;
 *   2. the multiboot information and everything it points to, with the addresses, and whether
 *      any of it overlaps the kernel image, a module or another structure;
 *   3. the real-mode interrupt vector table, the BIOS data area, the EBDA, the firmware tables
 *      a kernel looks for (MP, ACPI, SMBIOS, $PIR) in the BIOS areas;
 *   4. the devices as the firmware left them, read before the probe changes any: the UART, the
 *      PIT's channel 0, the 8259s, the keyboard controller, port 0x61/0x92, the RTC, the local
 *      APIC and the I/O APIC; then, by letting one interrupt through, the 8259s' vector bases;
 *   5. QEMU's fw_cfg device (ports 0x510/0x511, and the DMA interface at 0x514).
 * Then it exits through the debug-exit port with code 0. Paging stays off; interrupts are off
 * except for the two short windows of 4.
 */

#include "../bare/bare.h"

/* What boot.S saved at entry, in this order (the offsets are boot.S's). */
struct __attribute__((packed)) entry_state {
	u32 eax, ebx, ecx, edx, esi, edi, ebp, esp;	/* 0 */
	u32 eflags;					/* 32 */
	u16 cs, ds, es, fs, gs, ss;			/* 36 */
	u16 gdt_limit; u32 gdt_base; u16 pad0;		/* 48 */
	u16 idt_limit; u32 idt_base; u16 pad1;		/* 56 */
	u16 ldtr, tr;					/* 64 */
	u32 cr0, cr2, cr3, cr4, dr6, dr7;		/* 68 */
};
struct entry_state entry;

extern u8 __kernel_start[], __kernel_end[];
extern u8 irq_stubs[];
extern volatile u32 last_vector;

static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* Physical memory (paging is off, segments flat). The asm hides the address from the compiler,
 * which may not assume anything of a pointer to address 0. */
static inline volatile u8 *phys(u32 a)
{
	volatile u8 *p;
	__asm__("" : "=r"(p) : "0"(a));
	return p;
}
static u8 rd8(u32 a) { return *phys(a); }
static u16 rd16(u32 a) { return (u16)(rd8(a) | rd8(a + 1) << 8); }
static u32 rd32(u32 a) { return rd16(a) | (u32)rd16(a + 2) << 16; }

static u32 crc32(u32 a, u32 len)
{
	u32 c = 0xffffffffu;
	for (u32 k = 0; k < len; k++) {
		c ^= rd8(a + k);
		for (int b = 0; b < 8; b++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

static u32 strlen_at(u32 a, u32 max)
{
	u32 n = 0;
	while (n < max && rd8(a + n))
		n++;
	return n;
}

/* A string in memory, quoted, with anything unprintable as \xNN. */
static void print_string_at(u32 a, u32 max)
{
	print("\"");
	for (u32 n = 0; n < max; n++) {
		u8 c = rd8(a + n);
		if (!c)
			break;
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			print("\\x%02x", c);
		else
			print("%c", c);
	}
	print("\"\n");
}

/* ---- 1. registers -------------------------------------------------------------------------- */

/* LAR and LSL of selector `sel`: the descriptor's access rights (masked 0x00f0ff00 by the CPU)
 * and its limit in bytes; ok = 0 when the selector is not valid for them (ZF clear). */
struct seg_info { u32 ar, limit, ok; };

static struct seg_info seg_info(u16 sel)
{
	struct seg_info s = { 0, 0, 0 };
	u8 ok_ar, ok_lim;
	u32 v = sel;
	__asm__ volatile("lar %2, %0\n\tsetz %1" : "=r"(s.ar), "=q"(ok_ar) : "r"(v), "0"(0) : "cc");
	__asm__ volatile("lsl %2, %0\n\tsetz %1" : "=r"(s.limit), "=q"(ok_lim) : "r"(v), "0"(0) : "cc");
	s.ok = ok_ar && ok_lim;
	return s;
}

static void print_segment(const char *name, u16 sel, const struct seg_info *s)
{
	print("%s: 0x%04x\n", name, sel);
	if (s->ok)
		print("%s.lar: 0x%08x\n%s.lsl: 0x%08x\n", name, s->ar, name, s->limit);
	else
		print("%s.lar: invalid\n%s.lsl: invalid\n", name, name);
}

/* ---- 2. the multiboot information ------------------------------------------------------------ */

#define MAX_RANGES 32
static struct range { u32 start, end; const char *what; u32 index; } loaded[MAX_RANGES], structs[MAX_RANGES];
static u32 n_loaded, n_structs;

static void add(struct range *set, u32 *n, u32 start, u32 len, const char *what, u32 index)
{
	if (*n < MAX_RANGES && len)
		set[(*n)++] = (struct range){ start, start + len, what, index };
}

static void print_range_name(const struct range *r)
{
	if (r->index == 0xffffffffu)
		print("%s", r->what);
	else
		print("%s[%u]", r->what, r->index);
}

/* Every structure against the kernel image and the modules, and against each other. */
static void report_overlaps(void)
{
	u32 found = 0;
	for (u32 i = 0; i < n_structs; i++) {
		const struct range *s = &structs[i];
		for (u32 j = 0; j < n_loaded; j++) {
			const struct range *l = &loaded[j];
			if (s->start < l->end && l->start < s->end) {
				print("overlap: ");
				print_range_name(s);
				print(" 0x%08x-0x%08x with ", s->start, s->end);
				print_range_name(l);
				print(" 0x%08x-0x%08x\n", l->start, l->end);
				found++;
			}
		}
		for (u32 j = i + 1; j < n_structs; j++) {
			const struct range *t = &structs[j];
			if (s->start < t->end && t->start < s->end) {
				print("overlap: ");
				print_range_name(s);
				print(" with ");
				print_range_name(t);
				print("\n");
				found++;
			}
		}
	}
	print("mbi.overlaps: %u\n", found);
}

static void probe_multiboot(void)
{
	u32 mbi = entry.ebx;
	print("mbi.magic_ok: %s\n", entry.eax == MB_MAGIC ? "yes" : "no");
	if (entry.eax != MB_MAGIC)
		return;
	add(loaded, &n_loaded, (u32)__kernel_start, (u32)(__kernel_end - __kernel_start), "kernel", 0xffffffffu);
	add(structs, &n_structs, mbi, 88, "mbi", 0xffffffffu);

	u32 flags = rd32(mbi);
	print("mbi.address: 0x%08x\n", mbi);
	print("mbi.flags: 0x%08x\n", flags);
	print("mbi.mem_lower: %u\n", rd32(mbi + 4));
	print("mbi.mem_upper: %u\n", rd32(mbi + 8));
	print("mbi.boot_device: 0x%08x\n", rd32(mbi + 12));
	if (flags & 0x4) {
		u32 c = rd32(mbi + 16);
		print("mbi.cmdline.address: 0x%08x\n", c);
		print("mbi.cmdline: ");
		print_string_at(c, 4096);
		add(structs, &n_structs, c, strlen_at(c, 4096) + 1, "cmdline", 0xffffffffu);
	}
	if (flags & 0x8) {
		u32 count = rd32(mbi + 20), list = rd32(mbi + 24);
		print("mbi.mods_count: %u\n", count);
		print("mbi.mods_addr: 0x%08x\n", list);
		add(structs, &n_structs, list, count * 16, "mods_list", 0xffffffffu);
		for (u32 k = 0; k < count && k < 8; k++) {
			u32 e = list + 16 * k;
			u32 start = rd32(e), end = rd32(e + 4), str = rd32(e + 8);
			print("mod[%u].start: 0x%08x\nmod[%u].end: 0x%08x\nmod[%u].reserved: 0x%08x\n", k, start, k, end, k, rd32(e + 12));
			print("mod[%u].page_aligned: %s\n", k, (start & 0xfff) ? "no" : "yes");
			print("mod[%u].crc32: 0x%08x\n", k, end > start ? crc32(start, end - start) : 0);
			print("mod[%u].string.address: 0x%08x\nmod[%u].string: ", k, str, k);
			print_string_at(str, 4096);
			add(loaded, &n_loaded, start, end - start, "module", k);
			add(structs, &n_structs, str, strlen_at(str, 4096) + 1, "mod_string", k);
		}
	}
	/* syms (28-40), drives (52-56), config table (60), APM (68), VBE (72-86): what the flags omit. */
	print("mbi.syms: 0x%08x 0x%08x 0x%08x 0x%08x\n", rd32(mbi + 28), rd32(mbi + 32), rd32(mbi + 36), rd32(mbi + 40));
	print("mbi.drives: 0x%08x 0x%08x\n", rd32(mbi + 52), rd32(mbi + 56));
	print("mbi.config_table: 0x%08x\n", rd32(mbi + 60));
	print("mbi.apm_table: 0x%08x\n", rd32(mbi + 68));
	print("mbi.vbe: 0x%08x 0x%08x 0x%08x 0x%08x\n", rd32(mbi + 72), rd32(mbi + 76), rd32(mbi + 80), rd32(mbi + 84));
	if (flags & 0x40) {
		u32 len = rd32(mbi + 44), addr = rd32(mbi + 48);
		print("mbi.mmap_addr: 0x%08x\nmbi.mmap_length: %u\n", addr, len);
		add(structs, &n_structs, addr, len, "mmap", 0xffffffffu);
		u32 k = 0;
		for (u32 p = addr; p < addr + len && k < 32; k++) {
			u32 size = rd32(p);
			print("mmap[%u]: size %u base 0x%08x%08x length 0x%08x%08x type %u\n", k, size,
			      rd32(p + 8), rd32(p + 4), rd32(p + 16), rd32(p + 12), rd32(p + 20));
			p += size + 4;
		}
	}
	if (flags & 0x200) {
		u32 n = rd32(mbi + 64);
		print("mbi.boot_loader_name.address: 0x%08x\nmbi.boot_loader_name: ", n);
		print_string_at(n, 256);
		add(structs, &n_structs, n, strlen_at(n, 256) + 1, "boot_loader_name", 0xffffffffu);
	}
	report_overlaps();
}

/* ---- 3. the IVT, the BIOS data area, the EBDA, firmware tables ---------------------------------- */

static void bda8(const char *name, u32 off) { print("bda.%s: 0x%02x\n", name, rd8(0x400 + off)); }
static void bda16(const char *name, u32 off) { print("bda.%s: 0x%04x\n", name, rd16(0x400 + off)); }

/* What the CMOS clock says, in seconds since midnight (BCD or binary as register B says). */
static u8 cmos(u8 reg)
{
	outb(0x70, reg);
	return inb(0x71);
}
static u32 bcd(u32 v, int binary) { return binary ? v : (v >> 4) * 10 + (v & 0xf); }
static u32 rtc_seconds_of_day(void)
{
	while (cmos(0x0a) & 0x80)	/* update in progress: wait for the registers to settle */
		;
	int binary = cmos(0x0b) & 0x04;
	u32 s = bcd(cmos(0x00), binary), m = bcd(cmos(0x02), binary), h = cmos(0x04);
	if (!(cmos(0x0b) & 0x02) && (h & 0x80))	/* 12-hour mode, PM */
		h = (bcd(h & 0x7f, binary) % 12) + 12;
	else
		h = bcd(h & 0x7f, binary);
	return h * 3600 + m * 60 + s;
}

static void probe_bda(void)
{
	print("ivt.crc32: 0x%08x\n", crc32(0, 0x400));

	static const char *const com[] = { "com1", "com2", "com3", "com4" };
	for (u32 k = 0; k < 4; k++)
		bda16(com[k], 2 * k);
	static const char *const lpt[] = { "lpt1", "lpt2", "lpt3" };
	for (u32 k = 0; k < 3; k++)
		bda16(lpt[k], 8 + 2 * k);
	bda16("ebda_segment", 0x0e);
	bda16("equipment", 0x10);
	bda16("base_memory_kib", 0x13);
	bda8("kbd_flags0", 0x17);
	bda8("kbd_flags1", 0x18);
	bda8("kbd_alt_keypad", 0x19);
	bda16("kbd_head", 0x1a);
	bda16("kbd_tail", 0x1c);
	bda16("kbd_buffer_start", 0x80);
	bda16("kbd_buffer_end", 0x82);
	bda8("kbd_mode", 0x96);
	bda8("kbd_leds", 0x97);
	print("bda.floppy.crc32: 0x%08x\n", crc32(0x43e, 0x0b) ^ crc32(0x48b, 0x0b));
	bda8("video_mode", 0x49);
	bda16("video_columns", 0x4a);
	bda16("video_page_size", 0x4c);
	bda16("video_page_start", 0x4e);
	bda16("cursor_pos0", 0x50);
	bda16("cursor_type", 0x60);
	bda8("video_page", 0x62);
	bda16("crtc_port", 0x63);
	bda8("video_mode_select", 0x65);
	bda8("video_palette", 0x66);
	bda8("video_rows_minus_1", 0x84);
	bda16("char_height", 0x85);
	bda8("video_ctl", 0x87);
	bda8("video_switches", 0x88);
	bda8("video_modeset_ctl", 0x89);
	bda8("video_dcc_index", 0x8a);
	print("bda.video_save_pointer: 0x%08x\n", rd32(0x4a8));
	print("bda.reset_vector: 0x%08x\n", rd32(0x467));
	bda8("timer_rollover", 0x70);
	bda8("break_flag", 0x71);
	bda16("soft_reset_flag", 0x72);
	bda8("disk_last_status", 0x74);
	bda8("hard_disks", 0x75);
	bda8("disk_control", 0x76);
	print("bda.lpt_timeouts: 0x%08x\nbda.com_timeouts: 0x%08x\n", rd32(0x478), rd32(0x47c));
	/* The tick count is the time of day (SeaBIOS sets it from the RTC, then IRQ 0 advances it):
	 * compare it with the RTC rather than print it. 18.2065 ticks a second. */
	u32 ticks = rd32(0x46c), rtc = rtc_seconds_of_day();
	u32 expected = (u32)(((u64)rtc * 1193180 + 32768) / 65536);
	u32 diff = ticks > expected ? ticks - expected : expected - ticks;
	print("bda.timer_ticks_match_rtc: %s\n", diff <= 2 * 19 ? "yes" : "no");
	/* 0x4B0-0x4BF: SeaVGABIOS keeps fields of its own there; the rest of the BDA is zero. */
	print("bda.vgabios_fields.crc32: 0x%08x\n", crc32(0x4b0, 0x10));
	print("bda.rest.crc32: 0x%08x\n", crc32(0x4ac, 4) ^ crc32(0x4c0, 0x40));

	u32 ebda = (u32)rd16(0x40e) << 4;
	print("ebda.address: 0x%08x\n", ebda);
	if (ebda) {
		print("ebda.size_kib: %u\n", rd8(ebda));
		print("ebda.crc32: 0x%08x\n", crc32(ebda, rd8(ebda) * 1024u));
	}
}

static int checksum_ok(u32 a, u32 len)
{
	u8 s = 0;
	for (u32 k = 0; k < len; k++)
		s = (u8)(s + rd8(a + k));
	return s == 0;
}

static int sig_at(u32 a, const char *sig)
{
	for (u32 k = 0; sig[k]; k++)
		if (rd8(a + k) != (u8)sig[k])
			return 0;
	return 1;
}

/* Where a kernel looks for a firmware table's anchor: the EBDA's first KiB, then 0xE0000-0xFFFFF
 * (and the last KiB of base memory for MP), on 16-byte boundaries. */
static u32 find(const char *sig, int with_base_top)
{
	u32 ebda = (u32)rd16(0x40e) << 4;
	if (ebda)
		for (u32 a = ebda; a < ebda + 1024; a += 16)
			if (sig_at(a, sig))
				return a;
	if (with_base_top)
		for (u32 a = 0x9fc00; a < 0xa0000; a += 16)
			if (sig_at(a, sig))
				return a;
	for (u32 a = 0xe0000; a < 0x100000; a += 16)
		if (sig_at(a, sig))
			return a;
	return 0;
}

static const char *area(u32 a)
{
	u32 ebda = (u32)rd16(0x40e) << 4;
	if (ebda && a >= ebda && a < ebda + 1024)
		return "ebda";
	if (a >= 0xf0000)
		return "f-segment";
	if (a >= 0xe0000)
		return "e-segment";
	return "base-memory-top";
}

static void probe_mp(void)
{
	u32 fp = find("_MP_", 1);
	if (!fp) {
		print("mp: absent\n");
		return;
	}
	u32 cfg = rd32(fp + 4);
	print("mp: found in %s\n", area(fp));
	print("mp.floating.checksum_ok: %s\nmp.floating.revision: %u\nmp.floating.features: 0x%02x 0x%02x\n",
	      checksum_ok(fp, 16 * rd8(fp + 8)) ? "yes" : "no", rd8(fp + 9), rd8(fp + 11), rd8(fp + 12));
	if (!cfg || !sig_at(cfg, "PCMP")) {
		print("mp.config: absent\n");
		return;
	}
	u32 len = rd16(cfg + 4), count = rd16(cfg + 34);
	print("mp.config.checksum_ok: %s\nmp.config.revision: %u\n", checksum_ok(cfg, len) ? "yes" : "no", rd8(cfg + 6));
	print("mp.config.lapic: 0x%08x\n", rd32(cfg + 36));
	u32 cpus = 0, isa_bus = 0xff, p = cfg + 44;
	for (u32 k = 0; k < count && p < cfg + len; k++) {
		u8 type = rd8(p);
		if (type == 0) {	/* processor */
			cpus++;
			print("mp.cpu: apic id %u, flags 0x%02x\n", rd8(p + 1), rd8(p + 3));
			p += 20;
		} else if (type == 1) {	/* bus */
			if (sig_at(p + 2, "ISA   "))
				isa_bus = rd8(p + 1);
			p += 8;
		} else if (type == 2) {	/* I/O APIC */
			print("mp.ioapic: id %u, flags 0x%02x, address 0x%08x\n", rd8(p + 1), rd8(p + 3), rd32(p + 4));
			p += 8;
		} else if (type == 3 || type == 4) {	/* I/O and local interrupt assignments */
			if (type == 3 && rd8(p + 4) == isa_bus)
				print("mp.isa_irq: %u -> apic %u pin %u, type %u, flags 0x%04x\n", rd8(p + 5), rd8(p + 6), rd8(p + 7), rd8(p + 1), rd16(p + 2));
			if (type == 4)
				print("mp.lint: type %u, flags 0x%04x, to apic 0x%02x lint%u\n", rd8(p + 1), rd16(p + 2), rd8(p + 6), rd8(p + 7));
			p += 8;
		} else {
			break;
		}
	}
	print("mp.cpus: %u\n", cpus);
}

static void probe_tables(void)
{
	probe_mp();
	u32 rsdp = find("RSD PTR ", 0);
	if (rsdp)
		print("acpi.rsdp: found in %s, revision %u, checksum_ok %s\n", area(rsdp), rd8(rsdp + 15), checksum_ok(rsdp, 20) ? "yes" : "no");
	else
		print("acpi.rsdp: absent\n");
	u32 sm = find("_SM_", 0), sm3 = find("_SM3_", 0), pir = find("$PIR", 0), b32 = find("_32_", 0);
	print("smbios.entry: %s\n", sm ? area(sm) : "absent");
	print("smbios3.entry: %s\n", sm3 ? area(sm3) : "absent");
	print("pir: %s\n", pir ? area(pir) : "absent");
	print("bios32: %s\n", b32 ? area(b32) : "absent");
}

/* ---- 4. devices as the firmware left them ---------------------------------------------------- */

struct devices {
	u8 uart_ier, uart_iir, uart_lcr, uart_mcr, uart_lsr, uart_msr, uart_dll, uart_dlm;
	u8 pit0_status, pic_imr_master, pic_imr_slave, elcr0, elcr1;
	u8 port61, port92, kbc_status, kbc_command;
	u8 rtc_a, rtc_b, rtc_d;
	u16 pit0_count[2];
};
static struct devices dev;

static u16 pit0_latch(void)
{
	outb(0x43, 0x00);	/* counter latch command, channel 0 */
	u8 lo = inb(0x40);
	return (u16)(lo | inb(0x40) << 8);
}

static void delay(u32 n)
{
	for (volatile u32 k = 0; k < n; k++)
		;
}

/* Everything read before the probe writes to a device (the console's serial_init included). */
static void snapshot_devices(void)
{
	dev.uart_ier = inb(COM1 + 1);
	dev.uart_iir = inb(COM1 + 2);
	dev.uart_lcr = inb(COM1 + 3);
	dev.uart_mcr = inb(COM1 + 4);
	dev.uart_lsr = inb(COM1 + 5);
	dev.uart_msr = inb(COM1 + 6);
	outb(COM1 + 3, dev.uart_lcr | 0x80);	/* DLAB: the divisor */
	dev.uart_dll = inb(COM1 + 0);
	dev.uart_dlm = inb(COM1 + 1);
	outb(COM1 + 3, dev.uart_lcr);
	outb(0x43, 0xe2);	/* read-back: status of channel 0, count not latched */
	dev.pit0_status = inb(0x40);
	dev.pit0_count[0] = pit0_latch();
	delay(200000);
	dev.pit0_count[1] = pit0_latch();
	dev.pic_imr_master = inb(0x21);
	dev.pic_imr_slave = inb(0xa1);
	dev.elcr0 = inb(0x4d0);
	dev.elcr1 = inb(0x4d1);
	dev.port61 = inb(0x61);
	dev.port92 = inb(0x92);
	dev.kbc_status = inb(0x64);
	outb(0x64, 0x20);	/* read the controller's command byte */
	for (u32 k = 0; k < 100000 && !(inb(0x64) & 1); k++)
		;
	dev.kbc_command = inb(0x60);
	dev.rtc_a = cmos(0x0a);
	dev.rtc_b = cmos(0x0b);
	dev.rtc_d = cmos(0x0d);
}

/*
 * Whether channel 0 reloads from 65536: a count of 0xFF00 or more is seen (a sample within 256
 * input clocks of the reload). Up to 20 wraps, so that a host that preempts QEMU at the wrong
 * moment does not hide it; a counter that does not count is not sampled.
 */
static int pit0_reloads_65536(void)
{
	if (dev.pit0_count[0] == dev.pit0_count[1])
		return 0;
	u32 wraps = 0, prev = pit0_latch();
	for (u32 k = 0; k < 50000000 && wraps < 20; k++) {
		u32 c = pit0_latch();
		if (c >= 0xff00)
			return 1;
		if (c > prev)
			wraps++;
		prev = c;
	}
	return 0;
}

static volatile u32 *lapic(u32 reg) { return (volatile u32 *)phys(0xfee00000u + reg); }
static u32 ioapic_read(u32 reg)
{
	*(volatile u32 *)phys(0xfec00000u) = reg;
	return *(volatile u32 *)phys(0xfec00010u);
}

static void print_devices(void)
{
	print("uart.ier: 0x%02x\nuart.iir: 0x%02x\nuart.lcr: 0x%02x\nuart.mcr: 0x%02x\n", dev.uart_ier, dev.uart_iir, dev.uart_lcr, dev.uart_mcr);
	print("uart.lsr: 0x%02x\nuart.msr: 0x%02x\nuart.divisor: %u\n", dev.uart_lsr, dev.uart_msr, dev.uart_dll | dev.uart_dlm << 8);
	/* Bit 7 is the counter's OUT pin, which toggles with time. */
	print("pit0.status: 0x%02x\n", dev.pit0_status & 0x7f);
	print("pit0.counting: %s\n", dev.pit0_count[0] != dev.pit0_count[1] ? "yes" : "no");
	print("pit0.reload_65536: %s\n", pit0_reloads_65536() ? "yes" : "no");
	print("pic.imr_master: 0x%02x\npic.imr_slave: 0x%02x\n", dev.pic_imr_master, dev.pic_imr_slave);
	print("pic.elcr: 0x%02x 0x%02x\n", dev.elcr0, dev.elcr1);
	/* 0x61: bits 4 (refresh) and 5 (PIT channel 2 output) change with time. */
	print("port61: 0x%02x\n", dev.port61 & 0x0f);
	print("port92: 0x%02x\n", dev.port92);
	/* 0x64: bit 0 (output buffer full) and bit 5 depend on keystrokes/mouse bytes waiting. */
	print("kbc.status: 0x%02x\nkbc.command: 0x%02x\n", dev.kbc_status & 0xde, dev.kbc_command);
	print("rtc.a: 0x%02x\nrtc.b: 0x%02x\nrtc.d: 0x%02x\n", dev.rtc_a & 0x7f, dev.rtc_b, dev.rtc_d);
	print("lapic.id: 0x%08x\nlapic.version: 0x%08x\nlapic.tpr: 0x%08x\n", *lapic(0x20), *lapic(0x30), *lapic(0x80));
	print("lapic.ldr: 0x%08x\nlapic.dfr: 0x%08x\n", *lapic(0xd0), *lapic(0xe0));
	print("lapic.svr: 0x%08x\n", *lapic(0xf0));
	print("lapic.lvt_timer: 0x%08x\nlapic.lvt_lint0: 0x%08x\nlapic.lvt_lint1: 0x%08x\nlapic.lvt_error: 0x%08x\n",
	      *lapic(0x320), *lapic(0x350), *lapic(0x360), *lapic(0x370));
	print("lapic.timer_initial: 0x%08x\nlapic.timer_divide: 0x%08x\n", *lapic(0x380), *lapic(0x3e0));
	u32 ver = ioapic_read(1);
	print("ioapic.id: 0x%08x\nioapic.version: 0x%08x\n", ioapic_read(0), ver);
	u32 pins = ((ver >> 16) & 0xff) + 1, masked = 0, other = 0;
	for (u32 k = 0; k < pins; k++) {
		u32 lo = ioapic_read(0x10 + 2 * k);
		if (lo & 0x10000)
			masked++;
		else
			other++;
	}
	print("ioapic.pins_masked: %u\nioapic.pins_unmasked: %u\n", masked, other);
}

/* One interrupt through a vector-recording IDT: which vector did IRQ `irq` arrive on? */
static u64 idt[256];
static void idt_gate(u32 v, u32 handler)
{
	idt[v] = (u64)(handler & 0xffff) | (u64)0x08 << 16 | (u64)0x8e00 << 32 | (u64)(handler >> 16) << 48;
}

static u32 wait_vector(void)
{
	last_vector = 0xffffffffu;
	for (u32 k = 0; k < 20 && last_vector == 0xffffffffu; k++)
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	return last_vector;
}

static void print_vector(const char *name, u32 v)
{
	if (v == 0xfffffffeu)
		print("%s: not tried (the PIT is not counting)\n", name);
	else if (v == 0xffffffffu)
		print("%s: none arrived\n", name);
	else
		print("%s: 0x%02x\n", name, v);
}

static void probe_pic_vectors(void)
{
	struct __attribute__((packed)) { u16 limit; u32 base; } idtr = { sizeof(idt) - 1, (u32)idt };
	for (u32 v = 0; v < 256; v++)
		idt_gate(v, (u32)irq_stubs + 16 * v);
	__asm__ volatile("lidt %0" : : "m"(idtr));

	/* IRQ 0 alone (the PIT, as the firmware left it running; with no timer running a halt
	 * would never end). */
	outb(0xa1, 0xff);
	outb(0x21, 0xfe);
	u32 v0 = 0xfffffffeu;
	if (dev.pit0_count[0] != dev.pit0_count[1]) {
		v0 = wait_vector();
		outb(0x20, 0x20);	/* non-specific EOI */
	}
	/* IRQ 8 alone (the RTC's periodic interrupt, enabled for the occasion). */
	outb(0x21, 0xfb);
	outb(0xa1, 0xfe);
	u8 b = cmos(0x0b);
	outb(0x70, 0x0b);
	outb(0x71, b | 0x40);
	u32 v8 = wait_vector();
	outb(0x70, 0x0b);
	outb(0x71, b);
	(void)cmos(0x0c);	/* acknowledge the RTC */
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	outb(0x21, dev.pic_imr_master);
	outb(0xa1, dev.pic_imr_slave);
	print_vector("pic.irq0_vector", v0);
	print_vector("pic.irq8_vector", v8);
	cpu_tables_init();	/* back to the exception IDT */
}

/* ---- 5. fw_cfg --------------------------------------------------------------------------------- */

static void fw_select(u16 key) { outw(0x510, key); }
static u8 fw_u8(void) { return inb(0x511); }
static u32 fw_le(u32 bytes)
{
	u32 v = 0;
	for (u32 k = 0; k < bytes; k++)
		v |= (u32)fw_u8() << (8 * k);
	return v;
}
static u32 fw_be32(void)
{
	u32 v = 0;
	for (u32 k = 0; k < 4; k++)
		v = v << 8 | fw_u8();
	return v;
}

static void fw_key(const char *name, u16 key, u32 bytes)
{
	fw_select(key);
	print("fw_cfg.%s: 0x", name);
	u8 b[16];
	for (u32 k = 0; k < bytes; k++)
		b[k] = fw_u8();
	for (u32 k = bytes; k-- > 0;)	/* little-endian: most significant byte first */
		print("%02x", b[k]);
	print("\n");
}

/* CRC-32 of an item's first `len` bytes, leaving out the ranges [skip[i], skip[i] + skip_len[i]). */
static u32 fw_crc32(u16 key, u32 len, const u32 *skip, const u32 *skip_len, u32 skips)
{
	fw_select(key);
	u32 c = 0xffffffffu;
	for (u32 k = 0; k < len; k++) {
		u8 b = fw_u8();
		int skipped = 0;
		for (u32 i = 0; i < skips; i++)
			if (k >= skip[i] && k - skip[i] < skip_len[i])
				skipped = 1;
		if (skipped)
			continue;
		c ^= b;
		for (int b = 0; b < 8; b++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

/* A file's selector and size from the directory (key 0x19, big-endian), or 0 if absent. */
static u32 fw_find(const char *name, u32 *size)
{
	fw_select(0x0019);
	u32 count = fw_be32();
	for (u32 k = 0; k < count; k++) {
		u32 sz = fw_be32();
		u32 sel = fw_u8() << 8;
		sel |= fw_u8();
		(void)fw_u8();
		(void)fw_u8();
		int match = 1;
		for (u32 c = 0; c < 56; c++) {
			char ch = (char)fw_u8();
			if (match && ch != name[c])
				match = 0;
			if (match && !ch)
				break;
		}
		if (match) {
			*size = sz;
			return sel;
		}
		/* skip to the next entry: the name loop may have stopped early */
		fw_select(0x0019);
		for (u32 s = 0; s < 4 + 64 * (k + 1); s++)
			(void)fw_u8();
	}
	return 0;
}

/* The DMA interface (fw_cfg.rst, "Guest-side DMA Interface"): a FWCfgDmaAccess in RAM, its
 * address written big-endian to 0x514 (high half) and 0x518 (low half, which starts it). */
struct fw_dma { u32 control, length, address_hi, address_lo; };
static struct fw_dma dma __attribute__((aligned(16)));
static u8 dma_buf[64];
static u32 bswap(u32 v) { return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24; }

static u32 fw_dma(u32 control, u32 length, void *buf)
{
	dma.control = bswap(control);
	dma.length = bswap(length);
	dma.address_hi = 0;
	dma.address_lo = bswap((u32)buf);
	__asm__ volatile("" : : : "memory");
	outl(0x514, 0);
	outl(0x518, bswap((u32)&dma));
	__asm__ volatile("" : : : "memory");
	return bswap(dma.control);
}

static void probe_fw_dma(void)
{
	/* control: bit 1 read, bit 2 skip, bit 3 select (key in bits 31-16), bit 4 write; 0 = done, bit 0 = error */
	for (u32 k = 0; k < sizeof(dma_buf); k++)
		dma_buf[k] = 0xaa;
	u32 c = fw_dma(0x0000u << 16 | 0x8 | 0x2, 4, dma_buf);
	print("fw_cfg.dma.read_signature: control 0x%08x, \"%c%c%c%c\"\n", c, dma_buf[0], dma_buf[1], dma_buf[2], dma_buf[3]);
	c = fw_dma(0x0000u << 16 | 0x8 | 0x4, 1, 0);	/* select the signature, skip a byte */
	u32 c2 = fw_dma(0x2, 8, dma_buf);	/* read on: 3 bytes, then past the end */
	print("fw_cfg.dma.skip_then_read: control 0x%08x 0x%08x, bytes %02x %02x %02x %02x %02x %02x %02x %02x\n", c, c2,
	      dma_buf[0], dma_buf[1], dma_buf[2], dma_buf[3], dma_buf[4], dma_buf[5], dma_buf[6], dma_buf[7]);
	c = fw_dma(0x0000u << 16 | 0x8 | 0x10, 4, dma_buf);	/* write the signature: read-only */
	print("fw_cfg.dma.write_signature: control 0x%08x\n", c);
	c = fw_dma(0x0000u << 16 | 0x8, 4, dma_buf);	/* select alone */
	print("fw_cfg.dma.select_only: control 0x%08x, then data port reads 0x%02x\n", c, fw_u8());
	c = fw_dma(0x7fffu << 16 | 0x8 | 0x2, 4, dma_buf);	/* an item that does not exist: zeros */
	print("fw_cfg.dma.read_absent: control 0x%08x, bytes %02x %02x %02x %02x\n", c, dma_buf[0], dma_buf[1], dma_buf[2], dma_buf[3]);
}

/* How the ports answer accesses of each width (QEMU's comb region: byte reads, word selects). */
static void probe_fw_ports(void)
{
	u16 w;
	u32 l;
	fw_select(0x0000);
	print("fw_cfg.port.inb_0x510: 0x%02x\n", inb(0x510));
	__asm__ volatile("inw %1, %0" : "=a"(w) : "Nd"((u16)0x511));
	print("fw_cfg.port.inw_0x511: 0x%04x\n", w);
	l = inl(0x510);
	print("fw_cfg.port.inl_0x510: 0x%08x\n", l);
	print("fw_cfg.port.next_inb_0x511: 0x%02x\n", inb(0x511));
	outb(0x510, 0x01);	/* a byte write: not a select (and data writes are ignored) */
	print("fw_cfg.port.after_outb: 0x%02x\n", inb(0x511));
	outw(0x511, 0x0001);	/* a word write at the data port */
	print("fw_cfg.port.after_outw_0x511: 0x%02x\n", inb(0x511));
	outl(0x510, 0x0000);	/* a dword write: ignored */
	print("fw_cfg.port.after_outl: 0x%02x\n", inb(0x511));
	fw_select(0x4000);	/* the write channel bit: the same item */
	print("fw_cfg.port.key_0x4000: 0x%02x\n", inb(0x511));
	print("fw_cfg.port.dma_inl_0x514: 0x%08x\nfw_cfg.port.dma_inl_0x518: 0x%08x\n", inl(0x514), inl(0x518));
	print("fw_cfg.port.dma_inb_0x517: 0x%02x\n", inb(0x517));
}

static void probe_fw_cfg(void)
{
	fw_select(0x0000);
	char sig[5];
	for (u32 k = 0; k < 4; k++)
		sig[k] = (char)fw_u8();
	sig[4] = 0;
	for (u32 k = 0; k < 4; k++)
		if (sig[k] < 0x20 || sig[k] > 0x7e)
			sig[k] = '?';
	print("fw_cfg.signature: \"%s\"\n", sig);
	if (sig[0] != 'Q')
		return;
	fw_key("id", 0x0001, 4);
	fw_key("uuid", 0x0002, 16);
	fw_key("ram_size", 0x0003, 8);
	fw_key("nographic", 0x0004, 2);
	fw_key("nb_cpus", 0x0005, 2);
	fw_key("machine_id", 0x0006, 4);
	fw_key("kernel_addr", 0x0007, 4);
	fw_key("kernel_size", 0x0008, 4);
	fw_key("kernel_cmdline", 0x0009, 4);
	fw_key("initrd_addr", 0x000a, 4);
	fw_key("initrd_size", 0x000b, 4);
	fw_key("boot_device", 0x000c, 2);
	fw_key("numa", 0x000d, 16);
	fw_key("boot_menu", 0x000e, 2);
	fw_key("max_cpus", 0x000f, 2);
	fw_key("kernel_entry", 0x0010, 4);
	fw_select(0x0007);
	u32 kaddr = fw_le(4);
	fw_select(0x0008);
	u32 ksize = fw_le(4);
	/* The CRC leaves out two ranges: from the loader's name (QEMU's "qemu") to the end of its
	 * page, and from the end of the kernel to the end of its page, which QEMU fills from
	 * uninitialised heap memory (hw/i386/multiboot.c allocates the image at the kernel's size,
	 * then enlarges it to whole pages without clearing). */
	u32 name = entry.eax == MB_MAGIC && (rd32(entry.ebx) & 0x200) ? rd32(entry.ebx + 64) : 0;
	u32 kend = (u32)__kernel_end;
	u32 skip[2] = { name - kaddr, kend - kaddr }, skip_len[2] = { ((name | 0xfff) + 1) - name, ((kend + 0xfff) & ~0xfffu) - kend };
	print("fw_cfg.kernel_data.crc32_without_padding: 0x%08x\n", fw_crc32(0x0011, ksize, skip, skip_len, 2));
	fw_select(0x000b);
	u32 isize = fw_le(4);
	print("fw_cfg.initrd_data.crc32: 0x%08x\n", fw_crc32(0x0012, isize, 0, 0, 0));
	fw_key("cmdline_addr", 0x0013, 4);
	fw_key("cmdline_size", 0x0014, 4);
	fw_select(0x0014);
	u32 csize = fw_le(4);
	fw_select(0x0015);
	print("fw_cfg.cmdline_data: \"");
	for (u32 k = 0; k < csize && k < 4096; k++) {
		u8 c = fw_u8();
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			print("\\x%02x", c);
		else
			print("%c", c);
	}
	print("\"\n");
	fw_key("setup_addr", 0x0016, 4);
	fw_key("setup_size", 0x0017, 4);
	fw_key("irq0_override", 0x8002, 4);
	fw_key("e820_legacy", 0x8003, 4);
	fw_key("hpet", 0x8004, 4);

	fw_select(0x0019);
	print("fw_cfg.files: %u\n", fw_be32());
	u32 size = 0, sel = fw_find("etc/e820", &size);
	if (!sel) {
		print("fw_cfg.file.etc/e820: absent\n");
	} else {
		print("fw_cfg.file.etc/e820: size %u\n", size);
		fw_select((u16)sel);
		for (u32 k = 0; k < size / 20 && k < 16; k++) {
			u32 base_lo = fw_le(4), base_hi = fw_le(4), len_lo = fw_le(4), len_hi = fw_le(4), type = fw_le(4);
			print("fw_cfg.e820[%u]: base 0x%08x%08x length 0x%08x%08x type %u\n", k, base_hi, base_lo, len_hi, len_lo, type);
		}
	}
	probe_fw_ports();
	probe_fw_dma();
}

/* ---- main ---------------------------------------------------------------------------------- */

void probe_main(void)
{
	struct seg_info cs = seg_info(entry.cs), ds = seg_info(entry.ds), es = seg_info(entry.es);
	struct seg_info fs = seg_info(entry.fs), gs = seg_info(entry.gs), ss = seg_info(entry.ss);
	snapshot_devices();
	serial_init();

	print("entry-probe: the machine state at the multiboot entry\n");
	print("eax: 0x%08x\nebx: 0x%08x\necx: 0x%08x\nedx: 0x%08x\n", entry.eax, entry.ebx, entry.ecx, entry.edx);
	print("esi: 0x%08x\nedi: 0x%08x\nebp: 0x%08x\nesp: 0x%08x\n", entry.esi, entry.edi, entry.ebp, entry.esp);
	print("eflags: 0x%08x\n", entry.eflags);
	print_segment("cs", entry.cs, &cs);
	print_segment("ds", entry.ds, &ds);
	print_segment("es", entry.es, &es);
	print_segment("fs", entry.fs, &fs);
	print_segment("gs", entry.gs, &gs);
	print_segment("ss", entry.ss, &ss);
	print("gdtr.base: 0x%08x\ngdtr.limit: 0x%04x\n", entry.gdt_base, entry.gdt_limit);
	for (u32 k = 0; k * 8 < (u32)entry.gdt_limit + 1 && k < 16; k++)
		print("gdt[%u]: 0x%08x%08x\n", k, rd32(entry.gdt_base + 8 * k + 4), rd32(entry.gdt_base + 8 * k));
	print("idtr.base: 0x%08x\nidtr.limit: 0x%04x\n", entry.idt_base, entry.idt_limit);
	print("ldtr: 0x%04x\ntr: 0x%04x\n", entry.ldtr, entry.tr);
	print("cr0: 0x%08x\ncr2: 0x%08x\ncr3: 0x%08x\ncr4: 0x%08x\n", entry.cr0, entry.cr2, entry.cr3, entry.cr4);
	print("dr6: 0x%08x\ndr7: 0x%08x\n", entry.dr6, entry.dr7);
	u32 esp = entry.esp;
	print("esp.below_0x7c00: %s\n", esp > 0x1000 && esp <= 0x7c00 ? "yes" : "no");
	print("esp.aligned_4: %s\n", (esp & 3) ? "no" : "yes");

	probe_multiboot();
	probe_bda();
	probe_tables();
	print_devices();
	cpu_tables_init();
	probe_pic_vectors();
	probe_fw_cfg();
	print("entry-probe: done\n");
	exit_qemu(0);
}

void unexpected(u32 vector, u32 *stack)
{
	print("entry-probe: unexpected exception %u at eip 0x%08x\n", vector, stack[exception_has_error_code(vector) ? 1 : 0]);
	exit_qemu(1);
}

/* ../bare/entry.S's _start calls kmain; this guest's ELF entry is probe_entry instead, so _start
 * runs only if a loader ignores the ELF entry point: say so. */
void kmain(u32 magic, u32 info)
{
	(void)magic;
	(void)info;
	serial_init();
	print("entry-probe: started at _start, not at the ELF entry point\n");
	exit_qemu(1);
}
