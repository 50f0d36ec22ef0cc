/*
 * realmode.c -- real-address mode (SDM vol. 3, chapters 9 and 20.1): leaving protected mode by
 * clearing CR0.PE from 16-bit code with 64 KiB segments (9.9.2), segment arithmetic (base =
 * selector << 4), a private interrupt vector table at IDTR.base with an INT n handler (FLAGS, CS,
 * IP pushed; IF and TF cleared; IRET), #DE through the table with the IP of the DIV, a far call,
 * port I/O, "unreal mode" (a 4 GiB limit loaded in protected mode survives a real-mode segment
 * load, as on real processors and QEMU), LGDT in real mode and the return to protected mode. The
 * real-mode code is realmode.S's blob, copied below 1 MiB. Under trap-and-emulate the VMM runs it
 * in virtual-8086 mode, and interprets what V86 cannot express (the unreal part).
 * @qemu
 */
#include "lib/conformance.h"

#define BLOB		0x20000
#define EFLAGS_TF	0x100u
#define EFLAGS_IF	0x200u

struct rm_results {
	u16 alias, sp_before, sp_in, ip, cs, flags_pushed, flags_in, flags_after, de_ip, far, scratch, pad;
	u32 cr0, unreal;
} __attribute__((packed));

extern u8 rm_blob_start[], rm_blob_end[], rm_results[], rm_gdtr[], int42_after[], de_at[];
void to_real_mode(void);

static u64 gdt[8];

static u64 descriptor(u32 base, u32 limit, u32 access, u32 flags)
{
	return (u64)(limit & 0xffff) | (u64)(base & 0xffffff) << 16 | (u64)(access & 0xff) << 40 |
	       (u64)((limit >> 16) & 0xf) << 48 | (u64)(flags & 0xf) << 52 | (u64)(base >> 24) << 56;
}

/* Offset of a blob symbol from the blob's start: its IP in real mode, or where its copy lives. */
static u32 off(const u8 *p) { return (u32)(p - rm_blob_start); }

void conformance_main(u32 magic, struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	struct __attribute__((packed)) { u16 limit; u32 base; } gdtr;

	outb(0x21, 0xff);	/* no device interrupts: the 8259s masked */
	outb(0xa1, 0xff);
	/* guest/bare's segments at the same selectors, and the 16-bit ones real mode is entered from. */
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
	for (u8 *p = rm_blob_start; p < rm_blob_end; p++)
		*dst++ = *p;
	u8 *g = (u8 *)BLOB + off(rm_gdtr);
	*(u16 *)g = gdtr.limit;
	*(u32 *)(g + 2) = gdtr.base;

	to_real_mode();

	struct rm_results *r = (struct rm_results *)(BLOB + off(rm_results));
	print("back in protected mode\n");
	report(read_cr0() & 1, "CR0.PE is set again");
	u16 cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	/* Its RPL is not checked: under trap-and-emulate MOV from CS shows the ring the kernel really runs at. */
	report_eq(cs & ~3u, 0x08, "CS is the 32-bit code segment");
	print("real mode\n");
	report_eq(r->cr0 & 1, 0, "CR0.PE read 0 in real mode");
	report_eq(*(volatile u16 *)0x12350, 0xbeef, "1234:0010 is linear 12350H");
	report_eq(r->alias, 0xbeef, "and 1000:2350 reads the same word");
	print("INT 42H through the vector table at IDTR.base\n");
	report_eq(r->sp_in, (u16)(r->sp_before - 6), "three words pushed (FLAGS, CS, IP)");
	report_eq(r->ip, off(int42_after), "IP: the instruction after INT");
	report_eq(r->cs, BLOB >> 4, "CS: the caller's");
	report(r->flags_pushed & EFLAGS_IF, "the FLAGS pushed have IF=1");
	report_eq(r->flags_in & (EFLAGS_IF | EFLAGS_TF), 0, "the handler runs with IF=0, TF=0");
	report(r->flags_after & EFLAGS_IF, "IRET restores IF");
	report_eq(r->de_ip, off(de_at), "#DE through vector 0 pushes the IP of the DIV");
	report_eq(r->far, 0x4242, "a far call and return");
	report_eq(r->scratch, 0x5a, "IN and OUT reach the UART's scratch register");
	print("unreal mode\n");
	report_eq(*(volatile u32 *)0x200000, 0xcafebabe, "FS with a 4 GiB limit writes at 2 MiB from real mode");
	report_eq(r->unreal, 0xcafebabe, "and reads it back");
}
