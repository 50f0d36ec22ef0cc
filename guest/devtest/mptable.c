/*
 * mptable.c -- find and parse the MP tables (Intel MultiProcessor Specification 1.4).
 *
 * The MP floating pointer structure ("_MP_", 16 bytes, on a 16-byte boundary) is searched
 * for, in this order (spec section 4):
 *   1. the first KiB of the Extended BIOS Data Area, whose segment is the word at 0x40e;
 *   2. if there is no EBDA (segment 0): the last KiB of base memory, from the KiB count
 *      in the word at 0x413;
 *   3. the BIOS ROM, 0xf0000 - 0xfffff.
 * It points to the MP configuration table ("PCMP"): a header, then entries of five kinds.
 */
#include "devtest.h"

static u8 sum_bytes(u32 addr, u32 len)
{
	u8 s = 0;
	for (u32 i = 0; i < len; i++)
		s += peek8(addr + i);
	return s;
}

static int is_sig(u32 addr, const char *sig)
{
	for (int i = 0; i < 4; i++)
		if (peek8(addr + i) != (u8)sig[i])
			return 0;
	return 1;
}

/* Print len bytes of text from physical memory, without trailing spaces. */
static void print_text(u32 addr, u32 len)
{
	while (len && (peek8(addr + len - 1) == ' ' || peek8(addr + len - 1) == 0))
		len--;
	for (u32 i = 0; i < len; i++)
		print("%c", peek8(addr + i));
}

static u32 scan(u32 start, u32 len)
{
	for (u32 a = start; a + 16 <= start + len; a += 16) {
		if (!is_sig(a, "_MP_"))
			continue;
		u32 flen = peek8(a + 8) * 16u;
		if (flen != 16 || sum_bytes(a, flen) != 0) {
			print("mp: \"_MP_\" at 0x%x with a bad length or checksum, skipped\n", a);
			continue;
		}
		return a;
	}
	return 0;
}

static const char *const int_types[4] = { "INT", "NMI", "SMI", "ExtINT" };
static const char *const polarities[4] = { "conforms", "high", "reserved", "low" };
static const char *const triggers[4] = { "conforms", "edge", "reserved", "level" };

