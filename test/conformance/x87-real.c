/*
 * x87-real.c -- the x87 in real-address mode (SDM vol. 1, 8.1.10 and figure 8-12; vol. 3, 20.1):
 * exact extended arithmetic (1/3 to the bit), FNSTENV's 16-bit real-mode layout, whose instruction
 * and operand pointers are 20-bit linear addresses (IP 19-16 beside the 11-bit opcode), and #MF
 * with CR0.NE=1 through the interrupt vector table at the next waiting instruction. The real-mode
 * code is x87-real.S's blob, copied below 1 MiB, as realmode.c does. Under trap-and-emulate the
 * VMM runs it in virtual-8086 mode, where the x87 keeps the real-mode layout. Not checked under
 * QEMU's TCG (7.2), which deviates there: FNSTENV's pointers and opcode (it stores the
 * protected-mode layout, offsets and selectors, and no opcode).
 * @qemu
 */
#include "lib/conformance.h"

#define BLOB		0x20000
#define SW_ZE		0x0004u
#define SW_ES		0x0080u

struct xr_results {
	u16 env[7], mf_env[7];
	u32 third_lo, third_hi;
	u16 third_se, after_div, after_wait, mf_ip;
} __attribute__((packed));

extern u8 xr_blob_start[], xr_blob_end[], xr_results[], xr_gdtr[], xr_load[], xr_div[], xr_wait[], xr_one[];
void to_real_mode(void);

static u64 gdt[8];

static u64 descriptor(u32 base, u32 limit, u32 access, u32 flags)
{
	return (u64)(limit & 0xffff) | (u64)(base & 0xffffff) << 16 | (u64)(access & 0xff) << 40 |
	       (u64)((limit >> 16) & 0xf) << 48 | (u64)(flags & 0xf) << 52 | (u64)(base >> 24) << 56;
}

/* Offset of a blob symbol from the blob's start: its IP (and DS offset) in real mode. */
static u32 off(const u8 *p) { return (u32)(p - xr_blob_start); }

void conformance_main(u32 magic, struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	struct __attribute__((packed)) { u16 limit; u32 base; } gdtr;

	outb(0x21, 0xff);	/* no device interrupts: the 8259s masked */
	outb(0xa1, 0xff);
	gdt[1] = descriptor(0, 0xfffff, 0x9a, 0xc);
	gdt[2] = descriptor(0, 0xfffff, 0x92, 0xc);
	gdt[3] = descriptor(0, 0xfffff, 0xfa, 0xc);
	gdt[4] = descriptor(0, 0xfffff, 0xf2, 0xc);
	gdt[6] = descriptor(BLOB, 0xffff, 0x9a, 0);	/* 0x30: 16-bit code */
	gdt[7] = descriptor(0, 0xffff, 0x92, 0);	/* 0x38: 16-bit data */
	gdtr.limit = sizeof(gdt) - 1;
	gdtr.base = (u32)gdt;
	__asm__ volatile("lgdt %0" : : "m"(gdtr));
	u8 *dst = (u8 *)BLOB;
	for (u8 *p = xr_blob_start; p < xr_blob_end; p++)
		*dst++ = *p;
	u8 *g = (u8 *)BLOB + off(xr_gdtr);
	*(u16 *)g = gdtr.limit;
	*(u32 *)(g + 2) = gdtr.base;

	to_real_mode();

	struct xr_results *r = (struct xr_results *)(BLOB + off(xr_results));
	print("back in protected mode\n");
	report(read_cr0() & 1, "CR0.PE is set again");
	print("arithmetic in real mode\n");
	report(r->third_se == 0x3ffd && r->third_hi == 0xaaaaaaaau && r->third_lo == 0xaaaaaaabu,
	       "1/3 is 3FFD AAAAAAAA AAAAAAAB (round to nearest, 64 bits)");
	print("FNSTENV, 16-bit real-mode layout (figure 8-12)\n");
	u32 ip = BLOB + off(xr_load), dp = BLOB + off(xr_one);
	report_eq(r->env[0], 0x037f, "FCW: FNINIT's");
	report_eq(r->env[1], 0x3800, "FSW: TOP = 7, no exception");
	report_eq(r->env[2], 0x3fff, "FTW: R7 valid, the rest empty");
	report_sdm(r->env[3] == (ip & 0xffff), "IP 15-0 of the FLD (linear)");
	report_sdm(r->env[4] == (((ip >> 16) << 12) | 0x506), "IP 19-16 and the opcode (DD /0, ModRM 06: 506H)");
	report_sdm(r->env[5] == (dp & 0xffff), "operand pointer 15-0 (linear)");
	report_sdm(r->env[6] == ((dp >> 16) << 12), "operand pointer 19-16");
	print("#MF through the vector table (CR0.NE=1)\n");
	report_eq(r->after_div, 0x1234, "no exception at the FDIV that raised ZE");
	report_eq(r->mf_ip, off(xr_wait), "#MF at the FWAIT: the IP pushed");
	report_eq(r->after_wait, 0x5678, "the handler returned past the FWAIT");
	report_eq(r->mf_env[1] & (SW_ES | SW_ZE), SW_ES | SW_ZE, "the handler sees ZE and ES");
	ip = BLOB + off(xr_div);
	report_sdm(r->mf_env[3] == (ip & 0xffff) && r->mf_env[4] == (((ip >> 16) << 12) | 0x036),
		   "its IP and opcode are the FDIV's (D8 /6, ModRM 36: 036H)");
}
