/*
 * multiboot.h - the Multiboot (version 1) boot protocol, the parts we use.
 *
 * The boot loader (QEMU's -kernel, GRUB, or the emulated PC) finds our
 * header in the first 8 KiB of the image, loads the ELF segments, and jumps
 * to _start in 32-bit protected mode with paging off, EAX = 0x2BADB002 and
 * EBX = the physical address of struct multiboot_info.
 */
#ifndef KERN_MULTIBOOT_H
#define KERN_MULTIBOOT_H

#define MB_HEADER_MAGIC		0x1BADB002
#define MB_HEADER_PAGE_ALIGN	0x00000001	/* modules on page boundaries */
#define MB_HEADER_MEMINFO	0x00000002	/* we want mem_* and the memory map */
#define MB_HEADER_FLAGS		(MB_HEADER_PAGE_ALIGN | MB_HEADER_MEMINFO)
#define MB_BOOT_MAGIC		0x2BADB002	/* in EAX at entry */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* multiboot_info.flags: which fields are valid. */
#define MBI_MEM		0x001	/* mem_lower, mem_upper */
#define MBI_CMDLINE	0x004
#define MBI_MODS	0x008
#define MBI_MMAP	0x040

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower;	/* KiB of RAM below 1 MiB */
	uint32_t mem_upper;	/* KiB of RAM from 1 MiB to the first hole */
	uint32_t boot_device;
	uint32_t cmdline;	/* physical address of a C string */
	uint32_t mods_count;
	uint32_t mods_addr;	/* physical address of struct multiboot_mod[] */
	uint32_t syms[4];
	uint32_t mmap_length;	/* bytes */
	uint32_t mmap_addr;	/* physical address of the first entry */
};

struct multiboot_mod {
	uint32_t mod_start;	/* physical address, [start, end) */
	uint32_t mod_end;
	uint32_t string;	/* its command line */
	uint32_t reserved;
};

/* A memory map entry.  size does not count itself: next = this + size + 4. */
struct multiboot_mmap {
	uint32_t size;
	uint32_t addr_lo, addr_hi;
	uint32_t len_lo, len_hi;
	uint32_t type;		/* 1 = available RAM */
} __attribute__((packed));
#endif

#endif