void mp_find(struct mp_info *mp)
{
	u32 ebda = (u32)peek16(0x40e) << 4;
	u32 base_kib = peek16(0x413);
	u32 fp = 0;
	const char *where = "";

	for (int i = 0; i < 16; i++)
		mp->isa_pin[i] = 0xff;
	mp->isa_bus = 0xff;

	if (ebda) {
		fp = scan(ebda, 1024);
		where = "first KiB of the EBDA";
	} else if (base_kib) {
		fp = scan(base_kib * 1024 - 1024, 1024);
		where = "last KiB of base memory";
	}
	if (!fp) {
		fp = scan(0xf0000, 0x10000);
		where = "BIOS ROM 0xf0000-0xfffff";
	}
	if (!fp) {
		print("FAIL: mp: no MP floating pointer (EBDA 0x%x, base memory %u KiB, 0xf0000-0xfffff)\n",
		      ebda, base_kib);
		failures++;
		return;
	}

	u32 cfg = peek32(fp + 4);
	u8 spec = peek8(fp + 9), f1 = peek8(fp + 11), f2 = peek8(fp + 12);
	print("mp: floating pointer at 0x%x (%s), spec 1.%u, checksum ok, config table at 0x%x\n",
	      fp, where, spec, cfg);
	print("mp: feature byte 1 = 0x%x (%s), byte 2 = 0x%x (%s)\n",
	      f1, f1 ? "a default configuration" : "configuration table present",
	      f2, f2 & 0x80 ? "IMCR present: PIC mode" : "virtual wire mode");
	mp->imcr_present = (f2 & 0x80) != 0;
	if (f1 != 0 || cfg == 0) {
		print("FAIL: mp: default configurations are not supported by this test\n");
		failures++;
		return;
	}

	if (!is_sig(cfg, "PCMP")) {
		print("FAIL: mp: no \"PCMP\" signature at 0x%x\n", cfg);
		failures++;
		return;
	}
	u32 len = peek16(cfg + 4);
	u32 count = peek16(cfg + 34);
	u32 ext_len = peek16(cfg + 40);
	int ok = sum_bytes(cfg, len) == 0;
	int ext_ok = ext_len == 0 || (u8)(sum_bytes(cfg + len, ext_len) + peek8(cfg + 42)) == 0;
	mp->lapic_addr = peek32(cfg + 36);
	print("mp: config table: spec 1.%u, %u bytes, %u entries, checksum %s, extended %u bytes%s\n",
	      peek8(cfg + 6), len, count, ok ? "ok" : "BAD", ext_len,
	      ext_len ? (ext_ok ? " (checksum ok)" : " (checksum BAD)") : "");
	CHECK(ok && ext_ok, "mp: configuration table checksum\n");
	print("mp: OEM \"");
	print_text(cfg + 8, 8);
	print("\", product \"");
	print_text(cfg + 16, 12);
	print("\", local APIC at 0x%x\n", mp->lapic_addr);

	u32 e = cfg + 44, end = cfg + len;
	u32 n_cpu = 0, n_ioapic = 0, n_pci_ints = 0, bsp_seen = 0;
	int pci_bus = -1;
	for (u32 i = 0; i < count && e < end; i++) {
		u8 type = peek8(e);
		switch (type) {
		case 0: {	/* processor */
			u8 id = peek8(e + 1), ver = peek8(e + 2), flags = peek8(e + 3);
			print("mp: processor: APIC ID %u, APIC version 0x%x, %s%s, signature 0x%x\n",
			      id, ver, flags & 1 ? "enabled" : "disabled", flags & 2 ? ", BSP" : "",
			      peek32(e + 4));
			if (flags & 2) {
				mp->bsp_apic_id = id;
				bsp_seen++;
			}
			n_cpu++;
			e += 20;
			break;
		}
		case 1: {	/* bus */
			u8 id = peek8(e + 1);
			print("mp: bus %u: \"", id);
			print_text(e + 2, 6);
			print("\"\n");
			if (is_sig(e + 2, "ISA "))
				mp->isa_bus = id;
			if (is_sig(e + 2, "PCI "))
				pci_bus = id;
			e += 8;
			break;
		}
		case 2: {	/* I/O APIC */
			u8 id = peek8(e + 1), ver = peek8(e + 2), flags = peek8(e + 3);
			u32 addr = peek32(e + 4);
			print("mp: IOAPIC: ID %u, version 0x%x, %s, address 0x%x\n",
			      id, ver, flags & 1 ? "enabled" : "disabled", addr);
			if (n_ioapic++ == 0) {
				mp->ioapic_id = id;
				mp->ioapic_addr = addr;
			}
			e += 8;
			break;
		}
		case 3: {	/* I/O interrupt assignment */
			u8 itype = peek8(e + 1);
			u16 flags = peek16(e + 2);
			u8 bus = peek8(e + 4), irq = peek8(e + 5), apic = peek8(e + 6), pin = peek8(e + 7);
			if (bus == mp->isa_bus && irq < 16 && itype == 0) {
				mp->isa_pin[irq] = pin;
				mp->isa_flags[irq] = flags;
			} else if ((int)bus == pci_bus) {
				n_pci_ints++;
			} else {
				print("mp: I/O interrupt: %s, bus %u IRQ %u -> IOAPIC %u pin %u, polarity %s, trigger %s\n",
				      int_types[itype & 3], bus, irq, apic, pin,
				      polarities[flags & 3], triggers[(flags >> 2) & 3]);
			}
			e += 8;
			break;
		}
		case 4: {	/* local interrupt assignment */
			u8 itype = peek8(e + 1), bus = peek8(e + 4), irq = peek8(e + 5);
			u8 lapic = peek8(e + 6), lint = peek8(e + 7);
			print("mp: local interrupt: %s, bus %u IRQ %u -> ", int_types[itype & 3], bus, irq);
			if (lapic == 0xff)
				print("all LAPICs LINT%u\n", lint);
			else
				print("LAPIC %u LINT%u\n", lapic, lint);
			e += 8;
			break;
		}
		default:
			print("FAIL: mp: unknown entry type %u at 0x%x\n", type, e);
			failures++;
			return;
		}
	}

	/* The ISA interrupts, IRQ -> IOAPIC pin, in one line ("-": no entry). */
	print("mp: ISA IRQ -> IOAPIC pin:");
	for (int irq = 0; irq < 16; irq++) {
		if (mp->isa_pin[irq] == 0xff)
			print(" %u:-", irq);
		else
			print(" %u:%u", irq, mp->isa_pin[irq]);
	}
	print("\n");
	static const u8 wanted[3] = { 0, 4, 14 };
	for (int i = 0; i < 3; i++) {
		u8 irq = wanted[i];
		if (mp->isa_pin[irq] == 0xff) {
			print("FAIL: mp: no I/O interrupt entry for ISA IRQ %u\n", irq);
			failures++;
		} else {
			u16 fl = mp->isa_flags[irq];
			print("mp: ISA IRQ %u arrives on IOAPIC pin %u (polarity %s, trigger %s)\n",
			      irq, mp->isa_pin[irq], polarities[fl & 3], triggers[(fl >> 2) & 3]);
		}
	}
	print("mp: %u processor(s), %u IOAPIC(s), %u PCI interrupt entries\n", n_cpu, n_ioapic, n_pci_ints);
	CHECK(n_cpu >= 1 && bsp_seen == 1, "mp: want exactly one BSP\n");
	CHECK(n_ioapic >= 1, "mp: no IOAPIC\n");
	CHECK(mp->isa_bus != 0xff, "mp: no ISA bus\n");
	mp->found = n_cpu >= 1 && n_ioapic >= 1 && mp->isa_bus != 0xff;
}
